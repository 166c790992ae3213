"""The shell: sign-in (listing demo accounts in demo mode), the home page per role, language, audit log."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from salesops.core.models import AuditEvent, Profile
from salesops.core.roles import Role, role_of
from salesops.core.services import profile_set_language
from salesops.org.access import own_salesperson, visible_salesperson_ids
from salesops.org.models import Company, Customer, Product
from salesops.web import home as numbers
from salesops.web.lists import Column, list_page


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.DEMO_MODE:
            from salesops.org.demo import DEMO_ACCOUNTS

            context["demo_accounts"] = DEMO_ACCOUNTS
        return context


@login_required
def home(request):
    company = Company.current()
    calendar = company.calendar
    today = timezone.localdate()
    role = role_of(request.user)
    context = {"today": today, "role": role, "me": own_salesperson(request.user)}
    if role in (Role.REP,):
        ids = {context["me"].pk} if context["me"] else set()
        context["summary"] = numbers.sales_summary(ids, today, calendar)
        context["scope"] = _("My sales")
    elif role == Role.MANAGER:
        ids = visible_salesperson_ids(request.user)
        context["summary"] = numbers.sales_summary(ids, today, calendar)
        context["ranking"] = numbers.ranking(ids, today, calendar)
        context["scope"] = _("My team's sales")
    elif role in (Role.ADMIN, Role.OPS, Role.FINANCE):
        context["summary"] = numbers.sales_summary(None, today, calendar)
        context["ranking"] = numbers.ranking(None, today, calendar, limit=10)
        context["scope"] = _("Company sales")
        context["counts"] = {
            "customers": Customer.objects.count(), "products": Product.objects.filter(active=True).count(),
        }
    if role in (Role.HR, Role.ADMIN, Role.OPS):
        context["people"] = numbers.people_summary(today, calendar)
    return TemplateResponse(request, "web/home.html", context)


@require_POST
def set_language(request):
    """Switch the interface language; remembered on the profile for signed-in users, in a cookie otherwise."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    profile = Profile.objects.filter(user=request.user).first() if request.user.is_authenticated else None
    if profile is not None:
        profile_set_language(actor=request.user, profile=profile, language=language)
    translation.activate(language)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax")
    return response


class AuditFilter(forms.Form):
    event = forms.CharField(label=_("Event"), required=False)
    subject_type = forms.CharField(label=_("Object type"), required=False)

    def filter(self, qs):
        if self.cleaned_data.get("event"):
            qs = qs.filter(event__icontains=self.cleaned_data["event"])
        if self.cleaned_data.get("subject_type"):
            qs = qs.filter(subject_type__icontains=self.cleaned_data["subject_type"])
        return qs


@login_required
def audit_log(request):
    if role_of(request.user) != Role.ADMIN:
        raise PermissionDenied
    columns = [
        Column("at", _("Time"), lambda e: timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), sort="at"),
        Column("actor", _("Actor"), lambda e: e.actor.get_username() if e.actor else "—", sort="actor__username"),
        Column("event", _("Event"), lambda e: e.event, sort="event"),
        Column("subject", _("Object"), lambda e: f"{e.subject_type} #{e.subject_id} {e.subject_repr}", sort="subject_type"),
        Column("old", _("Old values"), lambda e: e.old or ""),
        Column("new", _("New values"), lambda e: e.new or ""),
    ]
    return list_page(request, title=_("Audit log"), queryset=AuditEvent.objects.select_related("actor"), columns=columns,
                     default_sort="-at", filename="audit", filter_form=AuditFilter(request.GET or None))


