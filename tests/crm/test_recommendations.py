"""Product recommendations over the database: one customer's, with their reasons in both languages, the cache that
keeps the whole company's model in the process, the hold-out command, and the demo's planted cross-sell structure.

The hand-made history (``history``), on top of ``world`` (甲公司 bought the CRM suite SW-1 twice, 乙公司 once):

| customer | segment      | bought           |
|----------|--------------|------------------|
| 甲公司   | 大客户 KA     | SW-1, SW-2       |
| 乙公司   | 大客户 KA     | SW-1             |
| 丙公司   | 中型企业 MM   | SW-1, SW-2       |
| 丁公司   | 中型企业 MM   | SW-3             |

N = 4 customers with a purchase; n(SW-1) = 3, n(SW-2) = 2, n(SW-3) = 1, n(SW-1, SW-2) = 2. So the rule
SW-1 → SW-2 has confidence 2/3 = 67 % and lift 2 · 4 / (3 · 2) = 1.33 (≥ 1.2, kept). SW-3 pairs with nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from salesops.crm import recommendations
from salesops.engine import recommend
from salesops.org import demo
from salesops.org import services as org
from salesops.org.models import CustomerSegment

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = dt.date(2026, 11, 15)
HOLD_OUT_SIZE = demo.DemoSize(customers=400, orders_per_rep_month=3.0)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Test databases reuse ids after each rollback, so one test's cached model could match another's key."""
    recommendations.clear_cache()
    yield
    recommendations.clear_cache()


@pytest.fixture
def history(world):
    mm = org.tree_node_create(actor=None, model=CustomerSegment, name="中型企业", code="MM")
    training = org.product_create(actor=None, sku="SW-2", name="培训服务", category=world.category,
                                  list_price=D("500.00"), standard_cost=D("200.00"), unit="人天")
    mobile = org.product_create(actor=None, sku="SW-3", name="移动 App", category=world.category,
                                list_price=D("300.00"), standard_cost=D("60.00"), unit="用户")
    alice, bob = world.people["alice"], world.people["bob"]
    bing = org.customer_create(actor=None, external_id="C-C", name="丙公司", segment=mm, region=world.regions.east,
                               owner=alice)
    ding = org.customer_create(actor=None, external_id="C-D", name="丁公司", segment=mm, region=world.regions.south,
                               owner=bob)
    lines = 0

    def buy(customer, product, day, person, quantity="1"):
        nonlocal lines
        lines += 1
        return org.order_line_create(actor=None, credits=[(person, D(100))], external_id=f"H{lines}",
                                     order_no=f"SO-H{lines}", date=day, customer=customer, product=product,
                                     quantity=D(quantity), unit_price=product.list_price,
                                     cost=product.standard_cost * D(quantity).copy_abs())

    buy(world.customers.a, training, dt.date(2026, 1, 10), alice)
    buy(bing, world.product, dt.date(2026, 2, 1), alice)
    buy(bing, training, dt.date(2026, 3, 1), alice)
    buy(ding, mobile, dt.date(2026, 3, 5), bob)
    return SimpleNamespace(training=training, mobile=mobile, bing=bing, ding=ding, buy=buy, mm=mm)


def skus(items):
    return [item.product.sku for item in items]


def test_it_recommends_what_customers_with_the_same_purchase_bought(history, world):
    # 乙公司 bought SW-1 only: the rule SW-1 → SW-2 (67 %) beats 大客户's white space for SW-2 (1 of 2 = 50 %)
    [item] = recommendations.for_customer(world.customers.b)
    assert item.product == history.training
    assert item.source == "rule"
    assert item.score == pytest.approx(2 / 3)
    assert item.reason == "67% of customers who buy CRM 套件 also buy 培训服务; lift 1.3"


def test_it_explains_in_the_readers_language(history, world):
    with translation.override("zh-hans"):
        [item] = recommendations.for_customer(world.customers.b)
        template = translation.gettext(recommend.RULE_REASON)
    assert template != recommend.RULE_REASON and "购买" in template
    # the names and figures go in as they are: any spacing around them is the catalogue's
    assert item.reason == template.format(a="CRM 套件", b="培训服务", confidence="67%", lift="1.3")


