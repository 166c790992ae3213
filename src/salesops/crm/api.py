"""REST API of the customer-relationship records: stages, contacts, opportunities (with their products, moves and
stage history), activities, quotes (lines, the discount approval path, sending, the customer's answer, the PDF and
Excel copies) and the discount approvals waiting for the user.

Role in the flow: request → authentication (session with CSRF, or token) → permission by role (roles that see
no sales data, such as HR, get 403; finance reads but writes nothing; stages are written by ops and admins
only) → queryset from ``crm.access.visible_*`` (lists *and* details, so what a user may not see is a 404,
never a 403) → serializer validation (related ids narrowed to what the user may see) → a service in
``crm.services`` or ``crm.quotes`` (atomic, audited; its ``ValidationError`` is a 400 keyed by the field it names
— a quote line's error sits at the line's index under ``lines``, DRF's shape for nested lists —, its
``PermissionDenied`` a 403) → the record re-read through the same visible queryset and rendered.

Invariants: no view writes a model itself or calls ``serializer.save()``; a refused request saves nothing; every
list has a total order, so limit/offset pages are stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from salesops.core.roles import Role, role_of
from salesops.crm import access, quote_documents, quotes, services
from salesops.crm.models import (
    ActivityKind,
    ContactRole,
    OpportunityProduct,
    OpportunityStatus,
    QuoteApproval,
    QuoteLine,
    QuoteStatus,
    Stage,
    StageChange,
)
from salesops.crm.serializers import (
    ActivityDoneSerializer,
    ActivitySerializer,
    ContactSerializer,
    OpportunityMoveSerializer,
    OpportunityProductSerializer,
    OpportunityProductsSerializer,
    OpportunitySerializer,
    PendingApprovalSerializer,
    QuoteDecisionSerializer,
    QuoteSerializer,
    StageChangeSerializer,
    StageOrderSerializer,
    StageSerializer,
)
from salesops.org.access import own_salesperson
from salesops.org.api import (
    VisibleServiceMixin,
    bool_param,
    choice_param,
    date_param,
    int_param,
    validation_error_detail,
)
from salesops.org.api import (
    service_errors as org_service_errors,
)

# -- errors and parameters --------------------------------------------------------------------------------


@contextmanager
def service_errors(rename: dict[str, str] | None = None) -> Iterator[None]:
    """A service's ``ValidationError`` as a 400 keyed by the field the client sent (``rename`` maps a name the
    service uses to the request's); a refused delete as a 400 saying what still uses the record."""
    try:
        with org_service_errors():
            yield
    except ValidationError as exc:
        if not rename or not isinstance(exc.detail, dict):
            raise
        raise ValidationError({rename.get(key, key): value for key, value in exc.detail.items()}) from exc


def day_range(request: Request, qs: QuerySet, field: str, prefix: str, *, datetime: bool = False) -> QuerySet:
    """Narrow ``qs`` to ``?<prefix>_from=`` … ``?<prefix>_to=`` (dates, both inclusive, either optional); on a
    datetime field the days are those of the current time zone."""
    start = date_param(request, f"{prefix}_from")
    end = date_param(request, f"{prefix}_to")
    if start and end and start > end:
        raise ValidationError({f"{prefix}_to": [_("The end of the date range is before its start.")]})
    lookup = f"{field}__date" if datetime else field
    if start:
        qs = qs.filter(**{f"{lookup}__gte": start})
    if end:
        qs = qs.filter(**{f"{lookup}__lte": end})
    return qs


def _id(name: str, description) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, description=description)


def _days(prefix: str, after, before) -> list[OpenApiParameter]:
    """``<prefix>_from`` and ``<prefix>_to``, described by whole translatable sentences (a sentence pieced
    together from translated words would be fixed in one language when the module loads)."""
    return [OpenApiParameter(f"{prefix}_from", OpenApiTypes.DATE, description=after),
            OpenApiParameter(f"{prefix}_to", OpenApiTypes.DATE, description=before)]


CREATED_DAYS = _days("created", _("Only records created on or after this day."),
                     _("Only records created on or before this day."))


