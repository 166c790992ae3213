"""The numbers on the home page, per role, read from the monthly aggregate (never a scan of order lines)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum

from salesops.engine.periods import FiscalCalendar, add_months
from salesops.org.models import Assignment, SalesMonthly, Salesperson, SalespersonStatus, active_on
from salesops.org.selectors import monthly_totals

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Comparison:
    label: str
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> Decimal | None:
        """Growth over the previous figure as a fraction; None when there is nothing to compare with."""
        if not self.previous:
            return None
        return (self.current - self.previous) / abs(self.previous)


def sales_summary(ids: set[int] | None, today: dt.date, calendar: FiscalCalendar) -> dict:
    """This month, year-to-date and the fiscal year by month, each against the same period last year."""
    year = calendar.year(today)
    months = year.months()
    last_year = [add_months(m, -12) for m in months]
    totals = monthly_totals(ids, months + last_year)
    this_month = calendar.month(today).start
    elapsed = [m for m in months if m <= this_month]
    return {
        "month": Comparison("month", totals[this_month], totals[add_months(this_month, -12)]),
        "ytd": Comparison("ytd", sum((totals[m] for m in elapsed), ZERO),
                          sum((totals[add_months(m, -12)] for m in elapsed), ZERO)),
        "chart": {
            "months": [m.strftime("%Y-%m") for m in months],
            "current": [str(totals[m]) if m <= this_month else None for m in months],
            "previous": [str(totals[m]) for m in last_year],
        },
        "year": year,
    }


def ranking(ids: set[int] | None, today: dt.date, calendar: FiscalCalendar, limit: int | None = None) -> list[dict]:
    """People by year-to-date credited sales, with this month and last year's YTD."""
    year = calendar.year(today)
    this_month = calendar.month(today).start
    elapsed = [m for m in year.months() if m <= this_month]
    previous = [add_months(m, -12) for m in elapsed]
    qs = SalesMonthly.objects.filter(month__in=elapsed + previous)
    if ids is not None:
        qs = qs.filter(salesperson_id__in=ids)
    rows = qs.values("salesperson_id").annotate(
        ytd=Sum("net_amount", filter=Q(month__in=elapsed)),
        last_ytd=Sum("net_amount", filter=Q(month__in=previous)),
        month=Sum("net_amount", filter=Q(month=this_month)),
    ).order_by()
    people = {p.pk: p for p in Salesperson.objects.filter(pk__in=[r["salesperson_id"] for r in rows])}
    result = [
        {"person": people[r["salesperson_id"]], "ytd": r["ytd"] or ZERO, "last_ytd": r["last_ytd"] or ZERO,
         "month": r["month"] or ZERO,
         "change": Comparison("", r["ytd"] or ZERO, r["last_ytd"] or ZERO).change}
        for r in rows
    ]
    result.sort(key=lambda r: (-r["ytd"], r["person"].employee_no))
    return result[:limit] if limit else result


def people_summary(today: dt.date, calendar: FiscalCalendar, ids: set[int] | None = None) -> dict:
    """Headcount by status, hires and leavers this fiscal year, and who is ramping."""
    year = calendar.year(today)
    people = Salesperson.objects.all() if ids is None else Salesperson.objects.filter(pk__in=ids)
    by_status = dict(people.values_list("status").annotate(n=Count("id")).order_by())
    return {
        "by_status": [(label, by_status.get(value, 0)) for value, label in SalespersonStatus.choices],
        "hires": people.filter(hire_date__gte=year.start, hire_date__lt=year.end).count(),
        "leavers": people.filter(leave_date__gte=year.start, leave_date__lt=year.end).count(),
        "ramping": list(people.filter(status=SalespersonStatus.RAMPING).order_by("hire_date")[:10]),
        "teams": list(
            Assignment.objects.filter(active_on(today), salesperson__in=people)
            .values("team__name").annotate(n=Count("id")).order_by("team__path")
        ),
    }
