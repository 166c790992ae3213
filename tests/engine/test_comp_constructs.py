"""The plan constructs added for the issue: several weighted measures into one attainment, new-customer credit,
deal-attribute filters, invoice recognition, team bonuses shared by a rule, quota ramps, and a payee's lines
counted inside their span in the plan — on hand-checked examples, with properties for the invariants (a weighted
attainment is Σ weight × measure ÷ quota; team shares add up to the pool exactly)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.engine.comp import calc
from salesops.engine.comp.plan import PlanSchemaError, dump_plan, load_plan
from salesops.engine.periods import FiscalCalendar
from tests.engine.comp_inputs import inputs, line

D = Decimal
MARCH = FiscalCalendar().parse("2026-03")
Q1 = FiscalCalendar().parse("2026-Q1")


def plan(components: str) -> str:
    return "plan: p\neffective_from: 2026-01-01\ncomponents:\n" + components


def payouts(result) -> dict[tuple[str, str], D]:
    return {(r["payee"], r["component"]): D(r["amount"]) for r in result.payouts.to_pylist()}


def with_payees(data: calc.CompInputs, rows: list[dict], **tables) -> calc.CompInputs:
    """The same lines with other payee rows (any of PAYEE_FULL_SCHEMA's columns) and other tables."""
    full = [{f.name: row.get(f.name, row["payee"] if f.name == "name" else None) for f in calc.PAYEE_FULL_SCHEMA}
            for row in rows]
    return calc.CompInputs(data.credited, pa.Table.from_pylist(full, calc.PAYEE_FULL_SCHEMA),
                           **{"hierarchy": data.hierarchy, "quotas": data.quotas, **tables})


def schema_problems(text: str) -> list[str]:
    with pytest.raises(PlanSchemaError) as error:
        load_plan(text)
    return error.value.problems


# -- weighted attainment -----------------------------------------------------------------------------------

WEIGHTED = plan("""  - id: scorecard
    attainment:
      target: 10000
      measures:
        - {id: revenue, weight: 0.6, quota: {source: input}}
        - {id: margin, credit: {type: gross_margin}, weight: 0.4, quota: {source: fixed, amount: 250000}}
    rate: {flat: 1}
""")


def test_a_weighted_attainment_is_the_weighted_sum_of_each_measure_over_its_quota():
    data = inputs([line("L1", "2026-03-05", "1200000.00", cost="1000000.00")], [("L1", "a", 100)], ["a"],
                  quotas=[("a", "revenue", "2026-03", "1000000")])
    result = calc.calculate(load_plan(WEIGHTED), data, MARCH)
    row = result.payouts.to_pylist()[0]
    # 0.6 × 1.2 + 0.4 × 0.8 = 1.04 → measure 10,400 of the target 10,000
    assert (row["measure"], row["quota"], row["attainment"], row["amount"]) == (
        D("10400"), D("10000"), D("1.0400"), D("10400.00"))
    explained = [(d["rule"], d["basis"], d["rate"]) for d in result.details.to_pylist() if d["band"] == -1]
    assert explained == [("measure margin of quota 250000.00 × weight 0.4", D("200000"), D("0.32")),
                         ("measure revenue of quota 1000000.00 × weight 0.6", D("1200000"), D("0.72"))]
    assert {(c["measure"], c["line_id"]) for c in result.credits.to_pylist()} == {("revenue", "L1"), ("margin", "L1")}


def test_weights_that_do_not_add_up_to_1_are_refused_with_the_path():
    text = WEIGHTED.replace("weight: 0.4", "weight: 0.3")
    assert schema_problems(text) == ["components[0].attainment: the measures' weights add up to 0.9, not 1 (line 5)"]


def test_a_measure_id_may_not_repeat_a_component_id_and_the_component_takes_no_quota_of_its_own():
    assert "measure ids must be unique in the plan" in schema_problems(WEIGHTED.replace("id: margin",
                                                                                        "id: scorecard"))[0]
    assert "no credit or quota on the component" in schema_problems(
        WEIGHTED.replace("    rate: {flat: 1}", "    quota: {source: fixed, amount: 1}\n    rate: {flat: 1}"))[0]


def test_a_missing_measure_quota_is_listed_by_payee_and_measure():
    data = inputs([line("L1", "2026-03-05", "100.00"), line("L2", "2026-03-05", "100.00")],
                  [("L1", "a", 100), ("L2", "b", 100)], ["a", "b"], quotas=[("a", "revenue", "2026-03", "1000")])
    with pytest.raises(calc.InputError) as error:
        calc.calculate(load_plan(WEIGHTED), data, MARCH)
    assert error.value.problems == ["component scorecard, measure revenue: no quota for period 2026-03 for payee b"]


money = st.decimals(min_value=D("0.01"), max_value=D("9999999.99"), places=2)


@settings(max_examples=40, deadline=None)
@given(revenue=money, margin=money, quota_r=money, quota_m=money, weight=st.integers(1, 99))
def test_the_weighted_measure_is_target_times_the_exact_weighted_attainment(revenue, margin, quota_r, quota_m,
                                                                            weight):
    w = D(weight) / 100
    text = WEIGHTED.replace("weight: 0.6", "weight: W1").replace("weight: 0.4", f"weight: {1 - w}").replace(
        "weight: W1", f"weight: {w}").replace("amount: 250000", f"amount: {quota_m}")
    data = inputs([line("L1", "2026-03-05", str(revenue), cost=str(revenue - margin))], [("L1", "a", 100)], ["a"],
                  quotas=[("a", "revenue", "2026-03", str(quota_r))])
    row = calc.calculate(load_plan(text), data, MARCH).payouts.to_pylist()[0]
    exact = D(10000) * (w * revenue / quota_r + (1 - w) * margin / quota_m)
    assert row["measure"] == exact.quantize(D("1E-8"), ROUND_HALF_UP)
    assert row["amount"] == row["measure"].quantize(D("0.01"), ROUND_HALF_UP)  # flat 1 × the measure, rounded once


# -- new customers -----------------------------------------------------------------------------------------

NEW = plan("  - id: logos\n    credit: {type: new_customers}\n    rate: {flat: 100}\n")


def test_a_new_customer_is_credited_to_the_payees_of_their_first_purchase_by_share():
    lines = [line("L1", "2026-03-03", "-10.00", customer="K1", quantity=-1),  # a return is no purchase
             line("L2", "2026-03-04", "50.00", customer="K1"), line("L3", "2026-03-04", "60.00", customer="K1"),
             line("L4", "2026-03-20", "70.00", customer="K1"), line("L5", "2026-02-01", "10.00", customer="K2"),
             line("L6", "2026-03-09", "10.00", customer="K2"), line("L7", "2026-03-10", "10.00", customer="K3")]
    credits = [("L1", "a", 100), ("L2", "a", 25), ("L2", "b", 75), ("L3", "b", 100), ("L4", "a", 100),
               ("L5", "a", 100), ("L6", "a", 100), ("L7", "a", 100)]
    data = inputs(lines, credits, ["a", "b"])
    # K1's first purchase is L2 (the lowest line id on its first day): a 0.25, b 0.75; K2 bought in February;
    # K3 is new by the lines, but the customers input says it first bought in 2025
    customers = pa.Table.from_pylist([{"customer": "K3", "first_order_date": dt.date(2025, 5, 1)}],
                                     calc.CUSTOMER_SCHEMA)
    result = calc.calculate(load_plan(NEW), with_payees(data, [{"payee": "a"}, {"payee": "b"}], customers=customers),
                            MARCH)
    assert payouts(result) == {("a", "logos"): D("25.00"), ("b", "logos"): D("75.00")}
    assert [(c["payee"], c["line_id"], c["credit"]) for c in result.credits.to_pylist()] == [
        ("a", "L2", D("0.25")), ("b", "L2", D("0.75"))]
    without = calc.calculate(load_plan(NEW), data, MARCH)  # no customers input: K3's first line is L7
    assert payouts(without)[("a", "logos")] == D("125.00")


def test_new_customers_are_recognised_on_booking_only():
    assert "recognise must be booked" in schema_problems(NEW.replace("new_customers}",
                                                                     "new_customers, recognise: invoiced}"))[0]


# -- deal attributes and invoices --------------------------------------------------------------------------


def lines_with(rows: list[dict]) -> calc.CompInputs:
    table = pa.Table.from_pylist([{**line(r["id"], r["date"], r["net"]), "invoiced_on": r.get("invoiced"),
                                   "attributes": r.get("attributes")} for r in rows],
                                 pa.schema([*calc.RETURNS_LINE_SCHEMA, *calc.OPTIONAL_LINE_FIELDS]))
    credits = pa.Table.from_pylist([{"line_id": r["id"], "payee": "a", "share": D(1)} for r in rows],
                                   calc.CREDIT_SCHEMA)
    return calc.CompInputs.from_lines(table, credits, pa.Table.from_pylist([{"payee": "a", "name": "a"}],
                                                                             calc.PAYEE_SCHEMA))


def test_an_attribute_filter_counts_the_lines_whose_attribute_is_listed():
    data = lines_with([{"id": "L1", "date": "2026-03-02", "net": "100.00", "attributes": [("channel", "online")]},
                       {"id": "L2", "date": "2026-03-02", "net": "200.00", "attributes": [("channel", "direct")]},
                       {"id": "L3", "date": "2026-03-02", "net": "400.00", "attributes": []},
                       {"id": "L4", "date": "2026-03-02", "net": "800.00"}])
    text = plan("  - id: c\n    credit: {filter: {attributes: {channel: [online, partner]}}}\n    rate: {flat: 1}\n")
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("a", "c"): D("100.00")}
    # lines without an attributes column match no attribute list
    bare = inputs([line("L1", "2026-03-02", "100.00")], [("L1", "a", 100)], ["a"])
    assert payouts(calc.calculate(load_plan(text), bare, MARCH)) == {}


