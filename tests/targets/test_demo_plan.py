"""The demo company comes with an approved target plan that adds up, with a manager's commit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum

from salesops.org import demo
from salesops.targets.demo import create_demo_plan
from salesops.targets.models import TargetMonth, TargetPlan

pytestmark = pytest.mark.django_db


@time_machine.travel(dt.datetime(2026, 11, 15, 4, tzinfo=dt.UTC), tick=False)
def test_the_demo_plan_is_approved_adds_up_and_has_a_commit():
    demo.load_demo(seed=7, size=demo.SMALL, today=dt.date(2026, 11, 15))
    plan = create_demo_plan()
    assert plan.status == "approved" and plan.fiscal_year == 2026
    assert plan.total % 10000 == 0 and plan.total > 0
    leaves = plan.nodes.filter(level=len(plan.levels))
    assert leaves.aggregate(s=Sum("value"))["s"] == plan.total
    assert TargetMonth.objects.filter(node__in=leaves).aggregate(s=Sum("value"))["s"] == plan.total
    assert plan.nodes.exclude(commit=None).count() == 1
    assert create_demo_plan() is None and TargetPlan.objects.count() == 1  # once only
    assert all(n.value % Decimal(100) == 0 for n in leaves)
