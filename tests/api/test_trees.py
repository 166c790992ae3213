"""/api/regions/, /api/product-categories/, /api/customer-segments/, /api/teams/: dimension trees."""

from __future__ import annotations

import pytest

from salesops.org.models import Region, Team
from tests.api.conftest import EVERYONE, NOT_ORG_EDITORS, audit_count, last_audit, results, seen_by, statuses

TREES = {
    "regions": ["CN", "CN-E", "CN-E-SH", "CN-S"],
    "product-categories": ["SW"],
    "customer-segments": ["KA"],
    "teams": ["T-ROOT", "T-A", "T-B"],
}


@pytest.mark.parametrize("tree", TREES)
def test_it_shows_every_tree_to_every_signed_in_user(api_as, tree):
    assert seen_by(api_as, f"/api/{tree}/", "code", EVERYONE) == dict.fromkeys(EVERYONE, TREES[tree])


def test_it_gives_each_node_its_place_in_the_tree(api_as, world):
    body = api_as("alice").get(f"/api/regions/{world.regions.shanghai.pk}/").json()
    assert body == {
        "id": world.regions.shanghai.pk, "code": "CN-E-SH", "name": "上海", "parent": world.regions.east.pk,
        "depth": 2, "path": f"/{world.regions.china.pk}/{world.regions.east.pk}/{world.regions.shanghai.pk}/",
    }


def test_it_shows_team_managers(api_as, world):
    body = api_as("bob").get(f"/api/teams/{world.teams.a.pk}/").json()
    assert (body["manager"], body["manager_name"]) == (world.people["carol"].pk, "陈经理")


def test_it_filters_a_subtree_with_root(api_as, world):
    client = api_as("bob")
    assert results(client.get(f"/api/regions/?root={world.regions.east.pk}"), "code") == ["CN-E", "CN-E-SH"]
    assert results(client.get(f"/api/teams/?root={world.teams.b.pk}"), "code") == ["T-B"]


@pytest.mark.parametrize("root", ["999999", "east"])
def test_it_refuses_an_unknown_root_naming_it(api_as, root):
    response = api_as("alice").get(f"/api/regions/?root={root}")
    assert response.status_code == 400
    assert "root" in response.json()


def test_it_refuses_tree_changes_from_non_editors(api_as, world):
    before = (Region.objects.count(), audit_count())
    codes = statuses(api_as, NOT_ORG_EDITORS, lambda client: [
        client.post("/api/regions/", {"code": "X", "name": "X"}),
        client.patch(f"/api/regions/{world.regions.south.pk}/", {"name": "X"}),
        client.delete(f"/api/regions/{world.regions.shanghai.pk}/"),
    ])
    assert codes == dict.fromkeys(NOT_ORG_EDITORS, (403, 403, 403))
    assert (Region.objects.count(), audit_count()) == before
    assert Region.objects.get(pk=world.regions.south.pk).name == "华南"


@pytest.mark.parametrize("persona", ["olivia", "ada"])
def test_editors_create_a_node_under_a_parent_with_an_audit_row(api_as, world, persona):
    response = api_as(persona).post("/api/regions/", {"code": "CN-E-HZ", "name": "杭州", "parent": world.regions.east.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["depth"] == 2
    assert body["path"] == f"{world.regions.east.path}{body['id']}/"
    event = last_audit()
    assert (event.event, event.actor, event.subject_id) == ("region.created", world.users[persona], str(body["id"]))


def test_it_creates_a_team_with_a_manager(api_as, world):
    response = api_as("olivia").post(
        "/api/teams/", {"code": "T-A2", "name": "华东二组", "parent": world.teams.root.pk, "manager": world.people["amy"].pk},
        format="json")
    assert response.status_code == 201, response.content
    assert Team.objects.get(code="T-A2").manager == world.people["amy"]


def test_it_moves_a_node_with_its_subtree(api_as, world):
    # Given 华东 with 上海 under it, when 华东 moves under 华南,
    response = api_as("olivia").patch(f"/api/regions/{world.regions.east.pk}/", {"parent": world.regions.south.pk})
    # then both paths follow and the move is audited.
    assert response.status_code == 200, response.content
    assert response.json()["depth"] == 2
    shanghai = Region.objects.get(pk=world.regions.shanghai.pk)
    assert shanghai.path == f"{world.regions.south.path}{world.regions.east.pk}/{shanghai.pk}/"
    assert shanghai.depth == 3
    assert last_audit().event == "region.moved"


def test_it_refuses_a_move_that_makes_a_cycle_naming_parent(api_as, world):
    before = (list(Region.objects.values_list("pk", "parent_id", "path", "depth")), audit_count())
    response = api_as("olivia").patch(f"/api/regions/{world.regions.china.pk}/", {"parent": world.regions.shanghai.pk})
    assert response.status_code == 400
    assert "parent" in response.json()
    assert (list(Region.objects.values_list("pk", "parent_id", "path", "depth")), audit_count()) == before


def test_it_refuses_a_duplicate_code_naming_code(api_as, world):
    before = (Region.objects.count(), audit_count())
    response = api_as("olivia").post("/api/regions/", {"code": "CN-S", "name": "again"})
    assert response.status_code == 400
    assert "code" in response.json()
    assert (Region.objects.count(), audit_count()) == before


def test_it_refuses_a_missing_name_naming_name(api_as):
    response = api_as("olivia").post("/api/product-categories/", {"code": "HW"})
    assert response.status_code == 400
    assert "name" in response.json()


def test_it_deletes_a_leaf_with_an_audit_row(api_as, world):
    client = api_as("ada")
    pk = client.post("/api/customer-segments/", {"code": "SMB", "name": "中小企业"}).json()["id"]
    assert client.delete(f"/api/customer-segments/{pk}/").status_code == 204
    assert client.get(f"/api/customer-segments/{pk}/").status_code == 404
    assert last_audit().event == "customersegment.deleted"


def test_it_refuses_to_delete_a_node_with_children(api_as, world):
    before = (Region.objects.count(), audit_count())
    response = api_as("olivia").delete(f"/api/regions/{world.regions.east.pk}/")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert (Region.objects.count(), audit_count()) == before


def test_it_refuses_to_delete_a_node_still_in_use(api_as, world):
    # 上海 is a leaf, but a customer and an assignment point at it.
    before = (Region.objects.count(), audit_count())
    response = api_as("olivia").delete(f"/api/regions/{world.regions.shanghai.pk}/")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert (Region.objects.count(), audit_count()) == before
