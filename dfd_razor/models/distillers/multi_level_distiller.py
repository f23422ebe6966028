"""A ConfigurableDistiller that writes the per-level blocks itself and logs named loss terms separately."""
import contextlib
import copy
import inspect
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.logging import MessageHub
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS

from ...errors import RecipeIndexError, RecipeKeyError, RecipeValueError
from ..utils.schedule import check_schedule, schedule_factor, training_progress

# Connector arguments filled with the level's student / teacher channels when a template leaves them out.
STUDENT_CHANNEL_ARGS = ('in_channels', 'in_channel', 'student_channels')
TEACHER_CHANNEL_ARGS = ('out_channels', 'out_channel', 'teacher_channels')


@MODELS.register_module()
class MultiLevelDistiller(ConfigurableDistiller):
    """MMRazor's ``ConfigurableDistiller`` with per-level generation and named loss terms.

    Upstream recipes repeat one connector/loss/mapping block per feature level by hand (MMRazor's MGD recipe: five
    near-identical blocks). Here ``levels`` describes one level once and the distiller writes, for level i
    (i-th entry of ``indices``, the ``data_idx`` into the recorded outputs):

    - connectors ``{key}_{name}{i}`` from each template in ``levels['connectors']``, where the channel
      arguments the template leaves out (``in_channels``/``in_channel``/``student_channels`` and
      ``out_channels``/``out_channel``/``teacher_channels``) are set to the level's channels;
    - a loss ``{loss_name}_{name}{i}`` from ``levels['loss']``, whose channel arguments (the same names; FGD's
      ``teacher_channels`` sizes its GcBlocks) are filled in the same way where the loss takes them;
    - its forward mapping from ``levels['inputs']``, with ``data_idx`` and connector names filled in.

    Hand-written ``connectors``, ``distill_losses`` and ``loss_forward_mappings`` may stand beside ``levels``.

    A loss may return a dict of named, already weighted terms (``DFDLoss`` returns ``{'hd', 'ld'}``); each
    becomes its own entry ``{loss}_{term}`` (logged as ``distill.loss_dfd_fpn0_hd``). A loss module's ``stats``
    dict, where it has one (``DFDLoss``: the HD fraction), is logged too, under the loss name with "loss" turned
    into "stat" (``distill.stat_dfd_fpn0_hd_fraction``): mmengine sums only the entries whose name contains
    "loss", so these are logged, never optimised. Errors raised inside a loss are re-raised with the loss
    (level) name in front. A level whose index is beyond the outputs of the tapped module (``indices=[0, ..., 7]``
    on a 5-output FPN) raises ``RecipeIndexError`` naming ``levels.indices``, the level, the module and its number
    of outputs.

    With ``check_finite`` (the default), every recorded student and teacher feature a loss reads is checked
    before the loss runs, and the first NaN/Inf raises a ``FloatingPointError`` naming the loss (level), the side,
    the record and the loss inputs read from it, and the training iteration (MessageHub's ``iter``, 0-based;
    ``unknown`` outside a Runner). Unchecked, a NaN feature gives a NaN attention and an all-LD mask, silently.
    The cost is one ``torch.isfinite(x).all()`` (one device synchronisation) per distinct recorded tensor.

    Losses that need the batch's annotations (FGD: the ground-truth boxes) say so with a class attribute
    ``needs_data_samples = True`` and take a ``data_samples`` forward argument. Recorders only see module outputs,
    so the algorithm hands the batch to the distiller explicitly: :class:`CheckedFpnTeacherDistill` and
    :class:`CheckedSingleTeacherDistill` run their whole ``loss`` inside :meth:`data_samples_context`, and
    :meth:`compute_distill_losses` passes those ``data_samples`` (or the ones given to it as an argument) to
    exactly the losses that declare the need. The reference lives as long as the ``with`` block, in a plain
    attribute: it is never in ``state_dict`` and never outlives the iteration. A loss that needs them when none
    were handed over (MMRazor's own algorithms do not) raises a ``ValueError`` naming the loss and what to use.

    With ``weight_schedule``, every distillation loss (each entry whose name contains "loss") is multiplied by a
    factor of the training progress, :func:`~dfd_razor.models.utils.schedule.schedule_factor`: constant, linear
    or cosine decay to a floor, a linear warm-up, a stop at a fraction of the schedule (MMYOLO's CWD recipes stop
    at epoch 280 of 300). The factor is read from the Runner's iteration each time, so a resumed run gets the
    same factor at each iteration as an uninterrupted one; it is logged as ``distill.stat_weight_factor``. Outside
    a training loop (the doctor) the losses are not scaled. The factor multiplies the loss's own weights, so a
    sweep of those weights and a schedule compose.

    Args:
        levels (dict, optional): ``name`` (str), ``indices`` (list of int, or None for recorders that hold
            one tensor), ``student_channels`` and ``teacher_channels`` (int, or a list with one entry per
            level), ``connectors`` (dict of connector templates), ``loss`` (loss template), ``loss_name``
            (str containing "loss", default ``'loss'``), ``inputs`` (loss forward argument -> record dict with
            ``recorder``, ``from_student`` and optionally ``connector``, a key of ``connectors``). A ``None``
            entry in ``connectors`` or ``inputs`` removes the entry a base config defines.
        check_finite (bool): Raise on the first NaN/Inf in a recorded feature a loss reads. Defaults to True.
        weight_schedule (dict, optional): ``policy`` (``'constant'``, ``'linear'``, ``'cosine'``), ``floor``,
            ``warmup``, ``stop`` (fractions of the schedule), see :func:`~dfd_razor.models.utils.schedule.
            check_schedule`. Defaults to None: the losses' weights are constant.
        **kwargs: ``ConfigurableDistiller``'s arguments.
    """

    def __init__(self, levels: Optional[Dict[str, Any]] = None, check_finite: bool = True,
                 weight_schedule: Optional[Dict[str, Any]] = None, **kwargs) -> None:
        schedule = None if weight_schedule is None else check_schedule(weight_schedule,
                                                                        'model.distiller.weight_schedule')
        level_tags: Dict[str, str] = {}
        if levels is not None:
            kwargs, level_tags = self._expand_levels(levels, kwargs)
        self._check_records(kwargs.get('loss_forward_mappings') or {}, kwargs.get('student_recorders') or {},
                            kwargs.get('teacher_recorders') or {}, kwargs.get('connectors') or {})
        self._check_data_sample_losses(kwargs.get('distill_losses') or {}, kwargs.get('loss_forward_mappings') or {})
        super().__init__(**kwargs)
        self.check_finite = check_finite
        self.weight_schedule = schedule
        #: the batch's data samples while the algorithm's ``loss`` runs (:meth:`data_samples_context`), else None
        self._data_samples: Optional[Any] = None
        #: loss name -> level tag ('loss_dfd_fpn0' -> 'fpn0') of the losses ``levels`` writes, for error messages
        self._level_tags = level_tags

    @staticmethod
    def _expand_levels(levels: Dict[str, Any], kwargs: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, str]]:
        """The distiller's kwargs with the per-level entries written, and loss name -> level tag of those."""
        known = {'name', 'indices', 'student_channels', 'teacher_channels', 'connectors', 'loss', 'loss_name',
                 'inputs'}
        unknown = set(levels) - known
        if unknown:
            raise RecipeKeyError(f'model.distiller.levels has unknown keys {sorted(unknown)}; known: {sorted(known)}')
        if 'name' not in levels:
            raise RecipeKeyError("model.distiller.levels needs the key 'name' (the level tag in the loss names, set "
                                 "by the algorithm bases: 'fpn', 'neck', 'head', 'backbone')")
        missing = [key for key in ('loss', 'inputs') if key not in levels]
        if missing:
            raise RecipeKeyError(replaced_method_message(levels, missing))
        name = levels['name']
        indices: List[Optional[int]] = list(levels.get('indices') or [None])
        loss_name = levels.get('loss_name', 'loss')
        if 'loss' not in loss_name:
            raise RecipeValueError(f'model.distiller.levels.loss_name must contain "loss" to be optimised, got '
                                   f'{loss_name!r}')

        def per_level(key: str) -> Sequence[Optional[int]]:
            value: Union[None, int, Sequence[int]] = levels.get(key)
            if value is None or isinstance(value, int):
                return [value] * len(indices)
            if len(value) != len(indices):
                raise RecipeValueError(f'model.distiller.levels.{key} has {len(value)} entries for {len(indices)} '
                                       f'levels (indices={indices})')
            return list(value)

        s_channels, t_channels = per_level('student_channels'), per_level('teacher_channels')
        connectors = dict(kwargs.get('connectors') or {})
        losses = dict(kwargs.get('distill_losses') or {})
        mappings = dict(kwargs.get('loss_forward_mappings') or {})
        tags: Dict[str, str] = {}
        # A None entry removes an inherited one (a derived recipe whose loss needs no transform drops the
        # connector and its input: an unused connector would leave DDP with parameters that get no gradient).
        templates = {k: v for k, v in (levels.get('connectors') or {}).items() if v is not None}
        inputs = {k: v for k, v in levels['inputs'].items() if v is not None}

        def with_channels(template: Dict[str, Any], what: str, i: int, tag: str) -> Dict[str, Any]:
            """A copy of ``template`` with the channel arguments its type takes and it leaves out filled in."""
            cfg = copy.deepcopy(dict(template))
            for args, channels, side in ((STUDENT_CHANNEL_ARGS, s_channels[i], 'student_channels'),
                                         (TEACHER_CHANNEL_ARGS, t_channels[i], 'teacher_channels')):
                for arg in [a for a in args if a in _init_args(cfg['type'])]:
                    if arg not in cfg:
                        if channels is None:
                            raise KeyError(f'distiller.levels.{side} is needed to fill {arg} of {what} '
                                           f'({cfg["type"]}) at level {tag}')
                        cfg[arg] = channels
            return cfg

        for i, data_idx in enumerate(indices):
            tag = f'{name}{i}'
            for key, template in templates.items():
                connectors[f'{key}_{tag}'] = with_channels(template, f'connector {key!r}', i, tag)
            loss_key = f'{loss_name}_{tag}'
            tags[loss_key] = tag
            losses[loss_key] = with_channels(levels['loss'], 'the loss', i, tag)
            mapping = {}
            for arg, record in inputs.items():
                record = dict(record)
                if data_idx is not None:
                    record.setdefault('data_idx', data_idx)
                if 'connector' in record:
                    if record['connector'] not in templates:
                        raise KeyError(f'distiller.levels.inputs.{arg} names connector {record["connector"]!r}, '
                                       f'which is not in distiller.levels.connectors {sorted(templates)}')
                    record['connector'] = f'{record["connector"]}_{tag}'
                mapping[arg] = record
            mappings[loss_key] = mapping
        kwargs = dict(kwargs)
        kwargs.update(connectors=connectors, distill_losses=losses, loss_forward_mappings=mappings)
        return kwargs, tags

    @staticmethod
    def _check_records(mappings: Dict, student_recorders: Dict, teacher_recorders: Dict, connectors: Dict) -> None:
        """Upstream skips optional loss arguments; every wired input is checked here, naming the loss."""
        for loss_key, mapping in mappings.items():
            for arg, record in mapping.items():
                for field in ('recorder', 'from_student'):
                    if field not in record:
                        raise RecipeKeyError(f'{loss_key}.{arg}: the record needs {field!r}, got {dict(record)}')
                side, recorders = (('student', student_recorders) if record['from_student'] else
                                   ('teacher', teacher_recorders))
                if record['recorder'] not in recorders:
                    raise RecipeKeyError(f'{loss_key}.{arg}: recorder {record["recorder"]!r} is not among the {side} '
                                         f'recorders {sorted(recorders)}')
                if 'connector' in record and record['connector'] not in connectors:
                    raise RecipeKeyError(f'{loss_key}.{arg}: connector {record["connector"]!r} is not among the '
                                         f'connectors {sorted(connectors)}')

    @staticmethod
    def _check_data_sample_losses(losses: Dict[str, Any], mappings: Dict[str, Dict[str, Any]]) -> None:
        """``data_samples`` is the distiller's to pass: a mapping must not wire a record to it."""
        for loss_key, cfg in losses.items():
            cls = MODELS.get(cfg['type']) if isinstance(cfg, dict) and isinstance(cfg.get('type'), str) else None
            if getattr(cls, 'needs_data_samples', False) and 'data_samples' in (mappings.get(loss_key) or {}):
                raise KeyError(f'{loss_key}.data_samples: {cfg["type"]} receives the batch\'s data samples from the '
                               'distiller; remove data_samples from its loss_forward_mappings')

    def prepare_from_student(self, model: torch.nn.Module) -> None:
        """As upstream, after checking that every student recorder taps a module the student has."""
        check_recorder_sources(self.student_recorders, model, 'student')
        super().prepare_from_student(model)

    def prepare_from_teacher(self, model: torch.nn.Module) -> None:
        """As upstream, after checking that every teacher recorder taps a module the teacher has."""
        check_recorder_sources(self.teacher_recorders, model, 'teacher')
        super().prepare_from_teacher(model)

    @contextlib.contextmanager
    def data_samples_context(self, data_samples: Optional[Any]) -> Iterator[None]:
        """Make the batch's ``data_samples`` available to the losses that need them while the block runs.

        The checked teacher algorithms wrap their ``loss`` in it. The previous value is restored on exit (also on an
        error), so nothing of a batch stays on the distiller.
        """
        previous, self._data_samples = self._data_samples, data_samples
        try:
            yield
        finally:
            self._data_samples = previous

    def compute_distill_losses(self, data_samples: Optional[Any] = None) -> Dict[str, Any]:
        """Compute every configured loss; dict-valued losses become one entry per term.

        Args:
            data_samples (optional): The batch's data samples for the losses that declare ``needs_data_samples``;
                defaults to those of the enclosing :meth:`data_samples_context`.
        """
        if data_samples is None:
            data_samples = self._data_samples
        losses: Dict[str, Any] = {}
        for loss_name, forward_mappings in self.loss_forward_mappings.items():
            self._check_data_indices(loss_name, forward_mappings)
            if self.check_finite:
                self._check_finite_records(loss_name, forward_mappings)
            module = self.distill_losses[loss_name]
            if getattr(module, 'needs_data_samples', False) and data_samples is None:
                raise ValueError(
                    f'{loss_name}: {type(module).__name__} needs the batch\'s annotations (data_samples: ground-truth '
                    'boxes and image shapes), and none reached the distiller. Use CheckedFpnTeacherDistill or '
                    'CheckedSingleTeacherDistill (they hand them over), or call compute_distill_losses(data_samples)')
            kwargs = {key: self._connected_record(loss_name, key, record) for key, record in forward_mappings.items()}
            try:
                if getattr(module, 'needs_data_samples', False):
                    kwargs['data_samples'] = data_samples
                loss = module(**kwargs)
            except (RuntimeError, AssertionError) as e:
                # upstream losses assert equal shapes with no message (PKD), torch's elementwise ops name sizes only
                if isinstance(e, RuntimeError) and 'must match the size' not in str(e):
                    raise type(e)(f'{loss_name}: {e}') from e
                raise RecipeValueError(f'{loss_name}: {type(module).__name__} got inputs that do not fit '
                                       f'({self._describe_inputs(forward_mappings, kwargs)}): the student and the '
                                       'teacher must give the same shape at a distilled level (after its connector); '
                                       'distil a level where they do, or align the channels with a connector (the '
                                       f'*_align methods). {type(e).__name__}: {e}'.rstrip(': ')) from e
            except (ValueError, TypeError, IndexError, KeyError) as e:
                raise type(e)(f'{loss_name}: {e}') from e
            if isinstance(loss, dict):
                for term, value in loss.items():
                    losses[f'{loss_name}_{term}'] = value
            else:
                losses[loss_name] = loss
            for stat, value in (getattr(self.distill_losses[loss_name], 'stats', None) or {}).items():
                losses[f'{loss_name.replace("loss", "stat")}_{stat}'] = value
        return self._scheduled(losses)

    def weight_factor(self) -> Optional[float]:
        """The factor of the weight schedule at the current training iteration; None without a schedule or outside a
        training loop."""
        progress = training_progress()
        if self.weight_schedule is None or progress is None:
            return None
        return schedule_factor(progress, **self.weight_schedule)

    def _scheduled(self, losses: Dict[str, Any]) -> Dict[str, Any]:
        """The losses times the schedule's factor (their stats unscaled), and the factor as a logged stat."""
        factor = self.weight_factor()
        if factor is None:
            return losses
        out = {k: v * factor if 'loss' in k else v for k, v in losses.items()}
        device = next((v.device for v in losses.values() if isinstance(v, torch.Tensor)), None)
        out['stat_weight_factor'] = torch.tensor(factor, device=device)
        return out

    def _connected_record(self, loss_name: str, arg: str, record: Dict[str, Any]) -> Any:
        """``get_record(**record)``; a connector that rejects the recorded feature (torch's conv message names
        neither the level nor the key) raises ``RecipeValueError`` naming the connector, the tap, the shape and the
        channels key to set."""
        try:
            return self.get_record(**record)
        except (ValueError, TypeError, RuntimeError, IndexError, KeyError) as e:
            if not record.get('connector') or not isinstance(e, (RuntimeError, ValueError)) or 'channels' not in str(e):
                raise type(e)(f'{loss_name}: {e}') from e
            raw = self.get_record(**{k: v for k, v in record.items() if k not in ('connector', 'connector_idx')})
            side = 'student' if record['from_student'] else 'teacher'
            recorders = self.student_recorders if record['from_student'] else self.teacher_recorders
            source = getattr(recorders.get_recorder(record['recorder']), 'source', record['recorder'])
            connector = self.connectors[record['connector']]
            shape = tuple(raw.shape) if isinstance(raw, torch.Tensor) else type(raw).__name__
            key = (f'model.distiller.levels.{side}_channels' if loss_name in self._level_tags else
                   f'model.distiller.connectors.{record["connector"]}')
            channels = shape[1] if isinstance(shape, tuple) and len(shape) > 1 else '?'
            raise RecipeValueError(f'{loss_name}.{arg}: connector {record["connector"]} '
                                   f'({type(connector).__name__}) does not take the {side}\'s {source!r} output '
                                   f'{shape}: set {key} to its channels ({channels}). '
                                   f'{type(e).__name__}: {e}') from e

    def _describe_inputs(self, forward_mappings: Dict[str, Dict[str, Any]], kwargs: Dict[str, Any]) -> str:
        """``s_feature (1, 14, 64, 48) from the student's 'head' ...``: each tensor input, its shape and its tap."""
        parts = []
        for arg, record in forward_mappings.items():
            value = kwargs.get(arg)
            if not isinstance(value, torch.Tensor):
                continue
            side = 'student' if record['from_student'] else 'teacher'
            recorders = self.student_recorders if record['from_student'] else self.teacher_recorders
            source = getattr(recorders.get_recorder(record['recorder']), 'source', record['recorder'])
            via = f' via connector {record["connector"]}' if record.get('connector') else ''
            parts.append(f'{arg} {tuple(value.shape)} from the {side}\'s {source!r}{via}')
        return '; '.join(parts)

    def _check_data_indices(self, loss_name: str, forward_mappings: Dict[str, Dict[str, Any]]) -> None:
        """Raise ``RecipeIndexError`` when a loss input reads an output index the tapped module does not produce.

        Upstream asserts ``data_idx < len(record)`` (a bare AssertionError naming neither the level nor the
        module); here the message names the config key, the level, the module and how many outputs it gives, e.g.
        ``levels.indices=[0, ..., 7]`` on a 5-output FPN.
        """
        for arg, record in forward_mappings.items():
            data_idx = record.get('data_idx')
            recorders = self.student_recorders if record['from_student'] else self.teacher_recorders
            recorder = recorders.get_recorder(record['recorder'])
            buffer, record_idx = recorder.data_buffer, record.get('record_idx', 0)
            side = 'student' if record['from_student'] else 'teacher'
            if record_idx >= len(buffer):  # upstream: a bare "record_idx is illegal"
                source = getattr(recorder, 'source', record['recorder'])
                calls = 'was not called' if not buffer else f'was called {len(buffer)} time(s)'
                raise RecipeIndexError(
                    f'{loss_name}.{arg}: the {side}\'s {source!r} (recorder {record["recorder"]!r}) {calls} in this '
                    f'forward, and the loss reads call {record_idx}: tap a module the {side}\'s training forward '
                    'runs (tools/inspect_distill.py lists the taps it runs)')
            if data_idx is None:
                continue
            data = buffer[record_idx]
            count = len(data) if isinstance(data, (list, tuple)) else None
            if count is not None and -count <= data_idx < count:
                continue
            gives = (f'{count} outputs (indices 0-{count - 1})' if count else
                     'no outputs' if count == 0 else 'one tensor, not a tuple of outputs (set indices=None)')
            if loss_name in self._level_tags:
                where = f'model.distiller.levels.indices: level {self._level_tags[loss_name]} ({loss_name})'
            else:
                where = f'model.distiller.loss_forward_mappings.{loss_name}.{arg}.data_idx'
            raise RecipeIndexError(f'{where} reads output {data_idx} of the {side}\'s {recorder.source!r} '
                                   f'(recorder {record["recorder"]!r}), which gives {gives}')

    def _check_finite_records(self, loss_name: str, forward_mappings: Dict[str, Dict[str, Any]]) -> None:
        """Raise ``FloatingPointError`` on the first recorded tensor (before any connector) that has NaN/Inf."""
        records: Dict[tuple, List[str]] = {}  # one check per recorded tensor, however many inputs read it
        for arg, record in forward_mappings.items():
            key = (bool(record['from_student']), record['recorder'], record.get('record_idx', 0),
                   record.get('data_idx'))
            records.setdefault(key, []).append(arg)
        for (from_student, recorder, record_idx, data_idx), args in records.items():
            recorders = self.student_recorders if from_student else self.teacher_recorders
            data = recorders.get_recorder(recorder).get_record_data(record_idx, data_idx)
            tensors = list(data) if isinstance(data, (list, tuple)) else [data]
            for x in (t for t in tensors if torch.is_tensor(t)):
                if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                    side = 'student' if from_student else 'teacher'
                    where = f'recorder {recorder!r}' + ('' if data_idx is None else f', data_idx {data_idx}')
                    iteration = MessageHub.get_current_instance().get_info('iter')
                    raise FloatingPointError(
                        f'{loss_name}: the {side} feature ({where}; loss input {", ".join(args)}) has '
                        f'{int(torch.isnan(x).sum())} NaN and {int(torch.isinf(x).sum())} Inf values of '
                        f'{x.numel()} (shape {tuple(x.shape)}, {x.dtype}) at training iteration '
                        f'{"unknown" if iteration is None else iteration}; set check_finite=False in the '
                        'distiller to skip this check')


