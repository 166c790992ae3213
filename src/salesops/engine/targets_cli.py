"""``salesops targets allocate``: decompose a target and spread it over months from files, with no database.

Role in the flow: read a plan (YAML: fiscal year, levels and methods, units, seasonality), history and weights
(CSV) → build the tree and the engine's inputs → ``decomposition.decompose`` → ``seasonality`` → write a CSV of
leaf × month targets (and optionally the whole tree). It runs before Django is set up (``salesops.cli`` hands
``targets`` over), so it needs no settings, no secret key and no database.

Every problem in the files or the plan is printed, each with its file and row or its node path, and nothing is
written; the exit status is then 1. Input: UTF-8 with or without BOM (GB18030 as a fallback, as saved by
Chinese Excel). Output: UTF-8 with BOM, so that Excel shows Chinese names correctly. All text is English.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath
from typing import Any, TextIO

from salesops.engine import holidays as hol
from salesops.engine import seasonality as sea
from salesops.engine.decomposition import (
    Blend,
    Decomposition,
    HistoricalMode,
    History,
    Inputs,
    Level,
    Method,
    Path,
    Plan,
    PlanError,
    Problem,
    children_from_paths,
    clean_unit,
    decompose,
    fraction_text,
    month_start,
    path_text,
)
from salesops.engine.money import CENT, to_decimal
from salesops.engine.periods import FiscalCalendar, PeriodKind

PERIOD_COLUMNS = ("period", "month", "月份", "期间")
AMOUNT_COLUMNS = ("amount", "金额", "销售额")
VALUE_COLUMNS = ("value", "目标", "金额")
POTENTIAL_COLUMNS = ("potential", "value", "潜力", "市场规模")
CAPACITY_COLUMNS = ("capacity", "产能")
RESERVED = {c.lower() for c in PERIOD_COLUMNS + AMOUNT_COLUMNS + VALUE_COLUMNS + POTENTIAL_COLUMNS
            + CAPACITY_COLUMNS + ("headcount", "ramp")}


# -- numbers -------------------------------------------------------------------------------------------------


def parse_amount(value: object) -> Decimal:
    """``50000000``, ``5,000万``, ``0.5亿`` → an exact Decimal (万 = 10,000, 亿 = 100,000,000)."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return to_decimal(value)
    text = str(value).strip()
    factor = 1
    if text.endswith("万"):
        text, factor = text[:-1], 10_000
    elif text.endswith("亿"):
        text, factor = text[:-1], 100_000_000
    return to_decimal(text) * factor


def parse_ratio(value: object) -> Decimal:
    """``50%`` or ``0.5`` → ``0.5``."""
    text = str(value).strip()
    if text.endswith("%"):
        return to_decimal(text[:-1]) / 100
    return to_decimal(text)


def number_text(value: Decimal) -> str:
    return format(value, "f")


# -- the plan file -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeasonalitySpec:
    profile: str = "flat"  # flat | template | typed | history
    by: str = "total"  # history profile of: total, or a level's dimension
    years: tuple[int, ...] | None = None
    weights: tuple[Decimal, ...] = ()
    percent: tuple[Decimal, ...] = ()
    working_days: bool = False
    calendar: str = "cn"  # cn | weekdays
    unit: Decimal = CENT


@dataclass(frozen=True)
class PlanFile:
    fiscal_year: int
    start_month: int
    total: Decimal | None
    unit: Decimal
    levels: tuple[Level, ...]
    add: tuple[Path, ...]
    remove: tuple[Path, ...]
    seasonality: SeasonalitySpec


