"""The sweep's choices, as pure functions: which factor a sweep picks and when it extends.

Every method's loss weights run at their shipped value times each of :data:`FACTORS` on the first seed; while the
best is at an end of the range, one more x10 step that way (at most :data:`MAX_EXTEND` per side); the best factor on
the held-out split is the method's *picked* weight (ties: the factor closest to 1).
"""
import math
from typing import Mapping, Optional, Sequence

FACTORS = (0.1, 1.0, 10.0)  # the sweep of each method's shipped weight
MAX_EXTEND = 2  # x10 steps past FACTORS, per side, while the best is at an end


def pick(sweep: Mapping[float, Optional[float]]) -> Optional[float]:
    """The best factor of a sweep (factor -> metric; None for a failed run); ties: the factor closest to 1."""
    done = {f: v for f, v in sweep.items() if v is not None}
    if not done:
        return None
    best = max(done.values())
    return min((f for f, v in done.items() if v == best), key=lambda f: (abs(math.log10(f)), f))


def extension(sweep: Mapping[float, Optional[float]], factors: Sequence[float], max_extend: int) -> Optional[float]:
    """The next factor to try when the best is at an end of the swept range, or None."""
    best = pick(sweep)
    if best is None:
        return None
    low, high = min(sweep), max(sweep)
    if best == low and low > min(factors) / 10 ** max_extend * 1.0001:
        return low / 10
    if best == high and high < max(factors) * 10 ** max_extend / 1.0001:
        return high * 10
    return None


def sweep_complete(sweep: Mapping[float, Optional[float]], factors: Sequence[float], max_extend: int) -> bool:
    """Every base factor has run and no extension is pending: the pick is final."""
    return all(any(math.isclose(f, g) for g in sweep) for f in factors) and \
        extension(sweep, factors, max_extend) is None
