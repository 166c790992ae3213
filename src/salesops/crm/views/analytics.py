"""Pages: sales-process analytics — an overview, the funnel by creation cohort, stage dwell, bottlenecks, sales
velocity, the weighted pipeline with coverage, record completeness, quote turnaround — and the drill-downs: the
deals (or quotes) behind every number.

Who: the people with sales data (admin, ops, managers, reps, finance); HR gets 403. Every figure is made of the
deals the user may see that match the filter (``crm.analytics.Scope``), per group of the chosen dimension, with
the company's figure beside it as the benchmark; a drill-down into someone else's group or (unless the user
sees every deal) into the benchmark is a 404.

Every page reads the same controls (``AnalyticsForm``: dimension, period — a period code or a custom range —,
owner/team/region filter, and the options of its figure); the numbers are ``Cell``s, their text formatted and
their drill-down address built here, so the templates only place them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from salesops.core.roles import Role, role_of
from salesops.crm import access, analytics, completeness
from salesops.crm import quotes as quote_services
from salesops.crm.models import QuoteStatus, Stage
from salesops.crm.selectors import people_in_team
from salesops.engine import pipeline as engine
from salesops.engine.periods import Period, PeriodKind, add_months
from salesops.engine.pipeline import Measure
from salesops.org.access import managed_team_ids, visible_to
from salesops.org.models import Assignment, Company, Customer, Region, Salesperson, Team, active_on
from salesops.targets.attainment import parse_period
from salesops.web.lists import Column, list_page
from salesops.web.templatetags.salesops import money_text, pct_text

SALES_ROLES = (Role.ADMIN, Role.OPS, Role.MANAGER, Role.REP, Role.FINANCE)
TREND_MONTHS = 12

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


def require_sales(user) -> None:
    if role_of(user) not in SALES_ROLES:
        raise PermissionDenied


# -- the controls ---------------------------------------------------------------------------------------------
class AnalyticsForm(forms.Form):
    """Dimension, period, filter, and the options of each figure (a page shows the ones it reads)."""

    by = forms.ChoiceField(label=gettext_lazy("Dimension"), required=False, choices=[
        ("owner", gettext_lazy("Rep")), ("team", gettext_lazy("Team")), ("region", gettext_lazy("Region")),
        ("company", gettext_lazy("Company"))])
    period = forms.CharField(label=gettext_lazy("Period"), required=False, max_length=16,
                             widget=forms.TextInput(attrs={"list": "analytics-periods", "size": 12,
                                                           "class": "period-code"}))
    start = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=gettext_lazy("To (inclusive)"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=Salesperson.objects.none(), required=False)
    team = forms.ModelChoiceField(label=gettext_lazy("Team (with sub-teams)"), queryset=Team.objects.none(),
                                  required=False)
    region = forms.ModelChoiceField(label=gettext_lazy("Region (with sub-regions)"),
                                    queryset=Region.objects.order_by("path"), required=False)
    # options of single figures
    as_of = forms.DateField(label=gettext_lazy("Cut (as of)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    qualified = forms.ModelChoiceField(label=gettext_lazy("Qualified from stage"), queryset=Stage.objects.none(),
                                       required=False)
    min_deals = forms.IntegerField(label=gettext_lazy("Judge groups with at least … deals"), required=False,
                                   min_value=1, max_value=100000)
    close_period = forms.ChoiceField(label=gettext_lazy("Expected close by"), required=False, choices=[
        ("month", gettext_lazy("Month")), ("quarter", gettext_lazy("Quarter")), ("year", gettext_lazy("Year"))])
    target = forms.DecimalField(label=gettext_lazy("Remaining target (when no target plan has one)"),
                                required=False, min_value=Decimal(0), max_digits=18, decimal_places=2)

    COMMON = ("by", "period", "start", "end", "owner", "team", "region")

    def __init__(self, *args, user, calendar, today: dt.date, options: Iterable[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.calendar, self.today = calendar, today
        for name in [n for n in self.fields if n not in self.COMMON and n not in options]:
            del self.fields[name]
        self.fields["owner"].queryset = visible_to(user, Salesperson).order_by("employee_no")
        self.fields["owner"].label_from_instance = lambda p: f"{p.name} ({p.employee_no})"
        teams = managed_team_ids(user) if role_of(user) == Role.MANAGER else None
        self.fields["team"].queryset = (Team.objects.order_by("path") if teams is None
                                        else Team.objects.filter(pk__in=teams).order_by("path"))
        for name in ("team", "region"):
            self.fields[name].label_from_instance = lambda n: "— " * n.depth + n.name
        if "qualified" in self.fields:
            self.fields["qualified"].queryset = Stage.objects.filter(is_won=False, is_lost=False).order_by(
                "position", "pk")

    def clean(self):
        data = super().clean()
        start, end, code = data.get("start"), data.get("end"), (data.get("period") or "").strip()
        if start or end:
            if not (start and end):
                self.add_error("end" if start else "start", _("A custom range needs both dates."))
            elif end < start:
                self.add_error("end", _("The range ends before it starts."))
            else:
                data["range"] = Period(start, end + dt.timedelta(days=1), PeriodKind.MONTH,
                                       f"{start.isoformat()} – {end.isoformat()}")
        else:
            try:
                data["range"] = (parse_period(code, self.calendar, self.today) if code
                                 else self.calendar.quarter(self.today))
            except ValueError:
                self.add_error("period", _("Not a period: use e.g. 2026-03, 2026-Q1, 2026-H1, FY2026 or YTD."))
        data["by"] = data.get("by") or "owner"
        return data

    def period_codes(self) -> list[str]:
        month = self.calendar.month(self.today)
        quarter = self.calendar.quarter(self.today)
        year = self.calendar.year(self.today)
        return ([self.calendar.shift(month, -i).code for i in range(12)]
                + [self.calendar.shift(quarter, -i).code for i in range(6)]
                + [year.code, self.calendar.shift(year, -1).code, "YTD"])

    def common_fields(self):
        return [self[name] for name in self.COMMON]

    def option_fields(self):
        return [self[name] for name in self.fields if name not in self.COMMON]


@dataclass
class Request:
    """What every page computes from: the validated controls, the scope and the company."""

    form: AnalyticsForm
    by: str
    period: Period
    scope: analytics.Scope
    company: Company
    today: dt.date
    deals_base: str

    def key(self, **fields) -> analytics.Key:
        return analytics.Key(measures=(), by="company", start=self.period.start, end=self.period.end,
                             filters=self.scope.filters()).with_(**fields)

    def url(self, key: analytics.Key) -> str:
        return f"{self.deals_base}?{urlencode(key.query())}"

    def money(self, value) -> str:
        return money_text(value, self.company)


def _request(request, options: Iterable[str] = (), default_period: str = "") -> Request | AnalyticsForm:
    """The page's controls read and checked; the form (with its errors) when they are not valid. Without a
    dimension: by rep; without a period or a range: ``default_period`` (else the current quarter), whether or
    not other controls are set, so ``?by=team`` covers the same period as the bare page."""
    require_sales(request.user)
    company = Company.current()
    today = timezone.localdate()
    data = request.GET.copy()
    if not any(data.get(name, "").strip() for name in ("period", "start", "end")):
        data["period"] = default_period or company.calendar.quarter(today).code
    if not data.get("by"):
        data["by"] = "owner"
    form = AnalyticsForm(data, user=request.user, calendar=company.calendar, today=today, options=options)
    if not form.is_valid():
        return form
    data = form.cleaned_data
    scope = analytics.Scope.of(request.user, owner=data.get("owner"), team=data.get("team"),
                               region=data.get("region"))
    return Request(form, data["by"], data["range"], scope, company, today, reverse("crm:analytics-deals"))


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
@dataclass(frozen=True)
class Cell:
    """A figure as shown: its text, and the address of what is behind it (None: no drill-down)."""

    text: str
    url: str | None = None
    testid: str = ""

    def __html__(self) -> SafeString:
        if not self.url or self.text == DASH:  # nothing behind a missing figure
            return conditional_escape(self.text)
        testid = format_html(' data-testid="{}"', self.testid) if self.testid else ""
        return format_html('<a href="{}"{}>{}</a>', self.url, testid, self.text)

    def __str__(self) -> str:
        return self.__html__()


DASH = "—"


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


def _linker(r: Request, line: analytics.Line, **base) -> Callable[..., Cell]:
    """``cell(text, *measures, testid=..., **key fields)``: a Cell leading to the line's deals of ``measures``."""
    key = r.key(by=line.by, group=line.group, **base)

    def cell(text: str, *measures: Measure, testid: str = "", **fields) -> Cell:
        if not line.drill or not measures:
            return Cell(text)
        return Cell(text, r.url(key.with_(measures=measures, **fields)), testid)

    return cell


