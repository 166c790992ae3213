"""Sales-process analytics through the pages: every figure on hand-made deals moved at fixed times — funnel,
cohorts, dwell, bottlenecks, velocity, weighted pipeline and coverage, record completeness, quote turnaround —
and each number's drill-down lists exactly the deals behind it.

The March 2026 book (times 09:00 UTC, the same day in Shanghai; stages Lead → Qualified → Proposal → Won/Lost):

| deal | owner (team)  | path                                                   | amount  | expected close |
|------|---------------|--------------------------------------------------------|---------|----------------|
| a1   | Alice (A)     | Lead 03-02, Qualified 03-04, Proposal 03-10, Won 03-20 | 10,000  |                |
| a2   | Alice (A)     | Lead 03-03, Qualified 03-05, Lost 03-08                |         |                |
| a3   | Alice (A)     | Lead 03-05 (open)                                      |         |                |
| m1   | Amy (A)       | Lead 03-02, Qualified 03-12, Proposal 03-15 (open)     | 20,000  | 2026-03-31     |
| b1   | Bob (B)       | Lead 03-02, Qualified 03-03, Proposal 03-04, Won 03-10 | 30,000  |                |
| b2   | Bob (B)       | Lead 03-04, Lost 03-06                                 |         |                |
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape
from types import SimpleNamespace

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from salesops.crm import services as crm
from salesops.crm.models import Contact, ContactRole

D = Decimal
MARCH = {"period": "2026-03"}
PAGES = ("crm:analytics", "crm:analytics-funnel", "crm:analytics-dwell", "crm:analytics-bottlenecks",
         "crm:analytics-velocity", "crm:analytics-pipeline", "crm:analytics-completeness", "crm:analytics-quotes")


TODAY = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)  # pages read today: the default period, cut and trend


@pytest.fixture(autouse=True)
def fixed_today():
    with time_machine.travel(TODAY, tick=False):
        yield


def at(day: str) -> dt.datetime:
    month, day_of_month = map(int, day.split("-"))
    return dt.datetime(2026, month, day_of_month, 9, 0, tzinfo=dt.UTC)


def as_user(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def deal(world, stages, owner, path, name, **fields):
    """A deal of ``owner``'s customer created in the first stage of ``path`` and moved through the rest, each at
    its day; ``fields`` (amount, expected close, decision maker) come with the first move, a reason with a loss."""
    customer = world.customers.b if owner == "bob" else world.customers.a
    (first, created), *moves = path
    opp = crm.opportunity_create(actor=None, customer=customer, owner=world.people[owner], name=name,
                                 stage=getattr(stages, first), at=at(created))
    for i, (stage, day) in enumerate(moves):
        extra = dict(fields) if i == 0 else {}
        if stage == "lost":
            extra["lost_reason"] = "价格"
        opp = crm.opportunity_move(actor=None, opportunity=opp, stage=getattr(stages, stage), at=at(day), **extra)
    return opp


@pytest.fixture
def book(world, stages):
    return make_book(world, stages)


def make_book(world, stages) -> SimpleNamespace:
    """The deals of the module's table, each moved at its days."""
    boss_a = Contact.objects.create(customer=world.customers.a, name="钱总", role=ContactRole.DECISION_MAKER)
    boss_b = Contact.objects.create(customer=world.customers.b, name="孙总", role=ContactRole.DECISION_MAKER)
    close = dt.date(2026, 3, 31)
    return SimpleNamespace(
        a1=deal(world, stages, "alice", [("lead", "03-02"), ("qualified", "03-04"), ("proposal", "03-10"),
                                               ("won", "03-20")], "a1 甲公司 CRM",
                amount=D("10000.00"), expected_close=close, decision_maker=boss_a),
        a2=deal(world, stages, "alice", [("lead", "03-03"), ("qualified", "03-05"), ("lost", "03-08")],
                "a2 甲公司 BI", expected_close=close),
        a3=deal(world, stages, "alice", [("lead", "03-05")], "a3 甲公司 OA"),
        m1=deal(world, stages, "amy", [("lead", "03-02"), ("qualified", "03-12"), ("proposal", "03-15")],
                "m1 甲公司 ERP", amount=D("20000.00"), expected_close=close, decision_maker=boss_a),
        b1=deal(world, stages, "bob", [("lead", "03-02"), ("qualified", "03-03"), ("proposal", "03-04"),
                                             ("won", "03-10")], "b1 乙公司 CRM",
                amount=D("30000.00"), expected_close=close, decision_maker=boss_b),
        b2=deal(world, stages, "bob", [("lead", "03-04"), ("lost", "03-06")], "b2 乙公司 BI"),
    )


