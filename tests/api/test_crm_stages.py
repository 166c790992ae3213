"""/api/stages/: the pipeline's stages, read by everyone who sees sales data (HR: 403), configured by sales ops
and admins only (everyone else: 403), never deleted (retired with ``active: false``)."""

from __future__ import annotations

import pytest

from salesops.crm.models import Stage
from tests.api.conftest import EVERYONE, audit_count, last_audit, results, statuses
from tests.crm.conftest import deal_a, stages  # noqa: F401 - fixtures, used by name

READERS = [p for p in EVERYONE if p != "henry"]
CONFIGURERS = ["olivia", "ada"]
NOT_CONFIGURERS = [p for p in EVERYONE if p not in CONFIGURERS]
ORDER = ["lead", "qualified", "proposal", "won", "lost"]


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


def test_everyone_with_sales_data_reads_the_stages_in_order_and_hr_does_not(api_as, stages):  # noqa: F811
    assert {p: results(api_as(p).get("/api/stages/"), "code") for p in READERS} == dict.fromkeys(READERS, ORDER)
    got = statuses(api_as, EVERYONE, lambda c: [c.get("/api/stages/"), c.get(f"/api/stages/{stages.won.pk}/")])
    assert got == {p: (403, 403) if p == "henry" else (200, 200) for p in EVERYONE}


def test_anonymous_callers_read_no_stage(anon, stages):  # noqa: F811
    assert anon.get("/api/stages/").status_code in (401, 403)


def test_a_stage_shows_its_chance_and_what_it_requires(api_as, stages):  # noqa: F811
    assert api_as("alice").get(f"/api/stages/{stages.proposal.pk}/").json() == {
        "id": stages.proposal.pk, "code": "proposal", "name": "Proposal", "position": 30, "probability": "50.00",
        "is_won": False, "is_lost": False, "required_fields": ["amount", "expected_close", "decision_maker"],
        "active": True}


def test_it_filters_stages_in_use(api_as, stages, ops_olivia):  # noqa: F811
    from salesops.crm import services as crm

    crm.stage_update(actor=ops_olivia, stage=stages.qualified, active=False)
    client = api_as("carol")
    assert results(client.get("/api/stages/", {"active": "false"}), "code") == ["qualified"]
    assert "qualified" not in results(client.get("/api/stages/", {"active": "true"}), "code")


@pytest.mark.parametrize("persona", CONFIGURERS)
def test_ops_and_admins_configure_stages_with_audit_rows(api_as, stages, persona, world):  # noqa: F811
    client = api_as(persona)
    created = client.post("/api/stages/", {"code": "negotiation", "name": "Negotiation", "probability": "75",
                                           "required_fields": ["amount", "competitor"]}, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["position"], created.json()["probability"]) == (60, "75.00")  # after the last one
    assert (last_audit().event, last_audit().actor) == ("stage.created", world.users[persona])
    changed = client.patch(f"/api/stages/{created.json()['id']}/", {"name": "谈判", "active": False}, format="json")
    assert changed.status_code == 200 and (changed.json()["name"], changed.json()["active"]) == ("谈判", False)
    assert (last_audit().event, last_audit().new) == ("stage.updated", {"name": "谈判", "active": False})


def test_only_ops_and_admins_change_stages(api_as, stages):  # noqa: F811
    before = (Stage.objects.count(), audit_count())
    got = statuses(api_as, NOT_CONFIGURERS, lambda c: [
        c.post("/api/stages/", {"code": "x", "name": "X"}, format="json"),
        c.patch(f"/api/stages/{stages.lead.pk}/", {"name": "Y"}, format="json"),
        c.post("/api/stages/reorder/", {"stages": [s.pk for s in Stage.objects.order_by("-position")]},
               format="json"),
    ])
    assert got == dict.fromkeys(NOT_CONFIGURERS, (403, 403, 403))
    assert (Stage.objects.count(), audit_count()) == before
    assert Stage.objects.get(pk=stages.lead.pk).name == "Lead"


def test_a_stage_is_never_deleted(api_as, stages):  # noqa: F811
    assert api_as("ada").delete(f"/api/stages/{stages.lead.pk}/").status_code == 405


@pytest.mark.parametrize(("body", "field"), [
    ({"code": "lead"}, "code"),
    ({"name": ""}, "name"),
    ({"probability": "101"}, "probability"),
    ({"probability": "-1"}, "probability"),
    ({"required_fields": ["budget"]}, "required_fields"),
    ({"is_won": True, "is_lost": True}, "is_lost"),
])
def test_it_refuses_bad_stages_naming_the_field(api_as, stages, body, field):  # noqa: F811
    before = (Stage.objects.count(), audit_count())
    refused = api_as("olivia").post("/api/stages/", {"code": "x", "name": "X", **body}, format="json")
    assert refused.status_code == 400 and field in refused.json(), refused.json()
    assert (Stage.objects.count(), audit_count()) == before


def test_a_stage_with_deals_keeps_whether_it_wins_or_loses(api_as, deal_a, stages):  # noqa: F811
    refused = api_as("olivia").patch(f"/api/stages/{stages.lead.pk}/", {"is_won": True}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["is_won"]
    assert not Stage.objects.get(pk=stages.lead.pk).is_won


def test_stages_are_reordered_as_named(api_as, stages):  # noqa: F811
    order = [stages.qualified, stages.lead, stages.proposal, stages.won, stages.lost]
    response = api_as("olivia").post("/api/stages/reorder/", {"stages": [s.pk for s in order]}, format="json")
    assert response.status_code == 200, response.content
    assert [s["code"] for s in response.json()] == ["qualified", "lead", "proposal", "won", "lost"]
    assert last_audit().event == "stage.reordered"
    refused = api_as("olivia").post("/api/stages/reorder/", {"stages": [s.pk for s in order[:-1]]}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["stages"]
    assert results(api_as("alice").get("/api/stages/"), "code") == ["qualified", "lead", "proposal", "won", "lost"]
