"""Top-down decomposition of a target (目标分解): a company total split along an ordered list of levels.

Role in the flow: the caller (the ``targets`` app, or the ``salesops targets allocate`` CLI over files) gives a
:class:`Plan` (total, levels with their methods, rounding units) and :class:`Inputs` (which members each node has,
history, potential, capacity, manual values, locks); :func:`decompose` returns every node of the tree with its
value, exact unrounded share, weight and method, plus warnings. Seasonality (``engine.seasonality``) then spreads
each leaf over the months of the fiscal year.

Methods per level: ``equal``; ``historical`` (proportion of averages or average of proportions over the last N
periods before the plan year); ``potential`` and ``capacity`` (a given index per node); ``blend``
(α·historical + β·potential + γ·equal, each normalised to shares first, α+β+γ = 1 exactly); ``manual`` (typed
values: when every member has one they must add up to the parent exactly; until then the typed ones hold like
locks and the others share the rest equally, with a warning).

Invariants:

- pure; never mutates its inputs; amounts are ``Decimal``, shares and weights exact ``Fraction``;
- at every level the children add up exactly to their parent, in the level's (effective) unit, by the
  largest-remainder method with ties broken by the children's order; each child differs from its exact
  unrounded share by less than one unit;
- a locked node keeps its value; its unlocked siblings share what is left by their method's weights;
- every problem found is reported at once, each with its node path, in one :class:`PlanError`.

Units: each level has a unit (the plan's, 0.01 by default, or its own, e.g. 10000 for whole 万元). A parent must
be a whole number of its children's unit; when a level's unit is finer than the unit of a level below it (e.g.
0.01 above a level in whole 万元), the finer level is rounded in the coarser unit instead (the least common
multiple of the two), with a warning, so that the parent's share is rounded once, consistently, and its
children can still add up to it. The total itself must be a whole number of the first level's effective unit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import NamedTuple

from salesops.engine.allocation import integer_weights, split_units
from salesops.engine.messages import gettext_noop
from salesops.engine.money import CENT
from salesops.engine.periods import FiscalCalendar, PeriodKind

Path = tuple[str, ...]
ROOT: Path = ()


# -- problems ------------------------------------------------------------------------------------------------


def path_text(path: Path) -> str:
    """``A产品/华东`` for a node, ``(total)`` for the root."""
    return "/".join(path) if path else "(total)"


@dataclass(frozen=True)
class Problem:
    """One error or warning, with the node it is about (``path``) or, for file input, where it was read.

    ``template`` is the English text with named ``str.format`` placeholders, marked with ``gettext_noop`` so the
    web app can translate it (see ``engine.messages``); ``params`` fill it, already formatted as text (amounts as
    ``str(Decimal)``, paths by :func:`path_text`). A template without params is used as it is (not formatted).
    """

    path: Path
    template: str
    params: Mapping[str, str] = field(default_factory=dict, hash=False)
    source: str = ""

    @property
    def message(self) -> str:
        """The English text: the template filled with its params."""
        return self.template.format(**self.params) if self.params else self.template

    def __str__(self) -> str:
        return f"{self.source or path_text(self.path)}: {self.message}"


class PlanError(ValueError):
    """Every problem that stops a plan from being computed (not just the first)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# -- the plan ------------------------------------------------------------------------------------------------


class Method(StrEnum):
    EQUAL = "equal"
    HISTORICAL = "historical"
    POTENTIAL = "potential"
    CAPACITY = "capacity"
    BLEND = "blend"
    MANUAL = "manual"


class HistoricalMode(StrEnum):
    PROPORTION_OF_AVERAGES = "proportion_of_averages"  # Σ child history / Σ siblings' history over the window
    AVERAGE_OF_PROPORTIONS = "average_of_proportions"  # mean over periods of each period's share


@dataclass(frozen=True)
class Blend:
    """α·historical + β·potential + γ·equal; the three must add up to exactly 1."""

    historical: Decimal = Decimal(0)
    potential: Decimal = Decimal(0)
    equal: Decimal = Decimal(0)


@dataclass(frozen=True)
class Level:
    """One level of the decomposition: the dimension its members belong to and how they share the parent.

    ``window`` and ``period`` say which history a ``historical`` (or blended) level reads: the last ``window``
    fiscal periods of kind ``period`` before the plan year (months with no record count as zero).
    """

    dimension: str
    method: Method = Method.EQUAL
    unit: Decimal | None = None
    window: int = 12
    period: PeriodKind = PeriodKind.MONTH
    mode: HistoricalMode = HistoricalMode.PROPORTION_OF_AVERAGES
    blend: Blend | None = None

    def uses_history(self) -> bool:
        return self.method is Method.HISTORICAL or (
            self.method is Method.BLEND and self.blend is not None and self.blend.historical > 0
        )

    def uses_potential(self) -> bool:
        return self.method is Method.POTENTIAL or (
            self.method is Method.BLEND and self.blend is not None and self.blend.potential > 0
        )


