"""Training-loop parts registered in mmengine's registries (``OPTIM_WRAPPERS``)."""
from .optim_wrapper import CPUAmpOptimWrapper

__all__ = ['CPUAmpOptimWrapper']
