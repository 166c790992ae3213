"""Forms of the targets pages: the plan definition (SMART fields, levels, seasonality), commits, locks, the
attainment period and the Excel upload. Saving goes through ``targets.services``; these forms only turn what
was typed into the services' arguments (levels and seasonality as the JSON the plan stores)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.engine.decomposition import HistoricalMode, Method
from salesops.targets.dimensions import DIMENSIONS, TREES
from salesops.targets.metrics import CHOICES as METRIC_CHOICES
from salesops.targets.models import PotentialIndex

MAX_LEVELS = 5
MONTHS = 12
DATE = forms.DateInput(attrs={"type": "date"})
SMALL = {"class": "small"}

METHOD_LABELS = {
    Method.EQUAL: _("Equal"),
    Method.HISTORICAL: _("Historical share"),
    Method.POTENTIAL: _("Potential / index"),
    Method.CAPACITY: _("Capacity (headcount × ramp)"),
    Method.BLEND: _("Blend (α, β, γ)"),
    Method.MANUAL: _("Manual values"),
}
MODE_LABELS = {
    HistoricalMode.PROPORTION_OF_AVERAGES: _("Proportion of averages"),
    HistoricalMode.AVERAGE_OF_PROPORTIONS: _("Average of proportions"),
}
SEASONALITY_SOURCES = [
    ("history", _("From history (last two years)")),
    ("template", _("Template (relative weights)")),
    ("typed", _("Typed percentages (total 100%)")),
    ("flat", _("Flat (equal months)")),
]


def method_label(method: str) -> str:
    try:
        return str(METHOD_LABELS[Method(method)])
    except ValueError:
        return {"total": str(_("Total"))}.get(method, method)


def _potential_tables():
    return [("", "—")] + [(n, n) for n in PotentialIndex.objects.order_by("name").values_list("name", flat=True).distinct()]


def _assumptions_text(assumptions: dict) -> str:
    return "\n".join(f"{k} = {v}" for k, v in (assumptions or {}).items())


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    metric = forms.ChoiceField(label=_("Metric"), choices=METRIC_CHOICES)
    fiscal_year = forms.IntegerField(label=_("Fiscal year"), min_value=2000, max_value=2100)
    total = forms.DecimalField(label=_("Company total"), max_digits=18, decimal_places=2, min_value=0)
    unit = forms.DecimalField(label=_("Rounding unit"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                              initial=Decimal("0.01"),
                              help_text=_("Targets are whole multiples of this: 0.01 for cents, 10000 for whole 万元."))
    specific = forms.CharField(label=_("What exactly (specific)"), widget=forms.Textarea(attrs={"rows": 2}),
                               required=False)
    measure = forms.CharField(label=_("How it is measured (measurable)"), widget=forms.Textarea(attrs={"rows": 2}),
                              required=False)
    achievable = forms.CharField(label=_("Why it is achievable"), widget=forms.Textarea(attrs={"rows": 2}),
                                 required=False)
    assumptions = forms.CharField(
        label=_("Assumptions"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
        help_text=_("One per line as name = value, e.g. market growth = 8%, last year's actual = 9000000, headcount = 25."))
    relevant = forms.CharField(label=_("Why it matters (relevant)"), widget=forms.Textarea(attrs={"rows": 2}),
                               required=False)
    deadline = forms.DateField(label=_("Deadline (time-bound)"), widget=DATE, required=False)
    behind_threshold = forms.DecimalField(
        label=_("Behind-pace threshold (points)"), max_digits=5, decimal_places=2, min_value=0, initial=Decimal(5),
        help_text=_("A node is behind when its attainment trails time progress by more than this many points."))
    # seasonality
    season_source = forms.ChoiceField(label=_("Seasonality"), choices=SEASONALITY_SOURCES, initial="history")
    working_days = forms.BooleanField(label=_("Adjust for working days (public holidays)"), required=False)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(MONTHS):
            self.fields[f"m{i + 1}"] = forms.DecimalField(
                label=_("Month %(n)d") % {"n": i + 1}, max_digits=12, decimal_places=4, min_value=0, required=False,
                widget=forms.NumberInput(attrs={"step": "any", **SMALL}))
        if plan is not None and not self.is_bound:
            season = plan.seasonality or {}
            self.initial = {
                "name": plan.name, "metric": plan.metric, "fiscal_year": plan.fiscal_year, "total": plan.total,
                "unit": plan.unit, "specific": plan.specific, "measure": plan.measure, "achievable": plan.achievable,
                "assumptions": _assumptions_text(plan.assumptions), "relevant": plan.relevant,
                "deadline": plan.deadline, "behind_threshold": plan.behind_threshold,
                "season_source": season.get("source", "history"), "working_days": bool(season.get("working_days")),
                **{f"m{i + 1}": Decimal(str(v)) for i, v in enumerate(season.get("profile") or [])},
            }

    def month_fields(self):
        return [self[f"m{i + 1}"] for i in range(MONTHS)]

    def target_fields(self):
        return [self[n] for n in ("name", "metric", "fiscal_year", "total", "unit", "behind_threshold")]

    def smart_fields(self):
        return [self[n] for n in ("specific", "measure", "achievable", "assumptions", "relevant", "deadline")]

    def clean_assumptions(self) -> dict:
        found = {}
        for number, line in enumerate(self.cleaned_data.get("assumptions", "").splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(_("Line %(n)d: write name = value.") % {"n": number})
            found[name.strip()] = value.strip()
        return found

    def clean(self):
        data = super().clean()
        source = data.get("season_source")
        profile = [data.get(f"m{i + 1}") for i in range(MONTHS)]
        if source in ("typed", "template"):
            if any(v is None for v in profile):
                self.add_error(None, _("Seasonality: type all 12 monthly values."))
            elif source == "typed" and sum(profile) != 100:
                self.add_error(None, _("Seasonality: typed percentages total %(total)s%%, not exactly 100%%.") % {
                    "total": f"{sum(profile).normalize():f}"})
            elif source == "template" and not any(profile):
                self.add_error(None, _("Seasonality: a template needs at least one month above zero."))
        return data

    def plan_fields(self) -> dict:
        """The services' keyword arguments (all but the levels)."""
        data = self.cleaned_data
        season = {"source": data["season_source"]}
        if data["season_source"] in ("typed", "template"):
            season["profile"] = [str(data[f"m{i + 1}"].normalize()) for i in range(MONTHS)]
        if data.get("working_days"):
            season["working_days"] = True
        fields = {k: data[k] for k in ("name", "metric", "fiscal_year", "total", "unit", "specific", "measure",
                                       "achievable", "assumptions", "relevant", "deadline", "behind_threshold")}
        fields["seasonality"] = season
        return fields


