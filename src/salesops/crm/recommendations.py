"""Product recommendations for the CRM: the pure recommender (``salesops.engine.recommend``) over the database's
order lines — for one customer, with its reasons in the reader's language, and its time hold-out.

Role in the flow: the customer 360 page calls :func:`for_customer`; ``salesops crm_recommend evaluate`` calls
:func:`evaluate`. Both read every order line (returns included: the engine nets them per customer and product)
and every customer with their segment into the Arrow tables the engine takes (:func:`order_lines`,
:func:`customer_table`; a customer is keyed by its id, a product by its SKU, a segment by its code) and use the
engine's default thresholds, so the page recommends exactly what the evaluation measured.

Recommending for one customer needs the rules of the whole company, so :func:`for_customer` computes the
recommendations of every customer at once and keeps them in the process, keyed by the newest order line's id,
the number of lines, the customers' count and segments, and the ``as_of`` date: a new or deleted line, a new
customer or a changed segment makes the next call compute again (lines are never edited: a return is a line of
its own). Two aggregate queries check this on every call.

Invariants: nothing here writes; a customer is never recommended a product they have bought (net quantity > 0
before ``as_of``); the same lines give the same recommendations in the same order (the engine's guarantee).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils.translation import gettext

from salesops.crm.customer360 import months_before
from salesops.engine import recommend
from salesops.org.models import Customer, CustomerSegment, OrderLine, Product

K_CACHED = 10  # recommendations kept per customer; a call asking for more computes them

Evaluation = recommend.Evaluation


@dataclass(frozen=True)
class Recommendation:
    """A product for a customer: ``score`` in [0, 1] (how likely they are to buy it, as the engine estimates),
    ``source`` ``rule`` or ``white_space``, and ``reason`` in the active language."""

    product: Product
    score: float
    source: str
    reason: str


# -- the engine's inputs from the database ------------------------------------------------------------------------
def _rows(queryset) -> list[tuple]:
    """The rows of a ``values_list`` queryset straight from the cursor (no per-value converters)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _dates(values: list) -> pa.Array:
    array = pa.array(values)  # SQLite gives 'YYYY-MM-DD' text, PostgreSQL dates
    return array.cast(pa.date32())


def order_lines(*, before: dt.date | None = None) -> pa.Table:
    """Every order line (before ``before`` when given): ``customer`` (id as text), ``product`` (SKU), ``date``,
    ``quantity`` (float: only its sign per customer and product matters to the engine)."""
    qs = OrderLine.objects.order_by().values_list("customer_id", "product__sku", "date", "quantity")
    if before is not None:
        qs = qs.filter(date__lt=before)
    rows = _rows(qs)
    if not rows:
        return pa.table({"customer": pa.array([], pa.string()), "product": pa.array([], pa.string()),
                         "date": pa.array([], pa.date32()), "quantity": pa.array([], pa.float64())})
    customers, products, dates, quantities = zip(*rows, strict=True)
    return pa.table({
        "customer": pa.array(customers, pa.int64()).cast(pa.string()),
        "product": pa.array(products, pa.string()),
        "date": _dates(list(dates)),
        "quantity": pa.array([float(q) for q in quantities], pa.float64()),
    })


def customer_table() -> pa.Table:
    """Every customer: ``customer`` (id as text) and ``segment`` (code, null when none)."""
    rows = _rows(Customer.objects.order_by("pk").values_list("pk", "segment__code"))
    return pa.table({"customer": pa.array([str(pk) for pk, _code in rows], pa.string()),
                     "segment": pa.array([code for _pk, code in rows], pa.string())})


# -- one customer ---------------------------------------------------------------------------------------------------
_cache: dict[tuple, dict[str, list[dict]]] = {}
_lock = threading.Lock()
_CACHE_SIZE = 4


def _version() -> tuple:
    """What the cached recommendations depend on: the order lines (append-only: a return is a new line, so the
    newest id and the count change with any new or deleted line) and the customers' segments."""
    lines = OrderLine.objects.aggregate(newest=Max("pk"), count=Count("pk"))
    customers = Customer.objects.aggregate(newest=Max("pk"), count=Count("pk"), segments=Sum("segment_id"))
    return lines["newest"], lines["count"], customers["newest"], customers["count"], customers["segments"]


def _model(as_of: dt.date | None, k: int) -> dict[str, list[dict]]:
    """Every customer's top ``k`` recommendations, from the cache while what they depend on is unchanged."""
    key = (*_version(), as_of, k)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    table = recommend.recommend(order_lines(before=as_of), customer_table(), k=k)
    by_customer: dict[str, list[dict]] = {}
    for row in table.to_pylist():
        by_customer.setdefault(row["customer"], []).append(row)
    with _lock:
        while len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = by_customer
    return by_customer


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def render(template: str, params: Mapping[str, str] | list[tuple[str, str]], *, products: Mapping[str, Product],
           segments: Mapping[str, str]) -> str:
    """The engine's reason in the active language: product SKUs and segment codes become their names. Values
    go in without surrounding blanks: the spacing around them is the translation's (Chinese sets none around a
    product's name)."""
    values = dict(params)
    for name in ("a", "b"):
        if name in values and values[name] in products:
            values[name] = products[values[name]].name
    if "segment" in values:
        values["segment"] = segments.get(values["segment"], values["segment"])
    return gettext(template).format(**{name: str(value).strip() for name, value in values.items()})


def for_customer(customer: Customer, *, k: int = 5, as_of: dt.date | None = None) -> list[Recommendation]:
    """Up to ``k`` products ``customer`` has not bought, best first, from the lines before ``as_of`` (all when
    None), each with its score and its reason rendered in the active language."""
    if k < 1:
        return []
    rows = _model(as_of, max(k, K_CACHED)).get(str(customer.pk), [])[:k]
    if not rows:
        return []
    skus = {row["product"] for row in rows} | {value for row in rows for name, value in row["params"] if name == "a"}
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    segments = dict(CustomerSegment.objects.filter(pk=customer.segment_id).values_list("code", "name"))
    return [Recommendation(product=products[row["product"]], score=row["score"], source=row["source"],
                           reason=render(row["template"], row["params"], products=products, segments=segments))
            for row in rows if row["product"] in products]


# -- the hold-out -----------------------------------------------------------------------------------------------
def default_cut() -> dt.date | None:
    """Six months before the newest order line's date (the same day of the month, or the month's last), or None
    when there are no lines."""
    newest = OrderLine.objects.aggregate(newest=Max("date"))["newest"]
    if newest is None:
        return None
    return months_before(newest, 6)


def evaluate(cut: dt.date, k: int = 5) -> Evaluation:
    """The recommender trained on the lines before ``cut`` and tested on the purchases on or after it, next to
    popularity within the segment (``salesops.engine.recommend.evaluate`` defines both figures)."""
    return recommend.evaluate(order_lines(), customer_table(), cut, k=k)
