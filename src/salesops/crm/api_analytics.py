"""REST API of the sales-process analytics and the customer 360 figures: the numbers of the analytics pages and
of a customer's page as plain JSON.

Role in the flow: request → authentication → ``crm.api.SalesDataAccess`` (HR gets 403) → the page's own
controls (``crm.analytics_query``: ``AnalyticsForm`` read with the page's defaults; invalid controls are a 400
naming the field) → the same ``crm.analytics`` session and figure functions the page calls, over the same
scope (deals the user may not see are only in the company benchmark, whose deals are never linked for them) →
JSON. Nothing is computed here that the page does not compute the same way; this module only lays the results
out.

Shapes: every line (a group, the selection, the company) is ``{"kind", "by", "id", "name", "drill"}``; every
number is ``{"value", "url"}`` — ``url`` is the page's drill-down (``crm:analytics-deals``; the completeness
and quote figures lead where their pages lead), null when there is nothing behind it; the same query string on
``/api/sales-process/deals/`` returns the deals as JSON. Money, rates and days are Decimal strings (rates are
fractions: ``"0.5000"`` is 50 %), durations of quotes in hours; a period's ``end`` is its last day (inclusive).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesops.crm import access, analytics, completeness, customer360, recommendations
from salesops.crm import analytics_query as query
from salesops.crm import quotes as quote_services
from salesops.crm.api import SalesDataAccess
from salesops.crm.views.customers import RECOMMENDATIONS
from salesops.engine import pipeline as engine
from salesops.engine.periods import add_months
from salesops.engine.pipeline import Measure
from salesops.org.access import access_customer_by_id
from salesops.org.models import Customer

# -- layout ---------------------------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _num(value: Any, cell: query.Cell | None = None) -> dict:
    """A number and the page's drill-down behind it (none behind a missing figure, as on the page)."""
    url = cell.url if cell is not None and value is not None else None
    return {"value": _json(value), "url": url}


def _line(line: analytics.Line) -> dict:
    return {"kind": line.kind, "by": line.by, "id": line.group, "name": str(line.label), "drill": line.drill}


def _stage(stage: engine.Stage) -> dict:
    return {"id": stage.id, "code": stage.code, "name": stage.name}


def _change(change: engine.Change) -> dict:
    return {"absolute": _json(change.absolute), "relative": _json(change.relative)}


def _head(figure: str, r: query.Request) -> dict:
    return {"figure": figure, "by": r.by,
            "period": {"code": r.period.code, "start": r.period.start.isoformat(),
                       "end": (r.period.end - dt.timedelta(days=1)).isoformat()},
            "filters": {k: int(v) for k, v in r.scope.filters().items()}}


def _as_of(r: query.Request) -> dt.date:
    """The cut of the dwell and bottleneck pages: the form's, else the period's last day (today at the latest)."""
    return r.form.cleaned_data.get("as_of") or min(r.period.end - dt.timedelta(days=1), r.today)


# -- the figures ----------------------------------------------------------------------------------------------


def _funnel(request: Request, r: query.Request) -> dict:
    trend_start = add_months(r.period.end - dt.timedelta(days=1), -(query.TREND_MONTHS - 1))
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, figures = analytics.funnel(session, request.user, r.by, r.period.start, r.period.end)
        cohorts = analytics.cohort_trend(session, trend_start, r.period.end)
    rows = []
    for figure in query.plain(figures, line=lambda f: f.line):
        row, cell = figure.value, query.linker(r, figure.line)
        rows.append({
            "line": _line(figure.line),
            "created": _num(row.created, cell("", Measure.CREATED)),
            "steps": [{"stage": s.id, "reached": _num(n, cell("", Measure.REACHED, stage=s.id)),
                       "conversion": _num(c, cell("", Measure.CONVERTED, stage=s.id))}
                      for s, n, c in zip(stages, row.reached, row.conversion, strict=True)],
            "won": _num(row.won, cell("", Measure.WON)), "lost": _num(row.lost, cell("", Measure.LOST)),
            "open": _num(row.open, cell("", Measure.OPEN)),
            "win_rate": _num(row.win_rate, cell("", Measure.WON, Measure.LOST)),
            "cycle_days": _num(row.cycle_days, cell("", Measure.CYCLE)),
            "average_won": _num(row.average_won, cell("", Measure.WON))})
    subject = query.subject_of(figures)
    trend = None
    if subject is not None:
        cell = query.linker(r, subject.line, start=trend_start, end=r.period.end)
        trend = {"line": _line(subject.line), "start": trend_start.isoformat(), "cohorts": [{
            "month": row.cohort.strftime("%Y-%m"),
            "created": _num(row.created, cell("", Measure.CREATED, cohort=row.cohort)),
            "conversion": [{"stage": s.id, "value": _num(c, cell("", Measure.CONVERTED, cohort=row.cohort,
                                                                  stage=s.id))}
                           for s, c in zip(stages, row.conversion, strict=True)],
            "win_rate": _num(row.win_rate, cell("", Measure.WON, Measure.LOST, cohort=row.cohort)),
            "cycle_days": _num(row.cycle_days, cell("", Measure.CYCLE, cohort=row.cohort))} for row in cohorts]}
    return {"stages": [_stage(s) for s in stages], "rows": rows, "trend": trend}


