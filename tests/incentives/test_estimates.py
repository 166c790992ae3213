"""A rep's live estimate and what-if: computed with the engine on the person's own partition of the inputs (equal
to a full run of a closed period, to the cent), projected at the current pace, with hypothetical deals that show
tier effects; deals validated row by row; nothing stored; nobody sees another's estimate (page and API).

The persona world (tests/conftest.py): Alice and Amy in team A under Carol, Bob in team B under Erin, both managers
under Victor. Lines: A1 1,000.00 by Alice (2025-11-15), B1 1,000.00 by Bob (2025-11-16), S1 1,000.00 split 60/40
between Alice and Bob (2025-12-01).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.incentives import estimates, services
from salesops.org import services as org
from tests.incentives.conftest import assigned_plan

D = Decimal
PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    name: 销售提成
    credit: {roll_up: {levels: 2}}
    quota: {source: fixed, amount: 10000}
    rate: {tiers: {bands: [{from: 0, to: 1.0, rate: 0.05}, {from: 1.0, rate: 0.1}]}}
  - id: flat
    name: 基础提成
    rate: {flat: 0.01}
"""
DECEMBER_10 = dt.datetime(2025, 12, 10, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture
def plan(world, ops_olivia):
    return assigned_plan(world, ops_olivia, PLAN, keys=("alice", "bob", "carol", "erin", "victor"))


def line(world, key, ext, day, amount, *, credits=None, original=None):
    qty = D(1) if amount > 0 else D(-1)
    return org.order_line_create(
        actor=None, credits=credits or [(world.people[key], D(100))], external_id=ext, order_no="SO-" + ext, date=day,
        customer=world.customers.a, product=world.product, quantity=qty, unit_price=abs(amount), cost=D("400.00") * qty,
        original=original, status="returned" if original else "booked")


def by_component(figures):
    return {c.id: (c.amount, c.earned, c.measure, c.attainment,
                   [(d.rule, d.band, d.basis, d.rate, d.earned) for d in c.details])
            for c in figures.components if c.details}


def stored(run, person):
    return {p.component: (p.amount, p.earned, p.measure, p.attainment,
                          [(d.rule, d.band, d.basis, d.rate, d.earned) for d in p.details.order_by("band", "rule")])
            for p in run.payouts.filter(salesperson=person).prefetch_related("details")}


def test_the_estimate_on_a_periods_last_day_equals_what_its_run_stores(world, plan, ops_olivia):
    # given a split line between the teams, a big sale crossing Alice's tier and a return in the month
    a2 = line(world, "alice", "A2", dt.date(2025, 11, 20), D("12000.00"))
    line(world, "alice", "R2", dt.date(2025, 11, 28), D("-2000.00"), original=a2)
    line(world, None, "S2", dt.date(2025, 11, 30), D("3000.00"),
         credits=[(world.people["alice"], D(50)), (world.people["bob"], D(50))])
    for code, last_day in (("2025-11", dt.date(2025, 11, 30)), ("2025-12", dt.date(2025, 12, 31))):
        # when the period is run in full, and each person's estimate is computed on the period's last day
        run = services.run_calculation(actor=ops_olivia, plan=plan, period_code=code)
        for key in ("alice", "bob", "carol", "erin", "victor"):
            person = world.people[key]
            with CaptureQueriesContext(connection) as queries:
                result = estimates.estimate(person, today=last_day)
            # then the figures are the stored payouts, to the cent and row by row, and nothing was written
            assert by_component(result.to_date) == stored(run, person), (code, key)
            assert result.to_date.total == sum(p.amount for p in run.payouts.filter(salesperson=person))
            assert result.projected == result.to_date and result.days_left == 0
            assert not [q for q in queries.captured_queries
                        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        if code == "2025-11":  # two levels up: Victor's measure is Alice's 12,500 and Bob's 2,500
            assert run.payouts.get(salesperson=world.people["victor"], component="commission").measure == D("15000")


def test_the_estimate_reads_only_the_persons_partition(world, plan):
    # Bob's lines do not reach Alice's engine run; Carol's roll-up reads her team, not Erin's
    line(world, "bob", "B9", dt.date(2025, 12, 5), D("50000.00"))
    alice = estimates.estimate(world.people["alice"], today=dt.date(2025, 12, 10))
    carol = estimates.estimate(world.people["carol"], today=dt.date(2025, 12, 10))
    assert alice.to_date.get("commission").measure == D("600")
    assert carol.to_date.get("commission").measure == D("600")
    mine = estimates._partition  # the partition as the engine receives it
    from salesops.incentives.inputs import build_inputs
    from salesops.org.models import Company
    calendar = Company.current().calendar
    period = calendar.month(dt.date(2025, 12, 10))
    version = services.version_for(plan, period)
    inputs = build_inputs(plan, version.parsed(), period, calendar)
    part = mine(inputs, version.parsed(), "E002", period, calendar, dt.date(2025, 12, 10))
    assert set(part.credited["payee"].to_pylist()) == {"E101"}  # Alice (Amy has no lines), never Bob
    assert part.payees["payee"].to_pylist() == ["E002"]


def test_the_projection_scales_the_period_so_far_to_its_end(world, plan):
    # 10 of December's 31 days: S1 (1,000.00, Alice 60 %) becomes 3,100.00, so Alice's measure 1,860.00
    result = estimates.estimate(world.people["alice"], today=dt.date(2025, 12, 10))
    assert (result.days_elapsed, result.days_in_period, result.days_left) == (10, 31, 21)
    assert result.to_date.total == D("36.00")  # 600 × 5 % + 600 × 1 %
    assert result.projected.get("commission").measure == D("1860")
    assert result.projected.total == D("111.60")  # 1,860 × 5 % + 1,860 × 1 %


def test_a_deal_crossing_the_tier_boundary_pays_the_accelerated_rate(world, plan):
    # given Alice at 600 of a 10,000 quota, when she adds a 10,000.00 deal, then she passes 100 % attainment:
    # 10,000 × 5 % + 600 × 10 % = 560.00 (not 500.00 + 30.00), plus 1 % flat on the deal
    period = estimates.payout_period(dt.date(2025, 12, 10))
    deals = estimates.parse_deals([{"product": "SW-1", "amount": "10000.00", "date": "2025-12-20"}], period=period,
                                  today=dt.date(2025, 12, 10))
    result = estimates.estimate(world.people["alice"], today=dt.date(2025, 12, 10), deals=deals)
    commission = result.what_if.get("commission")
    assert commission.amount == D("560.00") and commission.attainment == D("1.0600")
    assert [(d.rule, d.basis, d.rate) for d in commission.details] == [
        ("attainment 0%–100%", D("10000"), D("0.05")), ("attainment 100%+", D("600"), D("0.1"))]
    assert result.gain("commission") == D("530.00") and result.gain("flat") == D("100.00")
    assert result.gain() == D("630.00")
    assert result.to_date.get("commission").top_band == 0 and commission.top_band == 1
    assert result.to_date.total == D("36.00")  # the deals change nothing else


def test_deal_errors_name_the_row_and_the_field(world, plan):
    period = estimates.payout_period(dt.date(2025, 12, 10))
    rows = [{"product": "SW-1", "amount": "100.00"},
            {"product": "NOPE", "amount": "-5", "date": "2026-01-05"},
            {"product": "SW-1", "amount": "1.234", "date": "2025-12-32", "customer": "C-B"},
            {"product": "SW-1", "amount": 12.5}]
    with pytest.raises(estimates.DealsInvalid) as raised:
        estimates.parse_deals(rows, period=period, today=dt.date(2025, 12, 10),
                              customers=world.customers.a.__class__.objects.filter(external_id="C-A"))
    assert [(e.row, e.field) for e in raised.value.errors] == [
        (2, "product"), (2, "amount"), (2, "date"), (3, "amount"), (3, "date"), (3, "customer"), (4, "amount")]
    assert str(raised.value.errors[0]) == "Deal 2, product: There is no active product NOPE."
    assert "between today (2025-12-10) and the period's last day (2025-12-31)" in str(raised.value.errors[2])
    with pytest.raises(estimates.DealsInvalid) as raised:
        estimates.parse_deals([{"product": "SW-1", "amount": "1"}] * 51, period=period, today=dt.date(2025, 12, 10))
    assert [(e.row, e.field) for e in raised.value.errors] == [(0, "deals")]


def test_a_person_without_a_plan_today_gets_a_reason(world, plan):
    with pytest.raises(estimates.EstimateUnavailable) as raised:
        estimates.estimate(world.people["amy"], today=dt.date(2025, 12, 10))
    assert "paid by no compensation plan" in raised.value.reason


# -- pages and API: who sees whose estimate ----------------------------------------------------------------------
PAGE = "/incentives/estimate/"
API = "/api/estimate/"


@pytest.fixture
def december(plan):
    with time_machine.travel(DECEMBER_10, tick=False):
        yield


@pytest.mark.parametrize(("persona", "target", "status"), [
    ("rep_alice", "alice", 200), ("rep_alice", "bob", 404), ("rep_bob", "alice", 404),
    ("manager_carol", "alice", 200), ("manager_carol", "bob", 404), ("manager_erin", "alice", 404),
    ("director_victor", "bob", 200), ("ops_olivia", "bob", 200), ("finance_dan", "alice", 200),
    ("admin_ada", "bob", 200), ("hr_henry", "alice", 403), ("hr_henry", None, 403),
])
def test_each_persona_sees_only_the_estimates_they_may(world, december, client_for, request, persona, target,
                                                        status):
    client = client_for(request.getfixturevalue(persona))
    query = {"person": world.people[target].pk} if target else {}
    assert client.get(PAGE, query).status_code == status
    assert client.get(API, query).status_code == status
    body = {"person": world.people[target].pk if target else None,
            "deals": [{"product": "SW-1", "amount": "100.00"}]}
    assert client.post(API, json.dumps(body), content_type="application/json").status_code == status
    form = {"person": query.get("person", ""), "product": "SW-1", "amount": "100.00", "date": "", "customer": "",
            "action": "calculate"}
    assert client.post(PAGE, form).status_code == status


def test_a_rep_sees_their_own_estimate_and_no_one_else(world, december, client_for, rep_alice):
    assert reverse("incentives:estimate") == PAGE and reverse("api-estimate") == API
    html = client_for(rep_alice).get(PAGE).content.decode()
    assert "李丽" in html and "张伟" not in html and f'name="person" value="{world.people["alice"].pk}"' in html
    assert "36.00" in html  # earned so far
    assert "<select name=\"person\">" not in html  # no chooser for a rep


def test_a_manager_chooses_among_their_team_with_a_plan(world, december, client_for, manager_carol):
    html = client_for(manager_carol).get(PAGE, {"person": world.people["amy"].pk}).content.decode()
    assert "paid by no compensation plan" in html  # Amy is on Carol's team but on no plan: a reason, no error
    options = html.split('<select name="person">')[1].split("</select>")[0]
    assert "李丽" in options and "陈经理" in options and "张伟" not in options


def test_the_what_if_form_answers_with_the_extra_pay(world, december, client_for, rep_alice):
    client = client_for(rep_alice)
    form = {"person": world.people["alice"].pk, "product": ["SW-1", ""], "amount": ["10000.00", ""],
            "date": ["2025-12-20", ""], "customer": ["C-A", ""], "action": "calculate"}
    response = client.post(PAGE, form, headers={"HX-Request": "true", "HX-Target": "whatif"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # htmx gets the what-if section only
    assert "If these deals close you earn ¥630.00 more." in html and "reaches attainment 100% and above" in html
    wrong = client.post(PAGE, form | {"amount": ["abc", ""]}).content.decode()
    assert "Deal 1, amount: abc is not an amount." in wrong
    added = client.post(PAGE, form | {"action": "add"}).content.decode()
    assert added.count('name="amount"') == 3


def test_the_api_returns_the_estimate_and_the_what_if(world, december, client_for, rep_alice):
    client = client_for(rep_alice)
    got = client.get(API).json()
    assert got["period"] == "2025-12" and got["to_date"]["total"] == "36.00" and got["what_if"] is None
    body = {"person": world.people["alice"].pk,
            "deals": [{"product": "SW-1", "amount": "10000.00", "date": "2025-12-20"}]}
    posted = client.post(API, json.dumps(body), content_type="application/json").json()
    assert posted["what_if"]["gain"] == "630.00" and posted["what_if"]["gains"]["commission"] == "530.00"
    assert posted["what_if"]["deals"][0]["line_id"] == "WHAT-IF-1"
    bad = client.post(API, json.dumps({"deals": [{"product": "SW-1", "amount": 10.5}]}),
                      content_type="application/json")
    assert bad.status_code == 400 and bad.json()["deals"][0] | {"message": ""} == {
        "row": 1, "field": "amount", "message": ""}


def test_someone_who_sees_everyone_chooses_a_person_first(world, december, client_for, ops_olivia):
    client = client_for(ops_olivia)
    html = client.get(PAGE).content.decode()
    assert "Choose a person to see their estimate." in html and "张伟" in html  # the chooser lists every payee
    got = client.get(API)
    assert got.status_code == 400 and "person" in got.json()
    assert client.get(PAGE, {"person": "x"}).status_code == 404
    assert client.get(PAGE, {"person": 999999}).status_code == 404
