# The segmentation student of table 7 on its own (used by the pair file and by the plain student recipe, so that
# every pspnet recipe trains with the same data and schedule): PSPNet R18-d8 on Cityscapes with 512x512 crops,
# 40k iterations. MMSeg's zoo trains R18 with 512x1024 crops for 80k; the paper's numbers (teacher 78.34 = the
# zoo's R101-d8 512x1024 40k model, student 69.85) are those of MGD's PSPNet setting, 512x512 crops and 40k
# iterations (github.com/yzd-v/MGD, seg/configs/pspnet/pspnet_r18-d8_512x512_40k_cityscapes.py), which we follow.
# Everything else (pipeline, SGD lr 0.01, poly schedule, 2 images per GPU, whole-image test) is the zoo's.
# The dataset root is $DFD_DATA_ROOT/cityscapes/ (default data/cityscapes/, MMSeg's).
_base_ = 'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'
crop_size = (512, 512)
# Both data preprocessors pad to the 512x512 crop: the model's, and the top-level one, which mmengine's Runner gives
# to a model config that has none, i.e. to the distillation algorithm of the pair built on this file (the zoo's
# top-level one pads to 512x1024, which would double the area of every distilled batch).
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_pipeline = [dict(t, crop_size=crop_size) if t['type'] == 'RandomCrop' else t for t in _base_.train_pipeline]

iters = 40000
train_cfg = dict(max_iters=iters, val_interval=iters // 10)
param_scheduler = [dict(_base_.param_scheduler[0], end=iters)]
default_hooks = dict(checkpoint=dict(interval=iters // 10))

data_root = '{{$DFD_DATA_ROOT:data}}/cityscapes/'
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
