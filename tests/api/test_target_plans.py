"""/api/target-plans/: the targets services over the API, with the pages' visibility."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.org import services as org
from salesops.targets import services as targets
from salesops.targets.models import TargetPlan

D = Decimal
LEVELS = [{"dimension": "team", "depth": 1, "method": "equal"},
          {"dimension": "salesperson", "method": "historical", "window": 12}]


@pytest.fixture
def plan(world):
    plan = targets.plan_create(actor=world.users["olivia"], name="2026 目标", fiscal_year=2026, total=D("1000000.00"),
                               levels=LEVELS, seasonality={"source": "flat"})
    targets.plan_allocate(actor=world.users["olivia"], plan=plan)
    return plan


def keys(response):
    return sorted(n["key"] for n in response.json())


def test_each_persona_sees_only_their_nodes(api_as, world, plan):
    alice, bob = world.people["alice"].pk, world.people["bob"].pk
    team_a = world.teams.a.pk
    assert keys(api_as("alice").get(f"/api/target-plans/{plan.pk}/nodes/")) == [f"team:{team_a}/salesperson:{alice}"]
    carol = keys(api_as("carol").get(f"/api/target-plans/{plan.pk}/nodes/"))
    assert f"team:{team_a}" in carol and not any(f"salesperson:{bob}" in k for k in carol)
    assert "" in keys(api_as("olivia").get(f"/api/target-plans/{plan.pk}/nodes/"))
    assert api_as("henry").get("/api/target-plans/").status_code == 403


def test_an_outsider_gets_404_for_a_plan_without_their_nodes(api_as, world):
    plan = targets.plan_create(actor=world.users["olivia"], name="只有华南", fiscal_year=2026, total=D("100.00"),
                               levels=[{"dimension": "team", "depth": 1, "method": "equal"}])
    targets.plan_allocate(actor=world.users["olivia"], plan=plan)
    assert api_as("alice").get(f"/api/target-plans/{plan.pk}/").status_code == 404
    assert api_as("alice").get("/api/target-plans/").json()["count"] == 0
    assert api_as("carol").get(f"/api/target-plans/{plan.pk}/").status_code == 200  # she heads team A


def test_ops_creates_and_allocates_others_may_not(api_as, world):
    body = {"name": "API 目标", "fiscal_year": 2026, "total": "300.00", "levels": LEVELS,
            "seasonality": {"source": "flat"}}
    assert api_as("carol").post("/api/target-plans/", body, format="json").status_code == 403
    response = api_as("olivia").post("/api/target-plans/", body, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert api_as("alice").post(f"/api/target-plans/{pk}/allocate/").status_code in (403, 404)
    assert api_as("olivia").post(f"/api/target-plans/{pk}/allocate/").status_code == 200
    assert TargetPlan.objects.get(pk=pk).nodes.count() > 1


def test_bad_levels_get_a_400_naming_levels(api_as, world):
    body = {"name": "x", "fiscal_year": 2026, "total": "1.00", "levels": [{"dimension": "planet"}]}
    response = api_as("olivia").post("/api/target-plans/", body, format="json")
    assert response.status_code == 400 and "levels" in response.json()


def test_a_lock_rebalances_and_an_impossible_one_is_refused(api_as, world, plan):
    amy = f"team:{world.teams.a.pk}/salesperson:{world.people['amy'].pk}"
    client = api_as("olivia")
    assert client.post(f"/api/target-plans/{plan.pk}/lock/", {"key": amy, "value": "100000.00"}).status_code == 200
    assert plan.nodes.get(key=amy).value == D("100000.00")
    response = client.post(f"/api/target-plans/{plan.pk}/lock/", {"key": amy, "value": "600000.00"})
    assert response.status_code == 400 and "周敏" in str(response.json())
    assert plan.nodes.get(key=amy).value == D("100000.00")
    assert api_as("carol").post(f"/api/target-plans/{plan.pk}/lock/", {"key": amy, "value": "1.00"}).status_code == 403


def test_typed_values_on_a_manual_level(api_as, world):
    olivia = world.users["olivia"]
    levels = [{**LEVELS[0], "method": "manual"}, LEVELS[1]]
    plan = targets.plan_create(actor=olivia, name="手工", fiscal_year=2026, total=D("900.00"), levels=levels,
                               seasonality={"source": "flat"})
    targets.plan_allocate(actor=olivia, plan=plan)
    team_a, team_b = f"team:{world.teams.a.pk}", f"team:{world.teams.b.pk}"
    client = api_as("olivia")
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}  # without it the API speaks the default language, zh-hans
    response = client.post(f"/api/target-plans/{plan.pk}/manual/", {"key": team_a, "value": "600.00"}, **english)
    assert response.status_code == 200 and "no manual value yet" in str(response.json()["warnings"])
    assert (plan.nodes.get(key=team_a).value, plan.nodes.get(key=team_b).value) == (D("600.00"), D("300.00"))
    response = client.post(f"/api/target-plans/{plan.pk}/manual/", {"key": team_b, "value": "1.00"}, **english)
    assert response.status_code == 400 and "short of" in str(response.json())
    assert plan.nodes.get(key=team_b).manual is None
    assert api_as("carol").post(f"/api/target-plans/{plan.pk}/manual/", {"key": team_a, "value": "1"}).status_code == 403


def test_managers_commit_inside_their_scope_only(api_as, world, plan):
    alice = f"team:{world.teams.a.pk}/salesperson:{world.people['alice'].pk}"
    bob = f"team:{world.teams.b.pk}/salesperson:{world.people['bob'].pk}"
    carol = api_as("carol")
    assert carol.post(f"/api/target-plans/{plan.pk}/commit/", {"key": alice, "value": "450000.00"}).status_code == 200
    assert plan.nodes.get(key=alice).commit == D("450000.00")
    assert carol.post(f"/api/target-plans/{plan.pk}/commit/", {"key": bob, "value": "1.00"}).status_code == 404
    assert api_as("alice").post(f"/api/target-plans/{plan.pk}/commit/", {"key": alice, "value": "1.00"}).status_code == 403
    assert api_as("olivia").post(f"/api/target-plans/{plan.pk}/accept/", {"key": alice}).status_code == 200
    assert plan.nodes.get(key=alice).value == D("450000.00")


def test_attainment_per_visible_node(api_as, world, plan):
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="Q1", order_no="Q1",
                          date=dt.date(2026, 2, 10), customer=world.customers.a, product=world.product,
                          quantity=D(100), unit_price=D("1000.00"), cost=D("40000.00"))
    rows = api_as("alice").get(f"/api/target-plans/{plan.pk}/attainment/", {"period": "2026-Q1"}).json()
    assert [(r["name"], r["actual"], r["target"]) for r in rows] == [("李丽", "100000.00", "125000.01")]
    response = api_as("alice").get(f"/api/target-plans/{plan.pk}/attainment/", {"period": "2026-Q9"})
    assert response.status_code == 400 and "period" in response.json()


def test_the_workflow_and_versions(api_as, world, plan):
    client = api_as("olivia")
    assert client.post(f"/api/target-plans/{plan.pk}/transition/", {"to": "locked"}).status_code == 400
    assert client.post(f"/api/target-plans/{plan.pk}/transition/", {"to": "submitted"}).json()["status"] == "submitted"
    assert client.patch(f"/api/target-plans/{plan.pk}/", {"name": "改名"}, format="json").status_code == 400
    response = client.post(f"/api/target-plans/{plan.pk}/new-version/")
    assert response.status_code == 201 and response.json()["version"] == 2
