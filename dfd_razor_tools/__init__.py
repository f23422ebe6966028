"""What the repository's tools, demo and benchmarks share, and the installed library does not carry.

``dfd_razor`` is the library (components, compatibility fixes, checkpoint handling); this package is the glue of
the command-line tools (:mod:`.launch`; :mod:`.offline`, :mod:`.trial`, :mod:`.classes` and :mod:`.hooks` for
``--offline``, ``--random-teacher``, ``--max-iters``, ``--no-validate``, ``--data`` and the class-count check), the
bundled small datasets (:mod:`.data`), the built-in CPU pairs (:mod:`.cpu_pairs`), the held-out comparison
(:mod:`.benchmark`), the repository's paths (:mod:`.paths`) and a recipe's schedule (:mod:`.schedule`). It lives
in the checkout and is importable in the environment ``tools/install.sh`` builds (a ``.pth`` file names the
checkout); the ``dfd_razor`` wheel does not include it.
"""
import warnings

# mmengine's `is_installed` (run when a config names a `mmdet::`-style base) imports and reloads setuptools'
# pkg_resources, which warns on each import that it is deprecated: two lines per run that say nothing about the
# recipe. That warning alone is silenced, for every tool (they all import this package before reading a config).
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
