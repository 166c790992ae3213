"""Every write of the incentives app: plan versions, assignments, quotas, calculation runs. Each validates (the
message names the field, or the plan document's path and line), writes in one transaction and is audited."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesops.core import audit
from salesops.core.roles import Role, role_of
from salesops.engine.comp import calc
from salesops.engine.comp.plan import PlanSchemaError, load_plan
from salesops.engine.money import CENT
from salesops.incentives import lineage
from salesops.incentives.inputs import build_inputs, fingerprint
from salesops.incentives.models import (
    CURRENT_STATUSES,
    Adjustment,
    CalculationRun,
    CompPlan,
    CompPlanVersion,
    Correction,
    DecisionStatus,
    Dispute,
    DisputeMessage,
    DisputeStatus,
    DrawBalance,
    Payout,
    PayoutDetail,
    PlanAssignment,
    Quota,
    RunKind,
    RunStatus,
)
from salesops.org.access import visible_salesperson_ids
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
def plan_assign_group(*, actor, plan: CompPlan, start_date: dt.date, end_date: dt.date | None = None,
                      team=None, title: str = "", target_incentive: Decimal | None = None
                      ) -> tuple[list[PlanAssignment], list[str]]:
    """Assign the plan to everyone who, on ``start_date``, is in ``team`` (its subtree included) or holds
    ``title``: one person-level assignment each (people joining later are assigned on their own or by applying
    the group again). People already paid by a plan over those dates are skipped and named; the others are
    assigned together."""
    if (team is None) == (not title.strip()):
        raise ValidationError({"team": _("Choose a team or a title.")})
    from salesops.org.models import Assignment, active_on

    people = Salesperson.objects.all()
    if team is not None:
        ids = Assignment.objects.filter(active_on(start_date), team__path__startswith=team.path).values(
            "salesperson_id")
        people = people.filter(pk__in=ids)
    else:
        people = people.filter(title=title.strip())
    people = [p for p in people.order_by("employee_no")
              if p.hire_date <= (end_date or start_date) and (p.leave_date is None or p.leave_date >= start_date)]
    if not people:
        raise ValidationError({"team" if team is not None else "title": _("Nobody matches on %(day)s.") % {
            "day": start_date}})
    made, skipped = [], []
    for person in people:
        try:
            with transaction.atomic():
                made.append(plan_assign(actor=actor, plan=plan, salesperson=person,
                                        start_date=max(start_date, person.hire_date), end_date=end_date,
                                        target_incentive=target_incentive))
        except ValidationError as error:
            skipped.append(" ".join(m for ms in error.message_dict.values() for m in ms))
    return made, skipped


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
    """Calculate ``plan`` for a payout period now (the command line, the demo, an eager task): :func:`run_start`
    then :func:`run_execute`."""
    return run_execute(run_start(actor=actor, plan=plan, period_code=period_code).pk)


def run_enqueue(*, actor, plan: CompPlan, period_code: str) -> CalculationRun:
    """Start a run from the web or the API: stored as running, executed by a background task (eagerly, in this
    process, when no broker is configured); its page shows the progress."""
    if role_of(actor) not in REVIEWERS:
        raise PermissionDenied
    from salesops.incentives import tasks

    run = run_start(actor=actor, plan=plan, period_code=period_code)
    transaction.on_commit(lambda: tasks.run_execute.delay(run.pk))
    return run


def run_start(*, actor, plan: CompPlan, period_code: str) -> CalculationRun:
    """Store a run of ``plan`` for a payout period (a month or a quarter) as running, to be executed by
    :func:`run_execute` (here or in a background task). Refused while another run of the plan and period is in
    progress. A period already paid gets a *correction* run: what it finds is paid as delta lines later."""
    calendar = Company.current().calendar
    try:
        period = calendar.parse(period_code)
    except ValueError:
        raise ValidationError({"period": _("%(code)s is not a period code (2026-03 or 2026-Q1).") % {
            "code": period_code}}) from None
    if period.kind.value not in ("month", "quarter"):
        raise ValidationError({"period": _("A payout period is a month (2026-03) or a quarter (2026-Q1).")})
    version = version_for(plan, period)
    paid = _paid_run(plan, period.code) is not None
    try:
        with transaction.atomic():
            run = CalculationRun.objects.create(plan=plan, version=version, period=period.code, started_by=actor,
                                                kind=RunKind.CORRECTION if paid else RunKind.REGULAR,
                                                stage="queued")
            audit.record(actor=actor, event="comp_run.started", subject=run,
                         new={"version": version.version, "period": period.code, "kind": run.kind})
    except IntegrityError:
        raise ValidationError({"period": _("%(plan)s is already being calculated for %(period)s.") % {
            "plan": plan.name, "period": period.code}}) from None
    return run


def _progress(run: CalculationRun, percent: int, stage: str) -> None:
    CalculationRun.objects.filter(pk=run.pk).update(progress=percent, stage=stage)


def run_execute(run_id: int) -> CalculationRun:
    """Calculate a stored running run: it ends calculated with every payout and its detail rows (and, for a
    correction run, the delta lines it finds), or failed with the reason and no payout at all. Progress is
    written as it goes, for the run's page."""
    run = CalculationRun.objects.select_related("plan", "version", "started_by").get(pk=run_id)
    if run.status != RunStatus.RUNNING:
        return run
    calendar = Company.current().calendar
    period = calendar.parse(run.period)
    try:
        _progress(run, 10, "reading inputs")
        document = run.version.parsed()
        inputs = build_inputs(run.plan, document, period, calendar)
        _progress(run, 40, "calculating")
        result = calc.calculate(document, inputs, period, calendar, with_credits=True)
        _progress(run, 70, "storing")
        with transaction.atomic():
            _store(run, result)
            lineage.store(run, result.credits)
            run.fingerprint = fingerprint(run.version.document, inputs)
            run.status, run.finished_at = RunStatus.CALCULATED, timezone.now()
            run.progress, run.stage = 100, "done"
            run.save(update_fields=["fingerprint", "status", "finished_at", "progress", "stage"])
            if run.kind == RunKind.CORRECTION:
                _find_corrections(run, calendar)
            else:
                _supersede_others(run)
    except (calc.InputError, PlanSchemaError) as error:
        _fail(run, "\n".join(error.problems))
    except Exception as error:  # a failed run says why and keeps no partial payout; the error still surfaces
        _fail(run, f"{type(error).__name__}: {error}")
        raise
    audit.record(actor=run.started_by, event="comp_run.finished", subject=run,
                 new={"status": run.status, "fingerprint": run.fingerprint, "error": run.error})
    return run


