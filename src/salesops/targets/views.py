"""Pages of target plans: the list, the plan definition form, the plan page with its tree-table editor (locks,
commits, accepting commits, workflow), the version diff, attainment with the behind-pace list and a heatmap, and
Excel export/import. Each view: load through ``targets.access``, check the role, call a service, respond.

Nodes are addressed by their ``key`` (stable across re-allocations and versions), never by their id: an
allocation that changes the set of members stores the nodes afresh. Every figure shown comes from the stored
nodes, so totals always add up. The tree table's rows are built in Python (``_rows_html``), not in a template
loop, so that a 2,000-node plan re-renders quickly after each lock.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.engine.money import format_money
from salesops.engine.seasonality import fiscal_months
from salesops.org.access import visible_salesperson_ids
from salesops.org.models import Company
from salesops.targets import access, exporting, forms, services
from salesops.targets.attainment import actuals_by_node, parse_period, plan_attainment
from salesops.targets.dimensions import DIMENSIONS, Context
from salesops.targets.metrics import metric
from salesops.targets.models import PlanStatus, PotentialIndex, TargetMonth, TargetNode, TargetPlan
from salesops.targets.potential import potential_import
from salesops.web.lists import Column, list_page
from salesops.web.templatetags.salesops import pct_text

ZERO = Decimal(0)
TRANSITION_LABELS = {
    PlanStatus.SUBMITTED: gettext_lazy("Submit"),
    PlanStatus.APPROVED: gettext_lazy("Approve"),
    PlanStatus.LOCKED: gettext_lazy("Lock"),
    PlanStatus.DRAFT: gettext_lazy("Back to draft"),
}


# -- helpers ----------------------------------------------------------------------------------------------
def _plan(request, pk) -> tuple[TargetPlan, set[str] | None]:
    plan = access.access_plan_by_id(request.user, pk)
    return plan, access.visible_segments(request.user)


def formatter(plan: TargetPlan, company: Company) -> Callable[[Decimal | None], str]:
    """Money exactly as the ``{% money %}`` tag shows it (its settings looked up once, not per cell); units as
    plain numbers."""
    if metric(plan.metric).kind != "money":
        return lambda value: "—" if value is None else f"{value:,.2f}"
    options = {"symbol": company.currency_symbol, "unit": company.display_unit, "policy": company.rounding_policy,
               "wan_label": _(" ×10k")}
    return lambda value: "—" if value is None else format_money(Decimal(value), **options)


def tree_order(nodes: list[TargetNode]) -> list[TargetNode]:
    """Depth first, parents before children, siblings in the order they were stored (the engine's order)."""
    children: dict[int | None, list[TargetNode]] = {}
    for node in sorted(nodes, key=lambda n: n.pk):
        children.setdefault(node.parent_id, []).append(node)
    out: list[TargetNode] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children.get(node.pk, [])))
    return out


def level_labels(plan: TargetPlan) -> list[str]:
    labels = [str(_("Total"))]
    for level in plan.levels:
        label = str(DIMENSIONS.get(level.get("dimension"), level.get("dimension")))
        if level.get("dimension") != "salesperson" and "depth" in level:
            label = _("%(dimension)s (depth %(depth)s)") % {"dimension": label, "depth": level["depth"]}
        labels.append(label)
    return labels


