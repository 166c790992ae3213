"""REST API for the organisation (Django REST framework): trees, products, people, customers, transactions, me.

Role in the flow: request → authentication (session with CSRF, or token) → permission by role
(``core.roles``) → queryset from ``org.access.visible_to`` (lists *and* details, so what a user may not see
is a 404, never a 403) → serializer validation → a service in ``org.services`` (atomic, audited) → the
object re-read through the same visible queryset and rendered.

Invariants: no view writes a model directly or calls ``serializer.save()``; a ``django.core.exceptions.
ValidationError`` from a service becomes a 400 whose body is keyed by the field it names; every list has a
total order, so limit/offset pages are stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model, Prefetch, ProtectedError, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.exceptions import MethodNotAllowed, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from salesops.core.roles import can_edit_org, can_edit_people, role_of
from salesops.org import selectors, services
from salesops.org.access import own_salesperson, visible_to
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    CustomerStatus,
    LineStatus,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    SalespersonStatus,
    Team,
)
from salesops.org.serializers import (
    AssignmentSerializer,
    CustomerSegmentSerializer,
    CustomerSerializer,
    MeSerializer,
    OrderLineSerializer,
    PaymentSerializer,
    ProductCategorySerializer,
    ProductSerializer,
    RegionSerializer,
    SalespersonSerializer,
    TeamSerializer,
)

# -- errors -----------------------------------------------------------------------------------------------


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's Django ``ValidationError`` (or a refused delete) into a DRF 400 keyed by field."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError(validation_error_detail(exc)) from exc
    except ProtectedError as exc:
        used_by = sorted({obj._meta.verbose_name for obj in exc.protected_objects})
        raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [
            _("This record is still used by other records (%(used_by)s) and cannot be deleted.")
            % {"used_by": ", ".join(str(name) for name in used_by)}
        ]}) from exc


def validation_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """``{"field": [messages]}``; errors not tied to a field go under DRF's ``non_field_errors`` key."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


# -- query parameters -------------------------------------------------------------------------------------


def int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: [_("Expected a whole number (an id).")]}) from None


def date_param(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [_("Expected a date as YYYY-MM-DD.")]}) from None


def bool_param(request: Request, name: str) -> bool:
    raw = (request.query_params.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ValidationError({name: [_("Expected true or false.")]})


def choice_param(request: Request, name: str, choices) -> str | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw not in choices.values:
        raise ValidationError({name: [_("Expected one of: %(choices)s.") % {"choices": ", ".join(choices.values)}]})
    return raw


def date_range(request: Request, qs: QuerySet, field: str = "date") -> QuerySet:
    """Narrow ``qs`` to ``?date_from=`` … ``?date_to=`` (both inclusive, either optional)."""
    date_from = date_param(request, "date_from")
    date_to = date_param(request, "date_to")
    if date_from and date_to and date_from > date_to:
        raise ValidationError({"date_to": [_("The end of the date range is before its start.")]})
    if date_from:
        qs = qs.filter(**{f"{field}__gte": date_from})
    if date_to:
        qs = qs.filter(**{f"{field}__lte": date_to})
    return qs


def node_param(request: Request, name: str, model):
    pk = int_param(request, name)
    if pk is None:
        return None
    node = model.objects.filter(pk=pk).first()
    if node is None:
        raise ValidationError({name: [_("No %(kind)s with id %(id)s.") % {"kind": model._meta.verbose_name, "id": pk}]})
    return node


def _id_param(name: str, description) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, description=description)


def _date_param(name: str, description) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.DATE, description=description)


# -- permissions ------------------------------------------------------------------------------------------


class RoleCanWrite(BasePermission):
    """Reads for any signed-in user (the queryset decides what they see); writes only if ``can_write(user)``."""

    message = _("Your role may read these records but not change them.")

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or self.can_write(request.user)

    def can_write(self, user) -> bool:
        return False


class OrgEditors(RoleCanWrite):
    """Sales ops and admins change trees, products, customers and transactions."""

    def can_write(self, user) -> bool:
        return can_edit_org(user)