def load_yaml(text: str, source: str = "plan.yaml") -> Any:
    """YAML with every decimal number read as an exact Decimal (never a float); PlanError when invalid."""
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints here
        pass

    def decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
        raw = str(loader.construct_scalar(node)).replace("_", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise yaml.constructor.ConstructorError(None, None, f"not a number: {raw}", node.start_mark) from None
        if not value.is_finite():
            raise yaml.constructor.ConstructorError(None, None, f"not a finite number: {raw}", node.start_mark)
        return value

    Loader.add_constructor("tag:yaml.org,2002:float", decimal)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise PlanError([Problem((), f"not valid YAML: {exc}", source=source)]) from None


class _Reader:
    """Reads the plan mapping, collecting every problem with where it is (``plan.yaml: levels[2].method``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem((), message, source=f"{self.source}: {where}" if where else self.source))

    def keys(self, data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        allowed = set(allowed)
        for key in data:
            if key not in allowed:
                self.problem(where or str(key), f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})")

    def amount(self, value: Any, where: str, *, positive: bool = False) -> Decimal | None:
        try:
            result = parse_amount(value)
        except (TypeError, ValueError) as exc:
            self.problem(where, str(exc))
            return None
        if positive and result <= 0:
            self.problem(where, f"must be above zero, got {result}")
            return None
        return result

    def integer(self, value: Any, where: str, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(where, f"must be a whole number from {low} to {high}, got {value!r}")
            return None
        return value

    def choice(self, value: Any, where: str, choices: Iterable[str]) -> str | None:
        options = list(choices)
        if str(value) not in options:
            self.problem(where, f"{value!r} is not one of: {', '.join(options)}")
            return None
        return str(value)

    def path(self, value: Any, where: str) -> Path | None:
        if not isinstance(value, list) or not value or not all(isinstance(v, str | int) for v in value):
            self.problem(where, "must be a list of member names, e.g. [A产品, 华东]")
            return None
        return tuple(str(v).strip() for v in value)

    def numbers(self, value: Any, where: str) -> tuple[Decimal, ...] | None:
        if not isinstance(value, list) or len(value) != sea.MONTHS:
            self.problem(where, f"must be a list of 12 numbers, one per fiscal month, got {value!r}")
            return None
        out = [self.amount(v, f"{where}[{i + 1}]") for i, v in enumerate(value)]
        return None if any(v is None for v in out) else tuple(v for v in out if v is not None)


def parse_plan(data: Any, source: str = "plan.yaml") -> PlanFile:
    """The plan file's content as a :class:`PlanFile`; every problem in it in one PlanError."""
    r = _Reader(source)
    if not isinstance(data, dict):
        raise PlanError([Problem((), "must be a YAML mapping (fiscal_year:, levels:, …)", source=source)])
    r.keys(data, ("fiscal_year", "start_month", "total", "unit", "levels", "tree", "seasonality"), "")
    fiscal_year = r.integer(data.get("fiscal_year"), "fiscal_year", 1900, 9999) if "fiscal_year" in data else None
    if "fiscal_year" not in data:
        r.problem("fiscal_year", "is required (e.g. fiscal_year: 2026)")
    start_month = r.integer(data.get("start_month", 1), "start_month", 1, 12)
    total = r.amount(data["total"], "total") if "total" in data else None
    unit = r.amount(data.get("unit", CENT), "unit", positive=True)
    levels = _parse_levels(r, data.get("levels"))
    dims = [level.dimension for level in levels]
    add: list[Path] = []
    remove: list[Path] = []
    tree = data.get("tree", {}) or {}
    if not isinstance(tree, dict):
        r.problem("tree", "must be a mapping with add: and/or remove:")
    else:
        r.keys(tree, ("add", "remove"), "tree")
        for name, bucket in (("add", add), ("remove", remove)):
            items = tree.get(name, []) or []
            if not isinstance(items, list):
                r.problem(f"tree.{name}", "must be a list of paths")
                continue
            for i, item in enumerate(items, start=1):
                path = r.path(item, f"tree.{name}[{i}]")
                if path is None:
                    continue
                if name == "add" and dims and len(path) != len(dims):
                    r.problem(f"tree.{name}[{i}]", (
                        f"a path needs one member per level ({len(dims)}: {', '.join(dims)}), got {len(path)}"
                    ))
                    continue
                if len(path) > len(dims):
                    r.problem(f"tree.{name}[{i}]", f"has more members than there are levels ({len(dims)})")
                    continue
                bucket.append(path)
    seasonality = _parse_seasonality(r, data.get("seasonality", {}) or {}, dims)
    if r.problems:
        raise PlanError(r.problems)
    assert fiscal_year is not None and start_month is not None and unit is not None  # noqa: S101  # no problems
    return PlanFile(fiscal_year, start_month, total, clean_unit(unit), tuple(levels), tuple(add), tuple(remove),
                    seasonality)


def _parse_levels(r: _Reader, items: Any) -> list[Level]:
    if not isinstance(items, list) or not items:
        r.problem("levels", "must be a non-empty list of levels (dimension:, method:)")
        return []
    levels: list[Level] = []
    seen: set[str] = set()
    for i, item in enumerate(items, start=1):
        where = f"levels[{i}]"
        if not isinstance(item, dict):
            r.problem(where, "must be a mapping with dimension: and method:")
            continue
        r.keys(item, ("dimension", "method", "unit", "window", "period", "mode", "blend"), where)
        dimension = str(item.get("dimension", "")).strip()
        if not dimension:
            r.problem(f"{where}.dimension", "is required (the CSV column holding this level's members)")
        elif dimension.lower() in RESERVED:
            r.problem(f"{where}.dimension", f"{dimension!r} is a reserved column name; choose another")
        elif dimension in seen:
            r.problem(f"{where}.dimension", f"{dimension!r} appears twice")
        seen.add(dimension)
        method = r.choice(item.get("method", ""), f"{where}.method", [m.value for m in Method])
        unit = r.amount(item["unit"], f"{where}.unit", positive=True) if "unit" in item else None
        window = r.integer(item.get("window", 12), f"{where}.window", 1, 1200)
        period = r.choice(item.get("period", "month"), f"{where}.period", ["month", "quarter", "half", "year"])
        mode = r.choice(item.get("mode", HistoricalMode.PROPORTION_OF_AVERAGES.value), f"{where}.mode",
                        [m.value for m in HistoricalMode])
        blend = None
        if method == Method.BLEND.value:
            raw = item.get("blend")
            if not isinstance(raw, dict):
                r.problem(f"{where}.blend", "a blend level needs blend: {historical: α, potential: β, equal: γ}")
            else:
                r.keys(raw, ("historical", "potential", "equal"), f"{where}.blend")
                parts = {k: r.amount(raw.get(k, 0), f"{where}.blend.{k}") for k in ("historical", "potential", "equal")}
                if all(v is not None for v in parts.values()):
                    blend = Blend(**{k: v for k, v in parts.items() if v is not None})
                    total = blend.historical + blend.potential + blend.equal
                    if total != 1:
                        r.problem(f"{where}.blend", (
                            f"historical {blend.historical} + potential {blend.potential} + equal {blend.equal} "
                            f"= {total}; the three must add up to exactly 1"
                        ))
                    if min(blend.historical, blend.potential, blend.equal) < 0:
                        r.problem(f"{where}.blend", "weights must not be negative")
        elif "blend" in item:
            r.problem(f"{where}.blend", f"only a blend level has blend weights (this one is {method})")
        if method is None or window is None or period is None or mode is None:
            continue
        levels.append(Level(dimension, Method(method), clean_unit(unit) if unit else None, window,
                            PeriodKind(period), HistoricalMode(mode), blend))
    return levels


def _parse_seasonality(r: _Reader, data: Any, dims: Sequence[str]) -> SeasonalitySpec:
    where = "seasonality"
    if not isinstance(data, dict):
        r.problem(where, "must be a mapping (profile:, working_days:, …)")
        return SeasonalitySpec()
    r.keys(data, ("profile", "by", "years", "weights", "percent", "working_days", "calendar", "unit"), where)
    profile = r.choice(data.get("profile", "flat"), f"{where}.profile", ["flat", "template", "typed", "history"])
    by = str(data.get("by", "total"))
    if by != "total" and by not in dims:
        r.problem(f"{where}.by", f"{by!r} is neither total nor a level's dimension ({', '.join(dims)})")
    years = data.get("years")
    if years is not None:
        if not isinstance(years, list) or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
            r.problem(f"{where}.years", "must be a list of fiscal years, e.g. [2024, 2025]")
            years = None
        else:
            years = tuple(years)
    weights: tuple[Decimal, ...] = ()
    percent: tuple[Decimal, ...] = ()
    if profile == "template":
        weights = r.numbers(data.get("weights"), f"{where}.weights") or ()
    elif "weights" in data:
        r.problem(f"{where}.weights", "only profile: template takes weights")
    if profile == "typed":
        percent = r.numbers(data.get("percent"), f"{where}.percent") or ()
    elif "percent" in data:
        r.problem(f"{where}.percent", "only profile: typed takes percent")
    working_days = data.get("working_days", False)
    if not isinstance(working_days, bool):
        r.problem(f"{where}.working_days", "must be true or false")
        working_days = False
    calendar = r.choice(data.get("calendar", "cn"), f"{where}.calendar", list(hol.BUILT_IN)) or "cn"
    unit = r.amount(data.get("unit", CENT), f"{where}.unit", positive=True) or CENT
    return SeasonalitySpec(profile or "flat", by, years, weights, percent, working_days, calendar, clean_unit(unit))


# -- CSV tables ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (line number, cells)

    def where(self, line: int) -> str:
        return f"{self.name} row {line}"

    def column(self, names: Iterable[str]) -> int | None:
        wanted = [n.lower() for n in names]
        for name in wanted:  # the first alias that is present wins
            for i, head in enumerate(self.header):
                if head.lower() == name:
                    return i
        return None


def read_table(path: FilePath, encoding: str | None = None) -> Table:
    try:
        text = path.read_bytes().decode(encoding) if encoding else hol.read_text(path)
    except OSError as exc:
        raise PlanError([Problem((), f"cannot read the file: {exc.strerror}", source=str(path))]) from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise PlanError([Problem((), f"cannot decode the file: {exc}", source=str(path))]) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise PlanError([Problem((), "the file is empty", source=str(path))])
    header = tuple(cell.strip() for cell in rows[0])
    body = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row] + [""] * (len(header) - len(row))
        body.append((number, tuple(cells)))
    return Table(path.name, header, tuple(body))