@dataclass(frozen=True)
class Plan:
    """What to decompose: the total, the ordered levels, the fiscal year and the rounding units.

    ``month_unit``: when the leaves will be spread over months in that unit, the leaf level is rounded to a
    multiple of it (see the module docstring on units).
    """

    total: Decimal
    levels: tuple[Level, ...]
    fiscal_year: int
    calendar: FiscalCalendar = field(default_factory=FiscalCalendar)
    unit: Decimal = CENT
    month_unit: Decimal | None = None

    @property
    def start(self) -> date:
        return self.calendar.parse(f"FY{self.fiscal_year:04d}").start


# -- history -------------------------------------------------------------------------------------------------


def month_start(value: date | str) -> date:
    """The first day of the month of a date, or of a ``2025-03`` / ``2025-03-15`` code."""
    if isinstance(value, date):
        return date(value.year, value.month, 1)
    text = value.strip()
    try:
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1) if text[4] in "-/" else _bad_month(value)
        day = date.fromisoformat(text)
    except ValueError:
        return _bad_month(value)
    return date(day.year, day.month, 1)


def _bad_month(value: object) -> date:
    raise ValueError(f"not a month: {value!r} (expected e.g. 2025-03 or 2025-03-31)")


@dataclass(frozen=True)
class History:
    """Actual amounts per node and month: ``series[path][i]`` is the amount of ``months[i]``.

    Months are consecutive (gaps are zeros); every prefix of a recorded path has the sum of its descendants
    (plus any amount recorded on it directly). Paths that are not members of a plan (a leaver, a discontinued
    product) are simply not read.
    """

    months: tuple[date, ...]
    series: Mapping[Path, tuple[Decimal, ...]]

    @classmethod
    def from_records(cls, records: Iterable[tuple[Sequence[str], date | str, Decimal]]) -> History:
        """Build from ``(path, month, amount)`` records (usually at leaf level); sums duplicates, rolls up."""
        by_path: dict[Path, dict[date, Decimal]] = {}
        month_cache: dict[object, date] = {}
        for path, month, amount in records:
            key = month_cache.get(month)
            if key is None:
                key = month_cache[month] = month_start(month)
            cells = by_path.setdefault(tuple(path), {})
            cells[key] = cells.get(key, Decimal(0)) + amount
        if not by_path:
            return cls((), {})
        all_months = {m for cells in by_path.values() for m in cells}
        first, last = min(all_months), max(all_months)
        months: list[date] = []
        month = first
        while month <= last:
            months.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        index = {m: i for i, m in enumerate(months)}
        zero = Decimal(0)
        series: dict[Path, list[Decimal]] = {}
        by_depth: dict[int, list[Path]] = defaultdict(list)
        for path, cells in by_path.items():
            row = [zero] * len(months)
            for m, amount in cells.items():
                row[index[m]] = amount
            series[path] = row
            by_depth[len(path)].append(path)
        for depth in range(max(by_depth), 0, -1):
            for path in by_depth.get(depth, ()):
                parent = path[:-1]
                child_row, parent_row = series[path], series.get(parent)
                if parent_row is None:
                    series[parent] = list(child_row)
                    by_depth[depth - 1].append(parent)
                else:
                    series[parent] = [a + b for a, b in zip(parent_row, child_row, strict=True)]
        return cls(tuple(months), {path: tuple(row) for path, row in series.items()})

    def get(self, path: Path) -> tuple[Decimal, ...] | None:
        return self.series.get(path)