def check_recorder_sources(manager: Any, model: torch.nn.Module, side: str) -> None:
    """Raise ``RecipeKeyError`` naming the recorder's config key when it taps a module (or parameter) the model does
    not have; upstream asserts (``"neck.nonesuch" is not in the model.``) without the key or what the model has."""
    import difflib
    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    for name, recorder in manager.recorders.items():
        source = getattr(recorder, 'source', None)
        kind = type(recorder).__name__
        if not isinstance(source, str) or kind not in ('ModuleOutputsRecorder', 'ModuleInputsRecorder',
                                                         'ParameterRecorder'):
            continue
        names = params if kind == 'ParameterRecorder' else modules
        if source in names:
            continue
        close = difflib.get_close_matches(source, [n for n in names if n], n=3)
        parent = source.rpartition('.')[0]
        children = sorted(n.rpartition('.')[2] for n in names if n and n.rpartition('.')[0] == parent
                          and (parent in modules or not parent))
        raise RecipeKeyError(
            f'model.distiller.{side}_recorders.{name}.source={source!r}: the {side} has no such '
            f'{"parameter" if kind == "ParameterRecorder" else "module"}'
            + (f'; closest: {", ".join(close)}' if close else '')
            + (f'; {parent or "the model"} holds: {", ".join(children[:12])}' if children else ''))


