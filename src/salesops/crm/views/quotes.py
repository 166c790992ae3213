"""Pages: quotes — the list, a new quote and its changes (with a live price preview), the quote page with its
workflow buttons and approval history, the manager's approvals, and the PDF and Excel copies.

Who: reps, managers, ops and admin see the quotes of the people they see and act on them (``crm.access``);
finance reads them; HR and users without a role get 403; someone else's quote is a 404. Every write goes through
``crm.quotes``.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.roles import Role, role_of
from salesops.crm import access, quote_documents
from salesops.crm import quotes as services
from salesops.crm.forms import DATE
from salesops.crm.models import OpportunityStatus, QuoteStatus
from salesops.engine.money import to_decimal
from salesops.org.access import own_salesperson, visible_to
from salesops.org.models import Company, Customer, Product, Salesperson
from salesops.web.lists import Column, list_page

DECIDERS = (Role.ADMIN, Role.OPS, Role.MANAGER)
LINE_FIELDS = ("product", "quantity", "discount", "price")
BLANK_ROWS = 3


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _errors(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for ms in error.message_dict.values() for m in ms]
    return list(error.messages)


def _flash(request, error: ValidationError) -> None:
    for message in _errors(error):
        messages.error(request, message)


# -- the list ---------------------------------------------------------------------------------------------------
class QuoteFilter(forms.Form):
    q = forms.CharField(label=gettext_lazy("Number or customer"), required=False)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("", gettext_lazy("All")), *QuoteStatus.choices])
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=Salesperson.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = visible_to(user, Salesperson).order_by("employee_no")

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(number__icontains=data["q"]) | Q(customer__name__icontains=data["q"]))
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("owner"):
            qs = qs.filter(owner=data["owner"])
        return qs


@login_required
def quote_list(request):
    """The quotes the user may see, filtered by status, owner or a search; exports to CSV/Excel."""
    _require(role_of(request.user) in access.READERS)
    qs = (access.visible_quotes(request.user).select_related("customer", "owner")
          .annotate(total=Sum("lines__net_amount")))
    columns = [
        Column("number", gettext_lazy("Number"), lambda o: o.number, sort="number",
               link=lambda o: reverse("crm:quote", args=[o.pk])),
        Column("customer", gettext_lazy("Customer"), lambda o: o.customer.name, sort="customer__name"),
        Column("owner", gettext_lazy("Owner"), lambda o: o.owner.name, sort="owner__name"),
        Column("status", gettext_lazy("Status"), lambda o: o.get_status_display(), sort="status"),
        Column("created", gettext_lazy("Created at"), lambda o: o.created_at.date(), sort="created_at", kind="date"),
        Column("valid_until", gettext_lazy("Valid until"), lambda o: o.valid_until, sort="valid_until", kind="date"),
        Column("total", gettext_lazy("Total"), lambda o: o.total, sort="total", kind="money"),
    ]
    actions = []
    if services.may_create(request.user):
        actions.append({"url": reverse("crm:quote-new"), "label": _("New quote")})
    if role_of(request.user) in DECIDERS:
        waiting = access.pending_approvals_for(request.user).count()
        actions.append({"url": reverse("crm:quote-approvals"),
                        "label": _("Approvals (%(n)s)") % {"n": waiting}})
    return list_page(request, title=_("Quotes"), queryset=qs, columns=columns, default_sort="-created",
                     filename="quotes", filter_form=QuoteFilter(request.GET or None, user=request.user),
                     actions=actions, intro=_(
                         "A discount within the owner's limit is approved when the quote is submitted; a larger "
                         "one waits for their manager. An accepted quote becomes order lines credited to its owner."))


# -- new quote and changes ---------------------------------------------------------------------------------------
class QuoteForm(forms.Form):
    customer = forms.ModelChoiceField(label=gettext_lazy("Customer"), queryset=Customer.objects.none())
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=Salesperson.objects.none())
    opportunity = forms.ModelChoiceField(label=gettext_lazy("Opportunity"), queryset=None, required=False)
    language = forms.ChoiceField(label=gettext_lazy("Language of the documents"), choices=settings.LANGUAGES)
    valid_until = forms.DateField(label=gettext_lazy("Valid until"), required=False, widget=DATE)
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, quote=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = visible_to(user, Customer).order_by("name")
        self.fields["owner"].queryset = services.owners_for(user).order_by("employee_no")
        opportunities = access.visible_opportunities(user).filter(status=OpportunityStatus.OPEN)
        if quote is not None:
            del self.fields["customer"], self.fields["owner"]  # a quote keeps its customer and owner
            opportunities = opportunities.filter(customer=quote.customer)
            if quote.opportunity_id:
                opportunities = opportunities | access.visible_opportunities(user).filter(pk=quote.opportunity_id)
        self.fields["opportunity"].queryset = opportunities.select_related("customer").order_by("name")
        self.fields["opportunity"].label_from_instance = lambda o: f"{o.name} · {o.customer.name}"


def _products():
    return list(Product.objects.filter(active=True).order_by("sku"))


def _posted_rows(request) -> list[dict]:
    """The line rows of the posted form, in order, as typed."""
    columns = {name: request.POST.getlist(f"line_{name}") for name in LINE_FIELDS}
    count = max((len(values) for values in columns.values()), default=0)
    return [{name: (columns[name][i] if i < len(columns[name]) else "").strip() for name in LINE_FIELDS}
            for i in range(count)]


def _filled(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["product"] or row["price"] or row["discount"]]


def _line_inputs(rows: list[dict], products: dict[str, Product]) -> list[services.LineInput]:
    """Rows as the service takes them: the discount typed in percent becomes a fraction (text that is no number
    is passed on for the service to name)."""
    inputs = []
    for row in rows:
        try:
            discount = to_decimal(row["discount"]) / 100 if row["discount"] else "0"
        except (TypeError, ValueError):
            discount = row["discount"]
        inputs.append(services.LineInput(product=products.get(row["product"]), quantity=row["quantity"],
                                         discount=discount, price=row["price"] or None))
    return inputs


def _attach(rows: list[dict], error: ValidationError, form: forms.Form | None) -> list[str]:
    """Line errors to their row and field, header errors to the form; returns the rest."""
    rest = []
    for field, errors in error.error_dict.items() if hasattr(error, "error_dict") else [(None, error.error_list)]:
        for item in errors:
            params = item.params or {}
            if field == "lines" and "line" in params and params["line"] <= len(rows):
                rows[params["line"] - 1].setdefault("errors", {}).setdefault(params["field"], []).extend(
                    item.messages)
            elif form is not None and field in form.fields:
                form.add_error(field, item)
            else:
                rest += item.messages
    return rest


def _blank_rows(n: int = BLANK_ROWS) -> list[dict]:
    return [{"product": "", "quantity": "1", "discount": "", "price": ""} for _i in range(n)]


def _form_page(request, *, form, rows, quote=None, problems=()):
    return TemplateResponse(request, "crm/quote_form.html", {
        "form": form, "rows": [*rows, *_blank_rows()], "quote": quote, "products": _products(),
        "problems": problems})


def _save_form(request, form, save):
    """Validate the header form and the posted rows and call ``save(cleaned_data, line_inputs)``; a refusal lands
    next to its field or line (rows are renumbered without the empty ones, so "Line 2" is the second row shown).
    Returns (the saved quote or None, the rows, the problems that belong to no field)."""
    filled = _filled(_posted_rows(request))
    if not form.is_valid():
        return None, filled, []
    products = {str(p.pk): p for p in Product.objects.filter(pk__in=[r["product"] for r in filled
                                                                     if r["product"].isdigit()])}
    try:
        return save(form.cleaned_data, _line_inputs(filled, products)), filled, []
    except ValidationError as error:
        return None, filled, _attach(filled, error, form)


def _unsaved(request, form_class, **kwargs):
    """"More lines": the form again with what was typed and more empty rows, nothing checked or saved."""
    form = form_class(user=request.user, initial=request.POST.dict(), **kwargs)
    return _form_page(request, form=form, rows=_filled(_posted_rows(request)) + _blank_rows(),
                      quote=kwargs.get("quote"))


@login_required
def quote_new(request):
    _require(services.may_create(request.user))
    if "more" in request.POST:
        return _unsaved(request, QuoteForm)
    me = own_salesperson(request.user)
    initial = {"language": Company.current().default_language, "owner": me.pk if me else None,
               "customer": request.GET.get("customer"), "opportunity": request.GET.get("opportunity")}
    form = QuoteForm(request.POST or None, user=request.user, initial=initial)
    if request.method != "POST":
        return _form_page(request, form=form, rows=[])

    def create(data, lines):
        return services.quote_create(actor=request.user, customer=data["customer"], owner=data["owner"],
                                     opportunity=data["opportunity"], language=data["language"],
                                     valid_until=data["valid_until"], notes=data["notes"], lines=lines)

    quote, rows, problems = _save_form(request, form, create)
    if quote is not None:
        messages.success(request, _("Quote %(number)s saved as a draft.") % {"number": quote.number})
        return redirect("crm:quote", quote_id=quote.pk)
    return _form_page(request, form=form, rows=rows, problems=problems)


@login_required
def quote_edit(request, quote_id: int):
    """Change a draft or rejected quote: its lines, opportunity, language, validity and notes."""
    quote = access.access_quote_by_id(request.user, quote_id)
    _require(access.can_change(request.user, quote.owner_id))
    if "edit" not in services.available_actions(request.user, quote):
        messages.error(request, _("Quote %(number)s is %(status)s: only a draft or a rejected quote can be "
                                  "changed.") % {"number": quote.number, "status": quote.get_status_display()})
        return redirect("crm:quote", quote_id=quote.pk)
    if "more" in request.POST:
        return _unsaved(request, QuoteForm, quote=quote)
    initial = {"opportunity": quote.opportunity_id, "language": quote.language, "valid_until": quote.valid_until,
               "notes": quote.notes}
    form = QuoteForm(request.POST or None, user=request.user, quote=quote, initial=initial)
    if request.method != "POST":
        rows = [{"product": str(line.product_id), "quantity": f"{line.quantity.normalize():f}",
                 "discount": f"{(line.discount * 100).normalize():f}",
                 "price": "" if line.list_price == line.product.list_price else f"{line.list_price}"}
                for line in quote.lines.select_related("product").order_by("pk")]
        return _form_page(request, form=form, rows=rows, quote=quote)

    def update(data, lines):
        return services.quote_update(actor=request.user, quote=quote, lines=lines, **data)

    saved, rows, problems = _save_form(request, form, update)
    if saved is not None:
        messages.success(request, _("Quote %(number)s saved.") % {"number": saved.number})
        return redirect("crm:quote", quote_id=saved.pk)
    return _form_page(request, form=form, rows=rows, quote=quote, problems=problems)


@login_required
@require_POST
def quote_preview(request):
    """The prices of the lines being typed (list price, discount, net) and the totals, or what is wrong with
    them: the form's live preview (htmx); nothing is saved."""
    _require(services.may_create(request.user))
    rows = _filled(_posted_rows(request))
    products = {str(p.pk): p for p in Product.objects.filter(pk__in=[r["product"] for r in rows
                                                                     if r["product"].isdigit()])}
    priced, problems = [], []
    if rows:
        try:
            priced = services.price_lines(_line_inputs(rows, products))
        except ValidationError as error:
            problems = _errors(error)
    return TemplateResponse(request, "crm/quote_preview.html", {
        "priced": priced, "totals": services.totals(priced) if priced else None, "problems": problems})


