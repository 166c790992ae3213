"""The kanban board in the browser: Alice drags her lead to Proposal, whose required fields it lacks; the card goes
back and the refusal names the missing fields; she fills exactly those in the form it offers, and the card lands in
Proposal with the column's totals updated — nothing saved in between."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.crm import services as crm
from salesops.crm.models import Contact, ContactRole, Opportunity, StageChange
from tests.e2e.conftest import sign_in

D = Decimal


@pytest.fixture
def live_pipeline(live_world):
    make = crm.stage_create
    stages = {
        "lead": make(actor=None, code="lead", name="Lead", probability=D(10)),
        "proposal": make(actor=None, code="proposal", name="Proposal", probability=D(50),
                         required_fields=["amount", "expected_close", "decision_maker"]),
        "won": make(actor=None, code="won", name="Won", probability=D(100), is_won=True),
        "lost": make(actor=None, code="lost", name="Lost", is_lost=True),
    }
    boss = Contact.objects.create(customer=live_world.customers.a, name="钱总", role=ContactRole.DECISION_MAKER)
    deal = crm.opportunity_create(actor=None, customer=live_world.customers.a, owner=live_world.people["alice"],
                                  name="甲公司 CRM")
    return stages, boss, deal


@pytest.fixture
def english_page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def test_a_refused_drag_names_the_missing_fields_and_the_card_lands_once_they_are_filled(
        live_world, live_pipeline, live_server, english_page, screenshot):
    stages, boss, deal = live_pipeline
    page = english_page
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/crm/pipeline/")
    card = f"[data-testid=card-{deal.pk}]"
    page.wait_for_selector(f"[data-testid=column-lead] {card}")

    # Given a lead without amount, expected close or decision maker, when Alice drags it to Proposal
    page.locator(card).drag_to(page.locator("[data-testid=column-proposal] .kcards"))
    # then the board refuses, naming each missing field, and the card is back in Lead
    page.wait_for_selector("[data-testid=move-refused]")
    message = page.text_content("[data-testid=move-message]")
    for field in ("amount", "expected close date", "decision maker"):
        assert field in message
    assert page.locator(f"[data-testid=column-lead] {card}").count() == 1
    assert page.locator(f"[data-testid=column-proposal] {card}").count() == 0
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["lead"]
    screenshot(page, "kanban-refused-en")

    # the form asks for exactly those fields; she fills them and moves the deal again
    form = page.locator("[data-testid=move-form]")
    assert sorted(form.locator("[data-field]").evaluate_all("ps => ps.map(p => p.dataset.field)")) == [
        "amount", "decision_maker", "expected_close"]
    form.locator("input[name=amount]").fill("120000")
    form.locator("input[name=expected_close]").fill("2026-12-31")
    form.locator("select[name=decision_maker]").select_option(str(boss.pk))
    form.locator("button[type=submit]").click()

    # the card lands in Proposal, the panel closes, the column's totals follow
    page.wait_for_selector(f"[data-testid=column-proposal] {card}")
    assert page.locator(f"[data-testid=column-lead] {card}").count() == 0
    assert page.locator("[data-testid=move-panel]").is_hidden()
    proposal = page.locator("[data-testid=column-proposal]")
    assert proposal.locator("[data-total=count]").text_content() == "1"
    assert proposal.locator("[data-total=amount]").text_content() == "¥120,000.00"
    assert proposal.locator("[data-total=weighted]").text_content() == "¥60,000.00"
    assert page.locator("[data-testid=column-lead] [data-total=count]").text_content() == "0"
    assert "¥120,000.00" in page.text_content(card)
    saved = Opportunity.objects.get(pk=deal.pk)
    assert (saved.stage, saved.amount, saved.expected_close, saved.decision_maker) == (
        stages["proposal"], D("120000.00"), dt.date(2026, 12, 31), boss)
    moves = list(StageChange.objects.filter(opportunity=deal).values_list("to_stage__code", "actor__username"))
    assert moves == [("lead", None), ("proposal", "alice")]
    screenshot(page, "kanban-landed-en")


def test_the_board_in_chinese_and_a_lost_card_asks_for_its_reason(live_world, live_pipeline, live_server, page,
                                                                  screenshot):
    stages, _boss, deal = live_pipeline
    sign_in(page, live_server.url, "carol")  # the manager moves a deal of her team
    page.goto(f"{live_server.url}/crm/pipeline/")
    card = f"[data-testid=card-{deal.pk}]"
    page.locator(card).drag_to(page.locator("[data-testid=column-lost] .kcards"))
    page.wait_for_selector("[data-testid=move-form] [data-field=lost_reason]")
    assert page.locator(f"[data-testid=column-lead] {card}").count() == 1
    page.fill("[data-testid=move-form] input[name=lost_reason]", "预算取消")
    page.click("[data-testid=move-form] button[type=submit]")
    page.wait_for_selector(f"[data-testid=column-lost] {card}")
    saved = Opportunity.objects.get(pk=deal.pk)
    assert (saved.stage, saved.lost_reason) == (stages["lost"], "预算取消")
    screenshot(page, "kanban-carol-zh")
