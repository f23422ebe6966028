"""Shared by the tools tests: the CPU demo recipe, a short schedule, and a subprocess runner."""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DEMO = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_fpn_retina-r18_retina-r18half_500i_tinycoco.py')
DATA = osp.abspath(os.environ.get('DFD_DATA_ROOT', osp.join(ROOT, '..', 'shared', 'data')))
# A short schedule of the CPU demo recipe: 4 iterations, checkpoints every 2, logs every iteration.
SHORT = ['train_cfg.max_iters=4', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
         'default_hooks.checkpoint.max_keep_ckpts=5', 'default_hooks.logger.interval=1',
         'train_dataloader.batch_size=2', 'randomness.seed=0', 'randomness.deterministic=True']


def run(args, cwd=ROOT, check=True, env=None, timeout=600):
    full_env = dict(os.environ, DFD_DATA_ROOT=DATA, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc
