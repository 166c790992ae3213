"""Target plan pages against the persona world: who may open and do what, what each persona sees of a plan,
the tree-table editor's locks and commits over htmx, the workflow, the version diff, attainment figures, and
the Excel round trip.

The plan (see test_plans.py): 1,000,000.00 for FY2026, teams at depth 1 equally (华东一组 A, 华南一组 B,
500,000.00 each), then salespeople by 2025 history (Alice 李丽 and Bob 张伟 get their team's whole share; Carol
陈经理, Amy 周敏, Erin 赵经理 nothing), spread flat over the months.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from salesops.core.models import AuditEvent
from salesops.org import services as org
from salesops.org.models import Salesperson
from salesops.targets import services as targets
from salesops.targets.models import TargetNode, TargetPlan

D = Decimal
LEVELS = [{"dimension": "team", "depth": 1, "method": "equal"},
          {"dimension": "salesperson", "method": "historical", "window": 12}]
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tree"}
EVERY_PAGE = ["targets:plan", "targets:plan-diff", "targets:plan-attainment", "targets:plan-export"]


@pytest.fixture(autouse=True)
def speaks_english(client):
    """Pages answer in the browser's language; these tests read English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def plan(world, ops_olivia):
    plan = targets.plan_create(actor=ops_olivia, name="2026 年度销售目标", fiscal_year=2026, total=D("1000000.00"),
                               levels=LEVELS, seasonality={"source": "flat"}, specific="全年净销售额",
                               deadline=dt.date(2026, 12, 31))
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    return plan


def url(name, plan, **params):
    return reverse(name, args=[plan.pk])


def node(plan, name) -> TargetNode:
    return TargetNode.objects.get(plan=plan, name=name)


def stored(plan) -> dict[str, Decimal]:
    return {n.name: n.value for n in TargetNode.objects.filter(plan=plan)}


def table_values(html: str) -> dict[str, Decimal]:
    """key → value of every row in a rendered tree table."""
    rows = re.findall(r'<tr id="row-\d+"(?: hx-swap-oob="true")? data-key="([^"]*)".*?data-value="([^"]+)"', html,
                      flags=re.S)
    return {key: D(value) for key, value in rows}


def names_in(html: str) -> set[str]:
    return {n for n in ("李丽", "周敏", "张伟", "陈经理", "赵经理", "华东一组", "华南一组") if n in html}


# -- who may open what ------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", ["ops_olivia", "admin_ada", "finance_dan", "manager_carol", "rep_alice"])
def test_it_lists_the_plan_to_everyone_with_a_node_in_it(plan, client_for, request, persona):
    html = client_for(request.getfixturevalue(persona)).get(reverse("targets:plans")).content.decode()
    assert "2026 年度销售目标" in html
    assert (reverse("targets:plan-new") in html) is (persona in ("ops_olivia", "admin_ada"))


@pytest.mark.parametrize("name", [*EVERY_PAGE, "targets:plan-edit"])
def test_it_refuses_hr_every_targets_page(plan, client_for, hr_henry, name):
    client = client_for(hr_henry)
    assert client.get(reverse("targets:plans")).status_code == 403
    assert client.get(url(name, plan)).status_code == 403


def test_it_sends_anonymous_visitors_to_sign_in(plan, client):
    response = client.get(url("targets:plan", plan))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("name", EVERY_PAGE)
def test_it_hides_a_plan_without_their_nodes_from_managers_and_reps(world, client_for, ops_olivia, rep_bob,
                                                                      manager_erin, finance_dan, name):
    # Given a plan by region only: it names no team and no salesperson
    regional = targets.plan_create(actor=ops_olivia, name="区域目标", fiscal_year=2026, total=D("1000.00"),
                                   levels=[{"dimension": "region", "depth": 1, "method": "equal"}],
                                   seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=regional)
    assert client_for(rep_bob).get(url(name, regional)).status_code == 404
    assert client_for(manager_erin).get(url(name, regional)).status_code == 404
    assert "区域目标" not in client_for(rep_bob).get(reverse("targets:plans")).content.decode()
    assert client_for(finance_dan).get(url(name, regional)).status_code == 200


