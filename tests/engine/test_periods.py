from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.engine.periods import FiscalCalendar


def test_it_parses_and_prints_every_code_kind():
    cal = FiscalCalendar(1)
    assert cal.parse("2026-03").start == dt.date(2026, 3, 1)
    q1 = cal.parse("2026-Q1")
    assert (q1.start, q1.end) == (dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    assert cal.parse("2026-H2").start == dt.date(2026, 7, 1)
    assert cal.parse("FY2026").days == 365
    for code in ["2026-03", "2026-Q1", "2026-H1", "FY2026"]:
        assert cal.parse(code).code == code


def test_it_derives_quarters_from_the_start_month():
    cal = FiscalCalendar(4)
    assert cal.year(dt.date(2027, 2, 10)).code == "FY2026"
    assert cal.quarter(dt.date(2026, 4, 1)).code == "2026-Q1"
    assert cal.quarter(dt.date(2027, 1, 15)).code == "2026-Q4"
    assert cal.parse("2026-Q4").start == dt.date(2027, 1, 1)
    assert cal.parse("FY2026").end == dt.date(2027, 4, 1)


@pytest.mark.parametrize("code", ["2026-13", "2026-Q5", "FY26", "26-01", ""])
def test_it_refuses_bad_codes_naming_them(code):
    with pytest.raises(ValueError, match="period code"):
        FiscalCalendar().parse(code)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31)), st.integers(1, 12))
def test_every_day_falls_in_exactly_its_periods(day, start_month):
    cal = FiscalCalendar(start_month)
    for kind in ("month", "quarter", "half", "year"):
        period = cal.period(kind, day)
        assert day in period
        assert cal.parse(period.code) == period
        assert cal.shift(period, 1).start == period.end


def test_it_counts_time_progress():
    cal = FiscalCalendar()
    assert cal.month(dt.date(2026, 11, 15)).elapsed_share(dt.date(2026, 11, 15)) == (15, 30)


def test_year_to_date_covers_only_the_elapsed_months():
    ytd = FiscalCalendar(1).year_to_date(dt.date(2026, 3, 10))
    assert ytd.months() == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert len(FiscalCalendar(4).parse("FY2026").months()) == 12
