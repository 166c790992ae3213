"""The sales-process analytics as the pages and the API read them: the controls (``AnalyticsForm`` → ``Request``:
dimension, period or custom range, owner/team/region filter and each figure's options), the numbers as ``Cell``s
with the address of the deals behind them (``linker``), the scope's customers and quotes, and the description of a
drill-down. The figures themselves come from ``crm.analytics`` (the engine over the database), ``crm.completeness``
and ``crm.quotes``; nothing here computes one, so a page and its API twin always show the same number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from salesops.core.roles import Role, role_of
from salesops.crm import access, analytics, completeness
from salesops.crm.models import Stage
from salesops.crm.selectors import people_in_team
from salesops.engine.periods import Period, PeriodKind
from salesops.engine.pipeline import Measure
from salesops.org.access import managed_team_ids, visible_to
from salesops.org.models import Assignment, Company, Customer, Region, Salesperson, Team, active_on
from salesops.targets.attainment import parse_period
from salesops.web.templatetags.salesops import money_text

TREND_MONTHS = 12



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


def read_request(request, options: Iterable[str] = (), default_period: str = "") -> Request | AnalyticsForm:
    """The page's controls read and checked; the form (with its errors) when they are not valid. Without a
    dimension: by rep; without a period or a range: ``default_period`` (else the current quarter), whether or
    not other controls are set, so ``?by=team`` covers the same period as the bare page."""
    access.require_sales(request.user)
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


def linker(r: Request, line: analytics.Line, **base) -> Callable[..., Cell]:
    """``cell(text, *measures, testid=..., **key fields)``: a Cell leading to the line's deals of ``measures``."""
    key = r.key(by=line.by, group=line.group, **base)

    def cell(text: str, *measures: Measure, testid: str = "", **fields) -> Cell:
        if not line.drill or not measures:
            return Cell(text)
        return Cell(text, r.url(key.with_(measures=measures, **fields)), testid)

    return cell


def plain(rows: list, line=lambda row: row["line"], groups: int | None = None) -> list:
    """``rows`` without the selection's when one group holds the whole selection (the two lines are equal: a
    rep's own line, a manager's one team). ``groups``: how many groups the figure has, when not all have a row."""
    if groups is None:
        groups = sum(line(row).kind == "group" for row in rows)
    return [row for row in rows if line(row).kind != "selection"] if groups == 1 else rows


def subject_of(figures: list[analytics.Figure]) -> analytics.Figure | None:
    """The line the charts show: the selection, else the company."""
    for kind in ("selection", "company"):
        for figure in figures:
            if figure.line.kind == kind:
                return figure
    return None


def qualified_position(r: Request) -> int | None:
    stage = r.form.cleaned_data.get("qualified")
    if stage is None and "qualified" not in r.form.data:
        stage = Stage.objects.filter(code="qualified", is_won=False, is_lost=False).first()
    return stage.position if stage else None


CHARTED_GROUPS = 5  # box plots of more groups than this side by side are unreadable


CHARTED_MIN_STAYS = 3  # a median of fewer stays says little: one long stay is not a slow rep


def slowest_groups(groups: list[analytics.Figure], company: analytics.Figure | None) -> list[analytics.Figure]:
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


def record_filter(r: Request) -> dict:
    return {k: v for k, v in (("owner", r.scope.owner), ("team", r.scope.team and r.scope.team.pk),
                              ("region", r.scope.region and r.scope.region.pk)) if v}


def customers_of(user, r: Request):
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


def quotes_of(user, r: Request, period: Period | None = None):
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


def quote_groups(r: Request, qs) -> list[tuple[str, str, object]]:
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


def describe(key: analytics.Key, line_label: str) -> str:
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


@dataclass(frozen=True)
class Drilldown:
    """The deals behind one figure: its key, the ids of the deals in the user's scope, and the line's label."""

    key: analytics.Key
    ids: list[int]
    label: str


def drilldown(user, params) -> Drilldown:
    """The figure named in ``params`` (``crm.analytics.Key``) resolved for ``user``, for the page and the API
    alike: a key that names no figure, or a filter the user may not use, is a 404."""
    try:
        key = analytics.Key.parse(params)
    except ValueError:
        raise Http404("Not a figure.") from None
    owner = visible_or_404(visible_to(user, Salesperson), key.filters.get("owner"))
    team = visible_or_404(Team.objects.all(), key.filters.get("team"))
    region = visible_or_404(Region.objects.all(), key.filters.get("region"))
    scope = analytics.Scope.of(user, owner=owner, team=team, region=region)
    with analytics.Session(analytics.load(), scope) as session:
        ids = analytics.deal_ids(session, key)
    if key.by in ("owner", "team", "region"):
        label = analytics.group_labels(key.by, [key.group])[key.group]
    elif key.by == "scope":
        label = analytics.selection_label(user, scope)
    else:
        label = _("Company")
    return Drilldown(key, ids, label)


def visible_or_404(qs, pk):
    if not pk:
        return None
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404("No such filter.") from None


def completeness_shares(user, r: Request, customers) -> list:
    """The completeness rows of the dimension: per owner (a rep's "team" is his own line), per team the user heads
    (everyone's for those who see everything), per region."""
    if r.by == "owner" or (r.by == "team" and role_of(user) == Role.REP):
        return completeness.by_owner(customers)
    if r.by == "team":
        shares = completeness.by_team(customers, r.today)
        allowed = None if r.scope.sees_everything else managed_team_ids(user)
        return shares if allowed is None else [s for s in shares if s.key in allowed]
    if r.by == "region":
        return completeness.by_region(customers)
    return []