@dataclass
class PlanTree:
    """The stored nodes of a plan as the user may see them, in tree order, with their months and bottom-up."""

    plan: TargetPlan
    all_nodes: list[TargetNode]  # every node (a scoped load: the loaded rows and their parents)
    nodes: list[TargetNode]  # visible, tree order (a scoped load: the loaded rows)
    months: dict[int, list[Decimal]]
    month_starts: list[dt.date]
    bottom_up: dict[int, Decimal | None]
    rolled: set[int]  # nodes whose bottom-up is the sum of their children's
    has_children: set[int]

    @classmethod
    def load(cls, plan: TargetPlan, segments: set[str] | None, with_months: bool = True,
             only: set[str] | None = None) -> PlanTree:
        """``only``: just the nodes of these keys (and their parents, for shares) are loaded as rows; the
        bottom-up still sums every node (from a narrow query), so an edit re-renders a few rows of a big plan
        without building thousands of model instances."""
        if only is None:
            all_nodes = tree_order(list(plan.nodes.all()))
            light = [(n.pk, n.parent_id, n.level, n.commit) for n in all_nodes]
        else:
            parents = {key.rsplit("/", 1)[0] if "/" in key else "" for key in only if key}
            all_nodes = tree_order(list(plan.nodes.filter(key__in=only | parents)))
            light = list(plan.nodes.values_list("pk", "parent_id", "level", "commit"))
        nodes = [n for n in all_nodes if access.key_visible(n.key, segments) and (only is None or n.key in only)]
        month_starts = [p.start for p in fiscal_months(plan.fiscal_year, Company.current().calendar)]
        months: dict[int, list[Decimal]] = {}
        if with_months and nodes:
            index = {m: i for i, m in enumerate(month_starts)}
            visible = {n.pk for n in nodes}
            rows = TargetMonth.objects.filter(node__plan=plan) if only is None else TargetMonth.objects.filter(
                node_id__in=visible)
            for node_id, month, value in rows.values_list("node_id", "month", "value"):
                if node_id in visible and month in index:
                    months.setdefault(node_id, [ZERO] * 12)[index[month]] = value
        # bottom-up: a node's own commit, else the sum of its children's bottom-up (when any child has one)
        bottom_up: dict[int, Decimal | None] = {}
        rolled: set[int] = set()
        has_children = {parent_id for _pk, parent_id, _level, _commit in light if parent_id}
        sums: dict[int, Decimal] = {}
        for pk, parent_id, _level, commit in sorted(light, key=lambda row: -row[2]):  # children before parents
            own = commit if commit is not None else sums.get(pk)
            if commit is None and pk in sums:
                rolled.add(pk)
            bottom_up[pk] = own
            if own is not None and parent_id:
                sums[parent_id] = sums.get(parent_id, ZERO) + own
        return cls(plan, all_nodes, nodes, months, month_starts, bottom_up, rolled, has_children)


WINDOW_FROM = 300  # open rows above which the tree table displays only a window of them (tree.js)
WINDOW_FIRST_ROWS = 60  # rows a windowed table arrives with, displayed


def _tree_context(request, plan: TargetPlan, segments, *, errors=(), warnings=(), error_key=None,
                  only: set[str] | None = None) -> dict:
    data = request.POST if request.method == "POST" else request.GET
    show_months = data.get("months") == "1"
    tree = PlanTree.load(plan, segments, with_months=show_months, only=only)
    labels = level_labels(plan)
    urls = {name: reverse(f"targets:node-{name}", args=[plan.pk])
            for name in ("lock", "unlock", "manual", "commit", "accept")}
    return {
        "plan": plan, "levels": list(enumerate(labels)), "show_months": show_months,
        "month_labels": [m.strftime("%Y-%m") for m in tree.month_starts] if show_months else [],
        "rows_html": _rows_html(request.user, tree, segments, urls, error_key if errors else None, show_months, only),
        "row_count": len(tree.nodes), "errors": list(errors), "warnings": list(warnings), "window_from": WINDOW_FROM,
        "treemap": _treemap(tree) if only is None else None, "plan_url": reverse("targets:plan", args=[plan.pk]),
    }


