"""Seasonality (季节性分布): a yearly target spread over the 12 months of the fiscal year.

Role in the flow: after ``decomposition.decompose`` has given every leaf its yearly target, a :class:`Profile`
(12 non-negative weights, one per fiscal month, first month first) says how the year is shared; :func:`spread`
turns a yearly amount into 12 monthly amounts.

Profiles come from history (each month's share of its fiscal year's actuals, averaged over the years given), from
a template (relative weights, e.g. flat), or are typed as percentages that must total exactly 100. A profile can
be adjusted for working days: each month's weight × its working days ÷ the average month's working days (from an
``engine.holidays`` calendar, so the Spring Festival weighs on January or February).

Invariants: pure; shares are exact Fractions; the monthly amounts of a leaf add up exactly to its yearly
target (largest remainder in the chosen unit, ties to the earlier month) and each month differs from its exact
share by less than one unit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from salesops.engine.allocation import integer_weights, split_units
from salesops.engine.decomposition import Path, PlanError, Problem, fraction_text, units_of
from salesops.engine.holidays import HolidayCalendar, missing_year
from salesops.engine.messages import gettext_noop
from salesops.engine.money import CENT
from salesops.engine.periods import FiscalCalendar, Period

MONTHS = 12
CALENDAR = FiscalCalendar()  # January start


@dataclass(frozen=True)
class Profile:
    """Twelve non-negative weights, one per month of the fiscal year (first fiscal month first)."""

    weights: tuple[Fraction, ...]
    source: str

    def __post_init__(self) -> None:
        if len(self.weights) != MONTHS:
            raise PlanError([Problem((), gettext_noop("a seasonality profile needs 12 months, got {count}"),
                                     {"count": str(len(self.weights))})])
        if any(w < 0 for w in self.weights):
            raise PlanError([Problem((), gettext_noop("a seasonality profile cannot have a negative month"))])
        if sum(self.weights) <= 0:
            raise PlanError([Problem((), gettext_noop("a seasonality profile needs at least one month above zero"))])

    @property
    def shares(self) -> tuple[Fraction, ...]:
        total = sum(self.weights)
        return tuple(w / total for w in self.weights)


@functools.lru_cache(maxsize=256)
def fiscal_months(fiscal_year: int, calendar: FiscalCalendar = CALENDAR) -> tuple[Period, ...]:
    """The 12 month periods of a fiscal year, in order (cached: a plan asks for them once per leaf)."""
    year = calendar.parse(f"FY{fiscal_year:04d}")
    return tuple(calendar.month(m) for m in year.months())


def flat() -> Profile:
    return Profile((Fraction(1),) * MONTHS, "flat")


def from_weights(weights: Sequence[Decimal | int | Fraction], source: str = "template") -> Profile:
    """A template: relative weights of any scale (``[8, 6, 9, ...]``), normalised when used."""
    return Profile(tuple(Fraction(w) for w in weights), source)


def typed(percentages: Sequence[Decimal | int], path: Path = ()) -> Profile:
    """Percentages typed per month; refused unless there are 12 of them, none negative, totalling exactly 100."""
    problems = []
    if len(percentages) != MONTHS:
        problems.append(Problem(path, gettext_noop("a typed profile needs 12 monthly percentages, got {count}"),
                                {"count": str(len(percentages))}))
    negative = [i + 1 for i, p in enumerate(percentages) if p < 0]
    if negative:
        problems.append(Problem(path, gettext_noop("a typed profile has negative percentages in months {months}"),
                                {"months": str(negative)}))
    total = sum((Decimal(p) for p in percentages), Decimal(0))
    if total != 100:
        off = total - 100
        template = (gettext_noop("the typed profile totals {total}%, {off} percentage points over 100%") if off > 0
                    else gettext_noop("the typed profile totals {total}%, {off} percentage points short of 100%"))
        problems.append(Problem(path, template, {"total": str(total), "off": str(abs(off))}))
    if problems:
        raise PlanError(problems)
    return Profile(tuple(Fraction(p) for p in percentages), "typed")


def usable_years(monthly: Mapping[date, Decimal], fiscal_years: Sequence[int],
                 calendar: FiscalCalendar = CALENDAR) -> list[int]:
    """The fiscal years among ``fiscal_years`` whose actuals total more than zero."""
    zero = Decimal(0)
    return [y for y in fiscal_years
            if sum((monthly.get(p.start, zero) for p in fiscal_months(y, calendar)), zero) > 0]


def from_history(monthly: Mapping[date, Decimal], fiscal_years: Sequence[int],
                 calendar: FiscalCalendar = CALENDAR, path: Path = ()) -> Profile:
    """Each month's share of its fiscal year's actuals, averaged over ``fiscal_years`` (``monthly`` is keyed by
    the first day of each month; a missing month is zero). Years whose actuals total zero or less are skipped;
    refused when none is left, or when returns make a month's average share negative."""
    years = usable_years(monthly, fiscal_years, calendar)
    if not years:
        if fiscal_years:
            raise PlanError([Problem(path, gettext_noop(
                "no fiscal year with actuals above zero to take a seasonality profile from (years looked at: "
                "{years})"), {"years": ", ".join(f"FY{y}" for y in fiscal_years)})])
        raise PlanError([Problem(path, gettext_noop(
            "no fiscal year with actuals above zero to take a seasonality profile from (years looked at: none)"))])
    # Σ over years of amount ÷ year total, as integers over the common denominator Π totals (a profile's weights
    # are relative, so that denominator and the division by the number of years never need to be taken): exact,
    # and thousands of leaves need no Fraction arithmetic
    zero = Decimal(0)
    rows = []
    for year in years:
        amounts = [monthly.get(p.start, zero) for p in fiscal_months(year, calendar)]
        rows.append((amounts, sum(amounts, zero)))
    scale = 10 ** max(-min(a.as_tuple().exponent for amounts, _t in rows for a in amounts), 0)
    ints = [([int(a * scale) for a in amounts], int(total * scale)) for amounts, total in rows]
    product = math.prod(total for _a, total in ints)
    sums = [0] * MONTHS
    for amounts, total in ints:
        factor = product // total
        sums = [s + a * factor for s, a in zip(sums, amounts, strict=True)]
    weights = tuple(Fraction(w) for w in sums)
    negative = [i + 1 for i, w in enumerate(weights) if w < 0]
    if negative:
        raise PlanError([Problem(path, gettext_noop(
            "history gives fiscal months {months} a negative average share (returns above sales); use a template "
            "or a typed profile"
        ), {"months": str(negative)})])
    return Profile(weights, "history " + "+".join(f"FY{y}" for y in years))


