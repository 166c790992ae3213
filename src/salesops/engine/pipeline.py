"""Sales-process analytics: funnel conversion by cohort, stage dwell, bottlenecks, sales velocity, weighted pipeline.

Role in the flow: the CRM's opportunities, its stage pipeline and each opportunity's stage history (Arrow tables
from the database, or anything DuckDB can scan) → a :class:`Pipeline` (the tables registered on one DuckDB
connection; one-shot functions of the same names open one each) → small frozen results the pages and the API
show, every number exact and traceable: :meth:`Pipeline.deals` lists the opportunity ids behind any figure from
the same options, a measure and the figure's cell. Quote turnaround and record completeness are computed in
Django, not here.

Inputs (``OPPORTUNITIES_SCHEMA``, ``STAGES_SCHEMA``, ``STAGE_CHANGES_SCHEMA`` give the Arrow types):

- ``opportunities``: ``id`` int64 (unique), ``owner_id`` int64 (the salesperson), ``team_id`` and ``region_id``
  int64 or null, ``created_on`` date, ``closed_on`` date or null, ``amount`` decimal(18,2) or null, ``status``
  ``'open' | 'won' | 'lost'``, ``stage_id`` (the current stage); optionally ``expected_close`` date or null.
- ``stages``: ``id``, ``code``, ``name``, ``position`` (the order), ``probability`` decimal 0–100 (percent, at
  most 4 decimals), ``is_won``, ``is_lost``. The *open stages* are those neither won nor lost, in ``position``
  order (ties: ``id``).
- ``stage_changes``: ``opportunity_id``, ``from_stage_id`` (null = creation), ``to_stage_id``, ``changed_at``
  timestamp (with time zone; a naive one is read as UTC, and dates bound UTC days). Changes at the same instant
  are ordered creation first, then by the target stage's position and id, so the order of the input rows never
  matters. Changes of deals missing from ``opportunities`` are ignored.

Definitions (``docs/pipeline-analytics.md`` works each one by hand):

- Outcome is ``status``. A deal *reached* an open stage when it is won, or when it entered that stage or a later
  open stage (its history or its current stage): a skipped stage counts as reached; a lost deal reaches only the
  open stages up to the highest it entered (entering the lost stage reaches nothing); a deal moved back (reopened)
  still counts once per stage, up to the highest open stage it ever entered.
- Funnel (:meth:`Pipeline.funnel`): deals by creation month (the cohort) and in total over ``[start, end)`` of
  ``created_on``. ``conversion(s) = reached(next) / reached(s)``, where the next step after the last open stage is
  *won*. ``win_rate = won / (won + lost)`` of the cohort (open deals left out); ``cycle_days`` = median of
  ``closed_on − created_on`` in days over the cohort's won deals.
- Dwell (:meth:`Pipeline.dwell`): a *stay* is one visit of a deal to an open stage, from the change that enters it to
  the deal's next change, in exact microseconds; a deal moved back to a stage it had left makes a second stay
  there (the time in between belongs to the other stages). A stay is *measured* when it ended by the cut
  (``as_of``, inclusive; default the period's last day) within ``[start, end)``; it is *in progress*
  (right-censored) when the deal still sits in the stage at the cut and is open then. In-progress stays are
  counted but left out of the figures: their end is unknown, and counting them up to the cut would pull the
  median down. Quartiles are type 7 (linear between order statistics, as ECharts' box plot and numpy's
  default), computed on integers; days rounded half up to 2 places.
- Bottlenecks, velocity and the weighted pipeline: see :meth:`Pipeline.bottlenecks`, :meth:`Pipeline.velocity`
  and :meth:`Pipeline.weighted_pipeline`; pipeline coverage: :func:`coverage`.

Ratios are ``Decimal`` to 4 places (0.4167 = 41.67 %), amounts are exact ``Decimal`` and money derived from
ratios is rounded once, half up, to the cent — all in integer arithmetic (no float ever). Groups come out sorted
by id, the deals without a team (or region) last as the group ``None``. Pure: no Django, never mutates its
inputs; the same inputs in any row order give equal results.
"""

# SQL here is built from our own constants, from integers (int() of the arguments) and from dates formatted by
# date.isoformat(); values from the tables stay data.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

import duckdb
import pyarrow as pa

from salesops.engine.messages import gettext_noop
from salesops.engine.periods import add_months

CONVERSION_GAP = gettext_noop(
    "{stage}: {conversion} of deals move on, against {benchmark} company-wide; matching it would bring about "
    "{gain} more revenue")
CONVERSION_GAP_UNPRICED = gettext_noop(
    "{stage}: {conversion} of deals move on, against {benchmark} company-wide")
DWELL_GAP = gettext_noop("{stage}: a stay lasts {days} days at the median, against {benchmark} days company-wide")

OPPORTUNITIES_SCHEMA = pa.schema([
    ("id", pa.int64()), ("owner_id", pa.int64()), ("team_id", pa.int64()), ("region_id", pa.int64()),
    ("created_on", pa.date32()), ("closed_on", pa.date32()), ("amount", pa.decimal128(18, 2)),
    ("status", pa.string()), ("stage_id", pa.int64()),
])
STAGES_SCHEMA = pa.schema([
    ("id", pa.int64()), ("code", pa.string()), ("name", pa.string()), ("position", pa.int32()),
    ("probability", pa.decimal128(7, 4)), ("is_won", pa.bool_()), ("is_lost", pa.bool_()),
])
STAGE_CHANGES_SCHEMA = pa.schema([
    ("opportunity_id", pa.int64()), ("from_stage_id", pa.int64()), ("to_stage_id", pa.int64()),
    ("changed_at", pa.timestamp("us", tz="UTC")),
])

_DAY_US = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1)


class Dimension(StrEnum):
    """What the figures are grouped by: the whole company (one group, ``None``), rep, team or region."""

    COMPANY = "company"
    OWNER = "owner"
    TEAM = "team"
    REGION = "region"


class Measure(StrEnum):
    """What :meth:`Pipeline.deals` lists; each names the figure it explains."""

    CREATED = "created"  # funnel: the cohort's deals (FunnelRow.created)
    REACHED = "reached"  # funnel: reached the stage (reached[i]); needs stage_id
    CONVERTED = "converted"  # funnel: reached the next step after the stage (numerator of conversion[i])
    WON = "won"  # funnel: won deals of the cohort
    LOST = "lost"
    OPEN = "open"
    CYCLE = "cycle"  # funnel: the won deals with a close date, behind cycle_days
    DWELT = "dwelt"  # dwell: the deals of the measured stays in the stage (DwellRow.stays)
    IN_STAGE = "in_stage"  # dwell: in progress at the cut (DwellRow.in_progress)
    OPEN_QUALIFIED = "open_qualified"  # velocity: open at the period's end at or past the qualified position
    CLOSED_WON = "closed_won"  # velocity: won with closed_on in the period
    CLOSED_LOST = "closed_lost"
    PIPELINE = "pipeline"  # weighted pipeline: open deals (of a close period when ``close`` is given)