def test_a_reason_s_values_carry_no_padding():
    products = {"SW-1": SimpleNamespace(name=" CRM 套件 "), "SW-2": SimpleNamespace(name="培训服务\n")}
    reason = recommendations.render(recommend.RULE_REASON, [("a", "SW-1"), ("b", "SW-2"), ("confidence", " 67%"),
                                                            ("lift", "1.3 ")], products=products, segments={})
    assert reason == "67% of customers who buy CRM 套件 also buy 培训服务; lift 1.3"
    white = recommendations.render(recommend.WHITE_SPACE_REASON, {"b": "SW-2", "segment": "KA", "share": "50%"},
                                   products=products, segments={"KA": " 大客户 "})
    assert white == "50% of 大客户 customers buy 培训服务"


def test_it_falls_back_on_what_the_segment_buys(history):
    # 丁公司 bought SW-3, which pairs with nothing: 中型企业 buyers (丙, 丁) bought SW-1 and SW-2 one in two
    # each; equal scores are ordered by SKU
    items = recommendations.for_customer(history.ding)
    assert skus(items) == ["SW-1", "SW-2"]
    assert [i.source for i in items] == ["white_space", "white_space"]
    assert [i.reason for i in items] == ["50% of 中型企业 customers buy CRM 套件", "50% of 中型企业 customers buy 培训服务"]


def test_a_customer_sees_nothing_they_already_bought(history, world):
    bought = {world.customers.a: {"SW-1", "SW-2"}, world.customers.b: {"SW-1"}, history.bing: {"SW-1", "SW-2"},
              history.ding: {"SW-3"}}
    for customer, products in bought.items():
        assert not set(skus(recommendations.for_customer(customer, k=10))) & products, customer.name
    assert recommendations.for_customer(world.customers.a) == []  # 大客户 bought nothing else
    assert skus(recommendations.for_customer(history.bing)) == ["SW-3"]  # 丁公司's product, 1 of 2 in 中型企业


def test_a_purchase_returned_in_full_is_none(history, world):
    # 乙公司 buys SW-2 and returns it: SW-2 is still recommended to them
    line = history.buy(world.customers.b, history.training, dt.date(2026, 4, 1), world.people["bob"])
    org.order_line_create(actor=None, credits=[(world.people["bob"], D(100))], external_id="H-R", order_no="SO-HR",
                          date=dt.date(2026, 4, 9), customer=world.customers.b, product=history.training,
                          quantity=D(-1), unit_price=D("500.00"), cost=D("-200.00"), status="returned", original=line)
    assert skus(recommendations.for_customer(world.customers.b)) == ["SW-2"]


def test_as_of_uses_only_the_lines_before_it(history, world):
    # before 2026-02-01 only 甲公司 (SW-1, SW-2) and 乙公司 (SW-1) had bought: SW-1 → SW-2 is 1 of 2, lift 1.0
    # (below 1.2), so 乙公司 is offered SW-2 on 大客户's white space
    [item] = recommendations.for_customer(world.customers.b, as_of=dt.date(2026, 2, 1))
    assert (item.product.sku, item.source, item.reason) == ("SW-2", "white_space", "50% of 大客户 customers buy 培训服务")
    assert recommendations.for_customer(history.ding, as_of=dt.date(2026, 2, 1)) == []  # no 中型企业 buyer yet


def test_a_new_customer_gets_their_segments_white_space(history, world):
    # 中型企业 buyers: 丙公司 (SW-1, SW-2) and 丁公司 (SW-3): each product one in two
    new = org.customer_create(actor=None, external_id="C-N", name="新公司", segment=history.mm)
    assert skus(recommendations.for_customer(new)) == ["SW-1", "SW-2", "SW-3"]
    assert recommendations.for_customer(org.customer_create(actor=None, external_id="C-X", name="无分层")) == []


