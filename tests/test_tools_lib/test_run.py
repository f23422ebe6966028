"""dfd_razor_tools.run: a tool told to stop stops the steps it started, their children too, and records nothing."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from dfd_razor_tools import run
from dfd_razor_tools.benchmark import executors

# A step that starts a child of its own (as tools/dist_train.sh does), writes both pids and waits.
STEP = '''
import subprocess, sys, time
child = subprocess.Popen(['sleep', '120'])
open(sys.argv[1] + '.tmp', 'w').write(f'{__import__("os").getpid()} {child.pid}')
__import__('os').rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(120)
'''


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped has stopped running)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def all_dead(pids, seconds=10.0) -> bool:
    """Whether every pid has stopped running within ``seconds`` (a SIGTERM is delivered asynchronously)."""
    end = time.time() + seconds
    while any(alive(p) for p in pids) and time.time() < end:
        time.sleep(0.05)
    return not any(alive(p) for p in pids)


def wait_for(path, seconds=30.0):
    end = time.time() + seconds
    while not os.path.exists(path):
        assert time.time() < end, f'{path} never appeared'
        time.sleep(0.05)
    return [int(p) for p in open(path).read().split()]


@pytest.fixture
def fresh_stop(monkeypatch):
    monkeypatch.setattr(run, '_stopping', threading.Event())  # stop_children sets it for the whole process


def test_stop_children_stops_the_running_steps_and_theirs(tmp_path, fresh_stop):
    pids_file = str(tmp_path / 'pids')
    raised = []

    def step():
        try:
            run.run_logged('train', [sys.executable, '-c', STEP, pids_file], str(tmp_path / 'train.log'),
                           dict(os.environ))
        except BaseException as e:  # noqa: BLE001  (what it raises is the assertion)
            raised.append(e)

    thread = threading.Thread(target=step)
    thread.start()
    pids = wait_for(pids_file)
    assert all(alive(p) for p in pids)
    run.stop_children()
    thread.join(30)
    assert not thread.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], run.RunStopped) and not isinstance(raised[0], run.RunFailed)
    assert all_dead(pids), 'a step or its child survived stop_children'
    # after the stop, no step starts at all
    marker = tmp_path / 'started'
    with pytest.raises(run.RunStopped, match='test stopped'):
        run.run_logged('test', [sys.executable, '-c', f'open({str(marker)!r}, "w")'], str(tmp_path / 't.log'),
                       dict(os.environ))
    assert not marker.exists()


def test_a_stopped_run_leaves_no_record(tmp_path, monkeypatch, fresh_stop):
    """perform records a failed run (the next invocation retries it), but a stopped one is neither."""

    def stopped(*args, **kwargs):
        raise run.RunStopped('train')

    monkeypatch.setattr(executors, 'run_recipe', stopped)
    spec = executors.RunSpec(name='dfd_x1_s1', recipe='r.py', options=[], work_dir=str(tmp_path / 'w'),
                             record=str(tmp_path / 'runs' / 'dfd_x1_s1.json'), teacher_id='', metric='m',
                             scale=1.0, extra={}, env={}, processes=1)
    with pytest.raises(run.RunStopped):
        executors.perform(spec)
    assert not (tmp_path / 'runs' / 'dfd_x1_s1.json').exists()


def test_a_record_names_the_cpu_that_made_it(tmp_path, monkeypatch):
    """A seeded run gives other numbers on another CPU, so every record says which CPU made it, failed ones too."""

    def failed(*args, **kwargs):
        raise run.RunFailed('train', 1, str(tmp_path / 'train.log'))

    monkeypatch.setattr(executors, 'run_recipe', failed)
    spec = executors.RunSpec(name='dfd_x1_s1', recipe='r.py', options=[], work_dir=str(tmp_path / 'w'),
                             record=str(tmp_path / 'runs' / 'dfd_x1_s1.json'), teacher_id='', metric='m',
                             scale=1.0, extra={}, env={}, processes=1)
    executors.perform(spec)
    record = json.load(open(tmp_path / 'runs' / 'dfd_x1_s1.json'))
    names = [line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo') if line.startswith('model name')]
    assert record['status'] == 'failed' and record['cpu'].startswith(names[0] + ' (family ')


def test_sigterm_to_a_tool_stops_its_steps(tmp_path):
    """What a user's ``kill <pid>`` of tools/benchmark.py does: the steps it started die with it."""
    pids_file = str(tmp_path / 'pids')
    tool = f'''
import os, sys
from dfd_razor_tools import run
run.stop_children_on_signals()
run.run_logged('train', [sys.executable, '-c', {STEP!r}, {pids_file!r}], {str(tmp_path / "train.log")!r},
               dict(os.environ))
'''
    proc = subprocess.Popen([sys.executable, '-c', tool])
    try:
        pids = wait_for(pids_file)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 128 + signal.SIGTERM
        assert all_dead(pids), 'the tool exited and left its step training'
    finally:
        proc.kill()


