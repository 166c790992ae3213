"""The demo company's compensation plan: 2 % commission on credited net revenue and an accelerator on monthly
attainment, everyone assigned, calculated for the last two complete months — so every demo login has statements.
The earlier month is reviewed (ops), approved and paid (finance); the later one is calculated and waits for review,
with an adjustment waiting for a decision and a question from the ``rep`` login on one of their lines."""

from __future__ import annotations

import statistics
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.engine.periods import add_months
from salesops.incentives import services
from salesops.incentives.models import CompPlan
from salesops.org.models import Company, SalesMonthly, Salesperson

DOCUMENT = """\
plan: {name}
version: 1
effective_from: {start}
components:
  - id: commission
    name: {commission}
    rate: {{flat: 0.02}}
  - id: accelerator
    name: {accelerator}
    quota: {{source: fixed, amount: {quota}}}
    cap: {{amount: {cap}}}
    rate:
      tiers:
        bands:
          - {{from: 0, to: 1.0, rate: 0}}
          - {{from: 1.0, to: 1.5, rate: 0.03}}
          - {{from: 1.5, rate: 0.05}}
"""


def create_demo_comp_plan() -> CompPlan | None:
    """None when a plan exists already or there are no sales to set a quota from."""
    if CompPlan.objects.exists():
        return None
    ops = get_user_model().objects.filter(profile__role="ops").order_by("pk").first()
    calendar = Company.current().calendar
    today = timezone.localdate()
    this_month = calendar.month(today)
    months = [calendar.shift(this_month, -n) for n in (2, 1)]
    # the quota: the median rep's monthly sales over the last year, to the thousand
    monthly = (SalesMonthly.objects.filter(month__gte=add_months(this_month.start, -12), month__lt=this_month.start)
               .values("salesperson_id", "month").annotate(total=Sum("net_amount")).values_list("total", flat=True))
    if ops is None or not monthly:
        return None
    quota = (statistics.median(monthly) / 1000).quantize(Decimal(1)) * 1000
    start = calendar.year(add_months(this_month.start, -12)).start
    document = DOCUMENT.format(name=_("Sales compensation"), start=start, commission=_("Commission"),
                              accelerator=_("Accelerator above quota"), quota=quota, cap=quota / 10)
    version = services.plan_version_create(actor=ops, name=_("Sales compensation"), document=document)
    for person in Salesperson.objects.order_by("employee_no"):
        services.plan_assign(actor=ops, plan=version.plan, salesperson=person, start_date=max(start, person.hire_date))
    runs = [services.run_calculation(actor=ops, plan=version.plan, period_code=month.code) for month in months]
    users = get_user_model().objects
    finance = users.filter(profile__role="finance").order_by("pk").first()
    if finance is not None:
        services.run_review(actor=ops, run=runs[0])
        services.run_approve(actor=finance, run=runs[0])
        services.run_pay(actor=finance, run=runs[0])
    rep = users.filter(username="rep").first()
    person = getattr(rep, "salesperson", None) if rep else None
    line = runs[1].payouts.filter(salesperson=person).order_by("component").first() if person else None
    if line is not None:
        services.adjustment_create(actor=ops, plan=version.plan, salesperson=person, period_code=months[1].code,
                                   amount=Decimal("500.00"), reason=_("Trade-fair leads handed over to the team"))
        services.dispute_raise(actor=rep, payout=line, text=_(
            "An order I closed at the end of the month does not seem to be counted. Can you check?"))
    return version.plan
