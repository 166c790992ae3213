"""Pages: sales-process analytics — an overview, the funnel by creation cohort, stage dwell, bottlenecks, sales
velocity, the weighted pipeline with coverage, record completeness, quote turnaround — and the drill-downs: the
deals (or quotes) behind every number.

Who: the people with sales data (admin, ops, managers, reps, finance); HR gets 403. Every figure is made of the
deals the user may see that match the filter (``crm.analytics.Scope``), per group of the chosen dimension, with
the company's figure beside it as the benchmark; a drill-down into someone else's group or (unless the user
sees every deal) into the benchmark is a 404.

Every page reads the same controls (``crm.analytics_query.AnalyticsForm``: dimension, period — a period code or a
custom range —, owner/team/region filter, and the options of its figure; the API reads them the same way); the
numbers are ``Cell``s, their text formatted here and their drill-down address built by ``analytics_query.linker``,
so the templates only place them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.crm import access, analytics, analytics_query, completeness
from salesops.crm import quotes as quote_services
from salesops.crm.analytics_query import (
    DASH,
    TREND_MONTHS,
    AnalyticsForm,
    Cell,
    Request,
    completeness_shares,
    customers_of,
    describe,
    drilldown,
    linker,
    plain,
    qualified_position,
    quote_groups,
    quotes_of,
    read_request,
    record_filter,
    slowest_groups,
    subject_of,
)
from salesops.crm.models import QuoteStatus
from salesops.engine import pipeline as engine
from salesops.engine.periods import add_months
from salesops.engine.pipeline import Measure
from salesops.web.lists import Column, list_page
from salesops.web.templatetags.salesops import pct_text

PAGES = [
    ("crm:analytics", gettext_lazy("Overview")),
    ("crm:analytics-funnel", gettext_lazy("Funnel")),
    ("crm:analytics-dwell", gettext_lazy("Stage dwell")),
    ("crm:analytics-bottlenecks", gettext_lazy("Bottlenecks")),
    ("crm:analytics-velocity", gettext_lazy("Sales velocity")),
    ("crm:analytics-pipeline", gettext_lazy("Weighted pipeline")),
    ("crm:analytics-completeness", gettext_lazy("Record completeness")),
    ("crm:analytics-quotes", gettext_lazy("Quote turnaround")),
]


# -- the controls ---------------------------------------------------------------------------------------------


def _render(request, template: str, r: Request | AnalyticsForm, page: str, context: dict | None = None,
            charts: list | None = None):
    form = r if isinstance(r, AnalyticsForm) else r.form
    query = request.GET.copy()
    for name in ("page", "sort", "format"):
        query.pop(name, None)
    tabs = [{"url": f"{reverse(name)}?{query.urlencode()}" if query else reverse(name), "label": label,
             "active": name == page, "name": name.split(":")[1]} for name, label in PAGES]
    base = {"form": form, "tabs": tabs, "page": page, "heading": dict(PAGES).get(page, ""), "periods": form.period_codes(), "charts": charts or [],
            "r": None if isinstance(r, AnalyticsForm) else r}
    return TemplateResponse(request, template, {**base, **(context or {})},
                            status=400 if isinstance(r, AnalyticsForm) else 200)


# -- cells: a number and where it leads --------------------------------------------------------------------------


def _days(value: Decimal | None) -> str:
    return DASH if value is None else _("%(days)s d") % {"days": f"{value.normalize():f}"}


def _count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def _signed(value: Decimal | int, text: str) -> str:
    return f"+{text}" if value > 0 else text


def _change(change: engine.Change, kind: str, r: Request) -> str:
    """The move of a factor against the period before. A ratio (the win rate) moves in percentage points,
    never by a percentage of a percentage; an amount, a count or days by the relative change with the difference
    beside it ("+160.0% (+¥1,230.77)"), and by the difference alone when the period before had 0."""
    if change.absolute is None:
        return DASH
    if kind == "ratio":
        return _signed(change.absolute, _("%(points)s pts") % {"points": pct_text(change.absolute, 1).rstrip("%")})
    if kind == "money":
        difference = r.money(change.absolute)
    elif kind == "days":
        difference = _days(change.absolute)
    else:
        difference = _count(int(change.absolute))
    difference = _signed(change.absolute, difference)
    if change.relative is None:
        return difference
    return _("%(relative)s (%(difference)s)") % {
        "relative": _signed(change.relative, pct_text(change.relative, 1)), "difference": difference}


def _testid(line: analytics.Line, name: str) -> str:
    return f"{name}-{line.kind}-{'none' if line.group is None else line.group}"


# -- figures as rows ---------------------------------------------------------------------------------------------
def _funnel_rows(r: Request, stages, figures: list[analytics.Figure]) -> list[dict]:
    rows = []
    for figure in figures:
        line, row = figure.line, figure.value
        cell = linker(r, line)
        steps = []
        for stage, reached, conversion in zip(stages, row.reached, row.conversion, strict=True):
            steps.append({
                "reached": cell(_count(reached), Measure.REACHED, stage=stage.id,
                                testid=_testid(line, f"reached-{stage.code}")),
                "conversion": cell(pct_text(conversion, 1), Measure.CONVERTED, stage=stage.id)})
        rows.append({
            "line": line, "steps": steps,
            "created": cell(_count(row.created), Measure.CREATED, testid=_testid(line, "created")),
            "won": cell(_count(row.won), Measure.WON, testid=_testid(line, "won")),
            "lost": cell(_count(row.lost), Measure.LOST),
            "open": cell(_count(row.open), Measure.OPEN),
            "win_rate": cell(pct_text(row.win_rate, 1), Measure.WON, Measure.LOST,
                             testid=_testid(line, "win-rate")),
            "cycle": cell(_days(row.cycle_days), Measure.CYCLE, testid=_testid(line, "cycle")),
            "average_won": cell(r.money(row.average_won), Measure.WON),
        })
    return rows


def _funnel_chart(r: Request, stages, figure: analytics.Figure | None, chart_id: str) -> dict | None:
    if figure is None or not stages:
        return None
    row, cell = figure.value, linker(r, figure.line)
    items = [{"name": s.name, "value": n, "url": cell("", Measure.REACHED, stage=s.id).url}
             for s, n in zip(stages, row.reached, strict=True)]
    items.append({"name": _("Won"), "value": row.won, "url": cell("", Measure.WON).url})
    return {"id": chart_id, "kind": "funnel", "title": figure.line.label, "items": items}


def _velocity_rows(r: Request, result: engine.Velocity, figures: list[analytics.Figure],
                   qualified_position: int | None) -> list[dict]:
    rows = []
    for figure in figures:
        line, row = figure.line, figure.value
        now = linker(r, line, qualified_position=qualified_position)
        before = linker(r, line, qualified_position=qualified_position, start=result.previous_start,
                         end=result.start)
        rows.append({"line": line, "factors": [
            _factor(_("Open qualified deals"), _count(row.current.open_qualified),
                    _count(row.previous.open_qualified), row.open_qualified, "count", r, now, before,
                    (Measure.OPEN_QUALIFIED,), _testid(line, "open-qualified")),
            _factor(_("Win rate"), pct_text(row.current.win_rate, 1), pct_text(row.previous.win_rate, 1),
                    row.win_rate, "ratio", r, now, before, (Measure.CLOSED_WON, Measure.CLOSED_LOST),
                    _testid(line, "velocity-win-rate")),
            _factor(_("Average won deal"), r.money(row.current.average_won), r.money(row.previous.average_won),
                    row.average_won, "money", r, now, before, (Measure.CLOSED_WON,),
                    _testid(line, "average-won")),
            _factor(_("Cycle length"), _days(row.current.cycle_days), _days(row.previous.cycle_days),
                    row.cycle_days, "days", r, now, before, (Measure.CLOSED_WON,), _testid(line, "velocity-cycle")),
            _factor(_("Velocity per day"), r.money(row.current.velocity), r.money(row.previous.velocity),
                    row.velocity, "money", r, now, before,
                    (Measure.OPEN_QUALIFIED, Measure.CLOSED_WON, Measure.CLOSED_LOST), _testid(line, "velocity")),
        ]})
    return rows


def _factor(label, current: str, previous: str, change: engine.Change, kind: str, r: Request, now, before,
            measures: tuple[Measure, ...], testid: str) -> dict:
    direction = 0 if change.absolute is None or change.absolute == 0 else (1 if change.absolute > 0 else -1)
    if kind == "days":
        direction = -direction  # a shorter cycle is better
    return {"label": label, "current": now(current, *measures, testid=testid),
            "previous": before(previous, *measures), "change": _change(change, kind, r), "direction": direction}


# -- pages ---------------------------------------------------------------------------------------------------------
@login_required
def overview(request):
    """The headline figures per group: deals created, win rate, cycle, velocity, weighted pipeline; the funnel
    chart; record completeness and quote turnaround of the same scope."""
    r = read_request(request, options=("qualified",))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics.html", r, "crm:analytics")
    qualified = qualified_position(r)
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, funnel = analytics.funnel(session, request.user, r.by, r.period.start, r.period.end)
        result, speed = analytics.velocity(session, request.user, r.by, r.period.start, r.period.end, qualified)
        _closes, pipe = analytics.weighted_pipeline(session, request.user, r.by, "month")
        every = analytics.lines(session, request.user, r.by,
                                [f.line.group for f in (*funnel, *speed, *pipe) if f.line.kind == "group"])
    empty_funnel = analytics.Figure(every[0], analytics.empty_funnel(stages))
    funnel_rows = {f.line: row for f, row in zip(funnel, _funnel_rows(r, stages, funnel), strict=True)}
    speed_rows = {f.line: row for f, row in zip(speed, _velocity_rows(r, result, speed, qualified), strict=True)}
    weighted = {f.line: f.total.weighted for f in pipe}
    rows = []
    for line in every:
        if line not in funnel_rows:
            funnel_rows[line] = _funnel_rows(r, stages, [analytics.Figure(line, empty_funnel.value)])[0]
        if line not in speed_rows:
            speed_rows[line] = _velocity_rows(r, result, [analytics.Figure(line, analytics.empty_velocity(
                line.group))], qualified)[0]
        rows.append({"line": line, "funnel": funnel_rows[line], "velocity": speed_rows[line],
                     "weighted": linker(r, line)(r.money(weighted.get(line, Decimal("0.00"))), Measure.PIPELINE,
                                                  testid=_testid(line, "weighted"))})
    turnaround = quote_services.quote_turnaround(quotes_of(request.user, r))
    chart = _funnel_chart(r, stages, subject_of(funnel), "chart-funnel")
    subject = next((row for row in rows if row["line"].kind == "selection"), rows[-1])
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    return _render(request, "crm/analytics.html", r, "crm:analytics", {
        "completeness_url": reverse("crm:analytics-completeness") + query,
        "quotes_url": reverse("crm:analytics-quotes") + query,
        "rows": plain(rows), "subject": subject, "stages": stages, "records": completeness.summary(customers_of(request.user, r)),
        "turnaround": turnaround, "approval_wait": _hours_text(turnaround.overall.median_approval_wait),
        "to_send": _hours_text(turnaround.overall.median_to_send), "previous_start": result.previous_start,
    }, charts=[chart] if chart else [])


@login_required
def funnel_page(request):
    """Stage-to-stage conversion of the deals created in the period, per group; the funnel chart; conversion
    and win rate per creation month over the last twelve months."""
    r = read_request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_funnel.html", r, "crm:analytics-funnel")
    trend_start = add_months(r.period.end - dt.timedelta(days=1), -(TREND_MONTHS - 1))
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, figures = analytics.funnel(session, request.user, r.by, r.period.start, r.period.end)
        cohorts = analytics.cohort_trend(session, trend_start, r.period.end)
    charts = [c for c in [_funnel_chart(r, stages, subject_of(figures), "chart-funnel")] if c]
    subject = subject_of(figures)
    cohort_rows = []
    if subject is not None:
        line = subject.line
        cell = linker(r, line, start=trend_start, end=r.period.end)
        for row in cohorts:
            cohort_rows.append({
                "cohort": row.cohort.strftime("%Y-%m"),
                "created": cell(_count(row.created), Measure.CREATED, cohort=row.cohort,
                                testid=f"cohort-created-{row.cohort:%Y-%m}"),
                "conversion": [cell(pct_text(c, 1), Measure.CONVERTED, cohort=row.cohort, stage=s.id)
                               for s, c in zip(stages, row.conversion, strict=True)],
                "win_rate": cell(pct_text(row.win_rate, 1), Measure.WON, Measure.LOST, cohort=row.cohort),
                "cycle": cell(_days(row.cycle_days), Measure.CYCLE, cohort=row.cohort)})
        if cohorts:
            charts.append({
                "id": "chart-cohorts", "kind": "lines", "percent": True, "title": line.label,
                "x": [row.cohort.strftime("%Y-%m") for row in cohorts],
                "series": [{"name": _("%(stage)s → next") % {"stage": s.name},
                            "data": [row.conversion[s.index] for row in cohorts]} for s in stages]
                + [{"name": _("Win rate"), "data": [row.win_rate for row in cohorts]}]})
    return _render(request, "crm/analytics_funnel.html", r, "crm:analytics-funnel", {
        "stages": stages, "rows": plain(_funnel_rows(r, stages, figures)), "cohorts": cohort_rows,
        "trend_start": trend_start, "trend_label": subject.line.label if subject else ""}, charts=charts)


@login_required
def dwell_page(request):
    """How long deals stay in each open stage (median and p75 of the stays that ended in the period), per group,
    with box plots."""
    r = read_request(request, options=("as_of",))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_dwell.html", r, "crm:analytics-dwell")
    as_of = r.form.cleaned_data.get("as_of") or min(r.period.end - dt.timedelta(days=1), r.today)
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, figures = analytics.dwell(session, request.user, r.by, r.period.start, r.period.end, as_of)
    rows = []
    for figure in figures:
        line = figure.line
        cell = linker(r, line, as_of=as_of)
        rows.append({"line": line, "stages": [{
            "stays": cell(_count(d.stays), Measure.DWELT, stage=d.stage.id,
                          testid=_testid(line, f"stays-{d.stage.code}")),
            "median": cell(_days(d.median), Measure.DWELT, stage=d.stage.id,
                           testid=_testid(line, f"median-{d.stage.code}")),
            "p75": cell(_days(d.p75), Measure.DWELT, stage=d.stage.id),
            "in_progress": cell(_count(d.in_progress), Measure.IN_STAGE, stage=d.stage.id,
                                testid=_testid(line, f"in-stage-{d.stage.code}")),
        } for d in figure.value]})
    figures = plain(figures, line=lambda f: f.line)
    rows = plain(rows)
    groups = [f for f in figures if f.line.kind == "group"]
    slowest = slowest_groups(groups, next((f for f in figures if f.line.kind == "company"), None))
    charted = [f for f in figures if f.line.kind != "group"] + slowest
    charts = [{"id": "chart-dwell", "kind": "boxplot", "x": [s.name for s in stages], "unit": _("days"),
               "series": [{"name": f.line.label, "data": [list(d.box) if d.stays else [] for d in f.value]}
                          for f in charted]}] if stages else []
    return _render(request, "crm/analytics_dwell.html", r, "crm:analytics-dwell", {
        "stages": stages, "rows": rows, "as_of": as_of, "charted_groups": [f.line.label for f in slowest],
        "groups": len(groups), "min_stays": analytics_query.CHARTED_MIN_STAYS}, charts=charts)


@login_required
def bottlenecks_page(request):
    """For each group (and the selection), the stage where it loses most against the company — the lowest
    conversion relative to the company's, with the revenue matching it would bring, and the longest dwell."""
    r = read_request(request, options=("as_of", "min_deals"), default_period="YTD")  # enough deals to judge
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_bottlenecks.html", r, "crm:analytics-bottlenecks")
    as_of = r.form.cleaned_data.get("as_of") or min(r.period.end - dt.timedelta(days=1), r.today)
    min_deals = r.form.cleaned_data.get("min_deals") or 10
    with analytics.Session(analytics.load(), r.scope) as session:
        figures, not_judged = analytics.bottlenecks(session, request.user, r.by, r.period.start, r.period.end,
                                                    as_of, min_deals)
    rows = []
    for figure in figures:
        line, b = figure.line, figure.value
        cell = linker(r, line, as_of=as_of)
        row = {"line": line, "deals": cell(_count(b.deals), Measure.CREATED, testid=_testid(line, "deals")),
               "conversion": None, "dwell": None}
        if b.conversion is not None:
            gap = b.conversion
            params = {**gap.params, "gain": r.money(gap.expected_gain)} if gap.expected_gain is not None \
                else dict(gap.params)
            row["conversion"] = {
                "message": _(gap.template).format(**params), "stage": gap.stage.name,
                "reached": cell(_count(gap.reached), Measure.REACHED, stage=gap.stage.id,
                                testid=_testid(line, "gap-reached")),
                "converted": cell(_count(gap.converted), Measure.CONVERTED, stage=gap.stage.id,
                                  testid=_testid(line, "gap-converted")),
                "conversion": cell(pct_text(gap.conversion, 1), Measure.CONVERTED, stage=gap.stage.id),
                "benchmark": pct_text(gap.benchmark, 1), "extra": f"{gap.extra_deals}",
                "gain": cell(r.money(gap.expected_gain), Measure.REACHED, stage=gap.stage.id,
                             testid=_testid(line, "gain"))}
        if b.dwell is not None:
            gap = b.dwell
            row["dwell"] = {
                "message": _(gap.template).format(**gap.params), "stage": gap.stage.name,
                "median": cell(_days(gap.median), Measure.DWELT, stage=gap.stage.id,
                               testid=_testid(line, "dwell-median")),
                "benchmark": _days(gap.benchmark), "excess": _days(gap.excess_days)}
        rows.append(row)
    groups = sum(row["line"].kind == "group" for row in rows) + sum(line.kind == "group" for line in not_judged)
    return _render(request, "crm/analytics_bottlenecks.html", r, "crm:analytics-bottlenecks", {
        "rows": plain(rows, groups=groups), "not_judged": plain(not_judged, line=lambda line: line, groups=groups), "min_deals": min_deals, "as_of": as_of})


