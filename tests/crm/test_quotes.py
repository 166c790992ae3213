"""Quote services: pricing and refusals, the discount approval path, sending, the answer that becomes order lines,
and turnaround. Personas from tests/conftest.py: Alice (rep, team A, manager Carol), Bob (rep, team B, manager
Erin), Victor heads both teams; the company's discount limit is 10 %; product SW-1 lists at ¥1,000.00."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.core.models import AuditEvent
from salesops.crm import access
from salesops.crm import quotes as q
from salesops.crm.models import Quote, QuoteApproval, QuoteLine, QuoteStatus
from salesops.org import services as org
from salesops.org.models import OrderCredit, OrderLine, Product
from tests.conftest import monthly

D = Decimal
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def small_product(world, sku="SVC-1", price="1.25", cost="0.50", active=True) -> Product:
    return org.product_create(actor=None, sku=sku, name="实施服务", category=world.category, list_price=D(price),
                              standard_cost=D(cost), unit="天", active=active)


def alices_quote(world, actor=None, lines=None, at=T0, **kwargs) -> Quote:
    """A quote of Alice's to 甲公司: by default 2 × SW-1 at 5 % off (within her 10 % limit)."""
    return q.quote_create(actor=actor, customer=world.customers.a, owner=world.people["alice"],
                          lines=lines or [(world.product, D(2), D("0.05"))], at=at, **kwargs)


def line_errors(error: ValidationError) -> list[tuple[int, str, str]]:
    return [(e.params["line"], e.params["field"], e.messages[0]) for e in error.error_dict["lines"]]


# -- creating and pricing -------------------------------------------------------------------------------------
def test_it_numbers_quotes_per_year_and_prices_lines_at_list_price(world, rep_alice):
    first = alices_quote(world, rep_alice)
    second = alices_quote(world, rep_alice, lines=[(world.product, D(1), D(0)), (world.product, D("0.5"), D("0.2"))])
    next_year = alices_quote(world, rep_alice, at=T0.replace(year=2027))
    assert (first.number, second.number, next_year.number) == ("Q-2026-000001", "Q-2026-000002", "Q-2027-000001")
    assert first.status == QuoteStatus.DRAFT and first.language == "zh-hans" and first.created_at == T0
    assert [(ln.list_price, ln.discount, ln.net_amount) for ln in second.lines.all()] == [
        (D("1000.00"), D(0), D("1000.00")), (D("1000.00"), D("0.2000"), D("400.00"))]
    assert q.quote_totals(second) == q.Totals(gross=D("1500.00"), discount=D("100.00"), net=D("1400.00"))
    assert AuditEvent.objects.filter(event="quote.created", subject_id=str(first.pk)).exists()


def test_it_rounds_a_line_net_once_half_up(world):
    # Given a product at ¥1.25 and 10 % off: 1.25 × 0.9 = 1.125
    product = small_product(world)
    quote = alices_quote(world, lines=[(product, D(1), D("0.1")), (product, D(3), D("0.1"))])
    # then each net is rounded once, half up (四舍五入), not half to even (1.12)
    assert [ln.net_amount for ln in quote.lines.all()] == [D("1.13"), D("3.38")]
    world.company.rounding_policy = "half_even"
    world.company.save()
    quote = alices_quote(world, lines=[(product, D(1), D("0.1"))])
    assert quote.lines.get().net_amount == D("1.12")


def test_it_refuses_a_discount_over_100_and_a_negative_price_naming_the_line_and_saves_nothing(world, rep_alice):
    audit_before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        alices_quote(world, rep_alice, lines=[
            (world.product, D(1), D("0.1")),
            (world.product, D(1), D("1.2")),
            q.LineInput(world.product, D(1), D(0), price=D("-5.00")),
            (world.product, D(0), D(0)),
            (world.product, "x", "-0.1"),
        ])
    assert line_errors(refused.value) == [
        (2, "discount", "Line 2: the discount 120% is more than 100%."),
        (3, "price", "Line 3: the price -5.00 is negative."),
        (4, "quantity", "Line 4: the quantity must be more than 0."),
        (5, "quantity", "Line 5: the quantity “x” is not a number."),
        (5, "discount", "Line 5: the discount cannot be negative."),
    ]
    assert not Quote.objects.exists() and not QuoteLine.objects.exists()
    assert AuditEvent.objects.count() == audit_before


