"""benchmarks/latency.py: the script on one model (the BCCD demo student) with one repetition, its parameter and
FLOP counts against counts made here, and its summaries and speed-ups on known timings."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.abspath(osp.join(ROOT, '..', 'shared', 'data'))
STUDENT = 'recipes/cpu_demo/student_retina-r18q_300i_bccd.py'

spec = importlib.util.spec_from_file_location('latency', osp.join(ROOT, 'benchmarks', 'latency.py'))
latency = importlib.util.module_from_spec(spec)
spec.loader.exec_module(latency)


def conv_flops(model, inputs):
    """2 x multiply-adds of every convolution (the only FLOP-counted layers of a RetinaNet), from the output
    shapes forward hooks see."""
    total = []

    def hook(module, args, out):
        kh, kw = module.kernel_size
        total.append(2 * out.numel() * module.in_channels // module.groups * kh * kw)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model._forward(inputs)
    for h in handles:
        h.remove()
    return sum(total)


def test_one_model_one_repetition(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv('DFD_DATA_ROOT', DATA)
    out, js = tmp_path / 'latency.md', tmp_path / 'latency.json'
    latency.main(['--task', 'det', '--models', 'student', '--threads', '1', '--repeats', '1', '--warmup', '0',
                  '--out', str(out), '--json', str(js)])
    rows = json.load(open(js))['rows']
    assert [(r['model'], r['runtime']) for r in rows] == [('student', 'pytorch'), ('student', 'onnxruntime')]

    cfg = Config.fromfile(osp.join(ROOT, STUDENT))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    # BCCD 640x480 -> 320x240, padded to a multiple of 32
    inputs = torch.zeros(1, 3, 256, 320)
    for r in rows:
        assert r['input'] == [1, 3, 256, 320]
        assert r['params'] == sum(p.numel() for p in model.parameters())
        assert r['gflops'] == pytest.approx(conv_flops(model, inputs) / 1e9, rel=1e-9)
        (timing, ) = r['latency'].values()
        assert timing['n'] == 1 and timing['median'] == timing['min'] == timing['max'] > 0
    assert rows[1]['parity'] <= 1e-4
    text = out.read_text()
    for runtime in ('PyTorch eager', 'ONNX Runtime'):
        assert f'| det | student | {runtime} | 256x320 |' in text
    assert 'ONNX Runtime runs the student' in text


def test_summary_and_speedups_on_known_timings():
    s = latency.summary([0.004, 0.001, 0.003, 0.002])
    # milliseconds; quartiles of 1, 2, 3, 4 by the exclusive method: positions 1.25 and 3.75
    assert s == pytest.approx(dict(median=2.5, q1=1.25, q3=3.75, min=1.0, max=4.0, n=4))
    rows = [dict(task='det', model='teacher', runtime='pytorch', latency={1: dict(median=30.0)}),
            dict(task='det', model='student', runtime='pytorch', latency={1: dict(median=12.0)}),
            dict(task='det', model='student', runtime='onnxruntime', latency={1: dict(median=8.0)})]
    assert latency.speedups(rows) == [
        'det, PyTorch eager, 1 thread: the student runs 2.50 times faster than its teacher (12.0 vs 30.0 ms)',
        'det, 1 thread: ONNX Runtime runs the student 1.50 times as fast as PyTorch eager']
