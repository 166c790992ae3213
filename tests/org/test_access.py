from __future__ import annotations

import pytest
from django.http import Http404

from salesops.org.access import (
    access_customer_by_id,
    access_order_line_by_id,
    access_salesperson_by_id,
    visible_to,
)
from salesops.org.models import Customer, OrderLine, Salesperson


def names(qs):
    return sorted(qs.values_list("external_id" if qs.model is not Salesperson else "employee_no", flat=True))


def test_it_shows_a_rep_only_their_own_lines(world, rep_alice):
    assert names(visible_to(rep_alice, OrderLine)) == ["A1", "S1"]
    assert names(visible_to(rep_alice, Salesperson)) == ["E101"]


def test_it_hides_other_reps_records(world, rep_bob):
    with pytest.raises(Http404):
        access_order_line_by_id(rep_bob, world.lines.a.pk)
    with pytest.raises(Http404):
        access_customer_by_id(rep_bob, world.customers.a.pk)
    with pytest.raises(Http404):
        access_salesperson_by_id(rep_bob, world.people["alice"].pk)


def test_it_shows_a_manager_their_subtree(world, manager_carol, director_victor):
    assert names(visible_to(manager_carol, Salesperson)) == ["E002", "E101", "E102"]
    assert names(visible_to(manager_carol, Customer)) == ["C-A"]
    assert names(visible_to(director_victor, Salesperson)) == ["E001", "E002", "E003", "E101", "E102", "E201"]


def test_it_gives_hr_people_but_no_sales_data(world, hr_henry):
    assert visible_to(hr_henry, Salesperson).count() == 6
    assert visible_to(hr_henry, OrderLine).count() == 0
    assert visible_to(hr_henry, Customer).count() == 0


def test_it_gives_finance_and_ops_everything(world, finance_dan, ops_olivia):
    assert visible_to(finance_dan, OrderLine).count() == 3
    assert visible_to(ops_olivia, Customer).count() == 2


def test_a_manager_who_left_heads_nothing(world, manager_carol):
    import datetime as dt

    from salesops.org import services as org

    org.salesperson_update(actor=None, salesperson=world.people["carol"], leave_date=dt.date(2025, 1, 31),
                           status="left")
    manager_carol.refresh_from_db()
    assert names(visible_to(manager_carol, Salesperson)) == ["E002"]
