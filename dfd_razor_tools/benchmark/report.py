"""The benchmark's tables, verdicts and charts, written from a
:class:`~dfd_razor_tools.benchmark.protocol.Benchmark`'s records.

- ``<name>.md``, ``<name>_diagnostics.md`` and ``<name>.png`` (:func:`write_report`, after every finished run): the
  headline gives every row's mean +- std over the fresh seeds only, the reference method's paired difference to
  each other row seed by seed and its verdict (:func:`verdict`); the seed that picked the weights appears in the
  sweep table only.
- ``<name>_schedules.md`` and ``.png`` (:func:`write_schedule_report`, ``tools/benchmark.py --compare-schedules``):
  does a method's rank hold when the student trains longer? The shipped schedule's benchmark picks every row's
  weight on its first seed; each longer one runs the rows at those picks (``--picks-from``) over the same fresh
  seeds. Per length: every row's mean +- std over the fresh seeds, the best method other than the reference, the
  controls and the variants (by that mean), and the reference's paired difference to it, seed by seed, with its
  verdict. The chart: metric against length per row, and the reference-minus-best difference (mean, min to max)
  against length.

This module reads a benchmark and never imports the protocol that runs one (the annotations name it for type
checkers only).
"""
import collections
import os
import os.path as osp
import statistics
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

from dfd_razor_tools.benchmark.pair import CONTROLS
from dfd_razor_tools.benchmark.records import Run, run_name
from dfd_razor_tools.benchmark.weights import recipe_loss

if TYPE_CHECKING:  # the protocol imports this module; a Benchmark only comes in as an argument
    from dfd_razor_tools.benchmark.protocol import Benchmark


# ---- verdicts -----------------------------------------------------------------------------------------------------
def paired_differences(reference: Mapping[int, float], other: Mapping[int, float],
                       seeds: Sequence[int]) -> Dict[int, float]:
    """Seed by seed, reference minus other, over the ``seeds`` where both have a value."""
    return {s: reference[s] - other[s] for s in seeds if s in reference and s in other}


