"""Every write to contacts, stages, opportunities and activities: atomic, validated, audited.

Errors are ``ValidationError`` whose messages name the field at fault. A user ``actor`` must be allowed to change
what they touch (``crm.access``); ``actor=None`` is the system (demo, tests). Invariants kept here:

- an opportunity's ``stage``/``stage_entered_at`` are those of its newest ``StageChange``, and every stage it
  enters is recorded with time and actor;
- a deal enters a stage only with the stage's required fields filled; a won deal always has an amount and a
  lost deal its reason;
- ``status`` follows the stage (won/lost/open) and ``closed_on`` is set exactly when the deal is closed;
- an activity is never due before it was created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.crm import access
from salesops.crm.models import (
    Activity,
    Contact,
    Opportunity,
    OpportunityProduct,
    OpportunityStatus,
    RequiredField,
    Stage,
    StageChange,
)
from salesops.org.access import visible_to
from salesops.org.models import Customer, Product, Salesperson

EDITABLE_OPPORTUNITY_FIELDS = ("name", "owner", "amount", "expected_close", "decision_maker", "source", "competitor",
                               "lost_reason")


def _allow(actor, ok: bool) -> None:
    if actor is not None and not ok:
        raise PermissionDenied(_("You may not change this record."))


def _audit_change(actor, event: str, obj, old: dict) -> None:
    before, after = audit.diff(old, audit.snapshot(obj))
    if before or after:
        audit.record(actor=actor, event=event, subject=obj, old=before, new=after)


def _check_customer(actor, customer: Customer) -> None:
    if actor is not None and not visible_to(actor, Customer).filter(pk=customer.pk).exists():
        raise ValidationError({"customer": _("Customer %(name)s is not one of yours.") % {"name": customer.name}})


# -- stages -----------------------------------------------------------------------------------------------
def _check_stage(stage: Stage) -> None:
    errors = {}
    unknown = [f for f in stage.required_fields if f not in RequiredField.values]
    if not isinstance(stage.required_fields, list) or unknown:
        errors["required_fields"] = _("Unknown required field(s): %(fields)s. Known: %(known)s.") % {
            "fields": ", ".join(map(str, unknown)), "known": ", ".join(RequiredField.values)}
    if not Decimal(0) <= stage.probability <= 100:
        errors["probability"] = _("Probability must be between 0 and 100.")
    if stage.is_won and stage.is_lost:
        errors["is_lost"] = _("A stage cannot be both won and lost.")
    if errors:
        raise ValidationError(errors)
    stage.full_clean()


@transaction.atomic
def stage_create(*, actor, code: str, name: str, position: int | None = None, probability=Decimal(0),
                 is_won: bool = False, is_lost: bool = False, required_fields: Sequence[str] = ()) -> Stage:
    _allow(actor, access.can_configure_stages(actor))
    if position is None:
        last = Stage.objects.order_by("-position").values_list("position", flat=True).first()
        position = (last or 0) + 10
    stage = Stage(code=code, name=name, position=position, probability=Decimal(probability), is_won=is_won,
                  is_lost=is_lost, required_fields=list(required_fields))
    _check_stage(stage)
    stage.save()
    audit.record(actor=actor, event="stage.created", subject=stage, new=audit.snapshot(stage))
    return stage


@transaction.atomic
def stage_update(*, actor, stage: Stage, **fields) -> Stage:
    _allow(actor, access.can_configure_stages(actor))
    old = audit.snapshot(stage)
    if ("is_won" in fields or "is_lost" in fields) and stage.opportunities.exists():
        changes = {k: fields[k] for k in ("is_won", "is_lost") if k in fields and fields[k] != getattr(stage, k)}
        if changes:
            raise ValidationError({next(iter(changes)): _(
                "Deals are in stage %(stage)s: whether it wins or loses them cannot change now.") % {"stage": stage.name}})
    for name, value in fields.items():
        setattr(stage, name, value)
    if "probability" in fields:
        stage.probability = Decimal(stage.probability)
    _check_stage(stage)
    stage.save(update_fields=list(fields))
    _audit_change(actor, "stage.updated", stage, old)
    return stage


@transaction.atomic
def stage_reorder(*, actor, stage_ids: Sequence[int]) -> None:
    """Put the stages in the given order (positions 10, 20, …); every stage must be named once."""
    _allow(actor, access.can_configure_stages(actor))
    stages = {s.pk: s for s in Stage.objects.select_for_update()}
    if sorted(stage_ids) != sorted(stages):
        raise ValidationError({"stage_ids": _("Name every stage exactly once.")})
    old = [s.pk for s in sorted(stages.values(), key=lambda s: (s.position, s.pk))]
    for i, pk in enumerate(stage_ids, start=1):
        stages[pk].position = i * 10
    Stage.objects.bulk_update(stages.values(), ["position"])
    if old != list(stage_ids):
        first = stages[stage_ids[0]]
        audit.record(actor=actor, event="stage.reordered", subject=first, old={"order": old}, new={"order": list(stage_ids)})


def first_stage() -> Stage:
    stage = Stage.objects.filter(active=True, is_won=False, is_lost=False).order_by("position", "pk").first()
    if stage is None:
        raise ValidationError({"stage": _("The pipeline has no open stage yet; ops must configure the stages first.")})
    return stage


# -- opportunities ----------------------------------------------------------------------------------------
def missing_fields(opportunity: Opportunity, stage: Stage, products: bool | None = None) -> list[str]:
    """The fields ``stage`` requires that the deal lacks (``RequiredField`` values, in the stage's order); a won
    stage always needs an amount, a lost stage a lost reason. ``products``: whether the deal has products (looked
    up when None)."""
    required = list(stage.required_fields)
    if stage.is_won and RequiredField.AMOUNT not in required:
        required.insert(0, RequiredField.AMOUNT)
    if stage.is_lost and RequiredField.LOST_REASON not in required:
        required.append(RequiredField.LOST_REASON)
    missing = []
    for name in required:
        if name == RequiredField.AMOUNT:
            filled = opportunity.amount is not None and opportunity.amount > 0
        elif name == RequiredField.DECISION_MAKER:
            filled = opportunity.decision_maker_id is not None
        elif name == RequiredField.PRODUCTS:
            filled = products if products is not None else (
                opportunity.pk is not None and opportunity.products.exists())
        else:
            filled = bool(getattr(opportunity, name))
        if not filled:
            missing.append(name)
    return missing


def _refuse_missing(stage: Stage, missing: list[str]) -> None:
    if missing:
        labels = dict(RequiredField.choices)
        raise ValidationError({name: _("Stage %(stage)s needs %(field)s.") % {
            "stage": stage.name, "field": labels[name]} for name in missing})


def _check_fields(opportunity: Opportunity) -> None:
    errors = {}
    if opportunity.amount is not None and opportunity.amount < 0:
        errors["amount"] = _("The amount cannot be negative.")
    if opportunity.decision_maker_id and opportunity.decision_maker.customer_id != opportunity.customer_id:
        errors["decision_maker"] = _("The decision maker must be a contact of %(customer)s.") % {
            "customer": opportunity.customer.name}
    if opportunity.expected_close and opportunity.expected_close < opportunity.created_on:
        errors["expected_close"] = _("The expected close date cannot be before the deal was created.")
    if errors:
        raise ValidationError(errors)


def _set_products(opportunity: Opportunity, products: Iterable[tuple[Product, Decimal]]) -> None:
    rows = []
    for i, (product, quantity) in enumerate(products, start=1):
        if Decimal(quantity) <= 0:
            raise ValidationError({"products": _("Product line %(n)s: the quantity must be more than 0.") % {"n": i}})
        rows.append(OpportunityProduct(opportunity=opportunity, product=product, quantity=Decimal(quantity)))
    if len({r.product_id for r in rows}) != len(rows):
        raise ValidationError({"products": _("A product is listed twice.")})
    opportunity.products.all().delete()
    OpportunityProduct.objects.bulk_create(rows)


def _check_field_names(actor, fields: dict) -> None:
    """Only a deal's editable fields are set by name; a new owner must be someone the actor may change for."""
    unknown = set(fields) - set(EDITABLE_OPPORTUNITY_FIELDS)
    if unknown:
        raise TypeError(f"unknown opportunity fields: {sorted(unknown)}")
    if "owner" in fields:
        _allow(actor, access.can_change(actor, fields["owner"].pk))


def _status_of(stage: Stage) -> str:
    return OpportunityStatus.WON if stage.is_won else OpportunityStatus.LOST if stage.is_lost else OpportunityStatus.OPEN


@transaction.atomic
def opportunity_create(*, actor, customer: Customer, owner: Salesperson, name: str, stage: Stage | None = None,
                       products: Sequence[tuple[Product, Decimal]] | None = None, created_on: dt.date | None = None,
                       at: dt.datetime | None = None, **fields) -> Opportunity:
    """A new deal, entering ``stage`` (the first open stage by default) now or at ``at``."""
    _allow(actor, access.can_change(actor, owner.pk))
    _check_customer(actor, customer)
    _check_field_names(actor, fields)
    at = at or timezone.now()
    stage = stage or first_stage()
    opp = Opportunity(customer=customer, owner=owner, name=name, stage=stage, status=_status_of(stage),
                      created_on=created_on or timezone.localdate(at), stage_entered_at=at, **fields)
    if stage.closed:
        opp.closed_on = timezone.localdate(at)
    _check_fields(opp)
    _refuse_missing(stage, missing_fields(opp, stage, products=bool(products)))
    opp.full_clean()
    opp.save()
    if products:
        _set_products(opp, products)
    StageChange.objects.create(opportunity=opp, from_stage=None, to_stage=stage, changed_at=at,
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    audit.record(actor=actor, event="opportunity.created", subject=opp, new=audit.snapshot(opp))
    return opp


@transaction.atomic
def opportunity_update(*, actor, opportunity: Opportunity, products: Sequence[tuple[Product, Decimal]] | None = None,
                       **fields) -> Opportunity:
    """Change a deal's fields (not its stage: see ``opportunity_move``); the current stage's requirements still hold."""
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    _allow(actor, access.can_change(actor, opp.owner_id))
    _check_field_names(actor, fields)
    old = audit.snapshot(opp)
    for name, value in fields.items():
        setattr(opp, name, value)
    _check_fields(opp)
    if products is not None:
        _set_products(opp, products)
    _refuse_missing(opp.stage, missing_fields(opp, opp.stage))
    opp.full_clean()
    opp.save(update_fields=list(fields) or None)
    _audit_change(actor, "opportunity.updated", opp, old)
    return opp


@transaction.atomic
def opportunity_move(*, actor, opportunity: Opportunity, stage: Stage, at: dt.datetime | None = None,
                     products: Sequence[tuple[Product, Decimal]] | None = None, **fields) -> Opportunity:
    """Move a deal to ``stage``, setting ``fields`` (e.g. the lost reason) and ``products`` on the way; refused,
    with each missing field named and nothing kept, when the stage's required fields are not filled. Recorded
    with time and actor."""
    opp = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    _allow(actor, access.can_change(actor, opp.owner_id))
    if stage.pk == opp.stage_id:
        raise ValidationError({"stage": _("The deal is already in stage %(stage)s.") % {"stage": stage.name}})
    if not stage.active:
        raise ValidationError({"stage": _("Stage %(stage)s is no longer used.") % {"stage": stage.name}})
    _check_field_names(actor, fields)
    at = at or timezone.now()
    if at < opp.stage_entered_at:
        raise ValidationError({"at": _("A move cannot be dated before the deal entered its current stage.")})
    old = audit.snapshot(opp)
    previous = opp.stage
    for name, value in fields.items():
        setattr(opp, name, value)
    _check_fields(opp)
    if products is not None:
        _set_products(opp, products)  # rolled back with the rest when the move is refused
    _refuse_missing(stage, missing_fields(opp, stage))
    opp.stage, opp.stage_entered_at, opp.status = stage, at, _status_of(stage)
    opp.closed_on = timezone.localdate(at) if stage.closed else None
    opp.full_clean()
    opp.save()
    StageChange.objects.create(opportunity=opp, from_stage=previous, to_stage=stage, changed_at=at,
                               actor=actor if getattr(actor, "is_authenticated", False) else None)
    _audit_change(actor, "opportunity.moved", opp, old)
    return opp


# -- contacts ---------------------------------------------------------------------------------------------
def _check_contact_owner(actor, customer: Customer) -> None:
    _check_customer(actor, customer)
    _allow(actor, access.can_change(actor, customer.owner_id))


def _one_primary(contact: Contact) -> None:
    if contact.primary:
        Contact.objects.filter(customer_id=contact.customer_id, primary=True).exclude(pk=contact.pk).update(primary=False)


@transaction.atomic
def contact_create(*, actor, customer: Customer, name: str, **fields) -> Contact:
    _check_contact_owner(actor, customer)
    contact = Contact(customer=customer, name=name, **fields)
    contact.full_clean()
    contact.save()
    _one_primary(contact)
    audit.record(actor=actor, event="contact.created", subject=contact, new=audit.snapshot(contact))
    return contact


@transaction.atomic
def contact_update(*, actor, contact: Contact, **fields) -> Contact:
    _check_contact_owner(actor, contact.customer)
    if "customer" in fields:
        raise ValidationError({"customer": _("A contact cannot move to another customer.")})
    old = audit.snapshot(contact)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.full_clean()
    contact.save(update_fields=list(fields))
    _one_primary(contact)
    _audit_change(actor, "contact.updated", contact, old)
    return contact


@transaction.atomic
def contact_delete(*, actor, contact: Contact) -> None:
    _check_contact_owner(actor, contact.customer)
    audit.record(actor=actor, event="contact.deleted", subject=contact, old=audit.snapshot(contact))
    contact.delete()


# -- activities -------------------------------------------------------------------------------------------
def _check_activity(activity: Activity) -> None:
    errors = {}
    if activity.due_at and activity.due_at < activity.created_at:
        errors["due_at"] = _("An activity cannot be due before it was created (%(created)s).") % {
            "created": timezone.localtime(activity.created_at).strftime("%Y-%m-%d %H:%M")}
    if activity.opportunity_id and activity.opportunity.customer_id != activity.customer_id:
        errors["opportunity"] = _("The opportunity belongs to another customer.")
    if activity.contact_id and activity.contact.customer_id != activity.customer_id:
        errors["contact"] = _("The contact belongs to another customer.")
    if activity.done_at and activity.done_at < activity.created_at:
        errors["done_at"] = _("An activity cannot be done before it was created.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def activity_create(*, actor, kind: str, subject: str, customer: Customer, owner: Salesperson,
                    created_at: dt.datetime | None = None, **fields) -> Activity:
    _allow(actor, access.can_change(actor, owner.pk))
    _check_customer(actor, customer)
    activity = Activity(kind=kind, subject=subject, customer=customer, owner=owner,
                        created_at=created_at or timezone.now(), **fields)
    _check_activity(activity)
    activity.full_clean()
    activity.save()
    audit.record(actor=actor, event="activity.created", subject=activity, new=audit.snapshot(activity))
    return activity


@transaction.atomic
def activity_update(*, actor, activity: Activity, **fields) -> Activity:
    _allow(actor, access.can_change(actor, activity.owner_id))
    if "owner" in fields:
        _allow(actor, access.can_change(actor, fields["owner"].pk))
    old = audit.snapshot(activity)
    for name, value in fields.items():
        setattr(activity, name, value)
    _check_activity(activity)
    activity.full_clean()
    activity.save(update_fields=list(fields))
    _audit_change(actor, "activity.updated", activity, old)
    return activity


def activity_complete(*, actor, activity: Activity, outcome: str, done_at: dt.datetime | None = None) -> Activity:
    """Mark an activity done with its outcome (what happened, what is next)."""
    if not outcome.strip():
        raise ValidationError({"outcome": _("Say what came of it.")})
    return activity_update(actor=actor, activity=activity, outcome=outcome, done_at=done_at or timezone.now())
