"""Product recommendations from purchase history: association rules, white space within a segment, and a hold-out.

Role in the flow: order lines and customers (Arrow tables, from the database or from files via
``salesops recommend``) → baskets (which customer bought which product) → pair rules (support, confidence, lift)
→ up to ``k`` products per customer that they have not bought, each with its reason as a translatable template
and its params (like :class:`~salesops.engine.decomposition.Problem`). :func:`evaluate` trains on the lines
before a cut date and tests on the purchases after it, next to a popularity-within-segment baseline.

All counting runs in DuckDB as set operations (baskets by ``GROUP BY``, pairs by a self-join); there is no
Python loop over lines. Pure: no Django, never mutates its inputs; the same inputs give the same rows in the same
order (every ranking ends on the product's name; percentages and lifts are rounded half up with integer
arithmetic, so their text never depends on floating point).

Definitions (``docs/recommendations.md`` has the worked example):

- A customer *has bought* a product when the quantity of its lines for that customer (in the window) adds up to
  more than zero: a return (negative quantity) never makes a purchase, and a purchase returned in full is none.
- ``N`` is the number of customers with at least one purchase; ``n(A)`` the customers who bought A; ``n(A, B)``
  those who bought both. ``support(A → B) = n(A, B) / N``, ``confidence(A → B) = n(A, B) / n(A)``,
  ``lift(A → B) = n(A, B) · N / (n(A) · n(B))`` (the same number both ways).
- White space: ``share(S, B)`` = the customers of segment S with a purchase who bought B ÷ the customers of S with a
  purchase.
- Score of a product B for a customer who has not bought it: the larger of (a) the highest confidence among the
  rules A → B whose antecedent A the customer has bought (rules with lift ≥ ``min_lift``, the
  ``rules_per_product`` most confident per antecedent) and (b) ``share(customer's segment, B)`` × ``white_space``.
  Both are estimates of "how likely is this customer to buy B"; the larger one is the reason shown. Ranking:
  score descending, then a rule before white space, then the product's name; the reason's rule is the most
  confident, then the highest lift, then the antecedent's name.
"""

# SQL here is built from our own constants and numbers checked to be numbers; values from the tables stay data.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import duckdb
import pyarrow as pa

from salesops.engine.messages import gettext_noop

RULE_REASON = gettext_noop("{confidence} of customers who buy {a} also buy {b}; lift {lift}")
WHITE_SPACE_REASON = gettext_noop("{share} of {segment} customers buy {b}")

RULES_SCHEMA = pa.schema([
    ("antecedent", pa.string()), ("consequent", pa.string()), ("customers_both", pa.int64()),
    ("customers_antecedent", pa.int64()), ("customers_consequent", pa.int64()), ("support", pa.float64()),
    ("confidence", pa.float64()), ("lift", pa.float64()),
])
RECOMMENDATIONS_SCHEMA = pa.schema([
    ("customer", pa.string()), ("rank", pa.int32()), ("product", pa.string()), ("score", pa.float64()),
    ("source", pa.string()), ("template", pa.string()), ("params", pa.map_(pa.string(), pa.string())),
])


@dataclass(frozen=True)
class Evaluation:
    """Precision and recall at ``k`` of the recommender and of the baseline over ``customers`` test customers."""

    k: int
    cut: dt.date
    customers: int
    precision: float
    recall: float
    baseline_precision: float
    baseline_recall: float


def message(template: str, params: Mapping[str, str] | list[tuple[str, str]]) -> str:
    """The English reason: ``template`` filled with ``params`` (a mapping, or the pairs an Arrow map gives)."""
    return template.format(**dict(params))


def rules(lines: pa.Table, *, min_support: float = 0.001, min_confidence: float = 0.1, min_lift: float = 0.0,
          before: dt.date | None = None) -> pa.Table:
    """Every pair rule A → B with ``support ≥ min_support``, ``confidence ≥ min_confidence`` and
    ``lift ≥ min_lift`` (columns :data:`RULES_SCHEMA`), sorted by antecedent, then consequent.

    ``lines`` needs ``customer``, ``product``, ``quantity`` (or ``net``) and, with ``before``, ``date``: only the
    lines dated before it count."""
    con = duckdb.connect()
    try:
        _prepare(con, lines, None, before)
        _rules(con, min_support, min_confidence, min_lift)
        return con.sql("""
            SELECT pa.product AS antecedent, pc.product AS consequent, both_n AS customers_both,
                   na AS customers_antecedent, nc AS customers_consequent, support, confidence, lift
            FROM rules_i JOIN prod pa ON pa.pid = a JOIN prod pc ON pc.pid = c
            ORDER BY a, c""").to_arrow_table().cast(RULES_SCHEMA)
    finally:
        con.close()


