"""YOLOv6 distillation under a real mmengine Runner with the recipe's own MMYOLO hooks, and the exported student.

The DFD YOLOv6 recipe trains on a 4-image slice of tiny_coco (images shrunk from 640 to 160 pixels, 2 epochs,
the pipeline switch moved to epoch 1) with its custom_hooks as written: MMYOLO's EMAHook (ExpMomentumEMA) and
PipelineSwitchHook. Checked: the switch happens, validation evaluates the student's EMA weights (COCO box mAP
computed), the checkpoint has an `ema_state_dict`, and `dfd_razor.checkpoint.student_state_dict` returns exactly the
student's EMA weights (raw ones with use_ema=False), without teacher or connector entries, loadable strictly into
the plain student recipe's model.
"""
import os
import os.path as osp

import pytest
from mmengine.hooks import EMAHook, Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from mmrazor.registry import MODELS

from dfd_razor.checkpoint import student_state_dict
from testing_helpers import (clone_state, load_recipe, make_teacher_checkpoint, offline_options, shrink_sizes,
                               states_equal)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
RECIPE = osp.join(ROOT, 'recipes', 'yolov6', 'dfd_neck_yolov6-s_yolov6-t_300e_coco.py')
STUDENT_RECIPE = osp.join(ROOT, 'recipes', 'yolov6', 'student_yolov6-t_300e_coco.py')
TINY_COCO = osp.join(os.environ.get('DFD_DATA_ROOT', osp.join(ROOT, '..', 'shared', 'data')), 'tiny_coco') + '/'
SCALE = 160  # instead of 640: image sizes in the pipelines are scaled by SCALE / 640


SIZE_KEYS = ('img_scale', 'scale', 'border', 'img_size')  # the pipelines' image sizes, shrunk for a CPU Runner


class Probe(Hook):
    """Records, after the EMA hook has acted, what the Runner trains, validates and switches."""
    priority = 'LOWEST'

    def __init__(self):
        self.pipelines, self.ema, self.raw, self.evaluated, self.metrics = [], None, None, None, None

    def before_train_epoch(self, runner):
        transforms = runner.train_loop.dataloader.dataset.pipeline.transforms
        self.pipelines.append([type(t).__name__ for t in transforms])

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        ema_hook = next(h for h in runner.hooks if isinstance(h, EMAHook))
        self.ema = clone_state(ema_hook.ema_model.module.student.state_dict())
        self.raw = clone_state(runner.model.student.state_dict())

    def before_val_epoch(self, runner):
        self.evaluated = clone_state(runner.model.student.state_dict())

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = metrics


@pytest.mark.skipif(not osp.isdir(TINY_COCO), reason=f'tiny_coco not found at {TINY_COCO}')
def test_yolov6_recipe_trains_with_mmyolo_hooks_and_exports_the_ema_student(tmp_path):
    cfg = load_recipe(RECIPE)
    options = offline_options(cfg)
    options['model.teacher_ckpt'] = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    loader = dict(num_workers=0, persistent_workers=False)
    options.update({
        'work_dir': str(tmp_path / 'work'),
        'log_level': 'WARNING',
        'randomness': dict(seed=0),
        'train_dataloader': dict(loader, batch_size=2, dataset=dict(data_root=TINY_COCO, indices=4)),
        'val_dataloader': dict(loader, dataset=dict(data_root=TINY_COCO, indices=2)),
        'val_evaluator.ann_file': TINY_COCO + 'annotations/instances_val2017.json',
        'train_cfg.max_epochs': 2,
        'train_cfg.val_interval': 2,
        'train_cfg.dynamic_intervals': None,
        'custom_hooks.1.switch_epoch': 1,
        'default_hooks.param_scheduler.max_epochs': 2,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.checkpoint.save_best': None,
        'optim_wrapper.optimizer.batch_size_per_gpu': 2,
    })
    cfg = load_recipe(RECIPE, options)
    shrink_sizes(cfg.train_dataloader, SCALE / 640, SIZE_KEYS)
    shrink_sizes(cfg.val_dataloader, SCALE / 640, SIZE_KEYS)
    shrink_sizes(cfg.custom_hooks, SCALE / 640, SIZE_KEYS)
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook', 'mmdet.PipelineSwitchHook']

    runner = Runner.from_cfg(cfg)
    probe = Probe()
    runner.register_hook(probe)
    runner.train()

    # MMYOLO's hooks ran: the Mosaic pipeline of epoch 0 was switched for the stage-2 one at epoch 1.
    assert 'Mosaic' in probe.pipelines[0] and 'Mosaic' not in probe.pipelines[1]
    assert 'LetterResize' in probe.pipelines[1]
    # Validation evaluated the student's EMA weights (not the last iteration's), and the metric was computed.
    assert probe.evaluated is not None and states_equal(probe.evaluated, probe.ema)
    assert not states_equal(probe.ema, probe.raw)
    assert 'coco/bbox_mAP' in probe.metrics
    assert all(0 <= v <= 100 for k, v in probe.metrics.items() if k.startswith('coco/bbox_mAP'))

    ckpt = CheckpointLoader.load_checkpoint(str(tmp_path / 'work' / 'epoch_2.pth'), map_location='cpu')
    assert 'ema_state_dict' in ckpt
    exported = student_state_dict(ckpt)
    assert states_equal(exported, probe.ema)
    assert states_equal(student_state_dict(ckpt, use_ema=False), probe.raw)
    assert states_equal(student_state_dict(str(tmp_path / 'work' / 'epoch_2.pth')), probe.ema)  # from a path
    assert not any(k.startswith(('teacher.', 'distiller.', 'architecture.', 'module.')) for k in exported)

    student_cfg = load_recipe(STUDENT_RECIPE)
    student_cfg = load_recipe(STUDENT_RECIPE, offline_options(student_cfg))
    init_default_scope('mmyolo')
    student = MODELS.build(student_cfg.model)
    student.load_state_dict(exported, strict=True)
