"""Cost of one distillation training step: student alone, PKD, MGD and DFD, side by side in one process.

RetinaNet ResNet-50 teacher, RetinaNet ResNet-18 student (both FPN 256), 2 x 3 x 384 x 640 input, on the CPU or
a GPU (``--device cuda``), in float32 or with automatic mixed precision (``--amp``: fp16 autocast with mmengine's
AmpOptimWrapper and its loss scaling on a GPU, bf16 autocast on the CPU).
All methods run the same MMRazor FpnTeacherDistill algorithm on the same pair, input and seed; only the
distiller differs (PKD and MGD with MMRazor's own losses and connector). Steps are interleaved method by
method over several rounds, so that drift of the machine (turbo, other load) hits all methods alike; the
median step time is reported. Memory is what autograd saves for the backward pass (the activations that set the
step's peak), summed over distinct storages by a ``saved_tensors_hooks`` pack hook: CPU tensors are not tracked
by torch's allocator statistics, and the process' resident size does not shrink between steps. On a GPU the peak
allocated memory of each step is reported too. FLOPs are counted once per method by ``torch.utils.flop_counter``
over a whole training step (forward, backward; matrix products and convolutions).

    python benchmarks/step_cost.py [--rounds 5] [--size 384 640] [--batch 2] [--threads 2] [--device cuda] [--amp]

``--device cuda`` on a machine without a GPU prints that the GPU path was not run, and exits 0.
"""
import argparse
import copy
import statistics
import logging
import time
from typing import Callable, Dict, List

import dfd_razor  # noqa: F401
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS

LEVELS = 5


def retina(cfg_path: str) -> dict:
    cfg = Config(dict(model=get_config(cfg_path).model)).model
    cfg.backbone.init_cfg = None
    cfg._scope_ = 'mmdet'
    return cfg.to_dict()


def levels(name: str, connectors: dict, loss: dict, inputs: dict) -> dict:
    return dict(type='MultiLevelDistiller',
                student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
                teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
                levels=dict(name='fpn', indices=list(range(LEVELS)), student_channels=256, teacher_channels=256,
                            connectors=connectors, loss=loss, loss_name=f'loss_{name}', inputs=inputs))


S = dict(from_student=True, recorder='fpn')
T = dict(from_student=False, recorder='fpn')
DISTILLERS = {
    'PKD': levels('pkd', {}, dict(type='PKDLoss', loss_weight=6), dict(preds_S=S, preds_T=T)),
    'MGD': levels('mgd', dict(gen=dict(type='MGDConnector', lambda_mgd=0.65)),
                  dict(type='MGDLoss', alpha_mgd=2e-5), dict(preds_S=dict(S, connector='gen'), preds_T=T)),
    'DFD': levels('dfd', dict(trans=dict(type='DFDConnector')), dict(type='DFDLoss'),
                  dict(s_feature=S, s_transformed=dict(S, connector='trans'), t_feature=T)),
}


class SavedForBackward:
    """Bytes of the distinct storages autograd saves for backward while the context is active."""

    def __init__(self) -> None:
        self.storages: Dict[int, int] = {}

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        self.storages[storage.data_ptr()] = storage.nbytes()
        return t

    def __enter__(self) -> 'SavedForBackward':
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._ctx.__exit__(*exc)

    @property
    def nbytes(self) -> int:
        return sum(self.storages.values())


def make_optim_wrapper(optimizer: torch.optim.Optimizer, device: torch.device, amp: bool) -> OptimWrapper:
    """Plain float32 steps; with ``amp``: mmengine's AmpOptimWrapper on a GPU (fp16, dynamic loss scale), and on
    the CPU the same optim wrapper inside bf16 autocast (mmengine's AmpOptimWrapper refuses CPUs)."""
    if not amp:
        return OptimWrapper(optimizer)
    if device.type == 'cuda':
        from mmengine.optim import AmpOptimWrapper
        return AmpOptimWrapper(optimizer=optimizer, loss_scale='dynamic', dtype=torch.float16)

    class CPUAutocast(OptimWrapper):
        def optim_context(self, model):
            return torch.autocast('cpu', dtype=torch.bfloat16)

    return CPUAutocast(optimizer)


