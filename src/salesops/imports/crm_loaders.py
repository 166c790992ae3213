"""Loaders of the customer-relationship kinds: contacts, opportunities, their stage history and activities.

The contract of ``loaders`` holds (every row checked from lookups loaded once, never a query per row; records
classified new / changed / unchanged; bulk writes inside the import's transaction, only when no row has an error),
with the rules of ``crm.services`` applied to each row's final state: ``missing_fields`` (a stage's required
fields; a won deal has an amount), ``_check_fields`` (amount not negative, the decision maker a contact of the
same customer, expected close not before the deal was created) and ``_check_activity`` (never due or done before
it was created; its opportunity and contact belong to its customer).

Keys: records match on their ``external_id``. A record made in salesops has none: exports write it as ``#<id>``
and an import matches ``#<id>`` back to that record (only to one without an external id; an unknown ``#<id>`` is
an error, never a new record), so those exports re-import unchanged too. A contact or opportunity cannot move to
another customer.

Stage history (``stage_history``) comes after the opportunities, as a source CRM exports it: one row per change
(opportunity, stage, time, optionally the stage it came from). The rows of an opportunity are its whole history:
sorted by time, they must chain (a from-stage is the stage before), never repeat the current stage, never be dated
before the deal was created, and the final stage's requirements must be met. A first row with a from-stage implies
the creation into that stage on the creation date. The opportunity's stage, time in stage and status become those
of the newest change; ``closed_on`` is kept when the deal was already closed, else the date of that change. A
history that differs from the stored one replaces it, unless salesops itself recorded changes of that deal (those
are never overwritten). An opportunity imported without a history gets one creation row, at the start of its
creation date; a later import that changes its stage records the move at the time of the import.

Times compare to the second (files hold no finer time), so a stored time with microseconds is unchanged.

Speed: lookups are loaded once per import (a test holds the number of queries independent of the rows), inserts
and updates are single ``executemany`` statements. Measured on SQLite, 2 cores, from CSV: 10,000 opportunities
(with products) 1.5–2.2 s, then their 50,000 stage-history rows 3.0–4.0 s; re-importing both (all unchanged)
0.9 s and 1.9 s. From .xlsx: 3.6 s and 7.9 s (reading the workbook dominates).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.core.audit import jsonable
from salesops.crm.models import (
    Activity,
    ActivityKind,
    Contact,
    ContactRole,
    Opportunity,
    OpportunityProduct,
    OpportunityStatus,
    RequiredField,
    Stage,
    StageChange,
)
from salesops.crm.services import _check_activity, _check_fields, _status_of, missing_fields
from salesops.imports.loaders import (
    Loader,
    Skip,
    choice_parser,
    chunked,
    insert_rows,
    mf,
    optional_text,
    parse_email,
    person_ref,
    required_text,
    update_rows,
)
from salesops.imports.models import ImportKind
from salesops.imports.parsing import parse_bool, parse_date, parse_datetime, parse_decimal, text
from salesops.org.models import Customer, Product

OWN_ID = re.compile(r"^#(\d{1,18})$")


def record_key(external_id: str | None, pk: int) -> str:
    """How a file names a record: its external id, else ``#<id>``."""
    return external_id or f"#{pk}"


def keyed(queryset: models.QuerySet, keys: Iterable[str]) -> dict:
    """The records of ``queryset`` (objects, or dicts of a ``values()`` queryset holding ``pk`` and
    ``external_id``) named by ``keys``: external ids, or ``#<id>`` of records without one."""
    keys = sorted({k for k in keys if k})
    found: dict = {}

    def get(row, name):
        return row[name] if isinstance(row, dict) else getattr(row, name)

    for chunk in chunked(keys):
        for row in queryset.filter(external_id__in=chunk):
            found[get(row, "external_id")] = row
    own = sorted({int(m.group(1)) for k in keys if k not in found and (m := OWN_ID.match(k))})
    for chunk in chunked(own):
        for row in queryset.filter(Q(external_id__isnull=True) | Q(external_id=""), pk__in=chunk):
            found[f"#{get(row, 'pk')}"] = row
    return found


def same(old, new) -> bool:
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return old.replace(microsecond=0) == new.replace(microsecond=0)
    return old == new


