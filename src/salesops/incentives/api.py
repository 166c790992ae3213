"""REST API of the incentives pages: payouts, calculation runs (start, review → approve → pay, reopen, payroll),
statements with their "why" drill-down, adjustments and disputes.

Role in the flow: request → authentication → the object loaded through ``incentives.access`` (what a user may not
see is a 404; a role that sees no pay, such as HR, gets 403) → a service in ``incentives.services`` (atomic,
audited; its ``PermissionDenied`` is a 403, its ``ValidationError`` a 400 keyed by the field) → the object re-read
and rendered. The same services and the same visibility as the HTML views (``views/runs.py``,
``views/statements.py``).

Invariants: money and ratios are exact decimal strings, never floats; no view writes a model itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, Sum
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from salesops.core.roles import role_of
from salesops.imports.exporting import FORMATS, export_response
from salesops.incentives import access, selectors, services
from salesops.incentives.models import (
    Adjustment,
    CalculationRun,
    CompPlan,
    DecisionStatus,
    Dispute,
    DisputeMessage,
    DisputeStatus,
    Payout,
    PayoutDetail,
    RunStatus,
)
from salesops.org.access import visible_to
from salesops.org.api import choice_param, int_param, validation_error_detail
from salesops.org.models import Salesperson

# -- errors -------------------------------------------------------------------------------------------------------


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The object is not in a state that allows this.")
    default_code = "conflict"


@contextmanager
def service_errors(rename: dict[str, str] | None = None) -> Iterator[None]:
    """A service's ``ValidationError`` as a DRF 400 keyed by the field the client sent (``rename`` maps a
    model field the service names to the request's field)."""
    try:
        yield
    except DjangoValidationError as exc:
        detail = validation_error_detail(exc)
        raise ValidationError({(rename or {}).get(key, key): messages for key, messages in detail.items()}) from exc


def _user(field: str) -> serializers.CharField:
    return serializers.CharField(source=f"{field}.username", read_only=True, allow_null=True, default=None)


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=18, decimal_places=2, **kwargs)


# -- payouts ------------------------------------------------------------------------------------------------------


class PayoutDetailSerializer(serializers.ModelSerializer):
    basis = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
    rate = serializers.DecimalField(max_digits=38, decimal_places=12, allow_null=True)
    earned = serializers.DecimalField(max_digits=38, decimal_places=18)

    class Meta:
        model = PayoutDetail
        fields = ["rule", "band", "basis", "rate", "earned"]


class PayoutSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id", read_only=True)
    period = serializers.CharField(source="run.period", read_only=True)
    plan = serializers.CharField(source="run.version.plan.name", read_only=True)
    version = serializers.IntegerField(source="run.version.version", read_only=True)
    employee_no = serializers.CharField(source="salesperson.employee_no", read_only=True)
    measure = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
    quota = serializers.DecimalField(max_digits=38, decimal_places=2, allow_null=True)
    attainment = serializers.DecimalField(max_digits=38, decimal_places=4, allow_null=True)
    earned = serializers.DecimalField(max_digits=38, decimal_places=18)
    details = PayoutDetailSerializer(many=True, read_only=True)

    class Meta:
        model = Payout
        fields = ["id", "run", "period", "plan", "version", "salesperson", "employee_no", "component", "measure",
                  "quota", "attainment", "earned", "amount", "details"]


class PayoutViewSet(viewsets.ReadOnlyModelViewSet):
    """Payouts of calculated runs; filter with ``?run=ID`` or ``?period=2026-03``."""

    serializer_class = PayoutSerializer
    queryset = Payout.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        qs = (access.visible_payouts(self.request.user)
              .select_related("run__version__plan", "salesperson").prefetch_related("details")
              .order_by("-run__period", "run_id", "salesperson__employee_no", "component"))
        run = self.request.query_params.get("run")
        if run:
            if not run.isdigit():
                raise Http404("No such run.")
            qs = qs.filter(run_id=int(run))
        period = self.request.query_params.get("period")
        return qs.filter(run__period=period) if period else qs


# -- runs ---------------------------------------------------------------------------------------------------------


