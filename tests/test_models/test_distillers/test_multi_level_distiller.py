"""MultiLevelDistiller: level expansion, named terms, errors naming the level, one real training step."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.optim import OptimWrapper
from mmrazor.registry import MODELS

LEVELS = 5


def retina(base_channels: int, neck_channels: int) -> dict:
    cfg = get_config('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py').model
    cfg = Config(dict(model=cfg)).model  # a private copy
    cfg.backbone.update(base_channels=base_channels, init_cfg=None)
    cfg.neck.update(in_channels=[base_channels * 2 ** i for i in range(4)], out_channels=neck_channels)
    cfg.bbox_head.update(in_channels=neck_channels, feat_channels=neck_channels)
    cfg._scope_ = 'mmdet'
    return cfg.to_dict()


def dfd_distiller(student_channels: int, teacher_channels: int, **loss_kwargs) -> dict:
    inputs = dict(s_feature=dict(from_student=True, recorder='fpn'),
                  s_transformed=dict(from_student=True, recorder='fpn', connector='trans'),
                  t_feature=dict(from_student=False, recorder='fpn'))
    connectors = dict(trans=dict(type='DFDConnector'))
    if student_channels != teacher_channels:
        connectors['align'] = dict(type='ConvModuleConnector', kernel_size=1, act_cfg=None)
        inputs['s_feature']['connector'] = 'align'
        inputs['s_attention'] = dict(from_student=True, recorder='fpn')
    return dict(
        type='MultiLevelDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        levels=dict(name='fpn', indices=list(range(LEVELS)), student_channels=student_channels,
                    teacher_channels=teacher_channels, connectors=connectors, loss_name='loss_dfd',
                    loss=dict(type='DFDLoss', alpha=2.8e-5, beta=1e-5, **loss_kwargs), inputs=inputs))


def algorithm(student_channels=32, teacher_channels=64, distiller=None):
    return MODELS.build(dict(
        type='FpnTeacherDistill',
        architecture=retina(32, student_channels),
        teacher=retina(64, teacher_channels),
        distiller=distiller or dfd_distiller(student_channels, teacher_channels)))


def batch():
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(0)
    return demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 128)] * 2, num_items=[3, 2], num_classes=80)


def test_levels_expand_to_connectors_losses_mappings():
    d = MODELS.build(dfd_distiller(32, 64))
    assert sorted(d.connectors) == sorted([f'{k}_fpn{i}' for k in ('trans', 'align') for i in range(LEVELS)])
    assert d.connectors['trans_fpn3'].in_channels == 32 and d.connectors['trans_fpn3'].out_channels == 64
    assert d.connectors['align_fpn0'].conv_module.conv.in_channels == 32
    assert d.connectors['align_fpn0'].conv_module.conv.out_channels == 64
    assert sorted(d.distill_losses) == [f'loss_dfd_fpn{i}' for i in range(LEVELS)]
    m = d.loss_forward_mappings['loss_dfd_fpn2']
    assert m['s_feature'] == dict(from_student=True, recorder='fpn', connector='align_fpn2', data_idx=2)
    assert m['t_feature'] == dict(from_student=False, recorder='fpn', data_idx=2)
    assert m['s_attention'] == dict(from_student=True, recorder='fpn', data_idx=2)


def test_one_training_step_two_widths():
    algo = algorithm()
    algo.init_weights()
    algo.train()  # as the Runner does: puts the teacher's norm layers in eval mode (teacher_norm_eval)
    teacher_before = copy.deepcopy(algo.teacher.state_dict())
    student_before = {k: v.clone() for k, v in algo.student.state_dict().items()}
    optim = OptimWrapper(torch.optim.SGD([p for n, p in algo.named_parameters() if not n.startswith('teacher.')],
                                         lr=0.01, momentum=0.9, weight_decay=1e-4))
    connectors_before = copy.deepcopy(algo.distiller.connectors.state_dict())
    log_vars = algo.train_step(batch(), optim)
    for i in range(LEVELS):
        for term in ('hd', 'ld'):
            key = f'distill.loss_dfd_fpn{i}_{term}'
            assert key in log_vars and torch.isfinite(torch.as_tensor(log_vars[key])) and log_vars[key] >= 0
        assert log_vars[f'distill.loss_dfd_fpn{i}_hd'] > 0
    # level 4 of a 96x128 input is 1x1: one position, D constant, all HD, so LD is empty there
    assert all(log_vars[f'distill.loss_dfd_fpn{i}_ld'] > 0 for i in range(3))
    assert log_vars['distill.loss_dfd_fpn4_ld'] == 0
    assert 'student.loss_cls' in log_vars and 'student.loss_bbox' in log_vars
    # the HD fraction is logged per level, and not optimised: the total is the sum of the "loss" entries only
    for i in range(LEVELS):
        fraction = log_vars[f'distill.stat_dfd_fpn{i}_hd_fraction']
        assert 0 < fraction <= 1
    assert log_vars['distill.stat_dfd_fpn4_hd_fraction'] == 1  # one position: all HD
    assert float(log_vars['loss']) == pytest.approx(
        sum(float(v) for k, v in log_vars.items() if 'loss' in k and k != 'loss'), rel=1e-5)
    # the student and every connector learned, the teacher did not move
    assert any(not torch.equal(v, algo.student.state_dict()[k]) for k, v in student_before.items()
               if v.is_floating_point())
    for k, v in algo.distiller.connectors.state_dict().items():
        if not k.startswith('align_fpn4'):  # feeds only the empty LD region of the 1x1 level: zero gradient
            assert not torch.equal(v, connectors_before[k]), k
    for k, v in algo.teacher.state_dict().items():
        assert torch.equal(v, teacher_before[k]), k


def test_error_names_level_for_wrong_channels():
    # the student neck is 32 wide but the distiller is told 48: the first layer that meets it names the shapes
    algo = algorithm(distiller=dfd_distiller(48, 64))
    data = algo.data_preprocessor(batch(), True)
    # (issue 41) it names the connector, the tap, the shape and the key to set, then torch's own message
    with pytest.raises(ValueError, match=r"loss_dfd_fpn0\.s_feature: connector \w+ \(\w+\) does not take the "
                                         r"student's 'neck' output \(2, 32, 12, 16\): set "
                                         r"model\.distiller\.levels\.student_channels to its channels \(32\)\. "
                                         r"RuntimeError: .*48.*\[2, 32, 12, 16\].*32 channels"):
        algo(**data, mode='loss')
    algo = algorithm(32, 32, distiller=dfd_distiller(48, 48))  # equal widths, no align layer: our connector
    data = algo.data_preprocessor(batch(), True)
    with pytest.raises(ValueError, match=r'loss_dfd_fpn0\.s_transformed: connector trans_fpn0 \(DFDConnector\) .*'
                                         r'ValueError: DFDConnector: .*\(N, 48, H, W\).*\(2, 32, 12, 16\)'):
        algo(**data, mode='loss')


def test_error_names_level_for_mismatched_spatial_shapes():
    # a hand-written mapping that pairs student level 1 (6x8) with teacher level 0 (12x16)
    cfg = dfd_distiller(32, 32)
    del cfg['levels']
    cfg.update(connectors=dict(trans=dict(type='DFDConnector', in_channels=32)),
               distill_losses=dict(loss_dfd_p3=dict(type='DFDLoss')),
               loss_forward_mappings=dict(loss_dfd_p3=dict(
                   s_feature=dict(from_student=True, recorder='fpn', data_idx=1),
                   s_transformed=dict(from_student=True, recorder='fpn', data_idx=1, connector='trans'),
                   t_feature=dict(from_student=False, recorder='fpn', data_idx=0))))
    algo = MODELS.build(dict(type='FpnTeacherDistill', architecture=retina(32, 32), teacher=retina(64, 32),
                             distiller=cfg))
    data = algo.data_preprocessor(batch(), True)
    with pytest.raises(ValueError, match=r'loss_dfd_p3: .*\(2, 32, 6, 8\).*\(2, 32, 12, 16\).*spatial'):
        algo(**data, mode='loss')


def test_error_names_loss_for_missing_recorder():
    cfg = dfd_distiller(32, 32)
    cfg['levels']['inputs']['s_transformed']['recorder'] = 'neck_out'
    with pytest.raises(KeyError, match=r"loss_dfd_fpn0.s_transformed: recorder 'neck_out' is not among the "
                                       r"student recorders \['fpn'\]"):
        MODELS.build(cfg)


def test_error_names_level_and_outputs_for_an_index_beyond_the_module():
    """indices=[0..7] on a 5-output FPN: upstream asserts with neither level nor module; the error names both."""
    from dfd_razor.errors import RecipeError
    cfg = dfd_distiller(32, 32)
    cfg['levels']['indices'] = list(range(8))
    algo = MODELS.build(dict(type='FpnTeacherDistill', architecture=retina(32, 32), teacher=retina(64, 32),
                             distiller=cfg))
    data = algo.data_preprocessor(batch(), True)
    with pytest.raises(IndexError, match=r"^model\.distiller\.levels\.indices: level fpn5 \(loss_dfd_fpn5\) reads "
                                         r"output 5 of the student's 'neck' \(recorder 'fpn'\), which gives 5 outputs "
                                         r"\(indices 0-4\)$") as info:
        algo(**data, mode='loss')
    assert isinstance(info.value, RecipeError)  # the tools print it as one line
    # a hand-written mapping: its own key is named
    cfg = dfd_distiller(32, 32)
    del cfg['levels']
    cfg.update(distill_losses=dict(loss_p6=dict(type='DFDLoss', hd_constraint='mse')),
               loss_forward_mappings=dict(loss_p6=dict(
                   s_feature=dict(from_student=True, recorder='fpn', data_idx=0),
                   t_feature=dict(from_student=False, recorder='fpn', data_idx=5))))
    algo = MODELS.build(dict(type='FpnTeacherDistill', architecture=retina(32, 32), teacher=retina(64, 32),
                             distiller=cfg))
    with pytest.raises(IndexError, match=r"^model\.distiller\.loss_forward_mappings\.loss_p6\.t_feature\.data_idx "
                                         r"reads output 5 of the teacher's 'neck'"):
        algo(**algo.data_preprocessor(batch(), True), mode='loss')


def test_error_for_unknown_level_connector_and_keys():
    cfg = dfd_distiller(32, 32)
    cfg['levels']['inputs']['s_transformed']['connector'] = 'missing'
    with pytest.raises(KeyError, match="names connector 'missing'"):
        MODELS.build(cfg)
    cfg = dfd_distiller(32, 32)
    cfg['levels']['student_channels'] = [32, 32]
    with pytest.raises(ValueError, match='student_channels has 2 entries for 5 levels'):
        MODELS.build(cfg)
    cfg = dfd_distiller(32, 32)
    cfg['levels']['typo'] = 1
    with pytest.raises(KeyError, match='unknown keys'):
        MODELS.build(cfg)


def test_none_entries_remove_inherited_connectors_and_inputs():
    cfg = dfd_distiller(32, 32, split=False, hd_constraint='mse')
    cfg['levels']['connectors']['trans'] = None
    cfg['levels']['inputs']['s_transformed'] = None
    d = MODELS.build(cfg)
    assert len(d.connectors) == 0
    assert all(set(m) == {'s_feature', 't_feature'} for m in d.loss_forward_mappings.values())


@pytest.fixture
def message_hubs():
    """Makes named MessageHub instances current; removed afterwards, so the previous current one is back."""
    from mmengine.logging import MessageHub
    names = []

    def make(name):
        names.append(name)
        return MessageHub.get_instance(name)

    yield make
    for name in names:
        MessageHub._instance_dict.pop(name, None)


def poison(module, level, value):
    """A forward hook writing ``value`` into one position of the module's ``level``-th output, as recorded."""
    def hook(_, __, outputs):
        with torch.no_grad():
            outputs[level][1, 3, 1, 2] = value
    return module.register_forward_hook(hook)