# -- inputs and results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """Everything per node. ``children`` maps a parent path to its ordered member keys (``()`` is the total);
    the order is the order of the output and of tie-breaks. Values are read, never modified."""

    children: Mapping[Path, Sequence[str]]
    history: History | None = None
    potential: Mapping[Path, Decimal] = field(default_factory=dict)
    capacity: Mapping[Path, Decimal] = field(default_factory=dict)
    manual: Mapping[Path, Decimal] = field(default_factory=dict)
    locks: Mapping[Path, Decimal] = field(default_factory=dict)
    # The members' method weights per parent, with the warnings computing them gave, as an earlier run with the
    # same history, potential and capacity returned them (``Decomposition.weights``): a re-balance after a lock
    # changes none of them, so they need not be computed again.
    weights: Mapping[Path, tuple[tuple[Fraction, ...], tuple[Problem, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    """One node of the decomposed tree.

    ``share`` is the exact fraction of the parent's value before rounding (a locked node: its lock ÷ parent);
    ``unrounded`` the exact value before rounding; ``weight`` the method's weight (history over the window,
    potential, capacity, blended share, manual value; 1 for equal; ``None`` for a locked node and the total);
    ``method`` the method actually used (``equal`` after a fallback).
    """

    path: Path
    level: int
    value: Decimal
    share: Fraction
    unrounded: Fraction
    weight: Fraction | None
    method: str
    locked: bool = False

    @property
    def key(self) -> str:
        return self.path[-1] if self.path else ""


@dataclass(frozen=True)
class Decomposition:
    plan: Plan
    nodes: tuple[Node, ...]  # depth first: each node before its children, children in the given order
    warnings: tuple[Problem, ...]
    units: tuple[Decimal, ...]  # the effective rounding unit of each level (index 0: level 1)
    weights: Mapping[Path, tuple[tuple[Fraction, ...], tuple[Problem, ...]]] = field(default_factory=dict)

    @cached_property
    def _by_path(self) -> dict[Path, Node]:
        return {n.path: n for n in self.nodes}

    def node(self, path: Sequence[str]) -> Node:
        return self._by_path[tuple(path)]

    def value(self, path: Sequence[str]) -> Decimal:
        return self._by_path[tuple(path)].value

    @cached_property
    def _children(self) -> dict[Path, tuple[Node, ...]]:
        index: dict[Path, list[Node]] = defaultdict(list)
        for n in self.nodes[1:]:
            index[n.path[:-1]].append(n)
        return {path: tuple(kids) for path, kids in index.items()}

    def children(self, path: Sequence[str]) -> tuple[Node, ...]:
        return self._children.get(tuple(path), ())

    @property
    def leaves(self) -> tuple[Node, ...]:
        depth = len(self.plan.levels)
        return tuple(n for n in self.nodes if n.level == depth)


# -- units ---------------------------------------------------------------------------------------------------


def clean_unit(unit: Decimal) -> Decimal:
    """``Decimal('1E+4')`` → ``Decimal('10000')``, ``Decimal('0.010')`` → ``Decimal('0.01')``."""
    if unit == unit.to_integral_value():
        return unit.quantize(Decimal(1))
    return unit.normalize()


def common_unit(a: Decimal, b: Decimal) -> Decimal:
    """The least common multiple of two positive units: common_unit(0.01, 10000) = 10000."""
    an, ad = a.as_integer_ratio()
    bn, bd = b.as_integer_ratio()
    return clean_unit(Decimal(math.lcm(an, bn)) / Decimal(math.gcd(ad, bd)))


def units_of(value: Decimal, unit: Decimal) -> int | None:
    """How many ``unit``s make ``value``, or None when it is not a whole number of them."""
    ratio = Fraction(value) / Fraction(unit)
    return ratio.numerator if ratio.denominator == 1 else None


def effective_units(plan: Plan) -> tuple[tuple[Decimal, ...], list[Problem]]:
    """The unit each level is rounded to, bottom-up: a level's own unit, raised to a multiple of the unit of the
    level below when that one is coarser; with a warning for every level so raised."""
    warnings: list[Problem] = []
    raw = [clean_unit(level.unit if level.unit is not None else plan.unit) for level in plan.levels]
    units = list(raw)
    below: Decimal | None = plan.month_unit
    for k in range(len(raw) - 1, -1, -1):
        if below is not None:
            units[k] = common_unit(raw[k], below)
            if units[k] != raw[k]:
                params = {"level": str(k + 1), "dimension": plan.levels[k].dimension, "unit": str(units[k]),
                          "own_unit": str(raw[k]), "below": str(below)}
                if k == len(raw) - 1:
                    template = gettext_noop(
                        "level {level} ({dimension}) is rounded to {unit} instead of {own_unit}, so that the months "
                        "in units of {below} add up to it exactly")
                else:
                    template = gettext_noop(
                        "level {level} ({dimension}) is rounded to {unit} instead of {own_unit}, so that level "
                        "{below_level} ({below_dimension}) in units of {below} add up to it exactly")
                    params |= {"below_level": str(k + 2), "below_dimension": plan.levels[k + 1].dimension}
                warnings.append(Problem(ROOT, template, params))
        below = units[k]
    return tuple(units), warnings


# -- the decomposition ---------------------------------------------------------------------------------------


class _NodeValueProblems(NamedTuple):
    """The templates about one kind of per-node value (a lock, a manual value, a potential, a capacity): one
    sentence each rather than the kind's English name put into a shared sentence, so each translates whole."""

    not_a_member: str
    on_the_total: str
    negative: str
    not_whole: str = ""  # locks and manual values only: they must be whole units of their level
    none_given: str = ""  # potential and capacity only: a level shares by it but no table was given
    missing: str = ""  # potential and capacity only: a member of such a level has none


