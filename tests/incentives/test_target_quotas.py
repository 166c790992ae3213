"""Targets become quotas: a component whose quota comes from the input takes, where no quota is entered, the
sum of the payee's monthly targets over its window from the newest approved or locked target plan of its metric;
an entered quota wins; a draft target plan is not used."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from salesops.engine.comp.plan import load_plan
from salesops.incentives import services
from salesops.incentives.inputs import build_inputs
from salesops.org.models import Company
from salesops.targets import services as targets
from salesops.targets.models import TargetMonth

D = Decimal
DOCUMENT = """
plan: 目标即配额
effective_from: 2026-01-01
components:
  - id: monthly
    quota: {source: input}
    rate: {tiers: {bands: [{from: 0, rate: 0.01}]}}
  - id: quarterly
    window: quarter
    quota: {source: input}
    rate: {tiers: {bands: [{from: 0, rate: 0.01}]}}
"""
LEVELS = [{"dimension": "team", "depth": 1, "method": "equal"},
          {"dimension": "salesperson", "method": "equal"}]


@pytest.fixture
def comp(world, ops_olivia):
    version = services.plan_version_create(actor=ops_olivia, name="目标即配额", document=DOCUMENT)
    for key in ("alice", "bob"):
        services.plan_assign(actor=ops_olivia, plan=version.plan, salesperson=world.people[key],
                             start_date=dt.date(2026, 1, 1))
    return version


def target(person, months):
    return TargetMonth.objects.filter(node__dimension="salesperson", node__member_id=person.pk,
                                      month__in=months).aggregate(t=Sum("value"))["t"]


def quotas(version, code):
    calendar = Company.current().calendar
    inputs = build_inputs(version.plan, load_plan(version.document), calendar.parse(code), calendar)
    return {(r["payee"], r["component"], r["period"]): r["quota"] for r in inputs.quotas.to_pylist()}


def test_an_approved_target_plan_gives_the_quotas_that_were_not_entered(world, comp, ops_olivia):
    plan = targets.plan_create(actor=ops_olivia, name="2026 目标", fiscal_year=2026, total=D("1200000.00"),
                               levels=LEVELS, seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    assert quotas(comp, "2026-04") == {}  # a draft target plan is no quota
    for status in ("submitted", "approved"):
        targets.plan_transition(actor=ops_olivia, plan=plan, to=status)
    alice, bob = world.people["alice"], world.people["bob"]
    april, q2 = [dt.date(2026, 4, 1)], [dt.date(2026, m, 1) for m in (4, 5, 6)]
    services.quota_set(actor=ops_olivia, plan=comp.plan, salesperson=bob, component="monthly", period="2026-04",
                       amount=D("777.00"))
    got = quotas(comp, "2026-04")
    assert got == {("E101", "monthly", "2026-04"): target(alice, april),
                   ("E101", "quarterly", "2026-Q2"): target(alice, q2),
                   ("E201", "monthly", "2026-04"): D("777.00"),  # entered: wins over the target
                   ("E201", "quarterly", "2026-Q2"): target(bob, q2)}
    assert target(alice, q2) > target(alice, april) > 0
