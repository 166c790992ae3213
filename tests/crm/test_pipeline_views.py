"""The pipeline pages: the kanban board and its move endpoint (success, refusal naming the missing fields with
nothing saved, the retry with those fields), the opportunity list with its filters and export, a deal's page, the
new/edit forms and the stage configuration — each with who may and who may not (404 for someone else's deal,
403 for a role that has no such page, finance reads but never changes)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from salesops.core.models import AuditEvent
from salesops.crm import services as crm
from salesops.crm.models import (
    Opportunity,
    OpportunityProduct,
    Quote,
    Stage,
    StageChange,
)
from tests.crm.conftest import T0

D = Decimal
JSON = {"HTTP_ACCEPT": "application/json"}


def as_user(user, language: str = "en") -> Client:
    """A client of its own per user, speaking ``language``."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def move_url(deal) -> str:
    return reverse("crm:opportunity-move", args=[deal.pk])


def fresh(deal) -> Opportunity:
    return Opportunity.objects.get(pk=deal.pk)


@pytest.fixture
def deal_b(world, stages):
    """Bob's deal with 乙公司 (team B), qualified, ¥20,000."""
    return crm.opportunity_create(actor=None, customer=world.customers.b, owner=world.people["bob"], name="乙公司 ERP",
                                  stage=stages.qualified, amount=D("20000.00"), expected_close=dt.date(2026, 9, 30),
                                  at=T0)


@pytest.fixture
def deal_amy(world, stages):
    """Amy's deal (team A) with 甲公司 in Proposal, ¥50,000, closing 2026-06-30."""
    contact = crm.contact_create(actor=None, customer=world.customers.a, name="赵总")
    return crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["amy"], name="甲公司 BI",
                                  stage=stages.proposal, amount=D("50000.00"), expected_close=dt.date(2026, 6, 30),
                                  decision_maker=contact, source="展会", competitor="友商", at=T0)


# -- the board ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_board_shows_a_column_per_active_stage_with_totals(deal_a, deal_amy, stages, manager_carol, language):
    crm.stage_update(actor=None, stage=stages.lost, active=False)
    page = as_user(manager_carol, language).get(reverse("crm:pipeline"))
    assert page.status_code == 200
    html = page.content.decode()
    columns = [c.stage.code for c in page.context["columns"]]
    assert columns == ["lead", "qualified", "proposal", "won"]  # ordered, the inactive one left out
    proposal = page.context["columns"][2]
    assert (proposal.count, proposal.amount, proposal.weighted) == (1, D("50000.00"), D("25000.00"))
    assert "¥50,000.00" in html and "¥25,000.00" in html  # amount and weighted (50 %)
    assert f'data-testid="card-{deal_a.pk}"' in html and f'data-testid="card-{deal_amy.pk}"' in html
    assert "甲公司 BI" in html and "周敏" in html and "2026-06-30" in html  # name, owner, expected close
    assert 'data-can-move="1"' in html and "vendor/sortablejs/Sortable.min.js" in html


@pytest.fixture
def zh_separator(monkeypatch):
    """The zh catalogue's list separator as its translators give it ("、"), compiled or not yet."""
    from django.utils.translation import trans_real

    catalog = trans_real.translation("zh-hans")._catalog._catalogs[0]
    monkeypatch.setitem(catalog, "list separator\x04, ", "、")
    return "、"


def test_a_column_lists_what_its_stage_needs_with_the_language_s_separator(deal_a, stages, manager_carol,
                                                                             zh_separator):
    page = as_user(manager_carol, "zh-hans").get(reverse("crm:pipeline"))
    proposal = next(c for c in page.context["columns"] if c.stage.code == "proposal")
    assert len(proposal.needs) > 1
    assert f"{zh_separator.join(str(n) for n in proposal.needs)}</div>" in page.content.decode()
    english = as_user(manager_carol).get(reverse("crm:pipeline")).content.decode()
    assert "Needs: amount, expected close date, decision maker</div>" in english