def working_days(fiscal_year: int, holidays: HolidayCalendar,
                 calendar: FiscalCalendar = CALENDAR) -> tuple[int, ...]:
    """Working days in each month of the fiscal year; refused for a year the holiday calendar does not cover."""
    months = fiscal_months(fiscal_year, calendar)
    missing = sorted({m.start.year for m in months if not holidays.covers(m.start.year)})
    if missing:
        raise PlanError([missing_year(holidays, y) for y in missing])
    return tuple(holidays.working_days(m.start) for m in months)


def adjust_for_working_days(profile: Profile, fiscal_year: int, holidays: HolidayCalendar,
                            calendar: FiscalCalendar = CALENDAR) -> Profile:
    """Each month's weight × its working days ÷ the average month's working days."""
    days = working_days(fiscal_year, holidays, calendar)
    average = Fraction(sum(days), MONTHS)
    weights = tuple(w * d / average for w, d in zip(profile.weights, days, strict=True))
    return Profile(weights, f"{profile.source} × working days ({holidays.name})")


def spread(total: Decimal, profile: Profile, unit: Decimal = CENT, path: Path = ()) -> tuple[Decimal, ...]:
    """The 12 monthly amounts of ``total`` by ``profile``, in whole ``unit``s, summing exactly to ``total``."""
    count = units_of(total, unit)
    if count is None:
        raise PlanError([_not_whole_months(path, total, unit)])
    return tuple(part * unit for part in split_units(count, integer_weights(profile.weights)))


def spread_all(amounts: Mapping[Path, Decimal], profiles: Profile | Mapping[Path, Profile],
               unit: Decimal = CENT) -> dict[Path, tuple[Decimal, ...]]:
    """:func:`spread` for many leaves (each with its own profile, or one for all); every leaf that cannot be
    spread is reported in one PlanError."""
    problems: list[Problem] = []
    ints_of: dict[int, list[int]] = {}
    out: dict[Path, tuple[Decimal, ...]] = {}
    unit_fraction = Fraction(unit)
    for path, total in amounts.items():
        profile = profiles if isinstance(profiles, Profile) else profiles.get(path)
        if profile is None:
            problems.append(Problem(path, gettext_noop("has no seasonality profile")))
            continue
        ints = ints_of.get(id(profile))
        if ints is None:
            ints = ints_of[id(profile)] = integer_weights(profile.weights)
        count = Fraction(total) / unit_fraction
        if count.denominator != 1:
            problems.append(_not_whole_months(path, total, unit))
            continue
        out[path] = tuple(part * unit for part in split_units(count.numerator, ints))
    if problems:
        raise PlanError(problems)
    return out


def _not_whole_months(path: Path, total: Decimal, unit: Decimal) -> Problem:
    return Problem(path, gettext_noop("the yearly target {total} is not a whole number of the month unit {unit}"),
                   {"total": str(total), "unit": str(unit)})


def describe(profile: Profile) -> str:
    """``8.33%, 6.12%, …`` — the shares as percentages, for messages and docs."""
    return ", ".join(fraction_text(s * 100, 2) + "%" for s in profile.shares)