def _testid(line: analytics.Line, name: str) -> str:
    return f"{name}-{line.kind}-{'none' if line.group is None else line.group}"


# -- figures as rows ---------------------------------------------------------------------------------------------
def _funnel_rows(r: Request, stages, figures: list[analytics.Figure]) -> list[dict]:
    rows = []
    for figure in figures:
        line, row = figure.line, figure.value
        cell = _linker(r, line)
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
    row, cell = figure.value, _linker(r, figure.line)
    items = [{"name": s.name, "value": n, "url": cell("", Measure.REACHED, stage=s.id).url}
             for s, n in zip(stages, row.reached, strict=True)]
    items.append({"name": _("Won"), "value": row.won, "url": cell("", Measure.WON).url})
    return {"id": chart_id, "kind": "funnel", "title": figure.line.label, "items": items}


def _plain(rows: list, line=lambda row: row["line"], groups: int | None = None) -> list:
    """``rows`` without the selection's when one group holds the whole selection (the two lines are equal: a
    rep's own line, a manager's one team). ``groups``: how many groups the figure has, when not all have a row."""
    if groups is None:
        groups = sum(line(row).kind == "group" for row in rows)
    return [row for row in rows if line(row).kind != "selection"] if groups == 1 else rows


def _subject(figures: list[analytics.Figure]) -> analytics.Figure | None:
    """The line the charts show: the selection, else the company."""
    for kind in ("selection", "company"):
        for figure in figures:
            if figure.line.kind == kind:
                return figure
    return None