def _dwell(request: Request, r: query.Request) -> dict:
    as_of = _as_of(r)
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, figures = analytics.dwell(session, request.user, r.by, r.period.start, r.period.end, as_of)
    figures = query.plain(figures, line=lambda f: f.line)
    rows = []
    for figure in figures:
        cell = query.linker(r, figure.line, as_of=as_of)
        rows.append({"line": _line(figure.line), "stages": [{
            "stage": d.stage.id,
            "stays": _num(d.stays, cell("", Measure.DWELT, stage=d.stage.id)),
            "median": _num(d.median, cell("", Measure.DWELT, stage=d.stage.id)),
            "p75": _num(d.p75, cell("", Measure.DWELT, stage=d.stage.id)),
            "in_progress": _num(d.in_progress, cell("", Measure.IN_STAGE, stage=d.stage.id)),
        } for d in figure.value]})
    groups = [f for f in figures if f.line.kind == "group"]
    slowest = query.slowest_groups(groups, next((f for f in figures if f.line.kind == "company"), None))
    return {"as_of": as_of.isoformat(), "stages": [_stage(s) for s in stages], "rows": rows,
            "slowest": [_line(f.line) for f in slowest]}


def _bottlenecks(request: Request, r: query.Request) -> dict:
    as_of = _as_of(r)
    min_deals = r.form.cleaned_data.get("min_deals") or 10
    with analytics.Session(analytics.load(), r.scope) as session:
        figures, not_judged = analytics.bottlenecks(session, request.user, r.by, r.period.start, r.period.end,
                                                    as_of, min_deals)
    groups = sum(f.line.kind == "group" for f in figures) + sum(line.kind == "group" for line in not_judged)
    rows = []
    for figure in query.plain(figures, line=lambda f: f.line, groups=groups):
        b, cell = figure.value, query.linker(r, figure.line, as_of=as_of)
        row: dict[str, Any] = {"line": _line(figure.line), "deals": _num(b.deals, cell("", Measure.CREATED)),
                               "conversion": None, "dwell": None}
        if b.conversion is not None:
            gap = b.conversion
            params = {**gap.params, "gain": r.money(gap.expected_gain)} if gap.expected_gain is not None \
                else dict(gap.params)
            stage = gap.stage.id
            row["conversion"] = {
                "stage": _stage(gap.stage), "message": _(gap.template).format(**params),
                "reached": _num(gap.reached, cell("", Measure.REACHED, stage=stage)),
                "converted": _num(gap.converted, cell("", Measure.CONVERTED, stage=stage)),
                "conversion": _num(gap.conversion, cell("", Measure.CONVERTED, stage=stage)),
                "benchmark": _json(gap.benchmark), "extra_deals": _json(gap.extra_deals),
                "expected_gain": _num(gap.expected_gain, cell("", Measure.REACHED, stage=stage))}
        if b.dwell is not None:
            gap = b.dwell
            row["dwell"] = {
                "stage": _stage(gap.stage), "message": _(gap.template).format(**gap.params),
                "median": _num(gap.median, cell("", Measure.DWELT, stage=gap.stage.id)),
                "benchmark": _json(gap.benchmark), "excess_days": _json(gap.excess_days)}
        rows.append(row)
    return {"as_of": as_of.isoformat(), "min_deals": min_deals, "rows": rows,
            "not_judged": [_line(line) for line in query.plain(not_judged, line=lambda line: line, groups=groups)]}


# factor → the deals behind it (as the velocity page links them)
VELOCITY_FACTORS: dict[str, tuple[Measure, ...]] = {
    "open_qualified": (Measure.OPEN_QUALIFIED,),
    "win_rate": (Measure.CLOSED_WON, Measure.CLOSED_LOST),
    "average_won": (Measure.CLOSED_WON,),
    "cycle_days": (Measure.CLOSED_WON,),
    "velocity": (Measure.OPEN_QUALIFIED, Measure.CLOSED_WON, Measure.CLOSED_LOST),
}


