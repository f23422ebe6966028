"""tools/train.py, tools/test.py, tools/dist_train.sh and mim on the CPU demo recipe with the real tiny_coco data."""
import glob
import json
import os
import os.path as osp
import threading
import time

import pytest
import torch

from tools_helpers import DATA, DEMO, ROOT, SHORT, run


def losses_by_iter(work_dir):
    """{iter: {key: value}} from mmengine's scalars.json of every run in the work dir."""
    out = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        for line in open(path):
            rec = json.loads(line)
            if 'loss' in rec:
                out[rec['step']] = {k: v for k, v in rec.items() if 'loss' in k}
    return out


def state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def free_port():
    """A TCP port nothing listens on now (the OS picks it), so that parallel test runs never collide."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def dist(script, *args):
    """tools/dist_train.sh or tools/dist_test.sh itself, as a user runs it, with a free PORT and this Python."""
    import subprocess
    import sys
    env = dict(os.environ, DFD_DATA_ROOT=DATA, OMP_NUM_THREADS='1', PORT=str(free_port()), PYTHON=sys.executable)
    proc = subprocess.run(['bash', f'tools/{script}', *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f'{script} {args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc


def test_distributed_two_process_train_resume_and_test(tmp_path, teacher_ckpt):
    work = str(tmp_path / 'dist')
    opts = SHORT + [f'model.teacher_ckpt={teacher_ckpt}']
    dist('dist_train.sh', DEMO, '2', '--work-dir', work, '--cfg-options', *opts)
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    ckpt = state(osp.join(work, 'iter_4.pth'))
    assert ckpt['meta']['iter'] == 4
    # resumed from iteration 4, training continues to 6 in 2 processes again
    dist('dist_train.sh', DEMO, '2', '--work-dir', work, '--resume', '--cfg-options', *opts, 'train_cfg.max_iters=6')
    assert state(osp.join(work, 'iter_6.pth'))['meta']['iter'] == 6
    assert set(losses_by_iter(work)) >= {1, 2, 3, 4, 5, 6}
    # evaluation of the distilled student, 2 processes
    out = str(tmp_path / 'metrics.json')
    dist('dist_test.sh', DEMO, osp.join(work, 'iter_6.pth'), '2', '--work-dir', work, '--out-metrics', out)
    metrics = json.load(open(out))
    assert metrics['checkpoint'].endswith('iter_6.pth')


def test_resume_is_exact(tmp_path, teacher_ckpt):
    opts = SHORT + [f'model.teacher_ckpt={teacher_ckpt}']
    straight, halves = str(tmp_path / 'straight'), str(tmp_path / 'halves')
    proc = run(['tools/train.py', DEMO, '--work-dir', straight, '--cfg-options'] + opts)
    progress = [ln for ln in (proc.stdout + proc.stderr).splitlines() if 'Iter(train) [4/4]' in ln]
    assert progress and 'eta:' in progress[0]  # mmengine's progress and ETA reach the user through our tool
    run(['tools/train.py', DEMO, '--work-dir', halves, '--cfg-options'] + opts + ['train_cfg.max_iters=2'])
    run(['tools/train.py', DEMO, '--work-dir', halves, '--resume', '--cfg-options'] + opts)
    a, b = losses_by_iter(straight), losses_by_iter(halves)
    assert sorted(a) == sorted(b) == [1, 2, 3, 4]
    for it in (3, 4):
        for key in a[it]:
            assert abs(a[it][key] - b[it][key]) <= 1e-5 * max(1.0, abs(a[it][key])), (it, key, a[it][key], b[it][key])
    sa, sb = state(osp.join(straight, 'iter_4.pth')), state(osp.join(halves, 'iter_4.pth'))
    connectors = [k for k in sa['state_dict'] if k.startswith('distiller.connectors.')]
    assert connectors
    for k, v in sa['state_dict'].items():
        assert torch.allclose(v.float(), sb['state_dict'][k].float(), atol=1e-6), k
    for (ka, va), (kb, vb) in zip(sa['optimizer']['state'].items(), sb['optimizer']['state'].items()):
        assert torch.allclose(va['momentum_buffer'], vb['momentum_buffer'], atol=1e-6), ka


def test_mim_train_mmrazor_runs_a_recipe(tmp_path, teacher_ckpt):
    work = str(tmp_path / 'mim')
    mim = osp.join(osp.dirname(__import__('sys').executable), 'mim')
    import os
    import subprocess
    proc = subprocess.run([mim, 'train', 'mmrazor', DEMO, '--work-dir', work, '--cfg-options'] + SHORT +
                          ['train_cfg.max_iters=2', f'model.teacher_ckpt={teacher_ckpt}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, DFD_DATA_ROOT=DATA))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'distill.loss_dfd_fpn0_hd' in open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    proc = subprocess.run([mim, 'test', 'mmrazor', DEMO, '--checkpoint', osp.join(work, 'iter_2.pth'),
                           '--work-dir', work, '--cfg-options', f'model.teacher_ckpt={teacher_ckpt}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, DFD_DATA_ROOT=DATA))
    assert proc.returncode == 0 and 'Iter(test) [13/13]' in proc.stdout + proc.stderr, proc.stderr[-3000:]


def test_bad_inputs_give_one_line_errors(tmp_path, teacher_ckpt):
    proc = run(['tools/train.py', 'recipes/cpu_demo/no_such_recipe.py'], check=False)
    assert proc.returncode == 2
    assert 'config file not found: recipes/cpu_demo/no_such_recipe.py' in proc.stderr + proc.stdout
    proc = run(['tools/train.py', DEMO, '--cfg-options', 'train_dataloader.dataset.data_root=/nonexistent/coco/',
                f'model.teacher_ckpt={teacher_ckpt}'], check=False)
    assert proc.returncode == 2
    assert 'train_dataloader.dataset.data_root: /nonexistent/coco/ does not exist' in proc.stderr + proc.stdout
    # a checkpoint of another architecture: the teacher's own checkpoint given as the distillation checkpoint
    proc = run(['tools/test.py', DEMO, teacher_ckpt, '--work-dir', str(tmp_path)], check=False)
    assert proc.returncode == 2
    line = [ln for ln in (proc.stderr + proc.stdout).splitlines() if 'does not fit' in ln]
    assert line and teacher_ckpt in line[0] and 'architecture.backbone.conv1.weight' in line[0]
    proc = run(['tools/test.py', DEMO, str(tmp_path / 'missing.pth')], check=False)
    assert proc.returncode == 2 and 'checkpoint file not found' in proc.stderr + proc.stdout


def test_segmentation_recipe_through_the_tools_and_teacher_evaluation(tmp_path):
    """The same tools on another task (mmseg scope from the config): train, evaluate the student (mIoU), and with
    --teacher the teacher, on CamVid; the torch 2 spelling --local-rank is accepted."""
    seg = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_head_pspnet-r18_pspnet-r18half_800i_camvid.py')
    teacher_recipe = osp.join(ROOT, 'recipes', 'cpu_demo', 'teacher_pspnet-r18_800i_camvid.py')
    short = ['train_cfg.max_iters=2', 'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=2',
             'train_dataloader.batch_size=2', 'val_dataloader.dataset.indices=4']
    teacher_dir = str(tmp_path / 'teacher')
    run(['tools/train.py', teacher_recipe, '--work-dir', teacher_dir, '--local-rank=0', '--cfg-options'] + short)
    teacher = osp.join(teacher_dir, 'iter_2.pth')
    work = str(tmp_path / 'dfd')
    run(['tools/train.py', seg, '--work-dir', work, '--cfg-options'] + short + [f'model.teacher_ckpt={teacher}'])
    for args, name in (([osp.join(work, 'iter_2.pth')], 'student.json'), (['--teacher'], 'teacher.json')):
        out = str(tmp_path / name)
        run(['tools/test.py', seg] + args + ['--work-dir', work, '--out-metrics', out, '--cfg-options',
                                            f'model.teacher_ckpt={teacher}', 'test_dataloader.dataset.indices=4'])
        metrics = json.load(open(out))['metrics']
        assert 0 <= metrics['mIoU'] <= 100 and 'aAcc' in metrics
    assert json.load(open(str(tmp_path / 'teacher.json')))['teacher'] is True


def test_a_random_teacher_run_saves_a_config_that_tools_test_loads_with_data(tmp_path):
    """Issue 41: the config a --random-teacher run saves names RandomTeacherHook, which loads in mmseg's scope (its
    module is in the saved config's custom_imports), and tools/test.py takes --data and --offline as train.py does."""
    seg = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py')
    work = str(tmp_path / 'work')
    run(['tools/train.py', seg, '--random-teacher', '--data', 'camvid', '--max-iters', '1', '--no-validate',
         '--work-dir', work, '--cfg-options', 'train_dataloader.batch_size=2'])
    saved = osp.join(work, osp.basename(seg))
    assert "'dfd_razor_tools.hooks'" in open(saved).read() and 'RandomTeacherHook' in open(saved).read()
    out = str(tmp_path / 'metrics.json')
    proc = run(['tools/test.py', saved, osp.join(work, 'iter_1.pth'), '--data', 'camvid', '--offline',
                '--work-dir', str(tmp_path / 'test'), '--out-metrics', out, '--cfg-options',
                'test_dataloader.dataset.indices=4'])
    assert '--data camvid: ' in proc.stdout
    assert 0 <= json.load(open(out))['metrics']['mIoU'] <= 100


