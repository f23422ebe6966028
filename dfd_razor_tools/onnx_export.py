"""The student in ONNX: export of its tensor forward, ONNX Runtime inference, parity and scoring through the model's
own post-processing. Used by ``tools/export_student.py --onnx`` and ``benchmarks/latency.py``.

Tools' glue, not library API: it reads a recipe's test split (data roots, pipelines, a Runner) to trace on a real
image and to score, and reports bad input as :class:`~dfd_razor.errors.RecipeError` lines for :func:`run_cli`.

What is exported is the model's *tensor forward* (``model(x, mode='tensor')``: backbone, neck, head raw outputs),
the part that is the same in every OpenMMLab model of a family. Post-processing (anchor decoding and NMS, heatmap
decoding, logits resizing and argmax) stays in the model's own Python code: :func:`onnx_forward` runs the model's
``predict`` with ONNX Runtime in place of ``extract_feat`` and the head's ``forward``, so that boxes, keypoints and
label maps come out of the same code as PyTorch's, flip test and rescaling included. Supported: the four families of
the CPU pairs, i.e. single-stage dense detectors (mmdet RetinaNet/FPN, MMYOLO's YOLODetector: ``bbox_head``), mmseg
encoder-decoders (PSPNet: ``decode_head``) and mmpose top-down estimators (heatmap heads: ``head``).

The ONNX graph has one input, ``input`` (N x 3 x H x W, normalised as the model's data preprocessor does), with a
dynamic batch, height and width, and one output per tensor of the head's outputs in order (``output_<i>_<j>``: the
j-th level of the head's i-th output). Its metadata (``metadata_props``, all values JSON) says how to feed it and how
to rebuild the head's output structure: :data:`METADATA_KEYS`.
"""
import contextlib
import copy
import io
import json
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from dfd_razor.errors import RecipeError

#: The packages of the optional group ``requirements/onnx.txt``.
ONNX_PACKAGES = ('onnx', 'onnxruntime')
#: Opset of the exported graphs (ONNX Runtime >= 1.14 runs it).
OPSET = 17
#: Where the model keeps the head whose ``forward`` the graph ends with, per family (the first one present).
HEAD_ATTRIBUTES = ('bbox_head', 'decode_head', 'head')
#: Largest accepted ``max |ONNX Runtime - PyTorch|`` over the raw outputs.
PARITY_TOLERANCE = 1e-4
#: The graph's metadata keys (values are JSON): ``dfd_razor.input_size`` [H, W] of the real test image it was traced
#: on, ``dfd_razor.mean`` / ``dfd_razor.std`` (per channel, after the colour conversion), ``dfd_razor.bgr_to_rgb``
#: (True: images read as BGR, as OpenCV does, are converted to RGB before normalising), ``dfd_razor.pad_size_divisor``
#: (height and width are padded to a multiple of it, bottom and right), ``dfd_razor.data_preprocessor`` (the
#: model's data preprocessor config), ``dfd_razor.outputs`` (the head's output structure, :func:`flatten`'s spec),
#: ``dfd_razor.model`` (the model type), ``dfd_razor.scope`` (mmdet, mmyolo, mmseg, mmpose), ``dfd_razor.recipe``
#: and ``dfd_razor.checkpoint`` (where the weights came from).
METADATA_KEYS = ('input_size', 'mean', 'std', 'bgr_to_rgb', 'pad_size_divisor', 'data_preprocessor', 'outputs',
                 'model', 'scope', 'recipe', 'checkpoint')
METADATA_PREFIX = 'dfd_razor.'


def require_onnx(packages: Sequence[str] = ONNX_PACKAGES) -> None:
    """Fail with one line naming each missing package of the optional ONNX group.

    Raises:
        RecipeError: ``onnx`` or ``onnxruntime`` cannot be imported.
    """
    import importlib
    missing = []
    for name in packages:
        try:
            importlib.import_module(name)
        except ImportError as e:
            missing.append(f'{name} ({e})')
    if missing:
        raise RecipeError(f'ONNX export needs the package(s) {", ".join(missing)}, not importable in this environment: '
                          'pip install -r requirements/onnx.txt (make install does)')