def test_the_model_is_kept_until_the_lines_change(history, world, django_assert_max_num_queries):
    recommendations.for_customer(world.customers.b)  # computes and caches the model
    with django_assert_max_num_queries(4):  # the two version checks, the segment, the products
        assert skus(recommendations.for_customer(world.customers.b)) == ["SW-2"]
    # a new line: the next call computes again and sees that 乙公司 now has SW-2
    history.buy(world.customers.b, history.training, dt.date(2026, 5, 1), world.people["bob"])
    assert recommendations.for_customer(world.customers.b) == []
    # a changed segment too: 丁公司 moved to 大客户 gets what 大客户 buys (SW-1 by 2 of 3, SW-2 by 2 of 3)
    history.ding.segment = world.segment
    history.ding.save(update_fields=["segment"])
    assert [i.reason for i in recommendations.for_customer(history.ding)] == [
        "67% of 大客户 customers buy CRM 套件", "67% of 大客户 customers buy 培训服务"]


def test_the_evaluation_command_prints_both_figures(history):
    out = StringIO()
    call_command("crm_recommend", "evaluate", "--cut", "2026-02-01", stdout=out)
    text = out.getvalue()
    # trained before 2026-02-01; 丙公司 (SW-1, SW-2) and 丁公司 (SW-3) bought something new after
    assert "before 2026-02-01" in text and "tested on 2 customer(s)" in text
    assert "recommender" in text and "popularity in segment" in text
    with pytest.raises(CommandError, match="not a date"):
        call_command("crm_recommend", "evaluate", "--cut", "2026-02-30", stdout=StringIO())


def test_the_default_cut_is_six_months_before_the_newest_line(history, world):
    assert recommendations.default_cut() == dt.date(2025, 9, 5)  # the newest line: 2026-03-05
    history.buy(world.customers.b, history.mobile, dt.date(2026, 8, 31), world.people["bob"])
    assert recommendations.default_cut() == dt.date(2026, 2, 28)


def test_the_recommender_beats_popularity_on_the_demo():
    # Given the demo company with a third of its customers and orders (the full structure, loaded in seconds)
    demo.load_demo(seed=7, size=HOLD_OUT_SIZE, today=TODAY)
    # When the recommender is trained on the lines before the default cut and tested on the purchases after it
    cut = recommendations.default_cut()
    result = recommendations.evaluate(cut)
    # Then it finds more of what customers bought next than popularity within their segment
    assert result.customers > 100
    assert result.precision > result.baseline_precision * 1.3
    assert result.recall > result.baseline_recall * 1.3


def test_the_demo_buys_follow_ons_after_their_anchor():
    # the planted structure: a customer's first CRM suite is followed, weeks to months later and in another
    # order, by training and the mobile app much more often than those are bought by everyone else
    plan = demo._Plan(42, TODAY, demo.FULL)
    plan.draw_people()
    plan.draw_customers()
    plan.draw_lines()
    first: dict[tuple[int, str], dt.date] = {}
    for line in sorted(plan.lines, key=lambda ln: ln.date):
        first.setdefault((line.customer, demo.PRODUCTS[line.product].sku), line.date)
    suite = {c: day for (c, sku), day in first.items() if sku in ("SW-CRM-STD", "SW-CRM-PRO", "SW-CRM-ENT")}
    later = [c for c, day in suite.items() if (c, "SW-CRM-MOB") in first and first[(c, "SW-CRM-MOB")] > day]
    lags = sorted((first[(c, "SW-CRM-MOB")] - suite[c]).days for c in later)
    assert len(later) / len(suite) > 0.5  # most suite buyers add the app later
    assert 30 <= lags[len(lags) // 2] <= 365  # after a lag of months
    buyers = {c for c, _sku in first}
    others = buyers - set(suite)
    assert sum((c, "SW-CRM-MOB") in first for c in others) / len(others) < 0.1  # almost nobody else buys it
