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


def test_a_big_tree_shows_a_window_of_rows_and_edits_still_rebalance(live_world, live_plan, live_server, page):
    # a plan with more open rows than the window limit displays only the rows around the view; spacer rows keep
    # the scroll height. The limit and the margin are lowered on this small plan to exercise it.
    team_a = f"team:{live_world.teams.a.pk}"
    amy, alice = (f"{team_a}/salesperson:{live_world.people[k].pk}" for k in ("amy", "alice"))
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/targets/{live_plan.pk}/")
    rows = page.eval_on_selector_all("table.tree-grid tr[data-key]", "rows => rows.length")
    page.evaluate("""() => {
        const grid = document.querySelector('table.tree-grid');
        grid.setAttribute('data-window-from', '2');
        grid.setAttribute('data-window-overscan', '1');
        document.querySelector('.tree-wrap').style.maxHeight = '200px';
        document.querySelector('[data-expand-all]').click();  // re-applies the open state
    }""")
    shown = "() => [...document.querySelectorAll('table.tree-grid tr[data-key]')].filter(r => !r.hidden).length"
    assert page.evaluate("() => document.querySelector('table.tree-grid').classList.contains('windowed')")
    assert 0 < page.evaluate(shown) < rows
    height = page.evaluate("() => document.querySelector('.tree-wrap').scrollHeight")
    page.evaluate("() => { const w = document.querySelector('.tree-wrap'); w.scrollTop = w.scrollHeight; }")
    last = page.eval_on_selector_all("table.tree-grid tr[data-key]", "rows => rows[rows.length - 1].dataset.key")
    page.wait_for_function(f"!document.querySelector('tr[data-key=\"{last}\"]').hidden")
    assert page.evaluate("() => document.querySelector('.tree-wrap').scrollHeight") == height  # spacers are exact
    assert page.evaluate("() => document.querySelector('table.tree-grid tr[data-key]').hidden")  # the total
    page.evaluate("() => { document.querySelector('.tree-wrap').scrollTop = 0; }")
    page.wait_for_function(f"!document.querySelector('tr[data-key=\"{amy}\"]').hidden")
    cell = page.locator(f'tr[data-key="{amy}"] input[name=value]')
    cell.fill("100000.00")
    cell.press("Tab")
    page.wait_for_function(  # the edit posts from the windowed table and its sibling re-balances
        f"document.querySelector('tr[data-key=\"{alice}\"] td.value').dataset.value === '400000.00'")
    assert 0 < page.evaluate(shown) < rows
