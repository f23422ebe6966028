"""Run one recipe: train it, test the trained checkpoint, read its metrics. The one way the tools run a student:
``tools/benchmark.py`` (each run of the protocol, also inside a Slurm job) and ``tools/demo.py`` (each model of the
table).

    result = run_recipe('recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py', 'work_dirs/x',
                        ['randomness.seed=1'])
    result.metrics['coco/bbox_mAP']

Each step is ``tools/train.py`` (``tools/dist_train.sh`` for more than one process) or ``tools/test.py``, run as a
subprocess in the repository (relative paths in recipes and options resolve there, as in the tools' own
commands), its output in a log file. A step that fails raises :class:`RunFailed` naming the step, its exit status
and its log. Who wants to show the output live (the demo's progress bars) passes ``call``, which runs each command
instead of :func:`run_logged`.

A tool that runs several steps at once (the benchmark's local executor) calls :func:`stop_children_on_signals`:
then SIGTERM or SIGINT to the tool stops every step it started, with their own children, instead of leaving them
training into work dirs that the next invocation (it resumes) trains into again.
"""
import json
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from dfd_razor_tools.paths import REPO, TOOLS

#: Runs one command: ``call(step, command, log, env)``, ``step`` 'train' or 'test', ``command`` a full argv
#: (``[sys.executable, 'tools/train.py', ...]`` for one process), ``log`` the file for its output. It raises
#: :class:`RunFailed` (or anything else) when the command fails.
Call = Callable[[str, List[str], str, Dict[str, str]], None]


class RunFailed(RuntimeError):
    """A step of a run exited non-zero.

    Args:
        step (str): 'train' or 'test'.
        code (int): The exit status.
        log (str): The step's log file.
    """

    def __init__(self, step: str, code: int, log: str) -> None:
        script = 'tools/train.py' if step == 'train' else 'tools/test.py'
        super().__init__(f'{script} exited {code}; its log: {log}')
        self.step, self.code, self.log = step, code, log


class RunStopped(RuntimeError):
    """A step was stopped, or not started, because the tool was told to stop (:func:`stop_children`): the run
    neither finished nor failed, and leaves no record."""

    def __init__(self, step: str) -> None:
        super().__init__(f'{step} stopped: the tool was told to stop')
        self.step = step


_live: Set[subprocess.Popen] = set()
_live_lock = threading.Lock()
_stopping = threading.Event()


def stop_children() -> None:
    """Stop every step :func:`run_logged` runs now (SIGTERM to its process group: ``tools/dist_train.sh``'s
    processes too) and refuse to start any other."""
    _stopping.set()
    with _live_lock:
        for proc in _live:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:  # it has just exited
                pass


def stop_children_on_signals() -> None:
    """On SIGTERM or SIGINT: :func:`stop_children`, then exit with status 128 + the signal's number (the
    shell's convention). For the main thread of a tool that runs steps through :func:`run_logged`."""

    def handler(signum: int, frame: object) -> None:
        stop_children()
        sys.exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


@dataclass
class RecipeRun:
    """What :func:`run_recipe` did: the trained checkpoint, its metrics and what it cost.

    ``peak_rss_mib`` is the training process's peak resident memory (NaN when ``call`` ran the commands or the
    training was reused); ``trained`` is False when a finished training with the same recipe and options was
    reused (``reuse_training``); ``resumed_from`` names the checkpoint an interrupted training of the same recipe
    and options went on from ('' when it trained from the start), and ``train_seconds`` is then the part after it.
    """
    recipe: str
    checkpoint: str
    metrics: Dict[str, float]
    metrics_file: str
    train_seconds: float
    test_seconds: float
    peak_rss_mib: float
    train_log: str
    test_log: str
    trained: bool
    resumed_from: str = ''


def train_command(recipe: str, work_dir: str, options: Sequence[str] = (), processes: int = 1,
                  resume: bool = False) -> List[str]:
    """The command that trains ``recipe`` into ``work_dir``: ``tools/train.py``, or ``tools/dist_train.sh`` with
    ``processes`` processes (one per GPU; gloo processes on CPU)."""
    tail = ['--work-dir', work_dir] + (['--resume'] if resume else []) + \
        (['--cfg-options'] + list(options) if options else [])
    if processes > 1:
        return ['bash', osp.join(TOOLS, 'dist_train.sh'), recipe, str(processes)] + tail
    return [sys.executable, osp.join(TOOLS, 'train.py'), recipe] + tail


def test_command(recipe: str, checkpoint: str, work_dir: str, metrics_file: str, options: Sequence[str] = (),
                 teacher: bool = False) -> List[str]:
    """The command that evaluates ``checkpoint`` with ``recipe``'s test set and metric, metrics to ``metrics_file``
    (``teacher``: the recipe's teacher instead of its student)."""
    return ([sys.executable, osp.join(TOOLS, 'test.py'), recipe, checkpoint, '--work-dir', work_dir,
             '--out-metrics', metrics_file] + (['--teacher'] if teacher else []) +
            (['--cfg-options'] + list(options) if options else []))