# -- the quote page and its steps --------------------------------------------------------------------------------
@login_required
def quote_page(request, quote_id: int):
    _require(role_of(request.user) in access.READERS)
    quote = access.access_quote_by_id(request.user, quote_id)
    lines = list(quote.lines.select_related("product").order_by("pk"))
    approvals = list(quote.approvals.select_related("approver", "decided_by").order_by("requested_at", "pk"))
    return TemplateResponse(request, "crm/quote.html", {
        "quote": quote, "lines": lines, "totals": services.totals(lines), "approvals": approvals,
        "automatic": {a.pk for a in approvals if services.is_automatic(a)},
        "actions": services.available_actions(request.user, quote),
        "validity_editable": quote.status in (QuoteStatus.PENDING, QuoteStatus.APPROVED)
        and access.can_change(request.user, quote.owner_id),
        "limit": services.discount_limit_of(quote.owner)})


STEPS = {
    "submit": lambda user, quote: services.quote_submit(actor=user, quote=quote),
    "send": lambda user, quote: services.quote_send(actor=user, quote=quote),
    "accept": lambda user, quote: services.quote_answer(actor=user, quote=quote, accepted=True),
    "decline": lambda user, quote: services.quote_answer(actor=user, quote=quote, accepted=False),
}
DONE = {
    "submit": gettext_lazy("Quote %(number)s submitted: %(status)s."),
    "send": gettext_lazy("Quote %(number)s marked as sent."),
    "accept": gettext_lazy("Quote %(number)s accepted: order %(number)s booked to %(owner)s."),
    "decline": gettext_lazy("Quote %(number)s marked as declined."),
}


