"""Validation and writing, one loader per kind.

A loader gets the mapped rows ``(row number, {field: cell})``. ``validate`` checks every row (collecting every
error, never stopping at the first), resolves references from lookups preloaded into dicts (no per-row query),
and classifies each record as new, changed or unchanged against the database. ``write`` then saves with
``bulk_create`` / ``bulk_update`` in batches; it is only called when there are no errors, inside the import's
``transaction.atomic``.

Rules shared by all kinds:
- A record is matched on its natural key (customer ``external_id``, product ``sku``, person ``employee_no``,
  assignment person + ``start_date``, order line and payment ``external_id``, tree node ``code``).
- A column that is not mapped leaves that field as it is on existing records; new records get the default.
  A mapped but empty optional cell clears the field. (Order lines: an unmapped net amount is always computed
  from quantity × unit price × (1 − discount) with the company's rounding policy.)
- Audit: one audit row per created or updated object, except creates of order lines, payments, activities and
  stage changes (bulk loads of 100k+ rows), which get one summary row per batch (subject: the ImportBatch) while
  each *update* still gets its own row with old and new values.

The customer-relationship kinds (contacts, opportunities, stage history, activities) are in ``crm_loaders``.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connections, models, router
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.core.audit import jsonable
from salesops.core.models import AuditEvent
from salesops.imports.models import ImportBatch, ImportKind
from salesops.imports.parsing import (
    parse_bool,
    parse_credits,
    parse_date,
    parse_decimal,
    parse_share,
    text,
)
from salesops.imports.results import RowError
from salesops.org.models import (
    REVERSAL_STATUSES,
    Assignment,
    Company,
    Customer,
    CustomerSegment,
    CustomerStatus,
    LineStatus,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    SalespersonStatus,
    Team,
    TreeNode,
)
from salesops.org.services import (
    LINK_USERS_REFUSED,
    can_link_users,
    check_line,
    check_reversal,
    check_splits,
    compute_net_amount,
    credit_amounts,
    sales_monthly_refresh,
)

CHUNK = 900  # stays under SQLite's 999 bound variables per statement
BATCH = 2000
HUNDRED = Decimal(100)


def chunked(seq: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def first_error(exc: ValidationError) -> str:
    """The first message of a Django ValidationError, however it is shaped."""
    if hasattr(exc, "message_dict"):
        for messages in exc.message_dict.values():
            return str(messages[0])
    return str(exc.messages[0])


class Skip(Exception):  # noqa: N818 - control flow: the row already has its error recorded
    pass


class Ref:
    """Resolve a reference by code (or employee number, SKU…) and by name when the name is unique."""

    def __init__(self, rows: Iterable[tuple[str, str, int]], *, unknown: Callable[[str], str],
                 ambiguous: Callable[[str], str], by_name: bool = True):
        self.codes: dict[str, int] = {}
        self.names: dict[str, int | None] = {}
        self.unknown, self.ambiguous, self.by_name = unknown, ambiguous, by_name
        for code, name, pk in rows:
            self.add(code, name, pk)

    def add(self, code: str, name: str, pk) -> None:
        self.codes[code] = pk
        if self.by_name and name:
            self.names[name] = None if name in self.names and self.names[name] != pk else pk

    def get(self, raw: str):
        if raw in self.codes:
            return self.codes[raw]
        if raw in self.names:
            pk = self.names[raw]
            if pk is None:
                raise ValueError(self.ambiguous(raw))
            return pk
        raise ValueError(self.unknown(raw))


def tree_ref(model: type[TreeNode]) -> Ref:
    what, plural = model._meta.verbose_name, model._meta.verbose_name_plural
    return Ref(
        model.objects.values_list("code", "name", "pk"),
        unknown=lambda v: _("No %(what)s has the code or name “%(value)s”.") % {"what": what, "value": v},
        ambiguous=lambda v: _("Several %(what)s are named “%(value)s”; use the code.") % {"what": plural, "value": v},
    )


def person_ref() -> Ref:
    return Ref(
        Salesperson.objects.values_list("employee_no", "name", "pk"),
        unknown=lambda v: _("No salesperson has the employee number or name “%(value)s”.") % {"value": v},
        ambiguous=lambda v: _("Several salespeople are named “%(value)s”; use the employee number.") % {"value": v},
    )


class Loader(ABC):
    kind: str
    summarise_creates = False

    def __init__(self, *, actor, batch: ImportBatch | None, mapped: Iterable[str]):
        self.actor = actor if getattr(actor, "is_authenticated", False) else None
        self.batch = batch
        self.mapped = set(mapped)
        self.errors: list[RowError] = []
        self.created = self.updated = self.unchanged = 0
        self.audit_events: list[AuditEvent] = []

    # -- errors and cells ---------------------------------------------------------------------------------
    def error(self, row: int | None, field: str, value, message) -> None:
        shown = value if isinstance(value, str) else text(value)
        self.errors.append(RowError(row, field, shown[:200], str(message)))

    def cell(self, rowno: int, raw: dict, field: str, parse=None, *, required=False, default=None, model_field=None):
        """The parsed value of ``field`` or raises ``Skip`` after recording the error."""
        value = raw.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(rowno, field, "", _("Required; the cell is empty."))
                raise Skip
            return default
        if parse is None:
            result = text(value)
            if model_field is not None and model_field.max_length and len(result) > model_field.max_length:
                self.error(rowno, field, value, _("Too long: at most %(n)d characters.") % {"n": model_field.max_length})
                raise Skip
            return result
        try:
            return parse(value)
        except ValueError as exc:
            self.error(rowno, field, value, exc)
            raise Skip from None

    def collect(self, rowno: int, raw: dict, specs: Sequence[tuple]) -> dict | None:
        """Parse several fields, recording every error; None when any failed."""
        out, bad = {}, False
        for spec in specs:
            field, attr, parse, kwargs = spec
            if field not in self.mapped:
                continue
            try:
                out[attr] = self.cell(rowno, raw, field, parse, **kwargs)
            except Skip:
                bad = True
        return None if bad else out

    # -- audit --------------------------------------------------------------------------------------------
    def audit_event(self, event: str, obj: models.Model, *, old=None, new=None, subject_repr: str | None = None) -> None:
        self.audit_events.append(AuditEvent(
            actor=self.actor, event=event, subject_type=obj._meta.label_lower, subject_id=str(obj.pk),
            subject_repr=(subject_repr if subject_repr is not None else str(obj))[:255],
            old=old or None, new=new or None,
        ))

    def flush_audit(self) -> None:
        """Insert the audit rows collected (one statement, all with the same time, as ``bulk_create`` would)."""
        at = timezone.now()
        insert_rows(AuditEvent, ["at", "actor", "event", "subject_type", "subject_id", "subject_repr", "old", "new"], (
            (at, e.actor_id, e.event, e.subject_type, e.subject_id, e.subject_repr, e.old, e.new)
            for e in self.audit_events))
        self.audit_events = []

    def summary_audit(self, event: str) -> None:
        if self.batch is not None and self.created:
            audit.record(actor=self.actor, event=event, subject=self.batch, new={
                "kind": self.kind, "file": self.batch.file_name, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged})

    # -- the interface ---------------------------------------------------------------------------------------
    @abstractmethod
    def validate(self, rows: Sequence[tuple[int, dict]]) -> None:
        """Check every row, recording every error; decide what to create, update or leave."""

    @abstractmethod
    def write(self) -> None:
        """Write what ``validate`` decided (called only when there is no error)."""


def mf(model, name):
    return model._meta.get_field(name)


def required_text(model, name):
    return {"required": True, "model_field": mf(model, name)}


def optional_text(model, name, default=""):
    return {"default": default, "model_field": mf(model, name)}


def choice_parser(choices: type[models.TextChoices], words: dict[str, str]) -> Callable[[object], str]:
    """A parser of ``choices``: accepts the code (``on_leave`` or ``on leave``), the label in English or Chinese
    and the extra ``words`` (synonyms → code), ignoring case. Built once per import, not per row."""
    known: dict[str, str] = {}
    for code, label in choices.choices:
        known[code.casefold()] = known[code.replace("_", " ").casefold()] = code
        for language in ("en", "zh-hans"):
            with translation.override(language):
                known.setdefault(str(label).casefold(), code)
    for word, code in words.items():
        known.setdefault(word.casefold(), code)

    def parse(value) -> str:
        found = known.get(text(value).casefold())
        if found is None:
            raise ValueError(_("unknown value; use one of: %(codes)s") % {"codes": ", ".join(choices.values)})
        return found

    return parse


def money_nonnegative(value) -> Decimal:
    amount = parse_decimal(value, places=2)
    if amount < 0:
        raise ValueError(_("must not be negative"))
    return amount


# -- keyed kinds: customers, products, people, payments -------------------------------------------------------
class KeyedLoader(Loader):
    """Records matched on one unique key field; created, updated or left unchanged."""

    model: type[models.Model]
    key: str
    create_defaults: dict = {}

    @abstractmethod
    def clean(self, rowno: int, raw: dict) -> dict | None:
        """One row's record by our field names, or None after recording its errors."""

    def prepare(self, rows: Sequence[tuple[int, dict]]) -> None:
        """Preload lookups for ``clean``."""

    def check(self, records: list[tuple[int, dict, models.Model | None]]) -> None:
        """Rules across rows, with the matching existing object (or None) for each record."""

    def describe(self, obj) -> str:
        return str(obj)

    def validate(self, rows):
        self.prepare(rows)
        records: list[tuple[int, dict]] = []
        seen: dict[str, int] = {}
        for rowno, raw in rows:
            rec = self.clean(rowno, raw)
            if rec is None:
                continue
            key = rec[self.key]
            if key in seen:
                self.error(rowno, self.key, key, _("Duplicate: row %(row)d has the same %(field)s.") % {
                    "row": seen[key], "field": self.key})
                continue
            seen[key] = rowno
            records.append((rowno, rec))
        existing: dict[str, models.Model] = {}
        keys = [rec[self.key] for _row, rec in records]
        for chunk in chunked(keys):
            for obj in self.model.objects.filter(**{f"{self.key}__in": chunk}):
                existing[getattr(obj, self.key)] = obj
        matched = [(rowno, rec, existing.get(rec[self.key])) for rowno, rec in records]
        self.check(matched)
        self.to_create: list[models.Model] = []
        self.to_update: list[tuple[models.Model, dict]] = []
        for _rowno, rec, obj in matched:
            if obj is None:
                self.to_create.append(self.model(**{**self.create_defaults, **rec}))
                continue
            changed = {name: getattr(obj, name) for name, value in rec.items() if getattr(obj, name) != value}
            if changed:
                for name in changed:
                    setattr(obj, name, rec[name])
                self.to_update.append((obj, changed))
            else:
                self.unchanged += 1
        self.created, self.updated = len(self.to_create), len(self.to_update)

    def write(self):
        name = self.model._meta.model_name
        self.model.objects.bulk_create(self.to_create, batch_size=BATCH)
        fields = sorted({f for _obj, changed in self.to_update for f in changed})
        if fields:
            self.model.objects.bulk_update([obj for obj, _c in self.to_update], fields, batch_size=500)
        if self.summarise_creates:
            self.summary_audit(f"{name}.imported")
        else:
            for obj in self.to_create:
                self.audit_event(f"{name}.created", obj, new=audit.snapshot(obj), subject_repr=self.describe(obj))
        for obj, changed in self.to_update:
            old, new = audit.diff(jsonable(changed), audit.snapshot(obj, list(changed)))
            self.audit_event(f"{name}.updated", obj, old=old, new=new, subject_repr=self.describe(obj))
        self.flush_audit()


