"""Persona fixtures: a small company whose people see different things.

Org: 全国销售部 (head: director Victor) ├─ 华东一组 Team A (manager Carol): reps Alice, Amy
                                    └─ 华南一组 Team B (manager Erin): rep Bob

| fixture        | role     | sees                                                         |
|----------------|----------|--------------------------------------------------------------|
| rep_alice      | rep      | herself, her customers and the lines credited to her         |
| rep_bob        | rep      | himself (team B) — must never see Alice's data               |
| manager_carol  | manager  | team A today: herself, Alice, Amy; not Bob                   |
| manager_erin   | manager  | team B: herself and Bob                                      |
| director_victor| manager  | the whole tree (heads the root team)                         |
| ops_olivia     | ops      | everything, may edit                                         |
| hr_henry       | hr       | people and assignments, no sales data                        |
| finance_dan    | finance  | people, customers and transactions, read-only                |
| admin_ada      | admin    | everything, the audit log                                    |

Order lines: line A1 credited 100% to Alice (customer 甲公司, owner Alice); line B1 100% to Bob (customer 乙公司,
owner Bob); line S1 split 60/40 Alice/Bob.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from salesops.core.roles import Role
from salesops.core.services import user_create
from salesops.org import services as org
from salesops.org.models import Company, CustomerSegment, ProductCategory, Region, Team

D = Decimal


@pytest.fixture(autouse=True)
def english():
    """Code outside a request speaks the default language (zh-hans); tests assert messages in English.
    Requests still pick their language themselves (LocaleMiddleware), so page tests can ask for either."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def world(db):
    Company.objects.all().delete()
    company = Company.objects.create(name="测试公司")
    users = {}
    for key, role in [
        ("alice", Role.REP), ("amy", Role.REP), ("bob", Role.REP), ("carol", Role.MANAGER), ("erin", Role.MANAGER),
        ("victor", Role.MANAGER), ("olivia", Role.OPS), ("henry", Role.HR), ("dan", Role.FINANCE), ("ada", Role.ADMIN),
    ]:
        users[key], _ = user_create(actor=None, username=key, password="pw-" + key, role=role, first_name=key.title())
    china = org.tree_node_create(actor=None, model=Region, name="全国", code="CN")
    east = org.tree_node_create(actor=None, model=Region, name="华东", code="CN-E", parent=china)
    shanghai = org.tree_node_create(actor=None, model=Region, name="上海", code="CN-E-SH", parent=east)
    south = org.tree_node_create(actor=None, model=Region, name="华南", code="CN-S", parent=china)
    cat = org.tree_node_create(actor=None, model=ProductCategory, name="软件", code="SW")
    seg = org.tree_node_create(actor=None, model=CustomerSegment, name="大客户", code="KA")
    product = org.product_create(actor=None, sku="SW-1", name="CRM 套件", category=cat, list_price=D("1000.00"),
                                 standard_cost=D("400.00"), unit="套")
    root = org.tree_node_create(actor=None, model=Team, name="全国销售部", code="T-ROOT")
    team_a = org.tree_node_create(actor=None, model=Team, name="华东一组", code="T-A", parent=root)
    team_b = org.tree_node_create(actor=None, model=Team, name="华南一组", code="T-B", parent=root)
    hired = dt.date(2024, 1, 1)
    people = {}
    for key, name, emp in [("victor", "王总", "E001"), ("carol", "陈经理", "E002"), ("erin", "赵经理", "E003"),
                           ("alice", "李丽", "E101"), ("amy", "周敏", "E102"), ("bob", "张伟", "E201")]:
        people[key] = org.salesperson_create(actor=None, user=users[key], employee_no=emp, name=name, hire_date=hired)
    org.tree_node_update(actor=None, node=root, manager=people["victor"])
    org.tree_node_update(actor=None, node=team_a, manager=people["carol"])
    org.tree_node_update(actor=None, node=team_b, manager=people["erin"])
    for key, team, manager, region in [
        ("victor", root, None, china), ("carol", team_a, people["victor"], east), ("erin", team_b, people["victor"], south),
        ("alice", team_a, people["carol"], shanghai), ("amy", team_a, people["carol"], east),
        ("bob", team_b, people["erin"], south),
    ]:
        org.assignment_create(actor=None, salesperson=people[key], team=team, manager=manager, region=region, start_date=hired)
    cust_a = org.customer_create(actor=None, external_id="C-A", name="甲公司", segment=seg, region=shanghai, owner=people["alice"])
    cust_b = org.customer_create(actor=None, external_id="C-B", name="乙公司", segment=seg, region=south, owner=people["bob"])
    common = dict(product=product, quantity=D("1"), unit_price=D("1000.00"), cost=D("400.00"))
    line_a = org.order_line_create(actor=None, credits=[(people["alice"], D(100))], external_id="A1", order_no="SO-A",
                                   date=dt.date(2025, 11, 15), customer=cust_a, **common)
    line_b = org.order_line_create(actor=None, credits=[(people["bob"], D(100))], external_id="B1", order_no="SO-B",
                                   date=dt.date(2025, 11, 16), customer=cust_b, **common)
    line_s = org.order_line_create(actor=None, credits=[(people["alice"], D(60)), (people["bob"], D(40))], external_id="S1",
                                   order_no="SO-S", date=dt.date(2025, 12, 1), customer=cust_a, **common)
    return SimpleNamespace(
        company=company, users=users, people=people, regions=SimpleNamespace(china=china, east=east, shanghai=shanghai,
        south=south), category=cat, segment=seg, product=product, teams=SimpleNamespace(root=root, a=team_a, b=team_b),
        customers=SimpleNamespace(a=cust_a, b=cust_b), lines=SimpleNamespace(a=line_a, b=line_b, s=line_s),
    )


def _user_fixture(key):
    @pytest.fixture
    def fixture(world):
        return world.users[key]

    return fixture


rep_alice = _user_fixture("alice")
rep_bob = _user_fixture("bob")
manager_carol = _user_fixture("carol")
manager_erin = _user_fixture("erin")
director_victor = _user_fixture("victor")
ops_olivia = _user_fixture("olivia")
hr_henry = _user_fixture("henry")
finance_dan = _user_fixture("dan")
admin_ada = _user_fixture("ada")


@pytest.fixture
def client_for(client):
    """``client_for(user)``: a test client signed in as ``user``."""

    def login(user):
        client.force_login(user)
        return client

    return login


def monthly(person, month):
    """A salesperson's month in the sales cube, summed over regions, segments and categories."""
    from django.db.models import Sum

    from salesops.org.models import SalesMonthly

    totals = SalesMonthly.objects.filter(salesperson=person, month=month).aggregate(
        net_amount=Sum("net_amount"), cost=Sum("cost"), quantity=Sum("quantity"), lines=Sum("lines"))
    return SimpleNamespace(**totals)
