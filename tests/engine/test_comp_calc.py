"""The commission engine on hand-checked examples: tiers in every mode, rate tables, roll-ups, gates, caps,
SPIFFs, windows; exact decimals rounded once; identical bytes per run and per payee partition."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.engine.comp import calc
from salesops.engine.comp.plan import load_plan
from salesops.engine.periods import FiscalCalendar
from tests.engine.comp_inputs import inputs, line

D = Decimal
MARCH = FiscalCalendar().parse("2026-03")

TIERS = """
plan: 2026 提成
effective_from: 2026-01-01
components:
  - id: commission
    quota: {{source: fixed, amount: 1000000}}
    rate:
      tiers:
        mode: {mode}
        bands:
          - {{from: 0, to: 1.0, rate: 0.02}}
          - {{from: 1.0, to: 1.5, rate: 0.04}}
          - {{from: 1.5, rate: 0.06}}
"""


def payouts(result) -> dict[tuple[str, str], D]:
    return {(r["payee"], r["component"]): D(r["amount"]) for r in result.payouts.to_pylist()}


def one_sale(amount, payee="alice"):
    return inputs([line("L1", "2026-03-10", amount)], [("L1", payee, 100)], [payee])


@pytest.mark.parametrize(("mode", "expected"), [("marginal", D("32000.00")), ("whole", D("52000.00"))])
def test_the_issues_tier_example(mode, expected):
    # quota 1,000,000, actual 1,300,000: marginal 1,000,000 × 2% + 300,000 × 4%; whole-amount 1,300,000 × 4%
    result = calc.calculate(load_plan(TIERS.format(mode=mode)), one_sale("1300000.00"), MARCH)
    assert payouts(result) == {("alice", "commission"): expected}
    row = result.payouts.to_pylist()[0]
    assert (row["measure"], row["quota"], row["attainment"]) == (D("1300000"), D("1000000"), D("1.3000"))
    assert str(row["attainment"]) == "1.3000"  # four decimals, exact
    details = result.details.to_pylist()
    assert sum(D(d["earned"]) for d in details) == expected  # the payout is its detail rows' sum
    if mode == "marginal":
        assert [(d["band"], D(d["basis"]), D(d["rate"])) for d in details] == [
            (0, D(1000000), D("0.02")), (1, D(300000), D("0.04"))]


def test_interpolated_tiers_move_the_rate_inside_a_band():
    # 125% sits halfway between 100% (4%) and 150% (6%): 5% on everything
    result = calc.calculate(load_plan(TIERS.format(mode="interpolated")), one_sale("1250000.00"), MARCH)
    assert payouts(result)[("alice", "commission")] == D("62500.00")


@pytest.mark.parametrize(("boundary", "rate"), [("upper", D("0.04")), ("lower", D("0.02"))])
def test_a_value_exactly_on_an_edge_follows_the_boundary_setting(boundary, rate):
    text = TIERS.format(mode="whole").replace("mode: whole", f"mode: whole\n        boundary: {boundary}")
    result = calc.calculate(load_plan(text), one_sale("1000000.00"), MARCH)
    assert payouts(result)[("alice", "commission")] == D(1000000) * rate


def test_rounding_happens_once_half_up_by_default_and_by_the_plans_policy():
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    rate: {flat: 0.015}
"""
    # 0.3 × 1.5% = 0.0045 per line: three lines earn 0.0135 → 0.01 once (rounding each line would give 0.00)
    lines = [line(f"L{i}", "2026-03-10", "0.30") for i in range(3)]
    data = inputs(lines, [(f"L{i}", "alice", 100) for i in range(3)], ["alice"])
    assert payouts(calc.calculate(load_plan(text), data, MARCH))[("alice", "c")] == D("0.01")
    # 2.345 → 2.35 half up (四舍五入), 2.34 half even
    data = inputs([line("L1", "2026-03-10", "234.50")], [("L1", "alice", 100)], ["alice"])
    assert payouts(calc.calculate(load_plan(text.replace("0.015", "0.01")), data, MARCH))[("alice", "c")] == D("2.35")
    even = text.replace("0.015", "0.01").replace("components:", "rounding: half_even\ncomponents:")
    assert payouts(calc.calculate(load_plan(even), data, MARCH))[("alice", "c")] == D("2.34")


