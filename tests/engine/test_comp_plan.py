"""The plan schema: every problem named with its path and line, all at once; numbers read exactly; tiers that
start at 0 and follow each other; ``dump_plan`` round-trips; and, as a property, marginal tiers pay the sum of
their slices."""

from __future__ import annotations

import textwrap
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.engine.comp import calc
from salesops.engine.comp.plan import PlanSchemaError, TierMode, dump_plan, load_plan
from salesops.engine.money import RoundingPolicy
from salesops.engine.periods import FiscalCalendar
from tests.engine.comp_inputs import inputs, line

D = Decimal
MARCH = FiscalCalendar().parse("2026-03")


def plan(components: str, header: str = "plan: p\neffective_from: 2026-01-01\n") -> str:
    return header + "components:\n" + textwrap.indent(textwrap.dedent(components).strip("\n"), "  ") + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PlanSchemaError) as error:
        load_plan(text)
    assert str(error.value) == "\n".join(error.value.problems)
    return error.value.problems


TIERS = """
- id: c
  quota: {source: fixed, amount: 1000}
  rate:
    tiers:
      bands:
        - {from: 0, to: 1.0, rate: 0.02}
        - %s
        - %s
"""


# -- unknown keys, paths and lines -----------------------------------------------------------------------------


def test_an_unknown_key_is_reported_with_its_path_and_line():
    text = plan("""
    - id: c
      nmae: 提成
      rate: {flat: 0.1, tires: 1}
    """)
    assert sorted(problems(text)) == ["components[0].nmae: unknown key (line 5)",
                                      "components[0].rate.tires: unknown key (line 6)"]


def test_a_misspelt_key_at_the_top_is_reported_too():
    assert problems(plan("- {id: c, rate: {flat: 0.1}}") + "currancy: CNY\n") == ["currancy: unknown key (line 5)"]


def test_an_unknown_key_with_a_block_value_is_reported_on_its_own_line():
    text = plan("""
    - id: c
      rate:
        tires:
          bands:
            - {from: 0, rate: 0.02}
    """)
    assert problems(text) == ["components[0].rate.tires: unknown key (line 6)"]


def test_a_negative_rate_names_the_band_and_its_line():
    text = plan(TIERS % ("{from: 1.0, to: 1.5, rate: 0.04}", "{from: 1.5, rate: -0.06}"))
    assert problems(text) == ["components[0].rate.tiers.bands[2].rate: must be ≥ 0 (line 11)"]
    flat = plan("- {id: c, rate: {flat: -0.01}}")
    assert problems(flat) == ["components[0].rate.flat: must be ≥ 0 (line 4)"]


# -- tiers -----------------------------------------------------------------------------------------------------


def test_a_gap_between_bands_is_refused_naming_the_bands():
    text = plan(TIERS % ("{from: 1.2, to: 1.5, rate: 0.04}", "{from: 1.5, rate: 0.06}"))
    [problem] = problems(text)
    assert problem.startswith("components[0].rate.tiers: bands[1] leaves a gap after bands[0]: 1.0 to 1.2; "
                              "or set allow_gaps: true (line ")


def test_overlapping_bands_are_refused_naming_the_bands():
    text = plan(TIERS % ("{from: 0.8, to: 1.5, rate: 0.04}", "{from: 1.5, rate: 0.06}"))
    [problem] = problems(text)
    assert "bands[1] overlaps bands[0]: from 0.8 is below 1.0" in problem
    assert problem.startswith("components[0].rate.tiers: ")


def test_a_gap_and_an_overlap_are_both_named():
    text = plan(TIERS % ("{from: 1.2, to: 1.5, rate: 0.04}", "{from: 1.4, rate: 0.06}"))
    [problem] = problems(text)
    assert "bands[1] leaves a gap after bands[0]: 1.0 to 1.2" in problem
    assert "bands[2] overlaps bands[1]: from 1.4 is below 1.5" in problem


