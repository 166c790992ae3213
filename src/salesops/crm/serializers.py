"""REST serializers for the customer-relationship records: shape and validate data; they never write.

Role in the flow: ``crm.api`` validates a request with these, hands ``validated_data`` to a service in
``crm.services`` (atomic, audited), and renders the result with the same serializers. ``save()`` is never
called. Money is a Decimal with two places and travels as a string ("1000.00"), never a float; datetimes are
ISO 8601 with their offset.

Related-object fields accept only ids the requesting user may see (customers and owners through
``org.access.visible_to``, deals and contacts through ``crm.access``), so an id the user may not see is refused as
"does not exist", exactly like an id that does not exist.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from salesops.crm import access, quotes
from salesops.crm.models import (
    Activity,
    Contact,
    Opportunity,
    OpportunityProduct,
    Quote,
    QuoteApproval,
    RequiredField,
    Stage,
    StageChange,
)
from salesops.org.access import visible_to
from salesops.org.models import Company, Customer, Product, Salesperson

# Related models whose choices depend on who is asking, and where the visible ones come from.
_SCOPES = {
    Customer: lambda user: visible_to(user, Customer),
    Salesperson: lambda user: visible_to(user, Salesperson),
    Opportunity: access.visible_opportunities,
    Contact: access.visible_contacts,
}


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
            if queryset is not None and queryset.model in _SCOPES:
                target.queryset = _SCOPES[queryset.model](request.user)
        return fields


class CreateOnlyMixin:
    """Fields in ``Meta.create_only_fields`` are accepted when a record is created; a change of them later is
    refused by name (an update that silently ignored them would answer 200 for a change it did not make)."""

    create_only_messages: dict[str, str] = {}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if self.instance is not None:
            errors = {}
            for name in getattr(self.Meta, "create_only_fields", ()):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    errors[name] = self.create_only_messages.get(name, _("This cannot be changed once created."))
                attrs.pop(name, None)
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


def _username(source: str) -> serializers.CharField:
    return serializers.CharField(source=f"{source}.username", read_only=True, allow_null=True, default=None)


# -- stages -----------------------------------------------------------------------------------------------
class StageSerializer(serializers.ModelSerializer):
    required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=RequiredField.choices), required=False,
        help_text=_("Fields a deal must have to enter this stage (a won stage always needs the amount, a lost "
                    "stage the lost reason)."))
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False, help_text=_(
        "Order in the pipeline; by default after the last stage."))

    class Meta:
        model = Stage
        fields = ["id", "code", "name", "position", "probability", "is_won", "is_lost", "required_fields", "active"]


class StageOrderSerializer(serializers.Serializer):
    stages = serializers.ListField(child=serializers.IntegerField(), help_text=_(
        "Every stage's id, once, in the new order."))


# -- contacts ---------------------------------------------------------------------------------------------
class ContactSerializer(CreateOnlyMixin, VisibleRelatedMixin, serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    create_only_messages = {"customer": _("A contact cannot move to another customer.")}

    class Meta:
        model = Contact
        fields = ["id", "external_id", "customer", "customer_name", "name", "job_title", "role", "phone", "email",
                  "wechat", "primary", "notes"]
        create_only_fields = ["customer"]

    def validate_external_id(self, value):
        # The column is unique but nullable: an empty id means "none", or a second blank one would collide.
        return value or None


# -- opportunities ----------------------------------------------------------------------------------------
class OpportunityProductSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, required=False, help_text=_(
        "More than 0; 1 when left out."))

    class Meta:
        model = OpportunityProduct
        fields = ["product", "sku", "product_name", "quantity"]


class OpportunitySerializer(CreateOnlyMixin, VisibleRelatedMixin, serializers.ModelSerializer):
    """A deal. ``stage`` is chosen when it is created (the first open stage by default) and changed only by
    ``POST …/move/``; ``products`` replaces the deal's whole product list when given."""

    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=Salesperson.objects.all(), required=False, help_text=_(
        "The salesperson who owns the deal; by default the user themselves."))
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.filter(active=True), required=False)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    probability = serializers.DecimalField(source="stage.probability", max_digits=5, decimal_places=2,
                                           read_only=True, help_text=_("The stage's chance of winning, 0–100."))
    products = OpportunityProductSerializer(many=True, required=False)

    create_only_messages = {
        "customer": _("A deal cannot move to another customer."),
        "stage": _("Move the deal with POST …/move/, which checks what the stage requires."),
    }

    class Meta:
        model = Opportunity
        fields = ["id", "external_id", "name", "customer", "customer_name", "owner", "owner_name", "stage",
                  "stage_name", "probability", "status", "amount", "expected_close", "decision_maker", "source",
                  "competitor", "lost_reason", "products", "created_on", "closed_on", "stage_entered_at"]
        read_only_fields = ["external_id", "status", "created_on", "closed_on", "stage_entered_at"]
        create_only_fields = ["customer", "stage"]

    def validate_products(self, products):
        return validate_product_lines(products)


