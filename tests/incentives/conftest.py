"""The comp plan most incentives tests share: ``PLAN`` (10 % flat, rolled up one level) paying Alice, Bob and
their managers Carol and Erin from 2025-01-01 (the persona world of tests/conftest.py); ``assigned_plan`` for a
test's own document; pages answer in English."""

from __future__ import annotations

import datetime as dt

import pytest

from salesops.incentives import services

PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    credit: {roll_up: {levels: 1}}
    rate: {flat: 0.1}
"""


PAID = ("alice", "bob", "carol", "erin")


def assigned_plan(world, actor, document: str, keys=PAID, name: str = "2025 提成"):
    """Store ``document`` as the plan ``name`` and pay the people ``keys`` by it from 2025-01-01."""
    version = services.plan_version_create(actor=actor, name=name, document=document)
    for key in keys:
        services.plan_assign(actor=actor, plan=version.plan, salesperson=world.people[key],
                             start_date=dt.date(2025, 1, 1))
    return version.plan


@pytest.fixture(autouse=True)
def speaks_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def plan(world, ops_olivia):
    return assigned_plan(world, ops_olivia, PLAN)