class PipelineInputError(ValueError):
    """Every problem found in the inputs (not just the first), as English lines naming the rows."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Stage:
    """An open stage, in funnel order (``index`` from 0)."""

    index: int
    id: int
    code: str
    name: str
    position: int
    probability: Decimal


@dataclass(frozen=True)
class FunnelStep:
    """One stage of one funnel row, for templates (:meth:`Funnel.steps`)."""

    stage: Stage
    reached: int
    converted: int  # reached the next step: the next open stage, or won after the last
    conversion: Decimal | None  # converted / reached; None when nobody reached the stage


@dataclass(frozen=True)
class FunnelRow:
    """A group's cohort (``cohort`` = first day of the creation month) or its total over the range (``None``).

    ``reached`` and ``conversion`` follow :attr:`Funnel.stages`; ``reached`` never increases along it."""

    group: int | None
    cohort: dt.date | None
    created: int
    won: int
    lost: int
    open: int
    reached: tuple[int, ...]
    conversion: tuple[Decimal | None, ...]
    win_rate: Decimal | None  # won / (won + lost) of the cohort
    cycle_days: Decimal | None  # median days created → closed of the won deals (exact: .0 or .5)
    won_amount: Decimal  # Σ amount of the won deals (exact)
    won_priced: int  # won deals with an amount

    @property
    def average_won(self) -> Decimal | None:
        """won_amount / won_priced, to the cent half up."""
        return _money(Fraction(self.won_amount) / self.won_priced) if self.won_priced else None


@dataclass(frozen=True)
class Funnel:
    dimension: Dimension
    start: dt.date | None
    end: dt.date | None
    stages: tuple[Stage, ...]
    rows: tuple[FunnelRow, ...]  # by group; per group the total (cohort None) first, then the cohorts in order

    def steps(self, row: FunnelRow) -> tuple[FunnelStep, ...]:
        converted = (*row.reached[1:], row.won)
        return tuple(FunnelStep(stage, reached, nxt, conv) for stage, reached, nxt, conv
                     in zip(self.stages, row.reached, converted, row.conversion, strict=True))

    def totals(self) -> dict[int | None, FunnelRow]:
        """Each group's row over the whole range."""
        return {row.group: row for row in self.rows if row.cohort is None}


@dataclass(frozen=True)
class DwellRow:
    """Days a group's stays in a stage lasted: the five numbers of a box plot over the measured stays."""

    group: int | None
    stage: Stage
    stays: int  # measured stays
    in_progress: int  # deals still in the stage at the cut: counted here, left out of the figures
    minimum: Decimal | None
    q1: Decimal | None
    median: Decimal | None
    q3: Decimal | None
    maximum: Decimal | None

    @property
    def p75(self) -> Decimal | None:
        return self.q3

    @property
    def box(self) -> tuple[Decimal | None, ...]:
        """[min, Q1, median, Q3, max]: one item of an ECharts ``boxplot`` series."""
        return (self.minimum, self.q1, self.median, self.q3, self.maximum)


@dataclass(frozen=True)
class Dwell:
    dimension: Dimension
    start: dt.date | None
    end: dt.date | None
    as_of: dt.date | None  # the cut actually used (None: all history)
    stages: tuple[Stage, ...]
    rows: tuple[DwellRow, ...]  # every group with a stay × every open stage, by group then stage

    def by_group(self) -> dict[int | None, tuple[DwellRow, ...]]:
        out: dict[int | None, list[DwellRow]] = {}
        for row in self.rows:
            out.setdefault(row.group, []).append(row)
        return {group: tuple(rows) for group, rows in out.items()}


@dataclass(frozen=True)
class ConversionGap:
    """The stage where a group converts worst relative to the company, and what matching the company is worth.

    ``extra_deals = reached × benchmark − converted`` (exact: ``reached · B_next / B_this − converted``),
    ``expected_gain = extra_deals × downstream × average_won``, rounded half up to the cent once."""

    stage: Stage
    reached: int
    converted: int
    conversion: Decimal
    benchmark: Decimal
    ratio: Decimal  # conversion / benchmark (exact fractions, then 4 places)
    extra_deals: Decimal  # 2 places
    downstream: Decimal  # share of the deals at the next step that end won (group's, else the company's)
    average_won: Decimal | None  # group's average won amount, else the company's
    expected_gain: Decimal | None
    template: str
    params: Mapping[str, str] = field(hash=False)

    @property
    def message(self) -> str:
        return self.template.format(**self.params)


@dataclass(frozen=True)
class DwellGap:
    """The stage where a group's median stay is longest relative to the company's median."""

    stage: Stage
    stays: int
    median: Decimal
    benchmark: Decimal
    ratio: Decimal  # median / benchmark, on the days as shown, 4 places
    excess_days: Decimal  # median − benchmark
    template: str
    params: Mapping[str, str] = field(hash=False)

    @property
    def message(self) -> str:
        return self.template.format(**self.params)


@dataclass(frozen=True)
class GroupBottleneck:
    group: int | None
    deals: int  # created in the range
    conversion: ConversionGap | None  # None: no stage below the company's conversion
    dwell: DwellGap | None  # None: no stage with a median above the company's


@dataclass(frozen=True)
class Bottlenecks:
    dimension: Dimension
    start: dt.date | None
    end: dt.date | None
    min_deals: int
    rows: tuple[GroupBottleneck, ...]  # judged groups: largest expected gain first, then group
    not_judged: tuple[int | None, ...]  # groups with fewer than min_deals deals created in the range


@dataclass(frozen=True)
class VelocityFigures:
    """One group's velocity factors over one period."""

    open_qualified: int  # open at the period's end, at or past the qualified position
    won: int  # won, closed in the period
    lost: int
    won_amount: Decimal
    won_priced: int
    win_rate: Decimal | None  # won / (won + lost), 4 places
    average_won: Decimal | None  # won_amount / won_priced, to the cent
    cycle_days: Decimal | None  # median closed_on − created_on of the won deals (exact)
    velocity: Decimal | None  # money per day, to the cent (exact factors, rounded once)


@dataclass(frozen=True)
class Change:
    """A factor now and in the period before; ``absolute`` and ``relative`` come from the figures as shown."""

    current: Decimal | None
    previous: Decimal | None
    absolute: Decimal | None  # current − previous
    relative: Decimal | None  # (current − previous) / previous, 4 places; None when previous is 0 or None


@dataclass(frozen=True)
class VelocityRow:
    group: int | None
    current: VelocityFigures
    previous: VelocityFigures
    open_qualified: Change
    win_rate: Change
    average_won: Change
    cycle_days: Change
    velocity: Change


