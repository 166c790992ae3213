"""Who sees which analytics: a rep their own figures and the company benchmark (never its deals), a manager their
subtree's groups, ops/admin/finance everything, HR nothing; a filter narrows the selection but never the
benchmark; the pages in Chinese; bad keys and periods. The book of deals is ``test_analytics.book``."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tests.crm.test_analytics import (  # noqa: F401 - fixed_today: the same clock here
    MARCH,
    PAGES,
    as_user,
    drill,
    fixed_today,
    ids,
    link,
    make_book,
    page,
    text,
)


@pytest.fixture
def book(world, stages):
    return make_book(world, stages)



def deals_url(**key) -> str:
    return f"{reverse('crm:analytics-deals')}?{urlencode(key, doseq=True)}"


def labels(response) -> list[str]:
    return [row["line"].label for row in response.context["rows"]]


def test_hr_gets_403_on_every_page_and_drill_down(book, hr_henry):
    client = as_user(hr_henry)
    for name in (*PAGES, "crm:analytics-deals", "crm:analytics-quote-times"):
        assert client.get(reverse(name), {"m": "created", "by": "company", **MARCH}).status_code == 403


def test_the_pages_need_a_sign_in(book, client):
    response = client.get(reverse("crm:analytics"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["ops_olivia", "admin_ada", "finance_dan"])
def test_ops_admin_and_finance_see_every_group_and_the_benchmark_deals(book, persona, request, world):
    client = as_user(request.getfixturevalue(persona))
    response = page(client, "crm:analytics-funnel", by="owner", **MARCH)
    assert labels(response) == ["李丽 (E101)", "周敏 (E102)", "张伟 (E201)", "Company"]
    assert drill(client, response, "created-company-none") == ids(*vars(book).values())


def test_a_rep_sees_their_own_figures_and_the_benchmark_without_its_deals(book, world, rep_bob):
    client = as_user(rep_bob)
    response = page(client, "crm:analytics-funnel", by="owner", **MARCH)
    # his own line (a selection line would repeat it) and the company's
    assert labels(response) == ["张伟 (E201)", "Company"]
    assert "李丽" not in response.content.decode()
    # the benchmark's figures are shown, not linked
    company = response.context["rows"][-1]
    assert company["created"].text == "6" and company["created"].url is None
    assert 'data-testid="created-company-none"' not in response.content.decode()
    assert drill(client, response, f"created-group-{world.people['bob'].pk}") == ids(book.b1, book.b2)
    # by team, his deals are his team's line: only his
    by_team = page(client, "crm:analytics-funnel", by="team", **MARCH)
    assert labels(by_team) == ["华南一组", "Company"]
    assert drill(client, by_team, f"created-group-{world.teams.b.pk}") == ids(book.b1, book.b2)


def test_a_rep_cannot_drill_into_someone_elses_deals(book, world, rep_bob, ops_olivia):
    alice = world.people["alice"].pk
    opened = page(as_user(ops_olivia), "crm:analytics-funnel", by="owner", **MARCH)
    address = link(opened, f"created-group-{alice}")
    client = as_user(rep_bob)
    assert client.get(address).status_code == 404
    # nor into the company benchmark, nor by naming Alice as the filter
    assert client.get(link(opened, "created-company-none")).status_code == 404
    assert client.get(deals_url(m="created", by="scope", owner=alice, **MARCH)).status_code == 404
    # Alice herself may
    assert as_user(world.users["alice"]).get(address).status_code == 200


def test_a_manager_sees_only_their_subtrees_groups(book, world, manager_erin, manager_carol):
    client = as_user(manager_erin)
    response = page(client, "crm:analytics-funnel", by="team", **MARCH)
    assert labels(response) == ["华南一组", "Company"]
    assert drill(client, response, f"created-group-{world.teams.b.pk}") == ids(book.b1, book.b2)
    assert client.get(deals_url(m="created", by="team", g=world.teams.a.pk, **MARCH)).status_code == 404
    by_rep = page(as_user(manager_carol), "crm:analytics-funnel", by="owner", **MARCH)
    assert labels(by_rep) == ["李丽 (E101)", "周敏 (E102)", "My teams", "Company"]


def test_every_page_keeps_a_rep_to_their_own_lines(book, world, rep_bob):
    client = as_user(rep_bob)
    for name in PAGES:
        for by in ("owner", "team", "region"):
            html = page(client, name, by=by, min_deals=1, **MARCH).content.decode()
            assert "李丽" not in html and "周敏" not in html and "华东一组" not in html.split("</form>")[1], (name, by)


def test_the_benchmark_stays_the_company_under_a_filter(book, world, ops_olivia):
    client = as_user(ops_olivia)
    response = page(client, "crm:analytics-funnel", by="owner", team=world.teams.a.pk, **MARCH)
    assert labels(response) == ["李丽 (E101)", "周敏 (E102)", "Selection", "Company"]
    assert text(response, "created-selection-0") == "4"
    assert text(response, "created-company-none") == "6"
    assert drill(client, response, "created-selection-0") == ids(book.a1, book.a2, book.a3, book.m1)
    by_region = page(client, "crm:analytics-funnel", by="owner", region=world.regions.south.pk, **MARCH)
    assert labels(by_region) == ["张伟 (E201)", "Company"]
    assert text(by_region, f"created-group-{world.people['bob'].pk}") == "2"


def test_a_manager_may_filter_only_by_their_own_teams(book, world, manager_erin):
    response = as_user(manager_erin).get(reverse("crm:analytics-funnel"), {"team": world.teams.a.pk, **MARCH})
    assert response.status_code == 400
    assert "team" in response.context["form"].errors


def test_a_bad_period_or_range_is_named_on_the_form(book, ops_olivia):
    client = as_user(ops_olivia)
    response = client.get(reverse("crm:analytics-funnel"), {"period": "2026-13"})
    assert response.status_code == 400
    assert re.search(r'data-testid="error-period"', response.content.decode())
    backwards = client.get(reverse("crm:analytics-funnel"), {"start": "2026-03-31", "end": "2026-03-01"})
    assert backwards.status_code == 400 and "end" in backwards.context["form"].errors


@pytest.mark.parametrize("query", [{}, {"m": "nonsense"}, {"m": "created", "by": "galaxy"},
                                   {"m": "reached", "by": "company", "stage": "999999"},
                                   {"m": "created", "by": "owner", "g": "x"}])
def test_a_key_that_names_no_figure_is_a_404(book, ops_olivia, query):
    assert as_user(ops_olivia).get(reverse("crm:analytics-deals"), query).status_code == 404


def test_the_pages_render_in_chinese(book, world, ops_olivia):
    client = as_user(ops_olivia, language="zh-hans")
    for name in PAGES:
        html = page(client, name, by="team", **MARCH).content.decode()
        assert '<html lang="zh-hans">' in html
        assert "期间" in html  # the form's Period, from the catalogue
    listed = client.get(link(page(client, "crm:analytics-funnel", by="team", **MARCH), "created-company-none"))
    assert listed.status_code == 200 and "甲公司" in listed.content.decode()
