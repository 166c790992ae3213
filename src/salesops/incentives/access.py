"""Who sees whose pay: a rep their own, a manager the people of the teams they head, ops, admin and finance
everyone; HR and users without a role nobody (compensation is confidential)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from salesops.core.roles import Role, role_of
from salesops.incentives.models import CURRENT_STATUSES, Adjustment, CalculationRun, Dispute, Payout
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


RUN_ROLES = (Role.ADMIN, Role.OPS, Role.FINANCE)  # who sees whole runs (every payee's pay) and exports payroll


def visible_runs(user):
    if role_of(user) not in RUN_ROLES:
        raise PermissionDenied
    return CalculationRun.objects.all()


def access_run(user, run_id) -> CalculationRun:
    try:
        return visible_runs(user).select_related("plan", "version", "started_by").get(pk=int(run_id))
    except (CalculationRun.DoesNotExist, TypeError, ValueError):
        raise Http404("No such run.") from None


def visible_adjustments(user):
    ids = payee_ids(user)
    adjustments = Adjustment.objects.select_related("plan", "salesperson", "created_by", "decided_by")
    return adjustments if ids is None else adjustments.filter(salesperson_id__in=ids)


def access_adjustment(user, adjustment_id) -> Adjustment:
    try:
        return visible_adjustments(user).get(pk=int(adjustment_id))
    except (Adjustment.DoesNotExist, TypeError, ValueError):
        raise Http404("No such adjustment.") from None


def visible_disputes(user):
    ids = payee_ids(user)
    disputes = Dispute.objects.select_related("payout__run__plan", "payout__salesperson", "raised_by")
    return disputes if ids is None else disputes.filter(payout__salesperson_id__in=ids)


def access_dispute(user, dispute_id) -> Dispute:
    try:
        return visible_disputes(user).get(pk=int(dispute_id))
    except (Dispute.DoesNotExist, TypeError, ValueError):
        raise Http404("No such dispute.") from None


def access_payout(user, payout_id) -> Payout:
    """A statement line of a standing run whose pay the user may see; else 404."""
    try:
        return visible_payouts(user).select_related("run", "salesperson").get(pk=int(payout_id))
    except (Payout.DoesNotExist, TypeError, ValueError):
        raise Http404("No such statement line.") from None
