"""Pages: the pipeline — the kanban board and its move endpoint, the opportunity list, a deal's page, the new and
edit forms, and the stage configuration (ops and admin).

Who: the people with sales data (admin, ops, managers, reps, finance) open the board, the list and the deals they
may see (``crm.access``; someone else's deal is a 404); HR gets 403. Finance reads and changes nothing (403 on
every write). Stages are configured by ops and admin only (403 for the others).

A move goes through ``services.opportunity_move`` with whatever fields came with it; a refusal names every
missing field and offers a form of exactly those fields (JSON for the board's script, a page otherwise).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.roles import role_of
from salesops.crm import access, selectors, services
from salesops.crm.forms import (
    BoardFilter,
    MoveForm,
    OpportunityFilter,
    OpportunityForm,
    StageForm,
    add_service_errors,
)
from salesops.crm.models import RequiredField, Stage
from salesops.org.access import own_salesperson
from salesops.org.models import Company
from salesops.web.lists import Column, list_page


def require_writer(user) -> None:
    if role_of(user) not in access.WRITERS:
        raise PermissionDenied


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


# -- the board ----------------------------------------------------------------------------------------------
def _board_columns(request, query: QueryDict, company: Company):
    form = BoardFilter(query or None, user=request.user)
    columns = selectors.board(form.filter(access.visible_opportunities(request.user)), company=company)
    return form, columns


@login_required
def pipeline(request):
    """The kanban board: a column per active stage with its count, amount and weighted amount."""
    access.require_sales(request.user)
    company = Company.current()
    form, columns = _board_columns(request, request.GET, company)
    context = {"form": form, "columns": columns, "can_move": role_of(request.user) in access.WRITERS,
               "can_add": role_of(request.user) in access.WRITERS,
               "can_configure": access.can_configure_stages(request.user), "closed_days": selectors.CLOSED_DAYS,
               "query": request.GET.urlencode(), "company": company}
    template = "crm/kanban_board.html" if request.htmx and request.htmx.target == "board" else "crm/pipeline.html"
    return TemplateResponse(request, template, context)


def _totals(columns) -> dict:
    return {str(c.stage.pk): {"count": c.count, "amount": c.amount_text, "weighted": c.weighted_text}
            for c in columns}


def _refusal(request, opportunity, stage, error: ValidationError):
    """What a refused move answers: every message, and a form of the missing fields (plus any field the
    service found wrong) to fill and try again."""
    errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    missing = [name for name in errors if name in RequiredField.values]
    # the fields to fill: the missing ones, those found wrong, and those already typed (kept for the next try)
    typed = {name for name in RequiredField.values if request.POST.get(name, "").strip()}
    if request.POST.get("product", "").strip():
        typed.add(RequiredField.PRODUCTS)
    retry_fields = [name for name in RequiredField.values if name in errors or name in typed]
    form = None
    if retry_fields:
        form = MoveForm(request.POST, user=request.user, opportunity=opportunity, only=retry_fields)
        form.is_valid()
        add_service_errors(form, error, aliases={"products": "product"})
    labels = dict(RequiredField.choices)
    context = {"opportunity": opportunity, "stage": stage, "missing": missing,
               "missing_labels": [str(labels[m]) for m in missing],
               # what the form does not show beside a field of its own
               "messages_": [m for name, msgs in errors.items()
                             if form is None or {"products": "product"}.get(name, name) not in form.fields
                             for m in msgs], "form": form,
               "board_query": request.POST.get("board_query", ""),
               "next": _safe_next(request, reverse("crm:opportunity", args=[opportunity.pk]))}
    if wants_json(request):
        html = render_to_string("crm/opportunity_move_refused.html", context, request=request)
        return JsonResponse({"ok": False, "id": opportunity.pk, "stage": stage.pk if stage else None,
                             "missing": missing, "missing_labels": context["missing_labels"],
                             "errors": errors, "html": html}, status=422)
    return TemplateResponse(request, "crm/opportunity_move.html", context, status=422)


@login_required
@require_POST
def opportunity_move(request, pk: int):
    """Move a deal to ``stage`` (POST), with the fields the stage needs. JSON for the board (Accept:
    application/json): 200 with the card and the new column totals, or 422 naming the missing fields."""
    access.require_sales(request.user)
    opportunity = access.access_opportunity_by_id(request.user, pk)
    if not access.can_change(request.user, opportunity.owner_id):
        raise PermissionDenied
    form = MoveForm(request.POST, user=request.user, opportunity=opportunity)
    if not form.is_valid():
        stage = form.cleaned_data.get("stage")
        return _refusal(request, opportunity, stage, ValidationError(form.errors.as_data()))
    stage = form.cleaned_data["stage"]
    try:
        services.opportunity_move(actor=request.user, opportunity=opportunity, stage=stage,
                                  products=form.move_products(), **form.move_fields())
    except ValidationError as error:
        return _refusal(request, opportunity, stage, error)
    if wants_json(request):
        company = Company.current()
        _form, columns = _board_columns(request, QueryDict(request.POST.get("board_query", "")), company)
        card = selectors.card(request.user, opportunity.pk, company=company)
        html = render_to_string("crm/kanban_cards.html", {"cards": [card], "can_move": True}, request=request)
        return JsonResponse({"ok": True, "id": opportunity.pk, "stage": stage.pk, "card": html,
                             "columns": _totals(columns)})
    messages.success(request, _("Moved to %(stage)s.") % {"stage": stage.name})
    return redirect(_safe_next(request, reverse("crm:opportunity", args=[opportunity.pk])))


# -- the list and a deal ------------------------------------------------------------------------------------
def _money_col(key, title, value, sort=None):
    return Column(key, title, value, sort=sort, kind="money")


@login_required
def opportunities(request):
    access.require_sales(request.user)
    link = lambda o: reverse("crm:opportunity", args=[o.pk])  # noqa: E731 - a one-line column link
    columns = [
        Column("name", gettext_lazy("Opportunity"), lambda o: o.name, sort="name", link=link),
        Column("customer", gettext_lazy("Customer"), lambda o: o.customer.name, sort="customer__name"),
        Column("stage", gettext_lazy("Stage"), lambda o: o.stage.name, sort="stage__position"),
        Column("status", gettext_lazy("Status"), lambda o: o.get_status_display(), sort="status"),
        Column("owner", gettext_lazy("Owner"), lambda o: o.owner.name, sort="owner__name"),
        _money_col("amount", gettext_lazy("Amount"), lambda o: o.amount, sort="amount"),
        Column("probability", gettext_lazy("Probability %"), lambda o: o.stage.probability, sort="stage__probability",
               kind="number"),
        Column("expected_close", gettext_lazy("Expected close date"), lambda o: o.expected_close,
               sort="expected_close", kind="date"),
        Column("source", gettext_lazy("Source"), lambda o: o.source, sort="source"),
        Column("competitor", gettext_lazy("Competitor"), lambda o: o.competitor, sort="competitor"),
        Column("lost_reason", gettext_lazy("Lost reason"), lambda o: o.lost_reason, sort="lost_reason"),
        Column("created_on", gettext_lazy("Created on"), lambda o: o.created_on, sort="created_on", kind="date"),
        Column("closed_on", gettext_lazy("Closed on"), lambda o: o.closed_on, sort="closed_on", kind="date"),
    ]
    actions = [{"url": reverse("crm:pipeline"), "label": _("Board")}]
    if role_of(request.user) in access.WRITERS:
        actions.append({"url": reverse("crm:opportunity-new"), "label": _("New opportunity")})
    queryset = access.visible_opportunities(request.user).select_related("customer", "owner", "stage")
    return list_page(request, title=_("Opportunities"), queryset=queryset, columns=columns,
                     default_sort="-created_on", filename="opportunities",
                     filter_form=OpportunityFilter(request.GET or None, user=request.user), actions=actions)


@login_required
def opportunity(request, pk: int):
    access.require_sales(request.user)
    opp = access.access_opportunity_by_id(request.user, pk)
    can_change = access.can_change(request.user, opp.owner_id)
    quotes = [(q, reverse("crm:quote", args=[q.pk])) for q in selectors.quotes_of(request.user, opp)]
    stages = list(Stage.objects.filter(active=True).exclude(pk=opp.stage_id).order_by("position", "pk"))
    # the move offered first is the next step forward (not the first stage, a move back)
    ahead = [s for s in stages if (s.position, s.pk) > (opp.stage.position, opp.stage.pk)]
    return TemplateResponse(request, "crm/opportunity.html", {
        "opportunity": opp, "can_change": can_change,
        "products": opp.products.select_related("product"),
        "history": selectors.stage_history(opp),
        "activities": selectors.activities_of(request.user, opp),
        "quotes": quotes, "now": timezone.now(),
        "stages": stages, "next_stage": ahead[0] if ahead else None,
    })


def _deal_page(request, form, title, back_url):
    return TemplateResponse(request, "crm/opportunity_form.html", {"form": form, "title": title, "back_url": back_url})


@login_required
def opportunity_new(request):
    access.require_sales(request.user)
    require_writer(request.user)
    me = own_salesperson(request.user)
    initial = {"owner": me.pk if me else None, "customer": request.GET.get("customer")}
    form = OpportunityForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = form.deal_fields()
        name, owner = fields.pop("name"), fields.pop("owner")
        try:
            opp = services.opportunity_create(actor=request.user, customer=form.cleaned_data["customer"], owner=owner,
                                              name=name, stage=form.cleaned_data.get("stage"),
                                              products=form.products() or None, **fields)
        except ValidationError as error:
            add_service_errors(form, error, aliases={"products": "product_0"})
        else:
            messages.success(request, _("Saved."))
            return redirect("crm:opportunity", pk=opp.pk)
    return _deal_page(request, form, _("New opportunity"), reverse("crm:opportunities"))


@login_required
def opportunity_edit(request, pk: int):
    access.require_sales(request.user)
    opp = access.access_opportunity_by_id(request.user, pk)
    if not access.can_change(request.user, opp.owner_id):
        raise PermissionDenied
    form = OpportunityForm(request.POST or None, user=request.user, instance=opp)
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(actor=request.user, opportunity=opp, products=form.products(),
                                        **form.deal_fields())
        except ValidationError as error:
            add_service_errors(form, error, aliases={"products": "product_0"})
        else:
            messages.success(request, _("Saved."))
            return redirect("crm:opportunity", pk=opp.pk)
    return _deal_page(request, form, opp.name, reverse("crm:opportunity", args=[opp.pk]))


# -- stages -------------------------------------------------------------------------------------------------
def _require_configure(user) -> None:
    if not access.can_configure_stages(user):
        raise PermissionDenied


@login_required
def stages(request):
    """Every stage in order (drag or up/down to reorder), and a form to add one."""
    _require_configure(request.user)
    form = StageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.stage_create(actor=request.user, code=data["code"], name=data["name"],
                                  probability=data["probability"], is_won=data["is_won"], is_lost=data["is_lost"],
                                  required_fields=data["required_fields"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Stage %(name)s added.") % {"name": data["name"]})
            return redirect("crm:stages")
    all_stages = list(Stage.objects.order_by("position", "pk"))
    labels = dict(RequiredField.choices)
    rows = [{"stage": s, "required": [labels.get(f, f) for f in s.required_fields]} for s in all_stages]
    return TemplateResponse(request, "crm/stages.html", {"rows": rows, "form": form})


@login_required
def stage_edit(request, pk: int):
    _require_configure(request.user)
    stage = get_object_or_404(Stage, pk=pk)
    form = StageForm(request.POST or None, instance=stage)
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_update(actor=request.user, stage=stage, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("crm:stages")
    return TemplateResponse(request, "crm/stage_form.html", {"form": form, "stage": stage})


@login_required
@require_POST
def stage_reorder(request):
    """Reorder the stages: ``order`` (every stage id, in the new order — the drag) or ``stage`` and
    ``direction`` up/down (the buttons)."""
    _require_configure(request.user)
    ids = list(Stage.objects.order_by("position", "pk").values_list("pk", flat=True))
    try:
        if request.POST.get("order"):
            order = [int(x) for x in request.POST["order"].split(",") if x.strip()]
        else:
            moved = int(request.POST.get("stage", ""))
            i = ids.index(moved)
            j = i - 1 if request.POST.get("direction") == "up" else i + 1
            order = ids[:]
            if 0 <= j < len(ids):
                order[i], order[j] = order[j], order[i]
        services.stage_reorder(actor=request.user, stage_ids=order)
    except (ValueError, ValidationError) as error:
        text = " ".join(error.messages) if isinstance(error, ValidationError) else _("Name every stage exactly once.")
        if wants_json(request):
            return JsonResponse({"ok": False, "error": text}, status=422)
        messages.error(request, text)
        return redirect("crm:stages")
    if wants_json(request):
        return JsonResponse({"ok": True, "order": order})
    return redirect("crm:stages")


urlpatterns = [
    path("pipeline/", pipeline, name="pipeline"),
    path("opportunities/", opportunities, name="opportunities"),
    path("opportunities/new/", opportunity_new, name="opportunity-new"),
    path("opportunities/<int:pk>/", opportunity, name="opportunity"),
    path("opportunities/<int:pk>/edit/", opportunity_edit, name="opportunity-edit"),
    path("opportunities/<int:pk>/move/", opportunity_move, name="opportunity-move"),
    path("stages/", stages, name="stages"),
    path("stages/reorder/", stage_reorder, name="stage-reorder"),
    path("stages/<int:pk>/", stage_edit, name="stage-edit"),
]