class RunSerializer(serializers.ModelSerializer):
    plan = serializers.IntegerField(source="plan_id", read_only=True)
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    version = serializers.IntegerField(source="version.version", read_only=True)
    started_by = _user("started_by")
    reviewed_by = _user("reviewed_by")
    approved_by = _user("approved_by")
    paid_by = _user("paid_by")
    total = _money(read_only=True, allow_null=True, help_text=_("The sum of the run's payouts."))
    people = serializers.IntegerField(read_only=True, help_text=_("How many people the run pays."))

    class Meta:
        model = CalculationRun
        fields = ["id", "plan", "plan_name", "version", "period", "kind", "status", "progress", "stage",
                  "fingerprint", "error", "started_by", "started_at", "finished_at", "reviewed_by", "reviewed_at",
                  "approved_by", "approved_at", "paid_by", "paid_at", "total", "people"]


class RunStartSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=CompPlan.objects.all())
    period = serializers.CharField(max_length=10, help_text=_("2026-03 or 2026-Q1"))


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PayrollComponentSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class PayrollRowSerializer(serializers.Serializer):
    period = serializers.CharField()
    employee_no = serializers.CharField()
    name = serializers.CharField()
    components = serializers.DictField(child=_money(), help_text=_("The amount of each component, by its id."))
    corrections = _money(help_text=_("Corrections of paid periods paid with this period."))
    adjustments = _money(help_text=_("Approved adjustments of this period."))
    total = _money()


class PayrollSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    plan = serializers.CharField()
    period = serializers.CharField()
    status = serializers.CharField()
    components = PayrollComponentSerializer(many=True)
    rows = PayrollRowSerializer(many=True)
    total = _money()


