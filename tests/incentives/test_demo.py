"""The demo company comes with a compensation plan calculated for the last two complete months, so every demo
login finds statements: the earlier month paid, the later one waiting for review with an adjustment and a dispute."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db.models import Sum

from salesops.incentives.demo import create_demo_comp_plan
from salesops.incentives.models import Adjustment, CompPlan, Dispute, DrawBalance, Payout
from salesops.org import demo
from salesops.org.models import Salesperson

pytestmark = pytest.mark.django_db


@time_machine.travel(dt.datetime(2026, 11, 15, 4, tzinfo=dt.UTC), tick=False)
def test_the_demo_plan_is_calculated_for_the_last_two_months():
    demo.load_demo(seed=7, size=demo.SMALL, today=dt.date(2026, 11, 15))
    plan = create_demo_comp_plan()
    runs = plan.runs.order_by("period")
    assert [(r.period, r.status) for r in runs] == [("2026-09", "paid"), ("2026-10", "calculated")]
    october = runs.last()
    rep = Salesperson.objects.get(user__username="rep")
    assert Adjustment.objects.get().salesperson == rep and Adjustment.objects.get().status == "pending"
    assert Dispute.objects.get().payout.run == october and Dispute.objects.get().payout.salesperson == rep
    assert october.payouts.filter(component="commission").count() > 5
    assert october.payouts.aggregate(total=Sum("amount"))["total"] > 0
    assert Payout.objects.filter(run=october, component="accelerator", amount__gt=0).exists()  # someone beat quota
    assert not DrawBalance.objects.exists()
    assert create_demo_comp_plan() is None and CompPlan.objects.count() == 1  # once only