def test_a_card_says_how_many_days_the_deal_has_been_in_its_stage(deal_a, rep_alice):
    page = as_user(rep_alice).get(reverse("crm:pipeline"))
    card = next(c for col in page.context["columns"] for c in col.cards if c.id == deal_a.pk)
    from django.utils import timezone

    assert card.days == (timezone.localdate() - timezone.localdate(T0)).days
    assert f"Days in stage: {card.days}" in page.content.decode()


def queries_of(client, url: str) -> int:
    """The SQL statements one request runs (counted on the connection: a request clears Django's query log)."""
    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        assert client.get(url).status_code == 200
    return count


def test_the_board_reads_its_cards_in_a_fixed_number_of_queries(world, stages, rep_alice):
    client = as_user(rep_alice)
    for i in range(3):
        crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"], name=f"d{i}")
    few = queries_of(client, reverse("crm:pipeline"))
    for i in range(40):
        crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"], name=f"e{i}",
                               stage=stages.qualified, expected_close=dt.date(2026, 12, 1), amount=D(i))
    assert queries_of(client, reverse("crm:pipeline")) == few <= 15
    page = client.get(reverse("crm:pipeline"))
    assert sum(c.count for c in page.context["columns"]) == 43


def test_won_and_lost_columns_show_only_recent_closes(deal_a, stages, world, rep_alice):
    old = crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"], name="old win",
                                 stage=stages.won, amount=D("1.00"), at=T0 - dt.timedelta(days=400))
    recent = crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"],
                                    name="recent loss", stage=stages.lost, lost_reason="价格")
    page = as_user(rep_alice).get(reverse("crm:pipeline"))
    ids = {c.id for col in page.context["columns"] for c in col.cards}
    assert recent.pk in ids and deal_a.pk in ids and old.pk not in ids


def test_the_board_filters_by_owner_team_and_customer(deal_a, deal_amy, deal_b, director_victor, world):
    client = as_user(director_victor)

    def ids(**params):
        page = client.get(reverse("crm:pipeline"), params)
        return {c.id for col in page.context["columns"] for c in col.cards}

    assert ids() == {deal_a.pk, deal_amy.pk, deal_b.pk}
    assert ids(owner=world.people["amy"].pk) == {deal_amy.pk}
    assert ids(team=world.teams.a.pk) == {deal_a.pk, deal_amy.pk}
    assert ids(team=world.teams.root.pk) == {deal_a.pk, deal_amy.pk, deal_b.pk}  # with sub-teams
    assert ids(customer="乙") == {deal_b.pk}
    assert ids(customer="C-A") == {deal_a.pk, deal_amy.pk}  # the customer number too


