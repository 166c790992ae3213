"""The customer list and the customer 360 page: what each persona sees and may change, the figures worked out by
hand (``test_customer360.history``), the profile and contact forms, and the page in Chinese."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.core.models import AuditEvent
from salesops.crm import recommendations
from salesops.crm import services as crm
from salesops.crm.models import ActivityKind, Contact, ContactRole, Quote, QuoteLine
from salesops.org import services as org
from salesops.org.models import Customer, CustomerStatus
from tests.crm.test_customer360 import line, make_hardware, make_history

NOW = dt.datetime(2026, 3, 15, 10, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def frozen():
    """Today is 2026-03-15 (the date the figures of ``history`` were worked out for)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def fresh_recommendations():
    """The recommender keeps its model per process, keyed by the newest line id and the count of lines; rolled
    back tests reuse ids, so every test starts from an empty cache."""
    recommendations.clear_cache()
    yield
    recommendations.clear_cache()


@pytest.fixture
def history(world):
    """The purchases of 甲公司 worked out by hand in ``test_customer360``."""
    return make_history(world, make_hardware())


@pytest.fixture
def en(client_for):
    def login(user):
        client = client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


def page_of(customer):
    return reverse("crm:customer", args=[customer.pk])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def by_testid(html: str, name: str) -> str:
    """The text inside the element with ``data-testid=name`` (tags removed)."""
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(div|td|span|p|ul|section|table)>', html, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


# -- the list ---------------------------------------------------------------------------------------------
def test_a_rep_lists_her_customers_with_rfm_and_completeness(world, rep_alice, en):
    html = text(en(rep_alice).get(reverse("crm:customers")))
    assert "甲公司" in html and "乙公司" not in html
    # 甲公司 has segment, region and owner: 3 of 8 requirements, 37.5 % rounded half up
    assert "38%" in html
    # the only two buyers of the last 24 months: 甲公司 bought later and more (R3 F3), 乙公司 (R1 F1)
    assert "need attention" in html
    assert "2025-12-01" in html  # last purchase


def test_hr_may_not_open_the_customer_list(world, hr_henry, en):
    assert en(hr_henry).get(reverse("crm:customers")).status_code == 403


@pytest.fixture
def more_customers(world):
    """丙公司 (Amy, a prospect, dormant) and 丁公司 (nobody's, lost)."""
    c = org.customer_create(actor=None, external_id="C-C", name="丙公司", owner=world.people["amy"],
                            segment=world.segment, region=world.regions.east, status=CustomerStatus.DORMANT)
    d = org.customer_create(actor=None, external_id="C-D", name="丁公司", status=CustomerStatus.LOST)
    return c, d


@pytest.mark.parametrize(("query", "names"), [
    ("", {"甲公司", "乙公司", "丙公司", "丁公司"}),
    ("status=dormant", {"丙公司"}),
    ("owner={alice}", {"甲公司"}),
    ("team={team_a}", {"甲公司", "丙公司"}),
    ("team={root}", {"甲公司", "乙公司", "丙公司"}),
    ("region={south}", {"乙公司"}),
    ("rfm=need_attention", {"甲公司"}),
    ("rfm=hibernating", {"乙公司"}),
    ("rfm=prospect", {"丙公司", "丁公司"}),
    ("missing=owner", {"丁公司"}),
    ("incomplete=on&q=丙", {"丙公司"}),
])
def test_the_list_filters(world, more_customers, ops_olivia, en, query, names):
    query = query.format(alice=world.people["alice"].pk, team_a=world.teams.a.pk, root=world.teams.root.pk,
                         south=world.regions.south.pk)
    response = en(ops_olivia).get(f"{reverse('crm:customers')}?{query}")
    shown = {cell["text"] for row in response.context["rows"] for cell in row[1:2]}
    assert shown == names


def test_the_list_sorts_on_rfm_value_and_completeness(world, more_customers, ops_olivia, en):
    client = en(ops_olivia)

    def order(sort):
        return [row[1]["text"] for row in client.get(f"{reverse('crm:customers')}?sort={sort}").context["rows"]]

    assert order("rfm") == ["甲公司", "乙公司", "丙公司", "丁公司"]  # need attention, hibernating, prospects
    assert order("-net_12m")[:2] == ["甲公司", "乙公司"]  # ¥2,000.00 and ¥1,000.00
    assert order("completeness")[0] == "丁公司"  # nothing but its name


def test_the_list_exports_what_it_shows(world, ops_olivia, en):
    response = en(ops_olivia).get(f"{reverse('crm:customers')}?format=csv&owner={world.people['alice'].pk}")
    rows = response.content.decode("utf-8-sig").splitlines()
    assert rows[0] == ("Customer number,Name,Status,Owner,Segment,Region,Last purchase,\"Net, last 12 months\","
                       "RFM segment,Record complete")
    assert rows[1:] == ["C-A,甲公司,active,李丽,大客户,上海,2025-12-01,2000.00,need attention,38%"]