def start_of(day: dt.date, tz: dt.tzinfo | None = None) -> dt.datetime:
    """Midnight starting ``day`` in ``tz`` (default: the current time zone)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz or timezone.get_current_timezone())


# -- lookups, loaded once per import ---------------------------------------------------------------------------
class Customers:
    def __init__(self):
        self.by_ext = {ext: pk for ext, pk in Customer.objects.values_list("external_id", "pk")}
        self.names: dict[int, str] = {}

    def get(self, value) -> int:
        ext = text(value)
        if ext not in self.by_ext:
            raise ValueError(_("No customer has the customer number “%(value)s”.") % {"value": ext})
        return self.by_ext[ext]

    def load_names(self, pks: Iterable[int]) -> None:
        for chunk in chunked(sorted(set(pks))):
            self.names.update(Customer.objects.filter(pk__in=chunk).values_list("pk", "name"))


class Stages:
    """Stages by code or name (exact, then ignoring case)."""

    def __init__(self):
        self.by_pk = {s.pk: s for s in Stage.objects.all()}
        self.codes = {s.code: s.pk for s in self.by_pk.values()}
        self.names: dict[str, int | None] = {}
        self.folded: dict[str, int | None] = {}
        for stage in self.by_pk.values():
            for words, word in ((self.names, stage.name), (self.folded, stage.code.casefold()),
                                (self.folded, stage.name.casefold())):
                words[word] = None if words.get(word, stage.pk) != stage.pk else stage.pk

    def get(self, value) -> int:
        raw = text(value)
        if raw in self.codes:
            return self.codes[raw]
        for words, word in ((self.names, raw), (self.folded, raw.casefold())):
            if word in words:
                if words[word] is None:
                    raise ValueError(_("Several stages are named “%(value)s”; use the code.") % {"value": raw})
                return words[word]
        raise ValueError(_("No stage has the code or name “%(value)s”. The stages are: %(stages)s.") % {
            "value": raw, "stages": ", ".join(s.code for s in sorted(self.by_pk.values(),
                                                                       key=lambda s: (s.position, s.pk)))})

    def __getitem__(self, pk: int) -> Stage:
        return self.by_pk[pk]


class Contacts:
    """Contacts named by external id (or ``#<id>``) anywhere, or by name within the customer concerned."""

    def __init__(self, customer_ids: Iterable[int], refs: Iterable[str]):
        self.by_key: dict[str, tuple[int, int]] = {}
        self.by_name: dict[tuple[int, str], int | None] = {}
        self.customer_of: dict[int, int] = {}
        only = ("pk", "external_id", "customer_id", "name")
        for chunk in chunked(sorted(set(customer_ids))):
            for contact in Contact.objects.filter(customer_id__in=chunk).only(*only):
                self._add(contact)
        for contact in keyed(Contact.objects.only(*only), [r for r in refs if r not in self.by_key]).values():
            self._add(contact)

    def _add(self, contact: Contact) -> None:
        self.by_key[record_key(contact.external_id, contact.pk)] = (contact.pk, contact.customer_id)
        self.customer_of[contact.pk] = contact.customer_id
        name = (contact.customer_id, contact.name)
        self.by_name[name] = None if name in self.by_name and self.by_name[name] != contact.pk else contact.pk

    def get(self, raw: str, customer_id: int, customer_name: str) -> int:
        if raw in self.by_key:
            return self.by_key[raw][0]
        name = (customer_id, raw)
        if name in self.by_name:
            if self.by_name[name] is None:
                raise ValueError(_("Several contacts of %(customer)s are named “%(value)s”; use the contact's "
                                   "external id.") % {"customer": customer_name, "value": raw})
            return self.by_name[name]
        raise ValueError(_("No contact of %(customer)s has the external id or name “%(value)s”.") % {
            "customer": customer_name, "value": raw})


class DealProducts:
    """The products column: ``SKU×quantity`` items separated by ``;`` (``×``, ``x``, ``X`` or ``*``; quantity 1
    when left out); a SKU that itself ends in x2 is read as that SKU."""

    SPLIT = re.compile(r"[;；|、\n,，]")
    ITEM = re.compile(r"^(.+?)\s*[×xX*]\s*([0-9][0-9.]*)$")

    def __init__(self):
        self.by_sku = dict(Product.objects.values_list("sku", "pk"))
        self.sku_of = {pk: sku for sku, pk in self.by_sku.items()}

    def parse(self, value) -> tuple[tuple[int, Decimal], ...]:
        items: list[tuple[int, Decimal]] = []
        for part in (p.strip() for p in self.SPLIT.split(text(value))):
            if not part:
                continue
            if part in self.by_sku:
                sku, quantity = part, Decimal(1)
            else:
                match = self.ITEM.match(part)
                sku = match.group(1).strip() if match else part
                if sku not in self.by_sku:
                    raise ValueError(_("No product has the SKU “%(value)s”.") % {"value": sku})
                try:
                    quantity = parse_decimal(match.group(2), places=3, max_digits=14)
                except ValueError as exc:
                    raise ValueError(f"{sku}: {exc}") from None
            if quantity <= 0:
                raise ValueError(_("The quantity of %(sku)s must be more than 0.") % {"sku": sku})
            if any(pk == self.by_sku[sku] for pk, _q in items):
                raise ValueError(_("%(sku)s is listed twice.") % {"sku": sku})
            items.append((self.by_sku[sku], quantity))
        return tuple(items)

    def describe(self, items) -> str:
        return ";".join(f"{self.sku_of.get(pk, pk)}×{format(q.normalize(), 'f')}" for pk, q in items)


# -- the shared part of contacts, opportunities and activities ----------------------------------------------------
class CrmLoader(Loader):
    """Records keyed on ``external_id`` (or ``#<id>``), created or updated in bulk and audited."""

    model: type[models.Model]
    audit_creates = True  # False: one summary row for the batch (kinds with many rows)

    def match(self, rows) -> list[tuple[int, dict, str, models.Model | None]]:
        """Each row with its key and the existing record it names (None: a new one)."""
        length = mf(self.model, "external_id").max_length
        seen: dict[str, int] = {}
        keyed_rows = []
        for rowno, raw in rows:
            key = text(raw.get("external_id"))
            if not key:
                self.error(rowno, "external_id", "", _("Required; the cell is empty."))
            elif len(key) > length:
                self.error(rowno, "external_id", key, _("Too long: at most %(n)d characters.") % {"n": length})
            elif key in seen:
                self.error(rowno, "external_id", key, _("Duplicate: row %(row)d has the same %(field)s.") % {
                    "row": seen[key], "field": "external_id"})
            else:
                seen[key] = rowno
                keyed_rows.append((rowno, raw, key))
        existing = keyed(self.model.objects.all(), seen)
        out = []
        for rowno, raw, key in keyed_rows:
            obj = existing.get(key)
            if obj is None and OWN_ID.match(key):
                self.error(rowno, "external_id", key, _(
                    "No %(what)s has the id %(key)s (ids written #… are those of records made in salesops without "
                    "an external id).") % {"what": self.model._meta.verbose_name, "key": key})
                continue
            out.append((rowno, raw, key, obj))
        return out

    def changes(self, obj: models.Model, state: dict) -> dict:
        """The fields whose value ``state`` changes, with their old values."""
        return {name: getattr(obj, name) for name, value in state.items() if not same(getattr(obj, name), value)}

    def new_record(self, key: str, state: dict) -> models.Model:
        obj = self.model(**state)
        if not OWN_ID.match(key):
            obj.external_id = key
        return obj

    def describe(self, obj) -> str:
        return f"{record_key(obj.external_id, obj.pk)} {obj}"

    def save_records(self, created: list, updated: list[tuple[models.Model, dict]]) -> None:
        """Insert ``created`` (setting their pks), update the changed fields of ``updated`` (each object with its
        new values set, and the old values of what changed), and audit the creates."""
        model, name = self.model, self.model._meta.model_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        now = timezone.now()
        for field in fields:
            if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
                for obj in created:
                    setattr(obj, field.attname, now)
        insert_rows(model, [f.name for f in fields], ([getattr(obj, f.attname) for f in fields] for obj in created))
        pk_of: dict[str, int] = {}  # new records always have an external id (an unknown #id is an error)
        for chunk in chunked([obj.external_id for obj in created]):
            pk_of.update(model.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
        for obj in created:
            obj.pk = pk_of[obj.external_id]
        changed_fields = sorted({f for _obj, changed in updated for f in changed})
        if changed_fields:
            by_attname = {f.attname: f.name for f in fields}
            update_rows(model, [by_attname[f] for f in changed_fields],
                        ([getattr(obj, f) for f in changed_fields] + [obj.pk] for obj, _c in updated))
        if self.audit_creates:
            for obj in created:
                self.audit_event(f"{name}.created", obj, new=audit.snapshot(obj), subject_repr=self.describe(obj))

    def audit_updates(self, updated, event: str | None = None, extra: dict | None = None) -> None:
        """One audit row per updated record: the changed fields' old and new values, plus ``extra[pk]``, a pair
        of (old, new) dicts for what is not a field (an opportunity's products)."""
        name = self.model._meta.model_name
        for obj, changed in updated:
            more_old, more_new = (extra or {}).get(obj.pk, ({}, {}))
            now = audit.snapshot(obj, list(changed)) if changed else {}  # snapshot([]) would be every field
            old, new = audit.diff({**jsonable(changed), **more_old}, {**now, **more_new})
            self.audit_event(event or f"{name}.updated", obj, old=old, new=new, subject_repr=self.describe(obj))


# -- contacts ----------------------------------------------------------------------------------------------
_ROLE_WORDS = {
    "决策人": ContactRole.DECISION_MAKER, "决策者": ContactRole.DECISION_MAKER, "关键决策人": ContactRole.DECISION_MAKER,
    "拍板人": ContactRole.DECISION_MAKER, "影响者": ContactRole.INFLUENCER, "影响人": ContactRole.INFLUENCER,
    "使用者": ContactRole.USER, "用户": ContactRole.USER, "使用人": ContactRole.USER, "采购": ContactRole.PURCHASING,
    "采购员": ContactRole.PURCHASING, "采购人": ContactRole.PURCHASING, "财务": ContactRole.FINANCE,
    "技术": ContactRole.TECHNICAL, "技术负责人": ContactRole.TECHNICAL, "其他": ContactRole.OTHER, "其它": ContactRole.OTHER,
}


class ContactLoader(CrmLoader):
    kind = ImportKind.CONTACTS
    model = Contact

    def validate(self, rows):
        customers = Customers()
        roles = choice_parser(ContactRole, _ROLE_WORDS)
        email_length = mf(Contact, "email").max_length

        def email(value):
            address = parse_email(value)
            if len(address) > email_length:
                raise ValueError(_("Too long: at most %(n)d characters.") % {"n": email_length})
            return address

        records = []
        for rowno, raw, key, obj in self.match(rows):
            rec = self.collect(rowno, raw, [
                ("customer", "customer_id", customers.get, {"required": True}),
                ("name", "name", None, required_text(Contact, "name")),
                ("job_title", "job_title", None, optional_text(Contact, "job_title")),
                ("role", "role", roles, {"default": ContactRole.OTHER}),
                ("phone", "phone", None, optional_text(Contact, "phone")),
                ("email", "email", email, {"default": ""}),
                ("wechat", "wechat", None, optional_text(Contact, "wechat")),
                ("primary", "primary", parse_bool, {"default": False}),
                ("notes", "notes", None, {"default": ""}),
            ])
            if rec is None:
                continue
            if obj is not None and rec["customer_id"] != obj.customer_id:
                self.error(rowno, "customer", raw.get("customer"), _("A contact cannot move to another customer."))
                continue
            records.append((rowno, key, rec, obj))
        self._one_primary(records)
        self.to_create, self.to_update = [], []
        for _rowno, key, rec, obj in records:
            if obj is None:
                self.to_create.append(self.new_record(key, rec))
            elif changed := self.changes(obj, rec):
                for name in changed:
                    setattr(obj, name, rec[name])
                self.to_update.append((obj, changed))
            else:
                self.unchanged += 1
        self.created, self.updated = len(self.to_create), len(self.to_update)
        self.to_update += self.demoted  # other contacts that stop being primary: audited, not counted as rows

    def _one_primary(self, records) -> None:
        """At most one primary contact per customer: two in the file are refused; one in the file replaces the
        customer's current primary contact (as ``crm.services`` does)."""
        self.demoted: list[tuple[Contact, dict]] = []
        if "primary" not in self.mapped:
            return
        first: dict[int, tuple[int, str]] = {}
        in_file = {obj.pk for _r, _k, _rec, obj in records if obj is not None}
        for rowno, _key, rec, _obj in records:
            if not rec["primary"]:
                continue
            customer = rec["customer_id"]
            if customer in first:
                self.error(rowno, "primary", "", _(
                    "Row %(row)d already makes %(name)s the primary contact of this customer; a customer has one.")
                    % {"row": first[customer][0], "name": first[customer][1]})
            else:
                first[customer] = (rowno, rec["name"])
        for chunk in chunked(sorted(first)):
            for contact in Contact.objects.filter(customer_id__in=chunk, primary=True):
                if contact.pk not in in_file:
                    contact.primary = False
                    self.demoted.append((contact, {"primary": True}))

    def write(self):
        self.save_records(self.to_create, self.to_update)
        self.audit_updates(self.to_update)
        self.flush_audit()


# -- opportunities -------------------------------------------------------------------------------------------
STATE = ("name", "customer_id", "owner_id", "stage_id", "amount", "expected_close", "decision_maker_id", "source",
         "competitor", "lost_reason", "created_on", "closed_on")
_NEW_STATE = {"amount": None, "expected_close": None, "decision_maker_id": None, "source": "", "competitor": "",
              "lost_reason": "", "closed_on": None}


def needs_message(stage: Stage, missing: list[str]) -> str:
    labels = dict(RequiredField.choices)
    return _("Stage %(stage)s needs %(field)s.") % {"stage": stage.name,
                                                     "field": ", ".join(str(labels[m]) for m in missing)}


class OpportunityLoader(CrmLoader):
    kind = ImportKind.OPPORTUNITIES
    model = Opportunity

    def validate(self, rows):
        mapped = self.mapped
        customers, people, stages = Customers(), person_ref(), Stages()
        self.stages = stages
        self.products = DealProducts()
        self.now = timezone.now()
        today = timezone.localdate(self.now)
        matched = self.match(rows)
        customers.load_names(customers.by_ext[c] for c in {text(raw.get("customer")) for _r, raw, _k, _o in matched}
                             if c in customers.by_ext)
        contacts = None
        if "decision_maker" in mapped:
            contacts = Contacts(customers.names.keys(),
                                {text(raw.get("decision_maker")) for _r, raw, _k, _o in matched})
        stored = self._stored_products([obj.pk for *_r, obj in matched if obj is not None])
        self.new: list[tuple[Opportunity, tuple]] = []
        self.changed: list[tuple[Opportunity, dict, tuple | None]] = []
        for rowno, raw, key, obj in matched:
            rec = self.collect(rowno, raw, [
                ("name", "name", None, required_text(Opportunity, "name")),
                ("customer", "customer_id", customers.get, {"required": True}),
                ("owner", "owner_id", people.get, {"required": True}),
                ("stage", "stage_id", stages.get, {"required": True}),
                ("amount", "amount", lambda v: parse_decimal(v, places=2), {}),
                ("expected_close", "expected_close", parse_date, {}),
                ("source", "source", None, optional_text(Opportunity, "source")),
                ("competitor", "competitor", None, optional_text(Opportunity, "competitor")),
                ("lost_reason", "lost_reason", None, optional_text(Opportunity, "lost_reason")),
                ("created_on", "created_on", parse_date, {"required": True}),
                ("closed_on", "closed_on", parse_date, {}),
            ])
            items = None
            if "products" in mapped:
                try:
                    items = self.cell(rowno, raw, "products", self.products.parse, default=())
                except Skip:
                    rec = None
            if rec is None:
                continue
            customer_name = customers.names.get(rec["customer_id"], "")
            if obj is not None and rec["customer_id"] != obj.customer_id:
                self.error(rowno, "customer", raw.get("customer"), _("An opportunity cannot move to another customer."))
                continue
            if contacts is not None:
                who = text(raw.get("decision_maker"))
                try:
                    rec["decision_maker_id"] = contacts.get(who, rec["customer_id"], customer_name) if who else None
                except ValueError as exc:
                    self.error(rowno, "decision_maker", who, exc)
                    continue
            state = {f: getattr(obj, f) for f in STATE} if obj is not None else dict(_NEW_STATE)
            state.update(rec)
            stage = stages[state["stage_id"]]
            moved = obj is None or state["stage_id"] != obj.stage_id
            if not self._close_date(rowno, raw, rec, state, stage, obj, moved, today):
                continue
            has_products = bool(items if items is not None else stored.get(obj.pk) if obj is not None else ())
            products_changed = items is not None and obj is not None and sorted(items) != sorted(stored.get(obj.pk, ()))
            changed = self.changes(obj, state) if obj is not None else None
            if obj is not None and not changed and not products_changed:
                self.unchanged += 1
                continue
            if not self._rules(rowno, raw, state, stage, moved, has_products, customer_name, contacts):
                continue
            if obj is None:
                new = self.new_record(key, state)
                new.status, new.stage_entered_at = _status_of(stage), start_of(state["created_on"])
                self.new.append((new, items or ()))
                continue
            for name in changed:
                setattr(obj, name, state[name])
            if moved:
                changed["stage_entered_at"], changed["status"] = obj.stage_entered_at, obj.status
                obj.stage_entered_at, obj.status = self.now, _status_of(stage)
            self.changed.append((obj, changed, items if products_changed else None))
        self.created, self.updated = len(self.new), len(self.changed)
        self.stored_products = stored

    def _close_date(self, rowno, raw, rec, state, stage, obj, moved, today) -> bool:
        """Set ``state['closed_on']``: the file's date for a closed deal, else the day it entered the closed stage
        (its creation date when new, today when moved now); none for an open deal."""
        if not stage.closed:
            if rec.get("closed_on"):
                self.error(rowno, "closed_on", raw.get("closed_on"), _(
                    "Stage %(stage)s is open: an open deal has no close date.") % {"stage": stage.name})
                return False
            state["closed_on"] = None
            return True
        if rec.get("closed_on"):
            closed = rec["closed_on"]
        elif obj is None:
            closed = state["created_on"]
        elif moved:
            closed = today
        else:
            closed = obj.closed_on if "closed_on" not in rec and obj.closed_on else \
                timezone.localdate(obj.stage_entered_at)
        if closed < state["created_on"]:
            self.error(rowno, "closed_on", raw.get("closed_on"), _(
                "The close date cannot be before the deal was created (%(created)s).") % {"created": state["created_on"]})
            return False
        state["closed_on"] = closed
        return True

    def _rules(self, rowno, raw, state, stage, moved, has_products, customer_name, contacts) -> bool:
        """``crm.services`` rules on the deal as it will be: fields, the stage's requirements (when it enters it
        or changes), an active stage to enter."""
        deal = SimpleNamespace(**state, customer=SimpleNamespace(name=customer_name), decision_maker=None)
        if state["decision_maker_id"]:
            customer_of = contacts.customer_of if contacts is not None else {}
            deal.decision_maker = SimpleNamespace(
                customer_id=customer_of.get(state["decision_maker_id"], state["customer_id"]))
        ok = True
        try:
            _check_fields(deal)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.error(rowno, field, raw.get(field, ""), messages[0])
            ok = False
        if moved and not stage.active:
            self.error(rowno, "stage", raw.get("stage"), _("Stage %(stage)s is no longer used.") % {"stage": stage.name})
            ok = False
        missing = missing_fields(deal, stage, products=has_products)
        if missing:
            self.error(rowno, "stage", raw.get("stage"), needs_message(stage, missing))
            ok = False
        return ok

    @staticmethod
    def _stored_products(pks: list[int]) -> dict[int, tuple]:
        stored: dict[int, list] = defaultdict(list)
        for chunk in chunked(sorted(pks)):
            for opp, product, quantity in OpportunityProduct.objects.filter(opportunity_id__in=chunk).order_by(
                    "opportunity_id", "pk").values_list("opportunity_id", "product_id", "quantity"):
                stored[opp].append((product, quantity))
        return {pk: tuple(items) for pk, items in stored.items()}

    def write(self):
        created = [obj for obj, _items in self.new]
        self.save_records(created, [(obj, changed) for obj, changed, _i in self.changed])
        history = [(obj.pk, None, obj.stage_id, obj.stage_entered_at, True) for obj in created]
        history += [(obj.pk, changed["stage_id"], obj.stage_id, obj.stage_entered_at, True)
                    for obj, changed, _i in self.changed if "stage_id" in changed]
        insert_rows(StageChange, ["opportunity", "from_stage", "to_stage", "changed_at", "imported"], history)
        rewritten = [obj.pk for obj, _c, items in self.changed if items is not None]
        for chunk in chunked(rewritten):
            OpportunityProduct.objects.filter(opportunity_id__in=chunk).delete()
        insert_rows(OpportunityProduct, ["opportunity", "product", "quantity"], (
            (obj.pk, product, quantity)
            for obj, items in [*self.new, *((o, i) for o, _c, i in self.changed if i is not None)]
            for product, quantity in items))
        describe = self.products.describe
        moved = [(o, c) for o, c, _i in self.changed if "stage_id" in c]
        updated = [(o, c) for o, c, _i in self.changed if "stage_id" not in c]
        extra = {obj.pk: ({"products": describe(self.stored_products.get(obj.pk, ()))}, {"products": describe(items)})
                 for obj, _c, items in self.changed if items is not None}
        self.audit_updates(moved, "opportunity.moved", extra)
        self.audit_updates(updated, "opportunity.updated", extra)
        self.flush_audit()


# -- stage history -------------------------------------------------------------------------------------------
class StageHistoryLoader(Loader):
    kind = ImportKind.STAGE_HISTORY

    def validate(self, rows):
        stages = Stages()
        self.tz = tz = timezone.get_current_timezone()
        opportunities = keyed(Opportunity.objects.values(
            "pk", "external_id", "stage_id", "stage_entered_at", "status", "closed_on", "created_on", "amount",
            "expected_close", "decision_maker_id", "source", "competitor", "lost_reason"),
            {text(raw.get("opportunity")) for _r, raw in rows})
        groups: dict[int, list] = defaultdict(list)
        for rowno, raw in rows:
            rec = self.collect(rowno, raw, [
                ("opportunity", "opportunity", None, {"required": True}),
                ("stage", "to", stages.get, {"required": True}),
                ("changed_at", "at", lambda v: parse_datetime(v, tz), {"required": True}),
                ("from_stage", "from", stages.get, {}),
            ])
            if rec is None:
                continue
            opp = opportunities.get(rec["opportunity"])
            if opp is None:
                self.error(rowno, "opportunity", rec["opportunity"], _(
                    "No opportunity has the external id “%(value)s”; import the opportunities first.") % {
                    "value": rec["opportunity"]})
                continue
            groups[opp["pk"]].append((rowno, raw, rec))
        by_pk = {opp["pk"]: SimpleNamespace(**opp) for opp in opportunities.values()}
        stored = self._stored(sorted(groups))
        with_products = self._with_products(sorted(groups))
        self.replace: list[tuple[SimpleNamespace, list, dict]] = []
        for pk, group in groups.items():
            opp = by_pk[pk]
            history = self._history(opp, group, stages, pk in with_products)
            if history is None:
                continue
            old = stored.get(pk, [])
            if len(old) == len(history) and all(o[0] == h[0] and o[1] == h[1] and same(o[2], h[2])
                                                for o, h in zip(old, history, strict=True)):
                self.unchanged += len(group)
                continue
            made_here = [o for o in old if not o[3]]
            if made_here:
                first_row = min(r for r, _raw, _rec in group)
                self.error(first_row, "opportunity", group[0][2]["opportunity"], _(
                    "Salesops recorded stage changes of this deal itself (the first on %(at)s); its history cannot be "
                    "replaced by an import.") % {"at": made_here[0][2].astimezone(tz).strftime("%Y-%m-%d %H:%M")})
                continue
            kept = [(o[0], o[1], o[2].replace(microsecond=0)) for o in old]
            for frm, to, at, rowno in history:
                if rowno is None:  # the creation a history of moves implies
                    continue
                if (frm, to, at.replace(microsecond=0)) in kept:
                    kept.remove((frm, to, at.replace(microsecond=0)))
                    self.unchanged += 1
                else:
                    self.created += 1
            _frm, final_pk, final_at, _row = history[-1]
            final = stages[final_pk]
            closed_on = None
            if final.closed:  # a deal closed already keeps its close date, else it closed with this change
                closed_on = opp.closed_on if opp.status != OpportunityStatus.OPEN and opp.closed_on else \
                    final_at.astimezone(tz).date()
            self.replace.append((opp, history, {"stage_id": final_pk, "stage_entered_at": final_at,
                                                "status": _status_of(final), "closed_on": closed_on}))

    def _history(self, opp, group, stages: Stages, has_products: bool) -> list | None:
        """The opportunity's full history from its rows, as (from, to, at, row), or None after recording errors."""
        tz = self.tz
        group.sort(key=lambda item: item[2]["at"])
        history: list[tuple[int | None, int, dt.datetime, int | None]] = []
        ok = True
        previous: tuple[int, int | None] | None = None  # (stage, row)
        for i, (rowno, raw, rec) in enumerate(group):
            frm, to, at = rec.get("from"), rec["to"], rec["at"]
            if i == 0 and frm is not None:  # the source lists moves only: the deal was created in ``frm``
                history.append((None, frm, start_of(opp.created_on, tz), None))
                previous = (frm, None)
            elif frm is not None and previous is not None and frm != previous[0]:
                self.error(rowno, "from_stage", raw.get("from_stage"), _(
                    "The change before (row %(row)d) ends in stage %(stage)s, not %(from)s.") % {
                    "row": previous[1], "stage": stages[previous[0]].name, "from": stages[frm].name})
                ok = False
            if previous is not None and to == previous[0]:
                self.error(rowno, "stage", raw.get("stage"), _("The deal is already in stage %(stage)s here.") % {
                    "stage": stages[to].name})
                ok = False
            if at.astimezone(tz).date() < opp.created_on:
                self.error(rowno, "changed_at", raw.get("changed_at"), _(
                    "This change is dated before the opportunity was created (%(created)s).") % {
                    "created": opp.created_on})
                ok = False
            history.append((previous[0] if previous is not None else None, to, at, rowno))
            previous = (to, rowno)
        if not ok:
            return None
        final = stages[history[-1][1]]
        missing = missing_fields(opp, final, products=has_products)
        if missing:
            rowno, raw, _rec = group[-1]
            self.error(rowno, "stage", raw.get("stage"), needs_message(final, missing))
            return None
        return history

    @staticmethod
    def _stored(pks: list[int]) -> dict[int, list]:
        stored: dict[int, list] = defaultdict(list)
        for chunk in chunked(pks):
            for opp, frm, to, at, imported in StageChange.objects.filter(opportunity_id__in=chunk).order_by(
                    "opportunity_id", "changed_at", "pk").values_list(
                    "opportunity_id", "from_stage_id", "to_stage_id", "changed_at", "imported"):
                stored[opp].append((frm, to, at, imported))
        return stored

    @staticmethod
    def _with_products(pks: list[int]) -> set[int]:
        found: set[int] = set()
        for chunk in chunked(pks):
            found.update(OpportunityProduct.objects.filter(opportunity_id__in=chunk).values_list(
                "opportunity_id", flat=True))
        return found

    def write(self):
        for chunk in chunked([opp.pk for opp, _h, _n in self.replace]):
            StageChange.objects.filter(opportunity_id__in=chunk).delete()
        insert_rows(StageChange, ["opportunity", "from_stage", "to_stage", "changed_at", "imported"], (
            (opp.pk, frm, to, at, True) for opp, history, _n in self.replace for frm, to, at, _row in history))
        changed = []
        for opp, _history, new in self.replace:
            old = {name: getattr(opp, name) for name, value in new.items() if not same(getattr(opp, name), value)}
            if old:
                changed.append((opp, new, old))
        update_rows(Opportunity, ["stage", "stage_entered_at", "status", "closed_on"], (
            (new["stage_id"], new["stage_entered_at"], new["status"], new["closed_on"], opp.pk)
            for opp, new, _old in changed))
        for opp, new, old in changed:
            subject = Opportunity(pk=opp.pk, **new)
            before, after = audit.diff(jsonable(old), audit.snapshot(subject, list(old)))
            self.audit_event("opportunity.history_imported", subject, old=before, new=after,
                             subject_repr=record_key(opp.external_id, opp.pk))
        self.flush_audit()
        self.summary_audit("stagechange.imported")


# -- activities ----------------------------------------------------------------------------------------------
_ACTIVITY_WORDS = {
    "电话": ActivityKind.CALL, "打电话": ActivityKind.CALL, "电话沟通": ActivityKind.CALL, "电话拜访": ActivityKind.CALL,
    "phone": ActivityKind.CALL, "phone call": ActivityKind.CALL, "拜访": ActivityKind.VISIT,
    "上门拜访": ActivityKind.VISIT, "客户拜访": ActivityKind.VISIT, "面访": ActivityKind.VISIT,
    "会议": ActivityKind.MEETING, "会面": ActivityKind.MEETING, "开会": ActivityKind.MEETING,
    "线上会议": ActivityKind.MEETING, "邮件": ActivityKind.EMAIL, "电子邮件": ActivityKind.EMAIL,
    "e-mail": ActivityKind.EMAIL, "任务": ActivityKind.TASK, "待办": ActivityKind.TASK, "to-do": ActivityKind.TASK,
    "todo": ActivityKind.TASK,
}
_ACTIVITY_STATE = ("kind", "subject", "customer_id", "opportunity_id", "contact_id", "owner_id", "created_at",
                   "due_at", "done_at", "outcome")


class ActivityLoader(CrmLoader):
    kind = ImportKind.ACTIVITIES
    model = Activity
    audit_creates = False

    def validate(self, rows):
        mapped = self.mapped
        customers, people = Customers(), person_ref()
        kinds = choice_parser(ActivityKind, _ACTIVITY_WORDS)
        matched = self.match(rows)
        customers.load_names(customers.by_ext[c] for c in {text(raw.get("customer")) for _r, raw, _k, _o in matched}
                             if c in customers.by_ext)
        opportunities: dict[str, Opportunity] = {}
        if "opportunity" in mapped:
            opportunities = keyed(Opportunity.objects.only("pk", "external_id", "customer_id"),
                                  {text(raw.get("opportunity")) for _r, raw, _k, _o in matched})
        contacts = Contacts(customers.names.keys(), {text(raw.get("contact")) for _r, raw, _k, _o in matched}) \
            if "contact" in mapped else None
        # the customers of the opportunities and contacts the activities keep (columns not mapped) or get
        opp_customer = self._customer_of(Opportunity, {o.opportunity_id for *_r, o in matched if o is not None})
        opp_customer.update({o.pk: o.customer_id for o in opportunities.values()})
        contact_customer = self._customer_of(Contact, {o.contact_id for *_r, o in matched if o is not None})
        if contacts is not None:
            contact_customer.update(contacts.customer_of)
        self.to_create, self.to_update = [], []
        for rowno, raw, key, obj in matched:
            rec = self.collect(rowno, raw, [
                ("kind", "kind", kinds, {"required": True}),
                ("subject", "subject", None, required_text(Activity, "subject")),
                ("customer", "customer_id", customers.get, {"required": True}),
                ("owner", "owner_id", people.get, {"required": True}),
                ("created_at", "created_at", parse_datetime, {"required": True}),
                ("due_at", "due_at", parse_datetime, {}),
                ("done_at", "done_at", parse_datetime, {}),
                ("outcome", "outcome", None, {"default": ""}),
            ])
            bad = rec is None
            if "opportunity" in mapped:
                ref = text(raw.get("opportunity"))
                if ref and ref not in opportunities:
                    self.error(rowno, "opportunity", ref, _("No opportunity has the external id “%(value)s”.") % {
                        "value": ref})
                    bad = True
                elif not bad:
                    rec["opportunity_id"] = opportunities[ref].pk if ref else None
            if contacts is not None and not bad:
                ref = text(raw.get("contact"))
                try:
                    rec["contact_id"] = contacts.get(ref, rec["customer_id"], customers.names.get(
                        rec["customer_id"], "")) if ref else None
                except ValueError as exc:
                    self.error(rowno, "contact", ref, exc)
                    bad = True
            if bad:
                continue
            state = {f: getattr(obj, f) for f in _ACTIVITY_STATE} if obj is not None else {
                "opportunity_id": None, "contact_id": None, "due_at": None, "done_at": None, "outcome": ""}
            state.update(rec)
            changed = self.changes(obj, state) if obj is not None else None
            if obj is not None and not changed:
                self.unchanged += 1
                continue
            activity = SimpleNamespace(
                **state,
                opportunity=SimpleNamespace(customer_id=opp_customer.get(state["opportunity_id"])),
                contact=SimpleNamespace(customer_id=contact_customer.get(state["contact_id"])))
            try:
                _check_activity(activity)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    self.error(rowno, field, raw.get(field, ""), messages[0])
                continue
            if obj is None:
                self.to_create.append(self.new_record(key, state))
            else:
                for name in changed:
                    setattr(obj, name, state[name])
                self.to_update.append((obj, changed))
        self.created, self.updated = len(self.to_create), len(self.to_update)

    @staticmethod
    def _customer_of(model, pks) -> dict[int, int]:
        found: dict[int, int] = {}
        for chunk in chunked(sorted(pk for pk in pks if pk)):
            found.update(model.objects.filter(pk__in=chunk).values_list("pk", "customer_id"))
        return found

    def write(self):
        self.save_records(self.to_create, self.to_update)
        self.audit_updates(self.to_update)
        self.flush_audit()
        self.summary_audit("activity.imported")


LOADERS: dict[str, type[Loader]] = {
    ImportKind.CONTACTS: ContactLoader,
    ImportKind.OPPORTUNITIES: OpportunityLoader,
    ImportKind.STAGE_HISTORY: StageHistoryLoader,
    ImportKind.ACTIVITIES: ActivityLoader,
}
