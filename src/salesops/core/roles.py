"""Roles: what kind of user someone is. Visibility of records follows from the role (see org.access)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    OPS = "ops", _("Sales operations")
    MANAGER = "manager", _("Sales manager")
    REP = "rep", _("Sales rep")
    HR = "hr", _("HR")
    FINANCE = "finance", _("Finance")


def role_of(user) -> str | None:
    """The user's role, or None for anonymous users and users without a profile."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile else None


def has_role(user, *roles: str) -> bool:
    return role_of(user) in roles


def can_edit_org(user) -> bool:
    """Who may change trees, products, people and transactions."""
    return has_role(user, Role.ADMIN, Role.OPS)


def can_edit_people(user) -> bool:
    return has_role(user, Role.ADMIN, Role.OPS, Role.HR)
