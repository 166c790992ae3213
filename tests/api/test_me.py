"""/api/me/: the signed-in user and their own sales this month against the same month last year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesops.org import services as org

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def november_2025(world, time_machine):
    """The clock stands on 2025-11-20 (Shanghai); Alice also sold 500.00 in November 2024."""
    time_machine.move_to(dt.datetime(2025, 11, 20, 10, tzinfo=SHANGHAI), tick=False)
    org.order_line_create(actor=None, credits=[(world.people["alice"], Decimal(100))], external_id="A0", order_no="SO-0",
                          date=dt.date(2024, 11, 5), customer=world.customers.a, product=world.product,
                          quantity=Decimal(1), unit_price=Decimal("500.00"), cost=Decimal("200.00"))


def test_it_shows_a_rep_their_own_sales_against_last_year(api_as, world, november_2025):
    body = api_as("alice").get("/api/me/").json()
    assert body == {
        "username": "alice", "role": "rep",
        "salesperson": {"id": world.people["alice"].pk, "employee_no": "E101", "name": "李丽"},
        "month": "2025-11-01", "sales_this_month": "1000.00", "sales_same_month_last_year": "500.00",
    }


def test_it_counts_only_the_credited_share_of_a_split_line(api_as, november_2025, time_machine):
    time_machine.move_to(dt.datetime(2025, 12, 2, 10, tzinfo=SHANGHAI), tick=False)
    # S1 (1000.00, 60/40 Alice/Bob) is the only December line.
    assert api_as("alice").get("/api/me/").json()["sales_this_month"] == "600.00"
    assert api_as("bob").get("/api/me/").json()["sales_this_month"] == "400.00"


def test_it_shows_zero_for_a_month_without_sales(api_as, november_2025):
    body = api_as("amy").get("/api/me/").json()
    assert (body["sales_this_month"], body["sales_same_month_last_year"]) == ("0.00", "0.00")


@pytest.mark.parametrize(("persona", "role"), [("henry", "hr"), ("dan", "finance"), ("olivia", "ops"), ("ada", "admin")])
def test_it_shows_users_who_are_not_salespeople_without_sales(api_as, november_2025, persona, role):
    body = api_as(persona).get("/api/me/").json()
    assert (body["username"], body["role"], body["salesperson"]) == (persona, role, None)
    assert (body["sales_this_month"], body["sales_same_month_last_year"]) == (None, None)


def test_it_shows_a_managers_own_sales_not_their_teams(api_as, november_2025):
    body = api_as("carol").get("/api/me/").json()
    assert (body["role"], body["salesperson"]["employee_no"], body["sales_this_month"]) == ("manager", "E002", "0.00")


def test_it_is_read_only(api_as, world):
    assert api_as("ada").post("/api/me/", {}).status_code == 405