def test_it_refuses_inactive_products_too_many_places_and_empty_quotes(world):
    old = small_product(world, sku="OLD-1", active=False)
    with pytest.raises(ValidationError) as refused:
        alices_quote(world, lines=[(old, D(1), D(0)), (world.product, D("1.0001"), D("0.12345"))])
    assert [(n, f) for n, f, _m in line_errors(refused.value)] == [(1, "product"), (2, "quantity"), (2, "discount")]
    with pytest.raises(ValidationError) as empty:
        q.quote_create(actor=None, customer=world.customers.a, owner=world.people["alice"], lines=[])
    assert "at least one line" in empty.value.message_dict["lines"][0]
    assert not Quote.objects.exists()


def test_it_refuses_outsiders_customers_and_foreign_opportunities(world, rep_alice, rep_bob, finance_dan, hr_henry):
    with pytest.raises(PermissionDenied):  # Bob may not make quotes for Alice
        alices_quote(world, rep_bob)
    for reader in (finance_dan, hr_henry):
        with pytest.raises(PermissionDenied):
            alices_quote(world, reader)
    with pytest.raises(ValidationError) as refused:  # 乙公司 is Bob's customer
        q.quote_create(actor=rep_alice, customer=world.customers.b, owner=world.people["alice"],
                       lines=[(world.product, D(1), D(0))])
    assert "customer" in refused.value.message_dict
    from salesops.crm.models import Opportunity, Stage

    stage = Stage.objects.create(code="lead", name="Lead", position=1)
    bobs = Opportunity.objects.create(name="乙 deal", customer=world.customers.b, owner=world.people["bob"],
                                      stage=stage, created_on=T0.date(), stage_entered_at=T0)
    with pytest.raises(ValidationError) as refused:
        alices_quote(world, rep_alice, opportunity=bobs)
    assert "opportunity" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        alices_quote(world, rep_alice, valid_until=dt.date(2026, 3, 1), language="fr")
    assert set(refused.value.message_dict) == {"valid_until", "language"}
    assert not Quote.objects.exists()


def test_a_manager_quotes_for_their_team(world, manager_carol):
    quote = alices_quote(world, manager_carol)
    assert quote.owner == world.people["alice"]


# -- the approval path ----------------------------------------------------------------------------------------
def test_a_discount_at_the_limit_is_approved_at_once(world, rep_alice):
    quote = alices_quote(world, rep_alice, lines=[(world.product, D(1), D("0.10")), (world.product, D(1), D(0))])
    quote = q.quote_submit(actor=rep_alice, quote=quote, at=T0 + HOUR)
    assert quote.status == QuoteStatus.APPROVED and quote.submitted_at == T0 + HOUR
    approval = QuoteApproval.objects.get(quote=quote)
    assert (approval.max_discount, approval.limit, approval.approved, approval.approver) == (
        D("0.1"), D("0.1"), True, None)
    assert approval.decided_at == approval.requested_at == T0 + HOUR and q.is_automatic(approval)
    assert not access.pending_approvals_for(world.users["carol"]).exists()