def test_it_shows_a_rep_only_their_own_node(plan, client_for, rep_alice, rep_bob):
    html = client_for(rep_alice).get(url("targets:plan", plan)).content.decode()
    assert names_in(html) == {"李丽"}
    assert list(table_values(html).values()) == [D("500000.00")]
    assert names_in(client_for(rep_bob).get(url("targets:plan", plan)).content.decode()) == {"张伟"}


def test_it_shows_a_manager_their_subtree_and_not_the_other_team(plan, client_for, manager_carol, manager_erin):
    html = client_for(manager_carol).get(url("targets:plan", plan)).content.decode()
    assert names_in(html) == {"华东一组", "李丽", "周敏", "陈经理"}
    assert "1,000,000.00" not in html.split('data-testid="tree"')[1]  # not the company total node
    assert names_in(client_for(manager_erin).get(url("targets:plan", plan)).content.decode()) == {
        "华南一组", "张伟", "赵经理"}


def test_it_shows_ops_and_finance_the_whole_plan(plan, client_for, ops_olivia, finance_dan, director_victor):
    for user in (ops_olivia, finance_dan):
        html = client_for(user).get(url("targets:plan", plan)).content.decode()
        values = table_values(html)
        assert values[""] == D("1000000.00") and len(values) == 8
    # the director heads the root team: every team and person, but not the company total node
    values = table_values(client_for(director_victor).get(url("targets:plan", plan)).content.decode())
    assert "" not in values and len(values) == 7


def test_it_hides_a_node_of_another_team_from_a_manager(plan, client_for, manager_erin):
    alice = node(plan, "李丽")
    response = client_for(manager_erin).post(url("targets:node-commit", plan), {"key": alice.key, "commit": "1"}, **HTMX)
    assert response.status_code == 404
    assert node(plan, "李丽").commit is None


# -- the plan definition ----------------------------------------------------------------------------------
def plan_post(**overrides) -> dict:
    data = {
        "name": "2027 目标", "metric": "net_revenue", "fiscal_year": "2027", "total": "2000000", "unit": "0.01",
        "specific": "净销售额", "measure": "订单行净额", "achievable": "市场增长", "assumptions": "market growth = 8%",
        "relevant": "上市", "deadline": "2027-12-31", "behind_threshold": "5", "season_source": "flat",
        "levels-TOTAL_FORMS": "5", "levels-INITIAL_FORMS": "0", "levels-MIN_NUM_FORMS": "5",
        "levels-MAX_NUM_FORMS": "5",
        "levels-0-dimension": "team", "levels-0-depth": "1", "levels-0-method": "equal",
        "levels-1-dimension": "salesperson", "levels-1-method": "historical", "levels-1-window": "12",
        "levels-1-mode": "average_of_proportions",
    }
    data.update(overrides)
    return data


def test_ops_creates_a_plan_from_the_form_and_lands_on_its_page(world, client_for, ops_olivia):
    response = client_for(ops_olivia).post(reverse("targets:plan-new"), plan_post())
    created = TargetPlan.objects.get(name="2027 目标")
    assert response.status_code == 302 and response["Location"] == reverse("targets:plan", args=[created.pk])
    assert created.levels == [{"dimension": "team", "method": "equal", "depth": 1},
                              {"dimension": "salesperson", "method": "historical", "window": 12,
                               "mode": "average_of_proportions"}]
    assert created.assumptions == {"market growth": "8%"} and created.seasonality == {"source": "flat"}
    assert created.total == D("2000000.00") and created.owner == ops_olivia


def test_it_shows_a_service_error_naming_the_level_and_saves_nothing(world, client_for, ops_olivia):
    data = plan_post(**{"levels-0-method": "blend", "levels-0-alpha": "0.5", "levels-0-gamma": "0.4"})
    response = client_for(ops_olivia).post(reverse("targets:plan-new"), data)
    assert response.status_code == 200
    assert "Level 1: blend weights must add up to exactly 1." in response.content.decode()
    assert not TargetPlan.objects.exists()


def test_it_refuses_typed_seasonality_not_totalling_100(world, client_for, ops_olivia):
    months = {f"m{i}": "8" for i in range(1, 13)}
    response = client_for(ops_olivia).post(reverse("targets:plan-new"), plan_post(season_source="typed", **months))
    assert "typed percentages total 96%" in response.content.decode()
    assert not TargetPlan.objects.exists()


