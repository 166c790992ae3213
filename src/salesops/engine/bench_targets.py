"""Benchmark of target decomposition: ``python -m salesops.engine.bench_targets`` prints measured, goal, ratio.

Figures (issue 3, "Figures"), measured on synthetic but realistic plans built here (no files, no database):

- decompose a target over 5 levels to 10,000 leaves × 12 months, ≤ 1 s: the engine end to end — history
  roll-up from 240,000 leaf × month records, the five-level decomposition (historical, blend, potential,
  average-of-proportions, capacity; a few locks), history profiles per product adjusted for working days, and the
  spread of every leaf over 12 months;
- re-balance after one locked edit in a 2,000-node plan: the engine's part (a full re-decomposition with the new
  lock) of the 200 ms the browser figure allows end to end.

Each figure is the median of several runs after a warm-up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from salesops.engine import holidays, seasonality
from salesops.engine.decomposition import (
    Blend,
    HistoricalMode,
    History,
    Inputs,
    Level,
    Method,
    Path,
    Plan,
    children_from_paths,
    decompose,
)
from salesops.engine.messages import gettext_noop
from salesops.engine.periods import PeriodKind

FISCAL_YEAR = 2026


def _leaves(shape: tuple[int, ...]) -> list[Path]:
    paths: list[Path] = [()]
    for depth, count in enumerate(shape):
        paths = [p + (f"L{depth + 1}-{i}",) for p in paths for i in range(count)]
    return paths


def _records(leaves: list[Path], months: int = 24) -> list[tuple[Path, date, Decimal]]:
    starts = [date(FISCAL_YEAR - 2 + m // 12, m % 12 + 1, 1) for m in range(months)]
    out = []
    for i, path in enumerate(leaves):
        base = 1000 + (i * 7919) % 9000
        for m, month in enumerate(starts):
            out.append((path, month, Decimal((base * (80 + (i * 31 + m * 17) % 40)) // 10) / 100))
    return out


def _plan_5_levels() -> tuple[Plan, Inputs, list[Path]]:
    leaves = _leaves((5, 4, 5, 10, 10))
    levels = (
        Level("product", Method.HISTORICAL, window=12),
        Level("region", Method.BLEND, window=2, period=PeriodKind.YEAR,
              blend=Blend(Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))),
        Level("segment", Method.POTENTIAL),
        Level("team", Method.HISTORICAL, window=4, period=PeriodKind.QUARTER,
              mode=HistoricalMode.AVERAGE_OF_PROPORTIONS),
        Level("rep", Method.CAPACITY),
    )
    nodes = {p[:d] for p in leaves for d in (2, 3)}
    potential = {p: Decimal(100 + (i % 7) * 10) for i, p in enumerate(sorted(nodes))}
    capacity = {p: Decimal(["1", "0.75", "0.5", "0.25", "0"][i % 5] if i % 10 == 9 else 1) for i, p in enumerate(leaves)}
    plan = Plan(Decimal("5000000000.00"), levels, FISCAL_YEAR, month_unit=Decimal("0.01"))
    locks = {leaves[0][:2]: Decimal("200000000.00"), leaves[500][:3]: Decimal("12345678.00")}
    return plan, Inputs(children_from_paths(leaves), None, potential, capacity, {}, locks), leaves


def _full_run(plan: Plan, inputs: Inputs, records: list[tuple[Path, date, Decimal]]) -> int:
    history = History.from_records(records)
    result = decompose(plan, Inputs(inputs.children, history, inputs.potential, inputs.capacity, {}, inputs.locks))
    calendar = holidays.china_mainland()
    years = [FISCAL_YEAR - 2, FISCAL_YEAR - 1]
    profiles: dict[Path, seasonality.Profile] = {}
    for product in inputs.children[()]:
        monthly = dict(zip(history.months, history.series[(product,)], strict=True))
        profile = seasonality.from_history(monthly, years, plan.calendar, (product,))
        profiles[(product,)] = seasonality.adjust_for_working_days(profile, FISCAL_YEAR, calendar, plan.calendar)
    leaves = result.leaves
    monthly_targets = seasonality.spread_all(
        {n.path: n.value for n in leaves}, {n.path: profiles[n.path[:1]] for n in leaves}, Decimal("0.01"))
    return len(monthly_targets) * 12


def _median(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(runs: int = 3) -> list[tuple[str, float, float]]:
    """(figure, seconds, goal in seconds) for each figure."""
    plan, inputs, leaves = _plan_5_levels()
    records = _records(leaves)
    decompose_s = _median(lambda: _full_run(plan, inputs, records), runs)

    # a 2,000-node plan: 5 products × 6 regions × 6 teams × 10 reps (1,800 reps, 2,016 nodes)
    small = _leaves((5, 6, 6, 10))
    small_levels = (
        Level("product", Method.HISTORICAL, window=12),
        Level("region", Method.HISTORICAL, window=2, period=PeriodKind.YEAR),
        Level("team", Method.HISTORICAL, window=4, period=PeriodKind.QUARTER,
              mode=HistoricalMode.AVERAGE_OF_PROPORTIONS),
        Level("rep", Method.EQUAL, unit=Decimal("0.01")),
    )
    small_plan = Plan(Decimal("800000000.00"), small_levels, FISCAL_YEAR)
    small_history = History.from_records(_records(small))
    children = children_from_paths(small)
    first = decompose(small_plan, Inputs(children, small_history))
    team = small[37][:3]
    edited = first.value(team) + Decimal("10000.00")

    def rebalance() -> None:
        decompose(small_plan, Inputs(children, small_history, locks={team: edited}))

    rebalance_s = _median(rebalance, max(runs, 5))
    return [
        (gettext_noop("decompose 5 levels to 10,000 leaves × 12 months (engine, with history and seasonality)"), {},
         decompose_s, 1.0),
        (gettext_noop("re-balance after one locked edit, {nodes}-node plan (engine, whole plan)"),
         {"nodes": f"{len(first.nodes):,}"}, rebalance_s, 0.2),
    ]


def main() -> None:
    print(f"{'figure':<100} {'measured':>10} {'goal':>8} {'ratio':>7}")
    for template, params, seconds, goal in run():
        figure = template.format(**params)
        print(f"{figure:<100} {seconds:>9.3f}s {goal:>7.3f}s {seconds / goal:>7.2f}")


if __name__ == "__main__":
    main()
