"""Reads of the organisation that need thought: trees, effective-dated assignments, monthly sales.

Role in the flow: HTML views, the REST API and other apps call these instead of re-deriving the queries.
Selectors never write and never check permissions: pass a queryset already narrowed by
``org.access.visible_to(user, Model)`` as ``queryset=`` when the answer depends on who is asking.
Every queryset returned here has a total, stable ordering (safe to paginate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from salesops.engine.periods import add_months
from salesops.org.models import Assignment, SalesMonthly, Salesperson, Team, TreeNode, active_on

ZERO = Decimal("0.00")


# -- trees ------------------------------------------------------------------------------------------------
def tree_subtree(root: TreeNode, *, include_root: bool = True, queryset: QuerySet | None = None) -> QuerySet:
    """``root`` and every node below it (any depth), in tree order (by ``path``)."""
    qs = queryset if queryset is not None else type(root).objects.all()
    qs = qs.filter(path__startswith=root.path)
    if not include_root:
        qs = qs.exclude(pk=root.pk)
    return qs.order_by("path", "pk")


# -- assignments ------------------------------------------------------------------------------------------
def assignments_on(day: dt.date, *, team: Team | None = None, subtree: bool = False,
                   queryset: QuerySet[Assignment] | None = None) -> QuerySet[Assignment]:
    """Who was in which team, with which manager and region, on ``day``: the assignments in effect that day.

    ``team`` narrows to that team (and, with ``subtree=True``, to the teams below it). At most one row per
    salesperson, because a person's assignments never overlap.
    """
    qs = queryset if queryset is not None else Assignment.objects.all()
    qs = qs.filter(active_on(day))
    if team is not None:
        qs = qs.filter(team__path__startswith=team.path) if subtree else qs.filter(team=team)
    return qs.select_related("salesperson", "team", "manager", "region").order_by("salesperson__employee_no", "pk")


def assignment_on(salesperson: Salesperson, day: dt.date) -> Assignment | None:
    """The one assignment of ``salesperson`` in effect on ``day``, or None (not yet hired, gap, left)."""
    return assignments_on(day).filter(salesperson=salesperson).first()


def assignment_history(salesperson: Salesperson, *, queryset: QuerySet[Assignment] | None = None
                       ) -> QuerySet[Assignment]:
    """Every assignment of ``salesperson``, oldest first (the full effective-dated history)."""
    qs = queryset if queryset is not None else Assignment.objects.all()
    return (qs.filter(salesperson=salesperson).select_related("team", "manager", "region")
            .order_by("start_date", "pk"))


def team_members_on(team: Team, day: dt.date, *, subtree: bool = True,
                    queryset: QuerySet[Salesperson] | None = None) -> QuerySet[Salesperson]:
    """The salespeople assigned on ``day`` to ``team`` (with ``subtree=True``, also to any team below it)."""
    qs = queryset if queryset is not None else Salesperson.objects.all()
    ids = assignments_on(day, team=team, subtree=subtree).values("salesperson_id")
    return qs.filter(pk__in=ids).order_by("employee_no", "pk")


# -- sales aggregates -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthComparison:
    """A salesperson's credited net sales in ``month`` and in the same month a year earlier."""

    month: dt.date
    this_month: Decimal
    same_month_last_year: Decimal


def monthly_totals(ids: set[int] | None, months: list[dt.date]) -> dict[dt.date, Decimal]:
    """Credited net sales per month (first days) of the salespeople ``ids`` (None: everyone), from ``SalesMonthly``;
    months without sales are zero."""
    qs = SalesMonthly.objects.filter(month__in=months)
    if ids is not None:
        qs = qs.filter(salesperson_id__in=ids)
    totals = {row["month"]: row["s"] for row in qs.values("month").annotate(s=Sum("net_amount")).order_by()}
    return {m: totals.get(m, ZERO) for m in months}


def monthly_sales(salesperson: Salesperson, month: dt.date) -> Decimal:
    """Credited net sales of ``salesperson`` in the calendar month containing ``month`` (from ``SalesMonthly``)."""
    first = month.replace(day=1)
    return monthly_totals({salesperson.pk}, [first])[first]


def sales_vs_last_year(salesperson: Salesperson, day: dt.date) -> MonthComparison:
    """Credited sales in the month of ``day`` and in the same month one year earlier."""
    first, last_year = day.replace(day=1), add_months(day.replace(day=1), -12)
    totals = monthly_totals({salesperson.pk}, [first, last_year])
    return MonthComparison(month=first, this_month=totals[first], same_month_last_year=totals[last_year])
