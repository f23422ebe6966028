"""Comparing a checkpoint's tensors with a model's: the one check behind every strict load in dfd_razor."""
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