def test_a_split_line_credits_each_payee_their_share_and_managers_get_the_roll_up():
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    credit: {roll_up: {levels: 1}}
    rate: {flat: 0.1}
"""
    data = inputs([line("L1", "2026-03-10", "1000.00"), line("L2", "2026-03-20", "500.00")],
                  [("L1", "alice", 60), ("L1", "bob", 40), ("L2", "bob", 100)], ["alice", "bob", "carol", "dave"],
                  hierarchy=[("alice", "carol"), ("bob", "carol", "2026-01-01", "2026-03-15"),
                             ("bob", "dave", "2026-03-15")])
    result = calc.calculate(load_plan(text), data, MARCH)
    # carol: alice's 600 and bob's 400 (L1 was booked while bob reported to her); dave: bob's L2 after the move
    assert payouts(result) == {("alice", "c"): D("60.00"), ("bob", "c"): D("90.00"), ("carol", "c"): D("100.00"),
                               ("dave", "c"): D("50.00")}
    carol = [r for r in result.credits.to_pylist() if r["payee"] == "carol"]
    assert [(r["line_id"], r["seller"], r["level"], D(r["credit"])) for r in carol] == [
        ("L1", "alice", 1, D(600)), ("L1", "bob", 1, D(400))]


def test_a_rate_table_takes_the_product_row_over_the_category_row_over_the_default():
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    rate:
      table:
        default: 0.01
        entries:
          - {category: HW, rate: 0.03}
          - {product: HW-1, rate: 0.05}
"""
    data = inputs([line("L1", "2026-03-01", "100.00", product="HW-1", category="HW"),
                   line("L2", "2026-03-01", "100.00", product="HW-2", category="HW"),
                   line("L3", "2026-03-01", "100.00", product="SW-1", category="SW")],
                  [("L1", "a", 100), ("L2", "a", 100), ("L3", "a", 100)], ["a"])
    result = calc.calculate(load_plan(text), data, MARCH)
    assert payouts(result)[("a", "c")] == D("9.00")
    assert [(d["rule"], D(d["rate"])) for d in result.details.to_pylist()] == [
        ("category HW", D("0.03")), ("default", D("0.01")), ("product HW-1", D("0.05"))]


def test_a_gate_pays_nothing_below_it_and_a_cap_limits_the_payout_not_the_attainment():
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    quota: {source: input}
    gate: {min_attainment: 0.5}
    cap: {amount: 30000}
    rate: {tiers: {bands: [{from: 0, to: 1, rate: 0.02}, {from: 1, rate: 0.1}]}}
"""
    quotas = [("a", "c", "2026-03", "1000000"), ("b", "c", "2026-03", "1000000")]
    data = inputs([line("L1", "2026-03-01", "400000.00"), line("L2", "2026-03-01", "1200000.00")],
                  [("L1", "a", 100), ("L2", "b", 100)], ["a", "b"], quotas=quotas)
    result = calc.calculate(load_plan(text), data, MARCH)
    # a: 40% < the 50% gate; b: 20,000 + 20,000 = 40,000 capped at 30,000
    assert payouts(result) == {("a", "c"): D("0.00"), ("b", "c"): D("30000.00")}
    assert [d["rule"] for d in result.details.to_pylist() if d["payee"] == "b"][-1] == "cap"


def test_a_missing_quota_is_listed_by_payee():
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: c
    quota: {source: input}
    rate: {tiers: {bands: [{from: 0, rate: 0.02}]}}
"""
    with pytest.raises(calc.InputError) as error:
        calc.calculate(load_plan(text), one_sale("10.00"), MARCH)
    assert error.value.problems == ["component c: no quota for period 2026-03 for payee alice"]


