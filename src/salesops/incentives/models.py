"""Compensation plans, their versions and assignments, quotas, and calculation runs with their payouts.

A plan's rules live in its versions' YAML documents (validated by ``salesops.engine.comp.plan``); a version is
never edited — a change is a new version, so every run can say exactly which rules it applied. Payout figures
keep the engine's exact values: the rounded ``amount`` as money, the unrounded figures as exact decimal text.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.core.fields import ExactDecimalField, MoneyField
from salesops.org.models import Salesperson


class CompPlan(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("compensation plan")
        verbose_name_plural = _("compensation plans")

    def __str__(self) -> str:
        return self.name


class CompPlanVersion(models.Model):
    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    document = models.TextField(_("plan document (YAML)"))
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "version"]
        constraints = [models.UniqueConstraint(fields=["plan", "version"], name="incentives_plan_version_unique")]
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")

    def __str__(self) -> str:
        return f"{self.plan.name} v{self.version}"

    def parsed(self):
        from salesops.engine.comp.plan import load_plan

        return load_plan(self.document)


class PlanAssignment(models.Model):
    """A salesperson is paid by a plan from ``start_date`` to ``end_date`` (inclusive; open when empty); one
    plan at a time."""

    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="assignments")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="plan_assignments")
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    target_incentive = MoneyField(_("target incentive"), null=True, blank=True,
                                  help_text=_("On-target variable pay for the year, shown on statements."))

    class Meta:
        ordering = ["salesperson_id", "start_date"]
        verbose_name = _("plan assignment")
        verbose_name_plural = _("plan assignments")

    def __str__(self) -> str:
        return f"{self.salesperson_id} → {self.plan_id} from {self.start_date}"


class Quota(models.Model):
    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="quotas")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="quotas")
    component = models.CharField(_("component"), max_length=40)
    period = models.CharField(_("period"), max_length=10, help_text=_("2026-03, 2026-Q1, 2026-H1 or FY2026"))
    amount = MoneyField(_("quota"))

    class Meta:
        ordering = ["plan_id", "salesperson_id", "component", "period"]
        constraints = [models.UniqueConstraint(fields=["plan", "salesperson", "component", "period"],
                                               name="incentives_quota_unique")]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.component} {self.period}: {self.amount}"


class RunStatus(models.TextChoices):
    RUNNING = "running", _("running")
    CALCULATED = "calculated", _("calculated")
    FAILED = "failed", _("failed")


class CalculationRun(models.Model):
    """One calculation of a plan version over a payout period; ``fingerprint`` identifies its inputs (the same
    fingerprint means the same lines, credits, people, quotas and rules)."""

    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="runs")
    version = models.ForeignKey(CompPlanVersion, verbose_name=_("plan version"), on_delete=models.PROTECT,
                                related_name="runs")
    period = models.CharField(_("period"), max_length=10)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    fingerprint = models.CharField(_("inputs fingerprint"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["plan", "period"], condition=Q(status="running"),
                                               name="incentives_one_running_run")]
        verbose_name = _("calculation run")
        verbose_name_plural = _("calculation runs")

    def __str__(self) -> str:
        return f"{self.version} {self.period} ({self.status})"


class Payout(models.Model):
    run = models.ForeignKey(CalculationRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="payouts")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="payouts")
    component = models.CharField(_("component"), max_length=40)
    measure = ExactDecimalField(_("measure"), null=True, blank=True)
    quota = ExactDecimalField(_("quota"), null=True, blank=True)
    attainment = ExactDecimalField(_("attainment"), null=True, blank=True)
    earned = ExactDecimalField(_("earned before rounding"))
    amount = MoneyField(_("amount"))

    class Meta:
        ordering = ["run_id", "salesperson_id", "component"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.component}: {self.amount}"


class PayoutDetail(models.Model):
    """A row a payout adds up: the rule (band, rate row, cap…), what it applied to and at which rate."""

    payout = models.ForeignKey(Payout, verbose_name=_("payout"), on_delete=models.CASCADE, related_name="details")
    rule = models.CharField(_("rule"), max_length=300)
    band = models.IntegerField(_("band"), default=0)
    basis = ExactDecimalField(_("basis"), null=True, blank=True)
    rate = ExactDecimalField(_("rate"), null=True, blank=True)
    earned = ExactDecimalField(_("earned"))

    class Meta:
        ordering = ["payout_id", "band", "rule"]
        verbose_name = _("payout detail")
        verbose_name_plural = _("payout details")

    def __str__(self) -> str:
        return f"{self.rule}: {self.earned}"


class DrawBalance(models.Model):
    """Where a payee stood with a draw at the end of a run: the next period's run starts from ``closing``."""

    run = models.ForeignKey(CalculationRun, verbose_name=_("run"), on_delete=models.CASCADE,
                            related_name="draw_balances")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="draw_balances")
    component = models.CharField(_("component"), max_length=40)
    opening = MoneyField(_("opening balance"))
    advanced = MoneyField(_("advanced"))
    recovered = MoneyField(_("recovered"))
    closing = MoneyField(_("closing balance"))

    class Meta:
        ordering = ["run_id", "salesperson_id", "component"]
        verbose_name = _("draw balance")
        verbose_name_plural = _("draw balances")

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.component}: {self.closing}"
