"""Who sees and changes which customer-relationship records; built on ``org.access``.

- admin, ops: everything, and they configure the pipeline's stages;
- manager: the deals, activities, quotes and contacts of their subtree's people and customers, and approves their
  quotes' discounts above the limit;
- rep: their own deals, activities and quotes, and the contacts of their own customers;
- finance: reads everything (quotes and deals are the basis of revenue), changes nothing;
- HR: nothing here (no sales data).

Lists go through ``visible_*``; single records through ``access_*_by_id``, which raise 404 for what the user may
not see. ``can_change`` answers whether a visible record may also be changed by the user.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from salesops.core.roles import Role, role_of
from salesops.crm.models import Activity, Contact, Opportunity, Quote, QuoteApproval
from salesops.org.access import own_salesperson, visible_salesperson_ids, visible_to
from salesops.org.models import Customer

WRITERS = (Role.ADMIN, Role.OPS, Role.MANAGER, Role.REP)
READERS = (*WRITERS, Role.FINANCE)  # everyone with sales data


def _by_owner(user, model) -> QuerySet:
    qs = model.objects.all()
    role = role_of(user)
    if role is None or role == Role.HR:
        return qs.none()
    ids = visible_salesperson_ids(user)
    return qs if ids is None else qs.filter(owner_id__in=ids)


def visible_opportunities(user) -> QuerySet:
    return _by_owner(user, Opportunity)


def visible_activities(user) -> QuerySet:
    return _by_owner(user, Activity)


def visible_quotes(user) -> QuerySet:
    return _by_owner(user, Quote)


def visible_contacts(user) -> QuerySet:
    return Contact.objects.filter(customer__in=visible_to(user, Customer))


def _get(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {qs.model._meta.verbose_name} with id {pk} for you.") from None


def access_opportunity_by_id(user, pk) -> Opportunity:
    return _get(visible_opportunities(user).select_related("customer", "owner", "stage"), pk)


def access_activity_by_id(user, pk) -> Activity:
    return _get(visible_activities(user), pk)


def access_quote_by_id(user, pk) -> Quote:
    return _get(visible_quotes(user).select_related("customer", "owner"), pk)


def access_contact_by_id(user, pk) -> Contact:
    return _get(visible_contacts(user), pk)


def require_sales(user) -> None:
    """Pages and endpoints of the sales process are for the people with sales data (HR: 403)."""
    if role_of(user) not in READERS:
        raise PermissionDenied


def can_change(user, owner_id: int | None) -> bool:
    """A visible record owned by ``owner_id`` may be changed by the user (finance and HR only read)."""
    if role_of(user) not in WRITERS:
        return False
    ids = visible_salesperson_ids(user)
    return ids is None or owner_id in ids


def can_configure_stages(user) -> bool:
    return role_of(user) in (Role.ADMIN, Role.OPS)


def can_decide_quote(user, quote: Quote) -> bool:
    """A quote's discount approval is decided by a manager over its owner or by ops/admin — never by the owner,
    whatever their role."""
    role = role_of(user)
    me = own_salesperson(user)
    if me is not None and quote.owner_id == me.pk:
        return False
    if role in (Role.ADMIN, Role.OPS):
        return True
    ids = visible_salesperson_ids(user)
    return role == Role.MANAGER and me is not None and ids is not None and quote.owner_id in ids


def pending_approvals_for(user) -> QuerySet:
    """The undecided discount approvals the user may decide."""
    role = role_of(user)
    qs = QuoteApproval.objects.filter(decided_at__isnull=True).select_related("quote", "quote__owner", "quote__customer")
    me = own_salesperson(user)
    if me is not None:
        qs = qs.exclude(quote__owner_id=me.pk)  # never one's own quote
    if role in (Role.ADMIN, Role.OPS):
        return qs
    if role != Role.MANAGER:
        return qs.none()
    return qs.filter(quote__owner_id__in=visible_salesperson_ids(user) or set())
