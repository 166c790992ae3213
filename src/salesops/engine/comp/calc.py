"""The commission calculation: a pure function of (plan, inputs, period) → payouts with their lineage.

Role in the flow: the web app (runs) or the ``salesops comp calc`` CLI gives a validated
:class:`~salesops.engine.comp.plan.CompPlan`, the inputs as Arrow tables (:class:`CompInputs`: order lines,
their credits, the hierarchy, the quotas, the payees) and a payout period; :func:`calculate` returns
:class:`CompResult`: one payout per payee and component (rounded once, here, by the plan's policy) and the detail
rows that explain it (rule, band, basis, rate, earned — unrounded) and, per credited line, what each payee was
credited (the lineage down to the order lines).

How: every step over transactions is one DuckDB statement over columnar data — credit by split share, roll-up
through the hierarchy in effect on each line's date, filters, windows, rate tables, running totals — never a
Python loop over lines. Per payee (thousands, not millions) the tier walk of interpolated bands and the
rounding are exact ``Decimal`` arithmetic in Python. Amounts are DECIMAL end to end: DuckDB divides decimals into
floating point, so nothing over transactions is ever divided there.

Invariants: the same inputs give the same bytes (every output is sorted); computing two partitions of the payees
(each with the lines credited to them and their reports) gives exactly the rows of one run over all of them; a
payout equals its detail rows' sum, rounded once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import duckdb
import pyarrow as pa

from salesops.engine.comp.plan import Component, CompPlan, CreditType, TierMode, Window
from salesops.engine.money import RoundingPolicy
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


@dataclass(frozen=True)
class CompInputs:
    """Columnar inputs (schemas above). ``credits.share`` is a fraction (0.5 for a 50 % split); ``hierarchy``
    rows say who a payee reported to from ``valid_from`` until before ``valid_to`` (open when null); ``quotas``
    hold a quota per payee, component and period code (``2026-03``, ``2026-Q1``, ``2026-H1``, ``FY2026``)."""

    lines: pa.Table
    credits: pa.Table
    payees: pa.Table
    hierarchy: pa.Table = field(default_factory=lambda: HIERARCHY_SCHEMA.empty_table())
    quotas: pa.Table = field(default_factory=lambda: QUOTA_SCHEMA.empty_table())


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


PAYOUT_SCHEMA = pa.schema([
    ("payee", pa.string()), ("component", pa.string()), ("measure", pa.string()), ("quota", pa.string()),
    ("attainment", pa.string()), ("earned", pa.string()), ("amount", pa.string()),
])
DETAIL_SCHEMA = pa.schema([
    ("payee", pa.string()), ("component", pa.string()), ("rule", pa.string()), ("band", pa.int32()),
    ("basis", pa.string()), ("rate", pa.string()), ("earned", pa.string()),
])


def calculate(plan: CompPlan, inputs: CompInputs, period: Period, calendar: FiscalCalendar | None = None,
              *, with_credits: bool = True) -> CompResult:
    """Every component of ``plan`` for every payee of ``inputs.payees`` in ``period`` (a month or a quarter)."""
    calendar = calendar or FiscalCalendar()
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        for name in ("lines", "credits", "payees", "hierarchy", "quotas"):
            con.register(f"in_{name}", getattr(inputs, name))
        _check_inputs(con)
        payouts: list[tuple] = []
        details: list[tuple] = []
        credit_tables: list[pa.Table] = []
        for component in plan.components:
            run = _ComponentRun(con, plan, component, period, calendar)
            p, d = run.compute()
            payouts.extend(p)
            details.extend(d)
            if with_credits:
                credit_tables.append(run.credit_rows())
        payouts.sort(key=lambda r: (r[0], r[1]))
        details.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
        credits = (pa.concat_tables(credit_tables) if credit_tables else _empty_credits())
        return CompResult(
            pa.Table.from_pylist([dict(zip(PAYOUT_SCHEMA.names, r, strict=True)) for r in payouts], PAYOUT_SCHEMA),
            pa.Table.from_pylist([dict(zip(DETAIL_SCHEMA.names, r, strict=True)) for r in details], DETAIL_SCHEMA),
            credits,
        )
    finally:
        con.close()


def _empty_credits() -> pa.Table:
    return pa.schema([("payee", pa.string()), ("component", pa.string()), ("line_id", pa.string()),
                      ("seller", pa.string()), ("level", pa.int32()), ("credit", pa.string())]).empty_table()


def _check_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Splits add up to 100 % per line; every credit names a known line; share in (0, 1]."""
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


