"""Every write to target plans: create, edit (drafts only), allocate, lock, commit, move through the workflow,
new versions. Atomic and audited; errors are ``ValidationError``s naming the field or the node."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from salesops.core import audit
from salesops.engine import decomposition as dec
from salesops.engine import seasonality as sea
from salesops.engine.holidays import china_mainland
from salesops.engine.periods import Period, add_months
from salesops.org.models import Company, SalesMonthly
from salesops.targets.attainment import levels_of
from salesops.targets.dimensions import DIMENSIONS, TREES, Context
from salesops.targets.metrics import metric
from salesops.targets.models import PlanStatus, PotentialIndex, TargetMonth, TargetNode, TargetPlan

METHODS = {m.value for m in dec.Method}
TRANSITIONS = {
    PlanStatus.DRAFT: {PlanStatus.SUBMITTED},
    PlanStatus.SUBMITTED: {PlanStatus.APPROVED, PlanStatus.DRAFT},
    PlanStatus.APPROVED: {PlanStatus.LOCKED, PlanStatus.DRAFT},
    PlanStatus.LOCKED: set(),
}


def _require_draft(plan: TargetPlan) -> None:
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError(_("Only a draft plan can change; this one is %(status)s. Make a new version.") % {
            "status": plan.get_status_display()})


# -- plan definition ------------------------------------------------------------------------------------------
def check_levels(levels: list[dict]) -> list[dict]:
    """Validate the ordered level definitions; messages name the level (1-based) and the field."""
    if not isinstance(levels, list):
        raise ValidationError({"levels": _("Levels are a list.")})
    problems = []
    seen = set()
    for i, level in enumerate(levels, start=1):
        dim, method = level.get("dimension"), level.get("method", "equal")
        if dim not in DIMENSIONS:
            problems.append(_("Level %(n)d: unknown dimension %(dim)s.") % {"n": i, "dim": dim})
        if method not in METHODS:
            problems.append(_("Level %(n)d: unknown method %(method)s.") % {"n": i, "method": method})
        if (dim, level.get("depth", 0)) in seen:
            problems.append(_("Level %(n)d repeats an earlier level.") % {"n": i})
        seen.add((dim, level.get("depth", 0)))
        if dim in TREES and int(level.get("depth", 0)) < 0:
            problems.append(_("Level %(n)d: depth must not be negative.") % {"n": i})
        if method == "blend":
            blend = level.get("blend") or {}
            try:
                total = sum(Decimal(str(blend.get(k, 0))) for k in ("historical", "potential", "equal"))
            except ArithmeticError:
                total = None
            if total != 1:
                problems.append(_("Level %(n)d: blend weights must add up to exactly 1.") % {"n": i})
        if method == "capacity" and dim not in ("salesperson", "team"):
            problems.append(_("Level %(n)d: capacity applies to salespeople or teams.") % {"n": i})
        if method in ("potential",) or (method == "blend" and Decimal(str((level.get("blend") or {}).get("potential", 0)))):
            if not level.get("potential_table"):
                problems.append(_("Level %(n)d: name the potential table to use.") % {"n": i})
    if problems:
        raise ValidationError({"levels": problems})
    return levels


SEASONALITY_SOURCES = ("history", "template", "typed", "flat")


def check_seasonality(config: dict) -> dict:
    """``{"source": history|template|typed|flat, "profile": [12 numbers], "working_days": bool}``; a typed profile
    must total exactly 100%, a template needs 12 non-negative weights."""
    if not isinstance(config, dict):
        raise ValidationError({"seasonality": _("Seasonality is an object with a source.")})
    source = config.get("source", "history")
    if source not in SEASONALITY_SOURCES:
        raise ValidationError({"seasonality": _("Unknown seasonality source %(source)s.") % {"source": source}})
    if source in ("typed", "template"):
        try:
            values = [Decimal(str(v)) for v in config.get("profile") or []]
            sea.typed(values) if source == "typed" else sea.from_weights(values)
        except (ArithmeticError, ValueError) as error:
            messages = ([problem_message(p, {}) for p in error.problems] if isinstance(error, dec.PlanError)
                        else [str(error)])
            raise ValidationError({"seasonality": messages}) from None
    return config


SNAPSHOT_INPUTS = {"levels", "metric", "fiscal_year", "seasonality"}


def _audited(plan: TargetPlan) -> dict:
    """The plan's fields for the audit log, without the (large, derived) allocation snapshot."""
    return audit.snapshot(plan, [f.attname for f in TargetPlan._meta.concrete_fields if f.name != "inputs"])
