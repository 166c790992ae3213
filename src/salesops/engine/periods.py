"""The fiscal calendar: months, quarters, halves and years from a start month; period codes in one place.

Pure. Codes:

- ``2026-03``  the calendar month March 2026;
- ``2026-Q1``  the first quarter of fiscal year 2026;
- ``2026-H1``  the first half of fiscal year 2026;
- ``FY2026``   fiscal year 2026.

A fiscal year is named after the calendar year in which it starts (年度 convention): with a start month of
April, FY2026 runs from 2026-04-01 to 2027-03-31. With the default start month of January, fiscal and
calendar years coincide. Every period is a half-open date range ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


_MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}
_CODE = re.compile(r"^(?:(?P<y>\d{4})-(?:(?P<m>\d{2})|Q(?P<q>[1-4])|H(?P<h>[12]))|FY(?P<fy>\d{4}))$")


def add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after the month of ``d``."""
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # exclusive
    kind: PeriodKind
    code: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def months(self) -> list[date]:
        """First days of the calendar months this period covers (by its dates, so year-to-date works too)."""
        months, month = [], date(self.start.year, self.start.month, 1)
        while month < self.end:
            months.append(month)
            month = add_months(month, 1)
        return months

    def elapsed_share(self, today: date) -> tuple[int, int]:
        """(days elapsed including ``today``, days in period): the basis of 时间进度 (time progress)."""
        if today < self.start:
            return (0, self.days)
        if today >= self.end:
            return (self.days, self.days)
        return ((today - self.start).days + 1, self.days)


@dataclass(frozen=True)
class FiscalCalendar:
    start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise ValueError(f"fiscal-year start month must be 1..12, got {self.start_month}")

    # -- which fiscal year a day falls in ------------------------------------------------------------
    def fiscal_year_of(self, day: date) -> int:
        return day.year if day.month >= self.start_month else day.year - 1

    def _year_start(self, fiscal_year: int) -> date:
        return date(fiscal_year, self.start_month, 1)

    # -- constructors ---------------------------------------------------------------------------------
    def month(self, day: date) -> Period:
        start = date(day.year, day.month, 1)
        return Period(start, add_months(start, 1), PeriodKind.MONTH, f"{start.year:04d}-{start.month:02d}")

    def _span(self, kind: PeriodKind, fiscal_year: int, index: int) -> Period:
        size = _MONTHS_IN[kind]
        start = add_months(self._year_start(fiscal_year), (index - 1) * size)
        code = {
            PeriodKind.QUARTER: f"{fiscal_year:04d}-Q{index}",
            PeriodKind.HALF: f"{fiscal_year:04d}-H{index}",
            PeriodKind.YEAR: f"FY{fiscal_year:04d}",
        }[kind]
        return Period(start, add_months(start, size), kind, code)

    def quarter(self, day: date) -> Period:
        return self._span(PeriodKind.QUARTER, self.fiscal_year_of(day), self._fiscal_month(day) // 3 + 1)

    def half(self, day: date) -> Period:
        return self._span(PeriodKind.HALF, self.fiscal_year_of(day), self._fiscal_month(day) // 6 + 1)

    def year(self, day: date) -> Period:
        return self._span(PeriodKind.YEAR, self.fiscal_year_of(day), 1)

    def period(self, kind: PeriodKind | str, day: date) -> Period:
        return {
            PeriodKind.MONTH: self.month,
            PeriodKind.QUARTER: self.quarter,
            PeriodKind.HALF: self.half,
            PeriodKind.YEAR: self.year,
        }[PeriodKind(kind)](day)

    def year_to_date(self, day: date) -> Period:
        """From the start of the fiscal year to the end of ``day``'s month."""
        year = self.year(day)
        return Period(year.start, self.month(day).end, PeriodKind.YEAR, f"{year.code}-YTD")

    def _fiscal_month(self, day: date) -> int:
        """0-based month index within the fiscal year."""
        return (day.month - self.start_month) % 12

    # -- codes ----------------------------------------------------------------------------------------
    def parse(self, code: str) -> Period:
        """Parse a period code; raise ValueError naming the code when it is not one."""
        match = _CODE.match(code.strip())
        if not match:
            raise ValueError(f"not a period code: {code!r} (expected e.g. 2026-03, 2026-Q1, 2026-H1, FY2026)")
        if match["fy"]:
            return self._span(PeriodKind.YEAR, int(match["fy"]), 1)
        year = int(match["y"])
        if match["m"]:
            month = int(match["m"])
            if not 1 <= month <= 12:
                raise ValueError(f"not a period code: {code!r} (month must be 01..12)")
            return self.month(date(year, month, 1))
        if match["q"]:
            return self._span(PeriodKind.QUARTER, year, int(match["q"]))
        return self._span(PeriodKind.HALF, year, int(match["h"]))

    def shift(self, period: Period, count: int) -> Period:
        """The period of the same kind ``count`` steps later (earlier when negative)."""
        return self.period(period.kind, add_months(period.start, count * _MONTHS_IN[period.kind]))

    def same_period_last_year(self, period: Period) -> Period:
        return self.period(period.kind, add_months(period.start, -12))
