"""``salesops comp bench``: its per-row Python baseline pays what the engine pays (so the speed-up compares the
same work), and the command prints every figure with its goal."""

from __future__ import annotations

from decimal import Decimal

from salesops.engine.comp import bench, calc, cli
from salesops.engine.comp.plan import load_plan
from salesops.engine.periods import FiscalCalendar


def test_the_per_row_baseline_pays_what_the_engine_pays():
    # given the bench's generated lines (splits, roll-up, a rate table, tiers with a cap, a SPIFF)
    inputs, _ = bench.generate(40_000, 300)
    # when the engine and the per-row Python baseline both run the bench plan over all of them
    result = calc.calculate(load_plan(bench.PLAN), inputs, FiscalCalendar().parse("2026-03"), with_credits=False)
    _, per_row = bench.per_row_python(inputs, inputs.credited.num_rows)
    # then every payout is the same to the cent, and there is something to compare in each component
    engine = {(p["payee"], p["component"]): p["amount"] for p in result.payouts.to_pylist() if p["amount"]}
    assert {k: v for k, v in per_row.items() if v} == engine
    assert {component for _, component in engine} == {"commission", "accelerator", "launch"}
    capped = {d["payee"] for d in result.details.to_pylist() if d["rule"] == "cap"}
    assert capped and all(engine[(payee, "accelerator")] == Decimal(20000) for payee in capped)


def test_the_bench_prints_each_figure_with_its_goal(capsys):
    assert cli.main(["bench", "--lines", "20000", "--payees", "200", "--python-lines", "2000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for figure in ("plan run, 20,000 lines, 200 payees (best of 1)", "floor: bare GROUP BY payee, sum(net)",
                   "run ÷ floor", "≤ 3×", "speed-up over per-row Python", "≥ 100×", "peak memory", "≤ 3 GB"):
        assert figure in out
