"""Reads behind the customer pages: a customer's purchases over time, RFM segment, margin, deals and record.

Role in the flow: ``crm.views.customers`` (the customer list and the 360 page) reads here; nothing here writes.
Record completeness lives in ``crm.completeness`` (the analytics pages share it).

Definitions, as of ``today`` (the local date unless given):

- A *purchase* is an order line that is not a return or cancellation (``org.models.REVERSAL_STATUSES``). Amounts
  (net, cost, margin) count every line, returns included, so they are net of what came back.
- *The last 12 (24) months* are the dates after the same day 12 (24) months earlier, up to and including today.
- *Recency* is the date of the last purchase (days since it); *frequency* the number of distinct orders (order
  numbers) with a purchase in the last 12 months; *monetary* the net amount of the last 12 months.
- *RFM scores*: the customers with a purchase in the last 24 months are scored 1–5 on recency (a later last
  purchase scores higher), frequency and monetary by quintile of percentile rank,
  ``score = 1 + ⌊5 × L ÷ N⌋``, where N is the number of customers scored and L how many of them have a strictly
  worse value. Equal values get equal scores (the lower quintile); the best customer scores 5 once N ≥ 5; buying
  more never lowers a customer's own score.
- *RFM segments* follow the usual R × F grid (R and F scores, 5 best): R 5 and F 4–5 champions; R 3–4 and
  F 4–5 loyal; R 4–5 and F 2–3 potential loyalists; R 5 and F 1 new; R 4 and F 1 promising; R 3 and F 3 need
  attention; R 3 and F 1–2 about to sleep; R 1–2 and F 5 can't lose; R 1–2 and F 3–4 at risk; R 1–2 and F 1–2
  hibernating. A customer without a purchase in the last 24 months is a prospect.

Invariants: money is ``Decimal`` (sums in SQL over integer cents; margins subtracted in Python); the scores of
every customer come from one grouped query and one pass over its rows — never a query per customer — and
:meth:`RfmTable.annotate` reproduces the segment in SQL (score edges as thresholds) so lists sort and filter on it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Case, Count, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesops.core.fields import MoneyField
from salesops.crm import access
from salesops.crm.models import Activity, OpportunityStatus, Quote
from salesops.org.models import REVERSAL_STATUSES, Customer, OrderLine, Product, ProductCategory

ZERO = Decimal("0.00")
SCORES = (1, 2, 3, 4, 5)
REVERSALS = [str(s) for s in REVERSAL_STATUSES]
PURCHASE = ~Q(status__in=REVERSALS)


class Segment(models.TextChoices):
    """RFM segments, best first (``rank`` is the position: the list sorts on it)."""

    CHAMPIONS = "champions", _("champions")
    LOYAL = "loyal", _("loyal")
    POTENTIAL = "potential", _("potential loyalists")
    NEW = "new", _("new")
    PROMISING = "promising", _("promising")
    NEED_ATTENTION = "need_attention", _("need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("about to sleep")
    CANT_LOSE = "cant_lose", _("can't lose")
    AT_RISK = "at_risk", _("at risk")
    HIBERNATING = "hibernating", _("hibernating")
    PROSPECT = "prospect", _("prospect")

    @property
    def rank(self) -> int:
        return list(Segment).index(self) + 1

    @classmethod
    def of_rank(cls, rank: int | None) -> Segment:
        return list(Segment)[(rank or len(Segment)) - 1]


# The R × F grid: each segment is a box of scores (least R, most R, least F, most F); the boxes tile the grid.
BOXES: dict[Segment, tuple[int, int, int, int]] = {
    Segment.CHAMPIONS: (5, 5, 4, 5),
    Segment.LOYAL: (3, 4, 4, 5),
    Segment.POTENTIAL: (4, 5, 2, 3),
    Segment.NEW: (5, 5, 1, 1),
    Segment.PROMISING: (4, 4, 1, 1),
    Segment.NEED_ATTENTION: (3, 3, 3, 3),
    Segment.ABOUT_TO_SLEEP: (3, 3, 1, 2),
    Segment.CANT_LOSE: (1, 2, 5, 5),
    Segment.AT_RISK: (1, 2, 3, 4),
    Segment.HIBERNATING: (1, 2, 1, 2),
}


def segment_of(r: int, f: int) -> Segment:
    """The segment of a customer with R score ``r`` and F score ``f`` (both 1–5)."""
    for segment, (r_lo, r_hi, f_lo, f_hi) in BOXES.items():
        if r_lo <= r <= r_hi and f_lo <= f <= f_hi:
            return segment
    raise ValueError(f"scores out of range: R {r}, F {f}")


def quintile_scores(values: Sequence[Any]) -> list[int]:
    """The 1–5 score of each value (higher is better): ``1 + ⌊5 × L ÷ N⌋``, L the values strictly below it."""
    ordered = sorted(values)
    n = len(ordered)
    return [1 + 5 * bisect_left(ordered, v) // n for v in values]


def score_edges(values: Sequence[Any]) -> dict[int, Any]:
    """For each score k = 2…5 that some value reaches, the least value scoring at least k: among ``values``,
    ``score(v) ≥ k`` exactly when ``v ≥ edges[k]`` (a score nobody reaches has no edge)."""
    ordered = sorted(values)
    n = len(ordered)
    edges: dict[int, Any] = {}
    for i, v in enumerate(ordered):
        if i and ordered[i - 1] == v:
            continue
        for k in range(len(edges) + 2, 1 + 5 * i // n + 1):
            edges[k] = v
    return edges


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _aggregates(today: dt.date) -> dict[str, Any]:
    """Recency, frequency and monetary of a group of lines (one customer's), as SQL aggregates."""
    last12 = Q(date__gt=months_before(today, 12))
    return {
        "last_purchase": Max("date", filter=PURCHASE),
        "orders": Count("order_no", distinct=True, filter=PURCHASE & last12),
        "net": Coalesce(Sum("net_amount", filter=last12), Value(0), output_field=MoneyField()),
    }


def _window(today: dt.date) -> Q:
    return Q(date__gt=months_before(today, 24), date__lte=today)


@dataclass(frozen=True)
class Rfm:
    """One scored customer: the values, the three scores and the segment."""

    customer_id: int
    last_purchase: dt.date
    recency_days: int
    orders: int
    net: Decimal
    r: int
    f: int
    m: int

    @property
    def segment(self) -> Segment:
        return segment_of(self.r, self.f)

    @property
    def code(self) -> str:
        return f"{self.r}{self.f}{self.m}"


@dataclass(frozen=True)
class RfmTable:
    """The RFM scores of every customer with a purchase in the 24 months up to ``today``."""

    today: dt.date
    rows: dict[int, Rfm]
    edges: dict[str, dict[int, Any]] = field(default_factory=dict)  # "r" / "f" / "m" → score → least value

    def of(self, customer_id: int) -> Rfm | None:
        """The customer's scores, or None for a prospect (no purchase in 24 months)."""
        return self.rows.get(customer_id)

    def segment(self, customer_id: int) -> Segment:
        rfm = self.rows.get(customer_id)
        return rfm.segment if rfm else Segment.PROSPECT

    def counts(self) -> dict[Segment, int]:
        """Scored customers per segment (prospects are not counted: they are every customer not scored)."""
        counts: dict[Segment, int] = defaultdict(int)
        for rfm in self.rows.values():
            counts[rfm.segment] += 1
        return dict(counts)

    def _between(self, dim: str, column: str, lo: int, hi: int, step) -> Q | None:
        """SQL: the aggregated ``column`` scores ``lo``…``hi`` on ``dim`` (None: no value does). ``step`` is the
        distance to the next value (a day, one order), so the upper bound is inclusive and a range names the
        aggregate once: every naming of a distinct count costs SQLite a pass of its own (its parameters differ)."""
        edges = self.edges.get(dim, {})
        if lo > 1 and lo not in edges:
            return None
        low = edges.get(lo) if lo > 1 else None
        high = edges[hi + 1] - step if hi < 5 and hi + 1 in edges else None
        if low is not None and high is not None:
            return Q(**{f"{column}__range": (low, high)})
        if low is not None:
            return Q(**{f"{column}__gte": low})
        if high is not None:
            return Q(**{f"{column}__lte": high})
        return Q(**{f"{column}__isnull": False})

    def _box(self, segment: Segment) -> Q | None:
        r_lo, r_hi, f_lo, f_hi = BOXES[segment]
        r = self._between("r", "last_purchase", r_lo, r_hi, dt.timedelta(days=1))
        f = self._between("f", "orders", f_lo, f_hi, 1)
        return None if r is None or f is None else r & f

    def _rank(self) -> Case:
        """SQL over one customer's aggregated lines (``_aggregates``): the rank of its segment."""
        whens = [When(last_purchase__isnull=True, then=Value(Segment.PROSPECT.rank))]
        for segment in BOXES:
            box = self._box(segment)
            if box is not None:
                whens.append(When(box, then=Value(segment.rank)))
        return Case(*whens, default=Value(Segment.PROSPECT.rank))

    def _grouped(self, lines: QuerySet) -> QuerySet:
        return (lines.filter(_window(self.today)).order_by().values("customer")
                .annotate(**_aggregates(self.today)).annotate(rfm_rank_=self._rank()))

    def annotate(self, customers: QuerySet, name: str = "rfm_rank") -> QuerySet:
        """``customers`` with ``name`` = the rank of their segment (``Segment.rank``; 1 champions … 11 prospect),
        computed in SQL from the same aggregates and this table's score edges, so a list sorts on it (a
        correlated aggregate per customer)."""
        ranked = self._grouped(OrderLine.objects.filter(customer=OuterRef("pk"))).values("rfm_rank_")
        return customers.annotate(**{name: Coalesce(Subquery(ranked[:1]), Value(Segment.PROSPECT.rank))})

    def segment_q(self, segment: Segment) -> Q:
        """A filter on customers: those in ``segment``, by one grouped pass over the lines whose HAVING names each
        aggregate once (no correlated subquery, so filtering a long list stays fast)."""
        grouped = (OrderLine.objects.filter(_window(self.today)).order_by().values("customer")
                   .annotate(**_aggregates(self.today)))
        if segment == Segment.PROSPECT:
            return ~Q(pk__in=grouped.filter(last_purchase__isnull=False).values("customer"))
        box = self._box(segment)
        if box is None:
            return Q(pk__in=[])
        return Q(pk__in=grouped.filter(box).values("customer"))


def rfm_table(today: dt.date | None = None) -> RfmTable:
    """Score every customer with a purchase in the last 24 months: one grouped query, one pass over its rows."""
    today = today or timezone.localdate()
    rows = list(OrderLine.objects.filter(_window(today)).order_by().values("customer_id")
                .annotate(**_aggregates(today)).filter(last_purchase__isnull=False)
                .values_list("customer_id", "last_purchase", "orders", "net"))
    if not rows:
        return RfmTable(today=today, rows={})
    ids, lasts, orders, nets = zip(*rows, strict=True)
    r, f, m = quintile_scores(lasts), quintile_scores(orders), quintile_scores(nets)
    table = {pk: Rfm(customer_id=pk, last_purchase=last, recency_days=(today - last).days, orders=o, net=net,
                     r=r[i], f=f[i], m=m[i])
             for i, (pk, last, o, net) in enumerate(rows)}
    return RfmTable(today=today, rows=table, edges={"r": score_edges(lasts), "f": score_edges(orders),
                                                   "m": score_edges(nets)})


def annotate_purchases(customers: QuerySet, today: dt.date | None = None) -> QuerySet:
    """``customers`` with ``last_purchase`` (date of the last purchase up to today) and ``net_12m`` (net amount
    of the last 12 months), each a correlated aggregate in SQL, so a list sorts on them."""
    today = today or timezone.localdate()
    lines = OrderLine.objects.filter(customer=OuterRef("pk"), date__lte=today).order_by().values("customer")
    last = lines.filter(PURCHASE).annotate(v=Max("date")).values("v")
    net = lines.filter(date__gt=months_before(today, 12)).annotate(v=Sum("net_amount")).values("v")
    return customers.annotate(last_purchase=Subquery(last[:1]),
                              net_12m=Coalesce(Subquery(net[:1]), Value(0), output_field=MoneyField()))


# -- one customer -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """A customer's purchase figures up to ``today``."""

    first_purchase: dt.date | None
    last_purchase: dt.date | None
    orders_12m: int
    net_12m: Decimal
    cost_12m: Decimal
    net_total: Decimal
    cost_total: Decimal

    @property
    def margin_12m(self) -> Decimal:
        return self.net_12m - self.cost_12m

    @property
    def margin_pct_12m(self) -> Decimal | None:
        """Gross margin ÷ net amount of the last 12 months (a fraction), None without sales."""
        return self.margin_12m / self.net_12m if self.net_12m else None

    @property
    def margin_total(self) -> Decimal:
        return self.net_total - self.cost_total

    @property
    def margin_pct_total(self) -> Decimal | None:
        return self.margin_total / self.net_total if self.net_total else None


def figures(customer: Customer, today: dt.date | None = None) -> Figures:
    """Last purchase, orders and net/cost of the last 12 months and of all time: one aggregate query."""
    today = today or timezone.localdate()
    last12 = Q(date__gt=months_before(today, 12))
    row = OrderLine.objects.filter(customer=customer, date__lte=today).aggregate(
        first_purchase=Min("date", filter=PURCHASE), last_purchase=Max("date", filter=PURCHASE),
        orders_12m=Count("order_no", distinct=True, filter=PURCHASE & last12),
        net_12m=Sum("net_amount", filter=last12), cost_12m=Sum("cost", filter=last12),
        net_total=Sum("net_amount"), cost_total=Sum("cost"))
    return Figures(first_purchase=row["first_purchase"], last_purchase=row["last_purchase"],
                   orders_12m=row["orders_12m"] or 0,
                   **{k: row[k] if row[k] is not None else ZERO
                      for k in ("net_12m", "cost_12m", "net_total", "cost_total")})


@dataclass(frozen=True)
class MonthlyPurchases:
    """Net amount per month, one series per top-level product category (largest first)."""

    months: list[dt.date]
    series: list[tuple[ProductCategory, list[Decimal]]]

    @property
    def totals(self) -> list[Decimal]:
        return [sum((values[i] for _c, values in self.series), ZERO) for i in range(len(self.months))]

    def chart(self) -> dict:
        """The chart's data as text (exact decimals; the browser only draws them)."""
        return {"months": [m.strftime("%Y-%m") for m in self.months],
                "series": [{"name": c.name, "data": [f"{v:f}" for v in values]} for c, values in self.series]}


def monthly_purchases(customer: Customer, today: dt.date | None = None, months: int = 24) -> MonthlyPurchases:
    """The customer's net amount per month of the ``months`` months up to today's, stacked by top-level category
    (returns count in the month they were booked). One grouped query over the customer's lines."""
    today = today or timezone.localdate()
    first = today.replace(day=1)
    index = first.year * 12 + first.month - 1 - (months - 1)
    start = dt.date(index // 12, index % 12 + 1, 1)
    month_list = []
    day = start
    while day <= first:
        month_list.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    rows = (OrderLine.objects.filter(customer=customer, date__gte=start, date__lte=today).order_by()
            .values("date", "product__category__path").annotate(net=Sum("net_amount")))
    position = {m: i for i, m in enumerate(month_list)}
    by_root: dict[int, list[Decimal]] = {}
    for row in rows:
        root = int(row["product__category__path"].strip("/").split("/")[0])
        values = by_root.setdefault(root, [ZERO] * len(month_list))
        values[position[row["date"].replace(day=1)]] += row["net"]
    roots = ProductCategory.objects.in_bulk(list(by_root))
    series = sorted(((roots[pk], values) for pk, values in by_root.items()),
                    key=lambda item: (-sum(item[1]), item[0].name, item[0].pk))
    return MonthlyPurchases(months=month_list, series=series)


@dataclass(frozen=True)
class ProductRow:
    product: Product
    quantity: Decimal
    net: Decimal
    cost: Decimal
    last_purchase: dt.date | None

    @property
    def margin(self) -> Decimal:
        return self.net - self.cost


def top_products(customer: Customer, today: dt.date | None = None, n: int = 10) -> list[ProductRow]:
    """The ``n`` products with the largest net amount in the last 24 months (net of returns)."""
    today = today or timezone.localdate()
    rows = list(OrderLine.objects.filter(_window(today), customer=customer).order_by().values("product_id")
                .annotate(quantity=Sum("quantity"), net=Sum("net_amount"), cost=Sum("cost"),
                          last=Max("date", filter=PURCHASE))
                .order_by("-net", "product_id")[:n])
    products = Product.objects.select_related("category").in_bulk([r["product_id"] for r in rows])
    return [ProductRow(product=products[r["product_id"]], quantity=r["quantity"], net=r["net"], cost=r["cost"],
                       last_purchase=r["last"]) for r in rows]


# -- deals, activities and quotes the user may see ----------------------------------------------------------
def open_opportunities(user, customer: Customer) -> QuerySet:
    return (access.visible_opportunities(user).filter(customer=customer, status=OpportunityStatus.OPEN)
            .select_related("stage", "owner").order_by("expected_close", "pk"))


def recent_activities(user, customer: Customer, n: int = 10) -> list[Activity]:
    return list(access.visible_activities(user).filter(customer=customer)
                .select_related("owner", "contact").order_by("-created_at", "-pk")[:n])


def quotes(user, customer: Customer, n: int = 10) -> list[Quote]:
    return list(access.visible_quotes(user).filter(customer=customer).select_related("owner")
                .annotate(amount=Sum("lines__net_amount")).order_by("-created_at", "-pk")[:n])