def _velocity_rows(r: Request, result: engine.Velocity, figures: list[analytics.Figure],
                   qualified_position: int | None) -> list[dict]:
    rows = []
    for figure in figures:
        line, row = figure.line, figure.value
        now = _linker(r, line, qualified_position=qualified_position)
        before = _linker(r, line, qualified_position=qualified_position, start=result.previous_start,
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
    r = _request(request, options=("qualified",))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics.html", r, "crm:analytics")
    qualified = _qualified_position(r)
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
                     "weighted": _linker(r, line)(r.money(weighted.get(line, Decimal("0.00"))), Measure.PIPELINE,
                                                  testid=_testid(line, "weighted"))})
    turnaround = quote_services.quote_turnaround(_quotes(request.user, r))
    chart = _funnel_chart(r, stages, _subject(funnel), "chart-funnel")
    subject = next((row for row in rows if row["line"].kind == "selection"), rows[-1])
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    return _render(request, "crm/analytics.html", r, "crm:analytics", {
        "completeness_url": reverse("crm:analytics-completeness") + query,
        "quotes_url": reverse("crm:analytics-quotes") + query,
        "rows": _plain(rows), "subject": subject, "stages": stages, "records": completeness.summary(_customers(request.user, r)),
        "turnaround": turnaround, "approval_wait": _hours_text(turnaround.overall.median_approval_wait),
        "to_send": _hours_text(turnaround.overall.median_to_send), "previous_start": result.previous_start,
    }, charts=[chart] if chart else [])


def _qualified_position(r: Request) -> int | None:
    stage = r.form.cleaned_data.get("qualified")
    if stage is None and "qualified" not in r.form.data:
        stage = Stage.objects.filter(code="qualified", is_won=False, is_lost=False).first()
    return stage.position if stage else None


