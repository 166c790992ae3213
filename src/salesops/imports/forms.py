from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.imports.kinds import fields_of
from salesops.imports.models import ImportKind
from salesops.imports.parsing import CSV_SUFFIXES, ENCODING_CHOICES, XLSX_SUFFIXES


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What to import"), help_text=_(
        "Import what others refer to first: trees, products, people, customers, then contacts, opportunities, "
        "their stage history and activities."))
    source = forms.CharField(label=_("Source name"), max_length=100, required=False,
                             help_text=_("E.g. “ERP monthly export”. The column mapping is remembered per source."))
    file = forms.FileField(label=_("File (.csv or .xlsx)"))
    encoding = forms.ChoiceField(label=_("CSV encoding"), required=False,
                                 choices=[("", _("Detect automatically"))] + [(e, e) for e in ENCODING_CHOICES],
                                 help_text=_("Files saved by Chinese Excel are usually gbk."))
    sheet = forms.CharField(label=_("Excel sheet"), max_length=100, required=False,
                            help_text=_("Empty: the first sheet."))

    def __init__(self, *args, kinds: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ImportKind.choices)
        self.fields["kind"].choices = [(k, labels[k]) for k in kinds]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in CSV_SUFFIXES | XLSX_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file (old .xls files: save them as .xlsx first)."))
        return upload


class MappingForm(forms.Form):
    """One select per target field of ``kind``, listing the file's columns."""

    dry_run = forms.BooleanField(label=_("Only check, do not save"), required=False)

    def __init__(self, *args, kind: str, header: tuple[str, ...], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not imported —"))] + [(c, c) for c in header]
        self.specs = fields_of(kind)
        for spec in self.specs:
            self.fields[f"map_{spec.name}"] = forms.ChoiceField(
                label=spec.label, choices=choices, required=spec.required, initial=initial_mapping.get(spec.name, ""),
                help_text=spec.type,
            )
        self.order_fields([f"map_{s.name}" for s in self.specs] + ["dry_run"])

    def rows(self):
        """(spec, bound field) pairs for the template."""
        return [(spec, self[f"map_{spec.name}"]) for spec in self.specs]

    def mapping(self) -> dict[str, str]:
        return {spec.name: self.cleaned_data.get(f"map_{spec.name}") or "" for spec in self.specs}
