"""Pages: the customer list (status, owner, last purchase, 12-month value, RFM segment, record completeness) and
the customer 360 page (purchases over time, RFM, margin, deals, activities, quotes, recommended products, the
editable profile and contacts).

Who sees what: the customers of ``org.access.visible_to`` (another's customer is a 404; HR has no sales data).
Who changes what: the profile (status, source, industry, preferences, notes) and the contacts of a customer may
be changed by whoever may change its owner's records (``crm.access.can_change``: the owner, their managers, ops
and admin); finance reads. Organisation fields (owner, segment, region, key account) stay with ops on the
organisation's customer form. Writes go through ``org.services.customer_update`` and ``crm.services.contact_*``.

htmx: the profile and contact forms open in place; a save answers with the changed section and, out of band, the
header and the completeness box. Without htmx the same URLs serve a page with the form and redirect back.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from salesops.core.roles import Role, can_edit_org, role_of
from salesops.crm import access, completeness, customer360, recommendations
from salesops.crm import services as crm_services
from salesops.crm.customer360 import Segment
from salesops.crm.forms import add_service_errors
from salesops.crm.models import Contact
from salesops.org import services as org_services
from salesops.org.access import access_customer_by_id, visible_to
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    CustomerStatus,
    Region,
    Salesperson,
    Team,
    active_on,
)
from salesops.web.lists import Column, list_page
from salesops.web.templatetags.salesops import pct_text

PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,30}$")
RECOMMENDATIONS = 5


def _htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


def can_change_customer(user, customer: Customer) -> bool:
    return role_of(user) in (Role.ADMIN, Role.OPS) or access.can_change(user, customer.owner_id)


# -- the list ---------------------------------------------------------------------------------------------
class CustomerListFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", "—"), *CustomerStatus.choices])
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Salesperson.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.order_by("path"), required=False)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=CustomerSegment.objects.order_by("path"),
                                     required=False)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.order_by("path"), required=False)
    rfm = forms.ChoiceField(label=_("RFM segment"), required=False, choices=[("", "—"), *Segment.choices])
    missing = forms.ChoiceField(label=_("Missing"), required=False,
                                choices=[("", "—"), *((r.code, r.label) for r in completeness.REQUIRED)])
    incomplete = forms.BooleanField(label=_("Incomplete only"), required=False)

    def __init__(self, *args, user, rfm_table: customer360.RfmTable, **kwargs):
        super().__init__(*args, **kwargs)
        self.rfm_table = rfm_table
        self.fields["owner"].queryset = visible_to(user, Salesperson).order_by("name", "employee_no")
        self.fields["owner"].label_from_instance = lambda p: f"{p.name} ({p.employee_no})"

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(external_id__icontains=data["q"]))
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("owner"):
            qs = qs.filter(owner=data["owner"])
        if data.get("team"):
            members = Assignment.objects.filter(active_on(timezone.localdate()),
                                                team__path__startswith=data["team"].path)
            qs = qs.filter(owner_id__in=members.values("salesperson_id"))
        if data.get("segment"):
            qs = qs.filter(segment__path__startswith=data["segment"].path)
        if data.get("region"):
            qs = qs.filter(region__path__startswith=data["region"].path)
        if data.get("rfm"):
            qs = qs.filter(self.rfm_table.segment_q(Segment(data["rfm"])))
        if data.get("missing"):
            qs = qs.filter(completeness.missing_q(data["missing"]))
        if data.get("incomplete"):
            qs = qs.filter(completeness_missing__gt=0)
        return qs


def _completeness_text(c) -> str:
    return pct_text(c.completeness_met / len(completeness.REQUIRED), 0)


@login_required
def customers(request):
    if role_of(request.user) not in access.READERS:
        raise PermissionDenied
    today = timezone.localdate()
    table = customer360.rfm_table(today)
    queryset = completeness.annotate(customer360.annotate_purchases(
        table.annotate(visible_to(request.user, Customer)), today)).select_related("owner", "segment", "region")

    def link(c):
        return reverse("crm:customer", args=[c.pk])

    columns = [
        Column("external_id", _("Customer number"), lambda c: c.external_id, sort="external_id", link=link),
        Column("name", _("Name"), lambda c: c.name, sort="name", link=link),
        Column("status", _("Status"), lambda c: c.get_status_display(), sort="status"),
        Column("owner", _("Owner"), lambda c: c.owner.name if c.owner else "", sort="owner__name"),
        Column("segment", _("Segment"), lambda c: c.segment or "", sort="segment__path"),
        Column("region", _("Region"), lambda c: c.region or "", sort="region__path"),
        Column("last_purchase", _("Last purchase"), lambda c: c.last_purchase, sort="last_purchase", kind="date"),
        Column("net_12m", _("Net, last 12 months"), lambda c: c.net_12m, sort="net_12m", kind="money"),
        Column("rfm", _("RFM segment"), lambda c: Segment.of_rank(c.rfm_rank).label, sort="rfm_rank"),
        Column("completeness", _("Record complete"), _completeness_text, sort="completeness_met", kind="number"),
    ]
    actions = [{"url": reverse("org:customer-new"), "label": _("New customer")}] if can_edit_org(request.user) else []
    intro = _("RFM segment from the last 24 months' purchases (recency, orders and net of the last 12 months, "
              "scored 1–5 among the customers who bought); a record is complete when it has a segment, region, "
              "owner, industry, source, a contact, a phone or email, and a decision maker.")
    return list_page(request, title=_("Customers"), queryset=queryset, columns=columns, default_sort="name",
                     filename="customers", filter_form=CustomerListFilter(request.GET or None, user=request.user, rfm_table=table),
                     actions=actions, intro=intro)


# -- the 360 page -----------------------------------------------------------------------------------------
class ProfileForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["status", "source", "industry", "preferences", "notes"]
        widgets = {"preferences": forms.Textarea(attrs={"rows": 3}), "notes": forms.Textarea(attrs={"rows": 3})}


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "job_title", "role", "phone", "email", "wechat", "primary", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE.match(phone):
            raise ValidationError(_("Enter a phone number: digits, spaces, brackets, dashes and a leading +."))
        return phone


def _load(request, pk: int) -> Customer:
    customer = access_customer_by_id(request.user, pk)
    return Customer.objects.select_related("owner", "segment", "region").get(pk=customer.pk)


def _parts(request, customer: Customer) -> dict:
    """What the header, the completeness box and the contacts section show (also after an htmx change)."""
    today = timezone.localdate()
    rfm = customer360.rfm_table(today).of(customer.pk)
    return {
        "customer": customer, "can_change": can_change_customer(request.user, customer),
        "can_edit_org": can_edit_org(request.user), "rfm": rfm,
        "segment": rfm.segment if rfm else Segment.PROSPECT,
        "missing": completeness.missing_of(customer), "required": completeness.REQUIRED,
        "contacts": list(customer.contacts.order_by("-primary", "name", "pk")),
    }


def _completeness_pct(missing) -> str:
    return pct_text((len(completeness.REQUIRED) - len(missing)) / len(completeness.REQUIRED), 0)


SECTIONS = {"profile": "crm/customer_profile.html", "contacts": "crm/contacts.html"}


@login_required
def customer(request, pk: int):
    """The 360 page; with htmx and ``?section=profile|contacts``, just that section (a form's Cancel)."""
    customer = _load(request, pk)
    if _htmx(request) and request.GET.get("section") in SECTIONS:
        return TemplateResponse(request, SECTIONS[request.GET["section"]], _parts(request, customer))
    today = timezone.localdate()
    context = _parts(request, customer)
    monthly = customer360.monthly_purchases(customer, today)
    context |= {
        "today": today, "figures": customer360.figures(customer, today), "chart": monthly.chart(),
        "has_purchases": any(monthly.totals), "top_products": customer360.top_products(customer, today),
        "opportunities": [(o, reverse("crm:opportunity", args=[o.pk])) for o in customer360.open_opportunities(
            request.user, customer)],
        "activities": customer360.recent_activities(request.user, customer),
        "quotes": [(q, reverse("crm:quote", args=[q.pk])) for q in customer360.quotes(request.user, customer)],
        "recommendations": recommendations.for_customer(customer, k=RECOMMENDATIONS),
        "completeness_pct": _completeness_pct(context["missing"]),
    }
    return TemplateResponse(request, "crm/customer.html", context)


def _require_change(request, customer: Customer) -> None:
    if not can_change_customer(request.user, customer):
        raise PermissionDenied


def _section(request, customer: Customer, template: str, extra: dict, status: int = 200):
    """The section ``template`` for htmx, with the header and completeness box out of band after a change."""
    context = _parts(request, customer) | extra
    context["completeness_pct"] = _completeness_pct(context["missing"])
    return TemplateResponse(request, "crm/customer_swap.html", context | {"section": template}, status=status)


@login_required
def customer_profile(request, pk: int):
    """GET: the profile form (in place with htmx); POST: save it."""
    customer = _load(request, pk)
    _require_change(request, customer)
    form = ProfileForm(request.POST or None, instance=Customer.objects.get(pk=customer.pk))
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            if fields:
                org_services.customer_update(actor=request.user, customer=Customer.objects.get(pk=customer.pk),
                                             **fields)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            customer = _load(request, pk)
            if not _htmx(request):
                messages.success(request, _("Saved."))
                return redirect("crm:customer", pk=customer.pk)
            return _section(request, customer, "crm/customer_profile.html", {"oob": True})
    if not _htmx(request):
        return TemplateResponse(request, "crm/customer_form_page.html", {
            "customer": customer, "form": form, "title": _("Profile of %(name)s") % {"name": customer.name},
            "action": reverse("crm:customer-profile", args=[customer.pk])})
    return TemplateResponse(request, "crm/customer_profile.html",
                            _parts(request, customer) | {"profile_form": form})


def _contact_fields(form: ContactForm) -> dict:
    return {name: form.cleaned_data[name] for name in form.Meta.fields}


@login_required
def contact_new(request, pk: int):
    customer = _load(request, pk)
    _require_change(request, customer)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = _contact_fields(form)
        try:
            crm_services.contact_create(actor=request.user, customer=customer, **fields)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _contact_saved(request, customer)
    return _contact_form(request, customer, form, None)


@login_required
def contact_edit(request, pk: int):
    contact = access.access_contact_by_id(request.user, pk)
    customer = _load(request, contact.customer_id)
    _require_change(request, customer)
    form = ContactForm(request.POST or None, instance=Contact.objects.get(pk=contact.pk))
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            if fields:
                crm_services.contact_update(actor=request.user, contact=Contact.objects.get(pk=contact.pk),
                                            **fields)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _contact_saved(request, customer)
    return _contact_form(request, customer, form, contact)


@login_required
@require_POST
def contact_delete(request, pk: int):
    contact = access.access_contact_by_id(request.user, pk)
    customer = _load(request, contact.customer_id)
    _require_change(request, customer)
    crm_services.contact_delete(actor=request.user, contact=contact)
    return _contact_saved(request, customer, _("Contact deleted."))


def _contact_saved(request, customer: Customer, message=None):
    if not _htmx(request):
        messages.success(request, message or _("Saved."))
        return redirect(reverse("crm:customer", args=[customer.pk]) + "#contacts")
    return _section(request, customer, "crm/contacts.html", {"oob": True})


def _contact_form(request, customer: Customer, form: ContactForm, contact: Contact | None):
    action = (reverse("crm:contact-edit", args=[contact.pk]) if contact
              else reverse("crm:contact-new", args=[customer.pk]))
    extra = {"contact_form": form, "contact_action": action, "editing": contact}
    if not _htmx(request):
        title = (_("Contact %(name)s") % {"name": contact.name} if contact
                 else _("New contact of %(name)s") % {"name": customer.name})
        return TemplateResponse(request, "crm/contact_page.html", {
            "customer": customer, "form": form, "title": title, "action": action})
    return TemplateResponse(request, "crm/contacts.html", _parts(request, customer) | extra)


urlpatterns = [
    path("customers/", customers, name="customers"),
    path("customers/<int:pk>/", customer, name="customer"),
    path("customers/<int:pk>/profile/", customer_profile, name="customer-profile"),
    path("customers/<int:pk>/contacts/new/", contact_new, name="contact-new"),
    path("contacts/<int:pk>/edit/", contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", contact_delete, name="contact-delete"),
]