# ---- the head's outputs as a flat tuple of tensors, and back ----------------------------------------------------
def flatten(out: Any) -> Tuple[List[Tensor], Any]:
    """The tensors of a (nested) tuple/list of tensors in order, and its structure: ``None`` for a tensor, a list of
    the children's structures for a tuple or list.

    Raises:
        TypeError: ``out`` holds something else (a dict, a data sample, None), naming its type and position.
    """
    if isinstance(out, Tensor):
        return [out], None
    if isinstance(out, (list, tuple)):
        tensors, spec = [], []
        for item in out:
            t, s = flatten(item)
            tensors += t
            spec.append(s)
        return tensors, spec
    raise TypeError(f'the tensor forward returns a {type(out).__name__}; ONNX export needs tensors in (nested) '
                    'tuples or lists')


def unflatten(tensors: Sequence[Any], spec: Any) -> Any:
    """The inverse of :func:`flatten`: ``tensors`` back into the structure ``spec`` (tuples at every level)."""
    it = iter(tensors)

    def build(node: Any) -> Any:
        return next(it) if node is None else tuple(build(child) for child in node)

    out = build(spec)
    if next(it, None) is not None:
        raise ValueError(f'unflatten: more tensors ({len(tensors)}) than the structure {spec} holds')
    return out


def output_names(spec: Any) -> List[str]:
    """``output_<i>_<j>...`` for each tensor of a :func:`flatten` structure, its position in the head's outputs."""
    if spec is None:
        return ['output']
    names: List[str] = []

    def walk(node: Any, path: str) -> None:
        if node is None:
            names.append(path)
        else:
            for i, child in enumerate(node):
                walk(child, f'{path}_{i}')

    walk(spec, 'output')
    return names


class TensorForward(nn.Module):
    """A model's tensor forward (``model._forward``: backbone, neck, head) with its outputs as a flat tuple."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return tuple(flatten(self.model._forward(inputs))[0])


def head_name(model: nn.Module) -> str:
    """The attribute of the head the tensor forward ends with (:data:`HEAD_ATTRIBUTES`).

    Raises:
        RecipeError: The model has none of them, or no ``extract_feat`` (e.g. a two-stage detector's ``roi_head``
            needs proposals the tensor forward does not produce).
    """
    for name in HEAD_ATTRIBUTES:
        if isinstance(getattr(model, name, None), nn.Module) and hasattr(model, 'extract_feat'):
            return name
    raise RecipeError(f'{type(model).__name__}: ONNX export supports models whose tensor forward is extract_feat '
                      f'then one head ({", ".join(HEAD_ATTRIBUTES)}): single-stage detectors, encoder-decoder '
                      'segmentors, top-down pose estimators')


# ---- export ------------------------------------------------------------------------------------------------------
class TraceableAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` as two matrix products, for the ONNX graph: torch.onnx's TorchScript exporter
    converts adaptive pooling only to a global pool or when the input size is a fixed multiple of the output size,
    which PSPNet's pyramid pooling (bins 2, 3, 6 of a 1/8 map, dynamic height and width) is not.

    Bin ``i`` of ``n`` over a side of length ``L`` averages positions ``floor(i L / n)`` to ``ceil((i + 1) L / n)``
    (exclusive), as ATen's adaptive pooling does; the pooling matrices are built from the input's shape in the graph,
    so height and width stay dynamic.
    """

    def __init__(self, output_size: Tuple[int, int]) -> None:
        super().__init__()
        self.output_size = output_size

    @staticmethod
    def matrix(length: Any, bins: int, dtype: torch.dtype) -> Tensor:
        """``bins`` x ``length``: row ``i`` averages bin ``i``."""
        i = torch.arange(bins)
        start = torch.div(i * length, bins, rounding_mode='floor')
        end = torch.div((i + 1) * length + bins - 1, bins, rounding_mode='floor')
        pos = torch.arange(length)
        inside = (pos[None, :] >= start[:, None]) & (pos[None, :] < end[:, None])
        return inside.to(dtype) / (end - start)[:, None].to(dtype)

    def forward(self, x: Tensor) -> Tensor:
        rows = self.matrix(x.shape[-2], self.output_size[0], x.dtype)
        cols = self.matrix(x.shape[-1], self.output_size[1], x.dtype)
        return rows @ x @ cols.transpose(0, 1)