def test_splits_not_adding_up_to_100_are_refused_naming_the_line():
    with pytest.raises(calc.InputError) as error:
        inputs([line("L1", "2026-03-01", "10.00")], [("L1", "a", 60), ("L1", "b", 30)], ["a", "b"])
    assert error.value.problems == ["line L1: split shares add up to 90.000000%, not 100%"]


def test_a_quarter_to_date_window_pays_earned_to_date_minus_earned_before():
    # tiers walk the quarter's total: February crosses 100% of the quarterly quota, March pays only the change
    text = TIERS.format(mode="whole").replace("quota: {source: fixed, amount: 1000000}",
                                               "window: quarter\n    quota: {source: fixed, amount: 1000000}")
    data = inputs([line("L1", "2026-01-10", "600000.00"), line("L2", "2026-03-10", "600000.00")],
                  [("L1", "a", 100), ("L2", "a", 100)], ["a"])
    feb = calc.calculate(load_plan(text), data, FiscalCalendar().parse("2026-01"))
    mar = calc.calculate(load_plan(text), data, MARCH)
    assert payouts(feb)[("a", "commission")] == D("12000.00")  # 600,000 × 2%
    assert payouts(mar)[("a", "commission")] == D("36000.00")  # 1,200,000 × 4% − 12,000


def test_a_spiff_pays_per_credited_unit_inside_its_dates():
    text = """
plan: p
effective_from: 2026-01-01
components:
  - id: launch
    spiff: {products: [NEW], start: 2026-03-10, end: 2026-03-20, per_unit: 50}
"""
    data = inputs([line("L1", "2026-03-15", "100.00", product="NEW", quantity=4),
                   line("L2", "2026-03-25", "100.00", product="NEW", quantity=10),
                   line("L3", "2026-03-15", "100.00", product="OLD", quantity=10)],
                  [("L1", "a", 50), ("L1", "b", 50), ("L2", "a", 100), ("L3", "a", 100)], ["a", "b"])
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("a", "launch"): D("100.00"),
                                                                      ("b", "launch"): D("100.00")}


def _bytes(result) -> bytes:
    import io

    import pyarrow.csv as pacsv

    out = io.BytesIO()
    for table in (result.payouts, result.details, result.credits):
        pacsv.write_csv(table, out)
    return out.getvalue()


def test_two_payee_partitions_give_exactly_the_rows_of_one_run():
    text = TIERS.format(mode="marginal").replace("  - id: commission\n", "  - id: commission\n    credit: {roll_up: {levels: 1}}\n")
    lines = [line(f"L{i}", f"2026-03-{1 + i % 28:02d}", f"{1000 + 37 * i}.00") for i in range(40)]
    credits = [(f"L{i}", ["a", "b", "c"][i % 3], 100) for i in range(40)]
    hierarchy = [("a", "m"), ("b", "m"), ("c", "n")]
    plan = load_plan(text)
    whole = calc.calculate(plan, inputs(lines, credits, ["a", "b", "c", "m", "n"], hierarchy), MARCH)
    first = calc.calculate(plan, inputs(lines, credits, ["a", "m"], hierarchy), MARCH)
    second = calc.calculate(plan, inputs(lines, credits, ["b", "c", "n"], hierarchy), MARCH)
    again = calc.calculate(plan, inputs(lines, credits, ["a", "b", "c", "m", "n"], hierarchy), MARCH)
    assert _bytes(again) == _bytes(whole)  # identical bytes run after run
    for name in ("payouts", "details", "credits"):
        merged = sorted(getattr(first, name).to_pylist() + getattr(second, name).to_pylist(),
                        key=lambda r: tuple(str(v) for v in r.values()))
        assert merged == sorted(getattr(whole, name).to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def plan_with(component: str, header: str = "") -> str:
    return f"plan: p\neffective_from: 2026-01-01\n{header}components:\n  - id: c\n{component}"


def test_each_side_of_a_longer_window_is_gated_on_its_own_measure():
    # quarter quota 1,000, gate 50 %: January's 300 was below the gate (earned nothing), the 600 to date is not
    text = plan_with("    window: quarter\n    quota: {source: fixed, amount: 1000}\n    gate: {min_attainment: 0.5}\n"
                     "    rate: {flat: 0.1}\n")
    data = inputs([line("L1", "2026-01-10", "300.00"), line("L2", "2026-03-10", "300.00")],
                  [("L1", "a", 100), ("L2", "a", 100)], ["a"])
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("a", "c"): D("60.00")}
    jan = calc.calculate(load_plan(text), data, FiscalCalendar().parse("2026-01"))
    assert payouts(jan) == {("a", "c"): D("0.00")}
    assert jan.details.to_pylist()[0]["rule"] == "gate: attainment below 50%"


