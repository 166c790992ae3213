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
from django.utils.translation import pgettext_lazy

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
    draft = models.BooleanField(_("draft"), default=False,
                                help_text=_("A draft is only modelled (what-if); runs use published versions."))
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
    REVIEWED = "reviewed", _("reviewed")
    APPROVED = "approved", _("approved")
    PAID = "paid", _("paid")
    FAILED = "failed", _("failed")
    SUPERSEDED = "superseded", _("superseded")


# a run whose payouts stand: the period's statement (a newer run of an unpaid period supersedes it)
CURRENT_STATUSES = (RunStatus.CALCULATED, RunStatus.REVIEWED, RunStatus.APPROVED, RunStatus.PAID)


class RunKind(models.TextChoices):
    REGULAR = "regular", _("regular")
    CORRECTION = "correction", _("correction of a paid period")


class CalculationRun(models.Model):
    """One calculation of a plan version over a payout period; ``fingerprint`` identifies its inputs (the same
    fingerprint means the same lines, credits, people, quotas and rules).

    A regular run goes calculated → reviewed → approved → paid; a newer run of a period not yet paid supersedes
    it. A paid period never changes: calculating it again makes a *correction* run, whose differences from what
    was paid become :class:`Correction` lines in the next open period."""

    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="runs")
    version = models.ForeignKey(CompPlanVersion, verbose_name=_("plan version"), on_delete=models.PROTECT,
                                related_name="runs")
    period = models.CharField(_("period"), max_length=10)
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    kind = models.CharField(_("kind"), max_length=16, choices=RunKind.choices, default=RunKind.REGULAR)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    fingerprint = models.CharField(_("inputs fingerprint"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("paid by"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["plan", "period"], condition=Q(status="running"),
                                               name="incentives_one_running_run"),
                       models.UniqueConstraint(fields=["plan", "period"],
                                               condition=Q(status="paid", kind="regular"),
                                               name="incentives_one_paid_run")]
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


class PayoutLineage(models.Model):
    """The order lines behind a person's payouts in a run (the engine's credits: component, line, seller,
    roll-up level, credit) as a compressed Arrow stream — one row per person and run, read only for the
    statement's drill-down, so a run of millions of lines stores thousands of rows."""

    run = models.ForeignKey(CalculationRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="lineage")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="+")
    rows = models.PositiveIntegerField(_("rows"))
    data = models.BinaryField(_("data"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "salesperson"], name="incentives_one_lineage")]
        verbose_name = _("payout lineage")
        verbose_name_plural = _("payout lineage")

    def __str__(self) -> str:
        return f"{self.run_id}/{self.salesperson_id}: {self.rows} rows"


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


class Correction(models.Model):
    """A delta line: a paid period was calculated again (``source_run``) and a payout came out different; the
    difference is paid in the next open ``period``, pointing at the paid payout it corrects (none when the
    component paid nothing then). Settled (``paid_run``) when that period's run is paid."""

    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="corrections")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="corrections")
    component = models.CharField(_("component"), max_length=40)
    corrected_period = models.CharField(_("corrected period"), max_length=10)
    corrects = models.ForeignKey(Payout, verbose_name=_("corrects payout"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="corrections")
    source_run = models.ForeignKey(CalculationRun, verbose_name=_("correction run"), on_delete=models.PROTECT,
                                   related_name="corrections_found")
    period = models.CharField(_("paid in period"), max_length=10)
    earned = ExactDecimalField(_("earned before rounding"))
    amount = MoneyField(_("amount"))
    paid_run = models.ForeignKey(CalculationRun, verbose_name=_("paid with run"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="corrections_paid")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["plan_id", "period", "salesperson_id", "corrected_period", "component"]
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.component} {self.corrected_period} → {self.period}: {self.amount}"


class DecisionStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class Adjustment(models.Model):
    """A manual amount added to (or taken from) a person's pay for a period, with its reason; it counts once
    someone other than its maker approves it, and is settled with the period's paid run."""

    plan = models.ForeignKey(CompPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="adjustments")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT,
                                    related_name="adjustments")
    period = models.CharField(_("period"), max_length=10)
    amount = MoneyField(_("amount"), help_text=_("Negative to take money back."))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=DecisionStatus.choices,
                              default=DecisionStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("made by"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    paid_run = models.ForeignKey(CalculationRun, verbose_name=_("paid with run"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="adjustments_paid")

    class Meta:
        ordering = ["plan_id", "period", "salesperson_id", "id"]
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.period}: {self.amount} ({self.status})"


class DisputeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("dispute status", "open")
    ANSWERED = "answered", _("answered")
    RESOLVED = "resolved", _("resolved")


class Dispute(models.Model):
    """A payee's question on a statement line (申诉): raised by the payee (or their manager), answered by ops,
    resolved by either; every step has its time and is audited."""

    payout = models.ForeignKey(Payout, verbose_name=_("statement line"), on_delete=models.PROTECT,
                               related_name="disputes")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("raised by"), on_delete=models.PROTECT,
                                  related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=DisputeStatus.choices,
                              default=DisputeStatus.OPEN)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self) -> str:
        return f"dispute {self.pk} on payout {self.payout_id} ({self.status})"


class DisputeMessage(models.Model):
    dispute = models.ForeignKey(Dispute, verbose_name=_("dispute"), on_delete=models.CASCADE,
                                related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField(_("message"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("dispute message")
        verbose_name_plural = _("dispute messages")

    def __str__(self) -> str:
        return self.text[:50]