@pytest.mark.parametrize('side,level,value,inputs', [
    ('student', 2, float('nan'), 's_feature, s_transformed, s_attention'),
    ('teacher', 0, float('inf'), 't_feature')])
def test_first_non_finite_feature_names_level_side_input_and_iteration(side, level, value, inputs, message_hubs):
    algo = algorithm()
    algo.init_weights()
    algo.train()
    poison(algo.student.neck if side == 'student' else algo.teacher.neck, level, value)
    data = algo.data_preprocessor(batch(), True)
    message_hubs(f'in_a_runner_{side}').update_info('iter', 7)  # as mmengine's RuntimeInfoHook records it
    nan, inf = (1, 0) if value != value else (0, 1)
    with pytest.raises(FloatingPointError, match=rf"^loss_dfd_fpn{level}: the {side} feature \(recorder 'fpn', "
                                                 rf"data_idx {level}; loss input {inputs}\) has {nan} NaN and {inf} "
                                                 r"Inf values .* at training iteration 7;"):
        algo(**data, mode='loss')
    message_hubs(f'outside_a_runner_{side}')  # a fresh current instance: no 'iter' recorded
    with pytest.raises(FloatingPointError, match=rf'loss_dfd_fpn{level}: .* training iteration unknown'):
        algo(**data, mode='loss')


def test_check_finite_off_lets_the_nan_through():
    cfg = dfd_distiller(32, 64)
    cfg['check_finite'] = False
    algo = algorithm(distiller=cfg)
    assert algo.distiller.check_finite is False and MODELS.build(dfd_distiller(32, 64)).check_finite is True
    algo.init_weights()
    algo.train()
    poison(algo.teacher.neck, 1, float('nan'))
    losses = algo(**algo.data_preprocessor(batch(), True), mode='loss')
    assert torch.isnan(losses['distill.loss_dfd_fpn1_ld']) and torch.isfinite(losses['distill.loss_dfd_fpn0_ld'])
