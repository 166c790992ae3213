"""A salesperson's live estimate (提成预估): their pay so far in the current payout period, a projection to the
period's end at the current pace, and what-if deals ("if these deals close, you earn …").

Role in the flow: the estimate page and ``/api/estimate/`` call :func:`estimate`. It finds the plan the person is
assigned to today, the payout period holding today (a calendar month of the company's fiscal calendar), the
published version in effect for it (``services.version_for``) and the inputs a run of that period would read
(``inputs.build_inputs``); it keeps only the person's partition of them — the lines credited to the person and,
for components that roll credit up, to the people under them in the hierarchy, as many levels down as the plan
rolls up — and runs the engine up to three times:

- **to date**: the lines dated up to today, exactly as a run would calculate them;
- **at the current pace**: every line of the period so far scaled by days in the period ÷ days elapsed (each
  amount rounded half up to the cent, quantities to 4 places), so the rules — tiers, caps, gates — apply to the
  projected figures, not to a straight line through today's payout;
- **with the deals**: the lines to date plus each hypothetical deal as a line of its own (``WHAT-IF-1``…),
  credited 100 % to the person.

Invariants: nothing is written; every amount is ``Decimal``; on the period's last day the to-date figures are the
payouts a run of the period stores for the person, to the cent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from salesops.engine.comp import calc
from salesops.engine.comp.plan import CompPlan as PlanDocument
from salesops.engine.periods import FiscalCalendar, Period
from salesops.incentives import services
from salesops.incentives.access import payee_ids
from salesops.incentives.inputs import build_inputs, scan_start
from salesops.incentives.models import CompPlan, CompPlanVersion, PlanAssignment
from salesops.org.access import own_salesperson
from salesops.org.models import Assignment, Company, Customer, Product, Salesperson, active_on

MAX_DEALS = 50
SYNTHETIC_PREFIX = "WHAT-IF-"
MAX_AMOUNT = Decimal("1e15")
CENT = Decimal("0.01")
ZERO = Decimal(0)


class EstimateUnavailable(Exception):  # noqa: N818 (a reason to show, not a failure of the code)
    """There is nothing to estimate for the person today; ``reason`` says why, in words for the page."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Deal:
    """A hypothetical sale: product SKU, net amount, closing date, and optionally the customer's external id."""

    product: str
    amount: Decimal
    date: dt.date
    customer: str = ""


@dataclass(frozen=True)
class DealError:
    """What is wrong with one field of one deal (``row`` counts from 1; 0 is the list as a whole)."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        return _("Deal %(row)s, %(field)s: %(message)s") % {"row": self.row, "field": field_label(self.field),
                                                           "message": self.message}


class DealsInvalid(ValueError):  # noqa: N818 (the deals as typed are invalid)
    def __init__(self, errors: list[DealError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def field_label(name: str) -> str:
    return {"product": _("product"), "amount": _("amount"), "date": _("date"), "customer": _("customer"),
            "deals": _("deals")}.get(name, name)


@dataclass(frozen=True)
class Detail:
    rule: str
    band: int
    basis: Decimal | None
    rate: Decimal | None
    earned: Decimal


@dataclass(frozen=True)
class ComponentFigures:
    """One component's payout in one calculation: as a statement shows it, with the rows that explain it."""

    id: str
    name: str
    measure: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    earned: Decimal
    amount: Decimal
    details: tuple[Detail, ...]

    @property
    def top_band(self) -> int | None:
        """The highest tier band a detail row reached (None: no banded row)."""
        bands = [d.band for d in self.details if d.band < 90 and d.rule.startswith(("attainment ", "amount "))]
        return max(bands) if bands else None


@dataclass(frozen=True)
class Figures:
    components: tuple[ComponentFigures, ...]

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.components), ZERO)

    def get(self, component: str) -> ComponentFigures | None:
        return next((c for c in self.components if c.id == component), None)


