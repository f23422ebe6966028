"""The teacher: its checkpoint (given, the recipes', or a preset's, trained when missing), its weights' sha256 (what
the records call the teacher), how the tool trained it (provenance), its metrics (cached in the work dir and kept
with the records as ``teacher.json``), and the checks that records and teacher belong together."""
import hashlib
import json
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from dfd_razor_tools.benchmark.errors import BenchmarkError
from dfd_razor_tools.benchmark.pair import Pair
from dfd_razor_tools.benchmark.records import TEACHER_RECORD, cpu_model, record_teachers
from dfd_razor_tools.benchmark.settings import Metric, Settings
from dfd_razor_tools.paths import absolute, repo_path
from dfd_razor_tools.run import read_metric, run_logged, test_recipe, train_command
from dfd_razor_tools.schedule import schedule_length


@dataclass
class Teacher:
    """The teacher of a benchmark's runs.

    Attributes:
        checkpoint: The checkpoint, as the runs' options name it (:func:`~dfd_razor_tools.paths.repo_path`).
        teacher_id: Its weights' sha256 (:func:`weights_sha256`); '' where it is not known.
    """
    checkpoint: str = ''
    teacher_id: str = ''


def weights_sha256(checkpoint: str) -> str:
    """sha256 of a checkpoint's weights (names, shapes, dtypes, values; not its metadata, which holds
    timestamps): what the records call the teacher."""
    from dfd_razor.checkpoint import model_state, read_checkpoint
    state, _ = model_state(read_checkpoint(checkpoint, '--teacher'), checkpoint, '--teacher')
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(f'{name} {tuple(state[name].shape)} {state[name].dtype}\n'.encode())
        h.update(state[name].detach().contiguous().numpy().tobytes())
    return h.hexdigest()


#: Beside a teacher the tool trained (``<teacher work dir>/provenance.json``): how it was trained, kept with the
#: records' ``teacher.json``, because a seeded teacher recipe retrained on another CPU gives other weights.
PROVENANCE = 'provenance.json'


def teacher_state(work_dir: str, max_iters: int, recipe_path: Optional[str] = None) -> Dict[str, str]:
    """What a teacher work dir holds: ``finished``, the checkpoint of the full schedule (``iter_<max_iters>.pth``,
    named by mmengine's ``last_checkpoint``), or ``partial``, the last checkpoint of an interrupted training, which
    is resumed, never used as the teacher. A checkpoint beyond ``max_iters`` (another, longer schedule) is neither:
    the teacher is trained anew.

    Raises:
        ValueError: With ``recipe_path``: the dir holds a checkpoint and mmengine's dump of another recipe (and none
            of this one), e.g. the teacher of a pair that used the same dir before; resuming or reusing it would
            train or distil from another model.
    """
    path = osp.join(work_dir, 'last_checkpoint')
    last = open(path).read().strip() if osp.isfile(path) else ''
    m = re.fullmatch(r'iter_(\d+)\.pth', osp.basename(last))
    if not last or not osp.isfile(last) or not m or int(m.group(1)) > max_iters:
        return dict(finished='', partial='')
    if recipe_path is not None:  # mmengine dumps the config it ran into the work dir under the recipe's file name
        dumped = sorted(f for f in os.listdir(work_dir) if f.endswith('.py'))
        if dumped and osp.basename(recipe_path) not in dumped:
            raise ValueError(f'{work_dir} holds {osp.basename(last)} of {", ".join(dumped)}, not of '
                             f'{osp.basename(recipe_path)}: remove the folder (or move it) to train this teacher')
    if int(m.group(1)) == max_iters:
        return dict(finished=last, partial='')
    return dict(finished='', partial=last)


def teacher_provenance(recipe: str, checkpoint: str, env: Mapping[str, str], resumed: bool) -> Dict[str, Any]:
    """How a teacher checkpoint was trained: its recipe, weights' sha256, the training's OMP_NUM_THREADS, torch's
    version, the CPU, the date, and whether the training was resumed. Retraining with all of these equal is the one
    way this project has seen to get the same weights: the BCCD teacher on one thread gave one sha256 on an Intel
    Xeon machine (and on one whose CPU was not recorded) and another on an AMD EPYC one (benchmarks/presets/bccd.py)."""
    import datetime

    import torch
    return dict(recipe=repo_path(recipe), teacher_id=weights_sha256(checkpoint),
                omp_num_threads=env.get('OMP_NUM_THREADS', 'unset'), torch=torch.__version__, cpu=cpu_model(),
                date=datetime.date.today().isoformat(), resumed=resumed)


