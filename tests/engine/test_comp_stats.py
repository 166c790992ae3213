"""Payout statistics: Gini, Lorenz curve, bands and percentiles — exact, order-free, with their bounds."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.engine.comp import stats

D = Decimal
money = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)
signed_money = st.decimals(min_value=-1_000_000, max_value=10_000_000, places=2, allow_nan=False,
                           allow_infinity=False)
payouts = st.lists(money, min_size=1, max_size=60)


# -- Gini ----------------------------------------------------------------------------------------------------


def test_it_computes_the_gini_of_a_small_example_by_hand():
    # |1−2| + |1−3| + |2−3| = 4, counted twice = 8; 2 n Σx = 2 × 3 × 6 = 36; 8 / 36 = 0.222…
    assert stats.gini([D(1), D(2), D(3)]) == D("0.222222")
    # one person paid everything: 1 − 1/n
    assert stats.gini([D(0), D(0), D(0), D(10)]) == D("0.750000")


def test_it_has_no_gini_without_values_and_zero_when_nothing_is_paid():
    assert stats.gini([]) is None
    assert stats.gini([D(0), D(0)]) == 0


def test_it_refuses_floats_and_negative_values():
    with pytest.raises(TypeError):
        stats.gini([0.5])
    with pytest.raises(ValueError, match="non-negative"):
        stats.gini([D(1), D(-1)])


@given(st.decimals(min_value=0, max_value=10**9, places=2), st.integers(min_value=1, max_value=50))
def test_it_gives_a_gini_of_zero_when_everyone_is_paid_the_same(value, n):
    assert stats.gini([value] * n) == 0


@given(payouts)
def test_the_gini_lies_between_zero_and_one_minus_one_over_n(values):
    g = stats.gini(values, places=12)
    n = len(values)
    assert 0 <= g <= 1 - D(1) / D(n) + D("1E-12")


@given(payouts, st.randoms())
def test_the_gini_does_not_depend_on_the_order(values, random):
    shuffled = list(values)
    random.shuffle(shuffled)
    assert stats.gini(shuffled) == stats.gini(values)


@given(payouts, st.decimals(min_value="0.01", max_value=1000, places=2))
def test_the_gini_does_not_change_when_every_payout_is_scaled(values, factor):
    assert stats.gini([v * factor for v in values]) == stats.gini(values)


@given(payouts)
def test_the_gini_is_the_mean_absolute_difference_over_twice_the_mean(values):
    from fractions import Fraction

    total = sum(values)
    if total == 0:
        return
    n = len(values)
    pairs = sum(abs(Fraction(a) - Fraction(b)) for a in values for b in values)
    assert stats.gini(values) == stats._decimal(pairs / (2 * n * Fraction(total)), 6)


@pytest.mark.parametrize(("a", "b", "expected"), [
    (D(1), D(3), D("0.3333")), (D(2), D(3), D("0.6667")), (D(-2), D(3), D("-0.6667")), (D("0.00005"), D(1), D("0.0001")),
    (D(1), D(0), None),
])
def test_it_divides_exactly_and_rounds_once_half_up(a, b, expected):
    assert stats.ratio(a, b, places=4) == expected


# -- Lorenz --------------------------------------------------------------------------------------------------


def test_it_draws_the_lorenz_curve_of_a_small_example():
    assert stats.lorenz([D(3), D(1), D(2)], places=4) == [
        (D("0.0000"), D("0.0000")), (D("0.3333"), D("0.1667")), (D("0.6667"), D("0.5000")), (D(1), D(1))]
    assert stats.lorenz([]) == []


@given(payouts)
def test_the_lorenz_curve_runs_from_the_origin_to_one_one_under_the_diagonal_and_convex(values):
    points = stats.lorenz(values, places=9)
    assert points[0] == (0, 0) and points[-1] == (1, 1)
    assert len(points) == len(values) + 1
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert xs == sorted(xs) and ys == sorted(ys)
    assert all(y <= x + D("1E-9") for x, y in points)
    # convex: the slopes (each person's share of the total, lowest first) never decrease
    steps = [ys[i + 1] - ys[i] for i in range(len(ys) - 1)]
    assert all(b >= a - D("2E-9") for a, b in zip(steps, steps[1:], strict=False))


# -- bands ---------------------------------------------------------------------------------------------------


def test_it_bands_on_a_nice_step_with_the_top_value_in_a_band_of_its_own():
    result = stats.bands([D(0), D("37.5"), D(100)], [D(55)], count=4)
    assert [(b.low, b.high, b.counts) for b in result] == [
        (D(0), D(25), (1, 0)), (D(25), D(50), (1, 0)), (D(50), D(75), (0, 1)), (D(75), D(100), (0, 0)),
        (D(100), D(125), (1, 0))]
    assert stats.bands([]) == [] and stats.bands([D(500)], [D(500)])[0].counts == (1, 1)


@pytest.mark.parametrize(("span", "count", "step"), [
    (D(100), 10, D(10)), (D(100), 4, D(25)), (D(100), 3, D(50)), (D("0.7"), 10, D("0.1")), (D(12345), 10, D(2000)),
])
def test_it_picks_the_smallest_nice_step_that_covers_the_span(span, count, step):
    assert stats.nice_step(span, count) == step


@given(st.lists(signed_money, max_size=40), st.lists(signed_money, max_size=40), st.integers(1, 20))
def test_every_value_falls_in_exactly_one_band_of_equal_width(first, second, count):
    result = stats.bands(first, second, count=count)
    if not first and not second:
        assert result == []
        return
    assert sum(b.counts[0] for b in result) == len(first)
    assert sum(b.counts[1] for b in result) == len(second)
    widths = {b.high - b.low for b in result}
    assert len(widths) == 1 and widths.pop() > 0
    assert all(a.high == b.low for a, b in zip(result, result[1:], strict=False))
    every = first + second
    assert result[0].low <= min(every) and max(every) < result[-1].high
    assert len(result) <= count + 2


# -- percentiles ---------------------------------------------------------------------------------------------


def test_it_interpolates_percentiles_between_ranks():
    values = [D(10), D(20), D(30), D(40)]
    assert stats.percentile(values, D("0.5")) == D(25)
    assert stats.percentile(values, D("0.9")) == D(37)  # rank 2.7: 30 + 0.7 × 10
    assert stats.percentile([], D("0.5")) is None
    with pytest.raises(ValueError, match="between 0 and 1"):
        stats.percentile(values, D("1.5"))


@given(payouts, st.decimals(min_value=0, max_value=1, places=3), st.decimals(min_value=0, max_value=1, places=3))
def test_percentiles_lie_within_the_values_and_grow_with_p(values, p, q):
    low, high = sorted([p, q])
    assert min(values) <= stats.percentile(values, low) <= stats.percentile(values, high) <= max(values)
    assert stats.percentile(values, D(0)) == min(values) and stats.percentile(values, D(1)) == max(values)


@given(payouts)
def test_the_fiftieth_percentile_is_the_median(values):
    assert stats.percentile(values, D("0.5")) == statistics.median(values)