def count_flops(step: Callable[[], None]) -> int:
    """FLOPs of one call of ``step`` (a whole training step), counted by torch's flop counter."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=5, help='timed steps per method')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps per method first')
    parser.add_argument('--size', type=int, nargs=2, default=(384, 640), metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--amp', action='store_true', help='fp16 autocast + loss scaling (GPU), bf16 autocast (CPU)')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('GPU path not run: --device cuda, but torch.cuda.is_available() is False on this machine '
              f'(torch {torch.__version__}). Nothing was measured.')
        return
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    from mmdet.testing import demo_mm_inputs
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init_weights reports every tensor otherwise

    student_cfg = retina('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py')
    teacher_cfg = retina('mmdet::retinanet/retinanet_r50_fpn_1x_coco.py')
    torch.manual_seed(0)
    data = demo_mm_inputs(batch_size=args.batch, image_shapes=[(3, *args.size)] * args.batch,
                          num_items=[5] * args.batch, num_classes=80)
    if device.type == 'cuda':
        data['inputs'] = [x.to(device) for x in data['inputs']]
        data['data_samples'] = [s.to(device) for s in data['data_samples']]

    steps: Dict[str, Callable[[], None]] = {}
    for name in ['student', *DISTILLERS]:
        torch.manual_seed(0)
        if name == 'student':
            model = MODELS.build(copy.deepcopy(student_cfg))
        else:
            model = MODELS.build(dict(type='FpnTeacherDistill', architecture=copy.deepcopy(student_cfg),
                                      teacher=copy.deepcopy(teacher_cfg), distiller=DISTILLERS[name]))
        model.init_weights()
        model.to(device)
        model.train()
        params = [p for n, p in model.named_parameters() if not n.startswith('teacher.')]
        optim = make_optim_wrapper(torch.optim.SGD(params, lr=1e-4, momentum=0.9, weight_decay=1e-4), device,
                                   args.amp)
        steps[name] = (lambda m, o: (lambda: m.train_step(copy.copy(data), o)))(model, optim)

    flops = {name: count_flops(step) for name, step in steps.items()}

    times: Dict[str, List[float]] = {name: [] for name in steps}
    peaks: Dict[str, int] = {name: 0 for name in steps}
    allocated: Dict[str, int] = {name: 0 for name in steps}
    for name, step in steps.items():
        for _ in range(args.warmup):
            step()
    for _ in range(args.rounds):
        for name, step in steps.items():
            if device.type == 'cuda':
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            with SavedForBackward() as mem:
                t0 = time.perf_counter()
                step()
                if device.type == 'cuda':
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - t0)
            peaks[name] = max(peaks[name], mem.nbytes)
            if device.type == 'cuda':
                allocated[name] = max(allocated[name], torch.cuda.max_memory_allocated())

    pkd = statistics.median(times['PKD'])
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'CPU, {args.threads} threads'
    precision = ('AMP (fp16 autocast, loss scaling)' if device.type == 'cuda' else 'AMP (bf16 autocast)') \
        if args.amp else 'float32'
    print(f'\ninput {args.batch}x3x{args.size[0]}x{args.size[1]}, torch {torch.__version__}, {where}, {precision}, '
          f'{args.rounds} timed steps per method (median), teacher RetinaNet R50, student RetinaNet R18\n')
    gpu = device.type == 'cuda'
    print('| method | s/step (median) | min | max | vs PKD | saved for backward (MiB) | GFLOP / step |'
          + (' peak allocated (MiB) |' if gpu else ''))
    print('| --- ' * (8 if gpu else 7) + '|')
    for name in steps:
        t = times[name]
        print(f'| {name} | {statistics.median(t):.3f} | {min(t):.3f} | {max(t):.3f} | '
              f'{statistics.median(t) / pkd:.3f}x | {peaks[name] / 2**20:.0f} | {flops[name] / 1e9:.1f} |'
              + (f' {allocated[name] / 2**20:.0f} |' if gpu else ''))


if __name__ == '__main__':
    main()
