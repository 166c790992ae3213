"""Pages to browse and edit the organisation: trees, people with assignment history, customers, products and
order lines. Each view: load through org.access, check the role, call a service, respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from salesops.core.roles import Role, can_edit_org, can_edit_people, role_of
from salesops.org import forms, services
from salesops.org.access import (
    access_assignment_by_id,
    access_customer_by_id,
    access_order_line_by_id,
    access_salesperson_by_id,
    visible_to,
)
from salesops.org.models import (
    Assignment,
    Company,
    Customer,
    CustomerSegment,
    OrderCredit,
    OrderLine,
    Product,
    ProductCategory,
    Region,
    SalesMonthly,
    Salesperson,
    Team,
    active_on,
)
from salesops.web.lists import Column, list_page
from salesops.web.templatetags.salesops import pct_text

TREES = {
    "regions": (Region, _("Regions")),
    "categories": (ProductCategory, _("Product categories")),
    "segments": (CustomerSegment, _("Customer segments")),
    "teams": (Team, _("Sales teams")),
}
SALES_ROLES = (Role.ADMIN, Role.OPS, Role.MANAGER, Role.REP, Role.FINANCE)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _save(request, form, action, success_url, success_message):
    """Run ``action(cleaned_data)`` for a valid form and redirect to ``success_url`` (a URL, or a function of
    what the action returned); service errors land on the form's fields and the form is shown again."""
    if request.method == "POST" and form.is_valid():
        try:
            result = action(form.cleaned_data)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error)
        else:
            messages.success(request, success_message)
            return redirect(success_url(result) if callable(success_url) else success_url)
    return None


def _model_form_page(request, *, form_class, obj, create, update, new_title, back_url, success_url=None):
    """Create (``create(**data)``) or update (``update(fresh_obj, **data)``) one record through its service with a
    model form; the service gets a fresh copy, so its audit row compares against what is stored."""
    form = form_class(request.POST or None, instance=obj)

    def action(data):
        if obj is None:
            return create(actor=request.user, **data)
        return update(type(obj).objects.get(pk=obj.pk), **data)

    return _save(request, form, action, success_url or back_url, _("Saved.")) or _form_page(
        request, form, str(obj) if obj else new_title, back_url)


def _form_page(request, form, title, back_url):
    return TemplateResponse(request, "org/form.html", {"form": form, "title": title, "back_url": back_url})


# -- trees ------------------------------------------------------------------------------------------------
def _tree(kind: str):
    if kind not in TREES:
        raise Http404
    return TREES[kind]


@login_required
def trees(request, kind: str = "regions"):
    model, title = _tree(kind)
    nodes = list(model.objects.order_by("path").select_related("manager") if model is Team else model.objects.order_by("path"))
    children: dict[int | None, list] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    for node in nodes:
        node.kids = children.get(node.pk, [])
    return TemplateResponse(request, "org/trees.html", {
        "kind": kind, "kinds": [(k, t) for k, (_m, t) in TREES.items()], "title": title,
        "roots": children.get(None, []), "can_edit": can_edit_org(request.user),
    })


@login_required
def tree_node_edit(request, kind: str, pk: int | None = None):
    _require(can_edit_org(request.user))
    model, title = _tree(kind)
    node = get_object_or_404(model, pk=pk) if pk else None
    form = forms.TreeNodeForm(request.POST or None, model=model, node=node)

    def action(data):
        fields = {k: v for k, v in data.items() if k in ("name", "code", "parent", "manager")}
        if node is None:
            services.tree_node_create(actor=request.user, model=model, **fields)
        else:
            services.tree_node_update(actor=request.user, node=node, **fields)

    back = reverse("org:tree", args=[kind])
    return _save(request, form, action, back, _("Saved.")) or _form_page(
        request, form, f"{title}: {node.name if node else _('new')}", back)