def test_an_htmx_filter_gets_only_the_board(deal_a, rep_alice):
    page = as_user(rep_alice).get(reverse("crm:pipeline"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board")
    html = page.content.decode()
    assert html.startswith('<div id="board"') and "<html" not in html


def test_each_sees_only_their_deals_on_the_board(deal_a, deal_amy, deal_b, rep_bob, manager_erin, manager_carol):
    def ids(user):
        page = as_user(user).get(reverse("crm:pipeline"))
        return {c.id for col in page.context["columns"] for c in col.cards}

    assert ids(rep_bob) == {deal_b.pk}
    assert ids(manager_erin) == {deal_b.pk}
    assert ids(manager_carol) == {deal_a.pk, deal_amy.pk}


def test_finance_reads_the_board_without_dragging_and_hr_has_none(deal_a, finance_dan, hr_henry, client):
    page = as_user(finance_dan).get(reverse("crm:pipeline"))
    assert page.status_code == 200 and f'data-testid="card-{deal_a.pk}"' in page.content.decode()
    assert 'data-can-move="0"' in page.content.decode() and "crm/kanban.js" not in page.content.decode()
    assert as_user(hr_henry).get(reverse("crm:pipeline")).status_code == 403
    assert client.get(reverse("crm:pipeline"))["Location"].startswith(reverse("login"))


# -- moves from the board ---------------------------------------------------------------------------------------
def test_a_move_from_the_board_is_saved_with_its_actor_and_new_totals(deal_a, stages, rep_alice):
    crm.opportunity_update(actor=None, opportunity=deal_a, amount=D("8000.00"), expected_close=dt.date(2026, 5, 1))
    answer = as_user(rep_alice).post(move_url(deal_a), {"stage": stages.qualified.pk, "board_query": ""}, **JSON)
    assert answer.status_code == 200
    data = answer.json()
    assert data["ok"] and data["stage"] == stages.qualified.pk
    assert f'data-testid="card-{deal_a.pk}"' in data["card"] and "Days in stage: 0" in data["card"]
    assert data["columns"][str(stages.qualified.pk)] == {"count": 1, "amount": "¥8,000.00", "weighted": "¥2,000.00"}
    assert data["columns"][str(stages.lead.pk)]["count"] == 0
    last = StageChange.objects.filter(opportunity=deal_a).latest("changed_at")
    assert (last.from_stage, last.to_stage, last.actor) == (stages.lead, stages.qualified, rep_alice)
    assert fresh(deal_a).stage == stages.qualified


def test_the_totals_after_a_move_follow_the_board_filters(deal_a, deal_amy, stages, manager_carol, world):
    crm.opportunity_update(actor=None, opportunity=deal_a, expected_close=dt.date(2026, 5, 1))
    answer = as_user(manager_carol).post(move_url(deal_a), {
        "stage": stages.qualified.pk, "board_query": f"owner={world.people['alice'].pk}"}, **JSON)
    columns = answer.json()["columns"]
    assert columns[str(stages.proposal.pk)]["count"] == 0  # Amy's deal is filtered out
    assert columns[str(stages.qualified.pk)]["count"] == 1


def test_a_refused_move_names_every_missing_field_and_saves_nothing(deal_a, stages, rep_alice):
    audit_before = AuditEvent.objects.count()
    answer = as_user(rep_alice).post(move_url(deal_a), {"stage": stages.proposal.pk, "amount": "5000"}, **JSON)
    assert answer.status_code == 422
    data = answer.json()
    assert not data["ok"] and data["missing"] == ["expected_close", "decision_maker"]
    assert data["missing_labels"] == ["expected close date", "decision maker"]
    assert data["errors"]["decision_maker"] == ["Stage Proposal needs decision maker."]
    html = data["html"]
    assert "甲公司 CRM cannot enter Proposal yet: it needs expected close date, decision maker." in html
    # the form asks for the missing fields, keeps the one typed, and carries the stage to retry
    assert 'name="expected_close"' in html and 'name="decision_maker"' in html
    assert 'name="amount" value="5000"' in html
    assert 'name="lost_reason"' not in html and 'name="competitor"' not in html
    assert f'name="stage" value="{stages.proposal.pk}"' in html
    # nothing half-saved: not the stage, not the amount given with it, no history row, no audit row
    deal = fresh(deal_a)
    assert (deal.stage, deal.amount) == (stages.lead, None)
    assert StageChange.objects.filter(opportunity=deal_a).count() == 1
    assert AuditEvent.objects.count() == audit_before


def test_the_refusal_form_fills_the_missing_fields_and_the_deal_moves(deal_a, stages, rep_alice, boss_a):
    client = as_user(rep_alice)
    refused = client.post(move_url(deal_a), {"stage": stages.proposal.pk}, **JSON).json()
    assert refused["missing"] == ["amount", "expected_close", "decision_maker"]
    # a retry that still lacks one is refused again, naming only that one, the values typed kept in the form
    again = client.post(move_url(deal_a), {"stage": stages.proposal.pk, "amount": "120000",
                                           "expected_close": "2026-04-30"}, **JSON)
    assert again.status_code == 422 and again.json()["missing"] == ["decision_maker"]
    assert 'value="120000"' in again.json()["html"]
    assert fresh(deal_a).amount is None
    done = client.post(move_url(deal_a), {"stage": stages.proposal.pk, "amount": "120000",
                                          "expected_close": "2026-04-30", "decision_maker": boss_a.pk}, **JSON)
    assert done.status_code == 200 and done.json()["ok"]
    deal = fresh(deal_a)
    assert (deal.stage, deal.amount, deal.expected_close, deal.decision_maker) == (
        stages.proposal, D("120000.00"), dt.date(2026, 4, 30), boss_a)


def test_a_refusal_in_chinese_lists_the_missing_fields_with_the_chinese_separator(deal_a, stages, rep_alice,
                                                                                   zh_separator):
    answer = as_user(rep_alice, "zh-hans").post(move_url(deal_a), {"stage": stages.proposal.pk}, **JSON)
    data = answer.json()
    assert len(data["missing_labels"]) == 3
    assert zh_separator.join(data["missing_labels"]) in data["html"]
    assert ", " not in data["html"]


def test_a_won_deal_needs_an_amount_and_a_lost_one_its_reason(deal_a, stages, rep_alice):
    client = as_user(rep_alice)
    won = client.post(move_url(deal_a), {"stage": stages.won.pk}, **JSON)
    assert won.status_code == 422 and won.json()["missing"] == ["amount"]
    # a lost stage asks for the reason even when ops did not list it
    crm.stage_update(actor=None, stage=stages.lost, required_fields=[])
    lost = client.post(move_url(deal_a), {"stage": stages.lost.pk}, **JSON)
    assert lost.status_code == 422 and lost.json()["missing"] == ["lost_reason"]
    assert 'name="lost_reason"' in lost.json()["html"]
    assert client.post(move_url(deal_a), {"stage": stages.lost.pk, "lost_reason": "预算取消"}, **JSON).json()["ok"]
    deal = fresh(deal_a)
    assert (deal.status, deal.lost_reason) == ("lost", "预算取消")


def test_a_stage_that_needs_products_gets_them_with_the_move(deal_a, stages, world, ops_olivia, rep_alice):
    demo = crm.stage_create(actor=ops_olivia, code="demo", name="Demo", position=15, required_fields=["products"])
    client = as_user(rep_alice)
    refused = client.post(move_url(deal_a), {"stage": demo.pk}, **JSON)
    assert refused.json()["missing"] == ["products"]
    assert 'name="product"' in refused.json()["html"] and 'name="quantity"' in refused.json()["html"]
    # a bad quantity is refused with nothing kept
    bad = client.post(move_url(deal_a), {"stage": demo.pk, "product": world.product.pk, "quantity": "0"}, **JSON)
    assert bad.status_code == 422 and not OpportunityProduct.objects.exists()
    ok = client.post(move_url(deal_a), {"stage": demo.pk, "product": world.product.pk, "quantity": "3"}, **JSON)
    assert ok.json()["ok"]
    assert list(OpportunityProduct.objects.values_list("product_id", "quantity")) == [(world.product.pk, D(3))]


def test_moving_to_the_stage_it_is_in_or_a_bad_value_is_refused_by_name(deal_a, stages, rep_alice):
    same = as_user(rep_alice).post(move_url(deal_a), {"stage": stages.lead.pk}, **JSON)
    assert same.status_code == 422 and "already in stage Lead" in same.json()["html"]
    bad = as_user(rep_alice).post(move_url(deal_a), {"stage": stages.proposal.pk, "amount": "lots"}, **JSON)
    assert bad.status_code == 422 and "amount" in bad.json()["errors"]
    assert fresh(deal_a).stage == stages.lead


def test_without_script_a_refusal_is_a_page_with_the_form_and_a_move_redirects(deal_a, stages, rep_alice):
    client = as_user(rep_alice)
    refused = client.post(move_url(deal_a), {"stage": stages.qualified.pk})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "it needs expected close date" in html and 'data-testid="move-form"' in html and "<html" in html
    moved = client.post(move_url(deal_a), {"stage": stages.qualified.pk, "expected_close": "2026-05-31"})
    assert moved.status_code == 302 and moved["Location"] == reverse("crm:opportunity", args=[deal_a.pk])
    assert fresh(deal_a).stage == stages.qualified
    assert client.get(moved["Location"]).status_code == 200


@pytest.mark.parametrize(("persona", "status"), [
    ("rep_bob", 404), ("manager_erin", 404), ("hr_henry", 403), ("finance_dan", 403),
])
def test_outsiders_cannot_move_a_deal(deal_a, stages, request, persona, status):
    client = as_user(request.getfixturevalue(persona))
    answer = client.post(move_url(deal_a), {"stage": stages.lost.pk, "lost_reason": "x"}, **JSON)
    assert answer.status_code == status
    assert fresh(deal_a).stage == stages.lead and StageChange.objects.filter(opportunity=deal_a).count() == 1


def test_a_manager_moves_a_deal_of_the_team(deal_a, stages, manager_carol):
    answer = as_user(manager_carol).post(move_url(deal_a), {"stage": stages.lost.pk, "lost_reason": "x"}, **JSON)
    assert answer.json()["ok"]
    assert StageChange.objects.filter(opportunity=deal_a).latest("changed_at").actor == manager_carol


def test_a_move_is_a_post(deal_a, rep_alice):
    assert as_user(rep_alice).get(move_url(deal_a)).status_code == 405


# -- the list ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_list_renders(deal_a, deal_amy, manager_carol, language):
    page = as_user(manager_carol, language).get(reverse("crm:opportunities"))
    assert page.status_code == 200
    assert "甲公司 CRM" in page.content.decode() and "甲公司 BI" in page.content.decode()


def test_the_list_filters(deal_a, deal_amy, deal_b, stages, director_victor, world):
    client = as_user(director_victor)
    crm.opportunity_move(actor=None, opportunity=deal_a, stage=stages.lost, lost_reason="价格", at=T0 + dt.timedelta(1))

    def names(**params):
        page = client.get(reverse("crm:opportunities"), params)
        return sorted(row[0]["text"] for row in page.context["rows"])

    assert names() == ["乙公司 ERP", "甲公司 BI", "甲公司 CRM"]
    assert names(stage=stages.proposal.pk) == ["甲公司 BI"]
    assert names(status="lost") == ["甲公司 CRM"]
    assert names(status="open") == ["乙公司 ERP", "甲公司 BI"]
    assert names(owner=world.people["bob"].pk) == ["乙公司 ERP"]
    assert names(team=world.teams.a.pk) == ["甲公司 BI", "甲公司 CRM"]
    assert names(customer="乙公司") == ["乙公司 ERP"]
    assert names(close_from="2026-07-01") == ["乙公司 ERP"]
    assert names(close_to="2026-07-01") == ["甲公司 BI"]
    assert names(amount_min="30000") == ["甲公司 BI"]
    assert names(amount_min="10000", amount_max="30000") == ["乙公司 ERP"]
    assert names(q="BI") == ["甲公司 BI"]


def test_the_list_exports_what_it_shows(deal_a, deal_amy, deal_b, manager_carol):
    answer = as_user(manager_carol).get(reverse("crm:opportunities"), {"format": "csv", "sort": "name"})
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Opportunity", "Customer", "Stage"]
    assert sorted(r[0] for r in rows[1:]) == ["甲公司 BI", "甲公司 CRM"]  # not Bob's


def test_the_list_is_not_for_hr(hr_henry):
    assert as_user(hr_henry).get(reverse("crm:opportunities")).status_code == 403


# -- a deal's page ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_deal_shows_its_fields_products_history_activities_and_quotes(deal_a, stages, world, rep_alice, boss_a,
                                                                         language):
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.qualified, at=T0 + dt.timedelta(hours=1),
                         expected_close=dt.date(2026, 4, 30))
    crm.opportunity_update(actor=rep_alice, opportunity=deal_a, products=[(world.product, D(2))], source="转介绍")
    crm.activity_create(actor=rep_alice, kind="call", subject="需求沟通", customer=world.customers.a,
                        owner=world.people["alice"], opportunity=deal_a)
    Quote.objects.create(number="Q-0001", customer=world.customers.a, opportunity=deal_a, owner=world.people["alice"],
                         created_at=T0)
    page = as_user(rep_alice, language).get(reverse("crm:opportunity", args=[deal_a.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("甲公司 CRM", "转介绍", "2026-04-30", "SW-1", "需求沟通", "Q-0001", "Alice"):
        assert text in html
    history = [(c.from_stage_id, c.to_stage_id) for c in page.context["history"]]
    assert history == [(None, stages.lead.pk), (stages.lead.pk, stages.qualified.pk)]
    assert reverse("crm:opportunity-edit", args=[deal_a.pk]) in html and 'data-testid="move-to"' in html


@pytest.mark.parametrize(("persona", "status"), [
    ("rep_bob", 404), ("manager_erin", 404), ("hr_henry", 403), ("finance_dan", 200), ("manager_carol", 200),
])
def test_who_opens_a_deal(deal_a, request, persona, status):
    page = as_user(request.getfixturevalue(persona)).get(reverse("crm:opportunity", args=[deal_a.pk]))
    assert page.status_code == status
    if persona == "finance_dan":  # reads, but is offered no change
        html = page.content.decode()
        assert reverse("crm:opportunity-edit", args=[deal_a.pk]) not in html and 'data-testid="move-to"' not in html


def test_an_unknown_deal_is_a_404(rep_alice, stages):
    assert as_user(rep_alice).get(reverse("crm:opportunity", args=[999999])).status_code == 404


# -- new and edit -----------------------------------------------------------------------------------------------
def test_a_rep_creates_a_deal_with_products(stages, world, rep_alice):
    client = as_user(rep_alice)
    page = client.get(reverse("crm:opportunity-new"))
    assert page.status_code == 200
    form = page.context["form"]
    assert list(form.fields["customer"].queryset) == [world.customers.a]  # only her customers
    assert list(form.fields["owner"].queryset) == [world.people["alice"]]  # only herself
    answer = client.post(reverse("crm:opportunity-new"), {
        "name": "甲公司 扩容", "customer": world.customers.a.pk, "owner": world.people["alice"].pk,
        "amount": "30000", "source": "老客户", "product_0": world.product.pk, "quantity_0": "2"})
    deal = Opportunity.objects.get(name="甲公司 扩容")
    assert answer["Location"] == reverse("crm:opportunity", args=[deal.pk])
    assert (deal.stage, deal.amount, deal.source) == (stages.lead, D("30000.00"), "老客户")
    assert list(deal.products.values_list("product_id", "quantity")) == [(world.product.pk, D(2))]


def test_a_new_deal_in_a_stage_without_its_fields_is_refused_on_the_fields(stages, world, rep_alice):
    answer = as_user(rep_alice).post(reverse("crm:opportunity-new"), {
        "name": "x", "customer": world.customers.a.pk, "owner": world.people["alice"].pk, "stage": stages.proposal.pk})
    assert answer.status_code == 200
    errors = answer.context["form"].errors
    assert errors["amount"] == ["Stage Proposal needs amount."]
    assert set(errors) == {"amount", "expected_close", "decision_maker"}
    assert not Opportunity.objects.exists()


def test_a_rep_cannot_create_for_someone_else_or_on_another_customer(stages, world, rep_bob):
    answer = as_user(rep_bob).post(reverse("crm:opportunity-new"), {
        "name": "x", "customer": world.customers.a.pk, "owner": world.people["alice"].pk})
    assert set(answer.context["form"].errors) == {"customer", "owner"}
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize(("persona", "status"), [("finance_dan", 403), ("hr_henry", 403)])
def test_finance_and_hr_create_no_deal(stages, world, request, persona, status):
    client = as_user(request.getfixturevalue(persona))
    assert client.get(reverse("crm:opportunity-new")).status_code == status
    assert client.post(reverse("crm:opportunity-new"), {
        "name": "x", "customer": world.customers.a.pk, "owner": world.people["alice"].pk}).status_code == status
    assert not Opportunity.objects.exists()


def test_a_rep_edits_a_deal_and_errors_name_the_field(deal_a, stages, rep_alice, world):
    client = as_user(rep_alice)
    crm.opportunity_move(actor=None, opportunity=deal_a, stage=stages.qualified, expected_close=dt.date(2026, 5, 1),
                         at=T0 + dt.timedelta(hours=1))
    page = client.get(reverse("crm:opportunity-edit", args=[deal_a.pk]))
    assert page.status_code == 200 and page.context["form"]["expected_close"].value() == dt.date(2026, 5, 1)
    base = {"name": "甲公司 CRM 二期", "owner": world.people["alice"].pk, "amount": "9000"}
    cleared = client.post(reverse("crm:opportunity-edit", args=[deal_a.pk]), base)  # no expected close
    assert cleared.context["form"].errors["expected_close"] == ["Stage Qualified needs expected close date."]
    assert fresh(deal_a).name == "甲公司 CRM"
    early = client.post(reverse("crm:opportunity-edit", args=[deal_a.pk]), {**base, "expected_close": "2026-01-01"})
    assert "before the deal was created" in early.context["form"].errors["expected_close"][0]
    saved = client.post(reverse("crm:opportunity-edit", args=[deal_a.pk]), {**base, "expected_close": "2026-06-01"})
    assert saved.status_code == 302
    deal = fresh(deal_a)
    assert (deal.name, deal.amount, deal.expected_close) == ("甲公司 CRM 二期", D("9000.00"), dt.date(2026, 6, 1))


def test_editing_keeps_every_product_line(deal_a, rep_alice, world):
    from salesops.org import services as org

    products = [world.product] + [org.product_create(actor=None, sku=f"P{i}", name=f"P{i}", category=world.category,
                                                     list_price=D(1), standard_cost=D(0)) for i in range(6)]
    crm.opportunity_update(actor=None, opportunity=deal_a, products=[(p, D(1)) for p in products])
    client = as_user(rep_alice)
    form = client.get(reverse("crm:opportunity-edit", args=[deal_a.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, "")}
    assert client.post(reverse("crm:opportunity-edit", args=[deal_a.pk]), data).status_code == 302
    assert deal_a.products.count() == 7


@pytest.mark.parametrize(("persona", "status"), [
    ("rep_bob", 404), ("manager_erin", 404), ("hr_henry", 403), ("finance_dan", 403),
])
def test_outsiders_cannot_edit_a_deal(deal_a, world, request, persona, status):
    client = as_user(request.getfixturevalue(persona))
    url = reverse("crm:opportunity-edit", args=[deal_a.pk])
    assert client.get(url).status_code == status
    assert client.post(url, {"name": "mine", "owner": world.people["bob"].pk}).status_code == status
    assert fresh(deal_a).name == "甲公司 CRM"


# -- stages -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("persona", "status"), [
    ("ops_olivia", 200), ("admin_ada", 200), ("manager_carol", 403), ("rep_alice", 403), ("finance_dan", 403),
    ("hr_henry", 403),
])
def test_stages_are_configured_by_ops_and_admin_only(stages, request, persona, status):
    client = as_user(request.getfixturevalue(persona))
    assert client.get(reverse("crm:stages")).status_code == status
    assert client.get(reverse("crm:stage-edit", args=[stages.lead.pk])).status_code == status
    if status == 403:
        assert client.post(reverse("crm:stages"), {"code": "x", "name": "X", "probability": "5"}).status_code == 403
        assert client.post(reverse("crm:stage-reorder"), {"stage": stages.lost.pk, "direction": "up"}).status_code == 403
        assert client.post(reverse("crm:stage-edit", args=[stages.lead.pk]), {
            "name": "Mine", "probability": "1"}).status_code == 403
        assert not Stage.objects.filter(code="x").exists() and Stage.objects.get(pk=stages.lead.pk).name == "Lead"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_stage_page_lists_the_stages_in_order_with_their_required_fields(stages, ops_olivia, language):
    page = as_user(ops_olivia, language).get(reverse("crm:stages"))
    html = page.content.decode()
    assert [r["stage"].code for r in page.context["rows"]] == ["lead", "qualified", "proposal", "won", "lost"]
    if language == "en":
        assert "amount, expected close date, decision maker" in html
    assert "vendor/sortablejs/Sortable.min.js" in html


def test_ops_adds_a_stage_with_required_fields(stages, ops_olivia):
    answer = as_user(ops_olivia).post(reverse("crm:stages"), {
        "code": "negotiation", "name": "Negotiation", "probability": "75",
        "required_fields": ["competitor", "amount"]})
    assert answer.status_code == 302
    stage = Stage.objects.get(code="negotiation")
    assert (stage.probability, stage.required_fields, stage.position) == (D(75), ["amount", "competitor"], 60)
    assert AuditEvent.objects.filter(event="stage.created", subject_id=str(stage.pk)).exists()


def test_a_bad_stage_is_refused_on_its_field(stages, ops_olivia):
    client = as_user(ops_olivia)
    both = client.post(reverse("crm:stages"), {"code": "odd", "name": "Odd", "probability": "5", "is_won": "on",
                                               "is_lost": "on"})
    assert both.context["form"].errors["is_lost"] == ["A stage cannot be both won and lost."]
    high = client.post(reverse("crm:stages"), {"code": "odd", "name": "Odd", "probability": "150"})
    assert "probability" in high.context["form"].errors
    taken = client.post(reverse("crm:stages"), {"code": "lead", "name": "Lead again", "probability": "5"})
    assert "code" in taken.context["form"].errors
    assert not Stage.objects.filter(code="odd").exists()


def test_ops_renames_a_stage_and_changes_what_it_needs(stages, ops_olivia):
    answer = as_user(ops_olivia).post(reverse("crm:stage-edit", args=[stages.qualified.pk]), {
        "name": "Qualified lead", "probability": "30", "required_fields": ["expected_close", "source"],
        "active": "on"})
    assert answer.status_code == 302
    stage = Stage.objects.get(pk=stages.qualified.pk)
    assert (stage.name, stage.probability, stage.required_fields, stage.active, stage.code) == (
        "Qualified lead", D(30), ["expected_close", "source"], True, "qualified")


def test_a_stage_holding_deals_keeps_whether_it_wins(deal_a, stages, ops_olivia):
    answer = as_user(ops_olivia).post(reverse("crm:stage-edit", args=[stages.lead.pk]), {
        "name": "Lead", "probability": "10", "is_won": "on", "active": "on"})
    assert "Deals are in stage Lead" in answer.context["form"].errors["is_won"][0]
    assert not Stage.objects.get(pk=stages.lead.pk).is_won


def test_ops_reorders_the_stages_by_drag_and_by_buttons(stages, ops_olivia):
    client = as_user(ops_olivia)
    order = [stages.qualified.pk, stages.lead.pk, stages.proposal.pk, stages.won.pk, stages.lost.pk]
    dragged = client.post(reverse("crm:stage-reorder"), {"order": ",".join(map(str, order))}, **JSON)
    assert dragged.json() == {"ok": True, "order": order}
    assert list(Stage.objects.values_list("pk", flat=True)) == order
    client.post(reverse("crm:stage-reorder"), {"stage": stages.lost.pk, "direction": "up"})
    assert list(Stage.objects.values_list("code", flat=True)) == ["qualified", "lead", "proposal", "lost", "won"]
    client.post(reverse("crm:stage-reorder"), {"stage": stages.qualified.pk, "direction": "up"})  # already first
    assert Stage.objects.first().code == "qualified"
    partial = client.post(reverse("crm:stage-reorder"), {"order": str(stages.lead.pk)}, **JSON)
    assert partial.status_code == 422 and partial.json()["error"] == "Name every stage exactly once."
