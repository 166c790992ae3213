"""Who may see which records. Implemented once; every view and API endpoint uses it.

- admin, ops: everything;
- manager: themselves and everyone assigned today to a team in the subtrees of the teams they head, and the
  customers and order lines of those people;
- rep: themselves, their own customers and the lines credited to them;
- HR: people and assignments (no sales or pay data);
- finance: people, customers and sales transactions (the basis of pay), read-only.

Lists go through ``visible_to(user, Model)``; single objects through ``access_*`` helpers, which raise
``Http404`` for what the user may not see (not 403: an outsider learns nothing about what exists).
Reference data (trees and products) is visible to every signed-in user.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from salesops.core.roles import Role, role_of
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    SalesMonthly,
    Salesperson,
    SalespersonStatus,
    Team,
    active_on,
)

REFERENCE_MODELS = (Region, ProductCategory, CustomerSegment, Team, Product)
ALL_SEEING = (Role.ADMIN, Role.OPS)


def today() -> dt.date:
    return timezone.localdate()


def own_salesperson(user) -> Salesperson | None:
    return getattr(user, "salesperson", None) if getattr(user, "is_authenticated", False) else None


def managed_team_ids(user) -> set[int]:
    """Teams in the subtrees of the teams the user heads today (``Team.manager`` means "today")."""
    me = own_salesperson(user)
    if me is None or me.status == SalespersonStatus.LEFT or (me.leave_date and me.leave_date < today()):
        return set()  # a manager who has left heads nothing, whatever Team.manager still says
    heads = list(Team.objects.filter(manager=me).values_list("path", flat=True))
    if not heads:
        return set()
    cond = Q()
    for path in heads:
        cond |= Q(path__startswith=path)
    return set(Team.objects.filter(cond).values_list("pk", flat=True))


def visible_salesperson_ids(user) -> set[int] | None:
    """Ids of the salespeople whose records the user may see today; None means all. Computed once per user
    object (one request), since every list and detail of the request asks again."""
    cached = getattr(user, "_salesops_visible_ids", False)
    if cached is not False:
        return cached
    ids = _visible_salesperson_ids(user)
    if getattr(user, "is_authenticated", False):
        user._salesops_visible_ids = ids
    return ids


def _visible_salesperson_ids(user) -> set[int] | None:
    role = role_of(user)
    if role in ALL_SEEING or role in (Role.HR, Role.FINANCE):
        return None
    me = own_salesperson(user)
    ids = {me.pk} if me else set()
    if role == Role.MANAGER:
        teams = managed_team_ids(user)
        ids |= set(
            Assignment.objects.filter(active_on(today()), team_id__in=teams).values_list("salesperson_id", flat=True)
        )
    return ids


def visible_to(user, model: type[Model]) -> QuerySet:
    """The records of ``model`` the user may see."""
    role = role_of(user)
    qs = model.objects.all()
    if role is None:
        return qs.none()
    if model in REFERENCE_MODELS:
        return qs
    sales_data = model in (Customer, OrderLine, OrderCredit, Payment, SalesMonthly)
    if role == Role.HR and sales_data:
        return qs.none()
    ids = visible_salesperson_ids(user)
    if ids is None:
        return qs
    if model is Salesperson:
        return qs.filter(pk__in=ids)
    if model is Assignment:
        return qs.filter(salesperson_id__in=ids)
    if model is Customer:
        return qs.filter(owner_id__in=ids)
    if model is OrderLine:
        return qs.filter(pk__in=OrderCredit.objects.filter(salesperson_id__in=ids).values("line_id"))
    if model in (OrderCredit, SalesMonthly):
        return qs.filter(salesperson_id__in=ids)
    if model is Payment:
        return qs.filter(line__credits__salesperson_id__in=ids).distinct()
    raise LookupError(f"no visibility rule for {model.__name__}")


def _access(user, model: type[Model], pk) -> Model:
    try:
        return visible_to(user, model).get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {model._meta.verbose_name} with id {pk} for you.") from None


def access_salesperson_by_id(user, pk) -> Salesperson:
    return _access(user, Salesperson, pk)


def access_customer_by_id(user, pk) -> Customer:
    return _access(user, Customer, pk)


def access_order_line_by_id(user, pk) -> OrderLine:
    return _access(user, OrderLine, pk)


def access_assignment_by_id(user, pk) -> Assignment:
    return _access(user, Assignment, pk)
