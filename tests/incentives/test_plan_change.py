"""A salesperson who moves from one plan to another inside a payout period is paid by each plan for the days on
it: each plan's run prorates the quota by those days and counts only the lines of those days (their manager's
roll-up still counts them all).

The persona world (tests/conftest.py): Alice (E101, hired 2024-01-01) under Carol; line A1 1,000.00 by Alice on
2025-11-15. November has 30 days.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesops.incentives import services
from salesops.incentives.models import RunStatus
from salesops.org import services as org

D = Decimal
PLAN = """
plan: {name}
effective_from: 2025-01-01
components:
  - id: commission
    quota: {{source: fixed, amount: 3000}}
    rate:
      tiers:
        bands: [{{from: 0, to: 1.0, rate: {low}}}, {{from: 1.0, rate: 0.2}}]
"""


def test_a_move_to_another_plan_mid_month_pays_each_plan_for_its_days_and_its_lines(world, ops_olivia):
    # Given Alice on the old plan to 15 November and on the new one from 16 November, with A1 (1,000 on the 15th)
    # and a line of 2,000 on the 20th
    alice = world.people["alice"]
    old = services.plan_version_create(actor=ops_olivia, name="old", document=PLAN.format(name="old", low=0.1)).plan
    new = services.plan_version_create(actor=ops_olivia, name="new", document=PLAN.format(name="new", low=0.05)).plan
    services.plan_assign(actor=ops_olivia, plan=old, salesperson=alice, start_date=dt.date(2025, 1, 1),
                         end_date=dt.date(2025, 11, 15))
    services.plan_assign(actor=ops_olivia, plan=new, salesperson=alice, start_date=dt.date(2025, 11, 16))
    org.order_line_create(actor=None, credits=[(alice, D(100))], external_id="A2", order_no="SO-A2",
                          date=dt.date(2025, 11, 20), customer=world.customers.a, product=world.product,
                          quantity=D(2), unit_price=D("1000.00"), cost=D("800.00"))

    # When both plans are calculated for November
    runs = [services.run_calculation(actor=ops_olivia, plan=p, period_code="2025-11") for p in (old, new)]

    # Then each pays for 15 of 30 days: quota 1,500, and only the lines of its days
    assert [r.status for r in runs] == [RunStatus.CALCULATED, RunStatus.CALCULATED]
    before, after = (r.payouts.get(salesperson=alice) for r in runs)
    assert (before.quota, before.measure, before.amount) == (D("1500.00"), D("1000"), D("100.00"))  # 1,000 × 10 %
    # 1,500 × 5 % + 500 × 20 %
    assert (after.quota, after.measure, after.amount) == (D("1500.00"), D("2000"), D("175.00"))


def test_a_hire_later_than_the_assignment_start_prorates_from_the_hire_date(world, ops_olivia):
    bob = world.people["bob"]
    org.salesperson_update(actor=None, salesperson=bob, hire_date=dt.date(2025, 11, 21))
    plan = services.plan_version_create(actor=ops_olivia, name="p", document=PLAN.format(name="p", low=0.1)).plan
    services.plan_assign(actor=ops_olivia, plan=plan, salesperson=bob, start_date=dt.date(2025, 1, 1))
    org.order_line_create(actor=None, credits=[(bob, D(100))], external_id="B2", order_no="SO-B2",
                          date=dt.date(2025, 11, 25), customer=world.customers.b, product=world.product,
                          quantity=D(1), unit_price=D("1000.00"), cost=D("400.00"))
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    payout = run.payouts.get(salesperson=bob)
    # hired on the 21st: 10 of 30 days, quota 1,000; B1 (the 16th) is before the hire and does not count
    assert (payout.quota, payout.measure, payout.amount) == (D("1000.00"), D("1000"), D("100.00"))
