"""Helpers for the REST API tests: clients signed in as a persona, and shortcuts to read responses.

Personas are named by their key in ``world.users`` (see tests/conftest.py for who sees what):
alice, amy, bob (reps), carol, erin, victor (managers), olivia (ops), henry (HR), dan (finance), ada (admin).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from salesops.core.models import AuditEvent
from salesops.org import services as org

EVERYONE = ["alice", "amy", "bob", "carol", "erin", "victor", "olivia", "henry", "dan", "ada"]
ORG_EDITORS = ["olivia", "ada"]
NOT_ORG_EDITORS = [k for k in EVERYONE if k not in ORG_EDITORS]
PEOPLE_EDITORS = ["olivia", "ada", "henry"]
NOT_PEOPLE_EDITORS = [k for k in EVERYONE if k not in PEOPLE_EDITORS]


@pytest.fixture
def api_as(world):
    """``api_as("alice")``: an API client with a session signed in as that persona."""

    def make(key: str) -> APIClient:
        client = APIClient()
        client.force_login(world.users[key])
        return client

    return make


@pytest.fixture
def api_as_en(api_as):
    """``api_as``, asking for English messages (requests otherwise get the default language, zh-hans)."""

    def make(key: str) -> APIClient:
        client = api_as(key)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def paid(world):
    """Payments: 300.00 against line A1 (Alice), 1000.00 against B1 (Bob), 500.00 against S1 (split)."""
    return {
        "a": org.payment_create(actor=None, line=world.lines.a, date=dt.date(2025, 12, 1), amount=Decimal("300.00")),
        "b": org.payment_create(actor=None, line=world.lines.b, date=dt.date(2025, 12, 2), amount=Decimal("1000.00")),
        "s": org.payment_create(actor=None, line=world.lines.s, date=dt.date(2025, 12, 3), amount=Decimal("500.00")),
    }


def results(response, key: str = "id") -> list:
    """The ``key`` of every item of a paginated list response, in order."""
    assert response.status_code == 200, response.content
    return [item[key] for item in response.json()["results"]]


def seen_by(api_as, url: str, key: str, personas) -> dict[str, list]:
    """``{persona: [item[key] for each item of url's list]}``; compare with an expected table in one assert."""
    return {persona: results(api_as(persona).get(url), key) for persona in personas}


def statuses(api_as, personas, request) -> dict[str, tuple[int, ...]]:
    """``{persona: status codes}`` of the calls ``request(client)`` makes as each persona."""
    return {persona: tuple(r.status_code for r in request(api_as(persona))) for persona in personas}


def audit_count() -> int:
    return AuditEvent.objects.count()


def last_audit() -> AuditEvent:
    return AuditEvent.objects.order_by("-pk").first()
