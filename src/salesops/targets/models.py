from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesops.core.fields import MoneyField
from salesops.targets.metrics import CHOICES as METRIC_CHOICES


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    LOCKED = "locked", _("Locked")


class TargetPlan(models.Model):
    """One version of a SMART target plan. Versions of the same plan share ``family``; a new version copies the
    last one. Only a draft changes."""

    family = models.PositiveIntegerField(_("plan number"), db_index=True, default=0)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous = models.ForeignKey("self", verbose_name=_("previous version"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    metric = models.CharField(_("metric"), max_length=32, choices=METRIC_CHOICES, default="net_revenue")
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    total = MoneyField(_("company total"))
    unit = models.DecimalField(_("rounding unit"), max_digits=12, decimal_places=2, default=Decimal("0.01"),
                               help_text=_("Targets are whole multiples of this: 0.01 for cents, 10000 for whole 万元."))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    # SMART: specific, measurable, achievable, relevant, time-bound
    specific = models.TextField(_("what exactly"), blank=True)
    measure = models.TextField(_("how it is measured"), blank=True)
    achievable = models.TextField(_("why it is achievable"), blank=True,
                                  help_text=_("Assumptions: market growth, last year's actual, headcount…"))
    relevant = models.TextField(_("why it matters"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    assumptions = models.JSONField(_("assumptions"), default=dict, blank=True)
    levels = models.JSONField(_("levels"), default=list, blank=True,
                              help_text=_("Ordered levels: dimension, method and its parameters."))
    seasonality = models.JSONField(_("seasonality"), default=dict, blank=True)
    inputs = models.JSONField(_("allocation inputs"), default=dict, blank=True, editable=False,
                              help_text=_("The members, history, potential and capacity the last allocation read."))
    behind_threshold = models.DecimalField(_("behind-pace threshold (points)"), max_digits=5, decimal_places=2,
                                           default=Decimal(5))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-fiscal_year", "family", "-version"]
        constraints = [models.UniqueConstraint(fields=["family", "version"], name="one_plan_version")]
        verbose_name = _("target plan")
        verbose_name_plural = _("target plans")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def editable(self) -> bool:
        return self.status == PlanStatus.DRAFT


class TargetNode(models.Model):
    """A node of a plan's decomposition: the company total (level 0) or one member of a level under its parent.
    ``key`` is the path of member keys ("category:3/region:7/team:2"), stable across versions for diffs."""

    plan = models.ForeignKey(TargetPlan, on_delete=models.CASCADE, related_name="nodes")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    key = models.CharField(max_length=255)
    level = models.PositiveSmallIntegerField(default=0)
    dimension = models.CharField(max_length=32, blank=True)
    member_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=200)
    value = MoneyField(_("target"))
    # Exact decimal text (10 places): the unrounded value before the largest-remainder step, and the method's weight.
    # Text, because SQLite would keep a 30-digit decimal as a float.
    exact = models.CharField(max_length=48, default="0")
    weight = models.CharField(max_length=48, default="0")
    method = models.CharField(max_length=32, blank=True)
    locked = models.BooleanField(_("locked"), default=False)
    manual = MoneyField(_("manual value"), null=True, blank=True,
                        help_text=_("Typed value for a level whose method is manual."))
    commit = MoneyField(_("commit"), null=True, blank=True)
    commit_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    commit_note = models.CharField(_("commit note"), max_length=255, blank=True)

    class Meta:
        ordering = ["plan", "key"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="one_node_per_key")]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.key or '(total)'}"


class TargetMonth(models.Model):
    node = models.ForeignKey(TargetNode, on_delete=models.CASCADE, related_name="months")
    month = models.DateField()
    value = MoneyField()

    class Meta:
        ordering = ["node", "month"]
        constraints = [models.UniqueConstraint(fields=["node", "month"], name="one_month_per_node")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.month:%Y-%m} {self.value}"


class PotentialIndex(models.Model):
    """An imported index per dimension member (e.g. market size by region) for the potential method."""

    name = models.CharField(_("table"), max_length=100)
    dimension = models.CharField(_("dimension"), max_length=32)
    member_id = models.BigIntegerField()
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=4)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "dimension", "member_id"], name="one_index_value")]
        verbose_name = _("potential index")
        verbose_name_plural = _("potential indexes")

    def __str__(self) -> str:
        return f"{self.name} {self.dimension}:{self.member_id} = {self.value}"
