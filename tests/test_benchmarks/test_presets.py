"""The presets of tools/benchmark.py: their committed records still load and are reused (the tool regenerates each
record's options byte for byte), and the protocol over them asks only for what they miss. ``bccd_2026-11-27`` holds
the BCCD records of the first teacher (gone), read with the preset and ``--name``; ``bccd`` those of the teacher
retrained on one thread (2026-12-03), a complete protocol (seeds 0-3, dfd_norm_mse included); ``camvid_2026-11-27``
the CamVid records of its first teacher (gone); ``camvid`` those of its rerun with a teacher retrained on one
thread on an AMD EPYC (2026-12-06), a complete protocol (seeds 0-3, dfd_norm_mse included); ``bccd_yolo`` the
MMYOLO pair's (complete); ``bccd_1200i`` and ``bccd_2026-11-27_1200i`` the schedule study's tables at 1200
iterations (picks from ``bccd`` and ``bccd_2026-11-27``) and ``bccd_2026-11-27_2400i`` at 2400, which a fresh clone
writes again, and so the schedule comparisons (``*_schedules.md``) that read them."""
import glob
import json
import math
import os.path as osp
import shutil

import pytest

from dfd_razor_tools import paths
from dfd_razor_tools.benchmark import cli as tool
from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.protocol import Benchmark, RunSetup
from dfd_razor_tools.benchmark.records import TEACHER_RECORD, parse_run_name
from dfd_razor_tools.benchmark.settings import load_preset, make_pair
from dfd_razor_tools.benchmark.teacher import Teacher
from dfd_razor_tools.paths import absolute, repo_path
from dfd_razor_tools.schedule import schedule_length, schedule_options

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# The teacher each committed record names, by preset: its teacher work dir, at the end of its recipe's schedule.
TEACHERS = {'bccd': 'work_dirs/demo/bccd/teacher/iter_1600.pth', 'camvid': 'work_dirs/demo/camvid/teacher/iter_800.pth',
            'bccd_yolo': 'work_dirs/demo/yolo/teacher/iter_1000.pth'}
