"""``salesops comp bench``: how fast the compensation engine is, as ratios to a floor and to per-row Python.

It generates ``--lines`` order lines (default 10,000,000) for ``--payees`` payees (default 10,000: nine reps per
manager), 8 % of them split 50/50 between two reps, in 200 products of 12 categories over one month, and runs a
plan with split credit, a manager roll-up, a rate table by category, marginal tiers on attainment with a cap,
and a SPIFF. It prints:

- the run time of :func:`~salesops.engine.comp.calc.calculate` (payouts and their detail rows; the per-line
  lineage is produced on demand for a statement, not in a run);
- the floor: a bare ``GROUP BY payee, sum(net)`` over the same lines in DuckDB, in the same process, timed in
  turns with the run (the best of ``--repeat`` of each, default 5), and the
  ratio run ÷ floor (goal ≤ 3);
- a per-row Python implementation of the same plan (the per-line style of Odoo's and ERPNext's commission
  code) on ``--python-lines`` lines, scaled to the full size, and the speed-up (goal ≥ 100×);
- the peak memory of the process (goal ≤ 3 GB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time
from decimal import Decimal

import duckdb
import pyarrow as pa

from salesops.engine.comp import calc
from salesops.engine.comp.plan import load_plan
from salesops.engine.money import round_money
from salesops.engine.periods import FiscalCalendar
from salesops.engine.timing import timed

PLAN = """
plan: bench
effective_from: 2026-01-01
components:
  - id: commission
    name: Commission by category
    rate:
      table:
        default: 0.01
        entries: [{category: C0, rate: 0.02}, {category: C1, rate: 0.025}, {category: C2, rate: 0.03},
                  {category: C3, rate: 0.035}, {product: P7, rate: 0.05}]
  - id: accelerator
    name: Attainment accelerator
    credit: {roll_up: {levels: 1}}
    quota: {source: input}
    cap: {amount: 20000}
    rate:
      tiers:
        mode: marginal
        bands: [{from: 0, to: 1.0, rate: 0.005}, {from: 1.0, to: 1.5, rate: 0.01}, {from: 1.5, rate: 0.02}]
  - id: launch
    name: Launch SPIFF
    spiff: {products: [P1, P2], start: 2026-03-01, end: 2026-03-15, per_unit: 20}