def test_a_discount_above_the_limit_goes_to_the_manager_of_the_day(world, rep_alice, manager_carol, rep_bob):
    quote = q.quote_submit(actor=rep_alice, quote=alices_quote(world, rep_alice, lines=[
        (world.product, D(1), D("0.1001"))]), at=T0 + HOUR)
    assert quote.status == QuoteStatus.PENDING
    approval = QuoteApproval.objects.get(quote=quote)
    assert approval.approver == world.people["carol"] and approval.decided_at is None
    assert (approval.max_discount, approval.limit) == (D("0.1001"), D("0.1"))
    assert list(access.pending_approvals_for(manager_carol)) == [approval]
    assert not access.pending_approvals_for(rep_alice).exists()
    # a personal limit replaces the company's
    alice = world.people["alice"]
    alice.discount_limit = D("0.2")
    alice.save()
    other = q.quote_submit(actor=rep_alice, quote=alices_quote(world, lines=[(world.product, D(1), D("0.15"))]))
    assert other.status == QuoteStatus.APPROVED


def test_a_typed_price_below_list_counts_as_discount(world, rep_alice):
    # 1000 → 950 and 6 % off is 10.7 % off the list price: above the 10 % limit
    quote = alices_quote(world, rep_alice, lines=[q.LineInput(world.product, D(1), D("0.06"), price=D("950.00"))])
    assert quote.lines.get().net_amount == D("893.00")
    quote = q.quote_submit(actor=rep_alice, quote=quote)
    assert quote.status == QuoteStatus.PENDING
    assert QuoteApproval.objects.get(quote=quote).max_discount == D("0.1070")


def test_without_an_assignment_manager_the_team_head_above_approves(world, manager_carol):
    # Carol's own quote: her assignment names Victor as manager
    carol = world.people["carol"]
    assert q.approver_for(carol, T0.date()) == world.people["victor"]
    assignment = carol.assignments.get()
    assignment.manager = None
    assignment.save()
    assert q.approver_for(carol, T0.date()) == world.people["victor"]  # head of the team above hers
    assert q.approver_for(world.people["victor"], T0.date()) is None  # nobody above: ops/admin decide


def test_the_manager_approves_in_one_step_with_an_optional_comment(world, rep_alice, manager_carol):
    quote = q.quote_submit(actor=rep_alice, quote=alices_quote(world, rep_alice, lines=[
        (world.product, D(1), D("0.3"))]), at=T0 + HOUR)
    quote = q.quote_decide(actor=manager_carol, quote=quote, approve=True, at=T0 + 3 * HOUR)
    assert quote.status == QuoteStatus.APPROVED
    approval = QuoteApproval.objects.get(quote=quote)
    assert (approval.approved, approval.decided_by, approval.decided_at, approval.comment) == (
        True, manager_carol, T0 + 3 * HOUR, "")
    assert AuditEvent.objects.filter(event="quote.approved", actor=manager_carol).exists()


def test_a_rejection_needs_a_comment_and_the_quote_goes_back_to_the_owner(world, rep_alice, manager_carol):
    quote = q.quote_submit(actor=rep_alice, quote=alices_quote(world, rep_alice, lines=[
        (world.product, D(1), D("0.3"))]))
    with pytest.raises(ValidationError) as refused:
        q.quote_decide(actor=manager_carol, quote=quote, approve=False, comment="  ")
    assert "comment" in refused.value.message_dict
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING
    quote = q.quote_decide(actor=manager_carol, quote=quote, approve=False, comment="最多 20%")
    assert quote.status == QuoteStatus.REJECTED
    assert QuoteApproval.objects.get(quote=quote).comment == "最多 20%"
    # the owner lowers the discount: the quote is a draft again, then approved at once on submission
    quote = q.quote_update_lines(actor=rep_alice, quote=quote, lines=[(world.product, D(1), D("0.1"))])
    assert quote.status == QuoteStatus.DRAFT
    quote = q.quote_submit(actor=rep_alice, quote=quote)
    assert quote.status == QuoteStatus.APPROVED
    assert [a.approved for a in quote.approvals.order_by("requested_at", "pk")] == [False, True]


