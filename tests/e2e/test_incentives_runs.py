"""Runs and the people around them, in the browser: ops starts a run from the page and sees it calculated and
reviews it; the rep walks from the amount down to the order lines and raises a question on the line."""

from __future__ import annotations

import pytest

from salesops.incentives.models import CalculationRun, Dispute
from tests.e2e.conftest import sign_in
from tests.e2e.test_incentives import live_plan_of


@pytest.fixture
def live_plan(live_world):
    return live_plan_of(live_world)


def test_ops_starts_and_reviews_a_run_then_the_rep_asks_why(live_world, live_plan, live_server, page, screenshot):
    sign_in(page, live_server.url, "olivia")
    page.click("aside.sidebar >> text=计算批次")
    page.select_option("[data-testid=run-form] select[name=plan]", str(live_plan.pk))
    page.fill("[data-testid=run-form] input[name=period]", "2025-12")
    page.click("[data-testid=run-form] button[type=submit]")
    page.wait_for_selector("[data-testid=run-payouts]")
    assert page.text_content("[data-testid=run-status]").strip() == "已计算"
    assert "¥55.00" in page.text_content("[data-testid=run-total]")  # Alice 35 + Bob 20
    assert page.locator("[data-testid=run-progress] progress").get_attribute("value") == "100"
    screenshot(page, "run-calculated-zh")
    page.click("[data-testid=run-actions] >> text=标记为已复核")
    page.wait_for_selector("[data-testid=run-status]:has-text('已复核')")
    run = CalculationRun.objects.get()

    page.context.clear_cookies()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/incentives/runs/{run.pk}/people/{live_world.people['alice'].pk}/")
    page.click("[data-testid=why-commission]")
    lines = page.text_content("[data-testid=why-lines]")
    assert "S1" in lines and "甲公司" in lines and "600" in page.text_content("[data-testid=why-total-credit]")
    screenshot(page, "why-alice-zh")
    page.go_back()
    page.click("[data-testid=dispute-commission] summary")
    page.fill("[data-testid=dispute-commission] textarea", "S1 应该是我 70%。")
    page.click("[data-testid=dispute-commission] button[type=submit]")
    page.wait_for_selector("[data-testid=dispute-thread]")
    assert "S1 应该是我 70%。" in page.text_content("[data-testid=dispute-thread]")
    assert Dispute.objects.get().status == "open"
