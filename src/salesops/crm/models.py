"""Contacts, the stage pipeline, opportunities with their stage history, activities, and quotes.

Invariants kept by ``services`` (the only writers): an opportunity's ``stage`` is always the ``to_stage`` of its
newest ``StageChange``; entering a stage needs the stage's required fields; a won deal has an amount; a quote's
discount above its owner's limit waits for the manager; money is ``MoneyField`` (integer 分 in the database).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.core.fields import MoneyField
from salesops.org.models import Customer, Product, Salesperson


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("decision maker")
    INFLUENCER = "influencer", _("influencer")
    USER = "user", _("user")
    PURCHASING = "purchasing", _("purchasing")
    FINANCE = "finance", _("finance")
    TECHNICAL = "technical", _("technical")
    OTHER = "other", _("other")


class Contact(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    job_title = models.CharField(_("job title"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=ContactRole.choices, default=ContactRole.OTHER)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=64, blank=True)
    primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["customer_id", "-primary", "name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.name


class RequiredField(models.TextChoices):
    """Fields a stage can require before a deal enters it (``Stage.required_fields``)."""

    AMOUNT = "amount", _("amount")
    EXPECTED_CLOSE = "expected_close", _("expected close date")
    DECISION_MAKER = "decision_maker", _("decision maker")
    PRODUCTS = "products", _("products")
    COMPETITOR = "competitor", _("competitor")
    SOURCE = "source", _("source")
    LOST_REASON = "lost_reason", _("lost reason")


class Stage(models.Model):
    """A step of the pipeline, configured by ops. Exactly one won and at least one lost stage close a deal."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"))
    probability = models.DecimalField(_("probability %"), max_digits=5, decimal_places=2, default=Decimal(0),
                                      help_text=_("Default chance of winning a deal in this stage, 0–100."))
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)
    required_fields = models.JSONField(_("required fields"), default=list, blank=True,
                                       help_text=_("Fields a deal must have to enter this stage."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.CheckConstraint(condition=~(Q(is_won=True) & Q(is_lost=True)), name="crm_stage_won_xor_lost")]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name

    @property
    def closed(self) -> bool:
        return self.is_won or self.is_lost


class OpportunityStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("deal status", "open")
    WON = "won", pgettext_lazy("deal status", "won")
    LOST = "lost", pgettext_lazy("deal status", "lost")


class Opportunity(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="opportunities")
    owner = models.ForeignKey(Salesperson, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(_("status"), max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN,
                              db_index=True)
    amount = MoneyField(_("amount"), null=True, blank=True)
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    decision_maker = models.ForeignKey(Contact, verbose_name=_("decision maker"), null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(_("source"), max_length=100, blank=True)
    competitor = models.CharField(_("competitor"), max_length=100, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    created_on = models.DateField(_("created on"), db_index=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    stage_entered_at = models.DateTimeField(_("in stage since"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_on", "-pk"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")

    def __str__(self) -> str:
        return self.name


class OpportunityProduct(models.Model):
    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE,
                                    related_name="products")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, default=Decimal(1))

    class Meta:
        ordering = ["opportunity_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["opportunity", "product"], name="crm_opportunity_product_unique")]
        verbose_name = _("opportunity product")
        verbose_name_plural = _("opportunity products")

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class StageChange(models.Model):
    """One move of a deal: from (empty at creation) → to, when and by whom. Never edited."""

    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE,
                                    related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, verbose_name=_("from stage"), null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    to_stage = models.ForeignKey(Stage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed at"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    imported = models.BooleanField(_("imported"), default=False)

    class Meta:
        ordering = ["opportunity_id", "changed_at", "pk"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id} at {self.changed_at}"


class ActivityKind(models.TextChoices):
    CALL = "call", _("call")
    VISIT = "visit", _("visit")
    MEETING = "meeting", _("meeting")
    EMAIL = "email", _("email")
    TASK = "task", _("task")


class Activity(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="activities")
    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="activities")
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="activities")
    owner = models.ForeignKey(Salesperson, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="activities")
    created_at = models.DateTimeField(_("created at"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(due_at__isnull=True) | Q(due_at__gte=models.F("created_at")),
                                   name="crm_activity_due_after_created"),
        ]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")

    def __str__(self) -> str:
        return self.subject


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING = "pending", _("waiting for approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    SENT = "sent", _("sent")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")


class Quote(models.Model):
    """An offer to a customer. Lines start at the product's list price; a discount above the owner's limit
    needs the manager's approval before the quote can be sent; an accepted quote becomes order lines."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="quotes")
    opportunity = models.ForeignKey(Opportunity, verbose_name=_("opportunity"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="quotes")
    owner = models.ForeignKey(Salesperson, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="quotes")
    status = models.CharField(_("status"), max_length=8, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT,
                              db_index=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    order_no = models.CharField(_("order number"), max_length=64, blank=True,
                                help_text=_("The order the accepted quote became."))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    list_price = MoneyField(_("list price"))
    discount = models.DecimalField(_("discount"), max_digits=5, decimal_places=4, default=Decimal(0),
                                   help_text=_("A fraction: 0.1 means ten percent off."))
    net_amount = MoneyField(_("net amount"))

    class Meta:
        ordering = ["quote_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(discount__gte=0) & Q(discount__lte=1), name="crm_quote_discount_0_1"),
            models.CheckConstraint(condition=Q(list_price__gte=0), name="crm_quote_price_not_negative"),
        ]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class QuoteApproval(models.Model):
    """One request for the manager's approval of a quote's discount, and its answer."""

    quote = models.ForeignKey(Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="approvals")
    max_discount = models.DecimalField(_("largest discount"), max_digits=5, decimal_places=4)
    limit = models.DecimalField(_("owner's limit"), max_digits=5, decimal_places=4)
    approver = models.ForeignKey(Salesperson, verbose_name=_("approver"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    approved = models.BooleanField(_("approved"), null=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["quote_id", "requested_at", "pk"]
        verbose_name = _("quote approval")
        verbose_name_plural = _("quote approvals")

    def __str__(self) -> str:
        return f"{self.quote_id} at {self.requested_at}"
