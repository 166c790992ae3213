"""Reads that need thought: a person's statement for a period (the run's payouts, the delta lines and approved
adjustments paid with it, the year to date and the change from the period before), the lines behind a measure,
and the payroll table of a run. Callers check access first (``access.access_statement`` / ``access_run``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from salesops.incentives import lineage
from salesops.incentives.models import (
    CURRENT_STATUSES,
    Adjustment,
    CalculationRun,
    Correction,
    DecisionStatus,
    Payout,
    RunKind,
)
from salesops.incentives.rules import rule_text
from salesops.org.models import Company, OrderLine, Salesperson

ZERO = Decimal(0)
NONE_PAID = Decimal("0.00")  # money columns of the payroll file always show cents


@dataclass
class StatementItem:
    payout: Payout
    name: str
    details: list = field(default_factory=list)  # (PayoutDetail, translated rule)
    disputes: list = field(default_factory=list)


@dataclass
class Statement:
    run: CalculationRun
    person: Salesperson
    items: list[StatementItem]
    corrections: list[Correction]
    adjustments: list[Adjustment]  # approved
    pending_adjustments: list[Adjustment]
    total: Decimal
    ytd: Decimal
    fiscal_year: str
    previous: Decimal | None
    component_names: dict[str, str]

    @property
    def change(self) -> Decimal | None:
        return None if self.previous is None else self.total - self.previous


def component_names(run: CalculationRun) -> dict[str, str]:
    return {c.id: c.name or c.id for c in run.version.parsed().components}


def statement(run: CalculationRun, payouts: list[Payout]) -> Statement:
    person = payouts[0].salesperson
    names = component_names(run)
    items = [StatementItem(payout=p, name=names.get(p.component, p.component),
                           details=[(d, rule_text(d.rule)) for d in p.details.all()],
                           disputes=list(p.disputes.order_by("-created_at")))
             for p in payouts]
    regular = run.kind == RunKind.REGULAR
    corrections = list(Correction.objects.filter(plan=run.plan_id, period=run.period, salesperson=person)
                       .select_related("source_run", "corrects")) if regular else []
    adjustments = list(Adjustment.objects.filter(plan=run.plan_id, period=run.period, salesperson=person)
                       .exclude(status=DecisionStatus.REJECTED).select_related("created_by", "decided_by")
                       ) if regular else []
    approved = [a for a in adjustments if a.status == DecisionStatus.APPROVED]
    total = (sum((p.amount for p in payouts), ZERO) + sum((c.amount for c in corrections), ZERO)
             + sum((a.amount for a in approved), ZERO))
    calendar = Company.current().calendar
    period = calendar.parse(run.period)
    previous_code = calendar.shift(period, -1).code
    year = calendar.year(period.start)
    codes, p = set(), calendar.period(period.kind, year.start)
    while p.start < period.start:
        codes.add(p.code)
        p = calendar.shift(p, 1)
    totals = period_totals(run.plan_id, person.pk, codes | {previous_code})
    ytd = total + sum((v for code, v in totals.items() if code in codes), ZERO)
    return Statement(run=run, person=person, items=items, corrections=corrections, adjustments=approved,
                     pending_adjustments=[a for a in adjustments if a.status == DecisionStatus.PENDING],
                     total=total, ytd=ytd, fiscal_year=year.code, previous=totals.get(previous_code),
                     component_names=names)


def period_totals(plan_id: int, person_id: int, codes: set[str]) -> dict[str, Decimal]:
    """A person's statement total per period code — the payouts of the run that stands for the period plus the
    delta lines and approved adjustments paid in it — for the periods that have such a run; four queries."""
    latest = {}
    for run_id, code in (CalculationRun.objects.filter(plan_id=plan_id, period__in=codes, kind=RunKind.REGULAR,
                                                       status__in=CURRENT_STATUSES)
                         .order_by("started_at", "id").values_list("id", "period")):
        latest[code] = run_id
    sums = dict(Payout.objects.filter(run_id__in=latest.values(), salesperson_id=person_id)
                .values("run_id").annotate(total=Sum("amount")).values_list("run_id", "total"))
    totals = {code: sums.get(run_id, ZERO) for code, run_id in latest.items()}
    for (_plan, code, _person), (corrections, adjustments) in paid_with_periods(
            plan_id=plan_id, salesperson_id=person_id, period__in=latest).items():
        totals[code] += corrections + adjustments
    return totals


def paid_with_periods(**filters) -> dict[tuple[int, str, int], list[Decimal]]:
    """(plan, period, person) → [delta lines, approved adjustments] paid with that period, for the rows that
    match ``filters`` (Correction and Adjustment fields alike): two queries."""
    sums: dict[tuple[int, str, int], list[Decimal]] = defaultdict(lambda: [NONE_PAID, NONE_PAID])
    for i, (model, extra) in enumerate(((Correction, {}), (Adjustment, {"status": DecisionStatus.APPROVED}))):
        for plan_id, period, person_id, total in (
                model.objects.filter(**filters, **extra).values("plan_id", "period", "salesperson_id")
                .annotate(total=Sum("amount")).values_list("plan_id", "period", "salesperson_id", "total")):
            sums[(plan_id, period, person_id)][i] += total
    return sums


@dataclass
class WhyLine:
    line: OrderLine | None
    line_id: str
    seller: str
    level: int
    credit: Decimal


def why_lines(run: CalculationRun, person_id: int, component: str) -> list[WhyLine] | None:
    """The order lines behind a person's measure of a component in a run (None when the run kept none)."""
    table = lineage.load(run.pk, person_id)
    if table is None:
        return None
    rows = [r for r in table.to_pylist() if r["component"] == component]
    lines = {line.external_id: line for line in OrderLine.objects.filter(
        external_id__in={r["line_id"] for r in rows}).select_related("customer", "product")}
    return [WhyLine(line=lines.get(r["line_id"]), line_id=r["line_id"], seller=r["seller"], level=r["level"],
                    credit=r["credit"]) for r in rows]


