"""tools/train.py --amp on the CPU demo recipe: two iterations, finite losses (bfloat16 autocast without a GPU)."""
import glob
import json
import math
import os.path as osp

import torch

from tools_helpers import DEMO, SHORT, run


def test_train_amp_two_iterations(tmp_path, teacher_ckpt):
    work = str(tmp_path / 'amp')
    proc = run(['tools/train.py', DEMO, '--amp', '--work-dir', work, '--cfg-options'] + SHORT +
               ['train_cfg.max_iters=2', f'model.teacher_ckpt={teacher_ckpt}'])
    if not torch.cuda.is_available():  # mmengine's AmpOptimWrapper refuses CPU; the tool swaps in the bf16 one
        assert 'AMP runs as bfloat16 autocast on CPU' in proc.stdout + proc.stderr
        assert "type='CPUAmpOptimWrapper'" in open(glob.glob(osp.join(work, '*', 'vis_data', 'config.py'))[0]).read()
    records = [json.loads(line) for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
               for line in open(path)]
    losses = {r['step']: {k: v for k, v in r.items() if 'loss' in k} for r in records if 'loss' in r}
    assert sorted(losses) == [1, 2]
    for step, values in losses.items():
        assert any(k.startswith('distill.loss_dfd') for k in values), values
        assert all(math.isfinite(v) for v in values.values()), (step, values)
    ckpt = torch.load(osp.join(work, 'iter_2.pth'), map_location='cpu', weights_only=False)
    assert 'loss_scaler' in ckpt['optimizer']  # the AMP wrapper's state, saved as by AmpOptimWrapper
