"""Exactness and robustness around a run: a forked process calculates after its parent did, codes listed twice in
a dictionary are still found, a credit recognised on invoice sums its units exactly, as booked, and a tier edge
keeps every decimal it has."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from decimal import Decimal

import pyarrow as pa
import pytest

from salesops.engine.comp import calc
from salesops.engine.comp.plan import load_plan
from salesops.engine.periods import FiscalCalendar
from tests.engine.comp_inputs import inputs, line

D = Decimal
MARCH = FiscalCalendar().parse("2026-03")
FLAT = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    credit: {filter: {products: [P1]}}
    rate: {flat: 0.1}
"""


def amounts(result) -> dict[tuple[str, str], Decimal]:
    return {(p["payee"], p["component"]): p["amount"] for p in result.payouts.to_pylist()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_process_calculates_after_its_parent_did():
    # given a parent process that has calculated (so it holds the process's DuckDB database)
    data = inputs([line("L1", "2026-03-05", "100.00")], [("L1", "alice", 100)], ["alice"])
    assert amounts(calc.calculate(load_plan(FLAT), data, MARCH)) == {("alice", "c"): D("10.00")}
    # when a forked child calculates too (a Celery prefork worker, a preloaded web server)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports by its exit code, and never returns to pytest
        ok = False
        try:
            ok = amounts(calc.calculate(load_plan(FLAT), data, MARCH)) == {("alice", "c"): D("10.00")}
        finally:
            os._exit(0 if ok else 1)
    # then it finishes, with the same payout (it used to hang closing the copy of its parent's database)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked process hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(done[1]) == 0


def test_a_code_listed_twice_in_a_dictionary_is_found_at_both_places():
    # given lines whose product dictionary lists P1 twice (Arrow allows it), lines pointing at each copy
    data = inputs([line("L1", "2026-03-05", "100.00"), line("L2", "2026-03-06", "50.00")],
                  [("L1", "alice", 100), ("L2", "alice", 100)], ["alice"])
    column = data.credited.column("product").combine_chunks()
    twice = pa.DictionaryArray.from_arrays(pa.array([0, 1], column.type.index_type),
                                           pa.array(["P1", "P1"]))
    order = [row["line_id"] for row in data.credited.to_pylist()]
    assert order == ["L1", "L2"]
    credited = data.credited.set_column(data.credited.schema.get_field_index("product"), "product", twice)
    # when a plan filters on P1, then both lines count
    result = calc.calculate(load_plan(FLAT), calc.CompInputs(credited, data.payees), MARCH)
    assert amounts(result) == {("alice", "c"): D("15.00")}


def test_units_recognised_on_invoice_are_summed_exactly_as_booked_ones():
    # given a line of 100.0001 units split 99.9999 % / 0.0001 %: alice's credit has ten decimals, 99.9999999999,
    # just under a band edge at 100 units
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: units
    credit: {{type: units, recognise: {recognise}}}
    rate: {{tiers: {{"on": amount, mode: whole, bands: [{{from: 0, to: 100, rate: 1}}, {{from: 100, rate: 2}}]}}}}
"""
    sale = {**line("L1", "2026-03-05", "1000.00", quantity="100.0001"), "invoiced_on": dt.date(2026, 3, 6)}
    data = calc.CompInputs.from_lines(
        pa.Table.from_pylist([sale], pa.schema([*calc.RETURNS_LINE_SCHEMA, ("invoiced_on", pa.date32())])),
        pa.Table.from_pylist([{"line_id": "L1", "payee": "alice", "share": D("0.999999")},
                              {"line_id": "L1", "payee": "bob", "share": D("0.000001")}], calc.CREDIT_SCHEMA),
        pa.Table.from_pylist([{"payee": p, "name": p} for p in ("alice", "bob")], calc.PAYEE_SCHEMA))
    # when the plan recognises the credit when booked, and when invoiced (the same month)
    booked, invoiced = (calc.calculate(load_plan(text.format(recognise=r)), data, MARCH)
                        for r in ("booked", "invoiced"))
    # then both pay alice the lower band on every decimal of her credit (it was rounded up to 100 on invoice)
    assert amounts(invoiced) == amounts(booked) == {("alice", "units"): D("100.00"), ("bob", "units"): D("0.00")}


def test_a_tier_edge_with_more_decimals_than_the_measure_keeps_them_all():
    # given attainment bands split at 0.3333333 of a quota of 0.03: the edge is at 0.009999999 (nine decimals),
    # one unit of the ninth decimal below a measure of 0.01
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    quota: {source: fixed, amount: 0.03}
    rate:
      tiers:
        "on": attainment
        mode: marginal
        bands: [{from: 0, to: 0.3333333, rate: 1}, {from: 0.3333333, rate: 2}]
"""
    data = inputs([line("L1", "2026-03-05", "0.01")], [("L1", "alice", 100)], ["alice"])
    result = calc.calculate(load_plan(text), data, MARCH)
    # then the first band pays 0.009999999 at 1 and the second 0.000000001 at 2 (the edge cut to eight
    # decimals, 0.00999999, would have paid 0.00999999 + 0.000000002)
    bands = [(d["basis"], d["earned"]) for d in result.details.to_pylist()]
    assert bands == [(D("0.01000000"), D("0.009999999")), (D("0.00000000"), D("0.000000002"))]
    assert result.payouts.to_pylist()[0]["earned"] == D("0.010000001")
