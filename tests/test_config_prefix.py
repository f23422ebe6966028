"""dfd_razor.config_prefix: ``dfd_razor::`` bases from a checkout, from a wheel, and a package with no repository.

Like tests/test_compat.py, anything process-global runs in a fresh interpreter (modes ``none``: nothing of
dfd_razor imported; ``alone``: only ``dfd_razor/config_prefix.py`` loaded and installed; ``package``: ``import
dfd_razor``), reporting through one ``RESULT <json>`` line. The wheel test builds the package as pip does, installs
the wheel into a target folder and imports it from there with the checkout removed from ``sys.path``.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from dfd_razor import compat, config_prefix
from testing_helpers import isolated_result, isolated_script

REPO = Path(__file__).resolve().parents[1]
CONFIG_PREFIX_PY = Path(config_prefix.__file__).resolve()
# What a build reads (pyproject.toml, setup.py, MANIFEST.in and what they name): copied to build outside the checkout.
BUILD_INPUTS = ['pyproject.toml', 'setup.py', 'MANIFEST.in', 'README.md', 'dfd_razor_startup.py', 'dfd_razor',
                'configs']
# First lines of a subprocess that must not see the checkout: the venv's dfd_razor_checkout.pth (and the test
# runner) put it on sys.path, and the editable install's finder maps dfd_razor to it when nothing else has it.
_NO_CHECKOUT = textwrap.dedent(f"""\
    import os, sys
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.getcwd()) != {str(REPO)!r}]
    """)


def _env(pythonpath=None):
    env = dict(os.environ, OMP_NUM_THREADS='1', DFD_RAZOR_NO_STARTUP='1')
    env.pop('PYTHONPATH', None)
    if pythonpath:
        env['PYTHONPATH'] = str(pythonpath)
    return env


def run_py(code, mode, tmp_path, timeout=240):
    """Run ``code`` after the preamble of ``mode`` in a fresh interpreter (cwd ``tmp_path``); its RESULT dict."""
    script = isolated_script(mode, code, CONFIG_PREFIX_PY, 'config_prefix', 'config_prefix.install()')
    proc = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path), env=_env(REPO), capture_output=True,
                          text=True, timeout=timeout)
    return isolated_result(proc, mode, 'resolver')


def test_the_prefix_is_installed_at_import_and_is_no_compat_fix():
    assert config_prefix.installed()
    assert 'dfd_razor_configs' not in compat.FIXES and 'dfd_razor_configs' not in compat.APPLIED
    assert not hasattr(compat, 'shared_configs_dir') and not hasattr(compat, 'CONFIG_PREFIX')
    config_prefix.install()  # idempotent: still one wrapper around mmengine's resolver
    from mmengine.config import Config
    assert Config._get_cfg_path('dfd_razor::methods/dfd.py', 'x.py') == (str(REPO / 'configs/methods/dfd.py'), None)


# ---- moved from tests/test_compat.py (fix 5, dfd_razor_configs) -------------------------------------------
_OUTSIDE_RECIPE = """
open('my_recipe.py', 'w').write(
    "_base_ = ['dfd_razor::pairs/retina-r18_retina-r18q_300i_bccd.py', 'dfd_razor::methods/pkd.py']\\n"
    "model = dict(distiller=_base_.method)\\n")
from mmengine.config import Config
try:
    cfg = Config.fromfile('my_recipe.py', import_custom_modules=False)
    result['ok'] = [cfg.model.type, cfg.model.distiller.levels.loss.type, cfg.model.teacher_ckpt,
                    cfg.model.architecture.backbone.base_channels, cfg.model.get('_scope_')]
except Exception as e:
    result['error'] = f'{type(e).__name__}: {e}'
try:
    Config.fromfile(open('bad.py', 'w').write("_base_ = 'dfd_razor::methods/nope.py'\\n") and 'bad.py')
except Exception as e:
    result['missing'] = f'{type(e).__name__}: {e}'
