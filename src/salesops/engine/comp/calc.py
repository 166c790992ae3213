"""The commission calculation: a pure function of (plan, inputs, period) → payouts with their lineage.

Role in the flow: the web app (runs) or the ``salesops comp calc`` CLI gives a validated
:class:`~salesops.engine.comp.plan.CompPlan`, the inputs as Arrow tables (:class:`CompInputs`: the credited
order lines — one row per line and payee with the split share —, the payees, the dated hierarchy, the quotas) and
a payout period; :func:`calculate` returns :class:`CompResult`: one payout per payee and component (rounded once,
here, by the plan's policy), the detail rows that explain it (rule, band, basis, rate, earned — unrounded, adding
up to the payout) and, per credited line, what each payee was credited (the lineage down to the order lines).

How (DuckDB, columnar, exact DECIMAL):

1. a pass over the credited lines computes, per payee and time slice, the sums every component needs (its
   window; a rate table's rows as a group key) — no Python over lines, no per-component pass: one pass per
   distinct condition (the lines every unfiltered component reads are scanned once; a SPIFF's or a filtered
   component's pass reads only its lines), each distinct sum once;
2. the roll-up joins those sums (thousands of rows, not millions) to the hierarchy in effect on each slice, up to
   each component's number of levels; slices are cut wherever the hierarchy changes inside the window (the
   passes, the roll-up and the per-payee sums are one statement);
3. per component, the payout rules are set operations per payee: flat rates, rate-table rows, tier bands
   (marginal, whole-amount; a value on an edge goes to the band above or below), gates, caps on attainment and
   on payout, SPIFFs; a window longer than the period pays "earned to date − earned before the period";
   interpolated bands, the one rule that must divide, run per payee in exact ``Decimal`` arithmetic;
4. the payout is the sum of its detail rows, rounded once by the plan's policy (四舍五入 by default).

DuckDB divides decimals into floating point, so nothing is divided in SQL (attainment is shown by integer
arithmetic). Invariants: the same inputs give the same bytes (every output is sorted); computing two partitions
of the payees (each with the lines credited to them and their reports) gives exactly the rows of one run over all
of them; a payout equals its detail rows' sum, rounded once.
"""

# SQL here is built from our own constants and column names; every value from a plan or an input is bound as
# a parameter, never pasted into SQL text.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from salesops.engine.comp.plan import Component, CompPlan, Credit, CreditType, TierMode, Window
from salesops.engine.money import round_money
from salesops.engine.periods import FiscalCalendar, Period, PeriodKind

CENT = Decimal("0.01")
MONEY = pa.decimal128(18, 2)
SHARE = pa.decimal128(9, 6)
QUANTITY = pa.decimal128(18, 4)

LINE_SCHEMA = pa.schema([
    ("line_id", pa.string()), ("date", pa.date32()), ("customer", pa.string()), ("product", pa.string()),
    ("category", pa.string()), ("region", pa.string()), ("segment", pa.string()), ("quantity", QUANTITY),
    ("net", MONEY), ("cost", MONEY),
])
CREDIT_SCHEMA = pa.schema([("line_id", pa.string()), ("payee", pa.string()), ("share", SHARE)])
HIERARCHY_SCHEMA = pa.schema([("payee", pa.string()), ("manager", pa.string()), ("valid_from", pa.date32()),
                              ("valid_to", pa.date32())])
QUOTA_SCHEMA = pa.schema([("payee", pa.string()), ("component", pa.string()), ("period", pa.string()),
                          ("quota", MONEY)])
PAYEE_SCHEMA = pa.schema([("payee", pa.string()), ("name", pa.string())])
# optional: the first and last day (inclusive) a payee takes part in the plan (a hire, a leave)
PAYEE_DATES_SCHEMA = pa.schema([*PAYEE_SCHEMA, ("start", pa.date32()), ("end", pa.date32())])
# optional too: the hire date (ramps count months from it, else from ``start``) and the target incentive (a team
# bonus shared by_target_incentive)
PAYEE_FULL_SCHEMA = pa.schema([*PAYEE_DATES_SCHEMA, ("hired", pa.date32()), ("target_incentive", MONEY)])
# optional (credit type new_customers): each customer's first purchase date, over all history
CUSTOMER_SCHEMA = pa.schema([("customer", pa.string()), ("first_order_date", pa.date32())])
ATTRIBUTES = pa.map_(pa.string(), pa.string())
# optional line columns: the invoice date (recognise: invoiced) and the deal attributes (filter: attributes); a
# line table without them reads as "not invoiced" and "no attributes"
OPTIONAL_LINE_FIELDS = (pa.field("invoiced_on", pa.date32()), pa.field("attributes", ATTRIBUTES))
SCORE_SCHEMA = pa.schema([("payee", pa.string()), ("component", pa.string()), ("period", pa.string()),
                          ("score", pa.decimal128(9, 4))])
PAYMENT_SCHEMA = pa.schema([("line_id", pa.string()), ("date", pa.date32()), ("amount", MONEY)])
# draws: the recoverable balance each payee owes at the start of the period (the closing balance of the last run)
BALANCE_SCHEMA = pa.schema([("payee", pa.string()), ("component", pa.string()), ("balance", MONEY)])
BALANCE_OUT_SCHEMA = pa.schema([("payee", pa.string()), ("component", pa.string()),
                                *[(name, pa.decimal128(38, 2)) for name in ("opening", "advanced", "recovered",
                                                                            "closing")]])


# a return line names the line it returns (``original_line_id``, optional); credited rows carry its date too
RETURNS_LINE_SCHEMA = pa.schema([*LINE_SCHEMA, ("original_line_id", pa.string())])
CREDITED_SCHEMA = pa.schema([*LINE_SCHEMA, ("original_line_id", pa.string()), ("payee", pa.string()),
                             ("share", SHARE), ("original_date", pa.date32())])


@dataclass(frozen=True)
class CompInputs:
    """Columnar inputs. ``credited``: one row per order line and credited payee (the line's columns, the payee
    and the split ``share`` as a fraction, 0.5 for a 50 % split) — build it with :meth:`from_lines`;
    ``hierarchy`` rows say who a payee reported to from ``valid_from`` until before ``valid_to`` (open when
    null); ``quotas`` hold a quota per payee, component and period code (``2026-03``, ``2026-Q1``, ``FY2026``)."""

    credited: pa.Table
    payees: pa.Table
    hierarchy: pa.Table = field(default_factory=lambda: HIERARCHY_SCHEMA.empty_table())
    quotas: pa.Table = field(default_factory=lambda: QUOTA_SCHEMA.empty_table())
    scores: pa.Table = field(default_factory=lambda: SCORE_SCHEMA.empty_table())  # MBO scores (0.8 = 80 %)
    payments: pa.Table = field(default_factory=lambda: PAYMENT_SCHEMA.empty_table())  # for recognise: paid
    balances: pa.Table = field(default_factory=lambda: BALANCE_SCHEMA.empty_table())  # draw balances
    customers: pa.Table = field(default_factory=lambda: CUSTOMER_SCHEMA.empty_table())  # first purchase dates

    @classmethod
    def from_lines(cls, lines: pa.Table, credits: pa.Table, payees: pa.Table, hierarchy: pa.Table | None = None,
                   quotas: pa.Table | None = None, scores: pa.Table | None = None,
                   payments: pa.Table | None = None, balances: pa.Table | None = None,
                   customers: pa.Table | None = None) -> CompInputs:
        """Join order lines (``LINE_SCHEMA``, and optionally ``original_line_id``, ``invoiced_on`` and
        ``attributes``) with their credits (``CREDIT_SCHEMA``), once; refused (every line named, up to 50) when a
        line's shares do not add up to 100 % or a credit names no known line."""
        con = connection()
        try:
            if "original_line_id" not in lines.column_names:
                lines = lines.append_column(pa.field("original_line_id", pa.string()),
                                            pa.nulls(lines.num_rows, pa.string()))
            con.register("in_lines", lines)
            con.register("in_credits", credits)
            _check_inputs(con)
            optional = [f for f in OPTIONAL_LINE_FIELDS if f.name in lines.column_names]
            extra = "".join(f", l.{f.name}" for f in optional)
            credited = con.sql(f"""
                SELECT {', '.join(f'l.{f.name}' for f in LINE_SCHEMA)}, l.original_line_id, c.payee, c.share,
                       o.date AS original_date{extra}
                FROM in_lines l JOIN in_credits c USING (line_id)
                LEFT JOIN in_lines o ON o.line_id = l.original_line_id
                ORDER BY l.line_id, c.payee""").to_arrow_table().cast(pa.schema([*CREDITED_SCHEMA, *optional]))
        finally:
            con.close()
        credited = dictionary_encoded(credited)
        return cls(credited, payees, hierarchy if hierarchy is not None else HIERARCHY_SCHEMA.empty_table(),
                   quotas if quotas is not None else QUOTA_SCHEMA.empty_table(),
                   scores if scores is not None else SCORE_SCHEMA.empty_table(),
                   payments if payments is not None else PAYMENT_SCHEMA.empty_table(),
                   balances if balances is not None else BALANCE_SCHEMA.empty_table(),
                   customers if customers is not None else CUSTOMER_SCHEMA.empty_table())


CODE_COLUMNS = ("payee", "product", "category", "region", "segment", "customer")


def dictionary_encoded(table: pa.Table) -> pa.Table:
    """The code columns (payee, product, …) as Arrow dictionaries, one dictionary per column across its chunks: a
    few thousand distinct codes over millions of rows, which DuckDB scans and compares about a fifth faster than
    plain strings, and whose indices the calculation groups and filters on (integer ids, mapped once, here).
    The payee's indices are 16-bit when the payees fit (see ``PERFECT_HASH_BITS``)."""
    for name in CODE_COLUMNS:
        i = table.schema.get_field_index(name)
        if i >= 0 and not pa.types.is_dictionary(table.schema.field(i).type):
            table = table.set_column(i, name, pc.dictionary_encode(table.column(i)))
    if any(table.column(name).num_chunks > 1 and not all(
            c.dictionary.equals(table.column(name).chunk(0).dictionary) for c in table.column(name).chunks[1:])
           for name in CODE_COLUMNS if name in table.column_names):
        table = table.unify_dictionaries()
    i = table.schema.get_field_index("payee")
    if i >= 0 and table.column(i).num_chunks and len(table.column(i).chunk(0).dictionary) <= 1 << 16:
        table = table.set_column(i, "payee", table.column(i).cast(pa.dictionary(pa.uint16(), pa.string())))
    return table


