"""/api/products/: reference data readable by everyone, changed by ops and admins."""

from __future__ import annotations

import pytest

from salesops.org.models import Product
from tests.api.conftest import (
    EVERYONE,
    NOT_ORG_EDITORS,
    ORG_EDITORS,
    audit_count,
    last_audit,
    results,
    seen_by,
    statuses,
)


def test_it_shows_products_to_every_signed_in_user(api_as):
    assert seen_by(api_as, "/api/products/", "sku", EVERYONE) == dict.fromkeys(EVERYONE, ["SW-1"])


def test_it_serialises_money_as_two_place_strings(api_as, world):
    body = api_as("alice").get(f"/api/products/{world.product.pk}/").json()
    assert (body["list_price"], body["standard_cost"], body["margin_rate"]) == ("1000.00", "400.00", "0.6000")


def test_it_filters_by_category_subtree_and_active(api_as, world):
    client = api_as("olivia")
    sub = client.post("/api/product-categories/", {"code": "SW-CRM", "name": "CRM", "parent": world.category.pk}).json()
    response = client.post("/api/products/", {"sku": "SW-2", "name": "x", "category": sub["id"], "list_price": "1.00",
                                              "standard_cost": "0.50", "unit": "套", "active": False}, format="json")
    assert response.status_code == 201, response.content
    assert results(client.get(f"/api/products/?category={world.category.pk}"), "sku") == ["SW-1", "SW-2"]
    assert results(client.get(f"/api/products/?category={sub['id']}"), "sku") == ["SW-2"]
    assert results(client.get("/api/products/?active=true"), "sku") == ["SW-1"]
    assert client.get("/api/products/?active=maybe").json().keys() == {"active"}


@pytest.mark.parametrize("persona", ORG_EDITORS)
def test_editors_create_and_update_products_with_audit_rows(api_as, world, persona):
    client = api_as(persona)
    response = client.post("/api/products/", {"sku": "SW-9", "name": "BI 套件", "category": world.category.pk,
                                              "list_price": "2999.90", "standard_cost": "1000", "unit": "套"})
    assert response.status_code == 201, response.content
    assert (response.json()["list_price"], response.json()["standard_cost"]) == ("2999.90", "1000.00")
    assert (last_audit().event, last_audit().actor) == ("product.created", world.users[persona])
    response = client.patch(f"/api/products/{response.json()['id']}/", {"list_price": "3100.00"})
    assert response.status_code == 200, response.content
    event = last_audit()
    assert (event.event, event.old, event.new) == ("product.updated", {"list_price": "2999.90"}, {"list_price": "3100.00"})


def test_it_refuses_product_changes_from_non_editors(api_as, world):
    before = (Product.objects.count(), audit_count())
    codes = statuses(api_as, NOT_ORG_EDITORS, lambda client: [
        client.post("/api/products/", {"sku": "X", "name": "X", "category": world.category.pk, "list_price": "1.00",
                                       "standard_cost": "1.00", "unit": "套"}),
        client.patch(f"/api/products/{world.product.pk}/", {"list_price": "1.00"}),
    ])
    assert codes == dict.fromkeys(NOT_ORG_EDITORS, (403, 403))
    assert (Product.objects.count(), audit_count()) == before
    assert Product.objects.get(pk=world.product.pk).list_price == world.product.list_price


@pytest.mark.parametrize(("field", "value"), [
    ("list_price", "12.345"),  # more than two places: refused, never silently rounded
    ("list_price", "abc"),
    ("category", 999999),
    ("sku", "SW-1"),  # already used
])
def test_it_refuses_bad_products_naming_the_field(api_as, world, field, value):
    data = {"sku": "SW-2", "name": "x", "category": world.category.pk, "list_price": "1.00", "standard_cost": "0.50",
            "unit": "套"}
    before = (Product.objects.count(), audit_count())
    response = api_as("olivia").post("/api/products/", {**data, field: value})
    assert response.status_code == 400
    assert field in response.json()
    assert (Product.objects.count(), audit_count()) == before


def test_products_cannot_be_deleted_through_the_api(api_as, world):
    # No service deletes products (they are deactivated with ``active``), so the API offers no DELETE.
    assert api_as("ada").delete(f"/api/products/{world.product.pk}/").status_code == 405