@dataclass(frozen=True)
class Band:
    low: Decimal
    high: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class Estimate:
    person: Salesperson
    plan: CompPlan
    version: CompPlanVersion
    period: Period
    today: dt.date
    days_elapsed: int
    days_in_period: int
    to_date: Figures
    projected: Figures
    deals: tuple[Deal, ...] = ()
    what_if: Figures | None = None
    tiers: Mapping[str, tuple[Band, ...]] = dataclasses.field(default_factory=dict)  # attainment bands

    @property
    def days_left(self) -> int:
        return self.days_in_period - self.days_elapsed

    @property
    def last_day(self) -> dt.date:
        return self.period.end - dt.timedelta(days=1)

    def gain(self, component: str | None = None) -> Decimal | None:
        """How much more the deals pay (one component, or in total); None without deals."""
        if self.what_if is None:
            return None
        if component is None:
            return self.what_if.total - self.to_date.total
        after, before = self.what_if.get(component), self.to_date.get(component)
        return (after.amount if after else ZERO) - (before.amount if before else ZERO)


# -- who and when ---------------------------------------------------------------------------------------------
def payout_period(today: dt.date, calendar: FiscalCalendar | None = None) -> Period:
    """The payout period holding ``today``: its month (runs are calculated per month)."""
    return (calendar or Company.current().calendar).month(today)


def access_estimate_person(user, raw_id) -> Salesperson | None:
    """The person whose estimate ``user`` asks for: ``raw_id`` (404 when it is not a person the user may see pay
    of), else the user's own salesperson (None when they have none); HR and users without a role: 403."""
    ids = payee_ids(user)
    if raw_id in (None, ""):
        return own_salesperson(user)
    try:
        pk = int(raw_id)
    except (TypeError, ValueError):
        raise Http404("No such person.") from None
    if ids is not None and pk not in ids:
        raise Http404("No such person for you.")
    try:
        return Salesperson.objects.get(pk=pk)
    except Salesperson.DoesNotExist:
        raise Http404("No such person.") from None


def people_with_plans(user, today: dt.date):
    """The people ``user`` may see the pay of who are paid by a plan today (for the page's chooser)."""
    ids = payee_ids(user)
    on_plan = PlanAssignment.objects.filter(start_date__lte=today).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=today)).values("salesperson_id")
    people = Salesperson.objects.filter(pk__in=on_plan).order_by("employee_no")
    return people if ids is None else people.filter(pk__in=ids)


def open_deals(person: Salesperson, period: Period) -> tuple[Deal, ...]:
    """The deals that prefill the what-if form: the person's open opportunities expected to close inside the
    period. The organisation records no opportunities, so there are none; the pipeline supplies them here."""
    return ()


# -- the deals as typed -----------------------------------------------------------------------------------------
def parse_deals(rows: Sequence[Mapping[str, object]], *, period: Period, today: dt.date, customers=None,
                skip_blank: bool = False) -> tuple[Deal, ...]:
    """Deals from rows of text (a form, a JSON body): ``product`` (SKU), ``amount`` (exact decimal above 0, at most
    2 places), optional ``date`` (ISO, from today to the period's last day; today when empty) and ``customer``
    (external id, among ``customers`` when given); ``skip_blank`` passes over rows left wholly empty (a form's spare
    row) while keeping the others' numbers. Raises :class:`DealsInvalid` naming every bad row and field."""
    if len(rows) > MAX_DEALS:
        raise DealsInvalid([DealError(0, "deals", _("At most %(n)s deals at a time (there are %(count)s).") % {
            "n": MAX_DEALS, "count": len(rows)})])
    skus = {str(r.get("product") or "").strip() for r in rows}
    known = set(Product.objects.filter(sku__in=skus, active=True).values_list("sku", flat=True))
    wanted = {str(r.get("customer") or "").strip() for r in rows} - {""}
    pool = Customer.objects.all() if customers is None else customers
    known_customers = set(pool.filter(external_id__in=wanted).values_list("external_id", flat=True))
    last_day = period.end - dt.timedelta(days=1)
    deals, errors = [], []
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            errors.append(DealError(i, "deals", _("A deal is an object with product, amount and date.")))
            continue
        if skip_blank and not any(str(v or "").strip() for v in row.values()):
            continue
        sku = str(row.get("product") or "").strip()
        if not sku:
            errors.append(DealError(i, "product", _("Choose a product.")))
        elif sku not in known:
            errors.append(DealError(i, "product", _("There is no active product %(sku)s.") % {"sku": sku}))
        amount, problem = _amount(row.get("amount"))
        if problem:
            errors.append(DealError(i, "amount", problem))
        day, problem = _day(row.get("date"), today, last_day)
        if problem:
            errors.append(DealError(i, "date", problem))
        customer = str(row.get("customer") or "").strip()
        if customer and customer not in known_customers:
            errors.append(DealError(i, "customer", _("There is no customer %(id)s for you.") % {"id": customer}))
        if amount is not None and day is not None:
            deals.append(Deal(product=sku, amount=amount, date=day, customer=customer))
    if errors:
        raise DealsInvalid(errors)
    return tuple(deals)


