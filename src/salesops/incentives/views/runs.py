"""Calculation runs (start one, watch its progress, review → approve → pay, payroll export), adjustments and
disputes. Whole runs are for ops, admin and finance; adjustments and disputes follow the statements' visibility."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.roles import role_of
from salesops.imports.exporting import FORMATS, export_response
from salesops.incentives import access, selectors, services
from salesops.incentives.models import (
    Adjustment,
    CompPlan,
    DecisionStatus,
    DisputeStatus,
    RunKind,
    RunStatus,
)
from salesops.org.access import visible_to
from salesops.org.models import Salesperson


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "message_dict"):
        return [m for messages_ in error.message_dict.values() for m in messages_]
    return list(error.messages)


class RunForm(forms.Form):
    plan = forms.ModelChoiceField(label=gettext_lazy("Plan"), queryset=CompPlan.objects.all())
    period = forms.CharField(label=gettext_lazy("Period"), max_length=10,
                             help_text=gettext_lazy("2026-03 or 2026-Q1"))


@login_required
def runs(request):
    """Every run with its status and total; ops and admin start new ones here."""
    qs = (access.visible_runs(request.user).select_related("plan", "version", "started_by")
          .annotate(total=Sum("payouts__amount"), people=Count("payouts__salesperson", distinct=True))[:200])
    can_start = role_of(request.user) in services.REVIEWERS
    form = RunForm(request.POST or None) if can_start else None
    if request.method == "POST":
        if not can_start:
            raise PermissionDenied
        if form.is_valid():
            try:
                run = services.run_enqueue(actor=request.user, plan=form.cleaned_data["plan"],
                                           period_code=form.cleaned_data["period"].strip())
            except ValidationError as error:
                for message in _errors(error):
                    form.add_error("period", message)
            else:
                return redirect("incentives:run", run_id=run.pk)
    return TemplateResponse(request, "incentives/runs.html", {"runs": qs, "form": form})


def _actions(user, run) -> list[tuple[str, str]]:
    """The workflow buttons this user may press on this run now."""
    role = role_of(user)
    if run.kind != RunKind.REGULAR:
        return []
    actions = []
    if run.status == RunStatus.CALCULATED and role in services.REVIEWERS:
        actions.append(("review", _("Mark reviewed")))
    if run.status == RunStatus.REVIEWED and role in services.APPROVERS and run.reviewed_by_id != user.pk:
        actions.append(("approve", _("Approve")))
    if run.status == RunStatus.APPROVED and role in services.PAYERS:
        actions.append(("pay", _("Mark paid")))
    if run.status in (RunStatus.REVIEWED, RunStatus.APPROVED) and role in services.REVIEWERS + services.APPROVERS:
        actions.append(("reopen", _("Reopen")))
    return actions


@login_required
def run(request, run_id: int):
    run = access.access_run(request.user, run_id)
    if request.htmx and run.status == RunStatus.RUNNING:
        return TemplateResponse(request, "incentives/_run_progress.html", {"run": run})
    if request.htmx:  # finished while the page was polling: show the whole page
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    names, rows = selectors.payroll(run) if run.status != RunStatus.RUNNING else ({}, [])
    totals = {c: sum((r.components[c] for r in rows), Decimal(0)) for c in names}
    return TemplateResponse(request, "incentives/run.html", {
        "run": run, "rows": rows, "components": list(names.items()), "totals": totals,
        "grand_total": sum((r.total for r in rows), Decimal(0)), "actions": _actions(request.user, run),
        "corrections": run.corrections_found.select_related("salesperson").order_by("salesperson__employee_no"),
        "pending": Adjustment.objects.filter(plan=run.plan, period=run.period,
                                             status=DecisionStatus.PENDING).count(),
        "exportable": run.status in (RunStatus.APPROVED, RunStatus.PAID), "formats": FORMATS})


@login_required
@require_POST
def run_action(request, run_id: int, action: str):
    run = access.access_run(request.user, run_id)
    try:
        if action == "review":
            services.run_review(actor=request.user, run=run)
        elif action == "approve":
            services.run_approve(actor=request.user, run=run)
        elif action == "pay":
            services.run_pay(actor=request.user, run=run)
        elif action == "reopen":
            services.run_reopen(actor=request.user, run=run, reason=request.POST.get("reason", ""))
        else:
            raise PermissionDenied
    except ValidationError as error:
        for message in _errors(error):
            messages.error(request, message)
    return redirect("incentives:run", run_id=run.pk)


@login_required
def payroll(request, run_id: int, fmt: str):
    """The payroll file of an approved or paid run: period, employee number, each component, delta lines,
    adjustments, total."""
    run = access.access_run(request.user, run_id)
    if fmt not in FORMATS or run.status not in (RunStatus.APPROVED, RunStatus.PAID):
        raise PermissionDenied
    names, rows = selectors.payroll(run)
    return export_response(selectors.payroll_columns(names), rows, fmt,
                           f"payroll-{run.plan.name}-{run.period}")


# -- adjustments ---------------------------------------------------------------------------------------------------

class AdjustmentForm(forms.Form):
    plan = forms.ModelChoiceField(label=gettext_lazy("Plan"), queryset=CompPlan.objects.all())
    salesperson = forms.ModelChoiceField(label=gettext_lazy("Salesperson"), queryset=Salesperson.objects.none())
    period = forms.CharField(label=gettext_lazy("Period"), max_length=10)
    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=20,
                             help_text=gettext_lazy("Negative to take money back."))
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = visible_to(user, Salesperson).order_by("employee_no")

    def clean_amount(self):
        try:
            return Decimal(self.cleaned_data["amount"].replace(",", "").strip())
        except InvalidOperation:
            raise ValidationError(_("Enter an amount such as 1200.50 or -300.")) from None


@login_required
def adjustments(request):
    qs = access.visible_adjustments(request.user).order_by("-period", "-id")[:300]
    role = role_of(request.user)
    form = AdjustmentForm(request.POST or None, user=request.user) if role in services.ADJUSTMENT_MAKERS else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.adjustment_create(actor=request.user, plan=data["plan"], salesperson=data["salesperson"],
                                           period_code=data["period"].strip(), amount=data["amount"],
                                           reason=data["reason"])
            except ValidationError as error:
                for key, msgs in error.message_dict.items():
                    for message in msgs:
                        form.add_error(key if key in form.fields else None, message)
            else:
                messages.success(request, _("The adjustment waits for someone else's approval."))
                return redirect("incentives:adjustments")
    return TemplateResponse(request, "incentives/adjustments.html", {
        "adjustments": qs, "form": form, "can_decide": role in services.ADJUSTMENT_APPROVERS,
        "pending": DecisionStatus.PENDING})


@login_required
@require_POST
def adjustment_decide(request, adjustment_id: int):
    adjustment = access.access_adjustment(request.user, adjustment_id)
    try:
        services.adjustment_decide(actor=request.user, adjustment=adjustment,
                                   approve=request.POST.get("decision") == "approve",
                                   note=request.POST.get("note", ""))
    except ValidationError as error:
        for message in _errors(error):
            messages.error(request, message)
    return redirect("incentives:adjustments")


# -- disputes ------------------------------------------------------------------------------------------------------

@login_required
def disputes(request):
    qs = access.visible_disputes(request.user)
    status = request.GET.get("status")
    if status in DisputeStatus.values:
        qs = qs.filter(status=status)
    return TemplateResponse(request, "incentives/disputes.html", {
        "disputes": qs.order_by("-created_at")[:300], "statuses": DisputeStatus.choices, "status": status})


@login_required
@require_POST
def dispute_raise(request, payout_id: int):
    payout = access.access_payout(request.user, payout_id)
    try:
        dispute = services.dispute_raise(actor=request.user, payout=payout, text=request.POST.get("text", ""))
    except ValidationError as error:
        for message in _errors(error):
            messages.error(request, message)
        return redirect("incentives:statement", run_id=payout.run_id, person_id=payout.salesperson_id)
    return redirect("incentives:dispute", dispute_id=dispute.pk)


@login_required
def dispute(request, dispute_id: int):
    dispute = access.access_dispute(request.user, dispute_id)
    if request.method == "POST":
        try:
            services.dispute_answer(actor=request.user, dispute=dispute, text=request.POST.get("text", ""),
                                    resolve=request.POST.get("resolve") == "1")
        except ValidationError as error:
            for message in _errors(error):
                messages.error(request, message)
        return redirect("incentives:dispute", dispute_id=dispute.pk)
    can_write = (dispute.status != DisputeStatus.RESOLVED and (
        role_of(request.user) in services.DISPUTE_ANSWERERS or dispute.raised_by_id == request.user.pk))
    return TemplateResponse(request, "incentives/dispute.html", {
        "dispute": dispute, "thread": dispute.messages.select_related("author"), "can_write": can_write,
        "answering": role_of(request.user) in services.DISPUTE_ANSWERERS})