def _velocity(request: Request, r: query.Request) -> dict:
    qualified = query.qualified_position(r)
    with analytics.Session(analytics.load(), r.scope) as session:
        result, figures = analytics.velocity(session, request.user, r.by, r.period.start, r.period.end, qualified)
    rows = []
    for figure in query.plain(figures, line=lambda f: f.line):
        row = figure.value
        now = query.linker(r, figure.line, qualified_position=qualified)
        before = query.linker(r, figure.line, qualified_position=qualified, start=result.previous_start,
                               end=result.start)
        rows.append({"line": _line(figure.line), "factors": {name: {
            "current": _num(getattr(row.current, name), now("", *measures)),
            "previous": _num(getattr(row.previous, name), before("", *measures)),
            "change": _change(getattr(row, name))} for name, measures in VELOCITY_FACTORS.items()}})
    return {"qualified_position": qualified, "previous_period": {
        "start": result.previous_start.isoformat(), "end": (result.start - dt.timedelta(days=1)).isoformat()},
        "rows": rows}


def _pipeline(request: Request, r: query.Request) -> dict:
    close_period = r.form.cleaned_data.get("close_period") or "month"
    months = r.period.months()
    with analytics.Session(analytics.load(), r.scope) as session:
        closes, figures = analytics.weighted_pipeline(session, request.user, r.by, close_period)
        _monthly, by_month = (closes, figures) if close_period == "month" else \
            analytics.weighted_pipeline(session, request.user, r.by, "month")
    rows = []
    for figure in query.plain(figures, line=lambda f: f.line):
        cell = query.linker(r, figure.line, close_period=close_period)
        rows.append({
            "line": _line(figure.line),
            "cells": [{"close": _json(close), "weighted": _num(c.weighted, cell("", Measure.PIPELINE, closes=(close,))),
                       "deals": c.deals} for close in closes if (c := figure.cells.get(close))],
            "deals": _num(figure.total.deals, cell("", Measure.PIPELINE)),
            "unweighted": _num(figure.total.unweighted, cell("", Measure.PIPELINE)),
            "weighted": _num(figure.total.weighted, cell("", Measure.PIPELINE))})
    plan = analytics.target_plan(r.period)
    remaining = analytics.remaining_targets(request.user, plan, r.period, r.today) if plan else {}
    typed = r.form.cleaned_data.get("target")
    by_month = query.plain(by_month, line=lambda f: f.line)
    subject_kind = "company" if r.scope.everything else (
        "selection" if any(f.line.kind == "selection" for f in by_month) else "group")
    coverage = []
    for figure in by_month:
        line = figure.line
        cell = query.linker(r, line, close_period="month")
        deals, unweighted, weighted = analytics.in_period(figure, months)
        target = analytics.target_of(line, request.user, r.scope, remaining)
        source = plan.name if target is not None else None
        left = target.remaining if target is not None else None
        if target is None and typed is not None and line.kind == subject_kind:
            left, source = typed, "typed"
        coverage.append({
            "line": _line(line),
            "deals": _num(deals, cell("", Measure.PIPELINE, closes=tuple(months))),
            "unweighted": _num(unweighted, cell("", Measure.PIPELINE, closes=tuple(months))),
            "weighted": _num(weighted, cell("", Measure.PIPELINE, closes=tuple(months))),
            "target": _json(target.target) if target else None, "actual": _json(target.actual) if target else None,
            "remaining": _json(left), "met": left is not None and left <= 0, "source": source,
            "coverage": _json(engine.coverage(unweighted, left)) if left is not None else None,
            "weighted_coverage": _json(engine.coverage(weighted, left)) if left is not None else None})
    return {"close_period": close_period, "closes": [_json(c) for c in closes], "rows": rows,
            "months": [m.isoformat() for m in months], "plan": plan.name if plan else None, "coverage": coverage}


def _completeness(request: Request, r: query.Request) -> dict:
    customers = query.customers_of(request.user, r)
    summary = completeness.summary(customers)
    record_filter = query.record_filter(r)
    shares = query.completeness_shares(request.user, r, customers)
    return {
        "customers": summary.customers, "complete": summary.complete, "share": _json(summary.share),
        "incomplete": {"value": summary.incomplete, "url": completeness.records_url(**record_filter)},
        "missing": [{"code": req.code, "label": str(req.label), "count": {
            "value": summary.missing[req.code], "url": completeness.records_url(missing=req.code, **record_filter)}}
            for req in completeness.REQUIRED],
        "groups": [{"id": s.key, "name": s.name, "depth": s.depth, "customers": s.customers, "complete": s.complete,
                    "share": _json(s.share), "incomplete": {"value": s.incomplete, "url": s.url}} for s in shares],
        "worst": [{"id": rec.customer.pk, "name": rec.customer.name, "missing": [m.code for m in rec.missing]}
                  for rec in completeness.worst(customers)]}