def _fail(run: CalculationRun, reason: str) -> None:
    run.status, run.error, run.finished_at, run.stage = RunStatus.FAILED, reason, timezone.now(), "failed"
    run.save(update_fields=["status", "error", "finished_at", "stage"])


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


def _paid_run(plan: CompPlan, period_code: str) -> CalculationRun | None:
    return CalculationRun.objects.filter(plan=plan, period=period_code, status=RunStatus.PAID,
                                         kind=RunKind.REGULAR).first()


def current_run(plan: CompPlan, period_code: str) -> CalculationRun | None:
    """The run whose payouts stand for the period (the paid one once paid, else the latest calculated)."""
    return (CalculationRun.objects.filter(plan=plan, period=period_code, status__in=CURRENT_STATUSES,
                                          kind=RunKind.REGULAR).order_by("-started_at", "-id").first())


def _supersede_others(run: CalculationRun) -> None:
    others = (CalculationRun.objects.filter(plan=run.plan, period=run.period, kind=RunKind.REGULAR,
                                            status__in=(RunStatus.CALCULATED, RunStatus.REVIEWED,
                                                        RunStatus.APPROVED))
              .exclude(pk=run.pk))
    for other in others:
        audit.record(actor=run.started_by, event="comp_run.superseded", subject=other, old={"status": other.status},
                     new={"status": RunStatus.SUPERSEDED, "by": run.pk})
    others.update(status=RunStatus.SUPERSEDED)


def next_open_period(plan: CompPlan, period_code: str) -> str:
    """The first period after ``period_code`` (of the same kind) not yet paid."""
    calendar = Company.current().calendar
    period = calendar.shift(calendar.parse(period_code), 1)
    while _paid_run(plan, period.code) is not None:
        period = calendar.shift(period, 1)
    return period.code