PLAN_FIELDS = ("name", "metric", "fiscal_year", "total", "unit", "specific", "measure", "achievable", "relevant",
               "deadline", "assumptions", "levels", "seasonality", "behind_threshold")


@transaction.atomic
def plan_create(*, actor, **fields) -> TargetPlan:
    check_levels(fields.get("levels") or [])
    check_seasonality(fields.get("seasonality") or {})
    metric(fields.get("metric", "net_revenue"))
    plan = TargetPlan(owner=actor, **fields)
    plan.full_clean(exclude=["family"])
    plan.save()
    plan.family = plan.pk
    plan.save(update_fields=["family"])
    TargetNode.objects.create(plan=plan, key="", level=0, name=plan.name, value=plan.total, exact=str(plan.total),
                              method="total")
    audit.record(actor=actor, event="target_plan.created", subject=plan, new=_audited(plan))
    return plan


@transaction.atomic
def plan_update(*, actor, plan: TargetPlan, **fields) -> TargetPlan:
    plan = TargetPlan.objects.select_for_update().get(pk=plan.pk)
    _require_draft(plan)
    if "levels" in fields:
        check_levels(fields["levels"])
    if "seasonality" in fields:
        check_seasonality(fields["seasonality"])
    old = _audited(plan)
    for name, value in fields.items():
        setattr(plan, name, value)
    plan.full_clean()
    changed = list(fields)
    if SNAPSHOT_INPUTS & set(fields):  # what the last allocation read no longer fits: the next one re-reads
        plan.inputs = {}
        changed.append("inputs")
    plan.save(update_fields=changed)
    before, after = audit.diff(old, _audited(plan))
    if before or after:
        audit.record(actor=actor, event="target_plan.updated", subject=plan, old=before, new=after)
    return plan


@transaction.atomic
def plan_transition(*, actor, plan: TargetPlan, to: str, comment: str = "") -> TargetPlan:
    plan = TargetPlan.objects.select_for_update().get(pk=plan.pk)
    if to not in TRANSITIONS[PlanStatus(plan.status)]:
        raise ValidationError({"status": _("A %(from)s plan cannot become %(to)s.") % {
            "from": plan.get_status_display(), "to": PlanStatus(to).label}})
    old = plan.status
    plan.status = to
    plan.save(update_fields=["status"])
    audit.record(actor=actor, event="target_plan.status", subject=plan, old={"status": old},
                 new={"status": to, "comment": comment})
    return plan


@transaction.atomic
def plan_new_version(*, actor, plan: TargetPlan) -> TargetPlan:
    """A draft copy of ``plan`` (its definition, nodes, locks, commits and months) as the next version."""
    last = TargetPlan.objects.filter(family=plan.family).order_by("-version").first()
    copy = TargetPlan.objects.get(pk=last.pk)
    copy.pk = None
    copy.version = last.version + 1
    copy.previous = last
    copy.status = PlanStatus.DRAFT
    copy.owner = actor
    copy.save()
    _copy_nodes(last, copy)
    audit.record(actor=actor, event="target_plan.versioned", subject=copy,
                 new={"from_version": last.version, "version": copy.version})
    return copy


def _copy_nodes(source: TargetPlan, target: TargetPlan) -> None:
    new_ids: dict[int, TargetNode] = {}
    for node in source.nodes.order_by("level", "key"):
        old_pk = node.pk
        node.pk = None
        node.plan = target
        node.parent = new_ids.get(node.parent_id) if node.parent_id else None
        node.save()
        new_ids[old_pk] = node
    TargetMonth.objects.bulk_create([
        TargetMonth(node=new_ids[m.node_id], month=m.month, value=m.value)
        for m in TargetMonth.objects.filter(node__plan=source)
    ], batch_size=2000)


# -- allocation -----------------------------------------------------------------------------------------------
def _engine_plan(plan: TargetPlan, calendar) -> dec.Plan:
    levels = []
    for level in plan.levels:
        blend = level.get("blend")
        levels.append(dec.Level(
            dimension=level["dimension"], method=dec.Method(level.get("method", "equal")),
            unit=Decimal(str(level["unit"])) if level.get("unit") else None,
            window=int(level.get("window", 12)),
            mode=dec.HistoricalMode(level.get("mode", dec.HistoricalMode.PROPORTION_OF_AVERAGES)),
            blend=dec.Blend(**{k: Decimal(str(v)) for k, v in blend.items()}) if blend else None,
        ))
    return dec.Plan(total=plan.total, levels=tuple(levels), fiscal_year=plan.fiscal_year, calendar=calendar,
                    unit=plan.unit, month_unit=plan.unit)


