from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesops.core.fields import MoneyField
from salesops.engine.money import RoundingPolicy
from salesops.engine.periods import FiscalCalendar


class DisplayUnit(models.TextChoices):
    YUAN = "yuan", _("Yuan (元)")
    WAN = "wan", _("Ten thousand (万元)")


class Company(models.Model):
    """The one company this installation runs. ``Company.current()`` returns it, creating defaults."""

    name = models.CharField(_("name"), max_length=200, default="")
    currency_code = models.CharField(_("currency code"), max_length=3, default="CNY")
    currency_symbol = models.CharField(_("currency symbol"), max_length=4, default="¥")
    fiscal_year_start_month = models.PositiveSmallIntegerField(_("fiscal-year start month"), default=1)
    rounding_policy = models.CharField(
        _("rounding policy"), max_length=16, default=RoundingPolicy.HALF_UP,
        choices=[
            (RoundingPolicy.HALF_UP.value, _("Round half up (四舍五入)")),
            (RoundingPolicy.HALF_EVEN.value, _("Round half to even (banker's)")),
            (RoundingPolicy.DOWN.value, _("Round toward zero (truncate)")),
            (RoundingPolicy.UP.value, _("Round away from zero")),
        ],
    )
    display_unit = models.CharField(_("display unit"), max_length=8, choices=DisplayUnit.choices, default=DisplayUnit.YUAN)
    default_language = models.CharField(_("default language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    discount_limit = models.DecimalField(
        _("discount limit"), max_digits=5, decimal_places=4, default=Decimal("0.1"),
        help_text=_("The largest quote discount a rep may give without the manager's approval (0.1 is 10%)."),
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("company")

    def __str__(self) -> str:
        return self.name or "salesops"

    @classmethod
    def current(cls) -> Company:
        company = cls.objects.order_by("pk").first()
        return company or cls.objects.create()

    @property
    def calendar(self) -> FiscalCalendar:
        return FiscalCalendar(self.fiscal_year_start_month)


class TreeNode(models.Model):
    """A node of a dimension tree of any depth. ``path`` is the chain of ids ("/1/5/12/") for subtree queries;
    ``org.services.tree_*`` keep it right on create, move and delete, and refuse cycles."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=64, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        abstract = True
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def subtree(self):
        return type(self).objects.filter(path__startswith=self.path)

    def ancestors(self):
        ids = [int(p) for p in self.path.strip("/").split("/") if p][:-1]
        return sorted(type(self).objects.filter(pk__in=ids), key=lambda n: n.depth)


class Region(TreeNode):
    """Regions and territories: 全国 → 华东 → 上海 → …"""

    class Meta(TreeNode.Meta):
        verbose_name = _("region")
        verbose_name_plural = _("regions")


class ProductCategory(TreeNode):
    class Meta(TreeNode.Meta):
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")


class CustomerSegment(TreeNode):
    class Meta(TreeNode.Meta):
        verbose_name = _("customer segment")
        verbose_name_plural = _("customer segments")


class Team(TreeNode):
    """A sales team (org unit). ``manager`` heads it today; history lives in assignments."""

    manager = models.ForeignKey(
        "Salesperson", verbose_name=_("manager"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="managed_teams",
    )

    class Meta(TreeNode.Meta):
        verbose_name = _("team")
        verbose_name_plural = _("teams")


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(ProductCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products")
    list_price = MoneyField(_("list price"))
    standard_cost = MoneyField(_("standard cost"))
    unit = models.CharField(_("unit"), max_length=16, blank=True, default="")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def margin_rate(self) -> Decimal | None:
        if not self.list_price:
            return None
        return (self.list_price - self.standard_cost) / self.list_price


class SalespersonStatus(models.TextChoices):
    RAMPING = "ramping", _("Ramping")
    ACTIVE = "active", pgettext_lazy("salesperson status", "Active")
    ON_LEAVE = "on_leave", _("On leave")
    LEFT = "left", _("Left")


class Salesperson(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="salesperson",
    )
    employee_no = models.CharField(_("employee number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"), blank=True)
    hire_date = models.DateField(_("hire date"))
    leave_date = models.DateField(_("leave date"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    level = models.CharField(_("level"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=SalespersonStatus.choices, default=SalespersonStatus.ACTIVE)
    ramp_schedule = models.JSONField(
        _("ramp schedule"), default=list, blank=True,
        help_text=_("Productivity percentages for the first months after hire, e.g. [25, 50, 75]; 100 after."),
    )
    discount_limit = models.DecimalField(
        _("discount limit"), max_digits=5, decimal_places=4, null=True, blank=True,
        help_text=_("This person's largest quote discount without approval; empty means the company's."),
    )

    class Meta:
        ordering = ["employee_no"]
        verbose_name = _("salesperson")
        verbose_name_plural = _("salespeople")

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"

    def ramp_factor(self, month: dt.date) -> Decimal:
        """Productivity share in ``month``: the schedule from the hire month on, 100% after it, 0 after leaving."""
        if self.leave_date and month > self.leave_date:
            return Decimal(0)
        index = (month.year - self.hire_date.year) * 12 + month.month - self.hire_date.month
        if index < 0:
            return Decimal(0)
        if index < len(self.ramp_schedule):
            return Decimal(str(self.ramp_schedule[index])) / 100
        return Decimal(1)


class Assignment(models.Model):
    """Where a salesperson sat from ``start_date`` to ``end_date`` (inclusive; open when empty).
    A person's assignments never overlap (``org.services.assignment_create`` refuses it)."""

    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.CASCADE, related_name="assignments")
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="assignments")
    manager = models.ForeignKey(
        Salesperson, verbose_name=_("manager"), null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    region = models.ForeignKey(Region, verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        ordering = ["salesperson_id", "start_date"]
        indexes = [models.Index(fields=["team", "start_date"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="assignment_end_after_start",
            )
        ]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")

    def __str__(self) -> str:
        return f"{self.salesperson.name} → {self.team.name} {self.start_date}…{self.end_date or ''}"


def active_on(day: dt.date) -> models.Q:
    """Assignments in effect on ``day``."""
    return models.Q(start_date__lte=day) & (models.Q(end_date__isnull=True) | models.Q(end_date__gte=day))


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", pgettext_lazy("customer status", "prospect")
    ACTIVE = "active", pgettext_lazy("customer status", "active")
    DORMANT = "dormant", pgettext_lazy("customer status", "dormant")
    LOST = "lost", pgettext_lazy("customer status", "lost")


class Customer(models.Model):
    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    segment = models.ForeignKey(CustomerSegment, verbose_name=_("segment"), null=True, blank=True, on_delete=models.PROTECT)
    region = models.ForeignKey(Region, verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    owner = models.ForeignKey(
        Salesperson, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL, related_name="customers"
    )
    key_account = models.BooleanField(_("key account"), default=False,
                                      help_text=_("Key accounts can be their own level in target plans."))
    status = models.CharField(_("status"), max_length=16, choices=CustomerStatus.choices,
                              default=CustomerStatus.ACTIVE, db_index=True)
    source = models.CharField(_("source"), max_length=100, blank=True, help_text=_("How the customer found us."))
    preferences = models.TextField(_("preferences"), blank=True,
                                   help_text=_("What the customer prefers and needs: products, terms, contact times."))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return self.name


class LineStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    INVOICED = "invoiced", _("Invoiced")
    PAID = "paid", _("Paid")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


REVERSAL_STATUSES = (LineStatus.RETURNED, LineStatus.CANCELLED)


class OrderLine(models.Model):
    """One sales transaction line. A return or cancellation is its own line (negative quantity and amounts)
    that points at the ``original`` line it reverses."""

    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    order_no = models.CharField(_("order number"), max_length=64, db_index=True)
    date = models.DateField(_("date"), db_index=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="order_lines")
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3)
    unit_price = MoneyField(_("unit price"))
    discount = models.DecimalField(_("discount"), max_digits=5, decimal_places=4, default=Decimal(0),
                                   help_text=_("Share off the list price: 0.1 = 10%."))
    net_amount = MoneyField(_("net amount"))
    cost = MoneyField(_("cost"))
    status = models.CharField(_("status"), max_length=16, choices=LineStatus.choices, default=LineStatus.BOOKED, db_index=True)
    original = models.ForeignKey(
        "self", verbose_name=_("original line"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    invoiced_on = models.DateField(_("invoiced on"), null=True, blank=True, db_index=True,
                                   help_text=_("The invoice date (a return: its credit note's); empty until invoiced."))
    attributes = models.JSONField(_("deal attributes"), default=dict, db_default=models.Value({}, models.JSONField()),
                                  blank=True,
                                  help_text=_("Named values of the deal, such as channel or deal type: name → text."))

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.order_no}/{self.external_id}"


class OrderCredit(models.Model):
    """The part of a line credited to a salesperson (业绩归属). The splits of a line total exactly 100%, and their
    ``amount``s total the line's net amount exactly (largest remainder), so sums never drift."""

    line = models.ForeignKey(OrderLine, verbose_name=_("order line"), on_delete=models.CASCADE, related_name="credits")
    salesperson = models.ForeignKey(Salesperson, verbose_name=_("salesperson"), on_delete=models.PROTECT, related_name="credits")
    split_pct = models.DecimalField(_("split %"), max_digits=7, decimal_places=4)
    amount = MoneyField(_("credited amount"))
    cost = MoneyField(_("credited cost"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "salesperson"], name="one_credit_per_person_per_line")]
        indexes = [models.Index(fields=["salesperson", "line"])]
        verbose_name = _("credit")
        verbose_name_plural = _("credits")

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.split_pct}% of {self.line_id}"


class Payment(models.Model):
    line = models.ForeignKey(OrderLine, verbose_name=_("order line"), on_delete=models.CASCADE, related_name="payments")
    date = models.DateField(_("date"))
    amount = MoneyField(_("amount"))
    external_id = models.CharField(_("external id"), max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"


class SalesMonthly(models.Model):
    """Credited sales per salesperson, month, customer region, customer segment and product (with its category): the cube that
    home pages, rankings and target attainment read, never the lines. ``org.services.sales_monthly_refresh`` keeps
    it whenever order lines (or a customer's region/segment, or a product's category) change. ``quantity`` is the
    credited share of units (quantity × split %); ``key_customer`` the customer when it is a key account (else
    empty, so the cube stays small); ``new_customers`` the credited share of customers won: a
    customer's first order line (earliest date, then id; returns and cancellations excluded) counts 1 × split %."""

    salesperson = models.ForeignKey(Salesperson, on_delete=models.CASCADE, related_name="monthly")
    month = models.DateField()
    region = models.ForeignKey(Region, null=True, on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey(CustomerSegment, null=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(ProductCategory, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    key_customer = models.ForeignKey(Customer, null=True, on_delete=models.CASCADE, related_name="+")
    net_amount = MoneyField()
    cost = MoneyField()
    quantity = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal(0))
    new_customers = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal(0))
    lines = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["month", "salesperson"]), models.Index(fields=["salesperson", "month"])]

    def __str__(self) -> str:
        return f"{self.salesperson_id} {self.month:%Y-%m} {self.net_amount}"