def page(client, name, **params):
    response = client.get(reverse(name), params)
    assert response.status_code == 200, response.content[:2000]
    return response


def link(response, testid: str) -> str:
    """The address of the link with ``data-testid=testid``."""
    found = re.search(rf'<a href="([^"]+)" data-testid="{re.escape(testid)}">([^<]*)</a>', response.content.decode())
    assert found, f"no link {testid}"
    return unescape(found.group(1))


def text(response, testid: str) -> str:
    found = re.search(rf'<a href="[^"]+" data-testid="{re.escape(testid)}">([^<]*)</a>', response.content.decode())
    assert found, f"no link {testid}"
    return unescape(found.group(1))


def drill(client, response, testid: str) -> set[str]:
    """Follow a number's link: the names of the deals listed."""
    listed = client.get(link(response, testid))
    assert listed.status_code == 200
    return {row[0]["text"].split(" ")[0] for row in listed.context["rows"]}


def ids(*deals) -> set[str]:
    return {d.name.split(" ")[0] for d in deals}


def chart(response, chart_id: str) -> dict:
    return next(c for c in response.context["charts"] if c["id"] == chart_id)


def test_it_renders_every_page_by_every_dimension(book, ops_olivia):
    client = as_user(ops_olivia)
    for name in PAGES:
        for by in ("owner", "team", "region", "company"):
            page(client, name, by=by, **MARCH)


def test_it_starts_on_the_current_quarter_by_rep(book, ops_olivia):
    response = page(as_user(ops_olivia), "crm:analytics")
    assert response.context["form"].cleaned_data["by"] == "owner"
    assert response.context["r"].period.code == "2026-Q2"
    # bottlenecks need enough deals: the year to date
    assert page(as_user(ops_olivia), "crm:analytics-bottlenecks").context["r"].period.code == "FY2026-YTD"


def test_a_page_keeps_its_default_period_when_other_controls_are_set(book, ops_olivia):
    client = as_user(ops_olivia)
    for params in ({"by": "team"}, {"by": "region", "min_deals": "3"}, {"period": ""}):
        assert page(client, "crm:analytics-bottlenecks", **params).context["r"].period.code == "FY2026-YTD"
        assert page(client, "crm:analytics-funnel", **params).context["r"].period.code == "2026-Q2"
    assert page(client, "crm:analytics-bottlenecks", by="team", **MARCH).context["r"].period.code == "2026-03"


def test_the_period_box_holds_every_period_code(book, ops_olivia):
    html = page(as_user(ops_olivia), "crm:analytics-bottlenecks").content.decode()
    box = re.search(r'<input [^>]*name="period"[^>]*>', html).group(0)
    assert 'size="12"' in box and 'maxlength="16"' in box  # "FY2026-YTD" and "2026-Q4" show whole


# -- funnel --------------------------------------------------------------------------------------------------------
def test_the_funnel_counts_what_each_rep_and_the_company_reached(book, world, ops_olivia):
    response = page(as_user(ops_olivia), "crm:analytics-funnel", by="owner", **MARCH)
    alice, bob = world.people["alice"].pk, world.people["bob"].pk
    # Alice: 3 created; Lead 3 → Qualified 2 (a1, a2) → Proposal 1 (a1) → won 1; a2 lost, a3 open
    assert [text(response, f"reached-{s}-group-{alice}") for s in ("lead", "qualified", "proposal")] == ["3", "2", "1"]
    assert text(response, f"win-rate-group-{alice}") == "50.0%"
    assert text(response, f"cycle-group-{alice}") == "18 d"  # created 03-02, won 03-20
    assert text(response, f"cycle-group-{bob}") == "8 d"
    # the company: 6 created; Lead 6 → Qualified 4 → Proposal 3 → won 2; 2 won, 2 lost
    assert [text(response, f"reached-{s}-company-none") for s in ("lead", "qualified", "proposal")] == ["6", "4", "3"]
    assert text(response, "won-company-none") == "2"
    assert text(response, "win-rate-company-none") == "50.0%"
    assert text(response, "cycle-company-none") == "13 d"  # the median of 18 and 8
    rows = {row["line"].label: row for row in response.context["rows"]}
    assert [step["conversion"].text for step in rows["Company"]["steps"]] == ["66.7%", "75.0%", "66.7%"]
    assert list(rows) == ["李丽 (E101)", "周敏 (E102)", "张伟 (E201)", "Company"]  # by employee number