def _find_corrections(run: CalculationRun, calendar) -> None:
    """A paid period calculated again: each payout that differs from what has been paid for it (the paid run
    plus corrections already paid) becomes a delta line in the next open period, pointing at the paid payout.
    Delta lines found by an earlier correction run of the period and not yet paid are replaced."""
    paid_run = _paid_run(run.plan, run.period)
    pending = Correction.objects.filter(plan=run.plan, corrected_period=run.period, paid_run__isnull=True)
    for old in pending:
        audit.record(actor=run.started_by, event="comp_correction.replaced", subject=old,
                     old={"amount": old.amount, "period": old.period}, new={"by_run": run.pk})
    pending.delete()
    stood: dict[tuple[int, str], list] = {}
    for payout in paid_run.payouts.all():
        stood[(payout.salesperson_id, payout.component)] = [payout.earned, payout.amount, payout]
    for corr in Correction.objects.filter(plan=run.plan, corrected_period=run.period, paid_run__isnull=False):
        entry = stood.setdefault((corr.salesperson_id, corr.component), [Decimal(0), Decimal(0), None])
        entry[0] += corr.earned
        entry[1] += corr.amount
    new = {(p.salesperson_id, p.component): p for p in run.payouts.all()}
    target = next_open_period(run.plan, run.period)
    rows = []
    for key in sorted(set(stood) | set(new)):
        earned_was, amount_was, paid_payout = stood.get(key, [Decimal(0), Decimal(0), None])
        now = new.get(key)
        amount = (now.amount if now else Decimal(0)) - amount_was
        if amount == 0:
            continue
        rows.append(Correction(plan=run.plan, salesperson_id=key[0], component=key[1],
                               corrected_period=run.period, corrects=paid_payout, source_run=run, period=target,
                               earned=(now.earned if now else Decimal(0)) - earned_was, amount=amount))
    Correction.objects.bulk_create(rows)
    if rows:
        audit.record(actor=run.started_by, event="comp_correction.found", subject=run,
                     new={"period": target, "lines": len(rows), "total": sum(r.amount for r in rows)})
        _reopen_if_signed_off(run.plan, target, run.started_by, _("delta lines of %(period)s added") % {
            "period": run.period})


def _reopen_if_signed_off(plan: CompPlan, period_code: str, actor, reason: str) -> None:
    """New money in a period whose run was reviewed or approved sends that run back to calculated: a sign-off
    covers the figures that were seen."""
    current = current_run(plan, period_code)
    if current is not None and current.status in (RunStatus.REVIEWED, RunStatus.APPROVED):
        _reopen(current, actor, reason)


def _reopen(run: CalculationRun, actor, reason: str) -> None:
    run.reviewed_by = run.reviewed_at = run.approved_by = run.approved_at = None
    _transition(run, actor, RunStatus.CALCULATED, event="comp_run.reopened", note=reason,
                fields=("reviewed_by", "reviewed_at", "approved_by", "approved_at"))


# -- the run's workflow: calculated → reviewed → approved → paid ---------------------------------------------------

REVIEWERS = (Role.ADMIN, Role.OPS)
APPROVERS = (Role.ADMIN, Role.FINANCE)
PAYERS = (Role.ADMIN, Role.FINANCE)


def _transition(run: CalculationRun, actor, status: str, *, event: str, note: str = "", fields=()) -> None:
    old = run.status
    run.status = status
    run.save(update_fields=["status", *fields])
    audit.record(actor=actor, event=event, subject=run, old={"status": old}, new={"status": status, "note": note})


def _regular_run_in(run: CalculationRun, *statuses) -> None:
    if run.kind != RunKind.REGULAR:
        raise ValidationError({"status": _("A correction run is not signed off: its delta lines are paid with "
                                           "the run of the period they fall in.")})
    if run.status not in statuses:
        raise ValidationError({"status": _("The run is %(status)s.") % {"status": run.get_status_display()}})


@transaction.atomic
def run_review(*, actor, run: CalculationRun) -> CalculationRun:
    if role_of(actor) not in REVIEWERS:
        raise PermissionDenied
    run = CalculationRun.objects.select_for_update().get(pk=run.pk)
    _regular_run_in(run, RunStatus.CALCULATED)
    run.reviewed_by, run.reviewed_at = actor, timezone.now()
    _transition(run, actor, RunStatus.REVIEWED, event="comp_run.reviewed", fields=("reviewed_by", "reviewed_at"))
    return run