_NODE_VALUE_PROBLEMS = {
    "lock": _NodeValueProblems(
        gettext_noop("has a lock but is not a member of the plan's tree"),
        gettext_noop("the total cannot have a lock; set the total instead"),
        gettext_noop("lock {value} is negative; negative weights are refused"),
        gettext_noop("lock {value} is not a whole number of {unit}, the unit of level {level} ({dimension})"),
    ),
    "manual value": _NodeValueProblems(
        gettext_noop("has a manual value but is not a member of the plan's tree"),
        gettext_noop("the total cannot have a manual value; set the total instead"),
        gettext_noop("manual value {value} is negative; negative weights are refused"),
        gettext_noop("manual value {value} is not a whole number of {unit}, the unit of level {level} "
                     "({dimension})"),
    ),
    "potential": _NodeValueProblems(
        gettext_noop("has a potential but is not a member of the plan's tree"),
        gettext_noop("the total cannot have a potential; set the total instead"),
        gettext_noop("potential {value} is negative; negative weights are refused"),
        none_given=gettext_noop("level {level} ({dimension}) shares by potential but no potential was given"),
        missing=gettext_noop("has no potential; level {level} ({dimension}) shares by potential"),
    ),
    "capacity": _NodeValueProblems(
        gettext_noop("has a capacity but is not a member of the plan's tree"),
        gettext_noop("the total cannot have a capacity; set the total instead"),
        gettext_noop("capacity {value} is negative; negative weights are refused"),
        none_given=gettext_noop("level {level} ({dimension}) shares by capacity but no capacity was given"),
        missing=gettext_noop("has no capacity; level {level} ({dimension}) shares by capacity"),
    ),
}


def decompose(plan: Plan, inputs: Inputs, *, within: tuple[Path, Decimal] | None = None) -> Decomposition:
    """Split ``plan.total`` down the tree given by ``inputs.children``; raise :class:`PlanError` with every
    problem found (each naming its node), else return every node and the warnings.

    ``within=(path, value)`` computes only the subtree below ``path``, whose value (as an earlier run gave it)
    is ``value``: the result holds just the nodes under ``path``, and the warnings met there. A lock, an unlock
    or a typed value changes nothing outside its parent's subtree, so re-balancing that subtree gives exactly
    the nodes a whole run would (a property the tests check) at a fraction of the cost."""
    return _Run(plan, inputs).run(within)


