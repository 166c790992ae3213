"""Plan pages: ops and admin add plans and versions (checked, with the path and line of every problem), publish
drafts, download a version's YAML, assign people one by one or by team or title, and set quotas; finance reads;
reps, managers and HR see no plan (403)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.incentives import services
from salesops.incentives.models import CompPlan, CompPlanVersion, PlanAssignment, Quota
from tests.incentives.conftest import PLAN


@pytest.mark.parametrize(("persona", "status"), [
    ("ops_olivia", 200), ("admin_ada", 200), ("finance_dan", 200),
    ("rep_alice", 403), ("manager_carol", 403), ("hr_henry", 403),
])
def test_plans_are_for_ops_admin_and_finance(plan, client_for, request, persona, status):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("incentives:plans")).status_code == status
    assert client.get(reverse("incentives:plan", args=[plan.pk])).status_code == status
    assert client.get(reverse("incentives:plan-yaml", args=[plan.pk, 1])).status_code == status


def test_finance_reads_but_does_not_change_plans(plan, client_for, finance_dan):
    client = client_for(finance_dan)
    assert client.post(reverse("incentives:plans"), {"name": "x", "document": PLAN}).status_code == 403
    assert client.post(reverse("incentives:plan", args=[plan.pk]), {"action": "version", "document": PLAN}
                       ).status_code == 403


def test_a_new_plan_is_checked_and_nothing_is_saved_when_it_is_wrong(world, client_for, ops_olivia):
    client = client_for(ops_olivia)
    bad = client.post(reverse("incentives:plans"), {"name": "新方案", "document": PLAN.replace("0.1", "-0.1")})
    assert bad.status_code == 400 and "components[0].rate.flat: must be ≥ 0 (line 7)" in bad.content.decode()
    assert not CompPlan.objects.exists()
    good = client.post(reverse("incentives:plans"), {"name": "新方案", "document": PLAN})
    plan = CompPlan.objects.get()
    assert good["Location"] == reverse("incentives:plan", args=[plan.pk])
    download = client.get(reverse("incentives:plan-yaml", args=[plan.pk, 1]))
    assert download.content.decode() == PLAN and "v1.yaml" in download["Content-Disposition"]


def test_a_draft_version_is_added_then_published(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    url = reverse("incentives:plan", args=[plan.pk])
    client.post(url, {"action": "version", "name": plan.name, "document": PLAN.replace("0.1", "0.12"),
                      "draft": "on"})
    draft = CompPlanVersion.objects.get(version=2)
    assert draft.draft
    period = plan.versions.get(version=1)  # runs still use version 1
    assert services.version_for(plan, world_period()) == period
    client.post(url, {"action": "publish", "version": draft.pk})
    draft.refresh_from_db()
    assert not draft.draft and services.version_for(plan, world_period()) == draft


def world_period():
    from salesops.org.models import Company

    return Company.current().calendar.parse("2025-11")


def test_assign_a_person_a_team_or_a_title(world, client_for, ops_olivia):
    plan = services.plan_version_create(actor=ops_olivia, name="团队方案", document=PLAN).plan
    client = client_for(ops_olivia)
    url = reverse("incentives:plan", args=[plan.pk])
    neither = client.post(url, {"action": "assign", "start_date": "2025-01-01"})
    assert neither.status_code == 400 and "Choose one" in neither.content.decode()
    client.post(url, {"action": "assign", "salesperson": world.people["bob"].pk, "start_date": "2025-01-01"})
    response = client.post(url, {"action": "assign", "team": world.teams.a.pk, "start_date": "2025-01-01"},
                           follow=True)
    assigned = set(PlanAssignment.objects.values_list("salesperson__name", flat=True))
    assert assigned == {"张伟", "陈经理", "李丽", "周敏"}  # Bob by hand; team A: Carol, Alice, Amy
    again = client.post(url, {"action": "assign", "team": world.teams.root.pk, "start_date": "2025-01-01"},
                        follow=True).content.decode()
    assert "is already paid by 团队方案" in again  # the people of team A and Bob are skipped and named
    assert "王总" in set(PlanAssignment.objects.values_list("salesperson__name", flat=True))
    assert response.status_code == 200


def test_set_a_quota(plan, world, client_for, ops_olivia):
    client = client_for(ops_olivia)
    url = reverse("incentives:plan", args=[plan.pk])
    form = {"action": "quota", "salesperson": world.people["alice"].pk, "component": "commission",
            "period": "2025-Q4", "amount": "30,000"}
    client.post(url, form)
    assert Quota.objects.get().amount == Decimal("30000")
    bad = client.post(url, form | {"period": "Q9", "amount": "-1"})
    assert bad.status_code == 400 and Quota.objects.count() == 1
    assert "is not a period code" in bad.content.decode() or "must not be negative" in bad.content.decode()


def test_a_new_plan_needs_a_new_name(plan, client_for, ops_olivia):
    response = client_for(ops_olivia).post(reverse("incentives:plans"), {"name": plan.name, "document": PLAN})
    assert response.status_code == 400 and "exists" in response.content.decode()
    assert CompPlanVersion.objects.count() == 1
    assert dt.date(2025, 1, 1) == plan.versions.get().effective_from
