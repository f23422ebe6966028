"""Compare evaluation results of several runs: a markdown table in the style of the paper's table 2 and a bar chart.

    python tools/compare.py student=work_dirs/student/test_metrics.json PKD=work_dirs/pkd \
        MGD=work_dirs/mgd CWD=work_dirs/cwd DFD=work_dirs/dfd --out comparison.md --chart comparison.png

Each run is NAME=PATH, PATH a metrics JSON written by tools/test.py or a work dir holding test_metrics.json. The
first run is the baseline the gains are computed against (or --baseline NAME). Metrics default to the paper's
columns of the task found in the files (COCO bbox mAP/APs/APm/APl, keypoint AP, mIoU); --metrics chooses others.
"""
import argparse
import json
import os.path as osp
from typing import Dict, List, Tuple

import dfd_razor  # noqa: F401
from dfd_razor_tools.launch import RecipeError, run_cli

# Paper-style columns per task, first match wins; metric keys as mmdet/mmpose/mmseg evaluators write them.
DEFAULT_COLUMNS = [
    (('coco/bbox_mAP', 'coco/bbox_mAP_s', 'coco/bbox_mAP_m', 'coco/bbox_mAP_l'), ('mAP', 'APs', 'APm', 'APl')),
    (('coco/AP', 'coco/AP .5', 'coco/AP .75'), ('AP', 'AP50', 'AP75')),
    (('mIoU', 'mAcc', 'aAcc'), ('mIoU', 'mAcc', 'aAcc')),
]
# mmdet reports bbox mAP as a fraction, the paper in percent.
PERCENT_FROM_FRACTION = ('coco/bbox_', 'coco/segm_', 'coco/AP', 'coco/AR')


def read_run(spec: str) -> Tuple[str, Dict[str, float]]:
    if '=' not in spec:
        raise RecipeError(f'run {spec!r}: expected NAME=PATH')
    name, path = spec.split('=', 1)
    if osp.isdir(path):
        path = osp.join(path, 'test_metrics.json')
    if not osp.isfile(path):
        raise RecipeError(f'run {name}: metrics file {path} not found (tools/test.py writes it)')
    with open(path) as f:
        data = json.load(f)
    metrics = data.get('metrics', data)
    return name, {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def percent(key: str, value: float) -> float:
    return value * 100 if key.startswith(PERCENT_FROM_FRACTION) else value


def choose_columns(runs: List[Tuple[str, Dict[str, float]]], metrics: List[str]) -> Tuple[List[str], List[str]]:
    if metrics:
        return metrics, metrics
    for keys, labels in DEFAULT_COLUMNS:
        if keys[0] in runs[0][1]:
            present = [(k, lab) for k, lab in zip(keys, labels) if all(k in m for _, m in runs)]
            return [k for k, _ in present], [lab for _, lab in present]
    raise RecipeError(f'no known metric in {sorted(runs[0][1])}; pass --metrics')


def table(runs: List[Tuple[str, Dict[str, float]]], keys: List[str], labels: List[str], baseline: str) -> str:
    base = dict(runs)[baseline]
    lines = ['| method | ' + ' | '.join(labels) + ' |', '| --- |' + ' --- |' * len(labels)]
    for name, m in runs:
        cells = []
        for i, k in enumerate(keys):
            if k not in m:
                raise RecipeError(f'run {name} has no metric {k}')
            v = percent(k, m[k])
            cell = f'{v:.1f}'
            if i == 0 and name != baseline:
                cell += f' ({v - percent(k, base[k]):+.1f})'
            cells.append(cell)
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def chart(runs: List[Tuple[str, Dict[str, float]]], key: str, label: str, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [n for n, _ in runs]
    values = [percent(key, m[key]) for _, m in runs]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3.5))
    bars = ax.bar(names, values, color=['#999999'] + ['#4c72b0'] * (len(names) - 1))
    ax.bar_label(bars, fmt='%.1f')
    ax.set_ylabel(label)
    ax.set_ylim(0, max(values + [1e-6]) * 1.15)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description='Compare evaluation results of several runs')
    parser.add_argument('runs', nargs='+', help='NAME=PATH (metrics JSON or work dir)')
    parser.add_argument('--baseline', help='run the gains are computed against (default: the first)')
    parser.add_argument('--metrics', nargs='+', default=[], help='metric keys (default: the task\'s paper columns)')
    parser.add_argument('--out', help='markdown file (default: print only)')
    parser.add_argument('--chart', help='bar chart PNG of the first metric')
    args = parser.parse_args()
    runs = [read_run(s) for s in args.runs]
    baseline = args.baseline or runs[0][0]
    if baseline not in dict(runs):
        raise RecipeError(f'--baseline {baseline} is not among the runs {[n for n, _ in runs]}')
    keys, labels = choose_columns(runs, args.metrics)
    text = table(runs, keys, labels, baseline)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    if args.chart:
        chart(runs, keys[0], labels[0], args.chart)


if __name__ == '__main__':
    run_cli(main)
