"""What-if modelling: a draft plan version applied to past payout periods, compared with the current plan.

Role in the flow: ops (or finance, reading) picks a plan, one of its draft versions and past months;
:func:`compare` builds each month's inputs once from the organisation's data (``inputs.build_inputs``), runs the
engine for the **current** plan (the published version in effect, ``services.version_for``) and for the
**draft** over those same inputs, and summarises both side by side. It reads only; the one write of modelling
— saving a pasted document as a draft — is :func:`draft_create`, through ``services``.

Definitions (also shown on the page):

- a payee's **pay** in a month is the sum of their rounded payouts over the plan's components; the plan's
  **cost** is the sum over its payees (all exact ``Decimal``);
- **cost of sales** = cost ÷ credited net revenue, where credited net revenue is Σ net amount × split share of
  the order lines dated in the month and credited to the plan's payees (returns count negative; roll-up credit to
  managers is not added again, so no sale counts twice); over several months, Σ cost ÷ Σ revenue;
- when a plan has components with a quota, each of its payees is **measured** in the month, and is **at or
  above quota** when their attainment is ≥ 100 % on *every* such component (one component below quota is enough
  to be below; no sales on a component is attainment 0); the share is over payee-months (a plan without quotas
  measures nobody: no share);
- the **draft** is applied to every chosen month whatever its own effective dates (it is a what-if); draw
  balances carried in from the month before are those of the stored runs, for both plans;
- distribution, percentiles, Gini, Lorenz curve and top/bottom earners are over each payee's pay summed over the
  chosen months; a negative sum (clawbacks above earnings) counts as 0 in the Gini and the Lorenz curve only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from salesops.engine.comp import calc, stats
from salesops.engine.comp.plan import CompPlan as PlanDocument
from salesops.engine.periods import FiscalCalendar, Period, PeriodKind
from salesops.incentives import inputs as comp_inputs
from salesops.incentives import services
from salesops.incentives.models import CompPlan, CompPlanVersion
from salesops.org.models import Company

ZERO = Decimal(0)
ONE = Decimal(1)
MAX_MONTHS = 24
TOP = 5
PERCENTILES = (Decimal("0.1"), Decimal("0.5"), Decimal("0.9"))


@dataclass(frozen=True)
class Side:
    """One plan's figures over some months (one month, or all of them)."""

    cost: Decimal
    cost_of_sales: Decimal | None  # a fraction (0.0312 = 3.12 %), rounded half up to 6 decimals; None: no revenue
    at_quota: int  # payee-months at or above quota
    measured: int  # payee-months with an attainment

    @property
    def share_at_quota(self) -> Decimal | None:
        return stats.ratio(self.at_quota, self.measured)


@dataclass(frozen=True)
class PeriodRow:
    period: str
    current_version: int
    revenue: Decimal  # credited net revenue of the plan's payees
    payees: int
    current: Side
    draft: Side

    @property
    def change(self) -> Decimal:
        return self.draft.cost - self.current.cost


@dataclass(frozen=True)
class Person:
    payee: str  # employee number
    name: str
    current: Decimal
    draft: Decimal

    @property
    def change(self) -> Decimal:
        return self.draft - self.current

    @property
    def change_share(self) -> Decimal | None:
        """The change as a fraction of the current pay (None when the current pay is 0)."""
        return stats.ratio(self.change, self.current) if self.current else None


@dataclass(frozen=True)
class Distribution:
    """How one plan spreads its cost over the payees (each payee's pay summed over the months)."""

    gini: Decimal | None
    lorenz: list[tuple[Decimal, Decimal]]
    percentiles: dict[Decimal, Decimal | None]
    top: list[Person]  # the best paid first
    bottom: list[Person]  # the least paid first


@dataclass(frozen=True)
class Comparison:
    plan: CompPlan
    draft_version: CompPlanVersion
    periods: list[PeriodRow]
    people: list[Person]  # by employee number
    current: Side  # over all the months
    draft: Side
    current_distribution: Distribution
    draft_distribution: Distribution
    bands: list[stats.Band]  # counts: (current, draft)
    revenue: Decimal
    # where the time went: reading inputs, the engine (in a worker, overlapping the reading), the whole comparison
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def change(self) -> Decimal:
        return self.draft.cost - self.current.cost

    @property
    def change_share(self) -> Decimal | None:
        return stats.ratio(self.change, self.current.cost) if self.current.cost else None


def default_periods(calendar: FiscalCalendar, today: dt.date, count: int = 6) -> list[Period]:
    """The last ``count`` complete months before ``today``'s month, oldest first."""
    this_month = calendar.month(today)
    return [calendar.shift(this_month, -n) for n in range(count, 0, -1)]


