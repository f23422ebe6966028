"""The benchmark's one error: a pair, preset or option it cannot use."""


class BenchmarkError(ValueError):
    """A pair, preset or option the benchmark cannot use; the message names it and what is wrong."""