@pytest.mark.parametrize("mode", ["whole", "marginal"])
def test_a_measure_between_bands_or_below_a_first_band_above_zero_earns_nothing_but_keeps_its_row(mode):
    text = plan_with(f"    rate:\n      tiers:\n        \"on\": amount\n        mode: {mode}\n        allow_gaps: true\n"
                     "        bands: [{from: 500, to: 1000, rate: 0.1}, {from: 2000, rate: 0.2}]\n")
    for amount in ("300.00", "1500.00"):
        result = calc.calculate(load_plan(text), one_sale(amount), MARCH)
        expected = D("50.00") if mode == "marginal" and amount == "1500.00" else D("0.00")  # 500–1,000 × 10%
        assert payouts(result) == {("alice", "c"): expected}, (mode, amount)


def test_rates_keep_all_their_decimals():
    text = plan_with("    rate: {tiers: {\"on\": amount, mode: whole, bands: [{from: 0, rate: 0.0012345}]}}\n")
    assert payouts(calc.calculate(load_plan(text), one_sale("1000000.00"), MARCH))[("alice", "c")] == D("1234.50")
    flat = plan_with("    rate: {flat: 0.0012345}\n")
    assert payouts(calc.calculate(load_plan(flat), one_sale("1000000.00"), MARCH))[("alice", "c")] == D("1234.50")


def test_an_attainment_cap_caps_the_measure_a_flat_rate_pays_on():
    text = plan_with("    quota: {source: fixed, amount: 1000}\n    cap: {attainment: 1.2}\n    rate: {flat: 0.1}\n")
    assert payouts(calc.calculate(load_plan(text), one_sale("2000.00"), MARCH)) == {("alice", "c"): D("120.00")}


def test_a_plan_pays_only_for_periods_it_is_in_effect_for():
    text = plan_with("    rate: {flat: 0.1}\n").replace("effective_from: 2026-01-01",
                                                        "effective_from: 2026-04-01\neffective_to: 2026-12-31")
    with pytest.raises(calc.InputError) as error:
        calc.calculate(load_plan(text), one_sale("10.00"), MARCH)
    assert error.value.problems == ["plan p v1 is in effect from 2026-04-01 to 2026-12-31, not for the whole of "
                                    "2026-03 (2026-03-01 to 2026-03-31)"]


def test_milestones_pay_each_level_reached_once_in_their_window():
    text = plan_with("    window: quarter\n    quota: {source: fixed, amount: 1000}\n"
                     "    bonus: {milestones: [{attainment: 0.5, amount: 100}, {attainment: 1.0, amount: 300}]}\n")
    data = inputs([line("L1", "2026-01-10", "600.00"), line("L2", "2026-03-10", "500.00")],
                  [("L1", "a", 100), ("L2", "a", 100)], ["a"])
    assert payouts(calc.calculate(load_plan(text), data, FiscalCalendar().parse("2026-01")))[("a", "c")] == D("100")
    assert payouts(calc.calculate(load_plan(text), data, FiscalCalendar().parse("2026-02")))[("a", "c")] == D("0")
    march = calc.calculate(load_plan(text), data, MARCH)  # 110 % to date: the 100 % milestone is new
    assert payouts(march)[("a", "c")] == D("300.00")
    assert [d["rule"] for d in march.details.to_pylist()] == [
        "milestone 50%", "milestone 50% (before 2026-03-01)", "milestone 100%"]