@dataclass(frozen=True)
class Velocity:
    dimension: Dimension
    start: dt.date
    end: dt.date
    previous_start: dt.date  # the period before is [previous_start, start)
    qualified_position: int | None
    company: VelocityRow
    rows: tuple[VelocityRow, ...]  # by group (empty for the company dimension)


@dataclass(frozen=True)
class PipelineCell:
    """Open deals of a group (None: company, or no team/region) and an expected-close period (None: any/none)."""

    group: int | None
    close: dt.date | None
    deals: int
    unpriced: int  # open deals without an amount (they count 0)
    unweighted: Decimal  # Σ amount, exact
    weighted: Decimal  # Σ amount × probability / 100, exact


@dataclass(frozen=True)
class WeightedPipeline:
    dimension: Dimension
    close_period: str  # month | quarter | year
    cells: tuple[PipelineCell, ...]  # by group and expected-close period (None: no date, or no column)
    groups: tuple[PipelineCell, ...]  # by group, every close period (close None)
    company: PipelineCell


# -- one-shot functions: one connection each ------------------------------------------------------------------


def funnel(opportunities: Any, stages: Any, stage_changes: Any, *, by: Dimension | str = Dimension.COMPANY,
           start: dt.date | None = None, end: dt.date | None = None, cohorts: bool = True) -> Funnel:
    """:meth:`Pipeline.funnel` on a connection of its own."""
    with Pipeline(opportunities, stages, stage_changes) as p:
        return p.funnel(by=by, start=start, end=end, cohorts=cohorts)


def dwell(opportunities: Any, stages: Any, stage_changes: Any, *, by: Dimension | str = Dimension.COMPANY,
          start: dt.date | None = None, end: dt.date | None = None, as_of: dt.date | None = None) -> Dwell:
    """:meth:`Pipeline.dwell` on a connection of its own."""
    with Pipeline(opportunities, stages, stage_changes) as p:
        return p.dwell(by=by, start=start, end=end, as_of=as_of)


def bottlenecks(opportunities: Any, stages: Any, stage_changes: Any, *, by: Dimension | str = Dimension.OWNER,
                start: dt.date | None = None, end: dt.date | None = None, as_of: dt.date | None = None,
                min_deals: int = 10) -> Bottlenecks:
    """:meth:`Pipeline.bottlenecks` on a connection of its own."""
    with Pipeline(opportunities, stages, stage_changes) as p:
        return p.bottlenecks(by=by, start=start, end=end, as_of=as_of, min_deals=min_deals)


def velocity(opportunities: Any, stages: Any, stage_changes: Any, *, start: dt.date, end: dt.date,
             previous_start: dt.date | None = None, by: Dimension | str = Dimension.COMPANY,
             qualified_position: int | None = None) -> Velocity:
    """:meth:`Pipeline.velocity` on a connection of its own."""
    with Pipeline(opportunities, stages, stage_changes) as p:
        return p.velocity(start=start, end=end, previous_start=previous_start, by=by,
                          qualified_position=qualified_position)


def weighted_pipeline(opportunities: Any, stages: Any, *, by: Dimension | str = Dimension.COMPANY,
                      close_period: str = "month") -> WeightedPipeline:
    """:meth:`Pipeline.weighted_pipeline` on a connection of its own (no stage history needed)."""
    with Pipeline(opportunities, stages, None) as p:
        return p.weighted_pipeline(by=by, close_period=close_period)


def deals(opportunities: Any, stages: Any, stage_changes: Any, measure: Measure | str, **cell: Any) -> tuple[int, ...]:
    """:meth:`Pipeline.deals` on a connection of its own."""
    with Pipeline(opportunities, stages, stage_changes) as p:
        return p.deals(measure, **cell)


def coverage(pipeline: Decimal | int, remaining_target: Decimal | int) -> Decimal | None:
    """Pipeline coverage = pipeline ÷ remaining target, 4 places half up (3.0000 = 3×); None when nothing
    remains (the target is reached, or there is none). Pass the weighted or the unweighted pipeline."""
    for value in (pipeline, remaining_target):
        if isinstance(value, float | bool):
            raise TypeError(f"refusing inexact value {value!r}: pass a Decimal or an int")
    remaining = Fraction(Decimal(remaining_target))
    if remaining <= 0:
        return None
    return _round(Fraction(Decimal(pipeline)) / remaining, 4)


# -- the session ---------------------------------------------------------------------------------------------


