"""Quotes: pricing, the discount approval path, sending, the customer's answer, and quote turnaround.

The flow, one service per step (each ``<entity>_<action>(*, actor, ...)``, atomic, audited)::

    quote_create                 → draft      (quote_update / quote_update_lines while draft or rejected)
    quote_submit   draft|rejected → approved   when every discount is within the owner's limit (automatic)
                                  → pending    otherwise, with a QuoteApproval for the owner's manager
    quote_decide   pending        → approved | rejected (a rejection needs a comment; rejected → changed → draft)
    quote_send     approved       → sent
    quote_answer   sent           → accepted (order lines credited 100 % to the owner) | declined

Invariants:

- Money is ``Decimal``. A line's net is ``round_money(quantity × price × (1 − discount), company policy)``, rounded
  once, by the formula order lines use (``org.services.compute_net_amount``), so the order lines of an accepted
  quote carry exactly the quoted nets. A quote's total is the sum of its line nets, never rounded again.
- A refused input saves nothing: every check runs before the first write, inside one transaction. Line problems
  are all reported together, each naming its line (1-based) and field: ``ValidationError({"lines": [...]})``
  whose items carry ``params["line"]`` and ``params["field"]`` for forms that place them next to the input.
- Every submission leaves a ``QuoteApproval``: an *automatic* one (``max_discount ≤ limit``, decided at the
  moment of submission, no approver, no deciding user) or a request to the owner's manager that waits for
  ``quote_decide``. The history and the turnaround figures read that one table.
- A price typed below the product's list price counts as discount for the approval (``effective_discount``),
  so the limit cannot be sidestepped by lowering the price instead of raising the discount.
- ``actor=None`` is the system (demo, imports, tests): nothing is checked against a user. A user ``actor`` must be
  allowed to change the quote's owner's records (``crm.access.can_change``); finance and HR only read.
- Times (``at``) are timezone-aware; they default to now and exist so imports and tests can give fixed times.
"""

from __future__ import annotations

import datetime as dt
import decimal
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.core.roles import role_of
from salesops.crm import access
from salesops.crm.models import Opportunity, Quote, QuoteApproval, QuoteLine, QuoteStatus
from salesops.engine.money import round_money, to_decimal
from salesops.org import services as org_services
from salesops.org.access import visible_to
from salesops.org.models import Assignment, Company, Customer, Product, Salesperson, active_on

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
DISCOUNT_PLACES = Decimal("0.0001")  # QuoteLine.discount / QuoteApproval.max_discount: 4 places
QUANTITY_PLACES = Decimal("0.001")
MAX_QUANTITY = Decimal(10) ** 11  # QuoteLine.quantity: 14 digits, 3 places
MAX_PRICE = Decimal(10) ** 16  # MoneyField: 18 digits, 2 places
EDITABLE = (QuoteStatus.DRAFT, QuoteStatus.REJECTED)  # lines may change, and the quote may be submitted
HEADER_EDITABLE = (QuoteStatus.DRAFT, QuoteStatus.PENDING, QuoteStatus.APPROVED, QuoteStatus.REJECTED)
HEADER_FIELDS = ("opportunity", "language", "valid_until", "notes")
LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)


# -- inputs and pricing (no database writes) ------------------------------------------------------------------
@dataclass(frozen=True)
class LineInput:
    """One line as a caller gives it. ``discount`` is a fraction (0.15 is 15 % off); ``price`` overrides the
    product's list price (None: the product's). A plain tuple ``(product, quantity, discount[, price])`` works too."""

    product: Product | None
    quantity: object
    discount: object = ZERO
    price: object = None


@dataclass(frozen=True)
class PricedLine:
    """A line checked and priced: ``net_amount`` is rounded once; ``gross_amount`` (quantity × price, rounded) and
    ``discount_amount`` (gross − net) are for display."""

    number: int
    product: Product
    quantity: Decimal
    list_price: Decimal
    discount: Decimal
    net_amount: Decimal
    gross_amount: Decimal
    effective_discount: Decimal

    @property
    def discount_amount(self) -> Decimal:
        return self.gross_amount - self.net_amount


