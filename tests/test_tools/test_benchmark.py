"""tools/benchmark.py: the protocol with a fake executor (sweep, extension, pick, fresh seeds, resume, failures), the
paired differences and verdicts against values written here, the local and Slurm executors, and the tool end to
end on a pair defined outside the repository."""
import json
import math
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import threading
import time

import pytest

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.pair import Variant, find_pair
from dfd_razor_tools.benchmark.protocol import Benchmark, RunSetup, checkpoint_interval
from dfd_razor_tools.benchmark.records import check_schedule, cpu_model, parse_run_name, picks_from_records, run_name
from dfd_razor_tools.benchmark.report import difference_cell, mean_std, paired_differences, verdict
from dfd_razor_tools.benchmark.settings import Metric, Settings, make_pair
from dfd_razor_tools.benchmark.sweep import extension, pick
from dfd_razor_tools.benchmark.teacher import (PROVENANCE, Teacher, evaluate_teacher, report_teacher,
                                               teacher_checkpoint, teacher_metrics, teacher_provenance,
                                               weights_sha256)
from dfd_razor_tools.paths import repo_path
from dfd_razor_tools.schedule import options_schedule, schedule_options
from dfd_razor_tools.benchmark import cli as benchmark_cli
from dfd_razor_tools.benchmark import executors as ex
from dfd_razor_tools.benchmark import report
from dfd_razor_tools.benchmark import teacher as teacher_module
from dfd_razor_tools.run import train_command

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.abspath(os.environ.get('DFD_DATA_ROOT', osp.join(ROOT, '..', 'shared', 'data')))
LOSS = 'model.distiller.levels.loss.'
VARIANTS = {'dfd_split': Variant('dfd', ['model.distiller.levels.connectors.trans=None',
                                            'model.distiller.levels.inputs.s_transformed=None',
                                            LOSS + 'hd_constraint=mse']),
            'dfd_batch': Variant('dfd', [LOSS + 'threshold_scope=batch']),
            'dfd_norm': Variant('dfd', [LOSS + 'normalize=True'])}
METHODS = ['fitnet', 'pkd', 'mgd', 'cwd', 'dfd', 'dfd_split', 'dfd_batch', 'dfd_norm']
ROWS = ['student', 'inherit'] + METHODS

# A made-up val metric per (row, factor, seed): each method peaks at its own factor.
PEAK = {'fitnet': 1.0, 'pkd': 1000.0, 'mgd': 0.01, 'cwd': 10.0, 'dfd': 0.1,
        'dfd_split': 1.0, 'dfd_batch': 1.0, 'dfd_norm': 1e-4}


def fake_metric(row, factor, seed):
    if row in ('student', 'inherit'):
        return 10.0 + seed
    return 50.0 - abs(math.log10(factor / PEAK[row])) + 0.1 * seed


@pytest.fixture(scope='module')
def pair():
    """The shipped BCCD pair of recipes/cpu_demo, with the three DFD variants."""
    found = find_pair(osp.join(ROOT, 'recipes', 'cpu_demo'), '*_fpn_retina-r18_retina-r18q_300i_bccd.py',
                         'student_retina-r18q_300i_bccd.py', ['fitnet', 'pkd', 'mgd', 'cwd', 'dfd'], name='bccd')
    found.variants = dict(VARIANTS)
    return found


class Fake:
    """A fake of executors.perform: the made-up metric, no training; counts its calls."""

    def __init__(self, fail=()):
        self.calls, self.fail = [], set(fail)
        self._lock = threading.Lock()

    def __call__(self, spec, env=None):
        run = parse_run_name(spec.name)
        with self._lock:
            self.calls.append(run)
        if run in self.fail:
            return dict(status='failed', error='boom', log='x.log')
        return dict(status='ok', metric=fake_metric(*run), extra={}, peak_rss_mib=1, seconds=60, diagnostics={})


def make(tmp_path, pair, perform, base=(), rows=None, jobs=1, seeds=(0, 1, 2, 3)):
    executor = ex.LocalExecutor(jobs=jobs, devices=[], threads_per_run=1, perform=perform)
    settings = Settings(methods=rows or ROWS, seeds=list(seeds), factors=[0.1, 1.0, 10.0], max_extend=2,
                        metric='coco/bbox_mAP', scale=100, label='box mAP')
    return Benchmark(pair, settings, Teacher('teacher.pth', ''),
                     RunSetup(work=str(tmp_path / 'work'), records=str(tmp_path / 'runs'), base_options=list(base)),
                     executor)


# ---- the protocol -------------------------------------------------------------------------------------------------
def test_the_pair_of_a_folder(pair, tmp_path):
    assert pair.student == 'recipes/cpu_demo/student_retina-r18q_300i_bccd.py'
    assert list(pair.methods) == ['fitnet', 'pkd', 'mgd', 'cwd', 'dfd']  # the order asked for
    assert pair.methods['dfd'] == 'recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py'
    assert pair.inherit == pair.methods['fitnet']  # the BCCD student inherits the teacher's neck and head
    assert pair.rows() == ROWS
    with pytest.raises(BenchmarkError, match=r'several student recipes .* choose one with --student'):
        find_pair(osp.join(ROOT, 'recipes', 'cpu_demo'))
    with pytest.raises(BenchmarkError, match=r'several cwd recipes \(cwd_backbone_td-hm.*\): choose the pair with --pair PATTERN'):
        find_pair(osp.join(ROOT, 'recipes', 'cpu_demo'), student='student_retina-r18q_300i_bccd.py')
    with pytest.raises(BenchmarkError, match=r'no fgd_\*\.py recipe matching'):
        find_pair(osp.join(ROOT, 'recipes', 'cpu_demo'), '*_bccd.py', 'student_retina-r18q_300i_bccd.py',
                     ['fgd'])
    with pytest.raises(BenchmarkError, match='does not exist'):
        find_pair(str(tmp_path / 'nowhere'))


def test_a_pair_of_the_controls_only(tmp_path, cli):
    """--methods student: the student alone over the fresh seeds, no method recipe needed (a preset's teacher is
    still evaluated with its own recipe); a folder pair then needs --teacher and a method recipe to evaluate it."""
    found = find_pair(osp.join(ROOT, 'recipes', 'cpu_demo'), '*_neck_yolov6-t_yolov6-n_300i_bccd.py',
                         'student_yolov6-n_300i_bccd.py', [], name='bccd_yolo')
    assert found.methods == {} and found.inherit is None and found.rows() == ['student']
    fake = Fake()
    executor = ex.LocalExecutor(jobs=1, devices=[], threads_per_run=1, perform=fake)
    Benchmark(found, Settings(methods=['student'], seeds=[0, 1, 2], factors=[1.0], max_extend=0,
                              metric='coco/bbox_mAP', scale=100), Teacher('t.pth', 'a' * 64),
              RunSetup(work=str(tmp_path / 'w'), records=str(tmp_path / 'runs')), executor).protocol()
    assert sorted(fake.calls) == [('student', 0.0, 1), ('student', 0.0, 2)]
    args = cli.parse_args(['--preset', 'bccd_yolo', '--methods', 'student'])
    s = cli.settings(args)
    pair, rows = make_pair(s), s.methods
    assert rows == ['student'] and pair.methods == {}
    folder = write_pair(tmp_path / 'pair')
    args = cli.parse_args([str(folder), '--metric', 'mIoU', '--methods', 'student'])
    s = cli.settings(args)
    pair = make_pair(s)
    with pytest.raises(BenchmarkError, match='--methods names controls only, so no recipe names the teacher'):
        teacher_checkpoint(s, pair, {}, str(tmp_path / 'w'))
    with pytest.raises(BenchmarkError, match='--methods names controls only: the teacher is evaluated with'):
        evaluate_teacher(s, pair, 't.pth', Metric('mIoU'), {}, str(tmp_path / 'w'))


def test_default_weights_come_from_the_recipes(pair, tmp_path):
    bench = make(tmp_path, pair, None)
    assert bench.weights('dfd') == {'alpha': 2.8e-5, 'beta': 1e-5}
    assert bench.weights('pkd') == {'loss_weight': 10.0}
    assert bench.weights('mgd') == {'alpha_mgd': 2e-5}
    assert bench.weights('cwd') == {'loss_weight': 10.0}
    assert bench.weights('fitnet') == {'alpha': 1e-5}
    assert bench.weights('dfd_norm') == {'alpha': 2.8e-5, 'beta': 1e-5}  # a variant: its method's recipe


def test_options_of_a_run(pair, tmp_path):
    bench = make(tmp_path, pair, None, base=['train_cfg.max_iters=2'])
    assert bench.options(('student', 0, 1)) == ['train_cfg.max_iters=2', 'randomness.seed=1']
    assert bench.options(('inherit', 0, 0)) == ['train_cfg.max_iters=2', 'randomness.seed=0',
                                                'model.teacher_ckpt=teacher.pth', LOSS + 'alpha=0']
    opts = bench.options(('dfd_split', 10.0, 2))
    assert opts == ['train_cfg.max_iters=2', 'randomness.seed=2', 'model.teacher_ckpt=teacher.pth',
                    LOSS + 'alpha=0.00028', LOSS + 'beta=0.0001', 'model.distiller.levels.connectors.trans=None',
                    'model.distiller.levels.inputs.s_transformed=None', LOSS + 'hd_constraint=mse']
    assert bench.recipe(('inherit', 0, 0)).startswith('recipes/cpu_demo/fitnet_fpn_')
    assert bench.recipe(('dfd_norm', 1.0, 0)).startswith('recipes/cpu_demo/dfd_fpn_')