class Pipeline:
    """The three inputs registered once on one DuckDB connection, and every figure as a method.

    ``with Pipeline(opportunities, stages, stage_changes) as p: p.funnel(...); p.dwell(...)`` — a page that shows
    several figures pays for the set-up once. Not shared between threads (one per request); ``stage_changes``
    may be None for :meth:`weighted_pipeline`. Raises :class:`PipelineInputError` listing every kind of bad row
    (duplicate ids, unknown status or stage, missing dates, a close before the creation). Changes of deals that
    are not in ``opportunities`` are ignored, so a caller may pass a filtered set of deals with all changes."""

    def __init__(self, opportunities: Any, stages: Any, stage_changes: Any = None) -> None:
        self._con = _connection()
        try:
            self._prepare(opportunities, stages, stage_changes)
        except BaseException:
            self._con.close()
            raise

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    # figures -----------------------------------------------------------------------------------------------
    def funnel(self, *, by: Dimension | str = Dimension.COMPANY, start: dt.date | None = None,
               end: dt.date | None = None, cohorts: bool = True) -> Funnel:
        """The funnel of the deals created in ``[start, end)``, per group: in total and (``cohorts``) per
        creation month. See the module for *reached*, conversion, win rate and cycle length."""
        by = Dimension(by)
        self._funnel_facts(by, start, end)
        k = len(self.stages)
        reached = ", ".join(f"count(*) FILTER (WHERE top >= {i})" for i in range(1, k + 2))
        rows = self._con.execute(f"""
            WITH a AS (
                SELECT grp, {"cohort" if cohorts else "NULL::DATE AS cohort"}, count(*) AS created,
                       count(*) FILTER (WHERE status = 'lost') AS lost, count(*) FILTER (WHERE status = 'open'),
                       (coalesce(sum(amount) FILTER (WHERE status = 'won'), 0) * 100)::HUGEINT AS won_cents,
                       count(amount) FILTER (WHERE status = 'won') AS won_priced,
                       {reached}, {_median4("cycle", "status = 'won'")} AS cycle4
                FROM ff GROUP BY {"GROUPING SETS ((grp, cohort), (grp))" if cohorts else "grp"})
            SELECT * FROM a ORDER BY grp NULLS LAST, cohort NULLS FIRST""").fetchall()
        ratio, steps, out = _ratios(), range(k), []
        for group, cohort, created, lost, open_, won_cents, won_priced, *r, cycle4 in rows:
            won = r[k]
            out.append(FunnelRow(
                group, cohort, created, won, lost, open_, tuple(r[:k]),
                tuple([ratio(r[i + 1], r[i]) for i in steps]), ratio(won, won + lost),
                Decimal(cycle4 * 25).scaleb(-2) if cycle4 is not None else None,
                Decimal(won_cents).scaleb(-2), won_priced))
        return Funnel(by, start, end, self.stages, tuple(out))

    def dwell(self, *, by: Dimension | str = Dimension.COMPANY, start: dt.date | None = None,
              end: dt.date | None = None, as_of: dt.date | None = None) -> Dwell:
        """How long stays in each open stage last, per group, over the stays that ended in ``[start, end)``.

        ``as_of`` (inclusive) cuts the history: changes after that day are ignored and a stay still running then
        is *in progress*. Default: the day before ``end``, or all history without ``end``."""
        by = Dimension(by)
        cut_day = self._stays(by, start, end, as_of)
        rows = self._con.execute(f"""
            WITH a AS (
                SELECT grp, ord, count(*) FILTER (WHERE measured) AS n,
                       count(*) FILTER (WHERE in_progress) AS in_progress,
                       {_quartiles4("us", "measured")} AS q4
                FROM stay WHERE measured OR in_progress GROUP BY grp, ord)
            SELECT * FROM a ORDER BY grp NULLS LAST, ord""").fetchall()
        cells = {(g, o): (n, p, *(q4 or (None,) * 5)) for g, o, n, p, q4 in rows}
        none = (0, 0, None, None, None, None, None)
        out = []
        for group in dict.fromkeys(g for g, *_ in rows):
            for stage in self.stages:
                n, in_progress, *figures = cells.get((group, stage.index + 1), none)
                out.append(DwellRow(group, stage, n, in_progress, *(_days(f) for f in figures)))
        return Dwell(by, start, end, cut_day, self.stages, tuple(out))

    def bottlenecks(self, *, by: Dimension | str = Dimension.OWNER, start: dt.date | None = None,
                    end: dt.date | None = None, as_of: dt.date | None = None,
                    min_deals: int = 10) -> Bottlenecks:
        """For each group with at least ``min_deals`` deals created in ``[start, end)``, the stage where it loses
        most against the company (the benchmark: every deal, the group's included, with the same filters).

        *Conversion gap*: among the open stages the group reached (``R > 0``) and where the company converts
        (benchmark > 0), the one with the lowest ``ratio = conversion / benchmark`` below 1 (ties: the larger
        gain, then the earlier stage), from the :meth:`funnel` totals. With ``R`` = the group's deals that
        reached the stage, ``M`` = those of them that reached the next step, ``B_s`` and ``B_next`` the
        company's:

        - ``extra_deals = R · B_next / B_s − M``: how many more would reach the next step at the company's rate;
        - ``downstream = won / M``: the share of the group's deals at the next step that end won (1 after the
          last open stage, whose next step is won); the company's ``won / B_next`` when ``M = 0``;
        - ``average_won``: the group's won amount ÷ its won deals with an amount; the company's when it has none;
        - ``expected_gain = extra_deals × downstream × average_won``, exact, rounded half up to the cent once
          (None when no won deal anywhere has an amount).

        *Dwell gap*: among the open stages where the group has measured stays (:meth:`dwell`, same range and
        ``as_of``) and the company's median is above 0, the one with the highest ``median / company median``
        above 1, on the days as shown (ties: the earlier stage)."""
        by, min_deals = Dimension(by), int(min_deals)
        company = self.funnel(by=Dimension.COMPANY, start=start, end=end, cohorts=False).totals().get(None)
        group_funnel = self.funnel(by=by, start=start, end=end, cohorts=False)
        company_medians = {r.stage.index: r.median
                           for r in self.dwell(by=Dimension.COMPANY, start=start, end=end, as_of=as_of).rows}
        dwell_rows = self.dwell(by=by, start=start, end=end, as_of=as_of).by_group()
        judged, skipped = [], []
        for row in group_funnel.rows:
            if row.created < min_deals:
                skipped.append(row.group)
                continue
            judged.append(GroupBottleneck(
                row.group, row.created,
                _conversion_gap(self.stages, row, company) if company else None,
                _dwell_gap(dwell_rows.get(row.group, ()), company_medians)))
        judged.sort(key=lambda b: (-(b.conversion.expected_gain or 0) if b.conversion else 0, _group_key(b.group)))
        return Bottlenecks(by, start, end, min_deals, tuple(judged), tuple(skipped))

    def velocity(self, *, start: dt.date, end: dt.date, previous_start: dt.date | None = None,
                 by: Dimension | str = Dimension.COMPANY, qualified_position: int | None = None) -> Velocity:
        """Sales velocity for ``[start, end)`` and the period before, ``[previous_start, start)`` (default: as
        many months before when both dates are first days of months, else as many days), company-wide and per
        group.

        ``velocity = open_qualified × win_rate × average_won ÷ cycle_days`` (money per day), where for a period:
        ``open_qualified`` = deals open at its end (created before ``end``; status open, or closed on or after
        ``end``) whose stage then — the last change before ``end``, else their current stage — is an open stage
        with ``position ≥ qualified_position`` (every open stage when None); ``win_rate = won / (won + lost)``
        over the deals *closed in the period*; ``average_won`` = their won amount ÷ their won deals with an
        amount; ``cycle_days`` = the median of ``closed_on − created_on`` over those won deals. Exact fractions,
        rounded once; None when a factor is missing or the cycle is 0 days."""
        by = Dimension(by)
        if previous_start is None:
            previous_start = _previous_start(start, end)
        if not previous_start < start < end:
            raise ValueError(f"need previous_start < start < end (got {previous_start}, {start}, {end})")
        current = self._velocity_figures(by, start, end, qualified_position)
        previous = self._velocity_figures(by, previous_start, start, qualified_position)
        empty = VelocityFigures(0, 0, 0, Decimal("0.00"), 0, None, None, None, None)
        groups = sorted({key[1] for key in (*current, *previous) if key[0] == "g"}, key=_group_key)
        rows = tuple(_velocity_row(g, current.get(("g", g), empty), previous.get(("g", g), empty)) for g in groups)
        company = _velocity_row(None, current.get(("c", None), empty), previous.get(("c", None), empty))
        return Velocity(by, start, end, previous_start, qualified_position, company, rows)

    def weighted_pipeline(self, *, by: Dimension | str = Dimension.COMPANY,
                          close_period: str = "month") -> WeightedPipeline:
        """Σ amount × stage probability / 100 over the open deals (status open: won and lost left out), each at
        its current stage's probability, exact; by group and, when ``opportunities`` has ``expected_close``, by
        the month, quarter or year it falls in. A deal without an amount counts 0 (and in ``unpriced``). The
        groups' figures add up exactly to the company's, and so do each group's close periods."""
        by, close_period = Dimension(by), _close_period(close_period)
        self._pipeline_facts(by, close_period)
        rows = self._con.execute("""
            SELECT grouping(grp), grouping(close), grp, close, count(*), count(*) - count(amount),
                   (coalesce(sum(amount), 0) * 100)::HUGEINT,
                   (coalesce(sum(amount * probability), 0) * 1000000)::HUGEINT
            FROM pf GROUP BY GROUPING SETS ((grp, close), (grp), ())
            ORDER BY grp NULLS LAST, close NULLS LAST""").fetchall()
        cells, groups = [], []
        company = PipelineCell(None, None, 0, 0, Decimal("0.00"), Decimal("0.00"))
        for total, all_periods, group, close, n, unpriced, cents, weighted in rows:
            cell = PipelineCell(group, close, n, unpriced, Decimal(cents).scaleb(-2),
                                _trim(Decimal(weighted).scaleb(-8)))
            if total:
                company = cell
            elif all_periods:
                groups.append(cell)
            else:
                cells.append(cell)
        return WeightedPipeline(by, close_period, tuple(cells), tuple(groups), company)

    def deals(self, measure: Measure | str, *, by: Dimension | str = Dimension.COMPANY, group: int | None = None,
              start: dt.date | None = None, end: dt.date | None = None, cohort: dt.date | None = None,
              stage_id: int | None = None, as_of: dt.date | None = None, qualified_position: int | None = None,
              close: dt.date | None = None, close_period: str = "month") -> tuple[int, ...]:
        """The ids (ascending) of the deals behind one figure: pass the options the figure was computed with,
        its group (ignored for the company dimension) and what its cell needs — ``cohort`` (funnel; None: the
        whole range), ``stage_id`` (reached, converted, dwelt, in stage), ``close`` (pipeline; None: every close
        period). Velocity measures count the period ``[start, end)``. A conversion gap's deals are REACHED and
        CONVERTED at its stage; a dwell gap's DWELT."""
        measure, by = Measure(measure), Dimension(by)
        where = [] if by is Dimension.COMPANY else [f"grp IS NOT DISTINCT FROM {_int_or_null(group)}"]
        index = 0
        if measure in (Measure.REACHED, Measure.CONVERTED, Measure.DWELT, Measure.IN_STAGE):
            index = self._stage_index(stage_id)
        if measure in _FUNNEL_MEASURES:
            self._funnel_facts(by, start, end)
            view = "ff"
            if cohort is not None:
                where.append(f"cohort = {_date_sql(cohort.replace(day=1))}")
            where.append(_FUNNEL_MEASURES[measure].format(reached=index + 1, converted=index + 2))
        elif measure in (Measure.DWELT, Measure.IN_STAGE):
            self._stays(by, start, end, as_of)
            view = "stay"
            where.append(f"ord = {index + 1} AND {'measured' if measure is Measure.DWELT else 'in_progress'}")
        elif measure is Measure.PIPELINE:
            self._pipeline_facts(by, _close_period(close_period))
            view = "pf"
            if close is not None:
                where.append(f"close = {_date_sql(close)}")
        else:
            if start is None or end is None:
                raise ValueError(f"{measure} needs start and end")
            self._velocity_facts(by, start, end, qualified_position)
            view = "vf"
            where.append(str(measure))
        return tuple(r[0] for r in self._con.execute(
            f"SELECT DISTINCT id FROM {view} WHERE {' AND '.join(where) or 'true'} ORDER BY id").fetchall())

    # inputs ------------------------------------------------------------------------------------------------
    def _prepare(self, opportunities: Any, stages: Any, stage_changes: Any) -> None:
        con = self._con
        if stage_changes is None:
            stage_changes = STAGE_CHANGES_SCHEMA.empty_table()
        problems = []
        has_expected_close = False
        for name, table, needed in (("opportunities", opportunities, OPPORTUNITIES_SCHEMA.names),
                                    ("stages", stages, STAGES_SCHEMA.names),
                                    ("stage_changes", stage_changes, STAGE_CHANGES_SCHEMA.names)):
            con.register(f"{name}_in", table)
            columns = {r[0].lower() for r in con.execute(f"DESCRIBE SELECT * FROM {name}_in").fetchall()}
            problems += [f"{name}: needs a column {c}" for c in needed if c not in columns]
            if name == "opportunities":
                has_expected_close = "expected_close" in columns
        if problems:
            raise PipelineInputError(problems)
        close = "expected_close::DATE" if has_expected_close else "NULL::DATE"
        # the engine's types: amounts and probabilities exact (a float input is rounded to them)
        con.execute(f"""
            CREATE TEMP VIEW opps AS SELECT id::BIGINT AS id, owner_id::BIGINT AS owner_id,
                team_id::BIGINT AS team_id, region_id::BIGINT AS region_id, created_on::DATE AS created_on,
                closed_on::DATE AS closed_on, amount::DECIMAL(18,2) AS amount, status::VARCHAR AS status,
                stage_id::BIGINT AS stage_id, {close} AS expected_close FROM opportunities_in""")
        # srank: the order of every stage (position, then id), to order changes made at the same instant
        con.execute("""
            CREATE TEMP TABLE stg AS SELECT id::BIGINT AS id, code::VARCHAR AS code, name::VARCHAR AS name,
                position::BIGINT AS position, probability::DECIMAL(7,4) AS probability,
                coalesce(is_won, false) AS is_won, coalesce(is_lost, false) AS is_lost,
                row_number() OVER (ORDER BY position, id) AS srank FROM stages_in""")
        con.execute("""
            CREATE TEMP TABLE ost AS
            SELECT row_number() OVER (ORDER BY position, id)::INTEGER AS ord, id AS sid, code, name, position,
                   probability FROM stg WHERE NOT is_won AND NOT is_lost""")
        con.execute("""
            CREATE TEMP VIEW changes AS SELECT opportunity_id::BIGINT AS oid, from_stage_id::BIGINT AS from_id,
                to_stage_id::BIGINT AS sid, changed_at FROM stage_changes_in""")
        self.stages = tuple(Stage(o - 1, sid, code, name, position, probability)
                            for o, sid, code, name, position, probability
                            in con.execute("SELECT * FROM ost ORDER BY ord").fetchall())
        self._sranks = con.execute("SELECT id, srank FROM stg WHERE id IS NOT NULL ORDER BY srank").fetchall()
        self._validate()

    def _validate(self) -> None:
        """Count each kind of bad row in one pass per table; list (up to 20 of) the kinds that occur."""
        ids = ", ".join(str(int(sid)) for sid, _ in self._sranks)

        def known(column: str) -> str:  # a literal list: cheaper than a subquery over 500,000 changes
            return f"({column} IN ({ids}))" if ids else "false"

        checks = {  # kind: (table, condition, the line of a bad row)
            "stage id": ("stg", "id IN (SELECT id FROM stg GROUP BY id HAVING count(*) > 1)",
                         "'stages: id ' || id || ' appears more than once'"),
            "probability": ("stg", "probability IS NULL OR probability < 0 OR probability > 100",
                            "'stages: id ' || id || ': probability ' || coalesce(probability::VARCHAR, 'NULL') "
                            "|| ' is not within 0–100'"),
            "won and lost": ("stg", "is_won AND is_lost", "'stages: id ' || id || ' is both won and lost'"),
            "status": ("opps", "status IS NULL OR status NOT IN ('open', 'won', 'lost')",
                       "'opportunities: id ' || coalesce(id::VARCHAR, 'NULL') || ': status ' || "
                       "coalesce(status, 'NULL') || ' is not open, won or lost'"),
            "required": ("opps", "id IS NULL OR owner_id IS NULL OR created_on IS NULL",
                         "'opportunities: id ' || coalesce(id::VARCHAR, 'NULL') || ': no id, owner_id or "
                         "created_on'"),
            "closed early": ("opps", "closed_on < created_on",
                             "'opportunities: id ' || id || ': closed_on ' || closed_on || ' is before "
                             "created_on ' || created_on"),
            "stage": ("opps", f"stage_id IS NULL OR NOT {known('stage_id')}",
                      "'opportunities: id ' || id || ': no such stage ' || coalesce(stage_id::VARCHAR, 'NULL')"),
            "change": ("changes", f"changed_at IS NULL OR sid IS NULL OR NOT {known('sid')}",
                       "'stage_changes: opportunity ' || coalesce(oid::VARCHAR, 'NULL') || ': no such stage ' || "
                       "coalesce(sid::VARCHAR, 'NULL') || ' or no changed_at'"),
        }
        counts = {}
        for table in ("stg", "opps", "changes"):
            kinds = [kind for kind, (t, _, _) in checks.items() if t == table]
            extra = ", count(*) - count(DISTINCT id)" if table == "opps" else ""
            row = self._con.execute(
                "SELECT " + ", ".join(f"count(*) FILTER (WHERE {checks[kind][1]})" for kind in kinds)
                + f"{extra} FROM {table}").fetchall()[0]
            counts.update(zip(kinds, row, strict=False))
            if table == "opps" and row[-1]:
                checks["opportunity id"] = ("opps", "id IN (SELECT id FROM opps GROUP BY id HAVING count(*) > 1)",
                                            "'opportunities: id ' || id || ' appears more than once'")
                counts["opportunity id"] = row[-1]
        problems = []
        for kind, count in counts.items():
            if count:
                table, condition, line = checks[kind]
                problems += [r[0] for r in self._con.execute(
                    f"SELECT DISTINCT {line} AS line FROM {table} WHERE {condition} ORDER BY line LIMIT 20").fetchall()]
        if problems:
            raise PipelineInputError(problems)

    def _stage_index(self, stage_id: int | None) -> int:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage.index
        raise ValueError(f"stage {stage_id!r} is not an open stage")

    def _tie(self, alias: str) -> str:
        """SQL: among a deal's changes at the same instant, creation first, then the target stage's position and
        id (its ``srank``, written into a CASE: cheaper than a join before a sort)."""
        ranks = " ".join(f"WHEN {int(sid)} THEN {int(rank)}" for sid, rank in self._sranks)
        tie = f"CASE {alias}.sid {ranks} END" if ranks else "0"
        return f"(({alias}.from_id IS NOT NULL)::INTEGER * {len(self._sranks) + 1} + {tie})"

    def _ord(self, column: str) -> str:
        """SQL: the open stage's place in the funnel (1 … K) of the stage id in ``column``; NULL for won, lost
        and unknown stages."""
        ords = " ".join(f"WHEN {int(stage.id)} THEN {stage.index + 1}" for stage in self.stages)
        return f"(CASE {column} {ords} END)" if ords else "NULL::INTEGER"

    def _order_key(self, alias: str) -> str:
        """SQL: the order of a deal's changes as one number: the instant in µs × (2S + 2) + the tie (S stages).
        BIGINT up to 1,000 stages (it then holds instants until 2112), HUGEINT past that."""
        scale = 2 * len(self._sranks) + 2
        kind = "BIGINT" if scale <= 2002 else "HUGEINT"
        return f"(epoch_us({alias}.changed_at)::{kind} * {scale} + {self._tie(alias)})"

    # facts: the views each figure is counted from, and deals() lists from -----------------------------------
    def _funnel_facts(self, by: Dimension, start: dt.date | None, end: dt.date | None) -> None:
        """``ff``: one row per deal created in the range — group, cohort, status, cycle, amount and ``top``: how
        many open stages it reached (K + 1 when won)."""
        k = len(self.stages)
        self._con.execute(f"""
            CREATE OR REPLACE TEMP VIEW ff AS
            WITH top AS (SELECT oid, max({self._ord("sid")}) AS maxord FROM changes GROUP BY oid)
            SELECT o.id, {_GROUP[by]} AS grp, date_trunc('month', o.created_on)::DATE AS cohort, o.status,
                   datediff('day', o.created_on, o.closed_on) AS cycle, o.amount,
                   CASE WHEN o.status = 'won' THEN {k + 1}
                        ELSE coalesce(greatest(t.maxord, {self._ord("o.stage_id")}), 0) END AS top
            FROM opps o LEFT JOIN top t ON t.oid = o.id
            WHERE {_range("o.created_on", start, end)}""")

    def _stays(self, by: Dimension, start: dt.date | None, end: dt.date | None, as_of: dt.date | None
               ) -> dt.date | None:
        """``stay``: one row per visit of a deal to an open stage — its microseconds there (entering it → the
        deal's next change), whether it is measured (ended by the cut, in the range) or in progress at the cut;
        returns the cut's day."""
        cut_day = as_of if as_of is not None else (end - dt.timedelta(days=1) if end is not None else None)
        cut = f"WHERE epoch_us(c.changed_at) < {_us(cut_day + dt.timedelta(days=1))}" if cut_day else ""
        exit_range = [f"t1 >= {_us(start)}"] if start is not None else []
        exit_range += [f"t1 < {_us(end)}"] if end is not None else []
        open_at_cut = "o.status = 'open'" + (f" OR o.closed_on > {_date_sql(cut_day)}" if cut_day else "")
        # one sort of every change by deal and time (a window over all rows: cheaper here than 100,000 partitions)
        self._con.execute(f"""
            CREATE OR REPLACE TEMP VIEW stay AS
            WITH c AS (SELECT c.oid, c.sid, epoch_us(c.changed_at) AS t0, {self._order_key("c")} AS k
                       FROM changes c {cut}),
            spell AS (
                SELECT oid, sid, t0, CASE WHEN lead(oid) OVER w = oid THEN lead(t0) OVER w END AS t1
                FROM c WINDOW w AS (ORDER BY oid, k)),
            open_spell AS (SELECT *, {self._ord("sid")} AS ord FROM spell)
            SELECT sp.oid AS id, {_GROUP[by]} AS grp, sp.ord, sp.t1 - sp.t0 AS us,
                   sp.t1 IS NOT NULL AND {" AND ".join(exit_range) or "true"} AS measured,
                   sp.t1 IS NULL AND ({open_at_cut}) AS in_progress
            FROM open_spell sp JOIN opps o ON o.id = sp.oid WHERE sp.ord IS NOT NULL""")
        return cut_day

    def _velocity_facts(self, by: Dimension, start: dt.date, end: dt.date, qualified_position: int | None) -> None:
        """``vf``: one row per deal with the period's flags: open_qualified, closed_won, closed_lost."""
        qualified = f"q.position >= {int(qualified_position)}" if qualified_position is not None else "true"
        lo, hi = _date_sql(start), _date_sql(end)
        self._con.execute(f"""
            CREATE OR REPLACE TEMP VIEW vf AS
            WITH at_end AS (
                SELECT c.oid, arg_max(c.sid, {self._order_key("c")}) AS sid FROM changes c
                WHERE epoch_us(c.changed_at) < {_us(end)} GROUP BY c.oid)
            SELECT o.id, {_GROUP[by]} AS grp, o.amount, datediff('day', o.created_on, o.closed_on) AS cycle,
                   o.created_on < {hi} AND (o.status = 'open' OR o.closed_on >= {hi})
                       AND q.sid IS NOT NULL AND {qualified} AS open_qualified,
                   o.status = 'won' AND o.closed_on >= {lo} AND o.closed_on < {hi} AS closed_won,
                   o.status = 'lost' AND o.closed_on >= {lo} AND o.closed_on < {hi} AS closed_lost
            FROM opps o LEFT JOIN at_end e ON e.oid = o.id LEFT JOIN ost q ON q.sid = coalesce(e.sid, o.stage_id)""")

    def _pipeline_facts(self, by: Dimension, close_period: str) -> None:
        """``pf``: the open deals with their group, close period, amount and current stage's probability."""
        self._con.execute(f"""
            CREATE OR REPLACE TEMP VIEW pf AS
            SELECT o.id, {_GROUP[by]} AS grp, date_trunc('{close_period}', o.expected_close)::DATE AS close,
                   o.amount, s.probability
            FROM opps o JOIN stg s ON s.id = o.stage_id WHERE o.status = 'open'""")

    def _velocity_figures(self, by: Dimension, start: dt.date, end: dt.date, qualified_position: int | None
                          ) -> dict[tuple[str, int | None], VelocityFigures]:
        self._velocity_facts(by, start, end, qualified_position)
        company = by is Dimension.COMPANY
        rows = self._con.execute(f"""
            WITH a AS (
                SELECT {"1" if company else "grouping(grp)"} AS total, {"NULL" if company else "grp"} AS grp,
                       count(*) FILTER (WHERE open_qualified) AS open_qualified,
                       count(*) FILTER (WHERE closed_won) AS won, count(*) FILTER (WHERE closed_lost) AS lost,
                       (coalesce(sum(amount) FILTER (WHERE closed_won), 0) * 100)::HUGEINT AS won_cents,
                       count(amount) FILTER (WHERE closed_won) AS won_priced,
                       {_median4("cycle", "closed_won")} AS cycle4
                FROM vf WHERE open_qualified OR closed_won OR closed_lost
                GROUP BY {"()" if company else "GROUPING SETS ((grp), ())"})
            SELECT * FROM a""").fetchall()
        return {("c" if total else "g", group): _velocity_figures(*figures) for total, group, *figures in rows}


