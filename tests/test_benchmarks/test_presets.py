"""The BCCD and CamVid presets of tools/benchmark.py: their committed records still load and are reused (the tool
regenerates each record's options byte for byte), and the protocol over them asks only for the fresh seed-3 runs."""
import glob
import importlib.util
import json
import os.path as osp
import shutil

import pytest

from dfd_razor_tools import benchmark as bm
from dfd_razor_tools.demo_tasks import schedule_length

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
spec = importlib.util.spec_from_file_location('benchmark_tool', osp.join(ROOT, 'tools', 'benchmark.py'))
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

# The teacher each committed record names: the preset's teacher work dir, at the end of its recipe's schedule.
TEACHERS = {'bccd': 'work_dirs/demo/bccd/teacher/iter_1600.pth', 'camvid': 'work_dirs/demo/camvid/teacher/iter_800.pth'}


def preset_benchmark(name, records):
    args = tool.parse_args(['--preset', name])
    s = tool.settings(args)
    pair, rows = tool.make_pair(s, args)
    teacher = osp.join(bm.absolute(s['teacher_work_dir']), f'iter_{schedule_length(s["teacher_recipe"])}.pth')
    assert bm.repo_path(teacher) == TEACHERS[name]
    ids = {json.load(open(p))['teacher_id'] for p in glob.glob(osp.join(ROOT, 'benchmarks', 'runs', name, '*.json'))}
    teacher_id = max(ids)  # the one teacher of the distilled runs; the student alone's records say ''
    assert ids == {'', teacher_id}
    return bm.Benchmark(pair, rows, s['seeds'], s['factors'], s['max_extend'], [], bm.repo_path(teacher), teacher_id,
                        '/nonexistent', records, None, bm.Metric(s['metric'], s['scale'], s['extra_metrics']))


@pytest.mark.parametrize('name', ['bccd', 'camvid'])
def test_every_committed_record_is_regenerated_and_reused(name):
    runs = osp.join(ROOT, 'benchmarks', 'runs', name)
    bench = preset_benchmark(name, runs)
    paths = sorted(p for p in glob.glob(osp.join(runs, '*.json')) if osp.basename(p) != bm.TEACHER_RECORD)
    assert len(paths) >= {'bccd': 64, 'camvid': 59}[name]
    # the teacher's metrics beside the records are those of the teacher every distilled record was made with
    teacher = json.load(open(osp.join(runs, bm.TEACHER_RECORD)))
    assert {json.load(open(p))['teacher_id'] for p in paths} - {''} == {teacher['teacher_id']}
    for path in paths:
        record = json.load(open(path))
        run = bm.parse_run_name(osp.basename(path)[:-5])
        assert run is not None and run[0] in bench.rows, path
        assert bench.options(run) == record['options'], path  # byte for byte, so the record is reused
        assert bench.recipe(run) == record['recipe'], path
        assert bench.cached(run) is not None, path
    bench.load_finished()
    assert len(bench.records) == len(paths)


def test_the_presets():
    bccd = bm.load_preset('bccd')
    assert bccd['methods'] == ['student', 'inherit', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd', 'dfd_split', 'dfd_batch',
                               'dfd_norm']
    assert bccd['metric'] == 'coco/bbox_mAP' and bccd['out_dir'] == 'benchmarks'
    camvid = bm.load_preset(osp.join(ROOT, 'benchmarks', 'presets', 'camvid.py'))
    assert 'inherit' not in camvid['methods'] and camvid['metric'] == 'mIoU'
    with pytest.raises(bm.BenchmarkError, match=r'no file .*nonesuch\.py \(presets: bccd, camvid\)'):
        bm.load_preset('nonesuch')


class Remaining:
    """A fake executor: records what the protocol asks for, runs nothing."""

    def __init__(self):
        self.asked = []

    def map(self, specs, done):
        self.asked += [bm.parse_run_name(s.name) for s in specs]
        for s in specs:
            done(s, dict(status='ok', metric=0.0))


# What the committed records miss for the fresh seeds 1, 2, 3: seed 3 at each method's picked (seed-0 sweep) and
# shipped weights, each variant's picked weight, each control. BCCD's sweeps all picked x10; CamVid's fitnet and
# mgd x0.1, pkd and cwd x10, dfd x1 (its shipped weight), dfd_split x0.1, dfd_batch x10, dfd_norm x0.01.
REMAINING = {
    'bccd': {(m, f, 3) for m in ('fitnet', 'pkd', 'mgd', 'cwd', 'dfd') for f in (10.0, 1.0)} |
            {(m, 10.0, 3) for m in ('dfd_split', 'dfd_batch', 'dfd_norm')} | {('student', 0.0, 3), ('inherit', 0.0, 3)},
    'camvid': {('fitnet', 0.1, 3), ('fitnet', 1.0, 3), ('mgd', 0.1, 3), ('mgd', 1.0, 3), ('pkd', 10.0, 3),
               ('pkd', 1.0, 3), ('cwd', 10.0, 3), ('cwd', 1.0, 3), ('dfd', 1.0, 3), ('dfd_split', 0.1, 3),
               ('dfd_batch', 10.0, 3), ('dfd_norm', 0.01, 3), ('student', 0.0, 3)},
}


@pytest.mark.parametrize('name', ['bccd', 'camvid'])
def test_the_protocol_over_the_committed_records_asks_for_seed_3_only(name, tmp_path):
    shutil.copytree(osp.join(ROOT, 'benchmarks', 'runs', name), tmp_path / 'runs')
    done = {bm.parse_run_name(osp.basename(p)[:-5]) for p in glob.glob(str(tmp_path / 'runs' / '*.json'))}
    bench = preset_benchmark(name, str(tmp_path / 'runs'))
    bench.executor = Remaining()
    bench.protocol()
    assert set(bench.executor.asked) == REMAINING[name] - done
    assert len(bench.executor.asked) == len(set(bench.executor.asked))