@dataclass(frozen=True)
class Totals:
    gross: Decimal  # Σ quantity × price (each rounded)
    discount: Decimal  # gross − net
    net: Decimal  # Σ line nets: what the customer pays


def _line_error(number: int, field: str, message: str, **params) -> ValidationError:
    return ValidationError(message, code=field, params={"line": number, "field": field, **params})


def _number(value, *, places: Decimal | None, number: int, field: str, label: str) -> tuple[Decimal | None,
                                                                                          ValidationError | None]:
    """``value`` as an exact Decimal, or the error naming line and field."""
    try:
        result = to_decimal(value if not isinstance(value, str) else value.strip())
    except (TypeError, ValueError):
        return None, _line_error(number, field, _("Line %(line)s: the %(label)s %(value)s is not a number."),
                                 label=label, value=repr(value) if not isinstance(value, str) else f"“{value}”")
    if places is not None and result != result.quantize(places, rounding=decimal.ROUND_DOWN):
        return None, _line_error(number, field, _("Line %(line)s: the %(label)s %(value)s has too many decimal "
                                                  "places (at most %(places)s)."),
                                 label=label, value=result, places=-places.as_tuple().exponent)
    return result, None


def _as_input(item) -> LineInput:
    if isinstance(item, LineInput):
        return item
    return LineInput(*item)


