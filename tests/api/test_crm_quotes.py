"""/api/quotes/ and /api/pending-approvals/: quotes seen by owner (a rep their own, a manager the team's,
ops/admin/finance all, HR nothing), made and moved through draft → submitted → approved/rejected → sent →
accepted/declined by their owner's side (finance reads), a discount above the owner's limit (the company's: 10 %)
decided by a manager over the owner, ops or admin — never the owner; the customer's copy as PDF and Excel.

Quotes (made at T0, SW-1 lists at ¥1,000.00): Alice's to 甲公司 (``quote_a``) and Bob's to 乙公司 (``quote_b``),
2 × SW-1 at 5 % off, within the limit; ``pending`` makes one at 20 % off and submits it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine

from salesops.core.models import AuditEvent
from salesops.crm import quotes as q
from salesops.crm.models import Quote, QuoteApproval, QuoteStatus
from salesops.org.models import OrderCredit, OrderLine
from tests.api.conftest import EVERYONE, audit_count, last_audit, results, statuses
from tests.crm.conftest import T0, deal_a, stages  # noqa: F401 - fixtures, used by name

D = Decimal
HOUR = dt.timedelta(hours=1)
BOTH = ["Q-2026-000001", "Q-2026-000002"]
VISIBLE = {
    "alice": ["Q-2026-000001"], "amy": [], "bob": ["Q-2026-000002"], "carol": ["Q-2026-000001"],
    "erin": ["Q-2026-000002"], "victor": BOTH, "olivia": BOTH, "dan": BOTH, "ada": BOTH,
}
READ_A = {"alice": 200, "amy": 404, "bob": 404, "carol": 200, "erin": 404, "victor": 200, "olivia": 200,
          "henry": 403, "dan": 200, "ada": 200}
CHANGE_A = {**READ_A, "dan": 403}  # the owner's side changes it; finance only reads


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


def make_quote(world, owner="alice", discount="0.05", at=T0, **kwargs) -> Quote:
    customer = world.customers.b if owner == "bob" else world.customers.a
    return q.quote_create(actor=None, customer=customer, owner=world.people[owner],
                          lines=[(world.product, D(2), D(discount))], at=at, **kwargs)


@pytest.fixture
def quote_a(world):
    return make_quote(world, "alice")


@pytest.fixture
def quote_b(world, quote_a):
    return make_quote(world, "bob", at=T0 + HOUR)


@pytest.fixture
def pending(world):
    """``pending("alice")``: a quote of that person's at 20 % off, submitted and waiting for their manager."""

    def make(owner: str = "alice") -> Quote:
        return q.quote_submit(actor=None, quote=make_quote(world, owner, discount="0.2"), at=T0 + HOUR)

    return make


def url(quote, action: str = "") -> str:
    return f"/api/quotes/{quote.pk}/" + (f"{action}/" if action else "")


def state(quote) -> tuple:
    quote = Quote.objects.get(pk=quote.pk)
    return (quote.status, list(quote.lines.values_list("quantity", "discount", "net_amount")),
            quote.approvals.count(), audit_count())


# -- reading ----------------------------------------------------------------------------------------------


def test_each_persona_lists_exactly_the_quotes_they_may_see(api_as, quote_a, quote_b):
    assert {p: sorted(results(api_as(p).get("/api/quotes/"), "number")) for p in VISIBLE} == VISIBLE
    assert api_as("henry").get("/api/quotes/").status_code == 403


def test_it_hides_other_peoples_quotes_as_not_found(api_as, quote_a):
    got = statuses(api_as, EVERYONE, lambda c: [c.get(url(quote_a)), c.get(url(quote_a, "pdf")),
                                                c.get(url(quote_a, "xlsx"))])
    assert got == {p: (code,) * 3 for p, code in READ_A.items()}
    assert api_as("olivia").get("/api/quotes/999999/").status_code == 404


def test_anonymous_callers_see_no_quote(anon, quote_a):
    assert anon.get("/api/quotes/").status_code in (401, 403)
    assert anon.get(url(quote_a, "pdf")).status_code in (401, 403)