def test_schedule_options_scale_the_student_schedule():
    student = 'recipes/cpu_demo/student_retina-r18q_300i_bccd.py'  # 300 iterations, milestones 225, 276
    assert schedule_options(student, 2) == ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                                               'default_hooks.checkpoint.interval=2',
                                               'param_scheduler.1.milestones=[1,1]']
    assert schedule_options(student, 600)[-1] == 'param_scheduler.1.milestones=[450,552]'
    camvid = 'recipes/cpu_demo/student_pspnet-r18q_200i_camvid.py'  # PolyLR over 200 iterations
    assert schedule_options(camvid, 50)[-1] == 'param_scheduler.0.end=50'


def test_pick_and_extension():
    assert pick({0.1: 3.0, 1.0: 5.0, 10.0: 5.0}) == 1.0  # tie -> closest to the shipped weight
    assert pick({0.1: 5.0, 10.0: 5.0}) == 0.1
    assert pick({0.1: None, 1.0: None}) is None
    assert extension({0.1: 3.0, 1.0: 2.0, 10.0: 1.0}, [0.1, 1, 10], 2) == pytest.approx(0.01)
    assert extension({0.001: 4.0, 0.01: 3.0, 0.1: 3.0, 1.0: 2.0, 10.0: 1.0}, [0.1, 1, 10], 2) is None
    assert extension({0.1: 1.0, 1.0: 2.0, 10.0: 3.0}, [0.1, 1, 10], 0) is None


def test_run_names():
    for run in [('student', 0.0, 3), ('dfd', 0.1, 0), ('dfd_split', 100.0, 2), ('dfd_norm', 0.001, 1)]:
        assert parse_run_name(run_name(run)) == run
    assert run_name(('dfd_split', 10.0, 1)) == 'dfd_split_x10_s1'
    assert parse_run_name('student_x1_s0') is None and parse_run_name('teacher_metrics') is None


def test_protocol_sweeps_on_seed_0_and_fills_the_fresh_seeds(pair, tmp_path):
    fake = Fake()
    bench = make(tmp_path, pair, fake)
    bench.protocol()
    picked = {m: bench.picked(m) for m in METHODS}
    # each method's best on val, found by extending the range x10 at most twice per side
    assert picked == pytest.approx({'fitnet': 1.0, 'pkd': 1000.0, 'mgd': 0.01, 'cwd': 10.0, 'dfd': 0.1,
                                    'dfd_split': 1.0, 'dfd_batch': 1.0, 'dfd_norm': 0.001})
    assert sorted(bench.sweep('pkd')) == pytest.approx([0.1, 1.0, 10.0, 100.0, 1000.0])
    assert sorted(bench.sweep('dfd_norm')) == pytest.approx([0.001, 0.01, 0.1, 1.0, 10.0])
    runs = set(fake.calls)
    assert len(runs) == len(fake.calls)  # nothing twice
    for m in ('fitnet', 'pkd', 'mgd', 'cwd', 'dfd'):
        assert {(f, s) for (r, f, s) in runs if r == m and s > 0} == {
            (f, s) for f in (picked[m], 1.0) for s in (1, 2, 3)}
    for m in VARIANTS:  # variants: the picked weight only
        assert {(f, s) for (r, f, s) in runs if r == m and s > 0} == {(picked[m], s) for s in (1, 2, 3)}
    # the controls have no weight to pick: fresh seeds only
    assert {(r, s) for (r, f, s) in runs if r in ('student', 'inherit')} == {
        (r, s) for r in ('student', 'inherit') for s in (1, 2, 3)}
    # sweeps: fitnet 3, pkd and mgd 5 (two extensions), cwd and dfd 4 (one), dfd_split and dfd_batch 3, dfd_norm 5;
    # fresh: 2 x 3 per method (fitnet: picked = shipped, 3), 3 per variant, 3 per control
    assert len(runs) == (3 + 5 + 5 + 4 + 4) + (3 + 3 + 5) + (3 + 6 + 6 + 6 + 6) + 3 * 3 + 2 * 3
    # the headline's values: fresh seeds only; seed 0 (50.0) picked the weight and is in no mean
    assert bench.seed_values('dfd', 0.1) == pytest.approx({1: 50.1, 2: 50.2, 3: 50.3})
    # the order of the fresh runs (a benchmark spans sessions): the headline seed by seed, every row at seed 1
    # before any at seed 2, then the shipped weights seed by seed (fitnet's pick is its shipped weight: not twice)
    fresh = [r for r in fake.calls if r[2] > 0]
    expected = [run for s in (1, 2, 3) for run in
                [(r, 0.0, s) for r in ('student', 'inherit')] + [(m, picked[m], s) for m in METHODS]]
    expected += [(m, 1.0, s) for s in (1, 2, 3) for m in ('pkd', 'mgd', 'cwd', 'dfd')]
    assert fresh == expected


def test_picks_from_another_schedules_records(pair, tmp_path):
    """--picks-from: the 300-iteration protocol's records pick each row's weight; the longer schedule runs every row
    at its pick over the fresh seeds only, and its tables say where the picks came from."""
    short = make(tmp_path / 'short', pair, Fake())
    short.teacher_id = 'a' * 64
    short.protocol()
    records = str(tmp_path / 'short' / 'runs')
    rows = ['student', 'inherit', 'fitnet', 'pkd', 'cwd', 'dfd', 'dfd_split']
    picks = picks_from_records(records, rows, 0, [0.1, 1.0, 10.0], 2, 'a' * 64)
    # fake_metric peaks where PEAK says, within the sweep's reach (two x10 extensions per side)
    assert picks == pytest.approx({'fitnet': 1.0, 'pkd': 1000.0, 'cwd': 10.0, 'dfd': 0.1, 'dfd_split': 1.0})
    fake = Fake()
    executor = ex.LocalExecutor(jobs=1, devices=[], threads_per_run=1, perform=fake)
    settings = Settings(methods=rows, seeds=[0, 1, 2, 3], factors=[0.1, 1.0, 10.0], max_extend=2,
                        metric='coco/bbox_mAP', scale=100, label='box mAP')
    long = Benchmark(pair, settings, Teacher('teacher.pth', 'a' * 64),
                     RunSetup(work=str(tmp_path / 'long' / 'work'), records=str(tmp_path / 'long' / 'runs'),
                              base_options=['train_cfg.max_iters=1200']),
                     executor, picks=picks, picks_source='runs/short')
    long.protocol()
    assert sorted(fake.calls) == sorted([(r, 0.0, s) for r in ('student', 'inherit') for s in (1, 2, 3)] +
                                        [(r, picks[r], s) for r in picks for s in (1, 2, 3)])
    assert long.picked('pkd') == 1000.0 and long.sweep_complete('pkd')
    path = report.write_report(long, {}, 'python tools/benchmark.py ...', str(tmp_path / 'long'), 'fake', 1.0)
    text = open(path).read()
    assert 'Every method runs at the weight that the seed-0 sweep of `runs/short` picked' in text
    assert '## Headline: each method at the weight picked on `runs/short`' in text
    assert '| pkd | 1000 | loss_weight=1e+04 | 50.20 ± 0.10 (n=3) |' in text  # fake_metric at the peak: 50 + 0.1 s
    assert '## At the shipped weights' not in text and '## Sweep' not in text
    with pytest.raises(BenchmarkError, match=r'no picked weight for mgd'):
        Benchmark(pair, Settings(methods=rows + ['mgd'], seeds=[0, 1], factors=[1.0], max_extend=0), picks=picks,
                  picks_source='runs/short')


def test_picks_from_records_name_what_is_wrong(pair, tmp_path):
    bench = make(tmp_path, pair, Fake(), rows=['student', 'dfd'])
    bench.teacher_id = 'a' * 64
    bench.protocol()
    records = tmp_path / 'runs'
    with pytest.raises(BenchmarkError, match=r'the dfd sweep was made with teacher a{12}\.\.\., not this one '
                       r'\(b{12}\.\.\.\): picks are a teacher\'s'):
        picks_from_records(str(records), ['dfd'], 0, [0.1, 1.0, 10.0], 2, 'b' * 64)
    (records / 'dfd_x1_s0.json').unlink()
    with pytest.raises(BenchmarkError, match=r'the dfd sweep on seed 0 is not finished \(x1 not run\)'):
        picks_from_records(str(records), ['dfd'], 0, [0.1, 1.0, 10.0], 2, 'a' * 64)
    (records / 'dfd_x0.01_s0.json').unlink()  # the extension below the best (x0.1)
    with pytest.raises(BenchmarkError, match=r'the dfd sweep on seed 0 is not finished \(x0.01 pending\)'):
        picks_from_records(str(records), ['dfd'], 0, [0.1, 10.0], 2, 'a' * 64)
    with pytest.raises(BenchmarkError, match=r'--picks-from .*nowhere: no such folder'):
        picks_from_records(str(tmp_path / 'nowhere'), ['dfd'], 0, [1.0], 0, 'a' * 64)


def test_every_method_runs_at_its_shipped_weight_before_any_is_tuned(pair, tmp_path):
    fake = Fake()
    make(tmp_path, pair, fake).protocol()
    weighted = [r for r in fake.calls if r[0] in METHODS]
    assert [r[1] for r in weighted[:len(METHODS)]] == [1.0] * len(METHODS)
    assert {r[0] for r in weighted[:len(METHODS)]} == set(METHODS)


def test_resume_reuses_identical_runs_and_reruns_changed_ones(pair, tmp_path):
    first = Fake()
    make(tmp_path, pair, first).protocol()
    again = Fake()
    bench = make(tmp_path, pair, again)
    bench.protocol()
    assert again.calls == [] and bench.reused == len(first.calls)
    changed = Fake()
    make(tmp_path, pair, changed, base=['train_cfg.max_iters=3']).protocol()
    assert sorted(changed.calls) == sorted(first.calls)
    record = json.load(open(tmp_path / 'runs' / 'dfd_x0.1_s0.json'))
    assert record['options'][0] == 'train_cfg.max_iters=3' and record['metric'] == pytest.approx(50.0)