def test_only_a_manager_over_the_owner_decides_never_the_owner(world, rep_alice, rep_bob, manager_carol,
                                                                  manager_erin, director_victor, finance_dan,
                                                                  ops_olivia):
    quote = q.quote_submit(actor=rep_alice, quote=alices_quote(world, rep_alice, lines=[
        (world.product, D(1), D("0.3"))]))
    for outsider in (rep_alice, rep_bob, manager_erin, finance_dan):
        with pytest.raises(PermissionDenied):
            q.quote_decide(actor=outsider, quote=quote, approve=True)
    assert access.can_decide_quote(director_victor, quote) and access.can_decide_quote(ops_olivia, quote)
    # Carol's own discount goes to Victor, and she cannot approve it herself
    carols = q.quote_submit(actor=manager_carol, quote=q.quote_create(
        actor=manager_carol, customer=world.customers.a, owner=world.people["carol"],
        lines=[(world.product, D(1), D("0.5"))]))
    with pytest.raises(PermissionDenied):
        q.quote_decide(actor=manager_carol, quote=carols, approve=True)
    assert QuoteApproval.objects.get(quote=carols).approver == world.people["victor"]
    q.quote_decide(actor=director_victor, quote=carols, approve=True)


def test_steps_out_of_order_are_refused(world, rep_alice, manager_carol):
    quote = alices_quote(world, rep_alice)
    with pytest.raises(ValidationError):
        q.quote_send(actor=rep_alice, quote=quote)
    with pytest.raises(ValidationError):
        q.quote_answer(actor=rep_alice, quote=quote, accepted=True)
    quote = q.quote_submit(actor=rep_alice, quote=quote)
    with pytest.raises(ValidationError):
        q.quote_submit(actor=rep_alice, quote=quote)
    with pytest.raises(ValidationError):
        q.quote_update_lines(actor=rep_alice, quote=quote, lines=[(world.product, D(1), D(0))])
    with pytest.raises(ValidationError):  # approved at once: nothing to decide
        q.quote_decide(actor=manager_carol, quote=quote, approve=True)


def test_finance_reads_but_cannot_act(world, rep_alice, finance_dan):
    quote = alices_quote(world, rep_alice)
    assert access.access_quote_by_id(finance_dan, quote.pk) == quote
    assert q.available_actions(finance_dan, quote) == []
    for step in (q.quote_submit, q.quote_send):
        with pytest.raises(PermissionDenied):
            step(actor=finance_dan, quote=quote)
    with pytest.raises(PermissionDenied):
        q.quote_update(actor=finance_dan, quote=quote, notes="x")


def test_it_refuses_sending_an_expired_quote_until_its_validity_is_changed(world, rep_alice):
    quote = q.quote_submit(actor=rep_alice, quote=alices_quote(world, rep_alice, valid_until=dt.date(2026, 3, 10)))
    with pytest.raises(ValidationError) as refused:
        q.quote_send(actor=rep_alice, quote=quote, at=T0 + dt.timedelta(days=10))
    assert "valid_until" in refused.value.message_dict
    q.quote_update(actor=rep_alice, quote=quote, valid_until=dt.date(2026, 3, 31))
    assert q.quote_send(actor=rep_alice, quote=quote, at=T0 + dt.timedelta(days=10)).status == QuoteStatus.SENT


# -- the answer -----------------------------------------------------------------------------------------------
def sent_quote(world, lines, at=T0):
    quote = alices_quote(world, lines=lines, at=at)
    quote = q.quote_submit(actor=None, quote=quote, at=at + HOUR)
    if quote.status == QuoteStatus.PENDING:
        quote = q.quote_decide(actor=world.users["carol"], quote=quote, approve=True, at=at + 2 * HOUR)
    return q.quote_send(actor=None, quote=quote, at=at + 3 * HOUR)