def test_teacher_val_reports_teacher_metrics_beside_the_students(tmp_path):
    from testing_helpers import load_recipe, make_teacher_checkpoint
    seg = osp.join(ROOT, 'recipes', 'cpu_demo', 'dfd_head_pspnet-r18_pspnet-r18q_200i_camvid.py')
    teacher = make_teacher_checkpoint(load_recipe(seg), str(tmp_path / 'teacher.pth'))
    work = str(tmp_path / 'work')
    run(['tools/train.py', seg, '--teacher-val', '--work-dir', work, '--cfg-options', f'model.teacher_ckpt={teacher}',
         'train_cfg.max_iters=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=2'])
    rows = [json.loads(ln) for path in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')) for ln in open(path)]
    val = [r for r in rows if 'mIoU' in r]
    assert val and 'teacher.mIoU' in val[-1] and 'teacher.aAcc' in val[-1]
    proc = run(['tools/train.py', osp.join(ROOT, 'recipes', 'cpu_demo', 'student_pspnet-r18q_200i_camvid.py'),
                '--teacher-val', '--work-dir', str(tmp_path / 'x')], check=False)
    out = proc.stderr + proc.stdout
    assert proc.returncode == 2 and '--teacher-val' in out and 'has no teacher' in out


@pytest.mark.slow
def test_a_benchmark_run_stopped_mid_training_goes_on_from_its_checkpoint(tmp_path, teacher_ckpt, monkeypatch):
    """What a stopped benchmark (or a lost session) leaves behind: the run's work dir with the last of its periodic
    checkpoints. The next invocation's run goes on from it and ends with the weights and metric of a run never
    stopped."""
    from dfd_razor_tools.benchmark import executors
    from dfd_razor_tools import run as runs
    monkeypatch.setattr(runs, '_stopping', threading.Event())
    opts = [o for o in SHORT if 'checkpoint' not in o] + ['train_cfg.max_iters=8', f'model.teacher_ckpt={teacher_ckpt}']

    def spec(name):
        return executors.RunSpec(name=name, recipe=DEMO, options=opts, work_dir=str(tmp_path / name),
                                 record=str(tmp_path / 'runs' / f'{name}.json'), metric='coco/bbox_mAP', scale=100.0,
                                 env={'DFD_DATA_ROOT': DATA, 'OMP_NUM_THREADS': '1'}, checkpoint_every=2)

    straight = executors.perform(spec('straight'))
    assert straight['status'] == 'ok' and 'resumed_from' not in straight
    stopped, raised = spec('stopped'), []

    def first_try():
        try:
            executors.perform(stopped)
        except BaseException as e:  # noqa: BLE001  (what it raises is the assertion)
            raised.append(e)

    thread = threading.Thread(target=first_try)
    thread.start()
    end = time.time() + 300
    while not runs.last_checkpoint(stopped.work_dir) and thread.is_alive() and time.time() < end:
        time.sleep(0.05)
    runs.stop_children()  # as SIGTERM to tools/benchmark.py does
    thread.join(60)
    assert len(raised) == 1 and isinstance(raised[0], runs.RunStopped), raised
    cut = osp.basename(runs.last_checkpoint(stopped.work_dir))
    assert cut in ('iter_2.pth', 'iter_4.pth', 'iter_6.pth') and not osp.exists(stopped.record)
    monkeypatch.setattr(runs, '_stopping', threading.Event())  # the next invocation
    again = executors.perform(stopped)
    assert again['status'] == 'ok' and again['resumed_from'] == cut
    assert again['metric'] == straight['metric']
    sa, sb = state(str(tmp_path / 'straight' / 'iter_8.pth')), state(osp.join(stopped.work_dir, 'iter_8.pth'))
    for k, v in sa['state_dict'].items():
        assert torch.allclose(v.float(), sb['state_dict'][k].float(), atol=1e-6), k
    assert sorted(p for p in os.listdir(stopped.work_dir) if p.endswith('.pth')) == ['iter_8.pth']  # the latest only
