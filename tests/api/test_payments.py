"""/api/payments/: money received against order lines; visible with the line."""

from __future__ import annotations

import pytest

from salesops.org.models import Payment
from tests.api.conftest import (
    NOT_ORG_EDITORS,
    ORG_EDITORS,
    audit_count,
    last_audit,
    results,
    seen_by,
    statuses,
)

ALL = ["A1", "B1", "S1"]  # by payment date
VISIBLE = {
    "alice": ["A1", "S1"], "amy": [], "bob": ["B1", "S1"], "carol": ["A1", "S1"], "erin": ["B1", "S1"],
    "victor": ALL, "olivia": ALL, "henry": [], "dan": ALL, "ada": ALL,
}


def state():
    return list(Payment.objects.order_by("pk").values_list("pk", "amount")), audit_count()


def test_each_persona_lists_exactly_the_payments_they_may_see(api_as, paid):
    assert seen_by(api_as, "/api/payments/", "line_external_id", VISIBLE) == VISIBLE


@pytest.mark.parametrize(("persona", "payment"), [("bob", "a"), ("alice", "b"), ("carol", "b"), ("henry", "s")])
def test_it_hides_other_peoples_payments_as_not_found(api_as, paid, persona, payment):
    assert api_as(persona).get(f"/api/payments/{paid[payment].pk}/").status_code == 404


def test_it_shows_a_payment(api_as, world, paid):
    body = api_as("alice").get(f"/api/payments/{paid['a'].pk}/").json()
    assert body == {"id": paid["a"].pk, "line": world.lines.a.pk, "line_external_id": "A1", "date": "2025-12-01",
                    "amount": "300.00", "external_id": None}


def test_it_filters_by_line_and_dates(api_as, world, paid):
    client = api_as("dan")
    assert results(client.get(f"/api/payments/?line={world.lines.b.pk}"), "line_external_id") == ["B1"]
    assert results(client.get("/api/payments/?date_from=2025-12-02&date_to=2025-12-02"), "line_external_id") == ["B1"]
    assert "date_from" in client.get("/api/payments/?date_from=12/02").json()


@pytest.mark.parametrize("persona", ORG_EDITORS)
def test_editors_record_a_partial_payment_with_an_audit_row(api_as, world, paid, persona):
    response = api_as(persona).post("/api/payments/", {"line": world.lines.a.pk, "date": "2025-12-20",
                                                       "amount": "700.00", "external_id": "BANK-1"})
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "700.00"
    assert (last_audit().event, last_audit().actor) == ("payment.created", world.users[persona])
    line = api_as(persona).get(f"/api/order-lines/{world.lines.a.pk}/").json()
    assert [p["amount"] for p in line["payments"]] == ["300.00", "700.00"]


def test_it_refuses_payments_from_non_editors(api_as, world, paid):
    before = state()
    codes = statuses(api_as, NOT_ORG_EDITORS, lambda client: [
        client.post("/api/payments/", {"line": world.lines.a.pk, "date": "2025-12-20", "amount": "1.00"})])
    assert codes == dict.fromkeys(NOT_ORG_EDITORS, (403,))
    assert state() == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "700.01"}, "amount"),  # 300 already paid: would exceed the line's 1000
    ({"amount": "0.00"}, "amount"),
    ({"amount": "-5.00"}, "amount"),
    ({"amount": "1.005"}, "amount"),
    ({"line": 999999}, "line"),
    ({"date": ""}, "date"),
])
def test_it_refuses_bad_payments_naming_the_field(api_as, world, paid, changes, field):
    before = state()
    response = api_as("olivia").post("/api/payments/", {"line": world.lines.a.pk, "date": "2025-12-20", "amount": "1.00",
                                                        **changes})
    assert response.status_code == 400
    assert field in response.json()
    assert state() == before


def test_two_payments_may_both_leave_the_external_id_empty(api_as, world):
    client = api_as("olivia")
    for _ in range(2):
        response = client.post("/api/payments/", {"line": world.lines.b.pk, "date": "2025-12-20", "amount": "1.00",
                                                  "external_id": ""})
        assert response.status_code == 201, response.content
        assert response.json()["external_id"] is None