def _key(dim: str, member: int) -> str:
    return f"{dim}:{member}"


def gather_inputs(plan: TargetPlan, context: Context) -> tuple[dec.Inputs, dict[str, str]]:
    """The engine's inputs from the organisation: members under every node, history from the sales cube, the
    potential tables, capacity from people's ramp schedules, manual values and locks from the stored nodes."""
    levels = levels_of(plan)
    names: dict[str, str] = {}
    children: dict[tuple, list[str]] = {}
    frontier: list[tuple[tuple, list[tuple[str, int]]]] = [((), [])]
    for (dim, depth) in levels:
        next_frontier = []
        for path, ancestors in frontier:
            members = context.members(dim, depth, ancestors)
            keys = []
            for member in members:
                key = _key(dim, member)
                names[key] = context.name(dim, member)
                keys.append(key)
                next_frontier.append(((*path, key), [*ancestors, (dim, member)]))
            children[path] = keys
        frontier = next_frontier
    _prune(children, len(levels))

    # history: the cube before the plan year, as far back as the longest window
    window = max([int(level.get("window", 12)) for level in plan.levels] + [24])
    start = add_months(context.year.start, -window)
    value = metric(plan.metric).value
    fields, members_of = context.mapper(levels)
    records = []
    rows = (SalesMonthly.objects.filter(month__gte=start, month__lt=context.year.start).values_list(*fields)
            .annotate(net=Sum("net_amount"), cost=Sum("cost"), qty=Sum("quantity"), new=Sum("new_customers"))
            .order_by())
    for row in rows:
        path = []
        for (dim, _depth), member in zip(levels, members_of(row), strict=True):
            if member is None:
                break
            path.append(_key(dim, member))
        if path:
            records.append((tuple(path), row[1], value(*row[-4:])))
    history = dec.History.from_records(records)

    potential: dict[tuple, Decimal] = {}
    capacity: dict[tuple, Decimal] = {}
    tables = {level.get("potential_table") for level in plan.levels if level.get("potential_table")}
    index = {(p.name, p.dimension, p.member_id): p.value for p in PotentialIndex.objects.filter(name__in=tables)}
    person_capacity = {pk: _capacity(person, context.year) for pk, person in context.people.items()}
    for path in _all_paths(children):
        level = plan.levels[len(path) - 1]
        dim, member = path[-1].split(":")
        if level.get("potential_table"):
            found = index.get((level["potential_table"], dim, int(member)))
            if found is not None:
                potential[path] = found
        if level.get("method") == "capacity" or dim == "salesperson":
            if dim == "salesperson":
                capacity[path] = person_capacity.get(int(member), Decimal(0))
            elif dim == "team":
                capacity[path] = sum((person_capacity.get(pk, Decimal(0)) for pk in
                                      context.members("salesperson", 0, [("team", int(member))])), Decimal(0))

    return dec.Inputs(children=children, history=history, potential=potential, capacity=capacity), names


def _with_node_values(plan: TargetPlan, inputs: dec.Inputs) -> dec.Inputs:
    """The inputs plus the locks and manual values stored on the plan's nodes."""
    rows = plan.nodes.exclude(key="").filter(Q(locked=True) | Q(manual__isnull=False)).values_list(
        "key", "locked", "value", "manual")
    locks = {tuple(key.split("/")): value for key, locked, value, _m in rows if locked}
    manual = {tuple(key.split("/")): m for key, _l, _v, m in rows if m is not None}
    return dataclasses.replace(inputs, locks=locks, manual=manual)


def _snapshot(inputs: dec.Inputs, names: dict[str, str]) -> dict:
    """What an allocation read, as JSON: re-balancing after a lock reuses it, and it explains the weights."""
    def key(path):
        return "/".join(path)
    history = inputs.history
    return {
        "children": {key(p): list(keys) for p, keys in inputs.children.items()},
        "months": [m.isoformat() for m in history.months] if history else [],
        "series": {key(p): [str(v) for v in row] for p, row in history.series.items()} if history else {},
        "potential": {key(p): str(v) for p, v in inputs.potential.items()},
        "capacity": {key(p): str(v) for p, v in inputs.capacity.items()},
        "names": names,
    }


