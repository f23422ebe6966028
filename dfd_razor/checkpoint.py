"""Checkpoints, in one place: reading (local or remote, one rule), unwrapping (``state_dict``, ``module.``), the
strict check and strict loading, and extracting the student or the teacher of a distillation checkpoint.

Every tool and the teacher loader go through these functions, so a checkpoint problem reads the same everywhere:
one line naming the option or config key that gave the path, the path, and what is wrong.
"""
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from torch import Tensor, nn


class StateMismatch(NamedTuple):
    """Keys of the model missing from the checkpoint (``num_batches_tracked`` buffers, absent from checkpoints of
    old BN layers, exempt), keys of the checkpoint the model lacks, and keys whose shapes differ."""
    missing: List[str]
    unexpected: List[str]
    shapes: List[str]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def summary(self) -> str:
        """One line: counts and the first keys of each kind."""
        return (f'{len(self.missing)} missing keys (e.g. {self.missing[:3]}), {len(self.unexpected)} unexpected '
                f'keys (e.g. {self.unexpected[:3]}), {len(self.shapes)} shape mismatches (e.g. {self.shapes[:3]})')

    def details(self, limit: int = 10, unexpected: bool = True) -> List[str]:
        """One line per key, the first ``limit`` of each kind: ``missing: K``, ``shape: K: ...``, ``unexpected: K``."""
        kinds = [('missing', self.missing), ('shape', self.shapes)] + ([('unexpected', self.unexpected)]
                                                                        if unexpected else [])
        lines: List[str] = []
        for kind, keys in kinds:
            lines += [f'  {kind}: {k}' for k in keys[:limit]] + (['  ...'] if len(keys) > limit else [])
        return lines


def state_mismatch(own: Mapping[str, Any], state: Mapping[str, Any]) -> StateMismatch:
    """How ``state`` (a checkpoint's state_dict) differs from ``own`` (a model's state_dict)."""
    missing = [k for k in own if k not in state and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}' for k, v in own.items()
              if k in state and hasattr(state[k], 'shape') and tuple(state[k].shape) != tuple(v.shape)]
    return StateMismatch(missing, unexpected, shapes)


