"""Foundation checks of the pinned OpenMMLab stack this project runs on (CPU, no network).

* every package imports and its installed version is the pinned one (pins read from requirements/*.txt and,
  for mmcv, from tools/install.sh);
* mmcv's compiled ops give the values worked out by hand (nms) or by an independent numpy reference
  (roi_align);
* one model per downstream package builds from the config that package ships and runs a loss forward;
* an mmengine Runner checkpoint resumes under torch's ``weights_only=True`` default (thanks to dfd_razor).
"""
import copy
import importlib
import importlib.metadata
import math
import re
from pathlib import Path

import dfd_razor  # noqa: F401  (applies dfd_razor.compat before anything below imports mmrazor.models)
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


# ---- pins -------------------------------------------------------------------------------------------------
def _requirement_pins():
    """``{distribution: version}`` for every ``name==version`` line of requirements/*.txt."""
    pins = {}
    for path in sorted((REPO / 'requirements').glob('*.txt')):
        for line in path.read_text().splitlines():
            m = re.match(r'^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)', line)
            if m:
                name, version = m.group(1).lower(), m.group(2)
                assert pins.get(name, version) == version, f'{name} pinned twice differently ({path.name})'
                pins[name] = version
    return pins


def _mmcv_pin():
    m = re.search(r'^MMCV_VERSION=([0-9][^\s]*)\s*$', (REPO / 'tools' / 'install.sh').read_text(), re.M)
    assert m, 'tools/install.sh has no MMCV_VERSION='
    return m.group(1)


PINS = _requirement_pins()


def test_pins_cover_the_stack():
    for name in ('mmengine', 'mmdet', 'mmyolo', 'mmrazor', 'mmsegmentation', 'mmpose', 'torch'):
        assert name in PINS, f'{name} has no == pin in requirements/*.txt'
    assert _mmcv_pin() == '2.0.1'


@pytest.mark.parametrize('module', [
    'torch', 'mmcv', 'mmcv.ops', 'mmcv._ext', 'mmengine', 'mmdet', 'mmdet.models', 'mmyolo', 'mmyolo.models',
    'mmrazor', 'mmrazor.models', 'mmpose', 'mmpose.models', 'mmseg', 'mmseg.models', 'pycocotools.coco',
    'pycocotools.mask', 'xtcocotools.coco', 'xtcocotools.mask'
])
def test_imports(module):
    importlib.import_module(module)


def test_mmrazor_models_imported_after_dfd_razor():
    import mmrazor.models  # noqa: F401
    from mmrazor.registry import MODELS
    assert 'mmrazor_quantization' in dfd_razor.compat.APPLIED
    for name in ('SingleTeacherDistill', 'FpnTeacherDistill', 'ConfigurableDistiller'):
        assert MODELS.get(name) is not None, name


# distribution -> module whose __version__ must agree as well
_MODULE_OF = {'mmengine': 'mmengine', 'mmdet': 'mmdet', 'mmyolo': 'mmyolo', 'mmrazor': 'mmrazor',
              'mmsegmentation': 'mmseg', 'mmpose': 'mmpose'}


@pytest.mark.parametrize('dist', sorted(d for d in PINS if d != 'torch'))
def test_installed_version_is_pinned(dist):
    assert importlib.metadata.version(dist) == PINS[dist]
    if dist in _MODULE_OF:
        assert importlib.import_module(_MODULE_OF[dist]).__version__ == PINS[dist]


def test_mmcv_version_is_install_sh_pin():
    import mmcv
    assert mmcv.__version__ == _mmcv_pin()
    assert importlib.metadata.version('mmcv') == _mmcv_pin()


def test_torch_version_is_pinned_for_cpu_build():
    if torch.version.cuda is not None or getattr(torch.version, 'hip', None) is not None:
        pytest.skip(f'torch {torch.__version__} is a GPU build: tools/install.sh keeps it, the pin is for CPU')
    assert torch.__version__.split('+')[0] == PINS['torch']


