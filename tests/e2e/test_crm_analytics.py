"""Sales-process analytics in the browser: ops opens the overview on a few weeks of deals, the funnel chart is
drawn, and a number leads to exactly the deals behind it; a click on a funnel stage does the same. A rep sees
the page in Chinese with their own line and the company benchmark."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from salesops.crm import services as crm
from salesops.crm.models import Contact, ContactRole
from tests.e2e.conftest import sign_in

D = Decimal


@pytest.fixture
def live_deals(live_world):
    """Five deals over the last three weeks: Alice wins one and loses one, Amy has one in Proposal, Bob wins one
    and has a lead."""
    world = live_world
    make = crm.stage_create
    stages = {
        "lead": make(actor=None, code="lead", name="Lead", probability=D(10)),
        "qualified": make(actor=None, code="qualified", name="Qualified", probability=D(25)),
        "proposal": make(actor=None, code="proposal", name="Proposal", probability=D(50)),
        "won": make(actor=None, code="won", name="Won", probability=D(100), is_won=True),
        "lost": make(actor=None, code="lost", name="Lost", is_lost=True, required_fields=["lost_reason"]),
    }
    Contact.objects.create(customer=world.customers.a, name="钱总", role=ContactRole.DECISION_MAKER)
    now = timezone.now()
    start = now - dt.timedelta(days=21)

    def deal(owner, name, path, **fields):
        customer = world.customers.b if owner == "bob" else world.customers.a
        opp = crm.opportunity_create(actor=None, customer=customer, owner=world.people[owner], name=name,
                                     at=start, **fields)
        for day, stage in enumerate(path, start=1):
            extra = {"lost_reason": "价格"} if stage == "lost" else {}
            opp = crm.opportunity_move(actor=None, opportunity=opp, stage=stages[stage],
                                       at=start + dt.timedelta(days=2 * day), **extra)
        return opp

    amount = {"amount": D("10000.00"), "expected_close": timezone.localdate(now) + dt.timedelta(days=20)}
    deals = {
        "won": deal("alice", "甲公司 CRM 赢单", ["qualified", "proposal", "won"], **amount),
        "lost": deal("alice", "甲公司 BI 丢单", ["qualified", "lost"], **amount),
        "amy": deal("amy", "甲公司 ERP 方案", ["qualified", "proposal"], **amount),
        "bob": deal("bob", "乙公司 CRM 赢单", ["qualified", "proposal", "won"], **amount),
        "lead": deal("bob", "乙公司 线索", []),
    }
    return timezone.localdate(start), timezone.localdate(now), deals


def test_ops_sees_the_funnel_drawn_and_clicks_a_number_into_its_deals(live_deals, live_server, page, screenshot):
    start, today, deals = live_deals
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/crm/analytics/?by=owner&start={start}&end={today}")
    page.wait_for_selector("#chart-funnel[data-drawn='1'] canvas")
    box = page.locator("#chart-funnel canvas").first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200
    assert page.text_content("[data-testid=created-company-none]").strip() == "5"
    screenshot(page, "analytics-ops-zh")

    # the company's won deals: Alice's and Bob's wins, nothing else
    page.click("[data-testid=won-company-none]")
    page.wait_for_selector("[data-testid=deal-count]")
    assert re.match(r"\s*2\b", page.text_content("[data-testid=deal-count]"))
    listed = page.text_content("#list")
    assert deals["won"].name in listed and deals["bob"].name in listed
    assert deals["lost"].name not in listed and deals["amy"].name not in listed

    # a deal leads to its page
    page.click(f"text={deals['won'].name}")
    page.wait_for_url(f"**/crm/opportunities/{deals['won'].pk}/")


def test_a_click_on_a_funnel_stage_lists_the_deals_that_reached_it(live_deals, live_server, page):
    start, today, deals = live_deals
    sign_in(page, live_server.url, "olivia")
    page.goto(f"{live_server.url}/crm/analytics/funnel/?by=team&start={start}&end={today}")
    page.wait_for_selector("#chart-funnel[data-drawn='1'] canvas")
    # four bands (Lead, Qualified, Proposal, Won) between 10 px margins: a click in the third opens its deals
    canvas = page.locator("#chart-funnel canvas").first
    box = canvas.bounding_box()
    with page.expect_navigation():
        canvas.click(position={"x": box["width"] / 2, "y": 10 + (box["height"] - 20) * 2.5 / 4})
    listed = page.text_content("#list")
    assert page.text_content("[data-testid=figure]").count("Proposal") == 1
    assert {d.name for d in deals.values() if d.name in listed} == {
        deals["won"].name, deals["amy"].name, deals["bob"].name}


def test_a_rep_sees_their_line_and_the_benchmark_in_chinese(live_deals, live_server, page, screenshot):
    start, today, deals = live_deals
    sign_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}/crm/analytics/?by=owner&start={start}&end={today}")
    page.wait_for_selector("#chart-funnel[data-drawn='1'] canvas")
    table = page.text_content("[data-testid=overview]")
    assert "张伟" in table and "李丽" not in table
    assert page.locator("[data-testid=created-company-none]").count() == 0  # the benchmark: a figure, no link
    assert "期间" in page.text_content("[data-testid=analytics-form]")
    screenshot(page, "analytics-bob-zh")