# The rows of the first protocols (before dfd_norm_mse)
FIRST_BCCD_ROWS = ['student', 'inherit', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd', 'dfd_split', 'dfd_batch', 'dfd_norm']
FIRST_CAMVID_ROWS = [r for r in FIRST_BCCD_ROWS if r != 'inherit']
# Rows whose records lie beside a protocol's without being rows of its table: issue 40's DFD variants, a partial
# sweep on seed 0 beside the first protocol's records (read with --methods naming them)
EXTRA_ROWS = {'bccd_2026-11-27': ['dfd_res', 'dfd_warm', 'dfd_res_norm']}
# issue 40's weight-schedule study: every method at the 300-iteration pick (x10) with three schedules, and dfd_res
WSCHED_ROWS = [f'{m}{k}' for m in ('dfd', 'cwd', 'fitnet', 'pkd', 'mgd') for k in ('', '_cos', '_stop')] + ['dfd_res']
WSCHED_ARGS = ['--preset', 'bccd', '--name', 'bccd_2026-11-27_1200i_wsched', '--schedule', '1200', '--factors', '10',
               '--max-extend', '0', '--seeds', '0', '1', '2', '3', '--methods'] + WSCHED_ROWS
# records name -> (the tool's arguments that read them, how many records at least)
RECORDS = {'bccd_2026-11-27': (['--preset', 'bccd', '--name', 'bccd_2026-11-27', '--methods'] + FIRST_BCCD_ROWS, 79),
           'camvid_2026-11-27': (['--preset', 'camvid', '--name', 'camvid_2026-11-27', '--methods'] + FIRST_CAMVID_ROWS,
                                 59),
           'bccd': (['--preset', 'bccd'], 76),
           # the rerun with the teacher retrained on one thread (AMD EPYC, 2026-12-06)
           'camvid': (['--preset', 'camvid'], 77),
           # restarted with a teacher trained on one thread on an AMD EPYC (2026-12-06), complete the same day
           'bccd_yolo': (['--preset', 'bccd_yolo'], 45),
           # issue 40's weight-schedule study, chosen on seed 0 at 1200 iterations (benchmarks/weight_schedules.md)
           'bccd_2026-11-27_1200i_wsched': (WSCHED_ARGS, 2)}


def preset_benchmark(name, records, extra_rows=()):
    args = tool.parse_args(RECORDS[name][0] + list(extra_rows))
    s = tool.settings(args)
    pair = make_pair(s)
    teacher = osp.join(absolute(s.teacher_work_dir), f'iter_{schedule_length(s.teacher_recipe)}.pth')
    assert repo_path(teacher) == TEACHERS[args.preset]  # the preset's, whatever the records' name
    runs = osp.join(ROOT, 'benchmarks', 'runs', name)
    ids = {json.load(open(p))['teacher_id'] for p in glob.glob(osp.join(runs, '*.json'))}
    # the one teacher of the distilled runs (the student alone's records say ''), as teacher.json names it
    teacher_id = json.load(open(osp.join(runs, TEACHER_RECORD)))['teacher_id']
    assert ids <= {'', teacher_id}
    base = (schedule_options(pair.student, s.schedule) if s.schedule else []) + list(s.cfg_options)  # as the tool's
    return Benchmark(pair, s, Teacher(repo_path(teacher), teacher_id),
                     RunSetup(work='/nonexistent', records=records, base_options=base))


@pytest.mark.parametrize('name', sorted(RECORDS))
def test_every_committed_record_is_regenerated_and_reused(name):
    runs = osp.join(ROOT, 'benchmarks', 'runs', name)
    bench = preset_benchmark(name, runs, EXTRA_ROWS.get(name, ()))
    paths = sorted(p for p in glob.glob(osp.join(runs, '*.json')) if osp.basename(p) != TEACHER_RECORD)
    assert len(paths) >= RECORDS[name][1]
    # the teacher's metrics beside the records are those of the teacher every distilled record was made with
    teacher = json.load(open(osp.join(runs, TEACHER_RECORD)))
    assert {json.load(open(p))['teacher_id'] for p in paths} - {''} <= {teacher['teacher_id']}
    for path in paths:
        record = json.load(open(path))
        run = parse_run_name(osp.basename(path)[:-5])
        assert run is not None and run[0] in bench.rows, path
        assert bench.options(run) == record['options'], path  # byte for byte, so the record is reused
        assert bench.recipe(run) == record['recipe'], path
        assert bench.cached(run) is not None, path
    bench.load_finished()
    assert len(bench.records) == len(paths)


def test_the_presets():
    bccd = load_preset('bccd')
    assert bccd['methods'] == ['student', 'inherit', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd', 'dfd_split', 'dfd_batch',
                               'dfd_norm', 'dfd_norm_mse']
    assert bccd['metric'] == 'coco/bbox_mAP' and bccd['out_dir'] == 'benchmarks'
    camvid = load_preset(osp.join(ROOT, 'benchmarks', 'presets', 'camvid.py'))
    assert 'inherit' not in camvid['methods'] and camvid['metric'] == 'mIoU'
    yolo = load_preset('bccd_yolo')  # issue 22: the MMYOLO pair, held out, the five methods
    assert yolo['methods'] == ['student', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd'] and yolo['data'] == ['bccd']
    args = tool.parse_args(['--preset', 'bccd_yolo'])
    pair = make_pair(tool.settings(args))
    assert pair.student == 'recipes/cpu_demo/student_yolov6-n_300i_bccd.py' and pair.inherit is None
    assert {m: osp.basename(r) for m, r in pair.methods.items()} == {
        m: f'{m}_neck_yolov6-t_yolov6-n_300i_bccd.py' for m in ('fitnet', 'pkd', 'mgd', 'cwd', 'dfd')}
    from dfd_razor_tools.cpu_pairs import TASKS, recipe
    assert yolo['teacher_recipe'] == recipe(TASKS['bccd_yolo'], 'teacher')  # the demo's yolo teacher
    with pytest.raises(BenchmarkError, match=r'no file .*nonesuch\.py \(presets: bccd, bccd_yolo, camvid\)'):
        load_preset('nonesuch')


class Remaining:
    """A fake executor: records what the protocol asks for, runs nothing."""

    def __init__(self):
        self.asked = []

    def map(self, specs, done):
        self.asked += [parse_run_name(s.name) for s in specs]
        for s in specs:
            done(s, dict(status='ok', metric=0.0))


# What the committed records miss for the fresh seeds 1, 2, 3: seed 3 at each method's picked (seed-0 sweep) and
# shipped weights, each variant's picked weight, each control. BCCD's sweeps all picked x10; CamVid's fitnet and
# mgd x0.1, pkd and cwd x10, dfd x1 (its shipped weight), dfd_split x0.1, dfd_batch x10, dfd_norm x0.01 (the first
# teacher's sweep). The complete protocols ask for nothing (YOLO's: the fresh runs below, all committed).
REMAINING = {
    'bccd_2026-11-27': set(),  # seed 3 added on the AMD EPYC that gives its teacher back (2026-12-07)
    'camvid_2026-11-27': {('fitnet', 0.1, 3), ('fitnet', 1.0, 3), ('mgd', 0.1, 3), ('mgd', 1.0, 3),
                          ('pkd', 10.0, 3), ('pkd', 1.0, 3), ('cwd', 10.0, 3), ('cwd', 1.0, 3), ('dfd', 1.0, 3),
                          ('dfd_split', 0.1, 3), ('dfd_batch', 10.0, 3), ('dfd_norm', 0.01, 3), ('student', 0.0, 3)},
    'bccd': set(),
    'camvid': set(),
    # the YOLO sweep picked FitNet x10, PKD x1, MGD x10, CWD x1, DFD x10: each fresh seed runs the student alone,
    # the five picks and the shipped weights (x1) of FitNet, MGD and DFD
    'bccd_yolo': {(m, f, seed) for seed in (1, 2, 3) for m, f in (
        ('student', 0.0), ('fitnet', 10.0), ('pkd', 1.0), ('mgd', 10.0), ('cwd', 1.0), ('dfd', 10.0),
        ('fitnet', 1.0), ('mgd', 1.0), ('dfd', 1.0))},
}


@pytest.mark.parametrize('name', sorted(REMAINING))
def test_the_protocol_over_the_committed_records_asks_for_what_they_miss(name, tmp_path):
    shutil.copytree(osp.join(ROOT, 'benchmarks', 'runs', name), tmp_path / 'runs')
    done = {parse_run_name(osp.basename(p)[:-5]) for p in glob.glob(str(tmp_path / 'runs' / '*.json'))}
    bench = preset_benchmark(name, str(tmp_path / 'runs'))
    bench.executor = Remaining()
    bench.protocol()
    assert set(bench.executor.asked) == REMAINING[name] - done
    assert len(bench.executor.asked) == len(set(bench.executor.asked))


def build_variant(name, row):
    """The model a preset's row builds: its method's recipe with the row's options (random teacher, offline)."""
    from mmengine.config import DictAction
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope
    from mmrazor.registry import MODELS
    from testing_helpers import load_recipe, offline_options
    args = tool.parse_args(['--preset', name, '--methods'] + list(dict.fromkeys(['student', 'dfd', row])))
    s = tool.settings(args)
    pair = make_pair(s)
    path = absolute(pair.recipe(row))
    options = {}
    variant = pair.variants.get(row)
    for item in (variant.options if variant else []):
        key, value = item.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    options.update(offline_options(load_recipe(path)))
    options.update({'model.teacher_ckpt': None, 'model.allow_random_teacher': True})
    cfg = load_recipe(path, options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    MessageHub.get_current_instance().update_info('epoch', 0)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(cfg.model)
    model.teacher._is_init = True
    model.init_weights()
    return model.distiller


@pytest.mark.parametrize('name', ['bccd', 'camvid'])
def test_the_normalised_variant_without_transform_builds_what_it_names(name):
    """dfd_norm_mse (issue 22): no transform connector (the alignment, where channels differ, stays), no transformed input, strict MSE on HD and LD, inputs normalised per
    channel, so the loss does not change when the student's features are scaled and shifted per channel (which
    moves the loss of the unnormalised split variant)."""
    import torch
    torch.manual_seed(0)
    shipped = build_variant(name, 'dfd')
    transforms = {k for k, c in shipped.connectors.items() if type(c).__name__ == 'DFDConnector'}
    assert transforms  # the shipped DFD has its Conv1-3-1 transform (CamVid also aligns the student's channels)
    for row, normalised in (('dfd_norm_mse', True), ('dfd_split', False)):
        distiller = build_variant(name, row)
        assert set(distiller.connectors) == set(shipped.connectors) - transforms, row
        assert distiller.distill_losses, row
        for loss_name, loss in distiller.distill_losses.items():
            assert type(loss).__name__ == 'DFDLoss'
            assert (loss.hd_constraint, loss.ld_constraint, loss.split) == ('mse', 'mse', True), loss_name
            assert loss.normalize is normalised and not loss.needs_transformed, loss_name
            inputs = distiller.loss_forward_mappings[loss_name]
            assert 's_transformed' not in inputs and {'s_feature', 't_feature'} <= set(inputs), (loss_name, inputs)
            s, t = torch.randn(2, 8, 6, 5), torch.randn(2, 8, 6, 5)
            scale, shift = torch.rand(1, 8, 1, 1) * 3 + 0.5, torch.randn(1, 8, 1, 1)
            before = sum(loss(s, t).values()) if loss.return_terms else loss(s, t)
            after = sum(loss(s * scale + shift, t).values()) if loss.return_terms else loss(s * scale + shift, t)
            if normalised:
                assert torch.allclose(before, after, rtol=1e-4), (loss_name, before, after)
            else:
                assert not torch.allclose(before, after, rtol=1e-2), (loss_name, before, after)


# tables -> (their preset, the arguments that wrote them, the teacher, a line of their headline); a schedule study's
# tables read the records its picks came from too
SCHEDULE_ROWS = ['inherit', 'fitnet', 'pkd', 'cwd', 'dfd', 'dfd_split']
FRESH_CLONE = {
    'bccd': ('bccd', [], 'work_dirs/demo/bccd/teacher/iter_1600.pth',
             '| dfd | 10 | alpha=0.00028, beta=0.0001 | 45.97 ± 0.29 (n=3) | - | - |'),
    'bccd_yolo': ('bccd_yolo', [], 'work_dirs/demo/yolo/teacher/iter_1000.pth',
                  '| dfd | 10 | alpha=0.00028, beta=0.0001 | 45.07 ± 1.92 (n=3) | - | - |'),
    # the schedule study (16 of 18 runs: the last two need an Intel Xeon) and its replication with the first teacher
    # (complete, seeds 1-3)
    'bccd_1200i': ('bccd', ['--schedule', '1200', '--picks-from', 'benchmarks/runs/bccd', '--methods'] + SCHEDULE_ROWS,
                   'work_dirs/demo/bccd/teacher/iter_1600.pth', '| inherit_s1 | 48.60 | 85.30 | 0.604 | 816 | 770 |'),
    'bccd_2026-11-27_1200i': ('bccd', ['--name', 'bccd_2026-11-27_1200i', '--schedule', '1200', '--picks-from',
                                       'benchmarks/runs/bccd_2026-11-27', '--seeds', '0', '1', '2', '3', '--methods',
                                       'student'] + SCHEDULE_ROWS, 'work_dirs/demo/bccd/teacher/iter_1600.pth',
                              '| student | - | - | 45.40 ± 1.13 (n=3) | +3.40 (+2.30 to +5.10) | wins |'),
    # the replication at 2400 iterations (complete): DFD, the best other method at 1200 (CWD) and inherit; the student
    # alone (issue 40's control, run on an Intel Xeon, the others on the AMD EPYC)
    'bccd_2026-11-27_2400i': ('bccd', ['--name', 'bccd_2026-11-27_2400i', '--schedule', '2400', '--picks-from',
                                       'benchmarks/runs/bccd_2026-11-27', '--seeds', '0', '1', '2', '3', '--methods',
                                       'student', 'inherit', 'cwd', 'dfd'], 'work_dirs/demo/bccd/teacher/iter_1600.pth',
                              '| student | - | - | 49.23 ± 0.15 (n=3) | -0.37 (-0.70 to -0.10) | loses |'),
}


def fresh_clone(tmp_path, monkeypatch, records):
    """A checkout whose work_dirs holds no teacher: the repository's recipes and configs and a copy of these records
    folders (``benchmarks/runs/<name>``), the tool's repository and working directory; its root."""
    repo = tmp_path / 'repo'
    (repo / 'benchmarks' / 'runs').mkdir(parents=True)
    for folder in ('recipes', 'configs'):
        (repo / folder).symlink_to(osp.join(ROOT, folder))
    for name in records:
        shutil.copytree(osp.join(ROOT, 'benchmarks', 'runs', name), repo / 'benchmarks' / 'runs' / name)
    monkeypatch.setattr(paths, 'REPO', str(repo))
    monkeypatch.chdir(repo)  # where its README's commands run
    return repo


def table_body(path):
    """A table's lines up to its command, which names how it was run (--jobs, --report-only, paths)."""
    return [line.split('Command: ')[0] for line in open(path).read().splitlines()]


@pytest.mark.parametrize('name', sorted(FRESH_CLONE))
def test_report_only_on_a_fresh_clone_writes_the_committed_tables(name, tmp_path, monkeypatch, capsys):
    """--report-only needs no trained teacher: in a checkout whose work_dirs holds no teacher (a fresh clone, here a
    copy of the repository's recipes, configs and the records, with those the picks came from for a schedule study),
    the tables are written from the committed records, their teacher named by the records, and match the committed
    tables but for the command line."""
    preset, args, checkpoint, line = FRESH_CLONE[name]
    source = [args[args.index('--picks-from') + 1].split('/')[-1]] if '--picks-from' in args else []
    repo = fresh_clone(tmp_path, monkeypatch, [name] + source)
    tool.main(['--preset', osp.join(ROOT, 'benchmarks', 'presets', f'{preset}.py'), '--report-only',
               '--work-dir', str(tmp_path / 'w')] + args)
    teacher = json.load(open(osp.join(ROOT, 'benchmarks', 'runs', name, TEACHER_RECORD)))
    out = capsys.readouterr().out
    assert (f"--report-only: {checkpoint} is not trained here; the tables are those of "
            f"the records' teacher ({teacher['teacher_id'][:12]}...)") in out
    assert not (repo / 'work_dirs').exists()  # nothing trained
    written, committed = table_body(repo / 'benchmarks' / f'{name}.md'), table_body(
        osp.join(ROOT, 'benchmarks', f'{name}.md'))
    assert line in written  # not an empty table
    assert f'Teacher (`{checkpoint}`): {teacher["metric"]:.2f}' in '\n'.join(written)
    assert written == committed


# schedule tables -> (the arguments that wrote them, the records folders they read: the shipped schedule's first, a
# line of the table)
SCHEDULE_TABLES = {
    'bccd_schedules': (['--preset', 'bccd', '--compare-schedules', '1200'], ['bccd', 'bccd_1200i'],
                       '| 300 iterations | cwd | -1.37 (-1.80 to -1.00) | loses |'),
    'bccd_2026-11-27_schedules': (['--preset', 'bccd', '--name', 'bccd_2026-11-27', '--seeds', '0', '1', '2', '3',
                                   '--methods'] + FIRST_BCCD_ROWS + ['--compare-schedules', '1200', '2400'],
                                  ['bccd_2026-11-27', 'bccd_2026-11-27_1200i', 'bccd_2026-11-27_2400i'],
                                  '| 2400 iterations | cwd | -0.10 (-0.30 to +0.10) | within the spread |'),
}


@pytest.mark.parametrize('name', sorted(SCHEDULE_TABLES))
def test_a_fresh_clone_writes_the_committed_schedule_tables(name, tmp_path, monkeypatch):
    """The schedule comparisons are written from the committed records of each length alone, in a fresh clone, as
    committed (but for the command line), chart included."""
    args, records, line = SCHEDULE_TABLES[name]
    repo = fresh_clone(tmp_path, monkeypatch, records)
    args = [osp.join(ROOT, 'benchmarks', 'presets', 'bccd.py') if a == 'bccd' and i and args[i - 1] == '--preset'
            else a for i, a in enumerate(args)]
    tool.main(args + ['--report-only', '--work-dir', str(tmp_path / 'w')])
    assert not (repo / 'work_dirs').exists()  # nothing trained
    written = table_body(repo / 'benchmarks' / f'{name}.md')
    assert line in written
    assert written == table_body(osp.join(ROOT, 'benchmarks', f'{name}.md'))
    assert (repo / 'benchmarks' / f'{name}.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.parametrize('name', ['bccd', 'camvid'])
def test_the_residual_variants_start_as_the_split_loss(name):
    """dfd_res, dfd_res_norm (issue 40): every DFD transform zero-initialised and every loss residual, so that at
    iteration 0 the HD term equals dfd_split's strict MSE on the same features; dfd_warm: the paper's transform,
    weighted in over the first half of the schedule."""
    import torch
    for row, normalised in (('dfd_res', False), ('dfd_res_norm', True)):
        torch.manual_seed(0)
        distiller = build_variant(name, row)
        transforms = {k: c for k, c in distiller.connectors.items() if type(c).__name__ == 'DFDConnector'}
        assert transforms, row
        for loss_name, loss in distiller.distill_losses.items():
            assert loss.residual and loss.normalize is normalised and loss.hd_constraint == 'transform', loss_name
            conn = transforms[distiller.loss_forward_mappings[loss_name]['s_transformed']['connector']]
            assert conn.zero_init
            s = torch.randn(2, conn.in_channels, 6, 5)
            t = torch.randn(2, conn.out_channels, 6, 5)
            aligned = s if conn.in_channels == conn.out_channels else torch.randn(2, conn.out_channels, 6, 5)
            kwargs = {} if conn.in_channels == conn.out_channels else dict(s_attention=s)
            res = loss(aligned, t, s_transformed=conn(s), **kwargs)
            split = type(loss)(alpha=loss.alpha, beta=loss.beta, hd_constraint='mse', normalize=normalised)(
                aligned, t, **kwargs)
            assert torch.allclose(res['hd'], split['hd'], rtol=1e-5), loss_name
    for loss in build_variant(name, 'dfd_warm').distill_losses.values():
        assert loss.transform_warmup == 0.5 and not loss.residual


@pytest.mark.parametrize('method', ['fitnet', 'pkd', 'mgd', 'cwd', 'dfd'])
def test_the_schedule_variants_scale_the_method_loss_as_they_name(method):
    """<method>_cos and <method>_stop (issue 40): the method's recipe, its distillation weight scaled by cosine decay
    to 0 over the schedule or held until half of it, the same tries for every method."""
    from mmengine.logging import MessageHub
    cos, stop = build_variant('bccd', f'{method}_cos'), build_variant('bccd', f'{method}_stop')
    plain = build_variant('bccd', method)
    assert plain.weight_schedule is None
    assert cos.weight_schedule == dict(policy='cosine', floor=0.0, warmup=0.0, stop=None)
    assert stop.weight_schedule == dict(policy='constant', floor=0.0, warmup=0.0, stop=0.5)
    hub = MessageHub.get_current_instance()
    hub.update_info('max_iters', 1200)
    hub.update_info('loop_stage', 'train')
    try:
        for it, cos_factor, stop_factor in ((0, 1.0, 1.0), (300, (1 + math.cos(math.pi / 4)) / 2, 1.0),
                                            (599, (1 + math.cos(math.pi * 599 / 1200)) / 2, 1.0), (600, 0.5, 0.0),
                                            (1199, (1 + math.cos(math.pi * 1199 / 1200)) / 2, 0.0)):
            hub.update_info('iter', it)
            assert math.isclose(cos.weight_factor(), cos_factor, abs_tol=1e-12), it
            assert stop.weight_factor() == stop_factor, it
    finally:
        hub.update_info('iter', None)
        hub.update_info('max_iters', None)
        hub.update_info('loop_stage', None)