def test_an_attribute_name_is_a_lower_case_identifier_with_values():
    assert "lower case letters" in schema_problems(
        plan("  - id: c\n    credit: {filter: {attributes: {Channel: [x]}}}\n    rate: {flat: 1}\n"))[0]
    assert "list the values" in schema_problems(
        plan("  - id: c\n    credit: {filter: {attributes: {channel: []}}}\n    rate: {flat: 1}\n"))[0]


def test_invoiced_recognition_counts_a_line_in_the_period_of_its_invoice_and_not_before():
    data = lines_with([{"id": "L1", "date": "2026-02-10", "net": "100.00", "invoiced": dt.date(2026, 3, 1)},
                       {"id": "L2", "date": "2026-03-10", "net": "200.00", "invoiced": dt.date(2026, 4, 1)},
                       {"id": "L3", "date": "2026-03-10", "net": "400.00"}])
    text = plan("  - id: c\n    credit: {recognise: invoiced}\n    rate: {flat: 0.1}\n")
    assert payouts(calc.calculate(load_plan(text), data, MARCH)) == {("a", "c"): D("10.00")}
    april = FiscalCalendar().parse("2026-04")
    assert payouts(calc.calculate(load_plan(text), data, april)) == {("a", "c"): D("20.00")}


# -- team bonuses ------------------------------------------------------------------------------------------

