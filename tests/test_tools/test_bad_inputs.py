"""Bad input to tools/train.py and tools/test.py: one line naming the file or config key, exit status 2, no traceback
(``--debug`` shows it). Runs the CPU demo recipe on the real tiny_coco data, at most 2 iterations.

The in-process tests below them check the pieces: mmengine's build prefixes removed, an unregistered type traced
back to its config key.
"""
import json
import os.path as osp

import pytest
import torch

from tools_helpers import DATA, DEMO, run

SHORT = ['train_cfg.max_iters=2', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
         'train_dataloader.batch_size=2']
CENTRAL_DIRECTORY = 'RuntimeError: PytorchStreamReader failed reading zip archive: failed finding central directory'


def one_line_error(proc) -> str:
    """The tool's error line (without 'error: '), after checking that it is the only one and comes alone."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert 'Traceback' not in out, out[-3000:]
    lines = [ln for ln in out.splitlines() if ln.startswith('error: ')]
    assert len(lines) == 1, out[-3000:]
    return lines[0][len('error: '):]


def train(work_dir, *options, extra=()):
    return run(['tools/train.py', DEMO, '--work-dir', str(work_dir)] + list(extra) + ['--cfg-options'] + SHORT +
               list(options), check=False)


@pytest.fixture(scope='module')
def truncated(tmp_path_factory, teacher_ckpt):
    """The first half of a real checkpoint: what an interrupted download or copy leaves."""
    path = str(tmp_path_factory.mktemp('bad') / 'truncated.pth')
    data = open(teacher_ckpt, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    return path


# ---- corrupt checkpoints ---------------------------------------------------------------------------------------------
def test_truncated_teacher_checkpoint(tmp_path, truncated):
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={truncated}'))
    assert message == f'model.teacher_ckpt: {truncated} is not a readable checkpoint, truncated or corrupt? ' \
                      f'({CENTRAL_DIRECTORY})'


def test_truncated_resume_checkpoint(tmp_path, truncated, teacher_ckpt):
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={teacher_ckpt}', extra=['--resume', truncated]))
    assert message == f'--resume: {truncated} is not a readable checkpoint, truncated or corrupt? ({CENTRAL_DIRECTORY})'


def test_truncated_checkpoint_to_evaluate(tmp_path, truncated):
    proc = run(['tools/test.py', DEMO, truncated, '--work-dir', str(tmp_path)], check=False)
    assert one_line_error(proc) == f'checkpoint: {truncated} is not a readable checkpoint, truncated or corrupt? ' \
                                   f'({CENTRAL_DIRECTORY})'


def test_debug_shows_the_traceback(tmp_path, truncated):
    proc = train(tmp_path, f'model.teacher_ckpt={truncated}', extra=['--debug'])
    out = proc.stdout + proc.stderr
    assert proc.returncode not in (0, 2) and 'Traceback' in out and 'PytorchStreamReader' in out, out[-3000:]


def test_bare_module_prefixed_teacher_checkpoint_is_accepted_and_logged(tmp_path, teacher_ckpt):
    """A bare state_dict saved from a DDP wrapper (keys 'module.*', no 'state_dict' key) trains, and the log says
    what was read and stripped."""
    state = torch.load(teacher_ckpt, map_location='cpu', weights_only=True)['state_dict']
    path = str(tmp_path / 'ddp_teacher.pth')
    torch.save({f'module.{k}': v for k, v in state.items()}, path)
    proc = train(tmp_path / 'work', f'model.teacher_ckpt={path}', 'train_cfg.max_iters=1')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    n = len(state)
    assert f"teacher checkpoint {path}: no 'state_dict' key, read as a bare state_dict ({n} entries)" in out
    assert f"teacher checkpoint {path}: stripped the 'module.' prefix (DataParallel/DDP) from {n} of {n} keys" in out
    assert f'teacher: loaded {n}/{n} tensors from {path}' in out


# ---- data --------------------------------------------------------------------------------------------------------
ROOT_DATA = osp.join(DATA, 'tiny_coco') + '/'


def empty_annotations(tmp_path):
    """tiny_coco's training annotation file with its images and annotations removed."""
    ann = json.load(open(osp.join(ROOT_DATA, 'annotations', 'instances_train2017.json')))
    ann.update(images=[], annotations=[])
    path = str(tmp_path / 'no_images.json')
    json.dump(ann, open(path, 'w'))
    return path


def test_annotation_file_without_images(tmp_path, teacher_ckpt):
    path = empty_annotations(tmp_path)
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={teacher_ckpt}',
                                   f'train_dataloader.dataset.ann_file={path}'))
    assert message == f'train_dataloader.dataset: no samples in ann_file {path} (data_root {ROOT_DATA})'


