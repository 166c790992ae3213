"""The customer 360 page in the browser: a rep opens a customer with a year of purchases in two categories, sees
them drawn by ECharts and a recommended product with its reason, and adds a decision maker in place (htmx), which
the record's completeness counts at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from salesops.crm import recommendations
from salesops.org import services as org
from salesops.org.models import ProductCategory
from tests.e2e.conftest import sign_in

D = Decimal


def _sell(world, customer, ext, day, product, qty, price, cost):
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id=ext, order_no=f"SO-{ext}",
                          date=day, customer=customer, product=product, quantity=D(qty), unit_price=D(price),
                          cost=D(cost) * qty)


@pytest.fixture
def demo_like(live_world):
    """甲公司 buys the CRM suite every month of the last year and a service now and then; three key accounts
    also buy a server with the suite; two small customers buy services only."""
    world = live_world
    hardware = org.tree_node_create(actor=None, model=ProductCategory, name="硬件", code="HW")
    services = org.tree_node_create(actor=None, model=ProductCategory, name="服务", code="SVC")
    server = org.product_create(actor=None, sku="HW-1", name="服务器", category=hardware, list_price=D("5000.00"),
                                standard_cost=D("3500.00"), unit="台")
    training = org.product_create(actor=None, sku="SVC-1", name="实施培训", category=services,
                                  list_price=D("800.00"), standard_cost=D("300.00"), unit="天")
    today = timezone.localdate()
    a = world.customers.a
    for n in range(1, 12):
        day = today - dt.timedelta(days=30 * n)
        _sell(world, a, f"A-SW-{n}", day, world.product, 1 + n % 3, "1000.00", "400.00")
        if n % 4 == 0:
            _sell(world, a, f"A-SVC-{n}", day, training, 2, "800.00", "300.00")
    for n in range(3):
        key = org.customer_create(actor=None, external_id=f"K-{n}", name=f"大客户{n}", segment=world.segment,
                                  owner=world.people["amy"])
        _sell(world, key, f"K-{n}-SW", today - dt.timedelta(days=40), world.product, 2, "1000.00", "400.00")
        _sell(world, key, f"K-{n}-HW", today - dt.timedelta(days=40), server, 1, "5000.00", "3500.00")
    for n in range(2):
        small = org.customer_create(actor=None, external_id=f"S-{n}", name=f"小客户{n}", owner=world.people["amy"])
        _sell(world, small, f"S-{n}-SVC", today - dt.timedelta(days=20), training, 1, "800.00", "300.00")
    recommendations.clear_cache()
    return world


def test_a_rep_reads_a_customers_360_page_and_adds_a_contact(demo_like, live_server, page, screenshot):
    base = live_server.url
    sign_in(page, base, "alice")
    page.click("aside.sidebar a[href='/crm/customers/']")
    page.click("text=甲公司")
    page.wait_for_selector("[data-testid=customer-name]")
    # the purchases, stacked by category, drawn by ECharts
    page.wait_for_selector("#purchases-chart canvas")
    # the server, bought with the suite by 3 of the 5 buyers of the suite, with the reason in Chinese
    row = page.locator("[data-testid=recommendation][data-sku='HW-1']")
    assert row.count() == 1
    reason = row.locator("[data-testid=recommendation-reason]").text_content()
    assert "CRM 套件" in reason and "服务器" in reason and "60%" in reason
    assert page.text_content("[data-testid=completeness-pct]").strip() == "38%"
    # a decision maker, added in place
    page.click("[data-testid=contact-add]")
    form = page.locator("[data-testid=contact-form]")
    form.wait_for()
    form.locator("input[name=name]").fill("钱总")
    form.locator("select[name=role]").select_option("decision_maker")
    form.locator("input[name=phone]").fill("+86 138-0000-0000")
    form.locator("input[name=primary]").check()
    url = page.url
    page.click("[data-testid=contact-save]")
    page.wait_for_selector("[data-testid=contact] >> text=钱总")
    assert page.url == url  # no reload: htmx swapped the section
    assert page.locator("[data-testid=contact-form]").count() == 0
    assert page.text_content("[data-testid=completeness-pct]").strip() == "75%"  # contacts, reachable, decision maker
    screenshot(page, "customer-360-alice-zh")
    # a bad email is named on its field, in place
    page.click("[data-testid=contact-add]")
    page.locator("[data-testid=contact-form] input[name=name]").fill("孙经理")
    page.locator("[data-testid=contact-form] input[name=email]").fill("不是邮箱")
    page.click("[data-testid=contact-save]")
    page.wait_for_selector("[data-testid=error-email]")
    bob_customer = demo_like.customers.b
    assert page.goto(f"{base}/crm/customers/{bob_customer.pk}/").status == 404