@login_required
def velocity_page(request):
    """Sales velocity per group against the period before, factor by factor, and its trend over the last twelve
    months."""
    r = read_request(request, options=("qualified",))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_velocity.html", r, "crm:analytics-velocity")
    qualified = qualified_position(r)
    last = dt.date(r.period.end.year, r.period.end.month, 1)
    last = last if last < r.period.end else add_months(last, -1)
    last = min(last, r.today.replace(day=1))  # no month still to come
    months = [add_months(last, -i) for i in range(TREND_MONTHS - 1, -1, -1)]
    with analytics.Session(analytics.load(), r.scope) as session:
        result, figures = analytics.velocity(session, request.user, r.by, r.period.start, r.period.end, qualified)
        trend_lines, series = analytics.velocity_trend(session, request.user, r.by, months, qualified)
    trend_lines = plain(trend_lines, line=lambda line: line)
    chart = {"id": "chart-velocity", "kind": "lines", "money": True, "x": [m.strftime("%Y-%m") for m in months],
             "series": [{"name": line.label, "data": series.get((line.kind, line.group), [])} for line in trend_lines]}
    return _render(request, "crm/analytics_velocity.html", r, "crm:analytics-velocity", {
        "rows": plain(_velocity_rows(r, result, figures, qualified)), "previous_start": result.previous_start,
        "previous_end": result.start - dt.timedelta(days=1), "qualified": qualified}, charts=[chart])


