"""targets.access: which nodes of a plan each persona sees (a node is visible when its key names a team they
head or a salesperson they may see; its descendants follow), and who may write what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from salesops.targets import access
from salesops.targets import services as targets

LEVELS = [{"dimension": "team", "depth": 1, "method": "equal"}, {"dimension": "salesperson", "method": "equal"}]


@pytest.fixture
def plan(world, ops_olivia):
    plan = targets.plan_create(actor=ops_olivia, name="p", fiscal_year=2026, total=Decimal("100.00"), levels=LEVELS,
                               seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    return plan


def seen(plan, user) -> set[str]:
    segments = access.visible_segments(user)
    return {n.name for n in plan.nodes.all() if access.key_visible(n.key, segments)}


@pytest.mark.parametrize(("persona", "names"), [
    ("rep_alice", {"李丽"}),
    ("rep_bob", {"张伟"}),
    ("manager_carol", {"华东一组", "陈经理", "李丽", "周敏"}),
    ("manager_erin", {"华南一组", "赵经理", "张伟"}),
    ("director_victor", {"华东一组", "陈经理", "李丽", "周敏", "华南一组", "赵经理", "张伟"}),
    ("ops_olivia", {"p", "华东一组", "陈经理", "李丽", "周敏", "华南一组", "赵经理", "张伟"}),
    ("finance_dan", {"p", "华东一组", "陈经理", "李丽", "周敏", "华南一组", "赵经理", "张伟"}),
])
def test_it_shows_each_persona_their_nodes(plan, request, persona, names):
    assert seen(plan, request.getfixturevalue(persona)) == names


def test_descendants_follow_a_visible_ancestor():
    assert access.key_visible("team:2/salesperson:9/category:4", {"team:2"})
    assert not access.key_visible("team:3/salesperson:9", {"team:2"})
    assert not access.key_visible("", {"team:2"})  # the company total is for whole-plan readers only
    assert access.key_visible("", None)
    assert not access.key_visible("team:22", {"team:2"})  # whole segments, not prefixes


def test_it_refuses_hr_and_hides_plans_without_their_nodes(plan, world, hr_henry, rep_bob, ops_olivia):
    with pytest.raises(PermissionDenied):
        access.visible_plans(hr_henry)
    regional = targets.plan_create(actor=ops_olivia, name="r", fiscal_year=2026, total=Decimal("10.00"),
                                   levels=[{"dimension": "region", "depth": 1, "method": "equal"}])
    targets.plan_allocate(actor=ops_olivia, plan=regional)
    assert list(access.visible_plans(rep_bob)) == [plan]
    with pytest.raises(Http404):
        access.access_plan_by_id(rep_bob, regional.pk)
    with pytest.raises(Http404):
        access.access_node_by_key(rep_bob, plan, plan.nodes.get(name="李丽").key)


def test_only_ops_and_admin_edit_and_managers_commit_in_scope(plan, ops_olivia, admin_ada, manager_carol, rep_alice,
                                                              finance_dan):
    alice, bob = plan.nodes.get(name="李丽").key, plan.nodes.get(name="张伟").key
    assert access.can_edit(ops_olivia) and access.can_edit(admin_ada)
    assert not any(access.can_edit(u) for u in (manager_carol, rep_alice, finance_dan))
    carol = access.visible_segments(manager_carol)
    assert access.may_commit(manager_carol, plan, alice, carol)
    assert not access.may_commit(manager_carol, plan, bob, carol)
    assert not access.may_commit(rep_alice, plan, alice, access.visible_segments(rep_alice))
    assert not access.may_commit(finance_dan, plan, alice, None)
    assert access.may_commit(ops_olivia, plan, bob, None) and not access.may_commit(ops_olivia, plan, "", None)
