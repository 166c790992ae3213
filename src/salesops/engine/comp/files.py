"""Reading the compensation engine's inputs from CSV or Parquet files, checked row by row.

Role in the flow: ``salesops comp calc`` (and the docs' examples) read transactions, payees, quotas and the
hierarchy from files into :class:`~salesops.engine.comp.calc.CompInputs`. DuckDB reads and checks them in
bulk (a 10M-line file is never walked in Python); every bad cell is reported with its file, row, column and value,
and nothing is calculated while any remains.

Columns (names are case-insensitive; ``docs/plans.md`` shows examples):

- transactions: ``line_id`` (or ``external_id``), ``date`` (YYYY-MM-DD), ``net_amount`` (or ``net``), ``credits``
  (``E101:60;E201:40``, or ``E101`` alone for 100 %) — required; ``customer``, ``product``, ``category``,
  ``region``, ``segment``, ``quantity`` (default 1), ``cost`` (default 0), ``original_line_id`` (or
  ``original_external_id``: the line a return returns, for clawbacks), ``invoiced_on`` (YYYY-MM-DD or empty: the
  invoice date, for ``recognise: invoiced``), ``attr:<name>`` (a deal attribute such as ``attr:channel``, for
  ``filter: {attributes: …}``; an empty cell: the line has no such attribute) — optional. The same columns as
  the order-line import, with the product's category and the customer's region and segment written out.
- payees: ``payee`` (the employee number used in credits), ``name``, and optionally ``manager`` (an undated
  reporting line), ``start`` and ``end`` (the first and last day in the plan: proration), ``hired`` (the hire
  date ramps count from), ``target_incentive`` (a team bonus shared by target incentive).
- customers (optional, ``new_customers``): ``customer``, ``first_order_date`` — each customer's first purchase
  over all history (without it, a customer's first line in the transactions file).
- hierarchy (optional, dated): ``payee``, ``manager``, ``valid_from``, ``valid_to`` (exclusive, may be empty).
- quotas (optional): ``payee``, ``component``, ``period`` (``2026-03``, ``2026-Q1``, ``2026-H1``, ``FY2026``),
  ``quota``.
- scores (optional, MBO): ``payee``, ``component``, ``period``, ``score`` (0.85 = 85 %).
- payments (optional, ``recognise: paid``): ``line_id`` (the order line paid), ``date``, ``amount``.
- balances (optional, draws): ``payee``, ``component``, ``balance`` — the closing balances of the last run (the
  ``balances.csv`` it wrote can be passed as it is).
"""

# SQL here is built from our own constants and from the files' column names, which are quoted as identifiers
# (a double quote inside doubled); every value read from a file stays data, never SQL text.
# ruff: noqa: S608

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from salesops.engine.comp import calc
from salesops.engine.comp.plan import ATTRIBUTE

CREDIT_PART = r"^(.+?)\s*[:：=]\s*([0-9]+(?:\.[0-9]+)?)\s*[%％]?$"
MAX_LISTED = 200  # problems listed per run; the count says how many more there were


