from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.engine.decomposition import (
    Blend,
    HistoricalMode,
    History,
    Inputs,
    Level,
    Method,
    Plan,
    PlanError,
    Problem,
    children_from_paths,
    common_unit,
    decompose,
    fraction_text,
)
from salesops.engine.money import CENT
from salesops.engine.periods import PeriodKind

D = Decimal
WAN = D(10000)


def plan(total, *levels, unit=CENT, month_unit=None) -> Plan:
    return Plan(D(total), tuple(levels), 2026, unit=unit, month_unit=month_unit)


def values(result) -> dict[tuple[str, ...], Decimal]:
    return {n.path: n.value for n in result.nodes}


def problems(exc: pytest.ExceptionInfo[PlanError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# -- the seed's example -----------------------------------------------------------------------------------------

SEED_LEAVES = [
    ("A产品", "华东", "华东一组", "李丽"), ("A产品", "华东", "华东一组", "周敏"), ("A产品", "华东", "华东一组", "新人"),
    ("A产品", "华东", "华东二组", "王强"), ("A产品", "华东", "华东二组", "刘洋"),
    ("A产品", "华南", "华南一组", "张伟"), ("A产品", "华南", "华南一组", "赵磊"),
    ("B产品", "华东", "华东一组", "李丽"), ("B产品", "华东", "华东一组", "周敏"), ("B产品", "华东", "华东一组", "新人"),
    ("B产品", "华东", "华东二组", "王强"), ("B产品", "华东", "华东二组", "刘洋"),
    ("B产品", "华南", "华南一组", "张伟"), ("B产品", "华南", "华南一组", "赵磊"),
]


def test_it_decomposes_the_seeds_target_product_region_team_rep_in_whole_wan():
    # Given 1000万元, product shares from 2025 history (A 200, B 100), regions by market potential (华东 3 : 华南 2),
    # teams equally, reps by capacity (a new hire at 50% ramp, 赵磊 has left: 0), everything in whole 万元
    history = History.from_records([
        (("A产品", "华东", "华东一组", "李丽"), "2025-06", D(200)),
        (("B产品", "华南", "华南一组", "张伟"), "2025-09", D(100)),
    ])
    potential = {p[:2]: D(3) if p[1] == "华东" else D(2) for p in SEED_LEAVES}
    capacity = {p: {"新人": D("0.5"), "赵磊": D(0)}.get(p[3], D(1)) for p in SEED_LEAVES}
    seed = plan(
        10_000_000,
        Level("产品", Method.HISTORICAL), Level("区域", Method.POTENTIAL), Level("团队", Method.EQUAL),
        Level("销售员", Method.CAPACITY), unit=WAN,
    )
    # When
    result = decompose(seed, Inputs(children_from_paths(SEED_LEAVES), history, potential, capacity))
    # Then, by hand (in 万): A 2/3 of 1000 = 666.67 → 667, B 333.33 → 333 (the larger remainder gets the unit);
    # A: 华东 3/5 of 667 = 400.2 → 400, 华南 266.8 → 267; B: 华东 199.8 → 200, 华南 133.2 → 133;
    # teams halve 华东; reps: A/华东一组 200 × (1, 1, 0.5)/2.5 = 80, 80, 40; 张伟 takes 华南 alone.
    wan = {path: value / WAN for path, value in values(result).items()}
    assert wan[()] == 1000
    assert (wan[("A产品",)], wan[("B产品",)]) == (667, 333)
    assert (wan[("A产品", "华东")], wan[("A产品", "华南")]) == (400, 267)
    assert (wan[("B产品", "华东")], wan[("B产品", "华南")]) == (200, 133)
    assert (wan[("A产品", "华东", "华东一组")], wan[("A产品", "华东", "华东二组")]) == (200, 200)
    assert [wan[("A产品", "华东", "华东一组", r)] for r in ("李丽", "周敏", "新人")] == [80, 80, 40]
    assert [wan[("A产品", "华东", "华东二组", r)] for r in ("王强", "刘洋")] == [100, 100]
    assert [wan[("A产品", "华南", "华南一组", r)] for r in ("张伟", "赵磊")] == [267, 0]
    assert [wan[("B产品", "华东", "华东一组", r)] for r in ("李丽", "周敏", "新人")] == [40, 40, 20]
    assert [wan[("B产品", "华东", "华东二组", r)] for r in ("王强", "刘洋")] == [50, 50]
    assert [wan[("B产品", "华南", "华南一组", r)] for r in ("张伟", "赵磊")] == [133, 0]
    a = result.node(("A产品",))
    assert (a.share, a.unrounded, a.weight, a.method, a.locked) == (
        Fraction(2, 3), Fraction(20_000_000, 3), Fraction(200), "historical", False)
    assert result.units == (WAN, WAN, WAN, WAN)
    assert not result.warnings
    assert [n.path for n in result.nodes][:3] == [(), ("A产品",), ("A产品", "华东")]  # depth first, in order


# -- methods ---------------------------------------------------------------------------------------------------


def two_period_history():
    # month 1: X 90, Y 10 (total 100); month 2: X 100, Y 900 (total 1000); month 3: nothing sold
    return History.from_records([
        (("X",), "2025-10", D(90)), (("Y",), "2025-10", D(10)),
        (("X",), "2025-11", D(100)), (("Y",), "2025-11", D(900)),
        (("X",), "2025-12", D(0)),
        (("X",), "2026-01", D(10**6)),  # inside the plan year: never history
    ])


def test_it_gives_different_hand_checked_shares_for_the_two_historical_modes():
    children = {(): ["X", "Y"]}
    poa = decompose(plan(1100, Level("k", Method.HISTORICAL, window=3), unit=D(1)),
                    Inputs(children, two_period_history()))
    aop = decompose(plan(1100, Level("k", Method.HISTORICAL, window=3, mode=HistoricalMode.AVERAGE_OF_PROPORTIONS),
                         unit=D(1)), Inputs(children, two_period_history()))
    # proportion of averages: X (90 + 100) / 1100 = 19/110; average of proportions: X (0.9 + 0.1) / 2 = 1/2,
    # December's zero total skipped
    assert poa.node(("X",)).share == Fraction(19, 110)
    assert (poa.value(("X",)), poa.value(("Y",))) == (D(190), D(910))
    assert aop.node(("X",)).share == Fraction(1, 2)
    assert (aop.value(("X",)), aop.value(("Y",))) == (D(550), D(550))


def test_it_reads_only_the_last_window_periods_before_the_plan_year():
    children = {(): ["X", "Y"]}
    level = Level("k", Method.HISTORICAL, window=1, period=PeriodKind.MONTH)
    result = decompose(plan(100, level, unit=D(1)), Inputs(children, two_period_history()))
    assert "are zero; shared equally" in str(result.warnings[0])  # December alone is all zero ...
    level = Level("k", Method.HISTORICAL, window=1, period=PeriodKind.QUARTER)
    result = decompose(plan(1100, level, unit=D(1)), Inputs(children, two_period_history()))
    assert result.value(("X",)) == D(190)  # ... the last quarter is Oct–Dec 2025


def test_it_blends_normalised_components():
    # historical 3:1 → .75/.25, potential 1:1, equal: X = .5×.75 + .3×.5 + .2×.5 = .625
    history = History.from_records([(("X",), "2025-12", D(3)), (("Y",), "2025-12", D(1))])
    level = Level("k", Method.BLEND, window=1, blend=Blend(D("0.5"), D("0.3"), D("0.2")))
    result = decompose(plan(1000, level, unit=D(1)),
                       Inputs({(): ["X", "Y"]}, history, potential={("X",): D(7), ("Y",): D(7)}))
    assert (result.value(("X",)), result.value(("Y",))) == (D(625), D(375))
    assert result.node(("X",)).weight == Fraction(5, 8)


def test_it_refuses_blend_weights_that_do_not_add_up_to_one():
    level = Level("region", Method.BLEND, blend=Blend(D("0.5"), D("0.3"), D("0.3")))
    with pytest.raises(PlanError) as exc:
        decompose(plan(1000, level), Inputs({(): ["X"]}, History((), {}), potential={("X",): D(1)}))
    assert "= 1.1, not exactly 1" in problems(exc)[0]


def test_it_shares_by_capacity_with_a_ramping_new_hire_and_a_leaver():
    # a new hire in the first quarter of ramp (25%), a full rep, a leaver (0)
    capacity = {("新人",): D("0.25"), ("老将",): D(1), ("离职",): D(0)}
    result = decompose(plan(1000, Level("rep", Method.CAPACITY), unit=D(1)),
                       Inputs({(): ["新人", "老将", "离职"]}, capacity=capacity))
    assert [result.value((k,)) for k in ("新人", "老将", "离职")] == [D(200), D(800), D(0)]


def test_it_takes_manual_values_that_add_up_and_refuses_others_naming_the_gap():
    level = Level("product", Method.MANUAL)
    children = {(): ["A", "B"]}
    ok = decompose(plan(1000, level), Inputs(children, manual={("A",): D(600), ("B",): D(400)}))
    assert (ok.value(("A",)), ok.node(("A",)).method) == (D(600), "manual")
    with pytest.raises(PlanError) as exc:
        decompose(plan(1000, level), Inputs(children, manual={("A",): D(600), ("B",): D(390)}))
    assert problems(exc) == ["(total): manual values sum to 990, short of its value 1000 by 10: A=600, B=390"]


def test_a_problem_is_a_translatable_template_and_its_params():
    level = Level("product", Method.MANUAL)
    children = {(): ["A", "B"]}
    found = []
    for b in (D(390), D(420)):  # short of, then over: two sentences, not an English word passed as a param
        with pytest.raises(PlanError) as exc:
            decompose(plan(1000, level), Inputs(children, manual={("A",): D(600), ("B",): b}))
        found.extend(exc.value.problems)
    short, over = found
    assert short.template == "manual values sum to {total}, short of its value {value} by {gap}: {names}"
    assert over.template == "manual values sum to {total}, over its value {value} by {gap}: {names}"
    assert short.params == {"total": "990", "value": "1000", "gap": "10", "names": "A=600, B=390"}
    for problem in (short, over):
        assert problem.message == problem.template.format(**problem.params)
        assert str(problem) == f"(total): {problem.message}"
    assert over.message == "manual values sum to 1020, over its value 1000 by 20: A=600, B=420"
    assert Problem((), "kept as it is: {not a placeholder}").message == "kept as it is: {not a placeholder}"


def test_untyped_members_of_a_manual_level_share_the_rest_equally_with_a_warning():
    level = Level("product", Method.MANUAL)
    children = {(): ["A", "B", "C"]}
    nothing = decompose(plan(900, level, unit=D(1)), Inputs(children))  # a new plan computes before anything is typed
    assert [nothing.value((k,)) for k in "ABC"] == [D(300)] * 3
    assert [w.message for w in nothing.warnings] == [
        "3 of its 3 members at level 1 (product) have no manual value yet (A, B, C); they share the rest equally"]
    some = decompose(plan(900, level, unit=D(1)), Inputs(children, manual={("A",): D(500)}))
    assert [some.value((k,)) for k in "ABC"] == [D(500), D(200), D(200)]
    assert [some.node((k,)).method for k in "ABC"] == ["manual", "equal", "equal"]
    assert not some.node(("A",)).locked
    with pytest.raises(PlanError) as exc:
        decompose(plan(900, level, unit=D(1)), Inputs(children, manual={("A",): D(500), ("B",): D(401)}))
    assert problems(exc) == ["(total): locked and typed values sum to 901, 1 more than its value 900: A=500, B=401"]


# -- locks -----------------------------------------------------------------------------------------------------


def test_a_lock_holds_and_its_siblings_rebalance_by_their_weights():
    children = {(): ["X", "Y", "Z"], ("X",): ["x1", "x2"], ("Y",): ["y1"], ("Z",): ["z1"]}
    potential = {("X",): D(1), ("Y",): D(1), ("Z",): D(2)}
    result = decompose(plan(1000, Level("a", Method.POTENTIAL), Level("b", Method.EQUAL), unit=D(1)),
                       Inputs(children, potential=potential, locks={("X",): D(501)}))
    # 499 left for Y:Z = 1:2 → 166.33, 332.67 → 166, 333
    assert [result.value((k,)) for k in "XYZ"] == [D(501), D(166), D(333)]
    assert result.node(("X",)).locked and result.node(("X",)).share == Fraction(501, 1000)
    # the locked node's own children are decomposed from its locked value
    assert [result.value(("X", k)) for k in ("x1", "x2")] == [D(251), D(250)]


def test_it_refuses_infeasible_locks_naming_every_offending_node():
    children = {(): ["A", "B"], ("A",): ["X", "Y"], ("B",): ["P", "Q"]}
    levels = (Level("a", Method.EQUAL), Level("b", Method.EQUAL))
    locks = {("A",): D(600), ("A", "X"): D(400), ("A", "Y"): D(300), ("B", "P"): D(100), ("B", "Q"): D(200)}
    with pytest.raises(PlanError) as exc:
        decompose(plan(1000, *levels, unit=D(1)), Inputs(children, locks=locks))
    assert problems(exc) == [
        "A: locked values sum to 700, 100 more than its value 600: A/X=400, A/Y=300",
        "B: every member is locked and they sum to 300, not its value 400 (gap 100): B/P=100, B/Q=200",
    ]


def test_it_reports_every_problem_at_once():
    children = {(): ["A", "B"], ("A",): ["X"], ("B",): ["Y"]}
    levels = (Level("a", Method.POTENTIAL), Level("b", Method.EQUAL))
    with pytest.raises(PlanError) as exc:
        decompose(plan(1000, *levels), Inputs(
            children, potential={("A",): D(-1), ("B",): D(1), ("C",): D(1)}, locks={("B", "Z"): D(5)}))
    assert problems(exc) == [
        "B/Z: has a lock but is not a member of the plan's tree",
        "A: potential -1 is negative; negative weights are refused",
        "C: has a potential but is not a member of the plan's tree",
    ]


# -- fallbacks, units, tree ------------------------------------------------------------------------------------


def test_all_zero_weights_fall_back_to_equal_with_a_warning_naming_the_node():
    children = {(): ["A"], ("A",): ["新区域", "另一个"]}
    history = History.from_records([(("A", "老区域"), "2025-12", D(5))])  # a member no longer in the tree
    result = decompose(plan(1000, Level("p", Method.EQUAL), Level("r", Method.HISTORICAL), unit=D(1)),
                       Inputs(children, history))
    assert [result.value(("A", k)) for k in ("新区域", "另一个")] == [D(500), D(500)]
    assert result.node(("A", "新区域")).method == "equal"
    assert [str(w) for w in result.warnings] == [
        "A: all historical weights of its members at level 2 (r) are zero; shared equally instead"]


def test_it_rounds_a_finer_level_in_the_coarser_unit_below_it_and_says_so():
    # level 1 in cents above level 2 in whole 万: level 1 is rounded to whole 万 so that level 2 adds up to it
    children = {(): ["A", "B", "C"], ("A",): ["a"], ("B",): ["b"], ("C",): ["c"]}
    result = decompose(plan(1_000_000, Level("p", Method.EQUAL), Level("r", Method.EQUAL, unit=WAN)),
                       Inputs(children))
    assert [result.value((k,)) for k in "ABC"] == [D(340000), D(330000), D(330000)]
    assert result.units == (WAN, WAN)
    assert "level 1 (p) is rounded to 10000 instead of 0.01" in str(result.warnings[0])
    with pytest.raises(PlanError) as exc:
        decompose(plan("1000005", Level("p", Method.EQUAL, unit=WAN)), Inputs({(): ["A"]}))
    assert "the total 1000005 is not a whole number of 10000" in problems(exc)[0]
    assert common_unit(D("0.5"), D("0.3")) == D("1.5")


def test_it_refuses_a_tree_that_does_not_reach_the_last_level():
    with pytest.raises(PlanError) as exc:
        decompose(plan(100, Level("a"), Level("b")), Inputs({(): ["A", "B"], ("A",): ["x"], ("Z",): ["q"]}))
    assert problems(exc) == [
        "B: has no members at level 2 (b)",
        "Z: has members listed but is not itself a member of the tree",
    ]


def test_fraction_text_never_goes_through_float():
    assert fraction_text(Fraction(2, 3), 4) == "0.6667"
    assert fraction_text(Fraction(10**30 + 1, 10**10), 2) == "100000000000000000000.00".rstrip("0").rstrip(".")


# -- properties ------------------------------------------------------------------------------------------------

UNITS = [D("0.01"), D(1), WAN]


@st.composite
def trees(draw):
    depth = draw(st.integers(1, 3))
    children: dict[tuple[str, ...], list[str]] = {}
    frontier = [()]
    for _ in range(depth):
        nxt = []
        for parent in frontier:
            kids = [f"m{i}" for i in range(draw(st.integers(1, 4)))]
            children[parent] = kids
            nxt += [parent + (k,) for k in kids]
        frontier = nxt
    nodes = [p + (k,) for p, ks in children.items() for k in ks]
    weights = {n: D(draw(st.integers(0, 1000))) for n in nodes}
    unit = draw(st.sampled_from(UNITS))
    total = unit * draw(st.integers(0, 10**9))
    return depth, children, weights, unit, total


def check_sums(result):
    for node in result.nodes:
        kids = result.children(node.path)
        if not kids:
            continue
        assert sum(k.value for k in kids) == node.value
        unit = result.units[node.level]
        for kid in kids:
            assert abs(Fraction(kid.value) - kid.unrounded) < Fraction(unit)
            assert (kid.value / unit) == (kid.value / unit).to_integral_value()


@given(trees())
def test_every_level_sums_exactly_to_its_parent_within_one_unit_of_each_share(tree):
    depth, children, weights, unit, total = tree
    levels = tuple(Level(f"l{i}", Method.POTENTIAL) for i in range(depth))
    result = decompose(plan(total, *levels, unit=unit), Inputs(children, potential=weights))
    check_sums(result)
    again = decompose(plan(total, *levels, unit=unit), Inputs(children, potential=weights))
    assert again.nodes == result.nodes  # a rerun gives identical output


@given(trees(), st.data())
def test_locks_hold_and_their_siblings_absorb_the_difference(tree, data):
    depth, children, weights, unit, total = tree
    kids = children[()]
    locked = data.draw(st.lists(st.sampled_from(kids), unique=True, max_size=len(kids)))
    count = int(total / unit)
    locks = {}
    for key in locked:
        part = data.draw(st.integers(0, count))
        count -= part
        locks[(key,)] = part * unit
    if len(locked) == len(kids) and locked:
        locks[(locked[-1],)] += count * unit  # all locked: make them add up
    levels = tuple(Level(f"l{i}", Method.POTENTIAL) for i in range(depth))
    result = decompose(plan(total, *levels, unit=unit), Inputs(children, potential=weights, locks=locks))
    check_sums(result)
    for path, value in locks.items():
        assert result.value(path) == value and result.node(path).locked
    free = [k for k in kids if (k,) not in locks]
    remaining = total - sum(locks.values(), D(0))
    assert sum((result.value((k,)) for k in free), D(0)) == (remaining if free else 0)
    free_weight = sum(weights[(k,)] for k in free)
    for k in free:
        exact = (Fraction(remaining) * Fraction(weights[(k,)]) / Fraction(free_weight) if free_weight
                 else Fraction(remaining) / len(free))
        assert abs(Fraction(result.value((k,))) - exact) < Fraction(unit)


def test_a_missing_table_is_one_problem_not_one_per_member():
    children = {(): ["A", "B"]}
    with pytest.raises(PlanError) as exc:
        decompose(plan(100, Level("p", Method.CAPACITY)), Inputs(children))
    assert problems(exc) == ["(total): level 1 (p) shares by capacity but no capacity was given"]


def test_net_negative_history_gets_no_share_with_a_warning():
    # Y returned more than it sold over the window: no historical share, the plan still computes
    history = History.from_records([(("X",), "2025-12", D(3)), (("Y",), "2025-12", D(-1))])
    level = Level("k", Method.HISTORICAL, window=1)
    result = decompose(plan(1000, level, unit=D(1)), Inputs({(): ["X", "Y"]}, history))
    assert (result.value(("X",)), result.value(("Y",))) == (D(1000), D(0))
    assert "returns above sales" in str(result.warnings[0]) and result.warnings[0].path == ("Y",)


def test_weights_from_an_earlier_run_give_the_same_result_and_warnings():
    # a re-balance reuses the method weights (and their warnings) of the run before: same nodes, same words
    history = History.from_records([(("X",), "2025-12", D(3)), (("Y",), "2025-12", D(-1)), (("Z",), "2025-12", D(1))])
    level = Level("k", Method.HISTORICAL, window=1)
    first = decompose(plan(1000, level, unit=D(1)), Inputs({(): ["X", "Y", "Z"]}, history))
    again = decompose(plan(1000, level, unit=D(1)), Inputs({(): ["X", "Y", "Z"]}, history, weights=first.weights,
                                                           locks={("Z",): D(100)}))
    fresh = decompose(plan(1000, level, unit=D(1)), Inputs({(): ["X", "Y", "Z"]}, history, locks={("Z",): D(100)}))
    assert again.nodes == fresh.nodes and again.warnings == fresh.warnings


@given(trees(), st.data())
def test_a_subtree_computed_alone_equals_that_subtree_of_a_whole_run(tree, data):
    # what a lock's re-balance relies on: re-computing only below the parent gives the very nodes a whole run gives
    depth, children, weights, unit, total = tree
    levels = tuple(Level(f"l{i}", Method.POTENTIAL) for i in range(depth))
    inner = [p for p in children if len(p) < depth]
    within = data.draw(st.sampled_from(inner))
    kids = children[within]
    locked = data.draw(st.lists(st.sampled_from(kids), unique=True, max_size=len(kids) - 1))
    whole_plan = plan(total, *levels, unit=unit)
    first = decompose(whole_plan, Inputs(children, potential=weights))
    parent_value = first.value(within)
    locks = {}
    room = int(parent_value / result_unit(first, len(within)))
    for key in locked:
        part = data.draw(st.integers(0, room))
        room -= part
        locks[within + (key,)] = part * result_unit(first, len(within))
    whole = decompose(whole_plan, Inputs(children, potential=weights, locks=locks))
    alone = decompose(whole_plan, Inputs(children, potential=weights, locks=locks), within=(within, parent_value))
    below = tuple(n for n in whole.nodes if len(n.path) > len(within) and n.path[:len(within)] == within)
    assert alone.nodes == below
    assert set(alone.warnings) <= set(whole.warnings)


def result_unit(result, level: int) -> Decimal:
    """The rounding unit of the children of a node at ``level``."""
    return result.units[level]


def test_within_must_name_a_node_above_the_last_level():
    children = {(): ["A", "B"]}
    with pytest.raises(ValueError, match="not a node above the last level"):
        decompose(plan(100, Level("p", Method.EQUAL)), Inputs(children), within=(("A",), D(50)))