def test_it_shows_a_quote_with_its_lines_totals_and_what_the_user_may_do(api_as, world, quote_a):
    body = api_as("alice").get(url(quote_a)).json()
    assert body == {
        "id": quote_a.pk, "number": "Q-2026-000001", "customer": world.customers.a.pk, "customer_name": "甲公司",
        "opportunity": None, "owner": world.people["alice"].pk, "owner_name": "李丽", "status": "draft",
        "language": "zh-hans", "valid_until": None, "notes": "",
        "lines": [{"id": quote_a.lines.get().pk, "product": world.product.pk, "sku": "SW-1",
                   "product_name": "CRM 套件", "quantity": "2.000", "discount": "0.0500", "list_price": "1000.00",
                   "net_amount": "1900.00"}],
        "totals": {"gross": "2000.00", "discount": "100.00", "net": "1900.00"}, "approvals": [],
        "actions": ["edit", "submit"], "created_at": "2026-03-02T17:00:00+08:00", "submitted_at": None,
        "sent_at": None, "answered_at": None, "order_no": ""}
    assert api_as("dan").get(url(quote_a)).json()["actions"] == []


def test_it_filters_quotes_and_pages_them(api_as, world, quote_a, quote_b, deal_a, pending):  # noqa: F811
    q.quote_update(actor=None, quote=quote_a, opportunity=deal_a)
    waiting = pending("alice")
    client = api_as("dan")

    def numbers(**params):
        return sorted(results(client.get("/api/quotes/", params), "number"))

    assert numbers(status="pending") == [waiting.number]
    assert numbers(status="draft") == BOTH
    assert numbers(owner=world.people["bob"].pk) == ["Q-2026-000002"]
    assert numbers(customer=world.customers.a.pk) == ["Q-2026-000001", waiting.number]
    assert numbers(opportunity=deal_a.pk) == ["Q-2026-000001"]
    assert numbers(created_from="2026-03-02", created_to="2026-03-02") == [*BOTH, waiting.number]
    assert numbers(created_from="2026-03-03") == []
    page = client.get("/api/quotes/", {"limit": 2}).json()
    assert (page["count"], len(page["results"])) == (3, 2)
    for params, field in [({"status": "open"}, "status"), ({"owner": "x"}, "owner"),
                          ({"created_from": "03/02/2026"}, "created_from")]:
        refused = client.get("/api/quotes/", params)
        assert refused.status_code == 400 and field in refused.json(), params


# -- making and changing ----------------------------------------------------------------------------------


def test_a_rep_makes_her_own_quote_priced_at_list_price_less_discount(api_as, world, rep_alice):
    with time_machine.travel(T0, tick=False):
        response = api_as("alice").post("/api/quotes/", {
            "customer": world.customers.a.pk, "valid_until": "2026-03-31", "notes": "含一年维护",
            "lines": [{"product": world.product.pk, "quantity": "3", "discount": "0.1"},
                      {"product": world.product.pk, "quantity": "1", "price": "800.00"}]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["number"], body["status"], body["owner"], body["language"]) == (
        "Q-2026-000001", "draft", world.people["alice"].pk, "zh-hans")
    assert [(ln["list_price"], ln["discount"], ln["net_amount"]) for ln in body["lines"]] == [
        ("1000.00", "0.1000", "2700.00"), ("800.00", "0.0000", "800.00")]
    assert body["totals"] == {"gross": "3800.00", "discount": "300.00", "net": "3500.00"}
    assert (last_audit().event, last_audit().actor) == ("quote.created", rep_alice)


def test_each_persona_makes_quotes_only_for_their_side(api_as, world):
    def make(client):
        return [client.post("/api/quotes/", {"customer": world.customers.a.pk, "owner": world.people["alice"].pk,
                                             "lines": [{"product": world.product.pk, "quantity": "1"}]},
                            format="json")]

    # a customer or owner one may not see does not exist for them: 400 naming it
    assert statuses(api_as, EVERYONE, make) == {
        p: (201,) if code == 200 else (403,) if code == 403 else (400,) for p, code in CHANGE_A.items()}
    refused = api_as("bob").post("/api/quotes/", {"customer": world.customers.a.pk, "lines": [
        {"product": world.product.pk, "quantity": "1"}]}, format="json")
    assert list(refused.json()) == ["customer"]


def test_bad_lines_are_refused_each_at_its_index_and_nothing_is_saved(api_as, world):
    before = (Quote.objects.count(), audit_count())
    refused = api_as("alice").post("/api/quotes/", {"customer": world.customers.a.pk, "lines": [
        {"product": world.product.pk, "quantity": "1", "discount": "0.1"},
        {"product": world.product.pk, "quantity": "1", "discount": "1.2"},
        {"product": world.product.pk, "quantity": "1", "price": "-5.00"},
        {"product": world.product.pk, "quantity": "0"},
        {"product": world.product.pk, "quantity": "1"},
    ]}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"lines": [
        {}, {"discount": ["Line 2: the discount 120% is more than 100%."]},
        {"price": ["Line 3: the price -5.00 is negative."]},
        {"quantity": ["Line 4: the quantity must be more than 0."]}, {}]}
    assert (Quote.objects.count(), audit_count()) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"lines": []}, "lines"),
    ({"lines": [{"quantity": "1"}]}, "lines"),
    ({"lines": [{"product": 999999, "quantity": "1"}]}, "lines"),
    ({"lines": [{"product": "sw", "quantity": "many"}]}, "lines"),
    ({"customer": None}, "customer"),
    ({"valid_until": "2026-03-01"}, "valid_until"),  # before the day it is made
    ({"language": "fr"}, "language"),
    ({"opportunity": "bob's"}, "opportunity"),
])
def test_a_bad_quote_is_refused_naming_the_field(api_as, world, stages, body, field):  # noqa: F811
    from salesops.crm import services as crm

    body = dict(body)
    for line in body.get("lines", []):
        if line.get("product") == "sw":
            line["product"] = world.product.pk
    if body.get("opportunity") == "bob's":
        body["opportunity"] = crm.opportunity_create(actor=None, customer=world.customers.b,
                                                     owner=world.people["bob"], name="x").pk
    before = (Quote.objects.count(), audit_count())
    with time_machine.travel(T0, tick=False):
        refused = api_as("alice").post("/api/quotes/", {
            "customer": world.customers.a.pk, "lines": [{"product": world.product.pk, "quantity": "1"}], **body},
            format="json")
    assert refused.status_code == 400 and list(refused.json()) == [field], refused.json()
    assert (Quote.objects.count(), audit_count()) == before