def test_an_mbo_bonus_is_the_managers_score_times_the_target():
    import pyarrow as pa

    text = plan_with("    bonus: {mbo_target: 10000}\n")
    data = one_sale("1.00")
    scores = pa.Table.from_pylist([{"payee": "alice", "component": "c", "period": "2026-03", "score": D("0.85")}],
                                  calc.SCORE_SCHEMA)
    data = calc.CompInputs(data.credited, data.payees, scores=scores)
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("alice", "c"): D("8500.00")}
    unscored = calc.calculate(load_plan(text), one_sale("1.00"), MARCH)
    assert payouts(unscored) == {("alice", "c"): D("0.00")}
    assert unscored.details.to_pylist()[0]["rule"] == "MBO: no score entered"


def test_a_hire_in_the_middle_of_the_month_has_a_prorated_quota_and_cap():
    import pyarrow as pa

    # joined on 2026-03-17: 15 of 31 days → quota 1,000,000 × 15/31 = 483,870.97; cap 31,000 × 15/31 = 15,000
    text = plan_with("    quota: {source: fixed, amount: 1000000}\n    cap: {amount: 31000}\n"
                     "    rate: {tiers: {bands: [{from: 0, to: 1, rate: 0.02}, {from: 1, rate: 0.1}]}}\n")
    data = inputs([line("L1", "2026-03-20", "600000.00")], [("L1", "alice", 100)], ["alice"])  # after joining
    payees = pa.Table.from_pylist([{"payee": "alice", "name": "alice", "start": dt.date(2026, 3, 17),
                                    "end": None}], calc.PAYEE_DATES_SCHEMA)
    data = calc.CompInputs(data.credited, payees)
    result = calc.calculate(load_plan(text), data, MARCH)
    row = result.payouts.to_pylist()[0]
    assert row["quota"] == D("483870.97")
    # 483,870.97 × 2% + 116,129.03 × 10% = 9,677.4194 + 11,612.903 = 21,290.32 → capped at 15,000.00
    assert row["amount"] == D("15000.00")
    unprorated = load_plan(text.replace("components:", "proration: none\ncomponents:"))
    assert calc.calculate(unprorated, data, MARCH).payouts.to_pylist()[0]["quota"] == D("1000000.00")


def test_paid_recognition_counts_each_payment_in_the_period_it_arrives():
    import pyarrow as pa

    text = plan_with("    credit: {recognise: paid}\n    rate: {flat: 0.1}\n")
    data = inputs([line("L1", "2026-02-10", "1000.00")], [("L1", "a", 60), ("L1", "b", 40)], ["a", "b"])
    payments = pa.Table.from_pylist([
        {"line_id": "L1", "date": dt.date(2026, 2, 20), "amount": D("300.00")},
        {"line_id": "L1", "date": dt.date(2026, 3, 5), "amount": D("500.00")}], calc.PAYMENT_SCHEMA)
    data = calc.CompInputs(data.credited, data.payees, payments=payments)
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("a", "c"): D("30.00"), ("b", "c"): D("20.00")}
    feb = calc.calculate(load_plan(text), data, FiscalCalendar().parse("2026-02"))
    assert payouts(feb) == {("a", "c"): D("18.00"), ("b", "c"): D("12.00")}
    assert [(r["payee"], r["line_id"], r["credit"]) for r in feb.credits.to_pylist()] == [
        ("a", "L1", D("180")), ("b", "L1", D("120"))]


def test_a_minimum_lifts_every_payee_to_it_and_a_minimum_above_the_cap_is_refused():
    text = plan_with("    minimum: {amount: 500}\n    rate: {flat: 0.1}\n")
    data = inputs([line("L1", "2026-03-10", "1000.00"), line("L2", "2026-03-10", "9000.00")],
                  [("L1", "a", 100), ("L2", "b", 100)], ["a", "b", "c"])
    result = calc.calculate(load_plan(text), data, MARCH)
    # a earned 100 → 500; b earned 900; c sold nothing and still gets the minimum
    assert payouts(result) == {("a", "c"): D("500.00"), ("b", "c"): D("900.00"), ("c", "c"): D("500.00")}
    from salesops.engine.comp.plan import PlanSchemaError

    with pytest.raises(PlanSchemaError, match="the minimum 500 is above the cap 100"):
        load_plan(text.replace("    minimum:", "    cap: {amount: 100}\n    minimum:"))