def _from_snapshot(data: dict) -> tuple[dec.Inputs, dict[str, str]]:
    def path(key):
        return tuple(key.split("/")) if key else ()
    history = dec.History(
        tuple(dt.date.fromisoformat(m) for m in data["months"]),
        {path(k): tuple(Decimal(v) for v in row) for k, row in data["series"].items()},
    )
    return dec.Inputs(
        children={path(k): keys for k, keys in data["children"].items()}, history=history,
        potential={path(k): Decimal(v) for k, v in data["potential"].items()},
        capacity={path(k): Decimal(v) for k, v in data["capacity"].items()},
    ), data["names"]


def _prune(children: dict[tuple, list[str]], depth: int) -> None:
    """Drop nodes above the leaf level that have no members below them (e.g. a region a team never sold in)."""
    for level in range(depth - 1, 0, -1):
        for parent in [p for p in children if len(p) == level - 1]:
            children[parent] = [k for k in children[parent] if children.get((*parent, k))]
    for path in [p for p, keys in children.items() if len(p) < depth and not keys and p]:
        del children[path]


def _all_paths(children: dict[tuple, list[str]]) -> list[tuple]:
    return [(*parent, key) for parent, keys in children.items() for key in keys]


def _capacity(person, year: Period) -> Decimal:
    """Person-years of selling in the plan year: the mean over its months of the ramp factor (0 before the hire
    month and after leaving; e.g. 25/50/75% in a new hire's first months)."""
    months = year.months()
    return sum((person.ramp_factor(month) for month in months), Decimal(0)) / len(months)


def _profiles(plan: TargetPlan, history: dec.History, leaves, calendar) -> sea.Profile | dict:
    config = plan.seasonality or {}
    source = config.get("source", "history")
    if source == "typed":
        profile = sea.typed([Decimal(str(p)) for p in config.get("profile", [])])
    elif source == "template":
        profile = sea.from_weights([Decimal(str(p)) for p in config.get("profile", [])])
    elif source == "flat":
        profile = sea.flat()
    else:
        profile = None
    years = [plan.fiscal_year - 2, plan.fiscal_year - 1]
    if profile is None:
        company = {m: Decimal(0) for m in history.months}
        for path, series in history.series.items():
            if len(path) == 1:
                for m, amount in zip(history.months, series, strict=True):
                    company[m] += amount
        try:
            base = sea.from_history(company, years, calendar)
        except dec.PlanError:
            base = sea.flat()
    else:
        base = profile
    if config.get("working_days"):
        base = sea.adjust_for_working_days(base, plan.fiscal_year, china_mainland(), calendar)
    if profile is not None:
        return base
    profiles = {}
    for leaf in leaves:
        series = history.get(leaf.path)
        monthly = dict(zip(history.months, series, strict=True)) if series else {}
        try:
            own = sea.from_history(monthly, years, calendar, leaf.path)
            profiles[leaf.path] = (sea.adjust_for_working_days(own, plan.fiscal_year, china_mainland(), calendar)
                                   if config.get("working_days") else own)
        except dec.PlanError:
            profiles[leaf.path] = base  # no usable history of its own: the company's profile
    return profiles


def _profiles_to(profiles) -> dict:
    """Seasonality profiles as JSON (exact fractions as "n/d"); "" keys the one profile shared by every leaf."""
    def weights(profile):
        return [str(w) for w in profile.weights]
    if isinstance(profiles, sea.Profile):
        return {"": {"weights": weights(profiles), "source": profiles.source}}
    return {"/".join(path): {"weights": weights(p), "source": p.source} for path, p in profiles.items()}


def _profiles_from(data: dict):
    made: dict[tuple, sea.Profile] = {}
    cache: dict[tuple, sea.Profile] = {}
    for key, value in data.items():
        signature = (tuple(value["weights"]), value["source"])
        if signature not in cache:  # leaves sharing a profile share one object (spread_all reuses its weights)
            cache[signature] = sea.Profile(tuple(Fraction(w) for w in value["weights"]), value["source"])
        made[tuple(key.split("/")) if key else ()] = cache[signature]
    return made[()] if set(made) == {()} else made


