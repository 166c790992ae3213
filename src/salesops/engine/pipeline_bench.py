"""Synthetic CRM history, and ``salesops pipeline bench``: how fast the pipeline analytics run.

:func:`generate` builds the three inputs of :mod:`salesops.engine.pipeline` inside DuckDB from ``range()`` and
hashes of the row number and ``seed`` (no Python loop over rows; the same arguments give the same tables):

- 5 open stages (Lead 10 %, Qualified 25 %, Solution 50 %, Proposal 70 %, Negotiation 85 %), Won, Lost;
- one rep per 500 deals (at least 10), ten reps a team, four teams a region; each rep has a *skill* in [0, 1)
  that raises their chance to move a deal on (0.80 + 0.16 · skill per stage) and shortens their stays;
- deals created over 2025-01-01 … 2026-11-30 with amounts 1,000.00 … 99,999.99; a deal's path enters Lead, then
  each next stage while its draws succeed; one in ten that got to Proposal skipped Solution, one in five that
  got past Solution went back to Qualified once (reopened); a deal that got to Negotiation is won 60 %, lost
  25 %, still open 15 %; an earlier one lost 70 %, open 30 %;
- a stay lasts 1–30 days (longer for weaker reps), plus minutes, so changes are timestamps; open deals get an
  ``expected_close`` 30–180 days after creation.

About five stage changes per deal: 100,000 deals give about 500,000 changes (the exact count is printed).

``salesops pipeline bench`` times :func:`~salesops.engine.pipeline.funnel` (by rep, monthly cohorts) and
:func:`~salesops.engine.pipeline.dwell` (by rep) — the goal: both together ≤ 300 ms, best of ``--repeat`` —
then bottlenecks, velocity and the weighted pipeline, each on its own line: wall clock and the process's CPU
time (which other processes on a busy machine do not inflate), with the load average.
"""

# SQL here is built from our own constants and from integers (int() of the arguments): nothing else enters it.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from decimal import Decimal

import duckdb
import pyarrow as pa

from salesops.engine import pipeline
from salesops.engine.timing import best_of

GOAL_SECONDS = 0.3
PERIOD = (dt.date(2026, 10, 1), dt.date(2026, 11, 1))
STAGES = [  # id, code, name, position, probability, is_won, is_lost
    (1, "lead", "Lead", 10, "10", False, False),
    (2, "qualified", "Qualified", 20, "25", False, False),
    (3, "solution", "Solution", 30, "50", False, False),
    (4, "proposal", "Proposal", 40, "70", False, False),
    (5, "negotiation", "Negotiation", 50, "85", False, False),
    (6, "won", "Won", 60, "100", True, False),
    (7, "lost", "Lost", 70, "0", False, True),
]


def stages_table() -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(pipeline.STAGES_SCHEMA.names, (*row[:4], Decimal(row[4]), *row[5:]), strict=True))
         for row in STAGES], schema=pipeline.STAGES_SCHEMA)