class InputError(ValueError):
    """Inputs that cannot be calculated; ``problems`` names each (row, field, reason)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class CompResult:
    payouts: pa.Table  # payee, component, measure, quota, attainment, earned (unrounded), amount (rounded)
    details: pa.Table  # payee, component, rule, band, basis, rate, earned: the rows each payout adds up
    credits: pa.Table  # payee, component, line_id, seller, level, credit: the lines behind each measure
    balances: pa.Table = field(default_factory=lambda: BALANCE_OUT_SCHEMA.empty_table())  # draws, per payee


# Exact decimals throughout; ``attainment`` is measure ÷ quota to 4 decimals (1.3000 = 130 %), rounded half up;
# ``earned`` is unrounded, ``amount`` rounded once by the plan's policy.
PAYOUT_SCHEMA = pa.schema([
    ("payee", pa.string()), ("component", pa.string()), ("measure", pa.decimal128(38, 8)),
    ("quota", pa.decimal128(18, 2)), ("attainment", pa.decimal128(38, 4)), ("earned", pa.decimal128(38, 18)),
    ("amount", pa.decimal128(38, 2)),
])
DETAIL_SCHEMA = pa.schema([
    ("payee", pa.string()), ("component", pa.string()), ("rule", pa.string()), ("band", pa.int32()),
    ("basis", pa.decimal128(38, 8)), ("rate", pa.decimal128(38, 12)), ("earned", pa.decimal128(38, 18)),
])


def calculate(plan: CompPlan, inputs: CompInputs, period: Period, calendar: FiscalCalendar | None = None,
              *, with_credits: bool = True) -> CompResult:
    """Every component of ``plan`` for every payee of ``inputs.payees`` in ``period`` (a month or a quarter)."""
    calendar = calendar or FiscalCalendar()
    con = connection()
    try:
        _check_effective(plan, period)
        for name in ("hierarchy", "quotas", "scores", "payments", "balances", "customers"):
            con.register(f"in_{name}", getattr(inputs, name))
        credited, codes = _code_ids(_with_optional(inputs.credited, plan))
        con.register("in_credited", credited)
        if "payee" in codes:
            con.register("payee_codes", pa.table({"payee_id": pa.array(range(len(codes["payee"])),
                                                                        credited.schema.field("payee_id").type),
                                                  "payee": codes["payee"]}))
        if credited.num_rows >= PERFECT_HASH_ROWS:
            con.execute(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
        con.register("in_payees", _with_dates(inputs.payees))
        return _Run(con, plan, period, calendar, inputs, codes).result(with_credits)
    finally:
        con.close()


_database: tuple[int, duckdb.DuckDBPyConnection] | None = None
_database_lock = threading.Lock()
# a forked process's copy of its parent's database is kept, never closed: closing it would wait for the parent's
# worker threads, which the child does not have
_inherited: list[duckdb.DuckDBPyConnection] = []


def connection() -> duckdb.DuckDBPyConnection:
    """A connection of its own to this process's in-memory DuckDB database (two threads): registered tables,
    temporary tables, macros and settings belong to the connection, so runs never see each other's; opening a
    database costs about 30 ms, a connection to an open one microseconds. A forked process opens its own."""
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():
            if _database is not None:
                _inherited.append(_database[1])
            database = duckdb.connect()
            database.execute("SET threads TO 2")
            _database = (os.getpid(), database)
        return _database[1].cursor()


def _with_dates(payees: pa.Table) -> pa.Table:
    """The payees with every optional column (null when the input has none: no proration, no ramp…)."""
    for f in PAYEE_FULL_SCHEMA:
        if f.name not in payees.column_names:
            payees = payees.append_column(f, pa.nulls(payees.num_rows, f.type))
    return payees


# The single pass groups the lines by payee and by a rate table's row. With the payee's dictionary index as a
# 16-bit integer and the rows numbered by a CASE of constants, DuckDB knows every key's range and can aggregate
# into an array indexed by the keys themselves ("perfect hashing", no hashing nor probing): about twice as fast
# on millions of lines, but the array has 2^bits slots whatever the number of groups, so it is allowed only
# when the lines outnumber the slots.
PERFECT_HASH_BITS = 20
PERFECT_HASH_ROWS = 1 << PERFECT_HASH_BITS


def _code_ids(credited: pa.Table) -> tuple[pa.Table, dict[str, pa.Array]]:
    """The credited lines with ``<column>_id``, the index in the column's dictionary, for every code column that
    is dictionary-encoded with one dictionary of distinct codes (what :func:`dictionary_encoded` makes: a
    zero-copy view of the indices), and those dictionaries by column. The single pass groups on the payee's index and names the payees
    after, on its few thousand result rows; filters and rate tables compare indices instead of strings (the
    codes they name are looked up once in the dictionary). Other columns are read as strings."""
    dictionaries = {}
    for name in CODE_COLUMNS:
        if name not in credited.column_names:
            continue
        column = credited.column(name)
        if not pa.types.is_dictionary(column.type) or column.num_chunks == 0:
            continue
        first = column.chunk(0).dictionary
        if not all(chunk.dictionary is first or chunk.dictionary.equals(first) for chunk in column.chunks[1:]):
            continue
        if pc.count_distinct(first, mode="all").as_py() != len(first):  # a code listed twice has two indices
            continue
        ids = pa.chunked_array([chunk.indices for chunk in column.chunks], column.type.index_type)
        credited = credited.append_column(f"{name}_id", ids)
        dictionaries[name] = first
    return credited, dictionaries


def credits_of(plan: CompPlan) -> list[Credit]:
    """Every credit of the plan: the components' and their weighted measures'."""
    return [c.credit for c in plan.components] + [
        m.credit for c in plan.components if c.attainment is not None for m in c.attainment.measures]


def _with_optional(credited: pa.Table, plan: CompPlan) -> pa.Table:
    """The credited lines with the optional columns the plan reads (null when the input has none), and only
    those: a plan that reads no invoice date or attribute adds nothing to the lines it scans."""
    used = set()
    for credit in credits_of(plan):
        if credit.recognise == "invoiced":
            used.add("invoiced_on")
        if credit.filter.attributes:
            used.add("attributes")
    for f in OPTIONAL_LINE_FIELDS:
        if f.name in used and f.name not in credited.column_names:
            credited = credited.append_column(f, pa.nulls(credited.num_rows, f.type))
    return credited


def _check_effective(plan: CompPlan, period: Period) -> None:
    """A plan pays only for periods it is in effect for, from the first day to the last (a plan that starts or
    ends inside a period would need proration, which the engine does not do yet)."""
    last_day = period.end - dt.timedelta(days=1)
    if period.start < plan.effective_from or (plan.effective_to is not None and last_day > plan.effective_to):
        until = f" to {plan.effective_to}" if plan.effective_to else ""
        raise InputError([f"plan {plan.plan} v{plan.version} is in effect from {plan.effective_from}{until}, not for "
                          f"the whole of {period.code} ({period.start} to {last_day})"])


# measure: which measure of a weighted attainment the line counts in (empty for other components)
CREDITS_OUT_SCHEMA = pa.schema([("payee", pa.string()), ("component", pa.string()), ("line_id", pa.string()),
                                ("seller", pa.string()), ("level", pa.int32()), ("credit", pa.decimal128(38, 8)),
                                ("measure", pa.string())])


def _empty_credits() -> pa.Table:
    return CREDITS_OUT_SCHEMA.empty_table()


def _check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Splits add up to 100 % per line; every credit names a known line."""
    problems = []
    for line_id, total in con.execute(
            "SELECT line_id, sum(share) FROM in_credits GROUP BY line_id HAVING sum(share) <> 1 ORDER BY line_id "
            "LIMIT 50").fetchall():
        problems.append(f"line {line_id}: split shares add up to {total * 100:f}%, not 100%")
    for (line_id,) in con.execute(
            "SELECT DISTINCT c.line_id FROM in_credits c ANTI JOIN in_lines l USING (line_id) ORDER BY 1 LIMIT 50"
    ).fetchall():
        problems.append(f"credit for line {line_id}: no such order line")
    if problems:
        raise InputError(problems)




def text(value: Decimal | None) -> str:
    """Exact text: cents when that loses nothing (1300000.00000000 → 1300000.00), else every digit needed."""
    if value is None:
        return ""
    cents = value.quantize(CENT) if value.is_finite() and value.adjusted() < 30 else value
    return f"{cents:f}" if cents == value else f"{value.normalize():f}"


# SQL macros: the rounding policies on DECIMAL (DuckDB's round() on a decimal rounds half away from zero, which
# is 四舍五入 for both signs)
_MACROS = """
CREATE TEMP MACRO round_half_up(x) AS round(x, 2);
CREATE TEMP MACRO prorate(amount, days, total) AS CASE WHEN days >= total THEN amount ELSE
    CAST((2 * CAST(amount * 100 AS HUGEINT) * days + total) // (2 * total) AS DECIMAL(38,0)) * 0.01 END;
CREATE TEMP MACRO round_half_even(x) AS round_even(x, 2);
CREATE TEMP MACRO round_down(x) AS trunc(x, 2);
CREATE TEMP MACRO round_up(x) AS trunc(x, 2) + CASE WHEN x > trunc(x, 2) THEN 0.01 WHEN x < trunc(x, 2) THEN -0.01
    ELSE 0 END;
"""


@dataclass
class _Value:
    """A sum the single pass computes per payee and slice: its column, its SQL over ``c`` (and ``pay`` when
    recognised on payment, ``nc`` for first purchases), the condition of the lines it sums with its bound values,
    the date basis and the roll-up levels."""

    name: str
    sql: str
    where: str
    params: list
    basis: str = "booked"  # booked (c.date), paid (pay.date), invoiced (c.invoiced_on)
    levels: int = 0


@dataclass
class _Part:
    """One component inside a run: its window and the value columns it adds to the single pass."""

    index: int
    component: Component
    window: Period
    values: list[_Value] = field(default_factory=list)
    rules: list[tuple[str, Decimal]] = field(default_factory=list)  # rate-table rows: (rule, rate) by index
    rule_sql: str = ""  # rate tables: the row index of a line (SQL over c)
    rule_params: list = field(default_factory=list)

    @property
    def paid(self) -> bool:
        return self.component.credit.recognise == "paid"

    def col(self, name: str) -> str:
        return f"k{self.index}_{name}"