def test_ops_edits_a_draft_and_the_form_keeps_its_levels(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    html = client.get(url("targets:plan-edit", plan)).content.decode()
    assert 'name="levels-1-window" value="12"' in html
    client.post(url("targets:plan-edit", plan), plan_post(name="改名", total="1200000", fiscal_year="2026"))
    plan.refresh_from_db()
    assert (plan.name, plan.total) == ("改名", D("1200000.00"))


@pytest.mark.parametrize("persona", ["manager_carol", "rep_alice", "finance_dan"])
def test_it_refuses_the_plan_form_to_non_editors(plan, client_for, request, persona):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("targets:plan-new")).status_code == 403
    assert client.post(url("targets:plan-edit", plan), plan_post()).status_code == 403
    assert client.post(url("targets:plan-allocate", plan)).status_code == 403
    assert client.post(url("targets:plan-transition", plan), {"to": "submitted"}).status_code == 403
    assert client.post(url("targets:plan-new-version", plan)).status_code == 403
    assert TargetPlan.objects.count() == 1 and TargetPlan.objects.get().status == "draft"


# -- the tree-table editor --------------------------------------------------------------------------------
def test_a_lock_rebalances_and_the_returned_table_adds_up(plan, client_for, ops_olivia):
    amy = node(plan, "周敏")
    client = client_for(ops_olivia)
    response = client.post(url("targets:node-lock", plan), {"key": amy.key, "value": "100000"}, **HTMX)
    html = response.content.decode()
    # only the rows that changed (Amy, Alice) and their ancestors come back, swapped out of band
    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    returned = table_values(html)
    team_a = node(plan, "华东一组").key
    assert set(returned) == {amy.key, node(plan, "李丽").key, team_a, ""}
    assert 'hx-swap-oob="true"' in html and '<div id="tree"' not in html
    values = table_values(client.get(url("targets:plan", plan)).content.decode())
    assert values[amy.key] == D("100000.00") and values[node(plan, "李丽").key] == D("400000.00")
    for key, value in values.items():  # every parent equals the sum of its children, on screen
        kids = [v for k, v in values.items() if k.rsplit("/", 1)[0] == key and k != key and "/" in k]
        if key == "":
            kids = [v for k, v in values.items() if k and "/" not in k]
        if kids:
            assert sum(kids) == value, key
    assert values[team_a] == D("500000.00") and values[""] == D("1000000.00")
    assert node(plan, "周敏").locked


def test_an_infeasible_lock_is_shown_inline_and_saves_nothing(plan, client_for, ops_olivia):
    before = stored(plan)
    amy = node(plan, "周敏")
    html = client_for(ops_olivia).post(url("targets:node-lock", plan), {"key": amy.key, "value": "600000"},
                                       **HTMX).content.decode()
    errors = html.split('data-testid="tree-errors"')[1].split("</div>\n")[0]
    assert "周敏" in errors or "华东一组" in errors
    assert 'class="lv2 err"' in html
    assert stored(plan) == before and not node(plan, "周敏").locked