_CUSTOMER_STATUS_WORDS = {
    "潜在": CustomerStatus.PROSPECT, "潜在客户": CustomerStatus.PROSPECT, "意向客户": CustomerStatus.PROSPECT,
    "线索": CustomerStatus.PROSPECT, "活跃": CustomerStatus.ACTIVE, "活跃客户": CustomerStatus.ACTIVE,
    "合作中": CustomerStatus.ACTIVE, "正常": CustomerStatus.ACTIVE, "成交客户": CustomerStatus.ACTIVE,
    "休眠": CustomerStatus.DORMANT, "沉睡": CustomerStatus.DORMANT, "休眠客户": CustomerStatus.DORMANT,
    "inactive": CustomerStatus.DORMANT, "流失": CustomerStatus.LOST, "已流失": CustomerStatus.LOST,
    "流失客户": CustomerStatus.LOST, "churned": CustomerStatus.LOST,
}


class CustomerLoader(KeyedLoader):
    kind = ImportKind.CUSTOMERS
    model = Customer
    key = "external_id"

    def prepare(self, rows):
        self.segments = tree_ref(CustomerSegment)
        self.regions = tree_ref(Region)
        self.people = person_ref()
        self.status = choice_parser(CustomerStatus, _CUSTOMER_STATUS_WORDS)

    def clean(self, rowno, raw):
        return self.collect(rowno, raw, [
            ("external_id", "external_id", None, required_text(Customer, "external_id")),
            ("name", "name", None, required_text(Customer, "name")),
            ("segment", "segment_id", self.segments.get, {}),
            ("region", "region_id", self.regions.get, {}),
            ("industry", "industry", None, optional_text(Customer, "industry")),
            ("owner", "owner_id", self.people.get, {}),
            ("key_account", "key_account", parse_bool, {"default": False}),
            ("status", "status", self.status, {"default": CustomerStatus.ACTIVE}),
            ("source", "source", None, optional_text(Customer, "source")),
            ("preferences", "preferences", None, {"default": ""}),
            ("notes", "notes", None, {"default": ""}),
        ])