def _amount(raw) -> tuple[Decimal | None, str]:
    if isinstance(raw, float | bool):
        return None, _('Give the amount as a decimal in quotes, e.g. "12000.00".')
    text = str(raw if raw is not None else "").strip().replace(",", "")
    if not text:
        return None, _("Enter an amount.")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None, _("%(value)s is not an amount.") % {"value": text}
    if not amount.is_finite():
        return None, _("%(value)s is not an amount.") % {"value": text}
    if amount <= 0:
        return None, _("The amount must be above 0.")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        return None, _("An amount has at most 2 decimal places.")
    if amount >= MAX_AMOUNT:
        return None, _("The amount is too large.")
    return amount.quantize(CENT), ""


def _day(raw, today: dt.date, last_day: dt.date) -> tuple[dt.date | None, str]:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return today, ""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, _("%(value)s is not a date (YYYY-MM-DD).") % {"value": text}
    if not today <= day <= last_day:
        return None, _("The date must be between today (%(today)s) and the period's last day (%(last)s).") % {
            "today": today.isoformat(), "last": last_day.isoformat()}
    return day, ""


# -- the estimate ---------------------------------------------------------------------------------------------
def estimate(person: Salesperson, *, today: dt.date, deals: Iterable[Deal] = ()) -> Estimate:
    """``person``'s pay in the payout period holding ``today``: to date, at the current pace and, given ``deals``
    (from :func:`parse_deals`, or the pipeline's :func:`open_deals`), with them closed. Raises
    :class:`EstimateUnavailable` when the person has no plan today or the plan cannot be calculated."""
    deals = tuple(deals)
    if len(deals) > MAX_DEALS:
        raise DealsInvalid([DealError(0, "deals", _("At most %(n)s deals at a time (there are %(count)s).") % {
            "n": MAX_DEALS, "count": len(deals)})])
    assignment = (PlanAssignment.objects.filter(salesperson=person, start_date__lte=today)
                  .filter(Q(end_date__isnull=True) | Q(end_date__gte=today)).select_related("plan").first())
    if assignment is None:
        raise EstimateUnavailable(_("%(person)s is paid by no compensation plan on %(today)s, so there is no pay "
                                    "to estimate. Sales operations assign plans.") % {
            "person": person.name, "today": today.isoformat()})
    plan = assignment.plan
    calendar = Company.current().calendar
    period = payout_period(today, calendar)
    try:
        version = services.version_for(plan, period)
    except ValidationError:
        raise EstimateUnavailable(_("No published version of %(plan)s is in effect for the whole of %(period)s, so "
                                    "there is no pay to estimate yet.") % {"plan": plan.name,
                                                                           "period": period.code}) from None
    document = version.parsed()
    elapsed, days = period.elapsed_share(today)
    inputs = build_inputs(plan, document, period, calendar,
                          credited_to=_partition_codes(document, person.employee_no, period, calendar))
    mine = _partition(inputs, document, person.employee_no, period, calendar, today)
    variants = {"to_date": mine}
    if elapsed < days:
        variants["projected"] = _at_pace(mine, period, today, elapsed, days)
    if deals:
        variants["what_if"] = _with_deals(mine, _deal_lines(person, deals, today, _plain_schema(mine.credited)))
    try:
        figures = _calculate(document, variants, period, calendar, person.employee_no)
    except calc.InputError as error:
        raise EstimateUnavailable(_("The plan cannot be calculated for %(person)s yet: %(problems)s") % {
            "person": person.name, "problems": "; ".join(error.problems)}) from None
    to_date = figures["to_date"]
    projected, what_if = figures.get("projected", to_date), figures.get("what_if")
    return Estimate(person=person, plan=plan, version=version, period=period, today=today, days_elapsed=elapsed,
                    days_in_period=days, to_date=to_date, projected=projected, deals=deals, what_if=what_if,
                    tiers=_attainment_tiers(document))