def test_unlocking_gives_the_share_back(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    amy = node(plan, "周敏")
    client.post(url("targets:node-lock", plan), {"key": amy.key, "value": "100000"}, **HTMX)
    client.post(url("targets:node-unlock", plan), {"key": amy.key}, **HTMX)
    assert stored(plan)["周敏"] == D("0.00") and stored(plan)["李丽"] == D("500000.00")


@pytest.mark.parametrize("persona", ["manager_carol", "rep_alice", "finance_dan"])
def test_only_ops_and_admin_lock(plan, client_for, request, persona):
    client = client_for(request.getfixturevalue(persona))
    alice = node(plan, "李丽").key
    assert client.post(url("targets:node-lock", plan), {"key": alice, "value": "1"}, **HTMX).status_code == 403
    assert client.post(url("targets:node-accept", plan), {"key": alice}, **HTMX).status_code == 403
    assert not node(plan, "李丽").locked


def test_a_manager_commits_in_scope_and_ops_accepts_it(plan, client_for, manager_carol, ops_olivia):
    alice = node(plan, "李丽")
    html = client_for(manager_carol).post(url("targets:node-commit", plan), {"key": alice.key, "commit": "450000"},
                                          **HTMX).content.decode()
    assert "¥450,000.00" in html and "¥50,000.00" in html  # the commit and the gap (500,000 − 450,000)
    assert node(plan, "李丽").commit == D("450000.00") and node(plan, "李丽").commit_by == manager_carol
    # ops sees top-down, bottom-up (rolled up to the team and total) and the gap, and accepts
    html = client_for(ops_olivia).get(url("targets:plan", plan)).content.decode()
    assert "Σ ¥450,000.00" in html and "Accept commit" in html
    client_for(ops_olivia).post(url("targets:node-accept", plan), {"key": alice.key}, **HTMX)
    assert stored(plan)["李丽"] == D("450000.00") and node(plan, "李丽").locked
    assert stored(plan)["华东一组"] == D("500000.00")
    assert AuditEvent.objects.filter(event="target_node.committed").exists()


@pytest.mark.parametrize("persona", ["rep_alice", "finance_dan"])
def test_reps_and_finance_do_not_commit(plan, client_for, request, persona):
    alice = node(plan, "李丽").key
    client = client_for(request.getfixturevalue(persona))
    assert client.post(url("targets:node-commit", plan), {"key": alice, "commit": "1"}, **HTMX).status_code == 403
    assert node(plan, "李丽").commit is None


def test_a_negative_commit_is_shown_inline(plan, client_for, manager_carol):
    alice = node(plan, "李丽")
    html = client_for(manager_carol).post(url("targets:node-commit", plan), {"key": alice.key, "commit": "-5"},
                                          **HTMX).content.decode()
    assert 'data-testid="tree-errors"' in html and "李丽" in html
    assert node(plan, "李丽").commit is None


# -- workflow and versions ----------------------------------------------------------------------------------
def test_the_workflow_buttons_move_the_plan(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    assert "Submit" in client.get(url("targets:plan", plan)).content.decode()
    for to in ("submitted", "approved", "locked"):
        client.post(url("targets:plan-transition", plan), {"to": to})
        plan.refresh_from_db()
        assert plan.status == to
    html = client.get(url("targets:plan", plan)).content.decode()
    assert 'name="value"' not in html and reverse("targets:plan-allocate", args=[plan.pk]) not in html
    # a locked plan refuses a lock inline
    amy = node(plan, "周敏").key
    html = client.post(url("targets:node-lock", plan), {"key": amy, "value": "1"}, **HTMX).content.decode()
    assert "Only a draft plan can change" in html and not node(plan, "周敏").locked


def test_a_wrong_transition_is_refused_with_a_message(plan, client_for, ops_olivia):
    response = client_for(ops_olivia).post(url("targets:plan-transition", plan), {"to": "locked"}, follow=True)
    assert "cannot become" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_back_to_draft_reopens_the_plan(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    client.post(url("targets:plan-transition", plan), {"to": "submitted"})
    assert "Back to draft" in client.get(url("targets:plan", plan)).content.decode()
    client.post(url("targets:plan-transition", plan), {"to": "draft"})
    plan.refresh_from_db()
    assert plan.status == "draft"


def test_allocate_shows_the_warnings(world, client_for, ops_olivia):
    # Given no sales in 2027: historical weights for 2028 are all zero → equal, with a warning
    plan = targets.plan_create(actor=ops_olivia, name="x", fiscal_year=2028, total=D("100.00"),
                               levels=[{"dimension": "team", "depth": 1, "method": "historical", "window": 12}],
                               seasonality={"source": "flat"})
    html = client_for(ops_olivia).post(url("targets:plan-allocate", plan), follow=True).content.decode()
    assert 'class="flash warning"' in html and "equal" in html
    assert TargetNode.objects.filter(plan=plan).count() == 3


def test_a_new_version_and_its_diff(plan, client_for, ops_olivia, world):
    client = client_for(ops_olivia)
    targets.plan_transition(actor=ops_olivia, plan=plan, to="submitted")
    response = client.post(url("targets:plan-new-version", plan))
    v2 = TargetPlan.objects.get(family=plan.family, version=2)
    assert response["Location"] == reverse("targets:plan", args=[v2.pk])
    # Given in v2: Amy locked at 100,000 and a new rep Zoe in team B
    zoe = org.salesperson_create(actor=None, employee_no="E202", name="吴娟", hire_date=dt.date(2026, 1, 1))
    org.assignment_create(actor=None, salesperson=zoe, team=world.teams.b, start_date=dt.date(2026, 1, 1))
    client.post(url("targets:plan-allocate", v2))
    client.post(url("targets:node-lock", v2), {"key": node(v2, "周敏").key, "value": "100000"})
    html = client.get(url("targets:plan-diff", v2)).content.decode()
    rows = dict(re.findall(r'<tr class="diff-(\w+)" data-key="([^"]*)"', html)[i][::-1]
                for i in range(html.count('<tr class="diff-')))
    assert rows[node(v2, "周敏").key] == "changed" and rows[node(v2, "李丽").key] == "changed"
    assert rows[node(v2, "吴娟").key] == "added" and rows[""] == "same"
    assert "+¥100,000.00" in html and "-¥100,000.00" in html
    assert 'data-testid="added">1<' in html


def test_the_diff_of_a_first_version_says_so(plan, client_for, ops_olivia):
    html = client_for(ops_olivia).get(url("targets:plan-diff", plan)).content.decode()
    assert 'data-testid="no-previous"' in html


def test_a_manager_sees_only_their_subtree_in_the_diff(plan, client_for, ops_olivia, manager_erin):
    v2 = targets.plan_new_version(actor=ops_olivia, plan=plan)
    targets.node_lock(actor=ops_olivia, node=node(v2, "周敏"), value=D("100000.00"))
    html = client_for(manager_erin).get(url("targets:plan-diff", v2)).content.decode()
    assert names_in(html) == {"华南一组", "张伟", "赵经理"}


# -- attainment -------------------------------------------------------------------------------------------
@pytest.fixture
def q1_sale(plan, world):
    org.order_line_create(actor=None, credits=[(world.people["alice"], D(100))], external_id="Q1", order_no="Q1",
                          date=dt.date(2026, 2, 10), customer=world.customers.a, product=world.product,
                          quantity=D(100), unit_price=D("1000.00"), cost=D("40000.00"))


def attainment_row(html: str, name: str) -> list[str]:
    row = re.search(r'<tr data-key="[^"]*"><td[^>]*>(?:<a[^>]*>)?' + name + r"(.*?)</tr>", html, flags=re.S).group(1)
    return re.findall(r'<td class="num[^"]*">([^<]*)</td>', row)


@time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False)
def test_attainment_figures_for_the_quarter(plan, q1_sale, client_for, ops_olivia, world):
    html = client_for(ops_olivia).get(url("targets:plan-attainment", plan)).content.decode()  # default: this quarter
    assert "2026-Q1" in html
    # target, actual, attainment, time progress, projection, gap in points
    assert attainment_row(html, "李丽") == ["¥125,000.01", "¥100,000.00", "80.0%", "100.0%", "¥100,000.00", "-20.0"]
    assert attainment_row(html, "华东一组")[:3] == ["¥125,000.01", "¥100,000.00", "80.0%"]  # Amy, Carol: 0
    assert attainment_row(html, "2026 年度销售目标")[1] == "¥100,000.00"
    behind = html.split('data-testid="behind"')[1].split("</table>")[0]
    assert reverse("org:person", args=[world.people["alice"].pk]) in behind and "张伟" in behind
    assert 'data-testid="unallocated">¥0.00<' in html
    heat = json.loads(re.search(r'<script id="heatmap-data" type="application/json">(.*?)</script>', html).group(1))
    alice_row = heat["nodes"].index("　　李丽")
    assert [0, alice_row, "0.0"] in heat["cells"] and [1, alice_row, "240.0"] in heat["cells"]
    assert heat["actual"][alice_row][1] == "100000.00" and not any(c[0] >= 3 for c in heat["cells"])  # no future


@time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False)
def test_attainment_takes_any_period_code_and_refuses_nonsense(plan, q1_sale, client_for, ops_olivia):
    client = client_for(ops_olivia)
    html = client.get(url("targets:plan-attainment", plan), {"period": "2026-02"}).content.decode()
    assert attainment_row(html, "李丽")[:3] == ["¥41,666.67", "¥100,000.00", "240.0%"]
    html = client.get(url("targets:plan-attainment", plan), {"period": "FY2026"}).content.decode()
    assert attainment_row(html, "李丽")[:2] == ["¥500,000.00", "¥100,000.00"]
    html = client.get(url("targets:plan-attainment", plan), {"period": "2026-Q9"}).content.decode()
    assert "is not a period code" in html and "2026-Q1" in html


@time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False)
def test_a_rep_sees_only_their_own_attainment(plan, q1_sale, client_for, rep_bob):
    html = client_for(rep_bob).get(url("targets:plan-attainment", plan)).content.decode()
    # his own node, with his own team named as its context in the behind-pace list; nobody else's
    assert names_in(html) == {"张伟", "华南一组"} and 'data-testid="unallocated"' not in html
    assert "李丽" not in html and "华东一组" not in html