class ProductLoader(KeyedLoader):
    kind = ImportKind.PRODUCTS
    model = Product
    key = "sku"
    create_defaults = {"standard_cost": Decimal("0.00")}  # a new product without a cost column costs 0

    def prepare(self, rows):
        self.categories = tree_ref(ProductCategory)

    def clean(self, rowno, raw):
        rec = self.collect(rowno, raw, [
            ("sku", "sku", None, required_text(Product, "sku")),
            ("name", "name", None, required_text(Product, "name")),
            ("category", "category_id", self.categories.get, {"required": True}),
            ("list_price", "list_price", money_nonnegative, {"required": True}),
            ("standard_cost", "standard_cost", money_nonnegative, {"default": Decimal("0.00")}),
            ("unit", "unit", None, optional_text(Product, "unit")),
            ("active", "active", parse_bool, {"default": True}),
        ])
        return rec


_STATUS_WORDS = {
    "ramping": SalespersonStatus.RAMPING, "新人": SalespersonStatus.RAMPING, "试用": SalespersonStatus.RAMPING,
    "试用期": SalespersonStatus.RAMPING, "爬坡": SalespersonStatus.RAMPING, "爬坡期": SalespersonStatus.RAMPING,
    "active": SalespersonStatus.ACTIVE, "在职": SalespersonStatus.ACTIVE, "正式": SalespersonStatus.ACTIVE,
    "on_leave": SalespersonStatus.ON_LEAVE, "on leave": SalespersonStatus.ON_LEAVE, "休假": SalespersonStatus.ON_LEAVE,
    "停薪留职": SalespersonStatus.ON_LEAVE, "left": SalespersonStatus.LEFT, "离职": SalespersonStatus.LEFT,
    "已离职": SalespersonStatus.LEFT,
}


def parse_person_status(value) -> str:
    raw = text(value)
    found = _STATUS_WORDS.get(raw.casefold()) or {str(label).casefold(): code for code, label in
                                                  SalespersonStatus.choices}.get(raw.casefold())
    if not found:
        raise ValueError(_("unknown status; use one of: %(codes)s") % {"codes": ", ".join(SalespersonStatus.values)})
    return found


def parse_ramp(value) -> list[int]:
    raw = text(value).strip("[]")
    parts = [p.strip().rstrip("%") for p in re.split(r"[;,|；，\s]+", raw) if p.strip()]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(_("a ramp schedule is whole percentages separated by ';', e.g. 25;50;75")) from None
    if any(not 0 <= n <= 100 for n in numbers):
        raise ValueError(_("each ramp percentage must be from 0 to 100"))
    return numbers


def parse_email(value) -> str:
    raw = text(value)
    try:
        validate_email(raw)
    except ValidationError:
        raise ValueError(_("not a valid email address")) from None
    return raw


class PersonLoader(KeyedLoader):
    kind = ImportKind.PEOPLE
    model = Salesperson
    key = "employee_no"

    def prepare(self, rows):
        names = {text(raw.get("username")) for _r, raw in rows if raw.get("username") not in (None, "")}
        self.users = {}
        for chunk in chunked(sorted(names)):
            self.users.update(get_user_model().objects.filter(username__in=chunk).values_list("username", "pk"))

    def user_id(self, value) -> int:
        name = text(value)
        if name not in self.users:
            raise ValueError(_("No user has the user name “%(value)s”.") % {"value": name})
        return self.users[name]

    def clean(self, rowno, raw):
        rec = self.collect(rowno, raw, [
            ("employee_no", "employee_no", None, required_text(Salesperson, "employee_no")),
            ("name", "name", None, required_text(Salesperson, "name")),
            ("email", "email", parse_email, {"default": ""}),
            ("hire_date", "hire_date", parse_date, {"required": True}),
            ("leave_date", "leave_date", parse_date, {}),
            ("title", "title", None, optional_text(Salesperson, "title")),
            ("level", "level", None, optional_text(Salesperson, "level")),
            ("status", "status", parse_person_status, {"default": SalespersonStatus.ACTIVE}),
            ("ramp_schedule", "ramp_schedule", parse_ramp, {"default": []}),
            ("username", "user_id", self.user_id, {}),
        ])
        if rec is not None and rec.get("leave_date") and rec["leave_date"] < rec["hire_date"]:
            self.error(rowno, "leave_date", rec["leave_date"], _("The leave date is before the hire date."))
            return None
        return rec

    def check(self, records):
        if "username" not in self.mapped:
            return
        if self.actor is not None and not can_link_users(self.actor):
            for rowno, rec, _obj in records:
                if rec.get("user_id"):
                    self.error(rowno, "username", "", LINK_USERS_REFUSED)
            return
        taken = dict(Salesperson.objects.filter(user_id__in={r["user_id"] for _n, r, _o in records if r.get("user_id")})
                     .values_list("user_id", "employee_no"))
        claimed: dict[int, int] = {}
        final_owner = {r["employee_no"]: r.get("user_id") for _n, r, _o in records}
        for rowno, rec, _obj in records:
            uid = rec.get("user_id")
            if not uid:
                continue
            if uid in claimed:
                self.error(rowno, "username", "", _("Row %(row)d links the same user.") % {"row": claimed[uid]})
                continue
            claimed[uid] = rowno
            holder = taken.get(uid)
            if holder and holder != rec["employee_no"] and final_owner.get(holder, uid) == uid:
                self.error(rowno, "username", "", _("This user is already linked to salesperson %(emp)s.") % {
                    "emp": holder})


