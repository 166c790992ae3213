"""Statements: each person's payouts per calculation run, with the rows that explain every amount."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Sum
from django.template.response import TemplateResponse

from salesops.incentives import access
from salesops.incentives.models import CalculationRun, Payout, RunStatus
from salesops.incentives.rules import rule_text
from salesops.org.models import Company


@login_required
def statements(request):
    """Every calculated run's total per person the user may see, newest period first."""
    rows = (access.visible_payouts(request.user)
            .values("run_id", "run__period", "run__version__plan__name", "run__version__version",
                    "salesperson_id", "salesperson__name", "salesperson__employee_no")
            .annotate(total=Sum("amount"), components=Count("id"))
            .order_by("-run__period", "-run_id", "salesperson__employee_no"))
    return TemplateResponse(request, "incentives/statements.html", {"rows": rows})


@login_required
def statement(request, run_id: int, person_id: int):
    run, payouts = access.access_statement(request.user, run_id, person_id)
    components = {c.id: c for c in run.version.parsed().components}
    items = []
    for payout in payouts:
        component = components.get(payout.component)
        items.append({"payout": payout, "name": (component.name if component and component.name else payout.component),
                      "details": [(d, rule_text(d.rule)) for d in payout.details.all()]})
    total = sum((p.amount for p in payouts), Decimal(0))
    person = payouts[0].salesperson
    calendar = Company.current().calendar
    period = calendar.parse(run.period)
    previous_code = calendar.shift(period, -1).code
    year = calendar.year(period.start)
    codes = {p.code for p in _periods_between(calendar, period.kind, year.start, period.start)}
    totals = _period_totals(run.plan_id, person.pk, codes | {previous_code})
    previous = totals.get(previous_code)
    ytd = total + sum((v for code, v in totals.items() if code in codes), Decimal(0))
    return TemplateResponse(request, "incentives/statement.html", {
        "run": run, "person": person, "items": items, "total": total, "plan": run.version.plan,
        "version": run.version, "previous": previous, "change": total - previous if previous is not None else None,
        "ytd": ytd, "fiscal_year": year.code})


def _period_totals(plan_id: int, person_id: int, codes: set[str]) -> dict[str, Decimal]:
    """A person's total per period code, from the latest calculated run of the plan for each period (a period
    without such a run is absent): two queries, whatever the number of periods."""
    latest = dict(CalculationRun.objects.filter(plan_id=plan_id, period__in=codes, status=RunStatus.CALCULATED)
                  .values("period").annotate(last=Max("id")).values_list("period", "last"))
    sums = dict(Payout.objects.filter(run_id__in=latest.values(), salesperson_id=person_id)
                .values("run_id").annotate(total=Sum("amount")).values_list("run_id", "total"))
    return {code: sums.get(run_id, Decimal(0)) for code, run_id in latest.items()}


def _periods_between(calendar, kind, start, end):
    """The periods of ``kind`` from the one holding ``start`` up to (not including) the one starting at ``end``."""
    periods, period = [], calendar.period(kind, start)
    while period.start < end:
        periods.append(period)
        period = calendar.shift(period, 1)
    return periods