def _rows_html(user, tree: PlanTree, segments, urls: dict[str, str], error_key: str | None, show_months: bool,
               only: set[str] | None = None) -> str:
    """The tree table's rows (``only``: just the rows of these keys, each marked for an out-of-band swap). Built
    here rather than in a template loop: a 2,000-node plan renders in tens of milliseconds instead of a second.
    Every text that comes from data is escaped."""
    plan = tree.plan
    fmt = formatter(plan, Company.current())
    editable = plan.editable and access.can_edit(user)
    by_pk = {n.pk: n for n in tree.all_nodes}
    people = visible_salesperson_ids(user)
    t = {
        "toggle": escape(_("Expand or collapse")), "lock": escape(_("Lock at")),
        "unlock": escape(_("Unlock")), "commit": escape(_("Commit")), "accept": escape(_("Accept commit")),
        "locked": escape(_("locked")), "typed": escape(_("typed")), "type": escape(_("Typed value")),
        "untyped": escape(_("not typed: shares the rest equally")),
    }
    lock_cell = f'<td><span class="badge lock">{t["locked"]}</span></td>'
    typed_cell = f'<td><span class="badge">{t["typed"]}</span></td>'
    manual_levels = {k for k, level in enumerate(plan.levels, start=1) if level.get("method") == "manual"}
    methods: dict[str, str] = {}
    person_head, person_tail = reverse("org:person", args=[0]).rsplit("0", 1)  # one reverse() for all rows
    out = []
    oob = ' hx-swap-oob="true"' if only is not None else ""
    # a big table arrives with only its first rows displayed (tree.js then displays the window around the view), so
    # the browser never lays out thousands of rows at once
    shown = WINDOW_FIRST_ROWS if only is None and len(tree.nodes) > WINDOW_FROM else len(tree.nodes)
    for index, node in enumerate(tree.nodes):
        if only is not None and node.key not in only:
            continue
        parent = by_pk.get(node.parent_id)
        share = pct_text(node.value / parent.value) if parent is not None and parent.value else "—"
        bottom_up = tree.bottom_up.get(node.pk)
        gap = node.value - bottom_up if bottom_up is not None else None
        method = methods.get(node.method)
        if method is None:
            method = methods[node.method] = escape(forms.method_label(node.method))
        key = escape(node.key)
        name = escape(node.name)
        if node.dimension == "salesperson" and (people is None or node.member_id in people):
            name = f'<a href="{person_head}{node.member_id}{person_tail}">{name}</a>'
        classes = f"lv{node.level}{' locked' if node.locked else ''}{' err' if node.key == error_key else ''}"
        leaf = "" if node.pk in tree.has_children else " leaf"
        cells = [
            f'<td class="name" style="padding-left:{node.level * 18}px"><button type="button" class="twisty{leaf}" '
            f'data-toggle aria-label="{t["toggle"]}">▾</button>{name}</td>',
            f"<td>{method}</td>", f'<td class="num">{share}</td>',
            f'<td class="num muted">{escape(node.weight) if node.weight not in ("", "0") else ""}</td>',
            f'<td class="num value" data-value="{node.value:f}">{fmt(node.value)}</td>',
            lock_cell if node.locked else typed_cell if node.manual is not None else "<td></td>",
            (f'<td class="num" title="{escape(node.commit_note)}">{fmt(node.commit)}</td>' if node.commit is not None
             else "<td></td>"),
            f'<td class="num">{"Σ " if node.pk in tree.rolled else ""}{fmt(bottom_up) if bottom_up is not None else ""}</td>',
            f'<td class="num{" neg" if gap is not None and gap < 0 else ""}">{fmt(gap) if gap is not None else ""}</td>',
        ]
        if show_months:
            cells.extend(f'<td class="num m">{fmt(v)}</td>' for v in tree.months.get(node.pk, ()))
        edit = []
        if editable and node.key and node.level in manual_levels and not node.locked:
            typed = f"{node.manual:f}" if node.manual is not None else ""
            edit.append(f'<input class="cell" name="manual" inputmode="decimal" value="{typed}" '
                        f'placeholder="{node.value:f}" title="{t["untyped"] if not typed else t["type"]}" '
                        f'hx-post="{urls["manual"]}" aria-label="{t["type"]}">')
        elif editable and node.key:
            edit.append(f'<input class="cell" name="value" inputmode="decimal" value="{node.value:f}" '
                        f'hx-post="{urls["lock"]}" aria-label="{t["lock"]}">')
            if node.locked:
                edit.append(f'<button type="button" class="btn secondary small" hx-post="{urls["unlock"]}">'
                            f'{t["unlock"]}</button>')
        if access.may_commit(user, plan, node.key, segments):
            commit = f"{node.commit:f}" if node.commit is not None else ""
            edit.append(f'<input class="cell" name="commit" inputmode="decimal" value="{commit}" '
                        f'placeholder="{t["commit"]}" hx-post="{urls["commit"]}" aria-label="{t["commit"]}">')
        if editable and node.commit is not None and not (node.locked and node.commit == node.value):
            edit.append(f'<button type="button" class="btn secondary small" hx-post="{urls["accept"]}">'
                        f'{t["accept"]}</button>')
        cells.append(f"<td>{' '.join(edit)}</td>")
        hidden = " hidden" if index >= shown else ""
        out.append(f'<tr id="row-{node.pk}"{oob}{hidden} data-key="{key}" data-level="{node.level}" class="{classes}">'
                   f'{"".join(cells)}</tr>')
    return mark_safe("\n".join(out))  # noqa: S308 - built above from escaped data and our own markup


def _treemap(tree: PlanTree) -> list[dict]:
    """The visible forest as ECharts treemap data (values as strings; the chart only displays them)."""
    items: dict[int, dict] = {}
    roots: list[dict] = []
    for node in tree.nodes:
        item = {"name": node.name, "value": f"{node.value:f}"}
        items[node.pk] = item
        parent = items.get(node.parent_id)
        if parent is None:
            roots.append(item)
        else:
            parent.setdefault("children", []).append(item)
    return roots