class PaymentLoader(KeyedLoader):
    kind = ImportKind.PAYMENTS
    model = Payment
    key = "external_id"
    summarise_creates = True

    def prepare(self, rows):
        wanted = sorted({text(raw.get("line")) for _r, raw in rows if raw.get("line") not in (None, "")})
        self.lines: dict[str, tuple[int, Decimal]] = {}
        for chunk in chunked(wanted):
            for ext, pk, net in OrderLine.objects.filter(external_id__in=chunk).values_list("external_id", "pk",
                                                                                              "net_amount"):
                self.lines[ext] = (pk, net)
        self.net_by_id = {pk: net for pk, net in self.lines.values()}
        self.ext_by_id = {pk: ext for ext, (pk, _n) in self.lines.items()}

    def line_id(self, value) -> int:
        ext = text(value)
        if ext not in self.lines:
            raise ValueError(_("No order line has the line id “%(value)s”.") % {"value": ext})
        return self.lines[ext][0]

    @staticmethod
    def positive_money(value) -> Decimal:
        amount = parse_decimal(value, places=2)
        if amount <= 0:
            raise ValueError(_("a payment amount must be positive"))
        return amount

    def clean(self, rowno, raw):
        return self.collect(rowno, raw, [
            ("external_id", "external_id", None, required_text(Payment, "external_id")),
            ("line", "line_id", self.line_id, {"required": True}),
            ("date", "date", parse_date, {"required": True}),
            ("amount", "amount", self.positive_money, {"required": True}),
        ])

    def check(self, records):
        in_file = {rec["external_id"] for _n, rec, _o in records}
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for chunk in chunked(sorted(self.net_by_id)):
            for ext, line_id, amount in Payment.objects.filter(line_id__in=chunk).values_list(
                    "external_id", "line_id", "amount"):
                if ext not in in_file:
                    totals[line_id] += amount
        rows_by_line: dict[int, list[int]] = defaultdict(list)
        for rowno, rec, _obj in records:
            totals[rec["line_id"]] += rec["amount"]
            rows_by_line[rec["line_id"]].append(rowno)
        for line_id, rownos in rows_by_line.items():
            net = self.net_by_id[line_id]
            if totals[line_id] > net:
                for rowno in rownos:
                    self.error(rowno, "amount", "", _(
                        "Payments for line %(line)s would total %(total)s, more than its net amount %(net)s."
                    ) % {"line": self.ext_by_id[line_id], "total": totals[line_id], "net": net})

    def describe(self, obj):
        return f"{obj.external_id} {obj.date} {obj.amount}"


# -- trees ---------------------------------------------------------------------------------------------------
class TreeLoader(Loader):
    model: type[TreeNode]

    def validate(self, rows):
        model = self.model
        nodes = {code: (pk, name, parent_id) for pk, code, name, parent_id in
                 model.objects.values_list("pk", "code", "name", "parent_id")}
        code_of = {pk: code for code, (pk, _n, _p) in nodes.items()}
        people = person_ref() if "manager" in self.mapped else None
        records: list[tuple[int, dict, str]] = []
        seen: dict[str, int] = {}
        for rowno, raw in rows:
            specs = [("code", "code", None, required_text(model, "code")),
                     ("name", "name", None, required_text(model, "name"))]
            if people is not None:
                specs.append(("manager", "manager_id", people.get, {}))
            rec = self.collect(rowno, raw, specs)
            parent_raw = text(raw.get("parent")) if "parent" in self.mapped else None
            if rec is None:
                continue
            if rec["code"] in seen:
                self.error(rowno, "code", rec["code"], _("Duplicate: row %(row)d has the same code.") % {
                    "row": seen[rec["code"]]})
                continue
            seen[rec["code"]] = rowno
            records.append((rowno, rec, parent_raw))
        # Final names and parents: the file's rows over the database's.
        final_name = {code: name for code, (_pk, name, _p) in nodes.items()}
        final_parent = {code: code_of.get(parent_id) for code, (_pk, _n, parent_id) in nodes.items()}
        for _rowno, rec, _p in records:
            final_name[rec["code"]] = rec["name"]
        by_name: dict[str, str | None] = {}
        for code, name in final_name.items():
            by_name[name] = None if name in by_name else code
        what = model._meta.verbose_name
        resolved: list[tuple[int, dict, str | None | bool]] = []
        for rowno, rec, parent_raw in records:
            parent_code: str | None | bool = False  # False: parent column not mapped, keep
            if parent_raw is not None:
                if not parent_raw:
                    parent_code = None
                elif parent_raw in final_name:
                    parent_code = parent_raw
                elif parent_raw in by_name and by_name[parent_raw] is not None:
                    parent_code = by_name[parent_raw]
                elif parent_raw in by_name:
                    self.error(rowno, "parent", parent_raw, _("Several %(what)s are named “%(value)s”; use the code.") % {
                        "what": model._meta.verbose_name_plural, "value": parent_raw})
                    continue
                else:
                    self.error(rowno, "parent", parent_raw, _("No %(what)s has the code or name “%(value)s”.") % {
                        "what": what, "value": parent_raw})
                    continue
                final_parent[rec["code"]] = parent_code
            resolved.append((rowno, rec, parent_code))
        # Cycles: follow each imported node's chain of parents.
        for rowno, rec, _parent in resolved:
            chain, code = [rec["code"]], final_parent.get(rec["code"])
            while code is not None and code not in chain:
                chain.append(code)
                code = final_parent.get(code)
            if code is not None:
                self.error(rowno, "parent", final_parent.get(rec["code"]) or "", _(
                    "This parent makes a cycle: %(chain)s. A node cannot be inside its own subtree."
                ) % {"chain": " → ".join([*chain[chain.index(code):], code])})
        self.records = resolved
        self.nodes = nodes
        self.code_of = code_of
        for _rowno, rec, parent_code in resolved:
            current = nodes.get(rec["code"])
            if current is None:
                self.created += 1
                continue
            if self._changes(rec, parent_code):
                self.updated += 1
            else:
                self.unchanged += 1

    def _changes(self, rec, parent_code) -> bool:
        pk, name, parent_id = self.nodes[rec["code"]]
        if name != rec["name"]:
            return True
        if parent_code is not False and self.code_of.get(parent_id) != parent_code:
            return True
        return "manager_id" in rec and self._manager.get(pk) != rec["manager_id"]

    @property
    def _manager(self) -> dict[int, int | None]:
        if not hasattr(self, "_managers"):
            self._managers = dict(Team.objects.values_list("pk", "manager_id")) if self.model is Team else {}
        return self._managers

    def write(self):
        model = self.model
        label = model._meta.model_name
        existing = {o.code: o for o in model.objects.filter(code__in=[r["code"] for _n, r, _p in self.records])}
        created, updated = [], []
        for _rowno, rec, parent_code in self.records:
            obj = existing.get(rec["code"])
            if obj is None:
                created.append((model(**rec), parent_code))
            elif self._changes(rec, parent_code):
                old = audit.snapshot(obj)
                for name, value in rec.items():
                    setattr(obj, name, value)
                updated.append((obj, parent_code, old))
        model.objects.bulk_create([o for o, _p in created], batch_size=BATCH)
        pk_of = dict(model.objects.values_list("code", "pk"))
        for obj, parent_code in created:
            obj.parent_id = pk_of[parent_code] if parent_code else None
        for obj, parent_code, _old in updated:
            if parent_code is not False:
                obj.parent_id = pk_of[parent_code] if parent_code else None
        fields = ["name", "parent"] + (["manager"] if model is Team and "manager" in self.mapped else [])
        model.objects.bulk_update([o for o, _p in created] + [o for o, _p, _old in updated], fields, batch_size=500)
        _rebuild_paths(model)
        for obj, _p in created:
            obj.refresh_from_db(fields=["path", "depth"])
            self.audit_event(f"{label}.created", obj, new=audit.snapshot(obj))
        for obj, _p, old in updated:
            obj.refresh_from_db(fields=["path", "depth"])
            before, after = audit.diff(old, audit.snapshot(obj))
            self.audit_event(f"{label}.updated", obj, old=before, new=after)
        self.flush_audit()


