"""Statements: each person's payouts per standing run, with the rows that explain every amount, the lines
behind every measure ("why"), delta lines and adjustments paid with the period, disputes, and a PDF copy."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils.http import content_disposition_header

from salesops.core.roles import Role, role_of
from salesops.incentives import access, pdf, selectors
from salesops.incentives.models import RunKind


@login_required
def statements(request):
    """Every standing run's total per person the user may see, newest period first."""
    rows = list(access.visible_payouts(request.user).filter(run__kind=RunKind.REGULAR)
                .values("run_id", "run__plan_id", "run__period", "run__status", "run__version__plan__name",
                        "run__version__version", "salesperson_id", "salesperson__name", "salesperson__employee_no")
                .annotate(total=Sum("amount"), components=Count("id"))
                .order_by("-run__period", "-run_id", "salesperson__employee_no"))
    extra = selectors.paid_with_periods(salesperson_id__in={r["salesperson_id"] for r in rows})
    for row in rows:  # the statement's total: payouts, delta lines and approved adjustments paid with the period
        row["total"] += sum(extra.get((row["run__plan_id"], row["run__period"], row["salesperson_id"]), ()))
    return TemplateResponse(request, "incentives/statements.html", {"rows": rows})


def _statement(request, run_id: int, person_id: int) -> selectors.Statement:
    run, payouts = access.access_statement(request.user, run_id, person_id)
    return selectors.statement(run, payouts)


@login_required
def statement(request, run_id: int, person_id: int):
    data = _statement(request, run_id, person_id)
    may_dispute = role_of(request.user) in (Role.REP, Role.MANAGER)
    return TemplateResponse(request, "incentives/statement.html", {
        "s": data, "run": data.run, "person": data.person, "plan": data.run.version.plan,
        "version": data.run.version, "may_dispute": may_dispute})


@login_required
def why(request, run_id: int, person_id: int, component: str):
    """From a component's amount down to the order lines: the detail rows (rule, basis, rate) and every line
    credited to the measure, with the seller and the roll-up level it came through."""
    data = _statement(request, run_id, person_id)
    item = next((i for i in data.items if i.payout.component == component), None)
    if item is None:
        raise Http404("No such component on this statement.")
    lines = selectors.why_lines(data.run, data.person.pk, component)
    total_credit = sum((w.credit for w in lines), 0) if lines else None
    return TemplateResponse(request, "incentives/why.html", {
        "s": data, "item": item, "lines": lines, "total_credit": total_credit, "run": data.run,
        "person": data.person})


@login_required
def statement_pdf(request, run_id: int, person_id: int):
    data = _statement(request, run_id, person_id)
    response = HttpResponse(pdf.statement_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        False, f"statement-{data.person.employee_no}-{data.run.period}.pdf")
    return response