# -- helpers -------------------------------------------------------------------------------------------------

_DATABASE: dict[int, duckdb.DuckDBPyConnection] = {}  # by process id: a forked worker opens its own
_DATABASE_LOCK = threading.Lock()


def _connection() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory DuckDB database. Opening a database costs 10–30 ms, a
    connection to an open one (``cursor()``) next to nothing; registered tables and temp views belong to their
    connection, so two Pipelines (or two threads) never see each other's inputs, and nothing is stored."""
    with _DATABASE_LOCK:
        pid = os.getpid()
        if pid not in _DATABASE:
            _DATABASE.clear()
            _DATABASE[pid] = duckdb.connect()
        return _DATABASE[pid].cursor()


_GROUP = {Dimension.COMPANY: "NULL::BIGINT", Dimension.OWNER: "o.owner_id", Dimension.TEAM: "o.team_id",
          Dimension.REGION: "o.region_id"}
_FUNNEL_MEASURES = {
    Measure.CREATED: "true", Measure.REACHED: "top >= {reached}", Measure.CONVERTED: "top >= {converted}",
    Measure.WON: "status = 'won'", Measure.LOST: "status = 'lost'", Measure.OPEN: "status = 'open'",
    Measure.CYCLE: "status = 'won' AND cycle IS NOT NULL",
}
_QUARTER_DAY = 4 * _DAY_US


