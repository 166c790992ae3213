"""The live estimate page: a person's pay so far this period, at the current pace, and what-if deals typed into
the page (kept in the form, never stored; htmx swaps the what-if section)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.template.response import TemplateResponse
from django.utils import timezone

from salesops.core.roles import Role, role_of
from salesops.incentives import estimates
from salesops.incentives.rules import rule_text
from salesops.org.access import visible_to
from salesops.org.models import Customer, Product

FIELDS = ("product", "amount", "date", "customer")


@login_required
def estimate(request):
    """GET: the estimate (``?person=ID`` for someone else the user may see the pay of). POST: the what-if deals
    of the form, with ``action`` ``add``, ``remove-N`` or ``calculate``."""
    data = request.POST if request.method == "POST" else request.GET
    person = estimates.access_estimate_person(request.user, data.get("person"))
    today = timezone.localdate()
    period = estimates.payout_period(today)
    people = list(estimates.people_with_plans(request.user, today)) if role_of(request.user) != Role.REP else []
    context = {"person": person, "people": people, "today": today, "period": period, "max_deals": estimates.MAX_DEALS}
    if person is None:
        return TemplateResponse(request, "incentives/estimate.html", context)
    if request.method == "POST":
        rows, action = _rows(request.POST), request.POST.get("action", "calculate")
        if action == "add" and len(rows) < estimates.MAX_DEALS:
            rows.append(dict.fromkeys(FIELDS, ""))
        elif action.startswith("remove-") and action[7:].isdigit() and 0 < int(action[7:]) <= len(rows):
            del rows[int(action[7:]) - 1]
    else:
        rows = [{"product": d.product, "amount": str(d.amount), "date": d.date.isoformat(), "customer": d.customer}
                for d in estimates.open_deals(person, period)]
    if not rows:
        rows = [dict.fromkeys(FIELDS, "")]
    typed = [r for r in rows if any(r.values())]
    customers = visible_to(request.user, Customer)
    errors, deals = [], ()
    if typed:  # adding or removing a row keeps the figures; only Calculate reports what is wrong
        try:
            deals = estimates.parse_deals(rows, period=period, today=today, skip_blank=True,
                                          customers=customers)
        except estimates.DealsInvalid as invalid:
            if request.method == "GET" or action == "calculate":
                errors = [str(e) for e in invalid.errors]
    context |= {"rows": rows, "errors": errors, "products": Product.objects.filter(active=True).order_by("sku"),
                "customers": customers.filter(owner=person).order_by("external_id")[:200],
                "last_day": period.end - dt.timedelta(days=1)}
    try:
        result = estimates.estimate(person, today=today, deals=deals)
    except estimates.EstimateUnavailable as unavailable:
        return TemplateResponse(request, "incentives/estimate.html", context | {"reason": unavailable.reason})
    context |= {"estimate": result, "components": _components(result), "chart": _chart(result),
                "gain": result.gain()}
    template = ("incentives/estimate_whatif.html" if getattr(request, "htmx", False) and request.method == "POST"
                else "incentives/estimate.html")
    return TemplateResponse(request, template, context)


def _rows(post) -> list[dict[str, str]]:
    """The deal rows of the form: one list per field, aligned by position (row numbers are the ones shown)."""
    columns = {f: post.getlist(f) for f in FIELDS}
    count = max((len(v) for v in columns.values()), default=0)
    return [{f: (columns[f][i] if i < len(columns[f]) else "").strip() for f in FIELDS} for i in range(count)]


def _components(result: estimates.Estimate) -> list[dict]:
    """Per component: to date (with the detail rows, as a statement shows them), at pace and with the deals."""
    items = []
    for now in result.to_date.components:
        pace = result.projected.get(now.id)
        after = result.what_if.get(now.id) if result.what_if is not None else None
        crossed = None
        if after is not None and after.top_band is not None and (now.top_band is None or after.top_band > now.top_band):
            crossed = next((rule_text(d.rule) for d in after.details if d.band == after.top_band), None)
        items.append({"now": now, "pace": pace, "after": after, "gain": result.gain(now.id), "crossed": crossed,
                      "details": [(d, rule_text(d.rule)) for d in now.details],
                      "after_details": [(d, rule_text(d.rule)) for d in after.details] if after else []})
    return items


def _chart(result: estimates.Estimate) -> list[dict]:
    """Per component with tiers on attainment: attainment (%) to date, at pace and with the deals, and the band
    edges, as text (exact decimals; the browser only draws them)."""
    charts = []
    for component, bands in result.tiers.items():
        now, pace = result.to_date.get(component), result.projected.get(component)
        after = result.what_if.get(component) if result.what_if is not None else None
        if now is None or now.attainment is None:
            continue

        def pct(figures):
            return None if figures is None or figures.attainment is None else str(
                (figures.attainment * 100).quantize(estimates.CENT))
        charts.append({"id": component, "data_id": f"chart-data-{component}", "name": now.name, "to_date": pct(now), "at_pace": pct(pace),
                       "with_deals": pct(after),
                       "edges": [f"{(b.low * 100).normalize():f}" for b in bands if b.low > 0],
                       "rates": [f"{(b.rate * 100).normalize():f}%" for b in bands]})
    return charts
