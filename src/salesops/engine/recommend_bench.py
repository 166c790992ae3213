"""Synthetic purchase history with planted cross-sell structure, and ``salesops recommend bench``.

:func:`generate` builds order lines inside DuckDB (no Python loop over lines; the same ``seed`` gives the same
tables). Its structure, so that a hold-out evaluation means something:

- 800 products ``P0000``–``P0799`` in 100 families of 8; each family is four *pairs* (products 2i and 2i + 1);
- 5 segments ``S0``–``S4``; each customer is interested in 3 families, 85 % of the time one of its segment's 20
  home families (skewed: the first ones far more often), else any family;
- in each family of interest the customer buys two pairs, both products of each (the cross-sell: who buys
  P0010 buys P0011);
- a quarter of the customer's 12 product slots is noise: a product drawn from a global popularity skew
  (low numbers far more often);
- each line picks a customer and one of its slots; dates are spread over 2025-01-01 … 2026-12-30, so a pair
  is often half bought before 2026-07-01 and completed after it; 3 % of lines are returns (quantity −1).

``salesops recommend bench`` prints the time to mine the rules and recommend for every customer from
``--lines`` lines (goal ≤ 30 s), the peak memory (goal ≤ 2 GB), and precision@5 / recall@5 against the
popularity-within-segment baseline on the same data (cut 2026-07-01).
"""

# SQL here is built from our own constants and from integers (int() of the arguments): nothing else enters it.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

import duckdb
import pyarrow as pa

from salesops.engine import recommend

CUT = dt.date(2026, 7, 1)
SLOTS = 12


def generate(customers: int, lines: int, seed: int = 1) -> tuple[pa.Table, pa.Table]:
    """(order lines: customer, product, date, quantity, net; customers: customer, segment)."""
    customers, lines, seed = int(customers), int(lines), int(seed)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 1")  # row_number() over range() is then the same every run
        # h: a hash of the four values (DuckDB's multi-argument hash is too weakly mixed in its low bits for
        # draws by modulo); u ∈ [0, 1): a uniform draw from it
        con.execute("CREATE MACRO h(a, b, c, d) AS hash(concat_ws(':', a, b, c, d))")
        con.execute("CREATE MACRO u(a, b, c, d) AS (h(a, b, c, d) % 1000003) / 1000003.0")
        con.execute(f"""
            CREATE TABLE c AS SELECT i AS cid, 'C' || lpad(i::VARCHAR, 6, '0') AS customer,
                (h(i, {seed}, 1, 0) % 5)::INTEGER AS seg FROM range({customers}) t(i)""")
        con.execute(f"""
            CREATE TABLE slot AS
            WITH s AS (SELECT cid, seg, j, j // 4 AS g FROM c, range({SLOTS}) t(j)),
            f AS (SELECT *, CASE WHEN u(cid, g, {seed}, 10) < 0.85
                                 THEN seg * 20 + floor(20 * pow(u(cid, g, {seed}, 11), 2))::INTEGER
                                 ELSE floor(100 * u(cid, g, {seed}, 12))::INTEGER END AS family,
                         floor(4 * u(cid, g, {seed}, 13))::INTEGER AS pair1,
                         1 + floor(3 * u(cid, g, {seed}, 14))::INTEGER AS step
                  FROM s)
            SELECT cid, j, CASE WHEN u(cid, j, {seed}, 15) < 0.25
                                THEN floor(800 * pow(u(cid, j, {seed}, 16), 3))::INTEGER
                                ELSE family * 8 + ((pair1 + CASE WHEN j % 4 < 2 THEN 0 ELSE step END) % 4) * 2
                                     + j % 2 END AS pid
            FROM f""")
        order_lines = con.sql(f"""
            WITH l AS (SELECT i, (h(i, {seed}, 40, 0) % {customers})::INTEGER AS cid,
                              (h(i, {seed}, 41, 0) % {SLOTS})::INTEGER AS j FROM range({lines}) t(i))
            SELECT c.customer, 'P' || lpad(slot.pid::VARCHAR, 4, '0') AS product,
                   DATE '2025-01-01' + (h(l.i, {seed}, 42, 0) % 729)::INTEGER AS date,
                   CASE WHEN h(l.i, {seed}, 43, 0) % 100 < 3 THEN -1
                        ELSE 1 + (h(l.i, {seed}, 44, 0) % 4)::INTEGER END::DECIMAL(18,4) AS quantity,
                   (quantity * (10 + slot.pid % 90))::DECIMAL(18,2) AS net
            FROM l JOIN c USING (cid) JOIN slot USING (cid, j) ORDER BY l.i""").to_arrow_table()
        customer_table = con.sql("SELECT customer, 'S' || seg AS segment FROM c ORDER BY cid").to_arrow_table()
        return order_lines, customer_table
    finally:
        con.close()


def main(args: argparse.Namespace) -> int:
    customers = args.customers or max(100, args.lines // 20)
    print(f"Generating {args.lines:,} order lines for {customers:,} customers …", flush=True)
    started = time.perf_counter()
    lines, customer_table = generate(customers, args.lines, args.seed)
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    recs = recommend.recommend(lines, customer_table, k=args.k)
    seconds = time.perf_counter() - started
    covered = len(set(recs.column("customer").to_pylist()))
    started = time.perf_counter()
    result = recommend.evaluate(lines, customer_table, CUT, k=args.k)
    evaluation_seconds = time.perf_counter() - started
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    k = args.k
    print()
    print(f"{'figure':<66} {'measured':>10} {'goal':>9} {'ratio':>6}")
    rows = [
        (f"rules + top {k} for every customer, {args.lines:,} lines", f"{seconds:.2f} s", "≤ 30 s",
         f"{seconds / 30:.2f}"),
        (f"  recommendations: {recs.num_rows:,} for {covered:,} of {customers:,} customers", "", "", ""),
        ("peak memory of this process", f"{peak_gb:.2f} GB", "≤ 2 GB", f"{peak_gb / 2:.2f}"),
        (f"hold-out at {CUT}: {result.customers:,} test customers ({evaluation_seconds:.1f} s)", "", "", ""),
        (f"  precision@{k}: recommender / popularity in segment",
         f"{result.precision:.3f}", f"> {result.baseline_precision:.3f}",
         f"{result.precision / result.baseline_precision:.2f}" if result.baseline_precision else "—"),
        (f"  recall@{k}: recommender / popularity in segment",
         f"{result.recall:.3f}", f"> {result.baseline_recall:.3f}",
         f"{result.recall / result.baseline_recall:.2f}" if result.baseline_recall else "—"),
    ]
    for name, measured, goal, ratio in rows:
        print(f"{name:<66} {measured:>10} {goal:>9} {ratio:>6}")
    return 0
