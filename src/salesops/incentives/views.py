"""Statements: each person's payouts per calculation run, with the rows that explain every amount."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.template.response import TemplateResponse

from salesops.incentives import access
from salesops.incentives.models import CalculationRun, RunStatus
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
    previous = _period_total(run.plan_id, person.pk, calendar.shift(period, -1).code)
    year = calendar.year(period.start)
    codes = [p.code for p in _periods_between(calendar, period.kind, year.start, period.end)]
    ytd = sum((_period_total(run.plan_id, person.pk, code) or Decimal(0) for code in codes if code != run.period),
              total)
    return TemplateResponse(request, "incentives/statement.html", {
        "run": run, "person": person, "items": items, "total": total, "plan": run.version.plan,
        "version": run.version, "previous": previous, "change": total - previous if previous is not None else None,
        "ytd": ytd, "fiscal_year": year.code})


def _period_total(plan_id: int, person_id: int, code: str) -> Decimal | None:
    """A person's total in the latest calculated run of the plan for a period (None: no such run)."""
    run = (CalculationRun.objects.filter(plan_id=plan_id, period=code, status=RunStatus.CALCULATED)
           .order_by("-started_at", "-id").first())
    if run is None:
        return None
    return run.payouts.filter(salesperson_id=person_id).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def _periods_between(calendar, kind, start, end):
    periods, period = [], calendar.period(kind, start)
    while period.start < end:
        periods.append(period)
        period = calendar.shift(period, 1)
    return periods
