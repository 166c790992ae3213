"""Statistics of a set of payouts: Gini coefficient, Lorenz curve, histogram bands and percentiles.

Role in the flow: what-if modelling (``salesops.incentives.modelling``) compares how two plans spread the same
money; these pure functions summarise one plan's payouts per person. Invariants: exact arithmetic (``Decimal``
in, ``Decimal`` or ``int`` out; ratios are computed as fractions and rounded once, half up, to ``places``
decimals); the order of the values never matters; nothing is mutated; no Django, no database.

Definitions:

- **Gini** of non-negative values x₁…xₙ: Σᵢ Σⱼ |xᵢ − xⱼ| ÷ (2 n Σ x) — 0 when everyone is paid the same, at most
  1 − 1/n when one person is paid everything; 0 when nothing is paid at all; undefined (None) for no values.
- **Lorenz curve**: the points (k/n, share of the total paid to the k lowest-paid), k = 0…n; from (0, 0) to (1, 1).
- **Bands**: equal-width, half-open bands [low, high) on a "nice" step (1, 2, 2.5 or 5 × 10ᵏ) that cover every
  value; one set of edges can count several series (the current plan and a draft) side by side.
- **Percentile** p (0 ≤ p ≤ 1): linear interpolation between the closest ranks (p × (n − 1)), as
  ``numpy.percentile``'s default and Excel's ``PERCENTILE.INC``; exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

ZERO = Decimal(0)


def _check(values: Iterable[Decimal]) -> list[Decimal]:
    out = []
    for value in values:
        if not isinstance(value, Decimal | int):
            raise TypeError(f"{value!r} is not a Decimal (floats are not exact)")
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        out.append(value)
    return out


def _decimal(value: Fraction, places: int) -> Decimal:
    """A fraction as a Decimal rounded once, half up (away from zero), to ``places`` decimals — in integers, so
    there is no intermediate rounding at all."""
    quotient, remainder = divmod(abs(value.numerator) * 10**places, value.denominator)
    if 2 * remainder >= value.denominator:
        quotient += 1
    return Decimal((1 if value < 0 else 0, tuple(int(d) for d in str(quotient)), -places))


def ratio(numerator: Decimal | int, denominator: Decimal | int, *, places: int = 6) -> Decimal | None:
    """``numerator ÷ denominator`` rounded once, half up, to ``places`` decimals; None when the denominator is 0."""
    numerator, denominator = _check([numerator, denominator])
    if denominator == 0:
        return None
    return _decimal(_fraction(numerator, denominator), places)


def _fraction(numerator: int | Decimal | Fraction, denominator: int | Decimal | Fraction) -> Fraction:
    return Fraction(numerator) / Fraction(denominator)


def gini(values: Iterable[Decimal], *, places: int = 6) -> Decimal | None:
    """The Gini coefficient of non-negative values (see the module docstring); None for no values."""
    xs = sorted(_check(values))
    if not xs:
        return None
    if xs[0] < 0:
        raise ValueError("the Gini coefficient is defined here for non-negative values only")
    total = sum(xs, ZERO)
    if total == 0:
        return _decimal(Fraction(0), places)
    n = len(xs)
    # with x sorted ascending and i from 1: G = 2 Σ i·xᵢ ÷ (n Σ x) − (n + 1) ÷ n
    weighted = sum((i * x for i, x in enumerate(xs, start=1)), ZERO)
    return _decimal(_fraction(2 * weighted, n * total) - Fraction(n + 1, n), places)


def lorenz(values: Iterable[Decimal], *, places: int = 6) -> list[tuple[Decimal, Decimal]]:
    """The Lorenz curve's points (population share, payout share), from (0, 0) to (1, 1); with nothing paid,
    the line of equality. Empty for no values."""
    xs = sorted(_check(values))
    if not xs:
        return []
    if xs[0] < 0:
        raise ValueError("the Lorenz curve is defined here for non-negative values only")
    n, total = len(xs), sum(xs, ZERO)
    points = [(_decimal(Fraction(0), places), _decimal(Fraction(0), places))]
    running = ZERO
    for k, x in enumerate(xs, start=1):
        running += x
        share = _fraction(running, total) if total else Fraction(k, n)
        points.append((_decimal(Fraction(k, n), places), _decimal(share, places)))
    return points


@dataclass(frozen=True)
class Band:
    low: Decimal  # inclusive
    high: Decimal  # exclusive
    counts: tuple[int, ...]  # how many values of each series fall in [low, high)


def nice_step(span: Decimal, count: int) -> Decimal:
    """The smallest step of the form 1, 2, 2.5 or 5 × 10ᵏ with ``count`` steps covering ``span`` (> 0)."""
    if span <= 0 or count < 1:
        raise ValueError("the span must be positive and the count at least 1")
    raw = span / count
    exponent = raw.adjusted()
    for power in (exponent - 1, exponent, exponent + 1):
        for mantissa in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
            step = mantissa.scaleb(power)
            if step * count >= span:
                return step.normalize()
    return Decimal(1).scaleb(exponent + 2)  # unreachable: 1 × 10^(e+2) ≥ 10 × raw


def bands(*series: Sequence[Decimal], count: int = 10) -> list[Band]:
    """About ``count`` equal bands covering every value of every series (one edge set for all), each with the
    number of values of each series it holds; every value is in exactly one band. No values: no bands."""
    checked = [_check(s) for s in series]
    every = [v for s in checked for v in s]
    if not every:
        return []
    low, high = min(every), max(every)
    if low == high:
        step = nice_step(abs(low) or Decimal(1), 1) if low else Decimal(1)
        start = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
        edges = [start, start + step]
    else:
        step = nice_step(high - low, count)
        start = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
        last = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
        if last == high:  # the top value needs a band of its own: bands are half-open
            last += step
        n = int((last - start) / step)
        edges = [start + i * step for i in range(n + 1)]
    counts = [[0] * len(checked) for _ in range(len(edges) - 1)]
    for j, s in enumerate(checked):
        for v in s:
            counts[int(((v - edges[0]) / step).to_integral_value(rounding=ROUND_FLOOR))][j] += 1
    return [Band(_plain(edges[i]), _plain(edges[i + 1]), tuple(counts[i])) for i in range(len(edges) - 1)]


def _plain(value: Decimal) -> Decimal:
    """``value`` without trailing zeros or an exponent (2.5E+3 → 2500)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def percentile(values: Iterable[Decimal], p: Decimal) -> Decimal | None:
    """The ``p``-th percentile (0 ≤ p ≤ 1) by linear interpolation between closest ranks; None for no values."""
    xs = sorted(_check(values))
    p = _check([p])[0]
    if not 0 <= p <= 1:
        raise ValueError(f"a percentile is between 0 and 1, not {p}")
    if not xs:
        return None
    with localcontext() as context:
        context.prec = 80  # money (≤ 38 digits) × a rank fraction: every product below is exact
        rank = p * (len(xs) - 1)
        lower = int(rank.to_integral_value(rounding=ROUND_FLOOR))
        if lower == len(xs) - 1:
            return xs[-1]
        return xs[lower] + (xs[lower + 1] - xs[lower]) * (rank - lower)