def _dimension_columns(table: Table, dims: Sequence[str]) -> dict[int, int]:
    """Level index → column index for the level dimensions present in the table."""
    out = {}
    for k, dim in enumerate(dims):
        column = table.column([dim])
        if column is not None:
            out[k] = column
    return out


# -- reading the inputs --------------------------------------------------------------------------------------


def read_history(table: Table, dims: Sequence[str], problems: list[Problem]) -> tuple[History, list[Path]]:
    """History records (one column per dimension, a period and an amount) and the leaf paths in order."""
    columns = _dimension_columns(table, dims)
    period = table.column(PERIOD_COLUMNS)
    amount = table.column(AMOUNT_COLUMNS)
    missing = [d for k, d in enumerate(dims) if k not in columns]
    if period is None:
        missing.append("period")
    if amount is None:
        missing.append("amount")
    if missing:
        problems.append(Problem((), f"missing columns: {', '.join(missing)} (found: {', '.join(table.header)})",
                                source=table.name))
        return History((), {}), []
    assert period is not None and amount is not None  # noqa: S101  # checked just above
    order = [columns[k] for k in range(len(dims))]
    records: list[tuple[Path, date, Decimal]] = []
    leaves: dict[Path, None] = {}
    months: dict[str, date] = {}
    for line, cells in table.rows:
        path = tuple(cells[c] for c in order)
        bad = [dims[k] for k, key in enumerate(path) if not key]
        if bad:
            problems.append(Problem((), f"empty {', '.join(bad)}", source=table.where(line)))
            continue
        text = cells[period]
        month = months.get(text)
        if month is None:
            try:
                month = months[text] = month_start(text)
            except ValueError as exc:
                problems.append(Problem((), str(exc), source=table.where(line)))
                continue
        try:
            value = parse_amount(cells[amount])
        except (TypeError, ValueError) as exc:
            problems.append(Problem((), f"amount: {exc}", source=table.where(line)))
            continue
        records.append((path, month, value))
        leaves[path] = None
    return History.from_records(records), list(leaves)