def _roll_up_levels(document: PlanDocument) -> int:
    levels = [c.credit.roll_up.levels for c in document.components]
    for c in document.components:
        weighted = getattr(c, "attainment", None)
        levels += [m.credit.roll_up.levels for m in (weighted.measures if weighted is not None else [])]
    return max(levels, default=0)


def _partition_codes(document: PlanDocument, code: str, period: Period, calendar: FiscalCalendar) -> set[str] | None:
    """Whose lines decide ``code``'s pay: theirs and those of the people under them, as many levels down as the
    plan rolls up, in any assignment of the scanned dates (None: everyone's, for a plan with a team bonus) — so
    only those lines are read from the database."""
    if any(getattr(c, "team", None) is not None for c in document.components):
        return None
    start = scan_start(document, period, calendar)
    reports = list(Assignment.objects.filter(manager__isnull=False, start_date__lt=period.end)
                   .filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
                   .values_list("salesperson__employee_no", "manager__employee_no"))
    codes, frontier = {code}, {code}
    for _level in range(_roll_up_levels(document)):
        frontier = {person for person, manager in reports if manager in frontier} - codes
        codes |= frontier
    return codes


def _partition(inputs: calc.CompInputs, document: PlanDocument, code: str, period: Period,
               calendar: FiscalCalendar, today: dt.date) -> calc.CompInputs:
    """The inputs that decide ``code``'s payouts up to ``today``: their credited lines and those of the people
    under them (down as many levels as the plan rolls up, in any hierarchy row of the scanned dates), the payments
    of those lines, and their own payee row, quotas, scores and balances. A team bonus shares a pool among a
    manager's reports, so a plan with one keeps every payee's lines (and computes only the person's row)."""
    start = scan_start(document, period, calendar)
    hierarchy = [r for r in inputs.hierarchy.to_pylist()  # one row per dated assignment: people, not lines
                 if r["valid_from"] < period.end and (r["valid_to"] is None or r["valid_to"] > start)]
    team_bonus = any(getattr(c, "team", None) is not None for c in document.components)
    if team_bonus:
        codes = None
    else:
        codes, frontier = {code}, {code}
        for _level in range(_roll_up_levels(document)):
            frontier = {r["payee"] for r in hierarchy if r["manager"] in frontier} - codes
            codes |= frontier
    credited = _plain(inputs.credited)
    keep = pc.less_equal(credited["date"], pa.scalar(today, pa.date32()))
    if codes is not None:
        keep = pc.and_(keep, _member(credited["payee"], codes))
    credited = credited.filter(keep)
    lines = set(credited["line_id"].to_pylist())
    payments = inputs.payments.filter(pc.and_(_member(inputs.payments["line_id"], lines),
                                              pc.less_equal(inputs.payments["date"], pa.scalar(today, pa.date32()))))
    mine = {code}
    payees = inputs.payees if team_bonus else inputs.payees.filter(_member(inputs.payees["payee"], mine))
    return dataclasses.replace(
        inputs, credited=credited, payees=payees,
        hierarchy=inputs.hierarchy if codes is None else inputs.hierarchy.filter(
            _member(inputs.hierarchy["payee"], codes)),
        quotas=inputs.quotas if team_bonus else inputs.quotas.filter(_member(inputs.quotas["payee"], mine)),
        scores=inputs.scores if team_bonus else inputs.scores.filter(_member(inputs.scores["payee"], mine)),
        payments=payments,
        balances=inputs.balances if team_bonus else inputs.balances.filter(_member(inputs.balances["payee"], mine)))