class FileProblems(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _source(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> list[str]:
    """Register the file as view ``raw_<name>`` (every column text, plus ``_row``: the row number in the file,
    the header being row 1); returns its lower-cased column names."""
    if not path.exists():
        raise FileProblems([f"{path}: no such file"])
    literal = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        reader = f"read_parquet('{literal}')"
        columns = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
        select = ", ".join(f'CAST({_quote(c)} AS VARCHAR) AS {_quote(c.lower())}' for c in columns)
    else:
        reader = f"read_csv('{literal}', all_varchar = true, header = true, encoding = 'utf-8')"
        try:
            columns = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
        except duckdb.Error as error:
            raise FileProblems([f"{path.name}: cannot read it as CSV: {str(error).splitlines()[0]}"]) from None
        select = ", ".join(f'trim({_quote(c)}) AS {_quote(c.lower().lstrip(chr(0xFEFF)))}' for c in columns)
    con.execute(f"CREATE TEMP TABLE raw_{name} AS SELECT row_number() OVER () + 1 AS _row, {select} "
                f"FROM {reader}")
    return [c.lower().lstrip("\ufeff") for c in columns]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _bad_numbers(table: str, expr: str, label: str, places: int, *, negative: bool = False) -> str:
    """SQL: the rows of ``table`` whose ``expr`` is not a number, is negative (unless allowed) or has more than
    ``places`` decimals — as (row, column label, value, reason)."""
    v = f"try_cast({expr} AS DECIMAL(38,12))"
    sign, sign_where = ("", "") if negative else (f" WHEN {v} < 0 THEN 'negative'", f" OR {v} < 0")
    return (f"SELECT _row, '{label}', {expr}, CASE WHEN {v} IS NULL THEN 'not a number'{sign} "
            f"ELSE 'more than {places} decimals' END FROM {table} "
            f"WHERE {v} IS NULL{sign_where} OR {v} <> round({v}, {places})")


def _pick(columns: list[str], *names: str) -> str | None:
    return next((n for n in names if n in columns), None)


def _problems(con, sql: str, what: str) -> list[str]:
    return [f"{what} row {row}, {column} [{value}]: {reason}" for row, column, value, reason in con.execute(sql).fetchall()]


def read_inputs(transactions: Path, payees: Path, quotas: Path | None = None, hierarchy: Path | None = None,
                scores: Path | None = None, payments: Path | None = None,
                balances: Path | None = None, customers: Path | None = None) -> calc.CompInputs:
    """The files as engine inputs; :class:`FileProblems` lists every bad row (up to ``MAX_LISTED``)."""
    con = duckdb.connect()
    try:
        return _read(con, transactions, payees, quotas, hierarchy, scores, payments, balances, customers)
    finally:
        con.close()


def _need(columns: list[str], file: str, *groups: tuple[str, ...]) -> list[str]:
    return [f"{file}: needs a column {' or '.join(group)}" for group in groups if not _pick(columns, *group)]


def _read(con, transactions: Path, payees: Path, quotas: Path | None, hierarchy: Path | None,
          scores: Path | None = None, payments: Path | None = None, balances: Path | None = None,
          customers: Path | None = None) -> calc.CompInputs:
    tx, pay = transactions.name, payees.name
    cols = _source(con, transactions, "tx")
    pcols = _source(con, payees, "payees")
    problems = _need(cols, tx, ("line_id", "external_id"), ("date",), ("net_amount", "net"), ("credits",))
    problems += _need(pcols, pay, ("payee",))
    if problems:
        raise FileProblems(problems)
    line_id, net = _pick(cols, "line_id", "external_id"), _pick(cols, "net_amount", "net")
    original = _pick(cols, "original_line_id", "original_external_id")
    attributes = sorted(c for c in cols if c.startswith("attr:"))
    problems += [f"{tx}: column {c}: an attribute name is lower case letters, digits and _, starting with a letter"
                 for c in attributes if not ATTRIBUTE.match(c.removeprefix("attr:"))]
    if problems:
        raise FileProblems(problems)
    # attr:<name> columns → one map per line (the non-empty cells)
    entries = ", ".join(f"{{'key': '{c.removeprefix('attr:')}', 'value': {_quote(c)}}}" for c in attributes)
    invoiced = "nullif(invoiced_on, '')" if "invoiced_on" in cols else "NULL"
    attribute_sql = (f"map_from_entries(list_filter([{entries}], lambda e: coalesce(e.value, '') <> ''))"
                     if attributes else "NULL::MAP(VARCHAR, VARCHAR)")

    def text(name: str) -> str:
        return f'coalesce("{name}", \'\')' if name in cols else "''"

    def money(name: str | None, default: str) -> str:
        return f'coalesce(nullif("{name}", \'\'), \'{default}\')' if name else f"'{default}'"

    con.execute(f"""
        CREATE TEMP TABLE tx AS SELECT _row, "{line_id}" AS line_id, "date" AS date_text,
            try_strptime("date", '%Y-%m-%d')::DATE AS date,
            {text('customer')} AS customer, {text('product')} AS product, {text('category')} AS category,
            {text('region')} AS region, {text('segment')} AS segment,
            {money(_pick(cols, 'quantity'), '1')} AS quantity_text, {money(net, '')} AS net_text,
            {money(_pick(cols, 'cost'), '0')} AS cost_text, coalesce(credits, '') AS credits,
            {f'nullif("{original}", {chr(39)}{chr(39)})' if original else 'NULL'} AS original_line_id,
            {invoiced} AS invoiced_text,
            {attribute_sql} AS attributes
        FROM raw_tx""")
    checks = []
    for column, expr, places in (("quantity", "quantity_text", 4), (net, "net_text", 2), ("cost", "cost_text", 2)):
        checks.append(_bad_numbers("tx", expr, column, places, negative=True))
    checks.append("SELECT _row, 'date', date_text, 'not a date (YYYY-MM-DD)' FROM tx WHERE date IS NULL")
    checks.append("SELECT _row, 'invoiced_on', invoiced_text, 'not a date (YYYY-MM-DD)' FROM tx "
                  "WHERE invoiced_text IS NOT NULL AND try_strptime(invoiced_text, '%Y-%m-%d') IS NULL")
    if original:
        checks.append(f"""SELECT _row, '{original}', original_line_id, 'no such line in this file' FROM tx
                          WHERE original_line_id IS NOT NULL AND original_line_id NOT IN (SELECT line_id FROM tx)""")
    checks.append(f"SELECT _row, '{line_id}', line_id, 'empty' FROM tx WHERE coalesce(line_id, '') = ''")
    checks.append(f"""SELECT _row, '{line_id}', line_id, 'the same line id is on row ' || first_row FROM (
            SELECT _row, line_id, min(_row) OVER (PARTITION BY line_id) AS first_row FROM tx) WHERE _row > first_row""")
    problems += _problems(con, " UNION ALL ".join(checks) + " ORDER BY 1, 2 LIMIT " + str(MAX_LISTED), tx)
    # credits: 'E101:60;E201:40' → one row per part
    con.execute("""
        CREATE TEMP TABLE parts AS
        SELECT _row, line_id, credits, trim(part) AS part,
               count(*) OVER (PARTITION BY _row) AS n
        FROM (SELECT _row, line_id, credits,
                     unnest(string_split(regexp_replace(credits, '[;,|；，、]', ';', 'g'), ';')) AS part FROM tx)
        WHERE trim(part) <> ''""")
    con.execute(f"""
        CREATE TEMP TABLE cr AS
        SELECT _row, line_id, credits, part,
               CASE WHEN regexp_matches(part, '{CREDIT_PART}') THEN trim(regexp_extract(part, '{CREDIT_PART}', 1))
                    WHEN n = 1 THEN part END AS payee,
               CASE WHEN regexp_matches(part, '{CREDIT_PART}')
                    THEN try_cast(regexp_extract(part, '{CREDIT_PART}', 2) AS DECIMAL(9,4))
                    WHEN n = 1 THEN 100::DECIMAL(9,4) END AS pct
        FROM parts""")
    credit_checks = [
        "SELECT _row, 'credits', credits, 'no salesperson credited' FROM tx WHERE _row NOT IN (SELECT _row FROM parts)",
        "SELECT _row, 'credits', part, 'not employee-number:percent (e.g. E101:60;E201:40)' FROM cr "
        "WHERE payee IS NULL OR pct IS NULL",
        "SELECT _row, 'credits', any_value(credits), 'the shares add up to ' || rtrim(rtrim(CAST(sum(pct) AS VARCHAR), '0'), '.') || '%, not 100%' FROM cr "
        "WHERE pct IS NOT NULL GROUP BY _row HAVING sum(pct) <> 100",
        "SELECT _row, 'credits', any_value(credits), 'the same salesperson twice' FROM cr WHERE payee IS NOT NULL "
        "GROUP BY _row, payee HAVING count(*) > 1",
        "SELECT _row, 'credits', payee, 'no such payee in " + pay.replace("'", "''") + "' FROM cr "
        "WHERE payee IS NOT NULL AND payee NOT IN (SELECT payee FROM raw_payees)",
    ]
    problems += _problems(con, " UNION ALL ".join(credit_checks) + f" ORDER BY 1 LIMIT {MAX_LISTED}", tx)
    problems += _problems(con, f"""
        SELECT _row, 'payee', payee, 'the same payee is on row ' || first_row FROM (
            SELECT _row, payee, min(_row) OVER (PARTITION BY payee) AS first_row FROM raw_payees)
        WHERE _row > first_row OR coalesce(payee, '') = '' ORDER BY 1 LIMIT {MAX_LISTED}""", pay)
    hierarchy_sql = _hierarchy(con, pcols, hierarchy, problems, pay)
    quota_sql = _quotas(con, quotas, problems)
    problems += _dates(con, "raw_payees", pay, [c for c in ("start", "end", "hired") if c in pcols])
    if "target_incentive" in pcols:
        given = "(SELECT * FROM raw_payees WHERE coalesce(target_incentive, '') <> '')"
        problems += _problems(con, _bad_numbers(given, "target_incentive", "target_incentive", 2)
                              + f" ORDER BY 1 LIMIT {MAX_LISTED}", pay)
    if "start" in pcols and "end" in pcols:
        problems += _problems(con, f"""
            SELECT _row, 'end', "end", 'before start ' || start FROM raw_payees
            WHERE try_strptime("end", '%Y-%m-%d') < try_strptime(start, '%Y-%m-%d') ORDER BY 1 LIMIT {MAX_LISTED}""",
                              pay)
    score_sql = _scores(con, scores, problems)
    payment_sql = _payments(con, payments, problems)
    balance_sql = _balances(con, balances, problems)
    customer_sql = _customers(con, customers, problems)
    if problems:
        raise FileProblems(problems[:MAX_LISTED] + ([f"… and {len(problems) - MAX_LISTED} more"]
                                                    if len(problems) > MAX_LISTED else []))
    lines = con.sql("""
        SELECT line_id, date, customer, product, category, region, segment,
               CAST(quantity_text AS DECIMAL(18,4)) AS quantity, CAST(net_text AS DECIMAL(18,2)) AS net,
               CAST(cost_text AS DECIMAL(18,2)) AS cost, original_line_id,
               try_strptime(invoiced_text, '%Y-%m-%d')::DATE AS invoiced_on, attributes
        FROM tx ORDER BY _row""").to_arrow_table().cast(pa.schema([*calc.RETURNS_LINE_SCHEMA,
                                                                   *calc.OPTIONAL_LINE_FIELDS]))
    credits = con.sql("""SELECT line_id, payee, CAST(pct * 0.01 AS DECIMAL(9,6)) AS share FROM cr
                         ORDER BY _row, payee""").to_arrow_table().cast(calc.CREDIT_SCHEMA)
    name = "coalesce(name, '')" if "name" in pcols else "''"
    start, end, hired = (f"try_strptime(nullif({c}, ''), '%Y-%m-%d')::DATE" if c.strip('"') in pcols
                         else "NULL::DATE" for c in ("start", '"end"', "hired"))
    target = ("CAST(nullif(target_incentive, '') AS DECIMAL(18,2))" if "target_incentive" in pcols
              else "NULL::DECIMAL(18,2)")
    payee_table = con.sql(f"SELECT payee, {name} AS name, {start} AS start, {end} AS \"end\", {hired} AS hired, "
                          f"{target} AS target_incentive FROM raw_payees ORDER BY _row").to_arrow_table()
    return calc.CompInputs.from_lines(
        lines=lines, credits=credits, payees=payee_table.cast(calc.PAYEE_FULL_SCHEMA),
        customers=con.sql(customer_sql).to_arrow_table().cast(calc.CUSTOMER_SCHEMA),
        hierarchy=con.sql(hierarchy_sql).to_arrow_table().cast(calc.HIERARCHY_SCHEMA),
        quotas=con.sql(quota_sql).to_arrow_table().cast(calc.QUOTA_SCHEMA),
        scores=con.sql(score_sql).to_arrow_table().cast(calc.SCORE_SCHEMA),
        payments=con.sql(payment_sql).to_arrow_table().cast(calc.PAYMENT_SCHEMA),
        balances=con.sql(balance_sql).to_arrow_table().cast(calc.BALANCE_SCHEMA))


def _balances(con, balances: Path | None, problems: list[str]) -> str:
    """Draw balances at the start of the period: payee, component, balance (what the payee owes; the closing
    balance of the last run, ``balances.csv``)."""
    empty = "SELECT NULL::VARCHAR AS payee, NULL::VARCHAR AS component, NULL::DECIMAL(18,2) AS balance WHERE false"
    if balances is None:
        return empty
    cols = _source(con, balances, "balances")
    missing = _need(cols, balances.name, ("payee",), ("component",), ("balance", "closing"))
    if missing:
        problems += missing
        return empty
    column = _pick(cols, "balance", "closing")
    problems += _problems(con, f"""
        {_bad_numbers("raw_balances", _quote(column), column, 2)}
        UNION ALL SELECT _row, 'payee', payee, 'no such payee' FROM raw_balances
            WHERE payee NOT IN (SELECT payee FROM raw_payees)
        ORDER BY 1 LIMIT {MAX_LISTED}""", balances.name)
    return f'SELECT payee, component, CAST("{column}" AS DECIMAL(18,2)) AS balance FROM raw_balances ORDER BY _row'


def _customers(con, customers: Path | None, problems: list[str]) -> str:
    """First purchase dates for ``new_customers``: customer, first_order_date (one row per customer)."""
    empty = "SELECT NULL::VARCHAR AS customer, NULL::DATE AS first_order_date WHERE false"
    if customers is None:
        return empty
    cols = _source(con, customers, "customers")
    missing = _need(cols, customers.name, ("customer",), ("first_order_date",))
    if missing:
        problems += missing
        return empty
    problems += _problems(con, f"""
        SELECT _row, 'first_order_date', first_order_date, 'not a date (YYYY-MM-DD)' FROM raw_customers
            WHERE try_strptime(first_order_date, '%Y-%m-%d') IS NULL
        UNION ALL SELECT _row, 'customer', customer, 'the same customer is on row ' || first_row
            FROM (SELECT _row, customer, min(_row) OVER (PARTITION BY customer) AS first_row FROM raw_customers)
            WHERE _row > first_row OR coalesce(customer, '') = ''
        ORDER BY 1 LIMIT {MAX_LISTED}""", customers.name)
    return ("SELECT customer, try_strptime(first_order_date, '%Y-%m-%d')::DATE AS first_order_date "
            "FROM raw_customers ORDER BY _row")


def _dates(con, table: str, file: str, columns: list[str]) -> list[str]:
    """Optional date columns: empty, or YYYY-MM-DD."""
    checks = [f"""SELECT _row, '{c}', "{c}", 'not a date (YYYY-MM-DD)' FROM {table}
                  WHERE coalesce("{c}", '') <> '' AND try_strptime("{c}", '%Y-%m-%d') IS NULL""" for c in columns]
    return _problems(con, " UNION ALL ".join(checks) + f" ORDER BY 1 LIMIT {MAX_LISTED}", file) if checks else []


def _scores(con, scores: Path | None, problems: list[str]) -> str:
    """MBO scores: payee, component, period, score (a fraction ≥ 0 with at most 4 decimals, 0.85 = 85 %)."""
    empty = ("SELECT NULL::VARCHAR AS payee, NULL::VARCHAR AS component, NULL::VARCHAR AS period, "
             "NULL::DECIMAL(9,4) AS score WHERE false")
    if scores is None:
        return empty
    cols = _source(con, scores, "scores")
    missing = _need(cols, scores.name, ("payee",), ("component",), ("period",), ("score",))
    if missing:
        problems += missing
        return empty
    problems += _problems(con, f"""
        {_bad_numbers("raw_scores", "score", "score", 4)}
        UNION ALL SELECT _row, 'payee', payee, 'no such payee' FROM raw_scores
            WHERE payee NOT IN (SELECT payee FROM raw_payees)
        UNION ALL SELECT _row, 'period', period, 'the same payee, component and period is on row ' || first_row
            FROM (SELECT _row, period, min(_row) OVER (PARTITION BY payee, component, period) AS first_row
                  FROM raw_scores) WHERE _row > first_row
        ORDER BY 1 LIMIT {MAX_LISTED}""", scores.name)
    return "SELECT payee, component, period, CAST(score AS DECIMAL(9,4)) AS score FROM raw_scores ORDER BY _row"


def _payments(con, payments: Path | None, problems: list[str]) -> str:
    """Payments for ``recognise: paid``: line_id (the order line paid), date, amount."""
    empty = "SELECT NULL::VARCHAR AS line_id, NULL::DATE AS date, NULL::DECIMAL(18,2) AS amount WHERE false"
    if payments is None:
        return empty
    cols = _source(con, payments, "payments")
    missing = _need(cols, payments.name, ("line_id",), ("date",), ("amount",))
    if missing:
        problems += missing
        return empty
    problems += _problems(con, f"""
        {_bad_numbers("raw_payments", "amount", "amount", 2, negative=True)}
        UNION ALL SELECT _row, 'date', date, 'not a date (YYYY-MM-DD)' FROM raw_payments
            WHERE try_strptime(date, '%Y-%m-%d') IS NULL
        UNION ALL SELECT _row, 'line_id', line_id, 'no such order line' FROM raw_payments
            WHERE line_id NOT IN (SELECT line_id FROM tx)
        ORDER BY 1 LIMIT {MAX_LISTED}""", payments.name)
    return ("SELECT line_id, try_strptime(date, '%Y-%m-%d')::DATE AS date, CAST(amount AS DECIMAL(18,2)) AS amount "
            "FROM raw_payments ORDER BY _row")


def _hierarchy(con, pcols: list[str], hierarchy: Path | None, problems: list[str], pay: str) -> str:
    """SQL for the hierarchy rows: the dated file when given, plus the payees file's undated ``manager``."""
    parts = []
    if "manager" in pcols:
        parts.append("SELECT payee, manager, DATE '0001-01-01' AS valid_from, NULL::DATE AS valid_to FROM raw_payees "
                     "WHERE coalesce(manager, '') <> ''")
        problems += _problems(con, "SELECT _row, 'manager', manager, 'no such payee' FROM raw_payees "
                                   "WHERE coalesce(manager, '') <> '' AND manager NOT IN (SELECT payee FROM raw_payees)"
                                   f" ORDER BY 1 LIMIT {MAX_LISTED}", pay)
    if hierarchy is not None:
        hcols = _source(con, hierarchy, "hierarchy")
        missing = _need(hcols, hierarchy.name, ("payee",), ("manager",), ("valid_from",))
        if missing:
            problems += missing
        else:
            valid_to = "valid_to" if "valid_to" in hcols else "NULL"
            con.execute(f"""CREATE TEMP TABLE hier AS SELECT _row, payee, manager, valid_from AS from_text,
                    try_strptime(valid_from, '%Y-%m-%d')::DATE AS valid_from, {valid_to} AS to_text,
                    try_strptime(nullif({valid_to}, ''), '%Y-%m-%d')::DATE AS valid_to FROM raw_hierarchy""")
            problems += _problems(con, f"""
                SELECT _row, 'valid_from', from_text, 'not a date (YYYY-MM-DD)' FROM hier WHERE valid_from IS NULL
                UNION ALL SELECT _row, 'valid_to', to_text, 'not a date (YYYY-MM-DD)' FROM hier
                    WHERE coalesce(to_text, '') <> '' AND valid_to IS NULL
                UNION ALL SELECT _row, 'valid_to', to_text, 'not after valid_from' FROM hier WHERE valid_to <= valid_from
                UNION ALL SELECT _row, 'payee', payee, 'no such payee' FROM hier
                    WHERE payee NOT IN (SELECT payee FROM raw_payees)
                UNION ALL SELECT _row, 'manager', manager, 'no such payee' FROM hier
                    WHERE manager NOT IN (SELECT payee FROM raw_payees)
                UNION ALL SELECT a._row, 'valid_from', a.from_text, 'overlaps row ' || b._row || ' of the same payee'
                    FROM hier a JOIN hier b ON a.payee = b.payee AND a._row > b._row
                        AND a.valid_from < coalesce(b.valid_to, DATE '9999-12-31')
                        AND b.valid_from < coalesce(a.valid_to, DATE '9999-12-31')
                ORDER BY 1 LIMIT {MAX_LISTED}""", hierarchy.name)
            parts.append("SELECT payee, manager, valid_from, valid_to FROM hier")
            if "manager" in pcols:  # one reporting line per payee: the dated file or the payees file, not both
                problems += _problems(con, f"""
                    SELECT p._row, 'manager', p.manager, 'this payee also has rows in {hierarchy.name.replace("'", "''")}'
                        || ': keep the reporting line in one file'
                    FROM raw_payees p WHERE coalesce(p.manager, '') <> ''
                        AND p.payee IN (SELECT payee FROM raw_hierarchy)
                    ORDER BY 1 LIMIT {MAX_LISTED}""", pay)
    if not parts:
        return "SELECT NULL::VARCHAR AS payee, NULL::VARCHAR AS manager, NULL::DATE AS valid_from, " \
               "NULL::DATE AS valid_to WHERE false"
    return " UNION ALL ".join(parts) + " ORDER BY payee, valid_from"


def _quotas(con, quotas: Path | None, problems: list[str]) -> str:
    if quotas is None:
        return ("SELECT NULL::VARCHAR AS payee, NULL::VARCHAR AS component, NULL::VARCHAR AS period, "
                "NULL::DECIMAL(18,2) AS quota WHERE false")
    qcols = _source(con, quotas, "quotas")
    missing = _need(qcols, quotas.name, ("payee",), ("component",), ("period",), ("quota",))
    if missing:
        problems += missing
        return _quotas(con, None, problems)
    problems += _problems(con, f"""
        {_bad_numbers("raw_quotas", "quota", "quota", 2)}
        UNION ALL SELECT _row, 'payee', payee, 'no such payee' FROM raw_quotas
            WHERE payee NOT IN (SELECT payee FROM raw_payees)
        UNION ALL SELECT _row, 'period', period, 'not a period code (2026-03, 2026-Q1, 2026-H1 or FY2026)'
            FROM raw_quotas WHERE NOT regexp_full_match(coalesce(period, ''),
                                                        '[0-9]{{4}}-(0[1-9]|1[0-2]|Q[1-4]|H[12])|FY[0-9]{{4}}')
        UNION ALL SELECT _row, 'period', period, 'the same payee, component and period is on row ' || first_row
            FROM (SELECT _row, period, min(_row) OVER (PARTITION BY payee, component, period) AS first_row
                  FROM raw_quotas) WHERE _row > first_row
        ORDER BY 1 LIMIT {MAX_LISTED}""", quotas.name)
    return "SELECT payee, component, period, CAST(quota AS DECIMAL(18,2)) AS quota FROM raw_quotas ORDER BY _row"

