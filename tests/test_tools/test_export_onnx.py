"""tools/export_student.py --onnx, one recipe per CPU pair family: the graph's metadata, ONNX Runtime's raw outputs
equal to the distilled model's student on real images of the bundled data (batch 2, and a second image size), the
metric through ONNX Runtime and the model's own post-processing equal to PyTorch's on a handful of val images, and
bad input (a head that cannot be traced, onnxruntime missing) as one line.

The tool runs in this process (its imports are the slow part); the students are the recipes' random
initialisations moved off them, saved as distillation checkpoints.
"""
import importlib.util
import json
import logging
import os.path as osp
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmrazor.registry import MODELS

from testing_helpers import load_recipe, make_teacher_checkpoint, offline_options
from tools_helpers import DATA, ROOT

# family: (recipe, the preprocessed size of the first test images, computed from the data and the recipe's pipeline)
CASES = {
    # BCCD 640x480 -> Resize(320, 240) keep ratio -> 320x240 (w x h), padded to a multiple of 32: H 256, W 320
    'retinanet': ('recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py', (256, 320)),
    # BCCD 640x480 -> half size (320x240), letterboxed to 320x256 (w x h)
    'yolov6': ('recipes/cpu_demo/dfd_neck_yolov6-t_yolov6-n_300i_bccd.py', (256, 320)),
    # CamVid 240x180 as is (mmseg pads to its size_divisor in training only)
    'pspnet': ('recipes/cpu_demo/dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py', (180, 240)),
    # top-down crops at the codec's input size (96, 128) (w x h)
    'pose': ('recipes/cpu_demo/dfd_backbone_td-hm-r18_td-hm-r18half_800i_minicoco.py', (128, 96)),
}
STRIDE = {'retinanet': 32, 'yolov6': 32, 'pspnet': 8, 'pose': 32}