def test_a_failed_run_is_reported_and_retried(pair, tmp_path):
    bad = ('pkd', 1.0, 0)
    bench = make(tmp_path, pair, Fake(fail={bad}), rows=['pkd'])
    bench.protocol()
    assert bench.records[bad]['status'] == 'failed' and bench.sweep('pkd')[1.0] is None
    assert bench.picked('pkd') == 1000.0
    # the shipped weight still runs on the fresh seeds
    assert bench.seed_values('pkd', 1.0) == pytest.approx({1: 50 - 3 + 0.1, 2: 50 - 3 + 0.2, 3: 50 - 3 + 0.3})
    retry = Fake()
    make(tmp_path, pair, retry, rows=['pkd']).protocol()
    assert retry.calls == [bad]


def test_a_failed_fresh_run_makes_the_verdict_incomplete(pair, tmp_path):
    bench = make(tmp_path, pair, Fake(fail={('fitnet', 1.0, 2)}), rows=['fitnet', 'dfd'])
    bench.protocol()
    diffs, word = bench.comparison('fitnet')
    assert set(diffs) == {1, 3} and word == 'incomplete (2 of 3 seeds)'
    assert report.cell(bench, 'fitnet', 1.0) == '50.20 ± 0.14 (n=2), 1 failed'  # 50.1, 50.3


def test_parallel_jobs_run_the_same_protocol(pair, tmp_path):
    serial, parallel = Fake(), Fake()
    make(tmp_path / 'a', pair, serial).protocol()
    make(tmp_path / 'b', pair, parallel, jobs=2).protocol()
    assert sorted(serial.calls) == sorted(parallel.calls)


def test_another_teacher_reruns_the_distilled_runs_only(pair, tmp_path):
    first = Fake()
    make(tmp_path, pair, first, rows=['student', 'dfd']).protocol()
    other = Fake()
    bench = make(tmp_path, pair, other, rows=['student', 'dfd'])
    bench.teacher_id = 'another'
    bench.protocol()
    assert sorted(other.calls) == sorted(r for r in first.calls if r[0] != 'student')


def test_load_finished_reads_back_every_reusable_record(pair, tmp_path):
    first = Fake()
    make(tmp_path, pair, first, rows=['student', 'dfd', 'pkd']).protocol()
    again = make(tmp_path, pair, Fake(), rows=['student', 'dfd', 'pkd'])
    again.load_finished()
    assert sorted(again.records) == sorted(first.calls)
    other = make(tmp_path, pair, Fake(), base=['train_cfg.max_iters=3'], rows=['student', 'dfd', 'pkd'])
    other.load_finished()
    assert other.records == {}  # other options: nothing to reuse


# ---- the tables ---------------------------------------------------------------------------------------------------
def test_verdict_rule():
    assert verdict([0.1, 0.2, 0.3], 3) == 'wins'
    assert verdict([-0.1, -2.0, -0.3], 3) == 'loses'
    assert verdict([0.3, -0.5, 0.1], 3) == 'within the spread'
    assert verdict([0.0, 0.5, 0.1], 3) == 'within the spread'  # a tie on one seed is not a win
    assert verdict([0.5, 0.1], 3) == 'incomplete (2 of 3 seeds)'
    assert paired_differences({1: 46.3, 2: 46.0, 3: 46.4}, {1: 48.0, 2: 47.9, 3: 48.1}, [1, 2, 3]) == \
        pytest.approx({1: -1.7, 2: -1.9, 3: -1.7})
    assert paired_differences({1: 1.0, 2: 2.0}, {2: 1.5, 3: 0.0}, [1, 2, 3]) == {2: 0.5}
    assert difference_cell({1: -1.7, 2: -1.9, 3: -1.7}) == '-1.77 (-1.90 to -1.70)'
    assert mean_std([48.0, 47.9, 48.1]) == '48.00 ± 0.10 (n=3)' and mean_std([]) == 'not run yet'


# Values as a finished benchmark could have them. Seed 0: the sweeps (x10 best for every method) and the controls;
# seeds 1-3 at the picked (x10) and shipped (x1) weights.
SWEEP = {'fitnet': {0.1: 44.3, 1.0: 45.1, 10.0: 48.1, 100.0: 48.0}, 'pkd': {0.1: 42.6, 1.0: 47.2, 10.0: 47.9,
                                                                            100.0: 46.6},
         'cwd': {0.1: 43.7, 1.0: 47.0, 10.0: 47.3, 100.0: 46.8}, 'dfd': {0.1: 43.8, 1.0: 43.8, 10.0: 46.0,
                                                                         100.0: 43.2}}
FRESH = {('student', 0.0): [17.5, 18.0, 17.5], ('fitnet', 10.0): [48.0, 47.9, 48.1],
         ('pkd', 10.0): [46.0, 46.5, 46.3], ('cwd', 10.0): [47.0, 47.5],  # cwd's seed-3 run not yet
         ('dfd', 10.0): [46.3, 46.0, 46.4],
         ('fitnet', 1.0): [45.0, 45.5, 45.3], ('pkd', 1.0): [46.9, 46.6, 47.2], ('cwd', 1.0): [47.5, 47.0, 47.2],
         ('dfd', 1.0): [44.0, 43.8, 44.2]}


def finished(pair, tmp_path):
    bench = make(tmp_path, pair, None, rows=['student', 'fitnet', 'pkd', 'cwd', 'dfd'])
    values = {('student', 0.0, 0): 99.0}  # seed 0 of a control: not in the headline either
    values.update({(m, f, 0): v for m, sweep in SWEEP.items() for f, v in sweep.items()})
    values.update({(m, f, s): v for (m, f), vs in FRESH.items() for s, v in zip((1, 2, 3), vs)})
    bench.records = {run: dict(status='ok', metric=v, extra={}, seconds=300.0, peak_rss_mib=800.0)
                     for run, v in values.items()}
    return bench


