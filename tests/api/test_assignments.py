"""/api/assignments/: effective-dated team, manager and region, with "as of a date" queries."""

from __future__ import annotations

import datetime as dt

import pytest

from salesops.org import services as org
from salesops.org.models import Assignment
from tests.api.conftest import (
    NOT_PEOPLE_EDITORS,
    PEOPLE_EDITORS,
    audit_count,
    last_audit,
    results,
    seen_by,
    statuses,
)
from tests.api.test_salespeople import VISIBLE


@pytest.fixture
def transfer(world):
    """Alice moves from team A (manager Carol) to team B (manager Erin) on 2025-12-01."""
    return org.assignment_transfer(actor=None, salesperson=world.people["alice"], team=world.teams.b,
                                   on=dt.date(2025, 12, 1), manager=world.people["erin"])


def test_each_persona_lists_exactly_the_assignments_they_may_see(api_as):
    assert seen_by(api_as, "/api/assignments/", "employee_no", VISIBLE) == VISIBLE


def test_it_hides_other_peoples_assignments_as_not_found(api_as, world):
    bobs = Assignment.objects.get(salesperson=world.people["bob"]).pk
    assert api_as("alice").get(f"/api/assignments/{bobs}/").status_code == 404
    assert api_as("carol").get(f"/api/assignments/{bobs}/").status_code == 404
    assert api_as("erin").get(f"/api/assignments/{bobs}/").status_code == 200


def test_it_answers_who_was_in_which_team_with_which_manager_on_a_date(api_as, world, transfer):
    client = api_as("henry")
    alice = world.people["alice"].pk

    def on(day):
        (row,) = client.get(f"/api/assignments/?salesperson={alice}&on={day}").json()["results"]
        return row["team_code"], row["manager_name"], row["start_date"], row["end_date"]

    assert on("2025-11-15") == ("T-A", "陈经理", "2024-01-01", "2025-11-30")
    assert on("2025-11-30") == ("T-A", "陈经理", "2024-01-01", "2025-11-30")
    assert on("2025-12-01") == ("T-B", "赵经理", "2025-12-01", None)
    assert client.get(f"/api/assignments/?salesperson={alice}&on=2023-06-01").json()["results"] == []


def test_it_lists_a_teams_members_on_a_date(api_as, world, transfer):
    client = api_as("ada")
    team_b = world.teams.b.pk
    assert results(client.get(f"/api/assignments/?team={team_b}&on=2025-11-15"), "employee_no") == ["E003", "E201"]
    assert results(client.get(f"/api/assignments/?team={team_b}&on=2025-12-15"), "employee_no") == [
        "E003", "E101", "E201"]
    root = world.teams.root.pk
    assert results(client.get(f"/api/assignments/?team={root}&on=2025-12-15"), "employee_no") == ["E001"]
    assert results(client.get(f"/api/assignments/?team={root}&subtree=true&on=2025-12-15"), "employee_no") == [
        "E001", "E002", "E003", "E101", "E102", "E201"]


def test_it_lists_a_persons_history_oldest_first(api_as, world, transfer):
    rows = api_as("alice").get(f"/api/assignments/?salesperson={world.people['alice'].pk}").json()["results"]
    assert [(r["team_code"], r["start_date"], r["end_date"]) for r in rows] == [
        ("T-A", "2024-01-01", "2025-11-30"), ("T-B", "2025-12-01", None)]


def test_a_former_manager_no_longer_sees_a_transferred_rep(api_as, world, transfer, time_machine):
    # Managers see the people assigned to their subtree *today*.
    time_machine.move_to(dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC), tick=False)
    assert results(api_as("carol").get("/api/assignments/"), "employee_no") == ["E002", "E102"]
    assert results(api_as("erin").get("/api/assignments/"), "employee_no") == ["E003", "E101", "E101", "E201"]


@pytest.mark.parametrize(("query", "param"), [
    ("on=2025-02-30", "on"), ("on=yesterday", "on"), ("team=999999", "team"), ("team=a", "team"),
    ("salesperson=alice", "salesperson"), ("subtree=maybe", "subtree"),
])
def test_it_refuses_bad_filters_naming_them(api_as, query, param):
    response = api_as("henry").get(f"/api/assignments/?{query}")
    assert response.status_code == 400
    assert param in response.json()


@pytest.mark.parametrize("persona", PEOPLE_EDITORS)
def test_people_editors_create_and_close_assignments_with_audit_rows(api_as, world, persona):
    client = api_as(persona)
    sp = client.post("/api/salespeople/", {"employee_no": "E301", "name": "孙新", "hire_date": "2025-11-01"}).json()
    response = client.post("/api/assignments/", {
        "salesperson": sp["id"], "team": world.teams.a.pk, "manager": world.people["carol"].pk,
        "region": world.regions.east.pk, "start_date": "2025-11-01"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["team_name"], body["manager_name"], body["region_name"], body["end_date"]) == (
        "华东一组", "陈经理", "华东", None)
    assert (last_audit().event, last_audit().actor) == ("assignment.created", world.users[persona])
    response = client.patch(f"/api/assignments/{body['id']}/", {"end_date": "2026-03-31"})
    assert response.status_code == 200, response.content
    assert (last_audit().event, last_audit().new) == ("assignment.updated", {"end_date": "2026-03-31"})


def test_it_refuses_assignment_changes_from_others(api_as, world):
    before = (list(Assignment.objects.values_list()), audit_count())
    amys = Assignment.objects.get(salesperson=world.people["amy"]).pk
    codes = statuses(api_as, NOT_PEOPLE_EDITORS, lambda client: [
        client.post("/api/assignments/", {"salesperson": world.people["amy"].pk, "team": world.teams.b.pk,
                                          "start_date": "2030-01-01"}),
        client.patch(f"/api/assignments/{amys}/", {"end_date": "2030-01-01"}),
    ])
    assert codes == dict.fromkeys(NOT_PEOPLE_EDITORS, (403, 403))
    assert (list(Assignment.objects.values_list()), audit_count()) == before


def test_it_refuses_an_overlapping_assignment_naming_start_date(api_as, world):
    before = (Assignment.objects.count(), audit_count())
    response = api_as("henry").post("/api/assignments/", {
        "salesperson": world.people["amy"].pk, "team": world.teams.b.pk, "start_date": "2025-06-01"})
    assert response.status_code == 400
    assert "start_date" in response.json()
    assert (Assignment.objects.count(), audit_count()) == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"end_date": "2023-12-31"}, "end_date"),  # before the start
    ({"manager": "SELF"}, "manager"),  # their own manager
    ({"team": 999999}, "team"),
    ({"start_date": ""}, "start_date"),
    ({"salesperson": "BOB"}, "salesperson"),  # a history belongs to one person
])
def test_it_refuses_bad_assignment_changes_naming_the_field(api_as, world, changes, field):
    amy = world.people["amy"]
    assignment = Assignment.objects.get(salesperson=amy)
    if changes.get("manager") == "SELF":
        changes = {"manager": amy.pk}
    if changes.get("salesperson") == "BOB":
        changes = {"salesperson": world.people["bob"].pk}
    before = (list(Assignment.objects.values_list()), audit_count())
    response = api_as("olivia").patch(f"/api/assignments/{assignment.pk}/", changes, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert (list(Assignment.objects.values_list()), audit_count()) == before
