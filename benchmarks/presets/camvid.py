# CamVid semantic segmentation, the repository's held-out CPU benchmark (benchmarks/camvid.md):
#     OMP_NUM_THREADS=1 python tools/benchmark.py --preset camvid --jobs 2
# Each name below is the default of the tools/benchmark.py option of the same name (paths relative to the
# repository), which overrides it; teacher_recipe, teacher_work_dir, data and description are the preset's own.
name = 'camvid'
description = ('Pair: `recipes/cpu_demo/*_pspnet-r18_pspnet-r18q_200i_camvid.py`: PSPNet R18-d8 teacher (800 '
               'iterations) -> quarter-width student (200 iterations), channels aligned, CamVid (367 train, 101 val '
               'images), everything scored on val, which no model trained on. The student inherits nothing from the '
               'teacher (other widths), so there is no inherit row.')
folder = 'recipes/cpu_demo'
pair = '*_head_pspnet-r18_pspnet-r18q_200i_camvid.py'
student = 'student_pspnet-r18q_200i_camvid.py'
methods = ['student', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd', 'dfd_split', 'dfd_batch', 'dfd_norm',
           'dfd_norm_mse']
variants = {
    'dfd_split': ('dfd', ['model.distiller.levels.connectors.trans=None',
                          'model.distiller.levels.inputs.s_transformed=None',
                          'model.distiller.levels.loss.hd_constraint=mse']),
    'dfd_batch': ('dfd', ['model.distiller.levels.loss.threshold_scope=batch']),
    'dfd_norm': ('dfd', ['model.distiller.levels.loss.normalize=True']),
    'dfd_norm_mse': ('dfd', ['model.distiller.levels.connectors.trans=None',
                             'model.distiller.levels.inputs.s_transformed=None',
                             'model.distiller.levels.loss.hd_constraint=mse',
                             'model.distiller.levels.loss.normalize=True']),
    # issue 40 (presets/bccd.py): the transform as a zero-initialised correction of the aligned student, and the
    # paper's transform weighted in over the first half
    'dfd_res': ('dfd', ['model.distiller.levels.connectors.trans.zero_init=True',
                        'model.distiller.levels.loss.residual=True']),
    'dfd_warm': ('dfd', ['model.distiller.levels.loss.transform_warmup=0.5']),
    'dfd_res_norm': ('dfd', ['model.distiller.levels.connectors.trans.zero_init=True',
                             'model.distiller.levels.loss.residual=True',
                             'model.distiller.levels.loss.normalize=True']),
}
teacher_recipe = 'recipes/cpu_demo/teacher_pspnet-r18_800i_camvid.py'
teacher_threads = 1  # the same weights when retrained on the same CPU (presets/bccd.py)
teacher_work_dir = 'work_dirs/demo/camvid/teacher'
metric = 'mIoU'
scale = 1
extra_metrics = {'aAcc': 1}
label = 'mIoU (CamVid val, held out)'
data = ['camvid']
out_dir = 'benchmarks'
