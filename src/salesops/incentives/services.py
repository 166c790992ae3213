"""Every write of the incentives app: plan versions, assignments, quotas, calculation runs. Each validates (the
message names the field, or the plan document's path and line), writes in one transaction and is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.engine.comp import calc
from salesops.engine.comp.plan import PlanSchemaError, load_plan
from salesops.incentives.inputs import build_inputs, fingerprint
from salesops.incentives.models import (
    CalculationRun,
    CompPlan,
    CompPlanVersion,
    DrawBalance,
    Payout,
    PayoutDetail,
    PlanAssignment,
    Quota,
    RunStatus,
)
from salesops.org.models import Company, Salesperson


@transaction.atomic
def plan_version_create(*, actor, name: str, document: str, draft: bool = False) -> CompPlanVersion:
    """A new version of the plan ``name`` (the plan is created with its first version); refused, with every
    problem's path and line, when the document is not a valid plan. A ``draft`` is kept for what-if modelling
    and used by no run until it is published."""
    try:
        parsed = load_plan(document)
    except PlanSchemaError as error:
        raise ValidationError({"document": error.problems}) from None
    plan, _created = CompPlan.objects.get_or_create(name=name)
    number = (plan.versions.aggregate(n=Max("version"))["n"] or 0) + 1
    version = CompPlanVersion.objects.create(plan=plan, version=number, document=document,
                                             effective_from=parsed.effective_from, effective_to=parsed.effective_to,
                                             draft=draft, created_by=actor)
    audit.record(actor=actor, event="comp_plan.version_created", subject=version,
                 new={"plan": name, "version": number, "effective_from": parsed.effective_from,
                      "effective_to": parsed.effective_to, "draft": draft})
    return version


@transaction.atomic
def plan_version_publish(*, actor, version: CompPlanVersion) -> CompPlanVersion:
    """A draft becomes a version runs use (from its effective dates on)."""
    if not version.draft:
        raise ValidationError({"version": _("Version %(n)s is already published.") % {"n": version.version}})
    version.draft = False
    version.save(update_fields=["draft"])
    audit.record(actor=actor, event="comp_plan.version_published", subject=version, old={"draft": True},
                 new={"draft": False})
    return version


@transaction.atomic
def plan_assign(*, actor, plan: CompPlan, salesperson: Salesperson, start_date: dt.date,
                end_date: dt.date | None = None, target_incentive: Decimal | None = None) -> PlanAssignment:
    """Pay ``salesperson`` by ``plan`` over the dates; refused when it overlaps another plan assignment of theirs."""
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": _("The end date is before the start date.")})
    clash = (PlanAssignment.objects.select_for_update().filter(salesperson=salesperson)
             .filter(Q(end_date__isnull=True) | Q(end_date__gte=start_date)))
    if end_date is not None:
        clash = clash.filter(start_date__lte=end_date)
    other = clash.select_related("plan").first()
    if other is not None:
        raise ValidationError({"start_date": _("%(person)s is already paid by %(plan)s from %(start)s%(end)s.") % {
            "person": salesperson.name, "plan": other.plan.name, "start": other.start_date,
            "end": _(" to %(end)s") % {"end": other.end_date} if other.end_date else ""}})
    assignment = PlanAssignment.objects.create(plan=plan, salesperson=salesperson, start_date=start_date,
                                               end_date=end_date, target_incentive=target_incentive)
    audit.record(actor=actor, event="comp_plan.assigned", subject=assignment,
                 new={"plan": plan.name, "salesperson": salesperson.employee_no, "start": start_date, "end": end_date})
    return assignment


@transaction.atomic
def quota_set(*, actor, plan: CompPlan, salesperson: Salesperson, component: str, period: str,
              amount: Decimal) -> Quota:
    if amount < 0:
        raise ValidationError({"amount": _("A quota must not be negative.")})
    Company.current().calendar.parse(period)  # raises ValueError for a code that is no period
    quota, _created = Quota.objects.update_or_create(plan=plan, salesperson=salesperson, component=component,
                                                     period=period, defaults={"amount": amount})
    audit.record(actor=actor, event="comp_plan.quota_set", subject=quota,
                 new={"component": component, "period": period, "amount": amount})
    return quota


def version_for(plan: CompPlan, period) -> CompPlanVersion:
    """The latest published version of ``plan`` in effect for the whole of ``period``."""
    last_day = period.end - dt.timedelta(days=1)
    version = (plan.versions.filter(draft=False, effective_from__lte=period.start)
               .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=last_day)).order_by("-version").first())
    if version is None:
        raise ValidationError({"period": _("No version of %(plan)s is in effect for the whole of %(period)s.") % {
            "plan": plan.name, "period": period.code}})
    return version


def run_calculation(*, actor, plan: CompPlan, period_code: str) -> CalculationRun:
    """Calculate ``plan`` for a payout period (a month or a quarter): refused while another run of the plan and
    period is in progress; the run is stored as running first, then either calculated with every payout and its
    detail rows, or failed with the reason and no payout at all."""
    calendar = Company.current().calendar
    try:
        period = calendar.parse(period_code)
    except ValueError:
        raise ValidationError({"period": _("%(code)s is not a period code (2026-03 or 2026-Q1).") % {
            "code": period_code}}) from None
    if period.kind.value not in ("month", "quarter"):
        raise ValidationError({"period": _("A payout period is a month (2026-03) or a quarter (2026-Q1).")})
    version = version_for(plan, period)
    try:
        with transaction.atomic():
            run = CalculationRun.objects.create(plan=plan, version=version, period=period.code, started_by=actor)
    except IntegrityError:
        raise ValidationError({"period": _("%(plan)s is already being calculated for %(period)s.") % {
            "plan": plan.name, "period": period.code}}) from None
    audit.record(actor=actor, event="comp_run.started", subject=run, new={"version": version.version,
                                                                           "period": period.code})
    try:
        document = version.parsed()
        inputs = build_inputs(plan, document, period, calendar)
        result = calc.calculate(document, inputs, period, calendar, with_credits=False)
        with transaction.atomic():
            _store(run, result)
            run.fingerprint = fingerprint(version.document, inputs)
            run.status, run.finished_at = RunStatus.CALCULATED, timezone.now()
            run.save(update_fields=["fingerprint", "status", "finished_at"])
    except (calc.InputError, PlanSchemaError) as error:
        _fail(run, "\n".join(error.problems))
    except Exception as error:  # a failed run says why and keeps no partial payout; the error still surfaces
        _fail(run, f"{type(error).__name__}: {error}")
        raise
    audit.record(actor=actor, event="comp_run.finished", subject=run,
                 new={"status": run.status, "fingerprint": run.fingerprint, "error": run.error})
    return run


def _fail(run: CalculationRun, reason: str) -> None:
    run.status, run.error, run.finished_at = RunStatus.FAILED, reason, timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def _store(run: CalculationRun, result: calc.CompResult) -> None:
    people = dict(Salesperson.objects.values_list("employee_no", "pk"))
    payouts = []
    for row in result.payouts.to_pylist():
        payouts.append(Payout(run=run, salesperson_id=people[row["payee"]], component=row["component"],
                              measure=row["measure"], quota=row["quota"], attainment=row["attainment"],
                              earned=row["earned"], amount=row["amount"]))
    by_key = {(p.salesperson_id, p.component): p for p in Payout.objects.bulk_create(payouts, batch_size=1000)}
    PayoutDetail.objects.bulk_create([
        PayoutDetail(payout=by_key[(people[row["payee"]], row["component"])], rule=row["rule"][:300],
                     band=row["band"], basis=row["basis"], rate=row["rate"], earned=row["earned"])
        for row in result.details.to_pylist()], batch_size=2000)
    DrawBalance.objects.bulk_create([
        DrawBalance(run=run, salesperson_id=people[row["payee"]], component=row["component"], opening=row["opening"],
                    advanced=row["advanced"], recovered=row["recovered"], closing=row["closing"])
        for row in result.balances.to_pylist()])
