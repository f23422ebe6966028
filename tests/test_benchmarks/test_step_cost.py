"""benchmarks/step_cost.py: the side-by-side table in float32 and AMP, FLOPs, and the GPU path's refusal on CPU."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = ['--size', '64', '96', '--rounds', '1', '--warmup', '0', '--threads', '1']


def step_cost(*args):
    proc = subprocess.run([sys.executable, 'benchmarks/step_cost.py', *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def table(out):
    rows = re.findall(r'^\| (student|PKD|MGD|DFD) \| ([\d.]+) \|.*\| ([\d.]+) \| ([\d.]+) \|$', out, re.M)
    return {name: dict(seconds=float(s), saved=float(m), gflop=float(f)) for name, s, m, f in rows}


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is present: the GPU path runs')
def test_gpu_path_says_it_was_not_run():
    out = step_cost('--device', 'cuda')
    assert out.startswith('GPU path not run') and '|' not in out


def test_float32_and_amp_tables():
    fp32, amp = step_cost(*TINY), step_cost(*TINY, '--amp')
    assert 'float32' in fp32 and 'AMP (bf16 autocast)' in amp
    t32, tamp = table(fp32), table(amp)
    assert list(t32) == list(tamp) == ['student', 'PKD', 'MGD', 'DFD']
    # the same arithmetic whatever the dtype: FLOPs agree; distillation adds the teacher and the losses
    for name in t32:
        assert t32[name]['gflop'] == pytest.approx(tamp[name]['gflop'], rel=1e-3)
    assert t32['student']['gflop'] < t32['PKD']['gflop'] < t32['DFD']['gflop']
    assert all(r['seconds'] > 0 and r['saved'] > 0 for r in (*t32.values(), *tamp.values()))
