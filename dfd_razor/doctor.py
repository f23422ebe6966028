"""The distillation doctor: what a distillation algorithm really computes on one batch, and what is wrong with it.

One implementation serves ``tools/inspect_distill.py`` (a user's recipe, a batch of its own dataloader) and the
recipe smoke test (every shipped recipe, a tiny batch). :func:`diagnose` runs one training forward of an MMRazor
distillation algorithm (``model.loss``), then, for every distill term:

- its value as logged (weighted) and unweighted (divided by the weight the loss module applies), its ratio to
  the task loss, and for DFD the fraction of positions in the HD region;
- whether its gradient reaches the student module each of its inputs taps, and which connectors (those with
  parameters: a connector without any, e.g. MMRazor's ``NormConnector`` with a BN without affine parameters, cannot
  receive gradient and is not checked);
- whether any of it reaches the teacher;

plus, per loss (level), the recorded student/teacher shapes and the connectors with their parameter counts, which
student module reads each tapped map in the same forward (:mod:`dfd_razor.tap_check`: a map no module reads as it
is, such as one upstream of a decoder's fusion, is a warning naming the module the classifier reads instead),
whether the student's and the teacher's taps of each loss correspond (:class:`dfd_razor.tap_check.TapPair`: the same
stage, the same resolution, the same width or a connector between, a similar depth in the stage), and the teacher
checkpoint's coverage. :attr:`DistillReport.problems` names what would make a distillation run
silently useless: a zero or non-finite term, a term whose gradient reaches no student module, a connector with
parameters that no term trains, a teacher that receives gradient, a teacher that was not loaded, taps of the two
models in different stages or at different resolutions.
"""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .models.losses.weights import term_weight, weight_values
from .tap_check import TapCheck, TapPair, student_taps, tap_checks, tap_pairs, trace_modules

@dataclass
class LossInputs:
    """One distill loss (usually one level): what each of its arguments records, and the connectors it uses."""
    name: str
    inputs: Dict[str, str]  # argument -> 'student neck[2] -> trans_fpn2: (2, 128, 40, 40)'
    connectors: Dict[str, int]  # connector name -> parameter count


@dataclass
class Term:
    """One logged distill term (a loss, or one named term of a loss that returns a dict)."""
    name: str  # as logged, without the 'distill.' prefix
    loss: str  # the distill loss (level) it comes from
    weighted: float
    weight: Optional[float]
    ratio: float  # weighted / task loss
    student_grad: Dict[str, bool]  # tapped student module -> receives gradient from this term
    connector_grad: Dict[str, bool]
    teacher_grad: bool
    hd_fraction: Optional[float] = None

    @property
    def unweighted(self) -> Optional[float]:
        return self.weighted / self.weight if self.weight else None


