"""Statements in the browser: a rep finds their statement from the navigation, in Chinese, with every amount
explained; another rep's statement is not there for them."""

from __future__ import annotations

import datetime as dt

import pytest

from salesops.incentives import services
from tests.e2e.conftest import sign_in

PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    name: 销售提成
    quota: {source: fixed, amount: 1000}
    rate: {tiers: {bands: [{from: 0, to: 0.5, rate: 0.05}, {from: 0.5, rate: 0.1}]}}
"""


def live_plan_of(live_world, document: str = PLAN):
    """``document`` stored as the plan 2025 提成, paying Alice and Bob from 2025-01-01."""
    olivia = live_world.users["olivia"]
    version = services.plan_version_create(actor=olivia, name="2025 提成", document=document)
    for key in ("alice", "bob"):
        services.plan_assign(actor=olivia, plan=version.plan, salesperson=live_world.people[key],
                             start_date=dt.date(2025, 1, 1))
    return version.plan


@pytest.fixture
def live_run(live_world):
    return services.run_calculation(actor=live_world.users["olivia"], plan=live_plan_of(live_world),
                                    period_code="2025-12")


def test_a_rep_opens_their_statement_from_the_navigation(live_world, live_run, live_server, page, screenshot):
    sign_in(page, live_server.url, "alice")
    page.click("aside.sidebar >> text=提成对账单")
    rows = page.locator("[data-testid=statements] tbody tr")
    assert rows.count() == 1 and "李丽" in rows.first.text_content()
    rows.first.locator("a").click()
    page.wait_for_selector("[data-testid=statement-total]")
    assert "¥35.00" in page.text_content("[data-testid=statement-total]")  # 500 × 5 % + 100 × 10 %
    details = page.text_content("[data-testid=details-commission]")
    assert "达成率 0%–50%" in details and "舍入前" in details
    screenshot(page, "statement-alice-zh")
    bob = live_world.people["bob"]
    response = page.goto(f"{live_server.url}/incentives/runs/{live_run.pk}/people/{bob.pk}/")
    assert response.status == 404