def test_gaps_are_allowed_when_the_plan_says_so_but_never_overlaps():
    gap = plan(TIERS % ("{from: 1.2, to: 1.5, rate: 0.04}", "{from: 1.5, rate: 0.06}")
               ).replace("  bands:", "  allow_gaps: true\n        bands:")
    tiers = load_plan(gap).components[0].rate.tiers
    assert tiers.allow_gaps and [b.from_ for b in tiers.bands] == [D(0), D("1.2"), D("1.5")]
    overlap = gap.replace("from: 1.2", "from: 0.8")
    assert "bands[1] overlaps bands[0]" in problems(overlap)[0]
    interpolated = gap.replace("allow_gaps: true", "allow_gaps: true\n        mode: interpolated")
    assert "interpolated tiers cannot have gaps" in problems(interpolated)[0]


def test_bands_must_start_at_0():
    text = plan("""
    - id: c
      quota: {source: fixed, amount: 1000}
      rate: {tiers: {bands: [{from: 0.5, to: 1, rate: 0.01}, {from: 1, rate: 0.02}]}}
    """)
    assert problems(text) == ["components[0].rate.tiers: bands[0].from must be 0 (it is 0.5); "
                              "or set allow_gaps: true (line 6)"]


def test_only_the_last_band_may_be_open_and_a_band_must_go_up():
    text = plan("""
    - id: c
      quota: {source: fixed, amount: 1000}
      rate: {tiers: {bands: [{from: 0, rate: 0.01}, {from: 1, to: 1, rate: 0.02}]}}
    """)
    [problem] = problems(text)
    assert "bands[0]: only the last band may have no upper end" in problem
    assert "bands[1]: to (1) must be above from (1)" in problem


def test_flat_and_tiers_together_are_refused():
    text = plan("""
    - id: c
      rate: {flat: 0.01, tiers: {"on": amount, bands: [{from: 0, rate: 0.02}]}}
    """)
    assert problems(text) == ["components[0].rate: give exactly one of flat, table or tiers (got flat, tiers) "
                              "(line 5)"]
    assert problems(plan("- {id: c, rate: {}}")) == [
        "components[0].rate: give exactly one of flat, table or tiers (got none) (line 4)"]


def test_tiers_on_attainment_need_a_quota_but_tiers_on_amount_do_not():
    text = plan("""
    - id: c
      rate: {tiers: {bands: [{from: 0, rate: 0.02}]}}
    """)
    assert problems(text) == ["components[0]: attainment (tiers on attainment, a gate or an attainment cap) "
                              "needs a quota (line 4)"]
    on_amount = load_plan(text.replace("{bands:", '{"on": amount, bands:'))
    assert on_amount.components[0].rate.tiers.on == "amount"
    gate = plan("- {id: c, gate: {min_attainment: 0.5}, rate: {flat: 0.1}}")
    assert problems(gate)[0].startswith("components[0]: attainment (tiers on attainment, a gate")


def test_the_tiers_key_on_can_be_written_bare():
    text = plan("""
    - id: c
      rate:
        tiers:
          on: amount
          bands:
            - {from: 0, rate: 0.02}
    """)
    assert load_plan(text).components[0].rate.tiers.on == "amount"


# -- components, tables, spiffs ----------------------------------------------------------------------------------


def test_component_ids_must_be_unique():
    text = plan("""
    - {id: commission, rate: {flat: 0.1}}
    - {id: bonus, rate: {flat: 0.1}}
    - {id: commission, rate: {flat: 0.2}}
    """)
    assert problems(text) == ["(plan): component ids must be unique: commission (line 1)"]


def test_a_component_id_is_a_lower_case_identifier():
    assert problems(plan("- {id: Commission-1, rate: {flat: 0.1}}")) == [
        "components[0].id: must be lower case letters, digits and _, starting with a letter (at most 40) (line 4)"]


def test_a_rate_table_may_not_name_a_product_twice():
    text = plan("""
    - id: c
      rate:
        table: {entries: [{product: HW-1, rate: 0.05}, {category: HW-1, rate: 0.03}, {product: HW-1, rate: 0.04}]}
    """)
    assert problems(text) == ["components[0].rate.table: product HW-1 is in the table twice (line 6)"]
    # a product and a category of the same code are different rows
    load_plan(text.replace(", {product: HW-1, rate: 0.04}", ""))


def test_a_rate_table_row_names_exactly_one_of_product_or_category():
    text = plan("- {id: c, rate: {table: {entries: [{product: A, category: B, rate: 0.1}]}}}")
    assert problems(text) == ["components[0].rate.table.entries[0]: give exactly one of product or category (line 4)"]


