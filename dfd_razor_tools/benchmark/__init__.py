"""Which distillation method wins on your pair? The held-out comparison of ``tools/benchmark.py``
(docs/benchmark.md), one concept a module, each importing only those below it:

- :mod:`.cli`: the command line (options, ``main``);
- :mod:`.protocol`: the sweep, its extension, the fresh seeds, the schedule comparison (:class:`.protocol.Benchmark`);
- :mod:`.teacher`: the teacher's checkpoint (trained when missing), sha256, provenance and metrics;
- :mod:`.executors`: where the runs execute (this machine, or Slurm through submitit);
- :mod:`.report`: tables, verdicts and charts;
- :mod:`.records`: one JSON per run (read, matched, written, resumed), run names, picks from another sweep;
- :mod:`.settings`: the options, presets and command line merged into one typed :class:`.settings.Settings`;
- :mod:`.pair`, :mod:`.weights`, :mod:`.sweep`, :mod:`.errors`: a pair's recipes and rows, their loss weights,
  the sweep's choices, the one error.

The package imports none of them itself: ``from dfd_razor_tools.benchmark import protocol`` (or ``from
dfd_razor_tools.benchmark.protocol import Benchmark``) loads a module and what it needs.
"""
