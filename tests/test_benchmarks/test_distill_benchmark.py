"""The benchmark protocol of benchmarks/distill_benchmark.py: sweep, extension, pick, seeds, resume, failures."""
import importlib.util
import json
import math
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('distill_benchmark', osp.join(ROOT, 'benchmarks', 'distill_benchmark.py'))
db = importlib.util.module_from_spec(spec)
spec.loader.exec_module(db)

# A made-up val metric per (method, factor, seed): each method peaks at its own factor.
PEAK = {'fitnet': 1.0, 'pkd': 1000.0, 'mgd': 0.01, 'cwd': 10.0, 'dfd': 0.1,
        'dfd_split': 1.0, 'dfd_batch': 1.0, 'dfd_norm': 1e-4}


def fake_metric(method, factor, seed):
    if method in ('student', 'inherit'):
        return 10.0 + seed
    return 50.0 - abs(math.log10(factor / PEAK[method])) + 0.1 * seed


class Counter:
    def __init__(self, fail=()):
        self.calls, self.fail = [], set(fail)

    def __call__(self, run, options):
        self.calls.append(run)
        if run in self.fail:
            return dict(status='failed', error='boom', log='x.log')
        return dict(status='ok', metric=fake_metric(*run), extra={}, peak_rss_mib=1, seconds=1, diagnostics={})


def make(tmp_path, execute, base=(), methods=None, jobs=1):
    bench = db.Benchmark('bccd', methods or ['student', 'inherit'] + list(db.METHODS), [0, 1, 2], [0.1, 1.0, 10.0],
                         2, list(base), 'teacher.pth', str(tmp_path), execute, jobs=jobs)
    return bench


def test_default_weights_come_from_the_recipes():
    bench = make('/nonexistent', None)
    assert bench.weights('dfd') == {'alpha': 2.8e-5, 'beta': 1e-5}
    assert bench.weights('pkd') == {'loss_weight': 10.0}
    assert bench.weights('mgd') == {'alpha_mgd': 2e-5}
    assert bench.weights('cwd') == {'loss_weight': 10.0}
    assert bench.weights('fitnet') == {'alpha': 1e-5}


def test_options_of_a_run(tmp_path):
    bench = make(tmp_path, None, base=['train_cfg.max_iters=2'])
    assert bench.options(('student', 0, 1)) == ['train_cfg.max_iters=2', 'randomness.seed=1']
    assert bench.options(('inherit', 0, 0))[-1] == 'model.distiller.levels.loss.alpha=0'
    opts = bench.options(('dfd_split', 10.0, 2))
    assert 'model.distiller.levels.loss.alpha=0.00028' in opts and 'model.distiller.levels.loss.beta=0.0001' in opts
    assert 'model.teacher_ckpt=teacher.pth' in opts and 'model.distiller.levels.connectors.trans=None' in opts
    assert bench.recipe(('inherit', 0, 0)).startswith('recipes/cpu_demo/fitnet_fpn_')
    assert bench.recipe(('dfd_norm', 1.0, 0)).startswith('recipes/cpu_demo/dfd_fpn_')


def test_pick_and_extension():
    assert db.pick({0.1: 3.0, 1.0: 5.0, 10.0: 5.0}) == 1.0  # tie -> closest to the default
    assert db.pick({0.1: 5.0, 10.0: 5.0}) == 0.1
    assert db.pick({0.1: None, 1.0: None}) is None
    assert db.extension({0.1: 3.0, 1.0: 2.0, 10.0: 1.0}, [0.1, 1, 10], 2) == pytest.approx(0.01)
    assert db.extension({0.001: 4.0, 0.01: 3.0, 0.1: 3.0, 1.0: 2.0, 10.0: 1.0}, [0.1, 1, 10], 2) is None
    assert db.extension({0.1: 1.0, 1.0: 2.0, 10.0: 3.0}, [0.1, 1, 10], 0) is None


def test_protocol_runs_sweep_extension_and_seeds(tmp_path):
    execute = Counter()
    bench = make(tmp_path, execute)
    bench.protocol()
    picked = {m: bench.picked(m) for m in db.METHODS}
    # each method's best on val, found by extending the range x10 at most twice per side
    assert picked == pytest.approx({'fitnet': 1.0, 'pkd': 1000.0, 'mgd': 0.01, 'cwd': 10.0, 'dfd': 0.1,
                                    'dfd_split': 1.0, 'dfd_batch': 1.0, 'dfd_norm': 0.001})
    assert sorted(bench.sweep('pkd')) == pytest.approx([0.1, 1.0, 10.0, 100.0, 1000.0])
    assert sorted(bench.sweep('dfd_norm')) == pytest.approx([0.001, 0.01, 0.1, 1.0, 10.0])
    runs = set(execute.calls)
    assert len(runs) == len(execute.calls)  # nothing twice
    for m in ('fitnet', 'pkd', 'mgd', 'cwd', 'dfd'):
        for s in (1, 2):
            assert (m, picked[m], s) in runs and (m, 1.0, s) in runs
    for m in db.VARIANTS:  # variants: picked weight only
        assert {(f, s) for (mm, f, s) in runs if mm == m and s > 0} == {(picked[m], 1), (picked[m], 2)}
    assert {(m, s) for (m, f, s) in runs if m in ('student', 'inherit')} == {
        (m, s) for m in ('student', 'inherit') for s in (0, 1, 2)}
    values, failed = bench.seed_values('dfd', 0.1)
    assert values == pytest.approx([50.0, 50.1, 50.2]) and failed == 0


