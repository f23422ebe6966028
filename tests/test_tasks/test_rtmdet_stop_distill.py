"""An RTMDet distillation recipe under a real mmengine Runner, with its hooks as the recipe writes them.

The DFD RTMDet-S -> RTMDet-tiny recipe trains on a 4-image slice of tiny_coco (images shrunk from 640 to 160 pixels,
3 epochs of 2 iterations) with its custom_hooks in the recipe's order and relation: MMYOLO's EMAHook, the stage-2
PipelineSwitchHook and MMRazor's StopDistillHook, both at the last epoch here as both are at epoch 280 of 300 in
the recipe (tests/test_recipes/test_rtmdet_upstream.py holds those epochs to upstream's). Checked: before the
stop every iteration logs the distill terms and the mosaic pipeline runs; from the stop epoch on the algorithm
reports ``distillation_stopped``, logs no distill term (nor ``distill.sum``/``distill.ratio``), the stage-2
pipeline (no mosaic) runs, the connectors no longer change while the student still trains.
"""
import os
import os.path as osp

import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from testing_helpers import (clone_state, load_recipe, make_teacher_checkpoint, offline_options, shrink_sizes,
                               states_equal)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
RECIPE = osp.join(ROOT, 'recipes', 'rtmdet', 'dfd_neck_rtmdet-s_rtmdet-tiny_300e_coco.py')
TINY_COCO = osp.join(os.environ.get('DFD_DATA_ROOT', osp.join(ROOT, '..', 'shared', 'data')), 'tiny_coco') + '/'
SCALE = 160  # instead of 640: image sizes in the pipelines are scaled by SCALE / 640
EPOCHS = 3


SIZE_KEYS = ('img_scale', 'scale', 'crop_size', 'size')  # the pipelines' image sizes, shrunk for a CPU Runner


class Probe(Hook):
    """Per epoch, after the recipe's hooks have acted: the pipeline, the stop flag, the distill log entries, and the
    connector and student weights at the epoch's end."""
    priority = 'LOWEST'

    def __init__(self):
        self.pipelines, self.stopped, self.logged, self.connectors, self.students = [], [], [], [], []

    def before_train_epoch(self, runner):
        transforms = runner.train_loop.dataloader.dataset.pipeline.transforms
        self.pipelines.append([type(t).__name__ for t in transforms])
        self.stopped.append(runner.model.distillation_stopped)
        self.logged.append(set())

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.logged[-1].update(k for k in outputs if k.startswith('distill.'))

    def after_train_epoch(self, runner):
        self.connectors.append(clone_state(runner.model.distiller.connectors.state_dict()))
        self.students.append(clone_state(runner.model.student.state_dict()))


@pytest.mark.skipif(not osp.isdir(TINY_COCO), reason=f'tiny_coco not found at {TINY_COCO}')
def test_rtmdet_recipe_stops_distilling_with_the_stage2_switch(tmp_path):
    cfg = load_recipe(RECIPE)
    assert [h['type'] for h in cfg.custom_hooks] == ['EMAHook', 'mmdet.PipelineSwitchHook',
                                                     'mmrazor.StopDistillHook']
    assert cfg.custom_hooks[1].switch_epoch == cfg.custom_hooks[2].stop_epoch
    options = offline_options(cfg)
    options['model.teacher_ckpt'] = make_teacher_checkpoint(cfg, str(tmp_path / 'teacher.pth'))
    loader = dict(num_workers=0, persistent_workers=False)
    options.update({
        'work_dir': str(tmp_path / 'work'),
        'log_level': 'WARNING',
        'randomness': dict(seed=0),
        'train_dataloader': dict(loader, batch_size=2, dataset=dict(data_root=TINY_COCO, indices=4)),
        'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None,
        'train_cfg.max_epochs': EPOCHS,
        'train_cfg.dynamic_intervals': None,
        'custom_hooks.1.switch_epoch': EPOCHS - 1,
        'custom_hooks.2.stop_epoch': EPOCHS - 1,
        'default_hooks.checkpoint.interval': EPOCHS + 1,
        'default_hooks.checkpoint.save_last': False,
    })
    cfg = load_recipe(RECIPE, options)
    shrink_sizes(cfg.train_dataloader, SCALE / 640, SIZE_KEYS)
    shrink_sizes(cfg.custom_hooks, SCALE / 640, SIZE_KEYS)

    runner = Runner.from_cfg(cfg)
    probe = Probe()
    runner.register_hook(probe)
    runner.train()

    stop = EPOCHS - 1
    assert probe.stopped == [False] * stop + [True]
    for epoch in range(stop):  # distilling, on the mosaic pipeline
        assert 'Mosaic' in probe.pipelines[epoch]
        assert {'distill.sum', 'distill.ratio', 'distill.loss_dfd_neck0_hd', 'distill.loss_dfd_neck2_ld'} <= \
            probe.logged[epoch]
    # from the stop epoch: no distill term, the stage-2 pipeline, connectors frozen, the student still training
    assert probe.logged[stop] == set()
    assert 'Mosaic' not in probe.pipelines[stop]
    assert not states_equal(probe.connectors[stop - 2], probe.connectors[stop - 1])
    assert states_equal(probe.connectors[stop - 1], probe.connectors[stop])
    assert not states_equal(probe.students[stop - 1], probe.students[stop])
