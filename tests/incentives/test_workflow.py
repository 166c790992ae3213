"""A run's life after calculation: review, approval by someone else, payment; a paid period that never changes
(a late sale becomes delta lines in the next open period); adjustments with a maker and a different approver;
disputes on statement lines; the per-line lineage kept with each run. The world is tests/conftest.py's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesops.core.models import AuditEvent
from salesops.incentives import lineage, services
from salesops.incentives.models import Correction, DisputeStatus, RunKind, RunStatus
from salesops.org import services as org

D = Decimal


def paid(plan, period, ops, finance, approver=None):
    run = services.run_calculation(actor=ops, plan=plan, period_code=period)
    services.run_review(actor=ops, run=run)
    services.run_approve(actor=approver or finance, run=run)
    return services.run_pay(actor=finance, run=run)


def late_sale(world, day=dt.date(2025, 11, 28), amount="500.00", ext="L1"):
    return org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id=ext,
                                 order_no="SO-L", date=day, customer=world.customers.a, product=world.product,
                                 quantity=D("1"), unit_price=D(amount), cost=D("100.00"))


def test_a_run_is_reviewed_approved_by_someone_else_and_paid(world, plan, ops_olivia, finance_dan, rep_alice,
                                                             admin_ada):
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    with pytest.raises(ValidationError, match="The run is calculated"):
        services.run_approve(actor=finance_dan, run=run)
    with pytest.raises(PermissionDenied):
        services.run_review(actor=rep_alice, run=run)
    with pytest.raises(PermissionDenied):
        services.run_review(actor=finance_dan, run=run)
    services.run_review(actor=admin_ada, run=run)
    with pytest.raises(ValidationError, match="reviewed by you"):
        services.run_approve(actor=admin_ada, run=run)
    with pytest.raises(PermissionDenied):
        services.run_approve(actor=ops_olivia, run=run)
    services.run_approve(actor=finance_dan, run=run)
    run = services.run_pay(actor=finance_dan, run=run)
    assert run.status == RunStatus.PAID and run.paid_by == finance_dan and run.approved_by == finance_dan
    with pytest.raises(ValidationError, match="The run is paid"):
        services.run_reopen(actor=ops_olivia, run=run, reason="oops")
    events = list(AuditEvent.objects.filter(subject_id=str(run.pk), event__startswith="comp_run.")
                  .values_list("event", flat=True).order_by("id"))
    assert events == ["comp_run.started", "comp_run.finished", "comp_run.reviewed", "comp_run.approved",
                      "comp_run.paid"]


def test_a_newer_run_of_an_open_period_supersedes_the_older_one(world, plan, ops_olivia):
    first = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    services.run_review(actor=ops_olivia, run=first)
    second = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    first.refresh_from_db()
    assert (first.status, second.status, second.kind) == (RunStatus.SUPERSEDED, RunStatus.CALCULATED,
                                                          RunKind.REGULAR)
    assert services.current_run(plan, "2025-11") == second


def test_a_paid_period_never_changes_its_recalculation_pays_delta_lines_in_the_next_open_period(
        world, plan, ops_olivia, finance_dan, admin_ada):
    november = paid(plan, "2025-11", ops_olivia, finance_dan)
    alice = world.people["alice"]
    paid_payout = november.payouts.get(salesperson=alice)
    assert paid_payout.amount == D("100.00")
    late_sale(world)  # a November sale entered after November was paid: 500 × 10 % = 50 more for Alice and Carol
    again = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert again.kind == RunKind.CORRECTION and again.status == RunStatus.CALCULATED
    november.refresh_from_db()
    assert november.status == RunStatus.PAID and november.payouts.get(salesperson=alice).amount == D("100.00")
    deltas = {c.salesperson.name: c for c in Correction.objects.select_related("salesperson")}
    assert {name: c.amount for name, c in deltas.items()} == {alice.name: D("50.00"),
                                                              world.people["carol"].name: D("50.00")}
    delta = deltas[alice.name]
    assert (delta.period, delta.corrected_period, delta.corrects, delta.source_run) == (
        "2025-12", "2025-11", paid_payout, again)
    # calculated again before December is paid: the pending delta lines are replaced, not added to
    late_sale(world, amount="100.00", ext="L2")
    services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert sorted(Correction.objects.values_list("amount", flat=True)) == [D("60.00"), D("60.00")]
    # December is paid with them; a third calculation of November then finds nothing more to pay
    december = paid(plan, "2025-12", ops_olivia, finance_dan, approver=admin_ada)
    assert set(Correction.objects.values_list("paid_run", flat=True)) == {december.pk}
    services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert Correction.objects.count() == 2
    # and when December is paid too, the next delta goes to January
    late_sale(world, amount="200.00", ext="L3")
    services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert set(Correction.objects.filter(paid_run__isnull=True).values_list("period", "amount")) == {
        ("2026-01", D("20.00"))}


def test_delta_lines_reopen_a_signed_off_run_of_the_period_they_land_in(world, plan, ops_olivia, finance_dan):
    paid(plan, "2025-11", ops_olivia, finance_dan)
    december = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")
    services.run_review(actor=ops_olivia, run=december)
    services.run_approve(actor=finance_dan, run=december)
    late_sale(world)
    services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    december.refresh_from_db()
    assert december.status == RunStatus.CALCULATED and december.approved_by is None
    assert AuditEvent.objects.filter(event="comp_run.reopened", subject_id=str(december.pk)).exists()


def test_an_adjustment_needs_a_reason_and_a_different_approver_and_holds_up_approval(
        world, plan, ops_olivia, finance_dan, admin_ada, manager_carol, rep_alice):
    alice, bob = world.people["alice"], world.people["bob"]
    with pytest.raises(ValidationError) as error:
        services.adjustment_create(actor=ops_olivia, plan=plan, salesperson=alice, period_code="2025-11",
                                   amount=D("0.001"), reason=" ")
    assert set(error.value.message_dict) == {"amount", "reason"}
    with pytest.raises(PermissionDenied):
        services.adjustment_create(actor=rep_alice, plan=plan, salesperson=alice, period_code="2025-11",
                                   amount=D("10"), reason="me")
    with pytest.raises(PermissionDenied):  # Bob is not in Carol's team
        services.adjustment_create(actor=manager_carol, plan=plan, salesperson=bob, period_code="2025-11",
                                   amount=D("10"), reason="not mine")
    with pytest.raises(ValidationError, match="does not pay"):
        services.adjustment_create(actor=ops_olivia, plan=plan, salesperson=world.people["amy"],
                                   period_code="2025-11", amount=D("10"), reason="not on the plan")
    adjustment = services.adjustment_create(actor=manager_carol, plan=plan, salesperson=alice,
                                            period_code="2025-11", amount=D("-30.00"), reason="duplicate order")
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    services.run_review(actor=ops_olivia, run=run)
    with pytest.raises(ValidationError, match="1 adjustment of this period is waiting"):
        services.run_approve(actor=finance_dan, run=run)
    with pytest.raises(PermissionDenied):
        services.adjustment_decide(actor=manager_carol, adjustment=adjustment, approve=True)
    with pytest.raises(ValidationError, match="Say why"):
        services.adjustment_decide(actor=finance_dan, adjustment=adjustment, approve=False)
    services.adjustment_decide(actor=finance_dan, adjustment=adjustment, approve=True, note="checked")
    services.run_approve(actor=finance_dan, run=run)
    with pytest.raises(ValidationError, match="adjustments go into an open period"):
        services.adjustment_create(actor=ops_olivia, plan=plan, salesperson=alice, period_code="2025-11",
                                   amount=D("5"), reason="late")
    services.run_pay(actor=finance_dan, run=run)
    adjustment.refresh_from_db()
    assert adjustment.paid_run == run and adjustment.decided_by == finance_dan
    own = services.adjustment_create(actor=ops_olivia, plan=plan, salesperson=alice, period_code="2025-12",
                                     amount=D("5"), reason="gift")
    with pytest.raises(ValidationError, match="someone else"):
        services.adjustment_decide(actor=ops_olivia, adjustment=own, approve=True)
    assert services.adjustment_decide(actor=admin_ada, adjustment=own, approve=True).status == "approved"


def test_a_dispute_is_raised_by_the_payee_answered_by_ops_and_resolved_with_timestamps(
        world, plan, ops_olivia, rep_alice, rep_bob, hr_henry):
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    line = run.payouts.get(salesperson=world.people["alice"])
    for outsider in (rep_bob, hr_henry, ops_olivia):
        with pytest.raises(PermissionDenied):
            services.dispute_raise(actor=outsider, payout=line, text="why?")
    with pytest.raises(ValidationError, match="Write a message"):
        services.dispute_raise(actor=rep_alice, payout=line, text="  ")
    dispute = services.dispute_raise(actor=rep_alice, payout=line, text="My order A2 is missing.")
    assert dispute.status == DisputeStatus.OPEN
    with pytest.raises(PermissionDenied):
        services.dispute_answer(actor=rep_bob, dispute=dispute, text="me too")
    dispute = services.dispute_answer(actor=ops_olivia, dispute=dispute, text="A2 is dated December.")
    assert dispute.status == DisputeStatus.ANSWERED and dispute.answered_at is not None
    dispute = services.dispute_answer(actor=rep_alice, dispute=dispute, text="It shipped in November.")
    assert dispute.status == DisputeStatus.OPEN
    dispute = services.dispute_answer(actor=ops_olivia, dispute=dispute, text="Corrected.", resolve=True)
    assert dispute.status == DisputeStatus.RESOLVED and dispute.resolved_at >= dispute.answered_at
    with pytest.raises(ValidationError, match="resolved"):
        services.dispute_answer(actor=rep_alice, dispute=dispute, text="thanks")
    assert [m.text for m in dispute.messages.all()] == ["My order A2 is missing.", "A2 is dated December.",
                                                        "It shipped in November.", "Corrected."]
    assert AuditEvent.objects.filter(subject_type="incentives.dispute", subject_id=str(dispute.pk)).count() == 4


def test_a_run_keeps_the_lines_behind_each_persons_measure(world, plan, ops_olivia):
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")
    carol = lineage.load(run.pk, world.people["carol"].pk).to_pylist()
    assert [(r["line_id"], r["seller"], r["level"], r["credit"]) for r in carol] == [
        ("S1", world.people["alice"].employee_no, 1, D("600"))]
    alice = lineage.load(run.pk, world.people["alice"].pk)
    assert sum(r["credit"] for r in alice.to_pylist()) == run.payouts.get(salesperson=world.people["alice"]).measure
    assert lineage.load(run.pk, world.people["victor"].pk) is None  # not on the plan