"""


def test_dfd_razor_configs_without_prefix_fails(tmp_path):
    result = run_py(_OUTSIDE_RECIPE, 'none', tmp_path)
    assert 'ok' not in result and 'dfd_razor' in result['error']


@pytest.mark.parametrize('mode', ['alone', 'package'])
def test_dfd_razor_configs_reach_the_shared_configs_from_anywhere(tmp_path, mode):
    result = run_py(_OUTSIDE_RECIPE, mode, tmp_path)
    assert result['ok'] == ['CheckedFpnTeacherDistill', 'PKDLoss', 'work_dirs/demo/bccd/teacher/iter_1600.pth', 16,
                            'mmrazor']
    assert result['missing'].startswith('FileNotFoundError: dfd_razor::methods/nope.py')
    assert 'dfd_razor has no shared config methods/nope.py' in result['missing']


def test_shared_configs_dir_is_the_repository_configs():
    assert os.path.samefile(config_prefix.shared_configs_dir(), REPO / 'configs')


# ---- where the shared configs are looked for -------------------------------------------------------------
def test_a_packages_mim_configs_come_before_a_checkouts(tmp_path):
    package, mim, beside = tmp_path / 'dfd_razor', tmp_path / 'dfd_razor/.mim/configs', tmp_path / 'configs'
    with pytest.raises(FileNotFoundError, match=r'neither .*\.mim/configs \(a wheel\'s\) nor .*configs'):
        config_prefix.shared_configs_dir(str(package))
    beside.mkdir()
    assert config_prefix.shared_configs_dir(str(package)) == str(beside)
    mim.mkdir(parents=True)
    assert config_prefix.shared_configs_dir(str(package)) == str(mim)


def test_resolve_rejects_other_prefixes():
    with pytest.raises(ValueError, match='does not start with'):
        config_prefix.resolve('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')


# ---- a wheel carries the shared configs --------------------------------------------------------------------
_USER_RECIPE = """\
_base_ = ['dfd_razor::pairs/retina-r18_retina-r18q_300i_bccd.py', 'dfd_razor::methods/dfd.py']
model = dict(distiller=_base_.method)
"""

_FROM_THE_WHEEL = """
import dfd_razor
from dfd_razor import config_prefix
from mmengine.config import Config
result['package'] = dfd_razor.__file__
result['configs_dir'] = config_prefix.shared_configs_dir()
resolved = []
_resolver = Config._get_cfg_path
def _recording(cfg_path, filename):
    path, scope = _resolver(cfg_path, filename)
    resolved.append([cfg_path, path])
    return path, scope
