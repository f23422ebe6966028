"""tools/inspect_distill.py (the distillation doctor) on real CPU recipes of every task family and on broken ones."""
import os.path as osp

import pytest
import torch

from tools_helpers import ROOT, run

CPU = osp.join(ROOT, 'recipes', 'cpu_demo')
FAMILIES = {  # task family -> a CPU recipe trained on real data (its own dataloader gives the batch)
    'detection': 'dfd_fpn_retina-r18_retina-r18q_300i_bccd.py',
    'segmentation': 'dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py',
    'pose': 'dfd_backbone_td-hm-r18_td-hm-r18half_800i_minicoco.py',
    'yolo': 'pkd_neck_yolov6-t_yolov6-n_300i_bccd.py',
}
_TEACHERS = {}


def teacher_for(recipe, tmp_path_factory):
    from testing_helpers import load_recipe, make_teacher_checkpoint
    cfg = load_recipe(osp.join(CPU, recipe))
    key = str(cfg.model.teacher)
    if key not in _TEACHERS:
        _TEACHERS[key] = make_teacher_checkpoint(cfg, str(tmp_path_factory.mktemp('t') / 'teacher.pth'))
    return _TEACHERS[key]


def inspect(recipe, *options, extra=(), check=False):
    return run(['tools/inspect_distill.py', osp.join(CPU, recipe), *extra] +
               (['--cfg-options', *options] if options else []), check=check)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_passes_on_a_real_recipe_of_each_family(family, tmp_path_factory):
    recipe = FAMILIES[family]
    teacher = teacher_for(recipe, tmp_path_factory)
    proc = inspect(recipe, f'model.teacher_ckpt={teacher}', extra=['--suggest-weights', '0.5'])
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert 'no problem found' in out and 'PROBLEM' not in out
    n = len(torch.load(teacher, weights_only=False)['state_dict'])
    assert f'teacher: {n}/{n} tensors from {teacher}' in out
    assert 'suggested weights' in out and 'task loss' in out
    if recipe.startswith('dfd_'):
        assert '_hd ' in out and '_ld ' in out  # DFD's two terms per level, with their HD fraction


@pytest.mark.parametrize('method', ['cwd', 'dfd', 'fitnet', 'mgd'])
def test_the_held_out_yolo_pairs_other_recipes_pass(method, tmp_path_factory):
    """The MMYOLO BCCD pair (issue 22): every method's recipe through the doctor on its own BCCD batch (pkd: above)."""
    recipe = f'{method}_neck_yolov6-t_yolov6-n_300i_bccd.py'
    proc = inspect(recipe, f'model.teacher_ckpt={teacher_for(recipe, tmp_path_factory)}')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'no problem found' in proc.stdout and 'PROBLEM' not in proc.stdout


def test_weights_are_suggested_from_the_measured_ratio(tmp_path_factory):
    recipe = FAMILIES['detection']
    teacher = teacher_for(recipe, tmp_path_factory)
    out = inspect(recipe, f'model.teacher_ckpt={teacher}', extra=['--suggest-weights', '1'], check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith('task loss'))
    task, distill = float(line.split()[2].rstrip(';')), float(line.split()[5])
    lines = out.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith('suggested weights'))
    factor = float(lines[at].split(' x')[1].split()[0])
    assert factor == pytest.approx(task / distill, rel=2e-3)
    # the suggestion's own lines (the taps section above also starts its lines with the level's name)
    alpha = float(next(ln for ln in lines[at:] if ln.strip().startswith('loss_dfd_fpn0:')).split('alpha=')[1]
                  .split(',')[0])
    assert alpha == pytest.approx(2.8e-5 * factor, rel=5e-3)


def test_zero_weight_is_a_named_problem(tmp_path_factory):
    recipe = FAMILIES['detection']
    teacher = teacher_for(recipe, tmp_path_factory)
    proc = inspect(recipe, f'model.teacher_ckpt={teacher}', 'model.distiller.levels.loss.alpha=0')
    assert proc.returncode == 1
    assert 'PROBLEM: loss_dfd_fpn0_hd: zero' in proc.stdout and 'loss_dfd_fpn0_ld: zero' not in proc.stdout


@pytest.mark.parametrize('options, message', [
    (['model.distiller.student_recorders.feat.source=neck.nope'], 'nope'),
    (['model.distiller.levels.student_channels=64'], 'expected a (N, 64, H, W) student feature'),
])
def test_broken_wiring_exits_2_with_one_line(options, message, tmp_path_factory):
    recipe = FAMILIES['detection']
    teacher = teacher_for(recipe, tmp_path_factory)
    proc = inspect(recipe, f'model.teacher_ckpt={teacher}', *options)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    error = [ln for ln in (proc.stdout + proc.stderr).splitlines() if 'error:' in ln]
    assert len(error) == 1 and message in error[0] and 'Traceback' not in proc.stderr


def test_teacher_with_missing_keys_exits_2(tmp_path_factory, tmp_path):
    recipe = FAMILIES['detection']
    state = torch.load(teacher_for(recipe, tmp_path_factory), weights_only=False)
    state['state_dict'].pop('neck.fpn_convs.0.conv.weight')
    bad = str(tmp_path / 'partial.pth')
    torch.save(state, bad)
    proc = inspect(recipe, f'model.teacher_ckpt={bad}')
    assert proc.returncode == 2
    assert '1 missing keys' in proc.stdout + proc.stderr and bad in proc.stdout + proc.stderr


def test_no_teacher_warns_loudly():
    proc = inspect(FAMILIES['detection'], extra=['--no-teacher'])
    assert proc.returncode == 0
    assert 'the teacher is RANDOM' in proc.stdout and 'warning: the teacher is random' in proc.stdout