def _default_owner(request: Request, data: dict):
    """The owner the request names, else the user's own salesperson record (a rep creates their own)."""
    owner = data.pop("owner", None) or own_salesperson(request.user)
    if owner is None:
        raise ValidationError({"owner": [_("Say which salesperson owns it.")]})
    return owner


# -- permissions ------------------------------------------------------------------------------------------


class SalesDataAccess(BasePermission):
    """Reads for the roles that see sales data (not HR); writes for those that change it (not finance). Which
    records a user sees and changes is then the visible queryset's and the service's business."""

    message = _("Your role may not read or change sales records.")

    def has_permission(self, request, view) -> bool:
        role = role_of(request.user)
        if request.method in SAFE_METHODS:
            return role in access.READERS
        if role == Role.FINANCE:
            self.message = _("Your role may read these records but not change them.")
        return role in access.WRITERS


class StageAccess(BasePermission):
    """Everyone who sees sales data reads the pipeline's stages; sales ops and admins configure them."""

    message = _("Only sales operations and administrators configure the pipeline's stages.")

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return role_of(request.user) in access.READERS
        return access.can_configure_stages(request.user)


# -- the common viewset -----------------------------------------------------------------------------------


class CrmViewSet(VisibleServiceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Reads through the subclass's ``visible()`` (a ``crm.access.visible_*`` queryset), writes through the
    ``service_*`` hooks."""

    permission_classes = [IsAuthenticated, SalesDataAccess]

    def get_queryset(self) -> QuerySet:
        qs = self.visible()
        if self.action == "list":
            qs = self.filter_list(qs)
        return qs.order_by(*self.ordering)

    def respond(self, obj, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self._reload(obj)).data, status=code)


# -- stages -----------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("active", OpenApiTypes.BOOL, description=_("Only stages in use (true) or retired (false).")),
]))
class StageViewSet(CrmViewSet):
    """The pipeline's stages in order, with the chance of winning and the fields a deal needs to enter each.
    Read by everyone who sees sales data; configured by sales ops and admins. A stage is never deleted (deals
    went through it): retire it with ``active: false``."""

    serializer_class = StageSerializer
    permission_classes = [IsAuthenticated, StageAccess]
    ordering = ("position", "pk")

    def visible(self):
        return Stage.objects.all()

    def filter_list(self, qs):
        if self.request.query_params.get("active") not in (None, ""):
            qs = qs.filter(active=bool_param(self.request, "active"))
        return qs

    def service_create(self, data):
        return services.stage_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.stage_update(actor=self.request.user, stage=instance, **data)

    @extend_schema(request=StageOrderSerializer, responses=StageSerializer(many=True))
    @action(detail=False, methods=["post"], pagination_class=None)
    def reorder(self, request):
        """Put the stages in the order given (every stage named once)."""
        data = StageOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(rename={"stage_ids": "stages"}):
            services.stage_reorder(actor=request.user, stage_ids=data.validated_data["stages"])
        return Response(StageSerializer(self.get_queryset(), many=True).data)


# -- contacts ---------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    _id("customer", _("Only this customer's contacts.")),
    OpenApiParameter("role", OpenApiTypes.STR, enum=ContactRole.values, description=_("Only contacts in this role.")),
    OpenApiParameter("primary", OpenApiTypes.BOOL, description=_("Only primary contacts (true) or the others.")),
]))
class ContactViewSet(CrmViewSet, mixins.DestroyModelMixin):
    """The people at the customers the user may see (a rep: their own customers'; a manager: the team's). One
    primary contact per customer: making one primary makes the previous one not."""

    serializer_class = ContactSerializer
    ordering = ("customer__name", "customer_id", "-primary", "name", "pk")

    def visible(self):
        return access.visible_contacts(self.request.user).select_related("customer")

    def filter_list(self, qs):
        customer = int_param(self.request, "customer")
        if customer is not None:
            qs = qs.filter(customer_id=customer)
        role = choice_param(self.request, "role", ContactRole)
        if role:
            qs = qs.filter(role=role)
        if self.request.query_params.get("primary") not in (None, ""):
            qs = qs.filter(primary=bool_param(self.request, "primary"))
        return qs

    def service_create(self, data):
        return services.contact_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.contact_update(actor=self.request.user, contact=instance, **data)

    def perform_destroy(self, instance) -> None:
        with service_errors(), transaction.atomic():
            services.contact_delete(actor=self.request.user, contact=instance)


# -- opportunities ----------------------------------------------------------------------------------------


def _product_pairs(items) -> list[tuple]:
    return [(item["product"], item.get("quantity", Decimal(1))) for item in items]


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("status", OpenApiTypes.STR, enum=OpportunityStatus.values, description=_("Only this status.")),
    _id("stage", _("Only deals in this stage.")),
    _id("owner", _("Only deals owned by this salesperson.")),
    _id("customer", _("Only this customer's deals.")),
    *CREATED_DAYS,
    *_days("close", _("Only deals expected to close on or after this day."),
           _("Only deals expected to close on or before this day.")),
]))
class OpportunityViewSet(CrmViewSet):
    """Deals (商机) the user may see: a rep their own, a manager the team's, ops, admins and finance all (finance
    only reads). Created in the first open stage unless ``stage`` says otherwise; moved with ``…/move/``;
    never deleted (a deal that goes nowhere is moved to a lost stage, so the funnel keeps it)."""

    serializer_class = OpportunitySerializer
    ordering = ("-created_on", "-pk")

    def visible(self):
        return (access.visible_opportunities(self.request.user)
                .select_related("customer", "owner", "stage")
                .prefetch_related(Prefetch("products", OpportunityProduct.objects.select_related("product")
                                           .order_by("pk"))))

    def filter_list(self, qs):
        state = choice_param(self.request, "status", OpportunityStatus)
        if state:
            qs = qs.filter(status=state)
        for name in ("stage", "owner", "customer"):
            pk = int_param(self.request, name)
            if pk is not None:
                qs = qs.filter(**{f"{name}_id": pk})
        qs = day_range(self.request, qs, "created_on", "created")
        return day_range(self.request, qs, "expected_close", "close")

    def service_create(self, data):
        owner = _default_owner(self.request, data)
        products = _product_pairs(data.pop("products", []))
        return services.opportunity_create(actor=self.request.user, owner=owner, products=products or None, **data)

    def service_update(self, instance, data):
        products = data.pop("products", None)
        return services.opportunity_update(actor=self.request.user, opportunity=instance,
                                           products=None if products is None else _product_pairs(products), **data)

    @extend_schema(request=OpportunityMoveSerializer, responses=OpportunitySerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move the deal to ``stage``, setting the fields given on the way (e.g. ``amount`` to win it,
        ``lost_reason`` to lose it, ``products`` for a stage that needs them). Refused with a 400 naming each
        field the stage needs and the deal lacks; nothing is saved then. The move is recorded with its time and
        the user."""
        opportunity = self.get_object()
        data = OpportunityMoveSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        stage = fields.pop("stage")
        if "products" in fields:
            fields["products"] = _product_pairs(fields["products"])
        with service_errors():
            moved = services.opportunity_move(actor=request.user, opportunity=opportunity, stage=stage, **fields)
        return self.respond(moved)

    @extend_schema(responses=StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, pk=None):
        """The deal's stage changes, oldest first: from which stage to which, when and by whom (the first row is
        its creation, from no stage)."""
        opportunity = self.get_object()
        changes = (StageChange.objects.filter(opportunity=opportunity)
                   .select_related("from_stage", "to_stage", "actor").order_by("changed_at", "pk"))
        return Response(StageChangeSerializer(changes, many=True).data)

    @extend_schema(methods=["GET"], responses=OpportunityProductSerializer(many=True))
    @extend_schema(methods=["PUT"], request=OpportunityProductsSerializer,
                   responses=OpportunityProductSerializer(many=True))
    @action(detail=True, methods=["get", "put"], pagination_class=None)
    def products(self, request, pk=None):
        """The products the deal is about, with quantities; ``PUT`` replaces the whole list (an empty list
        clears it, unless the deal's stage requires products)."""
        opportunity = self.get_object()
        if request.method == "PUT":
            data = OpportunityProductsSerializer(data=request.data, context=self.get_serializer_context())
            data.is_valid(raise_exception=True)
            with service_errors(), transaction.atomic():
                services.opportunity_update(actor=request.user, opportunity=opportunity,
                                            products=_product_pairs(data.validated_data["products"]))
        rows = OpportunityProduct.objects.filter(opportunity=opportunity).select_related("product").order_by("pk")
        return Response(OpportunityProductSerializer(rows, many=True).data)