def read_exact_paths(table: Table, dims: Sequence[str], known: set[Path], what: str,
                     problems: list[Problem]) -> dict[Path, Decimal]:
    """Locks or manual values: each row names one node by a prefix of the levels (deeper cells empty)."""
    columns = _dimension_columns(table, dims)
    value_col = table.column(VALUE_COLUMNS)
    if value_col is None or not columns:
        problems.append(Problem((), (
            f"expected level columns ({', '.join(dims)}) and a value column; found: {', '.join(table.header)}"
        ), source=table.name))
        return {}
    out: dict[Path, Decimal] = {}
    for line, cells in table.rows:
        keys = [cells[columns[k]] if k in columns else "" for k in range(len(dims))]
        depth = max((k + 1 for k, key in enumerate(keys) if key), default=0)
        if depth == 0:
            problems.append(Problem((), f"names no member (fill {', '.join(dims)} down to the node)",
                                    source=table.where(line)))
            continue
        gaps = [dims[k] for k in range(depth) if not keys[k]]
        if gaps:
            problems.append(Problem((), f"a {what} needs the whole path down to its node; empty: {', '.join(gaps)}",
                                    source=table.where(line)))
            continue
        path = tuple(keys[:depth])
        try:
            value = parse_amount(cells[value_col])
        except (TypeError, ValueError) as exc:
            problems.append(Problem(path, f"value: {exc}", source=table.where(line)))
            continue
        if path not in known:
            problems.append(Problem(path, f"{path_text(path)} is not a member of the plan's tree", source=table.where(line)))
            continue
        if path in out:
            problems.append(Problem(path, f"a second {what} for {path_text(path)}", source=table.where(line)))
            continue
        out[path] = value
    return out


