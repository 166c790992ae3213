"""REST API for cross-cutting records: the audit log (read-only, administrators only).

Role in the flow: services write ``AuditEvent`` rows inside their transactions (``core.audit.record``); this
endpoint lets administrators browse them, newest first. Nobody writes the log through the API.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated

from salesops.core.models import AuditEvent
from salesops.core.roles import Role, has_role


class IsAdministrator(BasePermission):
    message = _("Only administrators may read the audit log.")

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, Role.ADMIN)


class AuditEventSerializer(serializers.ModelSerializer):
    actor_username = serializers.CharField(source="actor.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "actor_username", "event", "subject_type", "subject_id", "subject_repr",
                  "old", "new"]
        read_only_fields = fields


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("event", OpenApiTypes.STR, description=_("Only this event type, e.g. order_line.created.")),
    OpenApiParameter("subject_type", OpenApiTypes.STR, description=_("Only this object type, e.g. org.orderline.")),
    OpenApiParameter("subject_id", OpenApiTypes.STR, description=_("With subject_type: only this object.")),
    OpenApiParameter("actor", OpenApiTypes.INT, description=_("Only events by this user id.")),
    OpenApiParameter("since", OpenApiTypes.DATE, description=_("Only events on or after this day.")),
]))
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Who did what to which object, with old and new values; newest first. Administrators only."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAuthenticated, IsAdministrator]

    def get_queryset(self):
        qs = AuditEvent.objects.select_related("actor").order_by("-at", "-pk")
        if self.action != "list":
            return qs
        params = self.request.query_params
        for name in ("event", "subject_type", "subject_id"):
            if params.get(name):
                qs = qs.filter(**{name: params[name]})
        if params.get("actor"):
            if not params["actor"].isdigit():
                raise ValidationError({"actor": [_("Expected a whole number (a user id).")]})
            qs = qs.filter(actor_id=int(params["actor"]))
        if params.get("since"):
            try:
                since = dt.date.fromisoformat(params["since"])
            except ValueError:
                raise ValidationError({"since": [_("Expected a date as YYYY-MM-DD.")]}) from None
            qs = qs.filter(at__date__gte=since)
        return qs
