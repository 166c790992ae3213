"""Split an exact total among weights so that the parts add up exactly (largest-remainder method).

Pure. Each part differs from its unrounded share by less than one ``quantum``; the remainder units go to the
largest fractional remainders, ties broken by position (earlier first), so the result is deterministic.

The arithmetic is done on integers (units of the quantum, weights scaled to a common denominator), so the
remainders are compared exactly: no Decimal context precision is involved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from salesops.engine.money import CENT, to_decimal


def split_units(units: int, weights: Sequence[int]) -> list[int]:
    """Whole parts of ``units`` proportional to integer ``weights``, summing exactly to ``units``.

    Largest remainder: every part is the floor of its exact share, and the units left over go one each to the
    largest remainders, ties to the earlier position. A negative ``units`` splits like its absolute value.
    Weights must be non-negative integers with a positive sum.
    """
    if units < 0:
        return [-part for part in split_units(-units, weights)]
    weight_sum = sum(weights)
    if weight_sum <= 0:
        raise ValueError("weights sum to zero")
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        if weight < 0:
            raise ValueError("weights must not be negative")
        part, remainder = divmod(units * weight, weight_sum)
        parts.append(part)
        remainders.append(remainder)
    left = units - sum(parts)
    if left:
        order = sorted(range(len(parts)), key=lambda i: (-remainders[i], i))
        for i in order[:left]:
            parts[i] += 1
    return parts


def integer_weights(weights: Sequence[Decimal | Fraction | int]) -> list[int]:
    """The same proportions as ``weights`` (exact Decimals, Fractions or ints) as integers: each weight times
    the least common denominator. ``[Decimal("0.5"), Fraction(1, 3)]`` gives ``[3, 2]``."""
    ratios = [w.as_integer_ratio() for w in weights]
    denominator = math.lcm(*(d for _, d in ratios)) if ratios else 1
    return [n * (denominator // d) for n, d in ratios]


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
    if sum(weights, Decimal(0)) == 0:
        raise ValueError("weights sum to zero")
    units_total = total / quantum
    if units_total != units_total.to_integral_value():
        raise ValueError(f"total {total} is not a whole number of {quantum}")
    parts = split_units(int(units_total), integer_weights(weights))
    return [part * quantum for part in parts]