def teacher_checkpoint(settings: Settings, pair: Pair, env: Dict[str, str], work: str) -> str:
    """The teacher checkpoint (absolute): --teacher; a preset's, trained (or resumed) when missing; else the
    recipes' model.teacher_ckpt.

    Raises:
        BenchmarkError: No such checkpoint, or none named anywhere.
    """
    s = settings
    if s.teacher:
        path = s.path('teacher')
        if not osp.isfile(path):
            raise BenchmarkError(f'--teacher {s.teacher}: no such file')
        return path
    if s.teacher_recipe:
        return _preset_teacher(s, env, work)
    from mmengine.config import Config
    if not pair.methods:
        raise BenchmarkError('--methods names controls only, so no recipe names the teacher: give --teacher CKPT '
                             '(the tables report it)')
    recipe = pair.methods.get(s.reference) or next(iter(pair.methods.values()))
    given = [o.split('=', 1)[1] for o in s.cfg_options if o.startswith('model.teacher_ckpt=')]
    ckpt = given[-1] if given else Config.fromfile(absolute(recipe)).model.get('teacher_ckpt')
    where = '--cfg-options' if given else recipe
    if not ckpt or '://' in ckpt or not osp.isfile(absolute(ckpt)):
        raise BenchmarkError(f'no teacher checkpoint: {where} sets model.teacher_ckpt={ckpt!r}, not a local file; '
                             'give --teacher CKPT (the records identify the teacher by its weights\' sha256)')
    return absolute(ckpt)


def _preset_teacher(s: Settings, env: Dict[str, str], work: str) -> str:
    """A preset's teacher: trained into its ``teacher_work_dir`` when missing (resumed when it stopped early)."""
    recipe, teacher_dir = s.teacher_recipe, absolute(s.teacher_work_dir)
    length = schedule_length(recipe)
    state = teacher_state(teacher_dir, length, recipe)
    if not state['finished']:  # a teacher that stopped early is resumed, never used
        if s.report_only:  # nothing runs: the records' teacher.json names the teacher, no checkpoint is read
            return osp.join(teacher_dir, f'iter_{length}.pth')
        print(f'training the teacher ({recipe})' + (f', resuming {state["partial"]}' if state['partial'] else ''),
              flush=True)
        if s.teacher_threads:  # the same weights on another machine (of the same CPU) need the same count
            env = dict(env, OMP_NUM_THREADS=str(s.teacher_threads))
        run_logged('train', train_command(recipe, teacher_dir, resume=bool(state['partial'])),
                   osp.join(work, 'teacher.log'), env)
        state = teacher_state(teacher_dir, length)
        with open(osp.join(teacher_dir, PROVENANCE), 'w') as f:
            json.dump(teacher_provenance(absolute(recipe), state['finished'], env, bool(state['partial'])), f,
                      indent=1)
    return state['finished']


def teacher_metrics(settings: Settings, pair: Pair, checkpoint: str, teacher_id: str, metric: Metric,
                    env: Dict[str, str], work: str, records: str, run: bool = True) -> Dict[str, Any]:
    """The teacher's metrics on the evaluation split, cached in <work>/teacher_metrics.json (evaluated when the cache
    does not fit, if ``run``; else {} then) and kept with the records (``<records>/teacher.json``)."""
    cache = osp.join(work, 'teacher_metrics.json')
    key = dict(checkpoint=repo_path(checkpoint), teacher_id=teacher_id, options=list(settings.cfg_options),
               metric=metric.key)
    if osp.isfile(cache) and json.load(open(cache)).get('key') == key:
        result = json.load(open(cache))
    elif not run:
        return {}
    else:
        result = evaluate_teacher(settings, pair, checkpoint, metric, env, work)
        result['key'] = key
        with open(cache, 'w') as f:
            json.dump(result, f, indent=1)
    os.makedirs(records, exist_ok=True)
    kept = dict(teacher_id=teacher_id, checkpoint=result['checkpoint'], metric=result['metric'], extra=result['extra'])
    provenance = osp.join(osp.dirname(checkpoint), PROVENANCE)  # how the tool trained it, when it did
    if osp.isfile(provenance) and json.load(open(provenance)).get('teacher_id') == teacher_id:
        kept['provenance'] = json.load(open(provenance))
    with open(osp.join(records, TEACHER_RECORD), 'w') as f:  # with the records: --report-only reads it
        json.dump(kept, f, indent=1)
    return result