def read_checkpoint(path: str, key: str) -> Any:
    """Load a checkpoint (local path or URL, as mmengine's ``CheckpointLoader``) to CPU.

    A file that cannot be read is a one-line :class:`~dfd_razor.errors.RecipeError` naming ``key`` (the option or
    config key that gave the path) and the path, instead of torch's multi-line error deep in a Runner.

    Args:
        path (str): Checkpoint path or URL.
        key (str): What gave the path, for the message (``'model.teacher_ckpt'``, ``'--resume'``, ...).

    Raises:
        RecipeFileNotFoundError: ``path`` is a local path that does not exist.
        RecipeValueError: ``path`` exists but is not a readable checkpoint (truncated, corrupt, another format), or
            holds objects that ``torch.load(weights_only=True)`` refuses.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    from .errors import RecipeFileNotFoundError
    remote = is_remote(path)
    if not remote and not osp.isfile(path):
        raise RecipeFileNotFoundError(f'{key}: checkpoint file not found: {path}')
    try:
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    except _LOAD_ERRORS as e:
        raise _unreadable(path, key, e, remote) from e


def check_checkpoint_readable(path: str, key: str) -> None:
    """Fail early, with :func:`read_checkpoint`'s one-line errors, on a local checkpoint that cannot be loaded.

    A zip checkpoint (``torch.save``'s format since torch 1.6) is opened memory-mapped: its pickle is read, its
    tensors are not, so this costs little even for a large file. Other files (the legacy format) are loaded.
    """
    import zipfile

    import torch

    from .errors import RecipeFileNotFoundError
    if is_remote(path):
        return
    if not osp.isfile(path):
        raise RecipeFileNotFoundError(f'{key}: checkpoint file not found: {path}')
    try:
        torch.load(path, map_location='cpu', weights_only=True, mmap=zipfile.is_zipfile(path))
    except _LOAD_ERRORS as e:
        raise _unreadable(path, key, e, False) from e


# What torch.load raises on a file that is not a checkpoint: RuntimeError (a zip without its central directory, i.e.
# truncated), UnpicklingError (not a pickle, or objects weights_only refuses), EOFError (empty), and OSError/ValueError
# from the file layer. URL downloads raise OSError subclasses (URLError).
_LOAD_ERRORS = (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError)


def _unreadable(path: str, key: str, error: BaseException, remote: bool) -> Exception:
    from .errors import RecipeValueError
    message = str(error)
    if 'WeightsUnpickler error:' in message:  # torch's weights-only refusal: the useful part is after this marker
        reason = message.split('WeightsUnpickler error:', 1)[1].strip().splitlines()[0]
    else:
        lines = [ln for ln in message.splitlines() if ln.strip()]
        reason = lines[0].split('. ')[0].rstrip('.') if lines else 'unexpected end of file'
    reason = f'{type(error).__name__}: {reason}'
    if 'Unsupported global' in reason:
        return RecipeValueError(f'{key}: {path} holds objects that torch.load(weights_only=True) refuses ({reason}); '
                                'load it yourself with weights_only=False only if you trust the file')
    if remote:
        return RecipeValueError(f'{key}: {path} can not be loaded ({reason})')
    return RecipeValueError(f'{key}: {path} is not a readable checkpoint, truncated or corrupt? ({reason})')


# ---- where a checkpoint is, and what it holds -------------------------------------------------------------------
def is_remote(path: str) -> bool:
    """The one rule for a checkpoint that is not a local file: a URL-like ``scheme://`` path (``http(s)://``,
    ``s3://``, ``torchvision://``, ``open-mmlab://``, ...), which mmengine's ``CheckpointLoader`` resolves."""
    return '://' in path


def require_checkpoint(path: str, key: str) -> None:
    """Fail at once, naming ``key``, when a local checkpoint path does not exist (a remote one is checked when read).

    Raises:
        RecipeFileNotFoundError: ``path`` is local and is not a file.
    """
    from .errors import RecipeFileNotFoundError
    if not is_remote(path) and not osp.isfile(path):
        raise RecipeFileNotFoundError(f'{key}: checkpoint file not found: {path}')


def model_state(checkpoint: Any, path: str, key: str) -> Tuple[Dict[str, Any], List[str]]:
    """Unwrap a loaded checkpoint into a model state_dict, saying what was unwrapped.

    Accepted layouts: mmengine/MMRazor's ``{'state_dict': ...}``, some zoos' ``{'model': ...}``, and a bare
    state_dict (``torch.save(model.state_dict())``); keys saved from a DataParallel/DDP wrapper lose their
    ``module.`` prefix.

    Args:
        checkpoint: What :func:`read_checkpoint` returned.
        path (str): The checkpoint's path, for the messages.
        key (str): The option or config key that gave the path, for the error.

    Returns:
        tuple[dict, list[str]]: The state_dict and one note per unwrapping step (empty when none was needed),
        for the caller's log.

    Raises:
        RecipeValueError: ``checkpoint`` is not a dict, or holds no state_dict-like mapping.
    """
    from .errors import RecipeValueError
    if not isinstance(checkpoint, Mapping):
        raise RecipeValueError(f'{key}: {path} holds a {type(checkpoint).__name__}, not a checkpoint dict or a '
                               'state_dict')
    notes: List[str] = []
    for wrapper in ('state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper), Mapping):
            state = dict(checkpoint[wrapper])
            break
    else:
        if not (checkpoint and all(isinstance(k, str) for k in checkpoint)
                and any(hasattr(v, 'shape') for v in checkpoint.values())):
            raise RecipeValueError(f'{key}: {path} holds no state_dict; its keys: {sorted(checkpoint)[:10]}')
        state = dict(checkpoint)
        notes.append(f"no 'state_dict' key, read as a bare state_dict ({len(state)} entries)")
    prefixed = [k for k in state if k.startswith(DDP_PREFIX)]
    if prefixed:  # saved from a DataParallel / DistributedDataParallel wrapper
        state = {(k[len(DDP_PREFIX):] if k.startswith(DDP_PREFIX) else k): v for k, v in state.items()}
        notes.append(f"stripped the 'module.' prefix (DataParallel/DDP) from {len(prefixed)} of {len(state)} keys")
    return state, notes


def load_state_strictly(module: nn.Module, state: Mapping[str, Any], path: str, key: str,
                        allow_unexpected: bool = False) -> StateMismatch:
    """Load ``state`` into ``module`` after checking that it covers every tensor with the right shape.

    Args:
        module (nn.Module): The model (or submodule) to load into.
        state (Mapping): A state_dict, e.g. from :func:`model_state` or :func:`extract`.
        path (str): The checkpoint's path, for the message.
        key (str): The option or config key that gave the path, for the message.
        allow_unexpected (bool): Accept checkpoint keys the module lacks (they are returned, not loaded).

    Returns:
        StateMismatch: What differed (only ``unexpected`` can be non-empty on return).

    Raises:
        RecipeValueError: A tensor of ``module`` is missing or mis-shaped, or (unless ``allow_unexpected``) the
            checkpoint holds keys ``module`` lacks; the message names ``key``, ``path``, the module's type and
            the first keys of each kind.
    """
    from .errors import RecipeValueError
    own = module.state_dict()
    mismatch = state_mismatch(own, state)
    if mismatch.missing or mismatch.shapes or (mismatch.unexpected and not allow_unexpected):
        lines = [f'{key}: {path} does not fit {type(module).__name__}: {mismatch.summary()}']
        raise RecipeValueError('\n'.join(lines + mismatch.details(unexpected=not allow_unexpected)))
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    return mismatch


def extract(state: Mapping[str, Any], prefix: str) -> 'OrderedDict[str, Any]':
    """The entries of ``state`` under ``prefix`` (``'architecture.'``, ``'teacher.'``), with the prefix removed."""
    return OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))


