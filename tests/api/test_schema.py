"""/api/schema/ (OpenAPI) and /api/docs/ (Swagger UI served from local static files, never a CDN)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from rest_framework import mixins

from salesops.api_urls import router

ENDPOINTS = ["regions", "product-categories", "customer-segments", "teams", "products", "salespeople", "assignments",
             "customers", "order-lines", "payments", "me", "audit-events", "target-plans", "payouts", "runs",
             "adjustments", "disputes", "estimate", "modelling"]


def test_the_schema_generates_and_validates_without_a_warning(tmp_path, db):
    GENERATOR_STATS.reset()
    out = tmp_path / "schema.yaml"
    # --fail-on-warn raises on any warning or error the generator reports; --validate checks it is valid OpenAPI.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    for endpoint in ENDPOINTS:
        assert f"/api/{endpoint}/" in schema["paths"]
    assert "/api/token/" in schema["paths"]


def test_the_schema_describes_money_as_decimal_strings(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    for component, field in [("OrderLine", "net_amount"), ("Product", "list_price"), ("Payment", "amount"),
                             ("OrderCredit", "amount"), ("Me", "sales_this_month")]:
        assert (schemas[component]["properties"][field]["type"], schemas[component]["properties"][field]["format"]) == (
            "string", "decimal")


def test_the_schema_documents_the_filters(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    def params(path):
        return {p["name"] for p in paths[path]["get"]["parameters"]}

    assert {"on", "team", "salesperson"} <= params("/api/assignments/")
    assert {"date_from", "date_to", "status", "salesperson", "customer", "product", "limit", "offset"} <= params(
        "/api/order-lines/")
    assert "root" in params("/api/teams/")
    # /api/me/ is one object, not a page of them.
    assert paths["/api/me/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Me"}


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])


def test_the_docs_page_loads_its_assets_from_local_static_files(api_as, client):
    response = api_as("alice").get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    parser = _Assets()
    parser.feed(page)
    assert len(parser.urls) >= 3  # stylesheet, Swagger UI bundle, standalone preset
    for url in parser.urls:
        assert not url.startswith(("http://", "https://", "//")), url
        assert "/drf_spectacular_sidecar/" in url, url
        # and each is actually served by this application.
        assert client.get(url).status_code == 200, url
    assert "/api/schema/" in page


@pytest.mark.parametrize("prefix, viewset, basename", router.registry)
def test_no_viewset_writes_around_the_services(prefix, viewset, basename):
    # DRF's own perform_create/perform_update call serializer.save(), bypassing services and the audit log.
    if issubclass(viewset, mixins.CreateModelMixin):
        assert viewset.perform_create is not mixins.CreateModelMixin.perform_create, prefix
    if issubclass(viewset, mixins.UpdateModelMixin):
        assert viewset.perform_update is not mixins.UpdateModelMixin.perform_update, prefix
    if issubclass(viewset, mixins.DestroyModelMixin):
        assert viewset.perform_destroy is not mixins.DestroyModelMixin.perform_destroy, prefix
