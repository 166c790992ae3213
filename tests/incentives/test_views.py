"""Statement pages: who sees whose pay (a rep their own, a manager their team's, ops/admin/finance everyone, HR
nobody), and what a statement explains."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.incentives import services
from tests.incentives.conftest import assigned_plan

D = Decimal
PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    name: 销售提成
    credit: {roll_up: {levels: 1}}
    quota: {source: fixed, amount: 1000}
    rate: {tiers: {bands: [{from: 0, to: 0.5, rate: 0.05}, {from: 0.5, rate: 0.1}]}}
"""


@pytest.fixture
def run(world, ops_olivia):
    plan = assigned_plan(world, ops_olivia, PLAN)
    return services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")


def statement_url(run, person):
    return reverse("incentives:statement", args=[run.pk, person.pk])


def names_listed(client) -> set[str]:
    html = client.get(reverse("incentives:statements")).content.decode()
    return {name for name in ("李丽", "张伟", "陈经理", "赵经理") if name in html}


@pytest.mark.parametrize(("persona", "visible"), [
    ("rep_alice", {"李丽"}),
    ("rep_bob", {"张伟"}),
    ("manager_carol", {"李丽", "陈经理"}),
    ("ops_olivia", {"李丽", "张伟", "陈经理", "赵经理"}),
    ("finance_dan", {"李丽", "张伟", "陈经理", "赵经理"}),
    ("admin_ada", {"李丽", "张伟", "陈经理", "赵经理"}),
])
def test_each_persona_sees_only_the_pay_they_may(world, run, client_for, request, persona, visible):
    client = client_for(request.getfixturevalue(persona))
    assert names_listed(client) == visible
    for key in ("alice", "bob", "carol", "erin"):
        person = world.people[key]
        status = client.get(statement_url(run, person)).status_code
        assert status == (200 if person.name in visible else 404), (persona, key)


def test_hr_sees_no_pay(world, run, client_for, hr_henry):
    client = client_for(hr_henry)
    assert client.get(reverse("incentives:statements")).status_code == 403
    assert client.get(statement_url(run, world.people["alice"])).status_code == 403
    assert "/incentives/" not in client.get(reverse("home")).content.decode()  # not in the navigation


def test_a_statement_explains_every_amount(world, run, client_for, rep_alice):
    # December: Alice's 600 of S1 on a 1,000 quota: 500 × 5 % + 100 × 10 % = 35.00
    html = client_for(rep_alice).get(statement_url(run, world.people["alice"])).content.decode()
    assert "销售提成: ¥35.00" in html and "2025 提成 version 1, period 2025-12" in html
    assert "attainment 0%–50%" in html and "attainment 50% and above" in html
    assert "60.0%" in html  # attainment 600 / 1,000


def test_an_anonymous_visitor_is_sent_to_sign_in(run, client, world):
    response = client.get(statement_url(run, world.people["alice"]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_statement_shows_the_year_to_date_and_the_change_from_the_period_before(world, run, client_for,
                                                                                 rep_alice, ops_olivia):
    # November: A1 1,000 on a 1,000 quota: 500 × 5 % + 500 × 10 % = 75.00; December 35.00
    services.run_calculation(actor=ops_olivia, plan=run.plan, period_code="2025-11")
    html = client_for(rep_alice).get(statement_url(run, world.people["alice"])).content.decode()
    context = html.split('data-testid="statement-context">')[1].split("</p>")[0]
    assert "Year to date (FY2025): ¥110.00" in context and "Change vs the period before: -¥40.00" in context
