"""Does a method's rank hold when the student trains longer? ``<name>_schedules.md`` and ``.png`` from the benchmarks
of one pair at several schedule lengths (``tools/benchmark.py --compare-schedules``).

The shipped schedule's benchmark picks every row's weight on its first seed; each longer one runs the rows at those
picks (``--picks-from``) over the same fresh seeds. Per length: every row's mean +- std over the fresh seeds, the
best method other than the reference, the controls and the variants (by that mean), and the reference's paired
difference to it, seed by seed, with its verdict (:func:`dfd_razor_tools.benchmark.verdict`). The chart: metric against length per row, and
the reference-minus-best difference (mean, min to max) against length.
"""
import os
import os.path as osp
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from dfd_razor_tools.benchmark import CONTROLS, Benchmark, difference_cell, mean_std, paired_differences, verdict

#: (schedule length, its benchmark), shortest first
Lengths = Sequence[Tuple[int, Benchmark]]


def row_values(bench: Benchmark, row: str) -> Dict[int, float]:
    """Seed -> metric of a row at its picked weight over the fresh seeds."""
    return bench.seed_values(row, bench.picked(row))


def best_other(bench: Benchmark) -> Optional[str]:
    """The method with the highest mean over the fresh seeds, other than the reference, the controls and the
    variants (a method's recipe with fixed options: the reference's own ablations, in the presets), None when no
    such row has a value; a row with fewer seeds than another still counts by its mean."""
    means = {r: statistics.mean(v.values()) for r in bench.rows
             if r != bench.reference and r not in CONTROLS and not bench.is_variant(r) and (v := row_values(bench, r))}
    return max(means, key=lambda r: (means[r], r)) if means else None


def reference_gap(bench: Benchmark) -> Tuple[Optional[str], Dict[int, float], str]:
    """The best other row, the reference's paired differences to it and the verdict."""
    best = best_other(bench)
    if best is None:
        return None, {}, '-'
    diffs = paired_differences(row_values(bench, bench.reference), row_values(bench, best), bench.fresh)
    return best, diffs, verdict(list(diffs.values()), len(bench.fresh))


def schedule_tables(lengths: Lengths, unit: str) -> List[str]:
    """The markdown tables: rows by length, then the reference against the best other row at each length."""
    first = lengths[0][1]
    ref = first.reference
    head = ' | '.join(f'{n} {unit}' for n, _ in lengths)
    lines = [f'| method | picked factor | {head} |', '| --- ' * (2 + len(lengths)) + '|']
    missing = False
    for row in first.rows:
        picked = '-' if row in CONTROLS else f'{first.picked(row):g}' if first.picked(row) is not None else '-'
        cells = [mean_std(list(row_values(b, row).values())) if row_values(b, row) or i == 0 else '-'
                 for i, (_, b) in enumerate(lengths)]
        missing = missing or '-' in cells
        lines.append(f'| {row} | {picked} | ' + ' | '.join(cells) + ' |')
    if missing:  # a longer schedule may run only some rows (the reference and the best other one)
        lines += ['', '-: no record of the row at that length.']
    lines += ['', f'| length | best other method (by mean) | {ref} - best, per seed | verdict |',
              '| --- | --- | --- | --- |']
    for n, bench in lengths:
        best, diffs, word = reference_gap(bench)
        lines.append(f'| {n} {unit} | {best or "-"} | {difference_cell(diffs)} | {word} |')
    return lines


def plot_schedules(lengths: Lengths, path: str, label: str, unit: str) -> None:
    """Left: each row's mean +- std against length; right: reference minus the best other row (mean, min to max)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    xs = [n for n, _ in lengths]
    first = lengths[0][1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw=dict(width_ratios=[3, 2]))
    for row in first.rows:
        points = [(n, list(row_values(b, row).values())) for n, b in lengths]
        points = [(n, v) for n, v in points if v]
        if not points:
            continue
        left.errorbar([n for n, _ in points], [statistics.mean(v) for _, v in points],
                      yerr=[statistics.stdev(v) if len(v) > 1 else 0.0 for _, v in points], marker='o', capsize=3,
                      lw=2.5 if row == first.reference else 1.2, label=row)
    left.set_xticks(xs, [str(n) for n in xs])
    left.set_xlabel(f'student schedule ({unit})')
    left.set_ylabel(label)
    left.legend(fontsize=8)
    gaps = [(n, reference_gap(b)) for n, b in lengths]
    gaps = [(n, best, list(d.values())) for n, (best, d, _) in gaps if d]
    if gaps:
        means = [statistics.mean(d) for _, _, d in gaps]
        right.errorbar([n for n, _, _ in gaps], means,
                       yerr=[[m - min(d) for m, (_, _, d) in zip(means, gaps)],
                             [max(d) - m for m, (_, _, d) in zip(means, gaps)]], marker='o', capsize=3)
        for (n, best, _), m in zip(gaps, means):
            right.annotate(best, (n, m), textcoords='offset points', xytext=(5, 5), fontsize=8)
    right.axhline(0, color='k', lw=0.8)
    right.set_xticks(xs, [str(n) for n in xs])
    right.set_xlabel(f'student schedule ({unit})')
    right.set_ylabel(f'{first.reference} - best other (mean, min to max)')
    fig.suptitle(f'{first.pair.name}: fresh seeds {", ".join(map(str, first.fresh))}', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_schedule_report(lengths: Lengths, out_dir: str, label: str, unit: str, command: str) -> str:
    """Write ``<out_dir>/<name>_schedules.md`` and ``.png`` (name: the shortest length's pair); return the path.

    Raises:
        ValueError: Fewer than two lengths, or benchmarks whose fresh seeds or rows differ.
    """
    if len(lengths) < 2:
        raise ValueError('a schedule comparison needs at least two lengths')
    first = lengths[0][1]
    for n, bench in lengths[1:]:
        if bench.fresh != first.fresh or bench.rows != first.rows:
            raise ValueError(f'{bench.pair.name} ({n} {unit}): rows {bench.rows} and fresh seeds {bench.fresh}, the '
                             f'shortest schedule\'s are {first.rows} and {first.fresh}')
    name = first.pair.name
    lines = [f'# {name}: methods against the student\'s schedule', '',
             f'{label}. Every row at the weight the {lengths[0][0]}-{unit} sweep picked on seed {first.seeds[0]}, the '
             f'same at every length; each mean over the fresh seeds {", ".join(map(str, first.fresh))} (the same for '
             f'every row and length). The reference is {first.reference}; "best other" is the method other than it, '
             'the controls and the variants with the highest mean at that length, and the difference is paired seed by seed, as mean '
             '(min to max), with the verdict of docs/benchmark.md.', ''] + schedule_tables(lengths, unit)
    lines += ['', f'![schedules]({name}_schedules.png)', '',
              'Tables of each length: ' + ', '.join(f'[{b.pair.name}.md]({b.pair.name}.md)' for _, b in lengths) +
              f'. Command: `{command}`.', '']
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{name}_schedules.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    plot_schedules(lengths, osp.join(out_dir, f'{name}_schedules.png'), label, unit)
    return path
