"""tools/train.py --amp on the CPU demo recipe: two iterations, finite losses (bfloat16 autocast without a GPU), and
the saved config builds its optimizer wrapper in a process that imports nothing but what the config names."""
import glob
import json
import math
import os.path as osp
import subprocess
import sys

import torch

from tools_helpers import DEMO, SHORT, run


def test_train_amp_two_iterations(tmp_path, teacher_ckpt):
    work = str(tmp_path / 'amp')
    proc = run(['tools/train.py', DEMO, '--amp', '--work-dir', work, '--cfg-options'] + SHORT +
               ['train_cfg.max_iters=2', f'model.teacher_ckpt={teacher_ckpt}'])
    if not torch.cuda.is_available():  # mmengine's AmpOptimWrapper refuses CPU; the tool swaps in the bf16 one
        assert 'AMP runs as bfloat16 autocast on CPU' in proc.stdout + proc.stderr
        saved = glob.glob(osp.join(work, '*', 'vis_data', 'config.py'))[0]
        assert "type='CPUAmpOptimWrapper'" in open(saved).read()
        # a fresh process, no tools imported: the config's custom_imports (dfd_razor) registers the wrapper
        code = ('import sys, torch\n'
                'from mmengine.config import Config\n'
                'from mmengine.optim import build_optim_wrapper\n'
                'cfg = Config.fromfile(sys.argv[1])\n'
                'wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)\n'
                'print(type(wrapper).__module__, type(wrapper).__name__, wrapper.cast_dtype)\n'
                'print(sorted(m for m in sys.modules if m.startswith("dfd_razor_tools")))\n')
        built = subprocess.run([sys.executable, '-c', code, saved], capture_output=True, text=True, timeout=300,
                               cwd=str(tmp_path))
        assert built.returncode == 0, built.stderr[-3000:]
        assert built.stdout.splitlines()[-2:] == ['dfd_razor.engine.optim_wrapper CPUAmpOptimWrapper torch.bfloat16',
                                                  '[]']
    records = [json.loads(line) for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
               for line in open(path)]
    losses = {r['step']: {k: v for k, v in r.items() if 'loss' in k} for r in records if 'loss' in r}
    assert sorted(losses) == [1, 2]
    for step, values in losses.items():
        assert any(k.startswith('distill.loss_dfd') for k in values), values
        assert all(math.isfinite(v) for v in values.values()), (step, values)
    ckpt = torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu', weights_only=False)
    assert 'loss_scaler' in ckpt['optimizer']  # the AMP wrapper's state, saved as by AmpOptimWrapper