class _FileRenderer(BaseRenderer):
    """Lets ``?format=csv|xlsx`` reach the payroll action, which answers with the file itself; what this renders
    is a refusal (not approved, no such run, not allowed): its messages as UTF-8 text, one per line."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return "\n".join(_messages(data)).encode("utf-8")


def _messages(data) -> list[str]:
    if isinstance(data, dict):
        return [m for value in data.values() for m in _messages(value)]
    if isinstance(data, list | tuple):
        return [m for value in data for m in _messages(value)]
    return [str(data)]


class CSVRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XLSXRenderer(_FileRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Calculation runs, for ops, admin and finance (whole runs show everyone's pay; other roles get 403).
    Ops and admin start runs and review them; finance or admin (never the run's reviewer) approves them and marks
    them paid. Filter with ``?plan=ID``, ``?period=2026-03``, ``?status=``."""

    serializer_class = RunSerializer
    queryset = CalculationRun.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        qs = (access.visible_runs(self.request.user)
              .select_related("plan", "version", "started_by", "reviewed_by", "approved_by", "paid_by")
              .annotate(total=Sum("payouts__amount"), people=Count("payouts__salesperson", distinct=True))
              .order_by("-started_at", "-id"))
        if self.action != "list":
            return qs
        plan = int_param(self.request, "plan")
        if plan is not None:
            qs = qs.filter(plan_id=plan)
        period = self.request.query_params.get("period")
        if period:
            qs = qs.filter(period=period)
        run_status = choice_param(self.request, "status", RunStatus)
        return qs.filter(status=run_status) if run_status else qs

    def get_object(self):
        run = access.access_run(self.request.user, self.kwargs["pk"])
        return self.get_queryset().get(pk=run.pk)

    def _respond(self, run: CalculationRun, code: int = status.HTTP_200_OK) -> Response:
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=code)

    @extend_schema(parameters=[
        OpenApiParameter("plan", OpenApiTypes.INT, description=_("Only the runs of this plan.")),
        OpenApiParameter("period", OpenApiTypes.STR, description=_("Only the runs of this period (2026-03).")),
        OpenApiParameter("status", OpenApiTypes.STR, enum=RunStatus.values, description=_("Only runs in this status.")),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RunStartSerializer, responses={202: RunSerializer})
    def create(self, request, *args, **kwargs):
        """Start a run of a plan for a period (ops and admin): stored as running and calculated in the background;
        poll the run until its status is no longer ``running``."""
        access.visible_runs(request.user)
        if role_of(request.user) not in services.REVIEWERS:
            raise PermissionDenied
        data = RunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            run = services.run_enqueue(actor=request.user, plan=data.validated_data["plan"],
                                       period_code=data.validated_data["period"].strip())
        return self._respond(run, status.HTTP_202_ACCEPTED)

    def _transition(self, request, service, **kwargs) -> Response:
        run = access.access_run(request.user, self.kwargs["pk"])
        with service_errors():
            service(actor=request.user, run=run, **kwargs)
        return self._respond(run)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Mark a calculated run reviewed (ops and admin)."""
        return self._transition(request, services.run_review)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a reviewed run (finance and admin; never its reviewer; no adjustment of the period waiting)."""
        return self._transition(request, services.run_approve)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        """Mark an approved run paid: the period is closed for good."""
        return self._transition(request, services.run_pay)

    @extend_schema(request=ReasonSerializer, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Send a reviewed or approved run back to calculated, saying why."""
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._transition(request, services.run_reopen, reason=data.validated_data["reason"])

    @extend_schema(
        parameters=[OpenApiParameter("format", OpenApiTypes.STR, enum=["json", *FORMATS], description=_(
            "json (default), or csv / xlsx for the payroll file."))],
        responses={(200, "application/json"): PayrollSerializer,
                   (200, CSVRenderer.media_type): OpenApiTypes.BINARY,
                   (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
                   409: OpenApiResponse(description=_("The run is not approved or paid yet."))})
    @action(detail=True, methods=["get"],
            renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer, XLSXRenderer])
    def payroll(self, request, pk=None):
        """The payroll of an approved or paid run: per person each component, the corrections of paid periods
        and the approved adjustments paid with it, and the total; as JSON, CSV or Excel."""
        run = access.access_run(request.user, pk)
        if run.status not in (RunStatus.APPROVED, RunStatus.PAID):
            raise Conflict({"status": [_("Payroll is exported from an approved or paid run; this run is "
                                         "%(status)s.") % {"status": run.get_status_display()}]})
        names, rows = selectors.payroll(run)
        fmt = request.accepted_renderer.format
        if fmt in FORMATS:
            return export_response(selectors.payroll_columns(names), rows, fmt,
                                   f"payroll-{run.plan.name}-{run.period}")
        return Response(PayrollSerializer({
            "run": run.pk, "plan": run.plan.name, "period": run.period, "status": run.status,
            "components": [{"id": c, "name": name} for c, name in names.items()], "rows": rows,
            "total": sum((r.total for r in rows), Decimal(0))}).data)


# -- statements ---------------------------------------------------------------------------------------------------


class StatementDetailSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text=_("The rule's code (band, rate row, cap…)."))
    rule_text = serializers.CharField(help_text=_("The rule in words."))
    band = serializers.IntegerField()
    basis = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
    rate = serializers.DecimalField(max_digits=38, decimal_places=12, allow_null=True)
    earned = serializers.DecimalField(max_digits=38, decimal_places=18)


class StatementItemSerializer(serializers.Serializer):
    payout = serializers.IntegerField(help_text=_("The statement line's id (to raise a dispute on it)."))
    component = serializers.CharField()
    name = serializers.CharField()
    measure = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
    quota = serializers.DecimalField(max_digits=38, decimal_places=2, allow_null=True)
    attainment = serializers.DecimalField(max_digits=38, decimal_places=4, allow_null=True)
    amount = _money()
    earned = serializers.DecimalField(max_digits=38, decimal_places=18)
    details = StatementDetailSerializer(many=True)
    disputes = serializers.ListField(child=serializers.IntegerField(), help_text=_("Ids of disputes on this line."))


class StatementCorrectionSerializer(serializers.Serializer):
    component = serializers.CharField()
    corrected_period = serializers.CharField()
    amount = _money()
    earned = serializers.DecimalField(max_digits=38, decimal_places=18)
    corrects = serializers.IntegerField(allow_null=True, help_text=_("The paid payout it corrects, if any."))
    source_run = serializers.IntegerField(help_text=_("The correction run that found the difference."))


class StatementAdjustmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = _money()
    reason = serializers.CharField()
    status = serializers.CharField(help_text=_("approved (counted in the total) or pending."))
    created_by = serializers.CharField()
    decided_by = serializers.CharField(allow_null=True)


class StatementPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    employee_no = serializers.CharField()
    name = serializers.CharField()


class StatementSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    plan = serializers.CharField()
    version = serializers.IntegerField()
    period = serializers.CharField()
    status = serializers.CharField()
    person = StatementPersonSerializer()
    total = _money(help_text=_("Payouts, corrections and approved adjustments of the period."))
    ytd = _money(help_text=_("The total of the fiscal year up to and including this period."))
    fiscal_year = serializers.CharField()
    previous = _money(allow_null=True, help_text=_("The previous period's total (null when it has no run)."))
    change = _money(allow_null=True)
    items = StatementItemSerializer(many=True)
    corrections = StatementCorrectionSerializer(many=True)
    adjustments = StatementAdjustmentSerializer(many=True, help_text=_(
        "Approved adjustments (counted in the total) and pending ones (not yet counted)."))


def _statement_data(s: selectors.Statement) -> dict:
    def adjustment(a: Adjustment) -> dict:
        return {"id": a.pk, "amount": a.amount, "reason": a.reason, "status": a.status,
                "created_by": a.created_by.username, "decided_by": a.decided_by.username if a.decided_by else None}

    return {
        "run": s.run.pk, "plan": s.run.version.plan.name, "version": s.run.version.version, "period": s.run.period,
        "status": s.run.status,
        "person": {"id": s.person.pk, "employee_no": s.person.employee_no, "name": s.person.name},
        "total": s.total, "ytd": s.ytd, "fiscal_year": s.fiscal_year, "previous": s.previous, "change": s.change,
        "items": [{"payout": i.payout.pk, "component": i.payout.component, "name": i.name,
                   "measure": i.payout.measure, "quota": i.payout.quota, "attainment": i.payout.attainment,
                   "amount": i.payout.amount, "earned": i.payout.earned,
                   "details": [{"rule": d.rule, "rule_text": str(text), "band": d.band, "basis": d.basis,
                                "rate": d.rate, "earned": d.earned} for d, text in i.details],
                   "disputes": [d.pk for d in i.disputes]} for i in s.items],
        "corrections": [{"component": c.component, "corrected_period": c.corrected_period, "amount": c.amount,
                         "earned": c.earned, "corrects": c.corrects_id, "source_run": c.source_run_id}
                        for c in s.corrections],
        "adjustments": [adjustment(a) for a in s.adjustments + s.pending_adjustments],
    }


class StatementView(APIView):
    """A person's statement for a run: what the statement page shows. A rep sees their own, a manager their
    team's, ops, admin and finance everyone's; someone else's is a 404, HR gets 403."""

    @extend_schema(responses=StatementSerializer, operation_id="statements_retrieve")
    def get(self, request, run_id: int, person_id: int):
        run, payouts = access.access_statement(request.user, run_id, person_id)
        return Response(StatementSerializer(_statement_data(selectors.statement(run, payouts))).data)


class WhyLineSerializer(serializers.Serializer):
    line_id = serializers.CharField(help_text=_("The order line's external id."))
    date = serializers.DateField(allow_null=True)
    customer = serializers.CharField(allow_null=True)
    product = serializers.CharField(allow_null=True)
    net_amount = _money(allow_null=True)
    seller = serializers.CharField(help_text=_("The employee number of the person the line is credited to."))
    level = serializers.IntegerField(help_text=_("0: the payee's own credit; 1 and up: rolled up that many levels."))
    credit = serializers.DecimalField(max_digits=38, decimal_places=8)


class WhySerializer(serializers.Serializer):
    component = serializers.CharField()
    name = serializers.CharField()
    amount = _money()
    measure = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
    total_credit = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
    lines = WhyLineSerializer(many=True, allow_null=True, help_text=_(
        "The order lines credited to the measure; null when the run kept no lineage."))


class StatementWhyView(APIView):
    """From a component's amount down to the order lines credited to its measure (same access as the
    statement; a component not on the statement is a 404)."""

    @extend_schema(responses=WhySerializer, operation_id="statements_why_retrieve")
    def get(self, request, run_id: int, person_id: int, component: str):
        run, payouts = access.access_statement(request.user, run_id, person_id)
        payout = next((p for p in payouts if p.component == component), None)
        if payout is None:
            raise Http404("No such component on this statement.")
        lines = selectors.why_lines(run, payout.salesperson_id, component)
        rows = None if lines is None else [{
            "line_id": w.line_id, "date": w.line.date if w.line else None,
            "customer": w.line.customer.name if w.line else None, "product": w.line.product.name if w.line else None,
            "net_amount": w.line.net_amount if w.line else None, "seller": w.seller, "level": w.level,
            "credit": w.credit} for w in lines]
        return Response(WhySerializer({
            "component": component, "name": selectors.component_names(run).get(component, component),
            "amount": payout.amount, "measure": payout.measure,
            "total_credit": None if lines is None else sum((Decimal(w.credit) for w in lines), Decimal(0)),
            "lines": rows}).data)


# -- adjustments --------------------------------------------------------------------------------------------------


class AdjustmentSerializer(serializers.ModelSerializer):
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    employee_no = serializers.CharField(source="salesperson.employee_no", read_only=True)
    name = serializers.CharField(source="salesperson.name", read_only=True)
    created_by = _user("created_by")
    decided_by = _user("decided_by")

    class Meta:
        model = Adjustment
        fields = ["id", "plan", "plan_name", "salesperson", "employee_no", "name", "period", "amount", "reason",
                  "status", "created_by", "created_at", "decided_by", "decided_at", "decision_note", "paid_run"]
        read_only_fields = fields


class AdjustmentCreateSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=CompPlan.objects.all())
    salesperson = serializers.PrimaryKeyRelatedField(queryset=Salesperson.objects.none())
    period = serializers.CharField(max_length=10, help_text=_("2026-03 or 2026-Q1"))
    amount = _money(help_text=_("Negative to take money back."))
    reason = serializers.CharField(allow_blank=True)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["salesperson"].queryset = visible_to(user, Salesperson)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="",
                                 help_text=_("Why (required to reject)."))


class AdjustmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Manual amounts added to or taken from a person's pay for a period, visible like statements. Ops, admin
    and managers (for their team) make them; ops, admin and finance approve or reject them — never their maker.
    Filter with ``?status=pending`` or ``?period=2026-03``."""

    serializer_class = AdjustmentSerializer
    queryset = Adjustment.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        qs = access.visible_adjustments(self.request.user).order_by("-period", "-id")
        if self.action != "list":
            return qs
        decision = choice_param(self.request, "status", DecisionStatus)
        if decision:
            qs = qs.filter(status=decision)
        period = self.request.query_params.get("period")
        return qs.filter(period=period) if period else qs

    def get_object(self):
        return access.access_adjustment(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=DecisionStatus.values,
                         description=_("Only adjustments with this decision.")),
        OpenApiParameter("period", OpenApiTypes.STR, description=_("Only adjustments of this period (2026-03).")),
    ])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=AdjustmentCreateSerializer, responses={201: AdjustmentSerializer})
    def create(self, request, *args, **kwargs):
        """Make an adjustment; it waits for someone else's approval."""
        access.visible_adjustments(request.user)
        if role_of(request.user) not in services.ADJUSTMENT_MAKERS:
            raise PermissionDenied
        data = AdjustmentCreateSerializer(data=request.data, user=request.user)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        with service_errors():
            adjustment = services.adjustment_create(
                actor=request.user, plan=values["plan"], salesperson=values["salesperson"],
                period_code=values["period"].strip(), amount=values["amount"], reason=values["reason"])
        return self._respond(adjustment, status.HTTP_201_CREATED)

    def _respond(self, adjustment: Adjustment, code: int = status.HTTP_200_OK) -> Response:
        return Response(AdjustmentSerializer(self.get_queryset().get(pk=adjustment.pk)).data, status=code)

    def _decide(self, request, *, approve: bool) -> Response:
        adjustment = self.get_object()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(rename={"decision_note": "note"}):
            services.adjustment_decide(actor=request.user, adjustment=adjustment, approve=approve,
                                       note=data.validated_data["note"])
        return self._respond(adjustment)

    @extend_schema(request=NoteSerializer, responses=AdjustmentSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a waiting adjustment (ops, admin, finance; not its maker)."""
        return self._decide(request, approve=True)

    @extend_schema(request=NoteSerializer, responses=AdjustmentSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a waiting adjustment, saying why in ``note``."""
        return self._decide(request, approve=False)


# -- disputes -----------------------------------------------------------------------------------------------------


class DisputeMessageSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = DisputeMessage
        fields = ["id", "author", "text", "created_at"]


class DisputeSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="payout.run_id", read_only=True)
    period = serializers.CharField(source="payout.run.period", read_only=True)
    component = serializers.CharField(source="payout.component", read_only=True)
    salesperson = serializers.IntegerField(source="payout.salesperson_id", read_only=True)
    employee_no = serializers.CharField(source="payout.salesperson.employee_no", read_only=True)
    amount = _money(source="payout.amount", read_only=True)
    raised_by = _user("raised_by")
    messages = DisputeMessageSerializer(many=True, read_only=True)

    class Meta:
        model = Dispute
        fields = ["id", "payout", "run", "period", "component", "salesperson", "employee_no", "amount", "raised_by",
                  "status", "created_at", "answered_at", "resolved_at", "messages"]
        read_only_fields = fields