@login_required
def funnel_page(request):
    """Stage-to-stage conversion of the deals created in the period, per group; the funnel chart; conversion
    and win rate per creation month over the last twelve months."""
    r = _request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_funnel.html", r, "crm:analytics-funnel")
    trend_start = add_months(r.period.end - dt.timedelta(days=1), -(TREND_MONTHS - 1))
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, figures = analytics.funnel(session, request.user, r.by, r.period.start, r.period.end)
        _trend_by, cohorts = analytics.cohort_trend(session, trend_start, r.period.end)
    charts = [c for c in [_funnel_chart(r, stages, _subject(figures), "chart-funnel")] if c]
    subject = _subject(figures)
    cohort_rows = []
    if subject is not None:
        line = subject.line
        cell = _linker(r, line, start=trend_start, end=r.period.end)
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
        "stages": stages, "rows": _plain(_funnel_rows(r, stages, figures)), "cohorts": cohort_rows,
        "trend_start": trend_start, "trend_label": subject.line.label if subject else ""}, charts=charts)


@login_required
def dwell_page(request):
    """How long deals stay in each open stage (median and p75 of the stays that ended in the period), per group,
    with box plots."""
    r = _request(request, options=("as_of",))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_dwell.html", r, "crm:analytics-dwell")
    as_of = r.form.cleaned_data.get("as_of") or min(r.period.end - dt.timedelta(days=1), r.today)
    with analytics.Session(analytics.load(), r.scope) as session:
        stages, figures = analytics.dwell(session, request.user, r.by, r.period.start, r.period.end, as_of)
    rows = []
    for figure in figures:
        line = figure.line
        cell = _linker(r, line, as_of=as_of)
        rows.append({"line": line, "stages": [{
            "stays": cell(_count(d.stays), Measure.DWELT, stage=d.stage.id,
                          testid=_testid(line, f"stays-{d.stage.code}")),
            "median": cell(_days(d.median), Measure.DWELT, stage=d.stage.id,
                           testid=_testid(line, f"median-{d.stage.code}")),
            "p75": cell(_days(d.p75), Measure.DWELT, stage=d.stage.id),
            "in_progress": cell(_count(d.in_progress), Measure.IN_STAGE, stage=d.stage.id,
                                testid=_testid(line, f"in-stage-{d.stage.code}")),
        } for d in figure.value]})
    figures = _plain(figures, line=lambda f: f.line)
    rows = _plain(rows)
    groups = [f for f in figures if f.line.kind == "group"]
    slowest = _slowest(groups, next((f for f in figures if f.line.kind == "company"), None))
    charted = [f for f in figures if f.line.kind != "group"] + slowest
    charts = [{"id": "chart-dwell", "kind": "boxplot", "x": [s.name for s in stages], "unit": _("days"),
               "series": [{"name": f.line.label, "data": [list(d.box) if d.stays else [] for d in f.value]}
                          for f in charted]}] if stages else []
    return _render(request, "crm/analytics_dwell.html", r, "crm:analytics-dwell", {
        "stages": stages, "rows": rows, "as_of": as_of, "charted_groups": [f.line.label for f in slowest],
        "groups": len(groups), "min_stays": CHARTED_MIN_STAYS}, charts=charts)


CHARTED_GROUPS = 5  # box plots of more groups than this side by side are unreadable
CHARTED_MIN_STAYS = 3  # a median of fewer stays says little: one long stay is not a slow rep


def _slowest(groups: list[analytics.Figure], company: analytics.Figure | None) -> list[analytics.Figure]:
    """The groups the box plot draws beside the company: the :data:`CHARTED_GROUPS` whose median stay in some
    stage (of at least :data:`CHARTED_MIN_STAYS` stays) is furthest above the company's median there, as a
    multiple of it, slowest first — a rep slow in one stage shows even when other stages are long for everybody.
    Groups without such a stage (or where the company's median is 0 days) are left out."""
    benchmark = {d.stage.index: d.median for d in company.value} if company else {}

    def score(figure: analytics.Figure) -> Decimal | None:
        ratios = [d.median / benchmark[d.stage.index] for d in figure.value
                  if d.stays >= CHARTED_MIN_STAYS and d.median is not None and benchmark.get(d.stage.index)]
        return max(ratios, default=None)

    scored = [(score(f), n, f) for n, f in enumerate(groups)]
    ranked = sorted((item for item in scored if item[0] is not None), key=lambda item: (-item[0], item[1]))
    return [f for _score, _n, f in ranked[:CHARTED_GROUPS]]


