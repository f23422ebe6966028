# BCCD blood-cell detection, the repository's held-out CPU benchmark (benchmarks/bccd.md):
#     OMP_NUM_THREADS=1 python tools/benchmark.py --preset bccd --jobs 2
# Each name below is the default of the tools/benchmark.py option of the same name (paths relative to the
# repository), which overrides it; teacher_recipe, teacher_work_dir, data and description are the preset's own.
# A copy of this file, edited, is a preset of your own pair (--preset path/to/file.py).
name = 'bccd'
description = ('Pair: `recipes/cpu_demo/*_retina-r18_retina-r18q_300i_bccd.py`: RetinaNet R18 teacher (1600 '
               'iterations) -> quarter-width R18 student with the same FPN and head (300 iterations), BCCD (205 train, '
               '87 val images, 3 classes), everything scored on val, which no model trained on.')
folder = 'recipes/cpu_demo'
pair = '*_fpn_retina-r18_retina-r18q_300i_bccd.py'
student = 'student_retina-r18q_300i_bccd.py'
# The rows, in the order they run: the controls, the methods, then the variants (why DFD wins or loses).
methods = ['student', 'inherit', 'fitnet', 'pkd', 'mgd', 'cwd', 'dfd', 'dfd_split', 'dfd_batch', 'dfd_norm',
           'dfd_norm_mse']
variants = {
    'dfd_split': ('dfd', ['model.distiller.levels.connectors.trans=None',  # table 1 "split": strict MSE on HD too
                          'model.distiller.levels.inputs.s_transformed=None',
                          'model.distiller.levels.loss.hd_constraint=mse']),
    'dfd_batch': ('dfd', ['model.distiller.levels.loss.threshold_scope=batch']),  # one threshold per batch
    'dfd_norm': ('dfd', ['model.distiller.levels.loss.normalize=True']),  # scale-free DFD (ours)
    # normalised and without the transform at once: does the split (HD under strict MSE) or the transform cost
    # DFD its gain?
    'dfd_norm_mse': ('dfd', ['model.distiller.levels.connectors.trans=None',
                             'model.distiller.levels.inputs.s_transformed=None',
                             'model.distiller.levels.loss.hd_constraint=mse',
                             'model.distiller.levels.loss.normalize=True']),
    # issue 40, ours: the transform as a correction. A zero-initialised transform on a residual path: at iteration 0
    # the HD constraint is strict MSE (dfd_split), and the transform learns only what lowers it from there.
    'dfd_res': ('dfd', ['model.distiller.levels.connectors.trans.zero_init=True',
                        'model.distiller.levels.loss.residual=True']),
    # the paper's transform, weighted in over the first half of the schedule (strict MSE on HD at iteration 0)
    'dfd_warm': ('dfd', ['model.distiller.levels.loss.transform_warmup=0.5']),
    'dfd_res_norm': ('dfd', ['model.distiller.levels.connectors.trans.zero_init=True',
                             'model.distiller.levels.loss.residual=True',
                             'model.distiller.levels.loss.normalize=True']),
}
# issue 40: the weight schedules every method gets the same tries of (model.distiller.weight_schedule, which scales
# every distillation loss): cosine decay from the method's weight to 0 over the schedule, and the weight held
# constant until half of the schedule, 0 after (as MMYOLO's CWD recipes stop distilling near the end). Rows
# <method>_cos and <method>_stop; not in `methods` (the shipped tables keep their rows): name them with --methods.
_schedules = {'cos': ['model.distiller.weight_schedule.policy=cosine'],
              'stop': ['model.distiller.weight_schedule.stop=0.5']}
variants.update({f'{m}_{k}': (m, opts) for m in ('fitnet', 'pkd', 'mgd', 'cwd', 'dfd')
                 for k, opts in _schedules.items()})
# Trained (seeded, deterministic) into the demo's cache when missing, on one thread. The weights depend on the CPU:
# on two machines of this project's kind, a session apart, it got sha256 6be739d6... (the records of runs/bccd/;
# the second, as its provenance records, an Intel Xeon, family 6, model 167; the first's CPU was not recorded); on
# an AMD EPYC one (family 25, model 17), on 2026-12-06, 3b1b8f46..., the
# teacher of the records of 2026-11-27 (runs/bccd_2026-11-27/). The tool writes how it trained a teacher
# (provenance.json beside it, kept in runs/<name>/teacher.json) and names both CPUs when a teacher does not match.
teacher_recipe = 'recipes/cpu_demo/teacher_retina-r18_1600i_bccd.py'
teacher_work_dir = 'work_dirs/demo/bccd/teacher'
teacher_threads = 1
metric = 'coco/bbox_mAP'
scale = 100
extra_metrics = {'pascal_voc/mAP': 100}
label = 'box mAP@[.5:.95] (BCCD val, held out)'
data = ['bccd']  # bundled dataset (dfd_razor_tools/data.py): $DFD_DATA_ROOT of every run
out_dir = 'benchmarks'  # tables here, records in benchmarks/runs/bccd/
