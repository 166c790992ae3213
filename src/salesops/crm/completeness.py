"""Completeness of customer records: which required fields each record lacks, the share of complete records per
owner, team and region, and the worst records.

Role in the flow: the customer list shows each record's completeness, the 360 page lists what its record lacks,
and the sales-process analytics pages call :func:`summary`, :func:`by_owner`, :func:`by_team`,
:func:`by_region` and :func:`worst`, linking to the records with :func:`records_url`.

A record is *complete* when none of :data:`REQUIRED` is missing:

=====================  ==============================================================
``segment``            the customer segment is set
``region``             the region is set
``owner``              the owner (a salesperson) is set
``industry``           the industry is filled in
``source``             the source (how the customer found us) is filled in
``contact``            the customer has at least one contact
``reachable_contact``  a contact has a phone number or an email address
``decision_maker``     a contact's role is decision maker
=====================  ==============================================================

Every function takes a queryset of customers already narrowed to what the user may see (callers pass
``org.access.visible_to(user, Customer)`` or a filter of it) and answers in one query (two for the team and
region roll-ups, which read the trees): each requirement is a SQL condition (``EXISTS`` for the contacts), never
a query per record. Shares are exact fractions (``Decimal``); pages show them as percentages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesops.crm.models import Contact, ContactRole
from salesops.org.models import Assignment, Customer, Region, Salesperson, Team, TreeNode, active_on


@dataclass(frozen=True)
class Requirement:
    code: str
    label: Promise

    def present(self):
        """The SQL condition (a ``Q`` or an ``Exists``) under which a customer row meets the requirement."""
        return _CONDITIONS[self.code]()


def _contacts():
    return Contact.objects.filter(customer=OuterRef("pk"))


_CONDITIONS = {
    "segment": lambda: Q(segment__isnull=False),
    "region": lambda: Q(region__isnull=False),
    "owner": lambda: Q(owner__isnull=False),
    "industry": lambda: ~Q(industry=""),
    "source": lambda: ~Q(source=""),
    "contact": lambda: Exists(_contacts()),
    "reachable_contact": lambda: Exists(_contacts().filter(~Q(phone="") | ~Q(email=""))),
    "decision_maker": lambda: Exists(_contacts().filter(role=ContactRole.DECISION_MAKER)),
}

REQUIRED: tuple[Requirement, ...] = (
    Requirement("segment", _("segment")),
    Requirement("region", _("region")),
    Requirement("owner", _("owner")),
    Requirement("industry", _("industry")),
    Requirement("source", _("source")),
    Requirement("contact", _("a contact")),
    Requirement("reachable_contact", _("a contact with a phone or email")),
    Requirement("decision_maker", _("a decision-maker contact")),
)
BY_CODE = {r.code: r for r in REQUIRED}


def _missing_flag(requirement: Requirement) -> Case:
    return Case(When(requirement.present(), then=Value(0)), default=Value(1), output_field=IntegerField())


def missing_count():
    """SQL: how many requirements the customer row misses (0 … len(REQUIRED))."""
    total = _missing_flag(REQUIRED[0])
    for requirement in REQUIRED[1:]:
        total = total + _missing_flag(requirement)
    return ExpressionWrapper(total, output_field=IntegerField())


def annotate(customers: QuerySet) -> QuerySet:
    """``customers`` with ``completeness_missing`` (requirements missed) and ``completeness_met`` (requirements
    met), both sortable and filterable in SQL."""
    return customers.annotate(completeness_missing=missing_count()).annotate(
        completeness_met=ExpressionWrapper(Value(len(REQUIRED)) - missing_count(), output_field=IntegerField()))


def missing_q(code: str) -> Q:
    """A filter: the customers that miss requirement ``code``."""
    condition = BY_CODE[code].present()
    return ~condition if isinstance(condition, Q) else ~Q(condition)


def incomplete_q() -> Q:
    """A filter: the customers that miss at least one requirement."""
    result = Q()
    for requirement in REQUIRED:
        result |= missing_q(requirement.code)
    return result


def share_of(complete: int, customers: int) -> Decimal | None:
    """Complete records ÷ records (a fraction), None when there are none."""
    return Decimal(complete) / Decimal(customers) if customers else None


def missing_fields(customers: QuerySet) -> dict[int, list[Requirement]]:
    """For each customer of ``customers``: the requirements it misses, in :data:`REQUIRED` order (empty when the
    record is complete). One query."""
    flags = {f"has_{r.code}": ExpressionWrapper(r.present(), output_field=BooleanField()) for r in REQUIRED}
    result = {}
    for row in customers.order_by().annotate(**flags).values("pk", *flags):
        result[row["pk"]] = [r for r in REQUIRED if not row[f"has_{r.code}"]]
    return result


def missing_of(customer: Customer) -> list[Requirement]:
    """What one record lacks."""
    return missing_fields(Customer.objects.filter(pk=customer.pk)).get(customer.pk, [])


@dataclass(frozen=True)
class Summary:
    """Records, complete records and, per requirement code, the records that miss it."""

    customers: int
    complete: int
    missing: dict[str, int]

    @property
    def share(self) -> Decimal | None:
        return share_of(self.complete, self.customers)

    @property
    def incomplete(self) -> int:
        return self.customers - self.complete


def _counts():
    return {"customers": Count("pk"),
            "complete": Sum(Case(When(Q(completeness_missing=0), then=Value(1)), default=Value(0),
                                 output_field=IntegerField()))}


def summary(customers: QuerySet) -> Summary:
    """How complete the records of ``customers`` are, overall and per requirement. One query."""
    per_requirement = {f"missing_{r.code}": Sum(_missing_flag(r)) for r in REQUIRED}
    row = (customers.order_by().annotate(completeness_missing=missing_count())
           .aggregate(**_counts(), **per_requirement))
    return Summary(customers=row["customers"], complete=row["complete"] or 0,
                   missing={r.code: row[f"missing_{r.code}"] or 0 for r in REQUIRED})


@dataclass(frozen=True)
class Share:
    """The completeness of one group of records: an owner, a team or region (its subtree when rolled up), or no
    owner/team/region (``key`` None). ``filters`` are the customer-list filters that show its records."""

    key: int | None
    name: str
    customers: int
    complete: int
    depth: int = 0
    filters: tuple[tuple[str, int | str], ...] = ()

    @property
    def share(self) -> Decimal | None:
        return share_of(self.complete, self.customers)

    @property
    def incomplete(self) -> int:
        return self.customers - self.complete

    @property
    def url(self) -> str:
        """The incomplete records of the group in the customer list."""
        return records_url(**dict(self.filters))


def _grouped(customers: QuerySet, key: str) -> dict[int | None, tuple[int, int]]:
    rows = (customers.order_by().annotate(completeness_missing=missing_count()).values(key)
            .annotate(**_counts()).values_list(key, "customers", "complete"))
    return {k: (n, complete or 0) for k, n, complete in rows}


def by_owner(customers: QuerySet) -> list[Share]:
    """One row per owner of the records (and one for records without an owner), the least complete first."""
    counts = _grouped(customers, "owner_id")
    names = dict(Salesperson.objects.filter(pk__in=[k for k in counts if k]).values_list("pk", "name"))
    rows = [Share(key=k, name=names[k] if k else str(_("no owner")), customers=n, complete=c,
                  filters=(("owner", k),) if k else (("missing", "owner"),))
            for k, (n, c) in counts.items()]
    return sorted(rows, key=lambda s: (s.share, -s.customers, s.name))


def _tree_rows(counts: dict[int | None, tuple[int, int]], model: type[TreeNode], filter_name: str,
               none_label: Promise, rollup: bool, none_filters: tuple = ()) -> list[Share]:
    nodes = list(model.objects.order_by("path"))
    totals: dict[int, list[int]] = {}
    by_pk = {n.pk: n for n in nodes}
    for pk, (n, complete) in counts.items():
        if pk is None or pk not in by_pk:
            continue
        ancestors = [int(p) for p in by_pk[pk].path.strip("/").split("/") if p] if rollup else [pk]
        for node_pk in ancestors:
            total = totals.setdefault(node_pk, [0, 0])
            total[0] += n
            total[1] += complete
    rows = [Share(key=node.pk, name=node.name, customers=totals[node.pk][0], complete=totals[node.pk][1],
                  depth=node.depth, filters=((filter_name, node.pk),))
            for node in nodes if node.pk in totals]
    if None in counts:
        n, complete = counts[None]
        rows.append(Share(key=None, name=str(none_label), customers=n, complete=complete,
                          filters=none_filters))
    return rows


def by_team(customers: QuerySet, day: dt.date | None = None, rollup: bool = True) -> list[Share]:
    """One row per team, by the team the record's owner is assigned to on ``day`` (today): with ``rollup``, a
    team counts the records of its whole subtree (the root team is the company). Rows in tree order (``depth``
    says the level); records whose owner is in no team that day come last."""
    day = day or timezone.localdate()
    team = Assignment.objects.filter(active_on(day), salesperson=OuterRef("owner_id")).values("team_id")[:1]
    counts = _grouped(customers.annotate(owner_team=Subquery(team)), "owner_team")
    return _tree_rows(counts, Team, "team", _("no team"), rollup)


def by_region(customers: QuerySet, rollup: bool = True) -> list[Share]:
    """One row per region of the records: with ``rollup``, a region counts its whole subtree. Tree order; records
    without a region last."""
    return _tree_rows(_grouped(customers, "region_id"), Region, "region", _("no region"), rollup,
                      (("missing", "region"),))


@dataclass(frozen=True)
class Record:
    customer: Customer
    missing: list[Requirement]


def worst(customers: QuerySet, n: int = 20) -> list[Record]:
    """The ``n`` incomplete records that miss the most requirements (key accounts first among equals, then by
    name), with what each misses. Two queries."""
    found = list(annotate(customers).filter(completeness_missing__gt=0).select_related("owner", "region", "segment")
                 .order_by("-completeness_missing", "-key_account", "name", "pk")[:n])
    missing = missing_fields(Customer.objects.filter(pk__in=[c.pk for c in found]))
    return [Record(customer=c, missing=missing[c.pk]) for c in found]


def records_url(*, owner: int | None = None, team: int | None = None, region: int | None = None,
                missing: str | None = None, incomplete: bool = True) -> str:
    """The customer list (``crm:customers``) showing those records: of an owner, a team's subtree or a region's
    subtree, incomplete ones only, or those missing one requirement."""
    params: list[tuple[str, str | int]] = [(k, v) for k, v in (("owner", owner), ("team", team), ("region", region),
                                                                ("missing", missing)) if v]
    if incomplete and not missing:
        params.append(("incomplete", "on"))
    url = reverse("crm:customers")
    return f"{url}?{urlencode(params)}" if params else url


def labels(requirements: Iterable[Requirement]) -> list[str]:
    return [str(r.label) for r in requirements]