def test_headline_fresh_seeds_paired_differences_and_verdicts(pair, tmp_path):
    bench = finished(pair, tmp_path)
    assert bench.comparison('fitnet') == (pytest.approx({1: -1.7, 2: -1.9, 3: -1.7}), 'loses')
    assert bench.comparison('student') == (pytest.approx({1: 28.8, 2: 28.0, 3: 28.9}), 'wins')
    assert bench.comparison('pkd') == (pytest.approx({1: 0.3, 2: -0.5, 3: 0.1}), 'within the spread')
    assert bench.comparison('cwd')[1] == 'incomplete (2 of 3 seeds)'
    # at the shipped weights: dfd x1 (44.0, 43.8, 44.2) against each row's x1
    assert bench.comparison('fitnet', shipped=True) == (pytest.approx({1: -1.0, 2: -1.7, 3: -1.1}), 'loses')
    assert bench.comparison('student', shipped=True) == (pytest.approx({1: 26.5, 2: 25.8, 3: 26.7}), 'wins')
    path = report.write_report(bench, dict(metric=49.4, extra={}, checkpoint='t.pth'), 'cmd', str(tmp_path),
                               'fake executor', 12.0)
    text = open(path).read()
    headline = text.split('## Headline')[1].split('##')[0]
    assert '| student | - | - | 17.67 ± 0.29 (n=3) | +28.57 (+28.00 to +28.90) | wins |' in headline
    assert '| fitnet | 10 | alpha=0.0001 | 48.00 ± 0.10 (n=3) | -1.77 (-1.90 to -1.70) | loses |' in headline
    assert ('| pkd | 10 | loss_weight=100 | 46.27 ± 0.25 (n=3) | -0.03 (-0.50 to +0.30) | within the spread |'
            in headline)
    assert ('| cwd | 10 | loss_weight=100 | 47.25 ± 0.35 (n=2) | -1.10 (-1.50 to -0.70) | incomplete (2 of 3 seeds) |'
            in headline)
    assert '| dfd | 10 | alpha=0.00028, beta=0.0001 | 46.23 ± 0.21 (n=3) | - | - |' in headline
    assert '99.00' not in headline and '46.00 (' not in headline  # no seed-0 value in any mean
    shipped = text.split("## At the shipped weights (each recipe's own)")[1].split('##')[0]
    assert '| fitnet | alpha=1e-05 | 45.27 ± 0.25 (n=3) | -1.27 (-1.70 to -1.00) | loses |' in shipped
    assert '| dfd | alpha=2.8e-05, beta=1e-05 | 44.00 ± 0.20 (n=3) | - | - |' in shipped
    sweep = text.split('## Sweep')[1].split('##')[0]
    assert '| dfd | x0.1: 43.80, x1: 43.80, **x10: 46.00**, x100: 43.20 |' in sweep
    assert '| student | 99.00 (no weight) |' in sweep
    assert 'Teacher minus student alone: 31.73 points (student alone over 3 fresh seed(s)).' in text
    assert '43 finished runs; their wall times sum to 3.6 h, 5.0 min per run on average.' in text
    assert '12 s in this invocation' in text
    assert (tmp_path / 'bccd.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert (tmp_path / 'bccd_diagnostics.md').exists()


def test_the_best_other_method_of_a_schedule_table_is_no_variant_of_the_reference(pair, tmp_path):
    """DFD's ablations (variants) and the controls are not the method it is compared with; a variant with the
    highest mean is passed over for the best method (values written here)."""
    bench = make(tmp_path, pair, None, rows=['inherit', 'fitnet', 'cwd', 'dfd', 'dfd_split'], seeds=(0, 1, 2))
    bench.picks = {'fitnet': 10.0, 'cwd': 10.0, 'dfd': 10.0, 'dfd_split': 10.0}
    values = {'inherit': (60.0, 61.0), 'fitnet': (47.0, 48.0), 'cwd': (47.5, 47.0), 'dfd': (47.0, 47.4),
              'dfd_split': (50.0, 50.0)}
    bench.records = {(row, 0.0 if row == 'inherit' else 10.0, seed): dict(status='ok', metric=v[seed - 1])
                     for row, v in values.items() for seed in (1, 2)}
    assert report.best_other(bench) == 'fitnet'  # 47.50 > cwd 47.25; dfd_split 50.00 and inherit skipped
    best, diffs, word = report.reference_gap(bench)
    assert (best, diffs, word) == ('fitnet', pytest.approx({1: 0.0, 2: -0.6}), 'within the spread')


def test_a_resumed_run_is_counted_but_not_timed(pair, tmp_path):
    """A run that went on from an interrupted run's checkpoint measured only the part after it: its wall shows
    where it went on from, and the cost line counts it but leaves it out of the sum and the mean."""
    bench = finished(pair, tmp_path)
    bench.records[('dfd', 10.0, 1)].update(seconds=100.0, resumed_from='iter_600.pth')
    assert [ln for ln in report.runs_table(bench) if ln.startswith('| dfd_x10_s1 |')] == [
        '| dfd_x10_s1 | 46.30 | nan | 800 | 100 (after iter_600.pth) |']
    assert report.cost_line(bench) == ('43 finished runs; 1 went on from an interrupted run\'s checkpoint and '
                                       'measured only the part after it; the others\' wall times sum to 3.5 h, '
                                       '5.0 min per run on average.')  # 42 x 300 s
    bench.records = {key: bench.records[key] for key in [('dfd', 10.0, 2)]}
    assert report.cost_line(bench) == '1 finished run; its wall time: 5.0 min.'
    bench.records[('dfd', 10.0, 2)].update(resumed_from='iter_600.pth')
    assert report.cost_line(bench) == ("1 finished run; 1 went on from an interrupted run's checkpoint (no wall time "
                                       'of a whole run).')


def test_the_report_says_which_cpus_made_the_runs(pair, tmp_path):
    """A seeded run gives other numbers on another CPU (benchmarks/README.md), so the tables count each CPU's runs
    and say so when there are several; records older than the ``cpu`` field count as not recorded."""
    bench = finished(pair, tmp_path)
    runs = sorted(bench.records)
    assert report.cpu_line(bench) == 'Runs by CPU: not recorded: 43.'
    amd, intel = 'AMD EPYC (family 25, model 17, stepping 1)', 'Intel(R) Xeon(R) (family 6, model 167, stepping 1)'
    for run in runs[:40]:
        bench.records[run]['cpu'] = amd
    assert report.cpu_line(bench) == f'Runs by CPU: {amd}: 40, not recorded: 3.'
    bench.records[runs[40]]['cpu'] = intel
    assert report.cpu_line(bench) == (f'Runs by CPU (more than one: a seed gives other numbers on another CPU): '
                                      f'{amd}: 40, not recorded: 2, {intel}: 1.')
    path = report.write_report(bench, dict(metric=49.4, extra={}), 'cmd', str(tmp_path), '', None)
    assert report.cpu_line(bench) in open(path).read()


def test_report_marks_an_unfinished_sweep_and_a_rewrite(pair, tmp_path):
    partial = make(tmp_path, pair, Fake(), rows=['dfd'])
    partial.run_all([('dfd', 1.0, 0), ('dfd', 10.0, 0)])
    assert not partial.sweep_complete('dfd')
    partial.run_all([('dfd', 0.1, 0)])
    assert not partial.sweep_complete('dfd')  # best at the low end: 0.01 pending
    text = open(report.write_report(partial, {}, 'cmd', str(tmp_path), 'fake', None)).read()
    assert '| dfd | 0.1 (sweep not finished) | alpha=2.8e-06, beta=1e-06 | not run yet | - | - |' in text
    assert 'these tables were rewritten from the 3 records (--report-only)' in text
    assert 'in this invocation' not in text and 'not a cost comparison' in text
    partial.run_all([('dfd', 0.01, 0)])
    assert partial.sweep_complete('dfd')


def test_diagnostics_from_a_scalars_file(tmp_path):
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    rows = [dict(iter=i, loss=3.0, loss_cls=1.0, loss_bbox=1.0, time=0.5 + i,
                 **{'distill.loss_dfd_fpn0_hd': 0.5 / i, 'distill.loss_dfd_fpn0_ld': 0.5 / i,
                    'distill.stat_dfd_fpn0_hd_fraction': 0.3}) for i in (1, 2, 3, 4)]
    rows.insert(2, {'coco/bbox_mAP': 0.5, 'step': 2})  # a validation row is skipped
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))
    d = ex.diagnostics(str(tmp_path))
    assert d['first']['iter'] == 1 and d['middle']['iter'] == 3 and d['last']['iter'] == 4
    assert d['first']['ratio'] == pytest.approx(1.0 / 2.0) and d['last']['ratio'] == pytest.approx(0.25 / 2.0)
    assert d['first']['task'] == {'loss_cls': 1.0, 'loss_bbox': 1.0}
    assert d['middle']['hd_fraction'] == {'stat_dfd_fpn0_hd_fraction': 0.3}
    assert d['seconds_per_iter'] == pytest.approx(3.5)  # median of 2.5, 3.5, 4.5 (the first is warm-up)


def test_diagnostics_of_a_resumed_run_count_each_iteration_once(tmp_path):
    """An interrupted training logged iterations 1-3 and saved at 2; the one that went on from that checkpoint
    logged 3-4 again in a later folder: iteration 3 is the later one's, and no iteration counts twice."""
    def write(folder, iters, time):
        vis = tmp_path / folder / 'vis_data'
        vis.mkdir(parents=True)
        (vis / 'scalars.json').write_text('\n'.join(json.dumps(dict(iter=i, loss=2.0, loss_cls=1.0, loss_bbox=1.0,
                                                                    time=time)) for i in iters))
    write('20260101_000000', (1, 2, 3), 1.0)
    write('20260101_010000', (3, 4), 5.0)
    d = ex.diagnostics(str(tmp_path))
    assert (d['first']['iter'], d['middle']['iter'], d['last']['iter']) == (1, 3, 4)  # of 1, 2, 3, 4
    assert d['seconds_per_iter'] == 5.0  # median of 1.0 (iter 2), 5.0 (3), 5.0 (4): iteration 3 is the later run's


def test_weights_sha256_ignores_metadata(tmp_path):
    import torch
    state = {'a': torch.arange(4.0), 'b': torch.ones(2, 2)}
    torch.save({'state_dict': state, 'meta': {'time': 1}}, tmp_path / 'x.pth')
    torch.save({'state_dict': state, 'meta': {'time': 2}}, tmp_path / 'y.pth')
    torch.save({'state_dict': dict(state, a=torch.arange(4.0) + 1)}, tmp_path / 'z.pth')
    x, y, z = (weights_sha256(str(tmp_path / n)) for n in ('x.pth', 'y.pth', 'z.pth'))
    assert x == y != z


# ---- executors ----------------------------------------------------------------------------------------------------
def spec(name, tmp_path, processes=1):
    return ex.RunSpec(name=name, recipe='recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py',
                      options=['randomness.seed=1'], work_dir=str(tmp_path / name),
                      record=str(tmp_path / 'runs' / f'{name}.json'), processes=processes)


def test_local_executor_runs_two_at_once_each_on_its_own_gpu(tmp_path):
    spans, lock = [], threading.Lock()

    def slow(s, env):
        start = time.time()
        time.sleep(0.5)
        with lock:
            spans.append((s.name, env['CUDA_VISIBLE_DEVICES'], start, time.time()))
        return dict(status='ok', metric=1.0)

    executor = ex.LocalExecutor(jobs=2, devices=['0', '1'], perform=slow)
    done = []
    executor.map([spec(f'dfd_x1_s{i}', tmp_path) for i in range(4)], lambda s, r: done.append(s.name))
    assert sorted(done) == [f'dfd_x1_s{i}' for i in range(4)]
    for a in spans:
        overlapping = [b for b in spans if b is not a and b[2] < a[3] and a[2] < b[3]]
        assert len(overlapping) >= 1  # two at a time, never more
        assert all(b[1] != a[1] for b in overlapping)  # runs at the same time hold different GPUs
    starts = sorted(s[2] for s in spans)
    assert starts[1] - starts[0] < 0.3 and starts[2] - starts[0] >= 0.45  # two start together, the third waits
    assert ex.slot_environments(2, 2, ['0', '1', '2', '3']) == [{'CUDA_VISIBLE_DEVICES': '0,1'},
                                                                {'CUDA_VISIBLE_DEVICES': '2,3'}]
    assert ex.slot_environments(1, 1, ['4', '6']) == [{'CUDA_VISIBLE_DEVICES': '4'}]
    with pytest.raises(ex.ExecutorError, match=r'--jobs 2 x --gpus-per-run 2 needs 4 GPUs; 3 visible \(0,1,2\)'):
        ex.slot_environments(2, 2, ['0', '1', '2'])


def test_local_executor_shares_the_cores_on_cpu(monkeypatch):
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    assert ex.slot_environments(2, 1, [], cpus=16) == [{'OMP_NUM_THREADS': '8'}] * 2
    assert ex.slot_environments(4, 1, [], cpus=2) == [{'OMP_NUM_THREADS': '1'}] * 4
    assert ex.slot_environments(2, 1, [], threads_per_run=3) == [{'OMP_NUM_THREADS': '3'}] * 2
    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    assert ex.slot_environments(2, 1, [], cpus=16) == [{'OMP_NUM_THREADS': '2'}] * 2  # the caller's choice