@transaction.atomic
def run_approve(*, actor, run: CalculationRun) -> CalculationRun:
    """Approval needs someone other than the reviewer and no adjustment of the period still waiting."""
    if role_of(actor) not in APPROVERS:
        raise PermissionDenied
    run = CalculationRun.objects.select_for_update().get(pk=run.pk)
    _regular_run_in(run, RunStatus.REVIEWED)
    if run.reviewed_by_id == actor.pk:
        raise ValidationError({"approved_by": _("The run was reviewed by you; someone else must approve it.")})
    waiting = Adjustment.objects.filter(plan=run.plan, period=run.period, status=DecisionStatus.PENDING).count()
    if waiting:
        raise ValidationError({"status": ngettext(
            "%(n)s adjustment of this period is waiting for a decision.",
            "%(n)s adjustments of this period are waiting for a decision.", waiting) % {"n": waiting}})
    run.approved_by, run.approved_at = actor, timezone.now()
    _transition(run, actor, RunStatus.APPROVED, event="comp_run.approved", fields=("approved_by", "approved_at"))
    return run


@transaction.atomic
def run_pay(*, actor, run: CalculationRun) -> CalculationRun:
    """Mark an approved run paid: the period is closed for good, and the delta lines and approved adjustments it
    included are settled with it."""
    if role_of(actor) not in PAYERS:
        raise PermissionDenied
    run = CalculationRun.objects.select_for_update().get(pk=run.pk)
    _regular_run_in(run, RunStatus.APPROVED)
    run.paid_by, run.paid_at = actor, timezone.now()
    _transition(run, actor, RunStatus.PAID, event="comp_run.paid", fields=("paid_by", "paid_at"))
    Correction.objects.filter(plan=run.plan, period=run.period, paid_run__isnull=True).update(paid_run=run)
    Adjustment.objects.filter(plan=run.plan, period=run.period, status=DecisionStatus.APPROVED,
                              paid_run__isnull=True).update(paid_run=run)
    return run


@transaction.atomic
def run_reopen(*, actor, run: CalculationRun, reason: str) -> CalculationRun:
    """Send a reviewed or approved run back to calculated (with the reason); a paid run never reopens."""
    if role_of(actor) not in REVIEWERS + APPROVERS:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the run is reopened.")})
    run = CalculationRun.objects.select_for_update().get(pk=run.pk)
    _regular_run_in(run, RunStatus.REVIEWED, RunStatus.APPROVED)
    _reopen(run, actor, reason.strip())
    return run


# -- adjustments: a maker, a different approver -------------------------------------------------------------------

ADJUSTMENT_MAKERS = (Role.ADMIN, Role.OPS, Role.MANAGER)
ADJUSTMENT_APPROVERS = (Role.ADMIN, Role.OPS, Role.FINANCE)


@transaction.atomic
def adjustment_create(*, actor, plan: CompPlan, salesperson: Salesperson, period_code: str, amount: Decimal,
                      reason: str) -> Adjustment:
    """A manual amount for a person's pay in a period, waiting for someone else's approval. Refused for a
    period whose run is approved or paid (reopen it first), for people the maker may not see, and for people
    the plan does not pay in the period."""
    role = role_of(actor)
    if role not in ADJUSTMENT_MAKERS:
        raise PermissionDenied
    visible = visible_salesperson_ids(actor)
    if visible is not None and salesperson.pk not in visible:
        raise PermissionDenied
    errors = {}
    if not reason.strip():
        errors["reason"] = _("Give the reason for the adjustment.")
    if amount == 0:
        errors["amount"] = _("An adjustment of zero changes nothing.")
    elif amount != amount.quantize(CENT):
        errors["amount"] = _("An amount has at most two decimals.")
    calendar = Company.current().calendar
    try:
        period = calendar.parse(period_code)
    except ValueError:
        errors["period"] = _("%(code)s is not a period code (2026-03 or 2026-Q1).") % {"code": period_code}
    else:
        last_day = period.end - dt.timedelta(days=1)
        if not PlanAssignment.objects.filter(plan=plan, salesperson=salesperson, start_date__lte=last_day).filter(
                Q(end_date__isnull=True) | Q(end_date__gte=period.start)).exists():
            errors["salesperson"] = _("%(plan)s does not pay %(person)s in %(period)s.") % {
                "plan": plan.name, "person": salesperson.name, "period": period.code}
        current = current_run(plan, period.code)
        if current is not None and current.status in (RunStatus.APPROVED, RunStatus.PAID):
            errors["period"] = _("The run of %(period)s is %(status)s; adjustments go into an open period.") % {
                "period": period.code, "status": current.get_status_display()}
    if errors:
        raise ValidationError(errors)
    adjustment = Adjustment.objects.create(plan=plan, salesperson=salesperson, period=period.code, amount=amount,
                                           reason=reason.strip(), created_by=actor)
    audit.record(actor=actor, event="comp_adjustment.created", subject=adjustment,
                 new={"plan": plan.name, "salesperson": salesperson.employee_no, "period": period.code,
                      "amount": amount, "reason": adjustment.reason})
    _reopen_if_signed_off(plan, period.code, actor, _("an adjustment was made"))
    return adjustment


