"""Each fix of dfd_razor.compat against the failure it fixes.

Fixes are process-global, so every "without / with" pair runs in a fresh interpreter (``sys.executable -c``):
* ``none``: nothing of dfd_razor is imported: the upstream failure must show;
* ``package``: ``import dfd_razor`` first, as tools/train.py and the recipes do;
* ``alone``: only ``dfd_razor/compat.py`` is loaded (as a standalone module, so the package's ``__init__`` does
  not run) and only the fix under test is applied: that fix by itself is enough.
A subprocess reports through one ``RESULT <json>`` line on stdout.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dfd_razor
import numpy as np
import pytest
import torch
from dfd_razor import compat
from testing_helpers import isolated_result, isolated_script

REPO = Path(__file__).resolve().parents[1]
COMPAT_PY = Path(compat.__file__).resolve()


def _torch_at_least(major, minor):
    return tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]) >= (major, minor)


TORCHVISION = compat.torchvision_available()
NEEDS_NO_TORCHVISION = pytest.mark.skipif(TORCHVISION, reason='torchvision is installed: mmpose/mmengine import '
                                          'it fine, there is no failure to show and the fix stands aside')


def run_py(code, mode, tmp_path, env=None, timeout=240):
    """Run ``code`` after the preamble of ``mode`` in a fresh interpreter; returns its RESULT dict."""
    script = isolated_script(mode, code, COMPAT_PY, 'compat', f'compat.FIXES[{mode!r}]()')
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = os.pathsep.join([str(REPO)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    full_env['TORCH_HOME'] = str(tmp_path / 'torch_home')  # never the user's hub cache
    full_env['DFD_RAZOR_NO_STARTUP'] = '1'  # the startup hook (dfd_razor_startup.py) would apply every fix
    for key, value in (env or {}).items():  # None: unset
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    proc = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path), env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    result = isolated_result(proc, mode, 'fix')
    result['_stderr'] = proc.stderr
    return result


def test_fixes_are_the_four_documented_ones():
    # the dfd_razor:: config prefix is no fix: dfd_razor.config_prefix, tests/test_config_prefix.py
    assert list(compat.FIXES) == ['mmrazor_quantization', 'checkpoint_globals', 'mmpose_torchvision',
                                  'torchvision_urls']
    assert compat.apply() == list(compat.FIXES)  # idempotent: applied once at import, nothing more now
    assert dfd_razor.compat.APPLIED == list(compat.FIXES)


# ---- 1. mmrazor_quantization ------------------------------------------------------------------------------
_IMPORT_MMRAZOR = """
try:
    import mmrazor.models
    from mmrazor.registry import MODELS
    result['ok'] = [MODELS.get(n) is not None for n in ('SingleTeacherDistill', 'FpnTeacherDistill')]
except Exception as e:
    result['error'] = f'{type(e).__name__}: {e}'
"""


def test_mmrazor_quantization_without_fix_fails(tmp_path):
    if not _torch_at_least(2, 0):
        pytest.skip(f'torch {torch.__version__} < 2.0 still has the helpers mmrazor imports')
    result = run_py(_IMPORT_MMRAZOR, 'none', tmp_path)
    assert 'ok' not in result
    assert result['error'].startswith('ImportError') and '`torch>=1.13` is not installed properly' in result['error']


@pytest.mark.parametrize('mode', ['package', 'mmrazor_quantization'])
def test_mmrazor_quantization_with_fix_imports(tmp_path, mode):
    result = run_py(_IMPORT_MMRAZOR, mode, tmp_path)
    assert result.get('ok') == [True, True], result


def test_mmrazor_quantization_helpers():
    # applied in this process by `import dfd_razor`
    import torch.ao.quantization.fuser_method_mappings as fmm
    from torch.ao.quantization.backend_config import BackendPatternConfig

    assert fmm.reverse2 is getattr(fmm, '_reverse2', fmm.reverse2)
    assert fmm.reverse3 is getattr(fmm, '_reverse3', fmm.reverse3)
    a, b = torch.nn.Conv2d(1, 1, 1), torch.nn.ReLU()
    fused = fmm.reverse_sequential_wrapper2(torch.nn.Sequential)(False, a, b)  # torch 1.13: sequential(y, x)
    assert isinstance(fused, torch.nn.Sequential) and fused[0] is b and fused[1] is a
    cfg = BackendPatternConfig(torch.nn.ReLU)
    assert cfg._set_input_output_observed(False) is cfg
    assert cfg._input_output_observed is False


# ---- 2. checkpoint_globals --------------------------------------------------------------------------------
_CHECKPOINTS = """
import pickle
import numpy as np
import torch
from mmengine.logging import HistoryBuffer, MessageHub