def recommend(lines: pa.Table, customers: pa.Table, *, k: int = 5, min_support: float = 0.001,
              min_confidence: float = 0.1, min_lift: float = 1.2, rules_per_product: int = 50,
              white_space: float = 1.0, use_rules: bool = True, before: dt.date | None = None) -> pa.Table:
    """Up to ``k`` products per customer of ``customers`` (columns ``customer``, ``segment``) that the customer has
    not bought, ranked as the module says; columns :data:`RECOMMENDATIONS_SCHEMA`, sorted by customer and rank.

    ``use_rules=False`` leaves white space alone: the popularity-within-segment baseline. ``white_space=0``
    leaves the rules alone."""
    con = duckdb.connect()
    try:
        _prepare(con, lines, customers, before)
        return _recommend(con, k=k, min_support=min_support, min_confidence=min_confidence, min_lift=min_lift,
                          rules_per_product=rules_per_product, white_space=white_space, use_rules=use_rules)
    finally:
        con.close()


def evaluate(lines: pa.Table, customers: pa.Table, cut: dt.date, k: int = 5, **options: float) -> Evaluation:
    """Train on the lines dated before ``cut``, test on the purchases on or after it.

    For each customer c of ``customers``: ``before(c)`` = the products c has bought before the cut (net quantity
    > 0), ``new(c)`` = the products with net quantity > 0 in the lines on or after the cut that are not in
    ``before(c)``. The test customers T are those with a non-empty ``new(c)``. With ``rec(c)`` the (up to) ``k``
    products recommended from the training lines and ``hits(c) = |rec(c) ∩ new(c)|``:

    - ``precision@k = (1/|T|) Σ hits(c) / k`` (a customer given fewer than k products is still divided by k);
    - ``recall@k = (1/|T|) Σ hits(c) / |new(c)|``.

    The baseline recommends, to each customer, the k products bought by the most customers of the same segment
    before the cut that the customer has not bought (ties: the product's name) — :func:`recommend` with
    ``use_rules=False``. ``options`` go to :func:`recommend`. Both are 0 when T is empty."""
    con = duckdb.connect()
    try:
        _prepare(con, lines, customers, cut)
        ours = _recommend(con, k=k, **options)
        baseline = _recommend(con, k=k, **{**options, "use_rules": False})
        measure = _measure(lines)
        con.execute(f"""
            CREATE TEMP TABLE new_items AS
            SELECT l.customer, l.product FROM lines_in l
            WHERE l.date >= $cut AND l.customer IN (SELECT customer FROM customers_in)
            GROUP BY l.customer, l.product HAVING sum(l.{measure}) > 0
            EXCEPT
            SELECT cust.customer, prod.product FROM b JOIN cust USING (cid) JOIN prod USING (pid)""",
                    {"cut": cut})
        con.execute("CREATE TEMP TABLE tested AS SELECT customer, count(*) AS n FROM new_items GROUP BY customer")
        tested = con.execute("SELECT count(*) FROM tested").fetchall()[0][0]
        figures = []
        for table in (ours, baseline):
            con.register("recs", table.select(["customer", "product"]))
            row = con.execute(f"""
                SELECT coalesce(sum(coalesce(h.hits, 0)) / {k} / count(*), 0),
                       coalesce(sum(coalesce(h.hits, 0) / t.n) / count(*), 0)
                FROM tested t LEFT JOIN (
                    SELECT r.customer, count(*)::DOUBLE AS hits FROM recs r JOIN new_items USING (customer, product)
                    GROUP BY r.customer) h USING (customer)""").fetchall()[0]
            figures.append(row)
            con.unregister("recs")
        return Evaluation(k=k, cut=cut, customers=int(tested), precision=float(figures[0][0]),
                          recall=float(figures[0][1]), baseline_precision=float(figures[1][0]),
                          baseline_recall=float(figures[1][1]))
    finally:
        con.close()


def _measure(lines: pa.Table) -> str:
    names = lines.column_names
    for name in ("quantity", "net"):
        if name in names:
            return name
    raise ValueError("order lines need a quantity or a net column")