@login_required
def tree_node_delete(request, kind: str, pk: int):
    _require(can_edit_org(request.user) and request.method == "POST")
    model, _title = _tree(kind)
    node = get_object_or_404(model, pk=pk)
    try:
        services.tree_node_delete(actor=request.user, node=node)
        messages.success(request, _("Deleted."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("org:tree", kind=kind)


# -- people -----------------------------------------------------------------------------------------------
@login_required
def people(request):
    form = forms.PeopleFilter(request.GET or None)
    as_of = form.as_of
    in_effect = Assignment.objects.filter(active_on(as_of), salesperson=OuterRef("pk"))
    queryset = visible_to(request.user, Salesperson).annotate(
        team_on=Subquery(in_effect.values("team__name")[:1]),
        manager_on=Subquery(in_effect.values("manager__name")[:1]),
    )
    columns = [
        Column("employee_no", _("Employee number"), lambda p: p.employee_no, sort="employee_no",
               link=lambda p: reverse("org:person", args=[p.pk])),
        Column("name", _("Name"), lambda p: p.name, sort="name", link=lambda p: reverse("org:person", args=[p.pk])),
        Column("team_on", _("Team on %(day)s") % {"day": as_of.isoformat()}, lambda p: p.team_on or "—", sort="team_on"),
        Column("manager_on", _("Manager on %(day)s") % {"day": as_of.isoformat()}, lambda p: p.manager_on or "—",
               sort="manager_on"),
        Column("title", _("Title"), lambda p: p.title, sort="title"),
        Column("status", _("Status"), lambda p: p.get_status_display(), sort="status"),
        Column("hire_date", _("Hire date"), lambda p: p.hire_date, sort="hire_date", kind="date"),
        Column("leave_date", _("Leave date"), lambda p: p.leave_date, sort="leave_date", kind="date"),
    ]
    actions = [{"url": reverse("org:person-new"), "label": _("New salesperson")}] if can_edit_people(request.user) else []
    return list_page(request, title=_("People"), queryset=queryset, columns=columns, default_sort="employee_no",
                     filename="people", filter_form=form, actions=actions)


@login_required
def person(request, pk: int):
    p = access_salesperson_by_id(request.user, pk)
    context = {
        "person": p, "assignments": p.assignments.select_related("team", "manager", "region").order_by("-start_date"),
        "can_edit": can_edit_people(request.user), "sees_sales": role_of(request.user) in SALES_ROLES,
    }
    if context["sees_sales"]:
        rows = list(SalesMonthly.objects.filter(salesperson=p).order_by("-month")[:24])[::-1]
        context["chart"] = {"months": [r.month.strftime("%Y-%m") for r in rows], "net": [str(r.net_amount) for r in rows]}
        context["total"] = SalesMonthly.objects.filter(salesperson=p).aggregate(s=Sum("net_amount"))["s"]
        context["recent_lines"] = (visible_to(request.user, OrderLine).filter(credits__salesperson=p)
                                   .select_related("customer", "product").order_by("-date", "-pk")[:10])
    return TemplateResponse(request, "org/person.html", context)


@login_required
def person_edit(request, pk: int | None = None):
    _require(can_edit_people(request.user))
    p = access_salesperson_by_id(request.user, pk) if pk else None
    return _model_form_page(
        request, form_class=forms.SalespersonForm, obj=p, create=services.salesperson_create,
        update=lambda fresh, **data: services.salesperson_update(actor=request.user, salesperson=fresh, **data),
        new_title=_("New salesperson"), back_url=reverse("org:people"),
        success_url=lambda obj: reverse("org:person", args=[obj.pk]))


@login_required
def assignment_edit(request, person_pk: int, pk: int | None = None):
    _require(can_edit_people(request.user))
    p = access_salesperson_by_id(request.user, person_pk)
    assignment = access_assignment_by_id(request.user, pk) if pk else None
    if assignment is not None and assignment.salesperson_id != p.pk:
        raise Http404
    form = forms.AssignmentForm(request.POST or None, instance=assignment)

    def action(data):
        if assignment is None:
            services.assignment_create(actor=request.user, salesperson=p, **data)
        else:
            services.assignment_update(actor=request.user, assignment=Assignment.objects.get(pk=assignment.pk), **data)

    back = reverse("org:person", args=[p.pk])
    return _save(request, form, action, back, _("Saved.")) or _form_page(
        request, form, _("Assignment of %(name)s") % {"name": p.name}, back)


# -- customers --------------------------------------------------------------------------------------------
@login_required
def customers(request):
    _require(role_of(request.user) in SALES_ROLES)
    columns = [
        Column("external_id", _("Customer number"), lambda c: c.external_id, sort="external_id",
               link=lambda c: reverse("org:customer", args=[c.pk])),
        Column("name", _("Name"), lambda c: c.name, sort="name", link=lambda c: reverse("org:customer", args=[c.pk])),
        Column("segment", _("Segment"), lambda c: c.segment, sort="segment__name"),
        Column("region", _("Region"), lambda c: c.region, sort="region__name"),
        Column("industry", _("Industry"), lambda c: c.industry, sort="industry"),
        Column("owner", _("Owner"), lambda c: c.owner.name if c.owner else "", sort="owner__name"),
    ]
    actions = [{"url": reverse("org:customer-new"), "label": _("New customer")}] if can_edit_org(request.user) else []
    return list_page(request, title=_("Customers"), queryset=visible_to(request.user, Customer).select_related("segment", "region", "owner"),
                     columns=columns, default_sort="name", filename="customers",
                     filter_form=forms.CustomerFilter(request.GET or None), actions=actions)


@login_required
def customer(request, pk: int):
    c = access_customer_by_id(request.user, pk)
    lines = visible_to(request.user, OrderLine).filter(customer=c)
    context = {
        "customer": c, "can_edit": can_edit_org(request.user),
        "total": lines.aggregate(s=Sum("net_amount"))["s"],
        "lines": lines.select_related("product").order_by("-date", "-pk")[:50],
    }
    return TemplateResponse(request, "org/customer.html", context)


@login_required
def customer_edit(request, pk: int | None = None):
    _require(can_edit_org(request.user))
    c = access_customer_by_id(request.user, pk) if pk else None
    return _model_form_page(
        request, form_class=forms.CustomerForm, obj=c, create=services.customer_create,
        update=lambda fresh, **data: services.customer_update(actor=request.user, customer=fresh, **data),
        new_title=_("New customer"), back_url=reverse("org:customers"),
        success_url=lambda obj: reverse("org:customer", args=[obj.pk]))


# -- products ---------------------------------------------------------------------------------------------
@login_required
def products(request):
    edit = can_edit_org(request.user)
    columns = [
        Column("sku", _("SKU"), lambda p: p.sku, sort="sku", link=(lambda p: reverse("org:product-edit", args=[p.pk])) if edit else None),
        Column("name", _("Name"), lambda p: p.name, sort="name"),
        Column("category", _("Category"), lambda p: p.category, sort="category__name"),
        Column("list_price", _("List price"), lambda p: p.list_price, sort="list_price", kind="money"),
        Column("standard_cost", _("Standard cost"), lambda p: p.standard_cost, sort="standard_cost", kind="money"),
        Column("margin", _("Margin"), lambda p: pct_text(p.margin_rate), kind="number"),
        Column("unit", _("Unit"), lambda p: p.unit),
        Column("active", _("Active"), lambda p: _("yes") if p.active else _("no"), sort="active"),
    ]
    actions = [{"url": reverse("org:product-new"), "label": _("New product")}] if edit else []
    return list_page(request, title=_("Products"), queryset=visible_to(request.user, Product).select_related("category"),
                     columns=columns, default_sort="sku", filename="products",
                     filter_form=forms.ProductFilter(request.GET or None), actions=actions)


@login_required
def product_edit(request, pk: int | None = None):
    _require(can_edit_org(request.user))
    product = get_object_or_404(Product, pk=pk) if pk else None
    return _model_form_page(
        request, form_class=forms.ProductForm, obj=product, create=services.product_create,
        update=lambda fresh, **data: services.product_update(actor=request.user, product=fresh, **data),
        new_title=_("New product"), back_url=reverse("org:products"))


# -- order lines ------------------------------------------------------------------------------------------
@login_required
def lines(request):
    _require(role_of(request.user) in SALES_ROLES)
    columns = [
        Column("date", _("Date"), lambda ln: ln.date, sort="date", kind="date"),
        Column("order_no", _("Order"), lambda ln: ln.order_no, sort="order_no", link=lambda ln: reverse("org:line", args=[ln.pk])),
        Column("external_id", _("Line"), lambda ln: ln.external_id, sort="external_id"),
        Column("customer", _("Customer"), lambda ln: ln.customer.name, sort="customer__name"),
        Column("product", _("Product"), lambda ln: ln.product.sku, sort="product__sku"),
        Column("quantity", _("Quantity"), lambda ln: ln.quantity, sort="quantity", kind="number"),
        Column("net_amount", _("Net amount"), lambda ln: ln.net_amount, sort="net_amount", kind="money"),
        Column("status", _("Status"), lambda ln: ln.get_status_display(), sort="status"),
    ]
    form = forms.LineFilter(request.GET or None, people=visible_to(request.user, Salesperson))
    actions = [{"url": reverse("org:line-new"), "label": _("New order line")}] if can_edit_org(request.user) else []
    return list_page(request, title=_("Order lines"), queryset=visible_to(request.user, OrderLine).select_related(
        "customer", "product"), columns=columns, default_sort="-date", filename="order-lines", filter_form=form,
        actions=actions)


@login_required
def line_new(request):
    _require(can_edit_org(request.user))
    form = forms.OrderLineForm(request.POST or None)

    def action(data):
        fields = {k: v for k, v in data.items() if k not in ("credits", "original_external_id")}
        return services.order_line_create(actor=request.user, credits=data["credits"],
                                          original=data["original_external_id"], **fields)

    return _save(request, form, action, lambda obj: reverse("org:line", args=[obj.pk]), _("Saved.")) or _form_page(
        request, form, _("New order line"), reverse("org:lines"))


@login_required
def payment_new(request, pk: int):
    _require(can_edit_org(request.user))
    ln = access_order_line_by_id(request.user, pk)
    form = forms.PaymentForm(request.POST or None)

    def action(data):
        return services.payment_create(actor=request.user, line=ln, **data)

    back = reverse("org:line", args=[ln.pk])
    return _save(request, form, action, back, _("Payment recorded.")) or _form_page(
        request, form, _("Payment for %(line)s") % {"line": ln}, back)


@login_required
def line(request, pk: int):
    ln = access_order_line_by_id(request.user, pk)
    return TemplateResponse(request, "org/line.html", {
        "line": ln, "can_edit": can_edit_org(request.user),
        # A co-seller's share is their pay basis: show only the credits and reversals this user may see.
        "credits": visible_to(request.user, OrderCredit).filter(line=ln).select_related("salesperson"),
        "reversals": visible_to(request.user, OrderLine).filter(original=ln),
        "payments": ln.payments.all(), "paid": ln.payments.aggregate(s=Sum("amount"))["s"],
    })


# -- company ----------------------------------------------------------------------------------------------
@login_required
def company(request):
    _require(can_edit_org(request.user))
    current = Company.current()
    form = forms.CompanyForm(request.POST or None, instance=current)

    def action(data):
        services.company_update(actor=request.user, company=Company.objects.get(pk=current.pk), **data)

    back = reverse("org:company")
    return _save(request, form, action, back, _("Saved.")) or _form_page(request, form, _("Company settings"), back)
