"""/api/sales-process/{figure}/, /api/sales-process/deals/ and /api/customers/{id}/overview/: the analytics pages'
figures and a customer's 360 figures as JSON, to each persona exactly what their pages show (a rep their own
lines, a manager their subtree's, ops/admin/finance everything, HR 403), every number with the page's
drill-down, and the deals behind it listed only where the page lists them.

The deals are the March 2026 book of ``tests/crm/test_analytics.py`` (a1–a3 Alice, m1 Amy, b1–b2 Bob), the clock
fixed on 2026-05-04."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.api.conftest import EVERYONE, statuses
from tests.crm.conftest import stages  # noqa: F401 - a fixture, used by name
from tests.crm.test_analytics import MARCH, fixed_today, make_book  # noqa: F401 - fixed_today: the same clock

FIGURES = ["funnel", "dwell", "bottlenecks", "velocity", "pipeline", "completeness", "quotes"]
ALL = ["李丽 (E101)", "周敏 (E102)", "张伟 (E201)", "Company"]
FUNNEL_LINES = {
    "alice": ["李丽 (E101)", "Company"], "bob": ["张伟 (E201)", "Company"],
    "carol": ["李丽 (E101)", "周敏 (E102)", "My teams", "Company"], "erin": ["张伟 (E201)", "Company"],
    "olivia": ALL, "dan": ALL, "ada": ALL,
}


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


@pytest.fixture
def book(world, stages):  # noqa: F811 - the fixture imported above
    return make_book(world, stages)


def figure(client, name: str, **params) -> dict:
    response = client.get(f"/api/sales-process/{name}/", params)
    assert response.status_code == 200, response.content[:2000]
    return response.json()


def row(body: dict, name: str) -> dict:
    return next(r for r in body["rows"] if r["line"]["name"] == name)


def deals(client, url: str) -> set[str]:
    """The deals behind a figure's drill-down, through the API (the same query string)."""
    response = client.get(f"/api/sales-process/deals/?{urlsplit(url).query}")
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["count"] == len(body["results"])
    return {d["name"].split(" ")[0] for d in body["results"]}


def test_each_persona_gets_the_lines_their_page_shows(api_as, book):
    seen = {p: [r["line"]["name"] for r in figure(api_as(p), "funnel", by="owner", **MARCH)["rows"]]
            for p in FUNNEL_LINES}
    assert seen == FUNNEL_LINES


def test_hr_gets_403_and_strangers_401_on_every_endpoint(api_as, anon, book, world):
    for name in [*FIGURES, "deals"]:
        assert api_as("henry").get(f"/api/sales-process/{name}/", {"m": "created", **MARCH}).status_code == 403
        assert anon.get(f"/api/sales-process/{name}/").status_code in (401, 403)
    assert api_as("henry").get(f"/api/customers/{world.customers.a.pk}/overview/").status_code == 403


def test_every_figure_answers_by_every_dimension(api_as, book):
    client = api_as("olivia")
    for name in FIGURES:
        for by in ("owner", "team", "region", "company"):
            body = figure(client, name, by=by, min_deals=1, **MARCH)
            assert body["figure"] == name and body["by"] == by
            assert body["period"] == {"code": "2026-03", "start": "2026-03-01", "end": "2026-03-31"}


def test_the_funnel_numbers_link_to_the_page_drill_down_and_the_api_lists_those_deals(api_as, book, world):
    client = api_as("olivia")
    body = figure(client, "funnel", by="owner", **MARCH)
    alice, company = row(body, "李丽 (E101)"), row(body, "Company")
    assert (alice["created"]["value"], company["created"]["value"], company["won"]["value"]) == (3, 6, 2)
    assert alice["win_rate"]["value"] == "0.5000"
    assert urlsplit(alice["created"]["url"]).path == reverse("crm:analytics-deals")
    assert deals(client, alice["created"]["url"]) == {"a1", "a2", "a3"}
    assert deals(client, company["won"]["url"]) == {"a1", "b1"}
    # the page's link leads to the same deals
    assert client.get(alice["created"]["url"]).status_code == 200


def test_a_rep_sees_the_benchmark_but_never_its_deals_nor_someone_elses(api_as, book, world):
    everything = figure(api_as("olivia"), "funnel", by="owner", **MARCH)
    alices = row(everything, "李丽 (E101)")["created"]["url"]
    bob = api_as("bob")
    body = figure(bob, "funnel", by="owner", **MARCH)
    company = row(body, "Company")
    assert company["created"] == {"value": 6, "url": None} and company["line"]["drill"] is False
    assert deals(bob, row(body, "张伟 (E201)")["created"]["url"]) == {"b1", "b2"}
    assert bob.get(f"/api/sales-process/deals/?{urlsplit(alices).query}").status_code == 404
    assert bob.get(f"/api/sales-process/deals/?{urlsplit(row(everything, 'Company')['created']['url']).query}"
                   ).status_code == 404
    assert deals(api_as("alice"), alices) == {"a1", "a2", "a3"}