@contextlib.contextmanager
def traceable(model: nn.Module) -> Iterator[nn.Module]:
    """Within the context, ``model``'s non-global ``nn.AdaptiveAvgPool2d`` modules are
    :class:`TraceableAdaptiveAvgPool2d` (the same values); the originals are put back after."""
    swapped = []
    for name, module in list(model.named_modules()):
        if type(module) is nn.AdaptiveAvgPool2d:
            size = module.output_size
            size = (size, size) if isinstance(size, int) else tuple(size)
            if None in size or size == (1, 1):
                continue  # a global pool exports as is; None (keep the input's size) never occurs in these heads
            parent_name, _, attr = name.rpartition('.')
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, TraceableAdaptiveAvgPool2d(size))
            swapped.append((parent, attr, module))
    try:
        yield model
    finally:
        for parent, attr, module in swapped:
            setattr(parent, attr, module)


def export_onnx(model: nn.Module, example: Tensor, path: str, metadata: Dict[str, Any], opset: int = OPSET) -> Any:
    """Export ``model``'s tensor forward, traced on ``example``, to ``path`` with ``metadata``.

    The graph's input and outputs have a dynamic batch; the input's height and width are dynamic too (a
    keep-ratio resize gives each batch its own padded size). ``metadata`` (JSON-serialisable values) is written
    under ``dfd_razor.<key>``, with the output structure (``outputs``) and the traced input size (``input_size``)
    added.

    Args:
        model (nn.Module): The student, in eval mode.
        example (Tensor): A preprocessed batch (N x 3 x H x W), e.g. from :func:`real_batch`.
        path (str): The .onnx file to write.
        metadata (dict): The other :data:`METADATA_KEYS`.
        opset (int): ONNX opset.

    Returns:
        The :func:`flatten` structure of the head's outputs.

    Raises:
        RecipeError: The tensor forward cannot be traced or converted; the line names the innermost module that
            fails on its own (:func:`untraceable_module`).
    """
    require_onnx(('onnx',))
    import onnx
    model.eval()
    with torch.no_grad():
        out = model._forward(example)
    try:
        _, spec = flatten(out)
    except TypeError as e:
        raise RecipeError(f'{type(model).__name__}: module {head_name(model)} '
                          f'({type(getattr(model, head_name(model))).__name__}) cannot be exported to ONNX: {e}') from e
    names = output_names(spec)
    dynamic = {'input': {0: 'batch', 2: 'height', 3: 'width'}, **{n: {0: 'batch'} for n in names}}
    with traceable(model):
        try:
            _export(TensorForward(model), example, path, names, dynamic, opset)
        except Exception as e:  # any tracer or converter failure: named by module below, not a tracer traceback
            raise RecipeError(untraceable_message(model, example, e, opset)) from e
    graph = onnx.load(path)
    meta = dict(metadata, outputs=spec, input_size=list(example.shape[-2:]))
    for key, value in meta.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = METADATA_PREFIX + key, json.dumps(value)
    graph.doc_string = (f'dfd-razor: the tensor forward of {metadata.get("model", type(model).__name__)} (backbone, '
                        'neck, head raw outputs); post-processing is the model\'s own code')
    onnx.checker.check_model(graph)
    onnx.save(graph, path)
    return spec