def load_tool():
    spec = importlib.util.spec_from_file_location('export_student_tool', osp.join(ROOT, 'tools', 'export_student.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(argv, monkeypatch, capsys):
    """tools/export_student.py ARGV as its command line runs it: (exit status, stdout, stderr)."""
    # mmengine's loggers made by earlier tests of this process write to pytest's closed capture streams: a logging
    # error report there would not be the tool's output (the command line process has no earlier streams)
    monkeypatch.setattr(logging, 'raiseExceptions', False)
    tool = load_tool()
    monkeypatch.setattr(sys, 'argv', ['tools/export_student.py'] + [str(a) for a in argv])
    try:
        tool.run_cli(tool.main)
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv('DFD_DATA_ROOT', DATA)


@pytest.fixture(scope='module')
def distilled(tmp_path_factory):
    """family -> (recipe, distillation checkpoint, the algorithm, its config): built once per family, on first use."""
    cache = {}

    def get(family):
        if family not in cache:
            tmp = tmp_path_factory.mktemp(family)
            recipe = osp.join(ROOT, CASES[family][0])
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv('DFD_DATA_ROOT', DATA)
                cfg = load_recipe(recipe)
                teacher = make_teacher_checkpoint(cfg, str(tmp / 'teacher.pth'))
                cfg = load_recipe(recipe, dict(offline_options(cfg), **{'model.teacher_ckpt': teacher}))
            init_default_scope(cfg.default_scope)
            algo = MODELS.build(cfg.model)
            algo.init_weights()
            torch.manual_seed(0)
            with torch.no_grad():  # weights no initialisation gives
                for p in algo.student.parameters():
                    p.add_(torch.randn_like(p) * 0.01)
            ckpt = str(tmp / 'distill.pth')
            torch.save({'state_dict': algo.state_dict(), 'meta': {}}, ckpt)
            cache[family] = (recipe, ckpt, algo.eval(), cfg)
        return cache[family]

    return get


def real_inputs(family, distilled, count):
    from dfd_razor_tools.onnx_export import real_batch
    recipe, _, algo, cfg = distilled(family)
    init_default_scope(cfg.default_scope)
    return real_batch(cfg, algo.student, count)


def flat(out):
    if torch.is_tensor(out):
        return [out]
    return [t for o in out for t in flat(o)]


@pytest.mark.parametrize('family', sorted(CASES))
def test_export_and_parity_on_real_images(family, distilled, tmp_path, monkeypatch, capsys):
    recipe, ckpt, algo, cfg = distilled(family)
    out = tmp_path / 'student.onnx'
    code, stdout, stderr = run_tool([recipe, ckpt, out, '--onnx'], monkeypatch, capsys)
    assert code == 0, stdout[-2000:] + stderr[-2000:]
    assert osp.isfile(tmp_path / 'student_config.py')

    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    meta = session.get_modelmeta().custom_metadata_map
    pre = (cfg.model.architecture.get('data_preprocessor') or cfg.data_preprocessor)
    assert json.loads(meta['dfd_razor.input_size']) == list(CASES[family][1])
    assert np.allclose(json.loads(meta['dfd_razor.mean']), pre['mean'])
    assert np.allclose(json.loads(meta['dfd_razor.std']), pre['std'])
    assert meta['dfd_razor.bgr_to_rgb'] == ('true' if pre.get('bgr_to_rgb') else 'false')
    assert session.get_inputs()[0].shape == ['batch', 3, 'height', 'width']

    inputs = real_inputs(family, distilled, 2)['inputs']
    h, w = CASES[family][1]
    assert tuple(inputs.shape) == (2, 3, h, w)
    s = STRIDE[family]
    cropped = inputs[..., :h - s, :w - s].contiguous()  # another size: height and width are dynamic too
    worst = 0.0
    for x in (inputs, cropped):
        with torch.no_grad():
            expected = flat(algo.student(x, None, mode='tensor'))
        got = session.run(None, {'input': x.numpy()})
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.shape == tuple(b.shape)
            worst = max(worst, float(np.abs(a - b.numpy()).max()))
    assert worst <= 1e-4, worst
    reported = float(stdout.split('parity: max |ONNX Runtime - PyTorch| = ')[1].split()[0])
    assert reported <= 1e-4
    print(f'{family}: max |ONNX Runtime - PyTorch| = {worst:.3g} on 2 real images at two sizes')


@pytest.mark.parametrize('family, metric', [('retinanet', 'pascal_voc/mAP'), ('pspnet', 'mIoU')])
def test_metric_through_onnxruntime_equals_pytorch(family, metric, distilled, tmp_path, monkeypatch, capsys):
    """BCCD val / CamVid val, 4 images: PyTorch's metric from a plain mmengine test run of the student, against
    the ONNX student post-processed by the model's own code. The random detector keeps its 1000 best boxes at any
    score (it otherwise detects nothing, and a metric of 0 compares nothing)."""
    from mmengine.runner import Runner

    from dfd_razor_tools.onnx_export import OnnxStudent, score
    recipe, ckpt, algo, _ = distilled(family)
    out = tmp_path / 'student.onnx'
    code, stdout, stderr = run_tool([recipe, ckpt, out, '--onnx'], monkeypatch, capsys)
    assert code == 0, stdout[-2000:] + stderr[-2000:]
    cfg = Config.fromfile(str(tmp_path / 'student_config.py'))
    cfg.test_dataloader.dataset.indices = 4
    if family == 'retinanet':
        cfg.model.test_cfg.update(score_thr=0.0, max_per_img=1000)
    cfg.work_dir, cfg.log_level = str(tmp_path / 'torch'), 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.model.load_state_dict(algo.student.state_dict())
    expected = runner.test()[metric]
    assert expected > 0

    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.load_state_dict(algo.student.state_dict())
    metrics = score(cfg, model.eval(), OnnxStudent(str(out)), 4, str(tmp_path / 'score'))
    scale = 100 if family == 'retinanet' else 1
    assert abs(metrics['onnxruntime'][metric] - expected) * scale <= 0.1
    assert metrics['pytorch'][metric] == pytest.approx(expected, abs=1e-6)
    print(f'{family}: {metric} PyTorch {expected:.4f}, ONNX Runtime {metrics["onnxruntime"][metric]:.4f}')


@MMDET_MODELS.register_module(force=True)
class UntraceableRetinaHead(RetinaHead):
    """A RetinaNet head with an operator no ONNX opset has (the Bessel function J0) on its class scores."""

    def forward_single(self, x):
        cls_score, bbox_pred = super().forward_single(x)
        return torch.special.bessel_j0(cls_score), bbox_pred


def test_untraceable_head_is_one_line_naming_it(distilled, tmp_path, monkeypatch, capsys):
    recipe, ckpt, _, _ = distilled('retinanet')
    bad = tmp_path / 'untraceable.py'
    bad.write_text(f"_base_ = ['{recipe}']\nmodel = dict(architecture=dict(bbox_head=dict("
                   "type='UntraceableRetinaHead')))\n")
    code, stdout, stderr = run_tool([bad, ckpt, tmp_path / 'student.onnx', '--onnx'], monkeypatch, capsys)
    assert code == 2, stdout[-2000:] + stderr[-2000:]
    lines = [ln for ln in (stdout + stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith('error: ')]
    assert errors == [lines[-1]] and 'Traceback' not in stdout + stderr and 'graph(' not in stdout + stderr
    assert errors[0].startswith('error: RetinaNet: module bbox_head (UntraceableRetinaHead) cannot be traced')
    assert 'special_bessel_j0' in errors[0]


def test_missing_onnxruntime_names_the_package(distilled, tmp_path, monkeypatch, capsys):
    recipe, ckpt, _, _ = distilled('retinanet')
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # what an environment without it raises on import
    code, stdout, stderr = run_tool([recipe, ckpt, tmp_path / 'student.onnx', '--onnx'], monkeypatch, capsys)
    assert code == 2
    assert stderr.strip().splitlines() == [stderr.strip()]
    assert stderr.startswith('error: ONNX export needs the package(s) onnxruntime (') and \
        'pip install -r requirements/onnx.txt' in stderr
    assert not osp.exists(tmp_path / 'student.onnx')
