"""/api/activities/: calls, visits, meetings, emails and tasks, seen by owner (a rep their own, a manager the
team's, ops/admin/finance all, HR nothing), changed by their owner's side only (finance reads), never due before
they were created, done with an outcome; filtered by ``?overdue=``, ``?owner=`` and the rest.

Activities (created at T0): Alice's call to 甲公司 due T0 + 1 h, Bob's visit to 乙公司 due T0 + 1 day."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from salesops.crm import services as crm
from salesops.crm.models import Activity, ActivityKind
from tests.api.conftest import EVERYONE, audit_count, last_audit, results, statuses
from tests.crm.conftest import T0, boss_a, deal_a, stages  # noqa: F401 - fixtures, used by name

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
BOTH = sorted(["回访", "拜访"])
VISIBLE = {
    "alice": ["回访"], "amy": [], "bob": ["拜访"], "carol": ["回访"], "erin": ["拜访"], "victor": BOTH,
    "olivia": BOTH, "dan": BOTH, "ada": BOTH,
}
SIDE_OF_ALICE = {"alice": 200, "amy": 404, "bob": 404, "carol": 200, "erin": 404, "victor": 200, "olivia": 200,
                 "henry": 403, "dan": 403, "ada": 200}


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


@pytest.fixture
def call_a(world):
    return crm.activity_create(actor=None, kind=ActivityKind.CALL, subject="回访", customer=world.customers.a,
                               owner=world.people["alice"], created_at=T0, due_at=T0 + HOUR)


@pytest.fixture
def visit_b(world):
    return crm.activity_create(actor=None, kind=ActivityKind.VISIT, subject="拜访", customer=world.customers.b,
                               owner=world.people["bob"], created_at=T0, due_at=T0 + DAY)


def url(activity, action: str = "") -> str:
    return f"/api/activities/{activity.pk}/" + (f"{action}/" if action else "")


# -- reading ----------------------------------------------------------------------------------------------


def test_each_persona_lists_exactly_the_activities_they_may_see(api_as, call_a, visit_b):
    assert {p: sorted(results(api_as(p).get("/api/activities/"), "subject")) for p in VISIBLE} == VISIBLE
    assert api_as("henry").get("/api/activities/").status_code == 403


def test_it_hides_other_peoples_activities_as_not_found(api_as, call_a):
    assert statuses(api_as, EVERYONE, lambda c: [c.get(url(call_a))]) == {
        "alice": (200,), "amy": (404,), "bob": (404,), "carol": (200,), "erin": (404,), "victor": (200,),
        "olivia": (200,), "henry": (403,), "dan": (200,), "ada": (200,)}


def test_anonymous_callers_see_no_activity(anon, call_a):
    assert anon.get("/api/activities/").status_code in (401, 403)


def test_it_shows_an_activity_and_whether_it_is_overdue(api_as, world, call_a):
    with time_machine.travel(T0 + 30 * dt.timedelta(minutes=1), tick=False):
        body = api_as("carol").get(url(call_a)).json()
    assert body == {
        "id": call_a.pk, "external_id": None, "kind": "call", "subject": "回访", "customer": world.customers.a.pk,
        "customer_name": "甲公司", "opportunity": None, "contact": None, "owner": world.people["alice"].pk,
        "owner_name": "李丽", "created_at": "2026-03-02T17:00:00+08:00", "due_at": "2026-03-02T18:00:00+08:00",
        "done_at": None, "outcome": "", "overdue": False}
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        assert api_as("carol").get(url(call_a)).json()["overdue"] is True


def test_it_filters_overdue_activities(api_as, world, call_a, visit_b):
    client = api_as("dan")
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        assert results(client.get("/api/activities/", {"overdue": "1"}), "subject") == ["回访"]
        assert results(client.get("/api/activities/", {"overdue": "0"}), "subject") == ["拜访"]
        crm.activity_complete(actor=None, activity=call_a, outcome="约了演示")
        assert results(client.get("/api/activities/", {"overdue": "1"}), "subject") == []
    with time_machine.travel(T0 + 2 * DAY, tick=False):
        assert results(client.get("/api/activities/", {"overdue": "true"}), "subject") == ["拜访"]


def test_it_filters_activities_by_owner_and_the_rest(api_as, world, call_a, visit_b, deal_a):  # noqa: F811
    crm.activity_update(actor=None, activity=call_a, opportunity=deal_a)
    client = api_as("ada")

    def subjects(**params):
        return sorted(results(client.get("/api/activities/", params), "subject"))

    assert subjects(owner=world.people["bob"].pk) == ["拜访"]
    assert subjects(customer=world.customers.a.pk) == ["回访"]
    assert subjects(opportunity=deal_a.pk) == ["回访"]
    assert subjects(kind="visit") == ["拜访"]
    assert subjects(done="false") == BOTH and subjects(done="true") == []
    assert subjects(due_from="2026-03-03") == ["拜访"]  # T0 + 1 day is 03-03 17:00 in Shanghai
    assert subjects(due_to="2026-03-02") == ["回访"]
    assert subjects(created_from="2026-03-02", created_to="2026-03-02") == BOTH
    for params, field in [({"overdue": "maybe"}, "overdue"), ({"owner": "bob"}, "owner"), ({"kind": "lunch"}, "kind"),
                          ({"due_from": "2026-03-05", "due_to": "2026-03-01"}, "due_to")]:
        refused = client.get("/api/activities/", params)
        assert refused.status_code == 400 and field in refused.json(), params
    page = client.get("/api/activities/", {"limit": 1}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (2, 1, True)


# -- writing ----------------------------------------------------------------------------------------------


def test_a_rep_logs_her_own_activity_owned_by_her_by_default(api_as, world, deal_a, boss_a, rep_alice):  # noqa: F811
    with time_machine.travel(T0, tick=False):
        response = api_as("alice").post("/api/activities/", {
            "kind": "meeting", "subject": "需求会", "customer": world.customers.a.pk, "opportunity": deal_a.pk,
            "contact": boss_a.pk, "due_at": "2026-03-03T10:00:00+08:00"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["owner"], body["created_at"], body["due_at"], body["overdue"]) == (
        world.people["alice"].pk, "2026-03-02T17:00:00+08:00", "2026-03-03T10:00:00+08:00", False)
    assert (last_audit().event, last_audit().actor) == ("activity.created", rep_alice)


def test_each_persona_logs_activities_only_for_their_side(api_as, world):
    def log(client):
        return [client.post("/api/activities/", {"kind": "call", "subject": "新活动", "customer": world.customers.a.pk,
                                                 "owner": world.people["alice"].pk}, format="json")]

    assert statuses(api_as, EVERYONE, log) == {
        p: (201,) if code == 200 else (403,) if code == 403 else (400,) for p, code in SIDE_OF_ALICE.items()}
    assert Activity.objects.filter(subject="新活动").count() == 5


@pytest.mark.parametrize(("changes", "field"), [
    ({"due_at": "2026-03-02T16:00:00+08:00"}, "due_at"),  # an hour before it was created
    ({"kind": "lunch"}, "kind"),
    ({"subject": ""}, "subject"),
    ({"customer": None}, "customer"),
    ({"opportunity": "other customer's"}, "opportunity"),
    ({"contact": "other customer's"}, "contact"),
    ({"owner": "bob"}, "owner"),  # not Alice's to give
])
def test_it_refuses_bad_activities_naming_the_field_and_saves_nothing(api_as, world, deal_a, boss_a, changes,  # noqa: F811
                                                                      field):
    body = {"kind": "call", "subject": "回访", "customer": world.customers.a.pk, "created_at": "2026-03-02T17:00:00+08:00",
            **changes}
    if field in ("opportunity", "contact"):  # Alice's own deal and contact, but on another customer of hers
        other = world.customers.b
        other.owner = world.people["alice"]
        other.save()
        body["customer"] = other.pk
        body[field] = deal_a.pk if field == "opportunity" else boss_a.pk
    if body.get("owner") == "bob":
        body["owner"] = world.people["bob"].pk
    before = (Activity.objects.count(), audit_count())
    refused = api_as("alice").post("/api/activities/", body, format="json")
    assert refused.status_code == 400 and list(refused.json()) == [field], refused.json()
    assert (Activity.objects.count(), audit_count()) == before


def test_due_before_created_is_refused_with_the_creation_time(api_as, world):
    with time_machine.travel(T0, tick=False):
        refused = api_as("alice").post("/api/activities/", {
            "kind": "task", "subject": "报价", "customer": world.customers.a.pk,
            "due_at": "2026-03-01T09:00:00+08:00"}, format="json")
    assert refused.json() == {"due_at": ["An activity cannot be due before it was created (2026-03-02 17:00)."]}


def test_each_persona_changes_only_the_activities_of_their_side(api_as, call_a):
    got = statuses(api_as, EVERYONE, lambda c: [c.patch(url(call_a), {"subject": "回访 2"}, format="json")])
    assert got == {p: (code,) for p, code in SIDE_OF_ALICE.items()}


def test_an_update_keeps_the_customer_and_the_creation_time(api_as, world, call_a):
    client = api_as("olivia")
    assert client.patch(url(call_a), {"customer": world.customers.b.pk}, format="json").json() == {
        "customer": ["An activity cannot move to another customer."]}
    assert list(client.patch(url(call_a), {"created_at": "2026-01-01T00:00:00Z"}, format="json").json()) == [
        "created_at"]
    refused = client.patch(url(call_a), {"due_at": "2026-03-02T16:59:00+08:00"}, format="json")
    assert list(refused.json()) == ["due_at"]
    call = Activity.objects.get(pk=call_a.pk)
    assert (call.customer, call.created_at, call.due_at) == (world.customers.a, T0, T0 + HOUR)


def test_an_activity_is_never_deleted(api_as, call_a):
    assert api_as("olivia").delete(url(call_a)).status_code == 405


# -- done -------------------------------------------------------------------------------------------------


def test_an_activity_is_done_with_its_outcome(api_as, call_a, manager_carol):
    refused = api_as("alice").post(url(call_a, "done"), {"outcome": "  "}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["outcome"]
    assert Activity.objects.get(pk=call_a.pk).done_at is None
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        done = api_as("carol").post(url(call_a, "done"), {"outcome": "约了下周演示"}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["done_at"], done.json()["outcome"], done.json()["overdue"]) == (
        "2026-03-02T19:00:00+08:00", "约了下周演示", False)
    assert (last_audit().event, last_audit().actor) == ("activity.updated", manager_carol)


def test_done_at_is_never_before_the_activity_was_created(api_as, call_a):
    refused = api_as("alice").post(url(call_a, "done"), {"outcome": "ok", "done_at": "2026-03-01T09:00:00+08:00"},
                                   format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["done_at"]


def test_each_persona_completes_only_the_activities_of_their_side(api_as, call_a):
    def complete(client):
        response = client.post(url(call_a, "done"), {"outcome": "完成"}, format="json")
        return [response]

    assert statuses(api_as, EVERYONE, complete) == {p: (code,) for p, code in SIDE_OF_ALICE.items()}