def test_more_than_one_gpu_per_run_trains_through_dist_train(tmp_path):
    command = train_command('r.py', '/w', ['a=1'], processes=2)
    assert command == ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), 'r.py', '2', '--work-dir', '/w',
                       '--cfg-options', 'a=1']
    assert train_command('r.py', '/w')[:2] == [sys.executable, osp.join(ROOT, 'tools', 'train.py')]
    from dfd_razor_tools.run import _environment
    env = _environment({'X': '1'}, 2)
    assert env['PYTHON'] == sys.executable and 1024 <= int(env['PORT']) < 65536 and env['X'] == '1'
    assert _environment({'X': '1'}, 1) == {'X': '1'}


def picklable_perform(spec, env=None):
    """Stands in for executors.perform in submitit's debug executor."""
    record = dict(status='ok', metric=float(spec.name[-1]), env=dict(env or {}), options=spec.options)
    ex.write_record(spec.record, record)
    return record


def test_slurm_executor_through_submitits_debug_executor(tmp_path):
    executor = ex.SlurmExecutor(folder=str(tmp_path / 'slurm'), gpus_per_run=0, cpus_per_run=2, time_min=5,
                                cluster='debug', perform=picklable_perform)
    done = {}
    executor.map([spec('dfd_x1_s1', tmp_path), spec('dfd_x1_s2', tmp_path)], lambda s, r: done.update({s.name: r}))
    assert {n: r['metric'] for n, r in done.items()} == {'dfd_x1_s1': 1.0, 'dfd_x1_s2': 2.0}
    assert done['dfd_x1_s1']['env'] == {'OMP_NUM_THREADS': '2'}  # a CPU job: one thread per CPU it was given
    assert json.load(open(tmp_path / 'runs' / 'dfd_x1_s2.json'))['metric'] == 2.0  # written by the job
    job = json.load(open(tmp_path / 'dfd_x1_s1' / 'slurm_job.json'))
    assert job['options'] == ['randomness.seed=1'] and job['cluster'] == 'debug'


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """srun and sbatch stand-ins on PATH: sbatch copies the script it is given and answers with job 4242."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text('#!/bin/sh\nexit 0\n')
    (bin_dir / 'sbatch').write_text(f'#!/bin/sh\ncp "$1" {tmp_path}/submitted.sh\necho "Submitted batch job 4242"\n')
    for f in ('srun', 'sbatch'):
        (bin_dir / f).chmod(0o755)
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    return tmp_path / 'submitted.sh'


def test_the_sbatch_script_of_a_run(tmp_path, fake_slurm):
    executor = ex.SlurmExecutor(folder=str(tmp_path / 'slurm'), partition='gpu', gpus_per_run=2, cpus_per_run=8,
                                time_min=90, additional={'account': 'distill'})
    job = executor.submit(spec('dfd_x10_s3', tmp_path, processes=2))
    assert job.job_id == '4242'
    script = fake_slurm.read_text()
    for line in ('#SBATCH --partition=gpu', '#SBATCH --gpus-per-node=2', '#SBATCH --time=90',
                 '#SBATCH --cpus-per-task=8', '#SBATCH --ntasks-per-node=1', '#SBATCH --nodes=1',
                 '#SBATCH --account=distill', '#SBATCH --job-name=bench_dfd_x10_s3'):
        assert line in script.splitlines(), (line, script)
    command = script.splitlines()[-1]
    assert command.startswith('srun ') and f'{sys.executable} -u -m submitit.core._submit' in command
    assert str(tmp_path / 'slurm') in command
    # what the job runs: executors.perform on this run, which trains with tools/dist_train.sh on the job's 2 GPUs
    submission = job.submission()
    assert submission.function is ex.perform
    submitted, env = submission.args
    assert submitted == spec('dfd_x10_s3', tmp_path, processes=2) and env == {}
    assert train_command(submitted.recipe, submitted.work_dir, submitted.options, submitted.processes)[:4] == [
        'bash', osp.join(ROOT, 'tools', 'dist_train.sh'), submitted.recipe, '2']
    assert json.load(open(tmp_path / 'dfd_x10_s3' / 'slurm_job.json'))['job_id'] == '4242'


def test_a_running_slurm_job_is_awaited_not_submitted_again(tmp_path, monkeypatch):
    import submitit
    run = spec('pkd_x1_s2', tmp_path)
    os.makedirs(run.work_dir)
    with open(osp.join(run.work_dir, 'slurm_job.json'), 'w') as f:
        json.dump(dict(job_id='77', options=run.options, cluster='slurm', folder=str(tmp_path)), f)

    class Running:
        state = 'RUNNING'

        def __init__(self, folder, job_id):
            self.job_id = job_id

        def result(self):
            return dict(status='ok', metric=3.0)

    monkeypatch.setattr(submitit, 'SlurmJob', Running)
    executor = ex.SlurmExecutor(folder=str(tmp_path / 'slurm'))
    monkeypatch.setattr(executor, 'submit', lambda s: pytest.fail('submitted again'))
    done = []
    executor.map([run], lambda s, r: done.append(r['metric']))
    assert done == [3.0]
    Running.state = 'COMPLETED'  # finished, yet no record came back: submitted again
    assert executor.running(run) is None
    Running.state = 'RUNNING'
    with open(osp.join(run.work_dir, 'slurm_job.json'), 'w') as f:  # a job of other options: not this run's
        json.dump(dict(job_id='77', options=['randomness.seed=9'], cluster='slurm', folder=str(tmp_path)), f)
    assert executor.running(run) is None


# ---- the tool, end to end -----------------------------------------------------------------------------------------
# A pair the repository does not ship, as docs/benchmark.md's worked example writes it in a folder of the user's own:
# the BCCD teacher -> a half-width R18 student, inheriting the shipped configs through dfd_razor::.
DOC = osp.join(ROOT, 'docs', 'benchmark.md')
FILE_TAG = '# file: bccd_half/'


def doc_listings():
    """file name -> text of the worked example's files."""
    blocks = re.findall(r'```python\n(.*?)```', open(DOC).read(), flags=re.S)
    return {b[len(FILE_TAG):].split('\n', 1)[0]: b.split('\n', 1)[1] for b in blocks if b.startswith(FILE_TAG)}


def doc_commands():
    blocks = re.findall(r'```bash\n(.*?)```', open(DOC).read(), flags=re.S)
    return [c.split('#')[0] for b in blocks for c in b.replace('\\\n', ' ').splitlines() if 'benchmark.py' in c]


@pytest.fixture(scope='module')
def cli():
    """The command line of tools/benchmark.py (dfd_razor_tools.benchmark.cli), to call its main() in this
    process."""
    return benchmark_cli


def test_the_docs_commands_parse(cli):
    commands = doc_commands()
    assert len(commands) == 6 and sorted(doc_listings()) == [
        '_pair.py', 'dfd_fpn_retina-r18_retina-r18h_300i_bccd.py', 'fitnet_fpn_retina-r18_retina-r18h_300i_bccd.py',
        'pkd_fpn_retina-r18_retina-r18h_300i_bccd.py', 'student_retina-r18h_300i_bccd.py']
    for command in commands:
        words = shlex.split(command)
        args = cli.parse_args(words[words.index('tools/benchmark.py') + 1:])
        assert args.preset or args.metric, command


def test_another_schedule_has_its_own_tables_and_records(cli, tmp_path):
    """--schedule N names the tables and records <name>_<N>i (or e), so that they never overwrite the shipped
    schedule's; --name still names them."""
    for argv, name in ((['--preset', 'bccd', '--schedule', '1200'], 'bccd_1200i'),
                       (['--preset', 'bccd', '--schedule', '1200', '--name', 'long'], 'long'),
                       (['--preset', 'bccd'], 'bccd'),
                       ([str(write_pair(tmp_path / 'mine')), '--metric', 'mIoU', '--schedule', '3'], 'mine_3i')):
        args = cli.parse_args(argv)
        pair = make_pair(cli.settings(args))
        assert pair.name == name, argv


def test_runs_checkpoint_a_quarter_of_their_schedule_by_default(cli, pair, tmp_path):
    """--checkpoint-every: a quarter of the student's schedule (rounded up) unless given; 0 keeps the recipe's own;
    each run's spec carries it, outside its options (which identify the run's record)."""
    assert [checkpoint_interval(None, n) for n in (1200, 300, 2, 1)] == [300, 75, 1, 1]
    assert checkpoint_interval(0, 1200) == 0 and checkpoint_interval(50, 1200) == 50
    with pytest.raises(BenchmarkError, match='--checkpoint-every -1: must be >= 0'):
        checkpoint_interval(-1, 1200)
    bench = Benchmark(pair, Settings(methods=['dfd'], seeds=[0, 1], factors=[1.0], max_extend=0),
                      Teacher('t.pth', 'abc'),
                      RunSetup(work=str(tmp_path / 'w'), records=str(tmp_path / 'r'),
                               base_options=['randomness.deterministic=True'], checkpoint_every=75))
    spec = bench.spec(('dfd', 1.0, 1))
    assert spec.checkpoint_every == 75 and not any('checkpoint' in o for o in spec.options)


def write_pair(folder):
    folder.mkdir()
    for name, text in doc_listings().items():
        (folder / name).write_text(text)
    return folder


def tool(args, cwd, timeout=600):
    # on CPU everywhere: two runs at once must not need two GPUs
    env = dict(os.environ, DFD_DATA_ROOT=DATA, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'benchmark.py')] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_benchmark_help():
    out = tool(['--help'], ROOT).stdout
    assert '--executor {local,slurm}' in out and '--preset' in out and '--schedule' in out


