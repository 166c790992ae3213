"""Sales-process analytics, Django side: the database as the engine's Arrow inputs, who may see which figures,
and the rows each page shows — every one with the key of the deals behind it.

Role in the flow: :func:`load` reads the opportunities (owner, the owner's team on the deal's creation date from
``org.Assignment``, the customer's region, amount, dates, status, stage, expected close), the stages and the stage
changes in three queries → :class:`Inputs` (Arrow tables in the schemas of ``salesops.engine.pipeline``) →
a :class:`Session` (the engine's ``Pipeline`` over them) → :class:`Line` rows for the pages; :func:`deal_ids`
answers a drill-down :class:`Key` with the ids of exactly the deals behind the figure. Record completeness and
quote turnaround are not computed here: the pages call ``crm.completeness`` and ``crm.quotes``.

Who sees what (the *scope*): the deals the user may see (``crm.access.visible_opportunities``: by owner) that
match the group filter (owner; team subtree, by the owner's team on the creation date; customer region subtree).
The engine always gets every deal, so the company benchmark is the whole company's (aggregates that name no
one); a deal outside the scope keeps its place in the benchmark but its owner, team and region are replaced by
:data:`OUTSIDE`, so no group row the user gets, and no drill-down, holds a deal they may not see. A second
table marks the scope itself (owner :data:`SCOPE` inside, :data:`OUTSIDE` outside) for the *selection* total
line. The benchmark's deals are listed only to users who see every deal.

Times: stage changes go to the engine as wall-clock time in the site's time zone (``TIME_ZONE``), so its day
boundaries are the local days of ``created_on`` and ``closed_on`` (set by the services in local time); in a zone
with daylight saving a stay across the change would be an hour off.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connections
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, QueryDict
from django.utils.translation import gettext as _

from salesops.core.roles import Role, role_of
from salesops.crm.models import Opportunity, Stage, StageChange
from salesops.engine import pipeline as engine
from salesops.engine.periods import Period, add_months
from salesops.engine.pipeline import Dimension, Measure
from salesops.org.access import managed_team_ids, own_salesperson, visible_salesperson_ids
from salesops.org.models import Assignment, Region, Salesperson, Team

OUTSIDE = -1  # the group of a deal outside the user's scope: in the benchmark, never shown
SCOPE = 0  # the group of every deal of the scope in the selection table
OPPORTUNITY_SCHEMA = engine.OPPORTUNITIES_SCHEMA.append(pa.field("expected_close", pa.date32()))
DIMENSIONS = ("company", "owner", "team", "region")  # the pages' choices; drill-downs add "scope"
TARGET_DIMENSION = {"owner": "salesperson", "team": "team", "region": "region"}


# -- inputs ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    opportunities: pa.Table  # OPPORTUNITY_SCHEMA
    stages: pa.Table  # engine.STAGES_SCHEMA
    stage_changes: pa.Table  # engine.STAGE_CHANGES_SCHEMA, local wall-clock time


def _team_on_creation() -> Subquery:
    """SQL: the team of the owner's assignment in effect on the deal's creation date (assignments never overlap)."""
    return Subquery(Assignment.objects.filter(
        salesperson_id=OuterRef("owner_id"), start_date__lte=OuterRef("created_on"))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=OuterRef("created_on")))
        .order_by("-start_date").values("team_id")[:1])


def _columns(queryset, fields: tuple[str, ...]) -> list[tuple]:
    """The columns of ``queryset.values_list(*fields)`` as the database driver returns them, in one query.
    Django's per-value conversion (a Decimal per amount, an aware datetime per change) is skipped: the columns
    are converted whole by Arrow instead (``_array``)."""
    sql, params = queryset.values_list(*fields).query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return list(zip(*rows, strict=True)) if rows else [() for _ in fields]


def _array(column: tuple, type_: pa.DataType) -> pa.Array:
    """A driver's column as Arrow: dates and times come as text from SQLite (times in UTC, without offset) and as
    Python objects from PostgreSQL; money comes as integer cents (``MoneyField``)."""
    if pa.types.is_decimal(type_):  # cents → exact decimal(18, 2), the whole column at once
        cents = pa.array(column, pa.int64()).cast(pa.decimal128(20, 0))
        return pc.multiply(cents, pa.scalar(Decimal("0.01"), pa.decimal128(3, 2))).cast(type_)
    sample = next((value for value in column if value is not None), None)
    if isinstance(sample, str) and (pa.types.is_timestamp(type_) or pa.types.is_date(type_)):
        text = pa.array(column, pa.string())
        return text.cast(pa.timestamp("us")).cast(type_) if pa.types.is_timestamp(type_) else text.cast(type_)
    return pa.array(column, type_)


def _table(columns: list[tuple], schema: pa.Schema) -> pa.Table:
    return pa.table([_array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema)


def load() -> Inputs:
    """Every opportunity, stage and stage change, in three queries (no query per row, no Python per value)."""
    opportunities = _columns(Opportunity.objects.order_by().annotate(team=_team_on_creation()), (
        "pk", "owner_id", "team", "customer__region_id", "created_on", "closed_on", "amount", "status", "stage_id",
        "expected_close"))
    stages = list(Stage.objects.order_by("position", "pk").values_list(
        "pk", "code", "name", "position", "probability", "is_won", "is_lost"))
    stage_table = pa.Table.from_pylist([dict(zip(engine.STAGES_SCHEMA.names, row, strict=True)) for row in stages],
                                       schema=engine.STAGES_SCHEMA)
    changes = _table(_columns(StageChange.objects.order_by(), (
        "opportunity_id", "from_stage_id", "to_stage_id", "changed_at")), engine.STAGE_CHANGES_SCHEMA)
    local = pc.local_timestamp(changes["changed_at"].cast(pa.timestamp("us", tz=settings.TIME_ZONE)))
    changes = changes.set_column(3, "changed_at", local.cast(pa.timestamp("us", tz="UTC")))
    return Inputs(_table(opportunities, OPPORTUNITY_SCHEMA), stage_table, changes)


# -- scope -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """The deals a user's figures are made of: those they may see (``visible``: owner ids, None = everyone's) and
    that match the filter (an owner; a team subtree, by the team on the creation date; a customer region subtree)."""

    visible: frozenset[int] | None
    owner: int | None = None
    team: Team | None = None
    region: Region | None = None
    team_ids: frozenset[int] | None = None
    region_ids: frozenset[int] | None = None

    @classmethod
    def of(cls, user, *, owner: Salesperson | None = None, team: Team | None = None,
           region: Region | None = None) -> Scope:
        ids = visible_salesperson_ids(user)
        return cls(
            None if ids is None else frozenset(ids), owner.pk if owner else None, team, region,
            frozenset(Team.objects.filter(path__startswith=team.path).values_list("pk", flat=True)) if team else None,
            frozenset(Region.objects.filter(path__startswith=region.path).values_list("pk", flat=True))
            if region else None)

    @property
    def sees_everything(self) -> bool:
        """The user may see every deal (the benchmark's deals too)."""
        return self.visible is None

    @property
    def filtered(self) -> bool:
        return self.owner is not None or self.team is not None or self.region is not None

    @property
    def everything(self) -> bool:
        """The scope is the whole company: the selection line would repeat the company line."""
        return self.sees_everything and not self.filtered

    def mask(self, opportunities: pa.Table) -> pa.Array:
        """True for the deals of the scope (vectorised: no loop over deals)."""
        inside = pa.array([True] * opportunities.num_rows, pa.bool_())
        tests = []
        if self.visible is not None:
            tests.append(pc.is_in(opportunities["owner_id"], value_set=pa.array(sorted(self.visible), pa.int64())))
        if self.owner is not None:
            tests.append(pc.equal(opportunities["owner_id"], self.owner))
        for column, ids in (("team_id", self.team_ids), ("region_id", self.region_ids)):
            if ids is not None:
                tests.append(pc.is_in(opportunities[column], value_set=pa.array(sorted(ids), pa.int64())))
        for test in tests:
            inside = pc.and_(inside, pc.fill_null(test, False))
        return inside

    def filters(self) -> dict[str, str]:
        """The filter as query parameters (the pages' form fields)."""
        return {k: str(v) for k, v in (("owner", self.owner), ("team", self.team and self.team.pk),
                                         ("region", self.region and self.region.pk)) if v}


def _masked(opportunities: pa.Table, inside: pa.Array) -> pa.Table:
    for column in ("owner_id", "team_id", "region_id"):
        i = opportunities.schema.get_field_index(column)
        opportunities = opportunities.set_column(
            i, column, pc.if_else(inside, opportunities[column], pa.scalar(OUTSIDE, pa.int64())))
    return opportunities


def _selection(opportunities: pa.Table, inside: pa.Array) -> pa.Table:
    i = opportunities.schema.get_field_index("owner_id")
    flag = pc.if_else(inside, pa.scalar(SCOPE, pa.int64()), pa.scalar(OUTSIDE, pa.int64()))
    return opportunities.set_column(i, "owner_id", flag)


class Session:
    """The engine over one request's inputs: ``groups`` (every deal; out-of-scope deals in group OUTSIDE) and,
    unless the scope is the whole company, ``selection`` (the scope as owner SCOPE; registered on first use).
    Close it (``with``)."""

    def __init__(self, inputs: Inputs, scope: Scope) -> None:
        self.inputs, self.scope = inputs, scope
        self.inside = scope.mask(inputs.opportunities)
        self.groups = engine.Pipeline(_masked(inputs.opportunities, self.inside), inputs.stages, inputs.stage_changes)
        self._selection: engine.Pipeline | None = None
        self._present: dict[str, set[int | None]] = {}

    @property
    def selection(self) -> engine.Pipeline | None:
        if self._selection is None and not self.scope.everything:
            self._selection = engine.Pipeline(_selection(self.inputs.opportunities, self.inside), self.inputs.stages,
                                              self.inputs.stage_changes)
        return self._selection

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.groups.close()
        if self._selection is not None:
            self._selection.close()

    def present(self, by: str) -> set[int | None]:
        """The groups of the dimension that hold a deal of the scope (None: no team or region)."""
        if by not in self._present:
            column = {"owner": "owner_id", "team": "team_id", "region": "region_id"}[by]
            values = pc.unique(pc.filter(self.inputs.opportunities[column], self.inside)).to_pylist()
            self._present[by] = set(values)
        return self._present[by]

    def pipeline_for(self, by: str) -> tuple[engine.Pipeline, Dimension]:
        """Which engine session and dimension a drill-down's ``by`` reads."""
        if by == "scope":
            return (self.selection or self.groups), (Dimension.OWNER if self.selection else Dimension.COMPANY)
        return self.groups, Dimension(by)


# -- lines: what a page shows, one per group, the selection and the company ----------------------------------------
@dataclass(frozen=True)
class Line:
    """One row of a figure: a group of the dimension, the selection (the scope's total) or the company (the
    benchmark). ``by`` and ``group`` are what its drill-downs name; ``drill`` says whether it has any."""

    kind: str  # group | selection | company
    by: str  # owner | team | region | scope | company
    group: int | None
    label: str
    drill: bool = True


def group_labels(by: str, ids: Iterable[int | None]) -> dict[int | None, str]:
    """Names of the groups: one query for the dimension."""
    return {g: label for g, (_order, label) in _group_names(by, ids).items()}


def _group_names(by: str, ids: Iterable[int | None]) -> dict[int | None, tuple[tuple, str]]:
    """(sort key, name) per group: people by employee number, teams and regions in tree order, none last."""
    ids = set(ids)
    real = [i for i in ids if i is not None and i >= 0]
    if by == "owner":
        names = {pk: ((no,), f"{name} ({no})") for pk, name, no
                 in Salesperson.objects.filter(pk__in=real).values_list("pk", "name", "employee_no")}
    elif by in ("team", "region"):
        model = Team if by == "team" else Region
        names = {pk: ((path,), name) for pk, path, name
                 in model.objects.filter(pk__in=real).values_list("pk", "path", "name")}
    else:
        names = {}
    none = {"team": _("No team"), "region": _("No region")}.get(by, "—")
    return {i: ((False, *names[i][0]), names[i][1]) if i in names else
            ((True, str(i)), none if i is None else str(i)) for i in ids}


def selection_label(user, scope: Scope) -> str:
    if scope.filtered:
        return _("Selection")
    role = role_of(user)
    if role == Role.REP:
        return _("My deals")
    if role == Role.MANAGER:
        return _("My teams")
    return _("Everything I may see")


def lines(session: Session, user, by: str, groups: Iterable[int | None]) -> list[Line]:
    """The lines of a figure over ``groups`` (those the engine returned; OUTSIDE is dropped): the groups in
    order, then the selection (unless the scope is the company), then the company benchmark."""
    out = []
    if by != "company":
        names = _group_names(by, [g for g in set(groups) if g != OUTSIDE])
        out += [Line("group", by, g, names[g][1]) for g in sorted(names, key=lambda g: names[g][0])]
    if not session.scope.everything:
        out.append(Line("selection", "scope", SCOPE, selection_label(user, session.scope)))
    out.append(Line("company", "company", None, _("Company"), drill=session.scope.sees_everything))
    return out


@dataclass(frozen=True)
class Figure:
    """A line and its engine result for one figure."""

    line: Line
    value: Any


def _split(session: Session, user, by: str, group_rows: Mapping[int | None, Any], selection: Any,
           company: Any) -> list[Figure]:
    out = []
    for line in lines(session, user, by, group_rows):
        if line.kind == "group":
            out.append(Figure(line, group_rows[line.group]))
        elif line.kind == "selection":
            out.append(Figure(line, selection))
        else:
            out.append(Figure(line, company))
    return out


def funnel(session: Session, user, by: str, start: dt.date, end: dt.date
           ) -> tuple[tuple[engine.Stage, ...], list[Figure]]:
    """Funnel totals over the deals created in [start, end): per group, the selection and the company."""
    company = session.groups.funnel(start=start, end=end, cohorts=False)
    groups = (session.groups.funnel(by=by, start=start, end=end, cohorts=False).totals()
              if by != "company" else {})
    selection = (session.selection.funnel(by=Dimension.OWNER, start=start, end=end, cohorts=False).totals()
                 .get(SCOPE) if session.selection else None)
    empty = empty_funnel(company.stages)
    return company.stages, [
        Figure(f.line, f.value or empty) for f in _split(
            session, user, by, groups, selection, company.totals().get(None))]


def cohort_trend(session: Session, start: dt.date, end: dt.date) -> list[engine.FunnelRow]:
    """The selection's funnel (the company's when the scope is the company) per creation month of [start, end)."""
    if session.selection is not None:
        result = session.selection.funnel(by=Dimension.OWNER, start=start, end=end)
        return [r for r in result.rows if r.group == SCOPE and r.cohort is not None]
    result = session.groups.funnel(start=start, end=end)
    return [r for r in result.rows if r.cohort is not None]


def dwell(session: Session, user, by: str, start: dt.date, end: dt.date, as_of: dt.date
          ) -> tuple[tuple[engine.Stage, ...], list[Figure]]:
    """Stays in each open stage that ended in [start, end) (cut at ``as_of``): per line, a DwellRow per stage."""
    company = session.groups.dwell(start=start, end=end, as_of=as_of)
    groups = session.groups.dwell(by=by, start=start, end=end, as_of=as_of).by_group() if by != "company" else {}
    selection = (session.selection.dwell(by=Dimension.OWNER, start=start, end=end, as_of=as_of).by_group()
                 .get(SCOPE) if session.selection else None)

    def filled(rows):
        got = {r.stage.index: r for r in rows or ()}
        return tuple(got.get(s.index) or engine.DwellRow(None, s, 0, 0, None, None, None, None, None)
                     for s in company.stages)

    figures = _split(session, user, by, groups, selection, company.by_group().get(None))
    return company.stages, [Figure(f.line, filled(f.value)) for f in figures]


def bottlenecks(session: Session, user, by: str, start: dt.date, end: dt.date, as_of: dt.date, min_deals: int
                ) -> tuple[list[Figure], list[Line]]:
    """Each judged group's (and the selection's) worst stage against the company; and the lines not judged
    (fewer than ``min_deals`` deals created in the range)."""
    judged: dict[int | None, engine.GroupBottleneck] = {}
    skipped: list[int | None] = []
    if by != "company":
        result = session.groups.bottlenecks(by=by, start=start, end=end, as_of=as_of, min_deals=min_deals)
        judged = {row.group: row for row in result.rows}
        skipped = [g for g in result.not_judged if g != OUTSIDE]
    selection = None
    if session.selection is not None:
        mine = session.selection.bottlenecks(by=Dimension.OWNER, start=start, end=end, as_of=as_of,
                                             min_deals=min_deals)
        selection = next((r for r in mine.rows if r.group == SCOPE), None)
    every = lines(session, user, by, [*judged, *skipped])
    figures, not_judged = [], []
    for line in every:
        value = judged.get(line.group) if line.kind == "group" else selection if line.kind == "selection" else None
        if line.kind == "company":
            continue  # the benchmark itself has no gap
        if value is None:
            not_judged.append(line)
        else:
            figures.append(Figure(line, value))
    if by != "company":  # the judged first, by expected gain as the engine ordered them
        rank = {g: i for i, g in enumerate(judged)}
        figures.sort(key=lambda f: (f.line.kind != "group", rank.get(f.line.group, 0)))
    return figures, not_judged


def velocity(session: Session, user, by: str, start: dt.date, end: dt.date, qualified_position: int | None
             ) -> tuple[engine.Velocity, list[Figure]]:
    options = {"start": start, "end": end, "qualified_position": qualified_position}
    selection, result = None, None
    if session.selection is not None:
        mine = session.selection.velocity(by=Dimension.OWNER, **options)
        selection = next((r for r in mine.rows if r.group == SCOPE), None) or empty_velocity()
        if by == "company":  # its company line is the benchmark: no second call
            result = replace(mine, dimension=Dimension.COMPANY, rows=())
    if result is None:
        result = session.groups.velocity(by=Dimension(by), **options)
    groups = {r.group: r for r in result.rows} if by != "company" else {}
    return result, _split(session, user, by, groups, selection, result.company)


def empty_velocity(group: int | None = SCOPE) -> engine.VelocityRow:
    """The row of a line without any deal in either period."""
    figures = engine.VelocityFigures(0, 0, 0, Decimal("0.00"), 0, None, None, None, None)
    none = engine.Change(None, None, None, None)
    return engine.VelocityRow(group, figures, figures, engine.Change(Decimal(0), Decimal(0), Decimal(0), None),
                              none, none, none, none)


def empty_funnel(stages) -> engine.FunnelRow:
    """The row of a line without deals created in the range."""
    k = len(stages)
    return engine.FunnelRow(None, None, 0, 0, 0, 0, (0,) * k, (None,) * k, None, None, Decimal("0.00"), 0)


def velocity_trend(session: Session, user, by: str, months: list[dt.date], qualified_position: int | None,
                   max_groups: int = 8) -> tuple[list[Line], dict[tuple[str, int | None], list[Decimal | None]]]:
    """Velocity of each month in ``months`` (consecutive first days) for the company, the selection and, by a
    dimension, the first ``max_groups`` groups. One engine call answers two months (a period and the one
    before), so twelve months take six calls per session."""
    series: dict[tuple[str, int | None], dict[dt.date, Decimal | None]] = defaultdict(dict)
    dim = Dimension(by) if by != "company" else Dimension.COMPANY
    for i in range(len(months) - 1, -1, -2):
        month = months[i]
        before = months[i - 1] if i > 0 else None
        options = {"start": month, "end": add_months(month, 1), "previous_start": before or add_months(month, -1),
                   "qualified_position": qualified_position}
        pairs = []
        if session.selection is not None:
            mine = session.selection.velocity(by=Dimension.OWNER, **options)
            pairs += [(("selection", SCOPE), row) for row in mine.rows if row.group == SCOPE]
            if by == "company":
                pairs.append((("company", None), mine.company))
        if by != "company" or session.selection is None:
            result = session.groups.velocity(by=dim, **options)
            pairs += [(("company", None), result.company)] + [
                (("group", row.group), row) for row in result.rows if row.group != OUTSIDE]
        for key, row in pairs:
            series[key][month] = row.current.velocity
            if before is not None:
                series[key][before] = row.previous.velocity
    shown = lines(session, user, by, [k[1] for k in series if k[0] == "group"])
    groups = [line for line in shown if line.kind == "group"][:max_groups]
    ordered = [*groups, *(line for line in shown if line.kind != "group")]
    return ordered, {(line.kind, line.group): [series[(line.kind, line.group)].get(m) for m in months]
                     for line in ordered}


@dataclass(frozen=True)
class PipelineFigure:
    line: Line
    total: engine.PipelineCell
    cells: dict[dt.date | None, engine.PipelineCell]  # by expected-close period (None: no date)


def weighted_pipeline(session: Session, user, by: str, close_period: str
                      ) -> tuple[list[dt.date | None], list[PipelineFigure]]:
    """The open deals' weighted pipeline per line and expected-close period (month, quarter or year)."""
    result = session.groups.weighted_pipeline(by=by, close_period=close_period)
    company = session.groups.weighted_pipeline(close_period=close_period) if by != "company" else result
    cells: dict[int | None, dict] = defaultdict(dict)
    for cell in result.cells if by != "company" else ():
        cells[cell.group][cell.close] = cell
    totals = {cell.group: cell for cell in result.groups} if by != "company" else {}
    company_cells = {cell.close: cell for cell in company.cells}
    selection_total, selection_cells = None, {}
    if session.selection is not None:
        mine = session.selection.weighted_pipeline(by=Dimension.OWNER, close_period=close_period)
        selection_total = next((c for c in mine.groups if c.group == SCOPE), _empty_cell())
        selection_cells = {c.close: c for c in mine.cells if c.group == SCOPE}
    out = []
    for line in lines(session, user, by, totals):
        if line.kind == "group":
            out.append(PipelineFigure(line, totals[line.group], cells[line.group]))
        elif line.kind == "selection":
            out.append(PipelineFigure(line, selection_total, selection_cells))
        else:
            out.append(PipelineFigure(line, company.company, company_cells))
    closes = sorted({c for f in out for c in f.cells}, key=lambda c: (c is None, c or dt.date.min))
    return closes, out


def _empty_cell() -> engine.PipelineCell:
    return engine.PipelineCell(SCOPE, None, 0, 0, Decimal("0.00"), Decimal("0.00"))


def in_period(figure: PipelineFigure, months: Iterable[dt.date]) -> tuple[int, Decimal, Decimal]:
    """(deals, unweighted, weighted) of the figure's cells whose expected close month is one of ``months``
    (the cells must be by month)."""
    chosen = [figure.cells[m] for m in months if m in figure.cells]
    return (sum(c.deals for c in chosen), sum((c.unweighted for c in chosen), Decimal("0.00")),
            sum((c.weighted for c in chosen), Decimal("0.00")))


# -- targets: the remaining target of a period --------------------------------------------------------------------
@dataclass(frozen=True)
class Remaining:
    target: Decimal
    actual: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.target - self.actual


def target_plan(period: Period):
    """The newest approved or locked net-revenue target plan with targets in the period (as incentive quotas
    take theirs, ``incentives.inputs.target_quotas``)."""
    from salesops.targets.models import PlanStatus, TargetPlan

    return (TargetPlan.objects.filter(status__in=(PlanStatus.APPROVED, PlanStatus.LOCKED), metric="net_revenue",
                                      nodes__months__month__gte=period.start, nodes__months__month__lt=period.end)
            .order_by("-created_at", "-pk").first())


def remaining_targets(user, plan, period: Period, today: dt.date) -> dict[tuple[str, int | None], Remaining]:
    """Target and actual to date over the period per (plan dimension, member) — summed over the plan's nodes of
    that member the user may see (``targets.access``) — and ("", None) for the company total (whole-plan readers
    only). Actuals come from ``targets.attainment`` (the sales cube, rolled up the plan tree)."""
    from salesops.targets.access import key_visible, visible_segments
    from salesops.targets.attainment import plan_attainment

    attainment = plan_attainment(plan, period, today)
    segments = visible_segments(user)
    sums: dict[tuple[str, int | None], list[Decimal]] = {}
    for pk, node in attainment.nodes.items():
        key = ("", None) if node.level == 0 else (node.dimension, node.member_id)
        if not key_visible(node.key, segments):
            continue
        progress = attainment.progress[pk]
        total = sums.setdefault(key, [Decimal(0), Decimal(0)])
        total[0] += progress.target
        total[1] += progress.actual
    return {key: Remaining(target, actual) for key, (target, actual) in sums.items()}


def target_of(line: Line, user, scope: Scope, remaining: Mapping[tuple[str, int | None], Remaining]
              ) -> Remaining | None:
    """The plan's remaining target behind a line, when the plan has one for it."""
    if line.kind == "group":
        return remaining.get((TARGET_DIMENSION[line.by], line.group)) if line.group is not None else None
    if line.kind == "company":
        return remaining.get(("", None))
    keys: list[tuple[str, int | None]]
    if scope.filtered:
        if sum(x is not None for x in (scope.owner, scope.team, scope.region)) != 1:
            return None
        keys = [("salesperson", scope.owner)] if scope.owner else \
            [("team", scope.team.pk)] if scope.team else [("region", scope.region.pk)]
    elif role_of(user) == Role.REP:
        me = own_salesperson(user)
        keys = [("salesperson", me.pk)] if me else []
    elif role_of(user) == Role.MANAGER:
        heads = Team.objects.filter(manager=own_salesperson(user), pk__in=managed_team_ids(user))
        keys = [("team", pk) for pk in heads.values_list("pk", flat=True)]
    else:
        keys = [("", None)]
    found = [remaining[k] for k in keys if k in remaining]
    if not found:
        return None
    return Remaining(sum((r.target for r in found), Decimal(0)), sum((r.actual for r in found), Decimal(0)))


# -- drill-down -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """The figure a drill-down lists: its measures (their deals are united), its line (``by`` and ``group``), the
    options it was computed with and the scope's filter. As a query string: ``m`` (repeatable), ``by``, ``g``
    (an id or ``none``), ``start``/``end`` (ISO; end exclusive), ``cohort``, ``stage``, ``as_of``, ``qp``,
    ``close`` (repeatable; ``none`` for no date), ``cp`` and the filter's ``owner``/``team``/``region``."""

    measures: tuple[Measure, ...]
    by: str
    group: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    cohort: dt.date | None = None
    stage: int | None = None
    as_of: dt.date | None = None
    qualified_position: int | None = None
    closes: tuple[dt.date | None, ...] = ()
    close_period: str = "month"
    filters: dict[str, str] = field(default_factory=dict, hash=False)

    def query(self) -> list[tuple[str, str]]:
        items = [("m", str(m)) for m in self.measures] + [("by", self.by)]
        if self.by in ("owner", "team", "region"):
            items.append(("g", "none" if self.group is None else str(self.group)))
        for name, value in (("start", self.start), ("end", self.end), ("cohort", self.cohort),
                            ("stage", self.stage), ("as_of", self.as_of), ("qp", self.qualified_position)):
            if value is not None:
                items.append((name, value.isoformat() if isinstance(value, dt.date) else str(value)))
        items += [("close", c.isoformat() if c else "none") for c in self.closes]
        if Measure.PIPELINE in self.measures:
            items.append(("cp", self.close_period))
        items += sorted(self.filters.items())
        return items

    @classmethod
    def parse(cls, query: QueryDict) -> Key:
        """The key in a query string; ValueError naming what is wrong."""
        measures = tuple(Measure(m) for m in query.getlist("m"))
        if not measures:
            raise ValueError("m: which figure?")
        by = query.get("by", "company")
        if by not in (*DIMENSIONS, "scope"):
            raise ValueError(f"by: {by!r}")
        group = None
        if by in ("owner", "team", "region"):
            g = query.get("g", "none")
            group = None if g == "none" else int(g)

        def day(name):
            value = query.get(name)
            return dt.date.fromisoformat(value) if value else None

        def number(name):
            value = query.get(name)
            return int(value) if value not in (None, "") else None

        closes = tuple(None if c == "none" else dt.date.fromisoformat(c) for c in query.getlist("close"))
        return cls(measures, by, group, day("start"), day("end"), day("cohort"), number("stage"), day("as_of"),
                   number("qp"), closes, query.get("cp", "month"),
                   {k: query[k] for k in ("owner", "team", "region") if query.get(k)})

    def with_(self, **changes) -> Key:
        return replace(self, **changes)


def deal_ids(session: Session, key: Key) -> tuple[int, ...]:
    """The ids of exactly the deals behind the figure ``key`` names, ascending. Http404 for a line the user may
    not drill into: a group with no deal of their scope, or the company benchmark when they do not see every
    deal."""
    if key.by == "company" and not session.scope.sees_everything:
        raise Http404("The company benchmark's deals are not all yours to see.")
    if key.by in ("owner", "team", "region") and key.group not in session.present(key.by):
        raise Http404("No such group in your figures.")
    p, dim = session.pipeline_for(key.by)
    group = SCOPE if key.by == "scope" else key.group
    ids: set[int] = set()
    for measure in key.measures:
        options: dict[str, Any] = {"by": dim, "group": group, "start": key.start, "end": key.end}
        if measure in (Measure.REACHED, Measure.CONVERTED, Measure.DWELT, Measure.IN_STAGE):
            options["stage_id"] = key.stage
        if measure in (Measure.DWELT, Measure.IN_STAGE):
            options["as_of"] = key.as_of
        elif measure is Measure.PIPELINE:
            options = {"by": dim, "group": group, "close_period": key.close_period}
        elif measure in (Measure.OPEN_QUALIFIED, Measure.CLOSED_WON, Measure.CLOSED_LOST):
            options["qualified_position"] = key.qualified_position
        else:
            options["cohort"] = key.cohort
        try:
            if measure is Measure.PIPELINE and key.closes:
                for close in key.closes:
                    ids.update(p.deals(measure, close=close, **options) if close else
                               _undated_pipeline(p, options))
            else:
                ids.update(p.deals(measure, **options))
        except ValueError as error:
            raise Http404(str(error)) from None
    return tuple(sorted(ids))


def _undated_pipeline(p: engine.Pipeline, options: dict) -> set[int]:
    """Open deals without an expected close: every open deal less those in a dated close period."""
    every = set(p.deals(Measure.PIPELINE, **options))
    result = p.weighted_pipeline(by=options["by"], close_period=options["close_period"])
    dated: set[int] = set()
    for cell in result.cells:
        if cell.close is not None and (options["by"] is Dimension.COMPANY or cell.group == options["group"]):
            dated.update(p.deals(Measure.PIPELINE, close=cell.close, **options))
    return every - dated
