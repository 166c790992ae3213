"""/api/customers/ with the customer-relationship fields: status (prospect, active, dormant, lost), source,
preferences and notes — read with the customer (by owner; HR nothing), changed by ops and admins, filtered by
``?status=``."""

from __future__ import annotations

import pytest

from salesops.org.models import Customer
from tests.api.conftest import NOT_ORG_EDITORS, ORG_EDITORS, last_audit, results, statuses

CRM_FIELDS = {"status": "prospect", "source": "展会", "preferences": "喜欢年付；下午联系", "notes": "二期项目在评估"}


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


def test_a_customer_carries_its_status_source_preferences_and_notes(api_as, world):
    body = api_as("alice").get(f"/api/customers/{world.customers.a.pk}/").json()
    assert {k: body[k] for k in CRM_FIELDS} == {"status": "active", "source": "", "preferences": "", "notes": ""}


@pytest.mark.parametrize("persona", ORG_EDITORS)
def test_editors_set_the_new_fields_with_audit_rows(api_as, world, persona):
    client = api_as(persona)
    created = client.post("/api/customers/", {"external_id": "C-C", "name": "丙公司", **CRM_FIELDS}, format="json")
    assert created.status_code == 201, created.content
    assert {k: created.json()[k] for k in CRM_FIELDS} == CRM_FIELDS
    changed = client.patch(f"/api/customers/{world.customers.a.pk}/", {"status": "dormant", "notes": "暂停采购"},
                           format="json")
    assert changed.status_code == 200, changed.content
    assert (last_audit().event, last_audit().old, last_audit().new) == (
        "customer.updated", {"status": "active", "notes": ""}, {"status": "dormant", "notes": "暂停采购"})


def test_only_editors_change_the_new_fields(api_as, world):
    got = statuses(api_as, NOT_ORG_EDITORS, lambda c: [
        c.patch(f"/api/customers/{world.customers.a.pk}/", {"status": "lost"}, format="json")])
    assert got == dict.fromkeys(NOT_ORG_EDITORS, (403,))
    assert Customer.objects.get(pk=world.customers.a.pk).status == "active"


def test_it_refuses_an_unknown_status_naming_it(api_as, world):
    refused = api_as("olivia").patch(f"/api/customers/{world.customers.a.pk}/", {"status": "asleep"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["status"]
    assert Customer.objects.get(pk=world.customers.a.pk).status == "active"


def test_it_filters_customers_by_status(api_as, world):
    api_as("olivia").patch(f"/api/customers/{world.customers.b.pk}/", {"status": "prospect"}, format="json")
    client = api_as("dan")
    assert results(client.get("/api/customers/", {"status": "prospect"}), "external_id") == ["C-B"]
    assert results(client.get("/api/customers/", {"status": "active"}), "external_id") == ["C-A"]
    assert results(api_as("alice").get("/api/customers/", {"status": "prospect"}), "external_id") == []
    refused = client.get("/api/customers/", {"status": "asleep"})
    assert refused.status_code == 400 and "status" in refused.json()