def _export(module: nn.Module, example: Any, f: Any, names: Optional[List[str]], dynamic: Optional[Dict],
            opset: int) -> None:
    """torch.onnx's TorchScript exporter (the tracer), quiet: its TracerWarnings are about Python values the trace
    freezes (shapes, loop counts), which the parity check on a second batch size catches when they matter."""
    args = example if isinstance(example, tuple) else (example, )
    with warnings.catch_warnings(), _quiet_fds():
        warnings.simplefilter('ignore')
        torch.onnx.export(module, args, f, dynamo=False, input_names=['input'] if names else None,
                          output_names=names, dynamic_axes=dynamic, opset_version=opset)


@contextlib.contextmanager
def _quiet_fds() -> Iterator[None]:
    """Silence file descriptors 1 and 2: on a failure the exporter's C++ side prints the whole TorchScript graph."""
    import os
    import sys
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [devnull]:
            os.close(fd)


def untraceable_module(model: nn.Module, example: Tensor, opset: int = OPSET) -> Optional[Tuple[str, str, str]]:
    """The innermost module whose forward, exported alone on the inputs it gets in the model's tensor forward,
    fails: ``(name, type, first line of the error)``; None when every module exports alone.

    Runs the tensor forward once with hooks that keep each module's inputs, then exports the top-level modules in
    call order and descends into the first that fails: the culprit is a failing module none of whose children fail.
    """
    calls: Dict[str, Tuple[Any, ...]] = {}
    order: List[str] = []
    handles = []

    def keep(name: str, args: Tuple[Any, ...]) -> None:
        if name not in calls:
            calls[name] = args
            order.append(name)

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(lambda mod, args, name=name: keep(name, args)))
    # The tensor forwards call the head's forward directly (no module call, no hook): recorded by a wrapper.
    head = next((n for n in HEAD_ATTRIBUTES if isinstance(getattr(model, n, None), nn.Module)), None)
    if head is not None:
        head_module = getattr(model, head)
        head_forward = head_module.forward

        def recording(*args: Any, **kwargs: Any) -> Any:
            keep(head, args)
            return head_forward(*args, **kwargs)

        head_module.forward = recording
    try:
        with torch.no_grad():
            model._forward(example)
    except Exception as e:  # the eager forward itself fails: the module open at the time is not known here
        return ('', type(model).__name__, _first_line(e))
    finally:
        for handle in handles:
            handle.remove()
        if head is not None:
            del head_module.forward

    def fails(name: str) -> Optional[str]:
        module = model.get_submodule(name)
        if not _tensors_only(calls[name]):
            return None  # called with Python values (not an export input): judged through its parent
        try:
            with torch.no_grad():
                _export(module, tuple(calls[name]), io.BytesIO(), None, None, opset)
        except Exception as e:
            return _first_line(e)
        return None

    def children(prefix: str) -> List[str]:
        """The called modules under ``prefix`` with no called module between (a ModuleList is never called)."""
        under = [n for n in order if not prefix or n.startswith(prefix + '.')]
        return [n for n in under if not any(n.startswith(m + '.') for m in under if m != n)]

    found: Optional[Tuple[str, str, str]] = None
    candidates = children('')
    while candidates:
        for name in candidates:
            reason = fails(name)
            if reason is not None:
                found = (name, type(model.get_submodule(name)).__name__, reason)
                candidates = children(name)
                break
        else:
            break
    return found


def _tensors_only(node: Any) -> bool:
    if isinstance(node, Tensor):
        return True
    if isinstance(node, (list, tuple)):
        return len(node) > 0 and all(_tensors_only(n) for n in node)
    return False


def untraceable_message(model: nn.Module, example: Tensor, error: BaseException, opset: int = OPSET) -> str:
    """One line for an export failure, naming the module that cannot be traced when it can be found."""
    culprit = untraceable_module(model, example, opset)
    if culprit is None or not culprit[0]:
        return (f'{type(model).__name__}: its tensor forward cannot be exported to ONNX ({_first_line(error)})')
    name, kind, reason = culprit
    return f'{type(model).__name__}: module {name} ({kind}) cannot be traced for ONNX export: {reason}'