@login_required
def bottlenecks_page(request):
    """For each group (and the selection), the stage where it loses most against the company — the lowest
    conversion relative to the company's, with the revenue matching it would bring, and the longest dwell."""
    r = _request(request, options=("as_of", "min_deals"), default_period="YTD")  # enough deals to judge
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
        cell = _linker(r, line, as_of=as_of)
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
        "rows": _plain(rows, groups=groups), "not_judged": _plain(not_judged, line=lambda line: line, groups=groups), "min_deals": min_deals, "as_of": as_of})


@login_required
def velocity_page(request):
    """Sales velocity per group against the period before, factor by factor, and its trend over the last twelve
    months."""
    r = _request(request, options=("qualified",))
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_velocity.html", r, "crm:analytics-velocity")
    qualified = _qualified_position(r)
    last = dt.date(r.period.end.year, r.period.end.month, 1)
    last = last if last < r.period.end else add_months(last, -1)
    last = min(last, r.today.replace(day=1))  # no month still to come
    months = [add_months(last, -i) for i in range(TREND_MONTHS - 1, -1, -1)]
    with analytics.Session(analytics.load(), r.scope) as session:
        result, figures = analytics.velocity(session, request.user, r.by, r.period.start, r.period.end, qualified)
        trend_lines, series = analytics.velocity_trend(session, request.user, r.by, months, qualified)
    trend_lines = _plain(trend_lines, line=lambda line: line)
    chart = {"id": "chart-velocity", "kind": "lines", "money": True, "x": [m.strftime("%Y-%m") for m in months],
             "series": [{"name": line.label, "data": series.get((line.kind, line.group), [])} for line in trend_lines]}
    return _render(request, "crm/analytics_velocity.html", r, "crm:analytics-velocity", {
        "rows": _plain(_velocity_rows(r, result, figures, qualified)), "previous_start": result.previous_start,
        "previous_end": result.start - dt.timedelta(days=1), "qualified": qualified}, charts=[chart])


@login_required
def pipeline_page(request):
    """The weighted pipeline (amount × stage probability over the open deals) per group and expected-close
    period, and its coverage of the period's remaining target."""
    r = _request(request, options=("close_period", "target"))
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
        cell = _linker(r, figure.line, close_period=close_period)
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
    by_month = _plain(by_month, line=lambda f: f.line)
    # the line a typed target is for: the selection's (the one group's when it holds the whole selection)
    subject_kind = "company" if r.scope.everything else (
        "selection" if any(f.line.kind == "selection" for f in by_month) else "group")
    coverage = []
    for figure in by_month:
        line = figure.line
        cell = _linker(r, line, close_period="month")
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
        "closes": [labels.get(c) or _close_label(c, close_period) for c in closes], "rows": _plain(rows),
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
    r = _request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_completeness.html", r, "crm:analytics-completeness")
    customers = _customers(request.user, r)
    summary = completeness.summary(customers)
    missing = [{"label": req.label, "count": Cell(_count(summary.missing[req.code]),
                                                  completeness.records_url(missing=req.code, **_record_filter(r)),
                                                  f"missing-{req.code}")}
               for req in completeness.REQUIRED]
    shares = []
    if r.by == "owner" or (r.by == "team" and role_of(request.user) == Role.REP):
        shares = completeness.by_owner(customers)
    elif r.by == "team":
        shares = completeness.by_team(customers, r.today)
        allowed = None if r.scope.sees_everything else managed_team_ids(request.user)
        if allowed is not None:
            shares = [s for s in shares if s.key in allowed]
    elif r.by == "region":
        shares = completeness.by_region(customers)
    share_rows = [{"share": s, "name": s.name, "depth": s.depth, "customers": _count(s.customers),
                   "complete": _count(s.complete), "pct": pct_text(s.share, 1),
                   "incomplete": Cell(_count(s.incomplete), s.url, f"incomplete-{s.key or 'none'}")} for s in shares]
    return _render(request, "crm/analytics_completeness.html", r, "crm:analytics-completeness", {
        "summary": summary, "pct": pct_text(summary.share, 1), "missing": missing, "shares": share_rows,
        "incomplete": Cell(_count(summary.incomplete), completeness.records_url(**_record_filter(r)),
                           "incomplete-all"),
        "worst": [{"customer": rec.customer, "missing": completeness.labels(rec.missing)}
                  for rec in completeness.worst(customers)]})


