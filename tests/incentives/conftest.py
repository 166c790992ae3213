"""The comp plan most incentives tests share: ``PLAN`` (10 % flat, rolled up one level) paying Alice, Bob and
their managers Carol and Erin from 2025-01-01 (the persona world of tests/conftest.py)."""

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


@pytest.fixture
def plan(world, ops_olivia):
    version = services.plan_version_create(actor=ops_olivia, name="2025 提成", document=PLAN)
    for key in ("alice", "bob", "carol", "erin"):
        services.plan_assign(actor=ops_olivia, plan=version.plan, salesperson=world.people[key],
                             start_date=dt.date(2025, 1, 1))
    return version.plan