@pytest.mark.slow
def test_tool_end_to_end_on_a_pair_outside_the_repository(tmp_path, cli, capsys, monkeypatch):
    """docs/benchmark.md's pair, 2 iterations, seeds 0 (the sweep: one factor) and 1, runs as jobs of submitit's
    local executor, each training, testing and writing its record: DFD's seed-0 run, then the student alone and DFD's
    seed-1 run at once; the tables; then a second invocation on the local executor that resumes from the records."""
    from testing_helpers import load_recipe, make_teacher_checkpoint
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')  # CPU everywhere: two runs at once must not need two GPUs
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    folder = write_pair(tmp_path / 'bccd_half')
    assert not str(folder).startswith(ROOT)
    teacher = make_teacher_checkpoint(load_recipe(str(folder / 'dfd_fpn_retina-r18_retina-r18h_300i_bccd.py')),
                                      str(tmp_path / 'teacher.pth'))
    args = [str(folder), '--teacher', teacher, '--metric', 'coco/bbox_mAP', '--extra-metrics', 'pascal_voc/mAP',
            '--schedule', '2', '--factors', '1', '--max-extend', '0', '--seeds', '0', '1', '--methods', 'student',
            'dfd', '--data-root', DATA, '--work-dir', str(tmp_path / 'work'),
            '--cfg-options', 'default_hooks.logger.interval=1', 'val_dataloader.dataset.indices=4',
            'test_dataloader.dataset.indices=4']
    cli.main(args + ['--executor', 'slurm', '--slurm-cluster', 'local', '--gpus-per-run', '0', '--cpus-per-run', '1',
                     '--time-min', '10'])
    first = capsys.readouterr().out
    # the tables and records default to the work dir of the pair, named for its schedule (--schedule 2: _2i)
    out = tmp_path / 'work' / 'bccd_half_2i'
    record = json.load(open(out / 'runs' / 'bccd_half_2i' / 'dfd_x1_s1.json'))
    student = json.load(open(out / 'runs' / 'bccd_half_2i' / 'student_s1.json'))
    metrics = json.load(open(out / 'dfd_x1_s1' / 'test_metrics.json'))['metrics']
    # a 2-iteration detector may detect nothing: CocoMetric then reports no key, which counts as 0
    assert record['status'] == 'ok' and record['metric'] == pytest.approx(metrics.get('coco/bbox_mAP', 0) * 100)
    assert record['extra']['pascal_voc/mAP'] == pytest.approx(metrics['pascal_voc/mAP'] * 100)
    assert record['options'] == ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                                 'default_hooks.checkpoint.interval=2', 'param_scheduler.1.milestones=[1,1]',
                                 'default_hooks.logger.interval=1', 'val_dataloader.dataset.indices=4',
                                 'test_dataloader.dataset.indices=4', 'randomness.seed=1',
                                 f'model.teacher_ckpt={teacher}', LOSS + 'alpha=2.8e-05', LOSS + 'beta=1e-05']
    assert record['recipe'] == str(folder / 'dfd_fpn_retina-r18_retina-r18h_300i_bccd.py')
    assert record['teacher_id'] == weights_sha256(teacher) and student['teacher_id'] == ''
    assert record['started'] < student['finished'] and student['started'] < record['finished']  # at once
    assert first.count('Slurm job') == 3 and len(list((out / 'slurm').glob('*_log.out'))) == 3  # submitit's logs
    diag = record['diagnostics']
    assert set(diag['first']['distill']) == {f'loss_dfd_fpn{i}_{t}' for i in range(5) for t in ('hd', 'ld')}
    assert set(diag['last']['hd_fraction']) == {f'stat_dfd_fpn{i}_hd_fraction' for i in range(5)}
    assert diag['first']['ratio'] > 0 and diag['first']['task']
    text = (out / 'bccd_half_2i.md').read_text()
    differences = {1: record['metric'] - student['metric']}
    assert (f'| dfd | 1 | alpha=2.8e-05, beta=1e-05 | {record["metric"]:.2f} (n=1) | - | - |' in text)
    assert (f'| student | - | - | {student["metric"]:.2f} (n=1) | {difference_cell(differences)} | '
            f'{verdict(list(differences.values()), 1)} |' in text)
    assert (out / 'bccd_half_2i.png').read_bytes()[:4] == b'\x89PNG'
    assert 'loss_dfd_fpn0_hd' in (out / 'bccd_half_2i_diagnostics.md').read_text()
    assert 'evaluating the teacher' in first and first.count(': queued') == 3

    cli.main(args + ['--jobs', '2'])  # the local executor, resuming: every run has its record
    again = capsys.readouterr().out
    assert again.count(': reusing ') == 3 and ': queued' not in again and 'evaluating the teacher' not in again
    assert 'local executor, 2 run(s) at a time (OMP_NUM_THREADS=1 each' in (out / 'bccd_half_2i.md').read_text()


def test_tool_errors_name_what_is_wrong(tmp_path, cli):
    folder = str(write_pair(tmp_path / 'pair'))
    work = ['--work-dir', str(tmp_path / 'w')]
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(BenchmarkError) as error:
        cli.main([folder, '--metric', 'coco/bbox_mAP', '--cfg-options', f'model.teacher_ckpt={missing}'] + work)
    assert str(error.value) == (f"no teacher checkpoint: --cfg-options sets model.teacher_ckpt='{missing}', not a "
                                "local file; give --teacher CKPT (the records identify the teacher by its weights' "
                                "sha256)")
    with pytest.raises(BenchmarkError, match='give --metric, the headline metric'):
        cli.main([folder] + work)
    from dfd_razor.errors import RecipeError
    with pytest.raises(RecipeError, match='is not a readable checkpoint'):  # dfd_razor.checkpoint's check
        cli.main([folder, '--metric', 'mIoU', '--teacher', __file__] + work)
    import torch
    torch.save({'state_dict': {'w': torch.zeros(2)}}, tmp_path / 't.pth')
    runs = tmp_path / 'w' / 'pair' / 'runs' / 'pair'
    runs.mkdir(parents=True)
    (runs / 'dfd_x1_s0.json').write_text(json.dumps(dict(status='ok', options=[], teacher_id='0123456789abcdef')))
    with pytest.raises(BenchmarkError) as error:  # --name pointing a schedule study at the sweep it picks from
        cli.main([folder, '--metric', 'mIoU', '--teacher', str(tmp_path / 't.pth'), '--schedule', '3', '--name',
                  'pair', '--picks-from', str(runs)] + work)
    assert str(error.value) == (f'--picks-from {runs}: the records of this invocation go to that very folder ({runs}), '
                                'where they would replace the sweep they pick from; give --name another name')
    with pytest.raises(BenchmarkError, match=r'records of another teacher \(1 with 0123456789ab\.\.\.\); this '
                       r'one .* would be reused\. Give the teacher .* --new-teacher to run them again'):
        cli.main([folder, '--metric', 'mIoU', '--teacher', str(tmp_path / 't.pth')] + work)
    # where the records' teacher was trained, when they keep it: a seeded teacher differs from one CPU to another
    provenance = dict(teacher_id='0123456789abcdef', cpu='Some CPU (family 1, model 2, stepping 3)',
                      omp_num_threads='1')
    (runs / 'teacher.json').write_text(json.dumps(dict(teacher_id='0123456789abcdef', provenance=provenance)))
    with pytest.raises(BenchmarkError) as error:
        cli.main([folder, '--metric', 'mIoU', '--teacher', str(tmp_path / 't.pth')] + work)
    assert (f'would be reused. Their teacher was trained on Some CPU (family 1, model 2, stepping 3) with '
            f'OMP_NUM_THREADS=1, this machine is {cpu_model()}: the same seeded recipe gives the same weights only '
            'on the same CPU and thread count. Give the teacher') in str(error.value)
    with pytest.raises(BenchmarkError, match=r'several student recipes'):
        cli.main([osp.join(ROOT, 'recipes', 'cpu_demo'), '--metric', 'mIoU'] + work)


def test_a_run_never_replaces_the_records_of_another_schedule(tmp_path, cli):
    """Records of one schedule length in the folder a run of another length writes to (``--name`` of the shipped
    schedule's folder with --schedule, or the converse) stop the run before anything trains, with the lengths found
    and a folder of its own to give; records of the same length, however it was set, do not."""
    import torch
    folder = str(write_pair(tmp_path / 'pair'))
    student = osp.join(folder, 'student_retina-r18h_300i_bccd.py')
    torch.save({'state_dict': {'w': torch.zeros(2)}}, tmp_path / 't.pth')
    teacher_id = weights_sha256(str(tmp_path / 't.pth'))
    argv = [folder, '--metric', 'mIoU', '--teacher', str(tmp_path / 't.pth'), '--work-dir', str(tmp_path / 'w')]
    runs = tmp_path / 'w' / 'pair' / 'runs'
    (runs / 'pair').mkdir(parents=True)
    (runs / 'pair' / 'dfd_x1_s0.json').write_text(json.dumps(dict(status='ok', teacher_id=teacher_id,
                                                                 options=['randomness.seed=0'])))
    (runs / 'pair' / 'student_s0.json').write_text(json.dumps(dict(status='ok', teacher_id='', options=[])))
    with pytest.raises(BenchmarkError) as error:
        cli.main(argv + ['--name', 'pair', '--schedule', '1200'])
    assert str(error.value) == (f'{runs / "pair"}: records of another schedule (2 at 300 iterations); these runs '
                                'train 1200 iterations and would replace them. Give --name a folder of their own '
                                '(e.g. pair_1200i)')
    longer = tmp_path / 'w' / 'pair_1200i' / 'runs' / 'pair_1200i'  # where --name pair_1200i writes
    longer.mkdir(parents=True)
    (longer / 'dfd_x1_s1.json').write_text(json.dumps(dict(
        status='ok', teacher_id=teacher_id, options=['train_cfg.max_iters=1200', 'randomness.seed=1'])))
    (longer / 'teacher.json').write_text(json.dumps(dict(teacher_id=teacher_id)))  # no schedule
    with pytest.raises(BenchmarkError, match=r'pair_1200i: records of another schedule \(1 at 1200 iterations\); '
                       r'these runs train 300 iterations .* \(e\.g\. pair_1200i_300i\)'):
        cli.main(argv + ['--name', 'pair_1200i'])
    # the same length, by --schedule or by --cfg-options (the last max_iters wins), is no other schedule
    check_schedule(str(longer), schedule_options(student, 1200), student)
    check_schedule(str(longer), ['train_cfg.max_iters=5', 'train_cfg.max_iters=1200'], student)
    check_schedule(str(runs / 'pair'), ['randomness.seed=2'], student)
    assert options_schedule(['train_cfg.max_epochs=3'], 300, 'i') == 300  # an epoch key: not this unit's
    for name in ('pair', 'pair_1200i'):  # stopped before the teacher's evaluation
        assert not (tmp_path / 'w' / name / 'teacher_eval').exists()


