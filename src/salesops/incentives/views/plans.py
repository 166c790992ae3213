"""Compensation plans: their versions (download a version's YAML, add a version or a draft, publish a draft),
who is paid by them (a person, or everyone of a team or with a title at a date) and their quotas. Ops and admin
change plans; finance reads them; other roles see no plan (a plan says what people are paid)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.roles import Role, role_of
from salesops.incentives import services
from salesops.incentives.forms import MAX_DOCUMENT_BYTES
from salesops.incentives.models import CompPlan, CompPlanVersion
from salesops.org.models import Salesperson, Team

READERS = (Role.ADMIN, Role.OPS, Role.FINANCE)
WRITERS = (Role.ADMIN, Role.OPS)


def _check(user, write: bool = False) -> None:
    if role_of(user) not in (WRITERS if write else READERS):
        raise PermissionDenied


def _to_form(form: forms.Form, error: ValidationError, default: str) -> None:
    for key, problems in error.message_dict.items():
        for problem in problems:
            form.add_error(key if key in form.fields else default, problem)


class VersionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Plan name"), max_length=200)
    document = forms.CharField(label=gettext_lazy("Plan document (YAML)"), required=False, strip=False,
                               widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "spellcheck": "false",
                                                            "class": "code"}))
    upload = forms.FileField(label=gettext_lazy("or upload a YAML file"), required=False)
    draft = forms.BooleanField(label=gettext_lazy("Keep as a draft (for modelling; no run uses it)"),
                               required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("upload")
        if upload is not None:
            if upload.size > MAX_DOCUMENT_BYTES:
                self.add_error("upload", _("The file is larger than %(n)s kB.") % {"n": MAX_DOCUMENT_BYTES // 1000})
                return data
            try:
                data["document"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("upload", _("The file is not UTF-8 text."))
                return data
        if not (data.get("document") or "").strip():
            self.add_error("document", _("Paste a plan document or upload a YAML file."))
        return data


@login_required
def plans(request):
    _check(request.user)
    rows = CompPlan.objects.annotate(versions_n=Count("versions", distinct=True),
                                     latest=Max("versions__version"),
                                     people=Count("assignments__salesperson", distinct=True))
    form = None
    if role_of(request.user) in WRITERS:
        form = VersionForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            if CompPlan.objects.filter(name=form.cleaned_data["name"].strip()).exists():
                form.add_error("name", _("A plan with this name exists; add a version on its page."))
            else:
                try:
                    version = services.plan_version_create(actor=request.user, name=form.cleaned_data["name"].strip(),
                                                           document=form.cleaned_data["document"],
                                                           draft=form.cleaned_data["draft"])
                except ValidationError as error:
                    _to_form(form, error, "document")
                else:
                    return redirect("incentives:plan", plan_id=version.plan_id)
    elif request.method == "POST":
        raise PermissionDenied
    return TemplateResponse(request, "incentives/plans.html", {"plans": rows, "form": form},
                            status=400 if form is not None and form.errors else 200)


class AssignForm(forms.Form):
    salesperson = forms.ModelChoiceField(label=gettext_lazy("Salesperson"), required=False,
                                         queryset=Salesperson.objects.order_by("employee_no"))
    team = forms.ModelChoiceField(label=gettext_lazy("or everyone in the team"), required=False,
                                  queryset=Team.objects.order_by("path"))
    title = forms.CharField(label=gettext_lazy("or everyone with the title"), required=False, max_length=100)
    start_date = forms.DateField(label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=gettext_lazy("To (inclusive, empty: open)"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))
    target_incentive = forms.DecimalField(label=gettext_lazy("Target incentive (yearly)"), required=False,
                                          max_digits=14, decimal_places=2, min_value=0)

    def clean(self):
        data = super().clean()
        chosen = [k for k in ("salesperson", "team", "title") if data.get(k)]
        if len(chosen) != 1:
            self.add_error("salesperson", _("Choose one: a salesperson, a team or a title."))
        return data


class QuotaForm(forms.Form):
    salesperson = forms.ModelChoiceField(label=gettext_lazy("Salesperson"),
                                         queryset=Salesperson.objects.order_by("employee_no"))
    component = forms.ChoiceField(label=gettext_lazy("Component"))
    period = forms.CharField(label=gettext_lazy("Period"), max_length=10,
                             help_text=gettext_lazy("2026-03, 2026-Q1, 2026-H1 or FY2026"))
    amount = forms.CharField(label=gettext_lazy("Quota"), max_length=24)

    def __init__(self, *args, components=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["component"].choices = components

    def clean_amount(self):
        try:
            return Decimal(self.cleaned_data["amount"].replace(",", "").strip())
        except InvalidOperation:
            raise ValidationError(_("Enter an amount such as 1200000.")) from None


def _plan(plan_id) -> CompPlan:
    try:
        return CompPlan.objects.get(pk=int(plan_id))
    except (CompPlan.DoesNotExist, ValueError, TypeError):
        raise Http404("No such plan.") from None


@login_required
def plan(request, plan_id: int):
    _check(request.user)
    plan = _plan(plan_id)
    versions = list(plan.versions.select_related("created_by").order_by("-version"))
    latest = next((v for v in versions if not v.draft), None) or (versions[0] if versions else None)
    components = [(c.id, c.name or c.id) for c in latest.parsed().components] if latest else []
    writer = role_of(request.user) in WRITERS
    forms_ = {"version": VersionForm(initial={"name": plan.name}), "assign": AssignForm(),
              "quota": QuotaForm(components=components)}
    status = 200
    if request.method == "POST":
        if not writer:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "publish":
            try:
                version = plan.versions.get(pk=int(request.POST.get("version", "0")))
                services.plan_version_publish(actor=request.user, version=version)
            except (CompPlanVersion.DoesNotExist, ValueError):
                raise Http404("No such version.") from None
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Version %(n)s is published.") % {"n": version.version})
            return redirect("incentives:plan", plan_id=plan.pk)
        if action == "version":
            form = forms_["version"] = VersionForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    version = services.plan_version_create(actor=request.user, name=plan.name,
                                                           document=form.cleaned_data["document"],
                                                           draft=form.cleaned_data["draft"])
                except ValidationError as error:
                    _to_form(form, error, "document")
                else:
                    messages.success(request, _("Version %(n)s is saved.") % {"n": version.version})
                    return redirect("incentives:plan", plan_id=plan.pk)
        elif action == "assign":
            form = forms_["assign"] = AssignForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    if data["salesperson"]:
                        services.plan_assign(actor=request.user, plan=plan, salesperson=data["salesperson"],
                                             start_date=data["start_date"], end_date=data["end_date"],
                                             target_incentive=data["target_incentive"])
                        made, skipped = [1], []
                    else:
                        made, skipped = services.plan_assign_group(
                            actor=request.user, plan=plan, start_date=data["start_date"], end_date=data["end_date"],
                            team=data["team"], title=data["title"] or "", target_incentive=data["target_incentive"])
                except ValidationError as error:
                    _to_form(form, error, "salesperson")
                else:
                    messages.success(request, _("%(n)s assigned.") % {"n": len(made)})
                    for reason in skipped:
                        messages.warning(request, reason)
                    return redirect("incentives:plan", plan_id=plan.pk)
        elif action == "quota":
            form = forms_["quota"] = QuotaForm(request.POST, components=components)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    services.quota_set(actor=request.user, plan=plan, salesperson=data["salesperson"],
                                       component=data["component"], period=data["period"].strip(),
                                       amount=data["amount"])
                except ValueError:
                    form.add_error("period", _("%(code)s is not a period code (2026-03 or 2026-Q1).") % {
                        "code": data["period"]})
                except ValidationError as error:
                    _to_form(form, error, "amount")
                else:
                    messages.success(request, _("The quota is set."))
                    return redirect("incentives:plan", plan_id=plan.pk)
        else:
            raise Http404("No such action.")
        status = 400
    return TemplateResponse(request, "incentives/plan.html", {
        "plan": plan, "versions": versions, "components": components, "writer": writer, "forms": forms_,
        "assignments": plan.assignments.select_related("salesperson").order_by("salesperson__employee_no",
                                                                               "start_date"),
        "quotas": plan.quotas.select_related("salesperson").order_by("-period", "salesperson__employee_no")[:500],
    }, status=status)


@login_required
def plan_version_yaml(request, plan_id: int, version: int):
    """A version's document as a file (the plan as code, to keep in a repository or run with ``salesops comp``)."""
    _check(request.user)
    try:
        row = CompPlanVersion.objects.select_related("plan").get(plan_id=int(plan_id), version=int(version))
    except (CompPlanVersion.DoesNotExist, ValueError):
        raise Http404("No such version.") from None
    response = HttpResponse(row.document, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{row.plan.name}-v{row.version}.yaml")
    return response