def _record_filter(r: Request) -> dict:
    return {k: v for k, v in (("owner", r.scope.owner), ("team", r.scope.team and r.scope.team.pk),
                              ("region", r.scope.region and r.scope.region.pk)) if v}


def _customers(user, r: Request):
    """The customer records of the scope: those the user may see, of the owner, of the people in the team's
    subtree today, in the region's subtree."""
    customers = visible_to(user, Customer)
    if r.scope.owner:
        customers = customers.filter(owner_id=r.scope.owner)
    if r.scope.team is not None:
        customers = customers.filter(owner_id__in=people_in_team(r.scope.team, r.today))
    if r.scope.region is not None:
        customers = customers.filter(region__path__startswith=r.scope.region.path)
    return customers


def _quotes(user, r: Request, period: Period | None = None):
    """The quotes of the scope created in the period (local days)."""
    period = period or r.period
    zone = timezone.get_current_timezone()
    qs = access.visible_quotes(user).filter(
        created_at__gte=dt.datetime.combine(period.start, dt.time(), tzinfo=zone),
        created_at__lt=dt.datetime.combine(period.end, dt.time(), tzinfo=zone))
    if r.scope.owner:
        qs = qs.filter(owner_id=r.scope.owner)
    if r.scope.team is not None:
        qs = qs.filter(owner_id__in=people_in_team(r.scope.team, r.today))
    if r.scope.region is not None:
        qs = qs.filter(customer__region__path__startswith=r.scope.region.path)
    return qs


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


def _quote_groups(r: Request, qs) -> list[tuple[str, str, object]]:
    """(group token, label, queryset) per group of the dimension: the owner, the owner's team today, the
    customer's region; the company dimension has none."""
    if r.by == "team":
        teams = dict(Assignment.objects.filter(active_on(r.today), salesperson_id__in=qs.values("owner_id"))
                     .values_list("salesperson_id", "team_id"))
        labels = analytics.group_labels("team", set(teams.values()))
        out = [(str(t), labels[t], qs.filter(owner_id__in=[p for p, team in teams.items() if team == t]))
               for t in sorted(set(teams.values()), key=lambda t: labels[t])]
        stray = qs.exclude(owner_id__in=list(teams))
        if stray.exists():
            out.append(("none", str(_("No team")), stray))
        return out
    if r.by == "region":
        regions = set(qs.values_list("customer__region_id", flat=True).distinct())
        labels = analytics.group_labels("region", regions)
        return [("none" if g is None else str(g), labels[g],
                 qs.filter(customer__region_id=g) if g is not None else qs.filter(customer__region__isnull=True))
                for g in sorted(regions, key=lambda g: (g is None, labels[g]))]
    return []


def _group_quotes(r: Request, qs, by: str, group: str):
    if by == "owner":
        return qs.filter(owner_id=int(group))
    if by == "team":
        for token, _label, sub in _quote_groups(r, qs):
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
    r = _request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_quotes.html", r, "crm:analytics-quotes")
    qs = _quotes(request.user, r)
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
        for token, label, sub in _quote_groups(r, qs):
            rows.append(row(label, quote_services.quote_turnaround(sub).overall, r.by, token, f"quotes-{token}"))
    total = row(_("All quotes of the selection") if not r.scope.everything else _("All quotes"), overall.overall,
                "all", "", "quotes-all")
    return _render(request, "crm/analytics_quotes.html", r, "crm:analytics-quotes", {"rows": rows, "total": total})


