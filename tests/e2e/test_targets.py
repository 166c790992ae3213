"""Target plans in the browser: ops locks a node inline and the tree re-balances; a rep sees only their node."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from salesops.targets import services as targets
from tests.e2e.conftest import sign_in

D = Decimal


@pytest.fixture
def live_plan(live_world):
    plan = targets.plan_create(actor=live_world.users["olivia"], name="2026 年度目标", fiscal_year=2026,
                               total=D("1000000.00"), seasonality={"source": "flat"}, levels=[
                                   {"dimension": "team", "depth": 1, "method": "equal"},
                                   {"dimension": "salesperson", "method": "historical", "window": 12}])
    targets.plan_allocate(actor=live_world.users["olivia"], plan=plan)
    return plan


def value(page, key):
    return page.get_attribute(f'tr[data-key="{key}"] td.value', "data-value")


def test_ops_locks_a_node_and_the_tree_rebalances(live_world, live_plan, live_server, page, screenshot):
    team_a = f"team:{live_world.teams.a.pk}"
    amy, alice = (f"{team_a}/salesperson:{live_world.people[k].pk}" for k in ("amy", "alice"))
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/targets/{live_plan.pk}/")
    assert value(page, alice) == "500000.00"
    cell = page.locator(f'tr[data-key="{amy}"] input[name=value]')
    cell.fill("100000.00")
    started = time.perf_counter()
    cell.press("Tab")  # the change posts the lock; the table comes back re-balanced
    page.wait_for_function(
        f"document.querySelector('tr[data-key=\"{alice}\"] td.value').dataset.value === '400000.00'")
    print(f"lock → re-balanced table in the browser: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert value(page, amy) == "100000.00" and value(page, team_a) == "500000.00"
    screenshot(page, "targets-ops-zh")
    cell = page.locator(f'tr[data-key="{amy}"] input[name=value]')
    cell.fill("900000.00")
    cell.press("Tab")
    page.wait_for_selector("[data-testid=tree-errors]")
    assert "周敏" in page.text_content("[data-testid=tree-errors]")
    assert value(page, amy) == "100000.00"  # nothing saved


def test_a_rep_sees_only_their_own_target(live_world, live_plan, live_server, page, screenshot):
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/targets/{live_plan.pk}/")
    keys = page.eval_on_selector_all("table.tree-grid tbody tr", "rows => rows.map(r => r.dataset.key)")
    assert keys == [f"team:{live_world.teams.a.pk}/salesperson:{live_world.people['alice'].pk}"]
    assert page.locator("input[name=value]").count() == 0
    screenshot(page, "targets-alice-zh")
