"""/api/payouts/: the calculated payouts a user may see, each with the detail rows that explain it — a rep their
own, a manager their team's, ops/admin/finance everyone, HR nobody (403). Read-only."""

from __future__ import annotations

from django.http import Http404
from rest_framework import serializers, viewsets

from salesops.incentives import access
from salesops.incentives.models import Payout, PayoutDetail


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