def round_amount(value: Decimal, policy: RoundingPolicy) -> Decimal:
    return value.quantize(CENT, rounding=policy.decimal_mode)


def _text(value: Decimal | None) -> str:
    """Exact text: cents when that loses nothing (1300000.00000000 → 1300000.00), else every digit needed."""
    if value is None:
        return ""
    cents = value.quantize(CENT) if value.is_finite() and value.adjusted() < 30 else value
    return f"{cents:f}" if cents == value else f"{value.normalize():f}"


class _ComponentRun:
    def __init__(self, con, plan: CompPlan, component: Component, period: Period, calendar: FiscalCalendar):
        self.con, self.plan, self.c, self.period, self.calendar = con, plan, component, period, calendar
        self.window = self._window()

    # -- windows -----------------------------------------------------------------------------------------
    def _window(self) -> Period:
        kind = {Window.PERIOD: None, Window.QUARTER: PeriodKind.QUARTER, Window.HALF: PeriodKind.HALF,
                Window.YEAR_TO_DATE: PeriodKind.YEAR}[self.c.window]
        if kind is None:
            return self.period
        whole = self.calendar.period(kind, self.period.start)
        return Period(whole.start, self.period.end, whole.kind, whole.code)

    # -- credited lines ----------------------------------------------------------------------------------
    def _credited(self) -> str:
        """Create ``cl``: (payee, seller, level, line_id, date, product, category, share, units, credit) for
        the window, with roll-up rows for the managers (who get the seller's share)."""
        c = self.c
        amount = {CreditType.NET_REVENUE: "l.net", CreditType.GROSS_MARGIN: "(l.net - l.cost)",
                  CreditType.UNITS: "l.quantity"}[c.credit.type]
        where, params = ["l.date >= ?", "l.date < ?"], [self.window.start, self.period.end]
        f = c.credit.filter
        for column, values in (("product", f.products), ("category", f.categories), ("region", f.regions),
                               ("segment", f.segments), ("customer", f.customers)):
            if values:
                where.append(f"list_contains(?, l.{column})")
                params.append(list(values))
        if c.spiff is not None:
            s = c.spiff
            where += ["l.date >= ?", "l.date <= ?"]
            params += [s.start, s.end]
            keys = []
            if s.products:
                keys.append("list_contains(?, l.product)")
                params.append(list(s.products))
            if s.categories:
                keys.append("list_contains(?, l.category)")
                params.append(list(s.categories))
            where.append("(" + " OR ".join(keys) + ")")
        self.con.execute("DROP TABLE IF EXISTS cl")
        self.con.execute(f"""
            CREATE TEMP TABLE cl AS
            SELECT cr.payee, cr.payee AS seller, 0 AS level, l.line_id, l.date, l.product, l.category,
                   cr.share, l.quantity * cr.share AS units, {amount} * cr.share AS credit
            FROM in_lines l JOIN in_credits cr USING (line_id)
            WHERE {' AND '.join(where)}""", params)  # noqa: S608 - columns from our own mapping, values bound
        for level in range(1, c.credit.roll_up.levels + 1):
            self.con.execute("""
                INSERT INTO cl
                SELECT h.manager, cl.seller, ?, cl.line_id, cl.date, cl.product, cl.category, cl.share, cl.units,
                       cl.credit
                FROM cl JOIN in_hierarchy h ON h.payee = cl.payee AND cl.date >= h.valid_from
                     AND (h.valid_to IS NULL OR cl.date < h.valid_to)
                WHERE cl.level = ? AND h.manager IS NOT NULL""", [level, level - 1])
        return "cl"

    def credit_rows(self) -> pa.Table:
        return self.con.sql("""
            SELECT cl.payee, $component AS component, cl.line_id, cl.seller, cl.level::INTEGER AS level,
                   CAST(cl.credit AS VARCHAR) AS credit
            FROM cl SEMI JOIN in_payees p USING (payee)
            ORDER BY cl.payee, cl.line_id, cl.level, cl.seller""", params={"component": self.c.id}).to_arrow_table()

    # -- the component -----------------------------------------------------------------------------------
    def compute(self) -> tuple[list[tuple], list[tuple]]:
        self._credited()
        c = self.c
        if c.spiff is not None:
            return self._spiff()
        if c.rate.table is not None:
            return self._table()
        measures = self._measures()
        quota = self._quotas(set(measures)) if c.quota is not None else {}
        payouts, details = [], []
        for payee, (to_date, before) in sorted(measures.items()):
            q = quota.get(payee)
            rows = self._earn(to_date, q)
            if self.window.start != self.period.start:  # a longer window: earned to date − earned before
                rows += [(f"{rule} (before {self.period.start})", band, -basis if basis is not None else None, rate,
                          -earned) for rule, band, basis, rate, earned in self._earn(before, q)]
            earned = sum((r[4] for r in rows), Decimal(0))
            if c.cap is not None and c.cap.amount is not None and earned > c.cap.amount:
                rows.append(("cap", 99, None, c.cap.amount, c.cap.amount - earned))
                earned = c.cap.amount
            attainment = (to_date / q) if q else None
            payouts.append((payee, c.id, _text(to_date), _text(q), (f"{_ratio(attainment):f}" if attainment is not None else ""), _text(earned),
                            _text(round_amount(earned, self.plan.rounding))))
            details.extend((payee, c.id, rule, band, _text(basis), _text(rate), _text(value))
                           for rule, band, basis, rate, value in rows)
        return payouts, details

    def _measures(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Per payee (of the payees input): the measure over the window to date, and before the period."""
        rows = self.con.execute("""
            SELECT cl.payee, sum(cl.credit), coalesce(sum(cl.credit) FILTER (WHERE cl.date < ?), 0)
            FROM cl SEMI JOIN in_payees p USING (payee) GROUP BY cl.payee""", [self.period.start]).fetchall()
        return {payee: (Decimal(total), Decimal(before)) for payee, total, before in rows}

    def _quotas(self, payees: set[str]) -> dict[str, Decimal]:
        c = self.c
        if c.quota.source == "fixed":
            return dict.fromkeys(payees, c.quota.amount)
        code = self.window.code if self.window is not self.period else self.period.code
        rows = self.con.execute("SELECT payee, quota FROM in_quotas WHERE component = ? AND period = ?",
                                [c.id, code]).fetchall()
        quotas = {payee: Decimal(q) for payee, q in rows}
        missing = sorted(payees - set(quotas))
        if missing:
            raise InputError([f"component {c.id}: no quota for period {code} for payee {p}" for p in missing[:50]])
        return quotas

    def _earn(self, measure: Decimal, quota: Decimal | None) -> list[tuple]:
        """(rule, band, basis, rate, earned) rows for one payee's measure (exact, unrounded)."""
        c = self.c
        if c.gate is not None:
            attainment = measure / quota if quota else Decimal(0)
            if attainment < c.gate.min_attainment:
                return [(f"gate: attainment below {c.gate.min_attainment}", 0, measure, Decimal(0), Decimal(0))]
        rate = c.rate
        if rate.flat is not None:
            return [("flat", 0, measure, rate.flat, measure * rate.flat)]
        tiers = rate.tiers
        scale = quota if tiers.on == "attainment" else Decimal(1)
        if tiers.on == "attainment" and not quota:
            return [("no quota", 0, measure, Decimal(0), Decimal(0))]
        x = measure
        if c.cap is not None and c.cap.attainment is not None and quota:
            x = min(x, c.cap.attainment * quota)
        bands = [(b.from_ * scale, b.to * scale if b.to is not None else None, b.rate) for b in tiers.bands]
        if tiers.mode is TierMode.MARGINAL:
            rows = []
            for i, (lo, hi, r) in enumerate(bands):
                top = x if hi is None else min(x, hi)
                basis = top - lo if i == 0 else max(top - lo, Decimal(0))
                if basis:
                    rows.append((_band_rule(tiers.bands[i], tiers.on), i, basis, r, basis * r))
            return rows or [(_band_rule(tiers.bands[0], tiers.on), 0, Decimal(0), bands[0][2], Decimal(0))]
        i = _band_of(x, bands, tiers.boundary)
        if i is None:
            return [("between bands", 0, x, Decimal(0), Decimal(0))]
        lo, hi, r = bands[i]
        if tiers.mode is TierMode.WHOLE or hi is None or i + 1 >= len(bands):
            return [(_band_rule(tiers.bands[i], tiers.on), i, x, r, x * r)]
        nxt = bands[i + 1][2]
        interpolated = r + (nxt - r) * (x - lo) / (hi - lo)
        return [(_band_rule(tiers.bands[i], tiers.on) + " (interpolated)", i, x, interpolated, x * interpolated)]

    def _table(self) -> tuple[list[tuple], list[tuple]]:
        """Per-line rates: product row, else category row, else the default."""
        c = self.c
        table = c.rate.table
        entries = pa.table({
            "kind": [("product" if e.product is not None else "category") for e in table.entries],
            "member": [e.product if e.product is not None else e.category for e in table.entries],
            "rate": pa.array([e.rate for e in table.entries], pa.decimal128(18, 6)),
        })
        self.con.register("rate_entries", entries)
        rows = self.con.execute("""
            WITH rated AS (
                SELECT cl.payee, cl.credit,
                       CASE WHEN rp.rate IS NOT NULL THEN 'product ' || cl.product
                            WHEN rc.rate IS NOT NULL THEN 'category ' || cl.category
                            WHEN ?::DECIMAL(18,6) IS NOT NULL THEN 'default' ELSE 'no rate' END AS rule,
                       coalesce(rp.rate, rc.rate, ?::DECIMAL(18,6), 0::DECIMAL(18,6)) AS rate
                FROM cl SEMI JOIN in_payees p USING (payee)
                LEFT JOIN rate_entries rp ON rp.kind = 'product' AND rp.member = cl.product
                LEFT JOIN rate_entries rc ON rc.kind = 'category' AND rc.member = cl.category
            )
            SELECT payee, rule, rate, sum(credit) AS basis, sum(credit * rate) AS earned
            FROM rated GROUP BY payee, rule, rate ORDER BY payee, rule""", [table.default, table.default]).fetchall()
        self.con.unregister("rate_entries")
        return self._sum_up([(payee, rule, 0, Decimal(basis), Decimal(rate), Decimal(earned))
                             for payee, rule, rate, basis, earned in rows])

    def _spiff(self) -> tuple[list[tuple], list[tuple]]:
        """Per credited unit (quantity × split share) or per credited line (the split share of each line)."""
        s = self.c.spiff
        column, rule, rate = (("units", "spiff per unit", s.per_unit) if s.per_unit is not None
                              else ("share", "spiff per line", s.per_line))
        rows = self.con.execute(f"""
            SELECT cl.payee, sum(cl.{column}) FROM cl SEMI JOIN in_payees p USING (payee)
            GROUP BY cl.payee""").fetchall()  # noqa: S608 - one of two column names
        return self._sum_up([(payee, rule, 0, Decimal(basis), rate, Decimal(basis) * rate) for payee, basis in rows])

    def _sum_up(self, rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
        """Payouts from (payee, rule, band, basis, rate, earned) detail rows, with the cap applied."""
        c = self.c
        by_payee: dict[str, list[tuple]] = {}
        for payee, *rest in rows:
            by_payee.setdefault(payee, []).append(tuple(rest))
        payouts, details = [], []
        for payee, items in sorted(by_payee.items()):
            earned = sum((r[4] for r in items), Decimal(0))
            measure = sum((r[2] for r in items), Decimal(0))
            if c.cap is not None and c.cap.amount is not None and earned > c.cap.amount:
                items.append(("cap", 99, None, c.cap.amount, c.cap.amount - earned))
                earned = c.cap.amount
            payouts.append((payee, c.id, _text(measure), "", "", _text(earned),
                            _text(round_amount(earned, self.plan.rounding))))
            details.extend((payee, c.id, rule, band, _text(basis), _text(rate), _text(value))
                           for rule, band, basis, rate, value in items)
        return payouts, details


def _ratio(value: Decimal | None) -> Decimal | None:
    """Attainment shown to 4 decimals (e.g. 1.3000 = 130%); the calculation itself uses the exact measure."""
    return None if value is None else value.quantize(Decimal("0.0001"), rounding=RoundingPolicy.HALF_UP.decimal_mode)


def _band_rule(band, on: str) -> str:
    """``attainment 100%–150%`` or ``amount 0–500000``; an open band ``attainment 150%+``."""
    def edge(value: Decimal) -> str:
        return f"{(value * 100).normalize():f}%" if on == "attainment" else f"{value.normalize():f}"
    return f"{on} {edge(band.from_)}+" if band.to is None else f"{on} {edge(band.from_)}–{edge(band.to)}"


def _band_of(x: Decimal, bands: list[tuple], boundary: str) -> int | None:
    """The band ``x`` falls in; on an edge, the band above (``upper``) or below (``lower``)."""
    for i, (lo, hi, _rate) in enumerate(bands):
        if boundary == "upper":
            inside = (lo <= x or i == 0) and (hi is None or x < hi)
        else:
            inside = (lo < x or i == 0) and (hi is None or x <= hi)
        if inside:
            return i
    return None


def period_of(code: str, calendar: FiscalCalendar | None = None) -> Period:
    """A payout period from its code (``2026-03`` or ``2026-Q1``)."""
    return (calendar or FiscalCalendar()).parse(code)

