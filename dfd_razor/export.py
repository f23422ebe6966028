"""The student's weights out of a training checkpoint: what gets exported, evaluated alone and deployed."""
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Union

from torch import Tensor

#: Prefix of the student's entries in an MMRazor distillation algorithm's state_dict (``algorithm.architecture``).
STUDENT_PREFIX = 'architecture.'
#: Prefix of every model entry in an mmengine ``EMAHook`` checkpoint's ``ema_state_dict`` (``AveragedModel.module``).
EMA_PREFIX = 'module.'


def student_state_dict(checkpoint: Union[str, Mapping[str, Any]],
                       use_ema: bool = True,
                       prefix: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """The student model's state_dict from a distillation (or plain) training checkpoint.

    The result has the keys of the student model's own ``state_dict()`` (``backbone.*``, ``neck.*``, ...) and
    nothing else: no teacher (``teacher.*``), no distiller and its connectors (``distiller.*``), no EMA counter.
    It loads with ``strict=True`` into the model built from the student's config, e.g. the plain student recipe.

    Which weights, with an EMA (mmengine's ``EMAHook``, which MMYOLO/RTMDet configs enable through
    ``custom_hooks``): before saving, the hook stores its averaged model as ``checkpoint['ema_state_dict']`` (keys
    ``module.<model key>`` plus ``steps``) and then *swaps* the two, so that ``checkpoint['state_dict']`` holds the
    EMA weights and ``ema_state_dict`` the raw, last-iteration ones (mmengine's docstring: "the original model
    parameters are actually saved in ema field"). The hook averages whatever model the Runner trains, here the
    whole distillation algorithm, so the student's EMA weights are its ``architecture.*`` entries; they are the
    weights the hook swaps in for validation, i.e. the ones a training run reports metrics for.

    - ``use_ema=True`` (default): the EMA weights when the checkpoint has an ``ema_state_dict``, otherwise the only
      weights there are (a run without EMA).
    - ``use_ema=False``: the raw weights (``ema_state_dict`` entries when present, else ``state_dict``).

    Args:
        checkpoint (str | dict): A checkpoint as ``torch.load`` returns it (a dict with ``state_dict``, optionally
            ``ema_state_dict``; a bare state_dict also works), or a path/URL, loaded on CPU with mmengine's
            ``CheckpointLoader``.
        use_ema (bool): Prefer the EMA weights. Defaults to True.
        prefix (str, optional): Prefix of the student's entries. Defaults to ``'architecture.'`` when some key
            starts with it (a distillation checkpoint) and to ``''`` otherwise (a plain model's checkpoint, returned
            whole).

    Returns:
        OrderedDict[str, Tensor]: The student's state_dict, in the checkpoint's order.

    Raises:
        KeyError: The checkpoint has no ``state_dict``-like mapping, or no entry under ``prefix``.
    """
    if isinstance(checkpoint, str):
        from mmengine.runner.checkpoint import CheckpointLoader
        checkpoint = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = _model_state(checkpoint)
    if prefix is None:
        prefix = STUDENT_PREFIX if any(k.startswith(STUDENT_PREFIX) for k in state) else ''
    ema_state = checkpoint.get('ema_state_dict') if isinstance(checkpoint.get('ema_state_dict'), Mapping) else None
    if ema_state is not None and not use_ema:
        # EMAHook swapped: the raw weights are in ema_state_dict under 'module.'.
        state = OrderedDict((k[len(EMA_PREFIX):], v) for k, v in ema_state.items() if k.startswith(EMA_PREFIX))
    student = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    if not student:
        raise KeyError(f'student_state_dict: no entry starts with {prefix!r}; keys look like {list(state)[:3]}')
    return student


def _model_state(checkpoint: Mapping[str, Any]) -> Dict[str, Any]:
    """``checkpoint['state_dict']`` (mmengine/MMRazor), ``checkpoint['model']`` (some zoos), or a bare state_dict."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), Mapping):
            return checkpoint[key]
    if checkpoint and all(isinstance(k, str) for k in checkpoint) and any(isinstance(v, Tensor)
                                                                           for v in checkpoint.values()):
        return dict(checkpoint)
    raise KeyError(f'student_state_dict: the checkpoint has no state_dict; its keys: {sorted(checkpoint)[:10]}')