def test_per_transaction_tiers_pay_each_line_at_the_band_its_running_total_reaches():
    # bands: 2 % up to 1,000, 5 % from 1,000 (on amount). Lines of 600, 600, 600 in date order:
    # per transaction: 600 × 2 % (run 600) + 600 × 5 % (run 1,200) + 600 × 5 % (run 1,800) = 72;
    # on the total (whole): 1,800 × 5 % = 90 — the first line is lifted too
    text = plan_with('    rate:\n      tiers:\n        "on": amount\n        mode: whole\n'
                     '        accumulation: per_transaction\n'
                     '        bands: [{from: 0, to: 1000, rate: 0.02}, {from: 1000, rate: 0.05}]\n')
    data = inputs([line(f"L{i}", f"2026-03-0{i}", "600.00") for i in (1, 2, 3)],
                  [(f"L{i}", "a", 100) for i in (1, 2, 3)], ["a"])
    result = calc.calculate(load_plan(text), data, MARCH)
    assert payouts(result) == {("a", "c"): D("72.00")}
    assert [(d["band"], d["basis"]) for d in result.details.to_pylist()] == [(0, D(600)), (1, D(1200))]
    whole = calc.calculate(load_plan(text.replace("        accumulation: per_transaction\n", "")), data, MARCH)
    assert payouts(whole) == {("a", "c"): D("90.00")}
    # in a quarter window, February's lines set the running total and March pays only March's lines
    quarterly = text.replace("    rate:", "    window: quarter\n    rate:")
    data = inputs([line("L1", "2026-02-01", "900.00"), line("L2", "2026-03-02", "600.00")],
                  [("L1", "a", 100), ("L2", "a", 100)], ["a"])
    assert payouts(calc.calculate(load_plan(quarterly), data, MARCH)) == {("a", "c"): D("30.00")}  # 600 × 5 %


def test_a_return_in_the_window_is_clawed_back_at_the_rate_originally_applied():
    # January: 1,500,000 against a 1,000,000 quota → marginal 20,000 + 20,000 = 40,000, an effective 2.6667 %.
    # March: a 300,000 return of a January line (inside 90 days) reverses 300,000 × 40,000/1,500,000 = 8,000,
    # whatever March's own tiers are; it lowers no measure. A return outside the window is not recovered.
    text = plan_with("    quota: {source: fixed, amount: 1000000}\n    clawback: {window_days: 90}\n"
                     "    rate: {tiers: {bands: [{from: 0, to: 1, rate: 0.02}, {from: 1, rate: 0.04}]}}\n")
    data = inputs([line("L1", "2026-01-10", "1500000.00"), line("L2", "2026-03-05", "200000.00"),
                   line("R1", "2026-03-20", "-300000.00", original="L1"),
                   line("L0", "2025-10-01", "100.00"), line("R0", "2026-03-21", "-100.00", original="L0")],
                  [(i, "a", 100) for i in ("L1", "L2", "R1", "L0", "R0")], ["a"])
    result = calc.calculate(load_plan(text.replace("2026-01-01", "2025-01-01")), data, MARCH)
    row = result.payouts.to_pylist()[0]
    assert row["measure"] == D("200000")  # the returns count in no measure
    assert row["amount"] == D("-4000.00")  # 200,000 × 2 % = 4,000, less the 8,000 clawed back
    claw = [d for d in result.details.to_pylist() if d["rule"].startswith("clawback")]
    # the original effective rate is carried to 12 decimals (0.026666666667), so the reversal is 8,000 to the cent
    assert [(d["rule"], d["basis"], d["rate"]) for d in claw] == [
        ("clawback of 2026-01 sales", D("-300000"), D("0.026666666667"))]
    assert claw[0]["earned"].quantize(D("0.01")) == D("-8000.00")


