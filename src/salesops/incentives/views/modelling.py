"""What-if modelling pages: ops (and admin) compare a draft plan version with the current plan over past months,
and save a pasted or uploaded plan document as a new draft; finance may read the comparison. Reps, managers and
HR get 403 — the page shows everyone's pay."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.core.roles import Role, role_of
from salesops.incentives import modelling
from salesops.incentives.forms import ComparisonForm, DraftForm
from salesops.incentives.models import CompPlan
from salesops.org.models import Company

READERS = (Role.ADMIN, Role.OPS, Role.FINANCE)
WRITERS = (Role.ADMIN, Role.OPS)


def require_reader(user) -> None:
    if role_of(user) not in READERS:
        raise PermissionDenied


def _defaults(calendar) -> dict:
    """The first plan that has a draft (its newest draft), over the last six complete months."""
    months = modelling.default_periods(calendar, timezone.localdate())
    initial = {"start": months[0].code, "end": months[-1].code}
    plan = CompPlan.objects.filter(versions__draft=True).order_by("name").first() or \
        CompPlan.objects.order_by("name").first()
    if plan is not None:
        initial["plan"] = plan.pk
        draft = plan.versions.filter(draft=True).order_by("-version").first()
        if draft is not None:
            initial["draft"] = draft.pk
    return initial


@login_required
def modelling_page(request):
    require_reader(request.user)
    calendar = Company.current().calendar
    initial = _defaults(calendar)
    bound = "plan" in request.GET
    form = ComparisonForm(request.GET if bound else initial)
    comparison = None
    if form.is_valid():
        try:
            months = modelling.month_range(calendar, form.cleaned_data["start"], form.cleaned_data["end"],
                                           timezone.localdate())
            comparison = modelling.compare(form.cleaned_data["plan"], form.cleaned_data["draft"], months,
                                           calendar=calendar)
        except ValidationError as error:
            _add_errors(form, error)
    elif not bound:
        form = ComparisonForm(initial=initial)  # nothing to compare yet (no draft): no errors shown
    draft_form = DraftForm(initial={"plan": initial.get("plan")}) if role_of(request.user) in WRITERS else None
    return _render(request, form, draft_form, comparison)


@login_required
@require_POST
def modelling_draft(request):
    """Save a plan document as a new draft of the plan, then show its comparison; every problem of the document
    is listed with its path and line, and nothing is saved."""
    if role_of(request.user) not in WRITERS:
        raise PermissionDenied
    draft_form = DraftForm(request.POST, request.FILES)
    if draft_form.is_valid():
        plan = draft_form.cleaned_data["plan"]
        try:
            version = modelling.draft_create(actor=request.user, plan=plan, document=draft_form.cleaned_data["text"])
        except ValidationError as error:
            _add_errors(draft_form, error, default="document")
        else:
            messages.success(request, _("Saved as draft version %(n)s of %(plan)s.") % {
                "n": version.version, "plan": plan.name})
            initial = _defaults(Company.current().calendar)
            query = {"plan": plan.pk, "draft": version.pk, "start": initial["start"], "end": initial["end"]}
            return redirect(f"{reverse('incentives:modelling')}?{urlencode(query)}")
    form = ComparisonForm(initial=_defaults(Company.current().calendar))
    return _render(request, form, draft_form, None, status=400)


def _add_errors(form, error: ValidationError, default: str | None = None) -> None:
    fields = set(form.fields)
    for field, problems in error.message_dict.items():
        target = field if field in fields else (default if default in fields else None)
        for problem in problems:
            form.add_error(target, problem)


def _render(request, form, draft_form, comparison, status: int = 200):
    chart, percentiles = None, []
    if comparison is not None:
        labels = {modelling.PERCENTILES[0]: _("10th percentile"), modelling.PERCENTILES[1]: _("Median"),
                  modelling.PERCENTILES[2]: _("90th percentile")}
        percentiles = [(labels.get(p, str(p)), comparison.current_distribution.percentiles[p],
                        comparison.draft_distribution.percentiles[p]) for p in modelling.PERCENTILES]
        chart = {"data": modelling.as_data(comparison), "labels": {
            "current": _("Current plan"), "draft": _("Draft"), "cost": _("Cost"), "payees": _("Payees"),
            "population": _("Share of payees (lowest paid first)"), "pay": _("Share of pay"),
            "equality": _("Equal pay"), "band": _("Pay band")}}
    return TemplateResponse(request, "incentives/modelling.html", {
        "form": form, "draft_form": draft_form, "c": comparison, "chart": chart,
        "percentiles": percentiles,
        "first_period": comparison.periods[0].period if comparison else None,
        "last_period": comparison.periods[-1].period if comparison else None, "can_write": role_of(request.user) in WRITERS}, status=status)