def _member(column, values) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return pc.is_in(column, value_set=pa.array(sorted(values), pa.string()))


def _plain_schema(table: pa.Table) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                      for f in table.schema])


def _plain(table: pa.Table) -> pa.Table:
    """``table`` with its dictionary-encoded code columns decoded (so tables can be concatenated)."""
    return table.cast(_plain_schema(table))


def _at_pace(inputs: calc.CompInputs, period: Period, today: dt.date, elapsed: int, days: int) -> calc.CompInputs:
    """The inputs with every line (and payment) of the period so far scaled by ``days ÷ elapsed``: net and cost to
    the cent, quantity to 4 places, each half up, in integer arithmetic (DuckDB would divide decimals in floating
    point)."""
    con = duckdb.connect()
    try:
        # pace(x, unit, num, den): x × num ÷ den in units of 1/unit, half up, as an integer (no division of decimals)
        con.execute("""CREATE MACRO pace(x, unit, num, den) AS CAST(sign(x) * ((2 * abs(CAST(x * unit AS HUGEINT))
                       * num + den) // (2 * den)) AS DECIMAL(38,0))""")
        con.execute("CREATE MACRO so_far(day, first, last) AS day >= first AND day <= last")
        con.register("c", inputs.credited)
        con.register("pay", inputs.payments)
        args = {"start": period.start, "today": today, "days": days, "elapsed": elapsed}
        credited = con.sql("""SELECT * REPLACE (
                CASE WHEN so_far(date, $start, $today) THEN pace(net, 100, $days, $elapsed) * 0.01 ELSE net END AS net,
                CASE WHEN so_far(date, $start, $today) THEN pace(cost, 100, $days, $elapsed) * 0.01 ELSE cost END AS cost,
                CASE WHEN so_far(date, $start, $today) THEN pace(quantity, 10000, $days, $elapsed) * 0.0001 ELSE quantity END
                    AS quantity) FROM c""", params=args).to_arrow_table()
        payments = con.sql("""SELECT * REPLACE (
                CASE WHEN so_far(date, $start, $today) THEN pace(amount, 100, $days, $elapsed) * 0.01 ELSE amount END AS amount)
                FROM pay""", params=args).to_arrow_table()
    finally:
        con.close()
    return dataclasses.replace(inputs, credited=credited.cast(_plain_schema(inputs.credited)),
                               payments=payments.cast(inputs.payments.schema))


def _deal_lines(person: Salesperson, deals: Sequence[Deal], today: dt.date, schema: pa.Schema) -> pa.Table:
    """The deals as credited lines (``WHAT-IF-1``…, 100 % to the person): the product's category; the customer's
    region and segment, else the region of the person's assignment today; a cost at the product's standard
    cost ratio (standard cost ÷ list price × amount, to the cent); quantity 1."""
    products = {p.sku: p for p in Product.objects.filter(sku__in={d.product for d in deals})
                .select_related("category")}
    customers = {c.external_id: c for c in Customer.objects.filter(external_id__in={d.customer for d in deals})
                 .select_related("region", "segment")}
    seat = Assignment.objects.filter(active_on(today), salesperson=person).select_related("region").first()
    home = seat.region.code if seat is not None and seat.region is not None else ""
    lines, errors = [], []
    for i, deal in enumerate(deals, start=1):
        product, customer = products.get(deal.product), customers.get(deal.customer)
        if product is None:
            errors.append(DealError(i, "product", _("There is no active product %(sku)s.") % {"sku": deal.product}))
            continue
        ratio = product.standard_cost / product.list_price if product.list_price else ZERO
        line_id = f"{SYNTHETIC_PREFIX}{i}"
        lines.append({"line_id": line_id, "date": deal.date, "customer": deal.customer, "product": product.sku,
                      "category": product.category.code if product.category else "",
                      "region": (customer.region.code if customer and customer.region else home),
                      "segment": customer.segment.code if customer and customer.segment else "",
                      "quantity": Decimal(1), "net": deal.amount,
                      "cost": (deal.amount * ratio).quantize(CENT, rounding=ROUND_HALF_UP),
                      "original_line_id": None, "payee": person.employee_no, "share": Decimal(1),
                      "original_date": None})
    if errors:
        raise DealsInvalid(errors)
    return pa.Table.from_pylist(lines, schema)  # columns a deal has no value for (if any) stay empty