def read_matched(table: Table, dims: Sequence[str], nodes_at: Mapping[int, list[Path]], depths: set[int],
                 value_of: Callable[[tuple[str, ...]], Decimal], what: str,
                 problems: list[Problem], warnings: list[Problem]) -> dict[Path, Decimal]:
    """Potential or capacity: a row applies to every node of its deepest named level that matches the members it
    names (``华东`` alone applies to 华东 under every product); the most specific row wins."""
    columns = _dimension_columns(table, dims)
    if not columns:
        problems.append(Problem((), f"expected at least one level column ({', '.join(dims)}); found: "
                                    f"{', '.join(table.header)}", source=table.name))
        return {}
    # rows by (depth, the level positions they name) → {member keys: (line, value)}
    index: dict[tuple[int, tuple[int, ...]], dict[tuple[str, ...], tuple[int, Decimal]]] = {}
    for line, cells in table.rows:
        named = tuple(k for k in sorted(columns) if cells[columns[k]])
        if not named:
            problems.append(Problem((), "names no member", source=table.where(line)))
            continue
        depth = named[-1] + 1
        if depth not in depths:
            warnings.append(Problem((), (
                f"ignored: level {depth} ({dims[depth - 1]}) does not share by {what}"
            ), source=table.where(line)))
            continue
        try:
            value = value_of(cells)
        except (TypeError, ValueError) as exc:
            problems.append(Problem((), f"{what}: {exc}", source=table.where(line)))
            continue
        keys = tuple(cells[columns[k]] for k in named)
        bucket = index.setdefault((depth, named), {})
        if keys in bucket:
            problems.append(Problem((), f"the same members as row {bucket[keys][0]}", source=table.where(line)))
            continue
        bucket[keys] = (line, value)
    out: dict[Path, Decimal] = {}
    used: set[int] = set()
    for depth in sorted(depths):
        shapes = sorted((named for d, named in index if d == depth), key=len, reverse=True)
        for path in nodes_at.get(depth, []):
            found: list[tuple[tuple[int, ...], int, Decimal]] = []
            for named in shapes:
                hit = index[(depth, named)].get(tuple(path[k] for k in named))
                if hit is not None:
                    found.append((named, *hit))
            if not found:
                continue
            best = [f for f in found if len(f[0]) == len(found[0][0])]
            if len(best) > 1:
                rows = ", ".join(str(line) for _, line, _ in best)
                problems.append(Problem(path, f"{what} rows {rows} of {table.name} match it equally; keep one"))
                continue
            _, line, value = best[0]
            used.add(line)
            out[path] = value
    for (_depth, _named), bucket in index.items():
        for keys, (line, _) in bucket.items():
            if line not in used:
                problems.append(Problem((), (
                    f"{' / '.join(keys)} matches no member of the plan (unknown member?)"
                ), source=table.where(line)))
    return out


