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


# ---- do the student's and the teacher's taps correspond? ------------------------------------------------------------
#: Within-stage depths further apart than this are a warning (:meth:`TapPair.findings`). Chosen so that every shipped
#: recipe passes (the deepest gap among them, stage outputs of backbones of different depths, is well below it) and a
#: tap one stage off in a 4-stage backbone (about 0.3 to 0.5 apart) is flagged.
DEPTH_GAP = 0.25


def stage_depth(calls: Sequence[Call], module: str) -> Optional[float]:
    r"""How far through its stage a module's first call returned: the fraction of the stage's calls of leaf modules
    with parameters that had finished then, :math:`d = |\{\text{leaf calls of the stage done}\}| / |\{\text{leaf calls
    of the stage}\}|` (1 for the stage itself, e.g. ``backbone``; about 0.6 for the third of four backbone stages).
    The stage is the module name's first component; None when the module did not run."""
    stage = module.split('.')[0]
    position = next((i for i, c in enumerate(calls) if c.name == module), None)
    leaves = [i for i, c in enumerate(calls) if c.leaf and c.has_params and (c.name + '.').startswith(stage + '.')]
    if position is None or not leaves:
        return None
    return sum(1 for i in leaves if i <= position) / len(leaves)


@dataclass
class TapPair:
    """One loss's student tap and teacher tap, and what each map is: the shape recorded (before connectors), and how
    deep in its stage the tapped module returned (:func:`stage_depth`)."""
    label: str  # the distill loss
    student: str  # 'backbone.stage3' or 'neck[2]'
    teacher: str
    student_shape: Tuple[int, ...]
    teacher_shape: Tuple[int, ...]
    student_depth: Optional[float]
    teacher_depth: Optional[float]
    aligned: bool  # a connector sits between the student's map and the loss

    def describe(self) -> str:
        """One line: both taps, their shapes and depths."""
        def side(tap: str, shape: Tuple[int, ...], depth: Optional[float]) -> str:
            return f'{tap} {shape}' + (f' at {depth:.2f} of {tap.split(".")[0].split("[")[0]}' if depth else '')
        return (f'student {side(self.student, self.student_shape, self.student_depth)} ~ teacher '
                f'{side(self.teacher, self.teacher_shape, self.teacher_depth)}')

    def findings(self) -> Tuple[List[str], List[str]]:
        """(problems, warnings): taps in different stages, maps of different resolution (another output stride:
        a loss that resizes runs without complaint), maps of different channels with no connector between; depths
        in the stage more than :data:`DEPTH_GAP` apart (a warning: backbones of different depths put a stage's
        output at different fractions, but not a whole stage apart)."""
        problems, warnings = [], []
        s_stage, t_stage = (tap.split('.')[0].split('[')[0] for tap in (self.student, self.teacher))
        where = f'{self.label}: the student taps {self.student}, the teacher {self.teacher}'
        if s_stage != t_stage:
            problems.append(f'{where}: different stages ({s_stage} vs {t_stage}); tap the same stage of both')
        if len(self.student_shape) == len(self.teacher_shape) >= 3 and \
                self.student_shape[2:] != self.teacher_shape[2:]:
            problems.append(f'{where}: maps of different size {self.student_shape[2:]} vs {self.teacher_shape[2:]} '
                            'on the same input (another output stride): tap the outputs of the same stride')
        if len(self.student_shape) >= 2 and len(self.teacher_shape) >= 2 and not self.aligned and \
                self.student_shape[1] != self.teacher_shape[1]:
            problems.append(f'{where}: {self.student_shape[1]} vs {self.teacher_shape[1]} channels and no connector '
                            'between: tap maps of equal width or add an alignment connector (the *_align methods)')
        if self.student_depth is not None and self.teacher_depth is not None and s_stage == t_stage and \
                abs(self.student_depth - self.teacher_depth) > DEPTH_GAP:
            warnings.append(f'{where}: at {self.student_depth:.2f} vs {self.teacher_depth:.2f} of their {s_stage} '
                            '(the fraction of its layers run): probably not the same stage of the two models')
        return problems, warnings


def tap_pairs(distiller: Any, student_calls: Sequence[Call], teacher_calls: Sequence[Call]) -> List[TapPair]:
    """Per distill loss, its first student tap and its first teacher tap (by the mapping's order), after a forward
    traced on both models (:func:`trace_modules`) that left the distiller's recorders filled."""
    pairs = []
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        found: Dict[bool, Tuple[str, Tuple[int, ...], Optional[float], bool]] = {}
        for record in mapping.values():
            side = bool(record.get('from_student'))
            if side in found or 'recorder' not in record:
                continue
            managers = distiller.student_recorders if side else distiller.teacher_recorders
            source = getattr(managers.get_recorder(record['recorder']), 'source', None)
            raw = distiller.get_record(**{k: v for k, v in record.items() if k not in ('connector', 'connector_idx')})
            if not isinstance(source, str) or not isinstance(raw, Tensor):
                continue
            idx = record.get('data_idx')
            tap = source + (f'[{idx}]' if idx is not None else '')
            aligned = side and any(r.get('connector') and r.get('from_student') and r.get('recorder') ==
                                   record['recorder'] and r.get('data_idx') == idx and
                                   not _is_transform(distiller, r['connector']) for r in mapping.values())
            found[side] = (tap, tuple(raw.shape), stage_depth(student_calls if side else teacher_calls, source),
                           aligned)
        if True in found and False in found:
            (s_tap, s_shape, s_depth, aligned), (t_tap, t_shape, t_depth, _) = found[True], found[False]
            pairs.append(TapPair(loss_name, s_tap, t_tap, s_shape, t_shape, s_depth, t_depth, aligned))
    return pairs


def _is_transform(distiller: Any, connector: str) -> bool:
    """DFD's transform (``DFDConnector`` with equal widths) maps the student to a prediction, not to the teacher's
    width; any other connector on a student input is taken as aligning its channels."""
    module = distiller.connectors[connector]
    return type(module).__name__ == 'DFDConnector' and module.in_channels == module.out_channels