@login_required
def pipeline_page(request):
    """The weighted pipeline (amount × stage probability over the open deals) per group and expected-close
    period, and its coverage of the period's remaining target."""
    r = read_request(request, options=("close_period", "target"))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_pipeline.html", r, "crm:analytics-pipeline")
    close_period = r.form.cleaned_data.get("close_period") or "month"
    months = r.period.months()
    with analytics.Session(analytics.load(), r.scope) as session:
        closes, figures = analytics.weighted_pipeline(session, request.user, r.by, close_period)
        _monthly, by_month = (closes, figures) if close_period == "month" else \
            analytics.weighted_pipeline(session, request.user, r.by, "month")
    rows = []
    for figure in figures:
        cell = linker(r, figure.line, close_period=close_period)
        cells = []
        for close in closes:
            c = figure.cells.get(close)
            cells.append(cell(r.money(c.weighted), Measure.PIPELINE, closes=(close,),
                              testid=_testid(figure.line, f"weighted-{close or 'none'}")) if c else Cell(""))
        rows.append({"line": figure.line, "cells": cells,
                     "deals": cell(_count(figure.total.deals), Measure.PIPELINE, testid=_testid(figure.line, "open")),
                     "unweighted": cell(r.money(figure.total.unweighted), Measure.PIPELINE),
                     "weighted": cell(r.money(figure.total.weighted), Measure.PIPELINE,
                                      testid=_testid(figure.line, "weighted"))})
    plan = analytics.target_plan(r.period)
    remaining = analytics.remaining_targets(request.user, plan, r.period, r.today) if plan else {}
    typed = r.form.cleaned_data.get("target")
    by_month = plain(by_month, line=lambda f: f.line)
    # the line a typed target is for: the selection's (the one group's when it holds the whole selection)
    subject_kind = "company" if r.scope.everything else (
        "selection" if any(f.line.kind == "selection" for f in by_month) else "group")
    coverage = []
    for figure in by_month:
        line = figure.line
        cell = linker(r, line, close_period="month")
        deals, unweighted, weighted = analytics.in_period(figure, months)
        target = analytics.target_of(line, request.user, r.scope, remaining)
        source = plan.name if target is not None else ""
        left = target.remaining if target is not None else None
        if target is None and typed is not None and line.kind == subject_kind:
            left, source = typed, _("typed")
        met = left is not None and left <= 0  # actual at or above target: nothing left to cover
        coverage.append({
            "line": line, "deals": cell(_count(deals), Measure.PIPELINE, closes=tuple(months),
                                        testid=_testid(line, "coverage-deals")),
            "unweighted": cell(r.money(unweighted), Measure.PIPELINE, closes=tuple(months)),
            "weighted": cell(r.money(weighted), Measure.PIPELINE, closes=tuple(months)),
            "target": r.money(target.target) if target else DASH, "actual": r.money(target.actual) if target else DASH,
            "remaining": _("Target met") if met else r.money(left) if left is not None else DASH, "met": met,
            "source": source,
            "coverage": _times(engine.coverage(unweighted, left)) if left is not None else DASH,
            "weighted_coverage": _times(engine.coverage(weighted, left)) if left is not None else DASH,
            "testid": _testid(line, "coverage")})
    labels = {None: _("No date")}
    return _render(request, "crm/analytics_pipeline.html", r, "crm:analytics-pipeline", {
        "closes": [labels.get(c) or _close_label(c, close_period) for c in closes], "rows": plain(rows),
        "coverage": coverage, "plan": plan, "months": months})