def validate_product_lines(products: list[dict]) -> list[dict]:
    seen = set()
    for item in products:
        if item["product"].pk in seen:
            raise serializers.ValidationError(_("A product is listed twice."))
        seen.add(item["product"].pk)
    return products


class OpportunityProductsSerializer(serializers.Serializer):
    products = OpportunityProductSerializer(many=True)

    def validate_products(self, products):
        return validate_product_lines(products)


class OpportunityMoveSerializer(VisibleRelatedMixin, serializers.Serializer):
    """A move to ``stage`` with the fields it needs set on the way; each field left out keeps its value
    (``products``, when given, replaces the deal's product list)."""

    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    expected_close = serializers.DateField(required=False, allow_null=True)
    decision_maker = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.all(), required=False,
                                                        allow_null=True)
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    competitor = serializers.CharField(max_length=100, required=False, allow_blank=True)
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    products = OpportunityProductSerializer(many=True, required=False)

    def validate_products(self, products):
        return validate_product_lines(products)


class StageChangeSerializer(serializers.ModelSerializer):
    from_stage_name = serializers.CharField(source="from_stage.name", read_only=True, allow_null=True, default=None)
    to_stage_name = serializers.CharField(source="to_stage.name", read_only=True)
    actor = _username("actor")

    class Meta:
        model = StageChange
        fields = ["id", "from_stage", "from_stage_name", "to_stage", "to_stage_name", "changed_at", "actor",
                  "imported"]


# -- activities -------------------------------------------------------------------------------------------
class ActivitySerializer(CreateOnlyMixin, VisibleRelatedMixin, serializers.ModelSerializer):
    """A call, visit, meeting, email or task. ``created_at`` may be given when it is logged (now by default);
    ``done_at`` and ``outcome`` are set by ``POST …/done/``."""

    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=Salesperson.objects.all(), required=False, help_text=_(
        "The salesperson who owns the activity; by default the user themselves."))
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    created_at = serializers.DateTimeField(required=False, help_text=_("When it was logged; now by default."))
    overdue = serializers.SerializerMethodField(help_text=_("Due in the past and not done."))

    create_only_messages = {
        "customer": _("An activity cannot move to another customer."),
        "created_at": _("When an activity was logged cannot change."),
    }

    class Meta:
        model = Activity
        fields = ["id", "external_id", "kind", "subject", "customer", "customer_name", "opportunity", "contact",
                  "owner", "owner_name", "created_at", "due_at", "done_at", "outcome", "overdue"]
        read_only_fields = ["external_id", "done_at", "outcome"]
        create_only_fields = ["customer", "created_at"]

    def get_overdue(self, activity: Activity) -> bool:
        now = self.context.get("now")
        return bool(activity.due_at and activity.done_at is None and now and activity.due_at < now)


class ActivityDoneSerializer(serializers.Serializer):
    outcome = serializers.CharField(allow_blank=True, help_text=_("What came of it, and what is next."))
    done_at = serializers.DateTimeField(required=False, help_text=_("When it was done; now by default."))


# -- quotes -----------------------------------------------------------------------------------------------
def _any_decimal(**kwargs) -> serializers.DecimalField:
    # Parsed here, judged by ``crm.quotes.price_lines``: its refusals name the line, the field and the limit.
    return serializers.DecimalField(max_digits=None, decimal_places=None, **kwargs)


class QuoteLineSerializer(serializers.Serializer):
    """A quote line. On input: ``product``, ``quantity``, ``discount`` (a fraction: 0.1 is 10 % off; 0 when left
    out) and optionally ``price`` (the product's list price when left out); the net is computed and rounded once."""

    id = serializers.IntegerField(read_only=True)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    quantity = _any_decimal()
    discount = _any_decimal(required=False, help_text=_("A fraction: 0.1 means ten percent off."))
    price = _any_decimal(required=False, allow_null=True, write_only=True, help_text=_(
        "The unit price before discount; the product's list price when left out."))
    list_price = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, help_text=_(
        "The unit price before discount."))
    net_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)