def _capacity_value(table: Table) -> Callable[[tuple[str, ...]], Decimal]:
    capacity = table.column(CAPACITY_COLUMNS)
    headcount, ramp = table.column(["headcount", "人数"]), table.column(["ramp", "爬坡系数"])
    if capacity is not None:
        return lambda cells: parse_amount(cells[capacity])
    if headcount is not None and ramp is not None:
        return lambda cells: parse_amount(cells[headcount]) * parse_ratio(cells[ramp])
    raise PlanError([Problem((), "expected a capacity column, or headcount and ramp columns", source=table.name)])


def _potential_value(table: Table) -> Callable[[tuple[str, ...]], Decimal]:
    column = table.column(POTENTIAL_COLUMNS)
    if column is None:
        raise PlanError([Problem((), "expected a potential (or value) column", source=table.name)])
    return lambda cells: parse_amount(cells[column])


# -- the command ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    decomposition: Decomposition
    months: tuple[str, ...]
    monthly: dict[Path, tuple[Decimal, ...]]
    profiles: dict[Path, sea.Profile]
    warnings: tuple[Problem, ...]


def allocate(args: argparse.Namespace) -> Result:
    """Everything the command does except printing and writing; raises PlanError with every problem."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    plan_path = FilePath(args.plan)
    try:
        plan_text = hol.read_text(plan_path)
    except OSError as exc:
        raise PlanError([Problem((), f"cannot read the plan: {exc.strerror}", source=str(plan_path))]) from None
    data = load_yaml(plan_text, plan_path.name)
    spec = parse_plan(data, plan_path.name)
    dims = [level.dimension for level in spec.levels]
    calendar = FiscalCalendar(spec.start_month)

    total = spec.total
    if args.total is not None:
        try:
            total = parse_amount(args.total)
        except (TypeError, ValueError) as exc:
            problems.append(Problem((), str(exc), source="--total"))
    if total is None and not problems:
        problems.append(Problem((), "no total: give --total or total: in the plan", source=plan_path.name))

    history: History | None = None
    leaves: list[Path] = []
    if args.history:
        history, leaves = read_history(read_table(FilePath(args.history), args.encoding), dims, problems)
    # the tree: history's leaves, plus the plan's additions, minus its removals
    paths: dict[Path, None] = dict.fromkeys(leaves)
    for path in spec.add:
        paths.setdefault(path, None)
    for path in spec.remove:
        gone = [p for p in paths if p[:len(path)] == path]
        if not gone:
            problems.append(Problem(path, f"{path_text(path)} is not a member of the history or tree.add",
                                    source=f"{plan_path.name}: tree.remove"))
        for p in gone:
            del paths[p]
    if not paths and not problems:
        problems.append(Problem((), "the tree is empty: give --history, or tree.add in the plan", source=plan_path.name))
    children = children_from_paths(paths)
    known: set[Path] = {()} | {p[:d] for p in paths for d in range(1, len(p) + 1)}
    nodes_at: dict[int, list[Path]] = {}
    for path in dict.fromkeys(p[:d] for p in paths for d in range(1, len(p) + 1)):
        nodes_at.setdefault(len(path), []).append(path)

    potential: dict[Path, Decimal] = {}
    capacity: dict[Path, Decimal] = {}
    locks: dict[Path, Decimal] = {}
    manual: dict[Path, Decimal] = {}
    try:
        if args.potential:
            table = read_table(FilePath(args.potential), args.encoding)
            depths = {k for k, level in enumerate(spec.levels, start=1) if level.uses_potential()}
            potential = read_matched(table, dims, nodes_at, depths, _potential_value(table), "potential",
                                     problems, warnings)
        if args.capacity:
            table = read_table(FilePath(args.capacity), args.encoding)
            depths = {k for k, level in enumerate(spec.levels, start=1) if level.method is Method.CAPACITY}
            capacity = read_matched(table, dims, nodes_at, depths, _capacity_value(table), "capacity",
                                    problems, warnings)
        if args.locks:
            locks = read_exact_paths(read_table(FilePath(args.locks), args.encoding), dims, known, "lock", problems)
        if args.manual:
            manual = read_exact_paths(read_table(FilePath(args.manual), args.encoding), dims, known,
                                      "manual value", problems)
    except PlanError as exc:
        problems.extend(exc.problems)
    if total is None or not paths:
        raise PlanError(problems)
    # bad rows were left out: go on, so that the plan's own problems are reported too; nothing is written

    season = spec.seasonality
    plan = Plan(total, spec.levels, spec.fiscal_year, calendar, spec.unit, season.unit)
    inputs = Inputs(children, history, potential, capacity, manual, locks)
    try:
        result = decompose(plan, inputs)
    except PlanError as exc:
        problems.extend(exc.problems)
        result = None
    profiles: dict[Path, sea.Profile] = {}
    try:
        profiles = _profiles(spec, plan, history, list(paths), args, warnings)
    except PlanError as exc:
        problems.extend(exc.problems)
    if problems or result is None:
        raise PlanError(problems)
    leaf_values = {n.path: n.value for n in result.leaves}
    monthly = sea.spread_all(leaf_values, profiles, season.unit)
    months = tuple(p.code for p in sea.fiscal_months(spec.fiscal_year, calendar))
    return Result(result, months, monthly, profiles, tuple(result.warnings) + tuple(warnings))


def _profiles(spec: PlanFile, plan: Plan, history: History | None, leaves: list[Path], args: argparse.Namespace,
              warnings: list[Problem]) -> dict[Path, sea.Profile]:
    """The seasonality profile of every leaf (one shared object per distinct profile)."""
    season = spec.seasonality
    calendar = plan.calendar
    if season.profile == "flat":
        base = sea.flat()
    elif season.profile == "template":
        base = sea.from_weights(season.weights)
    elif season.profile == "typed":
        base = sea.typed(season.percent)
    else:
        base = None
    by_depth = 0 if season.by == "total" else [lv.dimension for lv in spec.levels].index(season.by) + 1
    per_node: dict[Path, sea.Profile] = {}
    if base is None:
        if history is None or not history.months:
            raise PlanError([Problem((), "profile: history needs --history", source="seasonality")])
        known_history = history
        years = season.years if season.years is not None else _complete_years(history, plan)
        if not years:
            raise PlanError([Problem((), (
                f"profile: history, but the history has no complete fiscal year before FY{plan.fiscal_year}; "
                f"list seasonality.years or use profile: template or typed"
            ), source="seasonality")])

        def monthly_of(path: Path) -> dict[date, Decimal]:
            series = known_history.series.get(path, ())
            return dict(zip(known_history.months, series, strict=False))

        base = sea.from_history(monthly_of(()), years, calendar)
        if by_depth:
            fallback: list[str] = []
            for node in dict.fromkeys(p[:by_depth] for p in leaves):
                monthly = monthly_of(node)
                if sea.usable_years(monthly, years, calendar):
                    per_node[node] = sea.from_history(monthly, years, calendar, node)
                else:
                    fallback.append(path_text(node))
            if fallback:
                warnings.append(Problem((), (
                    f"no history in {', '.join(f'FY{y}' for y in years)} for {', '.join(fallback)}; "
                    f"they use the company-wide profile"
                ), source="seasonality"))
    if season.working_days:
        holidays = hol.BUILT_IN[season.calendar]()
        if args.calendar:
            holidays = holidays.merged(hol.load_calendar(FilePath(args.calendar)))
        adjusted: dict[int, sea.Profile] = {}

        def adjust(profile: sea.Profile) -> sea.Profile:
            if id(profile) not in adjusted:
                adjusted[id(profile)] = sea.adjust_for_working_days(profile, plan.fiscal_year, holidays, calendar)
            return adjusted[id(profile)]

        base = adjust(base)
        per_node = {node: adjust(p) for node, p in per_node.items()}
    elif args.calendar:
        warnings.append(Problem((), "ignored: seasonality.working_days is not true", source="--calendar"))
    return {leaf: per_node.get(leaf[:by_depth], base) if by_depth else base for leaf in leaves}


def _complete_years(history: History, plan: Plan) -> list[int]:
    """Fiscal years before the plan year whose 12 months all lie within the history's span."""
    have = set(history.months)
    out = []
    for year in range(plan.fiscal_year - 50, plan.fiscal_year):
        if all(p.start in have for p in sea.fiscal_months(year, plan.calendar)):
            out.append(year)
    return out