@login_required
@require_POST
def quote_step(request, quote_id: int, step: str):
    """Submit, send, accept or decline: one button each on the quote page."""
    quote = access.access_quote_by_id(request.user, quote_id)
    if step not in STEPS:
        raise Http404("No such step.")
    _require(access.can_change(request.user, quote.owner_id))
    try:
        quote = STEPS[step](request.user, quote)
    except ValidationError as error:
        _flash(request, error)
    else:
        messages.success(request, DONE[step] % {"number": quote.number, "status": quote.get_status_display(),
                                                "owner": quote.owner.name})
    return redirect("crm:quote", quote_id=quote.pk)


@login_required
@require_POST
def quote_validity(request, quote_id: int):
    """Change how long a quote not yet sent stays valid (an approved quote that expired cannot be sent)."""
    quote = access.access_quote_by_id(request.user, quote_id)
    _require(access.can_change(request.user, quote.owner_id))
    field = forms.DateField(required=False)
    try:
        day = field.clean(request.POST.get("valid_until", ""))
        services.quote_update(actor=request.user, quote=quote, valid_until=day)
    except ValidationError as error:
        _flash(request, error)
    else:
        messages.success(request, _("Quote %(number)s: validity changed.") % {"number": quote.number})
    return redirect("crm:quote", quote_id=quote.pk)


