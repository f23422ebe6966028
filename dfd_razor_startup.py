"""Interpreter-startup hook: apply dfd_razor's compatibility fixes before the first ``import mmrazor``.

Processes that do not import dfd_razor before mmrazor need it: ``mim train mmrazor <recipe>`` runs MMRazor's own
train.py, which imports ``mmrazor.models`` (and fails on torch 2.x) before it reads the recipe's
``custom_imports``. tools/install.sh writes a one-line ``dfd_razor_startup.pth`` into the virtual environment's
site-packages that imports this module. It costs nothing at startup: it only registers a finder, which on the
first import of ``mmrazor`` runs ``dfd_razor.compat.apply()`` and ``dfd_razor.config_prefix.install()`` (the
recipe's ``dfd_razor::`` bases are read before its ``custom_imports`` too), and removes itself.
``DFD_RAZOR_NO_STARTUP=1`` switches it off (the compatibility tests use it to show each failure without its fix).

It also lets ``mim train mmrazor ... --launcher pytorch`` start: mim launches MMRazor's tools/train.py (and test.py)
through ``torch.distributed.launch``, which on torch 2 passes ``--local-rank=N``, while MMRazor's scripts accept
only ``--local_rank`` (mmrazor #599). For those two scripts alone the argument is respelled in ``sys.argv``.
"""
import importlib.abc
import os
import sys


class _ApplyCompatBeforeMMRazor(importlib.abc.MetaPathFinder):

    def find_spec(self, fullname, path, target=None):
        if fullname == 'mmrazor':
            sys.meta_path.remove(self)
            _load_compat().apply()
            # MMRazor's train.py reads the recipe (its dfd_razor:: bases) before its custom_imports
            _load_alone('config_prefix').install()
        return None


def _load_compat():
    """dfd_razor.compat alone: importing the package would import mmrazor from inside mmrazor's import."""
    return _load_alone('compat')


def _load_alone(name):
    """The module ``dfd_razor.<name>`` alone, without running the package's ``__init__``."""
    import importlib.util
    import os.path as osp
    fullname = f'dfd_razor.{name}'
    if fullname in sys.modules:
        return sys.modules[fullname]
    package = importlib.util.find_spec('dfd_razor')
    path = osp.join(package.submodule_search_locations[0], f'{name}.py')
    spec = importlib.util.spec_from_file_location(fullname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[fullname] = module
    spec.loader.exec_module(module)
    return module


def _respell_local_rank(argv):
    """MMRazor's tools/{train,test}.py: --local-rank[=N] -> --local_rank[=N] (mmrazor #599)."""
    script = argv[0].replace(os.sep, '/') if argv else ''
    if not (script.endswith('mmrazor/.mim/tools/train.py') or script.endswith('mmrazor/.mim/tools/test.py')):
        return argv
    return [a.replace('--local-rank', '--local_rank', 1) if a.startswith('--local-rank') else a for a in argv]


if os.environ.get('DFD_RAZOR_NO_STARTUP') != '1':
    if not any(type(f).__name__ == '_ApplyCompatBeforeMMRazor' for f in sys.meta_path):
        sys.meta_path.insert(0, _ApplyCompatBeforeMMRazor())
    if hasattr(sys, 'argv'):
        sys.argv[:] = _respell_local_rank(sys.argv)