def test_resume_reuses_identical_runs_and_reruns_changed_ones(tmp_path):
    first = Counter()
    make(tmp_path, first).protocol()
    again = Counter()
    bench = make(tmp_path, again)
    bench.protocol()
    assert again.calls == [] and bench.reused == len(first.calls)
    changed = Counter()
    make(tmp_path, changed, base=['train_cfg.max_iters=3']).protocol()
    assert sorted(changed.calls) == sorted(first.calls)
    record = json.load(open(osp.join(tmp_path, 'dfd_x0.1_s0.json')))
    assert record['options'][0] == 'train_cfg.max_iters=3' and record['metric'] == pytest.approx(50.0)


def test_a_failed_run_is_reported_and_retried(tmp_path):
    bad = ('pkd', 1.0, 0)
    execute = Counter(fail={bad})
    bench = make(tmp_path, execute, methods=['pkd'])
    bench.protocol()
    assert bench.records[bad]['status'] == 'failed' and bench.sweep('pkd')[1.0] is None
    assert bench.picked('pkd') == 1000.0
    assert bench.seed_values('pkd', 1.0) == ([pytest.approx(50 - 3 + 0.1), pytest.approx(50 - 3 + 0.2)], 1)
    retry = Counter()
    make(tmp_path, retry, methods=['pkd']).protocol()
    assert retry.calls == [bad]


def test_parallel_jobs_run_the_same_protocol(tmp_path):
    serial, parallel = Counter(), Counter()
    make(tmp_path / 'a', serial).protocol()
    make(tmp_path / 'b', parallel, jobs=2).protocol()
    assert sorted(serial.calls) == sorted(parallel.calls)


def test_diagnostics_from_a_scalars_file(tmp_path):
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    rows = [dict(iter=i, loss=3.0, loss_cls=1.0, loss_bbox=1.0, time=0.5 + i,
                 **{'distill.loss_dfd_fpn0_hd': 0.5 / i, 'distill.loss_dfd_fpn0_ld': 0.5 / i,
                    'distill.stat_dfd_fpn0_hd_fraction': 0.3}) for i in (1, 2, 3, 4)]
    rows.insert(2, {'coco/bbox_mAP': 0.5, 'step': 2})  # a validation row is skipped
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows))
    d = db.diagnostics(str(tmp_path))
    assert d['first']['iter'] == 1 and d['middle']['iter'] == 3 and d['last']['iter'] == 4
    assert d['first']['ratio'] == pytest.approx(1.0 / 2.0) and d['last']['ratio'] == pytest.approx(0.25 / 2.0)
    assert d['first']['task'] == {'loss_cls': 1.0, 'loss_bbox': 1.0}
    assert d['middle']['hd_fraction'] == {'stat_dfd_fpn0_hd_fraction': 0.3}
    assert d['seconds_per_iter'] == pytest.approx(3.5)  # median of 2.5, 3.5, 4.5 (the first is warm-up)


