"""Whether the task head reads a tapped map: the doctor's check of where a recipe taps its student.

A feature loss only helps the task when the map it imitates is one the task head computes from. A map upstream of
a decoder's fusion (UPerHead's PSP ``bottleneck``, whose output is added into the FPN laterals and concatenated with
them before ``fpn_bottleneck``, which the classifier reads) trains a branch the classifier sees only mixed with
others; the loss runs and falls, and nothing says the tap is wrong.

:func:`trace_modules` records, during one forward, every module call of a model with the tensors it received and
returned (their ``id``: the tensors are kept alive for the trace, so no id is reused). :func:`tap_checks` then
follows each tapped tensor:

- **read**: a module outside the tapped one (not its ancestor, not inside it) takes it as an input, as it is, or
  through parameterless modules (dropout, activation, pooling): the next stage (``neck`` -> ``bbox_head``), the next
  layer, or the classifier (``decode_head.bottleneck`` -> ``decode_head.dropout`` -> ``decode_head.conv_seg``);
- **an output**: the tapped module is its stage's last module with parameters (the classifier itself: logits
  distillation), or an enclosing module returns the tensor as it is (the model's output);
- otherwise the map reaches the rest of the model only through tensor operations (a sum, a concatenation, a
  resize): a warning names the tapped module, the classifier of its stage (the last module with parameters that
  ran there) and the module whose output that classifier reads, which is where to tap.
"""
import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from torch import Tensor, nn


def _tensors(obj: Any, depth: int = 0) -> List[Tensor]:
    """The tensors in a module's inputs or outputs (inside lists, tuples and dicts, four levels deep)."""
    if isinstance(obj, Tensor):
        return [obj]
    if depth >= 4:
        return []
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o, depth + 1)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o, depth + 1)]
    return []


@dataclass
class Call:
    """One module call of a traced forward, in the order calls finished (a module after the modules it called)."""
    name: str  # as in named_modules(); '' for the root
    inputs: Set[int]  # ids of the tensors it received
    outputs: Set[int]  # ids of the tensors it returned
    output: Any  # what it returned
    has_params: bool  # the module or a submodule has parameters
    leaf: bool  # the module has no submodules


@contextlib.contextmanager
def trace_modules(root: nn.Module) -> Iterator[List[Call]]:
    """Record every module call of ``root`` (and its submodules) while the block runs.

    Yields the list the calls are appended to. Every tensor a call receives or returns is kept referenced until
    the block ends, so that tensor ids identify tensors for the whole trace.
    """
    calls: List[Call] = []
    keep: List[Tensor] = []
    handles = []
    for name, module in root.named_modules():
        has_params = any(True for _ in module.parameters())
        leaf = not any(True for _ in module.children())

        def hook(module: nn.Module, args: Any, kwargs: Any, output: Any, name: str = name,
                 has_params: bool = has_params, leaf: bool = leaf) -> None:
            inputs, outputs = _tensors((args, kwargs)), _tensors(output)
            keep.extend(inputs + outputs)
            calls.append(Call(name, {id(t) for t in inputs}, {id(t) for t in outputs}, output, has_params, leaf))

        handles.append(module.register_forward_hook(hook, with_kwargs=True))
    try:
        yield calls
    finally:
        for handle in handles:
            handle.remove()
        keep.clear()


@dataclass
class TapCheck:
    """Who reads one tapped map in a traced forward."""
    label: str  # the level (distill loss) that reads the map
    module: str  # the tapped module
    index: Optional[int]  # the output it picks, for modules that return several
    readers: List[str] = field(default_factory=list)  # outermost modules with parameters that read it as it is
    output_of: Optional[str] = None  # 'classifier' (the stage's output layer) or the enclosing module returning it
    classifier: Optional[str] = None  # the last module with parameters that ran in the tapped module's stage
    classifier_reads: Optional[str] = None  # the module whose output that classifier reads

    @property
    def tap(self) -> str:
        return self.module + (f'[{self.index}]' if self.index is not None else '')

    @property
    def ok(self) -> bool:
        return bool(self.readers) or self.output_of is not None

    def describe(self) -> str:
        """One line: the tap and who reads it."""
        if self.readers:
            return f'{self.tap} -> read by {", ".join(self.readers[:4])}' + (' ...' if len(self.readers) > 4 else '')
        if self.output_of == 'classifier':
            return f'{self.tap} -> the output of its stage\'s classifier (a head output: logits, predictions)'
        if self.output_of is not None:
            return f'{self.tap} -> returned as it is by {self.output_of or "the model"} (an output)'
        return f'{self.tap} -> read by no module as it is'

    def warning(self) -> str:
        """The warning for a map the task head does not read; empty when it does."""
        if self.ok:
            return ''
        text = (f'{self.label}: no module reads the tapped {self.tap} as it is (tensor operations combine it with '
                'other maps first), so the loss trains a map the task head only sees mixed')
        if self.classifier and self.classifier_reads:
            text += (f'; the classifier {self.classifier} reads {self.classifier_reads}: tap that module (the '
                     "recorders' source), or the stage's output")
        elif self.classifier:
            text += (f'; the classifier {self.classifier} reads a map no module returns (computed by tensor '
                     'operations): tap the modules that feed it, or the previous stage\'s output')
        return text