def generate(opportunities: int, seed: int = 1) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(opportunities, stages, stage_changes) with the structure the module describes."""
    n, seed = int(opportunities), int(seed)
    reps = max(10, n // 500)
    con = duckdb.connect()
    try:
        # h: a hash of the four values (DuckDB's multi-argument hash is too weakly mixed in its low bits for
        # draws by modulo); u ∈ [0, 1): a uniform draw from it
        con.execute("CREATE MACRO h(a, b, c, d) AS hash(concat_ws(':', a, b, c, d))")
        con.execute("CREATE MACRO u(a, b, c, d) AS (h(a, b, c, d) % 1000003) / 1000003.0")
        con.execute(f"""
            CREATE TABLE deal AS
            WITH d AS (
                SELECT i AS id, (h(i, {seed}, 1, 0) % {reps})::BIGINT AS owner_id,
                       DATE '2025-01-01' + (h(i, {seed}, 2, 0) % 699)::INTEGER AS created_on,
                       ((100000 + h(i, {seed}, 3, 0) % 9899999)::DECIMAL(18,0) * 0.01)::DECIMAL(18,2) AS amount
                FROM range({n}) t(i)),
            s AS (SELECT *, u(owner_id, {seed}, 4, 0) AS skill FROM d),
            walk AS (
                SELECT *, 0.80 + 0.16 * skill AS p,
                       CASE WHEN u(id, {seed}, 5, 1) >= p THEN 1 WHEN u(id, {seed}, 5, 2) >= p THEN 2
                            WHEN u(id, {seed}, 5, 3) >= p THEN 3 WHEN u(id, {seed}, 5, 4) >= p THEN 4
                            ELSE 5 END AS top,
                       u(id, {seed}, 6, 0) AS fate, u(id, {seed}, 7, 0) AS twist
                FROM s)
            SELECT id, owner_id, owner_id // 10 AS team_id, owner_id // 40 AS region_id, created_on, amount, skill,
                   CASE WHEN top = 5 THEN (CASE WHEN fate < 0.60 THEN 'won' WHEN fate < 0.85 THEN 'lost'
                                                ELSE 'open' END)
                        ELSE (CASE WHEN fate < 0.70 THEN 'lost' ELSE 'open' END) END AS status,
                   CASE WHEN top >= 4 AND twist < 0.10 THEN list_filter(range(1, top + 1), lambda x: x <> 3)
                        WHEN top >= 3 AND twist < 0.30 THEN list_concat(range(1, 4), [2, 3], range(4, top + 1))
                        ELSE range(1, top + 1) END AS path
            FROM walk""")
        con.execute("""
            CREATE TABLE step AS
            WITH full_path AS (
                SELECT *, CASE status WHEN 'won' THEN list_append(path, 6) WHEN 'lost' THEN list_append(path, 7)
                                      ELSE path END AS stages FROM deal),
            flat AS (SELECT id, created_on, skill, unnest(stages)::BIGINT AS sid,
                            generate_subscripts(stages, 1) AS k FROM full_path)
            SELECT id, sid, k, created_on,
                   CASE WHEN k = 1 THEN (h(id, k, 8, 0) % 600)::BIGINT
                        ELSE (1440 * (1 + h(id, k, 9, 0) % 30) * (1.6 - skill))::BIGINT
                             + (h(id, k, 10, 0) % 1440)::BIGINT END AS minutes
            FROM flat""")
        changes = con.sql("""
            SELECT id AS opportunity_id, lag(sid) OVER (PARTITION BY id ORDER BY k) AS from_stage_id,
                   sid AS to_stage_id,
                   (created_on::TIMESTAMP + to_minutes((sum(minutes) OVER (PARTITION BY id ORDER BY k))::BIGINT))::TIMESTAMP
                       AS changed_at
            FROM step ORDER BY id, k""").to_arrow_table().cast(pipeline.STAGE_CHANGES_SCHEMA)
        con.register("changes", changes)
        opportunities_table = con.sql(f"""
            WITH last AS (SELECT opportunity_id AS id, arg_max(to_stage_id, changed_at) AS stage_id,
                                 max(changed_at)::DATE AS last_day FROM changes GROUP BY id)
            SELECT d.id, d.owner_id, d.team_id, d.region_id, d.created_on,
                   CASE WHEN d.status = 'open' THEN NULL ELSE l.last_day END AS closed_on, d.amount, d.status,
                   l.stage_id,
                   CASE WHEN d.status = 'open' THEN d.created_on + (30 + h(d.id, {seed}, 11, 0) % 151)::INTEGER
                   END AS expected_close
            FROM deal d JOIN last l USING (id) ORDER BY d.id""").to_arrow_table()
        schema = pipeline.OPPORTUNITIES_SCHEMA.append(pa.field("expected_close", pa.date32()))
        return opportunities_table.cast(schema), stages_table(), changes
    finally:
        con.close()


def _both_on_one(tables: tuple[pa.Table, pa.Table, pa.Table], by: str) -> None:
    with pipeline.Pipeline(*tables) as p:
        p.funnel(by=by)
        p.dwell(by=by)


def main(args: argparse.Namespace) -> int:
    n = args.opportunities
    print(f"Generating {n:,} opportunities …", flush=True)
    started = time.perf_counter()
    opportunities, stages, changes = generate(n, args.seed)
    print(f"  {opportunities.num_rows:,} opportunities, {changes.num_rows:,} stage changes, "
          f"{len(set(opportunities.column('owner_id').to_pylist())):,} reps, generated in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    tables = (opportunities, stages, changes)
    start, end = PERIOD
    by = args.by
    funnel_s = best_of(args.repeat, lambda: pipeline.funnel(*tables, by=by))
    dwell_s = best_of(args.repeat, lambda: pipeline.dwell(*tables, by=by))
    both_s = best_of(args.repeat, lambda: (pipeline.funnel(*tables, by=by), pipeline.dwell(*tables, by=by)))
    shared_s = best_of(args.repeat, lambda: _both_on_one(tables, by))
    bottleneck_s = best_of(args.repeat, lambda: pipeline.bottlenecks(*tables, by=by, min_deals=20))
    velocity_s = best_of(args.repeat, lambda: pipeline.velocity(*tables, start=start, end=end, by=by,
                                                                qualified_position=20))
    weighted_s = best_of(args.repeat, lambda: pipeline.weighted_pipeline(opportunities, stages, by=by))
    funnel, dwell, found, speed, weighted = (funnel_s[2], dwell_s[2], bottleneck_s[2], velocity_s[2],
                                             weighted_s[2])
    goal = GOAL_SECONDS * 1000
    print()
    print(f"{'figure (best of ' + str(args.repeat) + ', by ' + by + ')':<56} {'wall':>8} {'cpu':>8} {'goal':>9} "
          f"{'ratio':>6}")
    rows = [
        (f"funnel: {len(funnel.rows):,} rows (group × month, group total)", funnel_s, ""),
        (f"dwell: {len(dwell.rows):,} box plots (group × stage)", dwell_s, ""),
        ("funnel + dwell, one after the other", both_s, f"≤ {goal:.0f} ms"),
        ("  the same on one Pipeline (inputs registered once)", shared_s, ""),
        (f"bottlenecks: {len(found.rows):,} groups judged, {len(found.not_judged):,} not", bottleneck_s, ""),
        (f"velocity {start:%Y-%m} vs the month before, {len(speed.rows):,} groups", velocity_s, ""),
        (f"weighted pipeline: {weighted.company.deals:,} open deals, {len(weighted.cells):,} cells", weighted_s, ""),
    ]
    for name, (wall, cpu, _), target in rows:
        ratio = f"{wall * 1000 / goal:.2f}" if target else ""
        print(f"{name:<56} {wall * 1000:>5.0f} ms {cpu * 1000:>5.0f} ms {target:>9} {ratio:>6}")
    if hasattr(os, "getloadavg"):
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: with other work running, "
              "wall > cpu)")
    v = speed.company.current
    print()
    print(f"company velocity {start:%Y-%m}: {v.open_qualified:,} open qualified × win rate {v.win_rate} × "
          f"average won {v.average_won} ÷ cycle {v.cycle_days} days = {v.velocity} per day")
    print(f"weighted pipeline {weighted.company.weighted} of {weighted.company.unweighted} unweighted")
    return 0
