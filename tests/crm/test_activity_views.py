"""The activity pages: the list (mine, the team's, overdue; by kind and owner) and its export, a new activity
(never due before it was created: the refusal is shown on the form, nothing saved), marking one done with its
outcome, and the overdue activities per rep — with who may and who may not."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.crm import services as crm
from salesops.crm.models import Activity, ActivityKind

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def as_user(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def make(world, who: str, subject: str, *, due=None, created=None, kind=ActivityKind.CALL, **fields) -> Activity:
    now = timezone.now()
    customer = world.customers.b if who == "bob" else world.customers.a
    return crm.activity_create(actor=None, kind=kind, subject=subject, customer=customer, owner=world.people[who],
                               created_at=created or now - 10 * DAY, due_at=due, **fields)


@pytest.fixture
def calls(world, stages):
    """Alice: one overdue call, one visit due tomorrow, one done; Amy: two overdue; Bob (team B): one overdue."""
    now = timezone.now()
    done = make(world, "alice", "已完成回访", due=now - 3 * DAY)
    crm.activity_complete(actor=None, activity=done, outcome="客户满意")
    return {
        "alice_late": make(world, "alice", "催款电话", due=now - 2 * DAY),
        "alice_soon": make(world, "alice", "上门拜访", due=now + DAY, kind=ActivityKind.VISIT),
        "alice_done": done,
        "amy_1": make(world, "amy", "周敏回访一", due=now - 5 * DAY),
        "amy_2": make(world, "amy", "周敏回访二", due=now - HOUR, kind=ActivityKind.EMAIL),
        "bob_late": make(world, "bob", "张伟回访", due=now - DAY),
    }


def subjects(client, **params) -> list[str]:
    page = client.get(reverse("crm:activities"), params)
    assert page.status_code == 200
    return sorted(row[2]["text"] for row in page.context["rows"])


# -- the list ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_list_renders(calls, rep_alice, language):
    page = as_user(rep_alice, language).get(reverse("crm:activities"))
    assert page.status_code == 200 and "催款电话" in page.content.decode()


def test_each_sees_only_the_activities_they_may(calls, rep_alice, rep_bob, manager_carol, manager_erin, finance_dan):
    assert subjects(as_user(rep_alice)) == ["上门拜访", "催款电话", "已完成回访"]
    assert subjects(as_user(rep_bob)) == ["张伟回访"]
    assert subjects(as_user(manager_carol)) == ["上门拜访", "催款电话", "周敏回访一", "周敏回访二", "已完成回访"]
    assert subjects(as_user(manager_erin)) == ["张伟回访"]
    assert len(subjects(as_user(finance_dan))) == 6


def test_the_list_filters_mine_overdue_kind_and_owner(calls, manager_carol, rep_alice, world):
    carol = as_user(manager_carol)
    assert subjects(carol, scope="mine") == []  # Carol has none of her own
    assert subjects(as_user(rep_alice), scope="mine", status="open") == ["上门拜访", "催款电话"]
    assert subjects(carol, status="overdue") == ["催款电话", "周敏回访一", "周敏回访二"]
    assert subjects(carol, status="done") == ["已完成回访"]
    assert subjects(carol, kind="email") == ["周敏回访二"]
    assert subjects(carol, owner=world.people["amy"].pk, status="overdue") == ["周敏回访一", "周敏回访二"]


def test_the_list_marks_overdue_ones_and_exports(calls, rep_alice):
    client = as_user(rep_alice)
    page = client.get(reverse("crm:activities"), {"sort": "subject"})
    status = {row[2]["text"]: row[7]["text"] for row in page.context["rows"]}
    assert status == {"上门拜访": "open", "催款电话": "overdue", "已完成回访": "done"}
    answer = client.get(reverse("crm:activities"), {"format": "csv", "status": "overdue"})
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r[2] for r in rows[1:]] == ["催款电话"]


def test_hr_has_no_activities(calls, hr_henry):
    client = as_user(hr_henry)
    for name in ("crm:activities", "crm:activity-new", "crm:overdue"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("crm:activity-done", args=[calls["alice_late"].pk])).status_code == 403


# -- a new activity -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_new_activity_form_offers_only_what_the_user_may_see(deal_a, rep_alice, world, language):
    page = as_user(rep_alice, language).get(reverse("crm:activity-new"), {"opportunity": deal_a.pk})
    assert page.status_code == 200
    form = page.context["form"]
    assert list(form.fields["customer"].queryset) == [world.customers.a]
    assert list(form.fields["opportunity"].queryset) == [deal_a]
    assert list(form.fields["owner"].queryset) == [world.people["alice"]]
    assert form["opportunity"].value() == str(deal_a.pk)


def test_an_activity_on_a_deal_takes_the_deals_customer(deal_a, rep_alice, world):
    due = (timezone.localtime() + 2 * DAY).strftime("%Y-%m-%dT%H:%M")
    answer = as_user(rep_alice).post(reverse("crm:activity-new"), {
        "kind": "meeting", "subject": "方案评审", "opportunity": deal_a.pk, "owner": world.people["alice"].pk,
        "due_at": due})
    assert answer["Location"] == reverse("crm:opportunity", args=[deal_a.pk])
    activity = Activity.objects.get()
    assert (activity.customer, activity.opportunity, activity.kind) == (world.customers.a, deal_a, "meeting")
    assert timezone.localtime(activity.due_at).strftime("%Y-%m-%dT%H:%M") == due


def test_an_activity_due_before_it_was_created_is_refused_on_the_form(world, rep_alice):
    past = (timezone.localtime() - DAY).strftime("%Y-%m-%dT%H:%M")
    answer = as_user(rep_alice).post(reverse("crm:activity-new"), {
        "kind": "call", "subject": "回访", "customer": world.customers.a.pk, "owner": world.people["alice"].pk,
        "due_at": past})
    assert answer.status_code == 200
    errors = answer.context["form"].errors["due_at"]
    assert errors[0].startswith("An activity cannot be due before it was created")
    assert errors[0] in answer.content.decode()
    assert not Activity.objects.exists()


def test_an_activity_needs_a_customer_or_a_deal_and_a_matching_contact(world, rep_alice, stages):
    client = as_user(rep_alice)
    bare = client.post(reverse("crm:activity-new"), {"kind": "call", "subject": "x", "owner": world.people["alice"].pk})
    assert bare.context["form"].errors["customer"] == ["Choose a customer or an opportunity."]
    deal_other = crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"], name="y")
    from salesops.org import services as org

    other_customer = org.customer_create(actor=None, external_id="C-A2", name="丙公司", owner=world.people["alice"])
    mismatch = client.post(reverse("crm:activity-new"), {
        "kind": "call", "subject": "x", "owner": world.people["alice"].pk, "customer": other_customer.pk,
        "opportunity": deal_other.pk})
    assert mismatch.context["form"].errors["opportunity"] == ["The opportunity belongs to another customer."]
    assert not Activity.objects.exists()


def test_a_rep_cannot_plan_for_others_or_on_their_customers(world, rep_bob):
    answer = as_user(rep_bob).post(reverse("crm:activity-new"), {
        "kind": "call", "subject": "x", "customer": world.customers.a.pk, "owner": world.people["alice"].pk})
    assert set(answer.context["form"].errors) == {"customer", "owner"}
    assert not Activity.objects.exists()


def test_finance_plans_no_activity(world, finance_dan):
    client = as_user(finance_dan)
    assert client.get(reverse("crm:activity-new")).status_code == 403
    assert client.post(reverse("crm:activity-new"), {
        "kind": "call", "subject": "x", "customer": world.customers.a.pk,
        "owner": world.people["alice"].pk}).status_code == 403
    assert not Activity.objects.exists()


# -- done -------------------------------------------------------------------------------------------------------
def test_the_owner_marks_an_activity_done_with_its_outcome(calls, rep_alice):
    call = calls["alice_late"]
    client = as_user(rep_alice)
    page = client.get(reverse("crm:activity-done", args=[call.pk]))
    assert page.status_code == 200 and page.context["form"] is not None and page.context["status"] == "overdue"
    empty = client.post(reverse("crm:activity-done", args=[call.pk]), {"outcome": "  "})
    assert "outcome" in empty.context["form"].errors
    assert Activity.objects.get(pk=call.pk).done_at is None
    done = client.post(reverse("crm:activity-done", args=[call.pk]), {"outcome": "客户答应月底付款"})
    assert done.status_code == 302
    call.refresh_from_db()
    assert call.outcome == "客户答应月底付款" and call.done_at is not None
    again = client.get(reverse("crm:activity-done", args=[call.pk]))
    assert again.context["form"] is None and "客户答应月底付款" in again.content.decode()


def test_a_manager_marks_a_team_activity_done(calls, manager_carol):
    answer = as_user(manager_carol).post(reverse("crm:activity-done", args=[calls["amy_1"].pk]), {"outcome": "已跟进"})
    assert answer.status_code == 302 and Activity.objects.get(pk=calls["amy_1"].pk).done_at is not None


@pytest.mark.parametrize(("persona", "get", "post"), [
    ("rep_bob", 404, 404), ("manager_erin", 404, 404), ("hr_henry", 403, 403), ("finance_dan", 200, 403),
])
def test_outsiders_cannot_mark_an_activity_done(calls, request, persona, get, post):
    client = as_user(request.getfixturevalue(persona))
    url = reverse("crm:activity-done", args=[calls["alice_late"].pk])
    assert client.get(url).status_code == get
    assert client.post(url, {"outcome": "done by someone else"}).status_code == post
    assert Activity.objects.get(pk=calls["alice_late"].pk).done_at is None


# -- overdue per rep ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_manager_sees_the_overdue_activities_per_rep_of_the_team(calls, manager_carol, world, language):
    page = as_user(manager_carol, language).get(reverse("crm:overdue"))
    assert page.status_code == 200
    rows = [(item["row"].employee_no, item["row"].count) for item in page.context["rows"]]
    assert rows == [("E102", 2), ("E101", 1)]  # Amy first (most), Alice; not Bob, and not the done one
    assert page.context["total"] == 3
    amy = page.context["rows"][0]
    assert f"owner={world.people['amy'].pk}" in amy["url"] and "status=overdue" in amy["url"]
    assert amy["url"] in page.content.decode().replace("&amp;", "&")
    # the drill-down is the list of exactly those
    drilled = as_user(manager_carol).get(amy["url"])
    assert sorted(row[2]["text"] for row in drilled.context["rows"]) == ["周敏回访一", "周敏回访二"]


def test_the_overdue_list_of_others(calls, director_victor, manager_erin, rep_alice):
    def rows(user):
        return [(i["row"].employee_no, i["row"].count) for i in as_user(user).get(reverse("crm:overdue")).context["rows"]]

    assert rows(director_victor) == [("E102", 2), ("E101", 1), ("E201", 1)]
    assert rows(manager_erin) == [("E201", 1)]
    assert rows(rep_alice) == [("E101", 1)]  # a rep sees their own
