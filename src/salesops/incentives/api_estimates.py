"""/api/estimate/: a person's live estimate — ``GET ?person=ID`` to date and at the current pace, ``POST`` with
what-if deals ``{"person": ID, "deals": [{"product": "SKU", "amount": "12000.00", "date": "2026-11-20",
"customer": "C-1"}]}``. Same visibility as the page: a rep their own (another person: 404), a manager their
team's, ops/admin/finance anyone, HR 403. Nothing is stored; amounts are decimal strings."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from salesops.incentives import estimates
from salesops.org.access import visible_to
from salesops.org.models import Customer


def _text(value) -> str | None:
    return None if value is None else f"{value:f}"


def _figures(figures: estimates.Figures) -> dict:
    return {"total": _text(figures.total), "components": [
        {"component": c.id, "name": c.name, "measure": _text(c.measure), "quota": _text(c.quota),
         "attainment": _text(c.attainment), "earned": _text(c.earned), "amount": _text(c.amount),
         "details": [{"rule": d.rule, "band": d.band, "basis": _text(d.basis), "rate": _text(d.rate),
                      "earned": _text(d.earned)} for d in c.details]}
        for c in figures.components]}


def _payload(result: estimates.Estimate) -> dict:
    body = {"available": True, "person": result.person.pk, "employee_no": result.person.employee_no,
            "plan": result.plan.name, "version": result.version.version, "period": result.period.code,
            "today": result.today.isoformat(), "days_elapsed": result.days_elapsed,
            "days_in_period": result.days_in_period, "days_left": result.days_left,
            "to_date": _figures(result.to_date), "projected": _figures(result.projected), "what_if": None}
    if result.what_if is not None:
        body["what_if"] = _figures(result.what_if) | {
            "gain": _text(result.gain()),
            "gains": {c.id: _text(result.gain(c.id)) for c in result.to_date.components},
            "deals": [{"line_id": f"{estimates.SYNTHETIC_PREFIX}{i}", "product": d.product, "amount": _text(d.amount),
                       "date": d.date.isoformat(), "customer": d.customer}
                      for i, d in enumerate(result.deals, start=1)]}
    return body


class EstimateView(APIView):
    """A person's pay this period so far, at the current pace, and with hypothetical deals."""

    def _answer(self, request, raw_person, rows):
        person = estimates.access_estimate_person(request.user, raw_person)
        if person is None:
            return Response({"person": [_("Give the id of the person to estimate.")]},
                            status=status.HTTP_400_BAD_REQUEST)
        today = timezone.localdate()
        try:
            deals = estimates.parse_deals(rows, period=estimates.payout_period(today), today=today,
                                          customers=visible_to(request.user, Customer)) if rows else ()
            result = estimates.estimate(person, today=today, deals=deals)
        except estimates.DealsInvalid as invalid:
            return Response({"deals": [{"row": e.row or None, "field": e.field, "message": e.message}
                                       for e in invalid.errors]}, status=status.HTTP_400_BAD_REQUEST)
        except estimates.EstimateUnavailable as unavailable:
            return Response({"available": False, "person": person.pk, "reason": unavailable.reason})
        return Response(_payload(result))

    @extend_schema(parameters=[OpenApiParameter("person", int, description="the person (default: yourself)")],
                   responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return self._answer(request, request.query_params.get("person"), [])

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        rows = data.get("deals") or []
        if not isinstance(rows, list):
            return Response({"deals": [{"row": None, "field": "deals", "message": _("Give a list of deals.")}]},
                            status=status.HTTP_400_BAD_REQUEST)
        return self._answer(request, data.get("person"), rows)