def _close_label(day: dt.date, close_period: str) -> str:
    if close_period == "month":
        return day.strftime("%Y-%m")
    if close_period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def _times(value: Decimal | None) -> str:
    return DASH if value is None else _("%(times)s×") % {"times": value.quantize(Decimal("0.01"))}


@login_required
def completeness_page(request):
    """Customer-record completeness of the scope: which required fields are missing, the share of complete
    records per rep, team or region, and the worst records (``crm.completeness``)."""
    r = read_request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_completeness.html", r, "crm:analytics-completeness")
    customers = customers_of(request.user, r)
    summary = completeness.summary(customers)
    missing = [{"label": req.label, "count": Cell(_count(summary.missing[req.code]),
                                                  completeness.records_url(missing=req.code, **record_filter(r)),
                                                  f"missing-{req.code}")}
               for req in completeness.REQUIRED]
    shares = completeness_shares(request.user, r, customers)
    share_rows = [{"share": s, "name": s.name, "depth": s.depth, "customers": _count(s.customers),
                   "complete": _count(s.complete), "pct": pct_text(s.share, 1),
                   "incomplete": Cell(_count(s.incomplete), s.url, f"incomplete-{s.key or 'none'}")} for s in shares]
    return _render(request, "crm/analytics_completeness.html", r, "crm:analytics-completeness", {
        "summary": summary, "pct": pct_text(summary.share, 1), "missing": missing, "shares": share_rows,
        "incomplete": Cell(_count(summary.incomplete), completeness.records_url(**record_filter(r)),
                           "incomplete-all"),
        "worst": [{"customer": rec.customer, "missing": completeness.labels(rec.missing)}
                  for rec in completeness.worst(customers)]})


