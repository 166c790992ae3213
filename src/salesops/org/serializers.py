"""REST serializers for the organisation: shape and validate data; they never write.

Role in the flow: ``org.api`` validates a request with these, hands ``validated_data`` to a service in
``org.services`` (atomic, audited), and renders the result with the same serializer. ``save()`` is never
called. Money is a Decimal with two places and travels as a string ("1000.00"), never a float.
Related-object fields only accept ids the requesting user may see (``org.access.visible_to``), so an id
the user may not see is refused as "does not exist", exactly like an id that does not exist.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from salesops.core.roles import Role
from salesops.org.access import visible_to
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    Team,
)

# Models whose related-field choices depend on who is asking.
_SCOPED_MODELS = (Salesperson, Customer, OrderLine, Assignment, Payment)


class VisibleRelatedMixin:
    """Narrow every primary-key related field to the records the requesting user may see."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is None or request.method in SAFE_METHODS:
            return fields  # output only: related fields render ids, their querysets are never read
        for field in fields.values():
            target = getattr(field, "child_relation", field)
            queryset = getattr(target, "queryset", None)
            if queryset is not None and queryset.model in _SCOPED_MODELS:
                target.queryset = visible_to(request.user, queryset.model)
        return fields


# -- trees ------------------------------------------------------------------------------------------------
class TreeNodeSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    """A node of a dimension tree. ``path`` ("/1/5/12/") and ``depth`` are kept by the services."""

    class Meta:
        fields = ["id", "code", "name", "parent", "depth", "path"]
        read_only_fields = ["depth", "path"]


class RegionSerializer(TreeNodeSerializer):
    class Meta(TreeNodeSerializer.Meta):
        model = Region


class ProductCategorySerializer(TreeNodeSerializer):
    class Meta(TreeNodeSerializer.Meta):
        model = ProductCategory


class CustomerSegmentSerializer(TreeNodeSerializer):
    class Meta(TreeNodeSerializer.Meta):
        model = CustomerSegment


class TeamSerializer(TreeNodeSerializer):
    manager_name = serializers.CharField(source="manager.name", read_only=True, default=None)

    class Meta(TreeNodeSerializer.Meta):
        model = Team
        fields = [*TreeNodeSerializer.Meta.fields, "manager", "manager_name"]


# -- products, people, customers ---------------------------------------------------------------------------
class ProductSerializer(serializers.ModelSerializer):
    margin_rate = serializers.DecimalField(
        max_digits=9, decimal_places=4, read_only=True, allow_null=True,
        help_text=_("(list price − standard cost) / list price; empty when the list price is zero."),
    )

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "category", "list_price", "standard_cost", "margin_rate", "unit", "active"]


class SalespersonSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, default=None)

    class Meta:
        model = Salesperson
        fields = ["id", "employee_no", "name", "email", "user", "username", "hire_date", "leave_date", "title",
                  "level", "status", "ramp_schedule"]

    def validate_user(self, user):
        # The link is one-to-one: say so on the field rather than fail in the database.
        if user is not None:
            taken = Salesperson.objects.filter(user=user)
            if self.instance is not None:
                taken = taken.exclude(pk=self.instance.pk)
            if taken.exists():
                raise serializers.ValidationError(_("This user is already linked to another salesperson."))
        return user


class AssignmentSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    """Where a salesperson sat from ``start_date`` to ``end_date`` (inclusive; open-ended when null)."""

    employee_no = serializers.CharField(source="salesperson.employee_no", read_only=True)
    salesperson_name = serializers.CharField(source="salesperson.name", read_only=True)
    team_code = serializers.CharField(source="team.code", read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)
    manager_name = serializers.CharField(source="manager.name", read_only=True, default=None)
    region_name = serializers.CharField(source="region.name", read_only=True, default=None)

    class Meta:
        model = Assignment
        fields = ["id", "salesperson", "employee_no", "salesperson_name", "team", "team_code", "team_name",
                  "manager", "manager_name", "region", "region_name", "start_date", "end_date"]

    def validate_salesperson(self, salesperson):
        # An assignment is one person's history; moving it to someone else would rewrite two histories at once.
        if self.instance is not None and salesperson.pk != self.instance.salesperson_id:
            raise serializers.ValidationError(_("An assignment cannot move to another salesperson; create a new one."))
        return salesperson


class CustomerSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "segment", "region", "industry", "owner", "status", "source",
                  "preferences", "notes"]


# -- transactions -----------------------------------------------------------------------------------------
class OrderCreditSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    """One credited salesperson of a line. On input only ``salesperson`` and ``split_pct`` are read; the
    credited ``amount`` is computed by the service so the splits add up to the net amount exactly."""

    employee_no = serializers.CharField(source="salesperson.employee_no", read_only=True)

    class Meta:
        model = OrderCredit
        fields = ["salesperson", "employee_no", "split_pct", "amount"]
        read_only_fields = ["amount"]


class LinePaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "date", "amount", "external_id"]


class OrderLineSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    """A sales transaction line with its credits and payments.

    ``credits`` lists only the credits the requesting user may see (a rep sees their own share of a split
    line, not their colleague's). ``net_amount`` may be left out on create: it is then quantity × unit price
    × (1 − discount), rounded with the company's policy.
    """

    credits = OrderCreditSerializer(many=True, help_text=_("Credited salespeople; split percentages total 100."))
    payments = LinePaymentSerializer(many=True, read_only=True)

    class Meta:
        model = OrderLine
        fields = ["id", "external_id", "order_no", "date", "customer", "product", "quantity", "unit_price",
                  "discount", "net_amount", "cost", "status", "original", "credits", "payments"]
        extra_kwargs = {"net_amount": {"required": False, "allow_null": True}}

    def validate_credits(self, credits):
        people = [c["salesperson"].pk for c in credits]
        if len(people) != len(set(people)):
            raise serializers.ValidationError(_("A salesperson is credited more than once on this line."))
        return credits


class PaymentSerializer(VisibleRelatedMixin, serializers.ModelSerializer):
    line_external_id = serializers.CharField(source="line.external_id", read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "line", "line_external_id", "date", "amount", "external_id"]

    def validate_external_id(self, value):
        # The column is unique but nullable: an empty id means "none", or a second blank one would collide.
        return value or None


# -- the signed-in user -----------------------------------------------------------------------------------
class MeSalespersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    employee_no = serializers.CharField()
    name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    """The signed-in user, their role, and their own credited sales this month vs the same month last year
    (from the ``SalesMonthly`` aggregate; null for users who are not salespeople)."""

    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)
    salesperson = MeSalespersonSerializer(allow_null=True)
    month = serializers.DateField(help_text=_("First day of the current month."))
    sales_this_month = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    sales_same_month_last_year = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
