"""``salesops comp``: compensation plans tested like code, with no database.

- ``salesops comp check PLAN.yaml``: validate a plan; every problem with its path and line; exit 1 if any.
- ``salesops comp calc --plan PLAN.yaml --transactions FILE --payees FILE [--quotas FILE] [--hierarchy FILE]
  [--scores FILE] [--payments FILE] [--balances FILE] [--customers FILE] --period 2026-03 --out DIR``: run the plan and write ``payouts.csv`` (one row per payee and component: the
  amount and its lineage — plan, version, period, measure, quota, attainment, the rules that paid), ``details.csv``
  (the rows each payout adds up), ``credits.csv`` (every credited order line behind each measure) and
  ``statements/<payee>.txt``, and ``balances.csv`` when the plan has a draw (the next period's ``--balances``).
- ``salesops comp bench``: the speed figures (see :mod:`salesops.engine.comp.bench`).

Like ``salesops targets``, it runs before Django is set up. Output CSV is UTF-8 with BOM (Excel shows Chinese
names). All text is English; the web app shows the same results translated.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from salesops.engine.comp import calc, files
from salesops.engine.comp.plan import PlanSchemaError, load_plan
from salesops.engine.periods import FiscalCalendar


def _plan(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise PlanSchemaError([f"{path}: cannot read it: {error.strerror}"]) from None
    return load_plan(text)


def check(args: argparse.Namespace) -> int:
    try:
        plan = _plan(Path(args.plan))
    except PlanSchemaError as error:
        for problem in error.problems:
            print(f"{args.plan}: {problem}", file=sys.stderr)
        return 1
    print(f"{args.plan}: plan {plan.plan!r} version {plan.version}, {len(plan.components)} component(s): "
          f"{', '.join(c.id for c in plan.components)} — valid")
    return 0


def calc_command(args: argparse.Namespace) -> int:
    calendar = FiscalCalendar(args.fiscal_year_start)
    try:
        plan = _plan(Path(args.plan))
        period = calendar.parse(args.period)
        if period.kind.value not in ("month", "quarter"):
            raise ValueError(f"--period {args.period}: a payout period is a month (2026-03) or a quarter (2026-Q1)")
        inputs = files.read_inputs(*(Path(name) if name else None for name in (
            args.transactions, args.payees, args.quotas, args.hierarchy, args.scores, args.payments,
            args.balances, args.customers)))
        result = calc.calculate(plan, inputs, period, calendar)
    except (PlanSchemaError, files.FileProblems, calc.InputError) as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 1
    out = Path(args.out)
    write_results(out, plan, period.code, inputs, result)
    total = sum((r["amount"] for r in result.payouts.to_pylist()), calc.Decimal(0))
    print(f"{plan.plan} v{plan.version}, {period.code}: {result.payouts.num_rows} payout(s), total {total:,.2f} "
          f"{plan.currency} → {out}")
    return 0


def write_results(out: Path, plan, period_code: str, inputs: calc.CompInputs, result: calc.CompResult) -> None:
    (out / "statements").mkdir(parents=True, exist_ok=True)
    names = dict(zip(inputs.payees.column("payee").to_pylist(), inputs.payees.column("name").to_pylist(),
                     strict=True))
    details: dict[tuple[str, str], list[dict]] = {}
    for row in _texts(result.details):
        details.setdefault((row["payee"], row["component"]), []).append(row)
    payouts = _texts(result.payouts)
    with (out / "payouts.csv").open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["plan", "version", "period", "payee", "name", "component", "amount", "earned", "measure",
                         "quota", "attainment", "rules"])
        for row in payouts:
            rules = "; ".join(f"{d['rule']}: {d['basis'] or '—'} × {d['rate']} = {d['earned']}"
                              for d in details.get((row["payee"], row["component"]), []))
            writer.writerow([plan.plan, plan.version, period_code, row["payee"], names.get(row["payee"], ""),
                             row["component"], row["amount"], row["earned"], row["measure"], row["quota"],
                             row["attainment"], rules])
    _write_table(out / "details.csv", result.details)
    _write_table(out / "credits.csv", result.credits)
    if result.balances.num_rows:
        _write_table(out / "balances.csv", result.balances)
    lines_of: dict[tuple[str, str], int] = {}
    for payee, component in zip(result.credits.column("payee").to_pylist(),
                                 result.credits.column("component").to_pylist(), strict=True):
        lines_of[(payee, component)] = lines_of.get((payee, component), 0) + 1
    by_payee: dict[str, list[dict]] = {}
    for row in payouts:
        by_payee.setdefault(row["payee"], []).append(row)
    for payee, rows in by_payee.items():
        total = sum((calc.Decimal(r["amount"]) for r in rows), calc.Decimal(0))
        text = [f"Statement — {names.get(payee, '')} ({payee})", f"Plan {plan.plan} v{plan.version}, period "
                f"{period_code}", f"Total {total:,.2f} {plan.currency}", ""]
        for row in rows:
            component = plan.component(row["component"])
            text.append(f"{component.name or component.id}: {calc.Decimal(row['amount']):,.2f}")
            if row["quota"]:
                text.append(f"  measure {row['measure']} of quota {row['quota']} = attainment {row['attainment']}")
            else:
                text.append(f"  measure {row['measure']}")
            for d in details.get((payee, row["component"]), []):
                text.append(f"  {d['rule']}: {d['basis'] or '—'} × {d['rate']} = {d['earned']}")
            text.append(f"  from {lines_of.get((payee, row['component']), 0)} credited order line(s): credits.csv")
            text.append("")
        (out / "statements" / f"{_safe(payee)}.txt").write_text("\n".join(text), encoding="utf-8")


def _texts(table) -> list[dict]:
    """Rows with every amount as exact text (cents when that loses nothing, else every digit needed)."""
    def cell(key, value):
        if value is None:
            return ""
        if isinstance(value, calc.Decimal):
            return f"{value:f}" if key == "attainment" else calc.text(value)  # attainment: 1.3000 = 130 %
        return value
    return [{k: cell(k, v) for k, v in row.items()} for row in table.to_pylist()]


def _write_table(path: Path, table) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.column_names)
        for row in _texts(table):
            writer.writerow(row.values())


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or "payee"


def _bench(args: argparse.Namespace) -> int:
    from salesops.engine.comp import bench

    return bench.main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesops comp", description="Compensation plans over files.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate a plan file")
    p.add_argument("plan")
    p.set_defaults(run=check)
    p = sub.add_parser("calc", help="run a plan over transaction files")
    p.add_argument("--plan", required=True)
    p.add_argument("--transactions", required=True, help="CSV or Parquet (see docs/plans.md)")
    p.add_argument("--payees", required=True)
    p.add_argument("--quotas")
    p.add_argument("--hierarchy", help="dated reporting lines: payee, manager, valid_from, valid_to")
    p.add_argument("--scores", help="MBO scores: payee, component, period, score")
    p.add_argument("--payments", help="payments for recognise: paid: line_id, date, amount")
    p.add_argument("--balances", help="draw balances at the start of the period (the last run's balances.csv)")
    p.add_argument("--customers", help="first purchase dates for new_customers: customer, first_order_date")
    p.add_argument("--period", required=True, help="2026-03 or 2026-Q1")
    p.add_argument("--fiscal-year-start", type=int, default=1, help="first month of the fiscal year (1)")
    p.add_argument("--out", required=True, help="folder for payouts.csv, details.csv, credits.csv, statements/")
    p.set_defaults(run=calc_command)
    p = sub.add_parser("bench", help="print the speed figures (10M lines, 10,000 payees)")
    p.add_argument("--lines", type=int, default=10_000_000)
    p.add_argument("--payees", type=int, default=10_000)
    p.add_argument("--python-lines", type=int, default=1_000_000, help="lines for the per-row Python comparison")
    p.add_argument("--repeat", type=int, default=5, help="runs and floors timed, in turns (the best of each)")
    p.set_defaults(run=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
