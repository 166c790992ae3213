"""/api/payouts/: the same confidentiality as the statement pages, through the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.incentives import services

D = Decimal
PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    credit: {roll_up: {levels: 1}}
    rate: {flat: 0.1}
"""


@pytest.fixture
def run(world):
    olivia = world.users["olivia"]
    version = services.plan_version_create(actor=olivia, name="2025 提成", document=PLAN)
    for key in ("alice", "bob", "carol", "erin"):
        services.plan_assign(actor=olivia, plan=version.plan, salesperson=world.people[key],
                             start_date=dt.date(2025, 1, 1))
    return services.run_calculation(actor=olivia, plan=version.plan, period_code="2025-12")


@pytest.mark.parametrize(("persona", "visible"), [
    ("alice", {"alice"}), ("bob", {"bob"}), ("carol", {"alice", "carol"}),
    ("olivia", {"alice", "bob", "carol", "erin"}), ("dan", {"alice", "bob", "carol", "erin"}),
])
def test_each_persona_gets_only_the_payouts_they_may_see(api_as, world, run, persona, visible):
    response = api_as(persona).get("/api/payouts/", {"run": run.pk})
    assert response.status_code == 200
    numbers = {row["employee_no"] for row in response.json()["results"]}
    assert numbers == {world.people[k].employee_no for k in visible}
    for key in ("alice", "bob", "carol", "erin"):
        payout = run.payouts.get(salesperson=world.people[key])
        status = api_as(persona).get(f"/api/payouts/{payout.pk}/").status_code
        assert status == (200 if key in visible else 404), (persona, key)


def test_a_payout_carries_its_explanation_as_exact_decimals(api_as, world, run):
    alice = run.payouts.get(salesperson=world.people["alice"])
    data = api_as("alice").get(f"/api/payouts/{alice.pk}/").json()
    assert (data["amount"], data["measure"], data["period"]) == ("60.00", "600.00000000", "2025-12")
    assert [(d["rule"], d["basis"], d["rate"]) for d in data["details"]] == [
        ("flat", "600.00000000", "0.100000000000")]


def test_hr_and_anonymous_get_no_payout(api_as, anon, run):
    assert api_as("henry").get("/api/payouts/").status_code == 403
    assert anon.get("/api/payouts/").status_code in (401, 403)
