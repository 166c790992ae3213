"""Calculation runs over the organisation's data: the plan document stored as versions, people assigned with
quotas, the order lines, split credits, returns and the dated manager hierarchy mapped onto the engine, payouts
stored with their detail rows; one run at a time per plan and period; a failed run keeps no payout.

The persona world (tests/conftest.py): Alice and Amy in team A under Carol, Bob in team B under Erin, both managers
under Victor. Lines: A1 1,000.00 by Alice (2025-11-15), B1 1,000.00 by Bob (2025-11-16), S1 1,000.00 split 60/40
between Alice and Bob (2025-12-01).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from salesops.core.models import AuditEvent
from salesops.incentives import services
from salesops.incentives.models import CalculationRun, CompPlan, Payout, RunStatus
from salesops.org import services as org
from tests.incentives.conftest import PLAN

D = Decimal



def amounts(run) -> dict[str, Decimal]:
    return {p.salesperson.name: p.amount for p in run.payouts.select_related("salesperson")}


def test_a_run_credits_splits_and_rolls_up_to_the_managers_of_the_day(world, plan, ops_olivia):
    november = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert november.status == RunStatus.CALCULATED and len(november.fingerprint) == 64
    names = {k: world.people[k].name for k in ("alice", "bob", "carol", "erin")}
    assert amounts(november) == {names["alice"]: D("100.00"), names["bob"]: D("100.00"),
                                 names["carol"]: D("100.00"), names["erin"]: D("100.00")}
    december = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")
    assert amounts(december) == {names["alice"]: D("60.00"), names["bob"]: D("40.00"),
                                 names["carol"]: D("60.00"), names["erin"]: D("40.00")}
    payout = december.payouts.get(salesperson=world.people["alice"])
    assert payout.measure == D("600") and [(d.rule, d.basis, d.rate, d.earned) for d in payout.details.all()] == [
        ("flat", D("600"), D("0.1"), D("60"))]
    again = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")
    assert again.fingerprint == december.fingerprint  # the same inputs
    assert AuditEvent.objects.filter(event="comp_run.finished").count() == 3


def test_a_return_in_the_same_month_lowers_the_measure(world, plan, ops_olivia):
    alice = world.people["alice"]
    org.order_line_create(actor=None, credits=[(alice, D(100))], external_id="R1", order_no="SO-R",
                          date=dt.date(2025, 11, 20), customer=world.customers.a, product=world.product,
                          quantity=D("-1"), unit_price=D("1000.00"), cost=D("-400.00"), original=world.lines.a,
                          status="returned")
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert amounts(run)[alice.name] == D("0.00")  # 1,000 sold, 1,000 returned in the same month


def test_a_person_who_is_not_assigned_to_the_plan_is_not_paid(world, plan, ops_olivia):
    run = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert world.people["victor"].name not in amounts(run) and world.people["amy"].name not in amounts(run)


def test_a_missing_quota_fails_the_run_naming_the_payee_and_keeps_no_payout(world, ops_olivia):
    version = services.plan_version_create(actor=ops_olivia, name="quota plan", document=PLAN.replace(
        "    rate: {flat: 0.1}", "    quota: {source: input}\n    rate: {tiers: {bands: [{from: 0, rate: 0.1}]}}"))
    services.plan_assign(actor=ops_olivia, plan=version.plan, salesperson=world.people["alice"],
                         start_date=dt.date(2025, 1, 1))
    run = services.run_calculation(actor=ops_olivia, plan=version.plan, period_code="2025-11")
    assert run.status == RunStatus.FAILED
    assert f"no quota for period 2025-11 for payee {world.people['alice'].employee_no}" in run.error
    assert not Payout.objects.filter(run=run).exists()
    services.quota_set(actor=ops_olivia, plan=version.plan, salesperson=world.people["alice"],
                       component="commission", period="2025-11", amount=D("2000.00"))
    assert services.run_calculation(actor=ops_olivia, plan=version.plan, period_code="2025-11").status == "calculated"


def test_only_one_run_of_a_plan_and_period_at_a_time(world, plan, ops_olivia):
    version = plan.versions.get()
    CalculationRun.objects.create(plan=plan, version=version, period="2025-11", status=RunStatus.RUNNING)
    with pytest.raises(ValidationError, match="already being calculated for 2025-11"):
        services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    assert services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12").status == "calculated"


def test_versions_are_validated_numbered_and_chosen_by_their_dates(world, ops_olivia):
    with pytest.raises(ValidationError) as error:
        services.plan_version_create(actor=ops_olivia, name="bad", document=PLAN.replace("0.1", "-0.1"))
    assert error.value.message_dict["document"] == ["components[0].rate.flat: must be ≥ 0 (line 7)"]
    assert not CompPlan.objects.filter(name="bad").exists()
    first = services.plan_version_create(actor=ops_olivia, name="p", document=PLAN)
    second = services.plan_version_create(actor=ops_olivia, name="p", document=PLAN.replace(
        "2025-01-01", "2025-12-01"))
    assert (first.version, second.version) == (1, 2)
    assert services.version_for(first.plan, world.company.calendar.parse("2025-11")) == first
    assert services.version_for(first.plan, world.company.calendar.parse("2025-12")) == second
    with pytest.raises(ValidationError, match="No version of p is in effect for the whole of 2024-12"):
        services.run_calculation(actor=ops_olivia, plan=first.plan, period_code="2024-12")


def test_overlapping_plan_assignments_are_refused(world, plan, ops_olivia):
    other = services.plan_version_create(actor=ops_olivia, name="other", document=PLAN).plan
    with pytest.raises(ValidationError, match="is already paid by 2025 提成 from 2025-01-01"):
        services.plan_assign(actor=ops_olivia, plan=other, salesperson=world.people["alice"],
                             start_date=dt.date(2025, 6, 1))


def test_the_command_stores_a_plan_and_runs_it(world, tmp_path, capsys):
    path = tmp_path / "plan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    call_command("incentives", "plan", "--name", "cli plan", str(path))
    plan = CompPlan.objects.get(name="cli plan")
    org_alice = world.people["alice"]
    services.plan_assign(actor=None, plan=plan, salesperson=org_alice, start_date=dt.date(2025, 1, 1))
    call_command("incentives", "run", "--plan", "cli plan", "--period", "2025-11")
    out = capsys.readouterr().out
    assert "1 payout(s), total 100.00" in out
    with pytest.raises(CommandError, match="No plan named nothing"):
        call_command("incentives", "run", "--plan", "nothing", "--period", "2025-11")
    out_path = tmp_path / "exported.yaml"
    call_command("incentives", "export", "--name", "cli plan", str(out_path))
    assert out_path.read_text(encoding="utf-8") == PLAN  # stored and written back byte for byte
    with pytest.raises(CommandError, match="No such version of cli plan"):
        call_command("incentives", "export", "--name", "cli plan", "--version", "9", str(out_path))


def test_a_draw_balance_is_carried_from_one_periods_run_to_the_next(world, ops_olivia):
    # a 150.00 draw against 10 %: November (Alice 1,000 → 100) advances 50; December (Alice 600 → 60) advances
    # 90 more; the balance follows from run to run
    document = PLAN.replace("    credit: {roll_up: {levels: 1}}\n", "") + (
        "  - id: draw\n    draw: {amount: 150, of: [commission]}\n")
    plan = services.plan_version_create(actor=ops_olivia, name="draw plan", document=document).plan
    services.plan_assign(actor=ops_olivia, plan=plan, salesperson=world.people["alice"], start_date=dt.date(2025, 1, 1))
    november = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-11")
    december = services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")
    closing = {run.period: run.draw_balances.get().closing for run in (november, december)}
    assert closing == {"2025-11": D("50.00"), "2025-12": D("140.00")}
    assert december.draw_balances.get().opening == D("50.00")
    assert {p.component: p.amount for p in december.payouts.all()} == {"commission": D("60.00"), "draw": D("90.00")}