def test_an_accepted_quote_becomes_order_lines_credited_to_the_owner(world, rep_alice):
    product = small_product(world)
    quote = sent_quote(world, [(world.product, D(2), D("0.25")), (product, D(3), D("0.1"))])
    quote = q.quote_answer(actor=rep_alice, quote=quote, accepted=True, at=T0 + dt.timedelta(days=2))
    assert quote.status == QuoteStatus.ACCEPTED and quote.order_no == quote.number
    assert quote.answered_at == T0 + dt.timedelta(days=2)
    lines = list(OrderLine.objects.filter(order_no=quote.number).order_by("external_id"))
    assert [(ln.external_id, ln.date, ln.product.sku, ln.quantity, ln.unit_price, ln.discount, ln.net_amount, ln.cost)
            for ln in lines] == [
        (f"{quote.number}-1", dt.date(2026, 3, 4), "SW-1", D(2), D("1000.00"), D("0.25"), D("1500.00"), D("800.00")),
        (f"{quote.number}-2", dt.date(2026, 3, 4), "SVC-1", D(3), D("1.25"), D("0.1"), D("3.38"), D("1.50")),
    ]
    credits = OrderCredit.objects.filter(line__in=lines)
    assert {(c.salesperson_id, c.split_pct, c.amount) for c in credits} == {
        (world.people["alice"].pk, D(100), D("1500.00")), (world.people["alice"].pk, D(100), D("3.38"))}
    assert sum(ln.net_amount for ln in lines) == q.quote_totals(quote).net
    assert AuditEvent.objects.filter(event="quote.accepted", subject_id=str(quote.pk)).exists()
    # the sales cube has both lines for Alice's March (refreshed once, after the last line)
    assert monthly(world.people["alice"], dt.date(2026, 3, 1)).net_amount == D("1503.38")


def test_a_line_refused_on_acceptance_saves_nothing(world, rep_alice):
    quote = sent_quote(world, [(world.product, D(1), D(0)), (world.product, D(2), D(0))])
    # an order line already holds the external id the quote's second line would get
    org.order_line_create(actor=None, credits=[(world.people["bob"], D(100))], external_id=f"{quote.number}-2",
                          order_no="SO-X", date=dt.date(2026, 3, 1), customer=world.customers.b,
                          product=world.product, quantity=D(1), unit_price=D("1000.00"), cost=D("400.00"))
    before = OrderLine.objects.count()
    with pytest.raises(ValidationError) as refused:
        q.quote_answer(actor=rep_alice, quote=quote, accepted=True)
    assert line_errors(refused.value)[0][:2] == (2, "product")
    assert "Line 2 (SW-1) cannot become an order line" in line_errors(refused.value)[0][2]
    assert OrderLine.objects.count() == before
    quote.refresh_from_db()
    assert (quote.status, quote.answered_at, quote.order_no) == (QuoteStatus.SENT, None, "")


def test_a_declined_quote_makes_no_order(world, rep_alice):
    quote = q.quote_answer(actor=rep_alice, quote=sent_quote(world, [(world.product, D(1), D(0))]), accepted=False)
    assert quote.status == QuoteStatus.DECLINED and quote.answered_at is not None
    assert not OrderLine.objects.filter(order_no=quote.number).exists()


