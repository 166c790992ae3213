"""The reads behind the customer 360 page: purchases, margin and RFM, checked against figures worked out by hand
(see ``tests/conftest.py`` for the persona world: 甲公司 is Alice's customer, 乙公司 Bob's)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.crm import customer360 as c360
from salesops.crm.customer360 import Segment
from salesops.org import services as org
from salesops.org.models import Customer, LineStatus, ProductCategory

D = Decimal
TODAY = dt.date(2026, 3, 15)


def line(world, customer, ext, day, *, product=None, qty=1, price="1000.00", cost="400.00", order=None,
         discount="0", person="alice", **extra):
    return org.order_line_create(
        actor=None, credits=[(world.people[person], D(100))], external_id=ext, order_no=order or f"SO-{ext}",
        date=day, customer=customer, product=product or world.product, quantity=D(qty), unit_price=D(price),
        discount=D(discount), cost=D(cost) * qty, **extra)


def returned(world, original, ext, day, qty=-1):
    return org.order_line_create(
        actor=None, credits=[(world.people["alice"], D(100))], external_id=ext, order_no=original.order_no, date=day,
        customer=original.customer, product=original.product, quantity=D(qty), unit_price=original.unit_price,
        discount=original.discount, cost=original.cost / original.quantity * qty, status=LineStatus.RETURNED,
        original=original)


def make_hardware():
    """硬件 (top level) › 服务器, with a server at ¥500.00 (cost ¥300.00)."""
    root = org.tree_node_create(actor=None, model=ProductCategory, name="硬件", code="HW")
    servers = org.tree_node_create(actor=None, model=ProductCategory, name="服务器", code="HW-SRV", parent=root)
    return org.product_create(actor=None, sku="HW-1", name="服务器", category=servers, list_price=D("500.00"),
                              standard_cost=D("300.00"), unit="台")


def make_history(world, hardware):
    """甲公司 bought, besides A1 (2025-11-15) and S1 (2025-12-01), ¥1,000 each at cost ¥400:
    - SO-OLD 2024-01-20: SW-1 ¥1,000 (cost 400) — more than 24 months before TODAY;
    - SO-X 2026-02-10: 2 servers ¥1,000 (cost 600) and SW-1 at 10 % off ¥900 (cost 400);
    - 2026-03-01: one server of SO-X returned, −¥500 (cost −300)."""
    a = world.customers.a
    line(world, a, "OLD", dt.date(2024, 1, 20))
    x1 = line(world, a, "X1", dt.date(2026, 2, 10), product=hardware, qty=2, price="500.00", cost="300.00",
              order="SO-X")
    line(world, a, "X2", dt.date(2026, 2, 10), order="SO-X", discount="0.1")
    returned(world, x1, "X1-R", dt.date(2026, 3, 1))
    return world


@pytest.fixture
def hardware(world):
    return make_hardware()


@pytest.fixture
def history(world, hardware):
    return make_history(world, hardware)


def test_it_sums_the_purchases_of_the_last_12_months_and_of_all_time(history):
    figures = c360.figures(history.customers.a, TODAY)
    assert figures.first_purchase == dt.date(2024, 1, 20)
    assert figures.last_purchase == dt.date(2026, 2, 10)  # the return of 2026-03-01 is not a purchase
    assert figures.orders_12m == 3  # SO-A, SO-S, SO-X
    assert figures.net_12m == D("3400.00")  # 1000 + 1000 + 1000 + 900 − 500
    assert figures.cost_12m == D("1500.00")  # 400 + 400 + 600 + 400 − 300
    assert figures.margin_12m == D("1900.00")
    assert round(figures.margin_pct_12m, 4) == D("0.5588")
    assert figures.net_total == D("4400.00")
    assert figures.margin_total == D("2500.00")


def test_a_customer_without_purchases_has_no_margin_rate(world):
    empty = org.customer_create(actor=None, external_id="C-N", name="新客户", owner=world.people["alice"])
    figures = c360.figures(empty, TODAY)
    assert (figures.last_purchase, figures.orders_12m, figures.net_12m, figures.margin_pct_12m) == (None, 0, 0, None)


def test_it_stacks_the_monthly_purchases_by_top_level_category(history):
    monthly = c360.monthly_purchases(history.customers.a, TODAY)
    assert monthly.months[0] == dt.date(2024, 4, 1) and monthly.months[-1] == dt.date(2026, 3, 1)
    assert len(monthly.months) == 24
    by_name = {category.name: dict(zip(monthly.months, values, strict=True)) for category, values in monthly.series}
    assert [category.name for category, _v in monthly.series] == ["软件", "硬件"]  # ¥2,900 before ¥500
    assert by_name["软件"][dt.date(2025, 11, 1)] == D("1000.00")
    assert by_name["软件"][dt.date(2025, 12, 1)] == D("1000.00")
    assert by_name["软件"][dt.date(2026, 2, 1)] == D("900.00")
    assert by_name["硬件"][dt.date(2026, 2, 1)] == D("1000.00")  # the server category rolls up to 硬件
    assert by_name["硬件"][dt.date(2026, 3, 1)] == D("-500.00")  # the return, in its own month
    assert sum(monthly.totals) == D("3400.00")  # SO-OLD is older than the 24 months
    assert monthly.chart()["series"][1] == {"name": "硬件", "data": ["0.00"] * 22 + ["1000.00", "-500.00"]}


def test_it_ranks_the_top_products_of_the_last_24_months(history, hardware):
    rows = c360.top_products(history.customers.a, TODAY)
    assert [(r.product.sku, r.quantity, r.net, r.margin, r.last_purchase) for r in rows] == [
        ("SW-1", D(3), D("2900.00"), D("1700.00"), dt.date(2026, 2, 10)),
        ("HW-1", D(1), D("500.00"), D("200.00"), dt.date(2026, 2, 10)),
    ]


# -- RFM --------------------------------------------------------------------------------------------------
def test_it_scores_quintiles_of_percentile_rank():
    assert c360.quintile_scores(list(range(1, 11))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # equal values share the lower quintile: 1 + ⌊5 × 1 ÷ 4⌋ = 2 for the three 5s
    assert c360.quintile_scores([5, 5, 5, 1]) == [2, 2, 2, 1]
    assert c360.quintile_scores([7]) == [1]


def test_the_segments_follow_the_rf_grid():
    cells = {(5, 5): Segment.CHAMPIONS, (5, 4): Segment.CHAMPIONS, (4, 5): Segment.LOYAL, (3, 4): Segment.LOYAL,
             (5, 3): Segment.POTENTIAL, (4, 2): Segment.POTENTIAL, (5, 1): Segment.NEW, (4, 1): Segment.PROMISING,
             (3, 3): Segment.NEED_ATTENTION, (3, 2): Segment.ABOUT_TO_SLEEP, (3, 1): Segment.ABOUT_TO_SLEEP,
             (2, 5): Segment.CANT_LOSE, (1, 5): Segment.CANT_LOSE, (2, 4): Segment.AT_RISK, (1, 3): Segment.AT_RISK,
             (2, 2): Segment.HIBERNATING, (1, 1): Segment.HIBERNATING}
    assert {cell: c360.segment_of(*cell) for cell in cells} == cells
    # every cell of the grid has exactly one segment
    for r in range(1, 6):
        for f in range(1, 6):
            assert sum(lo <= r <= hi and flo <= f <= fhi for lo, hi, flo, fhi in c360.BOXES.values()) == 1


@pytest.fixture
def scored(world, hardware):
    """As of TODAY (2026-03-15) the customers with a purchase since 2024-03-15 are scored:

    | customer | last purchase | orders 12 m | net 12 m | R | F | M | segment     |
    |----------|---------------|-------------|----------|---|---|---|-------------|
    | C1       | 2026-03-10    | 5           | 5,000    | 5 | 5 | 5 | champions   |
    | C2       | 2026-03-01    | 1 (2 lines) | 1,500    | 4 | 1 | 3 | promising   |
    | 甲公司 A  | 2025-12-01    | 2           | 2,000    | 3 | 4 | 4 | loyal       |
    | 乙公司 B  | 2025-11-16    | 1           | 1,000    | 2 | 1 | 2 | hibernating |
    | C6       | 2025-06-01    | 1, returned | 0        | 1 | 1 | 1 | hibernating |
    | C3       | 2024-06-01    | 0           | 0        | 1 | 1 | 1 | hibernating |

    N = 6: R = 1 + ⌊5 L ÷ 6⌋ with L = 0…5 by date → 1, 1, 2, 3, 4, 5; F over (0, 1, 1, 1, 2, 5) → 1, 1, 1, 1, 4, 5;
    M over (0, 0, 1000, 1500, 2000, 5000) → 1, 1, 2, 3, 4, 5. C4 (last bought 2023-12-01) and C5 (never) are
    prospects."""
    people = world.people["alice"]
    made = {}
    for key in ("C1", "C2", "C3", "C4", "C5", "C6"):
        made[key] = org.customer_create(actor=None, external_id=key, name=f"客户{key}", owner=people)
    for n in range(5):
        line(world, made["C1"], f"C1-{n}", dt.date(2026, 3, 10) - dt.timedelta(days=30 * n))
    line(world, made["C2"], "C2-1", dt.date(2026, 3, 1), order="SO-C2")
    line(world, made["C2"], "C2-2", dt.date(2026, 3, 1), order="SO-C2", product=hardware, price="500.00",
         cost="300.00")
    line(world, made["C3"], "C3-1", dt.date(2024, 6, 1))
    line(world, made["C4"], "C4-1", dt.date(2023, 12, 1))
    sold = line(world, made["C6"], "C6-1", dt.date(2025, 6, 1))
    returned(world, sold, "C6-R", dt.date(2025, 7, 1))
    made["A"], made["B"] = world.customers.a, world.customers.b
    return made


def test_it_scores_rfm_by_hand(scored):
    table = c360.rfm_table(TODAY)
    got = {key: (r.r, r.f, r.m, r.segment) if (r := table.of(c.pk)) else None for key, c in scored.items()}
    assert got == {
        "C1": (5, 5, 5, Segment.CHAMPIONS), "C2": (4, 1, 3, Segment.PROMISING), "A": (3, 4, 4, Segment.LOYAL),
        "B": (2, 1, 2, Segment.HIBERNATING), "C6": (1, 1, 1, Segment.HIBERNATING),
        "C3": (1, 1, 1, Segment.HIBERNATING), "C4": None, "C5": None,
    }
    a = table.of(scored["A"].pk)
    assert (a.last_purchase, a.recency_days, a.orders, a.net) == (dt.date(2025, 12, 1), 104, 2, D("2000.00"))
    assert table.segment(scored["C5"].pk) == Segment.PROSPECT
    assert table.edges["r"] == {2: dt.date(2025, 11, 16), 3: dt.date(2025, 12, 1), 4: dt.date(2026, 3, 1),
                                5: dt.date(2026, 3, 10)}
    assert table.edges["f"] == {2: 2, 3: 2, 4: 2, 5: 5}


def test_sql_gives_every_customer_the_segment_of_the_table(scored):
    table = c360.rfm_table(TODAY)
    ranked = {c.pk: Segment.of_rank(c.rfm_rank) for c in table.annotate(Customer.objects.all())}
    assert ranked == {pk: table.segment(pk) for pk in Customer.objects.values_list("pk", flat=True)}
    for segment in Segment:
        found = set(Customer.objects.filter(table.segment_q(segment)).values_list("pk", flat=True))
        assert found == {pk for pk, s in ranked.items() if s == segment}, segment
    assert set(Customer.objects.filter(table.segment_q(Segment.PROSPECT)).values_list("external_id", flat=True)) == {
        "C4", "C5"}


def test_it_reads_the_population_in_one_query(scored, django_assert_num_queries):
    with django_assert_num_queries(1):
        c360.rfm_table(TODAY)


def test_a_customer_who_buys_more_never_gets_a_lower_m_score(world, scored):
    before = c360.rfm_table(TODAY).of(scored["B"].pk)
    # one more line on the same order, the same day: recency and frequency stay, monetary grows
    line(world, scored["B"], "B1-more", dt.date(2025, 11, 16), order="SO-B", person="bob")
    after = c360.rfm_table(TODAY).of(scored["B"].pk)
    assert (after.last_purchase, after.orders) == (before.last_purchase, before.orders)
    assert after.net == before.net + D("1000.00")
    assert after.m >= before.m and after.m == 3  # 2,000 now ties with 甲公司 above C2's 1,500


def test_purchases_annotation_matches_the_figures(history):
    customer = c360.annotate_purchases(Customer.objects.filter(pk=history.customers.a.pk), TODAY).get()
    assert (customer.last_purchase, customer.net_12m) == (dt.date(2026, 2, 10), D("3400.00"))


# -- properties -------------------------------------------------------------------------------------------
values = st.lists(st.integers(min_value=-10**6, max_value=10**6), min_size=1, max_size=60)


@given(values)
def test_scores_are_between_1_and_5_and_ties_score_alike(xs):
    scores = c360.quintile_scores(xs)
    assert all(1 <= s <= 5 for s in scores)
    by_value = {}
    for x, s in zip(xs, scores, strict=True):
        assert by_value.setdefault(x, s) == s
    if len(set(xs)) == len(xs) and len(xs) >= 5:
        assert max(scores) == 5 and min(scores) == 1


@given(values, st.data(), st.integers(min_value=1, max_value=10**6))
def test_buying_more_all_else_equal_never_lowers_the_score(xs, data, more):
    i = data.draw(st.integers(min_value=0, max_value=len(xs) - 1))
    before = c360.quintile_scores(xs)[i]
    after = c360.quintile_scores([*xs[:i], xs[i] + more, *xs[i + 1:]])[i]
    assert after >= before


@given(values)
def test_the_edges_are_the_scores_as_thresholds(xs):
    scores, edges = c360.quintile_scores(xs), c360.score_edges(xs)
    for k in range(2, 6):
        for x, s in zip(xs, scores, strict=True):
            assert (s >= k) == (k in edges and x >= edges[k])