Config._get_cfg_path = staticmethod(_recording)
cfg = Config.fromfile('user_recipe.py')
result['resolved'] = resolved
result['loss'] = [cfg.model.distiller.levels.loss.type, cfg.model.distiller.levels.loss.alpha]
result['student_channels'] = cfg.model.architecture.backbone.base_channels
import importlib.util
result['tools_importable'] = importlib.util.find_spec('dfd_razor_tools') is not None
"""


def _build_wheel(tmp_path):
    """Build the wheel as ``pip wheel --no-build-isolation`` does (setuptools' PEP 517 backend), from a copy of
    the build inputs, so that nothing (build/, *.egg-info) is written into the checkout."""
    src = tmp_path / 'src'
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '.mim'))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(path, src / name)
    dist = tmp_path / 'dist'
    code = f'from setuptools import build_meta; print("WHEEL " + build_meta.build_wheel({str(dist)!r}))'
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(src), env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    name = [ln for ln in proc.stdout.splitlines() if ln.startswith('WHEEL ')][-1][len('WHEEL '):]
    return dist / name


def test_a_wheel_carries_the_shared_configs_and_resolves_them(tmp_path):
    wheel = _build_wheel(tmp_path)
    shipped = {n[len('dfd_razor/.mim/configs/'):] for n in zipfile.ZipFile(wheel).namelist()
               if n.startswith('dfd_razor/.mim/configs/')}
    in_repo = {str(p.relative_to(REPO / 'configs')) for p in (REPO / 'configs').rglob('*')
               if p.is_file() and '__pycache__' not in p.parts}
    assert shipped == in_repo
    assert {p.split('/')[0] for p in shipped} >= {'algorithms', 'datasets', 'methods', 'pairs', 'cpu_demo'}
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith(('dfd_razor_tools/', 'tests/', 'recipes/', 'configs/'))]

    target = tmp_path / 'site'
    proc = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index', '--quiet', '--target',
                           str(target), str(wheel)], env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work = tmp_path / 'user'
    work.mkdir()
    (work / 'user_recipe.py').write_text(_USER_RECIPE)
    script = _NO_CHECKOUT + 'import json\nresult = {}\n' + _FROM_THE_WHEEL + "print('RESULT ' + json.dumps(result))\n"
    result = isolated_result(subprocess.run([sys.executable, '-c', script], cwd=str(work), env=_env(target),
                                    capture_output=True, text=True, timeout=240))

    assert result['package'].startswith(str(target) + os.sep), result['package']
    mim = str(target / 'dfd_razor' / '.mim' / 'configs')
    assert result['configs_dir'] == mim
    ours = {request: path for request, path in result['resolved'] if '::' not in request or
            request.startswith('dfd_razor::')}
    # the two prefixed bases and the relative bases inside the shipped configs all resolve inside the wheel
    assert {os.path.relpath(os.path.normpath(p), mim) for p in ours.values()} == {
        'pairs/retina-r18_retina-r18q_300i_bccd.py', 'methods/dfd.py', 'cpu_demo/retina_bccd.py',
        'algorithms/fpn_teacher.py', 'datasets/bccd.py'}
    assert all(os.path.normpath(p).startswith(mim + os.sep) for p in ours.values())
    assert result['loss'] == ['DFDLoss', 2.8e-5]
    assert result['student_channels'] == 16
    assert not result['tools_importable']  # the checkout really was out of reach


_ALONE = """
import importlib.util
import torch
import dfd_razor
from mmrazor.registry import MODELS
result['package'] = dfd_razor.__file__
result['tools_importable'] = importlib.util.find_spec('dfd_razor_tools') is not None
torch.manual_seed(0)
connector, loss = MODELS.build(level['connector']), MODELS.build(level['loss'])
s, t = torch.randn(2, level['channels'], 8, 8), torch.randn(2, level['channels'], 8, 8)
terms = loss(s_feature=s, t_feature=t, s_transformed=connector(s))
result['types'] = [type(connector).__name__, type(loss).__name__]
result['terms'] = {k: float(v) for k, v in terms.items()}
try:
    from mmengine.config import Config
    open('r.py', 'w').write("_base_ = 'dfd_razor::methods/dfd.py'\\n")
    Config.fromfile('r.py')
except FileNotFoundError as e:
    result['prefix_error'] = str(e)
"""


def test_the_package_alone_imports_and_builds_a_dfd_level(tmp_path):
    """The installed package imports with no repository beside it (issue 20): dfd_razor/ copied alone."""
    from mmengine.config import Config

    from dfd_razor.models.distillers.multi_level_distiller import MultiLevelDistiller
    cfg = Config.fromfile(str(REPO / 'recipes/cpu_demo/dfd_fpn_retina-r18_retina-r18q_300i_bccd.py'))
    distiller = cfg.model.distiller.to_dict()
    kwargs, _ = MultiLevelDistiller._expand_levels(distiller.pop('levels'), {})
    level = dict(connector=kwargs['connectors']['trans_fpn0'], loss=kwargs['distill_losses']['loss_dfd_fpn0'],
                 channels=cfg.model.distiller.levels.student_channels)
    assert level['connector']['type'] == 'DFDConnector' and level['loss']['type'] == 'DFDLoss'

    alone = tmp_path / 'alone'
    shutil.copytree(REPO / 'dfd_razor', alone / 'dfd_razor', ignore=shutil.ignore_patterns('__pycache__', '.mim'))
    work = tmp_path / 'work'
    work.mkdir()
    script = (_NO_CHECKOUT + f'import json\nresult = {{}}\nlevel = json.loads({json.dumps(json.dumps(level))})\n' +
              _ALONE + "print('RESULT ' + json.dumps(result))\n")
    result = isolated_result(subprocess.run([sys.executable, '-c', script], cwd=str(work), env=_env(alone),
                                    capture_output=True, text=True, timeout=240))
    assert result['package'] == str(alone / 'dfd_razor' / '__init__.py')
    assert not result['tools_importable']
    assert result['types'] == ['DFDConnector', 'DFDLoss']
    assert set(result['terms']) == {'hd', 'ld'} and all(v > 0 for v in result['terms'].values())
    # no shared configs beside a bare copy: the prefix says so, naming where it looked
    assert 'has no shared configs' in result['prefix_error'] and '.mim' in result['prefix_error']