class FakeTraining:
    """Stands in for run_logged: a 'training' writes iter_<k>.pth every ``checkpoint.interval`` iterations up to
    ``train_cfg.max_iters`` (from the start, or from the checkpoint ``last_checkpoint`` names with ``--resume``)
    and is stopped after writing ``stop_after``; a 'test' writes its metrics file."""

    def __init__(self, stop_after=None):
        self.commands, self.stop_after = [], stop_after

    def __call__(self, step, command, log, env):
        self.commands.append(command)
        if step == 'test':
            out = command[command.index('--out-metrics') + 1]
            json.dump({'metrics': {'m': 0.5}}, open(out, 'w'))
            return 1.0
        work = command[command.index('--work-dir') + 1]
        opts = dict(o.split('=', 1) for o in command[command.index('--cfg-options') + 1:])
        every, last = int(opts.get('default_hooks.checkpoint.interval', 10**6)), int(opts['train_cfg.max_iters'])
        start = 0
        if '--resume' in command:
            start = int(open(os.path.join(work, 'last_checkpoint')).read().strip().rsplit('_', 1)[1][:-4])
        for it in range(start + 1, last + 1):
            if it % every == 0 or it == last:
                path = os.path.join(work, f'iter_{it}.pth')
                open(path, 'w').write(f'{start}')  # where the training that saved it started
                open(os.path.join(work, 'last_checkpoint'), 'w').write(path)
                if it == self.stop_after:
                    self.stop_after = None
                    raise run.RunStopped('train')
        return 100.0


def test_an_interrupted_training_goes_on_from_its_last_checkpoint(tmp_path, monkeypatch):
    fake = FakeTraining(stop_after=4)
    monkeypatch.setattr(run, 'run_logged', fake)
    work, opts = str(tmp_path / 'w'), ['train_cfg.max_iters=6', 'randomness.seed=1']
    with pytest.raises(run.RunStopped):
        run.train_recipe('r.py', work, opts, reuse_training=True, checkpoint_every=2)
    assert fake.commands[0][-3:] == opts[1:] + ['default_hooks.checkpoint.interval=2',
                                                 'default_hooks.checkpoint.max_keep_ckpts=1']
    assert '--resume' not in fake.commands[0] and not os.path.exists(os.path.join(work, 'trained_with.json'))
    # the next invocation: the same recipe and options go on from iter_4, saved by the interrupted one
    ckpt, seconds, rss, trained, resumed = run.train_recipe('r.py', work, opts, reuse_training=True,
                                                            checkpoint_every=2)
    assert '--resume' in fake.commands[1] and trained and resumed == 'iter_4.pth'
    assert ckpt == os.path.join(work, 'iter_6.pth') and open(ckpt).read() == '4' and rss == 100.0
    # finished: reused, and it still says where it went on from
    assert run.train_recipe('r.py', work, opts, reuse_training=True)[3:] == (False, 'iter_4.pth')
    assert len(fake.commands) == 2
    # other options in the same work dir: trained from the start, the other training's markers no longer count
    fake.stop_after = 2
    other = ['train_cfg.max_iters=6', 'randomness.seed=2']
    with pytest.raises(run.RunStopped):
        run.train_recipe('r.py', work, other, reuse_training=True, checkpoint_every=2)
    assert '--resume' not in fake.commands[2] and not os.path.exists(os.path.join(work, 'trained_with.json'))
    assert run.train_recipe('r.py', work, opts, reuse_training=True, checkpoint_every=2)[3:] == (True, '')
    assert '--resume' not in fake.commands[3]  # the seed-1 training's checkpoint is the seed-2 one's now
    # without reuse_training nothing resumes, and 0 adds no checkpoint option
    fake.stop_after = 2
    with pytest.raises(run.RunStopped):
        run.train_recipe('r.py', work, other, reuse_training=True, checkpoint_every=2)
    run.train_recipe('r.py', work, other, checkpoint_every=0)
    assert '--resume' not in fake.commands[5] and 'default_hooks.checkpoint.interval=2' not in fake.commands[5]
    with pytest.raises(ValueError, match='checkpoint interval -1'):
        run.checkpoint_options(-1)


def test_the_record_of_a_resumed_run_says_so(tmp_path, monkeypatch, fresh_stop):
    monkeypatch.setattr(run, 'run_logged', FakeTraining(stop_after=2))
    spec = executors.RunSpec(name='dfd_x1_s1', recipe='r.py', options=['train_cfg.max_iters=3'],
                             work_dir=str(tmp_path / 'w'), record=str(tmp_path / 'runs' / 'dfd_x1_s1.json'),
                             metric='m', scale=100.0, checkpoint_every=2)
    with pytest.raises(run.RunStopped):
        executors.perform(spec)
    record = executors.perform(spec)
    assert record['status'] == 'ok' and record['metric'] == 50.0 and record['resumed_from'] == 'iter_2.pth'
    assert json.load(open(spec.record))['resumed_from'] == 'iter_2.pth'
    spec.name, spec.work_dir, spec.record = 'dfd_x1_s2', str(tmp_path / 'w2'), str(tmp_path / 'runs' / 's2.json')
    assert 'resumed_from' not in executors.perform(spec)  # trained in one go