def _quotes(request: Request, r: query.Request) -> dict:
    qs = query.quotes_of(request.user, r)
    overall = quote_services.quote_turnaround(qs)
    base = reverse("crm:analytics-quote-times")
    params = [(k, v) for k, v in request.query_params.items() if k in query.AnalyticsForm.COMMON]
    if not any(k == "period" for k, _v in params) and not r.form.data.get("start"):
        params.append(("period", r.period.code))

    def hours(delta):
        return _json(quote_services.hours(delta, Decimal("0.1")))

    def row(line: dict, summary, by: str, group: str) -> dict:
        def cell(value, step=""):
            extra = [("qby", by), ("g", group)] + ([("step", step)] if step else [])
            return {"value": value, "url": None if value is None else f"{base}?{urlencode(params + extra)}"}

        return {"line": line, "quotes": cell(summary.quotes), "routed": cell(summary.routed, "approval"),
                "hours_to_submit": cell(hours(summary.median_to_submit), "submit"),
                "hours_approval": cell(hours(summary.median_approval_wait), "approval"),
                "hours_to_send": cell(hours(summary.median_to_send), "send"),
                "hours_to_answer": cell(hours(summary.median_to_answer), "answer"),
                "answered": cell(summary.answered, "answered"), "accepted": cell(summary.accepted, "accepted")}

    rows = []
    if r.by == "owner":
        rows = [row({"kind": "group", "by": "owner", "id": s.owner_id, "name": f"{s.owner_name} ({s.employee_no})"},
                    s, "owner", str(s.owner_id)) for s in overall.by_owner]
    elif r.by in ("team", "region"):
        for g, label, sub in query.quote_groups(r, qs):
            rows.append(row({"kind": "group", "by": r.by, "id": None if g == "none" else int(g), "name": str(label)},
                            quote_services.quote_turnaround(sub).overall, r.by, g))
    total = row({"kind": "selection" if not r.scope.everything else "company", "by": "all", "id": None,
                 "name": str(_("All quotes of the selection") if not r.scope.everything
                             else _("All quotes"))}, overall.overall, "all", "")
    return {"rows": rows, "total": total}


FIGURES = {
    "funnel": (_funnel, (), ""),
    "dwell": (_dwell, ("as_of",), ""),
    "bottlenecks": (_bottlenecks, ("as_of", "min_deals"), "YTD"),
    "velocity": (_velocity, ("qualified",), ""),
    "pipeline": (_pipeline, ("close_period", "target"), ""),
    "completeness": (_completeness, (), ""),
    "quotes": (_quotes, (), ""),
}  # figure → (layout, the form's options the page reads, its default period)

CONTROLS = [
    OpenApiParameter("by", OpenApiTypes.STR, enum=["owner", "team", "region", "company"],
                     description=gettext_lazy("Dimension: rep (default), team, region or company.")),
    OpenApiParameter("period", OpenApiTypes.STR, description=gettext_lazy(
        "A period code (e.g. 2026-03, 2026-Q1, 2026-H1, FY2026, YTD); the current quarter by default.")),
    OpenApiParameter("start", OpenApiTypes.DATE, description=gettext_lazy("First day of a custom range.")),
    OpenApiParameter("end", OpenApiTypes.DATE, description=gettext_lazy("Last day of a custom range.")),
    OpenApiParameter("owner", OpenApiTypes.INT, description=gettext_lazy("Only this salesperson's deals.")),
    OpenApiParameter("team", OpenApiTypes.INT, description=gettext_lazy("Only deals of this team's subtree.")),
    OpenApiParameter("region", OpenApiTypes.INT,
                     description=gettext_lazy("Only deals of customers in this region's subtree.")),
]


def _controls(request: Request, options, default_period: str) -> query.Request:
    """The page's controls, read as the page reads them; a 400 naming each invalid one."""
    r = query.read_request(request, options=options, default_period=default_period)
    if isinstance(r, query.AnalyticsForm):
        raise ValidationError({name: list(errors) for name, errors in r.errors.items()})
    return r