@dataclass
class DistillReport:
    losses: List[LossInputs]
    terms: List[Term]
    task_loss: float
    teacher: str  # what was loaded into the teacher
    problems: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    taps: List[TapCheck] = field(default_factory=list)  # who reads each tapped student map (tap_check)
    pairs: List[TapPair] = field(default_factory=list)  # each loss's student and teacher taps (tap_check)

    @property
    def distill_loss(self) -> float:
        return sum(t.weighted for t in self.terms)

    def suggest_factor(self, ratio: float) -> float:
        """The factor on every distill weight that makes the whole distill loss ``ratio`` times the task loss on
        this batch."""
        return ratio * self.task_loss / self.distill_loss if self.distill_loss else float('nan')

    def table(self) -> str:
        """The report as plain text, one table per section."""
        out = ['levels / losses:']
        for loss in self.losses:
            out.append(f'  {loss.name}')
            out += [f'    {arg}: {desc}' for arg, desc in loss.inputs.items()]
            if loss.connectors:
                out.append('    connectors: ' + ', '.join(f'{k} ({v:,} params)' for k, v in loss.connectors.items()))
        out += ['', f'task loss {self.task_loss:.4g}; distill loss {self.distill_loss:.4g} '
                f'(ratio {self.distill_loss / self.task_loss if self.task_loss else float("nan"):.3g})', '',
                f'{"term":34} {"weighted":>10} {"weight":>9} {"unweighted":>11} {"/task":>8} {"HD":>6}  gradient']
        for t in self.terms:
            grads = ', '.join(f'{k} {"yes" if v else "NO"}' for k, v in {**t.student_grad, **t.connector_grad}.items())
            grads += f'; teacher {"YES" if t.teacher_grad else "no"}'
            out.append(f'{t.name:34} {t.weighted:>10.4g} {t.weight if t.weight is not None else float("nan"):>9.3g} '
                       f'{t.unweighted if t.unweighted is not None else float("nan"):>11.4g} {t.ratio:>8.3g} '
                       f'{"" if t.hd_fraction is None else f"{t.hd_fraction:.2f}":>6}  {grads}')
        if self.taps:
            out += ['', 'taps (who reads each tapped student map in the forward):']
            out += [f'  {t.label}: {t.describe()}' for t in self.taps]
        if self.pairs:
            out += ['', 'tap pairs (the student\'s and the teacher\'s map of each loss, before connectors):']
            out += [f'  {p.label}: {p.describe()}' for p in self.pairs]
        out += ['', f'teacher: {self.teacher}']
        out += [''] + [f'warning: {w}' for w in self.warnings]
        out += [f'PROBLEM: {p}' for p in self.problems] or ['no problem found']
        return '\n'.join(out)


def _value(v: Any) -> Tensor:
    if isinstance(v, (list, tuple)):
        return sum(x.mean() for x in v)
    return v.mean() if v.dim() else v


def weight_args(module: nn.Module) -> Dict[str, float]:
    """The weight arguments of a loss module and their values, as the loss declares them
    (:func:`dfd_razor.models.losses.declared_weights`); empty for a loss that declares none."""
    try:
        return weight_values(module)
    except KeyError:
        return {}


def _weight_of(module: nn.Module, term: str) -> Optional[float]:
    """The weight a loss module multiplied the logged ``term`` by (its declaration), None where none is declared."""
    try:
        return term_weight(module, term)
    except KeyError:
        return None


def _describe(record: Any) -> str:
    if isinstance(record, Tensor):
        return str(tuple(record.shape))
    if isinstance(record, (list, tuple)):
        return '[' + ', '.join(_describe(r) for r in record) + ']'
    return type(record).__name__


def _source_module(model: nn.Module, recorders: Any, recorder: str) -> Tuple[str, Optional[nn.Module]]:
    rec = recorders.get_recorder(recorder)
    source = getattr(rec, 'source', recorder)
    try:
        return source, model.get_submodule(source)
    except AttributeError:
        return source, None


def _grads(loss: Tensor, params: Sequence[nn.Parameter]) -> bool:
    if not params or not loss.requires_grad:
        return False
    grads = torch.autograd.grad(loss, list(params), retain_graph=True, allow_unused=True)
    return any(g is not None and bool(g.abs().sum() > 0) for g in grads)


