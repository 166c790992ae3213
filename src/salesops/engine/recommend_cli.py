"""``salesops recommend``: product recommendations over files, with no database.

- ``salesops recommend evaluate --lines LINES.csv|.parquet --customers CUSTOMERS.csv|.parquet --cut 2026-07-01
  [--k 5]``: train on the lines dated before the cut, test on the purchases on or after it; prints precision@k
  and recall@k of the recommender next to the popularity-within-segment baseline (definitions in
  :func:`salesops.engine.recommend.evaluate`).
- ``salesops recommend bench [--lines 1000000]``: the figures (see :mod:`salesops.engine.recommend_bench`).

Files (column names case-insensitive): lines ``customer``, ``product``, ``date`` (YYYY-MM-DD) and ``quantity``
(or ``net`` when there is no quantity; a negative value is a return); customers ``customer``, ``segment``. DuckDB
reads and checks them in bulk; every bad row is reported with its file, row (the header is row 1), column and
value, and nothing is computed while any remains. Like ``salesops comp``, it runs before Django is set up.
"""

# SQL here is built from our own constants and from the files' column names, quoted as identifiers.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from salesops.engine import recommend
from salesops.engine.comp.files import MAX_LISTED, FileProblems, _problems, _quote, _source


def read_files(lines: Path, customers: Path) -> tuple[pa.Table, pa.Table]:
    """(order lines, customers) as the engine's tables; :class:`FileProblems` lists every bad row."""
    con = duckdb.connect()
    try:
        return _read(con, lines, customers)
    finally:
        con.close()


def _read(con: duckdb.DuckDBPyConnection, lines: Path, customers: Path) -> tuple[pa.Table, pa.Table]:
    lname, cname = lines.name, customers.name
    cols = _source(con, lines, "lines")
    ccols = _source(con, customers, "customers")
    problems = [f"{lname}: needs a column {name}" for name in ("customer", "product", "date") if name not in cols]
    measure = next((name for name in ("quantity", "net") if name in cols), None)
    if measure is None:
        problems.append(f"{lname}: needs a column quantity or net")
    problems += [f"{cname}: needs a column {name}" for name in ("customer", "segment") if name not in ccols]
    if problems:
        raise FileProblems(problems)
    m = _quote(measure or "quantity")
    line_checks = [
        "SELECT _row, 'customer', customer, 'empty' FROM raw_lines WHERE coalesce(customer, '') = ''",
        "SELECT _row, 'product', product, 'empty' FROM raw_lines WHERE coalesce(product, '') = ''",
        "SELECT _row, 'date', date, 'not a date (YYYY-MM-DD)' FROM raw_lines "
        "WHERE try_strptime(date, '%Y-%m-%d') IS NULL",
        f"SELECT _row, '{measure}', {m}, 'not a number' FROM raw_lines WHERE try_cast({m} AS DECIMAL(18,4)) IS NULL",
        f"SELECT _row, 'customer', customer, 'no such customer in {cname.replace(chr(39), chr(39) * 2)}' "
        "FROM raw_lines WHERE coalesce(customer, '') <> '' "
        "AND customer NOT IN (SELECT customer FROM raw_customers WHERE customer IS NOT NULL)",
    ]
    problems += _problems(con, " UNION ALL ".join(line_checks) + f" ORDER BY 1, 2 LIMIT {MAX_LISTED}", lname)
    customer_checks = [
        "SELECT _row, 'customer', customer, 'empty' FROM raw_customers WHERE coalesce(customer, '') = ''",
        "SELECT _row, 'segment', segment, 'empty' FROM raw_customers WHERE coalesce(segment, '') = ''",
        """SELECT _row, 'customer', customer, 'the same customer is on row ' || first_row FROM (
               SELECT _row, customer, min(_row) OVER (PARTITION BY customer) AS first_row FROM raw_customers
               WHERE coalesce(customer, '') <> '') WHERE _row > first_row""",
    ]
    problems += _problems(con, " UNION ALL ".join(customer_checks) + f" ORDER BY 1, 2 LIMIT {MAX_LISTED}", cname)
    if problems:
        raise FileProblems(problems[:MAX_LISTED] + ([f"… and {len(problems) - MAX_LISTED} more"]
                                                    if len(problems) > MAX_LISTED else []))
    order_lines = con.sql(f"""
        SELECT customer, product, try_strptime(date, '%Y-%m-%d')::DATE AS date,
               CAST({m} AS DECIMAL(18,4)) AS {_quote(measure or 'quantity')}
        FROM raw_lines ORDER BY _row""").to_arrow_table()
    customer_table = con.sql("SELECT customer, segment FROM raw_customers ORDER BY _row").to_arrow_table()
    return order_lines, customer_table


def evaluate_command(args: argparse.Namespace) -> int:
    try:
        cut = dt.date.fromisoformat(args.cut)
    except ValueError:
        print(f"--cut {args.cut}: not a date (YYYY-MM-DD)", file=sys.stderr)
        return 1
    if args.k < 1:
        print(f"--k {args.k}: at least 1", file=sys.stderr)
        return 1
    try:
        lines, customers = read_files(Path(args.lines), Path(args.customers))
    except FileProblems as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    result = recommend.evaluate(lines, customers, cut, k=args.k)
    print(f"trained on the lines before {cut}; tested on {result.customers:,} customer(s) who bought something new "
          f"on or after it (k = {result.k})")
    print(f"{'':<24} {'precision@' + str(result.k):>12} {'recall@' + str(result.k):>10}")
    print(f"{'recommender':<24} {result.precision:>12.3f} {result.recall:>10.3f}")
    print(f"{'popularity in segment':<24} {result.baseline_precision:>12.3f} {result.baseline_recall:>10.3f}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from salesops.engine import recommend_bench

    return recommend_bench.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesops recommend", description="Product recommendations over files.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("evaluate", help="precision@k and recall@k on a time hold-out, next to a baseline")
    p.add_argument("--lines", required=True, help="order lines, CSV or Parquet: customer, product, date, quantity")
    p.add_argument("--customers", required=True, help="customers, CSV or Parquet: customer, segment")
    p.add_argument("--cut", required=True, help="first day of the test window (YYYY-MM-DD)")
    p.add_argument("--k", type=int, default=5)
    p.set_defaults(run=evaluate_command)
    p = sub.add_parser("bench", help="print the speed, memory and quality figures on generated data")
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--customers", type=int, default=0, help="default: one per 20 lines")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--k", type=int, default=5)
    p.set_defaults(run=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
