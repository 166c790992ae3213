"""Forms of the incentives pages. What-if modelling: the comparison asked for (plan, draft version, months) and
a plan document pasted or uploaded to save as a new draft. These forms only check and convert what was typed;
``incentives.modelling`` compares and ``incentives.services`` saves."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.incentives.models import CompPlan, CompPlanVersion

MAX_DOCUMENT_BYTES = 200_000
MONTH = {"placeholder": "2026-03", "size": 8, "pattern": r"\d{4}-\d{2}"}


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CompPlanVersion) -> str:
        return _("%(plan)s · draft v%(n)s (%(day)s)") % {"plan": obj.plan.name, "n": obj.version,
                                                        "day": obj.created_at.date().isoformat()}


class ComparisonForm(forms.Form):
    """What to compare: a plan, one of its drafts and the months (first and last, inclusive)."""

    plan = forms.ModelChoiceField(label=_("Plan"), queryset=CompPlan.objects.all(), empty_label=None)
    draft = VersionChoiceField(label=_("Draft version"), queryset=CompPlanVersion.objects.none(),
                               empty_label=None)
    start = forms.CharField(label=_("First month"), max_length=7, widget=forms.TextInput(attrs=MONTH))
    end = forms.CharField(label=_("Last month"), max_length=7, widget=forms.TextInput(attrs=MONTH))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["draft"].queryset = (CompPlanVersion.objects.filter(draft=True).select_related("plan")
                                         .order_by("plan__name", "-version"))

    def clean(self):
        data = super().clean()
        plan, draft = data.get("plan"), data.get("draft")
        if plan is not None and draft is not None and draft.plan_id != plan.pk:
            self.add_error("draft", _("Version %(n)s is a draft of %(other)s, not of %(plan)s.") % {
                "n": draft.version, "other": draft.plan.name, "plan": plan.name})
        return data


class DraftForm(forms.Form):
    """A plan document (YAML), typed or uploaded, to keep as a new draft version of the plan."""

    plan = forms.ModelChoiceField(label=_("Plan"), queryset=CompPlan.objects.all(), empty_label=None)
    document = forms.CharField(label=_("Plan document (YAML)"), required=False, strip=False,  # lines as typed
                               widget=forms.Textarea(attrs={"rows": 16, "cols": 80, "spellcheck": "false",
                                                            "class": "code"}))
    upload = forms.FileField(label=_("or upload a YAML file"), required=False)

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload is None:
            return None
        if upload.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(_("The file is larger than %(n)s kB.") % {"n": MAX_DOCUMENT_BYTES // 1000})
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None

    def clean(self):
        data = super().clean()
        text = data.get("upload") or data.get("document") or ""
        if not text.strip() and "upload" not in self.errors:
            self.add_error("document", _("Paste a plan document or upload a YAML file."))
        data["text"] = text
        return data
