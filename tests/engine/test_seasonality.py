from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.engine import holidays, seasonality
from salesops.engine.decomposition import PlanError
from salesops.engine.periods import FiscalCalendar

D = Decimal
CN = holidays.china_mainland()


# -- profiles --------------------------------------------------------------------------------------------------


def test_a_typed_profile_must_total_exactly_100_percent_and_says_by_how_much_it_is_off():
    with pytest.raises(PlanError) as exc:
        seasonality.typed([D("8.3")] * 11 + [D("8.2")])
    assert str(exc.value) == "(total): the typed profile totals 99.5%, 0.5 percentage points short of 100%"
    with pytest.raises(PlanError, match=r"totals 101%, 1 percentage points over 100%"):
        seasonality.typed([D(8)] * 11 + [D(13)])
    profile = seasonality.typed([D(8)] * 11 + [D(12)])
    assert profile.shares[11] == Fraction(12, 100)


def test_a_history_profile_averages_each_years_monthly_shares():
    # FY2024: January is 1/2 of the year; FY2025: January is 1/4 → January's profile share is 3/8
    monthly = {date(2024, 1, 1): D(100), date(2024, 6, 1): D(100), date(2025, 1, 1): D(50), date(2025, 7, 1): D(150)}
    profile = seasonality.from_history(monthly, [2023, 2024, 2025])  # FY2023 has no actuals: skipped
    assert profile.shares[0] == Fraction(3, 8)
    assert profile.shares[5] == Fraction(1, 4) and profile.shares[6] == Fraction(3, 8)
    assert profile.source == "history FY2024+FY2025"


def test_a_history_profile_follows_the_fiscal_year_start():
    april = FiscalCalendar(4)
    profile = seasonality.from_history({date(2025, 4, 1): D(1), date(2026, 3, 1): D(3)}, [2025], april)
    assert (profile.shares[0], profile.shares[11]) == (Fraction(1, 4), Fraction(3, 4))
    assert [p.code for p in seasonality.fiscal_months(2025, april)][::11] == ["2025-04", "2026-03"]


def test_a_history_profile_without_actuals_is_refused():
    with pytest.raises(PlanError, match="no fiscal year with actuals above zero"):
        seasonality.from_history({}, [2024, 2025])


# -- working days ----------------------------------------------------------------------------------------------


def test_working_days_of_2026_count_the_spring_festival_and_the_make_up_saturdays():
    # hand-counted from the 2026 notice: February has 20 weekdays, 6 of them off (16–20, 23 Feb), and two
    # Saturdays worked (14 and 28 Feb) → 16; October: 22 weekdays − 5 off + Saturday 10 Oct → 18
    assert seasonality.working_days(2026, CN) == (21, 16, 22, 21, 19, 21, 23, 21, 22, 18, 21, 23)


def test_working_day_adjustment_moves_target_out_of_february_against_a_flat_template():
    flat = seasonality.flat()
    adjusted = seasonality.adjust_for_working_days(flat, 2026, CN)
    assert adjusted.shares[1] == Fraction(16, 248)  # 16 of the year's 248 working days
    by_template = seasonality.spread(D(1_200_000), flat, D(1))
    by_working_days = seasonality.spread(D(1_200_000), adjusted, D(1))
    assert by_template[1] == D(100_000)
    assert by_working_days[1] in (D(77_419), D(77_420))  # 1,200,000 × 16 / 248 = 77,419.35
    assert by_working_days[1] < by_template[1] and by_working_days[6] > by_template[6]  # July: 23 days
    assert sum(by_working_days) == D(1_200_000)


def test_it_refuses_a_year_the_calendar_does_not_cover_instead_of_guessing():
    with pytest.raises(PlanError, match="has no data for 2027"):
        seasonality.working_days(2027, CN)
    assert seasonality.working_days(2027, holidays.WEEKDAYS)[1] == 20  # plain Monday–Friday on request
    # a fiscal year from April 2026 reaches into 2027
    with pytest.raises(PlanError, match="2027"):
        seasonality.working_days(2026, CN, FiscalCalendar(4))


def test_the_built_in_calendar_follows_the_notices():
    assert CN.years == frozenset({2023, 2024, 2025, 2026})
    assert all(day.weekday() >= 5 for day in CN.workdays)  # every 调休 working day is a Saturday or Sunday
    assert not CN.holidays & CN.workdays
    spring = {name: (first, last) for name, first, last in holidays.festivals(2025)}["春节"]
    assert spring == (date(2025, 1, 28), date(2025, 2, 4))  # 除夕 to 初七, 8 days
    assert CN.is_working_day(date(2024, 2, 9))  # 除夕 2024: the notice only encouraged a day off
    assert CN.is_working_day(date(2024, 2, 18)) and not CN.is_working_day(date(2024, 2, 12))


def test_a_calendar_loads_from_csv_with_bom_or_yaml_and_is_laid_over_the_built_in(tmp_path):
    # a made-up file (not the official 2027 schedule): the format is what is tested
    csv_file = tmp_path / "cn2027.csv"
    csv_file.write_bytes("date,kind,name\n2027-02-08,holiday,春节\n2027-02-20,workday,春节\n".encode("utf-8-sig"))
    loaded = holidays.load_calendar(csv_file)
    assert loaded.years == frozenset({2027})
    assert not loaded.is_working_day(date(2027, 2, 8)) and loaded.is_working_day(date(2027, 2, 20))
    both = CN.merged(loaded)
    assert both.covers(2026) and both.covers(2027)
    assert seasonality.working_days(2027, both)[1] == 20 - 1 + 1
    yaml_file = tmp_path / "cal.yaml"
    yaml_file.write_text("years: [2027]\ndays:\n  - {from: 2027-10-01, to: 2027-10-07, kind: holiday}\n",
                         encoding="utf-8")
    assert holidays.load_calendar(yaml_file).working_days(date(2027, 10, 1)) == 21 - 5


def test_a_bad_calendar_file_reports_every_bad_row(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind\n2027-02-30,holiday\n2027-02-08,vacation\n", encoding="utf-8")
    with pytest.raises(PlanError) as exc:
        holidays.load_calendar(bad)
    assert [p.source for p in exc.value.problems] == ["bad.csv row 2", "bad.csv row 3"]


# -- spreading -------------------------------------------------------------------------------------------------


@given(st.integers(0, 10**12), st.lists(st.integers(0, 1000), min_size=12, max_size=12).filter(any),
       st.sampled_from([D("0.01"), D(1), D(100)]))
def test_the_months_sum_exactly_to_the_yearly_target_within_one_unit_each(units, weights, unit):
    total = units * unit
    profile = seasonality.from_weights([D(w) for w in weights])
    months = seasonality.spread(total, profile, unit)
    assert sum(months) == total
    for amount, share in zip(months, profile.shares, strict=True):
        assert abs(Fraction(amount) - Fraction(total) * share) < Fraction(unit)
    assert seasonality.spread(total, profile, unit) == months  # a rerun is identical


def test_spread_all_reports_every_leaf_it_cannot_spread():
    with pytest.raises(PlanError) as exc:
        seasonality.spread_all({("a",): D("10.5"), ("b",): D(12), ("c",): D("0.3")}, seasonality.flat(), D(1))
    assert [p.path for p in exc.value.problems] == [("a",), ("c",)]
