"""Reads for the pipeline and activity pages: the kanban board, a deal's page, the overdue activities per rep.

Everything starts from ``crm.access`` (what the user may see). The board is one query for its cards (values, no
model instances, no query per card) plus one for the stages; column totals are summed from the cards in Python,
and the weighted amount is rounded once per column with the company's policy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from salesops.core.roles import role_of
from salesops.crm import access
from salesops.crm.models import Opportunity, OpportunityStatus, RequiredField, Stage, StageChange
from salesops.crm.services import missing_fields
from salesops.engine.money import round_money
from salesops.org.access import today as local_today
from salesops.org.models import Assignment, Company, Salesperson, Team, active_on
from salesops.web.templatetags.salesops import money_text

# Won and lost columns show the deals closed in the last CLOSED_DAYS days; every open deal is on the board.
CLOSED_DAYS = 30


def people_in_team(team: Team, day: dt.date) -> QuerySet:
    """Ids of the salespeople assigned on ``day`` to ``team`` or a team below it."""
    return Assignment.objects.filter(active_on(day), team__path__startswith=team.path).values("salesperson_id")


def filter_opportunities(qs: QuerySet, *, owner: Salesperson | None = None, team: Team | None = None,
                         day: dt.date | None = None) -> QuerySet:
    if owner is not None:
        qs = qs.filter(owner=owner)
    if team is not None:
        qs = qs.filter(owner_id__in=people_in_team(team, day or local_today()))
    return qs


@dataclass
class Card:
    """A deal as the board shows it, its texts ready: the board renders hundreds of these, and a template that
    formats dates, localises numbers and reverses a URL per card costs several times more (measured with
    ``salesops crm_bench``)."""

    id: int
    name: str
    customer: str
    amount: Decimal | None
    amount_text: str
    owner: str
    expected_close: dt.date | None
    days: int
    owner_id: int
    url: str = ""

    @property
    def close_text(self) -> str:
        return self.expected_close.isoformat() if self.expected_close else "—"


def _url_pattern() -> str:
    """The address of a deal's page with ``{}`` for its id (reversed once, not once per card)."""
    marker = 987654321
    return reverse("crm:opportunity", args=[marker]).replace(str(marker), "{}")


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Card] = field(default_factory=list)
    amount: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    amount_text: str = ""
    weighted_text: str = ""

    @property
    def count(self) -> int:
        return len(self.cards)

    @property
    def needs(self) -> list[str]:
        """The names of the fields a deal needs to enter this column."""
        labels = dict(RequiredField.choices)
        return [str(labels[name]) for name in stage_requires(self.stage)]


def stage_requires(stage: Stage) -> list[str]:
    """Every field the stage asks of a deal entering it, including the ones every won or lost stage asks: what
    ``services.missing_fields`` finds missing on a deal that has none."""
    return missing_fields(Opportunity(), stage, products=False)


def board(queryset: QuerySet, *, now: dt.datetime | None = None, company: Company | None = None) -> list[BoardColumn]:
    """One column per active stage in order, with the deals of ``queryset`` (the user's visible ones, filtered)
    in it: the open ones, and the won and lost ones closed in the last ``CLOSED_DAYS`` days; soonest expected
    close first."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    company = company or Company.current()
    columns = {s.pk: BoardColumn(stage=s) for s in Stage.objects.filter(active=True).order_by("position", "pk")}
    rows = (queryset.filter(stage_id__in=list(columns))
            .filter(Q(status=OpportunityStatus.OPEN) | Q(closed_on__gte=day - dt.timedelta(days=CLOSED_DAYS)))
            .order_by(F("expected_close").asc(nulls_last=True), "pk")
            .values_list("pk", "name", "customer__name", "amount", "owner__name", "expected_close",
                         "stage_entered_at", "stage_id", "owner_id"))
    url = _url_pattern()
    for pk, name, customer_name, amount, owner_name, close, entered, stage_id, owner_id in rows:
        columns[stage_id].cards.append(Card(
            id=pk, name=name, customer=customer_name, amount=amount,
            amount_text=money_text(amount, company) if amount is not None else "—", owner=owner_name,
            expected_close=close, days=(day - timezone.localdate(entered)).days, owner_id=owner_id,
            url=url.format(pk)))
    for column in columns.values():
        column.amount = sum((c.amount for c in column.cards if c.amount is not None), Decimal(0))
        column.weighted = round_money(column.amount * column.stage.probability / 100, company.rounding_policy)
        column.amount_text = money_text(column.amount, company)
        column.weighted_text = money_text(column.weighted, company)
    return list(columns.values())


def card(user, pk: int, *, now: dt.datetime | None = None, company: Company | None = None) -> Card:
    """One deal as the board shows it (after a move)."""
    now = now or timezone.now()
    company = company or Company.current()
    opp = access.access_opportunity_by_id(user, pk)
    return Card(id=opp.pk, name=opp.name, customer=opp.customer.name, amount=opp.amount,
                amount_text=money_text(opp.amount, company) if opp.amount is not None else "—", owner=opp.owner.name,
                expected_close=opp.expected_close,
                days=(timezone.localdate(now) - timezone.localdate(opp.stage_entered_at)).days, owner_id=opp.owner_id,
                url=_url_pattern().format(opp.pk))


def stage_history(opportunity: Opportunity) -> QuerySet:
    """Every move of the deal, oldest first, with the stages and who moved it."""
    return (StageChange.objects.filter(opportunity=opportunity)
            .select_related("from_stage", "to_stage", "actor").order_by("changed_at", "pk"))


def overdue_activities(user, now: dt.datetime | None = None) -> QuerySet:
    """Visible activities not done and due before ``now``."""
    return access.visible_activities(user).filter(done_at__isnull=True, due_at__lt=now or timezone.now())


@dataclass(frozen=True)
class OverdueRow:
    owner_id: int
    owner: str
    employee_no: str
    count: int
    oldest_due: dt.datetime


def overdue_by_rep(user, now: dt.datetime | None = None) -> list[OverdueRow]:
    """Per person the user may see: how many of their activities are overdue and since when, most first."""
    rows = (overdue_activities(user, now).values("owner_id", "owner__name", "owner__employee_no")
            .annotate(n=Count("pk"), oldest=Min("due_at")).order_by("-n", "owner__employee_no"))
    return [OverdueRow(owner_id=r["owner_id"], owner=r["owner__name"], employee_no=r["owner__employee_no"],
                       count=r["n"], oldest_due=r["oldest"]) for r in rows]


def activities_of(user, opportunity: Opportunity) -> QuerySet:
    return (access.visible_activities(user).filter(opportunity=opportunity)
            .select_related("owner", "contact").order_by("done_at", "due_at", "-created_at"))


def quotes_of(user, opportunity: Opportunity) -> QuerySet:
    return access.visible_quotes(user).filter(opportunity=opportunity).select_related("owner").order_by("-created_at")


def owner_choices(user) -> QuerySet:
    """The people the user may give a deal or an activity to (``access.can_change``): everyone for ops and
    admin, the team for a manager, themselves for a rep, nobody for finance and HR."""
    if role_of(user) not in access.WRITERS:
        return Salesperson.objects.none()
    ids = access.visible_salesperson_ids(user)
    qs = Salesperson.objects.all() if ids is None else Salesperson.objects.filter(pk__in=ids)
    return qs.order_by("employee_no")


def activity_rows(qs: QuerySet) -> QuerySet:
    return qs.select_related("customer", "owner", "opportunity", "contact")