hub = MessageHub.get_instance('dfd_compat_test')
for v in (1.5, 0.75, 0.25):
    hub.update_scalar('train/loss', v)
hub.update_scalar('train/lr', np.float32(0.01))
hub.update_info('iter', 3)
hub.update_info('eta', np.float64(12.5))
NUMPY_DTYPES = ['float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']


class Custom:
    def __init__(self):
        self.value = 1


class CallsPrint:
    def __reduce__(self):
        return (print, ('PWNED by CallsPrint',))


class GetattrInit:  # getattr beyond HistoryBuffer's statistics methods
    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


class GetattrNumpy:
    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


cases = {
    'state_dict_only': {'state_dict': {'w': torch.arange(4.)}, 'meta': {'iter': 3, 'cfg': 'x = 1'}},
    'history_buffer': {'message_hub': hub.state_dict()},
    'numpy_scalars': {'meta': {n: np.dtype(n).type(1) for n in NUMPY_DTYPES}},
    'numpy_arrays': {'meta': {n: np.arange(3).astype(n) for n in NUMPY_DTYPES}},
    'runner_like': {'meta': {'iter': 3, 'epoch': 0, 'seed': np.int64(7), 'eta': np.float64(1.0)},
                    'state_dict': {'w': torch.ones(2)},
                    'optimizer': {'state': {0: {'momentum_buffer': torch.ones(2)}},
                                  'param_groups': [{'lr': 0.1, 'momentum': 0.9, 'params': [0]}]},
                    'message_hub': hub.state_dict()},
    'custom_object': {'meta': {'x': Custom()}},
    'reduce_print': {'meta': {'x': CallsPrint()}},
    'getattr_init': {'meta': {'x': GetattrInit()}},
    'getattr_numpy': {'meta': {'x': GetattrNumpy()}},
    'numpy_object_array': {'meta': {'x': np.array([1, 'a', None], dtype=object)}},
}
for name, obj in cases.items():
    torch.save(obj, f'{name}.pth')
    try:
        loaded = torch.load(f'{name}.pth')  # torch's default: weights_only=True from 2.6 on
    except Exception as e:
        result[name] = f'{type(e).__name__}: {e}'
        continue
    if name == 'history_buffer' or name == 'runner_like':
        buf = loaded['message_hub']['log_scalars']['train/loss']
        assert isinstance(buf, HistoryBuffer)
        assert buf.data[0].tolist() == [1.5, 0.75, 0.25] and buf.mean() == 2.5 / 3 and buf.current() == 0.25
        assert loaded['message_hub']['runtime_info']['eta'] == 12.5
    if name == 'numpy_scalars':
        for n in NUMPY_DTYPES:
            v = loaded['meta'][n]
            assert type(v) is np.dtype(n).type and v == 1, (n, v)
    if name == 'numpy_arrays':
        for n in NUMPY_DTYPES:
            v = loaded['meta'][n]
            assert v.dtype == np.dtype(n) and v.tolist() == np.arange(3).astype(n).tolist(), (n, v)
    if name == 'runner_like':
        assert loaded['meta']['seed'] == 7 and type(loaded['meta']['seed']) is np.int64
        assert torch.equal(loaded['optimizer']['state'][0]['momentum_buffer'], torch.ones(2))
    result[name] = 'ok'