def verdict(differences: Sequence[float], seeds: int) -> str:
    """The verdict of the reference against another row from their paired differences (reference - other, one per
    fresh seed):

    - ``'wins'``: every difference is above 0 (the reference scores higher on every fresh seed);
    - ``'loses'``: every difference is below 0;
    - ``'within the spread'``: the differences straddle 0 or one is exactly 0;
    - ``'incomplete (k of n seeds)'``: fewer than ``seeds`` differences (a run missing or failed).

    Under no true difference, with independent seeds, each sign is a coin toss: ``wins`` or ``loses`` then comes
    up with probability 2 x 0.5^n (0.25 for 3 seeds); docs/benchmark.md says how to read it.
    """
    if len(differences) < seeds:
        return f'incomplete ({len(differences)} of {seeds} seeds)'
    if min(differences) > 0:
        return 'wins'
    if max(differences) < 0:
        return 'loses'
    return 'within the spread'


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std (n=k)`` (sample std), ``v (n=1)``, or 'not run yet'."""
    if not values:
        return 'not run yet'
    if len(values) == 1:
        return f'{values[0]:.2f} (n=1)'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (n={len(values)})'


def difference_cell(differences: Mapping[int, float]) -> str:
    """``mean (min to max)`` of paired differences, signed."""
    if not differences:
        return '-'
    d = list(differences.values())
    return f'{statistics.mean(d):+.2f} ({min(d):+.2f} to {max(d):+.2f})'


# ---- the tables of one benchmark ------------------------------------------------------------------------
def _seeds(seeds: List[int]) -> str:
    return ', '.join(map(str, seeds))


def cell(bench: 'Benchmark', row: str, factor: Optional[float]) -> str:
    """Mean +- std of a row at ``factor`` over the fresh seeds, with the count of failed runs."""
    if factor is None:
        return 'not run yet'
    failed = bench.failed(row, factor)
    return mean_std(list(bench.seed_values(row, factor).values())) + (f', {failed} failed' if failed else '')


def weights_cell(bench: 'Benchmark', row: str, factor: Optional[float]) -> str:
    if row in CONTROLS:
        return '-'
    if factor is None:
        return '-'
    return ', '.join(f'{k}={v * factor:.3g}' for k, v in bench.weights(row).items())


def legend(bench: 'Benchmark', row: str) -> str:
    """What a row trains, from the pair."""
    if row == 'student':
        return f'the student recipe alone, from scratch (`{bench.pair.student}`)'
    if row == 'inherit':
        return ("the distillation recipes' initialisation from the teacher, no feature loss: the FitNet recipe "
                f'with every weight at 0 (`{bench.pair.inherit}`)')
    if bench.is_variant(row):
        variant = bench.pair.variants[row]
        return f'the {variant.method} recipe with `{" ".join(variant.options)}` (a variant: its picked weight only)'
    return f'`{bench.pair.recipe(row)}`, weight(s) {", ".join(bench.weights(row))}'


def comparison_cells(bench: 'Benchmark', row: str, shipped: bool) -> List[str]:
    if row == bench.reference or bench.reference not in bench.rows:
        return ['-', '-']
    diffs, word = bench.comparison(row, shipped)
    return [difference_cell(diffs), word]


def headline(bench: 'Benchmark') -> List[str]:
    ref, label = bench.reference, bench.metric.label
    lines = ['| method | picked factor | picked weight(s) | ' + label + f' | {ref} - method, per seed | verdict |',
             '| --- | --- | --- | --- | --- | --- |']
    for row in bench.rows:
        best = bench.picked(row)
        if row in CONTROLS:
            shown = '-'
        elif best is None:
            shown = 'not run yet'
        else:
            shown = f'{best:g}' + ('' if bench.sweep_complete(row) else ' (sweep not finished)')
        lines.append(f'| {row} | {shown} | {weights_cell(bench, row, best)} | {cell(bench, row, best)} | ' +
                     ' | '.join(comparison_cells(bench, row, shipped=False)) + ' |')
    return lines


def shipped_table(bench: 'Benchmark') -> List[str]:
    ref, label = bench.reference, bench.metric.label
    lines = [f'| method | shipped weight(s) | {label} | {ref} - method, per seed | verdict |',
             '| --- | --- | --- | --- | --- |']
    for row in bench.rows:
        if bench.is_variant(row):
            continue
        factor = 0.0 if row in CONTROLS else 1.0
        lines.append(f'| {row} | {weights_cell(bench, row, factor)} | {cell(bench, row, factor)} | ' +
                     ' | '.join(comparison_cells(bench, row, shipped=True)) + ' |')
    return lines


def sweep_table(bench: 'Benchmark') -> List[str]:
    first = bench.seeds[0]
    lines = ['| method | factor: metric (the picked one in bold) |', '| --- | --- |']
    for row in bench.rows:
        if row in CONTROLS:  # no weight to pick: on the first seed only when an earlier protocol ran it
            if (row, 0.0, first) in bench.records:
                value = bench.value((row, 0.0, first))
                lines.append(f'| {row} | ' + ('failed' if value is None else f'{value:.2f} (no weight)') + ' |')
            continue
        best = bench.picked(row)
        parts = []
        for f, v in sorted(bench.sweep(row).items()):
            text = f'x{f:g}: ' + (f'{v:.2f}' if v is not None else 'failed')
            parts.append(f'**{text}**' if best is not None and f == best else text)
        lines.append(f'| {row} | ' + (', '.join(parts) or 'not run yet') + ' |')
    return lines


def runs_table(bench: 'Benchmark') -> List[str]:
    extra = list(bench.metric.extra)
    lines = [f'| run | {bench.metric.key} | ' + ''.join(f'{k} | ' for k in extra) +
             's / iter | peak RSS (MiB) | wall (s) |', '| --- ' * (5 + len(extra)) + '|']
    for run in sorted(bench.records, key=lambda r: (r[0], r[1], r[2])):
        r = bench.records[run]
        if r.get('status') != 'ok':
            lines.append(f'| {run_name(run)} | FAILED: {r.get("error")} ({r.get("log")}) |')
            continue
        d = r.get('diagnostics') or {}
        lines.append(f'| {run_name(run)} | {r["metric"]:.2f} | ' +
                     ''.join(f'{r.get("extra", {}).get(k, 0):.2f} | ' for k in extra) +
                     f'{d.get("seconds_per_iter", float("nan")):.3f} | {r.get("peak_rss_mib", float("nan")):.0f} | '
                     f'{r.get("seconds", float("nan")):.0f}' +
                     (f' (after {r["resumed_from"]})' if r.get('resumed_from') else '') + ' |')
    return lines


def cost_line(bench: 'Benchmark') -> str:
    """The finished runs' wall times. A run that went on from an interrupted one's checkpoint (``resumed_from``)
    measured only the part after it: it is counted, and left out of the sum and the mean."""
    finished = [r for r in bench.records.values() if r.get('status') == 'ok' and 'seconds' in r]
    walls = [r['seconds'] for r in finished if not r.get('resumed_from')]
    if not finished:
        return 'No finished run yet.'
    resumed = len(finished) - len(walls)
    whose = (f'{resumed} went on from an interrupted run\'s checkpoint and measured only the part after it; the '
             'others\'' if resumed else 'their')
    if len(finished) == 1 and walls:
        return f'1 finished run; its wall time: {walls[0] / 60:.1f} min.'
    return f'{len(finished)} finished run{"" if len(finished) == 1 else "s"}; ' + (
        f'{whose} wall times sum to {sum(walls) / 3600:.1f} h, {statistics.mean(walls) / 60:.1f} min per run on '
        'average.' if walls else f'{resumed} went on from an interrupted run\'s checkpoint (no wall time of a '
        'whole run).')


def cpu_line(bench: 'Benchmark') -> str:
    """How many records each CPU made (``cpu`` of a record, written since 2026-12-06): a seeded run gives other
    numbers on another CPU, so a table whose runs come from several CPUs says so."""
    cpus = collections.Counter(r.get('cpu', 'not recorded') for r in bench.records.values())
    known = [c for c in cpus if c != 'not recorded']
    head = 'Runs by CPU' if len(known) < 2 else 'Runs by CPU (more than one: a seed gives other numbers on another CPU)'
    return f'{head}: ' + ', '.join(f'{c}: {n}' for c, n in sorted(cpus.items(), key=lambda kv: -kv[1])) + '.'


def write_report(bench: 'Benchmark', teacher: Dict, command: str, out_dir: str, how: str,
                 elapsed: Optional[float], description: str = '') -> str:
    """Write ``<out_dir>/<name>.md``, ``<name>_diagnostics.md`` and ``<name>.png``; return the tables' path.

    Args:
        bench (Benchmark): The benchmark, its records read.
        teacher (dict): The teacher's ``metric`` and ``extra`` metrics (and ``checkpoint``).
        command (str): The command that ran the protocol.
        out_dir (str): Where the files go.
        how (str): How the runs ran (the executor's description); empty when nothing ran (--report-only).
        elapsed (float, optional): Seconds of this invocation; None for tables rewritten from records only.
        description (str): A paragraph about the pair (a preset's).
    """
    name, ref, label, fresh = bench.pair.name, bench.reference, bench.metric.label, bench.fresh
    lines = [f'# Held-out benchmark: {name}', '']
    if description:
        lines += [description, '']
    if bench.picks is not None:
        picked = (f'Metric: {label}. Every method runs at the weight that the seed-{bench.seeds[0]} sweep of '
                  f'`{bench.picks_source}` picked (another schedule of this pair, the same teacher; no sweep here); ')
    else:
        picked = (f'Metric: {label}. Every method\'s weights were picked on seed {bench.seeds[0]} (factors '
                  f'{", ".join(f"{f:g}" for f in bench.factors)} of the shipped weights, extended by x10 up to '
                  f'{bench.max_extend} times per side while the best was at an end); ')
    lines += [picked + f'every mean below is over the fresh '
              f'seeds {_seeds(fresh)}, which took no part in picking, the same seeds for every row. Paired '
              f'difference: {ref} minus the row, seed by seed, as mean (min to max). Verdict: {ref} *wins* when it '
              'is above the row on every fresh seed, *loses* when it is below on every one, else the row is '
              '*within the spread* (docs/benchmark.md: how to read it).', '']
    if teacher:
        lines += [f'Teacher (`{teacher.get("checkpoint", "")}`): {teacher["metric"]:.2f}' +
                  ''.join(f', {k} {v:.2f}' for k, v in teacher.get('extra', {}).items()) + '.', '']
    where = f'`{bench.picks_source}`' if bench.picks is not None else f'seed {bench.seeds[0]}'
    lines += [f'## Headline: each method at the weight picked on {where}', ''] + headline(bench)
    alone = list(bench.seed_values('student', 0.0).values()) if 'student' in bench.rows else []
    if alone and teacher:
        lines += ['', f'Teacher minus student alone: {teacher["metric"] - statistics.mean(alone):.2f} points '
                  f'(student alone over {len(alone)} fresh seed(s)).']
    if bench.picks is None:  # with picks from elsewhere, neither ran here
        lines += ['', '## At the shipped weights (each recipe\'s own)', ''] + shipped_table(bench)
        lines += ['', f'## Sweep (seed {bench.seeds[0]}: it picks the weights and is in no mean above)', ''] + \
            sweep_table(bench)
    lines += ['', '## Runs', '', 's / iter: the median seconds per training iteration, from runs that may have shared '
              'their machine with other runs: not a cost comparison (benchmarks/step_cost.py is one).', ''] + \
        runs_table(bench)
    lines += ['', '## Rows', ''] + [f'- {row}: {legend(bench, row)}' for row in bench.rows]
    lines += ['', f'Command: `{command}`; ' + (f'{how}; ' if how else '') +
              (f'{elapsed:.0f} s in this invocation, {bench.reused} runs reused from earlier ones. '
               if elapsed is not None else
               f'these tables were rewritten from the {len(bench.records)} '
               f'record{"" if len(bench.records) == 1 else "s"} (--report-only). ') +
              cost_line(bench), cpu_line(bench),
              f'Diagnostics of every run (distill terms, distill/task ratio, HD fractions): '
              f'[{name}_diagnostics.md]({name}_diagnostics.md).', '']
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{name}.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    write_diagnostics(bench, osp.join(out_dir, f'{name}_diagnostics.md'))
    plot(bench, osp.join(out_dir, f'{name}.png'), teacher)
    return path


def term_weight(bench: 'Benchmark', run: Run, term: str) -> Optional[float]:
    """The weight a logged distill term was multiplied by (to report it unweighted), from the loss's declaration;
    None for a control."""
    from dfd_razor.models.losses import term_weight as declared_term_weight
    row, factor, _ = run
    if row in CONTROLS:
        return None
    return declared_term_weight(recipe_loss(bench.recipe(run)), term) * factor


def write_diagnostics(bench: 'Benchmark', path: str) -> None:
    lines = [f'# {bench.pair.name}: diagnostics of every run', '',
             'Per distill term at the first, middle and last logged training iteration: the weighted value as '
             'logged and the unweighted value (weighted / weight); the whole distill loss over the task loss; for '
             'DFD the fraction of positions in the HD region per level.', '']
    for run in sorted(bench.records, key=lambda r: (r[0], r[1], r[2])):
        r = bench.records[run]
        d = r.get('diagnostics') or {}
        if r.get('status') != 'ok' or 'first' not in d:
            continue
        where = ('first', 'middle', 'last')
        iters = [d[w]['iter'] for w in where]
        ratios = ' / '.join('-' if d[w]['ratio'] is None else f'{d[w]["ratio"]:.3g}' for w in where)
        lines += [f'## {run_name(run)}', '', f'iterations {iters}; distill/task loss: {ratios}', '']
        terms = sorted(d['first']['distill'])
        if terms:
            lines += ['| term | weighted (first / middle / last) | unweighted |', '| --- | --- | --- |']
            for t in terms:
                weight = term_weight(bench, run, t)
                vals = [d[w]['distill'].get(t) for w in where]
                weighted = ' / '.join('-' if v is None else f'{v:.4g}' for v in vals)
                unweighted = ' / '.join('-' if v is None or not weight else f'{v / weight:.4g}' for v in vals)
                lines.append(f'| {t} | {weighted} | {unweighted} |')
            lines.append('')
        fractions = sorted(d['first']['hd_fraction'])
        if fractions:
            lines.append('HD fraction: ' + '; '.join(
                f'{t.replace("stat_", "").replace("_hd_fraction", "")} ' +
                ' / '.join(f'{d[w]["hd_fraction"].get(t, float("nan")):.3f}' for w in where) for t in fractions))
            lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def plot(bench: 'Benchmark', path: str, teacher: Dict) -> None:
    """Bars: every row's mean +- std over the fresh seeds at its picked and at its shipped weight."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names, picked, shipped = [], [], []
    for row in bench.rows:
        names.append(row)
        picked.append(list(bench.seed_values(row, bench.picked(row)).values()))
        shipped.append([] if bench.is_variant(row) else
                       list(bench.seed_values(row, 0.0 if row in CONTROLS else 1.0).values()))
    fig, ax = plt.subplots(figsize=(1.0 * len(names) + 2, 4))
    x = list(range(len(names)))
    series = ((0.0, picked, 'picked weight'),) if bench.picks is not None else (
        (-0.18, picked, 'picked weight'), (0.18, shipped, 'shipped weight'))  # with picks, no shipped-weight run
    for offset, values, label in series:
        means = [statistics.mean(v) if v else float('nan') for v in values]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
        ax.bar([i + offset for i in x], means, 0.36, yerr=stds, capsize=3, label=label)
    if teacher:
        ax.axhline(teacher['metric'], color='k', ls='--', lw=1, label='teacher')
    ax.set_xticks(x, names, rotation=30, ha='right')
    ax.set_ylabel(bench.metric.label)
    ax.set_title(f'{bench.pair.name}: mean ± std over the fresh seeds {_seeds(bench.fresh)} '
                 f'(n per bar in {bench.pair.name}.md)', fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ---- the schedule comparison --------------------------------------------------------------------------------
#: (schedule length, its benchmark), shortest first
Lengths = Sequence[Tuple[int, 'Benchmark']]


def row_values(bench: 'Benchmark', row: str) -> Dict[int, float]:
    """Seed -> metric of a row at its picked weight over the fresh seeds."""
    return bench.seed_values(row, bench.picked(row))


def best_other(bench: 'Benchmark') -> Optional[str]:
    """The method with the highest mean over the fresh seeds, other than the reference, the controls and the
    variants (a method's recipe with fixed options: the reference's own ablations, in the presets), None when no
    such row has a value; a row with fewer seeds than another still counts by its mean."""
    means = {r: statistics.mean(v.values()) for r in bench.rows
             if r != bench.reference and r not in CONTROLS and not bench.is_variant(r) and (v := row_values(bench, r))}
    return max(means, key=lambda r: (means[r], r)) if means else None


def reference_gap(bench: 'Benchmark') -> Tuple[Optional[str], Dict[int, float], str]:
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
             'the controls and the variants with the highest mean at that length, and the difference is paired seed '
             'by seed, as mean (min to max), with the verdict of docs/benchmark.md.', '']
    lines += schedule_tables(lengths, unit)
    lines += ['', f'![schedules]({name}_schedules.png)', '',
              'Tables of each length: ' + ', '.join(f'[{b.pair.name}.md]({b.pair.name}.md)' for _, b in lengths) +
              f'. Command: `{command}`.', '']
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{name}_schedules.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    plot_schedules(lengths, osp.join(out_dir, f'{name}_schedules.png'), label, unit)
    return path