def diagnose(model: nn.Module, data: Dict[str, Any], teacher: str = 'loaded') -> DistillReport:
    """Run one training forward of ``model`` (an MMRazor distillation algorithm) on ``data`` and inspect it.

    A term that is zero on 1x1 maps (CWD's spatial softmax, DFD's LD region: trivial on one position), an LD
    term that is zero because every position is HD, an FGD background term that is zero because the boxes cover
    the whole map, or a term without student gradient on maps of at most 4 positions (MGD's random mask can cover
    them all), or a connector without gradient there, is a warning, not a problem: nothing is wired wrong.
    A connector without parameters (MMRazor's ``NormConnector``: a BN without affine parameters or running
    statistics, which MMYOLO's RTMDet recipes put on the teacher's maps) has nothing to receive gradient: it is
    listed with its inputs (0 params) but left out of the gradient checks and of the terms' ``connector_grad``.

    Args:
        model (nn.Module): The algorithm, built and initialised (``init_weights``), in train mode.
        data (dict): A batch after the algorithm's data preprocessor (``inputs``, ``data_samples``).
        teacher (str): What the teacher holds, for the report (e.g. ``'540/540 tensors from teacher.pth'``).

    Returns:
        DistillReport: the tables and the problems found (empty when none).
    """
    distiller = model.distiller
    # which module reads each tapped map, and whether the student's and the teacher's taps correspond (tap_check)
    with trace_modules(model.student) as calls, trace_modules(model.teacher) as teacher_calls:
        losses = model(**data, mode='loss')
        taps = tap_checks(calls, student_taps(distiller))
        pairs = tap_pairs(distiller, calls, teacher_calls)
    problems: List[str] = []
    warnings: List[str] = []
    task = {k: _value(v) for k, v in losses.items() if 'loss' in k and not k.startswith('distill.')}
    task_total = sum(task.values()) if task else torch.tensor(float('nan'))
    task_loss = float(task_total.detach())
    if not math.isfinite(task_loss):
        problems.append(f'the task loss is not finite ({task_loss})')
    teacher_params = [p for p in model.teacher.parameters() if p.requires_grad]

    loss_infos, terms = [], []
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        module = distiller.distill_losses[loss_name]
        inputs, connectors, tapped, positions = {}, {}, {}, []
        for arg, rec in mapping.items():
            side = 'student' if rec['from_student'] else 'teacher'
            managers = distiller.student_recorders if rec['from_student'] else distiller.teacher_recorders
            root = model.student if rec['from_student'] else model.teacher
            source, submodule = _source_module(root, managers, rec['recorder'])
            idx = f'[{rec["data_idx"]}]' if rec.get('data_idx') is not None else ''
            desc = f'{side} {source}{idx}'
            record = distiller.get_record(**rec)
            positions.append(record.shape[2] * record.shape[3] if isinstance(record, Tensor) and record.dim() == 4
                             else None)
            if rec.get('connector'):
                desc += f' -> {rec["connector"]}'
                connector = distiller.connectors[rec['connector']]
                connectors[rec['connector']] = sum(p.numel() for p in connector.parameters())
            inputs[arg] = f'{desc}: {_describe(record)}'
            if rec['from_student']:
                if submodule is None:
                    problems.append(f'{loss_name}.{arg}: the student has no module {source!r} to tap')
                else:
                    tapped[source] = [p for p in submodule.parameters() if p.requires_grad]
        loss_infos.append(LossInputs(loss_name, inputs, connectors))
        one_position = all(p == 1 for p in positions)
        tiny = all(p is not None and p <= 4 for p in positions)
        stats = getattr(module, 'stats', None) or {}
        for key in [k for k in losses if k.startswith(f'distill.{loss_name}') and
                    (k == f'distill.{loss_name}' or k[len(f'distill.{loss_name}'):].startswith('_'))]:
            name = key[len('distill.'):]
            value = _value(losses[key])
            weighted = float(value.detach())
            term = Term(name=name, loss=loss_name, weighted=weighted, weight=_weight_of(module, name),
                        ratio=weighted / task_loss if task_loss else float('nan'),
                        student_grad={s: _grads(value, ps) for s, ps in tapped.items()},
                        connector_grad={c: _grads(value, [p for p in distiller.connectors[c].parameters()
                                                          if p.requires_grad]) for c in connectors
                                        if connectors[c]},  # a parameterless connector cannot receive gradient
                        teacher_grad=_grads(value, teacher_params),
                        hd_fraction=float(stats['hd_fraction']) if 'hd_fraction' in stats else None)
            terms.append(term)
            if not math.isfinite(weighted):
                problems.append(f'{name}: not finite ({weighted})')
            elif weighted == 0 and one_position:
                warnings.append(f'{name}: zero on 1x1 maps (one position: spatial distributions and DFD\'s HD/LD '
                                'split are trivial there); larger inputs give it a value')
            elif weighted == 0 and name.endswith('_ld') and term.hd_fraction == 1.0:
                warnings.append(f'{name}: zero because every position is HD on this batch (a constant disparity): '
                                'no LD region')
            elif weighted == 0 and name.endswith('_bg') and float(stats.get('fg_fraction', 0)) == 1.0:
                warnings.append(f'{name}: zero because the boxes cover the whole map on this batch (FGD): no '
                                'background region')
            elif weighted == 0:
                problems.append(f'{name}: zero (a zero weight, an empty region or identical features)')
            elif not any(term.student_grad.values()) and tiny:
                warnings.append(f'{name}: no gradient to the student on maps of {max(positions)} positions (a '
                                'random mask, as MGD\'s, can cover all of them); larger inputs give it one')
            elif not any(term.student_grad.values()):
                problems.append(f'{name}: its gradient reaches no tapped student module '
                                f'({", ".join(tapped) or "no student input"})')
            if term.teacher_grad:
                problems.append(f'{name}: gradient reaches the teacher')
        for conn in [c for c, n_params in connectors.items() if n_params]:  # parameterless ones: not checked
            if not any(t.connector_grad.get(conn) for t in terms if t.loss == loss_name):
                (warnings if tiny else problems).append(
                    f'{loss_name}: connector {conn} receives no gradient from any term' +
                    (f' on maps of {max(positions)} positions' if tiny else ''))
    if not terms:
        problems.append('no distill term was computed')
    if teacher.startswith('random'):
        warnings.append('the teacher is random: the values say nothing about a trained teacher')
    warnings += [t.warning() for t in taps if not t.ok]
    for pair in pairs:
        found, doubts = pair.findings()
        problems += found
        warnings += doubts
    return DistillReport(loss_infos, terms, task_loss, teacher, problems, warnings, taps, pairs)


