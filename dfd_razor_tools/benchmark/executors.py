"""Where the benchmark's runs execute: this machine (:class:`LocalExecutor`) or a Slurm cluster through submitit
(:class:`SlurmExecutor`). Both run :func:`perform` once per run, which trains, tests, reads the metric and the
diagnostics, and writes the run's record itself: a record exists as soon as its run has finished, wherever it ran,
and the tool resumes from the records on any machine that sees the same folders.

An executor has one method, ``map(specs, done)``: it runs every :class:`RunSpec` and calls ``done(spec, record)``
(from a worker thread) as each finishes.
"""
import glob
import json
import os
import os.path as osp
import queue
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from dfd_razor_tools.benchmark.records import cpu_model, write_record
from dfd_razor_tools.paths import repo_path
from dfd_razor_tools.run import RunFailed, read_metric, run_recipe

Done = Callable[['RunSpec', Dict], None]


class ExecutorError(ValueError):
    """An executor that cannot run here as asked (GPUs it does not have, no Slurm); the message says which."""


@dataclass
class RunSpec:
    """One run, everything a job on another machine needs (it is pickled into Slurm jobs).

    Attributes:
        name: The run's name (``dfd_x10_s1``).
        recipe: The recipe it trains (repository-relative or absolute).
        options: Its ``--cfg-options``.
        work_dir: Its work dir (logs, checkpoints).
        record: Where its record (JSON) goes.
        teacher_id: The teacher weights' sha256 ('' for the student alone).
        metric, scale, extra: The headline metric's key and factor to percent; further metrics (key -> factor).
        env: Environment added to the run's (``DFD_DATA_ROOT``).
        processes: Training processes (> 1: tools/dist_train.sh, one per GPU).
        checkpoint_every: A checkpoint every this many iterations (epochs), so that an interrupted run goes on
            from its last one (0: the recipe's own checkpoints); see :func:`dfd_razor_tools.run.train_recipe`.
    """
    name: str
    recipe: str
    options: List[str]
    work_dir: str
    record: str
    teacher_id: str = ''
    metric: str = 'metric'
    scale: float = 1.0
    extra: Dict[str, float] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    processes: int = 1
    checkpoint_every: int = 0


def perform(spec: RunSpec, env: Optional[Mapping[str, str]] = None) -> Dict:
    """Train and test one run, read its metric and diagnostics, write its record and return it.

    A failed step (or a missing metric) gives a record with ``status='failed'`` and the error, never an
    exception: the protocol goes on and the next invocation retries the run.

    Args:
        spec (RunSpec): The run.
        env (Mapping[str, str], optional): Added to this process's environment and ``spec.env`` (the
            executor's pinning: ``CUDA_VISIBLE_DEVICES``, ``OMP_NUM_THREADS``).
    """
    full_env = dict(os.environ, **spec.env, **dict(env or {}))
    start = time.time()
    record: Dict[str, Any] = dict(recipe=spec.recipe, log=repo_path(osp.join(spec.work_dir, 'train.log')))
    try:
        result = run_recipe(spec.recipe, spec.work_dir, spec.options, env=full_env, processes=spec.processes,
                            reuse_training=True, checkpoint_every=spec.checkpoint_every)
        metrics = result.metrics
        if result.resumed_from:  # its train_seconds are the part after that checkpoint
            record['resumed_from'] = result.resumed_from
        record.update(peak_rss_mib=result.peak_rss_mib, train_seconds=result.train_seconds, status='ok',
                      metric=read_metric(result.metrics_file, spec.metric, spec.scale),
                      extra={k: metrics.get(k, 0.0) * s for k, s in spec.extra.items()},
                      seconds=result.train_seconds + result.test_seconds, diagnostics=diagnostics(spec.work_dir))
    except RunFailed as e:
        record.update(log=repo_path(e.log), status='failed', error=str(e))
    except KeyError as e:  # MetricMissing: a --metric the evaluation does not report
        record.update(status='failed', error=str(e))
    # the CPU matters: runs pair only with their teacher's CPU
    record.update(host=socket.gethostname(), cpu=cpu_model(), started=start, finished=time.time(),
                  devices=full_env.get('CUDA_VISIBLE_DEVICES', ''), options=list(spec.options),
                  teacher_id=spec.teacher_id)
    write_record(spec.record, record)
    return record