def _row_state(plan: TargetPlan, key: str) -> dict[str, tuple]:
    """What a row shows that an edit of node ``key`` can change, per node key: the rows of its parent's subtree
    (a lock re-balances its siblings and their subtrees) and of its ancestors (a commit rolls up)."""
    parts = key.split("/") if key else []
    ancestors = ["/".join(parts[:n]) for n in range(len(parts) + 1)]
    parent = "/".join(parts[:-1])
    rows = plan.nodes.filter(Q(key__startswith=f"{parent}/") | Q(key__in=ancestors)) if parent else plan.nodes.all()
    return {k: rest for k, *rest in rows.values_list("key", "value", "locked", "commit", "manual")}


def _tree_response(request, plan, segments, *, errors=(), warnings=(), error_key=None, before=None):
    """An htmx request gets the re-rendered tree table — or, when ``before`` (the rows' state before the edit) is
    given and the plan kept its nodes, only the rows that changed and their ancestors, swapped out of band, so
    an edit in a plan of thousands of nodes sends a few rows; a plain form post goes back to the plan page.
    ``error_key`` is the edited node: ``before`` was taken around it (``_row_state``), and its row is marked when
    the edit was refused."""
    if getattr(request, "htmx", False):
        after = _row_state(plan, error_key) if before is not None else None
        if after is not None and set(after) == set(before):
            changed = {key for key, state in after.items() if state != before[key]}
            if errors and error_key is not None:
                changed.add(error_key)
            keys = set(changed)
            for key in changed:  # ancestors: their bottom-up, gap and shares follow their children
                parts = key.split("/")
                keys.update("/".join(parts[:n]) for n in range(len(parts)))
            context = _tree_context(request, plan, segments, errors=errors, warnings=warnings, error_key=error_key,
                                    only=keys)
            response = TemplateResponse(request, "targets/_tree_rows.html", context)
            response["HX-Reswap"] = "none"
            return response
        context = _tree_context(request, plan, segments, errors=errors, warnings=warnings, error_key=error_key)
        return TemplateResponse(request, "targets/_tree.html", context)
    for message in errors:
        messages.error(request, message)
    for message in warnings:
        messages.warning(request, message)
    if not errors:
        messages.success(request, _("Saved."))
    return redirect("targets:plan", pk=plan.pk)


def _messages_of(error: ValidationError) -> list[str]:
    return list(error.messages)


# -- list -------------------------------------------------------------------------------------------------
@login_required
def plans(request):
    queryset = access.visible_plans(request.user).select_related("owner")
    columns = [
        Column("name", gettext_lazy("Name"), lambda p: p.name, sort="name",
               link=lambda p: reverse("targets:plan", args=[p.pk])),
        Column("metric", gettext_lazy("Metric"), lambda p: p.get_metric_display(), sort="metric"),
        Column("fiscal_year", gettext_lazy("Fiscal year"), lambda p: p.fiscal_year, sort="fiscal_year", kind="number"),
        Column("total", gettext_lazy("Company total"), lambda p: p.total, sort="total", kind="money"),
        Column("status", gettext_lazy("Status"), lambda p: p.get_status_display(), sort="status"),
        Column("version", gettext_lazy("Version"), lambda p: p.version, sort="version", kind="number"),
        Column("owner", gettext_lazy("Owner"), lambda p: p.owner.get_full_name() or p.owner.username,
               sort="owner__username"),
    ]
    actions = ([{"url": reverse("targets:plan-new"), "label": _("New plan")},
                {"url": reverse("targets:potential"), "label": _("Potential tables")}]
               if access.can_edit(request.user) else [])
    return list_page(request, title=_("Target plans"), queryset=queryset, columns=columns, default_sort="-fiscal_year",
                     filename="target-plans", actions=actions)


