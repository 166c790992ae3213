"""The engine's problems and warnings reach the user in the user's language, with names, not member keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from salesops.engine.decomposition import Problem
from salesops.targets import services as targets

D = Decimal
LEVELS = [{"dimension": "team", "depth": 1, "method": "equal"},
          {"dimension": "salesperson", "method": "historical", "window": 12}]
KEYS = ("team:", "salesperson:")


@pytest.fixture
def plan(world, ops_olivia):
    plan = targets.plan_create(actor=ops_olivia, name="2026 年度销售目标", fiscal_year=2026, total=D("1000000.00"),
                               levels=LEVELS, seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    return plan


def test_a_refused_lock_is_explained_in_chinese_with_names(plan, ops_olivia):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        targets.node_lock(actor=ops_olivia, node=plan.nodes.get(name="周敏"), value=D("600000.00"))
    assert error.value.messages == [
        "华东一组: 锁定值合计 600000.00，比本节点的数值 500000.00 多 100000.00：华东一组 / 周敏=600000.00"]


def test_an_all_zero_weights_warning_is_in_chinese_with_names(plan, ops_olivia):
    # 李丽 has all of 华东一组's history: locked below the team's value, her siblings have no weight left
    with translation.override("zh-hans"):
        warnings = targets.node_lock(actor=ops_olivia, node=plan.nodes.get(name="李丽"), value=D("400000.00"))
    assert warnings == ["华东一组: 第 2 层（销售员）各成员的历史权重全部为零；已改为平均分配"]
    with translation.override("en"):  # the same warning in English keeps the engine's sentence
        warnings = targets.node_lock(actor=ops_olivia, node=plan.nodes.get(name="李丽"), value=D("300000.00"))
    assert warnings == [
        "华东一组: all historical weights of its members at level 2 (Salesperson) are zero; shared equally instead"]


def test_a_manual_sum_gap_and_untyped_members_are_in_chinese_with_names(world, ops_olivia):
    levels = [{"dimension": "team", "depth": 1, "method": "manual"}, {"dimension": "salesperson", "method": "equal"}]
    plan = targets.plan_create(actor=ops_olivia, name="手工分解", fiscal_year=2026, total=D("900.00"), levels=levels,
                               seasonality={"source": "flat"})
    with translation.override("zh-hans"):
        warnings = targets.plan_allocate(actor=ops_olivia, plan=plan)
        assert warnings == ["（合计）: 第 1 层（销售团队）的 2 个成员中有 2 个尚无手工录入值（华东一组, 华南一组）；"
                            "这些成员平分剩余额度"]
        a, b = plan.nodes.get(name="华东一组"), plan.nodes.get(name="华南一组")
        targets.node_set_manual(actor=ops_olivia, node=a, value=D("600.00"))
        with pytest.raises(ValidationError) as error:
            targets.node_set_manual(actor=ops_olivia, node=b, value=D("299.00"))
    assert error.value.messages == [
        "（合计）: 手工录入值合计 899.00，比本节点的数值 900.00 少 1.00：华东一组=600.00, 华南一组=299.00"]
    assert not any(key in message for message in error.value.messages + warnings for key in KEYS)


def test_a_bad_typed_seasonality_is_refused_in_chinese(world, ops_olivia):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as error:
        targets.plan_create(actor=ops_olivia, name="x", fiscal_year=2026, total=D("100.00"), levels=LEVELS,
                            seasonality={"source": "typed", "profile": [8] * 12})
    assert error.value.message_dict["seasonality"] == ["手工输入的季节性分布合计 96%，比 100% 少 4 个百分点"]


def test_a_problem_the_catalogue_does_not_know_is_shown_in_english():
    problem = Problem(("team:1",), "odd {thing} on {where}", {"thing": "x", "where": "team:1"})
    with translation.override("zh-hans"):
        assert targets.problem_text(problem, {"team:1": "华东一组"}) == "华东一组: odd x on 华东一组"
    assert targets.problem_message(Problem((), "a {literal} brace"), {}) == "a {literal} brace"  # no params