class PeopleEditors(RoleCanWrite):
    """Sales ops, admins and HR change salespeople and assignments."""

    def can_write(self, user) -> bool:
        return can_edit_people(user)


# -- the common viewset -----------------------------------------------------------------------------------


class VisibleServiceMixin:
    """Reads through ``visible_to``; writes through the ``service_*`` hooks a subclass provides.

    List it before DRF's model mixins: its ``perform_create``/``perform_update`` must win over theirs,
    which would call ``serializer.save()`` and bypass the services (and the audit log).
    """

    model: type[Model]  # set by each subclass
    ordering: tuple[str, ...] = ("pk",)
    permission_classes = [IsAuthenticated, OrgEditors]

    def get_queryset(self) -> QuerySet:
        qs = visible_to(self.request.user, self.model)
        if self.action == "list":
            qs = self.filter_list(qs)
        return qs.order_by(*self.ordering)

    def filter_list(self, qs: QuerySet) -> QuerySet:
        """Narrow a list by its query parameters (a subclass hook; details ignore them)."""
        return qs

    def service_create(self, data: dict):
        """Create through the app's service (each writable viewset overrides this)."""
        raise MethodNotAllowed(self.request.method)

    def service_update(self, instance, data: dict):
        """Update through the app's service; viewsets whose records are never edited (a return is a new line)
        keep this refusal."""
        raise MethodNotAllowed(self.request.method)

    def _reload(self, obj):
        # Re-read through the visible queryset so the response shows what this user may see, as a GET would.
        return self.get_queryset().filter(pk=obj.pk).first() or obj

    def perform_create(self, serializer) -> None:
        with service_errors(), transaction.atomic():
            obj = self.service_create(dict(serializer.validated_data))
        serializer.instance = self._reload(obj)

    def perform_update(self, serializer) -> None:
        with service_errors(), transaction.atomic():
            obj = self.service_update(serializer.instance, dict(serializer.validated_data))
        serializer.instance = self._reload(obj)


class ReadCreateUpdateViewSet(VisibleServiceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                              mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    pass


class ReadCreateViewSet(VisibleServiceMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.CreateModelMixin, viewsets.GenericViewSet):
    pass


# -- trees ------------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    _id_param("root", _("Only this node and the nodes below it (its subtree).")),
]))
class TreeNodeViewSet(ReadCreateUpdateViewSet, mixins.DestroyModelMixin):
    """A dimension tree: list (optionally one subtree), create, rename/recode, move (change ``parent``) and
    delete a leaf. Readable by every signed-in user; changed by sales ops and admins."""

    ordering = ("path", "pk")

    def filter_list(self, qs):
        root = node_param(self.request, "root", self.model)
        return selectors.tree_subtree(root, queryset=qs) if root is not None else qs

    def service_create(self, data):
        return services.tree_node_create(actor=self.request.user, model=self.model, **data)

    def service_update(self, instance, data):
        return services.tree_node_update(actor=self.request.user, node=instance, **data)

    def perform_destroy(self, instance) -> None:
        with service_errors(), transaction.atomic():
            services.tree_node_delete(actor=self.request.user, node=instance)


class RegionViewSet(TreeNodeViewSet):
    model = Region
    serializer_class = RegionSerializer


class ProductCategoryViewSet(TreeNodeViewSet):
    model = ProductCategory
    serializer_class = ProductCategorySerializer


class CustomerSegmentViewSet(TreeNodeViewSet):
    model = CustomerSegment
    serializer_class = CustomerSegmentSerializer


class TeamViewSet(TreeNodeViewSet):
    model = Team
    serializer_class = TeamSerializer

    def get_queryset(self):
        return super().get_queryset().select_related("manager")