def month_range(calendar: FiscalCalendar, first: str, last: str, today: dt.date) -> list[Period]:
    """The months from ``first`` to ``last`` (codes like 2026-03), both complete and in the past; refused with
    the field's name (``start`` or ``end``) otherwise."""
    parsed = {}
    for name, code in (("start", first), ("end", last)):
        try:
            period = calendar.parse(code or "")
        except ValueError:
            raise ValidationError({name: _("%(code)s is not a month (e.g. 2026-03).") % {"code": code}}) from None
        if period.kind is not PeriodKind.MONTH:
            raise ValidationError({name: _("%(code)s is not a month (e.g. 2026-03).") % {"code": code}})
        parsed[name] = period
    start, end = parsed["start"], parsed["end"]
    if end.start < start.start:
        raise ValidationError({"end": _("The last month is before the first.")})
    if end.end > calendar.month(today).start:
        raise ValidationError({"end": _("Only complete past months can be modelled; %(code)s is not over yet.") % {
            "code": end.code}})
    months, month = [], start
    while month.start <= end.start:
        months.append(month)
        month = calendar.shift(month, 1)
    if len(months) > MAX_MONTHS:
        raise ValidationError({"start": _("At most %(n)s months at a time.") % {"n": MAX_MONTHS}})
    return months


def draft_create(*, actor, plan: CompPlan, document: str) -> CompPlanVersion:
    """Save ``document`` as a new draft version of ``plan`` (refused, with every problem's path and line, when it
    is not a valid plan; nothing is saved then)."""
    return services.plan_version_create(actor=actor, name=plan.name, document=document, draft=True)


def compare(plan: CompPlan, draft_version: CompPlanVersion, periods: Sequence[Period | str], *,
            calendar: FiscalCalendar | None = None) -> Comparison:
    """The current plan and the draft over the same inputs, month by month and over all the months."""
    started = time.perf_counter()
    calendar = calendar or Company.current().calendar
    if draft_version.plan_id != plan.pk:
        raise ValidationError({"draft": _("Version %(n)s is not a version of %(plan)s.") % {
            "n": draft_version.version, "plan": plan.name}})
    if not draft_version.draft:
        raise ValidationError({"draft": _("Version %(n)s is published, not a draft.") % {"n": draft_version.version}})
    months = [calendar.parse(p) if isinstance(p, str) else p for p in periods]
    if not months:
        raise ValidationError({"periods": _("Choose at least one month.")})
    if any(m.kind is not PeriodKind.MONTH for m in months):
        raise ValidationError({"periods": _("Modelling compares months (e.g. 2026-03).")})
    draft_document = draft_version.parsed()
    seconds = {"inputs": 0.0, "engine": 0.0}
    rows: list[PeriodRow] = []
    names: dict[str, str] = {}
    pay: dict[str, list[Decimal]] = {}  # payee → [current, draft] over the months
    def engine(month: Period, built: calc.CompInputs, documents, codes: list[str]) -> tuple[_Month, _Month, float]:
        tick = time.perf_counter()
        current, draft = (_pay(d, built, month, calendar, codes) for d in documents)
        return current, draft, time.perf_counter() - tick

    def collect(pending) -> None:
        month, version, built, payees, codes, future = pending
        current, draft, spent = future.result()
        seconds["engine"] += spent
        for row in payees:
            names[row["payee"]] = row["name"]
            sums = pay.setdefault(row["payee"], [ZERO, ZERO])
            sums[0] += current.amounts.get(row["payee"], ZERO)
            sums[1] += draft.amounts.get(row["payee"], ZERO)
        revenue = credited_net(built, month, codes)
        rows.append(PeriodRow(month.code, version.version, revenue, len(payees), current.side(revenue),
                              draft.side(revenue)))

    # the database is read here, in this thread; the engine (pure, DuckDB releases the GIL) runs a month in a
    # worker meanwhile, so the next month's inputs are read while the last one is calculated
    pending = None
    with ThreadPoolExecutor(max_workers=1) as worker:
        for month in months:
            version = services.version_for(plan, month)
            current_document = version.parsed()
            # the draft is a what-if: it applies to the month whatever its own effective dates
            draft_here = draft_document.model_copy(update={"effective_from": month.start, "effective_to": None})
            # one set of inputs for both: the lines from the earlier of the two plans' first days (the engine
            # takes from them what each component's window needs)
            wider = min((current_document, draft_here), key=lambda d: comp_inputs.scan_start(d, month, calendar))
            tick = time.perf_counter()
            built = comp_inputs.build_inputs(plan, wider, month, calendar)
            seconds["inputs"] += time.perf_counter() - tick
            payees = built.payees.select(["payee", "name"]).to_pylist()
            codes = [r["payee"] for r in payees]
            future = worker.submit(engine, month, built, (current_document, draft_here), codes)
            if pending is not None:
                collect(pending)
            pending = (month, version, built, payees, codes, future)
        if pending is not None:
            collect(pending)
    people = [Person(payee, names[payee], c, d) for payee, (c, d) in sorted(pay.items())]
    revenue = sum((r.revenue for r in rows), ZERO)
    sides = [_total([getattr(r, name) for r in rows], revenue) for name in ("current", "draft")]
    comparison = Comparison(
        plan=plan, draft_version=draft_version, periods=rows, people=people, current=sides[0], draft=sides[1],
        current_distribution=_distribution(people, "current"), draft_distribution=_distribution(people, "draft"),
        bands=stats.bands([p.current for p in people], [p.draft for p in people]), revenue=revenue,
        seconds=seconds)
    seconds["total"] = time.perf_counter() - started
    return comparison


