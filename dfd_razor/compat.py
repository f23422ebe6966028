"""Compatibility of the pinned OpenMMLab stack with current torch and numpy, applied at ``import dfd_razor``.

Every fix is narrow, idempotent, touches no installed file, and is tested (tests/test_compat.py) by showing
the failure without it. Each process that runs a recipe imports ``dfd_razor`` before it builds anything:
``tools/train.py`` and ``tools/test.py`` import it first, and recipes load it through
``custom_imports = dict(imports=['dfd_razor'])``, which covers ``mim train`` and every torchrun worker, since
mmengine applies ``custom_imports`` when it reads the config, before the model registry is touched.

The four fixes (:data:`FIXES`, in the order :func:`apply` applies them):

1. ``mmrazor_quantization``: ``import mmrazor.models`` fails on torch 2.x ("`torch>=1.13` is not installed
   properly", mmrazor #615/#632). At import, mmrazor builds quantization backend configs with fuser helpers
   torch renamed (``reverse2``, ``reverse3`` -> ``_reverse2``, ``_reverse3``) or removed
   (``reverse_sequential_wrapper2``), and calls three ``BackendPatternConfig._set_*`` setters torch removed.
   We put the helpers back under their old names and add the setters as plain attribute setters. Distillation
   never uses quantization; these only let the module import.
2. ``checkpoint_globals``: torch>=2.6 ``torch.load`` defaults to ``weights_only=True``, and mmengine Runner
   checkpoints (``--resume``) hold a ``HistoryBuffer`` and numpy scalars/arrays in ``message_hub`` and
   ``meta``: loading fails with "Unsupported global". We allow exactly those types
   (``torch.serialization.add_safe_globals``): the message hub's buffer class and numpy's scalar, array and
   dtype reconstructors. A buffer's state also holds its default statistics methods, which pickle stores as
   ``getattr(HistoryBuffer, 'min')`` etc.; for ``getattr`` we allow only a stand-in that serves exactly those
   four lookups (the real ``getattr`` would open everything). ``weights_only`` stays on, so a checkpoint that
   pickles anything else (arbitrary code) is still refused.
3. ``mmpose_torchvision``: ``mmpose.visualization.simcc_vis`` imports ``torchvision`` for ``ToPILImage``,
   and a Runner in the mmpose scope imports it through ``register_all_modules``. torchvision has no CPU build
   beside torch 2.13 here (it would pull a CUDA torch). When torchvision is absent, that one module is loaded
   from its own source with the import served by :class:`ToPILImage` below (same conversion for the 2-D and
   1-D heatmaps it draws). With torchvision installed, nothing changes.
4. ``torchvision_urls``: mmengine resolves ``torchvision://NAME`` (the default ``init_cfg`` of ResNet/ResNeXt
   backbones) by importing torchvision. Without torchvision we resolve the names mmdet uses to their
   download URLs (:data:`TORCHVISION_URLS`) and load them through mmengine's HTTP loader, which reads the
   torch hub cache first, so an offline machine with the file in ``$TORCH_HOME/hub/checkpoints`` works. An
   unknown name is an error that names it.

The ``dfd_razor::`` config prefix, also installed at ``import dfd_razor``, is no compatibility fix: it is a
feature of this package, in :mod:`dfd_razor.config_prefix`.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

APPLIED: List[str] = []


# ---- 1. mmrazor's quantization import on torch 2.x --------------------------------------------------------
def _fix_mmrazor_quantization() -> None:
    import torch.ao.quantization.backend_config.utils  # noqa: F401  (no longer imported implicitly)
    import torch.ao.quantization.fuser_method_mappings as fmm
    from torch.ao.quantization.backend_config import BackendPatternConfig

    if not hasattr(fmm, 'reverse2'):
        fmm.reverse2 = fmm._reverse2
    if not hasattr(fmm, 'reverse3'):
        fmm.reverse3 = fmm._reverse3
    if not hasattr(fmm, 'reverse_sequential_wrapper2'):

        def reverse_sequential_wrapper2(sequential: Callable) -> Callable:
            """torch 1.13's helper: a fuser that builds ``sequential(m2, m1)``, ignoring ``is_qat``."""

            def fuser_method(is_qat: bool, x: Any, y: Any) -> Any:
                return sequential(y, x)

            return fuser_method

        fmm.reverse_sequential_wrapper2 = reverse_sequential_wrapper2
    for name in ('_set_overwrite_output_fake_quantize', '_set_overwrite_output_observer',
                 '_set_input_output_observed'):
        if not hasattr(BackendPatternConfig, name):
            setattr(BackendPatternConfig, name, _attribute_setter(name[len('_set'):]))


def _attribute_setter(attr: str) -> Callable:

    def setter(self: Any, value: Any) -> Any:
        setattr(self, attr, value)
        return self

    return setter


