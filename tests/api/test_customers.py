"""/api/customers/: sales data, seen by owner; none for HR; changed by ops and admins."""

from __future__ import annotations

import pytest

from salesops.org.models import Customer
from tests.api.conftest import (
    NOT_ORG_EDITORS,
    ORG_EDITORS,
    audit_count,
    last_audit,
    results,
    seen_by,
    statuses,
)

BOTH = ["C-A", "C-B"]
VISIBLE = {
    "alice": ["C-A"], "amy": [], "bob": ["C-B"], "carol": ["C-A"], "erin": ["C-B"], "victor": BOTH,
    "olivia": BOTH, "henry": [], "dan": BOTH, "ada": BOTH,
}


def test_each_persona_lists_exactly_the_customers_they_may_see(api_as):
    # Ordered by name (by code point: 乙公司 before 甲公司); compare as sorted ids.
    seen = seen_by(api_as, "/api/customers/", "external_id", VISIBLE)
    assert {persona: sorted(ids) for persona, ids in seen.items()} == VISIBLE


@pytest.mark.parametrize(("persona", "customer"), [("bob", "a"), ("alice", "b"), ("carol", "b"), ("henry", "a")])
def test_it_hides_other_peoples_customers_as_not_found(api_as, world, persona, customer):
    pk = getattr(world.customers, customer).pk
    assert api_as(persona).get(f"/api/customers/{pk}/").status_code == 404


def test_it_shows_a_customer(api_as, world):
    body = api_as("alice").get(f"/api/customers/{world.customers.a.pk}/").json()
    assert body == {"id": world.customers.a.pk, "external_id": "C-A", "name": "甲公司", "segment": world.segment.pk,
                    "region": world.regions.shanghai.pk, "industry": "", "owner": world.people["alice"].pk,
                    "status": "active", "source": "", "preferences": "", "notes": ""}


def test_it_filters_by_owner_and_region_subtree(api_as, world):
    client = api_as("dan")
    assert results(client.get(f"/api/customers/?owner={world.people['bob'].pk}"), "external_id") == ["C-B"]
    assert results(client.get(f"/api/customers/?region={world.regions.east.pk}"), "external_id") == ["C-A"]
    assert sorted(results(client.get(f"/api/customers/?segment={world.segment.pk}"), "external_id")) == BOTH
    assert "region" in client.get("/api/customers/?region=0").json()


@pytest.mark.parametrize("persona", ORG_EDITORS)
def test_editors_create_and_update_customers_with_audit_rows(api_as, world, persona):
    client = api_as(persona)
    response = client.post("/api/customers/", {"external_id": "C-C", "name": "丙公司", "industry": "制造",
                                               "owner": world.people["amy"].pk, "region": world.regions.east.pk})
    assert response.status_code == 201, response.content
    assert (last_audit().event, last_audit().actor) == ("customer.created", world.users[persona])
    response = client.patch(f"/api/customers/{response.json()['id']}/", {"owner": world.people["alice"].pk})
    assert response.status_code == 200, response.content
    assert (last_audit().event, last_audit().old, last_audit().new) == (
        "customer.updated", {"owner_id": world.people["amy"].pk}, {"owner_id": world.people["alice"].pk})


def test_it_refuses_customer_changes_from_non_editors(api_as, world):
    before = (Customer.objects.count(), audit_count())
    codes = statuses(api_as, NOT_ORG_EDITORS, lambda client: [
        client.post("/api/customers/", {"external_id": "C-C", "name": "丙公司"}),
        client.patch(f"/api/customers/{world.customers.a.pk}/", {"name": "x"}),
    ])
    assert codes == dict.fromkeys(NOT_ORG_EDITORS, (403, 403))
    assert (Customer.objects.count(), audit_count()) == before
    assert Customer.objects.get(pk=world.customers.a.pk).name == "甲公司"


@pytest.mark.parametrize(("changes", "field"), [
    ({"external_id": "C-A"}, "external_id"),
    ({"name": ""}, "name"),
    ({"owner": 999999}, "owner"),
    ({"segment": 999999}, "segment"),
])
def test_it_refuses_bad_customers_naming_the_field(api_as, changes, field):
    before = (Customer.objects.count(), audit_count())
    response = api_as("olivia").post("/api/customers/", {"external_id": "C-C", "name": "丙公司", **changes})
    assert response.status_code == 400
    assert field in response.json()
    assert (Customer.objects.count(), audit_count()) == before
