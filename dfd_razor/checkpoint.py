"""Comparing a checkpoint's tensors with a model's: the one check behind every strict load in dfd_razor; reading a
checkpoint file with one-line errors."""
import os.path as osp
import pickle
from typing import Any, List, Mapping, NamedTuple


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
        return (f'{len(self.missing)} missing (e.g. {self.missing[:3]}), {len(self.unexpected)} unexpected '
                f'(e.g. {self.unexpected[:3]}), {len(self.shapes)} shape mismatches (e.g. {self.shapes[:3]})')


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
    remote = '://' in path
    if not remote and not osp.isfile(path):
        raise RecipeFileNotFoundError(f'{key}: {path} can not be found')
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
    if '://' in path:
        return
    if not osp.isfile(path):
        raise RecipeFileNotFoundError(f'{key}: {path} can not be found')
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