class LevelForm(forms.Form):
    dimension = forms.ChoiceField(label=_("Dimension"), required=False)
    depth = forms.IntegerField(label=_("Depth"), min_value=0, max_value=9, required=False,
                               help_text=_("For trees: 0 = the roots, 1 = their children…"),
                               widget=forms.NumberInput(attrs=SMALL))
    method = forms.ChoiceField(label=_("Method"), choices=[(m.value, label) for m, label in METHOD_LABELS.items()],
                               initial=Method.EQUAL.value, required=False)
    window = forms.IntegerField(label=_("Window (months)"), min_value=1, max_value=120, required=False,
                                widget=forms.NumberInput(attrs=SMALL))
    mode = forms.ChoiceField(label=_("Historical mode"), choices=[(m.value, label) for m, label in MODE_LABELS.items()],
                             initial=HistoricalMode.PROPORTION_OF_AVERAGES.value, required=False)
    alpha = forms.DecimalField(label=_("α historical"), max_digits=6, decimal_places=4, min_value=0, required=False,
                               widget=forms.NumberInput(attrs={"step": "any", **SMALL}))
    beta = forms.DecimalField(label=_("β potential"), max_digits=6, decimal_places=4, min_value=0, required=False,
                              widget=forms.NumberInput(attrs={"step": "any", **SMALL}))
    gamma = forms.DecimalField(label=_("γ equal"), max_digits=6, decimal_places=4, min_value=0, required=False,
                               widget=forms.NumberInput(attrs={"step": "any", **SMALL}))
    potential_table = forms.ChoiceField(label=_("Potential table"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dimension"].choices = [("", "—")] + [(k, v) for k, v in DIMENSIONS.items()]
        self.fields["potential_table"].choices = _potential_tables

    def level(self) -> dict | None:
        """The stored level definition, or None for an empty row."""
        data = self.cleaned_data
        if not data.get("dimension"):
            return None
        method = data.get("method") or Method.EQUAL.value
        level = {"dimension": data["dimension"], "method": method}
        if data["dimension"] in TREES:
            level["depth"] = data.get("depth") or 0
        if data.get("window"):
            level["window"] = data["window"]
        if method in (Method.HISTORICAL, Method.BLEND):
            level["mode"] = data.get("mode") or HistoricalMode.PROPORTION_OF_AVERAGES.value
        if method == Method.BLEND:
            level["blend"] = {k: str((data.get(f) or Decimal(0)).normalize())
                              for k, f in (("historical", "alpha"), ("potential", "beta"), ("equal", "gamma"))}
        if data.get("potential_table"):
            level["potential_table"] = data["potential_table"]
        return level


def level_initial(level: dict) -> dict:
    blend = level.get("blend") or {}
    return {
        "dimension": level.get("dimension", ""), "depth": level.get("depth"), "method": level.get("method", "equal"),
        "window": level.get("window"), "mode": level.get("mode", HistoricalMode.PROPORTION_OF_AVERAGES.value),
        "alpha": blend.get("historical"), "beta": blend.get("potential"), "gamma": blend.get("equal"),
        "potential_table": level.get("potential_table", ""),
    }


class BaseLevelFormSet(forms.BaseFormSet):
    def levels(self) -> list[dict]:
        return [lv for lv in (f.level() for f in self.forms if f.cleaned_data) if lv is not None]


LevelFormSet = forms.formset_factory(LevelForm, formset=BaseLevelFormSet, extra=0, min_num=MAX_LEVELS,
                                     max_num=MAX_LEVELS, validate_max=True)


def level_formset(data=None, plan=None) -> BaseLevelFormSet:
    initial = [level_initial(lv) for lv in (plan.levels if plan is not None else [])][:MAX_LEVELS]
    return LevelFormSet(data, initial=initial, prefix="levels")


class LockForm(forms.Form):
    key = forms.CharField(required=False)
    value = forms.DecimalField(label=_("Target"), max_digits=18, decimal_places=2, min_value=0)


class ManualForm(forms.Form):
    """A typed value on a manual level (empty clears it: the node shares the rest equally again)."""
    key = forms.CharField(required=False)
    manual = forms.DecimalField(label=_("Typed value"), max_digits=18, decimal_places=2, min_value=0, required=False)


class CommitForm(forms.Form):
    key = forms.CharField(required=False)
    commit = forms.DecimalField(label=_("Commit"), max_digits=18, decimal_places=2, min_value=0, required=False)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx) exported from this plan"))


class PotentialUploadForm(forms.Form):
    name = forms.CharField(label=_("Table name"), max_length=100,
                           help_text=_("Levels with the potential method name this table. Importing replaces it."))
    file = forms.FileField(label=_("CSV or Excel file"),
                           help_text=_("Columns: dimension (category, product, customer, region, segment, team or "
                                       "salesperson), member (code or name; SKU for products, customer number for key "
                                       "accounts, employee number for salespeople), value."))
    encoding = forms.ChoiceField(label=_("Encoding (CSV)"), required=False,
                                 choices=[("", _("Detect")), ("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")])
    sheet = forms.CharField(label=_("Sheet (Excel)"), required=False)
