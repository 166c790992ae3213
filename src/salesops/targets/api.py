"""REST API for target plans: the same services and the same visibility as the pages (``targets.access``).

``/api/target-plans/`` lists the plans the user sees nodes in; a plan's ``nodes`` are only those visible to the
user; ``allocate``, ``transition``, ``new-version``, ``lock``, ``unlock``, ``manual``, ``accept`` are for ops and
admins; ``commit`` for managers on the nodes they see (and ops/admins anywhere); ``attainment`` for every reader.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from salesops.org.api import service_errors
from salesops.org.models import Company
from salesops.targets import access, services
from salesops.targets.attainment import parse_period, plan_attainment
from salesops.targets.metrics import CHOICES as METRICS
from salesops.targets.models import PlanStatus, TargetMonth, TargetNode, TargetPlan


class TargetPlanSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    metric = serializers.ChoiceField(choices=METRICS, default="net_revenue")
    levels = serializers.JSONField(help_text=_(
        'Ordered levels, e.g. [{"dimension": "team", "depth": 1, "method": "historical", "window": 12}, '
        '{"dimension": "salesperson", "method": "blend", "blend": {"historical": "0.7", "equal": "0.3"}}].'))
    seasonality = serializers.JSONField(required=False, help_text=_(
        '{"source": "history" | "template" | "typed" | "flat", "profile": [12 numbers], "working_days": true}'))

    class Meta:
        model = TargetPlan
        fields = ["id", "family", "version", "previous", "name", "metric", "fiscal_year", "total", "unit", "owner",
                  "status", "specific", "measure", "achievable", "relevant", "deadline", "assumptions", "levels",
                  "seasonality", "behind_threshold", "created_at"]
        read_only_fields = ["family", "version", "previous", "owner", "status", "created_at"]


class TargetMonthSerializer(serializers.ModelSerializer):
    class Meta:
        model = TargetMonth
        fields = ["month", "value"]


class TargetNodeSerializer(serializers.ModelSerializer):
    parent_key = serializers.CharField(source="parent.key", read_only=True, default=None)
    months = TargetMonthSerializer(many=True, read_only=True)

    class Meta:
        model = TargetNode
        fields = ["key", "parent_key", "level", "dimension", "member_id", "name", "value", "exact", "weight",
                  "method", "locked", "manual", "commit", "commit_note", "months"]


class NodeValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ProgressSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    target = serializers.DecimalField(max_digits=18, decimal_places=2)
    actual = serializers.DecimalField(max_digits=18, decimal_places=2)
    attainment = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    time_progress = serializers.DecimalField(max_digits=9, decimal_places=4)
    projected = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    gap_points = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    behind = serializers.BooleanField()


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


class TargetPlanViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TargetPlanSerializer
    queryset = TargetPlan.objects.none()  # for the schema; requests use get_queryset
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return access.visible_plans(self.request.user).select_related("owner").defer("inputs").order_by(
            "-fiscal_year", "family", "-version", "pk")

    def get_object(self):
        return access.access_plan_by_id(self.request.user, self.kwargs["pk"])

    def perform_create(self, serializer):
        _require(access.can_edit(self.request.user))
        with service_errors():
            serializer.instance = services.plan_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        _require(access.can_edit(self.request.user))
        with service_errors():
            serializer.instance = services.plan_update(actor=self.request.user, plan=serializer.instance,
                                                       **serializer.validated_data)

    @extend_schema(responses=TargetNodeSerializer(many=True))
    @action(detail=True, methods=["get"])
    def nodes(self, request, pk=None):
        """The plan's nodes this user may see, with their months."""
        plan = self.get_object()
        segments = access.visible_segments(request.user)
        nodes = [n for n in plan.nodes.select_related("parent").prefetch_related("months").order_by("key")
                 if access.key_visible(n.key, segments)]
        return Response(TargetNodeSerializer(nodes, many=True).data)

    @extend_schema(request=None, responses=inline_serializer("Warnings", {"warnings": serializers.ListField()}))
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        """Decompose the plan afresh from the organisation's data (drafts only)."""
        _require(access.can_edit(request.user))
        plan = self.get_object()
        with service_errors():
            warnings = services.plan_allocate(actor=request.user, plan=plan)
        return Response({"warnings": warnings})

    @extend_schema(request=inline_serializer("Transition", {"to": serializers.ChoiceField(PlanStatus.choices),
                                                           "comment": serializers.CharField(required=False)}),
                   responses=TargetPlanSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        _require(access.can_edit(request.user))
        plan = self.get_object()
        to = request.data.get("to")
        if to not in PlanStatus.values:
            raise ValidationError({"to": [_("Expected one of: %(choices)s.") % {"choices": ", ".join(PlanStatus.values)}]})
        with service_errors():
            plan = services.plan_transition(actor=request.user, plan=plan, to=to, comment=request.data.get("comment", ""))
        return Response(TargetPlanSerializer(plan).data)

    @extend_schema(request=None, responses=TargetPlanSerializer)
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request, pk=None):
        _require(access.can_edit(request.user))
        plan = self.get_object()
        with service_errors():
            copy = services.plan_new_version(actor=request.user, plan=plan)
        return Response(TargetPlanSerializer(copy).data, status=201)

    def _node_action(self, request, run, *, editors_only=True):
        plan = self.get_object()
        data = NodeValueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        node = access.access_node_by_key(request.user, plan, data.validated_data["key"])
        if editors_only:
            _require(access.can_edit(request.user))
        with service_errors():
            result = run(node, data.validated_data)
        return Response({"warnings": result if isinstance(result, list) else []})

    @extend_schema(request=NodeValueSerializer, responses=inline_serializer("NodeWarnings", {"warnings": serializers.ListField()}))
    @action(detail=True, methods=["post"])
    def lock(self, request, pk=None):
        """Fix a node's value; its siblings re-balance."""
        def run(node, data):
            if data.get("value") is None:
                raise ValidationError({"value": [_("A lock needs a value.")]})
            return services.node_lock(actor=request.user, node=node, value=Decimal(data["value"]))
        return self._node_action(request, run)

    @extend_schema(request=NodeValueSerializer, responses=inline_serializer("UnlockWarnings", {"warnings": serializers.ListField()}))
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        return self._node_action(request, lambda node, data: services.node_unlock(actor=request.user, node=node))

    @extend_schema(request=NodeValueSerializer, responses=inline_serializer("ManualWarnings", {"warnings": serializers.ListField()}))
    @action(detail=True, methods=["post"])
    def manual(self, request, pk=None):
        """Type (or clear) a value on a manual level."""
        return self._node_action(request, lambda node, data: services.node_set_manual(
            actor=request.user, node=node, value=data.get("value")))

    @extend_schema(request=NodeValueSerializer, responses=inline_serializer("AcceptWarnings", {"warnings": serializers.ListField()}))
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept a node's commit: it becomes the node's lock."""
        return self._node_action(request, lambda node, data: services.node_accept_commit(actor=request.user, node=node))

    @extend_schema(request=NodeValueSerializer, responses=inline_serializer("CommitDone", {"warnings": serializers.ListField()}))
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        """A bottom-up commit on a node (managers on the nodes they see; ops and admins anywhere)."""
        plan = self.get_object()
        segments = access.visible_segments(request.user)

        def run(node, data):
            _require(access.may_commit(request.user, plan, node.key, segments))
            return services.node_commit(actor=request.user, node=node, value=data.get("value"), note=data.get("note", ""))
        return self._node_action(request, run, editors_only=False)

    @extend_schema(parameters=[OpenApiParameter("period", str, description=_(
        "A period code: 2026-03, 2026-Q1, 2026-H1, FY2026 or YTD (default: the plan's fiscal year)."))],
        responses=ProgressSerializer(many=True))
    @action(detail=True, methods=["get"])
    def attainment(self, request, pk=None):
        """Target, actual, attainment, time progress, projection and behind-pace flag of every visible node."""
        plan = self.get_object()
        calendar = Company.current().calendar
        try:
            period = parse_period(request.query_params.get("period") or f"FY{plan.fiscal_year}", calendar,
                                  timezone.localdate())
        except ValueError as error:
            raise ValidationError({"period": [str(error)]}) from None
        result = plan_attainment(plan, period, timezone.localdate())
        segments = access.visible_segments(request.user)
        rows = [
            {"key": node.key, "name": node.name, **{f: getattr(result.progress[pk], f) for f in (
                "target", "actual", "attainment", "time_progress", "projected", "gap_points", "behind")}}
            for pk, node in sorted(result.nodes.items(), key=lambda item: item[1].key)
            if access.key_visible(node.key, segments)
        ]
        return Response(ProgressSerializer(rows, many=True).data)