def _rebuild_paths(model: type[TreeNode]) -> None:
    """Recompute ``path`` and ``depth`` of the whole tree after nodes were added or moved (trees are small)."""
    rows = list(model.objects.values_list("pk", "parent_id", "path", "depth"))
    parent = {pk: parent_id for pk, parent_id, _p, _d in rows}
    computed: dict[int, str] = {}

    def path_of(pk: int) -> str:
        if pk not in computed:
            p = parent[pk]
            computed[pk] = (path_of(p) if p else "/") + f"{pk}/"
        return computed[pk]

    changed = []
    for pk, _parent, path, depth in rows:
        new_path = path_of(pk)
        new_depth = new_path.count("/") - 2
        if new_path != path or new_depth != depth:
            changed.append(model(pk=pk, path=new_path, depth=new_depth))
    model.objects.bulk_update(changed, ["path", "depth"], batch_size=500)


class RegionLoader(TreeLoader):
    kind, model = ImportKind.REGIONS, Region


class CategoryLoader(TreeLoader):
    kind, model = ImportKind.CATEGORIES, ProductCategory


class SegmentLoader(TreeLoader):
    kind, model = ImportKind.SEGMENTS, CustomerSegment


class TeamLoader(TreeLoader):
    kind, model = ImportKind.TEAMS, Team


# -- assignments ---------------------------------------------------------------------------------------------
class AssignmentLoader(Loader):
    kind = ImportKind.ASSIGNMENTS

    def validate(self, rows):
        people = person_ref()
        teams = tree_ref(Team)
        regions = tree_ref(Region)
        self.emp_of = {pk: code for code, pk in people.codes.items()}
        records: list[tuple[int, dict]] = []
        seen: dict[tuple, int] = {}
        for rowno, raw in rows:
            rec = self.collect(rowno, raw, [
                ("salesperson", "salesperson_id", people.get, {"required": True}),
                ("team", "team_id", teams.get, {"required": True}),
                ("start_date", "start_date", parse_date, {"required": True}),
                ("end_date", "end_date", parse_date, {}),
                ("manager", "manager_id", people.get, {}),
                ("region", "region_id", regions.get, {}),
            ])
            if rec is None:
                continue
            if rec.get("end_date") and rec["end_date"] < rec["start_date"]:
                self.error(rowno, "end_date", rec["end_date"], _("The end date is before the start date."))
                continue
            if rec.get("manager_id") and rec["manager_id"] == rec["salesperson_id"]:
                self.error(rowno, "manager", raw.get("manager"), _("A salesperson cannot be their own manager."))
                continue
            key = (rec["salesperson_id"], rec["start_date"])
            if key in seen:
                self.error(rowno, "start_date", rec["start_date"], _(
                    "Duplicate: row %(row)d has the same salesperson and start date.") % {"row": seen[key]})
                continue
            seen[key] = rowno
            records.append((rowno, rec))
        person_ids = sorted({rec["salesperson_id"] for _r, rec in records})
        existing: dict[tuple, Assignment] = {}
        for chunk in chunked(person_ids):
            for a in Assignment.objects.filter(salesperson_id__in=chunk).select_related("team"):
                existing[(a.salesperson_id, a.start_date)] = a
        # The final timeline of each person: the database's assignments, replaced by the file's where keys match.
        timeline: dict[int, list[tuple[dt.date, dt.date, int | None, str]]] = defaultdict(list)
        for (sp, start), a in existing.items():
            if (sp, start) not in seen:
                timeline[sp].append((start, a.end_date or dt.date.max, None, a.team.name))
        self.to_create, self.to_update = [], []
        for rowno, rec in records:
            obj = existing.get((rec["salesperson_id"], rec["start_date"]))
            end = rec["end_date"] if "end_date" in rec else (obj.end_date if obj else None)
            timeline[rec["salesperson_id"]].append((rec["start_date"], end or dt.date.max, rowno, ""))
            if obj is None:
                self.to_create.append(Assignment(**rec))
                continue
            changed = {name: getattr(obj, name) for name, value in rec.items() if getattr(obj, name) != value}
            if changed:
                for name in changed:
                    setattr(obj, name, rec[name])
                self.to_update.append((obj, changed))
            else:
                self.unchanged += 1
        for sp, spans in timeline.items():
            spans.sort(key=lambda s: (s[0], s[1]))
            reach = spans[0]  # the span seen so far that ends last
            for span in spans[1:]:
                if span[0] <= reach[1] and (span[2] or reach[2]):
                    self._overlap(sp, mine=span if span[2] else reach, other=reach if span[2] else span)
                if span[1] > reach[1]:
                    reach = span
        self.created, self.updated = len(self.to_create), len(self.to_update)

    def _overlap(self, sp, *, mine, other) -> None:
        start, end, row, team = other
        if row:
            what = _("row %(row)d") % {"row": row}
        else:
            what = _("the existing assignment to %(team)s") % {"team": team}
        self.error(mine[2], "start_date", mine[0], _(
            "This assignment of %(emp)s (%(start)s to %(end)s) overlaps %(other)s (%(ostart)s to %(oend)s); a "
            "person's assignments must not overlap."
        ) % {"emp": self.emp_of.get(sp, sp), "start": mine[0], "end": "…" if mine[1] == dt.date.max else mine[1],
             "other": what, "ostart": start, "oend": "…" if end == dt.date.max else end})

    def describe(self, a: Assignment) -> str:
        return f"{self.emp_of.get(a.salesperson_id, a.salesperson_id)} {a.start_date}…{a.end_date or ''}"

    def write(self):
        Assignment.objects.bulk_create(self.to_create, batch_size=BATCH)
        fields = sorted({f for _o, c in self.to_update for f in c})
        if fields:
            Assignment.objects.bulk_update([o for o, _c in self.to_update], fields, batch_size=500)
        for obj in self.to_create:
            self.audit_event("assignment.created", obj, new=audit.snapshot(obj), subject_repr=self.describe(obj))
        for obj, changed in self.to_update:
            old, new = audit.diff(jsonable(changed), audit.snapshot(obj, list(changed)))
            self.audit_event("assignment.updated", obj, old=old, new=new, subject_repr=self.describe(obj))
        self.flush_audit()