def test_every_image_filtered(tmp_path, teacher_ckpt):
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={teacher_ckpt}',
                                   'train_dataloader.dataset.filter_cfg.min_size=100000'))
    assert message == ("train_dataloader.dataset: no samples: train_dataloader.dataset.filter_cfg={'filter_empty_gt': "
                       "True, 'min_size': 100000} removes all 50 of ann_file "
                       f"{ROOT_DATA}annotations/instances_train2017.json (data_root {ROOT_DATA})")


def test_empty_test_dataset(tmp_path):
    path = empty_annotations(tmp_path)
    # the dataset is checked before the checkpoint is loaded: an empty state_dict never gets that far
    ckpt = str(tmp_path / 'student.pth')
    torch.save({'state_dict': {}}, ckpt)
    proc = run(['tools/test.py', DEMO, ckpt, '--work-dir', str(tmp_path), '--cfg-options',
                f'test_dataloader.dataset.ann_file={path}'], check=False)
    assert one_line_error(proc) == f'test_dataloader.dataset: no samples in ann_file {path} (data_root {ROOT_DATA})'


def test_data_root_without_its_annotation_file(tmp_path, teacher_ckpt):
    root = tmp_path / 'coco'
    (root / 'train2017').mkdir(parents=True)
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={teacher_ckpt}',
                                   f'train_dataloader.dataset.data_root={root}/'))
    assert message == f'train_dataloader.dataset.ann_file: {root}/annotations/instances_train2017.json does not exist'


# ---- recipe keys -----------------------------------------------------------------------------------------------------
def test_level_index_beyond_the_fpn_outputs(tmp_path, teacher_ckpt):
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={teacher_ckpt}',
                                   'model.distiller.levels.indices=[0,1,2,3,4,5,6,7]'))
    assert message == ("model.distiller.levels.indices: level fpn5 (loss_dfd_fpn5) reads output 5 of the student's "
                       "'neck' (recorder 'feat'), which gives 5 outputs (indices 0-4)")


def test_unregistered_type(tmp_path, teacher_ckpt):
    message = one_line_error(train(tmp_path, f'model.teacher_ckpt={teacher_ckpt}',
                                   'model.distiller.levels.loss.type=DFDLosss'))
    assert message == ("model.distiller.levels.loss.type: type 'DFDLosss' is not registered (searched the "
                       "mmrazor::model registry); did you mean 'DFDLoss'?")


# ---- the pieces, in process ----------------------------------------------------------------------------------------
def test_error_message_drops_mmengine_build_prefixes():
    from dfd_razor.errors import RecipeValueError
    from dfd_razor_tools.launch import error_message
    error = RecipeValueError('model.teacher_ckpt: t.pth can not be found')
    for cls in ('MultiLevelDistiller', 'CheckedFpnTeacherDistill'):  # as mmengine's build_from_cfg re-raises
        error = type(error)(f'class `{cls}` in dfd_razor/models/x.py: {error}')
    assert error_message(error) == 'model.teacher_ckpt: t.pth can not be found'


def test_unregistered_type_is_traced_to_its_keys():
    from mmengine.config import Config

    from dfd_razor_tools.launch import unregistered_type
    cfg = Config(dict(model=dict(type='X', head=dict(type='RetinaHeadd')),
                      train_dataloader=dict(dataset=dict(pipeline=[dict(type='Resize'), dict(type='RetinaHeadd')]))))
    error = KeyError('class `X` in x.py: RetinaHeadd is not in the mmdet::model registry. Please check whether ...')
    assert unregistered_type(cfg, error) == (
        "model.head.type, train_dataloader.dataset.pipeline.1.type: type 'RetinaHeadd' is not registered (searched "
        "the mmdet::model registry); did you mean 'RetinaHead'?")
    assert unregistered_type(cfg, KeyError('some other key')) is None
    assert unregistered_type(cfg, ValueError('RetinaHeadd is not in the mmdet::model registry')) is None


def test_unregistered_connector_type_is_traced_to_its_key():
    """MultiLevelDistiller checks connector types itself, before mmengine would: the same one line."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from dfd_razor_tools.launch import unregistered_type
    cfg = Config.fromfile(DEMO)
    cfg.model.distiller.levels.connectors.trans.type = 'DFDConector'
    # the distiller is built in the algorithm's scope, whatever scope an earlier test left as the default
    with pytest.raises(KeyError) as info, DefaultScope.overwrite_default_scope('mmrazor'):
        MODELS.build(cfg.model.distiller)
    assert unregistered_type(cfg, info.value) == (
        "model.distiller.levels.connectors.trans.type: type 'DFDConector' is not registered (searched the "
        "mmrazor::model registry); did you mean 'DFDConnector'?")