@dataclass(frozen=True)
class _Month:
    amounts: dict[str, Decimal]  # payee → pay
    at_quota: int
    measured: int

    def side(self, revenue: Decimal) -> Side:
        cost = sum(self.amounts.values(), ZERO)
        return Side(cost, stats.ratio(cost, revenue) if revenue else None, self.at_quota, self.measured)


def _pay(document: PlanDocument, built: calc.CompInputs, month: Period, calendar: FiscalCalendar,
         payees: Sequence[str]) -> _Month:
    result = calc.calculate(document, built, month, calendar, with_credits=False)
    quota_components = {c.id for c in document.components if c.quota is not None}
    amounts: dict[str, Decimal] = {}
    reached: dict[str, set[str]] = {}  # payee → the quota components on which they are at or above quota
    for row in result.payouts.select(["payee", "component", "amount", "attainment"]).to_pylist():
        amounts[row["payee"]] = amounts.get(row["payee"], ZERO) + row["amount"]
        if row["component"] in quota_components and row["attainment"] is not None and row["attainment"] >= ONE:
            reached.setdefault(row["payee"], set()).add(row["component"])
    # every payee is measured when the plan has a quota; no row for a component (no sales) is attainment 0
    at_quota = sum(1 for p in payees if quota_components and reached.get(p) == quota_components)
    return _Month(amounts, at_quota, len(payees) if quota_components else 0)


def credited_net(built: calc.CompInputs, month: Period, payees: Sequence[str]) -> Decimal:
    """Σ net × split share of the lines dated in ``month`` credited to ``payees`` (exact: decimal × decimal in
    Arrow keeps every digit)."""
    table = built.credited
    if not payees or table.num_rows == 0:
        return ZERO
    keep = pc.and_(
        pc.and_(pc.greater_equal(table["date"], pa.scalar(month.start, pa.date32())),
                pc.less(table["date"], pa.scalar(month.end, pa.date32()))),
        pc.is_in(pc.cast(table["payee"], pa.string()), value_set=pa.array(list(payees), pa.string())))
    chosen = table.filter(keep)
    if chosen.num_rows == 0:
        return ZERO
    total = pc.sum(pc.multiply(chosen["net"], chosen["share"])).as_py()
    return ZERO if total is None else total


def _total(sides: list[Side], revenue: Decimal) -> Side:
    cost = sum((s.cost for s in sides), ZERO)
    return Side(cost, stats.ratio(cost, revenue) if revenue else None, sum(s.at_quota for s in sides),
                sum(s.measured for s in sides))


def _distribution(people: list[Person], name: str) -> Distribution:
    values = [getattr(p, name) for p in people]
    floored = [max(v, ZERO) for v in values]
    return Distribution(
        gini=stats.gini(floored, places=4), lorenz=stats.lorenz(floored, places=4),
        percentiles={p: stats.percentile(values, p) for p in PERCENTILES},
        top=sorted(people, key=lambda p: (-getattr(p, name), p.payee))[:TOP],
        bottom=sorted(people, key=lambda p: (getattr(p, name), p.payee))[:TOP])


# -- as data (the API and the page's charts) -----------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def _side(side: Side) -> dict:
    return {"cost": _text(side.cost), "cost_of_sales": _text(side.cost_of_sales), "at_quota": side.at_quota,
            "measured": side.measured, "share_at_quota": _text(side.share_at_quota)}


def _person(p: Person) -> dict:
    return {"payee": p.payee, "name": p.name, "current": _text(p.current), "draft": _text(p.draft),
            "change": _text(p.change), "change_share": _text(p.change_share)}


def _dist(d: Distribution) -> dict:
    return {"gini": _text(d.gini), "lorenz": [[_text(x), _text(y)] for x, y in d.lorenz],
            "percentiles": {f"p{int(p * 100)}": _text(v) for p, v in d.percentiles.items()},
            "top": [_person(p) for p in d.top], "bottom": [_person(p) for p in d.bottom]}


def as_data(c: Comparison) -> dict:
    """The comparison as JSON-ready data; every amount and ratio is exact decimal text (never a float)."""
    return {
        "plan": {"id": c.plan.pk, "name": c.plan.name},
        "draft_version": {"id": c.draft_version.pk, "version": c.draft_version.version},
        "periods": [{"period": r.period, "current_version": r.current_version, "revenue": _text(r.revenue),
                     "payees": r.payees, "current": _side(r.current), "draft": _side(r.draft),
                     "change": _text(r.change)} for r in c.periods],
        "revenue": _text(c.revenue),
        "current": _side(c.current) | {"distribution": _dist(c.current_distribution)},
        "draft": _side(c.draft) | {"distribution": _dist(c.draft_distribution)},
        "change": _text(c.change), "change_share": _text(c.change_share),
        "bands": [{"low": _text(b.low), "high": _text(b.high), "current": b.counts[0], "draft": b.counts[1]}
                  for b in c.bands],
        "people": [_person(p) for p in c.people],
    }