class DisputeRaiseSerializer(serializers.Serializer):
    payout = serializers.IntegerField(help_text=_("The statement line (payout id) questioned."))
    text = serializers.CharField(allow_blank=True)


class DisputeMessageCreateSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)
    resolve = serializers.BooleanField(default=False, help_text=_("Close the dispute with this message."))


class DisputeViewSet(viewsets.ReadOnlyModelViewSet):
    """Questions on statement lines (申诉), visible like statements, each with its messages. The payee (or their
    manager) raises one; ops and admin answer; the one who raised it replies or resolves it.
    Filter with ``?status=open``."""

    serializer_class = DisputeSerializer
    queryset = Dispute.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        qs = (access.visible_disputes(self.request.user)
              .prefetch_related(Prefetch("messages", DisputeMessage.objects.select_related("author")))
              .order_by("-created_at", "-id"))
        state = choice_param(self.request, "status", DisputeStatus) if self.action == "list" else None
        return qs.filter(status=state) if state else qs

    def get_object(self):
        dispute = access.access_dispute(self.request.user, self.kwargs["pk"])
        return self.get_queryset().get(pk=dispute.pk)

    def _respond(self, dispute: Dispute, code: int = status.HTTP_200_OK) -> Response:
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data, status=code)

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=DisputeStatus.values,
                                                description=_("Only disputes in this status."))])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DisputeRaiseSerializer, responses={201: DisputeSerializer})
    def create(self, request, *args, **kwargs):
        """Raise a question on a statement line the user may see (a payout they may not see is a 404)."""
        access.visible_disputes(request.user)
        data = DisputeRaiseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payout = access.access_payout(request.user, data.validated_data["payout"])
        with service_errors():
            dispute = services.dispute_raise(actor=request.user, payout=payout, text=data.validated_data["text"])
        return self._respond(dispute, status.HTTP_201_CREATED)

    @extend_schema(request=DisputeMessageCreateSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def messages(self, request, pk=None):
        """Write in the dispute: ops and admin answer (and may resolve); the one who raised it replies (reopening
        it) or resolves it."""
        dispute = access.access_dispute(request.user, pk)
        data = DisputeMessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            services.dispute_answer(actor=request.user, dispute=dispute, text=data.validated_data["text"],
                                    resolve=data.validated_data["resolve"])
        return self._respond(dispute)
