"""The demo company's target plan: this fiscal year's net revenue target, decomposed product line → region → team →
salesperson from history, spread by seasonality with working days, approved, with one manager's commit."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.engine.periods import add_months
from salesops.org.models import Company, SalesMonthly
from salesops.targets import services
from salesops.targets.models import TargetNode, TargetPlan

LEVELS = [
    {"dimension": "category", "depth": 0, "method": "historical", "window": 12},
    {"dimension": "region", "depth": 1, "method": "historical", "window": 12},
    {"dimension": "team", "depth": 1, "method": "historical", "window": 12},
    {"dimension": "salesperson", "method": "blend", "window": 12,
     "blend": {"historical": "0.7", "potential": "0", "equal": "0.3"}},
]
WAN = Decimal(10000)


def create_demo_plan(*, growth: Decimal = Decimal("0.15")) -> TargetPlan | None:
    """Last fiscal year's net revenue × (1 + growth), in whole 万元; None when there is no history or a plan."""
    if TargetPlan.objects.exists():
        return None
    User = get_user_model()  # noqa: N806 - Django's idiom
    ops = User.objects.filter(profile__role="ops").order_by("pk").first()
    manager = User.objects.filter(username="manager").first()
    calendar = Company.current().calendar
    year = calendar.year(timezone.localdate())
    last = SalesMonthly.objects.filter(month__gte=add_months(year.start, -12), month__lt=year.start).aggregate(
        s=Sum("net_amount"))["s"]
    if ops is None or not last:
        return None
    total = (last * (1 + growth) / WAN).quantize(Decimal(1), rounding=ROUND_HALF_UP) * WAN
    fy = calendar.fiscal_year_of(year.start)
    plan = services.plan_create(
        actor=ops, name=_("FY%(year)s sales target") % {"year": fy}, fiscal_year=fy, total=total, levels=LEVELS,
        seasonality={"source": "history", "working_days": True}, unit=Decimal("100.00"),
        specific=_("Net revenue of FY%(year)s, all product lines, credited to salespeople by split.") % {"year": fy},
        measure=_("Credited net amount of order lines net of returns, read monthly from the sales cube."),
        achievable=_("Last year's actual %(last)s plus %(growth)s%% market growth; headcount as assigned.") % {
            "last": f"{last:,.2f}", "growth": int(growth * 100)},
        relevant=_("Funds the expansion plan; every team's and rep's share follows their history."),
        deadline=year.end - dt.timedelta(days=1),
        assumptions={"last_year_actual": str(last), "market_growth": str(growth)},
    )
    services.plan_allocate(actor=ops, plan=plan)
    for status in ("submitted", "approved"):
        services.plan_transition(actor=ops, plan=plan, to=status)
    if manager is not None and manager.salesperson is not None:
        node = TargetNode.objects.filter(plan=plan, dimension="salesperson", member_id__in=manager.salesperson.reports
                                         .values("salesperson_id")).exclude(value=0).order_by("key").first()
        if node is not None:
            services.node_commit(actor=manager, node=node, value=(node.value * Decimal("0.9")).quantize(Decimal(100)),
                                 note=_("Two key accounts renew late in the year."))
    return TargetPlan.objects.get(pk=plan.pk)