def test_a_spiff_must_name_its_products_or_categories():
    text = plan("""
    - id: launch
      spiff: {start: 2026-03-01, end: 2026-03-31, per_unit: 50}
    """)
    assert problems(text) == ["components[0].spiff: name the products or categories it rewards (line 5)"]
    load_plan(text.replace("{start:", "{categories: [NEW], start:"))


def test_a_spiff_pays_per_unit_or_per_line_within_dates_in_order():
    both = plan("- {id: s, spiff: {products: [A], start: 2026-03-01, end: 2026-03-31, per_unit: 1, per_line: 2}}")
    assert "give exactly one of per_unit or per_line" in problems(both)[0]
    backwards = plan("- {id: s, spiff: {products: [A], start: 2026-03-31, end: 2026-03-01, per_unit: 1}}")
    assert "end 2026-03-01 is before start 2026-03-31" in problems(backwards)[0]
    capped = plan("- {id: s, cap: {amount: 10}, spiff: {products: [A], start: 2026-03-01, end: 2026-03-31, "
                  "per_unit: 1}}")
    assert "a spiff pays per unit or line in its dates: no quota, gate, cap or window" in problems(capped)[0]


# -- numbers ------------------------------------------------------------------------------------------------------


def test_numbers_are_read_exactly_not_as_floats():
    text = plan("""
    - id: c
      quota: {source: fixed, amount: 1234567.89}
      cap: {amount: 1_000_000.10}
      rate: {flat: 0.035}
    """)
    c = load_plan(text).components[0]
    assert c.rate.flat == D("0.035") and str(c.rate.flat) == "0.035"
    assert c.rate.flat != D(0.035)  # what a float would have given
    assert c.quota.amount == D("1234567.89")
    assert c.cap.amount == D("1000000.10")


def test_a_value_that_is_not_a_number_or_not_finite_is_refused():
    assert problems(plan("- {id: c, rate: {flat: 3.5%}}")) == ["components[0].rate.flat: must be a number (line 4)"]
    assert problems(plan("- {id: c, rate: {flat: .inf}}"))[0].startswith("components[0].rate.flat: must be")


def test_an_impossible_date_is_a_schema_error():
    assert problems(plan("- {id: c, rate: {flat: 0.1}}", "plan: p\neffective_from: 2026-02-30\n")) == [
        "effective_from: must be a date (YYYY-MM-DD) (line 2)"]


# -- every problem at once ------------------------------------------------------------------------------------------


def test_every_problem_of_a_document_is_reported_at_once():
    text = plan("""
    - id: commission
      quota: {source: fixed, amount: -1}
      rate: {flat: 0.1}
    - id: Bonus
      rate: {flat: -0.1}
    - id: launch
      spiff: {products: [A], start: 2026-03-01, end: 2026-03-31, per_unit: 1}
      windw: quarter
    """, "plan: p\nversion: 0\neffective_from: 2026-01-01\n")
    assert problems(text) == [
        "version: must be ≥ 1 (line 2)",
        "components[0].quota.amount: must be ≥ 0 (line 6)",
        "components[1].id: must be lower case letters, digits and _, starting with a letter (at most 40) (line 8)",
        "components[1].rate.flat: must be ≥ 0 (line 9)",
        "components[2].windw: unknown key (line 12)",
    ]


def test_a_document_that_is_not_a_plan_is_refused_with_one_line():
    assert problems("- a\n- b\n") == ["(plan): a plan is a mapping with plan, effective_from and components"]
    assert problems("plan: [unclosed\n")[0].startswith("(plan): not valid YAML: ")
    assert problems("plan: p\n") == ["effective_from: is required (line 1)", "components: is required (line 1)"]


# -- dump_plan ----------------------------------------------------------------------------------------------------