class _Run:
    """One decomposition: static checks over the whole input first, then a single top-down pass."""

    def __init__(self, plan: Plan, inputs: Inputs) -> None:
        self.plan = plan
        self.inputs = inputs
        self.levels = plan.levels
        self.depth = len(plan.levels)
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.weights: dict[Path, tuple[tuple[Fraction, ...], tuple[Problem, ...]]] = {}
        self.blocked: set[Path] = set()  # parents whose split is skipped: a problem was already reported
        self.nodes: list[Node] = []

    # -- static checks -------------------------------------------------------------------------------------
    def run(self, within: tuple[Path, Decimal] | None = None) -> Decomposition:
        self._check_plan()
        if self.errors:
            raise PlanError(self.errors)
        units, unit_warnings = effective_units(self.plan)
        self.units = units
        self.warnings.extend(unit_warnings)
        total_units = units_of(self.plan.total, units[0])
        if total_units is None:
            self.errors.append(Problem(ROOT, gettext_noop(
                "the total {total} is not a whole number of {unit}, the unit of level 1 ({dimension}); round the "
                "total or choose a finer unit"
            ), {"total": str(self.plan.total), "unit": str(units[0]), "dimension": self.levels[0].dimension}))
        known = self._check_tree()
        if self.errors:
            raise PlanError(self.errors)
        self._check_node_values(known)
        self.windows = [self._window(level) for level in self.levels]
        if within is None:
            root = Node(ROOT, 0, self.plan.total, Fraction(1), Fraction(self.plan.total), None, "total")
            self.nodes.append(root)
            self._visit(ROOT, self.plan.total)
        else:
            path, value = tuple(within[0]), within[1]
            if path not in known or len(path) >= self.depth:
                raise ValueError(f"within: {path_text(path)} is not a node above the last level")
            self._visit(path, value)
        if self.errors:
            raise PlanError(self.errors)
        return Decomposition(self.plan, tuple(self.nodes), tuple(self.warnings), units, self.weights)

    def _check_plan(self) -> None:
        plan = self.plan
        if not plan.levels:
            self.errors.append(Problem(ROOT, gettext_noop("the plan has no levels")))
        if plan.total < 0:
            self.errors.append(Problem(ROOT, gettext_noop("the total {total} is negative"), {"total": str(plan.total)}))
        if plan.unit <= 0:
            self.errors.append(Problem(ROOT, gettext_noop("the plan's unit {unit} must be positive"),
                                       {"unit": str(plan.unit)}))
        if plan.month_unit is not None and plan.month_unit <= 0:
            self.errors.append(Problem(ROOT, gettext_noop("the month unit {unit} must be positive"),
                                       {"unit": str(plan.month_unit)}))
        seen: set[str] = set()
        for k, level in enumerate(plan.levels, start=1):
            where = {"level": str(k), "dimension": level.dimension}
            if not level.dimension.strip():
                self.errors.append(Problem(ROOT, gettext_noop("level {level} has no dimension name"), {"level": str(k)}))
            elif level.dimension in seen:
                self.errors.append(Problem(ROOT, gettext_noop(
                    "level {level} ({dimension}): the dimension appears twice in the levels"), where))
            seen.add(level.dimension)
            if level.unit is not None and level.unit <= 0:
                self.errors.append(Problem(ROOT, gettext_noop(
                    "level {level} ({dimension}): the unit {unit} must be positive"), where | {"unit": str(level.unit)}))
            if level.window < 1:
                self.errors.append(Problem(ROOT, gettext_noop(
                    "level {level} ({dimension}): the history window must be at least 1 period"), where))
            if level.method is Method.BLEND:
                blend = level.blend
                if blend is None:
                    self.errors.append(Problem(ROOT, gettext_noop(
                        "level {level} ({dimension}): a blend needs its α, β, γ weights"), where))
                else:
                    parts = (blend.historical, blend.potential, blend.equal)
                    if any(p < 0 for p in parts):
                        self.errors.append(Problem(ROOT, gettext_noop(
                            "level {level} ({dimension}): blend weights must not be negative"), where))
                    if sum(parts) != 1:
                        self.errors.append(Problem(ROOT, gettext_noop(
                            "level {level} ({dimension}): blend weights historical {historical} + potential "
                            "{potential} + equal {equal} = {sum}, not exactly 1"
                        ), where | {"historical": str(blend.historical), "potential": str(blend.potential),
                                    "equal": str(blend.equal), "sum": str(sum(parts))}))
            if level.uses_history() and self.inputs.history is None:
                self.errors.append(Problem(ROOT, gettext_noop(
                    "level {level} ({dimension}): uses historical weights but no history was given"), where))

    def _check_tree(self) -> dict[Path, None]:
        """Every member reachable from the total, in level order (the tree's order within a level)."""
        children = self.inputs.children
        known: dict[Path, None] = {ROOT: None}
        queue: list[Path] = [ROOT]
        for path in queue:  # breadth first; the list grows as it is read
            kids = children.get(path, ())
            if len(path) == self.depth:
                if kids:
                    self.errors.append(Problem(path, gettext_noop("has members below the last level ({members})"),
                                               {"members": ", ".join(kids)}))
                continue
            if not kids:
                level = self.levels[len(path)]
                self.errors.append(Problem(path, gettext_noop("has no members at level {level} ({dimension})"),
                                           {"level": str(len(path) + 1), "dimension": level.dimension}))
                continue
            seen: set[str] = set()
            for key in kids:
                if not isinstance(key, str) or not key.strip():
                    self.errors.append(Problem(path, gettext_noop("has a member with an empty or invalid name: {name}"),
                                               {"name": repr(key)}))
                    continue
                if key in seen:
                    self.errors.append(Problem(path + (key,), gettext_noop("is listed twice among its siblings")))
                    continue
                seen.add(key)
                known[path + (key,)] = None
                queue.append(path + (key,))
        for path in children:
            if tuple(path) not in known:
                self.errors.append(Problem(tuple(path), gettext_noop(
                    "has members listed but is not itself a member of the tree")))
        return known

    def _check_node_values(self, known: dict[Path, None]) -> None:
        """Locks, manual values, potential and capacity: on members only, non-negative, in whole units."""
        inputs = self.inputs
        for name, table in (("lock", inputs.locks), ("manual value", inputs.manual),
                            ("potential", inputs.potential), ("capacity", inputs.capacity)):
            templates = _NODE_VALUE_PROBLEMS[name]
            for path, value in table.items():
                path = tuple(path)
                if path not in known:
                    self.errors.append(Problem(path, templates.not_a_member))
                    continue
                if not path:
                    self.errors.append(Problem(path, templates.on_the_total))
                    continue
                level = self.levels[len(path) - 1]
                if value < 0:
                    self.errors.append(Problem(path, templates.negative, {"value": str(value)}))
                    self.blocked.add(path[:-1])
                    continue
                where = {"level": str(len(path)), "dimension": level.dimension}
                if name == "manual value" and level.method is not Method.MANUAL:
                    self.errors.append(Problem(path, gettext_noop(
                        "has a manual value but level {level} ({dimension}) uses {method}"
                    ), where | {"method": level.method.value}))
                    self.blocked.add(path[:-1])
                if templates.not_whole and units_of(value, self.units[len(path) - 1]) is None:
                    self.errors.append(Problem(path, templates.not_whole, where | {
                        "value": str(value), "unit": str(self.units[len(path) - 1])}))
                    self.blocked.add(path[:-1])
        # every member of a level that needs a potential or a capacity has one (manual values may be missing: the
        # untyped members share the rest equally, with a warning)
        for k, level in enumerate(self.levels, start=1):
            members = [p for p in known if len(p) == k]
            for needed, table, what in ((level.uses_potential(), inputs.potential, "potential"),
                                        (level.method is Method.CAPACITY, inputs.capacity, "capacity")):
                if not needed:
                    continue
                where = {"level": str(k), "dimension": level.dimension}
                if not table:
                    self.errors.append(Problem(ROOT, _NODE_VALUE_PROBLEMS[what].none_given, where))
                    self.blocked.update(p[:-1] for p in members)
                    continue
                for path in members:
                    if path not in table:
                        self.errors.append(Problem(path, _NODE_VALUE_PROBLEMS[what].missing, where))
                        self.blocked.add(path[:-1])

    def _window(self, level: Level) -> list[list[int]]:
        """Month indices of each of the last ``window`` periods before the plan year, oldest first."""
        history = self.inputs.history
        if history is None or not level.uses_history():
            return []
        start, calendar = self.plan.start, self.plan.calendar
        groups: dict[str, list[int]] = {}
        for i, month in enumerate(history.months):
            if month < start:
                groups.setdefault(calendar.period(level.period, month).code, []).append(i)
        return list(groups.values())[-level.window:]

    # -- the top-down pass ---------------------------------------------------------------------------------
    def _visit(self, parent: Path, value: Decimal) -> None:
        k = len(parent)
        if k == self.depth:
            return
        if parent in self.blocked:
            return
        made = self._split(parent, value, self.levels[k], self.units[k])
        for node in made:
            self.nodes.append(node)
            self._visit(node.path, node.value)

    def _split(self, parent: Path, value: Decimal, level: Level, unit: Decimal) -> list[Node]:
        keys = list(self.inputs.children[parent])
        paths = [parent + (key,) for key in keys]
        level_no = len(parent) + 1
        locks = self.inputs.locks
        locked = [locks.get(p) for p in paths]
        is_lock = [lk is not None for lk in locked]
        fixed_name = "locked"
        if level.method is Method.MANUAL:
            typed = [lk if lk is not None else self.inputs.manual.get(p) for p, lk in zip(paths, locked, strict=True)]
            if all(t is not None for t in typed):
                return self._split_manual(parent, value, paths, locked, level_no)
            # not every member typed yet: the typed ones hold like locks, the others share the rest equally
            untyped = [p for p, t in zip(paths, typed, strict=True) if t is None]
            self.warnings.append(Problem(parent, gettext_noop(
                "{count} of its {size} members at level {level} ({dimension}) have no manual value yet "
                "({untyped}); they share the rest equally"
            ), {"count": str(len(untyped)), "size": str(len(paths)), "level": str(level_no),
                "dimension": level.dimension,
                "untyped": ", ".join(path_text(p) for p in untyped[:5]) + (", …" if len(untyped) > 5 else "")}))
            locked, fixed_name = typed, "locked and typed"
        locked_nodes = [
            Node(p, level_no, lk, _share(Fraction(lk), value), Fraction(lk), None if lock else Fraction(lk),
                 level.method.value, lock)
            for p, lk, lock in zip(paths, locked, is_lock, strict=True) if lk is not None
        ]
        locked_sum = sum((lk for lk in locked if lk is not None), Decimal(0))
        free = [i for i, lk in enumerate(locked) if lk is None]
        if locked_sum > value:
            names = ", ".join(f"{path_text(paths[i])}={locked[i]}" for i in range(len(paths)) if locked[i] is not None)
            template = (gettext_noop("locked values sum to {total}, {over} more than its value {value}: {names}")
                        if fixed_name == "locked" else
                        gettext_noop("locked and typed values sum to {total}, {over} more than its value {value}: "
                                     "{names}"))
            self.errors.append(Problem(parent, template, {
                "total": str(locked_sum), "over": str(locked_sum - value), "value": str(value), "names": names}))
            return locked_nodes
        if not free:
            if locked_sum != value:
                names = ", ".join(f"{path_text(p)}={lk}" for p, lk in zip(paths, locked, strict=True))
                self.errors.append(Problem(parent, gettext_noop(
                    "every member is locked and they sum to {total}, not its value {value} (gap {gap}): {names}"
                ), {"total": str(locked_sum), "value": str(value), "gap": str(value - locked_sum), "names": names}))
            return locked_nodes
        weights = self._known_weights(parent, paths, level)
        if weights is None:
            return locked_nodes
        free_weights = [weights[i] for i in free]
        method = Method.EQUAL.value if level.method is Method.MANUAL else level.method.value
        remaining = value - locked_sum
        if sum(free_weights) == 0:
            if remaining != 0:
                self.warnings.append(Problem(parent, gettext_noop(
                    "all {method} weights of its members at level {level} ({dimension}) are zero; shared equally "
                    "instead"
                ), {"method": level.method.value, "level": str(level_no), "dimension": level.dimension}))
                method = Method.EQUAL.value
            free_weights = [Fraction(1)] * len(free)
        ints = integer_weights(free_weights)
        weight_sum = sum(ints)
        count = units_of(remaining, unit)
        if count is None:  # guarded by the unit checks; kept as a loud failure rather than a wrong split
            raise AssertionError(f"{path_text(parent)}: {remaining} is not a whole number of {unit}")
        parts = dict(zip(free, zip(split_units(count, ints), ints, free_weights, strict=True), strict=True))
        # exact unrounded value = remaining × w / Σw and share = that ÷ value, each built as one Fraction
        rem_n, rem_d = remaining.as_integer_ratio()
        val_n, val_d = value.as_integer_ratio()
        out: list[Node] = []
        locked_iter = iter(locked_nodes)
        for i, path in enumerate(paths):
            if i not in parts:
                out.append(next(locked_iter))
                continue
            part, weight_int, weight = parts[i]
            unrounded = Fraction(rem_n * weight_int, rem_d * weight_sum)
            share = (Fraction(rem_n * weight_int * val_d, rem_d * weight_sum * val_n) if val_n
                     else Fraction(weight_int, weight_sum))
            out.append(Node(path, level_no, part * unit, share, unrounded, weight, method))
        return out

    def _split_manual(self, parent: Path, value: Decimal, paths: list[Path], locked: list[Decimal | None],
                      level_no: int) -> list[Node]:
        manual = self.inputs.manual
        values = [lk if lk is not None else manual[path] for path, lk in zip(paths, locked, strict=True)]
        total = sum(values, Decimal(0))
        if total != value:
            gap = value - total
            names = ", ".join(f"{path_text(p)}={v}" for p, v in zip(paths, values, strict=True))
            template = (gettext_noop("manual values sum to {total}, short of its value {value} by {gap}: {names}")
                        if gap > 0 else
                        gettext_noop("manual values sum to {total}, over its value {value} by {gap}: {names}"))
            self.errors.append(Problem(parent, template, {
                "total": str(total), "value": str(value), "gap": str(abs(gap)), "names": names}))
            return [Node(p, level_no, lk, _share(Fraction(lk), value), Fraction(lk), None, "manual", True)
                    for p, lk in zip(paths, locked, strict=True) if lk is not None]
        return [
            Node(path, level_no, v, _share(Fraction(v), value), Fraction(v), Fraction(v), "manual", lk is not None)
            for path, v, lk in zip(paths, values, locked, strict=True)
        ]

    # -- weights -------------------------------------------------------------------------------------------
    def _known_weights(self, parent: Path, paths: list[Path], level: Level) -> list[Fraction] | None:
        """``_weights``, or the ones an earlier run gave for this parent (with their warnings again)."""
        known = self.inputs.weights.get(parent)
        if known is not None and len(known[0]) == len(paths):
            weights, warnings = known
            self.warnings.extend(warnings)
        else:
            before = len(self.warnings)
            computed = self._weights(parent, paths, level)
            if computed is None:
                return None
            weights, warnings = tuple(computed), tuple(self.warnings[before:])
        self.weights[parent] = (weights, warnings)
        return list(weights)

    def _weights(self, parent: Path, paths: list[Path], level: Level) -> list[Fraction] | None:
        """The method's weight for every member (locked or not), or None after reporting a problem."""
        method = level.method
        if method is Method.EQUAL or method is Method.MANUAL:  # manual: only its untyped members get here
            return [Fraction(1)] * len(paths)
        if method is Method.POTENTIAL:
            return [Fraction(self.inputs.potential[p]) for p in paths]
        if method is Method.CAPACITY:
            return [Fraction(self.inputs.capacity[p]) for p in paths]
        if method is Method.HISTORICAL:
            return self._historical(parent, paths, level)
        blend = level.blend
        assert blend is not None  # noqa: S101  # checked in _check_plan
        n = len(paths)
        blended = [Fraction(0)] * n
        components: list[tuple[Decimal, str, list[Fraction] | None]] = [
            (blend.historical, "historical", self._historical(parent, paths, level) if blend.historical else None),
            (blend.potential, "potential",
             [Fraction(self.inputs.potential[p]) for p in paths] if blend.potential else None),
            (blend.equal, "equal", [Fraction(1)] * n if blend.equal else None),
        ]
        for factor, name, weights in components:
            if not factor:
                continue
            if weights is None:
                return None
            total = sum(weights)
            if total == 0:
                self.warnings.append(Problem(parent, gettext_noop(
                    "all {method} weights of its members are zero; that part of the blend is shared equally"
                ), {"method": name}))
                weights, total = [Fraction(1)] * n, Fraction(n)
            alpha = Fraction(factor)
            blended = [b + alpha * w / total for b, w in zip(blended, weights, strict=True)]
        return blended

    def _historical(self, parent: Path, paths: list[Path], level: Level) -> list[Fraction] | None:
        history = self.inputs.history
        assert history is not None  # noqa: S101  # checked in _check_plan
        window = self.windows[len(parent)]
        empty: tuple[Decimal, ...] = ()
        rows = [history.series.get(p, empty) for p in paths]
        # per member, per period of the window: the summed history of that period
        per_period = [[sum((row[i] for i in group), Decimal(0)) if row else Decimal(0) for group in window]
                      for row in rows]
        if level.mode is HistoricalMode.PROPORTION_OF_AVERAGES:
            weights = [Fraction(sum(cells, Decimal(0))) for cells in per_period]
        else:
            weights = self._average_of_proportions(per_period)
        # Net history can fall below zero when returns exceed sales over the window: that is data, not a typed
        # weight, so the member gets no historical share (with a warning) instead of stopping the whole plan.
        for path, weight in zip(paths, weights, strict=True):
            if weight < 0:
                self.warnings.append(Problem(path, gettext_noop(
                    "its history over the window is negative ({history}: returns above sales); it gets no "
                    "historical share"
                ), {"history": fraction_text(weight)}))
        return [max(w, Fraction(0)) for w in weights]

    @staticmethod
    def _average_of_proportions(per_period: list[list[Decimal]]) -> list[Fraction]:
        """Mean over the periods of each member's share of that period; periods whose siblings' total is zero
        (or negative, where a share means nothing) are skipped."""
        n = len(per_period)
        if not n or not per_period[0]:
            return [Fraction(0)] * n
        scaled = [integer_weights(list(column)) for column in zip(*per_period, strict=True)]  # per period
        used = [(column, sum(column)) for column in scaled if sum(column) > 0]
        if not used:
            return [Fraction(0)] * n
        common = math.lcm(*(total for _, total in used))
        return [Fraction(sum(column[i] * (common // total) for column, total in used), common * len(used))
                for i in range(n)]


def _share(part: Fraction, whole: Decimal) -> Fraction:
    return part / Fraction(whole) if whole else Fraction(0)


def fraction_text(value: Fraction, places: int = 10) -> str:
    """An exact Fraction as decimal text (half up at ``places`` decimals, trailing zeros dropped), never via
    float: ``fraction_text(Fraction(1, 3), 4)`` is ``0.3333``."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    scale = 10**places
    scaled = (value.numerator * scale * 2 + value.denominator) // (value.denominator * 2)
    whole, digits = divmod(scaled, scale)
    text = f"{whole}.{digits:0{places}d}".rstrip("0").rstrip(".") if places else str(whole)
    return sign + text if text != "0" else "0"


def children_from_paths(paths: Iterable[Sequence[str]]) -> dict[Path, list[str]]:
    """The ``children`` mapping of the tree whose leaves are ``paths``, members in order of first appearance."""
    children: dict[Path, list[str]] = {}
    seen: set[Path] = set()
    for path in paths:
        path = tuple(path)
        for depth in range(1, len(path) + 1):
            node = path[:depth]
            if node in seen:
                continue
            seen.add(node)
            children.setdefault(node[:-1], []).append(node[-1])
    return children