# -- engine problems in words --------------------------------------------------------------------------------
# A member key ("team:2") or a path of them ("team:2/salesperson:5") inside an engine message.
MEMBER_PATH = re.compile(r"\b(?:{0}):\d+(?:/(?:{0}):\d+)*\b".format("|".join(DIMENSIONS)))
# The engine names a method by its code ("all historical weights … are zero"); in a sentence it reads as this word.
METHOD_WORDS = {
    dec.Method.EQUAL: pgettext_lazy("allocation method", "equal"),
    dec.Method.HISTORICAL: pgettext_lazy("allocation method", "historical"),
    dec.Method.POTENTIAL: pgettext_lazy("allocation method", "potential"),
    dec.Method.CAPACITY: pgettext_lazy("allocation method", "capacity"),
    dec.Method.BLEND: pgettext_lazy("allocation method", "blend"),
    dec.Method.MANUAL: pgettext_lazy("allocation method", "manual"),
}


def _param_text(name: str, value: str, names: Mapping[str, str]) -> str:
    if name.endswith("dimension"):
        return str(DIMENSIONS.get(value, value))
    if name == "method":
        return str(METHOD_WORDS.get(value, value))
    return MEMBER_PATH.sub(lambda m: " / ".join(names.get(k, k) for k in m.group(0).split("/")), value)