TEAM = plan("  - id: t\n    team: {pool: {rate: 0.01}, share: %s}\n")


def team_inputs(sales: list[str], targets: list[str] | None = None) -> calc.CompInputs:
    names = [f"p{i:02d}" for i in range(len(sales))]
    data = inputs([line(f"L{i}", "2026-03-10", amount) for i, amount in enumerate(sales)],
                  [(f"L{i}", names[i], 100) for i in range(len(sales))], [*names, "boss"],
                  hierarchy=[(n, "boss") for n in names])
    return with_payees(data, [{"payee": n, "target_incentive": D(targets[i]) if targets else None}
                              for i, n in enumerate(names)] + [{"payee": "boss"}])


def test_an_equal_team_pool_gives_the_left_over_cent_to_the_lowest_payee():
    result = calc.calculate(load_plan(TEAM % "equal"), team_inputs(["100.00", "100.00", "133.34"]), MARCH)
    # pool 1 % of 333.34 = 3.3334 → 3.33 (rounded once): 333 cents in three shares of 111
    assert payouts(result) == {("p00", "t"): D("1.11"), ("p01", "t"): D("1.11"), ("p02", "t"): D("1.11")}
    result = calc.calculate(load_plan(TEAM % "equal"), team_inputs(["100.00", "100.00", "134.00"]), MARCH)
    assert payouts(result) == {("p00", "t"): D("1.12"), ("p01", "t"): D("1.11"), ("p02", "t"): D("1.11")}
    row = result.payouts.to_pylist()[0]
    assert (row["measure"], row["quota"]) == (D("334"), None)  # the team's measure on each member's payout


def test_a_team_member_without_a_target_incentive_is_named():
    with pytest.raises(calc.InputError) as error:
        calc.calculate(load_plan(TEAM % "by_target_incentive"), team_inputs(["1.00", "2.00"]), MARCH)
    assert error.value.problems == ["component t: no target incentive for payee p00 (shares by_target_incentive)",
                                    "component t: no target incentive for payee p01 (shares by_target_incentive)"]