def diagnostics(work_dir: str) -> Dict:
    """Distill terms (weighted, as logged), the distill/task loss ratio and DFD's HD fractions at the first,
    middle and last logged training iterations, and the median seconds per iteration, from the run's
    scalars.json files (one per training of the work dir, in the order they ran: where an interrupted training
    and the one that went on from its checkpoint, or trained again, both logged an iteration, the later counts)."""
    by_iter: Dict[int, Dict] = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):  # timestamped: in order
        by_iter.update((r['iter'], r) for r in map(json.loads, open(path)) if 'loss' in r and 'iter' in r)
    if not by_iter:
        return {}
    rows = [by_iter[i] for i in sorted(by_iter)]
    picks = {'first': rows[0], 'middle': rows[len(rows) // 2], 'last': rows[-1]}
    out: Dict[str, Any] = {}
    for where, r in picks.items():
        distill = {k[len('distill.'):]: v for k, v in r.items() if k.startswith('distill.loss')}
        task = {k: v for k, v in r.items() if 'loss' in k and k != 'loss' and not k.startswith('distill.')}
        out[where] = dict(iter=r['iter'], distill=distill, task=task,
                          hd_fraction={k[len('distill.'):]: v for k, v in r.items()
                                       if k.startswith('distill.stat') and k.endswith('hd_fraction')},
                          ratio=sum(distill.values()) / sum(task.values()) if task and sum(task.values()) else None)
    out['seconds_per_iter'] = statistics.median([r['time'] for r in rows[1:] if 'time' in r] or
                                                [r['time'] for r in rows if 'time' in r] or [float('nan')])
    return out


# ---- this machine -------------------------------------------------------------------------------------------------
def visible_gpus() -> List[str]:
    """The GPUs this process may use: ``$CUDA_VISIBLE_DEVICES``'s entries when it is set, else ``0 .. n-1`` for
    the n GPUs torch sees (none on a CPU machine)."""
    if 'CUDA_VISIBLE_DEVICES' in os.environ:
        return [d.strip() for d in os.environ['CUDA_VISIBLE_DEVICES'].split(',') if d.strip() and d.strip() != '-1']
    import torch
    return [str(i) for i in range(torch.cuda.device_count())]


def slot_environments(jobs: int, gpus_per_run: int, devices: Sequence[str],
                      threads_per_run: Optional[int] = None, cpus: Optional[int] = None) -> List[Dict[str, str]]:
    """The environment of each of ``jobs`` concurrent runs: with GPUs, ``CUDA_VISIBLE_DEVICES`` naming the run's
    own ``gpus_per_run`` of ``devices``; on CPU, ``OMP_NUM_THREADS`` (``threads_per_run``, default: the cores
    shared out, or ``$OMP_NUM_THREADS`` when it is set).

    Raises:
        ExecutorError: More GPUs asked for than there are, or a count below 1.
    """
    if jobs < 1 or gpus_per_run < 1:
        raise ExecutorError(f'--jobs {jobs}, --gpus-per-run {gpus_per_run}: both must be at least 1 on this machine')
    if devices:
        need = jobs * gpus_per_run
        if need > len(devices):
            raise ExecutorError(f'--jobs {jobs} x --gpus-per-run {gpus_per_run} needs {need} GPUs; {len(devices)} '
                             f'visible ({",".join(devices)})')
        return [dict(CUDA_VISIBLE_DEVICES=','.join(devices[i * gpus_per_run:(i + 1) * gpus_per_run]))
                for i in range(jobs)]
    if threads_per_run is None:
        threads = os.environ.get('OMP_NUM_THREADS') or str(max(1, (cpus or os.cpu_count() or 1) // jobs))
    else:
        threads = str(threads_per_run)
    return [dict(OMP_NUM_THREADS=threads) for _ in range(jobs)]


class LocalExecutor:
    """``jobs`` runs at a time on this machine, each pinned to its own GPU(s) or given its share of the cores.

    Args:
        jobs (int): Runs at a time.
        gpus_per_run (int): GPUs of each run (> 1: tools/dist_train.sh with one process per GPU); on a machine
            without GPUs, the number of (gloo) training processes.
        threads_per_run (int, optional): ``OMP_NUM_THREADS`` of each run on CPU.
        devices (Sequence[str], optional): The GPUs to share out (default: :func:`visible_gpus`).
        perform (Callable): Runs one run (default :func:`perform`; tests pass a fake).
    """

    def __init__(self, jobs: int = 1, gpus_per_run: int = 1, threads_per_run: Optional[int] = None,
                 devices: Optional[Sequence[str]] = None, perform: Callable[..., Dict] = perform) -> None:
        self.devices = list(visible_gpus() if devices is None else devices)
        self.slots = slot_environments(jobs, gpus_per_run, self.devices, threads_per_run)
        self.jobs, self.gpus_per_run, self.perform = jobs, gpus_per_run, perform

    def describe(self) -> str:
        where = (f'GPUs {", ".join(s["CUDA_VISIBLE_DEVICES"] for s in self.slots)}' if self.devices else
                 f'OMP_NUM_THREADS={self.slots[0]["OMP_NUM_THREADS"]} each, {os.cpu_count()} CPU cores')
        return f'local executor, {self.jobs} run(s) at a time ({where})'

    def map(self, specs: Sequence[RunSpec], done: Done) -> None:
        free: 'queue.Queue[Dict[str, str]]' = queue.Queue()
        for slot in self.slots:
            free.put(slot)

        def one(spec: RunSpec) -> None:
            slot = free.get()
            try:
                record = self.perform(spec, slot)
            finally:
                free.put(slot)
            done(spec, record)

        with ThreadPoolExecutor(len(self.slots)) as pool:
            list(pool.map(one, specs))


# ---- a Slurm cluster, through submitit ----------------------------------------------------------------------------
#: Slurm job states in which a job submitted by an earlier invocation is still going to finish.
ACTIVE_STATES = ('PENDING', 'RUNNING', 'REQUEUED', 'CONFIGURING', 'COMPLETING', 'RESIZING', 'SUSPENDED')


class SlurmExecutor:
    """One Slurm job per run, submitted and awaited through submitit; the job runs :func:`perform`, which writes
    the run's record.

    A run's job id is kept in ``<run work dir>/slurm_job.json``: an invocation started while that job is still
    pending or running (after the previous one was stopped, or from another machine that sees the work dir)
    waits for it instead of submitting the run again.

    Args:
        folder (str): submitit's folder (job scripts, pickles, logs), on a file system the nodes share.
        partition (str, optional): ``--partition``.
        gpus_per_run (int): ``--gpus-per-node`` of each job (0: CPU jobs); > 1 trains with tools/dist_train.sh.
        cpus_per_run (int): ``--cpus-per-task``.
        time_min (int): The time limit of each job, minutes.
        jobs (int, optional): Jobs in flight at once (default: every run of a protocol step).
        additional (Mapping[str, str], optional): More sbatch options (``account``, ``qos``, ``constraint``).
        cluster (str): 'slurm'; 'local' or 'debug' run the jobs through submitit's local executors (tests, or
            trying the path on a machine without Slurm).
        perform (Callable): What a job runs (default :func:`perform`).
    """

    def __init__(self, folder: str, partition: Optional[str] = None, gpus_per_run: int = 1, cpus_per_run: int = 4,
                 time_min: int = 120, jobs: Optional[int] = None, additional: Optional[Mapping[str, str]] = None,
                 cluster: str = 'slurm', perform: Callable[..., Dict] = perform) -> None:
        if gpus_per_run < 0 or cpus_per_run < 1 or time_min < 1:
            raise ExecutorError(f'--gpus-per-run {gpus_per_run}, --cpus-per-run {cpus_per_run}, --time-min {time_min}: '
                             'GPUs must be >= 0, CPUs and minutes >= 1')
        self.folder, self.partition, self.gpus_per_run = folder, partition, gpus_per_run
        self.cpus_per_run, self.time_min, self.jobs = cpus_per_run, time_min, jobs
        self.additional, self.cluster, self.perform = dict(additional or {}), cluster, perform
        self._executor: Any = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return (f'slurm executor ({self.cluster}): one job per run, partition {self.partition or "default"}, '
                f'{self.gpus_per_run} GPU(s), {self.cpus_per_run} CPUs, {self.time_min} min each')

    def executor(self) -> Any:
        """The submitit executor, its parameters set."""
        if self._executor is None:
            import submitit
            try:
                executor = submitit.AutoExecutor(folder=self.folder, cluster=self.cluster)
            except RuntimeError as e:  # submitit: 'Could not detect "srun"'
                raise ExecutorError(f'--executor slurm: {e} (no Slurm on this machine; --slurm-cluster local runs '
                                    'the jobs here through submitit)') from e
            params: Dict[str, Any] = dict(timeout_min=self.time_min, gpus_per_node=self.gpus_per_run,
                                          cpus_per_task=self.cpus_per_run, tasks_per_node=1, nodes=1)
            if self.cluster == 'slurm':
                if self.partition:
                    params['slurm_partition'] = self.partition
                if self.additional:
                    params['slurm_additional_parameters'] = dict(self.additional)
            executor.update_parameters(**params)
            self._executor = executor
        return self._executor

    def job_environment(self) -> Dict[str, str]:
        """What a job adds to its environment: on a CPU job, one thread per CPU it was given (Slurm sets
        ``CUDA_VISIBLE_DEVICES`` for a GPU job)."""
        return {} if self.gpus_per_run else dict(OMP_NUM_THREADS=str(self.cpus_per_run))

    def submit(self, spec: RunSpec) -> Any:
        """Submit one run's job; keep its id beside the run."""
        with self._lock:  # submitit's executors are not thread-safe
            executor = self.executor()
            executor.update_parameters(name=f'bench_{spec.name}')
            job = executor.submit(self.perform, spec, self.job_environment())
        os.makedirs(spec.work_dir, exist_ok=True)
        with open(osp.join(spec.work_dir, 'slurm_job.json'), 'w') as f:
            json.dump(dict(job_id=str(job.job_id), options=spec.options, cluster=self.cluster,
                           folder=osp.abspath(self.folder)), f)
        return job

    def running(self, spec: RunSpec) -> Any:
        """The Slurm job an earlier invocation submitted for this very run, when it is still pending or running."""
        path = osp.join(spec.work_dir, 'slurm_job.json')
        if self.cluster != 'slurm' or not osp.isfile(path):
            return None
        known = json.load(open(path))
        if known.get('options') != spec.options or known.get('cluster') != 'slurm':
            return None
        import submitit
        job = submitit.SlurmJob(folder=known['folder'], job_id=known['job_id'])
        return job if job.state in ACTIVE_STATES else None

    def map(self, specs: Sequence[RunSpec], done: Done) -> None:
        def one(spec: RunSpec) -> None:
            job = self.running(spec)
            if job is not None:
                print(f'{spec.name}: waiting for Slurm job {job.job_id}, submitted earlier', flush=True)
            else:
                job = self.submit(spec)
                print(f'{spec.name}: Slurm job {job.job_id}', flush=True)
            try:
                record = job.result()
            except Exception as e:  # the job itself failed (time limit, node failure): perform could not record it
                record = dict(recipe=spec.recipe, status='failed', log=str(job.paths.stderr),
                              error=f'Slurm job {job.job_id}: {type(e).__name__}: {str(e).strip()[-500:]}')
            done(spec, record)

        if not specs:
            return
        with ThreadPoolExecutor(self.jobs or len(specs)) as pool:
            list(pool.map(one, specs))