# ---- 2. torch>=2.6 weights_only against mmengine Runner checkpoints ----------------------------------------
def checkpoint_safe_globals() -> List[Any]:
    """The non-tensor types an mmengine Runner checkpoint of ours holds (message hub, numpy in meta)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [type(np.dtype(t)) for t in ('float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
                                          'uint8', 'bool')]
    # pickle (protocol 2, torch.save's default) writes HistoryBuffer.min as getattr(HistoryBuffer, 'min'),
    # under the name __builtin__.getattr (builtins.getattr from protocol 3 on).
    getattrs = [(_history_buffer_getattr, '__builtin__.getattr'), (_history_buffer_getattr, 'builtins.getattr')]
    return [HistoryBuffer, scalar, _reconstruct, np.ndarray, np.dtype] + dtypes + getattrs


_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` while loading with ``weights_only``: only ``HistoryBuffer``'s default statistics methods,
    which a buffer's pickled state (``_statistics_methods``) refers to."""
    import pickle

    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed: dfd_razor.compat allows getattr only '
                                 f'for HistoryBuffer.{{{",".join(_HISTORY_BUFFER_STATISTICS)}}}')


def _fix_checkpoint_globals() -> None:
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(checkpoint_safe_globals())


# ---- 3. mmpose's torchvision import ------------------------------------------------------------------------
class ToPILImage:
    """The part of ``torchvision.transforms.ToPILImage`` mmpose's SimCC visualizer uses: a float tensor in
    [0, 1] of shape (H, W) or (1, H, W) becomes an 8-bit grayscale image (``pic.mul(255).byte()``, mode L)."""

    def __call__(self, pic: torch.Tensor) -> Any:
        from PIL import Image
        if pic.dim() == 3:
            if pic.shape[0] != 1:
                raise ValueError(f'ToPILImage: only single-channel maps are supported, got {tuple(pic.shape)}')
            pic = pic[0]
        if pic.dim() != 2:
            raise ValueError(f'ToPILImage: expected a (H, W) or (1, H, W) tensor, got {tuple(pic.shape)}')
        if pic.is_floating_point():
            pic = pic.mul(255).byte()
        return Image.fromarray(pic.cpu().numpy(), mode='L')


_SIMCC = 'mmpose.visualization.simcc_vis'
_TORCHVISION_IMPORT = 'from torchvision.transforms import ToPILImage'


class _SimCCLoader(importlib.machinery.SourceFileLoader):
    """Compiles simcc_vis from its source every time (never from, or into, its __pycache__)."""

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        source = importlib.util.decode_source(self.get_data(path))
        if _TORCHVISION_IMPORT not in source:
            raise ImportError(f'dfd_razor.compat: {path} no longer has "{_TORCHVISION_IMPORT}"; '
                              'the mmpose_torchvision fix does not match this mmpose')
        source = source.replace(_TORCHVISION_IMPORT, 'from dfd_razor.compat import ToPILImage')
        return compile(source, path, 'exec', dont_inherit=True)


class _SimCCFinder(importlib.abc.MetaPathFinder):

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != _SIMCC:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        return importlib.util.spec_from_file_location(fullname, spec.origin,
                                                      loader=_SimCCLoader(fullname, spec.origin))


def torchvision_available() -> bool:
    return importlib.util.find_spec('torchvision') is not None


def _fix_mmpose_torchvision() -> None:
    if not torchvision_available() and not any(isinstance(f, _SimCCFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SimCCFinder())


# ---- 4. torchvision:// checkpoints without torchvision ---------------------------------------------------
#: The torchvision checkpoints OpenMMLab backbones default to (torchvision's own model URLs).
TORCHVISION_URLS: Dict[str, str] = {
    'resnet18': 'https://download.pytorch.org/models/resnet18-f37072fd.pth',
    'resnet34': 'https://download.pytorch.org/models/resnet34-b627a593.pth',
    'resnet50': 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
    'resnet101': 'https://download.pytorch.org/models/resnet101-63fe2227.pth',
    'resnet152': 'https://download.pytorch.org/models/resnet152-394f9c45.pth',
    'resnext50_32x4d': 'https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth',
    'resnext101_32x8d': 'https://download.pytorch.org/models/resnext101_32x8d-8ba56ff5.pth',
    'mobilenet_v2': 'https://download.pytorch.org/models/mobilenet_v2-b0353104.pth',
}


def _load_from_torchvision(filename: str, map_location: Any = None) -> Dict[str, Any]:
    from mmengine.runner.checkpoint import load_from_http
    name = filename[len('torchvision://'):]
    if name.startswith('_'):  # mmengine's spelling of legacy weights, e.g. torchvision://_resnet50
        name = name[1:]
    if name not in TORCHVISION_URLS:
        raise KeyError(f'{filename}: torchvision is not installed and dfd_razor.compat.TORCHVISION_URLS has no '
                       f'entry {name!r}; known: {sorted(TORCHVISION_URLS)}')
    return load_from_http(TORCHVISION_URLS[name], map_location=map_location)


def _fix_torchvision_urls() -> None:
    if torchvision_available():
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='torchvision://', loader=_load_from_torchvision, force=True)


FIXES: Dict[str, Callable[[], None]] = {
    'mmrazor_quantization': _fix_mmrazor_quantization,
    'checkpoint_globals': _fix_checkpoint_globals,
    'mmpose_torchvision': _fix_mmpose_torchvision,
    'torchvision_urls': _fix_torchvision_urls,
}


def apply() -> List[str]:
    """Apply every fix once per process; returns the names applied so far."""
    for name, fix in FIXES.items():
        if name not in APPLIED:
            fix()
            APPLIED.append(name)
    return APPLIED