def run_logged(step: str, command: List[str], log: str, env: Dict[str, str]) -> float:
    """Run ``command`` in the repository with its output in ``log`` (appended); return its peak resident memory in
    MiB (the largest of its processes).

    Raises:
        RunFailed: The command exited non-zero.
        RunStopped: :func:`stop_children` was called before or while it ran.
    """
    os.makedirs(osp.dirname(osp.abspath(log)), exist_ok=True)
    with open(log, 'a') as f:
        f.write('$ ' + ' '.join(command) + '\n')
        f.flush()
        with _live_lock:  # with stop_children's: a step starts either before it (and is stopped) or not at all
            if _stopping.is_set():
                raise RunStopped(step)
            # its own process group: stop_children stops the step's children too (dist_train.sh's)
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            _live.add(proc)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # KeyboardInterrupt in a tool without stop_children_on_signals: no orphan either
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:  # it has just exited
                pass
            proc.wait()
            raise
        finally:
            with _live_lock:
                _live.discard(proc)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4: Popen must not wait for it again
    if _stopping.is_set():
        raise RunStopped(step)
    if code != 0:
        raise RunFailed(step, code, log)
    return usage.ru_maxrss / 1024


def free_port() -> int:
    """A TCP port no process listens on now, for a ``torch.distributed`` rendezvous."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine's ``last_checkpoint`` file in ``work_dir`` names, or '' when there is none."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return ''
    ckpt = open(path).read().strip()
    ckpt = ckpt if osp.isabs(ckpt) else osp.join(REPO, ckpt)
    return ckpt if osp.isfile(ckpt) else ''


def _environment(env: Optional[Mapping[str, str]], processes: int) -> Dict[str, str]:
    full = dict(os.environ if env is None else env)
    if processes > 1:
        full.setdefault('PYTHON', sys.executable)  # tools/dist_train.sh's interpreter
        full.setdefault('PORT', str(free_port()))  # two runs on one machine must not share a rendezvous port
    return full


def checkpoint_options(every: int) -> List[str]:
    """``--cfg-options`` that save a checkpoint every ``every`` iterations (epochs, in an epoch-based loop) and
    keep only the latest, so that an interrupted training can go on from it (``[]`` for 0: the recipe's own)."""
    if every < 0:
        raise ValueError(f'checkpoint interval {every}: must be >= 0 (0: the recipe\'s own)')
    return [f'default_hooks.checkpoint.interval={every}', 'default_hooks.checkpoint.max_keep_ckpts=1'] if every else []


def _identity_in(path: str) -> Optional[Dict]:
    return json.load(open(path)).get('identity') if osp.isfile(path) else None


def train_recipe(recipe: str, work_dir: str, options: Sequence[str] = (), env: Optional[Mapping[str, str]] = None,
                 processes: int = 1, log: Optional[str] = None, call: Optional[Call] = None,
                 reuse_training: bool = False, checkpoint_every: int = 0
                 ) -> Tuple[str, float, float, bool, str]:
    """Train ``recipe`` into ``work_dir`` with ``--cfg-options`` ``options``.

    Every training writes its recipe and options to ``<work_dir>/training_with.json`` before it starts and to
    ``trained_with.json`` when it has finished. With ``reuse_training`` both are read: a finished training of the
    same recipe and options is reused, and an interrupted one (a stopped tool, a killed Slurm job, a session's end)
    goes on from its last checkpoint (``tools/train.py --resume``, which restores weights, optimizer, scheduler and
    the data order: ``tests/test_tools/test_train_test.py::test_resume_is_exact``). A work dir that holds a
    training with other options is trained again from the start.

    Args:
        recipe (str): The recipe (absolute, or relative to the repository).
        work_dir (str): Its work dir.
        options (Sequence[str]): ``key=value`` overrides; they identify the training.
        env (Mapping[str, str], optional): The environment of the command (default: this process's).
        processes (int): Training processes (> 1: ``tools/dist_train.sh``).
        log (str, optional): The log file (default ``<work_dir>/train.log``).
        call (Call, optional): Runs the command instead of :func:`run_logged`.
        reuse_training (bool): Reuse a finished training, resume an interrupted one (see above).
        checkpoint_every (int): Save a checkpoint every this many iterations (epochs, in an epoch-based loop),
            keeping the latest only (:func:`checkpoint_options`), so that an interrupted training loses at most
            that many; 0: the recipe's own checkpoints. Not part of the training's identity: saving changes no
            weight.

    Returns:
        tuple: The last checkpoint, the training seconds, the peak resident memory (MiB), whether it trained,
        the checkpoint it resumed from ('' when none).

    Raises:
        RunFailed: The training exited non-zero, or wrote no checkpoint.
    """
    log = log or osp.join(work_dir, 'train.log')
    marker, started = osp.join(work_dir, 'trained_with.json'), osp.join(work_dir, 'training_with.json')
    identity = dict(recipe=recipe, options=list(options))
    resume_from = ''
    if reuse_training and last_checkpoint(work_dir):
        if _identity_in(marker) == identity:
            done = json.load(open(marker))
            return (last_checkpoint(work_dir), done['seconds'], done['peak_rss_mib'], False,
                    done.get('resumed_from', ''))
        if _identity_in(started) == identity:
            resume_from = last_checkpoint(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    if osp.isfile(marker):  # another training's: this one has not finished
        os.remove(marker)
    with open(started, 'w') as f:
        json.dump(dict(identity=identity), f)
    start = time.time()
    command = train_command(recipe, work_dir, list(options) + checkpoint_options(checkpoint_every), processes,
                            resume=bool(resume_from))
    full_env = _environment(env, processes)
    if call is None:
        rss = run_logged('train', command, log, full_env)
    else:
        call('train', command, log, full_env)
        rss = float('nan')
    seconds = time.time() - start
    checkpoint = last_checkpoint(work_dir)
    if not checkpoint:
        raise RunFailed('train', 0, log)
    with open(marker, 'w') as f:
        json.dump(dict(identity=identity, seconds=seconds, peak_rss_mib=rss,
                       resumed_from=osp.basename(resume_from)), f)
    return checkpoint, seconds, rss, True, osp.basename(resume_from)


def test_recipe(recipe: str, checkpoint: str, work_dir: str, options: Sequence[str] = (),
                env: Optional[Mapping[str, str]] = None, metrics_file: Optional[str] = None,
                log: Optional[str] = None, call: Optional[Call] = None, teacher: bool = False
                ) -> Tuple[Dict[str, float], str, float]:
    """Evaluate ``checkpoint`` with ``recipe`` (``teacher``: its teacher); return the metrics, the metrics file
    (default ``<work_dir>/test_metrics.json``) and the seconds it took.

    Raises:
        RunFailed: tools/test.py exited non-zero.
    """
    metrics_file = metrics_file or osp.join(work_dir, 'test_metrics.json')
    log = log or osp.join(work_dir, 'test.log')
    os.makedirs(work_dir, exist_ok=True)
    start = time.time()
    command = test_command(recipe, checkpoint, work_dir, metrics_file, options, teacher)
    full_env = _environment(env, 1)
    if call is None:
        run_logged('test', command, log, full_env)
    else:
        call('test', command, log, full_env)
    return json.load(open(metrics_file))['metrics'], metrics_file, time.time() - start


def run_recipe(recipe: str, work_dir: str, options: Sequence[str] = (), env: Optional[Mapping[str, str]] = None,
               processes: int = 1, call: Optional[Call] = None, reuse_training: bool = False,
               train_log: Optional[str] = None, test_log: Optional[str] = None,
               test_work_dir: Optional[str] = None, metrics_file: Optional[str] = None,
               checkpoint_every: int = 0) -> RecipeRun:
    """Train ``recipe``, then test its last checkpoint with the same options, then read the metrics.

    The evaluation gets the training's options too: they build the same model (an option may drop a connector)
    and name the same teacher. Arguments as :func:`train_recipe` and :func:`test_recipe`; the evaluation writes
    into ``test_work_dir`` (default: ``work_dir``).

    Raises:
        RunFailed: A step failed; its message names the step's log.
    """
    checkpoint, train_seconds, rss, trained, resumed_from = train_recipe(
        recipe, work_dir, options, env, processes, train_log, call, reuse_training, checkpoint_every)
    test_log = test_log or osp.join(work_dir, 'test.log')
    metrics, metrics_file, test_seconds = test_recipe(recipe, checkpoint, test_work_dir or work_dir, options, env,
                                                      metrics_file, test_log, call)
    return RecipeRun(recipe=recipe, checkpoint=checkpoint, metrics=metrics, metrics_file=metrics_file,
                     train_seconds=train_seconds, test_seconds=test_seconds, peak_rss_mib=rss,
                     train_log=train_log or osp.join(work_dir, 'train.log'), test_log=test_log, trained=trained,
                     resumed_from=resumed_from)


class MetricMissing(KeyError):
    """A metrics file lacks the metric asked for (its message names the file, the key and the keys it has)."""

    def __str__(self) -> str:
        return str(self.args[0])


def read_metric(path: str, metric: str, scale: float) -> float:
    """The metric ``metric`` of a tools/test.py metrics file, times ``scale`` (to percent).

    MMDetection's CocoMetric returns no metric at all when a model detects nothing above its score threshold (it
    logs "The testing results of the whole dataset is empty"), while other metrics beside it (BCCD's VOC mAP)
    still report; that is an AP of 0 by definition, reported as 0.0 with a line saying so.

    Raises:
        MetricMissing: Any other missing metric, naming the file and the key.
    """
    metrics = json.load(open(path))['metrics']
    if metric in metrics:
        return metrics[metric] * scale
    if metric.startswith('coco/bbox') and not any(k.startswith('coco/') for k in metrics):
        print(f'no detections above the score threshold ({path}): {metric} = 0', flush=True)
        return 0.0
    raise MetricMissing(f'{path} has no {metric!r} (it has {sorted(metrics)})')