def _date_sql(day: dt.date) -> str:
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise TypeError(f"expected a date, got {day!r}")
    return f"DATE '{day.isoformat()}'"


def _int_or_null(value: int | None) -> str:
    return "NULL" if value is None else str(int(value))


def _us(day: dt.date) -> int:
    """Microseconds since the epoch at the midnight that starts ``day`` (naive timestamps read as UTC)."""
    _date_sql(day)
    return (day - _EPOCH).days * _DAY_US


def _range(column: str, start: dt.date | None, end: dt.date | None) -> str:
    parts = [f"{column} >= {_date_sql(start)}"] if start is not None else []
    parts += [f"{column} < {_date_sql(end)}"] if end is not None else []
    return " AND ".join(parts) or "true"


def _close_period(value: str) -> str:
    if value not in ("month", "quarter", "year"):
        raise ValueError(f"close_period must be month, quarter or year (got {value!r})")
    return value


def _quartiles4(value: str, where: str) -> str:
    """SQL aggregate: [min, Q1, median, Q3, max] × 4 of the integer ``value`` over the rows ``where``, as exact
    integers (NULL without rows).

    DuckDB's ``quantile_cont`` is type 7: with h = (n − 1)·q, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌈h⌉] − x[⌊h⌋]), found by
    selection (no sort), in binary floating point. For q in {0, ¼, ½, ¾, 1} and integers below 2^50 every step
    is exact — h − ⌊h⌋ is a multiple of ¼ and each product and sum fits the 53-bit mantissa — so four times the
    result is the exact integer. 2^50 µs is 35 years: no stay lasts that long."""
    return (f"list_transform(quantile_cont({value}, [0, 0.25, 0.5, 0.75, 1]) FILTER (WHERE {where}), "
            f"lambda q: (q * 4)::HUGEINT)")