def _related(name: str, module: str) -> bool:
    """``name`` is ``module``, an ancestor of it (the root included) or inside it."""
    return name == module or name == '' or module.startswith(name + '.') or name.startswith(module + '.')


def _outermost(names: Sequence[str]) -> List[str]:
    unique = list(dict.fromkeys(names))
    return [n for n in unique if not any(n.startswith(o + '.') for o in unique if o != n)]


def _producer(calls: Sequence[Call], consumer: Call, stage: str) -> Optional[str]:
    """The outermost module of ``stage`` whose output ``consumer`` reads, looking through parameterless modules."""
    ids, current = consumer.inputs, consumer
    for _ in range(16):
        producers = [c for c in calls if c.outputs & ids and c.name.startswith(stage + '.') and c.name != current.name
                     and not current.name.startswith(c.name + '.')]
        if not producers:
            return None
        outer = min(producers, key=lambda c: c.name.count('.'))
        if outer.has_params:
            return outer.name
        ids, current = outer.inputs, outer
    return None


def tap_checks(calls: Sequence[Call], taps: Sequence[Tuple[str, str, Optional[int]]]) -> List[TapCheck]:
    """Follow each tap through a trace (:func:`trace_modules`); the module's first call is the tapped one (the
    record MMRazor's ``ModuleOutputs`` recorders read by default).

    Args:
        calls: The trace.
        taps: ``(label, module name, output index or None)`` per tapped map.

    Returns:
        list[TapCheck]: one per tap whose module ran in the traced forward.
    """
    checks = []
    for label, module, index in taps:
        first = next((c for c in calls if c.name == module), None)
        if first is None:
            continue
        output = first.output
        if index is not None and isinstance(output, (list, tuple)) and -len(output) <= index < len(output):
            output = output[index]
        tapped = {id(t) for t in _tensors(output)}
        check = TapCheck(label, module, index)
        frontier, seen, readers = set(tapped), set(), []
        grown = True
        while grown:  # follow the map through parameterless modules (dropout, activations, pooling)
            grown = False
            for call in calls:
                if call.name in seen or _related(call.name, module) or not call.inputs & frontier:
                    continue
                seen.add(call.name)
                if call.has_params:
                    readers.append(call.name)
                else:
                    frontier |= call.outputs
                    grown = True
        check.readers = _outermost(readers)
        stage = module.split('.')[0]
        in_stage = [c for c in calls if c.leaf and c.has_params and (c.name == stage or c.name.startswith(stage + '.'))]
        check.classifier = in_stage[-1].name if in_stage else None
        if check.classifier and (check.classifier == module or check.classifier.startswith(module + '.')):
            check.output_of = 'classifier'
        else:
            enclosing = [c.name for c in calls if c.outputs & tapped and c.name != module
                         and (c.name == '' or module.startswith(c.name + '.'))]
            if enclosing and not check.readers:
                check.output_of = min(enclosing, key=len)
        if not check.ok and check.classifier and '.' in module:
            consumer = next(c for c in reversed(calls) if c.name == check.classifier)
            check.classifier_reads = _producer(calls, consumer, stage)
        checks.append(check)
    return checks


def check_taps(model: nn.Module, taps: Sequence[Tuple[str, str, Optional[int]]],
               forward: Callable[[], Any]) -> List[TapCheck]:
    """Run ``forward()`` (a forward of ``model``, or of an algorithm containing it) while tracing ``model``, and
    check each tap of ``model`` (:func:`tap_checks`)."""
    with trace_modules(model) as calls:
        forward()
        return tap_checks(calls, taps)


def student_taps(distiller: Any) -> List[Tuple[str, str, Optional[int]]]:
    """``(loss name, module, data_idx)`` of the student maps each distill loss of an MMRazor distiller reads, one per
    distinct (module, index) per loss."""
    taps: Dict[Tuple[str, str, Optional[int]], None] = {}
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        for record in mapping.values():
            if not record.get('from_student'):
                continue
            recorder = distiller.student_recorders.get_recorder(record['recorder'])
            source = getattr(recorder, 'source', None)
            if isinstance(source, str):
                taps[(loss_name, source, record.get('data_idx'))] = None
    return list(taps)
