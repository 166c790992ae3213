"""The organisation's data as the compensation engine's inputs (``salesops.engine.comp.calc.CompInputs``).

Role in the flow: a calculation run asks :func:`build_inputs` for what a plan version needs in a payout period;
the engine then computes payouts without touching the database. The mapping:

- lines: the order lines dated from the earliest window start of the plan's components (less the longest
  clawback window) to the period's end — and, when a credit is recognised on invoice, those invoiced in that
  range —, and the original lines of the returns among them; a line's codes are its customer's external id, its
  product's SKU and category code, its customer's region and segment codes; its invoice date and its deal
  attributes (text values) go along;
- credits: every salesperson credited on those lines, with their split share (``split_pct`` ÷ 100, exact);
- payees: the salespeople assigned to the plan during the period, in the plan from the later of their assignment
  start and hire date to the earlier of their assignment end and leave date (what proration reads, and the span
  whose lines count for them: a move to another plan mid-period splits both), with their hire date (ramps) and
  the assignment's target incentive (team shares by target incentive);
- customers (when a credit counts new customers): each customer of the lines with the date of their first
  purchase over all history (the earliest line that returns nothing and has a positive quantity);
- hierarchy: every dated assignment with a manager (``end_date`` inclusive becomes an exclusive ``valid_to``);
- quotas as entered, else from the targets (:func:`target_quotas`: the newest approved or locked target plan of
  the component's metric, summed over the component's window on the nodes naming the payee); payments as stored;
  draw balances from the run that stands for the period before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from decimal import Decimal

import pyarrow as pa
from django.db.models import Min, Q

from salesops.engine.comp import calc
from salesops.engine.comp.plan import CompPlan as PlanDocument
from salesops.engine.comp.plan import CreditType
from salesops.engine.periods import FiscalCalendar, Period
from salesops.incentives.models import (
    CURRENT_STATUSES,
    CalculationRun,
    CompPlan,
    PlanAssignment,
    Quota,
    RunKind,
)
from salesops.org.models import Assignment, OrderCredit, OrderLine, Payment

HUNDRED = Decimal(100)


def scan_start(document: PlanDocument, period: Period, calendar: FiscalCalendar) -> dt.date:
    """The first day any component of the plan reads, clawback windows included."""
    starts = [calc.window_of(c, period, calendar).start for c in document.components]
    claw = max((c.clawback.window_days for c in document.components if c.clawback is not None), default=0)
    return min(starts) - dt.timedelta(days=claw)


def build_inputs(plan: CompPlan, document: PlanDocument, period: Period, calendar: FiscalCalendar, *,
                 credited_to: Collection[str] | None = None) -> calc.CompInputs:
    """The engine's inputs for ``plan`` in ``period``; ``credited_to`` (employee numbers) reads only the lines
    credited to those people (a live estimate reads one person's partition, not the company's lines)."""
    start = scan_start(document, period, calendar)
    credits_of = calc.credits_of(document)
    in_range = Q(date__gte=start, date__lt=period.end)
    if any(credit.recognise == "invoiced" for credit in credits_of):
        in_range |= Q(invoiced_on__gte=start, invoiced_on__lt=period.end)
    lines = OrderLine.objects.filter(in_range)
    if credited_to is not None:
        lines = lines.filter(pk__in=OrderCredit.objects.filter(salesperson__employee_no__in=list(credited_to))
                             .values("line_id"))
    originals = OrderLine.objects.filter(pk__in=lines.filter(original__isnull=False).values("original_id"))
    fields = ("id", "external_id", "date", "customer__external_id", "product__sku", "product__category__code",
              "customer__region__code", "customer__segment__code", "quantity", "net_amount", "cost",
              "original__external_id", "invoiced_on", "attributes", "customer_id")
    rows = {r[0]: r for r in lines.values_list(*fields)} | {r[0]: r for r in originals.values_list(*fields)}
    line_table = pa.Table.from_pylist([
        {"line_id": ext, "date": day, "customer": customer or "", "product": sku or "", "category": category or "",
         "region": region or "", "segment": segment or "", "quantity": Decimal(quantity), "net": net, "cost": cost,
         "original_line_id": original, "invoiced_on": invoiced,
         "attributes": sorted((str(k), str(v)) for k, v in (attributes or {}).items())}
        for _pk, ext, day, customer, sku, category, region, segment, quantity, net, cost, original, invoiced,
        attributes, _customer in sorted(rows.values(), key=lambda r: r[1])],
        pa.schema([*calc.RETURNS_LINE_SCHEMA, *calc.OPTIONAL_LINE_FIELDS]))
    customers = calc.CUSTOMER_SCHEMA.empty_table()
    if any(credit.type is CreditType.NEW_CUSTOMERS for credit in credits_of):
        customers = pa.Table.from_pylist([
            {"customer": ext, "first_order_date": first}
            for ext, first in OrderLine.objects.filter(customer_id__in={r[-1] for r in rows.values()},
                                                       original__isnull=True, quantity__gt=0)
            .values("customer__external_id").annotate(first=Min("date")).order_by("customer__external_id")
            .values_list("customer__external_id", "first")], calc.CUSTOMER_SCHEMA)
    credits = pa.Table.from_pylist([
        {"line_id": ext, "payee": emp, "share": pct / HUNDRED}
        for ext, emp, pct in OrderCredit.objects.filter(Q(line__in=lines.values("pk")) | Q(line__in=originals.values("pk")))
        .order_by("line__external_id", "id")
        .values_list("line__external_id", "salesperson__employee_no", "split_pct")], calc.CREDIT_SCHEMA)
    last_day = period.end - dt.timedelta(days=1)
    assigned = (PlanAssignment.objects.filter(plan=plan, start_date__lte=last_day)
                .filter(Q(end_date__isnull=True) | Q(end_date__gte=period.start))
                .select_related("salesperson").order_by("salesperson__employee_no", "start_date"))
    payees = {}
    for a in assigned:
        person = a.salesperson
        begin = max(a.start_date, person.hire_date)
        ends = [d for d in (a.end_date, person.leave_date) if d is not None]
        payees[person.employee_no] = {"payee": person.employee_no, "name": person.name, "start": begin,
                                      "end": min(ends) if ends else None, "hired": person.hire_date,
                                      "target_incentive": a.target_incentive}
    hierarchy = pa.Table.from_pylist([
        {"payee": emp, "manager": manager, "valid_from": begin,
         "valid_to": end + dt.timedelta(days=1) if end else None}
        for emp, manager, begin, end in Assignment.objects.filter(manager__isnull=False)
        .order_by("salesperson__employee_no", "start_date")
        .values_list("salesperson__employee_no", "manager__employee_no", "start_date", "end_date")],
        calc.HIERARCHY_SCHEMA)
    explicit = [
        {"payee": emp, "component": component, "period": code, "quota": amount}
        for emp, component, code, amount in Quota.objects.filter(plan=plan)
        .order_by("salesperson__employee_no", "component", "period")
        .values_list("salesperson__employee_no", "component", "period", "amount")]
    quotas = pa.Table.from_pylist(explicit + target_quotas(document, period, calendar, list(payees), explicit),
                                  calc.QUOTA_SCHEMA)
    payments = pa.Table.from_pylist([
        {"line_id": ext, "date": day, "amount": amount}
        for ext, day, amount in Payment.objects.filter(Q(line__in=lines.values("pk")) | Q(line__in=originals.values("pk")),
                                                       date__lt=period.end)
        .order_by("line__external_id", "date", "id").values_list("line__external_id", "date", "amount")],
        calc.PAYMENT_SCHEMA)
    return calc.CompInputs.from_lines(
        line_table, credits, pa.Table.from_pylist(list(payees.values()), calc.PAYEE_FULL_SCHEMA),
        hierarchy=hierarchy, quotas=quotas, payments=payments,
        balances=_opening_balances(plan, calendar.shift(period, -1)), customers=customers)


def target_quotas(document: PlanDocument, period: Period, calendar: FiscalCalendar, payees: list[str],
                  explicit: list[dict]) -> list[dict]:
    """Quotas from the targets where none is entered: for each component (or weighted measure) whose quota comes
    from the input, each payee's quota for the component's whole window (its month, quarter, half or fiscal year)
    is the sum of that window's monthly targets on the nodes naming the payee in the newest approved or locked
    target plan of the same metric (net revenue, gross margin, units or new customers) that has targets in the
    window. An entered quota always wins; a payee with no target node stays without a quota (and the run says so)."""
    from django.db.models import Sum

    from salesops.org.models import Salesperson
    from salesops.targets.models import PlanStatus, TargetMonth, TargetPlan

    have = {(q["payee"], q["component"], q["period"]) for q in explicit}
    people = dict(Salesperson.objects.filter(employee_no__in=payees).values_list("pk", "employee_no"))
    rows = []
    for component in document.components:
        if component.attainment is not None:
            keys = [(m.id, m.credit.type) for m in component.attainment.measures if m.quota.source == "input"]
        elif component.quota is not None and component.quota.source == "input" and component.team is None:
            keys = [(component.id, component.credit.type)]
        else:
            continue
        whole = calendar.parse(calc.window_of(component, period, calendar).code)
        for key, metric in keys:
            in_window = {"month__gte": whole.start, "month__lt": whole.end}
            source = (TargetPlan.objects.filter(status__in=(PlanStatus.APPROVED, PlanStatus.LOCKED), metric=metric,
                                                nodes__months__month__gte=whole.start,
                                                nodes__months__month__lt=whole.end)
                      .order_by("-created_at", "-pk").first())
            if source is None:
                continue
            sums = (TargetMonth.objects.filter(node__plan=source, node__dimension="salesperson",
                                               node__member_id__in=people, **in_window)
                    .values("node__member_id").annotate(total=Sum("value")).values_list("node__member_id", "total"))
            for pk, total in sorted(sums, key=lambda r: people[r[0]]):
                if (people[pk], key, whole.code) not in have:
                    rows.append({"payee": people[pk], "component": key, "period": whole.code, "quota": total})
    return rows


def _opening_balances(plan: CompPlan, previous: Period) -> pa.Table:
    """Draw balances at the start of the period: the closing balances of the run that stands for the period
    before (none: every payee starts at zero)."""
    run = (CalculationRun.objects.filter(plan=plan, period=previous.code, status__in=CURRENT_STATUSES,
                                         kind=RunKind.REGULAR)
           .order_by("-started_at", "-id").first())
    rows = [] if run is None else [
        {"payee": emp, "component": component, "balance": closing}
        for emp, component, closing in run.draw_balances.order_by("salesperson__employee_no", "component")
        .values_list("salesperson__employee_no", "component", "closing")]
    return pa.Table.from_pylist(rows, calc.BALANCE_SCHEMA)


def fingerprint(document: str, inputs: calc.CompInputs) -> str:
    """SHA-256 of the plan document and every input table (Arrow IPC bytes): equal inputs, equal fingerprint."""
    digest = hashlib.sha256(document.encode())
    for name in ("credited", "payees", "hierarchy", "quotas", "scores", "payments", "balances", "customers"):
        table: pa.Table = getattr(inputs, name)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(name.encode())
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()
