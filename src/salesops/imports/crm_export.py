"""Contacts, opportunities, stage history and activities in their import format (used by ``exporting.kind_export``).

A record without an external id is written as ``#<id>``, which the import matches back to it; a contact named in
another record (decision maker, an activity's contact) is written as its external id, else its name when no other
contact of the customer has it (and no contact's external id is that name), else ``#<id>``. Products are
``SKU×quantity`` joined by ``;``. So each file re-imports with nothing changed. With a ``user``, only what
``crm.access`` lets them see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from django.db.models import Count, Model, QuerySet

from salesops.crm import access
from salesops.crm.models import Activity, Contact, Opportunity, OpportunityProduct, StageChange
from salesops.imports.crm_loaders import OWN_ID, record_key
from salesops.imports.loaders import chunked
from salesops.imports.models import ImportKind

Column = tuple[str, Callable[[dict], object]]
CHUNK = 900


def _get(key: str) -> Callable[[dict], object]:
    return lambda row: row.get(key)


def _key(row: dict) -> str:
    return record_key(row["external_id"], row["pk"])


def _in_chunks(rows: QuerySet, extend: Callable[[list[dict]], None]) -> Iterator[dict]:
    """``rows`` (a values() queryset) in chunks, each completed by ``extend`` with what needs another query."""
    batch: list[dict] = []
    for row in rows.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) >= CHUNK:
            extend(batch)
            yield from batch
            batch = []
    if batch:
        extend(batch)
        yield from batch


def contact_refs(pks: Iterable[int]) -> dict[int, str]:
    """How an import names each contact: external id, else its name when unambiguous, else #id."""
    wanted = sorted({pk for pk in pks if pk})
    rows = list(Contact.objects.filter(pk__in=wanted).values_list("pk", "external_id", "customer_id", "name"))
    refs = {pk: ext for pk, ext, _c, _n in rows if ext}
    unnamed = [(pk, customer, name) for pk, ext, customer, name in rows if not ext]
    if unnamed:
        names = sorted({name for _pk, _c, name in unnamed})
        shared = set(Contact.objects.filter(customer_id__in={c for _p, c, _n in unnamed}, name__in=names)
                     .values("customer_id", "name").annotate(n=Count("pk")).filter(n__gt=1)
                     .values_list("customer_id", "name"))
        taken = set(Contact.objects.filter(external_id__in=names).values_list("external_id", flat=True))
        for pk, customer, name in unnamed:
            clear = (customer, name) not in shared and name not in taken and not OWN_ID.match(name)
            refs[pk] = name if clear else f"#{pk}"
    return refs


def contacts(user, queryset: QuerySet | None) -> tuple[list[Column], Iterable[dict]]:
    if queryset is None:
        queryset = access.visible_contacts(user) if user is not None else Contact.objects.all()
    rows = queryset.order_by("customer__external_id", "pk").values(
        "pk", "external_id", "customer__external_id", "name", "job_title", "role", "phone", "email", "wechat", "primary",
        "notes")
    columns = [("external_id", _key), ("customer", _get("customer__external_id"))]
    columns += [(name, _get(name)) for name in ("name", "job_title", "role", "phone", "email", "wechat", "primary",
                                                "notes")]
    return columns, rows.iterator(chunk_size=2000)


def opportunities(user, queryset: QuerySet | None) -> tuple[list[Column], Iterable[dict]]:
    if queryset is None:
        queryset = access.visible_opportunities(user) if user is not None else Opportunity.objects.all()
    rows = queryset.order_by("created_on", "pk").values(
        "pk", "external_id", "name", "customer__external_id", "owner__employee_no", "stage__code", "amount",
        "expected_close", "decision_maker_id", "source", "competitor", "lost_reason", "created_on", "closed_on")

    def extend(batch: list[dict]) -> None:
        items: dict[int, list[str]] = defaultdict(list)
        for chunk in chunked([row["pk"] for row in batch]):
            for opp, sku, quantity in OpportunityProduct.objects.filter(opportunity_id__in=chunk).order_by(
                    "opportunity_id", "pk").values_list("opportunity_id", "product__sku", "quantity"):
                items[opp].append(f"{sku}×{format(quantity.normalize(), 'f')}")
        refs = contact_refs(row["decision_maker_id"] for row in batch)
        for row in batch:
            row["products"] = ";".join(items.get(row["pk"], []))
            row["decision_maker"] = refs.get(row["decision_maker_id"], "")

    columns = [("external_id", _key), ("name", _get("name")), ("customer", _get("customer__external_id")),
               ("owner", _get("owner__employee_no")), ("stage", _get("stage__code")), ("amount", _get("amount")),
               ("expected_close", _get("expected_close")), ("decision_maker", _get("decision_maker")),
               ("products", _get("products")), ("source", _get("source")), ("competitor", _get("competitor")),
               ("lost_reason", _get("lost_reason")), ("created_on", _get("created_on")),
               ("closed_on", _get("closed_on"))]
    return columns, _in_chunks(rows, extend)


def stage_history(user, queryset: QuerySet | None) -> tuple[list[Column], Iterable[dict]]:
    if queryset is None:
        queryset = StageChange.objects.all()
        if user is not None:
            queryset = queryset.filter(opportunity__in=access.visible_opportunities(user))
    rows = queryset.order_by("opportunity_id", "changed_at", "pk").values(
        "opportunity_id", "opportunity__external_id", "to_stage__code", "changed_at", "from_stage__code")
    columns = [("opportunity", lambda r: record_key(r["opportunity__external_id"], r["opportunity_id"])),
               ("stage", _get("to_stage__code")), ("changed_at", _get("changed_at")),
               ("from_stage", _get("from_stage__code"))]
    return columns, rows.iterator(chunk_size=2000)


def activities(user, queryset: QuerySet | None) -> tuple[list[Column], Iterable[dict]]:
    if queryset is None:
        queryset = access.visible_activities(user) if user is not None else Activity.objects.all()
    rows = queryset.order_by("created_at", "pk").values(
        "pk", "external_id", "kind", "subject", "customer__external_id", "opportunity_id", "opportunity__external_id",
        "contact_id", "owner__employee_no", "created_at", "due_at", "done_at", "outcome")

    def extend(batch: list[dict]) -> None:
        refs = contact_refs(row["contact_id"] for row in batch)
        for row in batch:
            row["contact"] = refs.get(row["contact_id"], "")

    def opportunity(row: dict) -> str:
        return record_key(row["opportunity__external_id"], row["opportunity_id"]) if row["opportunity_id"] else ""

    columns = [("external_id", _key), ("kind", _get("kind")), ("subject", _get("subject")),
               ("customer", _get("customer__external_id")), ("opportunity", opportunity), ("contact", _get("contact")),
               ("owner", _get("owner__employee_no")), ("created_at", _get("created_at")), ("due_at", _get("due_at")),
               ("done_at", _get("done_at")), ("outcome", _get("outcome"))]
    return columns, _in_chunks(rows, extend)


EXPORTS = {
    ImportKind.CONTACTS: contacts,
    ImportKind.OPPORTUNITIES: opportunities,
    ImportKind.STAGE_HISTORY: stage_history,
    ImportKind.ACTIVITIES: activities,
}
MODELS: dict[str, type[Model]] = {
    ImportKind.CONTACTS: Contact,
    ImportKind.OPPORTUNITIES: Opportunity,
    ImportKind.STAGE_HISTORY: StageChange,
    ImportKind.ACTIVITIES: Activity,
}