def test_the_list_runs_the_same_queries_for_more_customers(world, ops_olivia, en):
    client = en(ops_olivia)
    client.get(reverse("crm:customers"))  # warm the session and the company
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("crm:customers"))
    for n in range(20):
        customer = org.customer_create(actor=None, external_id=f"C-{n}", name=f"客户{n}", owner=world.people["bob"])
        line(world, customer, f"L-{n}", dt.date(2026, 1, 1) + dt.timedelta(days=n), person="bob")
        Contact.objects.create(customer=customer, name="联系人", phone="1380000")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("crm:customers"))
    assert len(many) == len(few)


# -- the 360 page -----------------------------------------------------------------------------------------
def test_the_360_page_shows_the_figures_worked_out_by_hand(history, rep_alice, en):
    response = en(rep_alice).get(page_of(history.customers.a))
    html = response.content.decode()
    assert by_testid(html, "last-purchase") == "2026-02-10"
    assert by_testid(html, "frequency") == "3"
    assert by_testid(html, "monetary") == "¥3,400.00"
    assert by_testid(html, "margin") == "¥1,900.00"
    assert by_testid(html, "margin-pct") == "55.9%"  # 1,900 ÷ 3,400
    assert by_testid(html, "net-total") == "¥4,400.00"
    assert by_testid(html, "margin-total") == "¥2,500.00 · 56.8%"
    # buyers of the last 24 months: 甲公司 (2026-02-10, 3 orders, ¥3,400) and 乙公司 (2025-11-16, 1, ¥1,000)
    assert by_testid(html, "rfm-scores") == "R3 F3 M3"
    assert by_testid(html, "rfm-segment") == "need attention"
    chart = json.loads(re.search(r'<script id="purchases-data" type="application/json">(.*?)</script>', html).group(1))
    assert chart["months"][0] == "2024-04" and chart["months"][-1] == "2026-03"
    assert [s["name"] for s in chart["series"]] == ["软件", "硬件"]
    assert chart["series"][1]["data"][-2:] == ["1000.00", "-500.00"]
    assert 'id="purchases-chart"' in html and "vendor/echarts/echarts.min.js" in html
    products = re.findall(r'<tr data-sku="([^"]+)">', html)
    assert products == ["SW-1", "HW-1"]
    assert by_testid(html, "customer-status") == "active"


def test_the_360_page_says_when_there_are_no_purchases(world, ops_olivia, en):
    empty = org.customer_create(actor=None, external_id="C-N", name="新客户")
    html = en(ops_olivia).get(page_of(empty)).content.decode()
    assert 'data-testid="purchases-chart-empty"' in html and 'id="purchases-chart"' not in html
    assert by_testid(html, "rfm-segment") == "prospect"
    assert by_testid(html, "completeness-pct") == "0%"


def test_it_lists_open_deals_recent_activities_and_quotes(world, deal_a, boss_a, rep_alice, en):
    a = world.customers.a
    crm.activity_create(actor=None, kind=ActivityKind.VISIT, subject="上门拜访", customer=a, owner=world.people["alice"],
                        contact=boss_a, created_at=NOW - dt.timedelta(days=1))
    quote = Quote.objects.create(number="Q-2026-001", customer=a, owner=world.people["alice"],
                                 created_at=NOW - dt.timedelta(days=2))
    QuoteLine.objects.create(quote=quote, product=world.product, quantity=2, list_price="1000.00",
                             discount="0.05", net_amount="1900.00")
    html = text(en(rep_alice).get(page_of(a)))
    assert "甲公司 CRM" in html and "Lead" in html
    assert "上门拜访" in html and "钱总" in html
    assert "Q-2026-001" in html and "¥1,900.00" in html
    assert f'href="{reverse("crm:opportunity", args=[deal_a.pk])}"' in html
    assert f'href="{reverse("crm:quote", args=[quote.pk])}"' in html


@pytest.mark.parametrize(("persona", "status"), [
    ("rep_alice", 200), ("manager_carol", 200), ("director_victor", 200), ("ops_olivia", 200), ("finance_dan", 200),
    ("admin_ada", 200), ("rep_bob", 404), ("manager_erin", 404), ("hr_henry", 404),
])
def test_who_may_open_alices_customer(world, en, request, persona, status):
    assert en(request.getfixturevalue(persona)).get(page_of(world.customers.a)).status_code == status