# -- Excel ------------------------------------------------------------------------------------------------
def export(client, plan):
    response = client.get(url("targets:plan-export", plan))
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def upload(client, plan, wb, **kwargs):
    buffer = io.BytesIO()
    wb.save(buffer)
    file = SimpleUploadedFile("plan.xlsx", buffer.getvalue())
    return client.post(url("targets:plan-import", plan), {"file": file}, follow=True, **kwargs)


def rows_by_key(ws) -> dict[str, int]:
    return {(ws.cell(row=r, column=1).value or ""): r for r in range(2, ws.max_row + 1)}


def test_the_export_has_the_screens_shape(plan, client_for, ops_olivia, manager_carol):
    wb = export(client_for(ops_olivia), plan)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:11] == ["key", "Level", "Dimension", "Name", "Method", "Target", "lock", "commit", "manual",
                           "Locked", "Gap (target − commit)"]
    assert header[11:] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert ws.column_dimensions["A"].hidden
    alice = ws.cell(row=rows_by_key(ws)[node(plan, "李丽").key], column=4)
    assert alice.value == "李丽" and alice.alignment.indent == 2
    target = ws.cell(row=alice.row, column=6)
    assert target.value == 500000 and target.number_format == "#,##0.00"
    assert [ws.cell(row=alice.row, column=c).value for c in (12, 23)] == [pytest.approx(41666.67),
                                                                          pytest.approx(41666.66)]
    assert ws.max_row == 9  # header + 8 nodes
    carol = export(client_for(manager_carol), plan).worksheets[0]
    assert {carol.cell(row=r, column=4).value for r in range(2, carol.max_row + 1)} == {"华东一组", "李丽", "周敏", "陈经理"}


