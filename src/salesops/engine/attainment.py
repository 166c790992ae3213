"""Attainment (达成率), time progress (时间进度), run-rate projection and the behind-pace rule; roll-ups over trees.

Pure. Ratios are Decimals quantized to 4 places (0.1234 = 12.34%) with half-up rounding; amounts stay exact.
A period's time progress counts calendar days elapsed including today, so on the last day it is 100%.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from salesops.engine.periods import Period

RATIO = Decimal("0.0001")
ZERO = Decimal(0)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator to 4 places, half up; None when the denominator is zero."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def time_progress(period: Period, today: dt.date) -> Decimal:
    elapsed, days = period.elapsed_share(today)
    return ratio(Decimal(elapsed), Decimal(days)) or ZERO


def projection(actual: Decimal, period: Period, today: dt.date) -> Decimal | None:
    """Actual projected to the period's end at the pace so far (run rate); None before the period starts.
    The projection is an amount, rounded to the cent half up."""
    elapsed, days = period.elapsed_share(today)
    if elapsed == 0:
        return None
    return (Decimal(actual) * days / elapsed).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Progress:
    target: Decimal
    actual: Decimal
    attainment: Decimal | None  # actual / target
    time_progress: Decimal  # elapsed share of the period
    projected: Decimal | None  # run-rate projection to the period end
    gap_points: Decimal | None  # (attainment - time progress) × 100, in percentage points
    behind: bool


def progress(target: Decimal, actual: Decimal, period: Period, today: dt.date,
             threshold_points: Decimal = Decimal(5)) -> Progress:
    """Where a node stands. It is *behind pace* when its attainment trails time progress by more than
    ``threshold_points`` percentage points, or when its projection falls short of the target (only once the
    period has started and the target is positive)."""
    share = time_progress(period, today)
    att = ratio(actual, target)
    projected = projection(actual, period, today)
    gap = None if att is None else (att - share) * 100
    behind = bool(target > 0 and share > 0 and (
        (gap is not None and gap < -Decimal(threshold_points)) or (projected is not None and projected < target)))
    return Progress(Decimal(target), Decimal(actual), att, share, projected, gap, behind)


def roll_up(parents: Mapping[Hashable, Hashable | None], values: Mapping[Hashable, Decimal]) -> dict[Hashable, Decimal]:
    """Each node's own value plus everything below it. ``parents`` maps every node to its parent (None at a root);
    ``values`` holds the nodes' own amounts (missing = 0). Refuses a cycle."""
    totals = {node: Decimal(values.get(node, ZERO)) for node in parents}
    for node, value in values.items():
        if node not in parents:
            raise KeyError(f"value for unknown node {node!r}")
        seen = {node}
        parent = parents[node]
        while parent is not None:
            if parent in seen:
                raise ValueError(f"cycle in the tree at {parent!r}")
            seen.add(parent)
            totals[parent] += Decimal(value)
            parent = parents[parent]
    return totals