# -- products ---------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    _id_param("category", _("Only products in this category or any category below it.")),
    OpenApiParameter("active", OpenApiTypes.BOOL, description=_("Only active (true) or inactive (false) products.")),
]))
class ProductViewSet(ReadCreateUpdateViewSet):
    """Products with list price and standard cost. Readable by every signed-in user; changed by ops/admins."""

    model = Product
    serializer_class = ProductSerializer
    ordering = ("sku", "pk")

    def filter_list(self, qs):
        category = node_param(self.request, "category", ProductCategory)
        if category is not None:
            qs = qs.filter(category__path__startswith=category.path)
        if self.request.query_params.get("active") not in (None, ""):
            qs = qs.filter(active=bool_param(self.request, "active"))
        return qs

    def service_create(self, data):
        return services.product_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.product_update(actor=self.request.user, product=instance, **data)


# -- people -----------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("status", OpenApiTypes.STR, enum=SalespersonStatus.values, description=_("Only this status.")),
]))
class SalespersonViewSet(ReadCreateUpdateViewSet):
    """Salespeople the user may see (a rep: themselves; a manager: their subtree; HR, finance, ops: all).
    Changed by HR, ops and admins."""

    model = Salesperson
    serializer_class = SalespersonSerializer
    permission_classes = [IsAuthenticated, PeopleEditors]
    ordering = ("employee_no", "pk")

    def get_queryset(self):
        return super().get_queryset().select_related("user")

    def filter_list(self, qs):
        status = choice_param(self.request, "status", SalespersonStatus)
        return qs.filter(status=status) if status else qs

    def service_create(self, data):
        return services.salesperson_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.salesperson_update(actor=self.request.user, salesperson=instance, **data)


@extend_schema_view(list=extend_schema(parameters=[
    _id_param("salesperson", _("Only this salesperson's assignments (their history, oldest first).")),
    _id_param("team", _("Only assignments to this team.")),
    OpenApiParameter("subtree", OpenApiTypes.BOOL, description=_("With team: include the teams below it.")),
    _date_param("on", _("Only assignments in effect on this date: who was in which team with which manager.")),
]))
class AssignmentViewSet(ReadCreateUpdateViewSet):
    """Effective-dated assignments (team, manager, region, from–to). A person's assignments never overlap.
    Changed by HR, ops and admins."""

    model = Assignment
    serializer_class = AssignmentSerializer
    permission_classes = [IsAuthenticated, PeopleEditors]
    ordering = ("salesperson__employee_no", "start_date", "pk")

    def get_queryset(self):
        return super().get_queryset().select_related("salesperson", "team", "manager", "region")

    def filter_list(self, qs):
        salesperson = int_param(self.request, "salesperson")
        team = node_param(self.request, "team", Team)
        subtree = bool_param(self.request, "subtree")
        day = date_param(self.request, "on")
        if salesperson is not None:
            qs = qs.filter(salesperson_id=salesperson)
        if day is not None:
            return selectors.assignments_on(day, team=team, subtree=subtree, queryset=qs)
        if team is not None:
            qs = qs.filter(team__path__startswith=team.path) if subtree else qs.filter(team=team)
        return qs

    def service_create(self, data):
        return services.assignment_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.assignment_update(actor=self.request.user, assignment=instance, **data)


# -- customers --------------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    _id_param("owner", _("Only customers owned by this salesperson.")),
    _id_param("segment", _("Only customers in this segment or below it.")),
    _id_param("region", _("Only customers in this region or below it.")),
    OpenApiParameter("status", OpenApiTypes.STR, enum=CustomerStatus.values, description=_("Only this status.")),
]))
class CustomerViewSet(ReadCreateUpdateViewSet):
    """Customers the user may see (by owner), with their status (prospect, active, dormant, lost), source,
    preferences and notes. Changed by ops and admins."""

    model = Customer
    serializer_class = CustomerSerializer
    ordering = ("name", "pk")

    def filter_list(self, qs):
        owner = int_param(self.request, "owner")
        if owner is not None:
            qs = qs.filter(owner_id=owner)
        status = choice_param(self.request, "status", CustomerStatus)
        if status:
            qs = qs.filter(status=status)
        for name, model in (("segment", CustomerSegment), ("region", Region)):
            node = node_param(self.request, name, model)
            if node is not None:
                qs = qs.filter(**{f"{name}__path__startswith": node.path})
        return qs

    def service_create(self, data):
        return services.customer_create(actor=self.request.user, **data)

    def service_update(self, instance, data):
        return services.customer_update(actor=self.request.user, customer=instance, **data)