@pytest.mark.parametrize('package', ['pycocotools', 'xtcocotools'])
def test_coco_mask_iou(package):
    # the compiled _mask works under this numpy. Boxes are (x, y, w, h): a = [0, 10]x[0, 10] (area 100),
    # b = [5, 10]x[0, 10] (area 50) inside a: IoU = 50 / 100 = 0.5; c = [5, 15]x[0, 10]: 50 / 150 = 1/3
    mask = importlib.import_module(f'{package}.mask')
    a = np.array([[0, 0, 10, 10]], dtype=np.float64)
    bc = np.array([[5, 0, 5, 10], [5, 0, 10, 10]], dtype=np.float64)
    iou = mask.iou(a, bc, [0, 0])
    assert iou.shape == (1, 2)
    assert iou[0, 0] == 0.5 and math.isclose(iou[0, 1], 1 / 3, rel_tol=1e-12)


# ---- mmcv ops ---------------------------------------------------------------------------------------------
def test_nms_hand_values():
    from mmcv.ops import nms

    boxes = torch.tensor([
        [0., 0., 10., 10.],  # 0 A, area 100
        [1., 0., 11., 10.],  # 1 B, area 100
        [5., 0., 15., 10.],  # 2 C, area 100
        [20., 20., 30., 30.],  # 3 D, area 100, far from all
        [0., 0., 10., 4.],  # 4 E, area 40
    ])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95, 0.6])
    # mmcv's nms (offset 0): area = (x2 - x1) * (y2 - y1); a box is dropped when IoU with a kept,
    # higher-scored box is > threshold. In score order D(.95), A(.9), B(.8), C(.7), E(.6):
    #   D: kept (overlaps nothing)
    #   A: kept (IoU with D = 0)
    #   B: IoU(A, B) = inter 9*10=90 / union 100+100-90=110 = 0.818 -> dropped at 0.5 and at 0.3
    #   C: IoU(A, C) = 5*10=50 / (100+100-50)=150 = 0.333 -> kept at 0.5, dropped at 0.3
    #   E: IoU(A, E) = 10*4=40 / (100+40-40)=100 = 0.4 -> kept at 0.5, dropped at 0.3;
    #      IoU(C, E) = 5*4=20 / (100+40-20)=120 = 0.167 (C kept at 0.5: no effect)
    dets, inds = nms(boxes, scores, iou_threshold=0.5)
    assert inds.tolist() == [3, 0, 2, 4]
    assert torch.equal(dets[:, 4], torch.tensor([0.95, 0.9, 0.7, 0.6]))
    assert torch.equal(dets[:, :4], boxes[[3, 0, 2, 4]])

    dets, inds = nms(boxes, scores, iou_threshold=0.3)
    assert inds.tolist() == [3, 0]
    assert torch.equal(dets[:, 4], torch.tensor([0.95, 0.9]))


def _bilinear(f, y, x):
    """Bilinear sample of the 2-D array ``f`` at (y, x), with the RoIAlign border rules: 0 beyond one pixel
    outside the map, clamped to the last row/column inside it."""
    h, w = f.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1.0 - ly, 1.0 - lx
    return hy * hx * f[y0, x0] + hy * lx * f[y0, x1] + ly * hx * f[y1, x0] + ly * lx * f[y1, x1]


