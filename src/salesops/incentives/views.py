"""Statements: each person's payouts per calculation run, with the rows that explain every amount."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.template.response import TemplateResponse

from salesops.incentives import access
from salesops.incentives.rules import rule_text


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
    return TemplateResponse(request, "incentives/statement.html", {
        "run": run, "person": payouts[0].salesperson, "items": items, "total": total,
        "plan": run.version.plan, "version": run.version})