def problem_message(problem: dec.Problem, names: Mapping[str, str]) -> str:
    """An engine problem's message in the active language: its template translated (the engine marks them with
    ``gettext_noop``), filled with its params, in which member keys ("team:2/salesperson:5") become names
    ("华东一组 / 李丽") and dimension and method codes their words."""
    template = _(problem.template)
    if not problem.params:
        return template
    params = {name: _param_text(name, value, names) for name, value in problem.params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that lost or broke a placeholder: the English text
        return problem.template.format(**params)


def problem_text(problem: dec.Problem, names: Mapping[str, str]) -> str:
    """``华东一组 / 李丽: message``: the node the problem is about, by name, then :func:`problem_message`."""
    where = " / ".join(names.get(k, k) for k in problem.path) or _("(total)")
    return f"{where}: {problem_message(problem, names)}"


def _problems_to_error(error: dec.PlanError, names: Mapping[str, str]) -> ValidationError:
    """Every problem in words (:func:`problem_text`), in one ValidationError."""
    return ValidationError([problem_text(p, names) for p in error.problems])


@transaction.atomic
def plan_allocate(*, actor, plan: TargetPlan, refresh: bool = True, within: str | None = None) -> list[str]:
    """Decompose the plan top-down (keeping locks, manual values and commits), spread the leaves over months and
    store every node; returns the engine's warnings in words. Refused with every problem named when the plan
    cannot be computed (e.g. locks above their parent).

    ``refresh`` re-reads the organisation and the sales history; without it (a lock or an unlock) the inputs the
    last allocation read are reused, so siblings re-balance on the same weights and the edit is instant.
    ``within`` (a node key, with ``refresh=False``): only that node's subtree is computed and stored — what a
    lock, an unlock or a typed value below it can change (the node's months and its ancestors' follow)."""
    plan = TargetPlan.objects.select_for_update().defer("inputs").get(pk=plan.pk)
    _require_draft(plan)
    calendar = Company.current().calendar
    snapshot_id = TargetPlan.objects.filter(pk=plan.pk).values_list("inputs__id", flat=True).first()
    reuse = not refresh and snapshot_id is not None
    if reuse:
        inputs, names, profiles = _snapshot_of(plan.pk, snapshot_id)
    else:
        inputs, names = gather_inputs(plan, Context.load(calendar.parse(f"FY{plan.fiscal_year}")))
    inputs = _with_node_values(plan, inputs)
    part = None
    if reuse and within is not None:
        value = plan.nodes.filter(key=within).values_list("value", flat=True).first()
        part = (tuple(within.split("/")) if within else (), value) if value is not None else None
    try:
        result = dec.decompose(_engine_plan(plan, calendar), inputs, within=part)
        _remember_weights(plan.pk, snapshot_id if reuse else None, result.weights)
        if not reuse:
            profiles = _profiles(plan, inputs.history, result.leaves, calendar)
        months = sea.spread_all({leaf.path: leaf.value for leaf in result.leaves}, profiles, plan.unit)
    except dec.PlanError as error:
        raise _problems_to_error(error, names) from None
    if not reuse:
        snapshot_id = uuid.uuid4().hex
        plan.inputs = {**_snapshot(inputs, names), "profiles": _profiles_to(profiles), "id": snapshot_id}
        plan.save(update_fields=["inputs"])
        _remember(plan.pk, snapshot_id, (dataclasses.replace(inputs, locks={}, manual={}, weights=result.weights),
                                         names, profiles))
    if part is None:
        _store(plan, result, months, names, calendar)
    else:
        _store_within(plan, within, result, months, calendar)
    audit.record(actor=actor, event="target_plan.allocated", subject=plan,
                 new={"total": plan.total, "nodes": len(result.nodes), "refreshed": refresh, "within": within,
                      "warnings": [str(w) for w in result.warnings]})
    return [problem_text(w, names) for w in result.warnings]


# Parsed snapshots by plan: a lock re-uses the last allocation's inputs, and parsing their JSON and exact fractions
# again would cost more than the re-balance itself. Keyed by the snapshot's id, so a new allocation (in any
# process) makes the old entry unused; small and per process.
_SNAPSHOTS: dict[int, tuple[str, tuple]] = {}
_SNAPSHOTS_KEPT = 8


def _remember(plan_pk: int, snapshot_id: str, parsed: tuple) -> None:
    _SNAPSHOTS.pop(plan_pk, None)
    _SNAPSHOTS[plan_pk] = (snapshot_id, parsed)
    while len(_SNAPSHOTS) > _SNAPSHOTS_KEPT:
        _SNAPSHOTS.pop(next(iter(_SNAPSHOTS)))


def _remember_weights(plan_pk: int, snapshot_id: str | None, weights) -> None:
    """Keep the weights a re-balance computed for the next one (they depend only on the snapshot)."""
    cached = _SNAPSHOTS.get(plan_pk)
    if snapshot_id is not None and cached is not None and cached[0] == snapshot_id:
        inputs, names, profiles = cached[1]
        _SNAPSHOTS[plan_pk] = (snapshot_id, (dataclasses.replace(inputs, weights={**inputs.weights, **weights}),
                                             names, profiles))


def _snapshot_of(plan_pk: int, snapshot_id: str) -> tuple:
    """(inputs, names, profiles) of the plan's stored snapshot, parsed once per process."""
    cached = _SNAPSHOTS.get(plan_pk)
    if cached is not None and cached[0] == snapshot_id:
        return cached[1]
    data = TargetPlan.objects.values_list("inputs", flat=True).get(pk=plan_pk)
    inputs, names = _from_snapshot(data)
    parsed = (inputs, names, _profiles_from(data["profiles"]))
    _remember(plan_pk, snapshot_id, parsed)
    return parsed


def _month_values(result: dec.Decomposition, months: dict) -> dict[tuple, list[Decimal]]:
    """Every node's 12 months: the leaves' spread, summed up the tree (so parents add up exactly). For a
    subtree (``decompose(within=…)``) the subtree's top node gets the sum of its children too."""
    values: dict[tuple, list[Decimal]] = {path: list(v) for path, v in months.items()}
    for node in sorted(result.nodes, key=lambda n: -len(n.path)):
        if not node.path:
            continue
        parent = values.setdefault(node.path[:-1], [Decimal(0)] * 12)
        values[node.path[:-1]] = [a + b for a, b in zip(parent, values[node.path], strict=True)]
    return values


def _store(plan: TargetPlan, result: dec.Decomposition, months: dict, names: dict[str, str], calendar) -> None:
    """Write the result: in place when the plan has the same nodes (a re-balance: only changed rows are written),
    else anew, carrying manual values and commits over by key."""
    fy_months = [p.start for p in sea.fiscal_months(plan.fiscal_year, calendar)]
    month_values = _month_values(result, months)
    old = {n.key: n for n in plan.nodes.all()}
    if set(old) == {"/".join(n.path) for n in result.nodes}:
        changed = _changed_rows(result, old)
        _update_rows(TargetNode, _STORED_FIELDS, changed)
        ids = {row.pk: row.key for row in changed}
        stale = list(TargetMonth.objects.filter(node_id__in=ids))
        for m in stale:
            m.value = month_values[tuple(ids[m.node_id].split("/")) if ids[m.node_id] else ()][fy_months.index(m.month)]
        _update_rows(TargetMonth, ("value",), stale)
        return
    plan.nodes.all().delete()
    by_path: dict[tuple, TargetNode] = {}
    levels: dict[int, list[dec.Node]] = {}
    for node in result.nodes:  # depth first: parents before children, and so within each level
        levels.setdefault(node.level, []).append(node)
    for level in sorted(levels):  # one INSERT per level: the level above has its ids by then
        rows = []
        for node in levels[level]:
            key = "/".join(node.path)
            previous = old.get(key)
            dim, _sep, member = node.key.partition(":")
            rows.append(TargetNode(
                plan=plan, parent=by_path.get(node.path[:-1]) if node.path else None, key=key, level=node.level,
                dimension=dim, member_id=int(member) if member else None,
                name=names.get(node.key, plan.name) if node.path else plan.name, **_node_fields(node),
                manual=previous.manual if previous else None,
                commit=previous.commit if previous else None, commit_by=previous.commit_by if previous else None,
                commit_note=previous.commit_note if previous else "",
            ))
        for node, row in zip(levels[level], TargetNode.objects.bulk_create(rows, batch_size=500), strict=True):
            by_path[node.path] = row
    TargetMonth.objects.bulk_create([
        TargetMonth(node=by_path[path], month=month, value=value)
        for path, values in month_values.items() for month, value in zip(fy_months, values, strict=True)
    ], batch_size=2000)


def _store_within(plan: TargetPlan, within: str, result: dec.Decomposition, months: dict, calendar) -> None:
    """Write a re-balanced subtree in place: the changed nodes below ``within`` and their months; ``within``
    and its ancestors keep their values, and their months move by the subtree's change."""
    fy_months = [p.start for p in sea.fiscal_months(plan.fiscal_year, calendar)]
    month_values = _month_values(result, months)
    rows = plan.nodes.filter(key__startswith=f"{within}/") if within else plan.nodes.exclude(key="")
    old = {n.key: n for n in rows.only("id", "key", *_STORED_FIELDS)}
    changed = _changed_rows(result, old)
    _update_rows(TargetNode, _STORED_FIELDS, changed)
    ids = {row.pk: tuple(row.key.split("/")) for row in changed}
    stale = list(TargetMonth.objects.filter(node_id__in=ids))
    for m in stale:
        m.value = month_values[ids[m.node_id]][fy_months.index(m.month)]
    # the months of ``within`` and of every ancestor move by what the subtree's months moved
    top = tuple(within.split("/")) if within else ()
    parts = within.split("/") if within else []
    above = ["/".join(parts[:n]) for n in range(len(parts) + 1)]
    chain = list(TargetMonth.objects.filter(node__plan=plan, node__key__in=above).only("id", "month", "value",
                                                                                       "node_id"))
    top_id = plan.nodes.filter(key=within).values_list("id", flat=True).first()
    own = {m.month: m.value for m in chain if m.node_id == top_id}
    delta = {month: month_values[top][i] - own.get(month, Decimal(0)) for i, month in enumerate(fy_months)}
    moved = [m for m in chain if delta[m.month]]
    for m in moved:
        m.value += delta[m.month]
    _update_rows(TargetMonth, ("value",), stale + moved)


def _changed_rows(result: dec.Decomposition, old: dict[str, TargetNode]) -> list[TargetNode]:
    """The stored nodes (``old``, by key) whose computed fields differ from the result, updated in memory."""
    changed = []
    for node in result.nodes:
        row = old["/".join(node.path)]
        fields = _node_fields(node)
        if any(getattr(row, f) != v for f, v in fields.items()):
            for f, v in fields.items():
                setattr(row, f, v)
            changed.append(row)
    return changed


def _update_rows(model, fields: tuple[str, ...], rows: list) -> None:
    """``UPDATE … SET fields WHERE id = …`` for each row, as one executemany: for the few dozen rows of a
    re-balance, Django's ``bulk_update`` (one CASE expression per field) costs more than the re-balance itself."""
    if not rows:
        return
    concrete = [model._meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in concrete)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", [  # noqa: S608 - names from the model
            [*(f.get_db_prep_save(getattr(row, f.attname), connection) for f in concrete), row.pk] for row in rows])