# -- definition -------------------------------------------------------------------------------------------
def _apply_service_errors(error: ValidationError, form, levels) -> None:
    """Service errors on the form: level problems on the levels block, seasonality on the form, others on
    their field (or the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field == "levels":
            levels.service_errors = [m for e in errors for m in e.messages]
        elif field == "seasonality":
            form.add_error(None, errors)
        elif field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, errors)


@login_required
def plan_edit(request, pk: int | None = None):
    access.require_reader(request.user)
    plan = access.access_plan_by_id(request.user, pk) if pk else None
    access.require(access.can_edit(request.user))
    if plan is not None and not plan.editable:
        messages.error(request, _("Only a draft plan can change; make a new version."))
        return redirect("targets:plan", pk=plan.pk)
    form = forms.PlanForm(request.POST or None, plan=plan)
    levels = forms.level_formset(request.POST or None, plan=plan)
    levels.service_errors = []
    if request.method == "POST" and form.is_valid() and levels.is_valid():
        fields = form.plan_fields()
        fields["levels"] = levels.levels()
        try:
            if plan is None:
                saved = services.plan_create(actor=request.user, **fields)
            else:
                saved = services.plan_update(actor=request.user, plan=plan, **fields)
        except ValidationError as error:
            _apply_service_errors(error, form, levels)
        else:
            messages.success(request, _("Saved. Allocate the plan to compute its nodes."))
            return redirect("targets:plan", pk=saved.pk)
    title = _("Edit %(plan)s") % {"plan": plan} if plan else _("New target plan")
    return TemplateResponse(request, "targets/plan_form.html", {
        "form": form, "levels": levels, "plan": plan, "title": title,
        "back_url": reverse("targets:plan", args=[plan.pk]) if plan else reverse("targets:plans"),
    })


# -- the plan page ----------------------------------------------------------------------------------------
@login_required
def plan(request, pk: int):
    plan, segments = _plan(request, pk)
    user = request.user
    context = _tree_context(request, plan, segments)
    if getattr(request, "htmx", False) and request.htmx.target == "tree":
        return TemplateResponse(request, "targets/_tree.html", context)
    editor = access.can_edit(user)
    context.update({
        "transitions": ([(to, label) for to, label in TRANSITION_LABELS.items()
                         if to in services.TRANSITIONS[PlanStatus(plan.status)]] if editor else []),
        "can_edit": editor, "sees_whole": access.sees_whole_plans(user),
        "can_import": editor or access.can_commit_any(user),
        "upload_form": forms.UploadForm(), "level_rows": _level_rows(plan),
        "season": _season_text(plan),
    })
    return TemplateResponse(request, "targets/plan.html", context)


def _level_rows(plan: TargetPlan) -> list[dict]:
    rows = []
    typed = {}  # manual levels: how many of their nodes have a typed (or locked) value
    if any(level.get("method") == "manual" for level in plan.levels):
        typed = {row["level"]: (row["typed"], row["all"]) for row in plan.nodes.values("level").annotate(
            typed=Count("id", filter=Q(manual__isnull=False) | Q(locked=True)), all=Count("id"))}
    for i, level in enumerate(plan.levels, start=1):
        blend = level.get("blend") or {}
        method = forms.method_label(level.get("method", "equal"))
        if level.get("method") == "manual" and i in typed:
            method = _("%(method)s · %(typed)d of %(all)d typed") % {"method": method, "typed": typed[i][0],
                                                                       "all": typed[i][1]}
        rows.append({
            "n": i, "dimension": DIMENSIONS.get(level.get("dimension"), level.get("dimension")),
            "depth": level.get("depth", ""), "method": method,
            "window": level.get("window", ""), "mode": forms.MODE_LABELS.get(level.get("mode"), ""),
            "blend": " / ".join(str(blend.get(k, 0)) for k in ("historical", "potential", "equal")) if blend else "",
            "potential_table": level.get("potential_table", ""),
        })
    return rows


def _season_text(plan: TargetPlan) -> str:
    season = plan.seasonality or {}
    label = dict(forms.SEASONALITY_SOURCES).get(season.get("source", "history"), season.get("source"))
    text = str(label)
    if season.get("profile"):
        text += ": " + " · ".join(str(v) for v in season["profile"])
    if season.get("working_days"):
        text += " · " + _("adjusted for working days")
    return text


@login_required
@require_POST
def plan_transition(request, pk: int):
    plan, _segments = _plan(request, pk)
    access.require(access.can_edit(request.user))
    to = request.POST.get("to", "")
    if to not in PlanStatus.values:
        messages.error(request, _("Unknown status."))
        return redirect("targets:plan", pk=plan.pk)
    try:
        services.plan_transition(actor=request.user, plan=plan, to=to, comment=request.POST.get("comment", ""))
        messages.success(request, _("The plan is now %(status)s.") % {"status": PlanStatus(to).label})
    except ValidationError as error:
        messages.error(request, " ".join(_messages_of(error)))
    return redirect("targets:plan", pk=plan.pk)


@login_required
@require_POST
def plan_allocate(request, pk: int):
    plan, _segments = _plan(request, pk)
    access.require(access.can_edit(request.user))
    try:
        warnings = services.plan_allocate(actor=request.user, plan=plan)
    except ValidationError as error:
        for message in _messages_of(error):
            messages.error(request, message)
    else:
        messages.success(request, _("Allocated."))
        for message in warnings:
            messages.warning(request, message)
    return redirect("targets:plan", pk=plan.pk)


@login_required
@require_POST
def plan_new_version(request, pk: int):
    plan, _segments = _plan(request, pk)
    access.require(access.can_edit(request.user))
    copy = services.plan_new_version(actor=request.user, plan=plan)
    messages.success(request, _("Version %(n)d is a draft copy of the latest version.") % {"n": copy.version})
    return redirect("targets:plan", pk=copy.pk)


# -- node actions (htmx) ----------------------------------------------------------------------------------
def _key(request) -> str:
    return request.POST.get("key", "")


def _editor_node_action(request, pk: int, run, form=None, field: str = "", missing=()):
    """An editor's action on one node, answering with the table: ``run(node, value)`` returns the re-balance
    warnings; with a ``form``, its ``field`` is validated first (an invalid or missing value names the node)."""
    plan, segments = _plan(request, pk)
    access.require(access.can_edit(request.user))
    node = access.access_node_by_key(request.user, plan, _key(request))
    errors, warnings = [], []
    before = _row_state(plan, node.key)
    bound = form(request.POST) if form is not None else None
    if bound is not None and not bound.is_valid():
        errors = [f"{node.name}: {m}" for m in bound.errors.get(field, missing)]
    else:
        try:
            warnings = run(node, bound.cleaned_data[field] if bound is not None else None)
        except ValidationError as error:
            errors = _messages_of(error)
    return _tree_response(request, plan, segments, errors=errors, warnings=warnings, error_key=node.key, before=before)


@login_required
@require_POST
def node_lock(request, pk: int):
    return _editor_node_action(request, pk, lambda node, value: services.node_lock(
        actor=request.user, node=node, value=value), forms.LockForm, "value", [_("Type a target.")])


@login_required
@require_POST
def node_unlock(request, pk: int):
    return _editor_node_action(request, pk, lambda node, _value: services.node_unlock(actor=request.user, node=node))


@login_required
@require_POST
def node_manual(request, pk: int):
    """A typed value on a manual level; the level's untyped members share what is left."""
    return _editor_node_action(request, pk, lambda node, value: services.node_set_manual(
        actor=request.user, node=node, value=value), forms.ManualForm, "manual")