# -- order lines ---------------------------------------------------------------------------------------------
_LINE_STATUS_WORDS = {
    "booked": LineStatus.BOOKED, "已下单": LineStatus.BOOKED, "下单": LineStatus.BOOKED, "已预订": LineStatus.BOOKED,
    "预订": LineStatus.BOOKED, "已签约": LineStatus.BOOKED, "invoiced": LineStatus.INVOICED, "已开票": LineStatus.INVOICED,
    "开票": LineStatus.INVOICED, "paid": LineStatus.PAID, "已付款": LineStatus.PAID, "已回款": LineStatus.PAID,
    "已收款": LineStatus.PAID, "returned": LineStatus.RETURNED, "退货": LineStatus.RETURNED,
    "已退货": LineStatus.RETURNED, "return": LineStatus.RETURNED, "cancelled": LineStatus.CANCELLED,
    "canceled": LineStatus.CANCELLED, "取消": LineStatus.CANCELLED, "已取消": LineStatus.CANCELLED,
    "作废": LineStatus.CANCELLED, "已作废": LineStatus.CANCELLED,
}
_LINE_FIELDS = ("order_no", "date", "customer_id", "product_id", "quantity", "unit_price", "discount", "net_amount",
                "cost", "status", "original_id", "invoiced_on", "attributes")
ATTRIBUTE_VALUE_LENGTH = 100


def parse_line_status(value) -> str:
    raw = text(value).casefold()
    found = _LINE_STATUS_WORDS.get(raw) or {str(label).casefold(): code for code, label in LineStatus.choices}.get(raw)
    if not found:
        raise ValueError(_("unknown status; use one of: %(codes)s") % {"codes": ", ".join(LineStatus.values)})
    return found


@dataclass(slots=True)
class LineRecord:
    """A validated order line, lighter than a model instance (100k of them per import); duck-types the
    attributes ``org.services.check_line`` reads."""

    pk: int | None
    external_id: str
    order_no: str
    date: dt.date
    customer_id: int
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    net_amount: Decimal
    cost: Decimal
    status: str
    original_id: int | None
    invoiced_on: dt.date | None = None
    attributes: dict | None = None


def insert_rows(model: type[models.Model], fields: list[str], rows: Iterable[tuple], batch: int = 5000) -> None:
    """INSERT many rows with one prepared statement (``executemany``): the bulk path for order lines and
    credits, where ``bulk_create``'s per-object SQL compilation costs more than the database does. Values are
    converted by each field's own ``get_db_prep_save`` (so MoneyField's cents rule still applies)."""
    opts = model._meta
    conn = connections[router.db_for_write(model)]  # the real wrapper, not the thread-local proxy: 1M lookups
    field_objs = [opts.get_field(name) for name in fields]
    qn = conn.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - identifiers from model metadata, values bound
        qn(opts.db_table), ", ".join(qn(f.column) for f in field_objs), ", ".join(["%s"] * len(field_objs)))
    preps = [f.get_db_prep_save for f in field_objs]
    with conn.cursor() as cursor:
        buffer = []
        for row in rows:
            buffer.append(tuple([prep(value, conn) for prep, value in zip(preps, row, strict=True)]))
            if len(buffer) >= batch:
                cursor.executemany(sql, buffer)
                buffer = []
        if buffer:
            cursor.executemany(sql, buffer)


def update_rows(model: type[models.Model], fields: list[str], rows: Iterable[tuple], batch: int = 5000) -> None:
    """UPDATE many rows by primary key with one prepared statement (``executemany``); each row is the values of
    ``fields`` then the pk. ``bulk_update`` builds a CASE expression per field and object, which costs seconds
    for thousands of objects; this costs what the database does."""
    opts = model._meta
    conn = connections[router.db_for_write(model)]
    field_objs = [opts.get_field(name) for name in fields]
    qn = conn.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - identifiers from model metadata, values bound
        qn(opts.db_table), ", ".join(f"{qn(f.column)} = %s" for f in field_objs), qn(opts.pk.column))
    preps = [f.get_db_prep_save for f in field_objs]
    with conn.cursor() as cursor:
        buffer = []
        for *values, pk in rows:
            buffer.append((*[prep(value, conn) for prep, value in zip(preps, values, strict=True)], pk))
            if len(buffer) >= batch:
                cursor.executemany(sql, buffer)
                buffer = []
        if buffer:
            cursor.executemany(sql, buffer)


