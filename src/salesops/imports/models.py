"""Import history and remembered column mappings.

``ImportBatch`` is one run of an import (or an uploaded file waiting for its mapping in the web UI); it keeps
the counts and every row error so the web UI can show the report later. ``ImportMapping`` remembers, per
source name and kind, which of the user's columns feed which of our fields.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    PRODUCTS = "products", _("Products")
    PEOPLE = "people", _("Salespeople")
    ASSIGNMENTS = "assignments", _("Assignments")
    ORDER_LINES = "order_lines", _("Order lines")
    PAYMENTS = "payments", _("Payments")
    CONTACTS = "contacts", _("Contacts")
    OPPORTUNITIES = "opportunities", _("Opportunities")
    STAGE_HISTORY = "stage_history", _("Opportunity stage history")
    ACTIVITIES = "activities", _("Activities")
    REGIONS = "regions", _("Regions")
    CATEGORIES = "categories", _("Product categories")
    SEGMENTS = "segments", _("Customer segments")
    TEAMS = "teams", _("Teams")


class ImportMapping(models.Model):
    """The user's column for each of our fields, remembered for the next file from the same source."""

    source = models.CharField(_("source"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    mapping = models.JSONField(_("mapping"), default=dict, help_text=_("Our field name → the file's column name."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "kind"], name="one_mapping_per_source_and_kind")]
        ordering = ["source", "kind"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self) -> str:
        return f"{self.source} · {self.kind}"


class BatchStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting for mapping")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Refused (nothing saved)")
    CHECKED = "checked", _("Checked (dry run, nothing saved)")


class ImportBatch(models.Model):
    """One import run: what was read, by whom, the outcome and every row error."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True, editable=False,
                                   help_text="Uploaded file kept until it has been imported (web UI).")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.UPLOADED)
    encoding = models.CharField(_("encoding"), max_length=32, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True,
                              help_text=_("Every row error as [row, field, value, message]."))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.file_name}"
