"""Each persona signs in through the real login page and sees their own numbers, in both languages."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in


def switch_language(page, code):
    with page.expect_navigation():
        page.select_option("[data-testid=language]", code)


@pytest.mark.parametrize(("username", "month_sales", "present", "absent"), [
    ("alice", "¥5,000.00", [], ["张伟"]),
    ("bob", "¥7,000.00", [], ["李丽"]),
    ("carol", "¥5,000.00", ["李丽"], ["张伟"]),
    ("victor", "¥12,000.00", ["李丽", "张伟"], []),
    ("olivia", "¥12,000.00", ["李丽", "张伟"], []),
    ("dan", "¥12,000.00", ["李丽", "张伟"], []),
    ("ada", "¥12,000.00", ["李丽", "张伟"], []),
])
def test_each_persona_sees_their_own_numbers_in_both_languages(
        live_world, live_server, page, screenshot, username, month_sales, present, absent):
    sign_in(page, live_server.url, username)
    assert page.text_content("[data-testid=month-sales]").strip() == month_sales
    body = page.text_content("main")
    assert "本月" in body
    for name in present:
        assert name in body
    for name in absent:
        assert name not in body
    page.wait_for_function("document.querySelector('#sales-chart canvas') !== null")
    screenshot(page, f"{username}-zh")
    switch_language(page, "en")
    assert "This month" in page.text_content("main")
    assert page.text_content("[data-testid=month-sales]").strip() == month_sales
    screenshot(page, f"{username}-en")
    switch_language(page, "zh-hans")


def test_hr_sees_people_and_no_sales(live_world, live_server, page, screenshot):
    sign_in(page, live_server.url, "henry")
    assert page.locator("[data-testid=people-cards]").count() == 1
    assert page.locator("[data-testid=sales-cards]").count() == 0
    screenshot(page, "henry-zh")


def test_a_rep_cannot_open_another_reps_pages(live_world, live_server, page):
    sign_in(page, live_server.url, "alice")
    for path in (f"/org/people/{live_world.people['bob'].pk}/", f"/org/lines/{live_world.lines.b.pk}/",
                 f"/org/customers/{live_world.customers.b.pk}/"):
        response = page.goto(live_server.url + path)
        assert response.status == 404
        assert "张伟" not in page.content()
    response = page.goto(f"{live_server.url}/org/lines/{live_world.lines.a.pk}/")
    assert response.status == 200