def _prepare(con: duckdb.DuckDBPyConnection, lines: pa.Table, customers: pa.Table | None,
             before: dt.date | None) -> None:
    """Tables ``prod(pid, product)`` and ``cust(cid, customer, segment)`` (ids in name order) and the baskets
    ``b(cid, pid)``: what each customer has bought (net quantity > 0) before ``before``."""
    measure = _measure(lines)
    con.register("lines_in", lines)
    if customers is not None:
        con.register("customers_in", customers.select(["customer", "segment"]))
    else:
        con.register("customers_in", pa.table({"customer": pa.array([], pa.string()),
                                               "segment": pa.array([], pa.string())}))
    window = "WHERE date < $before" if before is not None else ""
    con.execute(f"""CREATE TEMP TABLE basket_names AS SELECT customer, product FROM lines_in {window}
                    GROUP BY customer, product HAVING sum({measure}) > 0""",
                {"before": before} if before is not None else {})
    con.execute("""CREATE TEMP TABLE prod AS SELECT (row_number() OVER (ORDER BY product) - 1)::INTEGER AS pid,
                   product FROM (SELECT DISTINCT product FROM basket_names)""")
    con.execute("""CREATE TEMP TABLE cust AS
                   SELECT (row_number() OVER (ORDER BY customer) - 1)::INTEGER AS cid, customer, segment
                   FROM (SELECT customer, any_value(segment) AS segment FROM (
                            SELECT customer, segment FROM customers_in
                            UNION ALL SELECT DISTINCT customer, NULL FROM basket_names)
                         GROUP BY customer)""")
    con.execute("""CREATE TEMP TABLE b AS SELECT cid, pid FROM basket_names JOIN cust USING (customer)
                   JOIN prod USING (product)""")