def _first_line(error: BaseException) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return f'{type(error).__name__}: {lines[0] if lines else "(no message)"}'[:300]


def preprocessing_metadata(cfg: Any) -> Dict[str, Any]:
    """``mean``, ``std``, ``bgr_to_rgb``, ``pad_size_divisor`` (at inference) and the whole ``data_preprocessor`` of
    a plain model config, as the graph's metadata records them. mmseg's ``SegDataPreProcessor`` pads to its
    ``size_divisor`` in training only; at inference to its ``test_cfg.size_divisor``, when it has one."""
    pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    pre = pre.to_dict() if hasattr(pre, 'to_dict') else dict(pre)
    if 'SegDataPreProcessor' in str(pre.get('type', '')):
        divisor = (pre.get('test_cfg') or {}).get('size_divisor', 1)
    else:
        divisor = pre.get('pad_size_divisor', 1)
    divisor = divisor or 1
    return dict(mean=pre.get('mean'), std=pre.get('std'), bgr_to_rgb=bool(pre.get('bgr_to_rgb', False)),
                pad_size_divisor=int(divisor), data_preprocessor=pre)


# ---- data --------------------------------------------------------------------------------------------------------
def real_batch(cfg: Any, model: nn.Module, count: int, start: int = 0) -> Dict[str, Any]:
    """``count`` images of the recipe's test split (from index ``start``), through its test pipeline, collate
    function and ``model``'s data preprocessor: ``dict(inputs=Tensor, data_samples=[...])``.

    Raises:
        RecipeError: A data root or annotation file of the test split does not exist (naming its config key).
    """
    from mmengine.runner import Runner

    from dfd_razor_tools.launch import check_data
    check_data(cfg, ['test_dataloader'])
    loader_cfg = copy.deepcopy(cfg.test_dataloader)
    loader_cfg.dataset.indices = list(range(start, start + count))
    loader_cfg.batch_size = count
    loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    loader_cfg.pop('batch_sampler', None)
    loader_cfg.num_workers, loader_cfg.persistent_workers = 0, False
    data = next(iter(Runner.build_dataloader(loader_cfg)))
    with torch.no_grad():
        return model.data_preprocessor(data, False)


# ---- ONNX Runtime --------------------------------------------------------------------------------------------------
class OnnxStudent:
    """An exported student in ONNX Runtime: its raw outputs, in the head's structure, for a preprocessed batch.

    Args:
        path (str): The .onnx file of :func:`export_onnx`.
        threads (int, optional): ONNX Runtime's intra-op threads (default: its own choice, all cores).
    """

    def __init__(self, path: str, threads: Optional[int] = None) -> None:
        require_onnx(('onnxruntime', ))
        import onnxruntime as ort
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = path
        try:
            self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        except Exception as e:  # an operator ONNX Runtime lacks (a custom op): its message names the node's module
            raise RecipeError(f'{path}: ONNX Runtime cannot run this graph ({_first_line(e)})') from e
        meta = self.session.get_modelmeta().custom_metadata_map
        self.metadata = {k[len(METADATA_PREFIX):]: json.loads(v) for k, v in meta.items()
                         if k.startswith(METADATA_PREFIX)}
        if 'outputs' not in self.metadata:
            raise RecipeError(f'{path}: no {METADATA_PREFIX}outputs metadata; not a graph of tools/export_student.py '
                              '--onnx')

    def run_flat(self, inputs: Tensor) -> List[Tensor]:
        """The graph's outputs for ``inputs`` (N x 3 x H x W float32), in order."""
        feed = {'input': inputs.detach().cpu().float().contiguous().numpy()}
        return [torch.from_numpy(o) for o in self.session.run(None, feed)]

    def __call__(self, inputs: Tensor) -> Any:
        """The head's outputs for ``inputs``, in its structure (what ``model(inputs, mode='tensor')`` returns)."""
        return unflatten(self.run_flat(inputs), self.metadata['outputs'])


