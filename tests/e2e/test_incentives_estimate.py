"""The live estimate in the browser: a rep sees what they have earned so far this month, types a deal that would
take them past quota, and the page (htmx, no reload) shows how much more they would earn — the accelerated rate
included — with attainment against the tiers drawn by ECharts."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.e2e.test_incentives import live_plan_of

PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    name: 销售提成
    quota: {source: fixed, amount: 10000}
    rate: {tiers: {bands: [{from: 0, to: 1.0, rate: 0.05}, {from: 1.0, rate: 0.1}]}}
"""


@pytest.fixture
def live_plan(live_world):
    return live_plan_of(live_world, PLAN)


def test_a_rep_adds_a_deal_and_sees_what_it_would_pay(live_world, live_plan, live_server, page, screenshot):
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/incentives/estimate/")
    # today Alice has sold 5,000.00 of a 10,000 quota: 5 %
    assert "¥250.00" in page.text_content("[data-testid=estimate-total]")
    assert page.locator("select[name=person]").count() == 0
    page.click("button[value=add]")  # htmx swaps the what-if section: a second row, no reload
    page.wait_for_selector("[data-testid=deals] tbody tr[data-row='2']")
    first = page.locator("[data-testid=deals] tbody tr[data-row='1']")
    first.locator("select[name=product]").select_option("SW-1")
    first.locator("input[name=amount]").fill("10000.00")
    page.click("[data-testid=whatif-calculate]")
    page.wait_for_selector("[data-testid=whatif-gain]")
    # 10,000 × 5 % + 5,000 × 10 % = 1,000.00 with the deal: 750.00 more than the 250.00 so far
    assert "¥750.00" in page.text_content("[data-testid=whatif-gain]")
    assert "¥750.00" in page.text_content("[data-testid=whatif-gain-commission]")
    assert page.locator("[data-testid=whatif-crossed-commission]").count() == 1
    page.wait_for_selector("#chart-commission canvas")
    screenshot(page, "estimate-alice-what-if")
    page.locator("[data-testid=deals] tbody tr[data-row='1'] input[name=amount]").fill("-1")
    page.click("[data-testid=whatif-calculate]")
    page.wait_for_selector("[data-testid=whatif-errors]")
    assert "1" in page.text_content("[data-testid=whatif-errors]")
    bob = live_world.people["bob"]
    assert page.goto(f"{live_server.url}/incentives/estimate/?person={bob.pk}").status == 404