def test_finance_reads_but_changes_nothing(world, boss_a, finance_dan, en):
    client = en(finance_dan)
    html = client.get(page_of(world.customers.a)).content.decode()
    assert 'data-testid="profile-edit"' not in html and 'data-testid="contact-add"' not in html
    a = world.customers.a
    assert client.post(reverse("crm:customer-profile", args=[a.pk]), {"status": "lost"}).status_code == 403
    assert client.post(reverse("crm:contact-new", args=[a.pk]), {"name": "X", "role": "other"}).status_code == 403
    assert client.post(reverse("crm:contact-edit", args=[boss_a.pk]), {"name": "X", "role": "other"}).status_code == 403
    assert client.post(reverse("crm:contact-delete", args=[boss_a.pk])).status_code == 403
    assert Customer.objects.get(pk=a.pk).status == CustomerStatus.ACTIVE and Contact.objects.count() == 1


def test_outsiders_cannot_touch_the_contacts(world, boss_a, rep_bob, manager_erin, en):
    for user in (rep_bob, manager_erin):
        client = en(user)
        assert client.get(reverse("crm:contact-new", args=[world.customers.a.pk])).status_code == 404
        assert client.post(reverse("crm:contact-edit", args=[boss_a.pk]), {"name": "X"}).status_code == 404
        assert client.post(reverse("crm:contact-delete", args=[boss_a.pk])).status_code == 404
    assert Contact.objects.get(pk=boss_a.pk).name == "钱总"


def test_the_owners_manager_may_edit(world, manager_carol, en):
    html = en(manager_carol).get(page_of(world.customers.a)).content.decode()
    assert 'data-testid="profile-edit"' in html and 'data-testid="contact-add"' in html


def test_it_recommends_products_with_the_reason_for_each(world, rep_alice, en):
    # Given 甲公司 and 乙公司 bought the CRM suite; three more key accounts bought it with a server, two other
    # customers only a third product: 3 of the 5 buyers of the suite also buy the server (60 %), and the pair
    # is 3 × 7 ÷ (5 × 3) = 1.4 times likelier than chance
    server = make_hardware()
    other = org.product_create(actor=None, sku="SVC-1", name="培训", category=world.category,
                               list_price="100.00", standard_cost="50.00")
    for n in range(3):
        customer = org.customer_create(actor=None, external_id=f"K-{n}", name=f"大客户{n}", segment=world.segment,
                                       owner=world.people["alice"])
        line(world, customer, f"K-{n}-1", dt.date(2026, 1, 5), order=f"SO-K{n}")
        line(world, customer, f"K-{n}-2", dt.date(2026, 1, 5), order=f"SO-K{n}", product=server, price="500.00",
             cost="300.00")
    for n in range(2):
        customer = org.customer_create(actor=None, external_id=f"O-{n}", name=f"其他{n}", owner=world.people["alice"])
        line(world, customer, f"O-{n}", dt.date(2026, 1, 6), product=other, price="100.00", cost="50.00")
    # When Alice opens 甲公司
    html = en(rep_alice).get(page_of(world.customers.a)).content.decode()
    # Then the server is recommended, with its reason
    rows = re.findall(r'data-testid="recommendation" data-sku="([^"]+)"', html)
    assert rows == ["HW-1"]
    reason = by_testid(html, "recommendation-reason")
    assert "60%" in reason and "CRM 套件" in reason and "服务器" in reason and "1.4" in reason
    assert ">60%</td>" in html  # the score


def test_a_customer_without_history_gets_no_recommendation(world, ops_olivia, en):
    empty = org.customer_create(actor=None, external_id="C-N", name="新客户")
    html = en(ops_olivia).get(page_of(empty)).content.decode()
    assert 'data-testid="recommendation"' not in html and "Nothing to recommend yet" in html


# -- the profile ------------------------------------------------------------------------------------------
PROFILE = {"status": "dormant", "source": "展会", "industry": "制造", "preferences": "只在周二拜访", "notes": "年底预算"}


def test_a_rep_edits_the_profile_in_place(world, rep_alice, en):
    a = world.customers.a
    client = en(rep_alice)
    form = client.get(reverse("crm:customer-profile", args=[a.pk]), **HTMX).content.decode()
    assert 'data-testid="profile-form"' in form and "<html" not in form
    html = client.post(reverse("crm:customer-profile", args=[a.pk]), PROFILE, **HTMX).content.decode()
    a.refresh_from_db()
    assert (a.status, a.source, a.industry, a.preferences, a.notes) == tuple(PROFILE.values())
    assert by_testid(html, "customer-preferences") == "只在周二拜访"
    # the header and the completeness box follow, out of band: industry and source are no longer missing
    assert 'id="customer-header" data-testid="customer-header" hx-swap-oob="true"' in html
    assert by_testid(html, "customer-status") == "dormant"
    assert by_testid(html, "completeness-pct") == "63%"  # 5 of 8
    event = AuditEvent.objects.filter(event="customer.updated").latest("pk")
    assert event.new["status"] == "dormant" and event.old["status"] == "active"


