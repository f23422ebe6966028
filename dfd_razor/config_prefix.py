"""The ``dfd_razor::`` config prefix: ``_base_ = 'dfd_razor::methods/dfd.py'`` in a recipe anywhere on disk.

mmengine resolves ``_base_ = 'pkg::path'`` only for the OpenMMLab packages it lists (``MODULE2PACKAGE``), through
the ``.mim/configs`` folder their wheels ship. :func:`install` (called at ``import dfd_razor``) teaches mmengine's
``Config`` one more prefix: ``dfd_razor::PATH`` is the file ``PATH`` of this project's shared configs
(``dfd_razor::methods/dfd.py``, ``dfd_razor::algorithms/fpn_teacher.py``, ``dfd_razor::pairs/...``), so that a
recipe outside the repository inherits them without an absolute path, as ``mmdet::`` works.

Where the shared configs are (:func:`shared_configs_dir`):

* a regular install (a wheel, ``pip install .``): ``dfd_razor/.mim/configs``, which the build copies from the
  repository's ``configs/`` (``setup.py``, as OpenMMLab's ``add_mim_extension`` does for their packages);
* an editable install or a checkout on ``PYTHONPATH``: the repository's ``configs/`` beside the package.

Relative bases inside the shared configs (``'../algorithms/fpn_teacher.py'``) resolve in either place, since the
whole folder is shipped. Unlike ``mmdet::``, no ``_scope_`` is forced on the inherited dicts: they are read as a
relative base would be (the shared parts set ``_scope_`` where they need one). Any other prefix goes to mmengine
unchanged.

The module imports nothing of ``dfd_razor`` (it can be loaded alone, as tests/test_config_prefix.py does) and only
mmengine's ``Config`` when installed.
"""
import os.path as osp
from typing import Callable, Optional, Tuple

#: The prefix of a ``_base_`` path that names one of this project's shared configs.
CONFIG_PREFIX = 'dfd_razor::'

#: Where a wheel carries the shared configs, relative to the package folder (OpenMMLab's convention).
MIM_CONFIGS = osp.join('.mim', 'configs')


def _package_dir() -> str:
    return osp.dirname(osp.abspath(__file__))


def config_dir_candidates(package_dir: Optional[str] = None) -> Tuple[str, str]:
    """The folders :func:`shared_configs_dir` looks in, in order.

    Args:
        package_dir: The ``dfd_razor`` package folder; defaults to this module's.

    Returns:
        The package's ``.mim/configs`` (a regular install) and the ``configs/`` beside the package (a checkout or
        an editable install).
    """
    package = package_dir or _package_dir()
    return osp.join(package, MIM_CONFIGS), osp.join(osp.dirname(package), 'configs')


def shared_configs_dir(package_dir: Optional[str] = None) -> str:
    """The folder ``dfd_razor::`` points to.

    Args:
        package_dir: The ``dfd_razor`` package folder; defaults to this module's.

    Returns:
        The first existing folder of :func:`config_dir_candidates`.

    Raises:
        FileNotFoundError: Neither folder exists (a copy of the package without its data and outside a checkout).
    """
    candidates = config_dir_candidates(package_dir)
    for candidate in candidates:
        if osp.isdir(candidate):
            return candidate
    raise FileNotFoundError(f'{CONFIG_PREFIX}: this dfd_razor ({package_dir or _package_dir()}) has no shared '
                            f'configs: neither {candidates[0]} (a wheel\'s) nor {candidates[1]} (a checkout\'s) '
                            'exists; install dfd_razor from a wheel or from the repository')


def resolve(cfg_path: str, filename: str = '<unknown>') -> str:
    """The file a ``dfd_razor::`` base path names.

    Args:
        cfg_path: A ``_base_`` entry starting with :data:`CONFIG_PREFIX` (``'dfd_razor::methods/dfd.py'``).
        filename: The config file that names it, for the error message.

    Returns:
        The absolute path of the shared config.

    Raises:
        ValueError: ``cfg_path`` does not start with the prefix.
        FileNotFoundError: There is no such shared config (or no shared configs folder at all).
    """
    if not cfg_path.startswith(CONFIG_PREFIX):
        raise ValueError(f'{cfg_path!r} does not start with {CONFIG_PREFIX!r}')
    rel = cfg_path[len(CONFIG_PREFIX):]
    folder = shared_configs_dir()
    path = osp.join(folder, rel)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{cfg_path} (in {filename}): dfd_razor has no shared config {rel} '
                                f'(looked in {folder})')
    return path


def installed() -> bool:
    """Whether mmengine's ``Config`` resolves ``dfd_razor::`` in this process."""
    from mmengine.config import Config
    return bool(getattr(Config._get_cfg_path, '_dfd_razor', False))


def install() -> None:
    """Make mmengine's ``Config`` resolve ``dfd_razor::`` base paths; idempotent.

    Wraps ``Config._get_cfg_path``, the one place mmengine turns a ``_base_`` entry into a file: a
    ``dfd_razor::`` path becomes :func:`resolve`'s file with no scope, anything else goes to mmengine's own.
    Nothing is looked up until a recipe names the prefix, so a package copy without shared configs still imports.
    """
    from mmengine.config import Config
    if installed():
        return
    upstream: Callable[[str, str], Tuple[str, Optional[str]]] = Config._get_cfg_path

    def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
        if cfg_path.startswith(CONFIG_PREFIX):
            return resolve(cfg_path, filename), None
        return upstream(cfg_path, filename)

    _get_cfg_path._dfd_razor = True  # type: ignore[attr-defined]
    Config._get_cfg_path = staticmethod(_get_cfg_path)
