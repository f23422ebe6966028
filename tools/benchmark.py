"""Which distillation method wins on your pair? The held-out comparison, free of selection bias, on this machine or
a Slurm cluster.

    python tools/benchmark.py FOLDER --teacher T.pth --metric coco/bbox_mAP [--pair GLOB] [--cfg-options K=V ...]
    python tools/benchmark.py --preset bccd            # the repository's BCCD benchmark (benchmarks/bccd.md)
    python tools/benchmark.py FOLDER ... --executor local --jobs 4 [--gpus-per-run 2]
    python tools/benchmark.py FOLDER ... --executor slurm --partition gpu --gpus-per-run 1 --time-min 240

``python tools/benchmark.py --help`` says what the protocol does and every option. The tool is the package
:mod:`dfd_razor_tools.benchmark`; this script runs its command line (:func:`dfd_razor_tools.benchmark.cli.run`).
Importing ``dfd_razor_tools`` silences the OpenMMLab packages' pkg_resources warning before they load.
"""
from dfd_razor_tools.benchmark.cli import run

if __name__ == '__main__':
    run()