@dataclass
class PayrollRow:
    period: str
    employee_no: str
    name: str
    components: dict[str, Decimal]
    corrections: Decimal
    adjustments: Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.components.values(), ZERO) + self.corrections + self.adjustments


def payroll(run: CalculationRun) -> tuple[dict[str, str], list[PayrollRow]]:
    """The plan's components (id → name, in the plan's order) and one row per person paid in the run's period:
    each component's amount, the delta lines and approved adjustments paid with it, and the total — what the
    payroll export writes."""
    names = component_names(run)
    rows: dict[int, PayrollRow] = {}

    def row(person: Salesperson) -> PayrollRow:
        if person.pk not in rows:
            rows[person.pk] = PayrollRow(run.period, person.employee_no, person.name,
                                         dict.fromkeys(names, NONE_PAID), NONE_PAID, NONE_PAID)
        return rows[person.pk]

    for payout in run.payouts.select_related("salesperson"):
        row(payout.salesperson).components[payout.component] = payout.amount
    extra = {person_id: sums for (_plan, _period, person_id), sums
             in paid_with_periods(plan_id=run.plan_id, period=run.period).items()}
    for person in Salesperson.objects.filter(pk__in=set(extra) - set(rows)):  # paid only delta lines/adjustments
        row(person)
    for person_id, (corrections, adjustments) in extra.items():
        rows[person_id].corrections, rows[person_id].adjustments = corrections, adjustments
    return names, sorted(rows.values(), key=lambda r: r.employee_no)


def payroll_columns(names: dict[str, str]) -> list[tuple[str, Callable[[PayrollRow], object]]]:
    """The payroll file's columns (heading, value of a :class:`PayrollRow`): period, employee number, name, each
    component (``names``: id → name, as :func:`payroll` gives them), delta lines, adjustments, total — shared by
    the page's export and the API's."""
    columns: list[tuple[str, Callable[[PayrollRow], object]]] = [
        (_("Period"), lambda r: r.period), (_("Employee number"), lambda r: r.employee_no),
        (_("Name"), lambda r: r.name)]
    columns += [(name, lambda r, c=c: r.components[c]) for c, name in names.items()]
    columns += [(_("Corrections of paid periods"), lambda r: r.corrections), (_("Adjustments"), lambda r: r.adjustments),
                (_("Total"), lambda r: r.total)]
    return columns