# -- transactions -----------------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(parameters=[
    _date_param("date_from", _("Only lines dated on or after this day.")),
    _date_param("date_to", _("Only lines dated on or before this day.")),
    OpenApiParameter("status", OpenApiTypes.STR, enum=LineStatus.values, description=_("Only this status.")),
    _id_param("salesperson", _("Only lines credited (in part or whole) to this salesperson.")),
    _id_param("customer", _("Only this customer's lines.")),
    _id_param("product", _("Only lines of this product.")),
]))
class OrderLineViewSet(ReadCreateViewSet):
    """Sales transaction lines with their credits and payments, newest first. A rep sees the lines credited
    to them; a manager those of their subtree; finance, ops and admins all; HR none. Created by ops/admins
    (returns and cancellations are new lines pointing at the ``original``)."""

    model = OrderLine
    serializer_class = OrderLineSerializer
    ordering = ("-date", "-pk")

    def get_queryset(self):
        credits = visible_to(self.request.user, OrderCredit).select_related("salesperson").order_by("-split_pct", "pk")
        return super().get_queryset().prefetch_related(Prefetch("credits", queryset=credits), "payments")

    def filter_list(self, qs):
        qs = date_range(self.request, qs)
        status = choice_param(self.request, "status", LineStatus)
        if status:
            qs = qs.filter(status=status)
        salesperson = int_param(self.request, "salesperson")
        if salesperson is not None:
            qs = qs.filter(pk__in=OrderCredit.objects.filter(salesperson_id=salesperson).values("line_id"))
        for name in ("customer", "product"):
            pk = int_param(self.request, name)
            if pk is not None:
                qs = qs.filter(**{f"{name}_id": pk})
        return qs

    def service_create(self, data):
        credits = [(c["salesperson"], c["split_pct"]) for c in data.pop("credits")]
        return services.order_line_create(actor=self.request.user, credits=credits, **data)


@extend_schema_view(list=extend_schema(parameters=[
    _id_param("line", _("Only payments against this order line.")),
    _date_param("date_from", _("Only payments received on or after this day.")),
    _date_param("date_to", _("Only payments received on or before this day.")),
]))
class PaymentViewSet(ReadCreateViewSet):
    """Payments received against order lines (partial payments are common). Visible with their line."""

    model = Payment
    serializer_class = PaymentSerializer
    ordering = ("date", "pk")

    def get_queryset(self):
        return super().get_queryset().select_related("line")

    def filter_list(self, qs):
        line = int_param(self.request, "line")
        if line is not None:
            qs = qs.filter(line_id=line)
        return date_range(self.request, qs)

    def service_create(self, data):
        return services.payment_create(actor=self.request.user, **data)


# -- me ---------------------------------------------------------------------------------------------------


class SingleObjectSchema(AutoSchema):
    """``/api/me/`` is routed as a viewset ``list`` but returns one object, not a page of them."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class MeViewSet(viewsets.ViewSet):
    """The signed-in user: username, role, linked salesperson, and their own credited sales this month and
    in the same month last year."""

    permission_classes = [IsAuthenticated]
    schema = SingleObjectSchema()

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def list(self, request: Request) -> Response:
        me = own_salesperson(request.user)
        today = timezone.localdate()
        comparison = selectors.sales_vs_last_year(me, today) if me else None
        data = {
            "username": request.user.get_username(),
            "role": role_of(request.user),
            "salesperson": {"id": me.pk, "employee_no": me.employee_no, "name": me.name} if me else None,
            "month": today.replace(day=1),
            "sales_this_month": comparison.this_month if comparison else None,
            "sales_same_month_last_year": comparison.same_month_last_year if comparison else None,
        }
        return Response(MeSerializer(data).data)