class OrderLineLoader(Loader):
    """Order lines with their credits. See ``imports.services`` for the columns."""

    kind = ImportKind.ORDER_LINES

    def validate(self, rows):
        mapped = self.mapped
        policy = Company.current().rounding_policy
        customers = dict(Customer.objects.values_list("external_id", "pk"))
        products = {sku: (pk, cost) for sku, pk, cost in Product.objects.values_list("sku", "pk", "standard_cost")}
        people = person_ref()
        self.emp_of = {pk: code for code, pk in people.codes.items()}
        existing = self._existing([text(raw.get("external_id")) for _r, raw in rows])
        caches: dict[str, dict] = defaultdict(dict)
        error = self.error

        def cached(field, value, parse):
            cache = caches[field]
            try:
                hit = cache[value]
            except (KeyError, TypeError):
                try:
                    hit = (True, parse(value))
                except ValueError as exc:
                    hit = (False, str(exc))
                try:
                    cache[value] = hit
                except TypeError:
                    pass
            return hit

        def customer(value):
            ext = text(value)
            if ext not in customers:
                raise ValueError(_("No customer has the customer number “%(value)s”.") % {"value": ext})
            return customers[ext]

        def product(value):
            sku = text(value)
            if sku not in products:
                raise ValueError(_("No product has the SKU “%(value)s”.") % {"value": sku})
            return products[sku]

        def credits(value):
            parsed = parse_credits(value)
            out, seen_people = [], set()
            for who, pct in parsed:
                sp = people.get(who)
                if sp in seen_people:
                    raise ValueError(_("%(who)s is credited twice") % {"who": who})
                seen_people.add(sp)
                if pct != pct.quantize(Decimal("0.0001")):
                    raise ValueError(_("a split percentage has more than 4 decimal places"))
                out.append((sp, pct))
            try:
                check_splits([p for _sp, p in out])
            except ValidationError as exc:
                raise ValueError(first_error(exc)) from None
            return tuple(out)

        def quantity(value):
            return parse_decimal(value, places=3, max_digits=14)

        def price(value):
            amount = parse_decimal(value, places=2)
            if amount < 0:
                raise ValueError(_("a price must not be negative"))
            return amount

        def money(value):
            return parse_decimal(value, places=2)

        parsers = [
            ("date", parse_date, True), ("customer", customer, True), ("product", product, True),
            ("quantity", quantity, True), ("unit_price", price, True), ("discount", parse_share, False),
            ("net_amount", money, False), ("cost", money, False), ("status", parse_line_status, False),
            ("credits", credits, True), ("invoiced_on", parse_date, False),
        ]
        attribute_fields = sorted(f for f in mapped if f.startswith("attr:"))
        parsers = [p for p in parsers if p[0] in mapped]
        ext_len = mf(OrderLine, "external_id").max_length
        order_len = mf(OrderLine, "order_no").max_length
        seen: dict[str, int] = {}
        records = []
        for rowno, raw in rows:
            bad = False
            ext = text(raw.get("external_id"))
            if not ext:
                error(rowno, "external_id", "", _("Required; the cell is empty."))
                bad = True
            elif len(ext) > ext_len:
                error(rowno, "external_id", ext, _("Too long: at most %(n)d characters.") % {"n": ext_len})
                bad = True
            elif ext in seen:
                error(rowno, "external_id", ext, _("Duplicate: row %(row)d has the same line id.") % {"row": seen[ext]})
                bad = True
            else:
                seen[ext] = rowno
            values = {}
            for field, parse, required in parsers:
                value = raw.get(field)
                if value is None or value == "" or (isinstance(value, str) and not value.strip()):
                    if required:
                        error(rowno, field, "", _("Required; the cell is empty."))
                        bad = True
                    else:
                        values[field] = None
                    continue
                good, result = cached(field, value, parse)
                if good:
                    values[field] = result
                else:
                    error(rowno, field, value, result)
                    bad = True
            order_no = text(raw.get("order_no")) if "order_no" in mapped else ""
            if len(order_no) > order_len:
                error(rowno, "order_no", order_no, _("Too long: at most %(n)d characters.") % {"n": order_len})
                bad = True
            orig_ext = text(raw.get("original_external_id")) if "original_external_id" in mapped else ""
            attributes: dict[str, str] = {}
            for field in attribute_fields:  # a mapped, empty cell removes the attribute (below)
                value = text(raw.get(field))
                if len(value) > ATTRIBUTE_VALUE_LENGTH:
                    error(rowno, field, value, _("Too long: at most %(n)d characters.") % {"n": ATTRIBUTE_VALUE_LENGTH})
                    bad = True
                elif value:
                    attributes[field.removeprefix("attr:")] = value
            if bad:
                continue
            old = existing.get(ext)
            if old:  # the attributes no column names stay as they were
                kept = {k: v for k, v in (old["attributes"] or {}).items() if f"attr:{k}" not in attribute_fields}
                attributes = dict(sorted({**kept, **attributes}.items()))
            invoiced_on = values.get("invoiced_on")
            if old and "invoiced_on" not in mapped:
                invoiced_on = old["invoiced_on"]
            status = values.get("status") or (old["status"] if old and "status" not in mapped else LineStatus.BOOKED)
            reversal = status in REVERSAL_STATUSES
            if "original_external_id" not in mapped and old and old["original_ext"]:
                orig_ext = old["original_ext"]
            if orig_ext and not reversal:
                error(rowno, "original_external_id", orig_ext, _(
                    "Only a returned or cancelled line points at an original line (status is %(status)s).") % {
                    "status": status})
                continue
            if reversal and not orig_ext:
                error(rowno, "original_external_id", "", _(
                    "A returned or cancelled line must name the original line it reverses (original_external_id)."))
                continue
            qty = values["quantity"]
            product_id, standard_cost = values["product"]
            discount = values.get("discount")
            if discount is None:
                discount = old["discount"] if old and "discount" not in mapped else Decimal(0)
            net, cost = values.get("net_amount"), values.get("cost")
            if reversal:  # returns may be written with positive figures; a reversal is negative
                qty = -qty if qty > 0 else qty
                net = -net if net is not None and net > 0 else net
                cost = -cost if cost is not None and cost > 0 else cost
            if net is None:
                net = compute_net_amount(qty, values["unit_price"], discount, policy)
            if cost is None:
                if old and "cost" not in mapped:
                    cost = old["cost"]
                else:
                    cost = compute_net_amount(qty, standard_cost, Decimal(0), policy)
            line = LineRecord(
                pk=None, external_id=ext, order_no=order_no or (old["order_no"] if old and "order_no" not in mapped else ext),
                date=values["date"], customer_id=values["customer"], product_id=product_id, quantity=qty,
                unit_price=values["unit_price"], discount=discount, net_amount=net, cost=cost, status=status,
                original_id=-1 if orig_ext else None, invoiced_on=invoiced_on, attributes=attributes,
            )
            try:
                check_line(line)
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    error(rowno, {"original": "original_external_id"}.get(field, field), raw.get(field, ""),
                          messages[0])
                continue
            records.append((rowno, line, orig_ext, values["credits"]))
        self._resolve_originals(records, seen)
        self.ext_to_pk = {**self.db_originals, **{ext: row["pk"] for ext, row in existing.items()}}
        self._classify(records, existing)

    def _existing(self, ext_ids: list[str]) -> dict[str, dict]:
        """The lines of the database that the file names, with their credits and original's line id."""
        existing: dict[str, dict] = {}
        wanted = sorted({e for e in ext_ids if e})
        for chunk in chunked(wanted):
            for row in OrderLine.objects.filter(external_id__in=chunk).values(
                    "pk", "external_id", "original__external_id", *_LINE_FIELDS):
                row["original_ext"] = row.pop("original__external_id") or ""
                row["credits"] = []
                existing[row["external_id"]] = row
        by_id = {row["pk"]: row for row in existing.values()}
        for chunk in chunked(sorted(by_id)):
            for line_id, sp, pct, amount, cost in OrderCredit.objects.filter(line_id__in=chunk).values_list(
                    "line_id", "salesperson_id", "split_pct", "amount", "cost"):
                by_id[line_id]["credits"].append((sp, pct, amount, cost))
        return existing

    def _resolve_originals(self, records, in_file: dict[str, int]) -> None:
        """A return points at a line of the file or of the database that is not itself a return."""
        statuses = {line.external_id: line.status for _r, line, _o, _c in records}
        outside = sorted({o for _r, _l, o, _c in records if o and o not in in_file})
        self.db_originals: dict[str, int] = {}
        originals = {line.external_id: line for _r, line, _o, _c in records}
        for chunk in chunked(outside):
            for ext, pk, status, customer_id, product_id, quantity in OrderLine.objects.filter(
                    external_id__in=chunk).values_list("external_id", "pk", "status", "customer_id", "product_id",
                                                       "quantity"):
                self.db_originals[ext] = pk
                statuses[ext] = status
                originals[ext] = SimpleNamespace(external_id=ext, status=status, customer_id=customer_id,
                                                 product_id=product_id, quantity=quantity)
        # What the database already reverses of each original, leaving out lines this file rewrites.
        reversed_qty: dict[str, Decimal] = {}
        named = sorted({o for _r, _l, o, _c in records if o})
        for chunk in chunked(named):
            for ext, orig, qty in OrderLine.objects.filter(original__external_id__in=chunk).values_list(
                    "external_id", "original__external_id", "quantity"):
                if ext not in originals:
                    reversed_qty[orig] = reversed_qty.get(orig, Decimal(0)) + qty
        kept = []
        for rowno, line, orig, creds in records:
            if orig and orig not in in_file and orig not in self.db_originals:
                self.error(rowno, "original_external_id", orig, _(
                    "This return points at no original line: no line “%(value)s” in the file or the database."
                ) % {"value": orig})
                continue
            if orig and orig in in_file and orig not in statuses:
                self.error(rowno, "original_external_id", orig, _(
                    "The original line “%(value)s” (row %(row)d) has errors itself.") % {"value": orig,
                                                                                         "row": in_file[orig]})
                continue
            if orig and statuses.get(orig) in REVERSAL_STATUSES:
                self.error(rowno, "original_external_id", orig, _(
                    "The original line “%(value)s” is itself a return or cancellation.") % {"value": orig})
                continue
            if orig == line.external_id:
                self.error(rowno, "original_external_id", orig, _("A line cannot reverse itself."))
                continue
            if orig:
                before = reversed_qty.get(orig, Decimal(0))
                try:
                    check_reversal(line, originals[orig], before)
                except ValidationError as exc:
                    for field, messages in exc.message_dict.items():
                        self.error(rowno, {"original": "original_external_id"}.get(field, field),
                                   orig if field == "original" else line.quantity, messages[0])
                    continue
                reversed_qty[orig] = before + line.quantity
            kept.append((rowno, line, orig, creds))
        records[:] = kept

    def _classify(self, records, existing) -> None:
        self.new_lines: list[tuple[LineRecord, str, tuple]] = []
        self.changed_lines: list[tuple[LineRecord, str, tuple, dict, bool]] = []
        self.months: set[dt.date] = set()
        for _rowno, line, orig, creds in records:
            old = existing.get(line.external_id)
            if old is None:
                self.new_lines.append((line, orig, creds))
                self.months.add(line.date.replace(day=1))
                continue
            line.pk = old["pk"]
            line.original_id = self.ext_to_pk.get(orig) if orig else None
            changed = {f: old[f] for f in _LINE_FIELDS if f != "original_id" and getattr(line, f) != old[f]}
            if orig != old["original_ext"]:
                changed["original_id"] = old["original_id"]
            old_credits = sorted((sp, pct) for sp, pct, _a, _c in old["credits"])
            credits_changed = (old_credits != sorted(creds)) or "net_amount" in changed or "cost" in changed
            if changed or credits_changed:
                if credits_changed:
                    changed.setdefault("credits", [[self.emp_of.get(sp, sp), str(pct)] for sp, pct in old_credits])
                self.changed_lines.append((line, orig, creds, changed, credits_changed))
                self.months.add(line.date.replace(day=1))
                self.months.add(old["date"].replace(day=1))
            else:
                self.unchanged += 1
        self.created, self.updated = len(self.new_lines), len(self.changed_lines)

    def write(self):
        ext_to_pk = self.ext_to_pk
        first = [line for line, orig, _c in self.new_lines if not orig]
        self._insert_lines(first)
        for line, orig, _c in self.new_lines:
            if orig:
                line.original_id = ext_to_pk[orig]
        self._insert_lines([line for line, orig, _c in self.new_lines if orig])
        if self.changed_lines:
            for line, orig, _c, _ch, _cc in self.changed_lines:
                if orig:
                    line.original_id = ext_to_pk[orig]
            fields = sorted({f for _l, _o, _c, ch, _cc in self.changed_lines for f in ch if f != "credits"})
            if fields:
                objs = [OrderLine(pk=line.pk, **{f: getattr(line, f) for f in fields})
                        for line, *_rest in self.changed_lines]
                OrderLine.objects.bulk_update(objs, fields, batch_size=500)
            stale = [line.pk for line, _o, _c, _ch, cc in self.changed_lines if cc]
            for chunk in chunked(stale):
                OrderCredit.objects.filter(line_id__in=chunk).delete()
        to_credit = [(line, creds) for line, _o, creds in self.new_lines]
        to_credit += [(line, creds) for line, _o, creds, _ch, cc in self.changed_lines if cc]
        insert_rows(OrderCredit, ["line", "salesperson", "split_pct", "amount", "cost"], self._credit_rows(to_credit))
        for line, _o, creds, changed, cc in self.changed_lines:
            new = {f: getattr(line, f) for f in changed if f != "credits"}
            if cc:
                new["credits"] = [[self.emp_of.get(sp, sp), str(pct)] for sp, pct in creds]
            obj = OrderLine(pk=line.pk, external_id=line.external_id, order_no=line.order_no)
            self.audit_event("orderline.updated", obj, old=jsonable(changed), new=jsonable(new),
                             subject_repr=f"{line.order_no}/{line.external_id}")
        self.flush_audit()
        self.summary_audit("orderline.imported")
        sales_monthly_refresh(months=self.months)

    @staticmethod
    def _credit_rows(to_credit) -> Iterator[tuple]:
        for line, creds in to_credit:
            if len(creds) == 1:
                yield (line.pk, creds[0][0], creds[0][1], line.net_amount, line.cost)
                continue
            shares = credit_amounts(line.net_amount, line.cost, [pct for _sp, pct in creds])
            for (sp, pct), (amount, cost) in zip(creds, shares, strict=True):
                yield (line.pk, sp, pct, amount, cost)

    def _insert_lines(self, lines: list[LineRecord]) -> None:
        insert_rows(OrderLine, ["external_id", *_LINE_FIELDS], (
            (ln.external_id, ln.order_no, ln.date, ln.customer_id, ln.product_id, ln.quantity, ln.unit_price,
             ln.discount, ln.net_amount, ln.cost, ln.status, ln.original_id, ln.invoiced_on, ln.attributes or {})
            for ln in lines))
        ids: dict[str, int] = {}
        for chunk in chunked([ln.external_id for ln in lines]):
            ids.update(OrderLine.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
        for ln in lines:
            ln.pk = ids[ln.external_id]
        self.ext_to_pk.update(ids)


LOADERS: dict[str, type[Loader]] = {
    ImportKind.CUSTOMERS: CustomerLoader,
    ImportKind.PRODUCTS: ProductLoader,
    ImportKind.PEOPLE: PersonLoader,
    ImportKind.ASSIGNMENTS: AssignmentLoader,
    ImportKind.ORDER_LINES: OrderLineLoader,
    ImportKind.PAYMENTS: PaymentLoader,
    ImportKind.REGIONS: RegionLoader,
    ImportKind.CATEGORIES: CategoryLoader,
    ImportKind.SEGMENTS: SegmentLoader,
    ImportKind.TEAMS: TeamLoader,
}