def effective_discount(product_list_price: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    """The share off the product's list price that the line really gives: its discount, and a typed price below
    the list price on top (never below 0; a price above the list price is no discount)."""
    if product_list_price <= 0:
        return discount
    return max(ZERO, ONE - price * (ONE - discount) / product_list_price)


def price_lines(lines: Iterable, *, policy: str | None = None) -> list[PricedLine]:
    """Check and price ``lines`` (``LineInput`` or tuples) without writing anything.

    Refused with ``ValidationError({"lines": [...]})`` listing every problem, each naming its line and field:
    no product or a product no longer sold, a quantity that is not above 0, a discount outside 0–100 %, a negative
    price, too many decimal places. ``policy`` is the rounding policy (default: the company's)."""
    policy = policy or Company.current().rounding_policy
    priced, errors = [], []
    items = [_as_input(item) for item in lines]
    if not items:
        raise ValidationError({"lines": _("A quote needs at least one line.")})
    for number, item in enumerate(items, start=1):
        before = len(errors)
        product = item.product
        if product is None:
            errors.append(_line_error(number, "product", _("Line %(line)s: choose a product.")))
        elif not product.active:
            errors.append(_line_error(number, "product", _("Line %(line)s: %(product)s is no longer sold."),
                                      product=str(product)))
        quantity, error = _number(item.quantity, places=QUANTITY_PLACES, number=number, field="quantity",
                                  label=_("quantity"))
        if error:
            errors.append(error)
        elif quantity <= 0:
            errors.append(_line_error(number, "quantity", _("Line %(line)s: the quantity must be more than 0.")))
        elif quantity >= MAX_QUANTITY:
            errors.append(_line_error(number, "quantity", _("Line %(line)s: the quantity %(value)s is too large."),
                                      value=quantity))
        discount, error = _number(item.discount if item.discount not in (None, "") else ZERO,
                                  places=DISCOUNT_PLACES, number=number, field="discount", label=_("discount"))
        if error:
            errors.append(error)
        elif discount < 0:
            errors.append(_line_error(number, "discount", _("Line %(line)s: the discount cannot be negative.")))
        elif discount > 1:
            errors.append(_line_error(number, "discount", _(
                "Line %(line)s: the discount %(value)s%% is more than 100%%."), value=f"{(discount * 100).normalize():f}"))
        price = None
        if item.price not in (None, ""):
            price, error = _number(item.price, places=Decimal("0.01"), number=number, field="price",
                                   label=_("price"))
            if error:
                errors.append(error)
            elif price < 0:
                errors.append(_line_error(number, "price", _("Line %(line)s: the price %(value)s is negative."),
                                          value=price))
            elif price >= MAX_PRICE:
                errors.append(_line_error(number, "price", _("Line %(line)s: the price %(value)s is too large."),
                                          value=price))
        if len(errors) > before:
            continue
        price = product.list_price if price is None else price
        priced.append(PricedLine(
            number=number, product=product, quantity=quantity, list_price=price, discount=discount,
            net_amount=org_services.compute_net_amount(quantity, price, discount, policy),
            gross_amount=round_money(quantity * price, policy),
            effective_discount=effective_discount(product.list_price, price, discount)))
    if errors:
        raise ValidationError({"lines": errors})
    return priced


def totals(lines: Iterable, *, policy: str | None = None) -> Totals:
    """Totals of priced lines or stored ``QuoteLine``s (gross amounts rounded by ``policy``, the company's when
    not given: a list of quotes passes it once)."""
    policy = policy or Company.current().rounding_policy
    gross = net = ZERO
    for line in lines:
        net += line.net_amount
        gross += getattr(line, "gross_amount", None) or round_money(line.quantity * line.list_price, policy)
    return Totals(gross=gross, discount=gross - net, net=net)


def quote_totals(quote: Quote) -> Totals:
    return totals(quote.lines.all())


def discount_limit_of(person: Salesperson) -> Decimal:
    """The largest discount ``person`` may give without approval: their own limit, else the company's."""
    return person.discount_limit if person.discount_limit is not None else Company.current().discount_limit


def approver_for(owner: Salesperson, day: dt.date) -> Salesperson | None:
    """Who approves ``owner``'s discounts on ``day``: the manager of their assignment in effect that day, else the
    manager of their team or of the nearest team above it that is headed by someone else; None when nobody is
    (ops and admin can always decide)."""
    assignment = (Assignment.objects.filter(active_on(day), salesperson=owner)
                  .select_related("manager", "team__manager").order_by("-start_date").first())
    if assignment is None:
        return None
    if assignment.manager_id and assignment.manager_id != owner.pk:
        return assignment.manager
    for team in [assignment.team, *reversed(assignment.team.ancestors())]:
        if team.manager_id and team.manager_id != owner.pk:
            return team.manager
    return None


# -- helpers of the services ----------------------------------------------------------------------------------
def _allow(actor, ok: bool) -> None:
    if actor is not None and not ok:
        raise PermissionDenied(_("You may not change this quote."))


def _now(at: dt.datetime | None) -> dt.datetime:
    if at is not None and timezone.is_naive(at):
        raise ValueError("quote times must be timezone-aware")
    return at or timezone.now()


def _locked(quote: Quote) -> Quote:
    return (Quote.objects.select_for_update(of=("self",)).select_related("owner", "customer", "opportunity")
            .get(pk=quote.pk))


def _refuse_status(quote: Quote, allowed: Sequence[str], message: str) -> None:
    if quote.status not in allowed:
        raise ValidationError({"status": message % {"number": quote.number, "status": quote.get_status_display()}})


def _line_snapshot(lines: Iterable) -> list[dict]:
    return [{"product": line.product.sku, "quantity": line.quantity, "list_price": line.list_price,
             "discount": line.discount, "net_amount": line.net_amount} for line in lines]


def _write_lines(quote: Quote, priced: Sequence[PricedLine]) -> list[QuoteLine]:
    quote.lines.all().delete()
    return QuoteLine.objects.bulk_create([
        QuoteLine(quote=quote, product=p.product, quantity=p.quantity, list_price=p.list_price, discount=p.discount,
                  net_amount=p.net_amount) for p in priced])


def _check_header(actor, *, customer: Customer, fields: dict, created_on: dt.date) -> None:
    errors = {}
    if "language" in fields and fields["language"] not in LANGUAGE_CODES:
        errors["language"] = _("The language %(code)s is not one of %(codes)s.") % {
            "code": fields["language"], "codes": ", ".join(LANGUAGE_CODES)}
    if fields.get("valid_until") and fields["valid_until"] < created_on:
        errors["valid_until"] = _("A quote cannot be valid only until before it was made (%(day)s).") % {
            "day": created_on}
    opportunity: Opportunity | None = fields.get("opportunity")
    if opportunity is not None:
        if opportunity.customer_id != customer.pk:
            errors["opportunity"] = _("The opportunity %(name)s is not with %(customer)s.") % {
                "name": opportunity.name, "customer": customer.name}
        elif actor is not None and not access.visible_opportunities(actor).filter(pk=opportunity.pk).exists():
            errors["opportunity"] = _("The opportunity %(name)s is not one of yours.") % {"name": opportunity.name}
    if errors:
        raise ValidationError(errors)


def next_number(year: int) -> str:
    """The next quote number of ``year``: ``Q-2026-000123`` (a sequence per year; callers hold the company lock)."""
    prefix = f"Q-{year}-"
    last = (Quote.objects.filter(number__startswith=prefix).order_by(Length("number").desc(), "-number")
            .values_list("number", flat=True).first())
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


# -- the services ---------------------------------------------------------------------------------------------
@transaction.atomic
def quote_create(*, actor, customer: Customer, owner: Salesperson, lines: Iterable,
                 opportunity: Opportunity | None = None, language: str | None = None,
                 valid_until: dt.date | None = None, notes: str = "", at: dt.datetime | None = None) -> Quote:
    """A draft quote to ``customer`` owned by ``owner``, numbered ``Q-<year>-<sequence>``, its lines priced at the
    products' list prices (or the ``price`` given) less their discounts.

    ``lines``: ``LineInput``s or tuples ``(product, quantity, discount[, price])``, discount a fraction.
    ``language``: the documents' language (``zh-hans`` or ``en``; default the company's). Refused
    (``ValidationError``, nothing saved) for a customer or opportunity the actor may not see, an opportunity with
    another customer, a validity ending before the day it is made, and any bad line (see ``price_lines``); ``PermissionDenied`` when
    the actor may not act for ``owner``."""
    _allow(actor, access.can_change(actor, owner.pk))
    if actor is not None and not visible_to(actor, Customer).filter(pk=customer.pk).exists():
        raise ValidationError({"customer": _("Customer %(name)s is not one of yours.") % {"name": customer.name}})
    at = _now(at)
    company = Company.current()
    fields = {"opportunity": opportunity, "language": language or company.default_language,
              "valid_until": valid_until, "notes": notes or ""}
    _check_header(actor, customer=customer, fields=fields, created_on=timezone.localdate(at))
    priced = price_lines(lines, policy=company.rounding_policy)
    Company.objects.select_for_update().filter(pk=company.pk).first()  # one number at a time
    quote = Quote(number=next_number(timezone.localdate(at).year), customer=customer, owner=owner,
                  created_at=at, **fields)
    quote.full_clean()
    quote.save()
    _write_lines(quote, priced)
    audit.record(actor=actor, event="quote.created", subject=quote,
                 new={**audit.snapshot(quote), "lines": _line_snapshot(priced)})
    return quote


@transaction.atomic
def quote_update(*, actor, quote: Quote, lines: Iterable | None = None, **fields) -> Quote:
    """Change a quote before it is sent: its header (``opportunity``, ``language``, ``valid_until``, ``notes``)
    and, while it is a draft or rejected, its ``lines`` (all of them, priced again; a rejected quote becomes a
    draft to be submitted again). Refused as ``quote_create`` refuses, and for a quote past those states."""
    unknown = set(fields) - set(HEADER_FIELDS)
    if unknown:
        raise TypeError(f"unknown quote fields: {sorted(unknown)}")
    q = _locked(quote)
    _allow(actor, access.can_change(actor, q.owner_id))
    _refuse_status(q, HEADER_EDITABLE, _("Quote %(number)s is %(status)s: it can no longer be changed."))
    if lines is not None:
        _refuse_status(q, EDITABLE, _("Quote %(number)s is %(status)s: only a draft or a rejected quote's lines "
                                      "can be changed."))
    if "notes" in fields:
        fields["notes"] = fields["notes"] or ""
    _check_header(actor, customer=q.customer, fields=fields, created_on=timezone.localdate(q.created_at))
    priced = price_lines(lines) if lines is not None else None
    old = audit.snapshot(q)
    old_lines = _line_snapshot(q.lines.select_related("product")) if priced is not None else None
    for name, value in fields.items():
        setattr(q, name, value)
    changed = list(fields)
    if priced is not None:
        _write_lines(q, priced)
        if q.status == QuoteStatus.REJECTED:
            q.status = QuoteStatus.DRAFT
            changed.append("status")
    q.full_clean()
    if changed:
        q.save(update_fields=changed)
    before, after = audit.diff(old, audit.snapshot(q))
    if priced is not None:
        before["lines"], after["lines"] = old_lines, _line_snapshot(priced)
    if before or after:
        audit.record(actor=actor, event="quote.updated", subject=q, old=before, new=after)
    return q


def quote_update_lines(*, actor, quote: Quote, lines: Iterable) -> Quote:
    """Replace the lines of a draft or rejected quote (see ``quote_update``)."""
    return quote_update(actor=actor, quote=quote, lines=lines)


@transaction.atomic
def quote_submit(*, actor, quote: Quote, at: dt.datetime | None = None) -> Quote:
    """Ask for the quote to be approved. When every line's effective discount is within the owner's limit
    (``Salesperson.discount_limit``, else ``Company.discount_limit``) it is approved at once (an automatic
    ``QuoteApproval`` records the figures); otherwise it waits (``pending``) for the owner's manager on that day
    (``approver_for``), or for ops/admin when nobody manages the owner. ``submitted_at`` keeps the first
    submission; each submission's time is its approval's ``requested_at``."""
    q = _locked(quote)
    _allow(actor, access.can_change(actor, q.owner_id))
    _refuse_status(q, EDITABLE, _("Quote %(number)s is %(status)s: only a draft or a rejected quote can be "
                                  "submitted."))
    at = _now(at)
    lines = list(q.lines.select_related("product"))
    if not lines:
        raise ValidationError({"lines": _("A quote needs at least one line.")})
    largest = max(effective_discount(line.product.list_price, line.list_price, line.discount) for line in lines)
    largest = largest.quantize(DISCOUNT_PLACES, rounding=decimal.ROUND_CEILING)  # never rounded under the limit
    limit = discount_limit_of(q.owner)
    automatic = largest <= limit
    approver = None if automatic else approver_for(q.owner, timezone.localdate(at))
    approval = QuoteApproval.objects.create(
        quote=q, max_discount=largest, limit=limit, approver=approver, requested_at=at,
        decided_at=at if automatic else None, approved=True if automatic else None)
    old = audit.snapshot(q, ["status", "submitted_at"])
    q.status = QuoteStatus.APPROVED if automatic else QuoteStatus.PENDING
    q.submitted_at = q.submitted_at or at
    q.save(update_fields=["status", "submitted_at"])
    audit.record(actor=actor, event="quote.submitted", subject=q, old=old, new={
        "status": q.status, "submitted_at": q.submitted_at, "max_discount": largest, "limit": limit,
        "automatic": automatic, "approver": approver.pk if approver else None, "approval": approval.pk})
    return q


def is_automatic(approval: QuoteApproval) -> bool:
    """An approval given at submission because the discount was within the limit (no one was asked)."""
    return approval.max_discount <= approval.limit


@transaction.atomic
def quote_decide(*, actor, quote: Quote, approve: bool, comment: str = "", at: dt.datetime | None = None) -> Quote:
    """The manager's answer to a pending quote: approved (a comment is optional) or rejected (a comment saying why
    is required). Only a manager over the owner (never the owner) or ops/admin may decide
    (``PermissionDenied`` otherwise)."""
    q = _locked(quote)
    if actor is not None and not access.can_decide_quote(actor, q):
        raise PermissionDenied(_("You may not decide this quote's discount."))
    _refuse_status(q, (QuoteStatus.PENDING,), _("Quote %(number)s is %(status)s: it is not waiting for a "
                                                "decision."))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": _("Say why the discount is rejected: a rejection needs a comment.")})
    at = _now(at)
    approval = q.approvals.select_for_update().filter(decided_at__isnull=True).order_by("-requested_at").first()
    if approval is None:  # a pending quote always has its open request; this guards a hand-edited database
        raise ValidationError({"status": _("Quote %(number)s has no open approval request.") % {"number": q.number}})
    if at < approval.requested_at:
        raise ValidationError({"at": _("A decision cannot be dated before it was asked for.")})
    approval.decided_at, approval.decided_by, approval.approved, approval.comment = at, actor, approve, comment
    approval.save(update_fields=["decided_at", "decided_by", "approved", "comment"])
    q.status = QuoteStatus.APPROVED if approve else QuoteStatus.REJECTED
    q.save(update_fields=["status"])
    audit.record(actor=actor, event="quote.approved" if approve else "quote.rejected", subject=q,
                 old={"status": QuoteStatus.PENDING}, new={"status": q.status, "comment": comment,
                                                           "max_discount": approval.max_discount,
                                                           "limit": approval.limit})
    return q


@transaction.atomic
def quote_send(*, actor, quote: Quote, at: dt.datetime | None = None) -> Quote:
    """Mark an approved quote as sent to the customer (``sent_at``); refused once its validity has passed."""
    q = _locked(quote)
    _allow(actor, access.can_change(actor, q.owner_id))
    _refuse_status(q, (QuoteStatus.APPROVED,), _("Quote %(number)s is %(status)s: only an approved quote can be "
                                                 "sent."))
    at = _now(at)
    if q.valid_until and q.valid_until < timezone.localdate(at):
        raise ValidationError({"valid_until": _("Quote %(number)s was valid until %(day)s; change its validity "
                                                "before sending it.") % {"number": q.number, "day": q.valid_until}})
    q.status, q.sent_at = QuoteStatus.SENT, at
    q.save(update_fields=["status", "sent_at"])
    audit.record(actor=actor, event="quote.sent", subject=q, old={"status": QuoteStatus.APPROVED},
                 new={"status": q.status, "sent_at": at})
    return q


@transaction.atomic
def quote_answer(*, actor, quote: Quote, accepted: bool, at: dt.datetime | None = None) -> Quote:
    """Record the customer's answer to a sent quote (``answered_at``). Accepted, each line becomes an order line
    (``org.services.order_line_create``): order number = the quote's number, external id ``<number>-<line>``,
    dated the day of the answer, the quoted price, discount and net, cost = quantity × the product's standard
    cost, credited 100 % to the quote's owner. All lines or none: if one is refused (say its external id is
    taken), nothing is saved and the error names the line.

    The quote's opportunity is left where it is: moving the deal to won needs the pipeline's own required fields
    and belongs to ``crm.services.opportunity_move``, which a caller may run after this (the page offers it)."""
    q = _locked(quote)
    _allow(actor, access.can_change(actor, q.owner_id))
    _refuse_status(q, (QuoteStatus.SENT,), _("Quote %(number)s is %(status)s: only a sent quote can be answered."))
    at = _now(at)
    if at < q.sent_at:
        raise ValidationError({"at": _("An answer cannot be dated before the quote was sent.")})
    old = audit.snapshot(q, ["status", "answered_at", "order_no"])
    q.status = QuoteStatus.ACCEPTED if accepted else QuoteStatus.DECLINED
    q.answered_at = at
    order_lines = _order_lines(actor, q, timezone.localdate(at)) if accepted else []
    if accepted:
        q.order_no = q.number
    q.save(update_fields=["status", "answered_at", "order_no"])
    audit.record(actor=actor, event="quote.accepted" if accepted else "quote.declined", subject=q, old=old,
                 new={"status": q.status, "answered_at": at, "order_no": q.order_no,
                      "order_lines": [line.external_id for line in order_lines]})
    return q


def _order_lines(actor, quote: Quote, day: dt.date) -> list:
    policy = Company.current().rounding_policy
    made = []
    for number, line in enumerate(quote.lines.select_related("product").order_by("pk"), start=1):
        try:
            made.append(org_services.order_line_create(
                actor=actor, credits=[(quote.owner, HUNDRED)], refresh=False, external_id=f"{quote.number}-{number}",
                order_no=quote.number, date=day, customer=quote.customer, product=line.product,
                quantity=line.quantity, unit_price=line.list_price, discount=line.discount,
                net_amount=line.net_amount, cost=round_money(line.quantity * line.product.standard_cost, policy)))
        except ValidationError as error:
            reasons = "; ".join(m for ms in error.message_dict.values() for m in ms) if hasattr(
                error, "error_dict") else "; ".join(error.messages)
            raise ValidationError({"lines": [_line_error(
                number, "product", _("Line %(line)s (%(sku)s) cannot become an order line: %(reason)s"),
                sku=line.product.sku, reason=reasons)]}) from error
    org_services.sales_monthly_refresh(months={day.replace(day=1)}, people={quote.owner_id})  # once for all lines
    return made


# -- what a user may do now (pages and the API show the same buttons) -----------------------------------------
def available_actions(user, quote: Quote) -> list[str]:
    """The steps ``user`` may take on ``quote`` now: ``edit``, ``submit``, ``approve``/``reject``, ``send``,
    ``accept``/``decline`` (finance and HR: none)."""
    actions = []
    if access.can_change(user, quote.owner_id):
        if quote.status in EDITABLE:
            actions += ["edit", "submit"]
        elif quote.status == QuoteStatus.APPROVED:
            actions.append("send")
        elif quote.status == QuoteStatus.SENT:
            actions += ["accept", "decline"]
    if quote.status == QuoteStatus.PENDING and access.can_decide_quote(user, quote):
        actions += ["approve", "reject"]
    return actions


def may_create(user) -> bool:
    return role_of(user) in access.WRITERS


def owners_for(user) -> QuerySet:
    """The salespeople ``user`` may make quotes for (themselves; a manager also their team; ops/admin anyone)."""
    if role_of(user) not in access.WRITERS:
        return Salesperson.objects.none()
    return visible_to(user, Salesperson)  # for the writing roles, exactly the people access.can_change allows


# -- turnaround -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuoteTimes:
    """One quote's turnaround. Durations are ``timedelta`` (``hours()`` turns one into Decimal hours); None when
    the step has not happened. ``approval_wait`` sums the time its requests waited for a manager (None when no
    manager was asked: approved at once, or never submitted)."""

    quote_id: int
    number: str
    owner_id: int
    status: str
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    to_submit: dt.timedelta | None  # created → first submitted
    approval_wait: dt.timedelta | None  # Σ requested → decided over the requests a manager decided
    to_send: dt.timedelta | None  # created → sent
    to_answer: dt.timedelta | None  # sent → answered
    routed: bool  # at least one request went to a manager


@dataclass(frozen=True)
class TurnaroundSummary:
    """Medians over a set of quotes (an owner's, or all): each over the quotes that reached that step."""

    owner_id: int | None  # None for the overall summary
    owner_name: str
    employee_no: str
    quotes: int
    routed: int  # quotes whose discount went to a manager
    answered: int
    accepted: int
    median_to_submit: dt.timedelta | None
    median_approval_wait: dt.timedelta | None
    median_to_send: dt.timedelta | None
    median_to_answer: dt.timedelta | None


@dataclass(frozen=True)
class Turnaround:
    quotes: list[QuoteTimes]
    by_owner: list[TurnaroundSummary]  # by employee number
    overall: TurnaroundSummary


def hours(delta: dt.timedelta | None, places: Decimal = Decimal("0.01")) -> Decimal | None:
    """A duration in hours, exact to ``places`` (half up)."""
    if delta is None:
        return None
    micro = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return round_money(Decimal(micro) / Decimal(3_600_000_000), "half_up", places)


def _median(values: list[dt.timedelta]) -> dt.timedelta | None:
    return statistics.median(values) if values else None


def _summary(owner_id, owner_name: str, employee_no: str, rows: list[QuoteTimes]) -> TurnaroundSummary:
    def pick(name):
        return [getattr(r, name) for r in rows if getattr(r, name) is not None]

    return TurnaroundSummary(
        owner_id=owner_id, owner_name=owner_name, employee_no=employee_no, quotes=len(rows), routed=sum(r.routed for r in rows),
        answered=sum(r.answered_at is not None for r in rows),
        accepted=sum(r.status == QuoteStatus.ACCEPTED for r in rows),
        median_to_submit=_median(pick("to_submit")), median_approval_wait=_median(pick("approval_wait")),
        median_to_send=_median(pick("to_send")), median_to_answer=_median(pick("to_answer")))


def quote_turnaround(qs: QuerySet | None = None) -> Turnaround:
    """Turnaround of the quotes in ``qs`` (e.g. ``crm.access.visible_quotes(user)`` filtered by dates; default
    all): per quote created → submitted, the manager's approval wait, created → sent, sent → answered; and the
    medians per owner and overall. Two queries, whatever the number of quotes."""
    qs = Quote.objects.all() if qs is None else qs
    rows = list(qs.order_by("created_at", "pk").values_list(
        "pk", "number", "owner_id", "owner__name", "owner__employee_no", "status", "created_at", "submitted_at", "sent_at", "answered_at"))
    waits: dict[int, dt.timedelta] = defaultdict(dt.timedelta)
    routed: set[int] = set()
    for quote_id, requested, decided, largest, limit in QuoteApproval.objects.filter(
            quote__in=qs.values("pk")).values_list("quote_id", "requested_at", "decided_at", "max_discount", "limit"):
        if largest <= limit:
            continue  # approved at once: nobody waited
        routed.add(quote_id)
        if decided is not None:
            waits[quote_id] += decided - requested
    times, names = [], {}
    for pk, number, owner_id, owner_name, employee_no, status, created, submitted, sent, answered in rows:
        names[owner_id] = (owner_name, employee_no)
        times.append(QuoteTimes(
            quote_id=pk, number=number, owner_id=owner_id, status=status, created_at=created, submitted_at=submitted,
            sent_at=sent, answered_at=answered, to_submit=submitted - created if submitted else None,
            approval_wait=waits.get(pk), to_send=sent - created if sent else None,
            to_answer=answered - sent if answered and sent else None, routed=pk in routed))
    per_owner: dict[int, list[QuoteTimes]] = defaultdict(list)
    for row in times:
        per_owner[row.owner_id].append(row)
    by_owner = sorted((_summary(owner_id, *names[owner_id], group) for owner_id, group in per_owner.items()),
                      key=lambda s: (s.employee_no, s.owner_id))
    return Turnaround(quotes=times, by_owner=by_owner, overall=_summary(None, "", "", times))
