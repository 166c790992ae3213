"""/api/salespeople/: people data, seen by role; changed by HR, ops and admins."""

from __future__ import annotations

import pytest

from salesops.core.services import user_create
from salesops.org.models import Salesperson
from tests.api.conftest import (
    NOT_PEOPLE_EDITORS,
    PEOPLE_EDITORS,
    audit_count,
    last_audit,
    results,
    seen_by,
    statuses,
)

ALL = ["E001", "E002", "E003", "E101", "E102", "E201"]
VISIBLE = {
    "alice": ["E101"], "amy": ["E102"], "bob": ["E201"],
    "carol": ["E002", "E101", "E102"], "erin": ["E003", "E201"], "victor": ALL,
    "olivia": ALL, "henry": ALL, "dan": ALL, "ada": ALL,
}
NEW = {"employee_no": "E301", "name": "孙新", "hire_date": "2025-11-01", "status": "ramping", "ramp_schedule": [25, 50, 75]}


def test_each_persona_lists_exactly_the_people_they_may_see(api_as):
    assert seen_by(api_as, "/api/salespeople/", "employee_no", VISIBLE) == VISIBLE


def test_it_hides_another_rep_as_not_found(api_as, world):
    assert api_as("bob").get(f"/api/salespeople/{world.people['alice'].pk}/").status_code == 404
    assert api_as("carol").get(f"/api/salespeople/{world.people['bob'].pk}/").status_code == 404
    assert api_as("carol").get(f"/api/salespeople/{world.people['alice'].pk}/").status_code == 200


def test_it_shows_a_persons_details(api_as, world):
    body = api_as("alice").get(f"/api/salespeople/{world.people['alice'].pk}/").json()
    assert (body["employee_no"], body["name"], body["username"], body["hire_date"], body["status"]) == (
        "E101", "李丽", "alice", "2024-01-01", "active")


def test_it_filters_by_status(api_as, world):
    assert results(api_as("henry").get("/api/salespeople/?status=active"), "employee_no") == ALL
    assert results(api_as("henry").get("/api/salespeople/?status=left"), "employee_no") == []
    assert "status" in api_as("henry").get("/api/salespeople/?status=gone").json()


@pytest.mark.parametrize("persona", PEOPLE_EDITORS)
def test_people_editors_create_and_update_salespeople_with_audit_rows(api_as, world, persona):
    client = api_as(persona)
    response = client.post("/api/salespeople/", NEW, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert (last_audit().event, last_audit().actor) == ("salesperson.created", world.users[persona])
    response = client.patch(f"/api/salespeople/{pk}/", {"leave_date": "2026-06-30", "status": "left"}, format="json")
    assert response.status_code == 200, response.content
    assert last_audit().event == "salesperson.updated"
    assert last_audit().new == {"leave_date": "2026-06-30", "status": "left"}


def test_it_links_a_salesperson_to_a_user(api_as, world):
    user, _profile = user_create(actor=None, username="sun", password="pw-sun", role="rep")
    response = api_as("olivia").post("/api/salespeople/", {**NEW, "user": user.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "sun"


def test_hr_may_not_link_an_account_since_the_link_grants_sales_data(api_as, world):
    # Given an admin account, when HR tries to link it to a new salesperson, then it is refused on `user`
    before = Salesperson.objects.count()
    response = api_as("henry").post("/api/salespeople/", {**NEW, "user": world.users["ada"].pk}, format="json")
    assert response.status_code == 400 and "user" in response.json()
    assert Salesperson.objects.count() == before
    response = api_as("henry").post("/api/salespeople/", NEW, format="json")
    assert response.status_code == 201


def test_it_refuses_people_changes_from_others(api_as, world):
    before = (Salesperson.objects.count(), audit_count())
    codes = statuses(api_as, NOT_PEOPLE_EDITORS, lambda client: [
        client.post("/api/salespeople/", NEW, format="json"),
        client.patch(f"/api/salespeople/{world.people['alice'].pk}/", {"name": "x"}),
    ])
    assert codes == dict.fromkeys(NOT_PEOPLE_EDITORS, (403, 403))
    assert (Salesperson.objects.count(), audit_count()) == before
    assert Salesperson.objects.get(pk=world.people["alice"].pk).name == "李丽"


@pytest.mark.parametrize(("changes", "field"), [
    ({"employee_no": "E101"}, "employee_no"),
    ({"hire_date": "2025-13-01"}, "hire_date"),
    ({"status": "retired"}, "status"),
    ({"ramp_schedule": [50, 150]}, "ramp_schedule"),
    ({"user": 999999}, "user"),
])
def test_it_refuses_bad_people_naming_the_field(api_as, changes, field):
    before = (Salesperson.objects.count(), audit_count())
    response = api_as("henry").post("/api/salespeople/", {**NEW, **changes}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert (Salesperson.objects.count(), audit_count()) == before


def test_it_refuses_a_leave_date_before_the_hire_date(api_as, world):
    before = audit_count()
    response = api_as("henry").patch(f"/api/salespeople/{world.people['amy'].pk}/", {"leave_date": "2023-12-31"})
    assert response.status_code == 400
    assert "leave_date" in response.json()
    assert Salesperson.objects.get(pk=world.people["amy"].pk).leave_date is None
    assert audit_count() == before


def test_it_refuses_a_user_already_linked_to_someone_else(api_as, world):
    response = api_as("henry").post("/api/salespeople/", {**NEW, "user": world.users["alice"].pk}, format="json")
    assert response.status_code == 400
    assert "user" in response.json()
