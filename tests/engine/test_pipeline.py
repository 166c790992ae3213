"""Sales-process analytics: a small CRM history worked by hand (a skipped stage, a reopened deal, lost and open
deals, a rep below min_deals), the bottleneck's expected gain to the cent, censoring at the cut, drill-down ids,
empty and bad inputs, invariants under Hypothesis, and the bench at a tiny size."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.engine import pipeline, pipeline_bench, pipeline_cli
from salesops.engine.pipeline import Dimension, Measure

D = Decimal
JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)

STAGES = pa.Table.from_pylist([
    {"id": 1, "code": "lead", "name": "Lead", "position": 10, "probability": D("10"), "is_won": False,
     "is_lost": False},
    {"id": 2, "code": "qualified", "name": "Qualified", "position": 20, "probability": D("25"), "is_won": False,
     "is_lost": False},
    {"id": 3, "code": "proposal", "name": "Proposal", "position": 30, "probability": D("62.5"), "is_won": False,
     "is_lost": False},
    {"id": 4, "code": "negotiation", "name": "Negotiation", "position": 40, "probability": D("80"),
     "is_won": False, "is_lost": False},
    {"id": 5, "code": "won", "name": "Won", "position": 50, "probability": D("100"), "is_won": True,
     "is_lost": False},
    {"id": 6, "code": "lost", "name": "Lost", "position": 60, "probability": D("0"), "is_won": False,
     "is_lost": True},
], schema=pipeline.STAGES_SCHEMA)
LEAD, QUALIFIED, PROPOSAL, NEGOTIATION, WON, LOST = 1, 2, 3, 4, 5, 6

# deal: owner, team, region, amount, status, expected close, path [(stage, "MM-DD" or "MM-DD HH:MM")]
# reps 1 and 2 are team 10 (region 100), rep 3 is team 20 (no region), rep 4 (team 10) has one deal
DEALS = {
    1: (1, 10, 100, "10000.00", "won", None,
        [(LEAD, "01-05"), (QUALIFIED, "01-07"), (PROPOSAL, "01-12"), (NEGOTIATION, "01-20"), (WON, "02-04")]),
    # skips Qualified (straight from Lead to Proposal), then lost
    2: (1, 10, 100, "5000.00", "lost", None, [(LEAD, "01-10"), (PROPOSAL, "01-15 12:00"), (LOST, "01-25")]),
    # reopened: Proposal → back to Qualified → Proposal again, then won
    3: (2, 10, 100, "8000.00", "won", None,
        [(LEAD, "01-20"), (QUALIFIED, "01-22"), (PROPOSAL, "01-30"), (QUALIFIED, "02-03"), (PROPOSAL, "02-10"),
         (NEGOTIATION, "02-20"), (WON, "03-01")]),
    4: (2, 10, 100, "3000.00", "lost", None, [(LEAD, "02-02"), (QUALIFIED, "02-05"), (LOST, "02-06")]),
    5: (3, 20, None, "6000.00", "open", "03-15", [(LEAD, "02-10"), (QUALIFIED, "02-12"), (PROPOSAL, "02-20")]),
    6: (3, 20, None, None, "open", "04-10", [(LEAD, "02-15")]),
    7: (3, 20, None, "12000.50", "open", "03-20",
        [(LEAD, "02-20"), (QUALIFIED, "02-21"), (PROPOSAL, "02-25"), (NEGOTIATION, "03-02")]),
    8: (2, 10, 100, "4000.00", "lost", None,
        [(LEAD, "01-25"), (QUALIFIED, "01-28"), (PROPOSAL, "02-01"), (LOST, "02-15")]),
    9: (4, 10, 100, "1000.00", "open", None, [(LEAD, "02-25")]),
}


def moment(text: str) -> dt.datetime:
    """'02-15' or '02-15 12:00' in 2026, UTC."""
    day, _, time = text.partition(" ")
    month, day_of_month = map(int, day.split("-"))
    hour, minute = map(int, (time or "00:00").split(":"))
    return dt.datetime(2026, month, day_of_month, hour, minute, tzinfo=dt.UTC)


def tables(deals: dict = DEALS) -> tuple[pa.Table, pa.Table]:
    """(opportunities with expected_close, stage_changes) from the compact description."""
    opportunities, changes = [], []
    for deal_id, (owner, team, region, amount, status, close, path) in deals.items():
        previous = None
        for stage, at in path:
            changes.append({"opportunity_id": deal_id, "from_stage_id": previous, "to_stage_id": stage,
                            "changed_at": moment(at)})
            previous = stage
        opportunities.append({
            "id": deal_id, "owner_id": owner, "team_id": team, "region_id": region,
            "created_on": moment(path[0][1]).date(),
            "closed_on": moment(path[-1][1]).date() if status != "open" else None,
            "amount": D(amount) if amount else None, "status": status, "stage_id": path[-1][0],
            "expected_close": moment(close).date() if close else None})
    schema = pipeline.OPPORTUNITIES_SCHEMA.append(pa.field("expected_close", pa.date32()))
    return (pa.Table.from_pylist(opportunities, schema=schema),
            pa.Table.from_pylist(changes, schema=pipeline.STAGE_CHANGES_SCHEMA))


OPPS, CHANGES = tables()
INPUTS = (OPPS, STAGES, CHANGES)


def ratio(text: str) -> Decimal:
    return D(text)


# -- funnel ---------------------------------------------------------------------------------------------------


def test_it_counts_the_funnel_by_hand():
    funnel = pipeline.funnel(*INPUTS)
    assert [s.code for s in funnel.stages] == ["lead", "qualified", "proposal", "negotiation"]
    total = funnel.totals()[None]
    # every deal reached Lead; Qualified: all but 6 and 9 (deal 2 skipped it but reached Proposal: it counts);
    # Proposal: 1, 2, 3, 5, 7, 8 (not 4, lost from Qualified); Negotiation: 1, 3, 7; won: 1, 3
    assert total.reached == (9, 7, 6, 3)
    assert (total.created, total.won, total.lost, total.open) == (9, 2, 3, 4)
    assert total.conversion == (D("0.7778"), D("0.8571"), D("0.5000"), D("0.6667"))
    assert total.win_rate == D("0.4000")  # 2 / (2 + 3); the open deals are left out
    assert total.cycle_days == D("35.00")  # median of 30 (deal 1) and 40 (deal 3) days
    assert (total.won_amount, total.won_priced, total.average_won) == (D("18000.00"), 2, D("9000.00"))


def test_it_counts_a_reopened_deal_once_per_stage():
    # deal 3 entered Qualified and Proposal twice: reached counts it once in each
    funnel = pipeline.funnel(*INPUTS, by="owner", cohorts=False)
    assert funnel.totals()[2].reached == (3, 3, 2, 1)  # deals 3, 4, 8
    assert pipeline.deals(*INPUTS, Measure.REACHED, stage_id=QUALIFIED) == (1, 2, 3, 4, 5, 7, 8)


def test_it_splits_the_funnel_by_creation_month():
    rows = {(r.group, r.cohort): r for r in pipeline.funnel(*INPUTS).rows}
    assert list(rows) == [(None, None), (None, JAN), (None, FEB)]
    jan, feb = rows[(None, JAN)], rows[(None, FEB)]
    # January: deals 1, 2, 3, 8 — won 1 and 3, lost 2 and 8
    assert (jan.created, jan.reached, jan.won) == (4, (4, 4, 4, 2), 2)
    assert jan.conversion == (D("1.0000"), D("1.0000"), D("0.5000"), D("1.0000"))
    assert (jan.win_rate, jan.cycle_days) == (D("0.5000"), D("35.00"))
    # February: deals 4, 5, 6, 7, 9 — nothing won yet, 4 lost
    assert (feb.created, feb.reached, feb.won, feb.lost) == (5, (5, 3, 2, 1), 0, 1)
    assert feb.conversion == (D("0.6000"), D("0.6667"), D("0.5000"), D("0.0000"))
    assert (feb.win_rate, feb.cycle_days) == (D("0.0000"), None)


def test_it_groups_deals_without_a_region_last():
    rows = pipeline.funnel(*INPUTS, by="region", cohorts=False).rows
    assert [(r.group, r.created) for r in rows] == [(100, 6), (None, 3)]


def test_it_filters_the_funnel_by_creation_date_and_gives_its_steps():
    funnel = pipeline.funnel(*INPUTS, start=FEB, end=MAR, cohorts=False)
    (row,) = funnel.rows
    steps = funnel.steps(row)
    assert [(s.stage.code, s.reached, s.converted, s.conversion) for s in steps] == [
        ("lead", 5, 3, D("0.6000")), ("qualified", 3, 2, D("0.6667")), ("proposal", 2, 1, D("0.5000")),
        ("negotiation", 1, 0, D("0.0000"))]


# -- dwell ----------------------------------------------------------------------------------------------------


def by_stage(dwell: pipeline.Dwell, group: int | None = None) -> dict[str, pipeline.DwellRow]:
    return {r.stage.code: r for r in dwell.by_group()[group]}


def test_it_gives_the_five_numbers_of_each_stage_by_hand():
    rows = by_stage(pipeline.dwell(*INPUTS))
    # Qualified stays: 5 (deal 1), 8 and 7 (deal 3, reopened: two stays), 1 (4), 8 (5), 4 (7), 4 (8)
    # sorted 1 4 4 5 7 8 8; type 7: Q1 at h = 1.5 → 4, median h = 3 → 5, Q3 h = 4.5 → 7.5
    q = rows["qualified"]
    assert (q.stays, q.in_progress) == (7, 0)
    assert q.box == (D("1.00"), D("4.00"), D("5.00"), D("7.50"), D("8.00"))
    # Proposal: 8 (1), 9.5 (2: from 12:00), 4 and 10 (3), 5 (7), 14 (8); deal 5 is still there (in progress)
    # sorted 4 5 8 9.5 10 14; Q1 h = 1.25 → 5.75; median h = 2.5 → 8.75; Q3 h = 3.75 → 9.875 → 9.88 (half up)
    p = rows["proposal"]
    assert (p.stays, p.in_progress) == (6, 1)
    assert p.box == (D("4.00"), D("5.75"), D("8.75"), D("9.88"), D("14.00"))
    assert (p.median, p.p75) == (D("8.75"), D("9.88"))
    # Lead: deals 6 and 9 are still in it; Negotiation: 15 (1) and 9 (3); deal 7 is in it
    assert (rows["lead"].stays, rows["lead"].in_progress) == (7, 2)
    assert rows["lead"].median == D("2.00")
    n = rows["negotiation"]
    assert (n.stays, n.in_progress, n.q1, n.median, n.q3) == (2, 1, D("10.50"), D("12.00"), D("13.50"))


def test_it_leaves_stays_running_at_the_cut_out_of_the_figures():
    # February, cut at its last day: the change at 03-01 00:00 (deal 3 won) is after the cut, so deal 3 was still
    # in Negotiation then; deal 7 was in Proposal (its Negotiation starts 03-02)
    dwell = pipeline.dwell(*INPUTS, start=FEB, end=MAR)
    assert dwell.as_of == dt.date(2026, 2, 28)
    rows = by_stage(dwell)
    # Proposal stays that ended in February: 4 (deal 3, ended 02-03), 10 (deal 3), 14 (deal 8)
    p = rows["proposal"]
    assert (p.stays, p.in_progress, p.minimum, p.median, p.maximum) == (3, 2, D("4.00"), D("10.00"), D("14.00"))
    n = rows["negotiation"]
    assert (n.stays, n.in_progress, n.median) == (1, 1, D("15.00"))
    assert pipeline.deals(*INPUTS, Measure.IN_STAGE, stage_id=PROPOSAL, start=FEB, end=MAR) == (5, 7)
    assert pipeline.deals(*INPUTS, Measure.DWELT, stage_id=PROPOSAL, start=FEB, end=MAR) == (3, 8)
    # a stay that ends exactly at the start of the range (deal 8 left Qualified at 02-01 00:00) is in it
    assert pipeline.deals(*INPUTS, "dwelt", stage_id=QUALIFIED, start=FEB, end=MAR) == (3, 4, 5, 7, 8)


def test_it_reads_naive_timestamps_as_utc():
    naive = CHANGES.set_column(3, "changed_at", CHANGES.column("changed_at").cast(pa.timestamp("us")))
    assert pipeline.dwell(OPPS, STAGES, naive, start=FEB, end=MAR) == pipeline.dwell(*INPUTS, start=FEB, end=MAR)


def test_it_gives_every_stage_of_every_group():
    dwell = pipeline.dwell(*INPUTS, by="owner")
    assert [(r.group, r.stage.code) for r in dwell.rows][:5] == [
        (1, "lead"), (1, "qualified"), (1, "proposal"), (1, "negotiation"), (2, "lead")]
    owner2 = by_stage(dwell, 2)
    # rep 2's Qualified stays: 8 and 7 (deal 3), 1 (4), 4 (8) → 1 4 7 8, median 5.5
    assert (owner2["qualified"].stays, owner2["qualified"].median) == (4, D("5.50"))
    assert by_stage(dwell, 4)["lead"].box == (None,) * 5  # rep 4's only deal is still in Lead
    assert by_stage(dwell, 4)["lead"].in_progress == 1


# -- bottlenecks ----------------------------------------------------------------------------------------------


def test_it_finds_each_reps_bottleneck_and_its_expected_gain_to_the_cent():
    found = pipeline.bottlenecks(*INPUTS, by="owner", min_deals=2)
    assert found.not_judged == (4,)  # one deal only
    rows = {b.group: b for b in found.rows}
    assert [b.group for b in found.rows] == [3, 2, 1]  # by expected gain
    # company: reached 9, 7, 6, 3, won 2 → Qualified converts 6/7, Negotiation 2/3
    # rep 2 (deals 3, 4, 8): Qualified 2 of 3 move on; ratio (2/3)/(6/7) = 7/9, its lowest
    gap = rows[2].conversion
    assert (gap.stage.code, gap.reached, gap.converted) == ("qualified", 3, 2)
    assert (gap.conversion, gap.benchmark, gap.ratio) == (D("0.6667"), D("0.8571"), D("0.7778"))
    # extra = 3 × 6/7 − 2 = 4/7 deals; of rep 2's 2 deals that reached Proposal, 1 was won: downstream 1/2;
    # its average won deal 8,000: gain = 4/7 × 1/2 × 8000 = 2285.714… → 2285.71
    assert (gap.extra_deals, gap.downstream, gap.average_won) == (D("0.57"), D("0.5000"), D("8000.00"))
    assert gap.expected_gain == D("2285.71")
    assert gap.message == ("Qualified: 67% of deals move on, against 86% company-wide; matching it would bring "
                           "about 2285.71 more revenue")
    # rep 3 (deals 5, 6, 7) won nothing: at Negotiation 0 of 1 (ratio 0); extra = 1 × 2/3; nobody of rep 3
    # reached won, so downstream is the company's won / reached won = 1; no won deal of its own, so the company's
    # average 9,000: gain = 2/3 × 1 × 9000 = 6000.00
    gap3 = rows[3].conversion
    assert (gap3.stage.code, gap3.ratio, gap3.downstream, gap3.average_won, gap3.expected_gain) == (
        "negotiation", D("0.0000"), D("1.0000"), D("9000.00"), D("6000.00"))
    # rep 1 converts at or above the company everywhere (Proposal 1/2 = the company's 1/2)
    assert rows[1].conversion is None
    assert pipeline.deals(*INPUTS, "converted", by="owner", group=2, stage_id=QUALIFIED) == (3, 8)


def test_it_names_the_stage_where_a_rep_stays_longest_against_the_company():
    found = pipeline.bottlenecks(*INPUTS, by="owner", min_deals=2)
    gaps = {b.group: b.dwell for b in found.rows}
    # company medians: Lead 2, Qualified 5, Proposal 8.75, Negotiation 12; rep 1: Lead 2 and 5.5 → 3.75 (1.875×),
    # Qualified 5 (1×), Proposal 8 and 9.5 → 8.75 (1×), Negotiation 15 (1.25×)
    gap = gaps[1]
    assert (gap.stage.code, gap.median, gap.benchmark, gap.ratio, gap.excess_days) == (
        "lead", D("3.75"), D("2.00"), D("1.8750"), D("1.75"))
    assert gap.message == "Lead: a stay lasts 3.75 days at the median, against 2.00 days company-wide"


def test_it_judges_no_group_below_min_deals():
    found = pipeline.bottlenecks(*INPUTS, by="team", min_deals=4)
    assert [b.group for b in found.rows] == [10]
    assert found.not_judged == (20,)


# -- velocity -------------------------------------------------------------------------------------------------


def test_it_computes_velocity_and_its_change_by_hand():
    v = pipeline.velocity(*INPUTS, start=FEB, end=MAR, qualified_position=20)
    assert v.previous_start == JAN
    now, before = v.company.current, v.company.previous
    # February: closed 1 (won), 4 and 8 (lost); open at 03-01 at Qualified or later: 3 (won only at 03-01,
    # in Negotiation until then), 5 and 7 (Proposal); deals 6 and 9 are in Lead
    assert (now.open_qualified, now.won, now.lost, now.win_rate) == (3, 1, 2, D("0.3333"))
    assert (now.average_won, now.cycle_days) == (D("10000.00"), D("30.00"))
    assert now.velocity == D("333.33")  # 3 × 1/3 × 10000 / 30
    # January: deal 2 lost; open at 02-01: 1 (Negotiation), 3 (Proposal), 8 (Qualified: its move to Proposal
    # at 02-01 00:00 is not before the end)
    assert (before.open_qualified, before.won, before.lost, before.win_rate, before.velocity) == (
        3, 0, 1, D("0.0000"), None)
    assert v.company.open_qualified == pipeline.Change(D(3), D(3), D(0), D("0.0000"))
    assert v.company.win_rate == pipeline.Change(D("0.3333"), D("0.0000"), D("0.3333"), None)
    assert v.company.velocity.absolute is None
    assert pipeline.deals(*INPUTS, "open_qualified", start=FEB, end=MAR, qualified_position=20) == (3, 5, 7)


def test_it_gives_velocity_per_team():
    v = pipeline.velocity(*INPUTS, start=FEB, end=MAR, by=Dimension.TEAM, qualified_position=20)
    rows = {r.group: r for r in v.rows}
    assert rows[10].current.velocity == D("111.11")  # 1 open qualified (deal 3) × 1/3 × 10000 / 30
    assert (rows[20].current.open_qualified, rows[20].current.win_rate, rows[20].current.velocity) == (2, None, None)
    # a relative change: team 10 had 3 open qualified deals at 02-01 and 1 at 03-01
    assert rows[10].open_qualified.relative == D("-0.6667")


def test_it_refuses_a_previous_period_that_is_not_before():
    with pytest.raises(ValueError, match="previous_start < start < end"):
        pipeline.velocity(*INPUTS, start=FEB, end=MAR, previous_start=FEB)


# -- weighted pipeline and coverage ---------------------------------------------------------------------------


def test_it_weights_the_open_pipeline_by_stage_probability_exactly():
    w = pipeline.weighted_pipeline(OPPS, STAGES, by="team")
    # open: 5 (Proposal 62.5 %: 6000 → 3750), 6 (Lead, no amount), 7 (Negotiation 80 %: 12000.50 → 9600.40),
    # 9 (Lead 10 %: 1000 → 100)
    assert (w.company.deals, w.company.unpriced) == (4, 1)
    assert (w.company.unweighted, w.company.weighted) == (D("19000.50"), D("13450.40"))
    assert [(c.group, c.close, c.deals, c.unweighted, c.weighted) for c in w.cells] == [
        (10, None, 1, D("1000.00"), D("100.00")),
        (20, MAR, 2, D("18000.50"), D("13350.40")),
        (20, dt.date(2026, 4, 1), 1, D("0.00"), D("0.00"))]
    assert [(g.group, g.weighted) for g in w.groups] == [(10, D("100.00")), (20, D("13350.40"))]
    assert pipeline.deals(OPPS, STAGES, None, "pipeline", by="team", group=20, close=MAR) == (5, 7)


def test_it_groups_the_pipeline_by_quarter():
    w = pipeline.weighted_pipeline(OPPS, STAGES, close_period="quarter")
    assert [(c.close, c.deals) for c in w.cells] == [(JAN, 2), (dt.date(2026, 4, 1), 1), (None, 1)]


def test_it_computes_coverage():
    assert pipeline.coverage(D("13450.40"), D("5000")) == D("2.6901")  # 2.69008
    assert pipeline.coverage(D("100"), 0) is None
    assert pipeline.coverage(D("100"), D("-5")) is None
    with pytest.raises(TypeError):
        pipeline.coverage(1.5, D("10"))  # type: ignore[arg-type]  # the refusal is what is tested


# -- drill-down, empty and bad inputs -------------------------------------------------------------------------


def test_it_lists_the_deals_behind_funnel_figures():
    assert pipeline.deals(*INPUTS, "won", cohort=JAN) == (1, 3)
    assert pipeline.deals(*INPUTS, "created", by="team", group=20) == (5, 6, 7)
    assert pipeline.deals(*INPUTS, "open", by="region", group=None) == (5, 6, 7)
    assert pipeline.deals(*INPUTS, "cycle") == (1, 3)
    with pytest.raises(ValueError, match="not an open stage"):
        pipeline.deals(*INPUTS, "reached", stage_id=WON)


def test_it_handles_empty_inputs():
    opps, changes = OPPS.slice(0, 0), CHANGES.slice(0, 0)
    assert pipeline.funnel(opps, STAGES, changes).rows == ()
    assert pipeline.dwell(opps, STAGES, changes).rows == ()
    assert pipeline.bottlenecks(opps, STAGES, changes).rows == ()
    empty = pipeline.weighted_pipeline(opps, STAGES)
    assert (empty.cells, empty.company.deals, empty.company.weighted) == ((), 0, D("0.00"))
    v = pipeline.velocity(opps, STAGES, changes, start=FEB, end=MAR)
    assert (v.company.current.open_qualified, v.company.current.velocity) == (0, None)
    assert pipeline.deals(opps, STAGES, changes, "reached", stage_id=LEAD) == ()


def test_it_lists_every_bad_row():
    bad = OPPS.set_column(OPPS.schema.get_field_index("status"), "status",
                          pa.array(["won", "lost", "won", "lost", "open", "open", "pending", "lost", "open"]))
    bad_changes = pa.concat_tables([CHANGES, pa.Table.from_pylist(
        [{"opportunity_id": 9, "from_stage_id": 1, "to_stage_id": 42, "changed_at": moment("02-26")}],
        schema=pipeline.STAGE_CHANGES_SCHEMA)])
    with pytest.raises(pipeline.PipelineInputError) as error:
        pipeline.funnel(bad, STAGES, bad_changes)
    assert error.value.problems == ["opportunities: id 7: status pending is not open, won or lost",
                                    "stage_changes: opportunity 9: no such stage 42 or no changed_at"]
    with pytest.raises(pipeline.PipelineInputError, match="opportunities: needs a column stage_id"):
        pipeline.funnel(OPPS.drop_columns(["stage_id"]), STAGES, CHANGES)
    twice = pa.concat_tables([OPPS, OPPS.slice(0, 1)])
    with pytest.raises(pipeline.PipelineInputError, match="opportunities: id 1 appears more than once"):
        pipeline.dwell(twice, STAGES, CHANGES)


# -- invariants -----------------------------------------------------------------------------------------------

OPEN_STAGES = [LEAD, QUALIFIED, PROPOSAL, NEGOTIATION]

deal = st.tuples(
    st.integers(1, 3),  # owner
    st.sampled_from([10, 20, None]),  # team
    st.integers(0, 80),  # created, days after 2026-01-01
    # the path: (stage, µs until the next change) — zero (two changes at the same instant) now and then
    st.lists(st.tuples(st.sampled_from(OPEN_STAGES), st.one_of(st.just(0), st.integers(1, 30 * 86_400_000_000))),
             min_size=1, max_size=6),
    st.sampled_from(["open", "won", "lost"]),
    st.one_of(st.none(), st.integers(0, 10_000_000)),  # amount in cents
    st.one_of(st.none(), st.integers(0, 200)),  # expected close, days after creation
)


def random_tables(deals: list[tuple]) -> tuple[pa.Table, pa.Table]:
    opportunities, changes = [], []
    for deal_id, (owner, team, created, path, status, cents, close) in enumerate(deals, start=1):
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=created)
        previous = None
        steps = list(path) + ([(WON if status == "won" else LOST, 0)] if status != "open" else [])
        for stage, us in steps:
            changes.append({"opportunity_id": deal_id, "from_stage_id": previous, "to_stage_id": stage,
                            "changed_at": at})
            previous, at = stage, at + dt.timedelta(microseconds=us)
        last = changes[-1]["changed_at"]
        opportunities.append({
            "id": deal_id, "owner_id": owner, "team_id": team, "region_id": None,
            "created_on": dt.date(2026, 1, 1) + dt.timedelta(days=created),
            "closed_on": last.date() if status != "open" else None,
            "amount": D(cents).scaleb(-2) if cents is not None else None, "status": status,
            "stage_id": previous,
            "expected_close": dt.date(2026, 1, 1) + dt.timedelta(days=created + close) if close is not None else None})
    schema = pipeline.OPPORTUNITIES_SCHEMA.append(pa.field("expected_close", pa.date32()))
    return (pa.Table.from_pylist(opportunities, schema=schema),
            pa.Table.from_pylist(changes, schema=pipeline.STAGE_CHANGES_SCHEMA))


@settings(max_examples=30, deadline=None)
@given(st.lists(deal, max_size=12), st.sampled_from(list(Dimension)))
def test_its_funnel_keeps_its_invariants(deals, by):
    opps, changes = random_tables(deals)
    with pipeline.Pipeline(opps, STAGES, changes) as p:
        funnel = p.funnel(by=by)
        company = p.funnel(cohorts=False).totals()
    for row in funnel.rows:
        assert all(a >= b for a, b in zip(row.reached, (*row.reached[1:], row.won), strict=True))
        assert all(c is None or 0 <= c <= 1 for c in (*row.conversion, row.win_rate))
        assert row.created == row.won + row.lost + row.open
        assert row.won <= row.reached[-1] <= row.reached[0] <= row.created
    totals = funnel.totals()
    if company:
        assert tuple(map(sum, zip(*(r.reached for r in totals.values()), strict=True))) == company[None].reached


@settings(max_examples=30, deadline=None)
@given(st.lists(deal, max_size=12), st.sampled_from(list(Dimension)))
def test_its_weighted_pipeline_adds_up_exactly_and_stays_below_the_unweighted(deals, by):
    opps, _ = random_tables(deals)
    w = pipeline.weighted_pipeline(opps, STAGES, by=by)
    assert sum((g.weighted for g in w.groups), D(0)) == w.company.weighted
    assert sum((g.unweighted for g in w.groups), D(0)) == w.company.unweighted
    assert sum((c.weighted for c in w.cells), D(0)) == w.company.weighted
    for cell in (*w.cells, *w.groups, w.company):
        assert 0 <= cell.weighted <= cell.unweighted


def shuffle(table: pa.Table, rnd: random.Random) -> pa.Table:
    return table.take(pa.array(rnd.sample(range(table.num_rows), table.num_rows), pa.int64()))


def everything(opps: pa.Table, stages: pa.Table, changes: pa.Table) -> tuple:
    with pipeline.Pipeline(opps, stages, changes) as p:
        return (p.funnel(by="owner"), p.dwell(by="team"), p.bottlenecks(min_deals=1),
                p.velocity(start=FEB, end=MAR, by="owner"), p.weighted_pipeline(by="owner"),
                p.deals("reached", stage_id=PROPOSAL), p.deals("dwelt", stage_id=QUALIFIED))


@settings(max_examples=25, deadline=None)
@given(st.lists(deal, max_size=10), st.randoms(use_true_random=False))
def test_its_results_do_not_depend_on_the_row_order(deals, rnd: random.Random):
    opps, changes = random_tables(deals)
    assert everything(opps, STAGES, changes) == everything(*(shuffle(t, rnd) for t in (opps, STAGES, changes)))


@settings(max_examples=25, deadline=None)
@given(st.lists(deal, max_size=12))
def test_its_dwell_quartiles_are_ordered_and_count_every_stay(deals):
    opps, changes = random_tables(deals)
    with pipeline.Pipeline(opps, STAGES, changes) as p:
        company, by_owner = p.dwell(), p.dwell(by="owner")
    for row in company.rows + by_owner.rows:
        figures = row.box
        if row.stays:
            assert figures[0] <= figures[1] <= figures[2] <= figures[3] <= figures[4]
        else:
            assert figures == (None,) * 5
    for stage in company.stages:
        assert sum(r.stays for r in by_owner.rows if r.stage == stage) == \
            sum(r.stays for r in company.rows if r.stage == stage)


def type7(values: list[int], quarter: int) -> Fraction:
    """The type-7 quantile quarter/4 of the sorted values, by the book."""
    h = Fraction((len(values) - 1) * quarter, 4)
    low = h.numerator // h.denominator
    return values[low] + (h - low) * (values[low + 1] - values[low]) if h != low else Fraction(values[low])


def days(value: Fraction) -> Decimal:
    exact = value / 86_400_000_000 * 100
    return D((2 * exact.numerator + exact.denominator) // (2 * exact.denominator)).scaleb(-2)


@settings(max_examples=30, deadline=None)
@given(st.lists(deal, max_size=12))
def test_its_dwell_figures_equal_a_computation_by_the_book(deals):
    opps, changes = random_tables(deals)
    rank = {row["id"]: (row["position"], row["id"]) for row in STAGES.to_pylist()}
    status = {row["id"]: row["status"] for row in opps.to_pylist()}
    stays: dict[int, list[int]] = {s: [] for s in OPEN_STAGES}
    waiting: dict[int, int] = {s: 0 for s in OPEN_STAGES}
    by_deal: dict[int, list[dict]] = {}
    for change in changes.to_pylist():
        by_deal.setdefault(change["opportunity_id"], []).append(change)
    for deal_id, rows in by_deal.items():
        rows.sort(key=lambda c: (c["changed_at"], c["from_stage_id"] is not None, rank[c["to_stage_id"]]))
        for this, following in zip(rows, [*rows[1:], None], strict=True):
            if this["to_stage_id"] not in stays:
                continue
            if following is not None:
                stays[this["to_stage_id"]].append((following["changed_at"] - this["changed_at"]) // dt.timedelta(
                    microseconds=1))
            elif status[deal_id] == "open":
                waiting[this["to_stage_id"]] += 1
    rows = {r.stage.id: r for r in pipeline.dwell(opps, STAGES, changes).rows}
    for stage in OPEN_STAGES:
        values = sorted(stays[stage])
        if not values and not waiting[stage]:
            assert stage not in rows or (rows[stage].stays, rows[stage].in_progress) == (0, 0)
            continue
        expected = tuple(days(type7(values, q)) for q in range(5)) if values else (None,) * 5
        assert (rows[stage].stays, rows[stage].in_progress, rows[stage].box) == (len(values), waiting[stage], expected)


# -- the bench ------------------------------------------------------------------------------------------------


def test_the_bench_generates_the_same_history_for_the_same_seed():
    once = pipeline_bench.generate(400, seed=2)
    again = pipeline_bench.generate(400, seed=2)
    assert all(a.equals(b) for a, b in zip(once, again, strict=True))
    opps, _, changes = once
    assert opps.num_rows == 400
    assert 4 * 400 < changes.num_rows < 6 * 400  # about five changes per deal
    funnel = pipeline.funnel(*once, cohorts=False)
    assert funnel.totals()[None].reached[0] == 400


def test_the_bench_runs_and_prints_its_figures(capsys):
    assert pipeline_cli.main(["bench", "--opportunities", "300", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "300 opportunities" in out
    assert "funnel + dwell, one after the other" in out
    assert "≤ 300 ms" in out
    for name in ("bottlenecks", "velocity", "weighted pipeline"):
        assert name in out