# -- output --------------------------------------------------------------------------------------------------


def write_targets(out: TextIO, result: Result, dims: Sequence[str], layout: str) -> None:
    writer = csv.writer(out, lineterminator="\n")
    fiscal_year = f"FY{result.decomposition.plan.fiscal_year}"
    if layout == "wide":
        writer.writerow([*dims, fiscal_year, *result.months])
        for leaf in result.decomposition.leaves:
            writer.writerow([*leaf.path, number_text(leaf.value), *map(number_text, result.monthly[leaf.path])])
    else:
        writer.writerow([*dims, "period", "target"])
        for leaf in result.decomposition.leaves:
            for month, amount in zip(result.months, result.monthly[leaf.path], strict=True):
                writer.writerow([*leaf.path, month, number_text(amount)])


def write_tree(out: TextIO, result: Result, dims: Sequence[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["level", "dimension", *dims, "value", "share", "unrounded", "weight", "method", "locked"])
    for node in result.decomposition.nodes:
        keys = list(node.path) + [""] * (len(dims) - len(node.path))
        writer.writerow([
            node.level,
            dims[node.level - 1] if node.level else "total",
            *keys,
            number_text(node.value),
            fraction_text(node.share, 10),
            fraction_text(node.unrounded, 4),
            "" if node.weight is None else fraction_text(node.weight, 10),
            node.method,
            "yes" if node.locked else "",
        ])


def _open_output(name: str) -> tuple[TextIO, bool]:
    if name == "-":
        return sys.stdout, False
    return open(name, "w", encoding="utf-8-sig", newline=""), True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesops targets",
        description="Target planning from files, with no database.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "allocate",
        help="decompose a total top-down along levels and spread every leaf over the months",
        description=(
            "Decompose a total top-down along the levels of a plan (YAML), with history, potential, capacity, "
            "locks and manual values from CSV files, and write the leaf x month targets as CSV. "
            "See docs/targets-allocate.md."
        ),
    )
    p.add_argument("--plan", required=True, help="the plan (YAML): fiscal year, levels and methods, units, seasonality")
    p.add_argument("--total", help="the company total, e.g. 50000000 or 5000万 (overrides total: in the plan)")
    p.add_argument("--history", help="actuals (CSV): one column per level dimension, period (2025-03), amount")
    p.add_argument("--potential", help="potential per node (CSV): level columns, potential")
    p.add_argument("--capacity", help="capacity per node (CSV): level columns, capacity (or headcount and ramp)")
    p.add_argument("--locks", help="locked values (CSV): level columns down to the node, value")
    p.add_argument("--manual", help="manual values for manual levels (CSV): level columns down to the node, value")
    p.add_argument("--calendar", help="holidays and make-up working days (CSV date,kind or YAML), laid over the "
                                      "built-in calendar for the years it covers")
    p.add_argument("-o", "--output", required=True, help="where to write the leaf x month targets (CSV; - for stdout)")
    p.add_argument("--tree", help="also write every node of the tree (CSV) with share, weight, method, locked")
    p.add_argument("--layout", choices=["wide", "long"], default="wide",
                   help="wide: one row per leaf with 12 month columns (default); long: one row per leaf and month")
    p.add_argument("--encoding", help="encoding of the input CSV files (default: UTF-8 with or without BOM, "
                                      "else GB18030)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        result = allocate(args)
    except PlanError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''}; nothing was written.", file=sys.stderr)
        return 1
    dims = [level.dimension for level in result.decomposition.plan.levels]
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    outputs: list[tuple[str, Callable[[TextIO], None]]] = [
        (args.output, lambda out: write_targets(out, result, dims, args.layout))]
    if args.tree:
        outputs.append((args.tree, lambda out: write_tree(out, result, dims)))
    for name, write in outputs:
        try:
            out, close = _open_output(name)
        except OSError as exc:
            print(f"error: {name}: cannot write: {exc.strerror}", file=sys.stderr)
            return 1
        try:
            write(out)
        finally:
            if close:
                out.close()
    leaves = len(result.decomposition.leaves)
    plan = result.decomposition.plan
    written = ["stdout" if args.output == "-" else args.output] + ([args.tree] if args.tree else [])
    print(
        f"Allocated {number_text(plan.total)} over {len(plan.levels)} levels to {leaves} leaves x 12 months "
        f"(FY{plan.fiscal_year}); wrote {' and '.join(written)}.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
