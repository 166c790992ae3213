"""/api/modelling/: the what-if comparison of a draft plan version with the current plan as JSON — the same
figures as the modelling page (``incentives.modelling.as_data``), every amount as exact decimal text.

``POST`` with ``plan`` (id), ``draft_version`` (id of a draft version of that plan) and ``periods`` (month codes,
complete and past; default the last six complete months). Ops, admin and finance only (403 for everyone else);
nothing is written.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from salesops.core.roles import Role, role_of
from salesops.engine.periods import PeriodKind
from salesops.incentives import modelling
from salesops.incentives.models import CompPlan, CompPlanVersion
from salesops.org.models import Company


class CanModel(permissions.BasePermission):
    """Compensation is confidential: the comparison shows everyone's pay."""

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) in (Role.ADMIN, Role.OPS, Role.FINANCE)


class ComparisonRequestSerializer(serializers.Serializer):
    plan = serializers.PrimaryKeyRelatedField(queryset=CompPlan.objects.all())
    draft_version = serializers.PrimaryKeyRelatedField(queryset=CompPlanVersion.objects.filter(draft=True))
    periods = serializers.ListField(child=serializers.CharField(max_length=7), required=False,
                                    max_length=modelling.MAX_MONTHS,
                                    help_text="Month codes such as 2026-03; default: the last six complete months.")

    def validate_periods(self, codes):
        calendar = Company.current().calendar
        this_month = calendar.month(timezone.localdate())
        months = []
        for code in codes:
            try:
                month = calendar.parse(code)
            except ValueError:
                raise serializers.ValidationError(_("%(code)s is not a month (e.g. 2026-03).") % {"code": code}) \
                    from None
            if month.kind is not PeriodKind.MONTH:
                raise serializers.ValidationError(_("%(code)s is not a month (e.g. 2026-03).") % {"code": code})
            if month.end > this_month.start:
                raise serializers.ValidationError(
                    _("Only complete past months can be modelled; %(code)s is not over yet.") % {"code": code})
            months.append(month)
        if len({m.code for m in months}) != len(months):
            raise serializers.ValidationError(_("A month is listed twice."))
        return sorted(months)

    def validate(self, attrs):
        if attrs["draft_version"].plan_id != attrs["plan"].pk:
            raise serializers.ValidationError({"draft_version": _("Version %(n)s is not a version of %(plan)s.") % {
                "n": attrs["draft_version"].version, "plan": attrs["plan"].name}})
        return attrs


class ModellingView(APIView):
    """Compare a draft plan version with the current plan over past months (read-only: nothing is stored)."""

    permission_classes = [permissions.IsAuthenticated, CanModel]
    serializer_class = ComparisonRequestSerializer

    def post(self, request):
        given = ComparisonRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        calendar = Company.current().calendar
        months = given.validated_data.get("periods") or modelling.default_periods(calendar, timezone.localdate())
        try:
            comparison = modelling.compare(given.validated_data["plan"], given.validated_data["draft_version"],
                                           months, calendar=calendar)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return Response(modelling.as_data(comparison))