"""
_NEEDS_FIX = ['history_buffer', 'numpy_scalars', 'numpy_arrays', 'runner_like']
_REFUSED = ['custom_object', 'reduce_print', 'getattr_init', 'getattr_numpy', 'numpy_object_array']


def test_checkpoint_globals_without_fix_fails(tmp_path):
    if not _torch_at_least(2, 6):
        pytest.skip(f'torch {torch.__version__} < 2.6 does not load with weights_only=True by default')
    result = run_py(_CHECKPOINTS, 'none', tmp_path)
    assert result['state_dict_only'] == 'ok'  # plain checkpoints never needed the fix
    for name in _NEEDS_FIX + _REFUSED:
        assert result[name].startswith('UnpicklingError'), (name, result[name])
    assert 'HistoryBuffer' in result['history_buffer']
    assert 'PWNED' not in result['_stderr']


@pytest.mark.parametrize('mode', ['package', 'checkpoint_globals'])
def test_checkpoint_globals_with_fix_loads_exactly_runner_checkpoints(tmp_path, mode):
    result = run_py(_CHECKPOINTS, mode, tmp_path)
    for name in ['state_dict_only'] + _NEEDS_FIX:
        assert result[name] == 'ok', (name, result[name])
    # the fix must not loosen more: anything else pickled is still refused, nothing gets called
    for name in _REFUSED:
        assert result[name].startswith('UnpicklingError'), (name, result[name])
    assert 'Custom' in result['custom_object']
    assert 'print' in result['reduce_print']
    assert "'__init__'" in result['getattr_init'] and 'not allowed' in result['getattr_init']
    assert "'tofile'" in result['getattr_numpy']
    assert 'PWNED' not in result['_stderr']


# ---- 3. mmpose_torchvision --------------------------------------------------------------------------------
_IMPORT_MMPOSE_VIS = """
try:
    import mmpose.visualization.local_visualizer
    import numpy as np
    import torch
    from mmpose.utils import register_all_modules
    from mmpose.visualization import simcc_vis
    register_all_modules()  # what a Runner in the mmpose scope does
    result['to_pil_image'] = f'{simcc_vis.ToPILImage.__module__}.{simcc_vis.ToPILImage.__qualname__}'
    result['simcc_source'] = simcc_vis.__file__
    # every ToPILImage use of the SimCC visualizer: 2-D (1, H, W) map and 1-D (1, W) / (H, 1) maps
    torch.manual_seed(0)
    drawn = simcc_vis.SimCCVisualizer().draw_instance_xy_heatmap(
        torch.rand(3, 16, 12), np.zeros((16, 12, 3), np.uint8), n=3)
    result['drawn'] = [list(drawn.shape), str(drawn.dtype)]
except Exception as e:
    result['error'] = f'{type(e).__name__}: {e}'