def _roi_align_reference(feat, rois, out_hw, spatial_scale, sampling_ratio):
    """RoIAlign (avg, aligned=True) with plain loops: each output bin is the mean of a
    sampling_ratio x sampling_ratio grid of bilinear samples at the grid cells' centres."""
    ph_n, pw_n = out_hw
    out = np.zeros((len(rois), feat.shape[1], ph_n, pw_n))
    for r, (b, x1, y1, x2, y2) in enumerate(rois):
        # aligned=True: pixel centres are at integer + 0.5, so shift the box by half a pixel
        sx, sy = x1 * spatial_scale - 0.5, y1 * spatial_scale - 0.5
        rw, rh = x2 * spatial_scale - 0.5 - sx, y2 * spatial_scale - 0.5 - sy
        bw, bh = rw / pw_n, rh / ph_n
        for c in range(feat.shape[1]):
            f = feat[int(b), c]
            for ph in range(ph_n):
                for pw in range(pw_n):
                    acc = 0.0
                    for iy in range(sampling_ratio):
                        y = sy + ph * bh + (iy + 0.5) * bh / sampling_ratio
                        for ix in range(sampling_ratio):
                            x = sx + pw * bw + (ix + 0.5) * bw / sampling_ratio
                            acc += _bilinear(f, y, x)
                    out[r, c, ph, pw] = acc / (sampling_ratio * sampling_ratio)
    return out


def test_roi_align_linear_map_hand_values():
    from mmcv.ops import roi_align

    # f(y, x) = x + 10 y: bilinear interpolation of a linear map is exact, so the mean over a bin's samples is
    # f at the bin centre. RoI (1, 1)-(5, 4), aligned=True -> (0.5, 0.5)-(4.5, 3.5): bins 2 wide, 1.5 high,
    # centres x in {1.5, 3.5}, y in {1.25, 2.75}; samples (x in {1, 2 | 3, 4}, y in {.875, 1.625 | 2.375, 3.125})
    # all lie inside the 6x8 map. Expected: [[1.5 + 12.5, 3.5 + 12.5], [1.5 + 27.5, 3.5 + 27.5]].
    ys, xs = torch.meshgrid(torch.arange(6.), torch.arange(8.), indexing='ij')
    feat = (xs + 10 * ys).view(1, 1, 6, 8)
    rois = torch.tensor([[0., 1., 1., 5., 4.]])
    out = roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True)
    assert torch.allclose(out[0, 0], torch.tensor([[14., 16.], [29., 31.]]), atol=1e-5)


@pytest.mark.parametrize('sampling_ratio', [1, 2])
def test_roi_align_matches_numpy_reference(sampling_ratio):
    from mmcv.ops import roi_align

    rng = np.random.RandomState(0)
    feat = rng.rand(2, 3, 7, 9).astype(np.float32)
    rois = np.array([
        [0, 2.0, 3.0, 14.0, 11.0],  # inside the map (spatial_scale 0.5: (1, 1.5)-(7, 5.5))
        [1, 0.3, 1.7, 9.1, 12.9],  # fractional corners
        [1, -6.0, -4.0, 8.0, 6.0],  # partly outside: samples beyond -1 are 0, the rest clamped to the border
        [0, 12.0, 8.0, 22.0, 18.0],  # crosses the right/bottom border
    ], dtype=np.float32)
    out = roi_align(torch.from_numpy(feat), torch.from_numpy(rois), (3, 2), 0.5, sampling_ratio, 'avg', True)
    ref = _roi_align_reference(feat.astype(np.float64), rois.astype(np.float64), (3, 2), 0.5, sampling_ratio)
    assert out.shape == (4, 3, 3, 2)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)


# ---- models from the packages' own configs ----------------------------------------------------------------
def _shipped_config(package, relpath):
    from mmengine.config import Config
    path = Path(importlib.import_module(package).__file__).parent / '.mim' / 'configs' / relpath
    assert path.is_file(), path
    return Config.fromfile(str(path))