@login_required
@require_POST
def quote_decide(request, quote_id: int):
    """Approve or reject a pending discount in one click (a rejection needs the comment). From the approvals
    list (htmx) the row is replaced by the outcome; from the quote page the page is shown again."""
    quote = access.access_quote_by_id(request.user, quote_id)
    _require(access.can_decide_quote(request.user, quote))
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        raise Http404("No such decision.")
    error = None
    try:
        quote = services.quote_decide(actor=request.user, quote=quote, approve=decision == "approve",
                                      comment=request.POST.get("comment", ""))
    except ValidationError as refused:
        error = refused
    if request.htmx:
        approval = quote.approvals.select_related("quote__customer", "quote__owner", "approver").order_by(
            "-requested_at", "-pk").first()
        approval.total = services.quote_totals(quote).net
        return TemplateResponse(request, "crm/quote_approval_row.html", {
            "a": approval, "problems": _errors(error) if error else []})
    if error:
        _flash(request, error)
    else:
        messages.success(request, _("Quote %(number)s: %(status)s.") % {
            "number": quote.number, "status": quote.get_status_display()})
    if request.POST.get("next") == "approvals":
        return redirect("crm:quote-approvals")
    return redirect("crm:quote", quote_id=quote.pk)


@login_required
def quote_approvals(request):
    """The discounts waiting for this manager (or, for ops and admin, for anyone), oldest first."""
    _require(role_of(request.user) in DECIDERS)
    pending = list(access.pending_approvals_for(request.user).select_related("approver")
                   .annotate(total=Sum("quote__lines__net_amount")).order_by("requested_at", "pk"))
    return TemplateResponse(request, "crm/quote_approvals.html", {"pending": pending})


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
def quote_pdf(request, quote_id: int):
    _require(role_of(request.user) in access.READERS)
    quote = access.access_quote_by_id(request.user, quote_id)
    return _download(quote_documents.quote_pdf(quote), "application/pdf", f"{quote.number}.pdf")


@login_required
def quote_xlsx(request, quote_id: int):
    _require(role_of(request.user) in access.READERS)
    quote = access.access_quote_by_id(request.user, quote_id)
    return _download(quote_documents.quote_xlsx(quote),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{quote.number}.xlsx")


urlpatterns = [
    path("quotes/", quote_list, name="quotes"),
    path("quotes/new/", quote_new, name="quote-new"),
    path("quotes/preview/", quote_preview, name="quote-preview"),
    path("quotes/approvals/", quote_approvals, name="quote-approvals"),
    path("quotes/<int:quote_id>/", quote_page, name="quote"),
    path("quotes/<int:quote_id>/edit/", quote_edit, name="quote-edit"),
    path("quotes/<int:quote_id>/decide/", quote_decide, name="quote-decide"),
    path("quotes/<int:quote_id>/validity/", quote_validity, name="quote-validity"),
    path("quotes/<int:quote_id>/pdf/", quote_pdf, name="quote-pdf"),
    path("quotes/<int:quote_id>/xlsx/", quote_xlsx, name="quote-xlsx"),
    path("quotes/<int:quote_id>/<slug:step>/", quote_step, name="quote-step"),
]