def test_each_funnel_number_lists_exactly_its_deals(book, world, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-funnel", by="owner", **MARCH)
    alice, bob = world.people["alice"].pk, world.people["bob"].pk
    assert drill(client, response, f"reached-qualified-group-{alice}") == ids(book.a1, book.a2)
    assert drill(client, response, f"created-group-{bob}") == ids(book.b1, book.b2)
    assert drill(client, response, "win-rate-company-none") == ids(book.a1, book.a2, book.b1, book.b2)
    assert drill(client, response, "cycle-company-none") == ids(book.a1, book.b1)
    assert drill(client, response, "reached-proposal-company-none") == ids(book.a1, book.m1, book.b1)
    listed = client.get(link(response, f"reached-qualified-group-{alice}"))
    assert listed.context["count"] == 2
    assert "李丽 (E101) · reached Qualified · 2026-03-01 to 2026-03-31" in listed.context["description"]
    assert reverse("crm:opportunity", args=[book.a1.pk]) in listed.content.decode()


def test_the_drill_down_exports_its_deals(book, world, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-funnel", by="owner", **MARCH)
    csv = client.get(link(response, "created-company-none") + "&format=csv")
    assert csv.status_code == 200
    text_ = csv.content.decode("utf-8-sig")
    assert all(d.name in text_ for d in vars(book).values())


def test_the_cohorts_and_the_funnel_chart_lead_to_their_deals(book, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-funnel", by="team", **MARCH)
    assert text(response, "cohort-created-2026-03") == "6"
    assert drill(client, response, "cohort-created-2026-03") == ids(*vars(book).values())
    funnel = chart(response, "chart-funnel")
    assert [(item["name"], item["value"]) for item in funnel["items"]] == [
        ("Lead", 6), ("Qualified", 4), ("Proposal", 3), ("Won", 2)]
    listed = client.get(funnel["items"][2]["url"])
    assert {row[0]["text"].split(" ")[0] for row in listed.context["rows"]} == ids(book.a1, book.m1, book.b1)
    cohorts = chart(response, "chart-cohorts")
    assert cohorts["x"] == ["2026-03"]
    assert cohorts["series"][-1]["data"] == [D("0.5000")]  # the March cohort's win rate


def test_a_deal_created_in_another_period_is_not_in_the_funnel(book, world, stages, ops_olivia):
    deal(world, stages, "alice", [("lead", "04-02")], "x 甲公司 四月")
    client = as_user(ops_olivia)
    assert text(page(client, "crm:analytics-funnel", by="company", **MARCH), "created-company-none") == "6"
    april = page(client, "crm:analytics-funnel", by="company", start="2026-04-01", end="2026-04-30")
    assert text(april, "created-company-none") == "1"


# -- dwell ---------------------------------------------------------------------------------------------------------
def test_dwell_gives_median_and_p75_of_the_stays_per_stage(book, world, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-dwell", by="owner", **MARCH)
    alice = world.people["alice"].pk
    # Qualified stays that ended in March: a1 6 d, a2 3 d, m1 3 d, b1 1 d → median 3, p75 3.75 (type 7)
    assert text(response, "median-qualified-company-none") == "3 d"
    rows = {row["line"].kind: row for row in response.context["rows"]}
    assert rows["company"]["stages"][1]["p75"].text == "3.75 d"
    # Alice: 6 and 3 → median 4.5, p75 5.25
    assert text(response, f"median-qualified-group-{alice}") == "4.5 d"
    assert drill(client, response, f"stays-qualified-group-{alice}") == ids(book.a1, book.a2)
    # a3 still in Lead, m1 still in Proposal at the cut: counted apart, not in the figures
    assert drill(client, response, "in-stage-lead-company-none") == ids(book.a3)
    assert drill(client, response, "in-stage-proposal-company-none") == ids(book.m1)
    boxes = chart(response, "chart-dwell")
    company = next(s for s in boxes["series"] if s["name"] == "Company")
    assert company["data"][1] == [D("1.00"), D("2.50"), D("3.00"), D("3.75"), D("6.00")]  # min, Q1, median, Q3, max


def test_the_box_plot_draws_the_groups_slowest_against_the_company(book, ops_olivia, monkeypatch):
    from salesops.crm import analytics_query

    # medians against the company's (Lead 2 d, Qualified 3 d, Proposal 8 d): Amy 10 d in Lead (5×, one stay),
    # Alice 4.5 d in Qualified (1.5×), Bob at most 0.75× — Amy is the slowest, then Alice
    client = as_user(ops_olivia)
    monkeypatch.setattr(analytics_query, "CHARTED_GROUPS", 1)
    monkeypatch.setattr(analytics_query, "CHARTED_MIN_STAYS", 1)
    response = page(client, "crm:analytics-dwell", by="owner", **MARCH)
    assert [s["name"] for s in chart(response, "chart-dwell")["series"]] == ["Company", "周敏 (E102)"]
    note = response.content.decode()
    assert "Box plots of the company and of the group (of 3) whose median stay in some stage, over at least 1 " \
           "stays, is furthest above" in note
    assert len(response.context["rows"]) == 4  # the table keeps every group
    # a median of one stay does not count when two are asked for: Alice's 1.5× in Qualified leads
    monkeypatch.setattr(analytics_query, "CHARTED_MIN_STAYS", 2)
    response = page(client, "crm:analytics-dwell", by="owner", **MARCH)
    assert [s["name"] for s in chart(response, "chart-dwell")["series"]] == ["Company", "李丽 (E101)"]
    # with room for every group, every group is drawn
    monkeypatch.setattr(analytics_query, "CHARTED_GROUPS", 5)
    monkeypatch.setattr(analytics_query, "CHARTED_MIN_STAYS", 1)
    response = page(client, "crm:analytics-dwell", by="owner", **MARCH)
    assert [s["name"] for s in chart(response, "chart-dwell")["series"]] == [
        "Company", "周敏 (E102)", "李丽 (E101)", "张伟 (E201)"]
    assert "Box plots of the company and of every group." in response.content.decode()


def test_a_cut_before_a_move_leaves_the_stay_in_progress(book, ops_olivia):
    client = as_user(ops_olivia)
    # as of 03-09, a1 (Qualified 03-04 → Proposal 03-10) and m1 (Qualified from 03-12) are not out of Qualified
    response = page(client, "crm:analytics-dwell", by="company", as_of="2026-03-09", **MARCH)
    assert drill(client, response, "in-stage-qualified-company-none") == ids(book.a1)
    assert drill(client, response, "stays-qualified-company-none") == ids(book.a2, book.b1)
    assert text(response, "median-qualified-company-none") == "2 d"  # a2 3 days, b1 1 day


# -- bottlenecks ---------------------------------------------------------------------------------------------------
def test_the_bottleneck_names_the_stage_and_the_revenue_matching_the_company_would_bring(book, world, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-bottlenecks", by="owner", min_deals=1, **MARCH)
    alice, bob, amy = (world.people[k].pk for k in ("alice", "bob", "amy"))
    rows = {row["line"].group: row for row in response.context["rows"]}
    # Alice moves 1 of 2 on from Qualified against 3 of 4 company-wide: 2 × 3/4 − 1 = 0.5 more deals × 1 (all her
    # deals past Qualified were won) × ¥10,000 (her average won deal) = ¥5,000.00
    assert rows[alice]["conversion"]["stage"] == "Qualified"
    assert text(response, f"gain-group-{alice}") == "¥5,000.00"
    assert rows[alice]["conversion"]["message"] == (
        "Qualified: 50% of deals move on, against 75% company-wide; matching it would bring about ¥5,000.00 "
        "more revenue")
    assert drill(client, response, f"gap-reached-group-{alice}") == ids(book.a1, book.a2)
    assert drill(client, response, f"gap-converted-group-{alice}") == ids(book.a1)
    # Bob: Lead, 1 of 2 against 4 of 6: (2 × 4/6 − 1) × 1 × ¥30,000 = ¥10,000.00
    assert rows[bob]["conversion"]["stage"] == "Lead"
    assert text(response, f"gain-group-{bob}") == "¥10,000.00"
    # Amy: Proposal, 0 of 1 against 2 of 3: 2/3 × 1 (the company's downstream) × ¥20,000 (the company's average,
    # she won nothing) = ¥13,333.33 — the largest gain, listed first
    assert text(response, f"gain-group-{amy}") == "¥13,333.33"
    assert [row["line"].group for row in response.context["rows"]] == [amy, bob, alice]
    # Amy's Lead stay (10 days) against the company's median (2 days)
    assert rows[amy]["dwell"]["stage"] == "Lead"
    assert rows[amy]["dwell"]["message"] == "Lead: a stay lasts 10.00 days at the median, against 2.00 days company-wide"
    assert drill(client, response, f"dwell-median-group-{amy}") == ids(book.m1)


def test_groups_with_too_few_deals_are_not_judged(book, world, ops_olivia):
    response = page(as_user(ops_olivia), "crm:analytics-bottlenecks", by="owner", min_deals=3, **MARCH)
    assert [row["line"].group for row in response.context["rows"]] == [world.people["alice"].pk]
    assert {line.label for line in response.context["not_judged"]} == {"周敏 (E102)", "张伟 (E201)"}
    assert "Not judged" in response.content.decode()


# -- velocity ------------------------------------------------------------------------------------------------------
@pytest.fixture
def april(book, world, stages):
    """In April: b3 (Bob) created 04-01 and won 04-11 (¥40,000 in 10 days); a3 lost 04-15."""
    boss_b = Contact.objects.get(name="孙总")
    b3 = deal(world, stages, "bob", [("lead", "04-01"), ("qualified", "04-02"), ("proposal", "04-03"),
                                           ("won", "04-11")], "b3 乙公司 云",
              amount=D("40000.00"), expected_close=dt.date(2026, 4, 30), decision_maker=boss_b)
    crm.opportunity_move(actor=None, opportunity=book.a3, stage=stages.lost, at=at("04-15"), lost_reason="预算")
    return b3


def test_velocity_and_how_each_factor_moved_against_the_period_before(book, april, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-velocity", by="company", period="2026-04")
    company = response.context["rows"][-1]
    assert company["line"].kind == "company"
    factors = {f["label"]: f for f in company["factors"]}
    # April: 1 open qualified (m1) × 1/2 (b3 won, a3 lost) × ¥40,000 ÷ 10 days = ¥2,000.00 a day;
    # March: 1 × 2/4 × ¥20,000 ÷ 13 days = ¥769.23
    velocity = factors["Velocity per day"]
    assert (velocity["current"].text, velocity["previous"].text, velocity["change"]) == (
        "¥2,000.00", "¥769.23", "+160.0% (+¥1,230.77)")
    assert factors["Average won deal"]["change"] == "+100.0% (+¥20,000.00)"
    assert (factors["Cycle length"]["change"], factors["Cycle length"]["direction"]) == ("-23.1% (-3 d)", 1)  # shorter
    assert factors["Open qualified deals"]["change"] == "0.0% (0)"
    assert factors["Win rate"]["change"] == "0.0 pts"  # 1/2 against 2/4
    assert drill(client, response, "open-qualified-company-none") == ids(book.m1)
    assert drill(client, response, "velocity-win-rate-company-none") == ids(april, book.a3)
    before = client.get(factors["Win rate"]["previous"].url)
    assert {row[0]["text"].split(" ")[0] for row in before.context["rows"]} == ids(book.a1, book.a2, book.b1,
                                                                                  book.b2)
    trend = chart(response, "chart-velocity")
    assert trend["x"][-2:] == ["2026-03", "2026-04"] and len(trend["x"]) == 12
    assert trend["series"][-1]["name"] == "Company"
    assert trend["series"][-1]["data"][-3:] == [None, D("769.23"), D("2000.00")]


def test_a_win_rate_moves_in_percentage_points_whatever_it_was_before(book, april, world, stages, ops_olivia):
    # Given May: Alice wins a deal (April: a3 lost, 0 %); Bob closes nothing
    deal(world, stages, "alice", [("lead", "05-01"), ("qualified", "05-02"), ("proposal", "05-02"), ("won", "05-03")],
         "a4 甲公司 云", amount=D("5000.00"), expected_close=dt.date(2026, 5, 31),
         decision_maker=Contact.objects.get(name="钱总"))
    client = as_user(ops_olivia)

    def win_rates(period):
        response = page(client, "crm:analytics-velocity", by="owner", period=period)
        return {row["line"].label: next(f for f in row["factors"] if f["label"] == "Win rate")
                for row in response.context["rows"]}

    # April against March: Alice 0 % against 1/2, Bob 1/1 against 1/2 — points, not "+100.0%" of a percentage
    april_rates = win_rates("2026-04")
    assert april_rates["李丽 (E101)"]["change"] == "-50.0 pts"
    assert (april_rates["张伟 (E201)"]["change"], april_rates["张伟 (E201)"]["direction"]) == ("+50.0 pts", 1)
    # May against April: Alice 1/1 against 0 % — still points; Bob closed nothing in May: no rate, no change
    may_rates = win_rates("2026-05")
    assert may_rates["李丽 (E101)"]["change"] == "+100.0 pts"
    assert may_rates["张伟 (E201)"]["change"] == "—"


def test_the_velocity_trend_has_a_line_per_group(book, april, world, ops_olivia):
    response = page(as_user(ops_olivia), "crm:analytics-velocity", by="team", period="2026-04")
    trend = chart(response, "chart-velocity")
    assert [s["name"] for s in trend["series"]] == ["华东一组", "华南一组", "Company"]
    # team A: March 1 open qualified × no close … a1 won and a2 lost: 1 × 1/2 × ¥10,000 ÷ 18 = ¥277.78
    assert trend["series"][0]["data"][-2] == D("277.78")


def test_open_qualified_deals_start_at_the_chosen_stage(book, stages, ops_olivia):
    client = as_user(ops_olivia)
    lead = page(client, "crm:analytics-velocity", by="company", qualified=stages.lead.pk, **MARCH)
    assert drill(client, lead, "open-qualified-company-none") == ids(book.a3, book.m1)
    proposal = page(client, "crm:analytics-velocity", by="company", qualified=stages.proposal.pk, **MARCH)
    assert drill(client, proposal, "open-qualified-company-none") == ids(book.m1)


# -- weighted pipeline and coverage ----------------------------------------------------------------------------------
def test_the_weighted_pipeline_counts_open_deals_at_their_stage_probability(book, world, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-pipeline", by="owner", **MARCH)
    amy = world.people["amy"].pk
    # open: m1 in Proposal (50 %) ¥20,000 → ¥10,000; a3 in Lead without an amount; won and lost left out
    assert text(response, "weighted-company-none") == "¥10,000.00"
    assert text(response, f"weighted-group-{amy}") == "¥10,000.00"
    assert drill(client, response, "open-company-none") == ids(book.a3, book.m1)
    assert drill(client, response, "weighted-2026-03-01-company-none") == ids(book.m1)
    assert drill(client, response, "weighted-none-company-none") == ids(book.a3)


def test_coverage_against_a_typed_remaining_target(book, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-pipeline", by="company", target="40000", **MARCH)
    # ¥20,000 expected to close in March (m1) against ¥40,000 still to sell: 0.50×; weighted ¥10,000: 0.25×
    row = next(c for c in response.context["coverage"] if c["line"].kind == "company")
    assert (row["coverage"], row["weighted_coverage"], row["source"]) == ("0.50×", "0.25×", "typed")
    assert "No approved or locked target plan" in response.content.decode()
    assert drill(client, response, "coverage-deals-company-none") == ids(book.m1)


def test_coverage_against_the_remaining_target_of_the_approved_plan(book, world, ops_olivia):
    from salesops.org import services as org
    from salesops.targets import services as targets

    plan = targets.plan_create(actor=ops_olivia, name="2026 目标", fiscal_year=2026, total=D("1200000.00"),
                               levels=[{"dimension": "team", "depth": 1, "method": "equal"}],
                               seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    for status in ("submitted", "approved"):
        targets.plan_transition(actor=ops_olivia, plan=plan, to=status)
    # 100,000 a month, 50,000 per team; Alice sold ¥1,000 in March
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="M1", order_no="SO-M",
                          date=dt.date(2026, 3, 9), customer=world.customers.a, product=world.product,
                          quantity=D(1), unit_price=D("1000.00"), cost=D("400.00"))
    response = page(as_user(ops_olivia), "crm:analytics-pipeline", by="team", target="1", **MARCH)
    rows = {(c["line"].kind, c["line"].group): c for c in response.context["coverage"]}
    team_a = rows[("group", world.teams.a.pk)]
    assert (team_a["target"], team_a["actual"], team_a["remaining"]) == ("¥50,000.00", "¥1,000.00", "¥49,000.00")
    assert (team_a["coverage"], team_a["weighted_coverage"]) == ("0.41×", "0.20×")  # 20,000 and 10,000 ÷ 49,000
    company = rows[("company", None)]
    assert (company["remaining"], company["coverage"], company["source"]) == ("¥99,000.00", "0.20×", "2026 目标")
    assert "Targets from the plan 2026 目标" in response.content.decode()


def test_a_target_already_met_shows_as_met_not_as_a_negative_remainder(book, world, ops_olivia):
    from salesops.org import services as org
    from salesops.targets import services as targets

    # Given the plan's ¥50,000 for team A in March, and Alice sells ¥60,000 there
    plan = targets.plan_create(actor=ops_olivia, name="2026 目标", fiscal_year=2026, total=D("1200000.00"),
                               levels=[{"dimension": "team", "depth": 1, "method": "equal"}],
                               seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    for status in ("submitted", "approved"):
        targets.plan_transition(actor=ops_olivia, plan=plan, to=status)
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="M1", order_no="SO-M",
                          date=dt.date(2026, 3, 9), customer=world.customers.a, product=world.product,
                          quantity=D(60), unit_price=D("1000.00"), cost=D("400.00"))
    # When ops opens the coverage by team
    response = page(as_user(ops_olivia), "crm:analytics-pipeline", by="team", **MARCH)
    rows = {(c["line"].kind, c["line"].group): c for c in response.context["coverage"]}
    # Then team A's target is met: no negative remainder, no coverage; the company still has ¥40,000 to sell
    team_a = rows[("group", world.teams.a.pk)]
    assert (team_a["target"], team_a["actual"]) == ("¥50,000.00", "¥60,000.00")
    assert (team_a["remaining"], team_a["coverage"], team_a["weighted_coverage"]) == ("Target met", "—", "—")
    company = rows[("company", None)]
    assert (company["remaining"], company["met"], company["coverage"]) == ("¥40,000.00", False, "0.50×")
    html = response.content.decode()
    assert f'data-testid="coverage-group-{world.teams.a.pk}-remaining">Target met<' in html
    assert "-¥" not in html


def test_a_typed_remaining_target_of_nothing_is_met(book, ops_olivia):
    response = page(as_user(ops_olivia), "crm:analytics-pipeline", by="company", target="0", **MARCH)
    company = next(c for c in response.context["coverage"] if c["line"].kind == "company")
    assert (company["remaining"], company["coverage"], company["source"]) == ("Target met", "—", "typed")


# -- record completeness and quote turnaround ------------------------------------------------------------------------
def test_completeness_per_rep_with_what_is_missing_and_the_records_behind(book, world, ops_olivia):
    client = as_user(ops_olivia)
    # 甲公司 gets what it lacked (industry, source, a reachable contact): complete; 乙公司 stays incomplete
    customer = world.customers.a
    customer.industry, customer.source = "制造", "展会"
    customer.save()
    Contact.objects.filter(customer=customer).update(phone="13800000000")
    response = page(client, "crm:analytics-completeness", by="owner", **MARCH)
    assert response.context["pct"] == "50.0%"
    shares = {row["name"]: row for row in response.context["shares"]}
    assert (shares["李丽"]["pct"], shares["张伟"]["pct"]) == ("100.0%", "0.0%")
    assert text(response, "missing-industry") == "1"
    listed = client.get(link(response, "missing-industry"))
    assert listed.status_code == 200 and "乙公司" in listed.content.decode() and "甲公司" not in listed.content.decode()
    assert [w["customer"].name for w in response.context["worst"]] == ["乙公司"]


def test_completeness_by_team_rolls_up_and_a_manager_sees_their_teams(book, world, manager_carol):
    response = page(as_user(manager_carol), "crm:analytics-completeness", by="team", **MARCH)
    assert [row["name"] for row in response.context["shares"]] == ["华东一组"]
    assert response.context["summary"].customers == 1


@pytest.fixture
def quotes(book, world, rep_alice, manager_carol):
    """Two quotes of Alice's in March: one approved at once and sent after 5 h; one that waited 6 h for Carol."""
    from salesops.crm import quotes as q

    t0 = at("03-02")
    hour = dt.timedelta(hours=1)
    fast = q.quote_create(actor=rep_alice, customer=world.customers.a, owner=world.people["alice"], at=t0,
                          lines=[(world.product, D(1), D("0.05"))])
    q.quote_submit(actor=rep_alice, quote=fast, at=t0 + 2 * hour)
    q.quote_send(actor=rep_alice, quote=fast, at=t0 + 5 * hour)
    slow = q.quote_create(actor=rep_alice, customer=world.customers.a, owner=world.people["alice"], at=t0,
                          lines=[(world.product, D(1), D("0.3"))])
    q.quote_submit(actor=rep_alice, quote=slow, at=t0 + hour)
    q.quote_decide(actor=manager_carol, quote=slow, approve=True, at=t0 + 7 * hour)
    return fast, slow


def test_quote_turnaround_per_rep_and_the_quotes_behind_a_median(quotes, world, ops_olivia):
    fast, slow = quotes
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-quotes", by="owner", **MARCH)
    alice = world.people["alice"].pk
    row = response.context["rows"][0]
    assert (row["quotes"].text, row["routed"].text, row["approval"].text, row["to_send"].text) == (
        "2", "1", "6.0 h", "5.0 h")
    listed = client.get(link(response, f"quotes-{alice}-approval"))
    assert listed.status_code == 200
    assert [r["number"].text for r in listed.context["rows"]] == [slow.number]
    assert reverse("crm:quote", args=[slow.pk]) in listed.content.decode()
    every = client.get(link(response, "quotes-all-quotes"))
    assert {r["number"].text for r in every.context["rows"]} == {fast.number, slow.number}


def test_the_answered_and_accepted_counts_list_their_quotes(quotes, world, rep_alice, ops_olivia):
    from salesops.crm import quotes as q

    fast, slow = quotes
    # Given the customer accepts the quote that was sent
    q.quote_answer(actor=rep_alice, quote=fast, accepted=True, at=at("03-03"))
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-quotes", by="owner", **MARCH)
    alice = world.people["alice"].pk
    for testid in (f"quotes-{alice}-answered", f"quotes-{alice}-accepted", "quotes-all-answered",
                   "quotes-all-accepted"):
        assert text(response, testid) == "1"
        listed = client.get(link(response, testid))
        assert listed.status_code == 200
        assert [r["number"].text for r in listed.context["rows"]] == [fast.number]
    listed = client.get(link(response, "quotes-all-accepted"))
    assert [r["status"] for r in listed.context["rows"]] == ["accepted"]


def test_the_overview_puts_the_headline_figures_together(book, quotes, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics", by="team", **MARCH)
    html = response.content.decode()
    assert text(response, "created-company-none") == "6"
    assert text(response, "weighted-company-none") == "¥10,000.00"
    assert "6.0 h" in html  # the median approval wait
    assert chart(response, "chart-funnel")["items"][0]["value"] == 6
    assert drill(client, response, "won-company-none") == ids(book.a1, book.b1)
    # the completeness and quote cards open their pages with the same controls
    for testid, name in (("records-share", "crm:analytics-completeness"), ("approval-wait", "crm:analytics-quotes")):
        address = link(response, testid)
        assert address.startswith(reverse(name)) and "period=2026-03" in address and "by=team" in address


# -- inputs ----------------------------------------------------------------------------------------------------------
def test_it_reads_the_database_in_three_queries_whatever_the_number_of_deals(book, django_assert_num_queries):
    from salesops.crm import analytics

    with django_assert_num_queries(3):
        inputs = analytics.load()
    assert inputs.opportunities.num_rows == 6
    assert inputs.stage_changes.num_rows == 6 + 3 + 2 + 0 + 2 + 3 + 1


def test_a_deal_belongs_to_the_team_of_its_owner_on_its_creation_date(book, world, stages):
    from salesops.crm import analytics
    from salesops.org import services as org

    # Alice moves to team B on 03-20: her earlier deals stay team A's, a deal she creates after is team B's
    org.assignment_transfer(actor=None, salesperson=world.people["alice"], team=world.teams.b,
                            on=dt.date(2026, 3, 20))
    later = deal(world, stages, "alice", [("lead", "03-25")], "a4 甲公司 后来")
    table = analytics.load().opportunities.to_pylist()
    team = {row["id"]: row["team_id"] for row in table}
    assert (team[book.a1.pk], team[later.pk]) == (world.teams.a.pk, world.teams.b.pk)
    region = {row["id"]: row["region_id"] for row in table}
    assert (region[book.a1.pk], region[book.b1.pk]) == (world.regions.shanghai.pk, world.regions.south.pk)


def test_changes_reach_the_engine_in_local_time(book, world, stages):
    from salesops.crm import analytics

    # a move at 23:30 UTC on 03-05 is 07:30 on 03-06 in Shanghai: the engine sees the local day
    late = deal(world, stages, "bob", [("lead", "03-05")], "late 乙公司")
    crm.opportunity_move(actor=None, opportunity=late, stage=stages.qualified,
                         at=dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.UTC), expected_close=dt.date(2026, 4, 1))
    changes = analytics.load().stage_changes.to_pylist()
    moved = [c for c in changes if c["opportunity_id"] == late.pk and c["from_stage_id"]][0]
    assert moved["changed_at"].replace(tzinfo=None) == dt.datetime(2026, 3, 6, 7, 30)


def test_every_page_renders_before_any_stage_or_deal_exists(world, ops_olivia, rep_alice):
    for user in (ops_olivia, rep_alice):
        client = as_user(user)
        for name in PAGES:
            page(client, name, **MARCH)
