"""/api/order-lines/: sales transactions with nested credits and payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesops.org import services as org
from salesops.org.models import OrderCredit, OrderLine, SalesMonthly
from tests.api.conftest import (
    NOT_ORG_EDITORS,
    ORG_EDITORS,
    audit_count,
    last_audit,
    results,
    seen_by,
    statuses,
)
from tests.conftest import monthly

ALL = ["S1", "B1", "A1"]  # newest first
VISIBLE = {
    "alice": ["S1", "A1"], "amy": [], "bob": ["S1", "B1"], "carol": ["S1", "A1"], "erin": ["S1", "B1"],
    "victor": ALL, "olivia": ALL, "henry": [], "dan": ALL, "ada": ALL,
}


def snapshot():
    """Everything an order-line write may touch, to prove a refused write left nothing behind."""
    return (
        list(OrderLine.objects.order_by("pk").values_list("pk", "external_id")),
        list(OrderCredit.objects.order_by("pk").values_list("pk", "amount")),
        list(SalesMonthly.objects.order_by("pk").values_list("salesperson_id", "month", "net_amount")),
        audit_count(),
    )


@pytest.fixture
def new_line(world):
    """A valid new line for customer 甲公司, credited 50/50 to Alice and Amy (without credits: add them)."""
    return {"external_id": "N1", "order_no": "SO-N", "date": "2025-11-20", "customer": world.customers.a.pk,
            "product": world.product.pk, "quantity": "2", "unit_price": "999.99", "discount": "0.1", "cost": "800.00",
            "credits": [{"salesperson": world.people["alice"].pk, "split_pct": "50"},
                        {"salesperson": world.people["amy"].pk, "split_pct": "50"}]}


def test_each_persona_lists_exactly_the_lines_they_may_see(api_as):
    assert seen_by(api_as, "/api/order-lines/", "external_id", VISIBLE) == VISIBLE


@pytest.mark.parametrize(("persona", "line"), [("bob", "a"), ("alice", "b"), ("carol", "b"), ("amy", "a"),
                                               ("henry", "s")])
def test_it_hides_other_peoples_lines_as_not_found(api_as, world, persona, line):
    assert api_as(persona).get(f"/api/order-lines/{getattr(world.lines, line).pk}/").status_code == 404


def test_it_shows_a_line_with_money_as_two_place_strings(api_as, world, paid):
    body = api_as("dan").get(f"/api/order-lines/{world.lines.s.pk}/").json()
    assert (body["quantity"], body["unit_price"], body["net_amount"], body["cost"], body["status"]) == (
        "1.000", "1000.00", "1000.00", "400.00", "booked")
    assert body["credits"] == [
        {"salesperson": world.people["alice"].pk, "employee_no": "E101", "split_pct": "60.0000", "amount": "600.00"},
        {"salesperson": world.people["bob"].pk, "employee_no": "E201", "split_pct": "40.0000", "amount": "400.00"},
    ]
    assert [(p["date"], p["amount"]) for p in body["payments"]] == [("2025-12-03", "500.00")]


@pytest.mark.parametrize(("persona", "employee_nos"), [
    ("alice", ["E101"]), ("bob", ["E201"]), ("carol", ["E101"]), ("victor", ["E101", "E201"]),
])
def test_it_shows_only_the_credits_a_persona_may_see_on_a_split_line(api_as, world, persona, employee_nos):
    body = api_as(persona).get(f"/api/order-lines/{world.lines.s.pk}/").json()
    assert [c["employee_no"] for c in body["credits"]] == employee_nos


@pytest.mark.parametrize(("query", "expected"), [
    ("date_from=2025-11-16", ["S1", "B1"]),
    ("date_to=2025-11-16", ["B1", "A1"]),
    ("date_from=2025-11-16&date_to=2025-11-16", ["B1"]),
    ("status=booked", ALL),
    ("status=paid", []),
    ("salesperson={bob}", ["S1", "B1"]),
    ("customer={cust_a}", ["S1", "A1"]),
    ("product={product}", ALL),
    ("product=999999", []),
])
def test_it_filters_lines(api_as, world, query, expected):
    query = query.format(bob=world.people["bob"].pk, cust_a=world.customers.a.pk, product=world.product.pk)
    assert results(api_as("ada").get(f"/api/order-lines/?{query}"), "external_id") == expected


def test_filters_never_widen_what_a_persona_sees(api_as, world):
    # Alice asks for Bob's lines: she gets only the shared one she is credited on.
    assert results(api_as("alice").get(f"/api/order-lines/?salesperson={world.people['bob'].pk}"), "external_id") == ["S1"]


@pytest.mark.parametrize(("query", "param"), [
    ("date_from=2025-11-31", "date_from"), ("date_to=soon", "date_to"),
    ("date_from=2025-12-01&date_to=2025-11-01", "date_to"), ("status=lost", "status"), ("customer=x", "customer"),
])
def test_it_refuses_bad_filters_naming_them(api_as, query, param):
    response = api_as("ada").get(f"/api/order-lines/?{query}")
    assert response.status_code == 400
    assert param in response.json()


def test_listing_lines_costs_the_same_queries_however_many_lines(api_as, world):
    client = api_as("carol")  # a manager: the most expensive visibility rule

    def queries_to_list():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/order-lines/").status_code == 200
        return len(ctx.captured_queries)

    few = queries_to_list()
    for i in range(20):
        org.order_line_create(actor=None, credits=[(world.people["alice"], Decimal(50)), (world.people["amy"], Decimal(50))],
                              external_id=f"X{i}", order_no="SO-X", date=dt.date(2025, 10, 1), customer=world.customers.a,
                              product=world.product, quantity=Decimal(1), unit_price=Decimal("10.00"), cost=Decimal("1.00"))
    assert queries_to_list() == few


def test_pages_are_stable(api_as):
    client = api_as("dan")
    pages = [client.get(f"/api/order-lines/?limit=1&offset={i}").json() for i in range(3)]
    assert [p["count"] for p in pages] == [3, 3, 3]
    assert [p["results"][0]["external_id"] for p in pages] == ALL


@pytest.mark.parametrize("persona", ORG_EDITORS)
def test_editors_create_a_split_line_with_an_audit_row(api_as, world, persona, new_line):
    response = api_as(persona).post("/api/order-lines/", new_line, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    # 2 × 999.99 × 0.9 = 1799.982 → 1799.98 (half up); the credits add up to it exactly.
    assert body["net_amount"] == "1799.98"
    assert [(c["employee_no"], c["amount"]) for c in body["credits"]] == [("E101", "899.99"), ("E102", "899.99")]
    event = last_audit()
    assert (event.event, event.actor, event.subject_id) == ("order_line.created", world.users[persona], str(body["id"]))
    alice_nov = monthly(world.people["alice"], dt.date(2025, 11, 1))
    assert alice_nov.net_amount == Decimal("1899.99")


def test_it_records_a_return_against_its_original(api_as, world):
    response = api_as("olivia").post("/api/order-lines/", {
        "external_id": "A1-R", "order_no": "SO-A", "date": "2025-12-10", "customer": world.customers.a.pk,
        "product": world.product.pk, "quantity": "-1", "unit_price": "1000.00", "cost": "-400.00", "status": "returned",
        "original": world.lines.a.pk, "credits": [{"salesperson": world.people["alice"].pk, "split_pct": "100"}],
    }, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["net_amount"], response.json()["original"]) == ("-1000.00", world.lines.a.pk)


@pytest.mark.parametrize(("changes", "field"), [
    ({"credits": [{"split_pct": "60"}, {"split_pct": "30"}]}, "credits"),  # totals 90
    ({"credits": [{"split_pct": "50"}, {"split_pct": "50", "same_person": True}]}, "credits"),
    ({"credits": []}, "credits"),
    ({"credits": [{"split_pct": "100", "salesperson": 999999}]}, "credits"),
    ({"status": "returned"}, "original"),  # a return that points at no original line
    ({"quantity": "-1"}, "quantity"),  # negative, but not a return
    ({"discount": "1.5"}, "discount"),
    ({"unit_price": "999.999"}, "unit_price"),
    ({"customer": 999999}, "customer"),
    ({"external_id": "A1"}, "external_id"),
    ({"date": "2025-02-29"}, "date"),
])
def test_it_refuses_bad_lines_naming_the_field_and_saves_nothing(api_as, world, new_line, changes, field):
    data = {**new_line, **changes}
    if "credits" in changes:
        people = [world.people["alice"].pk, world.people["amy"].pk]
        data["credits"] = [
            {"salesperson": people[0] if c.get("same_person") else people[i],
             **{k: v for k, v in c.items() if k != "same_person"}}
            for i, c in enumerate(changes["credits"])
        ]
    before = snapshot()
    response = api_as("olivia").post("/api/order-lines/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot() == before


def test_it_refuses_lines_from_non_editors(api_as, new_line):
    before = snapshot()
    codes = statuses(api_as, NOT_ORG_EDITORS, lambda client: [client.post("/api/order-lines/", new_line, format="json")])
    assert codes == dict.fromkeys(NOT_ORG_EDITORS, (403,))
    assert snapshot() == before


def test_lines_are_changed_by_new_lines_not_edits(api_as, world):
    # Returns and cancellations are new lines; there is no service that edits or deletes a line.
    client = api_as("olivia")
    assert client.patch(f"/api/order-lines/{world.lines.a.pk}/", {"cost": "0.00"}).status_code == 405
    assert client.delete(f"/api/order-lines/{world.lines.a.pk}/").status_code == 405