def test_a_draft_is_changed_and_its_lines_replaced(api_as, world, quote_a, rep_alice):
    response = api_as("alice").patch(url(quote_a), {"notes": "新备注", "language": "en", "lines": [
        {"product": world.product.pk, "quantity": "1", "discount": "0"}]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["notes"], body["language"], body["totals"]["net"]) == ("新备注", "en", "1000.00")
    assert (last_audit().event, last_audit().actor) == ("quote.updated", rep_alice)


def test_each_persona_changes_only_the_quotes_of_their_side(api_as, quote_a):
    got = statuses(api_as, EVERYONE, lambda c: [c.patch(url(quote_a), {"notes": "x"}, format="json")])
    assert got == {p: (code,) for p, code in CHANGE_A.items()}


def test_a_quote_keeps_its_customer_and_owner(api_as, world, quote_a):
    client = api_as("olivia")
    assert list(client.patch(url(quote_a), {"customer": world.customers.b.pk}, format="json").json()) == ["customer"]
    assert list(client.patch(url(quote_a), {"owner": world.people["amy"].pk}, format="json").json()) == ["owner"]
    quote = Quote.objects.get(pk=quote_a.pk)
    assert (quote.customer, quote.owner) == (world.customers.a, world.people["alice"])


def test_the_lines_of_a_submitted_quote_no_longer_change(api_as, world, quote_a):
    q.quote_submit(actor=None, quote=quote_a, at=T0 + HOUR)
    before = state(quote_a)
    refused = api_as("alice").patch(url(quote_a), {"lines": [{"product": world.product.pk, "quantity": "9"}]},
                                    format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["status"]
    assert state(quote_a) == before


def test_a_quote_is_never_deleted(api_as, quote_a):
    assert api_as("olivia").delete(url(quote_a)).status_code == 405


# -- the approval path ------------------------------------------------------------------------------------


def test_a_discount_within_the_limit_is_approved_at_once(api_as, quote_a):
    response = api_as("alice").post(url(quote_a, "submit"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["actions"]) == ("approved", ["send"])
    [approval] = body["approvals"]
    assert (approval["automatic"], approval["approved"], approval["max_discount"], approval["limit"],
            approval["approver"]) == (True, True, "0.0500", "0.1000", None)


def test_a_discount_over_the_limit_waits_for_the_owners_manager(api_as, world, quote_a):
    q.quote_update(actor=None, quote=quote_a, lines=[(world.product, D(2), D("0.2"))])
    body = api_as("alice").post(url(quote_a, "submit")).json()
    assert (body["status"], body["actions"]) == ("pending", [])
    [approval] = body["approvals"]
    assert (approval["automatic"], approval["approved"], approval["approver_name"], approval["max_discount"]) == (
        False, None, "陈经理", "0.2000")
    assert api_as("carol").get(url(quote_a)).json()["actions"] == ["approve", "reject"]


def test_each_persona_submits_only_the_quotes_of_their_side(api_as, world):
    def submit(client):
        return [client.post(url(make_quote(world), "submit"))]

    assert statuses(api_as, EVERYONE, submit) == {p: (code,) for p, code in CHANGE_A.items()}


@pytest.mark.parametrize(("persona", "code"), [
    ("alice", 403),  # the owner never decides her own discount
    ("amy", 404), ("bob", 404), ("erin", 404),  # not theirs to see
    ("henry", 403), ("dan", 403),  # HR sees no sales data; finance only reads
    ("carol", 200), ("victor", 200), ("olivia", 200), ("ada", 200),
])
def test_only_the_owners_manager_ops_or_admin_decide_a_discount(api_as, pending, persona, code):
    quote = pending("alice")
    before = state(quote)
    response = api_as(persona).post(url(quote, "decide"), {"approve": True}, format="json")
    assert response.status_code == code, response.content
    if code == 200:
        assert response.json()["status"] == "approved"
        assert response.json()["approvals"][-1]["decided_by"] == persona
    else:
        assert state(quote) == before


def test_a_manager_never_decides_their_own_quote(api_as, pending):
    quote = pending("carol")  # waits for Victor, who heads Carol's team's parent
    assert api_as("carol").post(url(quote, "decide"), {"approve": True}, format="json").status_code == 403
    assert api_as("victor").post(url(quote, "decide"), {"approve": True}, format="json").status_code == 200


def test_a_rejection_says_why_and_the_quote_goes_back_to_its_owner(api_as, world, pending, manager_carol):
    quote = pending("alice")
    refused = api_as("carol").post(url(quote, "decide"), {"approve": False, "comment": " "}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["comment"]
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING
    assert list(api_as("carol").post(url(quote, "decide"), {}, format="json").json()) == ["approve"]
    rejected = api_as("carol").post(url(quote, "decide"), {"approve": False, "comment": "折扣太大"}, format="json")
    assert rejected.status_code == 200, rejected.content
    approval = rejected.json()["approvals"][-1]
    assert (rejected.json()["status"], approval["approved"], approval["comment"], approval["decided_by"]) == (
        "rejected", False, "折扣太大", "carol")
    assert (last_audit().event, last_audit().actor) == ("quote.rejected", manager_carol)
    # Alice lowers the discount and submits again: within the limit now, approved at once.
    alice = api_as("alice")
    assert alice.get(url(quote)).json()["actions"] == ["edit", "submit"]
    assert alice.patch(url(quote), {"lines": [{"product": world.product.pk, "quantity": "2", "discount": "0.1"}]},
                       format="json").json()["status"] == "draft"
    assert alice.post(url(quote, "submit")).json()["status"] == "approved"


def test_only_a_waiting_quote_is_decided(api_as, quote_a):
    refused = api_as("olivia").post(url(quote_a, "decide"), {"approve": True}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["status"]


# -- sending and the answer -------------------------------------------------------------------------------


def test_an_approved_quote_is_sent_and_accepted_into_order_lines(api_as, world, quote_a, rep_alice):
    client = api_as("alice")
    client.post(url(quote_a, "submit"))
    sent = client.post(url(quote_a, "send"))
    assert sent.status_code == 200 and (sent.json()["status"], sent.json()["actions"]) == ("sent", ["accept",
                                                                                                    "decline"])
    accepted = client.post(url(quote_a, "accept"))
    assert accepted.status_code == 200, accepted.content
    assert (accepted.json()["status"], accepted.json()["order_no"]) == ("accepted", "Q-2026-000001")
    line = OrderLine.objects.get(external_id="Q-2026-000001-1")
    assert (line.order_no, line.net_amount, line.customer) == ("Q-2026-000001", D("1900.00"), world.customers.a)
    assert list(OrderCredit.objects.filter(line=line).values_list("salesperson", "split_pct")) == [
        (world.people["alice"].pk, D(100))]
    assert AuditEvent.objects.filter(event="quote.accepted", actor=rep_alice).exists()


def test_a_declined_quote_makes_no_order(api_as, quote_a):
    client = api_as("carol")
    client.post(url(quote_a, "submit"))
    client.post(url(quote_a, "send"))
    declined = client.post(url(quote_a, "decline"))
    assert (declined.status_code, declined.json()["status"], declined.json()["answered_at"] is not None) == (
        200, "declined", True)
    assert not OrderLine.objects.filter(order_no=quote_a.number).exists()


def test_each_persona_sends_and_answers_only_the_quotes_of_their_side(api_as, world):
    def send_and_accept(client):
        quote = q.quote_submit(actor=None, quote=make_quote(world), at=T0 + HOUR)
        sent = client.post(url(quote, "send"))
        if sent.status_code != 200:
            q.quote_send(actor=None, quote=quote)
        return [sent, client.post(url(quote, "accept"))]

    assert statuses(api_as, EVERYONE, send_and_accept) == {p: (code, code) for p, code in CHANGE_A.items()}


@pytest.mark.parametrize(("step", "status"), [("send", "draft"), ("accept", "draft"), ("decline", "approved"),
                                               ("submit", "approved")])
def test_a_step_out_of_turn_is_refused(api_as, quote_a, step, status):
    if status == "approved":
        q.quote_submit(actor=None, quote=quote_a, at=T0 + HOUR)
    before = state(quote_a)
    refused = api_as("alice").post(url(quote_a, step))
    assert refused.status_code == 400 and list(refused.json()) == ["status"], refused.json()
    assert state(quote_a) == before


def test_an_expired_quote_is_not_sent(api_as, world):
    quote = q.quote_submit(actor=None, quote=make_quote(world, valid_until=dt.date(2026, 3, 31)), at=T0 + HOUR)
    with time_machine.travel(dt.datetime(2026, 4, 2, tzinfo=dt.UTC), tick=False):
        refused = api_as("alice").post(url(quote, "send"))
    assert refused.status_code == 400 and list(refused.json()) == ["valid_until"]


# -- documents --------------------------------------------------------------------------------------------


def test_the_customers_copy_comes_as_pdf_and_excel(api_as, quote_a):
    client = api_as("dan")
    pdf = client.get(url(quote_a, "pdf"))
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF") and 'filename="Q-2026-000001.pdf"' in pdf["Content-Disposition"]
    assert client.get(url(quote_a, "pdf")).content == pdf.content  # the same bytes for the same quote
    xlsx = client.get(url(quote_a, "xlsx"))
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True)
             for c in row if c is not None]
    assert "Q-2026-000001" in cells and "SW-1" in cells


# -- pending approvals ------------------------------------------------------------------------------------


def test_each_persona_sees_the_discounts_waiting_for_their_decision(api_as, world, pending):
    a, b = pending("alice"), pending("bob")
    waiting = {"alice": [], "amy": [], "bob": [], "carol": [a.number], "erin": [b.number],
               "victor": [a.number, b.number], "olivia": [a.number, b.number], "dan": [], "ada": [a.number, b.number]}
    assert {p: results(api_as(p).get("/api/pending-approvals/"), "number") for p in waiting} == waiting
    assert api_as("henry").get("/api/pending-approvals/").status_code == 403
    [item] = api_as("carol").get("/api/pending-approvals/").json()["results"]
    approval = QuoteApproval.objects.get(quote=a)
    assert item == {"id": approval.pk, "quote": a.pk, "number": a.number, "customer": world.customers.a.pk,
                    "customer_name": "甲公司", "owner": world.people["alice"].pk, "owner_name": "李丽",
                    "max_discount": "0.2000", "limit": "0.1000", "approver": world.people["carol"].pk,
                    "approver_name": "陈经理", "requested_at": "2026-03-02T18:00:00+08:00", "net": "1600.00"}
    # decided, it leaves the list
    api_as("carol").post(url(a, "decide"), {"approve": True}, format="json")
    assert results(api_as("victor").get("/api/pending-approvals/"), "number") == [b.number]


def test_the_schema_documents_the_crm_endpoints_and_their_filters(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/stages/", "/api/stages/reorder/", "/api/contacts/", "/api/opportunities/",
                 "/api/opportunities/{id}/move/", "/api/opportunities/{id}/history/",
                 "/api/opportunities/{id}/products/", "/api/activities/", "/api/activities/{id}/done/",
                 "/api/quotes/", "/api/quotes/{id}/submit/", "/api/quotes/{id}/decide/", "/api/quotes/{id}/send/",
                 "/api/quotes/{id}/accept/", "/api/quotes/{id}/decline/", "/api/quotes/{id}/pdf/",
                 "/api/quotes/{id}/xlsx/", "/api/pending-approvals/"):
        assert path in paths, path
    assert {"status", "owner", "customer", "opportunity", "created_from", "created_to", "limit"} <= {
        p["name"] for p in paths["/api/quotes/"]["get"]["parameters"]}
    assert {"overdue", "owner", "due_from", "done"} <= {p["name"] for p in paths["/api/activities/"]["get"]["parameters"]}
    assert "application/pdf" in paths["/api/quotes/{id}/pdf/"]["get"]["responses"]["200"]["content"]