@login_required
def quote_times(request):
    """The quotes behind a turnaround figure, each with its times, linking to the quote."""
    r = _request(request)
    if isinstance(r, AnalyticsForm):
        return _render(request, "crm/analytics_quote_times.html", r, "crm:analytics-quotes")
    by, group, step = request.GET.get("qby", "all"), request.GET.get("g", ""), request.GET.get("step", "")
    if by not in ("owner", "team", "region", "all") or (step and step not in QUOTE_STEPS):
        raise Http404("No such figure.")
    qs = _quotes(request.user, r)
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
MEASURE_LABELS = {
    Measure.CREATED: gettext_lazy("created in the range"), Measure.REACHED: gettext_lazy("reached %(stage)s"),
    Measure.CONVERTED: gettext_lazy("moved on from %(stage)s"), Measure.WON: gettext_lazy("won"),
    Measure.LOST: gettext_lazy("lost"), Measure.OPEN: gettext_lazy("still open"),
    Measure.CYCLE: gettext_lazy("won (cycle length)"), Measure.DWELT: gettext_lazy("stays in %(stage)s that ended"),
    Measure.IN_STAGE: gettext_lazy("still in %(stage)s at the cut"),
    Measure.OPEN_QUALIFIED: gettext_lazy("open and qualified at the period's end"),
    Measure.CLOSED_WON: gettext_lazy("won in the period"), Measure.CLOSED_LOST: gettext_lazy("lost in the period"),
    Measure.PIPELINE: gettext_lazy("open now (weighted pipeline)"),
}


def _describe(key: analytics.Key, line_label: str) -> str:
    stage = Stage.objects.filter(pk=key.stage).values_list("name", flat=True).first() if key.stage else ""
    measures = _(" or ").join(str(MEASURE_LABELS[m]) % {"stage": stage} for m in key.measures)
    parts = [line_label, measures]
    if Measure.PIPELINE not in key.measures and key.start and key.end:
        parts.append(_("%(start)s to %(end)s") % {"start": key.start.isoformat(),
                                                  "end": (key.end - dt.timedelta(days=1)).isoformat()})
    if key.cohort:
        parts.append(_("created in %(month)s") % {"month": key.cohort.strftime("%Y-%m")})
    if key.closes:
        parts.append(_("expected to close in %(periods)s") % {"periods": pgettext("list separator", ", ").join(
            c.isoformat()[:7] if c else str(_("no date")) for c in key.closes)})
    if key.as_of:
        parts.append(_("as of %(day)s") % {"day": key.as_of.isoformat()})
    return " · ".join(parts)


@login_required
def deals(request):
    """The deals behind one figure, named by its key in the query string (``crm.analytics.Key``): only deals the
    user may see; a line they may not drill into is a 404."""
    require_sales(request.user)
    try:
        key = analytics.Key.parse(request.GET)
    except ValueError:
        raise Http404("Not a figure.") from None
    owner = _visible_or_404(visible_to(request.user, Salesperson), key.filters.get("owner"))
    team = _visible_or_404(Team.objects.all(), key.filters.get("team"))
    region = _visible_or_404(Region.objects.all(), key.filters.get("region"))
    scope = analytics.Scope.of(request.user, owner=owner, team=team, region=region)
    with analytics.Session(analytics.load(), scope) as session:
        ids = analytics.deal_ids(session, key)
    if key.by in ("owner", "team", "region"):
        label = analytics.group_labels(key.by, [key.group])[key.group]
    elif key.by == "scope":
        label = analytics.selection_label(request.user, scope)
    else:
        label = _("Company")
    qs = (access.visible_opportunities(request.user).filter(pk__in=ids)
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
    description = _describe(key, label)
    response = list_page(request, title=_("Deals behind the figure"), queryset=qs, columns=columns,
                         default_sort="created_on", filename="deals", intro=description)
    if isinstance(response, TemplateResponse) and response.template_name == "web/list.html":
        response.template_name = "crm/analytics_deals.html"
        response.context_data.update({"count": len(ids), "description": description,
                                      "back": _safe_back(request)})
    return response


def _safe_back(request) -> str:
    target = request.META.get("HTTP_REFERER", "")
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and ok else ""


def _visible_or_404(qs, pk):
    if not pk:
        return None
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such filter.") from None


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