@login_required
@require_POST
def node_commit(request, pk: int):
    plan, segments = _plan(request, pk)
    access.require(access.can_commit_any(request.user))
    node = access.access_node_by_key(request.user, plan, _key(request))
    form = forms.CommitForm(request.POST)
    errors = []
    before = _row_state(plan, node.key)
    if not access.may_commit(request.user, plan, node.key, segments):
        errors = [_("%(node)s: commits are closed on a locked plan.") % {"node": node.name}]
    elif not form.is_valid():
        errors = [f"{node.name}: {m}" for m in form.errors.get("commit", [])]
    else:
        try:
            services.node_commit(actor=request.user, node=node, value=form.cleaned_data["commit"],
                                 note=form.cleaned_data.get("note", ""))
        except ValidationError as error:
            errors = [f"{node.name}: {m}" for m in _messages_of(error)]
    return _tree_response(request, plan, segments, errors=errors, error_key=node.key, before=before)


@login_required
@require_POST
def node_accept(request, pk: int):
    return _editor_node_action(request, pk, lambda node, _value: services.node_accept_commit(actor=request.user,
                                                                                            node=node))


# -- version diff -----------------------------------------------------------------------------------------
DIFF_FIELDS = ("name", "metric", "fiscal_year", "total", "unit", "levels", "seasonality", "behind_threshold",
               "specific", "measure", "achievable", "relevant", "deadline")


@login_required
def plan_diff(request, pk: int):
    plan, segments = _plan(request, pk)
    previous = plan.previous
    fmt = formatter(plan, Company.current())
    rows, fields = [], []
    if previous is not None:
        new = {n.key: n for n in tree_order(list(plan.nodes.all())) if access.key_visible(n.key, segments)}
        old = {n.key: n for n in tree_order(list(previous.nodes.all())) if access.key_visible(n.key, segments)}
        for key in [*new, *(k for k in old if k not in new)]:
            a, b = old.get(key), new.get(key)
            node = b or a
            change = "added" if a is None else "removed" if b is None else (
                "changed" if a.value != b.value or a.locked != b.locked else "same")
            diff = (b.value if b else ZERO) - (a.value if a else ZERO)
            rows.append({"key": key, "name": node.name, "level": node.level, "indent": node.level * 18,
                         "old": fmt(a.value) if a else "", "new": fmt(b.value) if b else "",
                         "diff": fmt(diff) if diff else "", "sign": diff.compare(ZERO), "change": change,
                         "old_locked": bool(a and a.locked), "new_locked": bool(b and b.locked)})
        if access.sees_whole_plans(request.user):
            for name in DIFF_FIELDS:
                before, after = getattr(previous, name), getattr(plan, name)
                if before != after:
                    fields.append({"label": TargetPlan._meta.get_field(name).verbose_name,
                                   "old": before, "new": after})
    counts = {c: sum(1 for r in rows if r["change"] == c) for c in ("added", "removed", "changed")}
    only_changes = request.GET.get("changes") == "1"
    return TemplateResponse(request, "targets/diff.html", {
        "plan": plan, "previous": previous, "fields": fields, "counts": counts, "only_changes": only_changes,
        "rows": [r for r in rows if r["change"] != "same"] if only_changes else rows,
    })