"""


@NEEDS_NO_TORCHVISION
def test_mmpose_torchvision_without_fix_fails(tmp_path):
    result = run_py(_IMPORT_MMPOSE_VIS, 'none', tmp_path)
    assert result['error'] == "ModuleNotFoundError: No module named 'torchvision'"


@NEEDS_NO_TORCHVISION
def test_mmpose_torchvision_with_fix_imports_and_draws(tmp_path):
    result = run_py(_IMPORT_MMPOSE_VIS, 'package', tmp_path)
    assert 'error' not in result, result
    assert result['to_pil_image'] == 'dfd_razor.compat.ToPILImage'
    import mmpose.visualization
    assert Path(result['simcc_source']) == Path(mmpose.visualization.__file__).parent / 'simcc_vis.py'
    assert result['drawn'][1] == 'uint8' and len(result['drawn'][0]) == 3 and result['drawn'][0][2] == 3


def _pycache_snapshot(directory):
    return {p.name: p.stat().st_mtime_ns for p in directory.iterdir()} if directory.is_dir() else {}


@NEEDS_NO_TORCHVISION
def test_mmpose_torchvision_fix_writes_nothing_into_site_packages(tmp_path):
    import mmpose.visualization
    vis_dir = Path(mmpose.visualization.__file__).parent
    pycache = vis_dir / '__pycache__'
    if not os.access(vis_dir, os.W_OK):
        pytest.skip(f'{vis_dir} is not writable here: nothing could be written into it anyway')
    simcc_before = {k: v for k, v in _pycache_snapshot(pycache).items() if k.startswith('simcc_vis.')}
    # bytecode writing on: this session may run with PYTHONDONTWRITEBYTECODE, which would make the check vacuous
    env = {'PYTHONDONTWRITEBYTECODE': None}
    code = """
    import mmpose.visualization.local_visualizer
    result['dont_write_bytecode'] = sys.dont_write_bytecode
    """
    # a first run may legitimately cache the *other* modules of mmpose.visualization; then nothing may change
    result = run_py(code, 'package', tmp_path, env=env)
    assert result['dont_write_bytecode'] is False
    before = _pycache_snapshot(pycache)
    run_py(code, 'package', tmp_path, env=env)
    after = _pycache_snapshot(pycache)
    assert after == before
    # (reading the original's .pyc, which imports torchvision, would have failed the import: it is not read)
    assert {k: v for k, v in after.items() if k.startswith('simcc_vis.')} == simcc_before


def test_to_pil_image_hand_values():
    from PIL import Image

    # x * 255, truncated (torch's .byte()): 0 -> 0, 0.125 -> 31.875 -> 31, 0.25 -> 63.75 -> 63,
    # 0.5 -> 127.5 -> 127, 0.75 -> 191.25 -> 191, 1 -> 255 (all exact in float32)
    x = torch.tensor([[0.0, 0.125, 0.25], [0.5, 0.75, 1.0]])
    expected = np.array([[0, 31, 63], [127, 191, 255]], dtype=np.uint8)
    for pic in (x, x[None]):  # (H, W) and (1, H, W)
        img = compat.ToPILImage()(pic)
        assert isinstance(img, Image.Image) and img.mode == 'L' and img.size == (3, 2)
        out = np.asarray(img)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, expected)
    # a (1, W) 1-D SimCC map, and an already 8-bit map kept as is
    np.testing.assert_array_equal(np.asarray(compat.ToPILImage()(torch.tensor([[0.5, 1.0]]))), [[127, 255]])
    u8 = torch.tensor([[3, 200]], dtype=torch.uint8)
    np.testing.assert_array_equal(np.asarray(compat.ToPILImage()(u8)), [[3, 200]])
    with pytest.raises(ValueError, match='single-channel'):
        compat.ToPILImage()(torch.zeros(3, 2, 2))


# ---- 4. torchvision_urls ----------------------------------------------------------------------------------
_LOAD_TORCHVISION = """
from mmengine.runner import CheckpointLoader
try:
    ckpt = CheckpointLoader.load_checkpoint('torchvision://resnet50', map_location='cpu')
    result['keys'] = sorted(ckpt)
    result['conv1'] = ckpt['conv1.weight'].flatten()[:5].tolist()
    # the path the configs take: a ResNet-50 backbone with init_cfg torchvision://resnet50
    from mmdet.models.backbones import ResNet
    net = ResNet(depth=50, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'))
    net.init_weights()
    result['init_conv1_equal'] = bool((net.conv1.weight == ckpt['conv1.weight']).all())
except Exception as e:
    result['error'] = f'{type(e).__name__}: {e}'
try:
    CheckpointLoader.load_checkpoint('torchvision://no_such_net')
    result['unknown'] = 'loaded'
except Exception as e:
    result['unknown'] = f'{type(e).__name__}: {e}'
"""


def _fake_torch_hub(tmp_path):
    """$TORCH_HOME/hub/checkpoints/<basename of the resnet50 URL>: a small stand-in for the real file."""
    url = compat.TORCHVISION_URLS['resnet50']
    ckpt_dir = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    ckpt_dir.mkdir(parents=True)
    conv1 = torch.arange(64 * 3 * 7 * 7, dtype=torch.float32).view(64, 3, 7, 7) / 1000
    torch.save({'conv1.weight': conv1}, ckpt_dir / url.rsplit('/', 1)[1])
    return conv1, {'TORCH_HOME': str(tmp_path / 'torch_home')}


@NEEDS_NO_TORCHVISION
def test_torchvision_urls_without_fix_fails(tmp_path):
    _, env = _fake_torch_hub(tmp_path)
    result = run_py(_LOAD_TORCHVISION, 'none', tmp_path, env=env)
    assert result['error'] == "ModuleNotFoundError: No module named 'torchvision'"


@NEEDS_NO_TORCHVISION
@pytest.mark.parametrize('mode', ['package', 'torchvision_urls'])
def test_torchvision_urls_with_fix_reads_the_hub_cache(tmp_path, mode):
    conv1, env = _fake_torch_hub(tmp_path)
    result = run_py(_LOAD_TORCHVISION, mode, tmp_path, env=env)
    assert 'error' not in result, result
    assert result['keys'] == ['conv1.weight']
    assert result['conv1'] == conv1.flatten()[:5].tolist()
    assert result['init_conv1_equal'] is True
    assert 'Downloading' not in result['_stderr']
    assert result['unknown'].startswith('KeyError') and 'no_such_net' in result['unknown']


def test_torchvision_urls_agree_with_mmengine():
    # mmengine resolves torchvision://NAME through this table (plus torchvision's own, when installed)
    import mmengine
    table = mmengine.load(str(Path(mmengine.__file__).parent / 'hub' / 'torchvision_0.12.json'))
    for name, url in compat.TORCHVISION_URLS.items():
        assert table[name] == url, name


def test_startup_hook_applies_fixes_before_mmrazor(tmp_path):
    """What `mim train mmrazor` relies on: a process that imports mmrazor first still gets the fixes."""
    code = textwrap.dedent("""
        import json, sys
        import mmrazor.models
        from mmrazor.registry import MODELS
        print('RESULT ' + json.dumps({'applied': sys.modules['dfd_razor.compat'].APPLIED,
                                      'fpn': MODELS.get('FpnTeacherDistill') is not None}))
        """)
    env = {k: v for k, v in os.environ.items() if k != 'DFD_RAZOR_NO_STARTUP'}
    proc = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=240)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    result = json.loads(lines[-1][len('RESULT '):])
    assert 'mmrazor_quantization' in result['applied'] and result['fpn']
    off = subprocess.run([sys.executable, '-c', 'import mmrazor.models'], cwd=str(tmp_path),
                         env=dict(env, DFD_RAZOR_NO_STARTUP='1'), capture_output=True, text=True, timeout=240)
    assert off.returncode != 0 and 'torch>=1.13' in off.stderr


def test_startup_hook_lets_mmrazor_train_accept_local_rank(tmp_path):
    """mim's `--launcher pytorch` passes --local-rank=N (torch 2); MMRazor's train.py only knows --local_rank."""
    import mmrazor
    train = os.path.join(os.path.dirname(mmrazor.__file__), '.mim', 'tools', 'train.py')
    args = [sys.executable, train, str(tmp_path / 'missing_config.py'), '--local-rank=0']
    env = {k: v for k, v in os.environ.items() if k != 'DFD_RAZOR_NO_STARTUP'}
    source = open(train).read()  # the upstream problem: only the underscore spelling is declared
    assert "'--local_rank'" in source and "'--local-rank'" not in source
    with_hook = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240)
    assert 'unrecognized arguments' not in with_hook.stderr
    assert 'missing_config.py' in with_hook.stderr  # it got past argparse, to reading the (missing) config