def _rules(con: duckdb.DuckDBPyConnection, min_support: float, min_confidence: float, min_lift: float) -> None:
    """Table ``rules_i(a, c, both_n, na, nc, support, confidence, lift)`` on product ids."""
    n = con.execute("SELECT count(DISTINCT cid) FROM b").fetchall()[0][0]
    # the thresholds are tested on whole counts, exactly (support ≥ s ⇔ n(A,B) ≥ ⌈s·N⌉; confidence ≥ c ⇔
    # n(A,B)·den ≥ num·n(A); lift ≥ l ⇔ n(A,B)·N·den ≥ num·n(A)·n(B)); the figures shown are ratios
    min_count = max(1, math.ceil(_exact(min_support) * n))
    conf, lift = _exact(min_confidence), _exact(min_lift)
    con.execute(f"""CREATE TEMP TABLE item AS SELECT pid, count(*) AS n FROM b GROUP BY pid
                    HAVING count(*) >= {min_count}""")
    # a pair needs both items frequent (apriori), so the self-join only sees those; each pair counted once (a < c)
    con.execute(f"""
        CREATE TEMP TABLE pair AS
        WITH bf AS (SELECT cid, pid FROM b SEMI JOIN item USING (pid))
        SELECT x.pid AS a, y.pid AS c, count(*) AS both_n FROM bf x JOIN bf y ON x.cid = y.cid AND x.pid < y.pid
        GROUP BY x.pid, y.pid HAVING count(*) >= {min_count}""")
    con.execute(f"""
        CREATE TEMP TABLE rules_i AS
        WITH directed AS (SELECT a, c, both_n FROM pair UNION ALL SELECT c, a, both_n FROM pair)
        SELECT a, c, both_n, ia.n AS na, ic.n AS nc, both_n / {n}::DOUBLE AS support,
               both_n / ia.n::DOUBLE AS confidence,
               (both_n * {n})::DOUBLE / (ia.n::DOUBLE * ic.n::DOUBLE) AS lift
        FROM directed JOIN item ia ON ia.pid = a JOIN item ic ON ic.pid = c
        WHERE both_n::HUGEINT * {conf.denominator} >= {conf.numerator}::HUGEINT * ia.n
          AND both_n::HUGEINT * {n} * {lift.denominator} >= {lift.numerator}::HUGEINT * ia.n * ic.n""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE n_customers AS SELECT {n}::BIGINT AS n")


def _exact(threshold) -> Fraction:
    """A threshold as typed (0.1 is one tenth, not the float nearest it), refused when negative."""
    value = Fraction(str(threshold))
    if value < 0:
        raise ValueError(f"a threshold must not be negative (got {threshold})")
    return value


def _percent(part: str, whole: str) -> str:
    """SQL text of part/whole as a whole percentage, rounded half up in integers: '68%'."""
    return f"(((200 * ({part})::HUGEINT + ({whole})) // (2 * ({whole})::HUGEINT))::VARCHAR || '%')"


def _recommend(con: duckdb.DuckDBPyConnection, *, k: int = 5, min_support: float = 0.001,
               min_confidence: float = 0.1, min_lift: float = 1.2, rules_per_product: int = 50,
               white_space: float = 1.0, use_rules: bool = True) -> pa.Table:
    k, rules_per_product, white_space = int(k), int(rules_per_product), float(white_space)
    if k < 1:
        raise ValueError("k must be at least 1")
    candidates = []
    if use_rules:
        con.execute("DROP TABLE IF EXISTS item; DROP TABLE IF EXISTS pair; DROP TABLE IF EXISTS rules_i")
        _rules(con, min_support, min_confidence, min_lift)
        # the strength rank orders every rule once: most confident, then highest lift, then names (ids are in
        # name order); a customer's reason for B is the strongest rule A → B with A in their basket
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE r AS
            SELECT *, row_number() OVER (ORDER BY confidence DESC, lift DESC, a, c) AS strength FROM rules_i
            QUALIFY row_number() OVER (PARTITION BY a ORDER BY confidence DESC, lift DESC, c) <= {rules_per_product}
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE rule_candidates AS
            WITH best AS (
                SELECT b.cid, r.c AS pid, min(r.strength) AS strength FROM b JOIN r ON r.a = b.pid GROUP BY ALL),
            fresh AS (SELECT * FROM best ANTI JOIN b USING (cid, pid))
            SELECT f.cid, f.pid, r.confidence AS score, 0 AS source, r.a, r.both_n, r.na, r.nc,
                   NULL::VARCHAR AS segment, NULL::BIGINT AS seg_n, NULL::BIGINT AS seg_size
            FROM fresh f JOIN r USING (strength)
            QUALIFY row_number() OVER (PARTITION BY f.cid ORDER BY r.confidence DESC, f.pid) <= {k}""")
        candidates.append("SELECT * FROM rule_candidates")
    if white_space > 0:
        # the segment's products by popularity; a customer's top k not yet bought are among the first
        # k + (basket size) of them, so only those are joined (an equi-join on the rank, no cross product)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE seg_items AS
            WITH buyers AS (SELECT DISTINCT b.cid, cust.segment FROM b JOIN cust USING (cid)
                            WHERE cust.segment IS NOT NULL),
                 size AS (SELECT segment, count(*) AS seg_size FROM buyers GROUP BY segment)
            SELECT segment, pid, count(*) AS seg_n, any_value(seg_size) AS seg_size,
                   row_number() OVER (PARTITION BY segment ORDER BY count(*) DESC, pid) AS srank
            FROM buyers JOIN b USING (cid) JOIN size USING (segment) GROUP BY segment, pid""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE white_candidates AS
            WITH sizes AS (SELECT cid, count(*) AS bought FROM b GROUP BY cid),
                 slots AS (SELECT c.cid, c.segment, unnest(range(1, {k} + coalesce(s.bought, 0) + 1)) AS srank
                           FROM cust c LEFT JOIN sizes s USING (cid) WHERE c.segment IS NOT NULL),
                 fresh AS (SELECT slots.cid, si.* EXCLUDE (segment), slots.segment
                           FROM slots JOIN seg_items si USING (segment, srank) ANTI JOIN b USING (cid, pid))
            SELECT cid, pid, seg_n / seg_size::DOUBLE * {white_space!r} AS score, 1 AS source,
                   NULL::INTEGER AS a, NULL::BIGINT AS both_n, NULL::BIGINT AS na, NULL::BIGINT AS nc,
                   segment, seg_n, seg_size
            FROM fresh QUALIFY row_number() OVER (PARTITION BY cid ORDER BY srank) <= {k}""")
        candidates.append("SELECT * FROM white_candidates")
    if not candidates:
        return RECOMMENDATIONS_SCHEMA.empty_table()
    n_sql = "(SELECT n FROM n_customers)" if use_rules else "0"
    lift_tenths = f"((20 * c.both_n::HUGEINT * {n_sql} + c.na::HUGEINT * c.nc) // (2 * c.na::HUGEINT * c.nc))"
    return con.sql(f"""
        WITH c AS (
            SELECT * FROM ({" UNION ALL ".join(candidates)})
            QUALIFY row_number() OVER (PARTITION BY cid, pid ORDER BY score DESC, source) = 1),
        ranked AS (
            SELECT *, row_number() OVER (PARTITION BY cid ORDER BY score DESC, source, pid) AS rank FROM c
            QUALIFY rank <= {k})
        SELECT cu.customer, c.rank::INTEGER AS rank, p.product, c.score,
               CASE c.source WHEN 0 THEN 'rule' ELSE 'white_space' END AS source,
               CASE c.source WHEN 0 THEN $rule ELSE $white END AS template,
               CASE c.source
                   WHEN 0 THEN MAP {{'a': pa.product, 'b': p.product,
                                     'confidence': {_percent("c.both_n", "c.na")},
                                     'lift': ({lift_tenths} // 10)::VARCHAR || '.' || ({lift_tenths} % 10)::VARCHAR}}
                   ELSE MAP {{'b': p.product, 'segment': c.segment,
                             'share': {_percent("c.seg_n", "c.seg_size")}}} END AS params
        FROM ranked c JOIN cust cu USING (cid) JOIN prod p USING (pid) LEFT JOIN prod pa ON pa.pid = c.a
        ORDER BY cu.customer, c.rank""", params={"rule": RULE_REASON, "white": WHITE_SPACE_REASON}
                   ).to_arrow_table().cast(RECOMMENDATIONS_SCHEMA)