RICH = """
plan: 2026 销售提成方案
version: 3
effective_from: 2026-01-01
effective_to: 2026-12-31
currency: USD
rounding: half_even
components:
  - id: commission
    name: 提成
    credit:
      type: gross_margin
      roll_up: {levels: 2}
      filter: {products: [A], categories: [HW], regions: [华东], segments: [KA], customers: [K1]}
    window: quarter
    quota: {source: input}
    gate: {min_attainment: 0.5}
    cap: {amount: 30000.50, attainment: 2.0}
    rate:
      tiers:
        mode: interpolated
        boundary: lower
        bands:
          - {from: 0, to: 1.0, rate: 0.035}
          - {from: 1.0, rate: 0.06}
  - id: on_amount
    quota: {source: fixed, amount: 100000}
    rate:
      tiers: {"on": amount, mode: whole, allow_gaps: true,
              bands: [{from: 0, to: 100, rate: 0.01}, {from: 200, rate: 0.0125}]}
  - id: table
    credit: {type: units}
    rate: {table: {default: 0.01, entries: [{product: A, rate: 0.02}, {category: HW, rate: 0.03}]}}
  - id: launch
    spiff: {categories: [NEW], start: 2026-03-01, end: 2026-03-31, per_line: 100}
  - id: flat
    rate: {flat: 0}
"""


@pytest.mark.parametrize("text", [RICH, plan("- {id: c, rate: {flat: 0.1}}")], ids=["rich", "minimal"])
def test_dump_plan_round_trips(text):
    p = load_plan(text)
    dumped = dump_plan(p)
    assert load_plan(dumped) == p
    assert dump_plan(load_plan(dumped)) == dumped  # and the text is stable


def test_the_rich_plan_reads_as_written():
    p = load_plan(RICH)
    assert (p.version, p.currency, p.rounding) == (3, "USD", RoundingPolicy.HALF_EVEN)
    c = p.component("commission")
    assert c.rate.tiers.mode is TierMode.INTERPOLATED and c.cap.attainment == D("2.0")
    assert p.component("launch").spiff.per_line == D(100)
    assert p.component("on_amount").rate.tiers.on == "amount"
    assert p.component("flat").rate.flat == D(0)  # a zero rate is given, not missing


# -- property: marginal tiers pay the sum of their slices -------------------------------------------------------------


@st.composite
def marginal_case(draw):
    """Contiguous bands from 0 (edges in cents, increasing), rates with up to 6 decimals, an open or closed last
    band; and one or two order lines (in cents, ≥ 0) whose total is the measure."""
    n = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 500_000), min_size=n, max_size=n))
    edges = [D(0)]
    for width in widths:
        edges.append(edges[-1] + D(width) / 100)
    rates = [D(r) / 1_000_000 for r in draw(st.lists(st.integers(0, 200_000), min_size=n, max_size=n))]
    open_end = draw(st.booleans())
    bands = [(edges[i], None if open_end and i == n - 1 else edges[i + 1], rates[i]) for i in range(n)]
    amounts = [D(a) / 100 for a in draw(st.lists(st.integers(0, 1_500_000), min_size=1, max_size=2))]
    return bands, amounts


def expected_marginal(bands, measure: Decimal) -> Decimal:
    total = D(0)
    for low, high, rate in bands:
        top = measure if high is None else min(measure, high)
        total += max(top - low, D(0)) * rate
    return total


@settings(max_examples=40, deadline=None)
@given(marginal_case())
def test_marginal_tiers_pay_each_slice_at_its_own_rate(case):
    bands, amounts = case
    rows = "\n".join(f"          - {{from: {low:f}, " + (f"to: {high:f}, " if high is not None else "")
                     + f"rate: {rate:f}}}" for low, high, rate in bands)
    text = plan(f"""
    - id: c
      rate:
        tiers:
          "on": amount
          mode: marginal
          bands:
{rows}
    """)
    p = load_plan(text)
    assert [(b.from_, b.to, b.rate) for b in p.components[0].rate.tiers.bands] == bands
    lines = [line(f"L{i}", "2026-03-10", f"{a:f}") for i, a in enumerate(amounts)]
    data = inputs(lines, [(f"L{i}", "alice", 100) for i in range(len(amounts))], ["alice"])
    result = calc.calculate(p, data, MARCH)
    [payout] = result.payouts.to_pylist()
    measure = sum(amounts, D(0))
    expected = expected_marginal(bands, measure)
    assert D(payout["measure"]) == measure
    assert D(payout["earned"]) == expected
    assert D(payout["amount"]) == expected.quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert sum((D(d["earned"]) for d in result.details.to_pylist()), D(0)) == expected