def test_a_partial_return_on_a_rate_table_reverses_its_rows_rate():
    text = plan_with("    clawback: {window_days: 30}\n"
                     "    rate: {table: {default: 0.01, entries: [{product: HW-1, rate: 0.05}]}}\n")
    data = inputs([line("L1", "2026-03-01", "1000.00", product="HW-1"),
                   line("R1", "2026-03-10", "-400.00", product="HW-1", original="L1")],
                  [("L1", "a", 50), ("L1", "b", 50), ("R1", "a", 50), ("R1", "b", 50)], ["a", "b"])
    result = calc.calculate(load_plan(text), data, MARCH)
    assert payouts(result) == {("a", "c"): D("15.00"), ("b", "c"): D("15.00")}  # (500 − 200) × 5 %
    lineage = {(r["payee"], r["line_id"]): r["credit"] for r in result.credits.to_pylist()}
    assert lineage[("a", "R1")] == D("-200")  # the returned line is in the lineage too


def draw_plan(draw: str) -> str:
    return plan_with(f"    rate: {{flat: 0.1}}\n  - id: draw\n    draw: {draw}\n")


def test_a_recoverable_draw_advances_the_shortfall_and_recovers_it_from_later_excess():
    import pyarrow as pa

    text = draw_plan("{amount: 5000, of: [c], recovery_rate: 0.5}")
    # March: 20,000 sold → 2,000 earned, the draw advances 3,000 (balance 0 → 3,000)
    march = calc.calculate(load_plan(text), one_sale("20000.00"), MARCH)
    assert payouts(march) == {("alice", "c"): D("2000.00"), ("alice", "draw"): D("3000.00")}
    assert march.balances.to_pylist() == [{"payee": "alice", "component": "draw", "opening": D(0),
                                           "advanced": D(3000), "recovered": D(0), "closing": D(3000)}]
    # April: 90,000 sold → 9,000 earned, 4,000 above the draw; half of it recovers 2,000 of the 3,000 owed
    april_sale = inputs([line("L1", "2026-04-10", "90000.00")], [("L1", "alice", 100)], ["alice"])
    balances = pa.Table.from_pylist([{"payee": "alice", "component": "draw", "balance": D("3000")}],
                                    calc.BALANCE_SCHEMA)
    data = calc.CompInputs(april_sale.credited, april_sale.payees, balances=balances)
    april = calc.calculate(load_plan(text), data, FiscalCalendar().parse("2026-04"))
    assert payouts(april) == {("alice", "c"): D("9000.00"), ("alice", "draw"): D("-2000.00")}
    assert april.balances.to_pylist()[0]["closing"] == D(1000)


def test_a_guarantee_tops_up_only_in_a_new_hires_first_months_and_is_never_recovered():
    import pyarrow as pa

    text = draw_plan("{amount: 5000, of: [c], recoverable: false, for_months: 3}")
    sale = one_sale("20000.00")
    hired = {"payee": "alice", "name": "alice", "start": dt.date(2026, 1, 1), "end": None}
    data = calc.CompInputs(sale.credited, pa.Table.from_pylist([hired], calc.PAYEE_DATES_SCHEMA))
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("alice", "c"): D("2000.00"),
                                                                      ("alice", "draw"): D("3000.00")}
    late = calc.CompInputs(sale.credited, pa.Table.from_pylist([{**hired, "start": dt.date(2025, 11, 1)}],
                                                               calc.PAYEE_DATES_SCHEMA))
    assert payouts(calc.calculate(load_plan(text), late, MARCH)) == {("alice", "c"): D("2000.00")}
    result = calc.calculate(load_plan(text), data, MARCH)
    assert result.balances.to_pylist()[0]["closing"] == D(0)  # a guarantee owes nothing


def test_a_draw_must_name_other_components_of_the_plan():
    from salesops.engine.comp.plan import PlanSchemaError

    with pytest.raises(PlanSchemaError, match="draw draw: of names components of this plan other than draws"):
        load_plan(draw_plan("{amount: 5000, of: [nothing]}"))
