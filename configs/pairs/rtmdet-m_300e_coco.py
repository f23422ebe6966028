# The RTMDet-M student of the l -> m pair on its own (used by the pair file and the plain student recipe, so that
# every rtmdet-m recipe trains with the same data, schedule and hooks): MMYOLO's RTMDet-M, 300 epochs, unchanged but
# for the dataset root, $DFD_DATA_ROOT/coco/ (default data/coco/, MMYOLO's own), and the collate function restated:
# MMEngine tags every dict of a config inherited through `mmyolo::` with `_scope_='mmyolo'`, and the Runner passes all
# keys of `collate_fn` but `type` to the function, which rejects `_scope_`.
_base_ = 'mmyolo::rtmdet/rtmdet_m_syncbn_fast_8xb32-300e_coco.py'
data_root = '{{$DFD_DATA_ROOT:data}}/coco/'
train_dataloader = dict(collate_fn=dict(_delete_=True, type='yolov5_collate'), dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + _base_.val_ann_file)
test_evaluator = val_evaluator
