"""``CPUAmpOptimWrapper``: mixed precision (bfloat16 autocast) on a machine without an accelerator.

Registered in mmengine's root ``OPTIM_WRAPPERS`` registry at ``import dfd_razor``, so a config that names it (the
one tools/train.py ``--amp`` saves on a CPU machine) builds in any process whose config has
``custom_imports = dict(imports=['dfd_razor'])``.
"""
from typing import Union

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` for CPU-only machines: bfloat16 autocast, no loss scaling.

    mmengine's wrapper asserts that a GPU, NPU, MLU or MUSA device is present, and its autocast accepts only
    bfloat16 on CPU. bfloat16 has float32's exponent range, so gradients do not underflow as fp16 ones do and no
    loss scale is needed: the ``GradScaler`` here is disabled (``scale``, ``step``, ``update`` and its state dict pass
    through). Backward, step, state dict and the autocast context are ``AmpOptimWrapper``'s.

    Args:
        loss_scale (str | float | dict): Accepted for config compatibility and ignored.
        dtype (str | torch.dtype): Autocast dtype; must be bfloat16 (the only CPU autocast dtype of mmengine).
        use_fsdp (bool): Must be False.
        **kwargs: ``OptimWrapper``'s arguments.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 use_fsdp: bool = False,
                 **kwargs) -> None:
        OptimWrapper.__init__(self, **kwargs)  # skips AmpOptimWrapper's device assertion
        dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        if dtype != torch.bfloat16 or use_fsdp:
            raise ValueError(f'CPUAmpOptimWrapper: CPU autocast runs in bfloat16 without FSDP, got dtype={dtype}, '
                             f'use_fsdp={use_fsdp}')
        self._scale_update_param = None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)
        self.cast_dtype = torch.bfloat16
