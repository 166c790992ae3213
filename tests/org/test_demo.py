"""The demo company generator (``salesops demo``): deterministic, complete enough for every page to mean
something, idempotent, and with a ``--scale`` bulk path that stores exactly what the ORM would.

Tests use ``demo.SMALL`` (the full structure with ~5% of the order lines) and a fixed "today" where they can, so
a load takes about a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from salesops.core.models import AuditEvent
from salesops.core.roles import role_of
from salesops.engine.money import RoundingPolicy, round_money
from salesops.org import demo
from salesops.org import services as org
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    LineStatus,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    SalesMonthly,
    Salesperson,
    SalespersonStatus,
    Team,
    active_on,
)

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)


def load(seed: int = 7, **kwargs) -> demo.DemoResult:
    return demo.load_demo(seed=seed, size=demo.SMALL, today=TODAY, **kwargs)


def digest() -> str:
    """A fingerprint of the generated data by natural keys (database ids may differ between loads)."""
    h = hashlib.sha256()
    for row in Salesperson.objects.order_by("employee_no").values_list(
            "employee_no", "name", "hire_date", "leave_date", "status", "ramp_schedule"):
        h.update(repr(row).encode())
    for row in Customer.objects.order_by("external_id").values_list(
            "external_id", "name", "segment__code", "region__code", "owner__employee_no"):
        h.update(repr(row).encode())
    for row in OrderLine.objects.order_by("external_id").values_list(
            "external_id", "order_no", "date", "customer__external_id", "product__sku", "quantity", "discount",
            "net_amount", "cost", "status", "original__external_id"):
        h.update(repr(row).encode())
    for row in OrderCredit.objects.order_by("line__external_id", "salesperson__employee_no").values_list(
            "line__external_id", "salesperson__employee_no", "split_pct", "amount", "cost"):
        h.update(repr(row).encode())
    for row in Payment.objects.order_by("external_id").values_list("external_id", "line__external_id", "date", "amount"):
        h.update(repr(row).encode())
    return h.hexdigest()


def test_it_generates_the_same_data_for_the_same_seed():
    # Given a load with seed 7
    load(seed=7)
    first = digest()
    # When the company is wiped and loaded again with the same seed and day
    demo.wipe()
    load(seed=7)
    # Then every row is the same
    assert digest() == first
    assert OrderLine.objects.count() > 1000


def test_it_draws_other_data_for_another_seed():
    def fingerprint(seed):
        plan = demo._Plan(seed, TODAY, demo.SMALL)
        plan.draw_people()
        plan.draw_customers()
        plan.draw_lines()
        return [(ln.date, ln.customer, ln.product, ln.qty, ln.net) for ln in plan.lines]

    assert fingerprint(7) == fingerprint(7)
    assert fingerprint(7) != fingerprint(8)


def test_it_builds_the_organisation():
    load()
    # regions: 全国 → ≥ 3 regions → provinces → cities
    root = Region.objects.get(parent=None)
    assert root.children.count() >= 3
    assert Region.objects.aggregate(d=Max("depth"))["d"] >= 3
    # five teams with managers under a root team headed by the director
    head = Team.objects.get(parent=None)
    teams = list(head.children.all())
    assert len(teams) == 5 and all(t.manager_id for t in teams) and head.manager_id
    for team in teams:
        a = Assignment.objects.get(active_on(TODAY), salesperson=team.manager)
        assert (a.team_id, a.manager_id) == (team.pk, head.manager_id)
        reps = Assignment.objects.filter(active_on(TODAY), team=team).exclude(salesperson=team.manager)
        assert reps.exists() and all(r.manager_id == team.manager_id for r in reps)
    # 40 reps, with ramping new hires, mid-year leavers and a transfer
    reps = Salesperson.objects.exclude(pk__in=Team.objects.values("manager"))
    assert reps.count() == 40
    ramping = reps.filter(status=SalespersonStatus.RAMPING)
    assert ramping.exists() and all(p.hire_date.year == TODAY.year and p.ramp_schedule for p in ramping)
    leavers = reps.filter(status=SalespersonStatus.LEFT)
    assert leavers.count() >= 2
    for person in leavers:
        assert person.leave_date.year == TODAY.year
        assert person.assignments.order_by("start_date").last().end_date == person.leave_date
    moved = [p for p in reps if p.assignments.values("team").distinct().count() == 2]
    assert moved
    first, second = moved[0].assignments.order_by("start_date")
    assert first.end_date + dt.timedelta(days=1) == second.start_date and first.team_id != second.team_id


def test_it_builds_products_and_customers():
    load()
    lines = ProductCategory.objects.filter(parent=None)
    assert lines.count() == 2 and all(c.children.exists() for c in lines)
    products = list(Product.objects.all())
    assert len(products) >= 30
    margins = [p.margin_rate for p in products]
    assert min(margins) < Decimal("0.2") and max(margins) > Decimal("0.8")
    assert CustomerSegment.objects.count() >= 3
    assert Customer.objects.count() >= 1000
    assert not Customer.objects.filter(segment=None).exists() and not Customer.objects.filter(owner=None).exists()
    assert set(Customer.objects.values_list("region__depth", flat=True)) == {3}


def test_it_generates_consistent_order_lines():
    load()
    # three fiscal years of lines
    assert {d.year for d in OrderLine.objects.dates("date", "year")} == {TODAY.year - 2, TODAY.year - 1, TODAY.year}
    assert OrderLine.objects.aggregate(m=Max("date"))["m"] <= TODAY
    # returns: linked to their original, negative, at most what was sold, about 2-3%
    returns = OrderLine.objects.filter(status=LineStatus.RETURNED).select_related("original")
    total = OrderLine.objects.count()
    assert 0.01 < returns.count() / total < 0.05
    for r in returns:
        o = r.original
        assert o is not None and r.quantity < 0 and r.net_amount < 0 and r.cost < 0
        assert (r.product_id, r.customer_id, r.unit_price, r.discount) == (o.product_id, o.customer_id, o.unit_price,
                                                                            o.discount)
        assert -r.quantity <= o.quantity and -r.net_amount <= o.net_amount and r.date >= o.date
    assert any(-r.quantity < r.original.quantity for r in returns)  # some partial returns
    # credits: splits total 100 and amounts total the line exactly; some 60/40 and 50/50 splits
    sums = OrderLine.objects.annotate(pct=Sum("credits__split_pct"), amount=Sum("credits__amount"),
                                      cost_sum=Sum("credits__cost"), n=Count("credits"))
    for line in sums:
        assert (line.pct, line.amount, line.cost_sum) == (100, line.net_amount, line.cost)
    assert set(OrderCredit.objects.exclude(split_pct=100).values_list("split_pct", flat=True)) == {60, 40, 50}
    # net amounts computed by the one rounding point
    for line in OrderLine.objects.all()[:500]:
        assert line.net_amount == org.compute_net_amount(line.quantity, line.unit_price, line.discount, "half_up")
    # payments never exceed the line; paid lines are paid in full; some lines are partly paid
    paid = {p["line"]: p["s"] for p in Payment.objects.values("line").annotate(s=Sum("amount"))}
    nets = dict(OrderLine.objects.values_list("pk", "net_amount"))
    statuses = dict(OrderLine.objects.values_list("pk", "status"))
    assert all(0 < amount <= nets[pk] for pk, amount in paid.items())
    assert all(paid.get(pk) == nets[pk] for pk, s in statuses.items() if s == LineStatus.PAID)
    assert any(amount < nets[pk] for pk, amount in paid.items())
    assert Payment.objects.values("line").annotate(n=Count("id")).aggregate(m=Max("n"))["m"] > 1
    # the monthly aggregate is filled
    assert SalesMonthly.objects.aggregate(s=Sum("net_amount"))["s"] == OrderCredit.objects.aggregate(s=Sum("amount"))["s"]


def test_its_lines_have_seasonality_and_cross_sell_structure():
    plan = demo._Plan(42, TODAY, demo.FULL)
    plan.draw_people()
    plan.draw_customers()
    plan.draw_lines()
    by_month = [0] * 13
    for ln in plan.lines:
        if ln.date.year < TODAY.year:
            by_month[ln.date.month] += 1
    assert by_month[2] < min(by_month[3], by_month[1])  # Spring Festival
    assert by_month[12] == max(by_month[1:])  # year-end budgets
    # buyers of an ERP module usually buy implementation in the same order
    orders: dict[str, set[str]] = {}
    for ln in plan.lines:
        orders.setdefault(ln.order_no, set()).add(demo.PRODUCTS[ln.product].sku)
    erp = [skus for skus in orders.values() if "SW-ERP-MFG" in skus]
    assert sum("SW-SVC-IMP" in skus for skus in erp) / len(erp) > 0.6
    share = sum("SW-SVC-IMP" in skus for skus in orders.values()) / len(orders)
    assert share < 0.3


def test_it_loads_once_and_is_a_no_op_the_second_time():
    out = StringIO()
    call_command("demo", "--small", stdout=out)
    counts = [m.objects.count() for m in (OrderLine, OrderCredit, Payment, Customer, Salesperson, Team, AuditEvent)]
    users = get_user_model().objects.count()
    out = StringIO()
    call_command("demo", "--small", stdout=out)
    assert "already loaded" in out.getvalue()
    assert [m.objects.count() for m in (OrderLine, OrderCredit, Payment, Customer, Salesperson, Team, AuditEvent)] == counts
    assert get_user_model().objects.count() == users


def test_reset_wipes_and_regenerates():
    call_command("demo", "--small", "--seed", "3", stdout=StringIO())
    call_command("demo", "--small", "--seed", "4", "--reset", "--language", "en", stdout=StringIO())
    assert Customer.objects.filter(external_id__startswith=demo.DEMO_PREFIX).count() == demo.SMALL.customers
    assert Customer.objects.count() == demo.SMALL.customers
    assert get_user_model().objects.filter(username="rep").count() == 1
    assert Team.objects.get(parent=None).name == "National Sales"
    assert AuditEvent.objects.filter(event="demo.loaded").count() == 1


def test_it_refuses_to_mix_with_other_data(world):
    with pytest.raises(CommandError, match="--reset"):
        call_command("demo", "--small", stdout=StringIO())
    assert not Customer.objects.filter(external_id=demo.DEMO_MARKER).exists()


def test_scale_adds_exactly_n_lines_with_credits():
    load()
    before = set(OrderLine.objects.values_list("pk", flat=True))
    call_command("demo", "--small", "--scale", "300", stdout=StringIO())
    call_command("demo", "--small", "--scale", "200", stdout=StringIO())  # a second run: ids must not collide
    new = OrderLine.objects.exclude(pk__in=before).prefetch_related("credits")
    assert new.count() == 500
    assert len({line.external_id for line in new}) == 500
    for line in new:
        credits = list(line.credits.all())
        assert credits and sum(c.split_pct for c in credits) == 100
        assert sum(c.amount for c in credits) == line.net_amount and sum(c.cost for c in credits) == line.cost
        assert line.net_amount == org.compute_net_amount(line.quantity, line.unit_price, line.discount, "half_up")
        assert line.date <= timezone.localdate()
    assert SalesMonthly.objects.aggregate(s=Sum("net_amount"))["s"] == OrderCredit.objects.aggregate(s=Sum("amount"))["s"]


@pytest.mark.parametrize("policy", list(RoundingPolicy))
def test_the_raw_path_rounds_like_the_orm(policy):
    rng = random.Random(1)
    for _n in range(2000):
        qty, price, disc = rng.randint(1, 50), rng.randint(1, 10_000_000), rng.randint(0, 30)
        expected = round_money(Decimal(qty) * Decimal(price) / 100 * (1 - Decimal(disc) / 100), policy)
        assert Decimal(demo._cents_rounded(qty * price * (100 - disc), 100, policy)) / 100 == expected


def test_demo_accounts_sign_in_with_their_roles(client):
    demo.load_demo(seed=7, size=demo.SMALL)  # the real today: sign-in and home pages use it
    today = timezone.localdate()
    for account in demo.DEMO_ACCOUNTS:
        assert client.login(username=account["username"], password=account["password"]), account["username"]
        user = get_user_model().objects.get(username=account["username"])
        assert role_of(user) == account["role"]
        assert str(account["description"])
        client.logout()
    people = {u: Salesperson.objects.get(user__username=u) for u in ("rep", "rep2", "manager", "director")}
    team = {u: Assignment.objects.get(active_on(today), salesperson=p).team for u, p in people.items()}
    assert team["rep"] != team["rep2"]
    assert team["rep"].manager == people["manager"]
    assert Team.objects.get(parent=None).manager == people["director"]
    # the home page compares this month with the same month last year: the rep has sales in both
    months = set(SalesMonthly.objects.filter(salesperson=people["rep"]).values_list("month", flat=True))
    this_month = today.replace(day=1)
    assert {this_month, this_month.replace(year=this_month.year - 1)} <= months
    span = OrderLine.objects.aggregate(a=Min("date"), b=Max("date"))
    assert span["a"].year == today.year - 2 and span["b"] <= today


def test_the_biggest_customers_are_key_accounts_in_the_cube():
    from django.db.models import Sum

    load()
    keys = set(Customer.objects.filter(key_account=True).values_list("pk", flat=True))
    assert len(keys) == demo.KEY_ACCOUNTS
    biggest = OrderLine.objects.values("customer_id").annotate(s=Sum("net_amount")).order_by("-s").first()["customer_id"]
    assert biggest in keys
    from salesops.org.models import SalesMonthly

    assert set(SalesMonthly.objects.exclude(key_customer=None).values_list("key_customer_id", flat=True)) <= keys