_DATE = {"booked": "c.date", "paid": "pay.date", "invoiced": "c.invoiced_on"}


class _Run:
    """A run: the passes over the credited lines for all components (sums per payee and time slice), the
    roll-up of those sums through the hierarchy, then per component the payout rules as set operations per
    payee."""

    def __init__(self, con, plan: CompPlan, period: Period, calendar: FiscalCalendar, inputs: CompInputs,
                 codes: dict[str, pa.Array] | None = None):
        self.con, self.plan, self.period, self.calendar, self.inputs = con, plan, period, calendar, inputs
        # the code columns in_credited has as dictionary indices (``<column>_id``); payee_codes names the payees
        self.codes = codes or {}
        self.start = min(window_of(c, self.period, self.calendar).start for c in plan.components)  # the single pass reads from here
        self.new_customers = any(cr.type is CreditType.NEW_CUSTOMERS for cr in credits_of(plan))
        self.parts = [self._part(i, c) for i, c in enumerate(plan.components)]
        con.execute(_MACROS)
        # a payee takes part in the plan from ``start`` to ``end``: their own credit counts only the lines
        # recognised inside that span (a plan change mid-period splits the lines between the two plans' runs),
        # while those lines still roll up to their managers; checked only when some span cuts the scanned range
        self.spans = con.execute("""SELECT count(*) > 0 FROM in_payees WHERE start > ? OR "end" < ?""",
                                 [self.start, self.period.end - dt.timedelta(days=1)]).fetchone()[0]

    # -- setting up ---------------------------------------------------------------------------------------
    def _value(self, part: _Part, name: str, credit: Credit, sql: str | None = None) -> _Value:
        where, params = self._where(part, credit)
        return _Value(name, sql or _amount(credit), where, params, credit.recognise, credit.roll_up.levels)

    def _part(self, index: int, c: Component) -> _Part:
        part = _Part(index, c, window_of(c, self.period, self.calendar))
        if c.attainment is not None:  # one sum per measure, each with its own credit
            for j, measure in enumerate(c.attainment.measures):
                part.values.append(self._value(part, part.col(f"m{j}"), measure.credit))
            return part
        if c.spiff is not None:
            sql = "c.quantity * c.share" if c.spiff.per_unit is not None else "c.share"
            part.values.append(self._value(part, part.col("v"), c.credit, sql))
        elif c.rate is not None and c.rate.table is not None:
            table = c.rate.table
            # which row of the table each line falls under: product rows first, then category rows, else the
            # default — one CASE per line, and the single pass groups by it
            whens, rule_params = [], []
            for e in sorted(table.entries, key=lambda e: e.product is None):
                column, member = ("product", e.product) if e.product is not None else ("category", e.category)
                test, params = self._member(column, [member])
                whens.append(f"WHEN {test} THEN {len(part.rules)}")
                rule_params += params
                part.rules.append((f"{column} {member}", e.rate))
            part.rule_sql = f"CASE {' '.join(whens)} ELSE {len(part.rules)} END"
            part.rule_params = rule_params
            part.rules.append(("default" if table.default is not None else "no rate", table.default or Decimal(0)))
            part.values.append(self._value(part, part.col("v"), c.credit))
        elif c.draw is None and (c.bonus is None or c.bonus.mbo_target is None):  # draws and MBO read no lines
            part.values.append(self._value(part, part.col("v"), c.credit))
        if c.multipliers:  # the figures a multiplier's formula may use
            net = "pay.amount * c.share" if part.paid else "c.net * c.share"
            margin = "NULL" if part.paid else "(c.net - c.cost) * c.share"
            for name, sql in (("net", net), ("margin", margin), ("units", "c.quantity * c.share"),
                              ("lines", "c.share")):
                part.values.append(self._value(part, part.col(f"f_{name}"), c.credit, sql))
        return part

    def _where(self, part: _Part, credit: Credit | None = None, *, scan: bool = True,
               returns: bool = False) -> tuple[str, list]:
        """The condition (on ``in_credited c``) of the lines a credit counts in its component's window (inside
        the single pass, which already keeps only the dates from the earliest window start to the period's end,
        the window's start is tested only when it is later). With a clawback, returns that name their original
        line count in no measure; ``returns`` selects those of the period inside the clawback window instead."""
        c = part.component
        credit = credit or c.credit
        where, params = [], []
        if c.clawback is not None and not returns:
            where.append("NOT (c.original_line_id IS NOT NULL AND c.net < 0)")
        if returns:
            where += ["c.original_line_id IS NOT NULL", "c.net < 0", "c.date >= ?",
                      "date_diff('day', c.original_date, c.date) <= ?"]
            params += [self.period.start, c.clawback.window_days]
        date = _DATE[credit.recognise]
        if not scan or part.window.start > self.start:
            where.append(f"{date} >= ?")
            params.append(part.window.start)
        if not scan:
            where.append(f"{date} < ?")
            params.append(self.period.end)
        f = credit.filter
        for column, values in (("product", f.products), ("category", f.categories), ("region", f.regions),
                               ("segment", f.segments), ("customer", f.customers)):
            if values:
                test, members = self._member(column, values)
                where.append(test)
                params += members
        for name, values in sorted(f.attributes.items()):
            where.append(_in("c.attributes[?]", values))
            params += [name, *values]
        if c.spiff is not None:
            s = c.spiff
            where += ["c.date >= ?", "c.date <= ?"]
            params += [s.start, s.end]
            keys = []
            for column, values in (("product", s.products), ("category", s.categories)):
                if values:
                    test, members = self._member(column, values)
                    keys.append(test)
                    params += members
            where.append("(" + " OR ".join(keys) + ")")
        return "(" + (" AND ".join(where) or "true") + ")", params

    def _member(self, column: str, values: list[str]) -> tuple[str, list]:
        """SQL (on ``c``) and its bound values: the line's ``column`` is one of ``values`` — compared as dictionary
        indices when the column has them (a code the lines never use matches nothing)."""
        dictionary = self.codes.get(column)
        if dictionary is None:
            return _in(f"c.{column}", values), list(values)
        found = [i for i in pc.index_in(pa.array(values, pa.string()), dictionary).to_pylist() if i is not None]
        return (_in(f"c.{column}_id", found), found) if found else ("false", [])

    def _source(self, basis: str) -> str:
        """The rows a pass reads: credited lines (with their first-purchase mark when a credit counts new
        customers, and the payee's span in the plan when spans cut the range), or payments joined to the lines
        they pay."""
        source = ("in_payments pay JOIN in_credited c ON c.line_id = pay.line_id" if basis == "paid" else
                  "in_credited c" + (" LEFT JOIN nc ON nc.line_id = c.line_id" if self.new_customers else ""))
        return source + (" LEFT JOIN in_payees sp ON sp.payee = c.payee" if self.spans else "")

    def _outside(self, basis: str) -> str:
        """SQL: the row is recognised outside its payee's span in the plan (false when no span cuts the range)."""
        if not self.spans:
            return "false"
        date = _DATE[basis]
        return f'coalesce({date} < sp.start OR {date} > sp."end", false)'

    def _first_purchases(self) -> None:
        """``nc``: per customer, the line of their first-ever purchase — the first non-return line (no original,
        quantity above 0) on the customer's first purchase date (the customers input's, else the earliest such
        line of the inputs), the lowest line id on that day."""
        self.con.execute("""
            CREATE OR REPLACE TEMP TABLE nc AS
            WITH l AS (SELECT DISTINCT line_id, customer, date FROM in_credited
                       WHERE original_line_id IS NULL AND quantity > 0 AND coalesce(customer, '') <> ''),
                 f AS (SELECT l.customer, coalesce(any_value(k.first_order_date), min(l.date)) AS first_date
                       FROM l LEFT JOIN in_customers k ON k.customer = l.customer GROUP BY l.customer)
            SELECT min(l.line_id) AS line_id FROM l JOIN f ON f.customer = l.customer AND f.first_date = l.date
            GROUP BY l.customer""")

    # -- the single pass and the roll-up ----------------------------------------------------------------
    def _slices(self) -> list:
        """Dates where a sum must be cut: the period's start (windows before it), and every change of the
        hierarchy inside the scanned range (a roll-up follows the hierarchy of each line's date)."""
        start = self.start
        cuts = {self.period.start}
        if any(v.levels for p in self.parts for v in p.values):
            for (day,) in self.con.execute("""
                    SELECT DISTINCT d FROM (SELECT valid_from AS d FROM in_hierarchy UNION ALL
                                            SELECT valid_to FROM in_hierarchy)
                    WHERE d > ? AND d < ?""", [start, self.period.end]).fetchall():
                cuts.add(day)
        return sorted(d for d in cuts if d > start)

    def _aggregate(self) -> None:
        """``m``: per payee, every value column summed over the period (and before it, for longer windows) and
        over each rate-table row — in one statement. Its parts: the sums of the credited lines per payee, time
        slice and rate-table row (or of the payments, or by invoice date, when a credit is recognised on them),
        then the roll-up rows, each level from the one below through the hierarchy in effect on the slice.
        Values that read the same lines (date basis and condition) are summed in the same pass, each distinct
        expression once; the condition is the pass's WHERE, so a SPIFF's pass reads its few lines only: a sum
        added to a pass costs about as much as a pass that filters first."""
        if self.new_customers:
            self._first_purchases()
        cuts = self._slices()
        starts = [self.start, *cuts]
        tables = [p for p in self.parts if p.rule_sql]
        values = [v for p in self.parts for v in p.values]
        passes: dict[tuple, list[_Value]] = {}
        for v in values:
            passes.setdefault((v.basis, v.where, tuple(v.params)), []).append(v)
        rule_cols = [p.col("rule") for p in tables]
        ctes, params = [], []
        for (basis, where, where_params), group in passes.items():
            date = _DATE[basis]
            # the slice as its index (a key DuckDB knows the range of), named by its start date after grouping
            slice_sql = ("CASE " + " ".join(f"WHEN {date} < ? THEN {j}" for j in range(len(cuts)))
                         + f" ELSE {len(cuts)} END") if cuts else "0"
            mine = [p for p in tables if any(v.name == p.col("v") for v in group)]
            keys = "".join(f", {p.rule_sql} AS {p.col('rule')}" for p in mine)
            exprs: dict[str, str] = {}
            for v in group:
                exprs.setdefault(v.sql, f"s{len(exprs)}")
            outside = f", {self._outside(basis)} AS outside" if self.spans else ""
            ids = "payee" in self.codes
            rules = "".join(f", a.{r}" if p in mine else f", CAST(NULL AS INTEGER) AS {r}"
                            for p, r in zip(tables, rule_cols, strict=True))
            ctes.append(f"""p{len(ctes)} AS (
                SELECT {'pc.payee' if ids else 'a.payee'},
                       CASE a.slice {' '.join(f'WHEN {j} THEN CAST(? AS DATE)' for j in range(len(starts)))} END
                           AS slice{rules}{', a.outside' if self.spans else ''},
                       {', '.join(f'a.{exprs[v.sql]} AS {v.name}' for v in group)}
                FROM (SELECT {'c.payee_id' if ids else 'c.payee'} AS payee, {slice_sql} AS slice{keys}{outside},
                             {', '.join(f'sum({sql}) AS {name}' for sql, name in exprs.items())}
                      FROM {self._source(basis)} WHERE {date} >= ? AND {date} < ? AND {where} GROUP BY ALL) a
                {'JOIN payee_codes pc ON pc.payee_id = a.payee' if ids else ''})""")
            params += [*starts, *cuts, *(x for p in mine for x in p.rule_params), self.start, self.period.end,
                       *where_params]
        if not ctes:
            ctes.append(f"""p0 AS (SELECT CAST(NULL AS VARCHAR) AS payee, CAST(NULL AS DATE) AS slice
                {''.join(f', CAST(NULL AS INTEGER) AS {r}' for r in rule_cols)}
                {', false AS outside' if self.spans else ''} WHERE false)""")
        levels = [" UNION ALL BY NAME ".join(f"SELECT * FROM p{i}" for i in range(len(ctes)))]
        for level in range(1, max((v.levels for v in values), default=0) + 1):
            cols = "".join(f", a.{v.name}" for v in values if v.levels >= level)
            levels.append(f"""SELECT h.manager AS payee, a.slice{''.join(f', a.{r}' for r in rule_cols)}
                    {', false AS outside' if self.spans else ''}{cols}
                FROM l{level - 1} a JOIN in_hierarchy h ON h.payee = a.payee AND a.slice >= h.valid_from
                     AND (h.valid_to IS NULL OR a.slice < h.valid_to)
                WHERE h.manager IS NOT NULL""")
        ctes += [f"l{i} AS ({sql})" for i, sql in enumerate(levels)]
        inside = " AND NOT outside" if self.spans else ""
        # the sums before the period exist only when some window starts before it
        before = self.start < self.period.start
        sums = [f"sum({v.name}) FILTER (WHERE true{inside}) AS {v.name}, "
                + (f"sum({v.name}) FILTER (WHERE slice < ?{inside})" if before else "CAST(NULL AS DECIMAL(38,8))")
                + f" AS {v.name}_before" for v in values]
        params += [self.period.start] * len(values) if before else []
        for p in tables:  # per row of a rate table: the sum of its lines
            sums += [f"sum({p.col('v')}) FILTER (WHERE {p.col('rule')} = {i}{inside}) AS {p.col(f'r{i}')}"
                     for i in range(len(p.rules))]
        self.con.execute(f"""
            CREATE TEMP TABLE m AS WITH {', '.join(ctes)}
            SELECT payee, {', '.join(sums) or 'NULL AS nothing'}
            FROM ({' UNION ALL BY NAME '.join(f'SELECT * FROM l{i}' for i in range(len(levels)))})
            SEMI JOIN in_payees p USING (payee) GROUP BY payee""", params)

    # -- the rules per component -----------------------------------------------------------------------
    def _participation(self, name: str, start, end) -> None:
        """Table ``name``: per payee, the days they take part in [start, end) (their start and end dates, end
        inclusive) and the days of that span — what proration multiplies by; the plan may turn it off."""
        total = (end - start).days
        if self.plan.proration == "none":
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT payee, ? AS days, ? AS total "
                             "FROM in_payees", [total, total])
            return
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {name} AS SELECT payee, greatest(0, datediff('day',
                greatest(CAST(? AS DATE), coalesce(start, CAST(? AS DATE))),
                least(CAST(? AS DATE), coalesce("end" + 1, CAST(? AS DATE))))) AS days, ? AS total
            FROM in_payees""", [start, start, end, end, total])

    def result(self, with_credits: bool) -> CompResult:
        self._aggregate()
        self._participation("pr", self.period.start, self.period.end)
        self.con.execute("""CREATE TEMP TABLE details (payee VARCHAR, component VARCHAR, rule VARCHAR, band INTEGER,
                            basis DECIMAL(38,8), rate DECIMAL(38,12), earned DECIMAL(38,18))""")
        self.con.execute("""CREATE TEMP TABLE measures (payee VARCHAR, component VARCHAR, measure DECIMAL(38,8),
                            quota DECIMAL(18,2))""")
        self.con.execute("""CREATE TEMP TABLE balances (payee VARCHAR, component VARCHAR, opening DECIMAL(38,2),
                            advanced DECIMAL(38,2), recovered DECIMAL(38,2), closing DECIMAL(38,2))""")
        # draws last: they top up what the other components paid
        for part in sorted(self.parts, key=lambda p: p.component.draw is not None):
            c = part.component
            if c.draw is not None:
                self._draw(part)
                continue
            if c.spiff is not None:
                self._spiff(part)
            elif c.team is not None:
                self._team(part)
            elif c.bonus is not None and c.bonus.mbo_target is not None:
                self._mbo(part)
            elif c.rate is not None and c.rate.table is not None:
                self._table(part)
            else:
                self._measure_rules(part)
            if c.multipliers:
                self._multipliers(part)
            if c.minimum is not None:  # a minimum (prorated) lifts the payout of every payee of the run
                self.con.execute("""
                    INSERT INTO details SELECT p.payee, ?, 'minimum', 98, NULL, prorate(?, pr.days, pr.total),
                        prorate(?, pr.days, pr.total) - coalesce(d.earned, 0)
                    FROM in_payees p JOIN pr USING (payee)
                    LEFT JOIN (SELECT payee, sum(earned) AS earned FROM details WHERE component = ? GROUP BY payee) d
                        USING (payee)
                    WHERE pr.days > 0 AND coalesce(d.earned, 0) < prorate(?, pr.days, pr.total)""",
                                 [c.id, c.minimum.amount, c.minimum.amount, c.id, c.minimum.amount])
            if c.clawback is not None:
                self._clawback(part)
            if c.cap is not None and c.cap.amount is not None:  # the cap of a partial period is prorated
                self.con.execute("""
                    INSERT INTO details SELECT d.payee, ?, 'cap', 99, NULL, any_value(prorate(?, pr.days, pr.total)),
                        any_value(prorate(?, pr.days, pr.total)) - sum(d.earned)
                    FROM details d JOIN pr USING (payee) WHERE d.component = ? GROUP BY d.payee
                    HAVING sum(d.earned) > any_value(prorate(?, pr.days, pr.total))""",
                                 [c.id, c.cap.amount, c.cap.amount, c.id, c.cap.amount])
        policy = f"round_{self.plan.rounding.value}"
        payouts = self.con.sql(f"""
            SELECT d.payee, d.component, m.measure, m.quota,
                   CASE WHEN m.quota > 0 THEN CAST(
                       sign(m.measure) * ((2 * abs(CAST(m.measure * 100000000 AS HUGEINT))
                                           + CAST(m.quota * 100 AS HUGEINT) * 100)
                                          // (2 * CAST(m.quota * 100 AS HUGEINT) * 100)) AS DECIMAL(38,0))
                       * 0.0001 END AS attainment,
                   d.earned, {policy}(d.earned) AS amount
            FROM (SELECT payee, component, sum(earned) AS earned FROM details GROUP BY ALL) d
            LEFT JOIN measures m USING (payee, component) ORDER BY d.payee, d.component""").to_arrow_table()
        details = self.con.sql("""
            SELECT payee, component, rule, band, basis, rate, earned
            FROM details ORDER BY payee, component, band, rule""").to_arrow_table()
        credits = (pa.concat_tables([self._credit_rows(p).cast(CREDITS_OUT_SCHEMA) for p in self.parts
                                     if p.component.draw is None]) if with_credits else _empty_credits())
        balances = self.con.sql("SELECT * FROM balances ORDER BY payee, component").to_arrow_table().cast(
            BALANCE_OUT_SCHEMA)
        return CompResult(payouts.cast(PAYOUT_SCHEMA), details.cast(DETAIL_SCHEMA), credits, balances)

    def _multipliers(self, part: _Part) -> None:
        """Per payee (thousands, not transactions): evaluate each multiplier's formula on the component's figures
        and scale what it earned; one detail row per multiplier that holds, with the amount it adds or takes."""
        from salesops.engine.comp.formula import Formula

        c = part.component
        formulas = [(Formula(m.when), m) for m in c.multipliers]
        f = {name: part.col(f"f_{name}") for name in ("net", "margin", "units", "lines")}
        rows = self.con.execute(f"""
            SELECT d.payee, sum(d.earned), any_value(q.measure), any_value(q.quota),
                   any_value(m.{f['net']}), any_value(m.{f['margin']}), any_value(m.{f['units']}),
                   any_value(m.{f['lines']})
            FROM details d LEFT JOIN measures q ON q.payee = d.payee AND q.component = d.component
            LEFT JOIN m ON m.payee = d.payee
            WHERE d.component = ? GROUP BY d.payee ORDER BY d.payee""", [c.id]).fetchall()
        out = []
        for payee, earned, measure, quota, net, margin, units, lines in rows:
            zero = Decimal(0)
            measure, quota = Decimal(measure or 0), Decimal(quota or 0)
            net, margin = Decimal(net or 0), Decimal(margin or 0)
            values = {"measure": measure, "quota": quota, "attainment": measure / quota if quota else zero,
                      "net": net, "margin": margin, "margin_rate": margin / net if net else zero,
                      "units": Decimal(units or 0), "lines": Decimal(lines or 0), "earned": Decimal(earned)}
            current = Decimal(earned)
            for formula, multiplier in formulas:
                holds = formula.evaluate(values)
                if not isinstance(holds, bool):
                    raise InputError([f"component {c.id}: multiplier {multiplier.when!r} gives a number, not "
                                      "a condition (true/false)"])
                if holds:
                    change = current * (multiplier.factor - 1)
                    out.append((payee, c.id, f"multiplier ×{multiplier.factor.normalize():f} ({multiplier.when})", 96,
                                current, multiplier.factor, change))
                    current += change
        if out:
            self.con.executemany("INSERT INTO details VALUES (?, ?, ?, ?, ?, ?, ?)", out)

    def _draw(self, part: _Part) -> None:
        """The draw against the rounded payouts of the components it names: an advance (or a guarantee's
        top-up) when they fall short of the draw, a recovery from the excess when they exceed it and a balance is
        owed; the balances table says where each payee stands."""
        c, d = part.component, part.component.draw
        policy = f"round_{self.plan.rounding.value}"
        eligible = "true"
        params: list = []
        if d.for_months is not None:
            eligible = "p.start IS NOT NULL AND CAST(? AS DATE) < p.start + to_months(?)"
            params = [self.period.start, d.for_months]
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE dr AS
            SELECT p.payee, prorate(?, pr.days, pr.total) AS draw, coalesce(e.paid, 0) AS paid,
                   coalesce(b.balance, 0) AS opening
            FROM in_payees p JOIN pr USING (payee)
            LEFT JOIN (SELECT payee, sum(paid) AS paid FROM (
                SELECT payee, component, {policy}(sum(earned)) AS paid FROM details
                WHERE component IN ({', '.join('?' * len(d.of))}) GROUP BY ALL) GROUP BY payee) e USING (payee)
            LEFT JOIN in_balances b ON b.payee = p.payee AND b.component = ?
            WHERE pr.days > 0 AND {eligible}""", [d.amount, *d.of, c.id, *params])
        rule = "draw: advance" if d.recoverable else "guarantee: top-up"
        self.con.execute("""
            INSERT INTO details SELECT payee, ?, ?, 0, paid, draw, draw - paid FROM dr WHERE paid < draw""",
                         [c.id, rule])
        if d.recoverable:
            self.con.execute("""
                INSERT INTO details SELECT payee, ?, 'draw: recovery', 1, paid - draw, ?,
                    -least(opening, round_down((paid - draw) * ?))
                FROM dr WHERE paid > draw AND opening > 0""", [c.id, d.recovery_rate, d.recovery_rate])
        self.con.execute("""
            INSERT INTO balances
            SELECT dr.payee, ? AS component, dr.opening,
                   CASE WHEN ? AND paid < draw THEN draw - paid ELSE 0 END AS advanced,
                   CASE WHEN ? AND paid > draw AND opening > 0 THEN least(opening, round_down((paid - draw) * ?))
                        ELSE 0 END AS recovered,
                   0 AS closing
            FROM dr""", [c.id, d.recoverable, d.recoverable, d.recovery_rate])
        self.con.execute("UPDATE balances SET closing = opening + advanced - recovered WHERE component = ?", [c.id])

    def _measure_rules(self, part: _Part) -> None:
        c, v = part.component, part.col("v")
        if c.attainment is not None:
            self._weighted(part)
        else:
            self.con.execute(f"""INSERT INTO measures SELECT payee, ?, coalesce({v}, 0), NULL FROM m
                                 WHERE {v} IS NOT NULL""", [c.id])
        if c.quota is not None:
            self._quotas(part)
        windowed = part.window.start != self.period.start
        rate = c.rate
        if rate is not None and rate.tiers is not None and rate.tiers.mode is TierMode.INTERPOLATED:
            self._interpolated(part, windowed)
            return
        if rate is not None and rate.tiers is not None and rate.tiers.accumulation == "per_transaction":
            self._per_transaction(part)
            return
        for source, x, sign, suffix in self._sides(part, windowed):
            # each side (to date; before the period) is gated on its own measure: below the gate it earns
            # nothing, and one row says why
            gated = f"{x} < {c.gate.min_attainment} * coalesce(s.quota, 0)" if c.gate is not None else "false"
            if c.bonus is not None:
                self._milestones(part, source, x, sign, suffix, gated)
            elif rate.flat is not None:
                capped = (x if c.cap is None or c.cap.attainment is None
                          else f"least({x}, {c.cap.attainment} * s.quota)")
                self.con.execute(f"""
                    INSERT INTO details SELECT s.payee, ?, 'flat' || ?, 0, {sign} {capped}, ?, {sign} {capped} * ?
                    FROM {source} WHERE NOT ({gated})""", [c.id, suffix, rate.flat, rate.flat])
            else:
                self._tiers(part, source, x, sign, suffix, gated)
            if c.gate is not None:
                self.con.execute(f"""
                    INSERT INTO details SELECT s.payee, ?, 'gate: attainment below ' || ? || ?, 0, {sign} {x}, 0, 0
                    FROM {source} WHERE {gated}""", [c.id, _percent(c.gate.min_attainment), suffix])

    def _measured(self, part: _Part) -> str:
        """SQL of (payee, x: the measure to date, xb: the measure before the period) for the payees measured."""
        v = part.col("v")
        if part.component.attainment is not None:
            return f"(SELECT payee, x, xb FROM {part.col('att')})"
        return f"(SELECT payee, coalesce({v}, 0) AS x, coalesce({v}_before, 0) AS xb FROM m WHERE {v} IS NOT NULL)"

    def _sides(self, part: _Part, windowed: bool) -> list[tuple[str, str, str, str]]:
        """(source, measure SQL, sign, rule suffix): the measure to date, and — for a window longer than the
        period — the measure before the period, whose earnings are taken off."""
        c = part.component
        quota = c.quota is not None or c.attainment is not None
        # component ids are validated identifiers ([a-z][a-z0-9_]*), safe in SQL text
        source = (f"(SELECT t.payee, t.x, t.xb, {'q.quota' if quota else 'NULL'} AS quota FROM {self._measured(part)} t "
                  + (f"JOIN measures q ON q.payee = t.payee AND q.component = '{c.id}'" if quota else "") + ") s")
        sides = [(source, "s.x", "", "")]
        if windowed:
            sides.append((source, "s.xb", "-", f" (before {self.period.start})"))
        return sides

    def _quotas(self, part: _Part) -> None:
        c = part.component
        if c.quota.source == "fixed":
            self.con.execute("UPDATE measures SET quota = ? WHERE component = ?", [c.quota.amount, c.id])
            self._prorate_quotas(part)
            return
        code = part.window.code
        self.con.execute("""
            UPDATE measures SET quota = q.quota FROM in_quotas q
            WHERE measures.component = ? AND q.component = ? AND q.period = ? AND q.payee = measures.payee""",
                         [c.id, c.id, code])
        missing = [p for (p,) in self.con.execute(
            "SELECT payee FROM measures WHERE component = ? AND quota IS NULL ORDER BY payee LIMIT 50",
            [c.id]).fetchall()]
        if missing:
            raise InputError([f"component {c.id}: no quota for period {code} for payee {p}" for p in missing])
        self._prorate_quotas(part)

    def _prorate_quotas(self, part: _Part, table: str = "measures") -> None:
        """A payee who takes part in only some days of the quota's period (a quarter's for a quarterly window)
        has that share of the quota, rounded to cents half up; then the ramp, if the component has one."""
        whole = self.calendar.parse(part.window.code) if part.window.code != self.period.code else self.period
        self._participation("qp", whole.start, whole.end)
        self.con.execute(f"""
            UPDATE {table} SET quota = prorate({table}.quota, qp.days, qp.total) FROM qp
            WHERE {table}.component = ? AND qp.payee = {table}.payee AND qp.days < qp.total""",
                         [part.component.id])
        if part.component.ramp:
            self._ramp(part, table)

    def _ramp(self, part: _Part, table: str) -> None:
        """Quotas × the ramp's factor for the payout period's month, counted from the month of the payee's hire
        date (else their start in the plan), that month being month 1 (the average of its months' factors for a
        quarterly payout period), rounded to cents half up — per payee, thousands of rows, in exact Decimal. A
        payee with no date, or past the ramp, keeps the quota; each ramped payee gets a row saying so."""
        c = part.component
        steps = []
        for step in c.ramp:
            steps += [step.factor] * step.months
        months = [(day.year, day.month) for day in self.period.months()]
        rows = self.con.execute(f"""
            SELECT t.rowid, t.payee, t.quota, coalesce(p.hired, p.start) FROM {table} t JOIN in_payees p USING (payee)
            WHERE t.component = ? AND coalesce(p.hired, p.start) IS NOT NULL AND t.quota IS NOT NULL
            ORDER BY t.payee, t.rowid""", [c.id]).fetchall()
        updates, notes = [], {}
        for rowid, payee, quota, since in rows:
            index = [max(1, (y - since.year) * 12 + m - since.month + 1) for y, m in months]
            factors = [steps[i - 1] if i <= len(steps) else Decimal(1) for i in index]
            if all(f == 1 for f in factors):
                continue
            total = sum(factors, Decimal(0))
            updates.append({"rowid": rowid, "quota": round_money(quota * total / len(factors))})
            label = f"ramp: month {index[0]}" if len(index) == 1 else f"ramp: months {index[0]}–{index[-1]}"
            basis = quota if table == "measures" else None
            notes[payee] = (payee, c.id, label, -1, basis, (total / len(factors)).quantize(Decimal("1E-12"),
                                                                                            ROUND_HALF_UP), 0)
        if updates:
            self.con.register("ramped", pa.Table.from_pylist(updates, pa.schema([("rowid", pa.int64()),
                                                                                ("quota", MONEY)])))
            self.con.execute(f"UPDATE {table} SET quota = r.quota FROM ramped r WHERE {table}.rowid = r.rowid")
            self.con.unregister("ramped")
            self.con.executemany("INSERT INTO details VALUES (?, ?, ?, ?, ?, ?, ?)", list(notes.values()))

    def _weighted(self, part: _Part) -> None:
        """Several measures into one attainment, per payee: each measure's quota (from the input under the
        measure's id, or fixed; prorated and ramped like any quota), attainment = Σ weight × measure ÷ quota in
        exact Decimal (thousands of rows, not transactions), and the component's measure = attainment × target
        (to 8 decimals, half up) against the quota ``target`` (prorated). One row per measure explains it: the
        measure (basis) and its part of the attainment (rate), earning nothing itself."""
        c, a = part.component, part.component.attainment
        code = part.window.code
        cols = [part.col(f"m{j}") for j in range(len(a.measures))]
        measured = " OR ".join(f"{col} IS NOT NULL" for col in cols)
        self.con.execute("""CREATE OR REPLACE TEMP TABLE wq (payee VARCHAR, component VARCHAR, j INTEGER,
                            quota DECIMAL(18,2))""")
        for j, measure in enumerate(a.measures):
            if measure.quota.source == "fixed":
                self.con.execute(f"INSERT INTO wq SELECT payee, ?, ?, ? FROM m WHERE {measured}",
                                 [c.id, j, measure.quota.amount])
            else:
                self.con.execute(f"""
                    INSERT INTO wq SELECT m.payee, ?, ?, q.quota FROM m
                    LEFT JOIN in_quotas q ON q.payee = m.payee AND q.component = ? AND q.period = ?
                    WHERE {measured}""", [c.id, j, measure.id, code])
        missing = self.con.execute("SELECT payee, j FROM wq WHERE quota IS NULL ORDER BY payee, j LIMIT 50").fetchall()
        if missing:
            raise InputError([f"component {c.id}, measure {a.measures[j].id}: no quota for period {code} for payee {p}"
                              for p, j in missing])
        self._prorate_quotas(part, "wq")
        quotas: dict[str, dict[int, Decimal]] = {}
        for payee, j, quota in self.con.execute("SELECT payee, j, quota FROM wq").fetchall():
            quotas.setdefault(payee, {})[j] = quota
        rows = self.con.execute(f"""
            SELECT m.payee, prorate(?, pr.days, pr.total), {', '.join(f'{col}, {col}_before' for col in cols)}
            FROM m JOIN pr USING (payee) WHERE {measured} ORDER BY m.payee""", [a.target]).fetchall()
        eight, twelve = Decimal("1E-8"), Decimal("1E-12")
        att, details = [], []
        for payee, target, *sums in rows:
            x = xb = Decimal(0)
            for j, measure in enumerate(a.measures):
                value, before, quota = Decimal(sums[2 * j] or 0), Decimal(sums[2 * j + 1] or 0), quotas[payee][j]
                part_of = measure.weight * value / quota if quota else Decimal(0)
                x += part_of
                xb += measure.weight * before / quota if quota else Decimal(0)
                details.append((payee, c.id, f"measure {measure.id} of quota {text(quota)} × weight "
                                f"{measure.weight.normalize():f}", -1, value, part_of.quantize(twelve, ROUND_HALF_UP),
                                0))
            att.append({"payee": payee, "x": (x * target).quantize(eight, ROUND_HALF_UP),
                        "xb": (xb * target).quantize(eight, ROUND_HALF_UP), "quota": target})
        schema = pa.schema([("payee", pa.string()), ("x", pa.decimal128(38, 8)), ("xb", pa.decimal128(38, 8)),
                            ("quota", MONEY)])
        self.con.register("att_rows", pa.Table.from_pylist(att, schema))
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {part.col('att')} AS SELECT * FROM att_rows")
        self.con.unregister("att_rows")
        self.con.execute(f"INSERT INTO measures SELECT payee, ?, x, quota FROM {part.col('att')}", [c.id])
        if details:
            self.con.executemany("INSERT INTO details VALUES (?, ?, ?, ?, ?, ?, ?)", details)

    def _team(self, part: _Part) -> None:
        """A team bonus: the members (payees of the run on the plan some day of the period, whose manager on its
        last day is the team's), the team's measure (the sum of theirs) and quota (under the manager), the pool
        (rate × measure when above 0, or the fixed amount; nothing below the gate) rounded once by the plan's
        policy, then shares of it in whole cents: pool × weight ÷ team weight rounded down, the cents left over
        to the largest remainders (ties by payee) — integer arithmetic, so the shares add up to the pool."""
        c, t = part.component, part.component.team
        v, last = part.col("v"), self.period.end - dt.timedelta(days=1)
        weight = {"equal": "1", "by_credit": "greatest(coalesce(m.{v}, 0), 0)",
                  "by_target_incentive": "p.target_incentive"}[t.share].format(v=v)
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE tm AS
            SELECT p.payee, h.manager AS team, coalesce(m.{v}, 0) AS measure, {weight} AS weight
            FROM in_payees p JOIN pr USING (payee)
            JOIN in_hierarchy h ON h.payee = p.payee AND h.valid_from <= ? AND (h.valid_to IS NULL OR h.valid_to > ?)
            LEFT JOIN m ON m.payee = p.payee
            WHERE pr.days > 0 AND h.manager IS NOT NULL""", [last, last])
        missing = self.con.execute("SELECT payee FROM tm WHERE weight IS NULL ORDER BY payee LIMIT 50").fetchall()
        if missing:
            raise InputError([f"component {c.id}: no target incentive for payee {p} (shares by_target_incentive)"
                              for (p,) in missing])
        quota = "NULL::DECIMAL(18,2)"
        params: list = []
        if c.quota is not None and c.quota.source == "fixed":
            quota, params = "?::DECIMAL(18,2)", [c.quota.amount]
        elif c.quota is not None:
            quota, params = ("(SELECT q.quota FROM in_quotas q WHERE q.payee = g.team AND q.component = ? "
                             "AND q.period = ?)"), [c.id, part.window.code]
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE tt AS SELECT g.*, {quota} AS quota FROM (
                SELECT team, sum(measure) AS measure, sum(weight) AS weight, count(*) AS members FROM tm GROUP BY team
            ) g""", params)
        if c.quota is not None:
            missing = self.con.execute("SELECT team FROM tt WHERE quota IS NULL ORDER BY team LIMIT 50").fetchall()
            if missing:
                raise InputError([f"component {c.id}: no quota for period {part.window.code} for the team of {team}"
                                  for (team,) in missing])
        gated = f"tt.measure < {c.gate.min_attainment} * tt.quota" if c.gate is not None else "false"
        pool = (f"CASE WHEN tt.measure > 0 THEN round_{self.plan.rounding.value}(tt.measure * ?) ELSE 0 END"
                if t.pool.rate is not None else "?")
        rate = t.pool.rate if t.pool.rate is not None else t.pool.amount
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE tp AS SELECT tt.*, CASE WHEN {gated} THEN 0 ELSE {pool} END AS pool,
                {gated} AS gated FROM tt""", [rate])
        # weights as integers (a measure has 8 decimals, money 2): a team whose weights add up to 0 shares equally
        self.con.execute("""
            CREATE OR REPLACE TEMP TABLE ts AS
            WITH w AS (SELECT tm.payee, tm.team, tm.weight AS basis, tp.pool, CAST(tp.pool * 100 AS HUGEINT) AS cents,
                              CASE WHEN tp.weight > 0 THEN CAST(tm.weight * 100000000 AS HUGEINT) ELSE 1 END AS w,
                              CASE WHEN tp.weight > 0 THEN CAST(tp.weight * 100000000 AS HUGEINT) ELSE tp.members END
                                  AS total
                       FROM tm JOIN tp USING (team)),
                 s AS (SELECT *, cents * w // total AS floor_cents, cents * w % total AS remainder FROM w),
                 r AS (SELECT *, cents - sum(floor_cents) OVER (PARTITION BY team) AS left_over,
                              row_number() OVER (PARTITION BY team ORDER BY remainder DESC, payee) AS rank FROM s)
            SELECT payee, team, basis, pool, w, total,
                   CAST(floor_cents + CASE WHEN rank <= left_over THEN 1 ELSE 0 END AS DECIMAL(38,0)) * 0.01 AS share
            FROM r""")
        label = {"equal": "team share: equal", "by_credit": "team share: by credit",
                 "by_target_incentive": "team share: by target incentive"}[t.share]
        self.con.execute("""
            INSERT INTO measures SELECT tm.payee, ?, tt.measure, tt.quota FROM tm JOIN tt USING (team)""", [c.id])
        self.con.execute("""
            INSERT INTO details SELECT tm.payee, ?, 'team pool of ' || tm.team || ' (' || tp.members || ' members)',
                0, tp.measure, ?, 0
            FROM tm JOIN tp USING (team) WHERE NOT tp.gated""", [c.id, t.pool.rate])
        if c.gate is not None:
            self.con.execute("""
                INSERT INTO details SELECT tm.payee, ?, 'gate: attainment below ' || ?, 0, tp.measure, 0, 0
                FROM tm JOIN tp USING (team) WHERE tp.gated""", [c.id, _percent(c.gate.min_attainment)])
        # the share's rate: weight ÷ team weight to 12 decimals, half up (integer arithmetic: shown, not used)
        self.con.execute("""
            INSERT INTO details SELECT payee, ?, ?, 1, pool,
                CAST((2 * w * 1000000000000 + total) // (2 * total) AS DECIMAL(38,0)) * 0.000000000001, share
            FROM ts""", [c.id, label])

    def _bands(self, part: _Part, edge_decimals: int = 10) -> str:
        """The component's bands as a VALUES list (band, low, high, rate, rule)."""
        tiers = part.component.rate.tiers
        # the plan's numbers are validated Decimals with at most 10 decimals: DECIMAL(28,10) holds them exactly
        # (the edges may be typed with fewer, when they have no more); the rates are typed with the fewest
        # decimals they need (exact all the same), so that basis × rate has no more decimals than the earned
        # column (DuckDB takes about a microsecond a value to round a 128-bit decimal's extra digits away)
        edge = f"DECIMAL(28,{edge_decimals})"
        rate = f"DECIMAL(28,{_decimals(b.rate for b in tiers.bands)})"
        rows = [f"({i}, {b.from_:f}::{edge}, {('NULL' if b.to is None else f'{b.to:f}')}::{edge}, "
                f"{b.rate:f}::{rate}, '{_band_rule(b, tiers.on)}')" for i, b in enumerate(tiers.bands)]
        return f"(VALUES {', '.join(rows)}) b(band, lo, hi, rate, rule)"

    def _decimal_scale(self, sql: str) -> int | None:
        """The scale of the one column ``sql`` selects, when it is a DECIMAL."""
        kind = self.con.execute(f"DESCRIBE {sql}").fetchall()[0][1]
        match = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", kind)
        return int(match[2]) if match else None

    def _tiers(self, part: _Part, source: str, x: str, sign: str, suffix: str, gated: str) -> None:
        c = part.component
        tiers = c.rate.tiers
        scale = "s.quota" if tiers.on == "attainment" else "1"
        capped = x if c.cap is None or c.cap.attainment is None else f"least({x}, {c.cap.attainment} * s.quota)"
        lo, hi = f"(b.lo * {scale})", f"(b.hi * {scale})"
        bands = self._bands(part)
        # the measure and the edges (× quota) get one type, with the decimals of whichever has more: DuckDB gives
        # least() and coalesce() of two 38-digit decimals the scale of the one with more integer digits, which
        # would cut the other's extra decimals; and when the edges have no more decimals than the measure, the
        # basis is exact at the measure's scale and needs no rounding to fit its column
        decimals = _decimals(v for b in tiers.bands for v in (b.from_, b.to)) + (2 if tiers.on == "attainment" else 0)
        measure = self._decimal_scale(f"SELECT {capped} FROM {source}")
        if measure is not None:
            typed = f"DECIMAL(38,{max(measure, decimals)})"
            lo, hi = f"CAST(b.lo * {scale} AS {typed})", f"CAST(b.hi * {scale} AS {typed})"
            capped = f"CAST({capped} AS {typed})"
            bands = self._bands(part, decimals - (2 if tiers.on == "attainment" else 0))
        # a measure below zero (returns above sales) falls in a first band that starts at 0
        first = "(b.band = 0 AND b.lo = 0)"
        if tiers.mode is TierMode.MARGINAL:
            basis = (f"CASE WHEN {first} THEN least(xx, coalesce({hi}, xx)) - {lo} "
                     f"ELSE greatest(least(xx, coalesce({hi}, xx)) - {lo}, 0) END")
            keep = "basis <> 0 OR band = 0"
            inside = "true"
        else:
            above = ">=" if tiers.boundary == "upper" else ">"
            below = "<" if tiers.boundary == "upper" else "<="
            inside = f"({first} OR xx {above} {lo}) AND (b.hi IS NULL OR xx {below} {hi})"
            basis = f"CASE WHEN {inside} THEN xx END"
            keep = "basis IS NOT NULL"
        no_quota = "s.quota IS NULL OR s.quota = 0" if tiers.on == "attainment" else "false"
        self.con.execute(f"""
            INSERT INTO details SELECT payee, ?, rule || ?, band, {sign} basis, rate, {sign} basis * rate FROM (
                SELECT s.payee, b.band, b.rule, b.rate, {basis} AS basis
                FROM (SELECT *, {capped} AS xx FROM {source} WHERE NOT ({gated})) s, {bands}
                WHERE NOT ({no_quota})
            ) WHERE {keep}""", [c.id, suffix])
        self.con.execute(f"""
            INSERT INTO details SELECT s.payee, ?, 'between bands' || ?, 0, {sign} s.xx, 0, 0
            FROM (SELECT *, {capped} AS xx FROM {source} WHERE NOT ({gated})) s
            WHERE NOT ({no_quota}) AND NOT EXISTS (SELECT 1 FROM {bands} WHERE {inside})""", [c.id, suffix])
        if tiers.on == "attainment":
            self.con.execute(f"""
                INSERT INTO details SELECT s.payee, ?, 'no quota' || ?, 0, {sign} {x}, 0, 0 FROM {source}
                WHERE {no_quota}""", [c.id, suffix])

    def _clawback(self, part: _Part) -> None:
        """The period's returns inside the window, each reversing its original line at the rate originally
        applied: the flat rate, the rate-table row of its product, or — for tiers — the payee's effective rate in
        the original period (earned ÷ measure there, from the same plan on the same inputs)."""
        c = part.component
        self._lines_table(part, returns=True)
        rate = c.rate
        if rate.flat is not None:
            self.con.execute("""
                INSERT INTO details SELECT payee, ?, 'clawback of returned lines', 97, sum(credit), ?, sum(credit) * ?
                FROM cl SEMI JOIN in_payees p USING (payee) GROUP BY payee""", [c.id, rate.flat, rate.flat])
            return
        if rate.table is not None:
            rows = self.con.execute(f"""
                SELECT payee, {part.rule_sql} AS rule, sum(credit) FROM cl c SEMI JOIN in_payees p USING (payee)
                GROUP BY ALL ORDER BY 1, 2""", part.rule_params).fetchall()
            out = [(payee, c.id, f"clawback: {part.rules[i][0]}", 97, basis, part.rules[i][1], basis * part.rules[i][1])
                   for payee, i, basis in rows]
        else:
            rows = self.con.execute("""
                SELECT payee, original_date, sum(credit) FROM cl SEMI JOIN in_payees p USING (payee)
                GROUP BY ALL ORDER BY 1, 2""").fetchall()
            by_period: dict[str, dict[str, Decimal]] = {}
            for payee, day, basis in rows:
                code = self.calendar.period(self.period.kind, day).code
                by_period.setdefault(code, {})
                by_period[code][payee] = by_period[code].get(payee, Decimal(0)) + Decimal(basis)
            out = []
            for code, bases in sorted(by_period.items()):
                rates = self._effective_rates(part, self.calendar.parse(code), set(bases))
                for payee, basis in sorted(bases.items()):
                    r = rates.get(payee, Decimal(0))
                    out.append((payee, c.id, f"clawback of {code} sales", 97, basis, r, basis * r))
        if out:
            self.con.executemany("INSERT INTO details VALUES (?, ?, ?, ?, ?, ?, ?)", out)

    def _effective_rates(self, part: _Part, period: Period, payees: set[str]) -> dict[str, Decimal]:
        """Per payee, what the component paid per unit of measure in ``period`` (earned ÷ measure, unrounded),
        computed again from the same plan and inputs — the rate originally applied to a returned line."""
        c = part.component
        original = c.model_copy(update={"clawback": None})
        plan = self.plan.model_copy(update={"components": [original], "effective_from": period.start,
                                            "effective_to": None})
        result = calculate(plan, self.inputs, period, self.calendar, with_credits=False)
        return {row["payee"]: (row["earned"] / row["measure"]).quantize(Decimal("1E-12"))
                for row in result.payouts.to_pylist()
                if row["payee"] in payees and row["measure"] and row["measure"] > 0}

    def _per_transaction(self, part: _Part) -> None:
        """Whole tiers walked per transaction: the window's lines in date order (then line id), each paid at the
        band its running total reaches; lines before the period were paid in their own periods. The gate looks at
        the measure to date."""
        c = part.component
        tiers = c.rate.tiers
        self._lines_table(part)
        scale = "q.quota" if tiers.on == "attainment" else "1"
        run = "r.run" if c.cap is None or c.cap.attainment is None else f"least(r.run, {c.cap.attainment} * q.quota)"
        above = ">=" if tiers.boundary == "upper" else ">"
        below = "<" if tiers.boundary == "upper" else "<="
        inside = (f"((b.band = 0 AND b.lo = 0) OR {run} {above} b.lo * {scale}) "
                  f"AND (b.hi IS NULL OR {run} {below} b.hi * {scale})")
        gated = (f"q.measure < {c.gate.min_attainment} * coalesce(q.quota, 0)" if c.gate is not None else "false")
        no_quota = "q.quota IS NULL OR q.quota = 0" if tiers.on == "attainment" else "false"
        self.con.execute("""
            CREATE OR REPLACE TEMP TABLE runs AS SELECT cl.payee, cl.date, cl.credit,
                sum(cl.credit) OVER (PARTITION BY cl.payee ORDER BY cl.date, cl.line_id, cl.level, cl.seller
                                     ROWS UNBOUNDED PRECEDING) AS run
            FROM cl SEMI JOIN in_payees p USING (payee)""")
        self.con.execute(f"""
            INSERT INTO details SELECT r.payee, ?, coalesce(b.rule, 'between bands') || ' (per transaction)',
                coalesce(b.band, 0), sum(r.credit), coalesce(b.rate, 0), sum(r.credit * coalesce(b.rate, 0))
            FROM runs r JOIN measures q ON q.payee = r.payee AND q.component = ?
            LEFT JOIN {self._bands(part)} ON {inside}
            WHERE r.date >= ? AND NOT ({gated}) AND NOT ({no_quota})
            GROUP BY r.payee, b.band, b.rule, b.rate""", [c.id, c.id, self.period.start])
        self.con.execute(f"""
            INSERT INTO details SELECT q.payee, ?, CASE WHEN {gated} THEN 'gate: attainment below ' || ?
                ELSE 'no quota' END, 0, q.measure, 0, 0
            FROM measures q WHERE q.component = ? AND (({gated}) OR ({no_quota}))""",
                         [c.id, _percent(c.gate.min_attainment) if c.gate else "", c.id])
        self.con.execute("""
            INSERT INTO details SELECT q.payee, ?, 'no lines in the period', 0, 0, 0, 0 FROM measures q
            WHERE q.component = ? AND q.payee NOT IN (SELECT payee FROM details WHERE component = ?)""",
                         [c.id, c.id, c.id])

    def _interpolated(self, part: _Part, windowed: bool) -> None:
        """Interpolated bands divide (the rate moves with attainment inside a band): per payee in exact Decimal
        arithmetic — thousands of rows, not the transactions."""
        c = part.component
        rows = self.con.execute(f"""
            SELECT t.payee, t.x, t.xb, q.quota FROM {self._measured(part)} t
            LEFT JOIN measures q ON q.payee = t.payee AND q.component = ? ORDER BY t.payee""", [c.id]).fetchall()
        out = []
        for payee, to_date, before, quota in rows:
            sides = [(Decimal(to_date), 1, "")]
            if windowed:
                sides.append((Decimal(before), -1, f" (before {self.period.start})"))
            for measure, sign, suffix in sides:
                if c.gate is not None and measure < c.gate.min_attainment * (quota or 0):
                    out.append((payee, c.id, f"gate: attainment below {_percent(c.gate.min_attainment)}{suffix}", 0,
                                sign * measure, 0, 0))
                    continue
                for rule, band, basis, rate, earned in _interpolate(c, measure, quota):
                    out.append((payee, c.id, rule + suffix, band, sign * basis, rate, sign * earned))
        if out:
            self.con.executemany("INSERT INTO details VALUES (?, ?, ?, ?, ?, ?, ?)", out)

    def _table(self, part: _Part) -> None:
        c = part.component
        selects = []
        params: list = []
        for i, (rule, rate) in enumerate(part.rules):
            col = part.col(f"r{i}")
            selects.append(f"SELECT payee, ?, ?, 0, {col}, ?, {col} * ? FROM m WHERE {col} IS NOT NULL")
            params += [c.id, rule, rate, rate]
        self.con.execute("INSERT INTO details " + " UNION ALL ".join(selects), params)
        cols = " + ".join(f"coalesce(m.{part.col(f'r{i}')}, 0)" for i in range(len(part.rules)))
        self.con.execute(f"INSERT INTO measures SELECT payee, ?, {cols}, NULL FROM m WHERE "
                         + " OR ".join(f"m.{part.col(f'r{i}')} IS NOT NULL" for i in range(len(part.rules))),
                         [c.id])

    def _milestones(self, part: _Part, source: str, x: str, sign: str, suffix: str, gated: str) -> None:
        """Each milestone reached pays its amount (prorated for a partial period); reached before the period in
        the same window, it was paid then. A payee who reached none gets a 0.00 row saying so."""
        c = part.component
        rows = ", ".join(f"({i}, {m.attainment:f}::DECIMAL(28,10), {m.amount:f}::DECIMAL(18,2), "
                         f"'milestone {_percent(m.attainment)}')" for i, m in enumerate(c.bonus.milestones))
        self.con.execute(f"""
            INSERT INTO details SELECT s.payee, ?, m.rule || ?, m.i, {sign} {x}, NULL,
                {sign} prorate(m.amount, pr.days, pr.total)
            FROM {source} JOIN pr ON pr.payee = s.payee, (VALUES {rows}) m(i, att, amount, rule)
            WHERE NOT ({gated}) AND s.quota > 0 AND {x} >= m.att * s.quota""", [c.id, suffix])
        if not sign:
            first = c.bonus.milestones[0].attainment
            self.con.execute(f"""
                INSERT INTO details SELECT s.payee, ?, 'no milestone reached', 0, {x}, NULL, 0 FROM {source}
                WHERE NOT ({gated}) AND NOT (s.quota > 0 AND {x} >= ? * s.quota)""", [c.id, first])

    def _mbo(self, part: _Part) -> None:
        """Every payee of the run: the manager's score for the period × the target bonus (prorated)."""
        c = part.component
        self.con.execute("""
            INSERT INTO details SELECT p.payee, ?, CASE WHEN s.score IS NULL THEN 'MBO: no score entered'
                    ELSE 'MBO score × target' END, 0, coalesce(s.score, 0), prorate(?, pr.days, pr.total),
                coalesce(s.score, 0) * prorate(?, pr.days, pr.total)
            FROM in_payees p JOIN pr USING (payee)
            LEFT JOIN in_scores s ON s.payee = p.payee AND s.component = ? AND s.period = ?
            WHERE pr.days > 0""", [c.id, c.bonus.mbo_target, c.bonus.mbo_target, c.id, self.period.code])

    def _spiff(self, part: _Part) -> None:
        s, c, v = part.component.spiff, part.component, part.col("v")
        rule, rate = ("spiff per unit", s.per_unit) if s.per_unit is not None else ("spiff per line", s.per_line)
        self.con.execute(f"INSERT INTO details SELECT payee, ?, ?, 0, {v}, ?, {v} * ? FROM m WHERE {v} IS NOT NULL",
                         [c.id, rule, rate, rate])
        self.con.execute(f"INSERT INTO measures SELECT payee, ?, {v}, NULL FROM m WHERE {v} IS NOT NULL", [c.id])

    # -- lineage ---------------------------------------------------------------------------------------
    def _credit_rows(self, part: _Part) -> pa.Table:
        """Every credited line behind each payee's measure of a component (and the managers' roll-up rows); for a
        weighted attainment, each measure's lines, named in ``measure``."""
        c = part.component
        runs: list[tuple[Credit, str | None, bool]] = [(c.credit, None, False)]
        if c.clawback is not None:
            runs.append((c.credit, None, True))
        if c.attainment is not None:
            runs = [(m.credit, m.id, False) for m in c.attainment.measures]
        tables = []
        for credit, measure, returns in runs:
            self._lines_table(part, returns=returns, credit=credit)
            tables.append(self.con.sql("""
                SELECT cl.payee, $component AS component, cl.line_id, cl.seller, cl.level::INTEGER AS level,
                       CAST(cl.credit AS DECIMAL(38,8)) AS credit, CAST($measure AS VARCHAR) AS measure
                FROM cl SEMI JOIN in_payees p USING (payee) WHERE cl.credit IS NOT NULL
                ORDER BY cl.payee, cl.line_id, cl.level, cl.seller""",
                                       params={"component": c.id, "measure": measure}).to_arrow_table())
        table = pa.concat_tables(tables)
        return table.sort_by([("payee", "ascending"), ("line_id", "ascending"), ("level", "ascending"),
                              ("seller", "ascending"), ("measure", "ascending")])

    def _lines_table(self, part: _Part, *, returns: bool = False, credit: Credit | None = None) -> None:
        """Table ``cl``: the credit's lines in the component's window (or, ``returns``, the period's clawed-back
        returns), one row per payee and line, with the managers' roll-up rows (seller: who sold it; level: how
        many managers up)."""
        credit = credit or part.component.credit
        where, params = self._where(part, credit, scan=False, returns=returns)
        # paid: one row per payment (the line it pays, on the payment's date); invoiced: on the invoice date
        date, source, amount = _DATE[credit.recognise], self._source(credit.recognise), _amount(credit)
        ids = [f"{name}_id" for name in ("product", "category") if name in self.codes]  # what rate tables test
        self.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE cl AS SELECT c.payee, c.payee AS seller, 0 AS level, c.line_id,
                {date} AS date, {amount} AS credit, c.product, c.category, c.original_date,
                {self._outside(credit.recognise)} AS outside{''.join(f', c.{i}' for i in ids)}
            FROM {source} WHERE {where}""", params)
        for level in range(1, credit.roll_up.levels + 1):
            self.con.execute(f"""
                INSERT INTO cl SELECT h.manager, cl.seller, ?, cl.line_id, cl.date, cl.credit, cl.product,
                    cl.category, cl.original_date, false{''.join(f', cl.{i}' for i in ids)}
                FROM cl JOIN in_hierarchy h ON h.payee = cl.payee AND cl.date >= h.valid_from
                     AND (h.valid_to IS NULL OR cl.date < h.valid_to)
                WHERE cl.level = ? AND h.manager IS NOT NULL""", [level, level - 1])
        if self.spans:
            self.con.execute("DELETE FROM cl WHERE outside")


def window_of(component: Component, period: Period, calendar: FiscalCalendar) -> Period:
    """What a component's measure sums in a payout period: the period itself, or its quarter, half or fiscal year
    from the start up to the period's end (carrying the code of that whole quarter, half or year)."""
    kind = {Window.PERIOD: None, Window.QUARTER: PeriodKind.QUARTER, Window.HALF: PeriodKind.HALF,
            Window.YEAR_TO_DATE: PeriodKind.YEAR}[component.window]
    if kind is None:
        return period
    whole = calendar.period(kind, period.start)
    return Period(whole.start, period.end, whole.kind, whole.code)


def _decimals(values) -> int:
    """The most decimals any of ``values`` (Decimals, or None) has: 1.50 → 1, 2 → 0."""
    return max((max(0, -v.normalize().as_tuple().exponent) for v in values if v is not None), default=0)


def _in(column: str, values: list) -> str:
    """``column IN (?, ?, …)`` for a non-empty list of bound values (DuckDB turns it into a hash lookup)."""
    return f"{column} IN ({', '.join('?' * len(values))})"


_AMOUNT = {CreditType.NET_REVENUE: "c.net * c.share", CreditType.GROSS_MARGIN: "(c.net - c.cost) * c.share",
           CreditType.UNITS: "c.quantity * c.share"}


def _amount(credit: Credit) -> str:
    """What a credited row adds to a measure: its amount (a payment's, when recognised on payment), or its share
    of one new customer when the row is a customer's first purchase (``nc``)."""
    if credit.recognise == "paid":
        return "pay.amount * c.share"
    if credit.type is CreditType.NEW_CUSTOMERS:
        return "CASE WHEN nc.line_id IS NOT NULL THEN c.share END"
    return _AMOUNT[credit.type]


def _interpolate(c: Component, measure: Decimal, quota) -> list[tuple]:
    """(rule, band, basis, rate, earned) for interpolated tiers: inside band i the rate moves in a straight line
    from band i's rate at its lower edge to band i+1's rate at its upper edge; the last band keeps its rate."""
    tiers = c.rate.tiers
    if tiers.on == "attainment" and not quota:
        return [("no quota", 0, measure, Decimal(0), Decimal(0))]
    scale = Decimal(quota) if tiers.on == "attainment" else Decimal(1)
    x = measure
    if c.cap is not None and c.cap.attainment is not None and quota:
        x = min(x, c.cap.attainment * scale)
    bands = [(b.from_ * scale, b.to * scale if b.to is not None else None, b.rate) for b in tiers.bands]
    i = _band_of(x, bands, tiers.boundary)
    if i is None:
        return [("between bands", 0, x, Decimal(0), Decimal(0))]
    lo, hi, r = bands[i]
    rule = _band_rule(tiers.bands[i], tiers.on)
    if hi is None or i + 1 >= len(bands):
        return [(rule, i, x, r, x * r)]
    rate = r + (bands[i + 1][2] - r) * (x - lo) / (hi - lo)
    return [(rule + " (interpolated)", i, x, rate, x * rate)]




def _percent(value: Decimal) -> str:
    """0.5 → ``50%``."""
    return f"{(value * 100).normalize():f}%"


def _band_rule(band, on: str) -> str:
    """``attainment 100%–150%`` or ``amount 0–500000``; an open band ``attainment 150%+``."""
    def edge(value: Decimal) -> str:
        return _percent(value) if on == "attainment" else f"{value.normalize():f}"
    return f"{on} {edge(band.from_)}+" if band.to is None else f"{on} {edge(band.from_)}–{edge(band.to)}"


def _band_of(x: Decimal, bands: list[tuple], boundary: str) -> int | None:
    """The band ``x`` falls in; on an edge, the band above (``upper``) or below (``lower``); a measure below zero
    falls in a first band that starts at 0."""
    for i, (lo, hi, _rate) in enumerate(bands):
        first = i == 0 and lo == 0
        if boundary == "upper":
            inside = (lo <= x or first) and (hi is None or x < hi)
        else:
            inside = (lo < x or first) and (hi is None or x <= hi)
        if inside:
            return i
    return None