def replaced_method_message(levels: Dict[str, Any], missing: List[str]) -> str:
    """Why ``levels`` lacks the method's ``loss``/``inputs``, and the fix, in one line.

    A method file (``dfd_razor::methods/dfd.py``) gives ``levels.loss`` and ``levels.inputs``; a recipe puts it in
    the model with ``model = dict(distiller=_base_.method)``. A second ``model = dict(distiller=dict(levels=...))``
    in the same file replaces that dict (it is a Python assignment, not a merge), so the distiller receives the
    pair's ``levels`` plus whatever the second dict gave, without the method's.
    """
    has = ', '.join(sorted(levels)) or 'nothing'
    return (f'model.distiller.levels has no {" and no ".join(repr(k) for k in missing)} (it has {has}): the '
            "method's levels did not reach the distiller. If the recipe sets model twice (model = "
            'dict(distiller=_base_.method), then model = dict(distiller=dict(levels=...))), the second assignment '
            "replaced the method's model.distiller instead of updating it: keep the first and update the method in "
            "place, e.g. model['distiller'].levels.loss.update(alpha=1e-4, beta=3e-5). If the recipe names no "
            "method, add one: _base_ = [<pair>, 'dfd_razor::methods/dfd.py'] and model = "
            'dict(distiller=_base_.method)')


def _init_args(type_name: Any) -> Sequence[str]:
    """Names of the ``__init__`` arguments of a registered connector or loss type."""
    cls = MODELS.get(type_name) if isinstance(type_name, str) else type_name
    if cls is None:
        # mmengine's own wording, which the tools trace back to the config key
        # (dfd_razor_tools.launch.unregistered_type)
        raise KeyError(f'{type_name} is not in the mmrazor::model registry (a connector or loss type)')
    return list(inspect.signature(cls.__init__).parameters)