#: Prefix of the student's entries in an MMRazor distillation algorithm's state_dict (``algorithm.architecture``).
STUDENT_PREFIX = 'architecture.'
#: Prefix of the teacher's entries in an MMRazor distillation algorithm's state_dict.
TEACHER_PREFIX = 'teacher.'
#: Prefix of every model entry in an mmengine ``EMAHook`` checkpoint's ``ema_state_dict`` (``AveragedModel.module``).
EMA_PREFIX = 'module.'
#: Prefix of the keys of a model saved from a DataParallel/DistributedDataParallel wrapper.
DDP_PREFIX = 'module.'


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
            ``ema_state_dict``; a bare state_dict also works), or a path/URL, read with :func:`read_checkpoint`.
        use_ema (bool): Prefer the EMA weights. Defaults to True.
        prefix (str, optional): Prefix of the student's entries. Defaults to ``'architecture.'`` when some key
            starts with it (a distillation checkpoint) and to ``''`` otherwise (a plain model's checkpoint, returned
            whole).

    Returns:
        OrderedDict[str, Tensor]: The student's state_dict, in the checkpoint's order.

    Raises:
        KeyError: The checkpoint has no ``state_dict``-like mapping, or no entry under ``prefix``.
    """
    from .errors import RecipeValueError
    path = checkpoint if isinstance(checkpoint, str) else '<checkpoint>'
    if isinstance(checkpoint, str):
        checkpoint = read_checkpoint(checkpoint, 'checkpoint')
    try:
        state, _ = model_state(checkpoint, path, 'checkpoint')
    except RecipeValueError as e:
        raise KeyError(f'student_state_dict: the checkpoint has no state_dict ({e})') from e
    if prefix is None:
        prefix = STUDENT_PREFIX if any(k.startswith(STUDENT_PREFIX) for k in state) else ''
    ema_state = checkpoint.get('ema_state_dict') if isinstance(checkpoint.get('ema_state_dict'), Mapping) else None
    if ema_state is not None and not use_ema:
        # EMAHook swapped: the raw weights are in ema_state_dict under 'module.'.
        state = extract(ema_state, EMA_PREFIX)
    student = extract(state, prefix)
    if not student:
        raise KeyError(f'student_state_dict: no entry starts with {prefix!r}; keys look like {list(state)[:3]}')
    return student
