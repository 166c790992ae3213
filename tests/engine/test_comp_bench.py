"""``salesops comp bench``: its per-row Python baseline pays what the engine pays (so the speed-up compares the
same work), and the command prints every figure with its goal."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pyarrow as pa
import pytest

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


FILTERED = """
plan: filtered
effective_from: 2026-01-01
components:
  - id: east
    name: East and south, two categories
    credit: {filter: {regions: [R1, R2], categories: [C3, C5, C99]}, roll_up: {levels: 1}}
    rate:
      table:
        default: 0.01
        entries: [{category: C3, rate: 0.02}, {product: P15, rate: 0.04}, {product: P999, rate: 0.5}]
  - id: nowhere
    name: A region no line has
    credit: {filter: {regions: [R9]}}
    rate: {flat: 0.1}
  - id: push
    name: Category SPIFF
    spiff: {categories: [C4], start: 2026-03-10, end: 2026-03-20, per_line: 5}
"""


@pytest.mark.parametrize("text", [bench.PLAN, FILTERED], ids=["bench", "filtered"])
def test_codes_compared_as_dictionary_indices_pay_what_strings_pay(text):
    # given the same lines twice: with the code columns as dictionaries (what the engine compares by index)
    # and as plain strings
    inputs, _ = bench.generate(20_000, 200)
    plain = inputs.credited
    for name in calc.CODE_COLUMNS:
        plain = plain.set_column(plain.schema.get_field_index(name), name, plain.column(name).cast(pa.string()))
    plan, period = load_plan(text), FiscalCalendar().parse("2026-03")
    # when both are calculated
    encoded = calc.calculate(plan, inputs, period)
    strings = calc.calculate(plan, dataclasses.replace(inputs, credited=plain), period)
    # then every output is the same, row for row (a code no line has matches nothing either way)
    for name in ("payouts", "details", "credits"):
        assert getattr(encoded, name).equals(getattr(strings, name)), name
    paid = {p["component"] for p in encoded.payouts.to_pylist() if p["amount"]}
    if text == FILTERED:
        rows = {(d["component"], d["rule"]) for d in encoded.details.to_pylist() if d["earned"]}
        assert {("east", "category C3"), ("east", "product P15"), ("east", "default")} <= rows
        assert paid == {"east", "push"}
    else:
        assert paid == {"commission", "accelerator", "launch"}
