"""Build step of the dfd_razor wheel: the shared configs travel inside the package, as OpenMMLab's do.

Everything else is declared in pyproject.toml. ``dfd_razor::PATH`` (dfd_razor/config_prefix.py) names a file of
the repository's ``configs/`` (algorithms/, datasets/, methods/, pairs/, cpu_demo/). A regular install (a wheel,
``pip install .``) has no repository beside the package, so the build copies ``configs/`` into the built package
as ``dfd_razor/.mim/configs``, where OpenMMLab packages keep theirs (mmdet's ``setup.py``, ``add_mim_extension``,
copies in the same non-editable case). The copy is made in the build folder only: nothing is written into the
checkout, and no second copy of ``configs/`` is committed. An editable install (``pip install -e .``) copies
nothing and keeps reading the repository's ``configs/``.
"""
import os
import shutil
from typing import List

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
SHARED_CONFIGS = os.path.join(ROOT, 'configs')
#: Where the configs go inside the built package (dfd_razor/config_prefix.py reads them there).
PACKAGE_CONFIGS = os.path.join('dfd_razor', '.mim', 'configs')
_SKIP = shutil.ignore_patterns('__pycache__', '*.pyc', '*.pyo')


def _config_files() -> List[str]:
    """The files of ``configs/`` to ship, relative to it."""
    if not os.path.isdir(SHARED_CONFIGS):
        raise FileNotFoundError(f'{SHARED_CONFIGS} is missing: the dfd_razor wheel ships the shared configs '
                                '(dfd_razor::); build from the repository or from an sdist that has them')
    files = []
    for folder, dirs, names in os.walk(SHARED_CONFIGS):
        skipped = _SKIP(folder, dirs + names)
        dirs[:] = sorted(d for d in dirs if d not in skipped)
        files += [os.path.relpath(os.path.join(folder, n), SHARED_CONFIGS) for n in sorted(names) if n not in skipped]
    return files


class BuildPyWithConfigs(build_py):
    """``build_py`` that also puts ``configs/`` into the built package as ``dfd_razor/.mim/configs``.

    Skipped in editable mode: there the package is read from the checkout, beside ``configs/``.
    """

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = os.path.join(self.build_lib, PACKAGE_CONFIGS)
        if os.path.isdir(target):
            shutil.rmtree(target)  # no stale file from an earlier build
        for rel in _config_files():
            os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
            shutil.copyfile(os.path.join(SHARED_CONFIGS, rel), os.path.join(target, rel))

    def get_outputs(self, include_bytecode: bool = True) -> List[str]:
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [os.path.join(self.build_lib, PACKAGE_CONFIGS, rel) for rel in _config_files()]


setup(cmdclass={'build_py': BuildPyWithConfigs})