def _hours_text(delta: dt.timedelta | None) -> str:
    value = quote_services.hours(delta, Decimal("0.1"))
    return DASH if value is None else _("%(hours)s h") % {"hours": value}


QUOTE_STEPS: dict[str, Callable[[quote_services.QuoteTimes], bool]] = {
    # the quotes behind each figure of a turnaround row (``step`` in the drill-down's query)
    "submit": lambda q: q.to_submit is not None,
    "approval": lambda q: q.routed,
    "send": lambda q: q.to_send is not None,
    "answer": lambda q: q.to_answer is not None,
    "answered": lambda q: q.answered_at is not None,
    "accepted": lambda q: q.status == QuoteStatus.ACCEPTED,
}


def _group_quotes(r: Request, qs, by: str, group: str):
    if by == "owner":
        return qs.filter(owner_id=int(group))
    if by == "team":
        for token, _label, sub in quote_groups(r, qs):
            if token == group:
                return sub
        return qs.none()
    if by == "region":
        return qs.filter(customer__region__isnull=True) if group == "none" else qs.filter(customer__region_id=int(group))
    return qs


@login_required
def quotes_page(request):
    """Quote turnaround of the quotes created in the period (``crm.quotes.quote_turnaround``): created →
    submitted, the manager's approval wait, created → sent, sent → answered — medians overall and per group."""
    r = read_request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_quotes.html", r, "crm:analytics-quotes")
    qs = quotes_of(request.user, r)
    overall = quote_services.quote_turnaround(qs)
    base = reverse("crm:analytics-quote-times")
    query = [(k, v) for k, v in request.GET.items() if k in AnalyticsForm.COMMON]
    if not any(k == "period" for k, _v in query) and not r.form.data.get("start"):
        query.append(("period", r.period.code))

    def row(label, summary, by, group, testid):
        def cell(text, step=""):
            extra = [("qby", by), ("g", group)] + ([("step", step)] if step else [])
            return Cell(text, f"{base}?{urlencode(query + extra)}", f"{testid}-{step or 'quotes'}")

        return {"label": label, "quotes": cell(_count(summary.quotes)), "routed": cell(_count(summary.routed), "approval"),
                "to_submit": cell(_hours_text(summary.median_to_submit), "submit"),
                "approval": cell(_hours_text(summary.median_approval_wait), "approval"),
                "to_send": cell(_hours_text(summary.median_to_send), "send"),
                "to_answer": cell(_hours_text(summary.median_to_answer), "answer"),
                "answered": cell(_count(summary.answered), "answered"),
                "accepted": cell(_count(summary.accepted), "accepted")}

    rows = []
    if r.by == "owner":
        rows = [row(f"{s.owner_name} ({s.employee_no})", s, "owner", str(s.owner_id), f"quotes-{s.owner_id}")
                for s in overall.by_owner]
    elif r.by in ("team", "region"):
        for token, label, sub in quote_groups(r, qs):
            rows.append(row(label, quote_services.quote_turnaround(sub).overall, r.by, token, f"quotes-{token}"))
    total = row(_("All quotes of the selection") if not r.scope.everything else _("All quotes"), overall.overall,
                "all", "", "quotes-all")
    return _render(request, "crm/analytics_quotes.html", r, "crm:analytics-quotes", {"rows": rows, "total": total})