def test_an_unchanged_export_reimports_with_no_change(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    before = stored(plan)
    html = upload(client, plan, export(client, plan)).content.decode()
    assert "Imported: 0 lock(s), 0 commit(s), 0 typed value(s)." in html and stored(plan) == before


def test_export_then_import_applies_a_lock_and_a_commit(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    wb = export(client, plan)
    ws = wb.worksheets[0]
    keys = rows_by_key(ws)
    ws.cell(row=keys[node(plan, "周敏").key], column=7, value=100000)
    ws.cell(row=keys[node(plan, "张伟").key], column=8, value=480000.5)
    html = upload(client, plan, wb).content.decode()
    assert "Imported: 1 lock(s), 1 commit(s), 0 typed value(s)." in html
    assert stored(plan)["周敏"] == D("100000.00") and stored(plan)["李丽"] == D("400000.00")
    assert node(plan, "周敏").locked and node(plan, "张伟").commit == D("480000.50")


def test_a_bad_row_is_reported_and_nothing_is_applied(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    wb = export(client, plan)
    ws = wb.worksheets[0]
    keys = rows_by_key(ws)
    ws.cell(row=keys[node(plan, "周敏").key], column=7, value=100000)  # fine on its own
    bad = keys[node(plan, "张伟").key]
    ws.cell(row=bad, column=8, value="很多")
    ws.cell(row=keys[node(plan, "赵经理").key], column=1, value="team:999")
    ws.cell(row=keys[node(plan, "赵经理").key], column=8, value=5)
    html = upload(client, plan, wb).content.decode()
    assert "Nothing was imported: 2 row(s) have problems." in html
    assert f"row {bad}, commit [很多]: not a number" in html
    assert f"row {keys[node(plan, '赵经理').key]}, key [team:999]: no node of this plan has this key" in html
    assert not node(plan, "周敏").locked and node(plan, "张伟").commit is None


def test_an_infeasible_lock_in_a_file_rolls_back_everything(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    wb = export(client, plan)
    ws = wb.worksheets[0]
    keys = rows_by_key(ws)
    ws.cell(row=keys[node(plan, "张伟").key], column=8, value=1)
    ws.cell(row=keys[node(plan, "周敏").key], column=7, value=600000)
    html = upload(client, plan, wb).content.decode()
    assert f"row {keys[node(plan, '周敏').key]}, lock" in html
    assert not node(plan, "周敏").locked and node(plan, "张伟").commit is None


def test_a_manager_imports_commits_but_not_locks(plan, client_for, manager_carol):
    client = client_for(manager_carol)
    wb = export(client, plan)
    ws = wb.worksheets[0]
    keys = rows_by_key(ws)
    ws.cell(row=keys[node(plan, "李丽").key], column=8, value=460000)
    assert "Imported: 0 lock(s), 1 commit(s), 0 typed value(s)." in upload(client, plan, wb).content.decode()
    assert node(plan, "李丽").commit == D("460000.00")
    ws.cell(row=keys[node(plan, "周敏").key], column=7, value=1)
    assert "you may not lock targets" in upload(client, plan, wb).content.decode()


@pytest.fixture
def manual_plan(world, ops_olivia):
    """Teams typed by hand (manual), then salespeople equally; nothing typed yet."""
    levels = [{"dimension": "team", "depth": 1, "method": "manual"}, {"dimension": "salesperson", "method": "equal"}]
    plan = targets.plan_create(actor=ops_olivia, name="手工分解", fiscal_year=2026, total=D("900000.00"),
                               levels=levels, seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    return plan


def test_a_typed_value_in_the_editor_rebalances_the_untyped_siblings(manual_plan, client_for, ops_olivia):
    plan, client = manual_plan, client_for(ops_olivia)
    team_a, team_b = node(plan, "华东一组"), node(plan, "华南一组")
    html = client.get(url("targets:plan", plan)).content.decode()
    assert f'hx-post="{url("targets:node-manual", plan)}"' in html  # manual-level rows type, they do not lock
    assert "Manual values · 0 of 2 typed" in html  # the plan says what is still to type
    html = client.post(url("targets:node-manual", plan), {"key": team_a.key, "manual": "600000"}, **HTMX).content.decode()
    returned = table_values(html)
    assert returned[team_a.key] == D("600000.00") and returned[team_b.key] == D("300000.00")
    assert ">typed</span>" in html and node(plan, "华东一组").manual == D("600000.00")
    # the last one must make the sum: refused inline with the gap, nothing saved
    html = client.post(url("targets:node-manual", plan), {"key": team_b.key, "manual": "200000"},
                       **HTMX).content.decode()
    assert "short of its value 900,000.00 by 100,000.00" in html or "short of" in html
    assert node(plan, "华南一组").manual is None and node(plan, "华南一组").value == D("300000.00")
    client.post(url("targets:node-manual", plan), {"key": team_a.key, "manual": ""}, **HTMX)  # empty clears it
    assert node(plan, "华东一组").manual is None and node(plan, "华东一组").value == D("450000.00")
    assert client.post(url("targets:node-manual", plan), {"key": team_a.key, "manual": "-1"},
                       **HTMX).content.decode().count("华东一组: ") >= 1


@pytest.mark.parametrize("persona", ["manager_carol", "rep_alice", "finance_dan"])
def test_only_ops_and_admin_type_values(manual_plan, client_for, request, persona):
    team_a = node(manual_plan, "华东一组")
    response = client_for(request.getfixturevalue(persona)).post(
        url("targets:node-manual", manual_plan), {"key": team_a.key, "manual": "1"}, **HTMX)
    assert response.status_code == 403 and node(manual_plan, "华东一组").manual is None


def test_typed_values_come_in_from_excel_together_or_not_at_all(manual_plan, client_for, ops_olivia, manager_carol):
    plan, client = manual_plan, client_for(ops_olivia)
    wb = export(client, plan)
    ws = wb.worksheets[0]
    keys = rows_by_key(ws)
    a, b = keys[node(plan, "华东一组").key], keys[node(plan, "华南一组").key]
    ws.cell(row=a, column=9, value=500000)
    ws.cell(row=b, column=9, value=300000)  # 800,000 of 900,000: refused, naming the gap
    html = upload(client, plan, wb).content.decode()
    assert "Nothing was imported" in html and "short of" in html
    assert node(plan, "华东一组").manual is None
    ws.cell(row=keys[node(plan, "李丽").key], column=9, value=1)  # a level that is not typed by hand
    assert "this node&#x27;s level does not use the manual method" in upload(client, plan, wb).content.decode()
    ws.cell(row=keys[node(plan, "李丽").key], column=9).value = None
    ws.cell(row=b, column=9, value=400000)
    assert "Imported: 0 lock(s), 0 commit(s), 2 typed value(s)." in upload(client, plan, wb).content.decode()
    assert (node(plan, "华东一组").value, node(plan, "华南一组").value) == (D("500000.00"), D("400000.00"))
    again = export(client, plan).worksheets[0]  # the typed values come back pre-filled in their column
    assert again.cell(row=a, column=9).value == 500000
    carol = export(client_for(manager_carol), plan)  # an unchanged file is fine for a manager too
    assert "Imported: 0 lock(s), 0 commit(s), 0 typed value(s)." in upload(client_for(manager_carol), plan,
                                                                            carol).content.decode()
    ws = carol.worksheets[0]
    ws.cell(row=rows_by_key(ws)[node(plan, "华东一组").key], column=9, value=1)
    assert "you may not type targets" in upload(client_for(manager_carol), plan, carol).content.decode()


def test_reps_may_not_import(plan, client_for, rep_alice):
    client = client_for(rep_alice)
    wb = export(client, plan)
    buffer = io.BytesIO()
    wb.save(buffer)
    response = client.post(url("targets:plan-import", plan), {"file": SimpleUploadedFile("p.xlsx", buffer.getvalue())})
    assert response.status_code == 403


def test_the_person_link_needs_the_person_to_be_visible(plan, client_for, manager_carol):
    html = client_for(manager_carol).get(url("targets:plan", plan)).content.decode()
    alice = Salesperson.objects.get(name="李丽")
    assert reverse("org:person", args=[alice.pk]) in html


@pytest.mark.parametrize(("persona", "locks", "commits", "buttons"), [
    ("ops_olivia", True, True, True),
    ("manager_carol", False, True, False),
    ("finance_dan", False, False, False),
    ("rep_alice", False, False, False),
])
def test_each_persona_gets_only_the_controls_they_may_use(plan, client_for, request, persona, locks, commits, buttons):
    html = client_for(request.getfixturevalue(persona)).get(url("targets:plan", plan)).content.decode()
    assert ('name="value"' in html) is locks
    assert ('name="commit"' in html) is commits
    assert (reverse("targets:plan-allocate", args=[plan.pk]) in html) is buttons
    assert (reverse("targets:plan-transition", args=[plan.pk]) in html) is buttons
    assert (reverse("targets:plan-import", args=[plan.pk]) in html) is (locks or commits)


def test_the_months_toggle_renders_the_twelve_months_and_edits_keep_them(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    assert "2026-07</th>" not in client.get(url("targets:plan", plan)).content.decode()
    html = client.get(url("targets:plan", plan), {"months": "1"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<div id="tree"') and html.count('<th class="num m">') == 12
    assert "¥41,666.67" in html and "¥41,666.66" in html  # Alice's months: 500,000.00 spread flat
    amy = node(plan, "周敏").key
    html = client.post(url("targets:node-lock", plan), {"key": amy, "value": "120000", "months": "1"},
                       **HTMX).content.decode()
    amy_row = html.split(f'data-key="{amy}"')[1].split("</tr>")[0]  # the changed rows keep their month cells
    assert amy_row.count('<td class="num m">') == 12 and "¥10,000.00" in amy_row  # 120,000.00 over 12 months


def test_a_commit_is_closed_once_the_plan_is_locked(plan, client_for, ops_olivia, manager_carol):
    for to in ("submitted", "approved", "locked"):
        targets.plan_transition(actor=ops_olivia, plan=plan, to=to)
    alice = node(plan, "李丽").key
    html = client_for(manager_carol).post(url("targets:node-commit", plan), {"key": alice, "commit": "1"},
                                          **HTMX).content.decode()
    assert "commits are closed on a locked plan" in html and node(plan, "李丽").commit is None
