"""Stage moves, required fields, won/lost, contacts and activities through ``crm.services``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesops.core.models import AuditEvent
from salesops.crm import services as crm
from salesops.crm.models import Activity, ActivityKind, Opportunity, StageChange
from tests.crm.conftest import T0

D = Decimal
HOUR = dt.timedelta(hours=1)


def test_it_records_every_stage_change_with_time_and_actor(deal_a, stages, rep_alice, boss_a):
    # Given a lead, when Alice qualifies it and then proposes with all the fields the stage needs
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.qualified, at=T0 + HOUR,
                         expected_close=dt.date(2026, 4, 30))
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.proposal, at=T0 + 2 * HOUR,
                         amount=D("120000.00"), decision_maker=boss_a)
    # then the history has the creation and both moves, in order, with who and when
    history = list(StageChange.objects.filter(opportunity=deal_a).values_list(
        "from_stage__code", "to_stage__code", "changed_at", "actor__username"))
    assert history == [(None, "lead", T0, None), ("lead", "qualified", T0 + HOUR, "alice"),
                       ("qualified", "proposal", T0 + 2 * HOUR, "alice")]
    deal = Opportunity.objects.get(pk=deal_a.pk)
    assert (deal.stage, deal.stage_entered_at, deal.status) == (stages.proposal, T0 + 2 * HOUR, "open")
    assert AuditEvent.objects.filter(event="opportunity.moved", subject_id=str(deal_a.pk)).count() == 2


def test_it_refuses_a_move_without_the_required_fields_naming_each(deal_a, stages, rep_alice):
    with pytest.raises(ValidationError) as refused:
        crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.proposal, at=T0 + HOUR)
    assert sorted(refused.value.message_dict) == ["amount", "decision_maker", "expected_close"]
    assert refused.value.message_dict["amount"] == ["Stage Proposal needs amount."]
    # nothing half-saved: neither the fields given nor a history row
    assert Opportunity.objects.get(pk=deal_a.pk).stage == stages.lead
    assert StageChange.objects.filter(opportunity=deal_a).count() == 1


def test_a_refused_move_keeps_the_fields_it_was_given_unsaved(deal_a, stages, rep_alice):
    with pytest.raises(ValidationError):
        crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.proposal, at=T0 + HOUR,
                             amount=D("5000.00"))
    assert Opportunity.objects.get(pk=deal_a.pk).amount is None


def test_a_won_deal_needs_an_amount_even_when_the_stage_does_not_ask(deal_a, stages, rep_alice):
    with pytest.raises(ValidationError) as refused:
        crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.won, at=T0 + HOUR)
    assert list(refused.value.message_dict) == ["amount"]
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.won, at=T0 + HOUR, amount=D("8000.00"))
    deal = Opportunity.objects.get(pk=deal_a.pk)
    assert (deal.status, deal.closed_on) == ("won", dt.date(2026, 3, 2))


def test_a_lost_deal_needs_its_reason_and_reopening_clears_the_close_date(deal_a, stages, rep_alice):
    with pytest.raises(ValidationError) as refused:
        crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.lost, at=T0 + HOUR)
    assert list(refused.value.message_dict) == ["lost_reason"]
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.lost, at=T0 + HOUR, lost_reason="price")
    assert Opportunity.objects.get(pk=deal_a.pk).status == "lost"
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.lead, at=T0 + 2 * HOUR)
    deal = Opportunity.objects.get(pk=deal_a.pk)
    assert (deal.status, deal.closed_on) == ("open", None)


def test_a_move_cannot_be_dated_before_the_current_stage_was_entered(deal_a, stages, rep_alice):
    with pytest.raises(ValidationError) as refused:
        crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.qualified, at=T0 - HOUR,
                             expected_close=dt.date(2026, 4, 1))
    assert list(refused.value.message_dict) == ["at"]


def test_the_required_fields_of_the_current_stage_cannot_be_cleared(deal_a, stages, rep_alice):
    crm.opportunity_move(actor=rep_alice, opportunity=deal_a, stage=stages.qualified, at=T0 + HOUR,
                         expected_close=dt.date(2026, 4, 30))
    with pytest.raises(ValidationError) as refused:
        crm.opportunity_update(actor=rep_alice, opportunity=deal_a, expected_close=None)
    assert list(refused.value.message_dict) == ["expected_close"]


def test_outsiders_cannot_change_or_create_deals_of_others(deal_a, stages, rep_bob, finance_dan, hr_henry, world):
    for outsider in (rep_bob, finance_dan, hr_henry):
        with pytest.raises(PermissionDenied):
            crm.opportunity_update(actor=outsider, opportunity=deal_a, name="mine now")
    with pytest.raises(PermissionDenied):
        crm.opportunity_create(actor=rep_bob, customer=world.customers.a, owner=world.people["alice"], name="x")
    with pytest.raises(ValidationError) as refused:  # Bob's own deal on a customer he cannot see
        crm.opportunity_create(actor=rep_bob, customer=world.customers.a, owner=world.people["bob"], name="x")
    assert list(refused.value.message_dict) == ["customer"]


def test_a_manager_moves_the_deals_of_the_team(deal_a, stages, manager_carol, manager_erin):
    crm.opportunity_move(actor=manager_carol, opportunity=deal_a, stage=stages.qualified,
                         expected_close=dt.date(2026, 12, 31))
    with pytest.raises(PermissionDenied):
        crm.opportunity_move(actor=manager_erin, opportunity=deal_a, stage=stages.lead)


def test_the_decision_maker_must_belong_to_the_customer(deal_a, stages, world):
    from salesops.crm.models import Contact

    stranger = Contact.objects.create(customer=world.customers.b, name="孙经理")
    with pytest.raises(ValidationError) as refused:
        crm.opportunity_update(actor=None, opportunity=deal_a, decision_maker=stranger)
    assert list(refused.value.message_dict) == ["decision_maker"]


def test_only_ops_configure_stages_and_required_fields_are_checked(world, ops_olivia, manager_carol):
    with pytest.raises(PermissionDenied):
        crm.stage_create(actor=manager_carol, code="x", name="X")
    with pytest.raises(ValidationError) as refused:
        crm.stage_create(actor=ops_olivia, code="x", name="X", required_fields=["budget"])
    assert list(refused.value.message_dict) == ["required_fields"]
    with pytest.raises(ValidationError):
        crm.stage_create(actor=ops_olivia, code="x", name="X", probability=D(101))


def test_stages_are_reordered_as_named(stages, ops_olivia):
    order = [stages.qualified.pk, stages.lead.pk, stages.proposal.pk, stages.won.pk, stages.lost.pk]
    crm.stage_reorder(actor=ops_olivia, stage_ids=order)
    from salesops.crm.models import Stage

    assert list(Stage.objects.values_list("pk", flat=True)) == order
    with pytest.raises(ValidationError):
        crm.stage_reorder(actor=ops_olivia, stage_ids=order[:-1])


def test_an_activity_cannot_be_due_before_it_was_created(world, rep_alice):
    with pytest.raises(ValidationError) as refused:
        crm.activity_create(actor=rep_alice, kind=ActivityKind.CALL, subject="回访", customer=world.customers.a,
                            owner=world.people["alice"], created_at=T0, due_at=T0 - HOUR)
    assert list(refused.value.message_dict) == ["due_at"]
    assert not Activity.objects.exists()


def test_an_activity_is_completed_with_its_outcome(world, rep_alice):
    call = crm.activity_create(actor=rep_alice, kind=ActivityKind.CALL, subject="回访", customer=world.customers.a,
                               owner=world.people["alice"], created_at=T0, due_at=T0 + HOUR)
    with pytest.raises(ValidationError):
        crm.activity_complete(actor=rep_alice, activity=call, outcome=" ")
    crm.activity_complete(actor=rep_alice, activity=call, outcome="约了下周演示", done_at=T0 + 2 * HOUR)
    call.refresh_from_db()
    assert (call.done_at, call.outcome) == (T0 + 2 * HOUR, "约了下周演示")


def test_one_primary_contact_per_customer(world, rep_alice, boss_a):
    other = crm.contact_create(actor=rep_alice, customer=world.customers.a, name="李工", primary=True)
    boss_a.refresh_from_db()
    assert other.primary and not boss_a.primary


def test_a_move_cannot_hand_the_deal_to_someone_out_of_reach(deal_a, stages, manager_carol, world):
    # Carol may move team A's deals, but Bob (team B) is not hers to give a deal to
    with pytest.raises(PermissionDenied):
        crm.opportunity_move(actor=manager_carol, opportunity=deal_a, stage=stages.qualified,
                             expected_close=dt.date(2026, 12, 31), owner=world.people["bob"])
    assert Opportunity.objects.get(pk=deal_a.pk).owner == world.people["alice"]