class SalesProcessView(APIView):
    """One figure of the sales-process analytics pages, as the page shows it to the user: ``funnel``, ``dwell``,
    ``bottlenecks``, ``velocity``, ``pipeline``, ``completeness`` or ``quotes``. Per line (group, selection,
    company) every number with the page's drill-down address."""

    permission_classes = [IsAuthenticated, SalesDataAccess]

    @extend_schema(parameters=[
        OpenApiParameter("figure", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(FIGURES)),
        *CONTROLS,
        OpenApiParameter("as_of", OpenApiTypes.DATE, description=gettext_lazy(
            "dwell, bottlenecks: the cut (the period's last day, today at the latest, by default).")),
        OpenApiParameter("min_deals", OpenApiTypes.INT, description=gettext_lazy(
            "bottlenecks: judge groups with at least this many deals (10 by default).")),
        OpenApiParameter("qualified", OpenApiTypes.INT, description=gettext_lazy(
            "velocity: the stage (id) from which a deal counts as qualified.")),
        OpenApiParameter("close_period", OpenApiTypes.STR, enum=["month", "quarter", "year"],
                         description=gettext_lazy("pipeline: expected close by month, quarter or year.")),
        OpenApiParameter("target", OpenApiTypes.DECIMAL, description=gettext_lazy(
            "pipeline: the remaining target when no target plan has one.")),
    ], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, figure: str) -> Response:
        if figure not in FIGURES:
            raise Http404("No such figure.")
        layout, options, default_period = FIGURES[figure]
        r = _controls(request, options, default_period)
        return Response({**_head(figure, r), **layout(request, r)})


class SalesProcessDealsView(APIView):
    """The deals behind a figure: the query string of a figure's ``url`` (``crm.analytics.Key``). Only deals the
    user may see; a line they may not drill into (someone else's group, the company benchmark unless they see
    every deal) is a 404, as on the page."""

    permission_classes = [IsAuthenticated, SalesDataAccess]

    @extend_schema(parameters=[
        OpenApiParameter("m", OpenApiTypes.STR, many=True, required=True, enum=[str(m) for m in Measure],
                         description=gettext_lazy("The figure's measures (repeatable).")),
        OpenApiParameter("by", OpenApiTypes.STR, enum=[*analytics.DIMENSIONS, "scope"],
                         description=gettext_lazy("The line: a dimension, the selection (scope) or company.")),
        OpenApiParameter("g", OpenApiTypes.STR, description=gettext_lazy("The group's id, or none.")),
    ], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        found = query.drilldown(request.user, request.query_params)
        deals = (access.visible_opportunities(request.user).filter(pk__in=found.ids).order_by("pk")
                 .values_list("pk", "name"))
        return Response({"description": query.describe(found.key, found.label), "count": len(found.ids),
                         "results": [{"id": pk, "name": name} for pk, name in deals]})


class CustomerOverviewView(APIView):
    """A customer's 360 figures as their page shows them: last purchase, orders, net, margin and margin % of the
    last 12 months, the RFM scores and segment, the required fields the record misses, and the recommended
    products (reason in the request's language). A customer the user may not see is a 404."""

    permission_classes = [IsAuthenticated, SalesDataAccess]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        customer = access_customer_by_id(request.user, pk)
        customer = Customer.objects.select_related("segment").get(pk=customer.pk)
        today = timezone.localdate()
        figures = customer360.figures(customer, today)
        rfm = customer360.rfm_table(today).of(customer.pk)
        segment = rfm.segment if rfm else customer360.Segment.PROSPECT
        missing = completeness.missing_of(customer)
        return Response({
            "id": customer.pk, "name": customer.name, "as_of": today.isoformat(),
            "first_purchase": _json(figures.first_purchase), "last_purchase": _json(figures.last_purchase),
            "orders_12m": figures.orders_12m, "net_12m": _json(figures.net_12m),
            "margin_12m": _json(figures.margin_12m), "margin_pct_12m": _json(figures.margin_pct_12m),
            "net_total": _json(figures.net_total), "margin_total": _json(figures.margin_total),
            "rfm": None if rfm is None else {"recency_days": rfm.recency_days, "orders": rfm.orders,
                                             "net": _json(rfm.net), "r": rfm.r, "f": rfm.f, "m": rfm.m,
                                             "code": rfm.code},
            "segment": {"code": segment.value, "name": str(segment.label)},
            "completeness": {"required": len(completeness.REQUIRED),
                             "missing": [{"code": m.code, "label": str(m.label)} for m in missing]},
            "recommendations": [
                {"product": {"id": rec.product.pk, "sku": rec.product.sku, "name": rec.product.name},
                 "score": rec.score, "source": rec.source, "reason": rec.reason}
                for rec in recommendations.for_customer(customer, k=RECOMMENDATIONS)],
        })