def test_a_fixed_pool_needs_a_gate():
    assert "give gate and quota" in schema_problems(plan("  - id: t\n    team: {pool: {amount: 100}}\n"))[0]


@settings(max_examples=40, deadline=None)
@given(sales=st.lists(st.decimals(min_value=D("-500.00"), max_value=D("99999.99"), places=2), min_size=1,
                      max_size=7),
       share=st.sampled_from(["equal", "by_credit", "by_target_incentive"]),
       seed=st.integers(0, 10_000))
def test_team_shares_add_up_to_the_pool_exactly_each_within_a_cent_of_its_fraction(sales, share, seed):
    targets = [str((seed * (i + 3)) % 50_000) for i in range(len(sales))]
    data = team_inputs([str(s) for s in sales], targets)
    result = calc.calculate(load_plan(TEAM % share), data, MARCH)
    shares = {r["payee"]: r["amount"] for r in result.payouts.to_pylist()}
    assert set(shares) == {f"p{i:02d}" for i in range(len(sales))}  # every member, the manager not
    total = sum(sales, D(0))
    pool = (total * D("0.01")).quantize(D("0.01"), ROUND_HALF_UP) if total > 0 else D(0)
    assert sum(shares.values(), D(0)) == pool
    weights = {"equal": [D(1)] * len(sales), "by_credit": [max(s, D(0)) for s in sales],
               "by_target_incentive": [D(t) for t in targets]}[share]
    if sum(weights) == 0:
        weights = [D(1)] * len(sales)
    for i, w in enumerate(weights):
        assert abs(shares[f"p{i:02d}"] - pool * w / sum(weights)) < D("0.01")
    again = calc.calculate(load_plan(TEAM % share), data, MARCH)
    assert again.payouts.equals(result.payouts) and again.details.equals(result.details)


# -- ramps and spans ---------------------------------------------------------------------------------------

RAMP = plan("""  - id: c
    quota: {source: fixed, amount: 300000}
    ramp: [{months: 1, factor: 0.5}, {months: 2, factor: 0.75}]
    rate: {tiers: {bands: [{from: 0, to: 1.0, rate: 0.01}, {from: 1.0, rate: 0.02}]}}
""")


def test_a_ramp_scales_the_quota_by_the_month_since_hire_and_averages_a_quarter():
    data = inputs([line("L1", "2026-03-10", "100.00")], [("L1", "a", 100)], ["a"])
    hired = with_payees(data, [{"payee": "a", "hired": dt.date(2026, 2, 14)}])
    march = calc.calculate(load_plan(RAMP), hired, MARCH)
    assert march.payouts.to_pylist()[0]["quota"] == D("225000.00")  # month 2: × 0.75
    assert [(d["rule"], d["basis"], d["rate"]) for d in march.details.to_pylist() if d["band"] == -1] == [
        ("ramp: month 2", D("300000"), D("0.75"))]
    quarter = calc.calculate(load_plan(RAMP), hired, Q1)  # January (before the hire: month 1), Feb 1, March 2
    assert quarter.payouts.to_pylist()[0]["quota"] == D("175000.00")  # × (0.5 + 0.5 + 0.75) / 3
    veteran = with_payees(data, [{"payee": "a", "hired": dt.date(2020, 1, 1)}])
    assert calc.calculate(load_plan(RAMP), veteran, MARCH).payouts.to_pylist()[0]["quota"] == D("300000.00")


def test_a_payees_own_credit_counts_only_their_span_in_the_plan_but_still_rolls_up():
    text = plan("  - id: c\n    credit: {roll_up: {levels: 1}}\n    rate: {flat: 0.1}\n")
    data = inputs([line("L1", "2026-03-05", "100.00"), line("L2", "2026-03-25", "200.00")],
                  [("L1", "a", 100), ("L2", "a", 100)], ["a", "m"], hierarchy=[("a", "m")])
    moved = with_payees(data, [{"payee": "a", "end": dt.date(2026, 3, 15)}, {"payee": "m"}])
    result = calc.calculate(load_plan(text), moved, MARCH)
    assert payouts(result) == {("a", "c"): D("10.00"), ("m", "c"): D("30.00")}
    assert [(c["payee"], c["line_id"]) for c in result.credits.to_pylist()] == [("a", "L1"), ("m", "L1"),
                                                                                ("m", "L2")]


@pytest.mark.parametrize("text", [WEIGHTED, NEW, TEAM % "by_credit", RAMP])
def test_the_new_constructs_round_trip_through_dump_plan(text):
    assert load_plan(dump_plan(load_plan(text))) == load_plan(text)