"""


def generate(lines: int, payees: int) -> tuple[calc.CompInputs, pa.Table]:
    """Synthetic inputs, generated inside DuckDB (seeded by the line number: the same every time), and the
    floor's table: each line's net amount with its first credited payee."""
    con = duckdb.connect()
    reps = payees - payees // 10
    con.execute(f"""
        CREATE TABLE l AS SELECT
            'L' || i AS line_id, DATE '2026-03-01' + (hash(i * 3) % 31)::INTEGER AS date,
            'K' || (hash(i * 5) % 50000) AS customer, 'P' || (hash(i * 7) % 200) AS product,
            'C' || ((hash(i * 7) % 200) % 12) AS category, 'R' || (hash(i * 11) % 4) AS region,
            'S' || (hash(i * 13) % 3) AS segment, (1 + hash(i * 17) % 5)::DECIMAL(18,4) AS quantity,
            ((hash(i * 19) % 2000000) / 100)::DECIMAL(18,2) AS net, 0::DECIMAL(18,2) AS cost,
            (hash(i) % {reps})::INTEGER AS rep, hash(i * 23) % 100 < 8 AS split
        FROM range({lines}) t(i)""")  # noqa: S608 - numbers only
    floor = con.sql("SELECT 'E' || rep AS payee, net FROM l").to_arrow_table()
    credited = con.sql(f"""
        SELECT * EXCLUDE (rep, split), NULL::VARCHAR AS original_line_id, 'E' || rep AS payee,
               CASE WHEN split THEN 0.5 ELSE 1 END::DECIMAL(9,6) AS share, NULL::DATE AS original_date
        FROM l
        UNION ALL
        SELECT * EXCLUDE (rep, split), NULL, 'E' || ((rep + 1) % {reps}), 0.5::DECIMAL(9,6), NULL FROM l WHERE split
    """).to_arrow_table()  # noqa: S608 - numbers only
    con.close()  # the generated table's memory goes back before the lines are encoded
    credited = credited.cast(calc.CREDITED_SCHEMA)
    inputs = calc.CompInputs(
        credited=calc.dictionary_encoded(credited),
        payees=pa.Table.from_pylist([{"payee": f"E{i}", "name": f"E{i}"} for i in range(payees)], calc.PAYEE_SCHEMA),
        hierarchy=pa.Table.from_pylist([
            {"payee": f"E{i}", "manager": f"E{reps + i // 9}", "valid_from": dt.date(1, 1, 1), "valid_to": None}
            for i in range(reps)], calc.HIERARCHY_SCHEMA),
        quotas=pa.Table.from_pylist([
            {"payee": f"E{i}", "component": "accelerator", "period": "2026-03",
             "quota": Decimal("500000.00") if i < reps else Decimal("4500000.00")} for i in range(payees)],
            calc.QUOTA_SCHEMA),
    )
    return inputs, floor


FLOOR = "SELECT payee, sum(net) FROM t GROUP BY payee"


def timings(inputs: calc.CompInputs, floor_table: pa.Table, repeat: int) -> tuple[tuple[float, float], ...]:
    """(wall, CPU) seconds: the best of ``repeat`` plan runs and of ``repeat`` floors — a bare group-by-sum of
    the same lines by payee, DuckDB, this process —, taken in turns, so that both see the machine in the same
    state (a busy moment slows whichever ran then)."""
    plan = load_plan(PLAN)
    period = FiscalCalendar().parse("2026-03")
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("t", floor_table)
    calc.calculate(plan, inputs, period, with_credits=False)  # warm-up
    con.sql(FLOOR).to_arrow_table()
    runs, floors = [], []
    for _ in range(repeat):
        runs.append(timed(lambda: calc.calculate(plan, inputs, period, with_credits=False))[:2])
        floors.append(timed(lambda: con.sql(FLOOR).to_arrow_table())[:2])
    con.close()
    return tuple(min(times, key=lambda t: t[0]) for times in (runs, floors))


def per_row_python(inputs: calc.CompInputs, limit: int) -> tuple[float, dict[tuple[str, str], Decimal]]:
    """The same plan, one credited line at a time in Python, in the per-line style of Odoo's and ERPNext's
    commission code, over the first ``limit`` credited lines; returns the seconds it took and the payouts
    (payee, component) → amount, which equal the engine's on the same lines (a test holds it).

    It does the work the engine's timed run does, no more, no less: read each row (from the Arrow table into
    Python values — Decimals for the amounts — and a dict per row, as an ORM reads a record; the engine's time
    includes its scan of the same columns, so this reading is timed too, where it used to happen before the clock
    started), keep the lines of the period, look up the line's rate (product row, else category row, else the
    default), apply the split share, accumulate the commission's basis per rate row, the accelerator's measure for
    the seller and — roll-up — their manager, and the SPIFF's units; then per payee the marginal tiers on
    attainment with the cap, every amount rounded once (half up). Plain dicts and Decimals, no tricks either way."""
    started = time.perf_counter()
    manager = {row["payee"]: row["manager"] for row in inputs.hierarchy.to_pylist()}
    quota = {row["payee"]: row["quota"] for row in inputs.quotas.to_pylist()}
    rates = {"C0": Decimal("0.02"), "C1": Decimal("0.025"), "C2": Decimal("0.03"), "C3": Decimal("0.035")}
    first, end = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    spiff_start, spiff_end = dt.date(2026, 3, 1), dt.date(2026, 3, 15)
    basis: dict[tuple[str, str], Decimal] = {}  # (payee, rate row) → credited amount
    measure: dict[str, Decimal] = {}
    units: dict[str, Decimal] = {}
    names = ("payee", "share", "net", "product", "category", "date", "quantity")
    # rows are fetched in batches, as an ORM's cursor does (not all at once: that would only cost memory)
    for batch in inputs.credited.slice(0, limit).select(list(names)).to_batches(max_chunksize=65_536):
        columns = []
        for column in batch.columns:
            if pa.types.is_dictionary(column.type):  # decoded in C first: per-element decoding would be an artefact
                column = column.cast(column.type.value_type)
            columns.append(column.to_pylist())
        for row in (dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)):
            if not first <= row["date"] < end:
                continue
            payee, share = row["payee"], row["share"]
            credit = row["net"] * share
            if row["product"] == "P7":
                key = "product P7"
            elif row["category"] in rates:
                key = "category " + row["category"]
            else:
                key = "default"
            basis[(payee, key)] = basis.get((payee, key), Decimal(0)) + credit
            for who in (payee, manager.get(payee)):
                if who is not None:
                    measure[who] = measure.get(who, Decimal(0)) + credit
            if row["product"] in ("P1", "P2") and spiff_start <= row["date"] <= spiff_end:
                units[payee] = units.get(payee, Decimal(0)) + row["quantity"] * share
    payouts: dict[tuple[str, str], Decimal] = {}
    commission: dict[str, Decimal] = {}
    for (payee, key), amount in basis.items():
        rate = Decimal("0.05") if key == "product P7" else rates.get(key.removeprefix("category "), Decimal("0.01"))
        commission[payee] = commission.get(payee, Decimal(0)) + amount * rate
    for payee, earned in commission.items():
        payouts[(payee, "commission")] = round_money(earned)
    bands = [(Decimal(0), Decimal("1.0"), Decimal("0.005")), (Decimal("1.0"), Decimal("1.5"), Decimal("0.01")),
             (Decimal("1.5"), None, Decimal("0.02"))]
    for payee, total in measure.items():
        q = quota[payee]
        earned = sum(((min(total, hi * q) if hi is not None else total) - lo * q) * r
                     for lo, hi, r in bands if total > lo * q)
        payouts[(payee, "accelerator")] = round_money(min(earned, Decimal(20000)))
    for payee, count in units.items():
        payouts[(payee, "launch")] = round_money(count * 20)
    return time.perf_counter() - started, payouts


def main(args: argparse.Namespace) -> int:
    print(f"Generating {args.lines:,} order lines for {args.payees:,} payees …", flush=True)
    started = time.perf_counter()
    inputs, floor_table = generate(args.lines, args.payees)
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    (run, run_cpu), (floor, floor_cpu) = timings(inputs, floor_table, args.repeat)
    python_lines = min(args.python_lines, inputs.credited.num_rows)
    python = per_row_python(inputs, python_lines)[0] * inputs.credited.num_rows / python_lines
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print()
    print(f"{'figure':<62} {'measured':>12} {'goal':>10} {'ratio':>7}")
    rows = [
        (f"plan run, {args.lines:,} lines, {args.payees:,} payees (best of {args.repeat})", f"{run:.2f} s", "", ""),
        ("floor: bare GROUP BY payee, sum(net) in DuckDB", f"{floor:.2f} s", "", ""),
        ("run ÷ floor", f"{run / floor:.1f}×", "≤ 3×", f"{run / floor / 3:.2f}"),
        (f"  the same in CPU time: {run_cpu:.2f} s ÷ {floor_cpu:.2f} s", f"{run_cpu / floor_cpu:.1f}×", "", ""),
        (f"per-row Python, {python_lines:,} credited lines, scaled", f"{python:.1f} s", "", ""),
        ("speed-up over per-row Python", f"{python / run:.0f}×", "≥ 100×", f"{100 / (python / run):.2f}"),
        ("peak memory of this process", f"{peak_gb:.2f} GB", "≤ 3 GB", f"{peak_gb / 3:.2f}"),
    ]
    for name, measured, goal, ratio in rows:
        print(f"{name:<62} {measured:>12} {goal:>10} {ratio:>7}")
    return 0