# -- activities -------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description=_(
        "true: only activities due in the past and not done; false: all the others.")),
    OpenApiParameter("done", OpenApiTypes.BOOL, description=_("Only done (true) or open (false) activities.")),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=ActivityKind.values, description=_("Only this kind.")),
    _id("owner", _("Only activities owned by this salesperson.")),
    _id("customer", _("Only activities with this customer.")),
    _id("opportunity", _("Only activities on this deal.")),
    *_days("due", _("Only activities due on or after this day."), _("Only activities due on or before this day.")),
    *CREATED_DAYS,
]))
class ActivityViewSet(CrmViewSet):
    """Calls, visits, meetings, emails and tasks the user may see (a rep their own, a manager the team's, ops,
    admins and finance all). An activity is never due before it was created; ``…/done/`` records its outcome."""

    serializer_class = ActivitySerializer
    ordering = ("-created_at", "-pk")

    def visible(self):
        return access.visible_activities(self.request.user).select_related("customer", "owner")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def filter_list(self, qs):
        now = timezone.now()
        overdue_filter = {"due_at__lt": now, "done_at__isnull": True}
        if self.request.query_params.get("overdue") not in (None, ""):
            qs = qs.filter(**overdue_filter) if bool_param(self.request, "overdue") else qs.exclude(**overdue_filter)
        if self.request.query_params.get("done") not in (None, ""):
            qs = qs.filter(done_at__isnull=not bool_param(self.request, "done"))
        kind = choice_param(self.request, "kind", ActivityKind)
        if kind:
            qs = qs.filter(kind=kind)
        for name in ("owner", "customer", "opportunity"):
            pk = int_param(self.request, name)
            if pk is not None:
                qs = qs.filter(**{f"{name}_id": pk})
        qs = day_range(self.request, qs, "due_at", "due", datetime=True)
        return day_range(self.request, qs, "created_at", "created", datetime=True)

    def service_create(self, data):
        owner = _default_owner(self.request, data)
        return services.activity_create(actor=self.request.user, owner=owner, **data)

    def service_update(self, instance, data):
        return services.activity_update(actor=self.request.user, activity=instance, **data)

    @extend_schema(request=ActivityDoneSerializer, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        """Mark the activity done with its ``outcome`` (required), now or at ``done_at``."""
        activity = self.get_object()
        data = ActivityDoneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(), transaction.atomic():
            done = services.activity_complete(actor=request.user, activity=activity, **data.validated_data)
        return self.respond(done)



# -- quotes -----------------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def line_errors(count: int) -> Iterator[None]:
    """A quote service's refusal as a 400. Line errors (which carry ``params["line"]`` and ``["field"]``) go
    to their line's index under ``lines``: ``{"lines": [{}, {"discount": ["Line 2: …"]}]}`` for ``count``
    lines, as DRF reports errors of a nested list; an error about the lines as a whole stays a list of text."""
    try:
        yield
    except DjangoValidationError as exc:
        detail: dict = validation_error_detail(exc)
        errors = exc.error_dict.get("lines", []) if hasattr(exc, "error_dict") else []
        if errors and all(e.params and "line" in e.params and "field" in e.params for e in errors):
            nested: list[dict] = [{} for _n in range(max(count, *(e.params["line"] for e in errors)))]
            for error in errors:
                nested[error.params["line"] - 1].setdefault(error.params["field"], []).extend(error.messages)
            detail["lines"] = nested
        raise ValidationError(detail) from exc


def _line_inputs(items) -> list[quotes.LineInput]:
    return [quotes.LineInput(item["product"], item["quantity"], item.get("discount", Decimal(0)), item.get("price"))
            for item in items]


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("status", OpenApiTypes.STR, enum=QuoteStatus.values, description=_("Only this status.")),
    _id("owner", _("Only quotes owned by this salesperson.")),
    _id("customer", _("Only this customer's quotes.")),
    _id("opportunity", _("Only the quotes of this deal.")),
    *CREATED_DAYS,
]))
class QuoteViewSet(CrmViewSet):
    """Quotes (报价) the user may see: a rep their own, a manager the team's, ops, admins and finance all
    (finance only reads). A draft is priced at list price less each line's discount; ``…/submit/`` approves it
    at once when every discount is within the owner's limit, otherwise it waits for the owner's manager
    (``…/decide/``, never the owner); an approved quote is sent (``…/send/``) and the customer's answer recorded
    (``…/accept/`` makes order lines credited to the owner, ``…/decline/``). ``…/pdf/`` and ``…/xlsx/`` are the
    customer's copy, in the quote's language."""

    serializer_class = QuoteSerializer
    ordering = ("-created_at", "-pk")

    def visible(self):
        return (access.visible_quotes(self.request.user)
                .select_related("customer", "owner", "opportunity")
                .prefetch_related(Prefetch("lines", QuoteLine.objects.select_related("product").order_by("pk")),
                                  Prefetch("approvals", QuoteApproval.objects.select_related("approver", "decided_by")
                                           .order_by("requested_at", "pk"))))

    def filter_list(self, qs):
        state = choice_param(self.request, "status", QuoteStatus)
        if state:
            qs = qs.filter(status=state)
        for name in ("owner", "customer", "opportunity"):
            pk = int_param(self.request, name)
            if pk is not None:
                qs = qs.filter(**{f"{name}_id": pk})
        return day_range(self.request, qs, "created_at", "created", datetime=True)

    def service_create(self, data):
        owner = _default_owner(self.request, data)
        lines = data.pop("lines")
        with line_errors(len(lines)):
            return quotes.quote_create(actor=self.request.user, owner=owner, lines=_line_inputs(lines), **data)

    def service_update(self, instance, data):
        lines = data.pop("lines", None)
        with line_errors(len(lines or ())):
            return quotes.quote_update(actor=self.request.user, quote=instance,
                                       lines=None if lines is None else _line_inputs(lines), **data)

    def _step(self, service, **kwargs) -> Response:
        quote = self.get_object()
        with service_errors():
            done = service(actor=self.request.user, quote=quote, **kwargs)
        return self.respond(done)

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Ask for approval of a draft or rejected quote: approved at once when every discount is within the
        owner's limit, otherwise waiting for the owner's manager."""
        return self._step(quotes.quote_submit)

    @extend_schema(request=QuoteDecisionSerializer, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Approve or reject a waiting discount (a manager over the owner, ops or admin; never the owner); a
        rejection says why in ``comment``."""
        data = QuoteDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._step(quotes.quote_decide, approve=data.validated_data["approve"],
                          comment=data.validated_data["comment"])

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Mark an approved quote sent to the customer (refused once its validity has passed)."""
        return self._step(quotes.quote_send)

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The customer accepted the sent quote: each line becomes an order line (order number = the quote's
        number), credited 100 % to the owner. The deal, if any, is moved separately."""
        return self._step(quotes.quote_answer, accepted=True)

    @extend_schema(request=None, responses=QuoteSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """The customer declined the sent quote."""
        return self._step(quotes.quote_answer, accepted=False)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        """The customer's copy as PDF, in the quote's language."""
        quote = self.get_object()
        return _download(quote_documents.quote_pdf(quote), "application/pdf", f"{quote.number}.pdf")

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def xlsx(self, request, pk=None):
        """The customer's copy as an Excel workbook, in the quote's language."""
        quote = self.get_object()
        return _download(quote_documents.quote_xlsx(quote), XLSX, f"{quote.number}.xlsx")


class PendingApprovalViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The quote discounts waiting for the user's decision, oldest first: a manager's team's (never their own),
    every one for ops and admins, none for other roles (HR: 403). Decide them with
    ``POST /api/quotes/{id}/decide/``."""

    serializer_class = PendingApprovalSerializer
    permission_classes = [IsAuthenticated, SalesDataAccess]
    queryset = QuoteApproval.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return (access.pending_approvals_for(self.request.user)
                .select_related("approver")
                .prefetch_related(Prefetch("quote__lines", QuoteLine.objects.order_by("pk")))
                .order_by("requested_at", "pk"))