@login_required
def quote_times(request):
    """The quotes behind a turnaround figure, each with its times, linking to the quote."""
    r = read_request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_quote_times.html", r, "crm:analytics-quotes")
    by, group, step = request.GET.get("qby", "all"), request.GET.get("g", ""), request.GET.get("step", "")
    if by not in ("owner", "team", "region", "all") or (step and step not in QUOTE_STEPS):
        raise Http404("No such figure.")
    qs = quotes_of(request.user, r)
    try:
        qs = _group_quotes(r, qs, by, group)
    except ValueError:
        raise Http404("No such group.") from None
    turnaround = quote_services.quote_turnaround(qs)
    chosen = QUOTE_STEPS.get(step)
    items = [q for q in turnaround.quotes if chosen is None or chosen(q)]
    statuses = dict(QuoteStatus.choices)
    rows = [{"number": Cell(q.number, reverse("crm:quote", args=[q.quote_id]), f"quote-{q.quote_id}"),
             "status": statuses.get(q.status, q.status), "to_submit": _hours_text(q.to_submit),
             "approval": _hours_text(q.approval_wait), "to_send": _hours_text(q.to_send),
             "to_answer": _hours_text(q.to_answer), "routed": q.routed}
            for q in items]
    step_labels = {"submit": _("created → submitted"), "approval": _("waiting for the manager's approval"),
                   "send": _("created → sent"), "answer": _("sent → answered"), "answered": _("answered"),
                   "accepted": _("accepted")}
    return _render(request, "crm/analytics_quote_times.html", r, "crm:analytics-quotes", {
        "rows": rows, "step": step_labels.get(step, ""), "count": len(rows)})


