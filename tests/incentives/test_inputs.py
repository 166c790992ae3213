"""The organisation mapped onto the engine's inputs for the newer plan constructs: invoice dates (and lines booked
before the scanned range but invoiced in it), deal attributes, customers' first purchase dates, hire dates and
target incentives.

The persona world (tests/conftest.py): A1 1,000.00 by Alice for C-A (2025-11-15), B1 by Bob for C-B (2025-11-16),
S1 split 60/40 for C-A (2025-12-01).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesops.engine.comp.plan import load_plan
from salesops.incentives import services
from salesops.incentives.inputs import build_inputs
from salesops.org.models import OrderLine, Salesperson

D = Decimal
PLAN = """
plan: p
effective_from: 2025-01-01
components:
  - id: invoiced
    credit: {recognise: invoiced, filter: {attributes: {channel: [online]}}}
    rate: {flat: 0.1}
  - id: logos
    credit: {type: new_customers}
    rate: {flat: 100}
"""


def test_the_inputs_carry_invoice_dates_attributes_first_purchases_hire_dates_and_target_incentives(world,
                                                                                                       ops_olivia):
    # Given A1 (booked in November) invoiced in December with a channel, and Alice's plan assignment
    OrderLine.objects.filter(external_id="A1").update(invoiced_on=dt.date(2025, 12, 3),
                                                      attributes={"channel": "online", "deal_type": "new"})
    version = services.plan_version_create(actor=ops_olivia, name="p", document=PLAN)
    services.plan_assign(actor=ops_olivia, plan=version.plan, salesperson=world.people["alice"],
                         start_date=dt.date(2025, 1, 1), target_incentive=D("60000.00"))
    calendar = world.company.calendar
    december = calendar.parse("2025-12")

    # When December's inputs are built
    inputs = build_inputs(version.plan, load_plan(PLAN), december, calendar)

    # Then A1 is there for its invoice, with its attributes; customers have their first purchase over all history
    rows = {r["line_id"]: r for r in inputs.credited.to_pylist()}
    assert rows["A1"]["invoiced_on"] == dt.date(2025, 12, 3)
    assert sorted(rows["A1"]["attributes"]) == [("channel", "online"), ("deal_type", "new")]
    assert rows["S1"]["invoiced_on"] is None and rows["S1"]["attributes"] == []
    assert sorted((r["customer"], r["first_order_date"]) for r in inputs.customers.to_pylist()) == [
        ("C-A", dt.date(2025, 11, 15))]
    [alice] = inputs.payees.to_pylist()
    assert (alice["hired"], alice["target_incentive"]) == (Salesperson.objects.get(employee_no="E101").hire_date,
                                                           D("60000.00"))

    # And the run pays A1 on its invoice in December; C-A first bought in November, so it is no new customer
    run = services.run_calculation(actor=ops_olivia, plan=version.plan, period_code="2025-12")
    assert {(p.component, p.amount) for p in run.payouts.all()} == {("invoiced", D("100.00"))}