# -- turnaround -----------------------------------------------------------------------------------------------
def test_turnaround_from_fixed_times(world, rep_alice, manager_carol):
    # Given one quote approved at once (submitted after 2 h, sent after 5 h, answered a day later) …
    fast = alices_quote(world, rep_alice)
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        q.quote_submit(actor=rep_alice, quote=fast)
    with time_machine.travel(T0 + 5 * HOUR, tick=False):
        q.quote_send(actor=rep_alice, quote=fast)
    with time_machine.travel(T0 + 29 * HOUR, tick=False):
        q.quote_answer(actor=rep_alice, quote=fast, accepted=False)
    # … and one that waited 6 h for Carol, then was rejected, changed and approved after 2 h more
    slow = alices_quote(world, rep_alice, lines=[(world.product, D(1), D("0.4"))], at=T0)
    q.quote_submit(actor=rep_alice, quote=slow, at=T0 + 4 * HOUR)
    q.quote_decide(actor=manager_carol, quote=slow, approve=False, comment="太多", at=T0 + 10 * HOUR)
    q.quote_update_lines(actor=rep_alice, quote=slow, lines=[(world.product, D(1), D("0.3"))])
    q.quote_submit(actor=rep_alice, quote=slow, at=T0 + 11 * HOUR)
    q.quote_decide(actor=manager_carol, quote=slow, approve=True, at=T0 + 13 * HOUR)
    q.quote_send(actor=rep_alice, quote=slow, at=T0 + 14 * HOUR)
    # and one of Bob's still a draft
    q.quote_create(actor=None, customer=world.customers.b, owner=world.people["bob"], at=T0,
                   lines=[(world.product, D(1), D(0))])

    report = q.quote_turnaround(Quote.objects.all())
    rows = {r.number: r for r in report.quotes}
    a, b = rows[fast.number], rows[slow.number]
    assert (a.to_submit, a.approval_wait, a.to_send, a.to_answer, a.routed) == (2 * HOUR, None, 5 * HOUR, 24 * HOUR,
                                                                                 False)
    assert (b.to_submit, b.approval_wait, b.to_send, b.to_answer, b.routed) == (4 * HOUR, 8 * HOUR, 14 * HOUR, None,
                                                                                 True)
    alice, bob = report.by_owner
    assert (alice.owner_name, alice.quotes, alice.routed, alice.answered) == ("李丽", 2, 1, 0 + 1)
    assert (alice.median_to_submit, alice.median_approval_wait, alice.median_to_send, alice.median_to_answer) == (
        3 * HOUR, 8 * HOUR, dt.timedelta(hours=9, minutes=30), 24 * HOUR)
    assert (bob.owner_name, bob.quotes, bob.median_to_submit) == ("张伟", 1, None)
    assert report.overall.quotes == 3 and report.overall.median_to_send == alice.median_to_send
    assert q.hours(alice.median_to_send) == D("9.50") and q.hours(None) is None
    # a queryset narrows it
    assert [r.number for r in q.quote_turnaround(access.visible_quotes(world.users["bob"])).quotes] == [
        Quote.objects.get(owner=world.people["bob"]).number]


# -- an invariant ---------------------------------------------------------------------------------------------
money = st.decimals(min_value=D(0), max_value=D("99999.99"), places=2)
quantity = st.decimals(min_value=D("0.001"), max_value=D(9999), places=3)
discount = st.decimals(min_value=D(0), max_value=D(1), places=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(quantity, money, discount), min_size=1, max_size=6))
def test_totals_are_the_sum_of_nets_and_no_net_exceeds_its_list_amount(world, rows):
    product = Product.objects.get(sku="SW-1")
    priced = q.price_lines([q.LineInput(product, qty, disc, price=price) for qty, price, disc in rows],
                           policy="half_up")
    totals = q.totals(priced)
    assert totals.net == sum(p.net_amount for p in priced)
    assert totals.gross - totals.discount == totals.net
    for p, (qty, price, disc) in zip(priced, rows, strict=True):
        assert D(0) <= p.net_amount <= p.gross_amount
        assert p.net_amount == p.net_amount.quantize(D("0.01"))
        if disc == 0:
            assert p.net_amount == (qty * price).quantize(D("0.01"), rounding="ROUND_HALF_UP")


def test_ops_linked_to_a_salesperson_never_sees_or_decides_their_own_quote(world, ops_olivia):
    # Olivia (ops) is also a salesperson who sells: her own discount waits for someone else
    olivia = org.salesperson_create(actor=None, user=ops_olivia, employee_no="E900", name="欧丽",
                                             hire_date=dt.date(2024, 1, 1))
    own = q.quote_submit(actor=None, quote=q.quote_create(actor=None, customer=world.customers.a, owner=olivia,
                                                          lines=[(world.product, D(1), D("0.5"))]))
    assert not access.pending_approvals_for(ops_olivia).filter(quote=own).exists()
    with pytest.raises(PermissionDenied):
        q.quote_decide(actor=ops_olivia, quote=own, approve=True)