def test_report_only_writes_the_tables_of_the_records_teacher(tmp_path, cli, capsys):
    """A teacher retrained on another machine has other weights: --report-only still writes the tables of records
    made with the earlier one (nothing runs), its metrics from the records' teacher.json, and says so; records of
    several teachers are an error."""
    import torch
    folder = write_pair(tmp_path / 'pair')
    retrained = tmp_path / 'retrained.pth'
    torch.save({'state_dict': {'w': torch.zeros(2)}}, retrained)
    argv = [str(folder), '--teacher', str(retrained), '--metric', 'coco/bbox_mAP', '--methods', 'student', 'dfd',
            '--seeds', '0', '1', '--factors', '1', '--max-extend', '0', '--work-dir', str(tmp_path / 'w')]
    # the records as the tool wrote them with the earlier teacher ('a' * 64), through its own Benchmark
    args = cli.parse_args(argv)
    s = cli.settings(args)
    found = make_pair(s)
    records = tmp_path / 'w' / 'pair' / 'runs' / 'pair'
    earlier = Benchmark(found, s, Teacher(repo_path(str(retrained)), 'a' * 64),
                        RunSetup(work=str(tmp_path / 'w' / 'pair'), records=str(records)),
                        ex.LocalExecutor(jobs=1, devices=[], threads_per_run=1, perform=Fake()))
    earlier.protocol()
    assert sorted(p.name for p in records.iterdir()) == ['dfd_x1_s0.json', 'dfd_x1_s1.json', 'student_s1.json']
    (records / 'teacher.json').write_text(json.dumps(dict(teacher_id='a' * 64, checkpoint='earlier.pth',
                                                          metric=61.5, extra={})))
    cli.main(argv + ['--report-only'])
    out = capsys.readouterr().out
    assert (f'--report-only: the records were made with teacher {"a" * 12}..., not {retrained} '
            f'({weights_sha256(str(retrained))[:12]}...): the tables are those records\'') in out
    text = (tmp_path / 'w' / 'pair' / 'pair.md').read_text()
    assert 'Teacher (`earlier.pth`): 61.50.' in text
    # fake_metric: dfd at x1 on seed 1 is 50 - 1 + 0.1, the student 10 + 1
    assert '| dfd | 1 | alpha=2.8e-05, beta=1e-05 | 49.10 (n=1) | - | - |' in text
    assert '| student | - | - | 11.00 (n=1) | +38.10 (+38.10 to +38.10) |' in text
    record = json.loads((records / 'dfd_x1_s1.json').read_text())
    (records / 'dfd_x1_s1.json').write_text(json.dumps(dict(record, teacher_id='b' * 64)))
    with pytest.raises(BenchmarkError, match=r'--report-only: .* holds records of several teachers \(1 with '
                       r'a{12}\.\.\., 1 with b{12}\.\.\.\), none of them'):
        cli.main(argv + ['--report-only'])


def test_report_teacher_of_records_where_only_the_controls_ran(tmp_path, cli):
    """A fresh clone (no teacher trained here: teacher_id '') whose records hold only the student alone (no record
    names a teacher) takes teacher.json's teacher and metrics; with no teacher.json it has none; a distilled record's
    teacher comes before teacher.json's."""
    records = tmp_path / 'runs'
    records.mkdir()
    (records / 'student_s1.json').write_text(json.dumps(dict(status='ok', metric=40.0, teacher_id='')))
    assert report_teacher(str(records), 'work_dirs/t/iter_10.pth', '') == ('', {})
    kept = dict(teacher_id='c' * 64, checkpoint='work_dirs/t/iter_10.pth', metric=52.2, extra={})
    (records / 'teacher.json').write_text(json.dumps(kept))
    assert report_teacher(str(records), 'work_dirs/t/iter_10.pth', '') == ('c' * 64, kept)
    (records / 'dfd_x1_s0.json').write_text(json.dumps(dict(status='ok', metric=41.0, teacher_id='d' * 64)))
    assert report_teacher(str(records), 'work_dirs/t/iter_10.pth', '') == ('d' * 64, {})


def test_report_only_reads_the_work_dirs_teacher_cache_for_older_records(tmp_path, cli, capsys):
    """Records older than teacher.json, made with the current teacher: --report-only takes the teacher's line from
    the work dir's cache (teacher_metrics.json) when its key is this teacher's, evaluates nothing, and writes
    teacher.json beside the records; a cache of another teacher gives no teacher line."""
    import torch
    folder = write_pair(tmp_path / 'pair')
    teacher = tmp_path / 'teacher.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, teacher)
    tid = weights_sha256(str(teacher))
    work = tmp_path / 'w' / 'pair'
    argv = [str(folder), '--teacher', str(teacher), '--metric', 'coco/bbox_mAP', '--methods', 'student', 'dfd',
            '--seeds', '0', '1', '--factors', '1', '--max-extend', '0', '--work-dir', str(tmp_path / 'w')]
    args = cli.parse_args(argv)
    s = cli.settings(args)
    found = make_pair(s)
    records = work / 'runs' / 'pair'
    Benchmark(found, s, Teacher(repo_path(str(teacher)), tid), RunSetup(work=str(work), records=str(records)),
              ex.LocalExecutor(jobs=1, devices=[], threads_per_run=1, perform=Fake())).protocol()
    assert not (records / 'teacher.json').exists()
    key = dict(checkpoint=repo_path(str(teacher)), teacher_id=tid, options=[], metric='coco/bbox_mAP')
    cache = work / 'teacher_metrics.json'
    cache.write_text(json.dumps(dict(key=key, checkpoint='teacher.pth', metric=57.25, extra={})))
    cli.main(argv + ['--report-only'])
    assert 'teacher coco/bbox_mAP: 57.25' in capsys.readouterr().out
    assert 'Teacher (`teacher.pth`): 57.25.' in (work / 'pair.md').read_text()
    assert json.loads((records / 'teacher.json').read_text())['teacher_id'] == tid
    assert not (work / 'teacher_eval').exists()  # read, not evaluated
    # a cache of another teacher (and no teacher.json) gives no teacher line, and still runs nothing
    (records / 'teacher.json').unlink()
    cache.write_text(json.dumps(dict(key=dict(key, teacher_id='c' * 64), checkpoint='teacher.pth', metric=57.25,
                                     extra={})))
    cli.main(argv + ['--report-only'])
    assert 'teacher coco/bbox_mAP' not in capsys.readouterr().out
    assert 'Teacher (' not in (work / 'pair.md').read_text()
    assert not (work / 'teacher_eval').exists()


