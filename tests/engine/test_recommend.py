"""Product recommendations: rules checked by hand, returns ignored, reasons, determinism, invariants, the hold-out
against the baseline on planted data, and the CLI's row-level errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.engine import recommend, recommend_bench, recommend_cli

DAY = dt.date(2026, 1, 5)


def lines_of(rows: list[tuple[str, str, int]], day: dt.date = DAY) -> pa.Table:
    return pa.table({"customer": [r[0] for r in rows], "product": [r[1] for r in rows],
                     "date": pa.array([day] * len(rows), pa.date32()), "quantity": [float(r[2]) for r in rows]})


# K1 {A, B}, K2 {A, B}, K3 {A, C}, K4 {B} (its C is returned in full, and a return alone is no purchase: K5's D)
BASKETS = lines_of([("K1", "A", 1), ("K1", "B", 2), ("K2", "A", 1), ("K2", "B", 1), ("K3", "A", 3), ("K3", "C", 1),
                    ("K4", "B", 1), ("K4", "C", 1), ("K4", "C", -1), ("K5", "D", -1)])
CUSTOMERS = pa.table({"customer": ["K1", "K2", "K3", "K4", "K5", "K6"],
                      "segment": ["SMB", "SMB", "KA", "KA", "KA", "KA"]})


def by_pair(table: pa.Table) -> dict[tuple[str, str], dict]:
    return {(r["antecedent"], r["consequent"]): r for r in table.to_pylist()}


def test_it_computes_support_confidence_and_lift_by_hand():
    rules = by_pair(recommend.rules(BASKETS, min_support=0, min_confidence=0))
    # N = 4 customers with a purchase; n(A) = 3, n(B) = 3, n(C) = 1; n(A, B) = 2, n(A, C) = 1
    ab = rules[("A", "B")]
    assert (ab["customers_both"], ab["customers_antecedent"], ab["customers_consequent"]) == (2, 3, 3)
    assert ab["support"] == 2 / 4
    assert ab["confidence"] == 2 / 3
    assert ab["lift"] == 2 * 4 / (3 * 3)
    assert rules[("A", "C")]["confidence"] == 1 / 3
    assert rules[("C", "A")]["confidence"] == 1.0
    assert rules[("C", "A")]["lift"] == 4 / 3
    assert set(rules) == {("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")}


def test_it_ignores_returns():
    rules = by_pair(recommend.rules(BASKETS, min_support=0, min_confidence=0))
    # K4 returned C in full: no (B, C) pair; K5 only returned D: D is no product anyone bought
    assert ("B", "C") not in rules
    assert all("D" not in pair for pair in rules)


def test_it_applies_the_thresholds():
    rules = recommend.rules(BASKETS, min_support=0.5, min_confidence=0.5)
    assert sorted(by_pair(rules)) == [("A", "B"), ("B", "A")]
    assert recommend.rules(BASKETS, min_support=0, min_confidence=0, min_lift=1.0).num_rows == 2  # A↔C


def test_it_recommends_only_what_the_customer_has_not_bought_with_its_reason():
    recs = recommend.recommend(BASKETS, CUSTOMERS, min_support=0, min_confidence=0, min_lift=1.0)
    rows = recs.to_pylist()
    bought = {("K1", "A"), ("K1", "B"), ("K2", "A"), ("K2", "B"), ("K3", "A"), ("K3", "C"), ("K4", "B")}
    assert not {(r["customer"], r["product"]) for r in rows} & bought
    first = {r["customer"]: r for r in rows if r["rank"] == 1}
    # K1 and K2 bought A: the rule A → C (lift 1.33) is their reason for C
    assert recommend.message(first["K1"]["template"], first["K1"]["params"]) == \
        "33% of customers who buy A also buy C; lift 1.3"
    # K4 (KA: buyers K3 and K4) has no rule with lift ≥ 1: white space, A and C bought by 1 of 2
    k4 = [recommend.message(r["template"], r["params"]) for r in rows if r["customer"] == "K4"]
    assert k4 == ["50% of KA customers buy A", "50% of KA customers buy C"]
    # K6 has bought nothing: its segment's products, most popular first, then by name
    assert [r["product"] for r in rows if r["customer"] == "K6"] == ["A", "B", "C"]
    assert first["K1"]["template"] == recommend.RULE_REASON
    assert first["K4"]["source"] == "white_space"


def test_it_returns_at_most_k_per_customer_ranked_from_one():
    recs = recommend.recommend(BASKETS, CUSTOMERS, k=1, min_support=0, min_confidence=0, min_lift=0)
    customers = recs.column("customer").to_pylist()
    assert len(customers) == len(set(customers))
    assert set(recs.column("rank").to_pylist()) == {1}


def test_it_gives_the_same_bytes_for_the_same_inputs_in_any_order():
    lines, customers = recommend_bench.generate(300, 6000, seed=3)
    once = recommend.recommend(lines, customers)
    shuffled = lines.take(pc.sort_indices(lines, [("product", "descending"), ("date", "ascending")]))
    assert once.equals(recommend.recommend(lines, customers))
    assert once.equals(recommend.recommend(shuffled, customers.take(list(range(customers.num_rows))[::-1])))


baskets = st.dictionaries(st.sampled_from(["K1", "K2", "K3", "K4", "K5", "K6"]),
                          st.lists(st.tuples(st.sampled_from("ABCDE"), st.integers(-2, 3)), min_size=1, max_size=6),
                          min_size=1)


@settings(max_examples=40, deadline=None)
@given(baskets)
def test_its_rules_keep_their_invariants(data):
    lines = lines_of([(customer, product, q) for customer, items in data.items() for product, q in items])
    rules = by_pair(recommend.rules(lines, min_support=0, min_confidence=0))
    for (a, b), rule in rules.items():
        assert 0 <= rule["confidence"] <= 1
        n = rule["customers_both"] / rule["support"]
        assert rule["support"] <= min(rule["customers_antecedent"], rule["customers_consequent"]) / n
        assert rule["lift"] == rules[(b, a)]["lift"]
        assert rule["customers_both"] == rules[(b, a)]["customers_both"]


def test_it_beats_the_popularity_baseline_on_planted_cross_sell():
    lines, customers = recommend_bench.generate(2000, 40000, seed=1)
    result = recommend.evaluate(lines, customers, dt.date(2026, 7, 1), k=5)
    assert result.customers > 500
    assert result.precision > 1.5 * result.baseline_precision
    assert result.recall > result.baseline_recall


def test_it_evaluates_by_hand():
    # train: K1 {A, B}, K2 {A}; test: K2 buys B (new) and A again (not new); K1 buys nothing new
    lines = pa.concat_tables([lines_of([("K1", "A", 1), ("K1", "B", 1), ("K2", "A", 1), ("K3", "A", 1),
                                        ("K3", "B", 1)]),
                              lines_of([("K2", "B", 1), ("K2", "A", 1), ("K1", "A", 1)], dt.date(2026, 8, 1))])
    customers = pa.table({"customer": ["K1", "K2", "K3"], "segment": ["S", "S", "S"]})
    result = recommend.evaluate(lines, customers, dt.date(2026, 7, 1), k=2, min_support=0, min_confidence=0,
                                min_lift=0)
    # one test customer (K2); both recommend B, the only product K2 lacks: precision 1/2, recall 1
    assert (result.customers, result.precision, result.recall) == (1, 0.5, 1.0)
    assert (result.baseline_precision, result.baseline_recall) == (0.5, 1.0)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_cli_names_the_row_and_field_of_each_bad_cell(tmp_path, capsys):
    lines = write(tmp_path, "lines.csv", "customer,product,date,quantity\nK1,A,2026-01-02,1\n"
                  "K9,A,2026-01-02,1\nK1,B,2026-02-30,1\nK1,B,2026-02-03,two\n")
    customers = write(tmp_path, "customers.csv", "customer,segment\nK1,SMB\nK1,KA\n")
    code = recommend_cli.main(["evaluate", "--lines", str(lines), "--customers", str(customers),
                               "--cut", "2026-07-01"])
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "lines.csv row 3, customer [K9]: no such customer in customers.csv",
        "lines.csv row 4, date [2026-02-30]: not a date (YYYY-MM-DD)",
        "lines.csv row 5, quantity [two]: not a number",
        "customers.csv row 3, customer [K1]: the same customer is on row 2",
    ]


def test_the_cli_names_missing_columns(tmp_path, capsys):
    lines = write(tmp_path, "lines.csv", "customer,item,date\nK1,A,2026-01-02\n")
    customers = write(tmp_path, "customers.csv", "customer\nK1\n")
    assert recommend_cli.main(["evaluate", "--lines", str(lines), "--customers", str(customers),
                               "--cut", "2026-07-01"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "lines.csv: needs a column product", "lines.csv: needs a column quantity or net",
        "customers.csv: needs a column segment"]


def test_the_cli_evaluates_files(tmp_path, capsys):
    lines = write(tmp_path, "lines.csv", "customer,product,date,quantity\nK1,A,2026-01-02,1\nK1,B,2026-01-02,1\n"
                  "K2,A,2026-01-03,1\nK2,B,2026-08-03,1\n")
    customers = write(tmp_path, "customers.csv", "customer,segment\nK1,SMB\nK2,SMB\n")
    assert recommend_cli.main(["evaluate", "--lines", str(lines), "--customers", str(customers),
                               "--cut", "2026-07-01", "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert "tested on 1 customer(s)" in out
    assert "recommender                     1.000      1.000" in out