def suggested_weights(model: nn.Module, report: DistillReport, ratio: float) -> Dict[str, Dict[str, float]]:
    """Per distill loss, its weight arguments scaled so that the whole distill loss is ``ratio`` x the task loss
    on the inspected batch (one common factor, keeping the terms' proportions; a starting point for tuning)."""
    factor = report.suggest_factor(ratio)
    return {loss_name: {k: v * factor for k, v in weight_args(module).items()}
            for loss_name, module in model.distiller.distill_losses.items()}


def custom_key_warnings(model: nn.Module, optim_wrapper: Optional[Dict[str, Any]]) -> List[str]:
    """Warnings for ``optim_wrapper.paramwise_cfg.custom_keys`` that reach the distiller's own parameters.

    mmengine's ``DefaultOptimWrapperConstructor`` gives a parameter the multipliers of the longest key contained in
    its full name. A student's key meant for its head (SegFormer's ``head: lr_mult=10``) is contained in
    ``distiller.connectors.trans_head0.conv.weight`` as well: the connector then trains at 10x the learning rate
    and nothing says so. One warning per key whose multipliers are not 1, naming the parameters it reaches.
    """
    keys = dict(((optim_wrapper or {}).get('paramwise_cfg') or {}).get('custom_keys') or {})
    if not keys:
        return []
    ordered = sorted(sorted(keys), key=len, reverse=True)  # mmengine's order: the longest key first
    reached: Dict[str, List[str]] = {}
    for name, _ in model.named_parameters():
        if not name.startswith('distiller.'):
            continue
        key = next((k for k in ordered if k in name), None)
        mults = dict(keys.get(key) or {})
        if key is not None and (mults.get('lr_mult', 1) != 1 or mults.get('decay_mult', 1) != 1):
            reached.setdefault(key, []).append(name)
    out = []
    for key, names in reached.items():
        mults = ', '.join(f'{k}={v:g}' for k, v in keys[key].items() if k in ('lr_mult', 'decay_mult'))
        modules = list(dict.fromkeys('.'.join(n.split('.')[:3]) for n in names))  # distiller.connectors.<name>
        out.append(f'optim_wrapper.paramwise_cfg.custom_keys[{key!r}] ({mults}) matches {len(names)} distiller '
                   f'parameter(s) ({", ".join(modules[:3])}{" ..." if len(modules) > 3 else ""}): they train at '
                   "those multipliers; add custom_keys['distiller']=dict(lr_mult=1.0, decay_mult=1.0) (the longest "
                   'matching key wins)')
    return out