# -- attainment -------------------------------------------------------------------------------------------
def _today() -> dt.date:
    return timezone.localdate()


def default_period_code(plan: TargetPlan, calendar, today: dt.date) -> str:
    """The current quarter when today lies in the plan's fiscal year, else the plan's whole year."""
    if calendar.fiscal_year_of(today) == plan.fiscal_year:
        return calendar.quarter(today).code
    return f"FY{plan.fiscal_year}"


def period_choices(plan: TargetPlan, calendar) -> list[str]:
    year = calendar.parse(f"FY{plan.fiscal_year}")
    codes = [year.code] + [f"{plan.fiscal_year}-H{i}" for i in (1, 2)] + [f"{plan.fiscal_year}-Q{i}" for i in range(1, 5)]
    return codes + [calendar.month(m).code for m in year.months()]


def monthly_actuals(plan: TargetPlan, nodes: list[TargetNode], month_starts: list[dt.date], context: Context,
                    until: dt.date) -> dict[int, list[Decimal]]:
    """The metric's actual per node and month of the fiscal year (months after ``until`` are left at zero):
    each month's own amounts as ``attainment.actuals_by_node`` attributes them (one grouped query per month, one
    organisation context for all), rolled up the plan tree."""
    parents = {n.pk: n.parent_id for n in nodes}
    totals: dict[int, list[Decimal]] = {}
    for i, month in enumerate(month_starts):
        if month > until:
            break
        own, _unallocated = actuals_by_node(plan, [month], context)
        for pk, amount in own.items():
            node = pk
            while node is not None:
                totals.setdefault(node, [ZERO] * len(month_starts))[i] += amount
                node = parents.get(node)
    return totals


@login_required
def plan_attainment_page(request, pk: int):
    plan, segments = _plan(request, pk)
    company = Company.current()
    calendar = company.calendar
    today = _today()
    code = request.GET.get("period") or default_period_code(plan, calendar, today)
    try:
        period = parse_period(code, calendar, today)
    except ValueError:
        messages.error(request, _("“%(code)s” is not a period code (e.g. 2026-03, 2026-Q1, 2026-H1, FY2026, YTD).") % {
            "code": code})
        period = calendar.parse(default_period_code(plan, calendar, today))
    result = plan_attainment(plan, period, today)
    tree = PlanTree.load(plan, segments)
    fmt = formatter(plan, company)
    people = visible_salesperson_ids(request.user)
    by_pk = {n.pk: n for n in tree.all_nodes}

    def context(node) -> str:
        """The names above a node (below the total): the same person appears under each product line or region."""
        names, parent = [], by_pk.get(node.parent_id)
        while parent is not None and parent.parent_id is not None:
            names.append(parent.name)
            parent = by_pk.get(parent.parent_id)
        return " / ".join(reversed(names))

    rows, behind = [], []
    for node in tree.nodes:
        p = result.progress[node.pk]
        row = {
            "key": node.key, "name": node.name, "context": context(node), "level": node.level,
            "indent": node.level * 18,
            "target": fmt(p.target), "actual": fmt(p.actual), "attainment": pct_text(p.attainment),
            "time_progress": pct_text(p.time_progress),
            "projected": fmt(p.projected) if p.projected is not None else "—",
            "gap": (f"{p.gap_points.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):+f}"
                    if p.gap_points is not None else "—"),
            "gap_sign": p.gap_points.compare(ZERO) if p.gap_points is not None else 0, "behind": p.behind,
            "gap_value": p.gap_points,
            "person_url": (reverse("org:person", args=[node.member_id])
                           if node.dimension == "salesperson" and (people is None or node.member_id in people) else None),
        }
        rows.append(row)
        if p.behind:
            behind.append(row)
    behind.sort(key=lambda r: (r["gap_value"] is None, r["gap_value"] or ZERO))
    depth = heat_depth(tree.nodes, request.GET.get("heat_level"))
    heat_nodes = [n for n in tree.nodes if n.level <= depth]
    actuals = monthly_actuals(plan, tree.all_nodes, tree.month_starts,
                              Context.load(calendar.parse(f"FY{plan.fiscal_year}")), today)
    labels = level_labels(plan)
    heat_levels = [(level, labels[level] if level < len(labels) else str(level))
                   for level in sorted({n.level for n in tree.nodes})]
    return TemplateResponse(request, "targets/attainment.html", {
        "plan": plan, "period": period, "today": today, "rows": rows, "behind": behind,
        "unallocated": fmt(result.unallocated) if access.sees_whole_plans(request.user) else None,
        "periods": period_choices(plan, calendar), "threshold": plan.behind_threshold,
        "heat": heatmap(tree, heat_nodes, actuals, today), "heat_levels": heat_levels, "heat_depth": depth,
    })


