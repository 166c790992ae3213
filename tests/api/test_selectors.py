"""org.selectors: the read queries the API (and other views) share.

(They live in ``salesops.org``; the tests sit here with the API that introduced them.)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.org import selectors
from salesops.org import services as org
from salesops.org.access import visible_to
from salesops.org.models import Assignment, Region

NOV_15 = dt.date(2025, 11, 15)
DEC_15 = dt.date(2025, 12, 15)


@pytest.fixture
def transfer(world):
    """Alice moves from team A (Carol) to team B (Erin) on 2025-12-01."""
    return org.assignment_transfer(actor=None, salesperson=world.people["alice"], team=world.teams.b,
                                   on=dt.date(2025, 12, 1), manager=world.people["erin"])


def employee_nos(qs):
    return [getattr(row, "employee_no", None) or row.salesperson.employee_no for row in qs]


def test_assignments_on_a_day_say_who_was_where_under_whom(world, transfer):
    nov = {a.salesperson.employee_no: (a.team.code, a.manager and a.manager.employee_no) for a in
           selectors.assignments_on(NOV_15)}
    dec = {a.salesperson.employee_no: (a.team.code, a.manager and a.manager.employee_no) for a in
           selectors.assignments_on(DEC_15)}
    assert nov["E101"] == ("T-A", "E002")
    assert dec["E101"] == ("T-B", "E003")
    assert len(nov) == len(dec) == 6


def test_assignments_on_a_day_narrow_to_a_team_or_its_subtree(world, transfer):
    assert employee_nos(selectors.assignments_on(DEC_15, team=world.teams.a)) == ["E002", "E102"]
    assert employee_nos(selectors.assignments_on(DEC_15, team=world.teams.root)) == ["E001"]
    assert len(selectors.assignments_on(DEC_15, team=world.teams.root, subtree=True)) == 6


def test_assignments_on_a_day_respect_a_visible_queryset(world, rep_bob):
    assert employee_nos(selectors.assignments_on(NOV_15, queryset=visible_to(rep_bob, Assignment))) == ["E201"]


def test_assignment_on_finds_the_one_in_effect(world, transfer):
    alice = world.people["alice"]
    assert selectors.assignment_on(alice, NOV_15).team == world.teams.a
    assert selectors.assignment_on(alice, DEC_15).team == world.teams.b
    assert selectors.assignment_on(alice, dt.date(2023, 12, 31)) is None


def test_assignment_history_is_oldest_first(world, transfer):
    history = selectors.assignment_history(world.people["alice"])
    assert [(a.team.code, a.start_date, a.end_date) for a in history] == [
        ("T-A", dt.date(2024, 1, 1), dt.date(2025, 11, 30)), ("T-B", dt.date(2025, 12, 1), None)]


def test_team_members_on_a_day(world, transfer):
    assert employee_nos(selectors.team_members_on(world.teams.b, NOV_15)) == ["E003", "E201"]
    assert employee_nos(selectors.team_members_on(world.teams.b, DEC_15)) == ["E003", "E101", "E201"]
    assert employee_nos(selectors.team_members_on(world.teams.root, DEC_15, subtree=False)) == ["E001"]
    assert len(selectors.team_members_on(world.teams.root, DEC_15)) == 6


def test_tree_subtree(world):
    assert [n.code for n in selectors.tree_subtree(world.regions.east)] == ["CN-E", "CN-E-SH"]
    assert [n.code for n in selectors.tree_subtree(world.regions.east, include_root=False)] == ["CN-E-SH"]
    assert selectors.tree_subtree(world.regions.china).count() == Region.objects.count()


def test_sales_vs_last_year_reads_the_monthly_aggregate(world):
    org.order_line_create(actor=None, credits=[(world.people["bob"], Decimal(100))], external_id="B0", order_no="SO-0",
                          date=dt.date(2024, 12, 31), customer=world.customers.b, product=world.product,
                          quantity=Decimal(1), unit_price=Decimal("250.50"), cost=Decimal("100.00"))
    comparison = selectors.sales_vs_last_year(world.people["bob"], dt.date(2025, 12, 20))
    assert comparison == selectors.MonthComparison(
        month=dt.date(2025, 12, 1), this_month=Decimal("400.00"), same_month_last_year=Decimal("250.50"))
    assert selectors.monthly_sales(world.people["amy"], dt.date(2025, 12, 1)) == Decimal("0.00")