def _with_deals(inputs: calc.CompInputs, lines: pa.Table) -> calc.CompInputs:
    credited = pa.concat_tables([_plain(inputs.credited), lines])
    return dataclasses.replace(inputs, credited=credited)


def _calculate(document: PlanDocument, variants: Mapping[str, calc.CompInputs], period: Period,
               calendar: FiscalCalendar, code: str) -> dict[str, Figures]:
    """``code``'s figures in each variant of the inputs, from one engine run: every variant's payees and line ids
    get a suffix of their own (``E101~projected``), so the variants are disjoint partitions of one run — which
    the engine computes exactly as separate runs — and the fixed cost of a run is paid once."""
    parts = [_suffixed(inputs, f"~{name}") for name, inputs in variants.items()]
    joined = calc.CompInputs(*(pa.concat_tables([getattr(p, f.name) for p in parts])
                               for f in dataclasses.fields(calc.CompInputs)))
    joined = dataclasses.replace(joined, credited=calc.dictionary_encoded(joined.credited))
    result = calc.calculate(document, joined, period, calendar, with_credits=False)
    return {name: _figures(document, result, f"{code}~{name}") for name in variants}


def _suffixed(inputs: calc.CompInputs, suffix: str) -> calc.CompInputs:
    """``inputs`` with every payee code and line id ending in ``suffix`` (and the code columns decoded)."""
    def renamed(table: pa.Table, columns: tuple[str, ...]) -> pa.Table:
        table = _plain(table)
        for name in columns:
            if name in table.column_names:
                i = table.schema.get_field_index(name)
                table = table.set_column(i, name, pc.binary_join_element_wise(table[name], suffix, ""))
        return table

    return dataclasses.replace(
        inputs, credited=renamed(inputs.credited, ("payee", "line_id", "original_line_id")),
        payees=renamed(inputs.payees, ("payee",)), hierarchy=renamed(inputs.hierarchy, ("payee", "manager")),
        quotas=renamed(inputs.quotas, ("payee",)), scores=renamed(inputs.scores, ("payee",)),
        payments=renamed(inputs.payments, ("line_id",)), balances=renamed(inputs.balances, ("payee",)))


def _figures(document: PlanDocument, result: calc.CompResult, code: str) -> Figures:
    payouts = {r["component"]: r for r in result.payouts.to_pylist() if r["payee"] == code}
    details: dict[str, list[Detail]] = {}
    for r in result.details.to_pylist():
        if r["payee"] == code:
            details.setdefault(r["component"], []).append(
                Detail(rule=r["rule"], band=r["band"], basis=r["basis"], rate=r["rate"], earned=r["earned"]))
    components = []
    for c in document.components:
        row = payouts.get(c.id)
        components.append(ComponentFigures(
            id=c.id, name=c.name or c.id, measure=row["measure"] if row else None,
            quota=row["quota"] if row else None, attainment=row["attainment"] if row else None,
            earned=row["earned"] if row else ZERO, amount=row["amount"] if row else ZERO,
            details=tuple(details.get(c.id, ()))))
    return Figures(tuple(components))


def _attainment_tiers(document: PlanDocument) -> dict[str, tuple[Band, ...]]:
    """Per component with tiers on attainment, its bands (for the chart of attainment against the tiers)."""
    tiers = {}
    for c in document.components:
        rate = c.rate.tiers if c.rate is not None else None
        if rate is not None and rate.on == "attainment":
            tiers[c.id] = tuple(Band(b.from_, b.to, b.rate) for b in rate.bands)
    return tiers