def evaluate_teacher(settings: Settings, pair: Pair, checkpoint: str, metric: Metric, env: Dict[str, str],
                     work: str) -> Dict[str, Any]:
    """Evaluate the teacher with the preset's teacher recipe, else a method recipe (as a teacher).

    Raises:
        BenchmarkError: Neither recipe is there (the controls only).
    """
    s = settings
    if not s.teacher_recipe and not pair.methods:
        raise BenchmarkError('--methods names controls only: the teacher is evaluated with a method recipe (or a '
                             'preset\'s teacher_recipe); add one, e.g. --methods student dfd')
    recipe = s.teacher_recipe or pair.methods.get(s.reference) or next(iter(pair.methods.values()))
    print(f'evaluating the teacher ({repo_path(checkpoint)})', flush=True)
    _, metrics_file, _ = test_recipe(absolute(recipe), checkpoint, osp.join(work, 'teacher_eval'), s.cfg_options,
                                     env, teacher=not s.teacher_recipe)
    raw = json.load(open(metrics_file))['metrics']
    return dict(checkpoint=repo_path(checkpoint), metric=read_metric(metrics_file, metric.key, metric.scale),
                extra={k: raw.get(k, 0.0) * f for k, f in metric.extra.items()})


def check_teacher(records: str, teacher: str, teacher_id: str, accept: bool) -> None:
    """Stop before rerunning every distilled run because the teacher's weights differ from those the records were
    made with (a teacher retrained elsewhere, another checkpoint), unless ``accept``."""
    others = {tid: n for tid, n in record_teachers(records).items() if tid != teacher_id}
    if others and not accept:
        counts = ', '.join(f'{n} with {tid[:12]}...' for tid, n in others.items())
        # a seeded teacher retrained on another CPU has other weights: say where the records' teacher was trained
        made = recorded_teacher(records, next(iter(others))).get('provenance', {}) if len(others) == 1 else {}
        where = (f' Their teacher was trained on {made["cpu"]} with OMP_NUM_THREADS={made["omp_num_threads"]}, this '
                 f'machine is {cpu_model()}: the same seeded recipe gives the same weights only on the same CPU and '
                 'thread count.' if made.get('cpu') else '')
        raise BenchmarkError(f'{records}: records of another teacher ({counts}); this one ({repo_path(teacher)}) has '
                             f'weights sha256 {teacher_id[:12]}..., so none of their distilled runs would be reused.'
                             f'{where} Give the teacher they were made with (--teacher), or --new-teacher to run '
                             'them again')


def report_teacher(records: str, teacher: str, teacher_id: str) -> Tuple[str, Dict[str, Any]]:
    """--report-only: the teacher whose records the tables show, and its metrics as recorded (``{}`` if not).

    Nothing runs, so the tables can be written from records made with a teacher whose checkpoint is gone (a teacher
    retrained on another machine has other weights): when every distilled record was made with one other teacher,
    the tables are those records', and a line says so; so they are when a preset's teacher is not trained on this
    machine (``teacher_id`` empty: a fresh clone reads the committed records without training one), or, when only
    the controls ran (they need no teacher), those of ``teacher.json``'s teacher. Records of several teachers, none
    of them this one, are an error: a table mixes no teachers.
    """
    made = record_teachers(records)
    if not teacher_id and not made:  # no checkpoint here and only controls recorded: teacher.json names the teacher
        kept = osp.join(records, TEACHER_RECORD)
        made = {json.load(open(kept))['teacher_id']: 0} if osp.isfile(kept) else {}
    if not teacher_id and len(made) == 1:  # no checkpoint here (a preset's teacher not trained on this machine)
        other = next(iter(made))
        print(f'--report-only: {repo_path(teacher)} is not trained here; the tables are those of the records\' '
              f'teacher ({other[:12]}...)', flush=True)
        return other, recorded_teacher(records, other)
    if teacher_id in made or not made:
        return teacher_id, recorded_teacher(records, teacher_id)
    if len(made) > 1:
        counts = ', '.join(f'{n} with {tid[:12]}...' for tid, n in sorted(made.items()))
        raise BenchmarkError(f'--report-only: {records} holds records of several teachers ({counts}), none of them '
                             f'{repo_path(teacher)} ({teacher_id[:12]}...); give the teacher of the tables (--teacher)')
    other = next(iter(made))
    print(f'--report-only: the records were made with teacher {other[:12]}..., not {repo_path(teacher)} '
          f'({teacher_id[:12]}...): the tables are those records\'', flush=True)
    return other, recorded_teacher(records, other)


def recorded_teacher(records: str, teacher_id: str) -> Dict[str, Any]:
    """The teacher's metrics kept beside the records (``<records>/teacher.json``, written when the teacher is
    evaluated) if they are this teacher's, else ``{}``."""
    path = osp.join(records, TEACHER_RECORD)
    if osp.isfile(path):
        kept = json.load(open(path))
        if kept.get('teacher_id') == teacher_id:
            return kept
    return {}
