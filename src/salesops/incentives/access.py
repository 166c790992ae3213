"""Who sees whose pay: a rep their own, a manager the people of the teams they head, ops, admin and finance
everyone; HR and users without a role nobody (compensation is confidential)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from salesops.core.roles import Role, role_of
from salesops.incentives.models import CURRENT_STATUSES, CalculationRun, Payout
from salesops.org.access import visible_salesperson_ids

PAY_ROLES = (Role.ADMIN, Role.OPS, Role.FINANCE, Role.MANAGER, Role.REP)


def payee_ids(user) -> set[int] | None:
    """The salespeople whose payouts ``user`` may see (None: all); refused for the roles that see no pay."""
    if role_of(user) not in PAY_ROLES:
        raise PermissionDenied
    return visible_salesperson_ids(user)


def visible_payouts(user):
    ids = payee_ids(user)
    payouts = Payout.objects.filter(run__status__in=CURRENT_STATUSES)
    return payouts if ids is None else payouts.filter(salesperson_id__in=ids)


def access_statement(user, run_id, person_id) -> tuple[CalculationRun, list[Payout]]:
    """A person's payouts in a run, if the user may see that person's pay and there are any; else 404."""
    try:
        payouts = list(visible_payouts(user).filter(run_id=int(run_id), salesperson_id=int(person_id))
                       .select_related("run__version__plan", "salesperson").prefetch_related("details"))
    except (TypeError, ValueError):
        raise Http404("No such statement.") from None
    if not payouts:
        raise Http404("No such statement for you.")
    return payouts[0].run, payouts