def test_tool_errors_are_one_line(tmp_path):
    proc = tool(['--preset', 'nonesuch'], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ''
    assert proc.stderr.strip().splitlines() == [
        f'error: --preset nonesuch: no file {ROOT}/benchmarks/presets/nonesuch.py (presets: bccd, bccd_yolo, camvid)']


def test_teacher_provenance_is_kept_with_the_records(tmp_path, cli):
    """How the tool trained a teacher (provenance.json beside it) goes into the records' teacher.json when it is that
    teacher's; a provenance of other weights does not."""
    import torch
    teacher_dir = tmp_path / 'teacher'
    teacher_dir.mkdir()
    ckpt = teacher_dir / 'iter_4.pth'
    torch.save({'state_dict': {'w': torch.arange(3.0)}}, ckpt)
    recipe = osp.join(ROOT, 'recipes', 'cpu_demo', 'teacher_retina-r18_1600i_bccd.py')
    made = teacher_provenance(recipe, str(ckpt), {'OMP_NUM_THREADS': '1'}, resumed=False)
    names = [line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo') if line.startswith('model name')]
    assert made['recipe'] == 'recipes/cpu_demo/teacher_retina-r18_1600i_bccd.py' and made['resumed'] is False
    assert made['omp_num_threads'] == '1' and made['torch'] == torch.__version__
    assert made['cpu'].startswith(names[0] + ' (family ') and made['teacher_id'] == weights_sha256(str(ckpt))
    assert teacher_provenance(recipe, str(ckpt), {}, resumed=True)['omp_num_threads'] == 'unset'
    (teacher_dir / PROVENANCE).write_text(json.dumps(made))
    folder = write_pair(tmp_path / 'pair')
    args = cli.parse_args([str(folder), '--metric', 'coco/bbox_mAP'])
    s = cli.settings(args)
    found = make_pair(s)
    work, records = tmp_path / 'w', tmp_path / 'runs'
    work.mkdir()
    key = dict(checkpoint=repo_path(str(ckpt)), teacher_id=made['teacher_id'], options=[], metric='coco/bbox_mAP')
    (work / 'teacher_metrics.json').write_text(json.dumps(dict(key=key, checkpoint='t.pth', metric=50.0, extra={})))
    metric = Metric('coco/bbox_mAP', 100)
    teacher_metrics(s, found, str(ckpt), made['teacher_id'], metric, {}, str(work), str(records))
    assert json.loads((records / 'teacher.json').read_text())['provenance'] == made
    (teacher_dir / PROVENANCE).write_text(json.dumps(dict(made, teacher_id='f' * 64)))
    teacher_metrics(s, found, str(ckpt), made['teacher_id'], metric, {}, str(work), str(records))
    assert 'provenance' not in json.loads((records / 'teacher.json').read_text())


def test_compare_schedules_from_the_records_of_each_length(tmp_path, cli, capsys):
    """--report-only --compare-schedules 1200: the shipped schedule's records (the sweep picks) and the 1200-iteration
    records made with --picks-from them, side by side; DFD against the best other method at each length, from values
    written here."""
    import torch
    folder = write_pair(tmp_path / 'pair')
    teacher = tmp_path / 'teacher.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, teacher)
    tid = weights_sha256(str(teacher))
    argv = [str(folder), '--teacher', str(teacher), '--metric', 'coco/bbox_mAP', '--methods', 'student', 'fitnet',
            'dfd', '--seeds', '0', '1', '2', '--factors', '1', '10', '--max-extend', '0', '--work-dir',
            str(tmp_path / 'w')]
    # hand-written results: at 300 iterations FitNet beats DFD on both seeds; at 1200 DFD beats FitNet on seed 1 only
    values = {('student', 300): {1: 10.0, 2: 11.0}, ('fitnet', 300): {1: 40.0, 2: 41.0},
              ('dfd', 300): {1: 38.0, 2: 39.5}, ('student', 1200): {1: 20.0, 2: 21.0},
              ('fitnet', 1200): {1: 45.0, 2: 46.0}, ('dfd', 1200): {1: 45.5, 2: 45.0}}

    class Perform:
        def __call__(self, spec, env=None):
            row, factor, seed = parse_run_name(spec.name)
            length = next((n for n in (1200, 2400) if f'train_cfg.max_iters={n}' in spec.options), 300)
            value = 30.0 + factor if seed == 0 else values[(row, length)][seed]  # the sweep picks x10 for both
            return dict(status='ok', metric=value, extra={}, seconds=1, diagnostics={})

    for schedule in ([], ['--schedule', '1200', '--picks-from', str(tmp_path / 'w' / 'pair' / 'runs' / 'pair')]):
        args = cli.parse_args(argv + schedule)
        s = cli.settings(args)
        pair, rows = make_pair(s), s.methods
        picks = (picks_from_records(s.picks_from, rows, 0, s.factors, 0, tid) if schedule else None)
        base = schedule_options(pair.student, 1200) if schedule else []
        work = tmp_path / 'w' / pair.name
        Benchmark(pair, s, Teacher(repo_path(str(teacher)), tid),
                  RunSetup(work=str(work), records=str(work / 'runs' / pair.name), base_options=base),
                  ex.LocalExecutor(jobs=1, devices=[], threads_per_run=1, perform=Perform()), picks=picks).protocol()
    assert sorted(p.name for p in (tmp_path / 'w' / 'pair_1200i' / 'runs' / 'pair_1200i').iterdir()) == [
        'dfd_x10_s1.json', 'dfd_x10_s2.json', 'fitnet_x10_s1.json', 'fitnet_x10_s2.json', 'student_s1.json',
        'student_s2.json']
    # the longer schedule's own tables say how long its students trained (the pair's recipes ship 300 iterations)
    cli.main(argv + schedule + ['--report-only'])
    assert ('Schedule: every student here trains 1200 iterations (`--schedule 1200`: the recipes\' 300 iterations, '
            'their learning-rate milestones scaled by the same factor).') in (work / 'pair_1200i.md').read_text()
    cli.main(argv + ['--report-only'])
    before = (tmp_path / 'w' / 'pair' / 'pair.md').read_text()
    cli.main(argv + ['--report-only', '--compare-schedules', '1200'])
    capsys.readouterr()
    assert 'Schedule:' not in (tmp_path / 'w' / 'pair' / 'pair.md').read_text()
    assert (tmp_path / 'w' / 'pair' / 'pair.md').read_text() == before  # its Command: no --compare-schedules
    assert cli.tables_argv(['a', '--compare-schedules', '1200', '2400', '--jobs', '2', '--compare-schedules=300',
                            '7']) == ['a', '--jobs', '2', '7']
    text = (tmp_path / 'w' / 'pair' / 'pair_schedules.md').read_text()
    assert '| method | picked factor | 300 iterations | 1200 iterations |' in text
    assert '| dfd | 10 | 38.75 ± 1.06 (n=2) | 45.25 ± 0.35 (n=2) |' in text
    assert '| student | - | 10.50 ± 0.71 (n=2) | 20.50 ± 0.71 (n=2) |' in text
    # 300: dfd - fitnet = -2.0, -1.5; 1200: +0.5, -1.0
    assert '| 300 iterations | fitnet | -1.75 (-2.00 to -1.50) | loses |' in text
    assert '| 1200 iterations | fitnet | -0.25 (-1.00 to +0.50) | within the spread |' in text
    assert (tmp_path / 'w' / 'pair' / 'pair_schedules.png').read_bytes()[:4] == b'\x89PNG'
    with pytest.raises(BenchmarkError, match=r'--compare-schedules: no record in .*pair_2400i matches'):
        cli.main(argv + ['--report-only', '--compare-schedules', '2400'])
    # 2400 iterations for DFD and the best other method only: the student's cell there is '-', not a value
    values.update({('fitnet', 2400): {1: 46.0, 2: 46.5}, ('dfd', 2400): {1: 47.0, 2: 46.0}})
    args = cli.parse_args(argv + ['--schedule', '2400', '--picks-from', str(tmp_path / 'w' / 'pair' / 'runs' / 'pair'),
                                  '--methods', 'fitnet', 'dfd'])
    s = cli.settings(args)
    pair, rows = make_pair(s), s.methods
    work = tmp_path / 'w' / pair.name
    Benchmark(pair, s, Teacher(repo_path(str(teacher)), tid),
              RunSetup(work=str(work), records=str(work / 'runs' / pair.name),
                       base_options=schedule_options(pair.student, 2400)),
              ex.LocalExecutor(jobs=1, devices=[], threads_per_run=1, perform=Perform()),
              picks=picks_from_records(s.picks_from, rows, 0, s.factors, 0, tid)).protocol()
    cli.main(argv + ['--report-only', '--compare-schedules', '1200', '2400'])
    capsys.readouterr()
    text = (tmp_path / 'w' / 'pair' / 'pair_schedules.md').read_text()
    assert '| dfd | 10 | 38.75 ± 1.06 (n=2) | 45.25 ± 0.35 (n=2) | 46.50 ± 0.71 (n=2) |' in text
    assert '| student | - | 10.50 ± 0.71 (n=2) | 20.50 ± 0.71 (n=2) | - |' in text
    assert '-: no record of the row at that length.' in text
    assert '| 2400 iterations | fitnet | +0.25 (-0.50 to +1.00) | within the spread |' in text
    with pytest.raises(BenchmarkError, match=r'--compare-schedules N \.\.\.: with --report-only'):
        cli.main(argv + ['--compare-schedules', '1200'])


def test_a_presets_teacher_trains_with_its_thread_count_and_records_how(tmp_path, cli, monkeypatch):
    """teacher_threads: the preset's teacher trains with that OMP_NUM_THREADS whatever the caller's (the same count
    gave the same weights on two machines of this kind, the one that recorded its CPU an Intel Xeon), and
    provenance.json says how it was trained."""
    import torch
    trained = []

    def fake_train(step, command, log, env):
        trained.append((command, env.get('OMP_NUM_THREADS')))
        ckpt = tmp_path / 'teacher' / 'iter_1600.pth'  # the teacher recipe's schedule: 1600 iterations
        ckpt.parent.mkdir(exist_ok=True)
        torch.save({'state_dict': {'w': torch.ones(2)}}, ckpt)
        (ckpt.parent / 'last_checkpoint').write_text(str(ckpt))
        return 1.0

    monkeypatch.setattr(teacher_module, 'run_logged', fake_train)
    preset = tmp_path / 'mine.py'
    preset.write_text(open(osp.join(ROOT, 'benchmarks', 'presets', 'bccd.py')).read() +
                      f'\nteacher_work_dir = {str(tmp_path / "teacher")!r}\n')
    args = cli.parse_args(['--preset', str(preset)])
    s = cli.settings(args)
    assert s.teacher_threads == 1
    pair = make_pair(s)
    path = teacher_checkpoint(s, pair, {'OMP_NUM_THREADS': '2', 'PATH': os.environ['PATH']}, str(tmp_path / 'w'))
    assert path == str(tmp_path / 'teacher' / 'iter_1600.pth')
    assert len(trained) == 1 and trained[0][1] == '1' and 'teacher_retina-r18_1600i_bccd.py' in ' '.join(trained[0][0])
    made = json.loads((tmp_path / 'teacher' / PROVENANCE).read_text())
    assert made['omp_num_threads'] == '1' and made['teacher_id'] == weights_sha256(path) and not made['resumed']
    assert teacher_checkpoint(s, pair, {}, str(tmp_path / 'w')) == path and len(trained) == 1  # cached