HEAT_ROWS = 300  # beyond this a heatmap is unreadable: show fewer levels unless asked


def heat_depth(nodes: list[TargetNode], requested: str | None) -> int:
    """The deepest level the heatmap shows: the one asked for, else the deepest that keeps it to HEAT_ROWS rows."""
    levels = sorted({n.level for n in nodes})
    if requested and requested.isdigit() and int(requested) in levels:
        return int(requested)
    depth = levels[0] if levels else 0
    for level in levels:
        if sum(1 for n in nodes if n.level <= level) <= HEAT_ROWS:
            depth = level
    return depth


def heatmap(tree: PlanTree, nodes: list[TargetNode], actuals: dict[int, list[Decimal]], today: dt.date) -> dict:
    """ECharts heatmap data: rows are nodes (first node on top), columns the fiscal months; a cell is the month's
    attainment in % (half up, one place), none for months not started or without a target. Amounts are strings:
    the chart only displays them."""
    heat: dict = {"months": [m.strftime("%Y-%m") for m in tree.month_starts], "nodes": [], "cells": [],
                  "target": [], "actual": []}
    for r, node in enumerate(reversed(nodes)):
        heat["nodes"].append("　" * node.level + node.name)
        targets = tree.months.get(node.pk, [ZERO] * 12)
        actual = actuals.get(node.pk, [ZERO] * 12)
        heat["target"].append([f"{v:f}" for v in targets])
        heat["actual"].append([f"{v:f}" for v in actual])
        for c, month in enumerate(tree.month_starts):
            if month <= today and targets[c]:
                att = (actual[c] / targets[c] * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                heat["cells"].append([c, r, f"{att:f}"])
    return heat


# -- Excel ------------------------------------------------------------------------------------------------
@login_required
def plan_export(request, pk: int):
    plan, segments = _plan(request, pk)
    tree = PlanTree.load(plan, segments)
    data = exporting.plan_workbook(tree, level_labels(plan))
    response = HttpResponse(data, content_type=exporting.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"{plan.name} v{plan.version}.xlsx")
    return response


@login_required
@require_POST
def plan_import(request, pk: int):
    plan, segments = _plan(request, pk)
    access.require(access.can_edit(request.user) or access.can_commit_any(request.user))
    form = forms.UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for message in form.errors.get("file", []):
            messages.error(request, message)
        return redirect("targets:plan", pk=plan.pk)
    report = exporting.import_plan_file(request.user, plan, segments, form.cleaned_data["file"])
    if report.errors:
        messages.error(request, _("Nothing was imported: %(n)d row(s) have problems.") % {"n": len(report.errors)})
        for error in report.errors:
            messages.error(request, str(error))
    else:
        messages.success(request, _("Imported: %(locks)d lock(s), %(commits)d commit(s), %(typed)d typed value(s).") % {
            "locks": report.locks, "commits": report.commits, "typed": report.typed})
        for message in report.warnings:
            messages.warning(request, message)
    return redirect("targets:plan", pk=plan.pk)


# -- potential tables -----------------------------------------------------------------------------------------
@login_required
def potential_tables(request):
    """The potential tables (e.g. market size by region) the potential method reads; ops/admin replace them."""
    access.require(access.can_edit(request.user))
    form = forms.PotentialUploadForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(upload.name).name
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            saved, errors = potential_import(actor=request.user, name=form.cleaned_data["name"], path=path,
                                             encoding=form.cleaned_data["encoding"] or None,
                                             sheet=form.cleaned_data["sheet"] or None)
        if not errors:
            messages.success(request, _("Table %(name)s saved with %(n)d rows.") % {
                "name": form.cleaned_data["name"], "n": saved})
            return redirect("targets:potential")
    tables = (PotentialIndex.objects.values("name", "dimension").annotate(rows=Count("id"), total=Sum("value"))
              .order_by("name", "dimension"))
    return TemplateResponse(request, "targets/potential.html", {"form": form, "errors": errors, "tables": tables,
                                                                "dimensions": DIMENSIONS})