@contextlib.contextmanager
def onnx_forward(model: nn.Module, student: OnnxStudent) -> Iterator[nn.Module]:
    """Within the context, ``model``'s tensor forward is ``student``'s graph: ``extract_feat`` passes the image
    through and the head's ``forward`` runs ONNX Runtime on it, so that ``model.predict`` (and a Runner's test loop)
    post-process ONNX Runtime's outputs with the model's own code."""
    head = getattr(model, head_name(model))
    model.extract_feat = lambda inputs: inputs
    head.forward = lambda inputs, *args, **kwargs: student(inputs)
    try:
        yield model
    finally:
        del model.extract_feat
        del head.forward


def max_abs_difference(model: nn.Module, student: OnnxStudent, inputs: Tensor) -> float:
    """``max |ONNX Runtime - PyTorch|`` over every raw output of the tensor forward on ``inputs``.

    Raises:
        RecipeError: The graph's outputs differ in number or shape from PyTorch's.
    """
    model.eval()
    with torch.no_grad():
        expected = flatten(model._forward(inputs))[0]
    got = student.run_flat(inputs)
    shapes = [(tuple(a.shape), tuple(b.shape)) for a, b in zip(got, expected)]
    if len(got) != len(expected) or any(a != b for a, b in shapes):
        raise RecipeError(f'{student.path}: {len(got)} outputs of shapes {[a for a, _ in shapes]}, PyTorch gives '
                          f'{len(expected)} of {[b for _, b in shapes]} for an input of {tuple(inputs.shape)}')
    return max(float((a - b).abs().max()) for a, b in zip(got, expected))


# ---- scoring -------------------------------------------------------------------------------------------------------
def score(cfg: Any, model: nn.Module, student: OnnxStudent, count: Optional[int],
          work_dir: str) -> Dict[str, Dict[str, float]]:
    """The recipe's test metrics of ``model`` in PyTorch and of ``student`` in ONNX Runtime (post-processed by
    ``model``'s own code, :func:`onnx_forward`), on the first ``count`` test images (all when None), with the
    recipe's test dataloader and evaluator in one mmengine Runner.

    Args:
        cfg: The student's plain config (as ``tools/export_student.py`` writes it).
        model (nn.Module): The student with its weights.
        student (OnnxStudent): Its exported graph.
        count (int, optional): Number of test images.
        work_dir (str): The Runner's work dir (logs, visualiser files).

    Returns:
        dict: ``{'pytorch': metrics, 'onnxruntime': metrics}``.
    """
    from mmengine.runner import Runner

    from dfd_razor_tools.launch import check_data
    check_data(cfg, ['test_dataloader'])
    cfg = copy.deepcopy(cfg)
    cfg.work_dir, cfg.load_from, cfg.resume, cfg.launcher = work_dir, None, False, 'none'
    cfg.log_level = 'WARNING'
    if count is not None:
        cfg.test_dataloader.dataset.indices = count
    runner = Runner.from_cfg(cfg)
    target = runner.model.module if hasattr(runner.model, 'module') else runner.model
    target.load_state_dict(model.state_dict(), strict=True)
    target.eval()
    metrics = {'pytorch': runner.test()}
    with onnx_forward(target, student):
        metrics['onnxruntime'] = runner.test()
    return {k: {m: float(v) for m, v in ms.items()} for k, ms in metrics.items()}


#: Factor to percent of each scope's metrics (mmdet/mmyolo/mmpose report fractions, mmseg percent).
PERCENT = {'mmdet': 100, 'mmyolo': 100, 'mmpose': 100, 'mmseg': 1}


def metric_differences(metrics: Dict[str, Dict[str, float]], scope: str) -> Dict[str, float]:
    """``|ONNX Runtime - PyTorch|`` of each metric, in percent points."""
    scale = PERCENT.get(scope, 1)
    torch_m, ort_m = metrics['pytorch'], metrics['onnxruntime']
    return {k: abs(ort_m[k] - torch_m[k]) * scale for k in torch_m if k in ort_m}
