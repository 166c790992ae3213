"""Fixtures of the crm tests: the pipeline's stages and a deal of Alice's (see ``tests/conftest.py`` for the
personas: Alice and Amy in Carol's team A, Bob in Erin's team B, Victor over both)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from salesops.crm import services as crm
from salesops.crm.models import Contact, ContactRole

D = Decimal
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def stages(world):
    """Lead 10% → Qualified 25% (expected close) → Proposal 50% (amount, expected close, decision maker) →
    Won 100% / Lost 0% (lost reason)."""
    make = crm.stage_create
    return SimpleNamespace(
        lead=make(actor=None, code="lead", name="Lead", position=10, probability=D(10)),
        qualified=make(actor=None, code="qualified", name="Qualified", position=20, probability=D(25),
                       required_fields=["expected_close"]),
        proposal=make(actor=None, code="proposal", name="Proposal", position=30, probability=D(50),
                      required_fields=["amount", "expected_close", "decision_maker"]),
        won=make(actor=None, code="won", name="Won", position=40, probability=D(100), is_won=True),
        lost=make(actor=None, code="lost", name="Lost", position=50, probability=D(0), is_lost=True,
                  required_fields=["lost_reason"]),
    )


@pytest.fixture
def boss_a(world):
    """The decision maker at 甲公司 (Alice's customer)."""
    return Contact.objects.create(customer=world.customers.a, name="钱总", role=ContactRole.DECISION_MAKER, primary=True)


@pytest.fixture
def deal_a(world, stages):
    """Alice's deal with 甲公司, a lead since T0."""
    return crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"], name="甲公司 CRM",
                                  at=T0)