class QuoteApprovalSerializer(serializers.ModelSerializer):
    """One submission of the quote: approved at once when every discount was within the owner's limit
    (``automatic``), otherwise a request to the manager and its answer."""

    approver_name = serializers.CharField(source="approver.name", read_only=True, allow_null=True, default=None)
    decided_by = _username("decided_by")
    automatic = serializers.SerializerMethodField()

    class Meta:
        model = QuoteApproval
        fields = ["id", "max_discount", "limit", "automatic", "approver", "approver_name", "requested_at",
                  "decided_at", "decided_by", "approved", "comment"]
        read_only_fields = fields

    def get_automatic(self, approval: QuoteApproval) -> bool:
        return quotes.is_automatic(approval)


class TotalsSerializer(serializers.Serializer):
    gross = serializers.DecimalField(max_digits=18, decimal_places=2, help_text=_("Σ quantity × price."))
    discount = serializers.DecimalField(max_digits=18, decimal_places=2, help_text=_("gross − net."))
    net = serializers.DecimalField(max_digits=18, decimal_places=2, help_text=_(
        "Σ line nets: what the customer pays."))


class QuoteSerializer(CreateOnlyMixin, VisibleRelatedMixin, serializers.ModelSerializer):
    """A quote with its lines, totals, submissions and the steps the user may take now (``actions``). ``lines``
    replaces all the lines when given (a draft or rejected quote only); ``customer`` and ``owner`` are set when
    it is made."""

    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=Salesperson.objects.all(), required=False, help_text=_(
        "The salesperson who owns the quote; by default the user themselves."))
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    lines = QuoteLineSerializer(many=True)
    totals = serializers.SerializerMethodField()
    approvals = QuoteApprovalSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField(help_text=_(
        "What the user may do now: edit, submit, approve, reject, send, accept, decline."))

    create_only_messages = {
        "customer": _("A quote cannot move to another customer; make a new one."),
        "owner": _("A quote keeps its owner; make a new one."),
    }

    class Meta:
        model = Quote
        fields = ["id", "number", "customer", "customer_name", "opportunity", "owner", "owner_name", "status",
                  "language", "valid_until", "notes", "lines", "totals", "approvals", "actions", "created_at",
                  "submitted_at", "sent_at", "answered_at", "order_no"]
        read_only_fields = ["number", "status", "created_at", "submitted_at", "sent_at", "answered_at", "order_no"]
        extra_kwargs = {"language": {"required": False}}
        create_only_fields = ["customer", "owner"]

    @extend_schema_field(TotalsSerializer)
    def get_totals(self, quote: Quote) -> dict:
        if "rounding_policy" not in self.context:  # read once per response, not once per quote of a list
            self.context["rounding_policy"] = Company.current().rounding_policy
        return TotalsSerializer(quotes.totals(quote.lines.all(), policy=self.context["rounding_policy"])).data

    def get_actions(self, quote: Quote) -> list[str]:
        request = self.context.get("request")
        return quotes.available_actions(request.user, quote) if request is not None else []


class QuoteDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text=_("true approves the discount, false rejects it."))
    comment = serializers.CharField(required=False, allow_blank=True, default="", help_text=_(
        "Why (required to reject)."))


class PendingApprovalSerializer(serializers.ModelSerializer):
    """A discount waiting for the user's decision, with the quote it belongs to."""

    quote = serializers.IntegerField(source="quote_id", read_only=True)
    number = serializers.CharField(source="quote.number", read_only=True)
    customer = serializers.IntegerField(source="quote.customer_id", read_only=True)
    customer_name = serializers.CharField(source="quote.customer.name", read_only=True)
    owner = serializers.IntegerField(source="quote.owner_id", read_only=True)
    owner_name = serializers.CharField(source="quote.owner.name", read_only=True)
    approver_name = serializers.CharField(source="approver.name", read_only=True, allow_null=True, default=None)
    net = serializers.SerializerMethodField(help_text=_("The quote's total."))

    class Meta:
        model = QuoteApproval
        fields = ["id", "quote", "number", "customer", "customer_name", "owner", "owner_name", "max_discount",
                  "limit", "approver", "approver_name", "requested_at", "net"]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(max_digits=18, decimal_places=2))
    def get_net(self, approval: QuoteApproval):
        return serializers.DecimalField(max_digits=18, decimal_places=2).to_representation(
            sum((line.net_amount for line in approval.quote.lines.all()), Decimal(0)))
