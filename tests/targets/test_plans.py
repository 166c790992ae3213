"""Target plans against the persona world: decomposition from the organisation's data, locks, commits,
seasonality, the workflow and attainment from the sales cube."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from salesops.core.models import AuditEvent
from salesops.org import services as org
from salesops.targets import services as targets
from salesops.targets.attainment import plan_attainment
from salesops.targets.models import TargetMonth, TargetNode, TargetPlan

D = Decimal
LEVELS = [{"dimension": "team", "depth": 1, "method": "equal"},
          {"dimension": "salesperson", "method": "historical", "window": 12}]


@pytest.fixture
def plan(world, ops_olivia):
    return targets.plan_create(actor=ops_olivia, name="2026 年度销售目标", fiscal_year=2026, total=D("1000000.00"),
                               levels=LEVELS, seasonality={"source": "flat"}, specific="全年净销售额",
                               deadline=dt.date(2026, 12, 31))


def values(plan):
    return {n.name: n.value for n in plan.nodes.filter(level=2)}


def test_it_decomposes_teams_equally_and_people_by_history(plan, ops_olivia):
    # Given 2025 history: Alice 1,600.00 (A1 + 60% of S1), Bob 1,400.00 (B1 + 40% of S1), others nothing
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    teams = {n.name: n.value for n in plan.nodes.filter(level=1)}
    assert teams == {"华东一组": D("500000.00"), "华南一组": D("500000.00")}
    assert values(plan) == {"陈经理": D("0.00"), "李丽": D("500000.00"), "周敏": D("0.00"),
                            "赵经理": D("0.00"), "张伟": D("500000.00")}


def test_every_level_and_every_leafs_months_add_up(plan, ops_olivia):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    for node in plan.nodes.all():
        kids = node.children.aggregate(s=Sum("value"))["s"]
        if kids is not None:
            assert kids == node.value
        months = list(TargetMonth.objects.filter(node=node).order_by("month").values_list("value", flat=True))
        assert len(months) == 12 and sum(months) == node.value
    alice = plan.nodes.get(name="李丽")
    assert sorted(set(alice.months.values_list("value", flat=True))) == [D("41666.66"), D("41666.67")]


def test_a_lock_rebalances_its_siblings(plan, ops_olivia):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    amy = plan.nodes.get(name="周敏")
    targets.node_lock(actor=ops_olivia, node=amy, value=D("100000.00"))
    assert values(plan)["周敏"] == D("100000.00") and values(plan)["李丽"] == D("400000.00")
    assert plan.nodes.get(name="华东一组").value == D("500000.00")
    assert AuditEvent.objects.filter(event="target_node.locked").exists()


def test_a_lock_above_its_parent_is_refused_naming_the_nodes(plan, ops_olivia):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    amy = plan.nodes.get(name="周敏")
    with pytest.raises(ValidationError) as error:
        targets.node_lock(actor=ops_olivia, node=amy, value=D("600000.00"))
    assert "周敏" in str(error.value) or "华东一组" in str(error.value)
    assert values(plan)["周敏"] == D("0.00")  # nothing half-saved


def test_an_accepted_commit_becomes_a_lock(plan, ops_olivia, manager_carol):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    alice = plan.nodes.get(name="李丽")
    targets.node_commit(actor=manager_carol, node=alice, value=D("450000.00"), note="大客户续约")
    alice = plan.nodes.get(name="李丽")
    assert (alice.commit, alice.value) == (D("450000.00"), D("500000.00"))
    targets.node_accept_commit(actor=ops_olivia, node=alice)
    assert values(plan)["李丽"] == D("450000.00") and plan.nodes.get(name="李丽").locked
    assert plan.nodes.get(name="李丽").commit == D("450000.00")  # the commit survives re-allocation


def test_only_a_draft_changes_and_a_new_version_copies_it(plan, ops_olivia):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    targets.plan_transition(actor=ops_olivia, plan=plan, to="submitted")
    with pytest.raises(ValidationError):
        targets.plan_allocate(actor=ops_olivia, plan=plan)
    with pytest.raises(ValidationError) as error:
        targets.plan_transition(actor=ops_olivia, plan=plan, to="locked")
    assert "status" in error.value.message_dict
    v2 = targets.plan_new_version(actor=ops_olivia, plan=plan)
    assert (v2.version, v2.status, v2.family) == (2, "draft", plan.family)
    assert {n.key: n.value for n in v2.nodes.all()} == {n.key: n.value for n in plan.nodes.all()}


@pytest.mark.parametrize(("levels", "needle"), [
    ([{"dimension": "planet", "method": "equal"}], "planet"),
    ([{"dimension": "team", "depth": 1, "method": "blend", "blend": {"historical": "0.5", "equal": "0.4"}}], "1"),
    ([{"dimension": "region", "depth": 1, "method": "capacity"}], "capacity"),
])
def test_bad_level_definitions_are_refused(world, ops_olivia, levels, needle):
    with pytest.raises(ValidationError) as error:
        targets.plan_create(actor=ops_olivia, name="x", fiscal_year=2026, total=D("100.00"), levels=levels)
    assert needle in str(error.value)
    assert not TargetNode.objects.exists()


def test_attainment_rolls_actuals_up_the_plan(plan, ops_olivia, world):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="Q1", order_no="Q1",
                          date=dt.date(2026, 2, 10), customer=world.customers.a, product=world.product,
                          quantity=D(100), unit_price=D("1000.00"), cost=D("40000.00"))
    q1 = world.company.calendar.parse("2026-Q1")
    result = plan_attainment(plan, q1, dt.date(2026, 3, 31))
    by_name = {n.name: result.progress[pk] for pk, n in result.nodes.items()}
    assert by_name["李丽"].actual == D("100000.00") and by_name["李丽"].target == D("125000.01")  # 3 × 41,666.67
    assert by_name["李丽"].attainment == D("0.8000") and by_name["李丽"].behind
    assert by_name["华东一组"].actual == D("100000.00") and by_name["2026 年度销售目标"].actual == D("100000.00")
    assert by_name["张伟"].actual == D("0") and by_name["张伟"].behind


def test_a_split_order_counts_half_for_each_person_and_in_full_for_the_region(world, ops_olivia):
    # Given a 50/50 split sale of 10,000.00 by Alice (team A) and Bob (team B) to 甲公司 in 上海 (华东)
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(50)), (world.people["bob"], D(50))],
                          external_id="HALF", order_no="HALF", date=dt.date(2026, 4, 2), customer=world.customers.a,
                          product=world.product, quantity=D(10), unit_price=D("1000.00"), cost=D("4000.00"))
    plan = targets.plan_create(actor=ops_olivia, name="区域", fiscal_year=2026, total=D("100000.00"), levels=[
        {"dimension": "region", "depth": 1, "method": "equal"},
        {"dimension": "salesperson", "method": "equal"}], seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    # When attainment is read for April
    result = plan_attainment(plan, world.company.calendar.parse("2026-04"), dt.date(2026, 4, 30))
    actual = {n.key: result.progress[pk].actual for pk, n in result.nodes.items()}
    east, south = world.regions.east.pk, world.regions.south.pk
    alice, bob = world.people["alice"].pk, world.people["bob"].pk
    # Then the region has it in full and Alice half; Bob, planned under 华南 where he is assigned, is credited half
    # but his half of an 华东 sale counts for 华东, not for his 华南 target; nothing is unallocated
    assert actual[f"region:{east}"] == D("10000.00")
    assert actual[f"region:{east}/salesperson:{alice}"] == D("5000.00")
    assert f"region:{east}/salesperson:{bob}" not in actual
    assert actual[f"region:{south}/salesperson:{bob}"] == D("0")
    assert actual[""] == D("10000.00") and result.unallocated == D("0")
    # And in a team → salesperson plan each person has their half, and each team its person's half
    people = targets.plan_create(actor=ops_olivia, name="人员", fiscal_year=2026, total=D("100000.00"),
                                 levels=LEVELS, seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=people)
    result = plan_attainment(people, world.company.calendar.parse("2026-04"), dt.date(2026, 4, 30))
    actual = {n.name: result.progress[pk].actual for pk, n in result.nodes.items()}
    assert (actual["李丽"], actual["张伟"], actual["华东一组"], actual["华南一组"]) == (D("5000.00"),) * 4


@pytest.mark.parametrize(("seasonality", "needle"), [
    ({"source": "typed", "profile": [8] * 12}, "96"),
    ({"source": "typed", "profile": [10] * 10}, "12"),
    ({"source": "moon"}, "moon"),
])
def test_bad_seasonality_is_refused(world, ops_olivia, seasonality, needle):
    with pytest.raises(ValidationError) as error:
        targets.plan_create(actor=ops_olivia, name="x", fiscal_year=2026, total=D("100.00"), levels=LEVELS,
                            seasonality=seasonality)
    assert "seasonality" in error.value.message_dict and needle in str(error.value)


def test_a_typed_profile_spreads_the_year_by_it(world, ops_olivia):
    profile = [5, 5, 8, 8, 8, 10, 8, 8, 8, 10, 10, 12]
    plan = targets.plan_create(actor=ops_olivia, name="typed", fiscal_year=2026, total=D("1000000.00"),
                               levels=LEVELS, seasonality={"source": "typed", "profile": profile})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    alice = plan.nodes.get(name="李丽")
    assert list(alice.months.order_by("month").values_list("value", flat=True))[:3] == [
        D("25000.00"), D("25000.00"), D("40000.00")]


def test_lock_errors_name_people_not_keys(plan, ops_olivia):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    with pytest.raises(ValidationError) as error:
        targets.node_lock(actor=ops_olivia, node=plan.nodes.get(name="周敏"), value=D("600000.00"))
    text = str(error.value)
    assert "周敏" in text and "salesperson:" not in text and "team:" not in text


def test_manual_levels_take_typed_values(world, ops_olivia):
    levels = [{"dimension": "team", "depth": 1, "method": "manual"}, {"dimension": "salesperson", "method": "equal"}]
    plan = targets.plan_create(actor=ops_olivia, name="manual", fiscal_year=2026, total=D("900.00"), levels=levels,
                               seasonality={"source": "flat"})
    # nothing typed yet: the plan computes (equal shares) and says what is missing, so the nodes exist to type on
    warnings = targets.plan_allocate(actor=ops_olivia, plan=plan)
    assert any("no manual value yet" in w for w in warnings)
    a, b = plan.nodes.get(name="华东一组"), plan.nodes.get(name="华南一组")
    assert (a.value, b.value) == (D("450.00"), D("450.00"))
    targets.node_set_manual(actor=ops_olivia, node=a, value=D("600.00"))  # the untyped sibling takes the rest
    assert (plan.nodes.get(pk=a.pk).value, plan.nodes.get(pk=b.pk).value) == (D("600.00"), D("300.00"))
    assert plan.nodes.get(pk=b.pk).method == "equal"
    with pytest.raises(ValidationError) as error:  # the last one typed must make the sum: refused, nothing saved
        targets.node_set_manual(actor=ops_olivia, node=b, value=D("299.00"))
    assert "299" in str(error.value) and plan.nodes.get(pk=b.pk).manual is None
    assert targets.nodes_set_manual(actor=ops_olivia, plan=plan, values={a.key: D("500.00"), b.key: D("400.00")}) == []
    assert (plan.nodes.get(pk=a.pk).value, plan.nodes.get(pk=b.pk).value) == (D("500.00"), D("400.00"))
    assert AuditEvent.objects.filter(event="target_node.manual").count() == 3
    with pytest.raises(ValidationError):  # only manual levels take typed values
        targets.node_set_manual(actor=ops_olivia, node=plan.nodes.get(name="李丽"), value=D("1.00"))


def test_commits_are_refused_on_a_locked_plan(plan, ops_olivia, manager_carol):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    for status in ("submitted", "approved", "locked"):
        targets.plan_transition(actor=ops_olivia, plan=plan, to=status)
    with pytest.raises(ValidationError) as error:
        targets.node_commit(actor=manager_carol, node=plan.nodes.get(name="李丽"), value=D("1.00"))
    assert "commit" in error.value.message_dict


def test_year_to_date_is_a_period_too(world):
    from salesops.targets.attainment import parse_period

    ytd = parse_period("YTD", world.company.calendar, dt.date(2026, 3, 10))
    assert (ytd.start, ytd.end) == (dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    with pytest.raises(ValueError):
        parse_period("2026-Q9", world.company.calendar, dt.date(2026, 3, 10))


def test_changing_the_levels_makes_the_next_lock_reread_the_organisation(plan, ops_olivia):
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    assert TargetPlan.objects.get(pk=plan.pk).inputs
    targets.plan_update(actor=ops_olivia, plan=plan, levels=[LEVELS[0]])
    assert TargetPlan.objects.get(pk=plan.pk).inputs == {}
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    team_a = plan.nodes.get(name="华东一组")
    targets.node_lock(actor=ops_olivia, node=team_a, value=D("600000.00"))
    assert plan.nodes.get(name="华南一组").value == D("400000.00") and plan.nodes.filter(level=2).count() == 0


def test_a_product_level_splits_inside_its_category(world, ops_olivia):
    # Given a second software product and one hardware product, with 2025 sales only on SW-1
    hardware = org.tree_node_create(actor=None, model=type(world.category), name="硬件", code="HW")
    org.product_create(actor=None, sku="SW-2", name="BI 套件", category=world.category, list_price=D("10.00"),
                       standard_cost=D("1.00"))
    org.product_create(actor=None, sku="HW-1", name="服务器", category=hardware, list_price=D("10.00"),
                       standard_cost=D("1.00"))
    plan = targets.plan_create(actor=ops_olivia, name="产品", fiscal_year=2026, total=D("1000.00"), levels=[
        {"dimension": "category", "depth": 0, "method": "equal"},
        {"dimension": "product", "method": "historical", "window": 12}], seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    # Then software's half goes to SW-1 (all its history) and hardware's half to HW-1, its only product
    assert {n.name: n.value for n in plan.nodes.filter(level=2)} == {
        "SW-1 CRM 套件": D("500.00"), "SW-2 BI 套件": D("0.00"), "HW-1 服务器": D("500.00")}
    result = plan_attainment(plan, world.company.calendar.parse("FY2025"), dt.date(2025, 12, 31))
    by_name = {n.name: result.progress[pk].actual for pk, n in result.nodes.items()}
    assert by_name["SW-1 CRM 套件"] == D("3000.00") and by_name["软件"] == D("3000.00")


def test_key_customers_are_a_level_with_the_others_together(world, ops_olivia):
    # Given 甲公司 is a key account (its 2025 lines: A1 1,000.00 and S1 1,000.00) and 乙公司 is not (B1 1,000.00)
    org.customer_update(actor=None, customer=world.customers.a, key_account=True)
    plan = targets.plan_create(actor=ops_olivia, name="大客户", fiscal_year=2026, total=D("3000.00"), levels=[
        {"dimension": "customer", "method": "historical", "window": 12}], seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    # Then the key account gets two thirds by history and "other customers" the rest
    assert {n.key: n.value for n in plan.nodes.filter(level=1)} == {
        f"customer:{world.customers.a.pk}": D("2000.00"), "customer:0": D("1000.00")}
    result = plan_attainment(plan, world.company.calendar.parse("FY2025"), dt.date(2025, 12, 31))
    actual = {n.key: result.progress[pk].actual for pk, n in result.nodes.items()}
    assert actual[f"customer:{world.customers.a.pk}"] == D("2000.00") and actual["customer:0"] == D("1000.00")


def test_a_lock_stores_exactly_what_a_whole_re_allocation_would(world, ops_olivia):
    # a lock re-computes only its parent's subtree; the nodes, and every node's months (the ancestors' too,
    # which follow their leaves), must be what re-allocating the whole plan on the same inputs gives
    plan = targets.plan_create(actor=ops_olivia, name="partial", fiscal_year=2026, total=D("1000000.00"),
                               levels=[{"dimension": "team", "depth": 1, "method": "equal"},
                                       {"dimension": "salesperson", "method": "equal"}],
                               seasonality={"source": "typed", "profile": ["5", "5", "10", "10", "5", "5", "10", "10",
                                                                           "5", "5", "10", "20"]})
    targets.plan_allocate(actor=ops_olivia, plan=plan)

    def state():
        nodes = {n.key: (n.value, n.exact, n.locked) for n in plan.nodes.all()}
        months = {(m.node.key, m.month): m.value for m in TargetMonth.objects.filter(node__plan=plan)
                  .select_related("node")}
        return nodes, months

    amy = plan.nodes.get(name="周敏")
    targets.node_lock(actor=ops_olivia, node=amy, value=D("100000.01"))
    assert AuditEvent.objects.filter(event="target_plan.allocated").order_by("pk").last().new["within"] == amy.parent.key
    partial = state()
    targets.plan_allocate(actor=ops_olivia, plan=plan, refresh=False)  # the whole plan, same inputs
    assert state() == partial
    assert AuditEvent.objects.filter(event="target_plan.allocated").order_by("pk").last().new["within"] is None
    root = {m.month: m.value for m in TargetMonth.objects.filter(node__plan=plan, node__key="")}
    assert sum(root.values()) == D("1000000.00")
    targets.node_unlock(actor=ops_olivia, node=amy)
    partial = state()
    targets.plan_allocate(actor=ops_olivia, plan=plan, refresh=False)
    assert state() == partial
