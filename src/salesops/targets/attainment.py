"""Actuals and attainment for every node of a plan, from the sales cube in one pass.

Each cube row of the period is attributed to the deepest plan node whose path of members contains it (see
``dimensions``), the metric turns its sums into an actual, and the actuals roll up the plan tree, so a manager's
or a region's actual always includes its whole subtree, even sales of people who are not in the plan under it.
Rows that fall in no node at all are reported as *unallocated*, never silently dropped.
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


def parse_period(code: str, calendar, today: dt.date) -> Period:
    """A period code (2026-03, 2026-Q1, 2026-H1, FY2026) or ``YTD``: the fiscal year to the end of this month."""
    if code.strip().upper() == "YTD":
        return calendar.year_to_date(today)
    return calendar.parse(code)


def levels_of(plan: TargetPlan) -> list[tuple[str, int]]:
    return [(level["dimension"], int(level.get("depth", 0))) for level in plan.levels]


def actuals_by_node(plan: TargetPlan, months: list[dt.date], context: Context | None = None
                    ) -> tuple[dict[int, Decimal], Decimal]:
    """The metric's actual over ``months`` attributed to the deepest plan node each cube row falls in, and the part
    that falls in no node at all. A row whose leaf is not in the plan (e.g. a co-seller's half of a sale in a region
    they are not assigned to) still counts for the region above it, so every node's rolled-up actual is complete."""
    context = context or Context.load(Company.current().calendar.parse(f"FY{plan.fiscal_year}"))
    levels = levels_of(plan)
    node_of = dict(plan.nodes.values_list("key", "pk"))
    value = metric(plan.metric).value
    totals: dict[int, Decimal] = {}
    unallocated = ZERO
    fields, members_of = context.mapper(levels)
    rows = (SalesMonthly.objects.filter(month__in=months).values_list(*fields)
            .annotate(net=Sum("net_amount"), cost=Sum("cost"), qty=Sum("quantity"), new=Sum("new_customers"))
            .order_by())
    found: dict[tuple, int | None] = {}
    for row in rows:
        members = members_of(row)
        if members not in found:
            found[members] = _deepest(node_of, levels, members)
        node = found[members]
        amount = value(*row[-4:])
        if node is None:
            unallocated += amount
        else:
            totals[node] = totals.get(node, ZERO) + amount
    return totals, unallocated


def _deepest(node_of: dict[str, int], levels, members: tuple) -> int | None:
    """The node of the longest prefix of ``members`` that the plan has (below the total), else None."""
    for depth in range(len(levels), 0, -1):
        prefix = members[:depth]
        if None in prefix:
            continue
        node = node_of.get(node_key(levels, list(prefix)))
        if node is not None:
            return node
    return None


def node_key(levels: list[tuple[str, int]], members: list[int]) -> str:
    """The stable key of a node: "category:3/region:7" (the root's key is empty)."""
    return "/".join(f"{dim}:{member}" for (dim, _depth), member in zip(levels, members, strict=False))


def plan_attainment(plan: TargetPlan, period: Period, today: dt.date) -> PlanAttainment:
    nodes = {n.pk: n for n in plan.nodes.all()}
    months = [m for m in period.months()]
    own, unallocated = actuals_by_node(plan, months)
    parents = {pk: n.parent_id for pk, n in nodes.items()}
    actual = roll_up(parents, own)
    targets = dict(TargetMonth.objects.filter(node__plan=plan, month__in=months).values("node_id")
                   .annotate(s=Sum("value")).values_list("node_id", "s"))
    threshold = plan.behind_threshold
    result = {pk: progress(targets.get(pk, ZERO), actual.get(pk, ZERO), period, today, threshold) for pk in nodes}
    return PlanAttainment(period, today, nodes, result, unallocated)