def _median4(value: str, where: str) -> str:
    """SQL aggregate: 4 × the median of the integer ``value`` over the rows ``where`` (exact, see
    :func:`_quartiles4`); NULL without rows."""
    return f"(quantile_cont({value}, 0.5) FILTER (WHERE {where} AND {value} IS NOT NULL) * 4)::HUGEINT"


def _days(quarter_us: int | None) -> Decimal | None:
    """Quarter-microseconds as days, 2 places, half up."""
    if quarter_us is None:
        return None
    return Decimal((quarter_us * 200 + _QUARTER_DAY) // (2 * _QUARTER_DAY)).scaleb(-2)


def _r4(part: int, whole: int) -> Decimal | None:
    """part / whole (counts, ≥ 0) to 4 places half up; None when whole is 0."""
    return Decimal((20000 * part + whole) // (2 * whole)).scaleb(-4) if whole else None


def _ratios() -> Callable[[int, int], Decimal | None]:
    """:func:`_r4` remembering its answers: a funnel by rep and month asks for the same small ratios again and
    again."""
    memo: dict[tuple[int, int], Decimal | None] = {}

    def ratio(part: int, whole: int) -> Decimal | None:
        key = (part, whole)
        if key not in memo:
            memo[key] = _r4(part, whole)
        return memo[key]

    return ratio


def _round(value: Fraction, places: int) -> Decimal:
    """``value`` to ``places`` decimals, half up (away from zero), in integers."""
    scaled = abs(value) * 10**places
    q = (2 * scaled.numerator + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(-q if value < 0 else q).scaleb(-places)


def _money(value: Fraction) -> Decimal:
    return _round(value, 2)


def _trim(value: Decimal) -> Decimal:
    """The same number without the zeros past the cents: 420.00000000 → 420.00, 1.23450000 → 1.2345."""
    value = value.normalize()
    exponent = value.as_tuple().exponent
    return value.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else value


def _percent(value: Fraction) -> str:
    return f"{_round(value * 100, 0)}%"


def _group_key(group: int | None) -> tuple[bool, int]:
    return (group is None, group or 0)


def _previous_start(start: dt.date, end: dt.date) -> dt.date:
    if start.day == 1 and end.day == 1:
        return add_months(start, -((end.year - start.year) * 12 + end.month - start.month))
    return start - (end - start)


def _velocity_figures(open_qualified: int, won: int, lost: int, won_cents: int, won_priced: int,
                      cycle4: int | None) -> VelocityFigures:
    won_amount = Decimal(won_cents).scaleb(-2)
    win_rate = Fraction(won, won + lost) if won + lost else None
    average = Fraction(won_cents, 100 * won_priced) if won_priced else None
    cycle = Fraction(cycle4, 4) if cycle4 is not None else None
    speed = (open_qualified * win_rate * average / cycle
             if win_rate is not None and average is not None and cycle else None)
    return VelocityFigures(
        open_qualified, won, lost, won_amount, won_priced, _r4(won, won + lost),
        _money(average) if average is not None else None, _round(cycle, 2) if cycle is not None else None,
        _money(speed) if speed is not None else None)


def _change(current: Decimal | int | None, previous: Decimal | int | None) -> Change:
    cur = Decimal(current) if current is not None else None
    prev = Decimal(previous) if previous is not None else None
    if cur is None or prev is None:
        return Change(cur, prev, None, None)
    relative = _round((Fraction(cur) - Fraction(prev)) / Fraction(prev), 4) if prev else None
    return Change(cur, prev, cur - prev, relative)


def _velocity_row(group: int | None, current: VelocityFigures, previous: VelocityFigures) -> VelocityRow:
    return VelocityRow(group, current, previous, _change(current.open_qualified, previous.open_qualified),
                       _change(current.win_rate, previous.win_rate),
                       _change(current.average_won, previous.average_won),
                       _change(current.cycle_days, previous.cycle_days), _change(current.velocity, previous.velocity))


def _conversion_gap(stages: tuple[Stage, ...], row: FunnelRow, company: FunnelRow) -> ConversionGap | None:
    g_next = (*row.reached[1:], row.won)
    c_next = (*company.reached[1:], company.won)
    average: Fraction | None = None
    if row.won_priced:
        average = Fraction(row.won_amount) / row.won_priced
    elif company.won_priced:
        average = Fraction(company.won_amount) / company.won_priced
    best: tuple[tuple[Fraction, Fraction, int], ConversionGap] | None = None
    for stage in stages:
        i = stage.index
        reached, converted = row.reached[i], g_next[i]
        if not reached or not company.reached[i] or not c_next[i]:
            continue
        benchmark = Fraction(c_next[i], company.reached[i])
        conversion = Fraction(converted, reached)
        ratio = conversion / benchmark
        if ratio >= 1:
            continue
        extra = reached * benchmark - converted
        downstream = Fraction(row.won, converted) if converted else Fraction(company.won, c_next[i])
        gain = _money(extra * downstream * average) if average is not None else None
        params = {"stage": stage.name, "conversion": _percent(conversion), "benchmark": _percent(benchmark)}
        if gain is not None:
            params["gain"] = str(gain)
        gap = ConversionGap(
            stage, reached, converted, _round(conversion, 4), _round(benchmark, 4), _round(ratio, 4),
            _round(extra, 2), _round(downstream, 4), _money(average) if average is not None else None, gain,
            CONVERSION_GAP if gain is not None else CONVERSION_GAP_UNPRICED, params)
        key = (ratio, -Fraction(gain or 0), i)
        if best is None or key < best[0]:
            best = (key, gap)
    return best[1] if best else None


def _dwell_gap(rows: tuple[DwellRow, ...], company_medians: Mapping[int, Decimal | None]) -> DwellGap | None:
    best: tuple[tuple[Fraction, int], DwellGap] | None = None
    for row in rows:
        benchmark = company_medians.get(row.stage.index)
        if row.median is None or not benchmark:
            continue
        ratio = Fraction(row.median) / Fraction(benchmark)
        if ratio <= 1:
            continue
        gap = DwellGap(row.stage, row.stays, row.median, benchmark, _round(ratio, 4), row.median - benchmark,
                       DWELL_GAP, {"stage": row.stage.name, "days": str(row.median), "benchmark": str(benchmark)})
        key = (-ratio, row.stage.index)
        if best is None or key < best[0]:
            best = (key, gap)
    return best[1] if best else None