# -- the drill-down --------------------------------------------------------------------------------------------


@login_required
def deals(request):
    """The deals behind one figure, named by its key in the query string (``crm.analytics.Key``): only deals the
    user may see; a line they may not drill into is a 404."""
    access.require_sales(request.user)
    found = drilldown(request.user, request.GET)
    qs = (access.visible_opportunities(request.user).filter(pk__in=found.ids)
          .select_related("customer", "owner", "stage"))
    columns = [
        Column("name", gettext_lazy("Opportunity"), lambda o: o.name, sort="name",
               link=lambda o: reverse("crm:opportunity", args=[o.pk])),
        Column("customer", gettext_lazy("Customer"), lambda o: o.customer.name, sort="customer__name"),
        Column("owner", gettext_lazy("Owner"), lambda o: o.owner.name, sort="owner__name"),
        Column("stage", gettext_lazy("Stage"), lambda o: o.stage.name, sort="stage__position"),
        Column("status", gettext_lazy("Status"), lambda o: o.get_status_display(), sort="status"),
        Column("amount", gettext_lazy("Amount"), lambda o: o.amount, sort="amount", kind="money"),
        Column("created_on", gettext_lazy("Created on"), lambda o: o.created_on, sort="created_on", kind="date"),
        Column("closed_on", gettext_lazy("Closed on"), lambda o: o.closed_on, sort="closed_on", kind="date"),
        Column("expected_close", gettext_lazy("Expected close date"), lambda o: o.expected_close,
               sort="expected_close", kind="date"),
    ]
    description = describe(found.key, found.label)
    response = list_page(request, title=_("Deals behind the figure"), queryset=qs, columns=columns,
                         default_sort="created_on", filename="deals", intro=description)
    if isinstance(response, TemplateResponse) and response.template_name == "web/list.html":
        response.template_name = "crm/analytics_deals.html"
        response.context_data.update({"count": len(found.ids), "description": description,
                                      "back": _safe_back(request)})
    return response


def _safe_back(request) -> str:
    target = request.META.get("HTTP_REFERER", "")
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and ok else ""


urlpatterns = [
    path("analytics/", overview, name="analytics"),
    path("analytics/funnel/", funnel_page, name="analytics-funnel"),
    path("analytics/dwell/", dwell_page, name="analytics-dwell"),
    path("analytics/bottlenecks/", bottlenecks_page, name="analytics-bottlenecks"),
    path("analytics/velocity/", velocity_page, name="analytics-velocity"),
    path("analytics/pipeline/", pipeline_page, name="analytics-pipeline"),
    path("analytics/completeness/", completeness_page, name="analytics-completeness"),
    path("analytics/quotes/", quotes_page, name="analytics-quotes"),
    path("analytics/quotes/times/", quote_times, name="analytics-quote-times"),
    path("analytics/deals/", deals, name="analytics-deals"),
]
