"""The audit log: ``record`` is called by every service that writes, inside the same transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models

from salesops.core.models import AuditEvent


def jsonable(value):
    """Values as the audit log stores them: Decimals and dates as strings, models as their ids."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict:
    """The concrete field values of ``obj`` as JSON-able data (foreign keys as ids)."""
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return {name: jsonable(getattr(obj, name)) for name in names}


def diff(old: dict, new: dict) -> tuple[dict, dict]:
    """Only the keys whose values changed."""
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def record(*, actor, event: str, subject: models.Model, old: dict | None = None, new: dict | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        event=event,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        subject_repr=str(subject)[:255],
        old=jsonable(old) if old else None,
        new=jsonable(new) if new else None,
    )
