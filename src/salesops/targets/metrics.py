"""The metric registry: every metric a target can be set on, and how its actual is read from the sales cube.

A metric's actual for a cube row is a function of the row's sums (credited net amount, cost, units and customers
won), so every metric is exact and vectorisable over the cube. New metrics are added here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Metric:
    key: str
    label: Promise
    kind: str  # money | units | count
    value: Callable[[Decimal, Decimal, Decimal, Decimal], Decimal]  # (net, cost, quantity, new customers) -> actual
    help: Promise


METRICS = {
    m.key: m
    for m in [
        Metric("net_revenue", _("Net revenue"), "money", lambda net, cost, qty, new: net,
               _("Credited net amount of order lines, net of returns and cancellations.")),
        Metric("gross_margin", _("Gross margin"), "money", lambda net, cost, qty, new: net - cost,
               _("Credited net amount minus credited cost.")),
        Metric("units", _("Units"), "units", lambda net, cost, qty, new: qty,
               _("Credited quantity (quantity × split %), net of returns.")),
        Metric("new_customers", _("New customers"), "count", lambda net, cost, qty, new: new,
               _("Customers whose first order line falls in the period, credited by split %.")),
    ]
}
CHOICES = [(m.key, m.label) for m in METRICS.values()]


def metric(key: str) -> Metric:
    try:
        return METRICS[key]
    except KeyError:
        raise ValueError(f"unknown metric {key!r}; known: {', '.join(METRICS)}") from None