def _parent_of(keys) -> str:
    """The deepest node above every one of ``keys`` (the subtree an edit of those nodes can change)."""
    parents = [key.split("/")[:-1] for key in keys]
    common = parents[0]
    for other in parents[1:]:
        n = 0
        while n < min(len(common), len(other)) and common[n] == other[n]:
            n += 1
        common = common[:n]
    return "/".join(common)


_STORED_FIELDS = ("value", "exact", "weight", "method", "locked")


def _node_fields(node: dec.Node) -> dict:
    return {"value": node.value, "exact": dec.fraction_text(node.unrounded),
            "weight": dec.fraction_text(node.weight) if node.weight is not None else "",
            "method": node.method, "locked": node.locked}


# -- locks and commits ----------------------------------------------------------------------------------------
@transaction.atomic
def node_lock(*, actor, node: TargetNode, value: Decimal) -> list[str]:
    """Fix a node's value; its siblings re-balance so the parent total holds (refused, naming the nodes, when the
    locks cannot hold). Returns the warnings of the re-allocation."""
    _require_draft(node.plan)
    if not node.key:
        raise ValidationError({"value": _("The company total is the plan's total; edit the plan instead.")})
    old = {"value": node.value, "locked": node.locked}
    TargetNode.objects.filter(pk=node.pk).update(value=value, locked=True)
    warnings = plan_allocate(actor=actor, plan=node.plan, refresh=False, within=_parent_of([node.key]))
    fresh = TargetNode.objects.get(plan=node.plan, key=node.key)
    audit.record(actor=actor, event="target_node.locked", subject=fresh, old=old, new={"value": value, "locked": True})
    return warnings


