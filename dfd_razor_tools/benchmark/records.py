"""The records: one JSON file per finished run (``<records>/<run>.json``: its options, the teacher weights' sha256,
metrics, diagnostics), reused by the next invocation when its options and teacher are identical, so that an
interrupted benchmark resumes where it stopped, from any machine that sees the folder.

Beside the runs' records, ``teacher.json`` (:data:`TEACHER_RECORD`) keeps the teacher's weights sha256 and metrics.
"""
import glob
import json
import math
import os
import os.path as osp
import re
import socket
import threading
from typing import Dict, Mapping, Optional, Sequence, Tuple

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.pair import CONTROLS
from dfd_razor_tools.benchmark.sweep import extension, pick
from dfd_razor_tools.paths import repo_path
from dfd_razor_tools.schedule import options_schedule, recipe_schedule

#: Beside the run records: the teacher's weights sha256 and metrics (the tables' teacher line under --report-only).
TEACHER_RECORD = 'teacher.json'

Run = Tuple[str, float, int]  # (row, weight factor, seed); controls have factor 0


def run_name(run: Run) -> str:
    """The run's record name: ``<row>_s<seed>`` (controls), ``<row>_x<factor>_s<seed>``."""
    row, factor, seed = run
    return f'{row}_s{seed}' if row in CONTROLS else f'{row}_x{factor:g}_s{seed}'


def parse_run_name(name: str) -> Optional[Run]:
    """The run a record name (:func:`run_name`) names, or None."""
    m = re.fullmatch(r'(\w+?)(?:_x([\d.e+-]+))?_s(\d+)', name)
    if not m or (m.group(2) is None) != (m.group(1) in CONTROLS):
        return None
    return m.group(1), float(m.group(2)) if m.group(2) else 0.0, int(m.group(3))


def run_records(records: str) -> Dict[Run, str]:
    """Run -> its record's path, for every record in the folder ``records`` that a run name names."""
    runs = {}
    for path in sorted(glob.glob(osp.join(records, '*.json'))):
        run = parse_run_name(osp.basename(path)[:-5])
        if run is not None:
            runs[run] = path
    return runs


def matching(path: str, options: Sequence[str], teacher_id: str) -> Optional[Dict]:
    """The record at ``path`` when its run finished with these very ``options`` and teacher, else None."""
    if osp.isfile(path):
        record = json.load(open(path))
        if (record.get('options') == list(options) and record.get('status') == 'ok'
                and record.get('teacher_id', '') == teacher_id):
            return record
    return None


def write_record(path: str, record: Mapping) -> None:
    """Write a record atomically (a reader on another machine never sees half a file)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = f'{path}.{socket.gethostname()}.{os.getpid()}.{threading.get_ident()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, path)


def cpu_model() -> str:
    """The CPU's model name and family/model/stepping (``/proc/cpuinfo``), or ``'unknown'``: every record names
    the CPU that made it, because a seeded run gives other numbers on another CPU."""
    fields = {}
    try:
        for line in open('/proc/cpuinfo'):
            key, _, value = line.partition(':')
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        return 'unknown'
    if 'model name' not in fields:
        return 'unknown'
    return (f'{fields["model name"]} (family {fields.get("cpu family", "?")}, model {fields.get("model", "?")}, '
            f'stepping {fields.get("stepping", "?")})')


def record_teachers(records: str) -> Dict[str, int]:
    """Teacher weights' sha256 -> how many of the records in ``records`` were made with it (runs without a teacher,
    the student alone, are not counted)."""
    made: Dict[str, int] = {}
    for path in glob.glob(osp.join(records, '*.json')):
        tid = json.load(open(path)).get('teacher_id', '') if osp.basename(path) != TEACHER_RECORD else ''
        if tid:
            made[tid] = made.get(tid, 0) + 1
    return made


def check_schedule(records: str, options: Sequence[str], student: str) -> None:
    """Stop before running into a records folder that holds records of another schedule length: their runs have the
    names these runs would have, so each would be run again and its record replaced (``--name X --schedule N``
    where X is the shipped schedule's folder, or the converse).

    Raises:
        BenchmarkError: Records of another length are there.
    """
    shipped, unit = recipe_schedule(student)
    mine = options_schedule(options, shipped, unit)
    others: Dict[int, int] = {}
    for path in glob.glob(osp.join(records, '*.json')):
        if osp.basename(path) != TEACHER_RECORD:
            length = options_schedule(json.load(open(path)).get('options', []), shipped, unit)
            if length != mine:
                others[length] = others.get(length, 0) + 1
    if others:
        words = 'iterations' if unit == 'i' else 'epochs'
        counts = ', '.join(f'{n} at {length} {words}' for length, n in sorted(others.items()))
        raise BenchmarkError(f'{repo_path(records)}: records of another schedule ({counts}); these runs train {mine} '
                             f'{words} and would replace them. Give --name a folder of their own (e.g. '
                             f'{osp.basename(records.rstrip(os.sep))}_{mine}{unit})')


def picks_from_records(records: str, rows: Sequence[str], first_seed: int, factors: Sequence[float],
                       max_extend: int, teacher_id: str) -> Dict[str, float]:
    """Row -> the factor that another benchmark's sweep picked, from its records (``--picks-from``): the same pair
    at another schedule runs each row at the weight the shipped schedule's sweep chose, with no sweep of its own.

    The sweep is the rows' records on ``first_seed`` (any options: another schedule's), read as
    :meth:`~dfd_razor_tools.benchmark.protocol.Benchmark.picked` reads its own.

    Raises:
        BenchmarkError: ``records`` is not a folder; a row's sweep was made with another teacher, or is not finished
            (a base factor missing, or an extension pending).
    """
    if not osp.isdir(records):
        raise BenchmarkError(f'--picks-from {records}: no such folder (a benchmark\'s records: <out-dir>/runs/<name>)')
    sweeps: Dict[str, Dict[float, Optional[float]]] = {r: {} for r in rows if r not in CONTROLS}
    teachers: Dict[str, set] = {r: set() for r in sweeps}
    for path in sorted(glob.glob(osp.join(records, '*.json'))):
        run = parse_run_name(osp.basename(path)[:-5])
        if run is None or run[0] not in sweeps or run[2] != first_seed:
            continue
        record = json.load(open(path))
        teachers[run[0]].add(record.get('teacher_id', ''))
        sweeps[run[0]][run[1]] = record['metric'] if record.get('status') == 'ok' else None
    picks = {}
    for row, sweep in sweeps.items():
        others = sorted(t[:12] + '...' for t in teachers[row] if t != teacher_id)
        if others:
            raise BenchmarkError(f'--picks-from {records}: the {row} sweep was made with teacher {", ".join(others)}, '
                                 f'not this one ({teacher_id[:12]}...): picks are a teacher\'s')
        missing = [f'x{f:g}' for f in factors if not any(math.isclose(f, g) for g in sweep)]
        pending = extension(sweep, factors, max_extend)
        if missing or pending is not None or pick(sweep) is None:
            why = (f'{", ".join(missing)} not run' if missing else f'x{pending:g} pending' if pending is not None
                   else 'every run failed')
            raise BenchmarkError(f'--picks-from {records}: the {row} sweep on seed {first_seed} is not finished '
                                 f'({why})')
        picks[row] = pick(sweep)
    return picks