def test_report_files(tmp_path):
    counter = Counter()
    bench = make(tmp_path, counter, methods=['student', 'dfd'])
    bench.protocol()
    db.write_report(bench, dict(metric=60.0, extra={}), 'cmd', str(tmp_path), 2, 1.0)
    text = (tmp_path / 'bccd.md').read_text()
    assert '| dfd | 0.1 | alpha=2.8e-06, beta=1e-06 | 50.10 ± 0.10 (n=3) | 49.10 ± 0.10 (n=3) |' in text
    assert '| student | - | - | 11.00 ± 1.00 (n=3) | same |' in text
    assert 'Teacher minus student alone: 49.00 points' in text
    partial = make(tmp_path / 'p', Counter(), methods=['dfd'])
    partial.run_all([('dfd', 1.0, 0), ('dfd', 10.0, 0)])
    assert not partial.sweep_complete('dfd')
    partial.run_all([('dfd', 0.1, 0)])
    assert not partial.sweep_complete('dfd')  # best at the low end: 0.01 pending
    partial.run_all([('dfd', 0.01, 0)])
    assert partial.sweep_complete('dfd')
    assert 'not a cost comparison' in text
    assert (tmp_path / 'bccd.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert '1 s in this invocation' in text
    db.write_report(bench, dict(metric=60.0, extra={}), 'cmd', str(tmp_path), 2, None)  # --report-only
    text = (tmp_path / 'bccd.md').read_text()
    assert f'these tables were rewritten from the {len(counter.calls)} records (--report-only)' in text
    assert 'in this invocation' not in text
    assert (tmp_path / 'bccd_diagnostics.md').exists()


def test_another_teacher_reruns_the_distilled_runs_only(tmp_path):
    first = Counter()
    make(tmp_path, first, methods=['student', 'dfd']).protocol()
    other = Counter()
    bench = make(tmp_path, other, methods=['student', 'dfd'])
    bench.teacher_id = 'another'
    bench.protocol()
    assert sorted(other.calls) == sorted(r for r in first.calls if r[0] != 'student')


def test_weights_sha256_ignores_metadata(tmp_path):
    import torch
    state = {'a': torch.arange(4.0), 'b': torch.ones(2, 2)}
    torch.save({'state_dict': state, 'meta': {'time': 1}}, tmp_path / 'x.pth')
    torch.save({'state_dict': state, 'meta': {'time': 2}}, tmp_path / 'y.pth')
    torch.save({'state_dict': dict(state, a=torch.arange(4.0) + 1)}, tmp_path / 'z.pth')
    x, y, z = (db.weights_sha256(str(tmp_path / n)) for n in ('x.pth', 'y.pth', 'z.pth'))
    assert x == y != z


def test_end_to_end_on_a_two_iteration_schedule(tmp_path):
    """The script itself on the real BCCD pair: teacher evaluation, a student and a DFD run, tables, PNG, resume."""
    import subprocess
    import sys

    from dfd_razor.testing import load_recipe, make_teacher_checkpoint
    teacher = make_teacher_checkpoint(load_recipe(osp.join(ROOT, 'recipes', 'cpu_demo',
                                                           'dfd_fpn_retina-r18_retina-r18q_300i_bccd.py')),
                                      str(tmp_path / 'teacher.pth'))
    cmd = [sys.executable, 'benchmarks/distill_benchmark.py', '--task', 'bccd', '--teacher', teacher, '--iters', '2',
           '--methods', 'student', 'dfd', '--factors', '1', '--max-extend', '0', '--seeds', '0', '--jobs', '1',
           '--cfg-options', 'default_hooks.logger.interval=1', '--work-dir', str(tmp_path / 'work'),
           '--out-dir', str(tmp_path)]
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.load(open(tmp_path / 'runs' / 'bccd' / 'dfd_x1_s0.json'))
    metrics = json.load(open(tmp_path / 'work' / 'bccd' / 'dfd_x1_s0' / 'test_metrics.json'))['metrics']
    # a 2-iteration detector may detect nothing: CocoMetric then reports no key, which counts as 0
    assert record['status'] == 'ok' and record['metric'] == pytest.approx(metrics.get('coco/bbox_mAP', 0) * 100)
    assert record['extra']['pascal_voc/mAP'] == pytest.approx(metrics['pascal_voc/mAP'] * 100)
    assert 'model.distiller.levels.loss.alpha=2.8e-05' in record['options']
    assert record['teacher_id'] == db.weights_sha256(teacher)
    diag = record['diagnostics']
    assert set(diag['first']['distill']) == {f'loss_dfd_fpn{i}_{t}' for i in range(5) for t in ('hd', 'ld')}
    assert set(diag['last']['hd_fraction']) == {f'stat_dfd_fpn{i}_hd_fraction' for i in range(5)}
    assert diag['first']['ratio'] > 0 and diag['first']['task']
    text = (tmp_path / 'bccd.md').read_text()
    assert f'| dfd | 1 | alpha=2.8e-05, beta=1e-05 | {record["metric"]:.2f} (n=1) |' in text
    assert (tmp_path / 'bccd.png').read_bytes()[:4] == b'\x89PNG'
    assert 'loss_dfd_fpn0_hd' in (tmp_path / 'bccd_diagnostics.md').read_text()
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0 and again.stdout.count(': reusing ') == 2 and ': training' not in again.stdout


def test_every_method_runs_at_its_default_weight_before_any_is_tuned(tmp_path):
    execute = Counter()
    make(tmp_path, execute).protocol()
    weighted = [r for r in execute.calls if r[0] in db.METHODS]
    assert [r[1] for r in weighted[:len(db.METHODS)]] == [1.0] * len(db.METHODS)
    assert {r[0] for r in weighted[:len(db.METHODS)]} == set(db.METHODS)


def test_load_finished_reads_back_every_reusable_record(tmp_path):
    first = Counter()
    make(tmp_path, first, methods=['student', 'dfd', 'pkd']).protocol()
    again = make(tmp_path, Counter(), methods=['student', 'dfd', 'pkd'])
    again.load_finished()
    assert sorted(again.records) == sorted(first.calls)
    other = make(tmp_path, Counter(), base=['train_cfg.max_iters=3'], methods=['student', 'dfd', 'pkd'])
    other.load_finished()
    assert other.records == {}  # other options: nothing to reuse
    with pytest.raises(SystemExit, match=r'no record in .* matches these options'):
        db.require_records(other)  # --report-only would otherwise overwrite the tables with empty ones
    db.require_records(again)
