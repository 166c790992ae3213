"""Actuals and attainment for every node of a plan, from the sales cube in one pass.

Each cube row of the period is attributed to the plan leaf whose path of members contains it (see
``dimensions``), the metric turns its sums into an actual, and the actuals roll up the plan tree, so a manager's
or a region's actual always includes its whole subtree. Rows that fall in no leaf (e.g. a salesperson who is not
in the plan) are reported as *unallocated*, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from salesops.engine.attainment import Progress, progress, roll_up
from salesops.engine.periods import Period
from salesops.org.models import Company, SalesMonthly
from salesops.targets.dimensions import Context
from salesops.targets.metrics import metric
from salesops.targets.models import TargetMonth, TargetNode, TargetPlan

ZERO = Decimal(0)


@dataclass(frozen=True)
class PlanAttainment:
    period: Period
    today: dt.date
    nodes: dict[int, TargetNode]
    progress: dict[int, Progress]
    unallocated: Decimal  # actual that fell in no leaf of the plan


def levels_of(plan: TargetPlan) -> list[tuple[str, int]]:
    return [(level["dimension"], int(level.get("depth", 0))) for level in plan.levels]


def actuals_by_leaf(plan: TargetPlan, months: list[dt.date], context: Context | None = None
                    ) -> tuple[dict[int, Decimal], Decimal]:
    """The metric's actual per leaf node over ``months``, and the part that fell in no leaf."""
    context = context or Context.load(Company.current().calendar.parse(f"FY{plan.fiscal_year}"))
    levels = levels_of(plan)
    nodes = list(plan.nodes.filter(level=len(levels)).values_list("pk", "key"))
    leaf_of = {key: pk for pk, key in nodes}
    value = metric(plan.metric).value
    totals: dict[int, Decimal] = {}
    unallocated = ZERO
    fields, members_of = context.mapper(levels)
    rows = (SalesMonthly.objects.filter(month__in=months).values_list(*fields)
            .annotate(net=Sum("net_amount"), cost=Sum("cost"), qty=Sum("quantity")).order_by())
    for row in rows:
        members = members_of(row)
        amount = value(*row[-3:])
        leaf = leaf_of.get(node_key(levels, members)) if None not in members else None
        if leaf is None:
            unallocated += amount
        else:
            totals[leaf] = totals.get(leaf, ZERO) + amount
    return totals, unallocated


def node_key(levels: list[tuple[str, int]], members: list[int]) -> str:
    """The stable key of a node: "category:3/region:7" (the root's key is empty)."""
    return "/".join(f"{dim}:{member}" for (dim, _depth), member in zip(levels, members, strict=False))


def plan_attainment(plan: TargetPlan, period: Period, today: dt.date) -> PlanAttainment:
    nodes = {n.pk: n for n in plan.nodes.all()}
    months = [m for m in period.months()]
    leaf_actuals, unallocated = actuals_by_leaf(plan, months)
    parents = {pk: n.parent_id for pk, n in nodes.items()}
    actual = roll_up(parents, leaf_actuals)
    targets = dict(TargetMonth.objects.filter(node__plan=plan, month__in=months).values("node_id")
                   .annotate(s=Sum("value")).values_list("node_id", "s"))
    threshold = plan.behind_threshold
    result = {pk: progress(targets.get(pk, ZERO), actual.get(pk, ZERO), period, today, threshold) for pk in nodes}
    return PlanAttainment(period, today, nodes, result, unallocated)
