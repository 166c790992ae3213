"""/api/opportunities/: deals seen by owner (a rep their own, a manager the team's, ops/admin/finance all, HR
nothing), changed by their owner's side only (finance reads), moved through the stages with each missing field
named, their stage history and products.

Deals: Alice's 甲公司 CRM (``deal_a``, a lead since T0) and Bob's 乙公司 ERP (``deal_b``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from salesops.core.models import AuditEvent
from salesops.crm import services as crm
from salesops.crm.models import Contact, Opportunity, OpportunityProduct, StageChange
from salesops.org import services as org
from tests.api.conftest import EVERYONE, audit_count, last_audit, results, statuses
from tests.crm.conftest import T0, boss_a, deal_a, stages  # noqa: F401 - fixtures, used by name

D = Decimal
HOUR = dt.timedelta(hours=1)
WRITERS = ["alice", "carol", "victor", "olivia", "ada"]  # may change Alice's deal
BOTH = sorted(["甲公司 CRM", "乙公司 ERP"])
VISIBLE = {
    "alice": ["甲公司 CRM"], "amy": [], "bob": ["乙公司 ERP"], "carol": ["甲公司 CRM"], "erin": ["乙公司 ERP"],
    "victor": BOTH, "olivia": BOTH, "dan": BOTH, "ada": BOTH,
}


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


@pytest.fixture
def deal_b(world, stages):  # noqa: F811 - the fixture imported above
    return crm.opportunity_create(actor=None, customer=world.customers.b, owner=world.people["bob"], name="乙公司 ERP",
                                  at=T0 + HOUR)


def url(deal, action: str = "") -> str:
    return f"/api/opportunities/{deal.pk}/" + (f"{action}/" if action else "")


def snapshot(deal) -> tuple:
    deal = Opportunity.objects.get(pk=deal.pk)
    return (deal.stage_id, deal.amount, deal.expected_close, deal.name, StageChange.objects.filter(
        opportunity=deal).count(), OpportunityProduct.objects.filter(opportunity=deal).count(), audit_count())


# -- reading ----------------------------------------------------------------------------------------------


def test_each_persona_lists_exactly_the_deals_they_may_see(api_as, deal_a, deal_b):  # noqa: F811
    seen = {p: sorted(results(api_as(p).get("/api/opportunities/"), "name")) for p in VISIBLE}
    assert seen == {p: sorted(names) for p, names in VISIBLE.items()}
    assert api_as("henry").get("/api/opportunities/").status_code == 403


def test_it_hides_other_peoples_deals_as_not_found(api_as, deal_a, deal_b):  # noqa: F811
    got = statuses(api_as, EVERYONE, lambda c: [c.get(url(deal_a)), c.get(url(deal_a, "history")),
                                                c.get(url(deal_a, "products"))])
    assert got == {
        "alice": (200,) * 3, "amy": (404,) * 3, "bob": (404,) * 3, "carol": (200,) * 3, "erin": (404,) * 3,
        "victor": (200,) * 3, "olivia": (200,) * 3, "henry": (403,) * 3, "dan": (200,) * 3, "ada": (200,) * 3}
    assert api_as("olivia").get("/api/opportunities/999999/").status_code == 404


def test_anonymous_callers_see_no_deal(anon, deal_a):  # noqa: F811
    assert anon.get("/api/opportunities/").status_code in (401, 403)
    assert anon.get(url(deal_a)).status_code in (401, 403)


def test_it_shows_a_deal_with_its_stage_and_money_as_a_decimal_string(api_as, world, deal_a, stages, boss_a):  # noqa: F811
    crm.opportunity_update(actor=None, opportunity=deal_a, amount=D("120000.50"), decision_maker=boss_a,
                           products=[(world.product, D(3))])
    body = api_as("carol").get(url(deal_a)).json()
    assert body == {
        "id": deal_a.pk, "external_id": None, "name": "甲公司 CRM", "customer": world.customers.a.pk,
        "customer_name": "甲公司", "owner": world.people["alice"].pk, "owner_name": "李丽",
        "stage": stages.lead.pk, "stage_name": "Lead", "probability": "10.00", "status": "open",
        "amount": "120000.50", "expected_close": None, "decision_maker": boss_a.pk, "source": "", "competitor": "",
        "lost_reason": "", "products": [{"product": world.product.pk, "sku": "SW-1", "product_name": "CRM 套件",
                                         "quantity": "3.000"}],
        "created_on": "2026-03-02", "closed_on": None, "stage_entered_at": "2026-03-02T17:00:00+08:00"}


def test_it_filters_deals_and_pages_them(api_as, world, deal_a, deal_b, stages):  # noqa: F811
    crm.opportunity_move(actor=None, opportunity=deal_b, stage=stages.qualified, at=T0 + 2 * HOUR,
                         expected_close=dt.date(2026, 6, 30))
    client = api_as("dan")

    def names(**params):
        return sorted(results(client.get("/api/opportunities/", params), "name"))

    assert names(status="open") == BOTH and names(status="won") == []
    assert names(stage=stages.qualified.pk) == ["乙公司 ERP"]
    assert names(owner=world.people["alice"].pk) == ["甲公司 CRM"]
    assert names(customer=world.customers.b.pk) == ["乙公司 ERP"]
    assert names(created_from="2026-03-02", created_to="2026-03-02") == BOTH
    assert names(created_from="2026-03-03") == []
    assert names(close_from="2026-06-01", close_to="2026-06-30") == ["乙公司 ERP"]
    page = client.get("/api/opportunities/", {"limit": 1, "offset": 1}).json()
    assert (page["count"], [d["name"] for d in page["results"]]) == (2, ["甲公司 CRM"])  # newest first
    for params, field in [({"status": "closed"}, "status"), ({"stage": "x"}, "stage"),
                          ({"created_from": "2026-13-01"}, "created_from"),
                          ({"close_from": "2026-07-01", "close_to": "2026-06-01"}, "close_to")]:
        refused = client.get("/api/opportunities/", params)
        assert refused.status_code == 400 and field in refused.json(), params


def test_the_schema_documents_the_deal_filters(client, db):
    params = {p["name"] for p in client.get("/api/schema/?format=json").json()["paths"]["/api/opportunities/"]["get"][
        "parameters"]}
    assert {"status", "stage", "owner", "customer", "created_from", "created_to", "close_from", "close_to", "limit",
            "offset"} <= params


# -- creating and changing --------------------------------------------------------------------------------


def test_a_rep_creates_her_own_deal_in_the_first_stage_with_history_and_audit(api_as, world, stages, rep_alice):  # noqa: F811
    response = api_as("alice").post("/api/opportunities/", {
        "name": "甲公司 扩容", "customer": world.customers.a.pk, "amount": "5000.00",
        "products": [{"product": world.product.pk, "quantity": "2"}]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["owner"], body["stage"], body["status"], body["amount"]) == (
        world.people["alice"].pk, stages.lead.pk, "open", "5000.00")
    assert [(p["sku"], p["quantity"]) for p in body["products"]] == [("SW-1", "2.000")]
    assert list(StageChange.objects.filter(opportunity_id=body["id"]).values_list(
        "from_stage", "to_stage", "actor")) == [(None, stages.lead.pk, rep_alice.pk)]
    assert (last_audit().event, last_audit().actor) == ("opportunity.created", rep_alice)


@pytest.mark.parametrize(("persona", "owner"), [("carol", "alice"), ("victor", "bob"), ("olivia", "amy"),
                                                 ("ada", "alice")])
def test_managers_ops_and_admins_create_deals_for_people_they_see(api_as, world, stages, persona, owner):  # noqa: F811
    customer = world.customers.b if owner == "bob" else world.customers.a
    response = api_as(persona).post("/api/opportunities/", {
        "name": "新商机", "customer": customer.pk, "owner": world.people[owner].pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["owner"] == world.people[owner].pk


def test_it_refuses_deal_creation_from_finance_hr_and_for_what_the_user_cannot_see(api_as, world, stages):  # noqa: F811
    before = (Opportunity.objects.count(), audit_count())
    body = {"name": "x", "customer": world.customers.a.pk, "owner": world.people["alice"].pk}
    assert statuses(api_as, ["dan", "henry"], lambda c: [c.post("/api/opportunities/", body, format="json")]) == {
        "dan": (403,), "henry": (403,)}
    # Bob names Alice's customer or Alice as owner: the ids he may not see do not exist for him.
    for persona, field in [("bob", "customer"), ("bob", "owner"), ("erin", "customer")]:
        refused = api_as(persona).post("/api/opportunities/", body, format="json")
        assert refused.status_code == 400 and field in refused.json(), (persona, field)
    assert (Opportunity.objects.count(), audit_count()) == before


def test_a_user_who_is_no_salesperson_names_the_owner(api_as, world, stages):  # noqa: F811
    refused = api_as("olivia").post("/api/opportunities/", {"name": "x", "customer": world.customers.a.pk},
                                    format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["owner"]


@pytest.mark.parametrize(("changes", "fields"), [
    ({"amount": "-1.00"}, ["amount"]),
    ({"amount": "1.005"}, ["amount"]),
    ({"name": ""}, ["name"]),
    ({"expected_close": "2026-03-01"}, ["expected_close"]),  # before the deal was created
    ({"stage": "proposal"}, ["amount", "decision_maker", "expected_close"]),  # created straight into a stage
    ({"products": [{"product": "sw", "quantity": "0"}]}, ["products"]),
    ({"products": [{"product": "sw"}, {"product": "sw"}]}, ["products"]),
    ({"customer": None}, ["customer"]),
])
def test_it_refuses_bad_deals_naming_each_field_and_saves_nothing(api_as, world, stages, changes, fields):  # noqa: F811
    if changes.get("stage"):
        changes["stage"] = getattr(stages, changes["stage"]).pk
    for item in changes.get("products", []):
        item["product"] = world.product.pk
    before = (Opportunity.objects.count(), StageChange.objects.count(), audit_count())
    refused = api_as("alice").post("/api/opportunities/", {
        "name": "x", "customer": world.customers.a.pk, **changes}, format="json")
    assert refused.status_code == 400
    assert sorted(refused.json()) == fields
    assert (Opportunity.objects.count(), StageChange.objects.count(), audit_count()) == before


def test_each_persona_may_change_only_the_deals_of_their_side(api_as, deal_a):  # noqa: F811
    got = statuses(api_as, EVERYONE, lambda c: [c.patch(url(deal_a), {"competitor": "友商"}, format="json")])
    assert got == {"alice": (200,), "amy": (404,), "bob": (404,), "carol": (200,), "erin": (404,), "victor": (200,),
                   "olivia": (200,), "henry": (403,), "dan": (403,), "ada": (200,)}


def test_an_update_is_audited_and_replaces_the_products(api_as, world, deal_a, rep_alice):  # noqa: F811
    response = api_as("alice").patch(url(deal_a), {"amount": "800.00", "products": [
        {"product": world.product.pk, "quantity": "4"}]}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["amount"], response.json()["products"][0]["quantity"]) == ("800.00", "4.000")
    assert (last_audit().event, last_audit().actor, last_audit().new) == (
        "opportunity.updated", rep_alice, {"amount": "800.00"})


def test_an_update_does_not_move_the_stage_or_the_customer(api_as, world, deal_a, stages):  # noqa: F811
    before = snapshot(deal_a)
    client = api_as("alice")
    moved = client.patch(url(deal_a), {"stage": stages.won.pk, "name": "renamed"}, format="json")
    assert moved.status_code == 400 and list(moved.json()) == ["stage"] and "move" in moved.json()["stage"][0]
    other = client.patch(url(deal_a), {"customer": world.customers.b.pk}, format="json")  # not hers either
    assert other.status_code == 400 and list(other.json()) == ["customer"]
    assert snapshot(deal_a) == before
    # the same values as before are no change, so they pass
    assert client.patch(url(deal_a), {"stage": stages.lead.pk, "customer": world.customers.a.pk},
                        format="json").status_code == 200


def test_the_required_fields_of_the_current_stage_cannot_be_cleared(api_as, deal_a, stages):  # noqa: F811
    crm.opportunity_move(actor=None, opportunity=deal_a, stage=stages.qualified, at=T0 + HOUR,
                         expected_close=dt.date(2026, 4, 30))
    refused = api_as("alice").patch(url(deal_a), {"expected_close": None}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["expected_close"]
    assert Opportunity.objects.get(pk=deal_a.pk).expected_close == dt.date(2026, 4, 30)


def test_a_deal_is_never_deleted(api_as, deal_a):  # noqa: F811
    assert api_as("olivia").delete(url(deal_a)).status_code == 405
    assert Opportunity.objects.filter(pk=deal_a.pk).exists()


# -- moving -----------------------------------------------------------------------------------------------


def test_a_move_without_the_required_fields_names_each_and_saves_nothing(api_as, deal_a, stages):  # noqa: F811
    before = snapshot(deal_a)
    refused = api_as("alice").post(url(deal_a, "move"), {"stage": stages.proposal.pk, "amount": "5000.00"},
                                   format="json")
    assert refused.status_code == 400
    assert refused.json() == {"decision_maker": ["Stage Proposal needs decision maker."],
                              "expected_close": ["Stage Proposal needs expected close date."]}
    assert snapshot(deal_a) == before  # not even the amount it was given


def test_a_won_deal_needs_an_amount_and_a_lost_one_its_reason(api_as, deal_a, stages):  # noqa: F811
    client = api_as("alice")
    assert client.post(url(deal_a, "move"), {"stage": stages.won.pk}, format="json").json() == {
        "amount": ["Stage Won needs amount."]}
    assert list(client.post(url(deal_a, "move"), {"stage": stages.lost.pk}, format="json").json()) == [
        "lost_reason"]
    assert Opportunity.objects.get(pk=deal_a.pk).status == "open"
    won = client.post(url(deal_a, "move"), {"stage": stages.won.pk, "amount": "8000.00"}, format="json")
    assert won.status_code == 200, won.content
    assert (won.json()["status"], won.json()["amount"], won.json()["closed_on"] is not None) == ("won", "8000.00", True)


def test_a_move_records_time_and_actor_in_the_history(api_as, deal_a, stages, boss_a, rep_alice, manager_carol):  # noqa: F811
    with time_machine.travel(T0 + HOUR, tick=False):
        first = api_as("alice").post(url(deal_a, "move"), {"stage": stages.qualified.pk,
                                                           "expected_close": "2026-04-30"}, format="json")
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        second = api_as("carol").post(url(deal_a, "move"), {
            "stage": stages.proposal.pk, "amount": "120000.00", "decision_maker": boss_a.pk}, format="json")
    assert (first.status_code, second.status_code) == (200, 200), (first.content, second.content)
    assert (second.json()["stage_name"], second.json()["stage_entered_at"]) == ("Proposal", "2026-03-02T19:00:00+08:00")
    history = api_as("victor").get(url(deal_a, "history")).json()
    assert [(h["from_stage_name"], h["to_stage_name"], h["changed_at"], h["actor"]) for h in history] == [
        (None, "Lead", "2026-03-02T17:00:00+08:00", None),
        ("Lead", "Qualified", "2026-03-02T18:00:00+08:00", "alice"),
        ("Qualified", "Proposal", "2026-03-02T19:00:00+08:00", "carol"),
    ]
    assert history[1]["from_stage"] == stages.lead.pk and history[1]["imported"] is False
    assert AuditEvent.objects.filter(event="opportunity.moved", subject_id=str(deal_a.pk)).count() == 2


def test_each_persona_may_move_only_the_deals_of_their_side(api_as, deal_a, stages):  # noqa: F811
    def move(client):
        response = client.post(url(deal_a, "move"), {"stage": stages.lost.pk, "lost_reason": "价格"}, format="json")
        if response.status_code == 200:  # back, for the next persona
            crm.opportunity_move(actor=None, opportunity=deal_a, stage=stages.lead)
        return [response]

    assert statuses(api_as, EVERYONE, move) == {
        "alice": (200,), "amy": (404,), "bob": (404,), "carol": (200,), "erin": (404,), "victor": (200,),
        "olivia": (200,), "henry": (403,), "dan": (403,), "ada": (200,)}


@pytest.mark.parametrize(("body", "field"), [
    ({}, "stage"),
    ({"stage": 999999}, "stage"),
    ({"stage": "lead"}, "stage"),  # already there
    ({"stage": "qualified", "expected_close": "2026-02-01"}, "expected_close"),  # before the deal was created
    ({"stage": "won", "amount": "-5.00"}, "amount"),
    ({"stage": "proposal", "amount": "1", "expected_close": "2026-04-01", "decision_maker": "stranger"},
     "decision_maker"),
])
def test_a_bad_move_is_refused_naming_the_field(api_as, world, deal_a, stages, body, field):  # noqa: F811
    stranger = Contact.objects.create(customer=world.customers.b, name="孙经理")
    body = dict(body)
    if isinstance(body.get("stage"), str):
        body["stage"] = getattr(stages, body["stage"]).pk
    if body.get("decision_maker") == "stranger":
        body["decision_maker"] = stranger.pk
    before = snapshot(deal_a)
    for persona in ("alice", "olivia"):  # the contact of Bob's customer: not Alice's to name, not 甲公司's for ops
        refused = api_as(persona).post(url(deal_a, "move"), body, format="json")
        assert refused.status_code == 400 and field in refused.json(), (persona, refused.json())
    assert snapshot(deal_a) == before


def test_a_retired_stage_takes_no_deal(api_as, deal_a, stages, ops_olivia):  # noqa: F811
    crm.stage_update(actor=ops_olivia, stage=stages.qualified, active=False)
    refused = api_as("alice").post(url(deal_a, "move"), {"stage": stages.qualified.pk,
                                                         "expected_close": "2026-04-30"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["stage"]


# -- products ---------------------------------------------------------------------------------------------


def test_the_products_of_a_deal_are_read_and_replaced(api_as, world, deal_a):  # noqa: F811
    second = org.product_create(actor=None, sku="SVC-1", name="实施服务", category=world.category,
                                list_price=D("500.00"), standard_cost=D("100.00"), unit="天")
    client = api_as("carol")
    assert client.get(url(deal_a, "products")).json() == []
    put = client.put(url(deal_a, "products"), {"products": [{"product": world.product.pk, "quantity": "2"},
                                                            {"product": second.pk}]}, format="json")
    assert put.status_code == 200, put.content
    assert [(p["sku"], p["quantity"]) for p in put.json()] == [("SW-1", "2.000"), ("SVC-1", "1.000")]
    assert put.json() == api_as("dan").get(url(deal_a, "products")).json()
    assert client.put(url(deal_a, "products"), {"products": []}, format="json").json() == []


def test_only_the_deals_side_changes_its_products(api_as, world, deal_a):  # noqa: F811
    body = {"products": [{"product": world.product.pk, "quantity": "1"}]}
    assert statuses(api_as, EVERYONE, lambda c: [c.put(url(deal_a, "products"), body, format="json")]) == {
        "alice": (200,), "amy": (404,), "bob": (404,), "carol": (200,), "erin": (404,), "victor": (200,),
        "olivia": (200,), "henry": (403,), "dan": (403,), "ada": (200,)}


@pytest.mark.parametrize("products", [
    [{"quantity": "1"}],
    [{"product": 999999}],
    [{"product": "sw", "quantity": "-1"}],
    [{"product": "sw"}, {"product": "sw", "quantity": "2"}],
])
def test_bad_products_are_refused_and_nothing_is_kept(api_as, world, deal_a, products):  # noqa: F811
    crm.opportunity_update(actor=None, opportunity=deal_a, products=[(world.product, D(5))])
    products = [{**p, "product": world.product.pk} if p.get("product") == "sw" else p for p in products]
    refused = api_as("alice").put(url(deal_a, "products"), {"products": products}, format="json")
    assert refused.status_code == 400 and "products" in refused.json()
    assert list(OpportunityProduct.objects.filter(opportunity=deal_a).values_list("quantity", flat=True)) == [D(5)]


def test_a_stage_that_requires_products_keeps_them(api_as, world, deal_a, stages, ops_olivia):  # noqa: F811
    crm.stage_update(actor=ops_olivia, stage=stages.lead, required_fields=["products"])
    crm.opportunity_update(actor=None, opportunity=deal_a, products=[(world.product, D(1))])
    refused = api_as("alice").put(url(deal_a, "products"), {"products": []}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["products"]
    assert OpportunityProduct.objects.filter(opportunity=deal_a).count() == 1
