"""dfd_razor: DFD distillation components for MMRazor.

Importing the package applies the compatibility fixes of :mod:`dfd_razor.compat` (the pinned OpenMMLab stack on
current torch), teaches mmengine's ``Config`` the ``dfd_razor::`` base prefix (:mod:`dfd_razor.config_prefix`),
registers DFD's connector, loss, distiller and checked teacher algorithms in ``mmrazor.registry.MODELS``, and the
small-data datasets (CamVid) in their task's registry. Configs load it with
``custom_imports = dict(imports=['dfd_razor'], allow_failed_imports=False)``.
"""
from . import compat  # noqa: F401  (must run before mmrazor.models is imported)

compat.apply()

from . import config_prefix  # noqa: E402

config_prefix.install()

from . import datasets  # noqa: E402,F401
from . import engine  # noqa: E402,F401  (CPUAmpOptimWrapper in mmengine's OPTIM_WRAPPERS)
from . import models  # noqa: E402,F401

__version__ = '0.1.0'