def _sync_bn_to_bn(cfg):
    """SyncBN needs a process group: use BN on this single CPU process."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'type' and value in ('SyncBN', 'MMSyncBN'):
                cfg[key] = 'BN'
            else:
                _sync_bn_to_bn(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _sync_bn_to_bn(value)
    return cfg


def _offline_model_cfg(cfg):
    model = _sync_bn_to_bn(copy.deepcopy(cfg.model))
    model.backbone.init_cfg = None  # ResNet's default is torchvision://resnet50 (network)
    model.pop('pretrained', None)  # mmseg's EncoderDecoder turns `pretrained` into the backbone's init_cfg
    return model


def _loss_forward(scope, model_cfg, data):
    from mmengine.registry import DefaultScope
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    models = importlib.import_module(f'{scope}.registry').MODELS
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = models.build(model_cfg)
        model.init_weights()
        model.train()
        data = model.data_preprocessor(data, True)
        losses = model(**data, mode='loss')
        total, log_vars = model.parse_losses(losses)
    assert any(k.startswith('loss') or '.loss' in k for k in log_vars), log_vars
    assert torch.isfinite(total) and total.item() > 0, log_vars
    return log_vars


def test_mmdet_retinanet_loss():
    from mmdet.testing import demo_mm_inputs
    cfg = _shipped_config('mmdet', 'retinanet/retinanet_r50_fpn_1x_coco.py')
    data = demo_mm_inputs(batch_size=1, image_shapes=(3, 128, 128), num_items=[3], num_classes=80)
    log_vars = _loss_forward('mmdet', _offline_model_cfg(cfg), data)
    assert log_vars['loss_cls'] > 0 and log_vars['loss_bbox'] > 0


def test_mmyolo_yolov6_loss():
    from mmdet.testing import demo_mm_inputs
    from mmengine.logging import MessageHub
    from mmyolo.datasets.utils import yolov5_collate

    cfg = _shipped_config('mmyolo', 'yolov6/yolov6_s_syncbn_fast_8xb32-400e_coco.py')
    samples = demo_mm_inputs(batch_size=2, image_shapes=(3, 128, 128), num_items=[3, 2], num_classes=80,
                             use_box_type=True)
    # the training collate of the "fast" configs: stacked images, boxes as (batch_idx, label, x1, y1, x2, y2)
    data = yolov5_collate([dict(inputs=i, data_samples=s) for i, s in zip(samples['inputs'], samples['data_samples'])])
    assert data['data_samples']['bboxes_labels'].shape == (5, 6)
    MessageHub.get_current_instance().update_info('epoch', 0)  # YOLOv6Head picks its assigner by epoch
    log_vars = _loss_forward('mmyolo', _offline_model_cfg(cfg), data)
    # after init_weights() the classification loss starts O(1) (without it, O(1e5))
    assert 0 < log_vars['loss_cls'] < 100 and log_vars['loss_bbox'] > 0


def test_mmseg_pspnet_loss():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    cfg = _shipped_config('mmseg', 'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py')
    model_cfg = _offline_model_cfg(cfg)
    h, w = 64, 128
    model_cfg.data_preprocessor.size = (h, w)  # the config pads to its 512x1024 crop; keep the tiny images
    rng = np.random.RandomState(0)
    inputs, samples = [], []
    for _ in range(2):  # BN after PSP's 1x1 pooling needs more than one value per channel: 2 images
        inputs.append(torch.from_numpy(rng.randint(0, 256, (3, h, w), dtype=np.uint8)))
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        label = rng.randint(0, 19, (1, h, w))
        label[:, :4] = 255  # some ignored pixels, as in cityscapes
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label).long())
        samples.append(sample)
    log_vars = _loss_forward('mmseg', model_cfg, dict(inputs=inputs, data_samples=samples))
    assert log_vars['decode.loss_ce'] > 0 and log_vars['aux.loss_ce'] > 0


def test_mmpose_topdown_heatmap_loss():
    from mmpose.testing import get_packed_inputs

    cfg = _shipped_config('mmpose', 'body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py')
    # input 96x128 (w, h) -> heatmaps 24x32, the config's 4x down-sampling; 17 COCO keypoints
    data = get_packed_inputs(batch_size=2, img_shape=(128, 96), input_size=(96, 128), heatmap_size=(24, 32),
                             with_reg_label=False, with_simcc_label=False)
    sample = data['data_samples'][0]
    assert sample.gt_instances.keypoints.shape == (1, 17, 2)
    assert tuple(sample.gt_fields.heatmaps.shape) == (17, 32, 24)
    log_vars = _loss_forward('mmpose', _offline_model_cfg(cfg), data)
    assert log_vars['loss_kpt'] > 0


# ---- mmengine Runner checkpoint and resume ----------------------------------------------------------------
class _ToyDataset(torch.utils.data.Dataset):
    METAINFO = dict()

    def __init__(self):
        self.x = torch.arange(16, dtype=torch.float32).view(8, 2) / 16
        self.y = self.x.sum(1, keepdim=True) * 0.5 + 1

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])


def _toy_model():
    from mmengine.model import BaseModel

    class ToyModel(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 1)

        def forward(self, inputs, labels, mode='tensor'):
            out = self.linear(inputs)
            if mode == 'loss':
                return dict(loss=((out - labels) ** 2).mean())
            return out

    return ToyModel()


def _runner(work_dir, max_iters, resume, name, hooks=()):
    from mmengine.runner import Runner
    return Runner(
        model=_toy_model(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(dataset=_ToyDataset(), sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, num_workers=0, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=list(hooks),
        resume=resume,
        randomness=dict(seed=0),
    )


def test_runner_checkpoint_resumes_under_weights_only(tmp_path):
    import inspect
    import pickle

    from mmengine.hooks import Hook
    from mmengine.logging import HistoryBuffer

    assert inspect.signature(torch.load).parameters['weights_only'].default in (None, True)

    _runner(tmp_path, 3, False, 'dfd_resume_a').train()
    ckpt_path = tmp_path / 'iter_3.pth'
    assert ckpt_path.is_file()
    saved = torch.load(ckpt_path, weights_only=False)  # trusted: our own file, read as plain pickle
    assert saved['meta']['iter'] == 3
    momentum = saved['optimizer']['state']
    assert len(momentum) == 2 and all(torch.any(s['momentum_buffer'] != 0) for s in momentum.values())
    assert isinstance(saved['message_hub']['log_scalars']['train/loss'], HistoryBuffer)

    # the default load (weights_only=True) works with dfd_razor's allow-list, and fails without it
    assert torch.load(ckpt_path)['meta']['iter'] == 3
    allowed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError, match='Unsupported global'):
            torch.load(ckpt_path)
    finally:
        torch.serialization.add_safe_globals(allowed)

    class Record(Hook):

        def before_train(self, runner):  # runs after Runner.train() has resumed
            runner.dfd_resumed = dict(
                iter=runner.iter,
                optimizer=copy.deepcopy(runner.optim_wrapper.optimizer.state_dict()),
                model={k: v.detach().clone() for k, v in runner.model.state_dict().items()},
                loss_history=runner.message_hub.get_scalar('train/loss').data[0].copy())

    runner = _runner(tmp_path, 5, True, 'dfd_resume_b', hooks=[Record()])
    runner.train()
    resumed = runner.dfd_resumed
    assert resumed['iter'] == 3
    state = resumed['optimizer']['state']
    assert sorted(state) == sorted(momentum)
    for k in momentum:
        assert torch.equal(state[k]['momentum_buffer'], momentum[k]['momentum_buffer'])
    assert resumed['optimizer']['param_groups'][0]['momentum'] == 0.9
    for k, v in saved['state_dict'].items():
        assert torch.equal(resumed['model'][k], v)
    np.testing.assert_array_equal(resumed['loss_history'], saved['message_hub']['log_scalars']['train/loss'].data[0])
    # and it went on training from there
    assert runner.iter == 5
    final = torch.load(tmp_path / 'iter_5.pth')
    assert final['meta']['iter'] == 5
    assert not torch.equal(final['state_dict']['linear.weight'], saved['state_dict']['linear.weight'])
    assert math.isfinite(final['message_hub']['log_scalars']['train/loss'].current())