def test_a_manager_gets_their_subtree_and_may_filter_only_by_their_own_teams(api_as, book, world):
    erin = api_as("erin")
    by_team = figure(erin, "funnel", by="team", **MARCH)
    assert [r["line"]["name"] for r in by_team["rows"]] == ["华南一组", "Company"]
    assert row(by_team, "华南一组")["line"]["id"] == world.teams.b.pk
    refused = erin.get("/api/sales-process/funnel/", {"team": world.teams.a.pk, **MARCH})
    assert refused.status_code == 400 and "team" in refused.json()
    carol = figure(api_as("carol"), "funnel", by="team", **MARCH)
    assert [r["line"]["name"] for r in carol["rows"]] == ["华东一组", "Company"]
    assert deals(api_as("carol"), row(carol, "华东一组")["created"]["url"]) == {"a1", "a2", "a3", "m1"}


def test_every_figure_keeps_a_rep_to_their_own_lines(api_as, book):
    client = api_as("bob")
    for name in FIGURES:
        for by in ("owner", "team", "region"):
            text = client.get(f"/api/sales-process/{name}/", {"by": by, "min_deals": 1, **MARCH}).content.decode()
            assert "李丽" not in text and "周敏" not in text and "华东一组" not in text, (name, by)


def test_the_weighted_pipeline_is_a_decimal_string_and_lists_the_open_deals(api_as, book):
    client = api_as("ada")
    body = figure(client, "pipeline", by="company", **MARCH)
    company = row(body, "Company")
    assert company["weighted"]["value"] == "10000.00"
    assert company["deals"]["value"] == 2
    assert deals(client, company["deals"]["url"]) == {"a3", "m1"}
    assert body["coverage"][0]["weighted"]["value"] == "10000.00"


def test_velocity_dwell_bottlenecks_completeness_and_quotes_give_their_figures(api_as, book, world):
    client = api_as("olivia")
    velocity = row(figure(client, "velocity", by="owner", **MARCH), "Company")["factors"]
    assert velocity["win_rate"]["current"]["value"] == "0.5000"
    assert deals(client, velocity["win_rate"]["current"]["url"]) == {"a1", "a2", "b1", "b2"}
    dwell = figure(client, "dwell", by="company", **MARCH)
    assert [s["code"] for s in dwell["stages"]] == ["lead", "qualified", "proposal"]
    lead = row(dwell, "Company")["stages"][0]
    assert lead["stays"]["value"] == 5 and deals(client, lead["stays"]["url"]) == {"a1", "a2", "m1", "b1", "b2"}
    bottlenecks = figure(client, "bottlenecks", by="owner", min_deals=1, **MARCH)
    assert {r["line"]["name"] for r in bottlenecks["rows"]} <= set(ALL)
    records = figure(client, "completeness", by="owner", **MARCH)
    assert records["customers"] == 2 and {g["id"] for g in records["groups"]} == {
        world.people["alice"].pk, world.people["bob"].pk}
    quotes = figure(client, "quotes", by="owner", **MARCH)
    assert quotes["total"]["quotes"]["value"] == 0 and quotes["rows"] == []


def test_a_bad_period_is_a_400_and_an_unknown_figure_or_key_a_404(api_as, book):
    client = api_as("olivia")
    response = client.get("/api/sales-process/funnel/", {"period": "2026-13"})
    assert response.status_code == 400 and "period" in response.json()
    assert client.get("/api/sales-process/galaxy/").status_code == 404
    assert client.get("/api/sales-process/deals/", {"m": "nonsense"}).status_code == 404


def test_the_customer_overview_is_seen_as_the_customer_page(api_as, world):
    url = f"/api/customers/{world.customers.a.pk}/overview/"
    got = statuses(api_as, EVERYONE, lambda c: [c.get(url)])
    assert got == {"alice": (200,), "amy": (404,), "bob": (404,), "carol": (200,), "erin": (404,),
                   "victor": (200,), "olivia": (200,), "henry": (403,), "dan": (200,), "ada": (200,)}
    body = api_as("alice").get(url).json()
    # 甲公司: lines A1 (2025-11-15) and S1 (2025-12-01), each 1,000.00 net at a cost of 400.00
    assert (body["last_purchase"], body["orders_12m"], body["net_12m"], body["margin_12m"],
            body["margin_pct_12m"]) == ("2025-12-01", 2, "2000.00", "1200.00", "0.6")
    assert body["segment"]["code"] and isinstance(body["recommendations"], list)
    assert {"code", "label"} <= set(body["completeness"]["missing"][0])
    assert api_as("ada").get("/api/customers/999999/overview/").status_code == 404


def test_the_schema_documents_the_analytics_endpoints(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert {"/api/sales-process/{figure}/", "/api/sales-process/deals/", "/api/customers/{id}/overview/"} <= set(
        paths) or {"/api/sales-process/{figure}/", "/api/sales-process/deals/",
                   "/api/customers/{pk}/overview/"} <= set(paths)
