"""Pages: activities — the list (mine, the team's, overdue; by kind and owner), a new activity, marking one done
with its outcome, and the overdue activities per rep for managers.

Who: as for the pipeline (``views.pipeline``): the people with sales data see the activities ``crm.access`` lets
them see (someone else's is a 404), HR gets 403, finance reads and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.roles import role_of
from salesops.crm import access, selectors, services
from salesops.crm.forms import ActivityDoneForm, ActivityFilter, ActivityForm, add_service_errors
from salesops.crm.views.pipeline import require_writer
from salesops.org.access import own_salesperson
from salesops.web.lists import Column, list_page


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _status(activity, now) -> str:
    if activity.done_at:
        return _("done")
    if activity.due_at and activity.due_at < now:
        return _("overdue")
    return _("open")


@login_required
def activities(request):
    access.require_sales(request.user)
    now = timezone.now()
    done_link = lambda a: reverse("crm:activity-done", args=[a.pk])  # noqa: E731 - a one-line column link
    columns = [
        Column("due_at", gettext_lazy("Due"), lambda a: _when(a.due_at), sort="due_at"),
        Column("kind", gettext_lazy("Kind"), lambda a: a.get_kind_display(), sort="kind"),
        Column("subject", gettext_lazy("Subject"), lambda a: a.subject, sort="subject", link=done_link),
        Column("customer", gettext_lazy("Customer"), lambda a: a.customer.name, sort="customer__name"),
        Column("opportunity", gettext_lazy("Opportunity"), lambda a: a.opportunity.name if a.opportunity else "",
               sort="opportunity__name",
               link=lambda a: reverse("crm:opportunity", args=[a.opportunity_id]) if a.opportunity_id else None),
        Column("contact", gettext_lazy("Contact"), lambda a: a.contact.name if a.contact else "", sort="contact__name"),
        Column("owner", gettext_lazy("Owner"), lambda a: a.owner.name, sort="owner__name"),
        Column("status", gettext_lazy("Status"), lambda a: _status(a, now), sort="done_at"),
        Column("done_at", gettext_lazy("Done at"), lambda a: _when(a.done_at), sort="done_at"),
        Column("outcome", gettext_lazy("Outcome"), lambda a: a.outcome),
        Column("created_at", gettext_lazy("Created at"), lambda a: _when(a.created_at), sort="created_at"),
    ]
    actions = [{"url": f"{reverse('crm:activities')}?{urlencode({'scope': 'mine', 'status': 'open'})}",
                "label": _("My open activities")},
               {"url": f"{reverse('crm:activities')}?{urlencode({'status': 'overdue'})}", "label": _("Overdue")},
               {"url": reverse("crm:overdue"), "label": _("Overdue per rep")}]
    if role_of(request.user) in access.WRITERS:
        actions.append({"url": reverse("crm:activity-new"), "label": _("New activity")})
    return list_page(request, title=_("Activities"),
                     queryset=selectors.activity_rows(access.visible_activities(request.user)), columns=columns,
                     default_sort="due_at", filename="activities",
                     filter_form=ActivityFilter(request.GET or None, user=request.user, now=now), actions=actions)


@login_required
def activity_new(request):
    access.require_sales(request.user)
    require_writer(request.user)
    me = own_salesperson(request.user)
    initial = {"owner": me.pk if me else None, "opportunity": request.GET.get("opportunity"),
               "customer": request.GET.get("customer")}
    form = ActivityForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.activity_create(
                actor=request.user, kind=data["kind"], subject=data["subject"], customer=data["customer"],
                owner=data["owner"], opportunity=data.get("opportunity"), contact=data.get("contact"),
                due_at=data.get("due_at"))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            if activity.opportunity_id:
                return redirect("crm:opportunity", pk=activity.opportunity_id)
            return redirect("crm:activities")
    return TemplateResponse(request, "crm/activity_form.html", {"form": form})


@login_required
def activity_done(request, pk: int):
    """An activity's page: what it is, and for its owner (or their manager, or ops) the form to mark it done."""
    access.require_sales(request.user)
    activity = access.access_activity_by_id(request.user, pk)
    can_change = access.can_change(request.user, activity.owner_id)
    form = ActivityDoneForm(request.POST or None) if can_change and activity.done_at is None else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.activity_complete(actor=request.user, activity=activity,
                                           outcome=form.cleaned_data["outcome"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Marked done."))
                return redirect(reverse("crm:opportunity", args=[activity.opportunity_id]) if activity.opportunity_id
                                else reverse("crm:activities"))
    now = timezone.now()
    return TemplateResponse(request, "crm/activity_done.html", {
        "activity": activity, "form": form, "status": _status(activity, now), "now": now})


@login_required
def overdue(request):
    """Per rep the user may see: how many activities are overdue and since when; each count opens the list."""
    access.require_sales(request.user)
    now = timezone.now()
    base = reverse("crm:activities")
    rows = [{"row": r, "url": f"{base}?{urlencode({'status': 'overdue', 'owner': r.owner_id})}"}
            for r in selectors.overdue_by_rep(request.user, now)]
    return TemplateResponse(request, "crm/activities_overdue.html", {
        "rows": rows, "total": sum(r["row"].count for r in rows), "now": now})


urlpatterns = [
    path("activities/", activities, name="activities"),
    path("activities/new/", activity_new, name="activity-new"),
    path("activities/overdue/", overdue, name="overdue"),
    path("activities/<int:pk>/done/", activity_done, name="activity-done"),
]
