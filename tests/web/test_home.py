"""The home page shows each role the right person's numbers, from the monthly aggregate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from salesops.org import services as org

D = Decimal


@pytest.fixture
def this_month_sales(world):
    """Alice sells 5,000.00 on 2026-11-10 (and 1,000.00 in 2025-11 from the fixture: same month last year)."""
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="A-NOW", order_no="SO-N",
                          date=dt.date(2026, 11, 10), customer=world.customers.a, product=world.product, quantity=D(5),
                          unit_price=D("1000.00"), cost=D("2000.00"))
    org.order_line_create(actor=None, credits=[(world.people["bob"], D(100))], external_id="B-NOW", order_no="SO-BN",
                          date=dt.date(2026, 11, 12), customer=world.customers.b, product=world.product, quantity=D(7),
                          unit_price=D("1000.00"), cost=D("2000.00"))


@time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False)
def test_it_shows_a_rep_their_month_against_last_year(this_month_sales, client_for, rep_alice):
    html = client_for(rep_alice).get("/").content.decode()
    assert 'data-testid="month-sales">¥5,000.00<' in html
    assert 'data-testid="month-last-year">¥1,000.00<' in html
    assert "7,000.00" not in html  # Bob's sale is not hers


@time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False)
def test_it_shows_a_manager_their_team_total_and_ranking(this_month_sales, client_for, manager_carol, manager_erin):
    html = client_for(manager_carol).get("/").content.decode()
    assert 'data-testid="month-sales">¥5,000.00<' in html
    assert "李丽" in html and "张伟" not in html
    html = client_for(manager_erin).get("/").content.decode()
    assert 'data-testid="month-sales">¥7,000.00<' in html


@time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False)
def test_it_shows_ops_the_company_total(this_month_sales, client_for, ops_olivia):
    html = client_for(ops_olivia).get("/").content.decode()
    assert 'data-testid="month-sales">¥12,000.00<' in html


@time_machine.travel(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False)
def test_it_shows_money_in_wan_when_the_company_says_so(this_month_sales, client_for, ops_olivia, world):
    org.company_update(actor=None, company=world.company, display_unit="wan")
    html = client_for(ops_olivia).get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="month-sales">¥1.20万<' in html


def test_it_shows_hr_people_numbers_and_no_sales(world, client_for, hr_henry):
    html = client_for(hr_henry).get("/").content.decode()
    assert 'data-testid="people-cards"' in html
    assert 'data-testid="sales-cards"' not in html


def test_it_sends_anonymous_users_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_remembers_the_language_per_user(world, client_for, rep_alice):
    client = client_for(rep_alice)
    client.post("/language/", {"language": "en", "next": "/"})
    rep_alice.profile.refresh_from_db()
    assert rep_alice.profile.language == "en"
    client.cookies.clear()
    client.force_login(rep_alice)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="en">' in html


def test_it_falls_back_to_the_company_language(world, client):
    from salesops.org import services as org

    org.company_update(actor=None, company=world.company, default_language="en")
    assert '<html lang="en">' in client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()


def test_percentages_round_half_up():
    from decimal import Decimal

    from salesops.web.templatetags.salesops import pct_text

    assert pct_text(Decimal("0.12345")) == "12.3%"
    assert pct_text(Decimal("0.00125"), 2) == "0.13%"  # half-even would give 0.12%
    assert pct_text(None) == "—"
