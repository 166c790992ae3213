"""Who may see and change which target plans and nodes. Every targets view (and the Excel import) asks here.

Reading:

- admin, ops, finance: whole plans;
- manager: the nodes whose path names a team in the subtrees they head today (``org.access.managed_team_ids``)
  or a salesperson they may see (``org.access.visible_salesperson_ids``, themselves included), with those
  nodes' descendants;
- rep: only the nodes whose path names themselves (and their descendants);
- HR and users without a role: nothing (403 on every targets page).

A node's ``key`` is the path of its members ("team:2/salesperson:7"), so a node is visible when one segment of
its key is one the user may see; descendants carry their ancestors' segments, so they follow by construction.
A plan or node in which the user sees nothing is a 404, not a 403: an outsider learns nothing about what exists.

Writing: ops/admin define, allocate, lock, accept and move plans through the workflow; commits (bottom-up) are
entered by managers on the nodes they see, and by ops/admin on any node (e.g. collected in a spreadsheet).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from salesops.core.roles import Role, role_of
from salesops.org.access import managed_team_ids, own_salesperson, visible_salesperson_ids
from salesops.targets.models import PlanStatus, TargetNode, TargetPlan

READERS = (Role.ADMIN, Role.OPS, Role.FINANCE, Role.MANAGER, Role.REP)
WHOLE_PLAN = (Role.ADMIN, Role.OPS, Role.FINANCE)
EDITORS = (Role.ADMIN, Role.OPS)


def can_read(user) -> bool:
    return role_of(user) in READERS


def require_reader(user) -> None:
    if not can_read(user):
        raise PermissionDenied


def sees_whole_plans(user) -> bool:
    return role_of(user) in WHOLE_PLAN


def can_edit(user) -> bool:
    """Plans, allocation, locks, accepting commits, workflow transitions."""
    return role_of(user) in EDITORS


def can_commit_any(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.OPS, Role.MANAGER)


def visible_segments(user) -> set[str] | None:
    """The key segments ("team:2", "salesperson:7") that make a node visible to ``user``; None: every node."""
    role = role_of(user)
    if role in WHOLE_PLAN:
        return None
    if role == Role.REP:
        me = own_salesperson(user)
        return {f"salesperson:{me.pk}"} if me else set()
    if role == Role.MANAGER:
        people = visible_salesperson_ids(user) or set()
        return ({f"team:{pk}" for pk in managed_team_ids(user)} | {f"salesperson:{pk}" for pk in people})
    return set()


def key_visible(key: str, segments: set[str] | None) -> bool:
    if segments is None:
        return True
    return bool(key) and any(part in segments for part in key.split("/"))


def visible_keys(keys: Iterable[str], segments: set[str] | None) -> set[str]:
    return {k for k in keys if key_visible(k, segments)}


def visible_plans(user) -> QuerySet[TargetPlan]:
    """Plans in which the user sees at least one node."""
    require_reader(user)
    segments = visible_segments(user)
    plans = TargetPlan.objects.all()
    if segments is None:
        return plans
    by_dim: dict[str, set[int]] = {}
    for segment in segments:
        dim, _sep, member = segment.partition(":")
        by_dim.setdefault(dim, set()).add(int(member))
    if not by_dim:
        return plans.none()
    cond = Q()
    for dim, members in by_dim.items():
        cond |= Q(dimension=dim, member_id__in=members)
    return plans.filter(pk__in=TargetNode.objects.filter(cond).values("plan_id"))


def access_plan_by_id(user, pk) -> TargetPlan:
    """The plan, if the user sees at least one of its nodes; else 404 (HR and role-less users: 403)."""
    try:
        # the allocation snapshot (``inputs``) can be large and no page shows it
        return visible_plans(user).select_related("owner", "previous").defer("inputs", "previous__inputs").get(pk=pk)
    except (TargetPlan.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No target plan with id {pk} for you.") from None


def access_node_by_key(user, plan: TargetPlan, key: str) -> TargetNode:
    """A node of ``plan`` by its key, if the user sees it; else 404."""
    if not key_visible(key or "", visible_segments(user)):
        raise Http404("No such node for you.")
    try:
        return TargetNode.objects.select_related("plan").defer("plan__inputs").get(plan=plan, key=key or "")
    except TargetNode.DoesNotExist:
        raise Http404("No such node.") from None


def may_commit(user, plan: TargetPlan, key: str, segments: set[str] | None) -> bool:
    """Whether ``user`` (whose ``visible_segments`` are ``segments``) may enter a commit on the node ``key``:
    ops/admin anywhere, managers on the nodes they see; never on the company total or once the plan is locked."""
    if plan.status == PlanStatus.LOCKED or not key:
        return False
    role = role_of(user)
    if role in EDITORS:
        return True
    return role == Role.MANAGER and key_visible(key, segments)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
