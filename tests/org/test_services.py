"""Writes to the organisation: validation that names the field, nothing half-saved, audit, effective dating."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from salesops.core.models import AuditEvent
from salesops.org import services as org
from salesops.org.models import Assignment, OrderCredit, OrderLine, Region, active_on
from tests.conftest import monthly

D = Decimal


def test_it_refuses_a_tree_move_that_makes_a_cycle(world):
    with pytest.raises(ValidationError) as error:
        org.tree_node_update(actor=None, node=world.regions.china, parent=world.regions.shanghai)
    assert "parent" in error.value.message_dict
    world.regions.china.refresh_from_db()
    assert world.regions.china.parent_id is None


def test_a_move_carries_the_subtree_along(world):
    org.tree_node_update(actor=None, node=world.regions.east, parent=world.regions.south)
    shanghai = Region.objects.get(pk=world.regions.shanghai.pk)
    assert shanghai.path == f"{world.regions.south.path}{world.regions.east.pk}/{shanghai.pk}/"
    assert shanghai.depth == 3
    assert [n.code for n in shanghai.ancestors()] == ["CN", "CN-S", "CN-E"]
    assert set(world.regions.south.subtree().values_list("code", flat=True)) == {"CN-S", "CN-E", "CN-E-SH"}


def test_it_refuses_overlapping_assignments(world):
    with pytest.raises(ValidationError) as error:
        org.assignment_create(actor=None, salesperson=world.people["alice"], team=world.teams.b,
                              start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 3, 1))
    assert "overlaps" in str(error.value.message_dict["start_date"])
    assert Assignment.objects.filter(salesperson=world.people["alice"]).count() == 1


def test_a_transfer_keeps_history_for_as_of_queries(world):
    alice = world.people["alice"]
    org.assignment_transfer(actor=None, salesperson=alice, team=world.teams.b, manager=world.people["erin"],
                            on=dt.date(2025, 12, 1))
    on_nov = Assignment.objects.filter(active_on(dt.date(2025, 11, 15))).get(salesperson=alice)
    on_dec = Assignment.objects.filter(active_on(dt.date(2025, 12, 15))).get(salesperson=alice)
    assert (on_nov.team, on_nov.manager) == (world.teams.a, world.people["carol"])
    assert (on_dec.team, on_dec.manager) == (world.teams.b, world.people["erin"])
    assert on_nov.end_date == dt.date(2025, 11, 30)


@pytest.mark.parametrize("pcts", [[D(60), D(30)], [D(60), D(50)], [D(0), D(100)], []])
def test_it_refuses_splits_that_do_not_total_100(world, pcts):
    people = [world.people["alice"], world.people["bob"]][: len(pcts)]
    with pytest.raises(ValidationError) as error:
        org.order_line_create(actor=None, credits=list(zip(people, pcts, strict=True)), external_id="BAD",
                              order_no="X", date=dt.date(2025, 1, 1), customer=world.customers.a,
                              product=world.product, quantity=D(1), unit_price=D("10.00"), cost=D("1.00"))
    assert "credits" in error.value.message_dict
    assert not OrderLine.objects.filter(external_id="BAD").exists()


def test_credits_sum_exactly_to_the_line(world):
    line = org.order_line_create(
        actor=None, credits=[(world.people["alice"], D("33.3333")), (world.people["amy"], D("33.3333")),
                             (world.people["bob"], D("33.3334"))],
        external_id="THIRDS", order_no="X", date=dt.date(2025, 1, 1), customer=world.customers.a,
        product=world.product, quantity=D(1), unit_price=D("100.00"), cost=D("10.00"))
    amounts = list(OrderCredit.objects.filter(line=line).values_list("amount", flat=True))
    assert sum(amounts) == D("100.00") and sorted(amounts) == [D("33.33"), D("33.33"), D("33.34")]


def test_it_computes_net_amount_with_the_company_rounding(world):
    line = org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="DISC",
                                 order_no="X", date=dt.date(2025, 1, 1), customer=world.customers.a,
                                 product=world.product, quantity=D(3), unit_price=D("33.35"), discount=D("0.1"),
                                 cost=D("10.00"))
    assert line.net_amount == D("90.05")  # 90.045 half up


def test_it_refuses_a_return_without_an_original_line(world):
    with pytest.raises(ValidationError) as error:
        org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="RET",
                              order_no="X", date=dt.date(2025, 12, 1), customer=world.customers.a,
                              product=world.product, quantity=D(-1), unit_price=D("1000.00"), cost=D("-400.00"),
                              status="returned")
    assert "original" in error.value.message_dict


def test_a_return_reduces_the_monthly_aggregate(world):
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="RET",
                          order_no="X", date=dt.date(2025, 11, 20), customer=world.customers.a,
                          product=world.product, quantity=D(-1), unit_price=D("1000.00"), cost=D("-400.00"),
                          status="returned", original=world.lines.a)
    row = monthly(world.people["alice"], dt.date(2025, 11, 1))
    assert row.net_amount == D("0.00") and row.lines == 2


def test_it_refuses_payments_beyond_the_net_amount(world):
    org.payment_create(actor=None, line=world.lines.a, date=dt.date(2025, 12, 1), amount=D("600.00"))
    with pytest.raises(ValidationError) as error:
        org.payment_create(actor=None, line=world.lines.a, date=dt.date(2025, 12, 20), amount=D("400.01"))
    assert "amount" in error.value.message_dict
    assert world.lines.a.payments.count() == 1


def test_every_service_write_is_audited(world):
    assert AuditEvent.objects.filter(event="order_line.created", subject_id=str(world.lines.s.pk)).exists()
    org.customer_update(actor=world.users["olivia"], customer=world.customers.a, industry="制造业")
    event = AuditEvent.objects.get(event="customer.updated")
    assert event.actor == world.users["olivia"]
    assert event.old == {"industry": ""} and event.new == {"industry": "制造业"}


def test_money_is_stored_as_exact_cents(world):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT net_amount FROM org_orderline WHERE external_id = 'A1'")
        assert cursor.fetchone()[0] == 100000


def test_it_refuses_to_delete_a_node_still_in_use_naming_what_uses_it(world):
    with pytest.raises(ValidationError, match="customer"):
        org.tree_node_delete(actor=None, node=world.regions.south)
    assert Region.objects.filter(pk=world.regions.south.pk).exists()


def test_it_refuses_the_same_salesperson_twice_on_a_line(world):
    alice = world.people["alice"]
    with pytest.raises(ValidationError) as error:
        org.order_line_create(actor=None, credits=[(alice, D(50)), (alice, D(50))], external_id="TWICE",
                              order_no="X", date=dt.date(2025, 1, 1), customer=world.customers.a,
                              product=world.product, quantity=D(1), unit_price=D("10.00"), cost=D("1.00"))
    assert "credits" in error.value.message_dict


def _return(world, ext, qty, **overrides):
    fields = dict(actor=None, credits=[(world.people["alice"], D(100))], external_id=ext, order_no="X",
                  date=dt.date(2025, 12, 10), customer=world.customers.a, product=world.product, quantity=D(qty),
                  unit_price=D("1000.00"), cost=D("-400.00") if D(qty) < 0 else D("400.00"), status="returned",
                  original=world.lines.a)
    fields.update(overrides)
    return org.order_line_create(**fields)


def test_returns_never_take_back_more_than_was_sold(world):
    with pytest.raises(ValidationError) as error:
        _return(world, "R-BIG", "-2")
    assert "quantity" in error.value.message_dict
    _return(world, "R-1", "-1")
    with pytest.raises(ValidationError):
        _return(world, "R-2", "-1", cost=D("0.00"))


@pytest.mark.parametrize("overrides", [
    {"customer": "b"},
    {"original": "return"},
])
def test_a_return_matches_its_original_and_is_not_a_return_of_a_return(world, overrides):
    first = _return(world, "R-1", "-0.5", cost=D("-200.00"))
    kwargs = {}
    if overrides.get("customer"):
        kwargs["customer"] = world.customers.b
    if overrides.get("original"):
        kwargs["original"] = first
    with pytest.raises(ValidationError) as error:
        _return(world, "R-2", "-0.5", cost=D("-200.00"), **kwargs)
    assert "original" in error.value.message_dict


def test_a_positive_line_cannot_have_a_negative_amount(world):
    with pytest.raises(ValidationError) as error:
        org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="NEG", order_no="X",
                              date=dt.date(2025, 1, 1), customer=world.customers.a, product=world.product,
                              quantity=D(1), unit_price=D("10.00"), net_amount=D("-5.00"), cost=D("1.00"))
    assert "quantity" in error.value.message_dict


def test_split_percentages_have_at_most_four_places(world):
    with pytest.raises(ValidationError, match="4 decimal"):
        org.check_splits([D("33.33333"), D("33.33333"), D("33.33334")])


@pytest.mark.parametrize("schedule", [["abc"], [150], "25,50", [0.5], [True]])
def test_a_bad_ramp_schedule_is_a_clear_refusal(world, schedule):
    with pytest.raises(ValidationError) as error:
        org.salesperson_create(actor=None, employee_no="E900", name="新人", hire_date=dt.date(2025, 1, 1),
                               ramp_schedule=schedule)
    assert "ramp_schedule" in error.value.message_dict


def test_a_new_person_cannot_leave_before_being_hired(world):
    with pytest.raises(ValidationError) as error:
        org.salesperson_create(actor=None, employee_no="E900", name="新人", hire_date=dt.date(2025, 5, 1),
                               leave_date=dt.date(2025, 4, 1))
    assert "leave_date" in error.value.message_dict
    with pytest.raises(ValidationError):
        org.salesperson_update(actor=None, salesperson=world.people["alice"], hire_date=dt.date(2030, 1, 1),
                               leave_date=dt.date(2029, 1, 1))


def test_only_ops_and_admins_link_accounts(world):
    from salesops.core.services import user_create

    account, _profile = user_create(actor=None, username="sun", password="x", role="rep")
    with pytest.raises(ValidationError) as error:
        org.salesperson_create(actor=world.users["henry"], employee_no="E900", name="新人",
                               hire_date=dt.date(2025, 1, 1), user=account)
    assert "user" in error.value.message_dict
    person = org.salesperson_create(actor=world.users["olivia"], employee_no="E900", name="新人",
                                    hire_date=dt.date(2025, 1, 1), user=account)
    assert person.user == account


def test_the_cube_keys_credited_sales_by_region_segment_and_category(world):
    from django.db.models import Sum

    from salesops.org.models import SalesMonthly

    # Given S1 (2025-12, customer 甲公司 in 上海, 1 unit, 1,000.00) split 60/40 Alice/Bob
    rows = SalesMonthly.objects.filter(month=dt.date(2025, 12, 1))
    assert {(r.salesperson_id, r.region_id, r.category_id, r.net_amount, r.quantity) for r in rows} == {
        (world.people["alice"].pk, world.regions.shanghai.pk, world.category.pk, D("600.00"), D("0.6000")),
        (world.people["bob"].pk, world.regions.shanghai.pk, world.category.pk, D("400.00"), D("0.4000")),
    }
    # When the customer moves region, the cube follows
    org.customer_update(actor=None, customer=world.customers.a, region=world.regions.south)
    assert set(SalesMonthly.objects.filter(month=dt.date(2025, 12, 1)).values_list("region_id", flat=True)) == {
        world.regions.south.pk}
    assert SalesMonthly.objects.aggregate(s=Sum("net_amount"))["s"] == D("3000.00")


def test_the_cube_counts_each_customer_once_when_won_credited_by_split(world):
    from django.db.models import Sum

    from salesops.org.models import SalesMonthly

    def won(person, month):
        return SalesMonthly.objects.filter(salesperson=person, month=month).aggregate(s=Sum("new_customers"))["s"]

    # A1 (Alice) and B1 (Bob) are the first lines of 甲公司 and 乙公司; S1 is 甲公司's second
    assert won(world.people["alice"], dt.date(2025, 11, 1)) == D("1.0000")
    assert won(world.people["bob"], dt.date(2025, 11, 1)) == D("1.0000")
    assert won(world.people["alice"], dt.date(2025, 12, 1)) == D("0.0000")
    # A new customer whose first deal is split 60/40
    c = org.customer_create(actor=None, external_id="C-N", name="丙公司", region=world.regions.east)
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(60)), (world.people["bob"], D(40))],
                          external_id="N1", order_no="N1", date=dt.date(2026, 1, 5), customer=c, product=world.product,
                          quantity=D(1), unit_price=D("10.00"), cost=D("1.00"))
    assert (won(world.people["alice"], dt.date(2026, 1, 1)), won(world.people["bob"], dt.date(2026, 1, 1))) == (
        D("0.6000"), D("0.4000"))
