"""Split an exact total among weights so that the parts add up exactly (largest-remainder method).

Pure. Each part differs from its unrounded share by less than one ``quantum``; the remainder units go to the
largest fractional remainders, ties broken by position (earlier first), so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from salesops.engine.money import CENT, to_decimal


def allocate(total: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """Parts of ``total`` proportional to ``weights``, in units of ``quantum``, summing exactly to ``total``.

    ``total`` must be a whole number of quanta; it may be negative (a return splits like its sale).
    Weights must be non-negative with a positive sum.
    """
    total = to_decimal(total)
    weights = [to_decimal(w) for w in weights]
    if not weights:
        raise ValueError("nothing to allocate to")
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        raise ValueError("weights sum to zero")
    units_total = total / quantum
    if units_total != units_total.to_integral_value():
        raise ValueError(f"total {total} is not a whole number of {quantum}")
    sign = -1 if units_total < 0 else 1
    units_total = abs(int(units_total))
    exact = [units_total * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = units_total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * f * quantum for f in floors]
