"""Every organisation page: who may open it, who is refused, and that edits go through services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.core.models import AuditEvent
from salesops.org.models import Assignment, Region


def get(client, url, **params):
    return client.get(url, params)


@pytest.mark.parametrize("persona", ["rep_alice", "manager_carol", "ops_olivia", "finance_dan", "admin_ada"])
def test_it_lists_only_visible_order_lines(world, client_for, request, persona):
    user = request.getfixturevalue(persona)
    html = get(client_for(user), reverse("org:lines")).content.decode()
    sees_bob = persona in ("ops_olivia", "finance_dan", "admin_ada")
    assert ("SO-B" in html) is sees_bob
    assert "SO-A" in html


def test_it_refuses_hr_the_sales_lists(world, client_for, hr_henry):
    client = client_for(hr_henry)
    assert client.get(reverse("org:lines")).status_code == 403
    assert client.get(reverse("org:customers")).status_code == 403
    assert client.get(reverse("org:line", args=[world.lines.a.pk])).status_code == 404


@pytest.mark.parametrize(("url_name", "obj"), [
    ("org:line", lambda w: w.lines.a), ("org:customer", lambda w: w.customers.a),
    ("org:person", lambda w: w.people["alice"]),
])
def test_it_hides_alices_records_from_bob_and_erin(world, client_for, rep_bob, manager_erin, url_name, obj):
    url = reverse(url_name, args=[obj(world).pk])
    assert client_for(rep_bob).get(url).status_code == 404
    assert client_for(manager_erin).get(url).status_code == 404


def test_it_shows_alice_her_own_share_of_a_split_line_but_not_bobs(world, client_for, rep_alice, manager_carol):
    url = reverse("org:line", args=[world.lines.s.pk])
    for user in (rep_alice, manager_carol):
        html = client_for(user).get(url).content.decode()
        assert "<td>李丽</td>" in html and "¥600.00" in html
        assert "张伟" not in html


def test_it_shows_ops_every_share_of_a_split_line(world, client_for, ops_olivia):
    html = client_for(ops_olivia).get(reverse("org:line", args=[world.lines.s.pk])).content.decode()
    assert "<td>李丽</td>" in html and "<td>张伟</td>" in html


def test_it_lists_people_per_visibility(world, client_for, manager_carol, rep_alice):
    html = client_for(manager_carol).get(reverse("org:people")).content.decode()
    assert "李丽" in html and "周敏" in html and "张伟" not in html
    html = client_for(rep_alice).get(reverse("org:people")).content.decode()
    assert "李丽" in html and "周敏" not in html


def test_it_shows_hr_people_without_sales_figures(world, client_for, hr_henry):
    html = client_for(hr_henry).get(reverse("org:person", args=[world.people["alice"].pk])).content.decode()
    assert "华东一组" in html
    assert 'data-testid="person-total"' not in html


def test_it_filters_sorts_and_paginates_lines(world, client_for, ops_olivia):
    client = client_for(ops_olivia)
    html = client.get(reverse("org:lines"), {"date_from": "2025-11-16", "sort": "date"}).content.decode()
    assert "SO-A" not in html and html.index("SO-B") < html.index("SO-S")
    html = client.get(reverse("org:lines"), {"salesperson": world.people["bob"].pk}).content.decode()
    assert "SO-A" not in html and "SO-B" in html and "SO-S" in html


@pytest.mark.parametrize("persona", ["rep_alice", "manager_carol", "hr_henry", "finance_dan"])
def test_it_refuses_tree_edits_to_non_editors(world, client_for, request, persona):
    client = client_for(request.getfixturevalue(persona))
    response = client.post(reverse("org:tree-node-new", args=["regions"]), {"name": "西北", "code": "CN-NW"})
    assert response.status_code == 403
    assert not Region.objects.filter(code="CN-NW").exists()


def test_it_moves_a_tree_node_and_refuses_a_cycle(world, client_for, ops_olivia):
    client = client_for(ops_olivia)
    url = reverse("org:tree-node-edit", args=["regions", world.regions.east.pk])
    response = client.post(url, {"name": "华东", "code": "CN-E", "parent": world.regions.shanghai.pk})
    assert response.status_code == 200
    assert "cycle" in response.content.decode() or "循环" in response.content.decode()
    world.regions.east.refresh_from_db()
    assert world.regions.east.parent_id == world.regions.china.pk
    response = client.post(url, {"name": "华东区", "code": "CN-E", "parent": world.regions.south.pk})
    assert response.status_code == 302
    world.regions.shanghai.refresh_from_db()
    assert world.regions.shanghai.path.startswith(world.regions.south.path)
    assert AuditEvent.objects.filter(event="region.moved").exists()


def test_it_refuses_an_overlapping_assignment_naming_the_dates(world, client_for, hr_henry):
    alice = world.people["alice"]
    url = reverse("org:assignment-new", args=[alice.pk])
    response = client_for(hr_henry).post(url, {"team": world.teams.b.pk, "start_date": "2025-06-01"})
    assert response.status_code == 200
    assert "2025-06-01" in response.content.decode()
    assert Assignment.objects.filter(salesperson=alice).count() == 1


def test_it_refuses_the_audit_log_to_everyone_but_admins(world, client_for, ops_olivia, admin_ada):
    assert client_for(ops_olivia).get(reverse("web-audit")).status_code == 403
    html = client_for(admin_ada).get(reverse("web-audit")).content.decode()
    assert "order_line.created" in html


def test_it_lets_ops_edit_company_settings(world, client_for, ops_olivia, rep_alice):
    assert client_for(rep_alice).get(reverse("org:company")).status_code == 403
    response = client_for(ops_olivia).post(reverse("org:company"), {
        "name": "新公司", "currency_code": "CNY", "currency_symbol": "¥", "fiscal_year_start_month": 4,
        "rounding_policy": "half_up", "display_unit": "wan", "default_language": "zh-hans"})
    assert response.status_code == 302
    world.company.refresh_from_db()
    assert world.company.fiscal_year_start_month == 4
    assert AuditEvent.objects.filter(event="company.updated").exists()


@pytest.mark.parametrize("url_name", ["org:trees", "org:products", "org:people"])
def test_it_opens_reference_pages_for_every_role(world, client_for, hr_henry, url_name):
    assert client_for(hr_henry).get(reverse(url_name)).status_code == 200


def test_it_answers_who_was_where_on_a_date(world, client_for, ops_olivia):
    import datetime as dt

    from salesops.org import services as org

    org.assignment_transfer(actor=None, salesperson=world.people["alice"], team=world.teams.b,
                            manager=world.people["erin"], on=dt.date(2025, 12, 1))
    client = client_for(ops_olivia)
    before = client.get(reverse("org:people"), {"on": "2025-11-15", "q": "E101"}).content.decode()
    after = client.get(reverse("org:people"), {"on": "2025-12-15", "q": "E101"}).content.decode()
    assert "<td>华东一组</td>" in before and "<td>陈经理</td>" in before and "<td>华南一组</td>" not in before
    assert "<td>华南一组</td>" in after and "<td>赵经理</td>" in after


def test_ops_types_a_split_line_and_a_payment(world, client_for, ops_olivia, rep_alice):
    from salesops.org.models import OrderLine

    data = {"external_id": "WEB1", "order_no": "SO-W", "date": "2025-12-05", "customer": world.customers.a.pk,
            "product": world.product.pk, "quantity": "2", "unit_price": "1000.00", "discount": "0.1", "cost": "800.00",
            "status": "booked", "credits": "E101:70;E201:30"}
    assert client_for(rep_alice).post(reverse("org:line-new"), data).status_code == 403
    client = client_for(ops_olivia)
    response = client.post(reverse("org:line-new"), {**data, "credits": "E101:70;E201:20"})
    assert response.status_code == 200 and "90" in response.content.decode()
    assert not OrderLine.objects.filter(external_id="WEB1").exists()
    response = client.post(reverse("org:line-new"), data)
    line = OrderLine.objects.get(external_id="WEB1")
    assert response.status_code == 302 and line.net_amount == Decimal("1800.00")
    assert sorted(line.credits.values_list("amount", flat=True)) == [Decimal("540.00"), Decimal("1260.00")]
    url = reverse("org:payment-new", args=[line.pk])
    assert client.post(url, {"date": "2025-12-20", "amount": "1800.01"}).status_code == 200
    assert client.post(url, {"date": "2025-12-20", "amount": "800.00"}).status_code == 302
    assert line.payments.get().amount == Decimal("800.00")


def test_a_typed_return_must_name_an_existing_original(world, client_for, ops_olivia):
    data = {"external_id": "RET1", "order_no": "SO-R", "date": "2025-12-05", "customer": world.customers.a.pk,
            "product": world.product.pk, "quantity": "-1", "unit_price": "1000.00", "discount": "0", "cost": "-400.00",
            "status": "returned", "credits": "E101", "original_external_id": "NOPE"}
    response = client_for(ops_olivia).post(reverse("org:line-new"), data)
    assert "NOPE" in response.content.decode()
    response = client_for(ops_olivia).post(reverse("org:line-new"), {**data, "original_external_id": "A1"})
    assert response.status_code == 302


EDIT_PAGES = [
    ("org:person-new", lambda w: []), ("org:person-edit", lambda w: [w.people["alice"].pk]),
    ("org:assignment-new", lambda w: [w.people["alice"].pk]),
    ("org:customer-new", lambda w: []), ("org:customer-edit", lambda w: [w.customers.a.pk]),
    ("org:product-new", lambda w: []), ("org:product-edit", lambda w: [w.product.pk]),
    ("org:line-new", lambda w: []), ("org:payment-new", lambda w: [w.lines.a.pk]),
    ("org:tree-node-new", lambda w: ["regions"]), ("org:tree-node-edit", lambda w: ["regions", w.regions.east.pk]),
    ("org:company", lambda w: []),
]
PEOPLE_PAGES = {"org:person-new", "org:person-edit", "org:assignment-new"}


@pytest.mark.parametrize(("persona", "url_name", "args"), [
    (persona, url_name, args) for persona in ("rep_alice", "manager_carol", "finance_dan", "hr_henry")
    for url_name, args in EDIT_PAGES if not (persona == "hr_henry" and url_name in PEOPLE_PAGES)  # HR edits people
])
def test_it_refuses_edit_pages_to_those_who_may_not_edit(world, client_for, request, persona, url_name, args):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse(url_name, args=args(world))).status_code == 403
    assert client.post(reverse(url_name, args=args(world)), {}).status_code == 403


@pytest.mark.parametrize(("url_name", "args"), EDIT_PAGES)
def test_it_opens_edit_pages_for_ops(world, client_for, ops_olivia, url_name, args):
    assert client_for(ops_olivia).get(reverse(url_name, args=args(world))).status_code == 200


def test_it_refuses_tree_deletes_to_non_editors(world, client_for, rep_alice, ops_olivia):
    url = reverse("org:tree-node-delete", args=["regions", world.regions.shanghai.pk])
    assert client_for(rep_alice).post(url).status_code == 403
    assert Region.objects.filter(pk=world.regions.shanghai.pk).exists()
    response = client_for(ops_olivia).post(url, follow=True)
    assert "still used" in response.content.decode() or "仍被" in response.content.decode()


@pytest.mark.parametrize(("url_name", "mine", "theirs"), [
    ("org:lines", "SO-A", "SO-B"), ("org:customers", "甲公司", "乙公司"), ("org:people", "李丽", "张伟"),
])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_reps_export_holds_only_their_rows(world, client_for, rep_alice, url_name, mine, theirs, fmt):
    import io

    from openpyxl import load_workbook

    response = client_for(rep_alice).get(reverse(url_name), {"format": fmt})
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        text = body.decode("utf-8-sig")
    else:
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        text = "\n".join(",".join(str(c) for c in row if c is not None) for row in sheet.iter_rows(values_only=True))
    assert mine in text and theirs not in text


def test_it_lists_customers_per_visibility(world, client_for, rep_bob, manager_carol):
    html = client_for(rep_bob).get(reverse("org:customers")).content.decode()
    assert "乙公司" in html and "甲公司" not in html
    html = client_for(manager_carol).get(reverse("org:customers")).content.decode()
    assert "甲公司" in html and "乙公司" not in html