def test_without_htmx_the_profile_form_is_a_page_that_redirects_back(world, rep_alice, en):
    a = world.customers.a
    client = en(rep_alice)
    assert "<html" in client.get(reverse("crm:customer-profile", args=[a.pk])).content.decode()
    response = client.post(reverse("crm:customer-profile", args=[a.pk]), PROFILE)
    assert response.status_code == 302 and response["Location"] == page_of(a)


def test_the_profile_form_names_the_bad_field(world, rep_alice, en):
    a = world.customers.a
    html = en(rep_alice).post(reverse("crm:customer-profile", args=[a.pk]), {**PROFILE, "status": "asleep"},
                              **HTMX).content.decode()
    assert "Status: Select a valid choice." in by_testid(html, "error-status")
    assert Customer.objects.get(pk=a.pk).status == CustomerStatus.ACTIVE


# -- contacts ---------------------------------------------------------------------------------------------
CONTACT = {"name": "钱总", "job_title": "总经理", "role": ContactRole.DECISION_MAKER, "phone": "+86 138-0000-0000",
           "email": "qian@example.com", "wechat": "", "primary": "on", "notes": ""}


def test_a_rep_adds_edits_and_deletes_contacts(world, rep_alice, en):
    a = world.customers.a
    client = en(rep_alice)
    form = client.get(reverse("crm:contact-new", args=[a.pk]), **HTMX).content.decode()
    assert 'data-testid="contact-form"' in form
    html = client.post(reverse("crm:contact-new", args=[a.pk]), CONTACT, **HTMX).content.decode()
    boss = Contact.objects.get(customer=a)
    assert (boss.name, boss.role, boss.phone, boss.primary) == ("钱总", "decision_maker", "+86 138-0000-0000", True)
    assert 'data-testid="contact-form"' not in html and "钱总" in html
    assert by_testid(html, "completeness-pct") == "75%"  # the three contact requirements are met now
    # a second primary contact takes over
    client.post(reverse("crm:contact-new", args=[a.pk]), {**CONTACT, "name": "孙经理", "role": "purchasing"}, **HTMX)
    assert list(Contact.objects.filter(customer=a, primary=True).values_list("name", flat=True)) == ["孙经理"]
    client.post(reverse("crm:contact-edit", args=[boss.pk]), {**CONTACT, "job_title": "董事长", "primary": ""}, **HTMX)
    boss.refresh_from_db()
    assert (boss.job_title, boss.primary) == ("董事长", False)
    assert client.get(reverse("crm:contact-delete", args=[boss.pk])).status_code == 405
    html = client.post(reverse("crm:contact-delete", args=[boss.pk]), **HTMX).content.decode()
    assert not Contact.objects.filter(pk=boss.pk).exists() and "钱总" not in html
    assert "decision_maker" in html  # the completeness box lists the missing decision maker again
    assert set(AuditEvent.objects.filter(event__startswith="contact.").values_list("event", flat=True)) == {
        "contact.created", "contact.updated", "contact.deleted"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "Name: This field is required."),
    ("email", "not-an-email", "Email: Enter a valid email address."),
    ("phone", "call me", "Phone: Enter a phone number"),
    ("role", "boss", "Role: Select a valid choice."),
])
def test_the_contact_form_names_the_bad_field(world, rep_alice, en, field, value, message):
    html = en(rep_alice).post(reverse("crm:contact-new", args=[world.customers.a.pk]), {**CONTACT, field: value},
                              **HTMX).content.decode()
    assert message in by_testid(html, f"error-{field}")
    assert not Contact.objects.exists()


def test_without_htmx_a_contact_is_added_on_its_own_page(world, rep_alice, en):
    a = world.customers.a
    client = en(rep_alice)
    assert "<html" in client.get(reverse("crm:contact-new", args=[a.pk])).content.decode()
    response = client.post(reverse("crm:contact-new", args=[a.pk]), CONTACT)
    assert response.status_code == 302 and response["Location"] == page_of(a) + "#contacts"
    assert Contact.objects.filter(customer=a, name="钱总").exists()


def test_cancel_brings_back_just_the_section(world, rep_alice, en):
    client = en(rep_alice)
    for section, anchor in (("contacts", 'id="contacts"'), ("profile", 'id="customer-profile"')):
        html = client.get(f"{page_of(world.customers.a)}?section={section}", **HTMX).content.decode()
        assert anchor in html and "<html" not in html and "purchases-chart" not in html


# -- languages --------------------------------------------------------------------------------------------
def test_the_pages_render_in_chinese(history, rep_alice, client_for):
    client = client_for(rep_alice)
    html = client.get(page_of(history.customers.a), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "负责人" in html and "客户分层" in html  # "Owner" and "Segment" from the catalogue
    assert "甲公司" in html and "¥3,400.00" in html
    listing = client.get(reverse("crm:customers"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in listing and "甲公司" in listing