@transaction.atomic
def node_unlock(*, actor, node: TargetNode) -> list[str]:
    _require_draft(node.plan)
    TargetNode.objects.filter(pk=node.pk).update(locked=False)
    warnings = plan_allocate(actor=actor, plan=node.plan, refresh=False, within=_parent_of([node.key]))
    fresh = TargetNode.objects.get(plan=node.plan, key=node.key)
    audit.record(actor=actor, event="target_node.unlocked", subject=fresh, old={"locked": True}, new={"locked": False})
    return warnings


@transaction.atomic
def node_set_manual(*, actor, node: TargetNode, value: Decimal | None) -> list[str]:
    """Type (or clear, with None) the value of a node on a level whose method is manual; the plan re-balances."""
    return nodes_set_manual(actor=actor, plan=node.plan, values={node.key: value})


@transaction.atomic
def nodes_set_manual(*, actor, plan: TargetPlan, values: dict[str, Decimal | None]) -> list[str]:
    """Type (or clear) the values of several nodes on manual levels at once (by key), then re-balance once.
    Members of a manual level that have no typed value yet share the rest equally (with a warning); once all
    are typed they must add up to their parent, else the whole change is refused with the gap named."""
    _require_draft(plan)
    nodes = {n.key: n for n in plan.nodes.filter(key__in=list(values))}
    for key, value in values.items():
        node = nodes.get(key)
        if node is None:
            raise ValidationError({"manual": _("No node of this plan has the key %(key)s.") % {"key": key}})
        level = plan.levels[node.level - 1] if node.level else None
        if level is None or level.get("method") != "manual":
            raise ValidationError({"manual": _("%(node)s: only nodes on a level with the manual method take typed "
                                               "values.") % {"node": node.name}})
        if value is not None and value < 0:
            raise ValidationError({"manual": _("%(node)s: a typed value must not be negative.") % {"node": node.name}})
    changed = {key: value for key, value in values.items() if nodes[key].manual != value}
    for key, value in changed.items():
        TargetNode.objects.filter(pk=nodes[key].pk).update(manual=value)
    warnings = plan_allocate(actor=actor, plan=plan, refresh=False, within=_parent_of(values) if values else None)
    for key, value in changed.items():
        audit.record(actor=actor, event="target_node.manual", subject=nodes[key], old={"manual": nodes[key].manual},
                     new={"manual": value})
    return warnings


@transaction.atomic
def node_commit(*, actor, node: TargetNode, value: Decimal | None, note: str = "") -> TargetNode:
    """A manager's bottom-up commit for a node (None clears it)."""
    if value is not None and value < 0:
        raise ValidationError({"commit": _("A commit must not be negative.")})
    node = TargetNode.objects.select_for_update().select_related("plan").get(pk=node.pk)
    if node.plan.status == PlanStatus.LOCKED:
        raise ValidationError({"commit": _("The plan is locked; commits go on a new version.")})
    old = {"commit": node.commit, "note": node.commit_note}
    node.commit, node.commit_by, node.commit_note = value, actor if value is not None else None, note
    node.save(update_fields=["commit", "commit_by", "commit_note"])
    audit.record(actor=actor, event="target_node.committed", subject=node, old=old, new={"commit": value, "note": note})
    return node


@transaction.atomic
def node_accept_commit(*, actor, node: TargetNode) -> list[str]:
    """Ops accepts a commit: it becomes the node's lock and the plan re-balances."""
    if node.commit is None:
        raise ValidationError({"commit": _("This node has no commit to accept.")})
    return node_lock(actor=actor, node=node, value=node.commit)
