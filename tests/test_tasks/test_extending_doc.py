"""docs/extending.md is true: its worked example runs as written in a folder outside the repository (the user's own
pair and recipes, the doctor, training), its listings of repository files are those files, its snippet prints what
it shows, and its commands name files that exist. (Its in-repository recipe trains in
tests/test_recipes/test_recipe_smoke.py, like every recipe.)"""
import contextlib
import io
import os.path as osp
import re

import pytest

from testing_helpers import discover

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DOC = osp.join(ROOT, 'docs', 'extending.md')
FILE_TAG = '# file: '


def blocks():
    """(language, text) of every fenced block, in order."""
    return re.findall(r'```(\w+)\n(.*?)```', open(DOC).read(), flags=re.S)


USER = 'my_recipes/'


def listings():
    """(path, body) of every file listing."""
    return [tuple(text[len(FILE_TAG):].split('\n', 1)) for lang, text in blocks()
            if lang == 'python' and text.startswith(FILE_TAG)]


def test_listings_are_the_repository_files():
    listed = [FILE_TAG + p + '\n' + b for p, b in listings() if not p.startswith(USER)]
    assert len(listed) == 2
    for text in listed:
        path, body = text[len(FILE_TAG):].split('\n', 1)
        assert body == open(osp.join(ROOT, path)).read(), f'docs/extending.md shows an outdated {path}'
    recipe = 'recipes/extending/dfd_neck_rtmdet-ins-s_rtmdet-ins-tiny_300e_coco.py'
    assert osp.join(ROOT, recipe) in discover(osp.join(ROOT, 'recipes')), 'the smoke test would not train it'


def test_snippet_prints_what_the_guide_shows():
    found = blocks()
    i = next(i for i, (lang, text) in enumerate(found) if lang == 'python' and not text.startswith(FILE_TAG))
    assert found[i + 1][0] == 'text', 'the snippet must be followed by its output'
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(found[i][1], DOC, 'exec'), {'__name__': '__doc_snippet__'})
    assert out.getvalue() == found[i + 1][1]


@pytest.mark.parametrize('path', sorted({p for lang, text in blocks() if lang == 'bash'
                                         for p in re.findall(r'(?<![\w/])(?:recipes|tests|tools|configs)/\S+', text)}))
def test_commands_name_existing_files(path):
    assert osp.isfile(osp.join(ROOT, path)), path


def test_guide_names_existing_files():
    text = open(DOC).read()
    for path in re.findall(r'`((?:recipes|configs|tests|tools|dfd_razor)/[\w./-]+\.(?:py|md|yml))`', text):
        assert osp.isfile(osp.join(ROOT, path)), f'docs/extending.md names {path}, which does not exist'


@pytest.mark.slow
def test_worked_example_runs_as_written_outside_the_repository(tmp_path):
    """Section 2's files in a folder of their own; section 3's doctor command; section 5's commands, with a
    2-iteration schedule and the teacher this run trained."""
    import subprocess
    import sys
    user = [(p, b) for p, b in listings() if p.startswith(USER)]
    assert len(user) == 6  # the worked example's three, section 6's pair and recipe (test_offline_extension.py),
    # section 8's moved tap (test_the_moved_tap_recipe_passes_the_doctor)
    for path, body in user:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    commands = [c for lang, text in blocks() if lang == 'bash' for c in text.strip().splitlines() if USER in c]
    assert len(commands) == 7  # the worked example's four, section 6's two (test_offline_extension.py), section 8's

    def run(command, *extra):
        args = command.replace(USER, str(tmp_path / USER) + '/').split()
        assert args[0] == 'python'
        env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
        return subprocess.run([sys.executable] + args[1:] + list(extra), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900)

    doctor = run(commands[0])
    assert doctor.returncode == 0, doctor.stdout[-3000:] + doctor.stderr[-3000:]
    shown = next(text for lang, text in blocks() if lang == 'text' and 'loss_dfd_head0_hd' in text)
    assert shown.splitlines()[0] in doctor.stdout  # the table's header, as the guide shows it
    for line in shown.splitlines()[1:]:
        term, gradient = line.split()[0], line.split('  ')[-1]
        assert any(row.startswith(term) and row.endswith(gradient) for row in doctor.stdout.splitlines()), line
    assert 'suggested weights' in doctor.stdout and 'warning: the teacher is random' in doctor.stdout

    teacher_dir = tmp_path / 'work_dirs' / 'my_teacher'
    short = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
             'train_dataloader.batch_size=2']
    train = run(commands[1].replace('work_dirs/my_teacher', str(teacher_dir)), '--cfg-options', *short)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    teacher = str(teacher_dir / 'iter_2.pth')
    doctor = run(commands[2], '--cfg-options', f'model.teacher_ckpt={teacher}')
    assert doctor.returncode == 0 and f'tensors from {teacher}' in doctor.stdout, doctor.stdout[-3000:]
    student = run(commands[3], '--work-dir', str(tmp_path / 'student'), '--cfg-options',
                  f'model.teacher_ckpt={teacher}', *short)
    assert student.returncode == 0, student.stdout[-3000:] + student.stderr[-3000:]
    assert (tmp_path / 'student' / 'iter_2.pth').is_file()


def test_the_moved_tap_recipe_passes_the_doctor(tmp_path):
    """Section 8: the worked example's files, its DFD recipe with the tap moved to the backbone's last stage, and the
    doctor command as the guide writes it: no problem, and the tap pair it prints is the backbone's output 3 on both
    models, at the strides and widths section 8 names (128 vs 512 channels, the same size)."""
    import subprocess
    import sys
    for path, body in listings():
        if path.startswith(USER):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(body)
    command = next(c for lang, text in blocks() if lang == 'bash' for c in text.strip().splitlines()
                   if 'dfd_backbone_deeplabv3' in c)
    args = command.replace(USER, str(tmp_path / USER) + '/').split()
    env = dict(__import__('os').environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable] + args[1:], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    pair = next(line for line in proc.stdout.splitlines() if line.strip().startswith('loss_dfd_backbone0: student'))
    shapes = re.findall(r'backbone\[3\] \((\d+), (\d+), (\d+), (\d+)\)', pair)
    assert len(shapes) == 2, pair
    (_, s_channels, *s_size), (_, t_channels, *t_size) = shapes
    assert (s_channels, t_channels) == ('128', '512') and s_size == t_size, pair
    assert 'the student taps' not in proc.stdout, proc.stdout[-3000:]
