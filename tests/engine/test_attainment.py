from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.engine.attainment import progress, projection, ratio, roll_up, time_progress
from salesops.engine.periods import FiscalCalendar

D = Decimal
CAL = FiscalCalendar()
NOV = CAL.parse("2026-11")


def test_time_progress_counts_days_including_today():
    assert time_progress(NOV, dt.date(2026, 11, 15)) == D("0.5000")
    assert time_progress(NOV, dt.date(2026, 11, 30)) == D("1.0000")
    assert time_progress(NOV, dt.date(2026, 10, 31)) == D("0")


def test_it_projects_the_run_rate_to_the_period_end():
    assert projection(D("300000.00"), NOV, dt.date(2026, 11, 10)) == D("900000.00")
    assert projection(D("5"), NOV, dt.date(2026, 10, 1)) is None


def test_a_node_trailing_time_progress_is_behind_pace():
    # Given half the month gone and 40% attained, when the threshold is 5 points, then it is behind (−10 points)
    p = progress(D("1000000.00"), D("400000.00"), NOV, dt.date(2026, 11, 15))
    assert (p.attainment, p.time_progress, p.gap_points, p.behind) == (D("0.4000"), D("0.5000"), D("-10.0000"), True)
    assert progress(D("1000000.00"), D("480000.00"), NOV, dt.date(2026, 11, 15), D(5)).behind is True  # projects 960k
    assert progress(D("1000000.00"), D("520000.00"), NOV, dt.date(2026, 11, 15)).behind is False


def test_a_zero_target_has_no_attainment_and_is_never_behind():
    p = progress(D(0), D("10.00"), NOV, dt.date(2026, 11, 15))
    assert p.attainment is None and p.behind is False


def test_it_rounds_ratios_half_up():
    assert ratio(D("1"), D("8")) == D("0.1250")
    assert ratio(D("1"), D("30000")) == D("0.0000")
    assert ratio(D("3"), D("20000")) == D("0.0002")  # 0.00015 → half up


def test_roll_up_includes_the_whole_subtree():
    parents = {"全国": None, "华东": "全国", "上海": "华东", "华南": "全国"}
    totals = roll_up(parents, {"上海": D("10.00"), "华东": D("1.00"), "华南": D("5.00")})
    assert totals == {"全国": D("16.00"), "华东": D("11.00"), "上海": D("10.00"), "华南": D("5.00")}


def test_roll_up_refuses_cycles_and_unknown_nodes():
    with pytest.raises(ValueError, match="cycle"):
        roll_up({"a": "b", "b": "a"}, {"a": D(1)})
    with pytest.raises(KeyError):
        roll_up({"a": None}, {"z": D(1)})


@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=30), st.data())
def test_a_root_totals_every_leaf(amounts, data):
    # a random tree: node i's parent is a random earlier node
    parents = {0: None}
    for i in range(1, len(amounts)):
        parents[i] = data.draw(st.integers(0, i - 1))
    values = {i: D(a) / 100 for i, a in enumerate(amounts)}
    assert roll_up(parents, values)[0] == sum(values.values())
