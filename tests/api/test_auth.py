"""Authentication: nothing for anonymous callers; tokens from /api/token/; sessions with CSRF protection."""

from __future__ import annotations

import pytest
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from salesops.core.models import AuditEvent
from salesops.org.models import Assignment, Region

ENDPOINTS = ["regions", "product-categories", "customer-segments", "teams", "products", "salespeople", "assignments",
             "customers", "order-lines", "payments", "audit-events"]


def some_id(world, endpoint):
    # Any id will do: an anonymous caller is stopped before the lookup (there is no payment in ``world``).
    return {
        "regions": world.regions.china.pk, "product-categories": world.category.pk,
        "customer-segments": world.segment.pk, "teams": world.teams.root.pk, "products": world.product.pk,
        "salespeople": world.people["alice"].pk, "assignments": Assignment.objects.first().pk,
        "customers": world.customers.a.pk, "order-lines": world.lines.a.pk, "payments": 1,
        "audit-events": AuditEvent.objects.first().pk,
    }[endpoint]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_it_refuses_anonymous_callers_everywhere(anon, world, endpoint):
    before = AuditEvent.objects.count()
    assert anon.get(f"/api/{endpoint}/").status_code in (401, 403)
    assert anon.get(f"/api/{endpoint}/{some_id(world, endpoint)}/").status_code in (401, 403)
    assert anon.post(f"/api/{endpoint}/", {"code": "X", "name": "X"}).status_code in (401, 403)
    assert AuditEvent.objects.count() == before


def test_it_refuses_anonymous_me(anon, world):
    assert anon.get("/api/me/").status_code in (401, 403)


def test_it_refuses_a_bad_token(anon, world):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert anon.get("/api/me/").status_code in (401, 403)


def test_a_token_obtained_with_a_password_signs_in(anon, world):
    response = anon.post("/api/token/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/me/").json()["username"] == "alice"
    # The token carries Alice's visibility, like her session would.
    assert [line["external_id"] for line in client.get("/api/order-lines/").json()["results"]] == ["S1", "A1"]


def test_a_token_needs_no_csrf_token_to_write(world):
    client = APIClient(enforce_csrf_checks=True)
    token = client.post("/api/token/", {"username": "olivia", "password": "pw-olivia"}).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/regions/", {"code": "X", "name": "X"}).status_code == 201


def test_it_refuses_a_token_for_a_wrong_password(anon, world):
    response = anon.post("/api/token/", {"username": "alice", "password": "nope"})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_session_write_needs_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="olivia", password="pw-olivia")
    # Given a signed-in browser session, a write without the CSRF token is refused and saves nothing,
    before = Region.objects.count()
    response = client.post("/api/regions/", {"code": "X", "name": "X"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Region.objects.count() == before
    # and the same write with the cookie and header set succeeds.
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    assert client.post("/api/regions/", {"code": "X", "name": "X"}, HTTP_X_CSRFTOKEN=secret).status_code == 201


def test_a_session_read_needs_no_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="bob", password="pw-bob")
    assert client.get("/api/me/").json()["username"] == "bob"
