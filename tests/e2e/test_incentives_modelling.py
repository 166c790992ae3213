"""What-if modelling in the browser: ops compares a draft with the current plan, the three charts are drawn, the
figures are on the page and the per-person table sorts; a rep is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from salesops.incentives import modelling, services
from tests.e2e.conftest import sign_in

PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    quota: {source: fixed, amount: 800}
    rate: {flat: 0.1}
"""


@pytest.fixture
def live_draft(live_world):
    olivia = live_world.users["olivia"]
    version = services.plan_version_create(actor=olivia, name="2025 提成", document=PLAN)
    for key in ("alice", "bob", "carol", "erin"):
        services.plan_assign(actor=olivia, plan=version.plan, salesperson=live_world.people[key],
                             start_date=dt.date(2025, 1, 1))
    return modelling.draft_create(actor=olivia, plan=version.plan, document=PLAN.replace("0.1}", "0.12}"))


def test_ops_compares_a_draft_and_sees_the_charts(live_world, live_draft, live_server, page, screenshot):
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/incentives/modelling/?plan={live_draft.plan_id}&draft={live_draft.pk}"
              f"&start=2025-11&end=2025-12")
    for chart in ("chart-cost", "chart-bands", "chart-lorenz"):
        page.wait_for_selector(f"#{chart} canvas")
        box = page.locator(f"#{chart} canvas").first.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    assert page.text_content("[data-testid=cost-current]").strip() == "¥300.00"
    assert page.text_content("[data-testid=cost-draft]").strip() == "¥360.00"
    assert "10.00% → 12.00%" in page.text_content("[data-testid=cos]")
    assert "2025-11" in page.text_content("[data-testid=comparison-title]")
    assert "2025-12" in page.text_content("[data-testid=comparison-title]")
    # sorting by the change, largest first: Alice (+32) before Bob (+28)
    change = page.locator("[data-testid=people] thead th").nth(4)
    change.click()
    change.click()
    first = page.locator("[data-testid=people] tbody tr").first.text_content()
    assert "李丽" in first
    screenshot(page, "modelling-ops-zh")


def test_a_rep_cannot_open_the_modelling_page(live_world, live_draft, live_server, page):
    sign_in(page, live_server.url, "alice")
    response = page.goto(f"{live_server.url}/incentives/modelling/")
    assert response.status == 403