@transaction.atomic
def adjustment_decide(*, actor, adjustment: Adjustment, approve: bool, note: str = "") -> Adjustment:
    """Approve or reject a waiting adjustment; never by the person who made it."""
    if role_of(actor) not in ADJUSTMENT_APPROVERS:
        raise PermissionDenied
    adjustment = Adjustment.objects.select_for_update().get(pk=adjustment.pk)
    if adjustment.status != DecisionStatus.PENDING:
        raise ValidationError({"status": _("The adjustment is already %(status)s.") % {
            "status": adjustment.get_status_display()}})
    if adjustment.created_by_id == actor.pk:
        raise ValidationError({"decided_by": _("You made this adjustment; someone else must decide on it.")})
    if not approve and not note.strip():
        raise ValidationError({"decision_note": _("Say why the adjustment is rejected.")})
    adjustment.status = DecisionStatus.APPROVED if approve else DecisionStatus.REJECTED
    adjustment.decided_by, adjustment.decided_at, adjustment.decision_note = actor, timezone.now(), note.strip()
    adjustment.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record(actor=actor, event="comp_adjustment.decided", subject=adjustment,
                 old={"status": DecisionStatus.PENDING}, new={"status": adjustment.status, "note": note.strip()})
    return adjustment


# -- disputes: a payee asks about a statement line, ops answers ---------------------------------------------------

DISPUTE_ANSWERERS = (Role.ADMIN, Role.OPS)


def _say(dispute: Dispute, actor, text: str) -> None:
    if not text.strip():
        raise ValidationError({"text": _("Write a message.")})
    DisputeMessage.objects.create(dispute=dispute, author=actor, text=text.strip())


@transaction.atomic
def dispute_raise(*, actor, payout: Payout, text: str) -> Dispute:
    """The payee (or a manager who sees their pay) raises a question on a line of a statement."""
    from salesops.incentives.access import payee_ids

    ids = payee_ids(actor)
    if role_of(actor) not in (Role.REP, Role.MANAGER) or (ids is not None and payout.salesperson_id not in ids):
        raise PermissionDenied
    if payout.run.status not in CURRENT_STATUSES:
        raise ValidationError({"payout": _("This statement has been replaced by a newer calculation.")})
    dispute = Dispute.objects.create(payout=payout, raised_by=actor)
    _say(dispute, actor, text)
    audit.record(actor=actor, event="comp_dispute.raised", subject=dispute,
                 new={"payout": payout.pk, "text": text.strip()})
    return dispute


@transaction.atomic
def dispute_answer(*, actor, dispute: Dispute, text: str, resolve: bool = False) -> Dispute:
    """Ops answers (and may resolve at once); the one who raised it may reply (reopening it) or resolve it."""
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    answering = role_of(actor) in DISPUTE_ANSWERERS
    if not answering and dispute.raised_by_id != actor.pk:
        raise PermissionDenied
    if dispute.status == DisputeStatus.RESOLVED:
        raise ValidationError({"status": _("The dispute is resolved.")})
    _say(dispute, actor, text)
    old = dispute.status
    now = timezone.now()
    if resolve:
        dispute.status, dispute.resolved_at = DisputeStatus.RESOLVED, now
    elif answering:
        dispute.status, dispute.answered_at = DisputeStatus.ANSWERED, now
    else:
        dispute.status = DisputeStatus.OPEN
    dispute.save(update_fields=["status", "answered_at", "resolved_at"])
    audit.record(actor=actor, event="comp_dispute.resolved" if resolve else "comp_dispute.message",
                 subject=dispute, old={"status": old}, new={"status": dispute.status, "text": text.strip()})
    return dispute
