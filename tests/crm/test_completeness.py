"""Record completeness, worked out by hand on the persona world (``tests/conftest.py``): 甲公司 (Alice, team A,
上海) and 乙公司 (Bob, team B, 华南) have a segment, region and owner but no industry, source or contact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.crm import completeness
from salesops.crm.models import Contact, ContactRole
from salesops.org import services as org
from salesops.org.models import Customer

CODES = [r.code for r in completeness.REQUIRED]


def codes(requirements):
    return [r.code for r in requirements]


@pytest.fixture
def records(world):
    """甲公司 made complete; 乙公司 with an industry and a contact without phone or email; 丙公司 (Amy's) with
    everything but a decision maker; 丁公司 with nothing but its name."""
    a, b = world.customers.a, world.customers.b
    org.customer_update(actor=None, customer=a, industry="制造", source="展会")
    Contact.objects.create(customer=a, name="钱总", role=ContactRole.DECISION_MAKER, phone="13800000000")
    org.customer_update(actor=None, customer=b, industry="零售")
    Contact.objects.create(customer=b, name="孙经理", role=ContactRole.PURCHASING)
    c = org.customer_create(actor=None, external_id="C-C", name="丙公司", segment=world.segment,
                            region=world.regions.east, owner=world.people["amy"], industry="医药", source="转介绍")
    Contact.objects.create(customer=c, name="周工", role=ContactRole.TECHNICAL, email="zhou@example.com")
    d = org.customer_create(actor=None, external_id="C-D", name="丁公司")
    return {"a": a, "b": b, "c": c, "d": d}


def test_a_new_record_misses_industry_source_and_contacts(world):
    assert codes(completeness.missing_of(world.customers.a)) == [
        "industry", "source", "contact", "reachable_contact", "decision_maker"]


def test_it_lists_what_each_record_misses(records):
    missing = completeness.missing_fields(Customer.objects.all())
    assert {key: codes(missing[c.pk]) for key, c in records.items()} == {
        "a": [],
        "b": ["source", "reachable_contact", "decision_maker"],
        "c": ["decision_maker"],
        "d": CODES[:5] + ["contact", "reachable_contact", "decision_maker"],
    }


def test_it_reads_what_records_miss_in_one_query(records, django_assert_num_queries):
    with django_assert_num_queries(1):
        completeness.missing_fields(Customer.objects.all())


def test_a_blank_phone_and_email_do_not_make_a_contact_reachable(world):
    a = world.customers.a
    Contact.objects.create(customer=a, name="无号码", role=ContactRole.DECISION_MAKER, phone="", email="")
    assert "reachable_contact" in codes(completeness.missing_of(a))
    assert "decision_maker" not in codes(completeness.missing_of(a))


def test_it_sums_up_the_records(records):
    summary = completeness.summary(Customer.objects.all())
    assert (summary.customers, summary.complete, summary.incomplete, summary.share) == (4, 1, 3, Decimal("0.25"))
    assert summary.missing == {"segment": 1, "region": 1, "owner": 1, "industry": 1, "source": 2, "contact": 1,
                               "reachable_contact": 2, "decision_maker": 3}


def test_the_annotation_counts_requirements_met_and_missed(records):
    rows = dict(completeness.annotate(Customer.objects.all()).values_list("external_id", "completeness_met"))
    assert rows == {"C-A": 8, "C-B": 5, "C-C": 7, "C-D": 0}
    assert set(Customer.objects.filter(completeness.incomplete_q()).values_list("external_id", flat=True)) == {
        "C-B", "C-C", "C-D"}
    assert set(Customer.objects.filter(completeness.missing_q("decision_maker"))
               .values_list("external_id", flat=True)) == {"C-B", "C-C", "C-D"}


def test_it_shares_complete_records_per_owner(records):
    rows = [(s.name, s.customers, s.complete, s.share) for s in completeness.by_owner(Customer.objects.all())]
    # least complete first
    assert rows == [("no owner", 1, 0, 0), ("周敏", 1, 0, 0), ("张伟", 1, 0, 0), ("李丽", 1, 1, 1)]
    alice = next(s for s in completeness.by_owner(Customer.objects.all()) if s.name == "李丽")
    assert alice.url == f"/crm/customers/?owner={alice.key}&incomplete=on"


def test_it_rolls_teams_up_the_tree(records, world):
    rows = [(s.name, s.depth, s.customers, s.complete) for s in completeness.by_team(Customer.objects.all())]
    # 丁公司 has no owner, so no team; team A holds Alice's and Amy's records, team B Bob's
    assert rows == [("全国销售部", 0, 3, 1), ("华东一组", 1, 2, 1), ("华南一组", 1, 1, 0), ("no team", 0, 1, 0)]
    flat = [(s.name, s.customers) for s in completeness.by_team(Customer.objects.all(), rollup=False)]
    assert flat == [("华东一组", 2), ("华南一组", 1), ("no team", 1)]
    team_a = completeness.by_team(Customer.objects.all())[1]
    assert team_a.url == f"/crm/customers/?team={world.teams.a.pk}&incomplete=on"


def test_the_team_is_the_owners_on_the_day(records, world):
    # Amy moves to team B on 2026-01-01: before that her record counts for team A, from then on for team B
    org.assignment_transfer(actor=None, salesperson=world.people["amy"], team=world.teams.b, on=dt.date(2026, 1, 1),
                            manager=world.people["erin"], region=world.regions.south)
    before = {s.name: s.customers for s in completeness.by_team(Customer.objects.all(), day=dt.date(2025, 12, 31))}
    after = {s.name: s.customers for s in completeness.by_team(Customer.objects.all(), day=dt.date(2026, 1, 2))}
    assert (before["华东一组"], before["华南一组"]) == (2, 1)
    assert (after["华东一组"], after["华南一组"]) == (1, 2)


def test_it_rolls_regions_up_the_tree(records):
    rows = [(s.name, s.depth, s.customers, s.complete) for s in completeness.by_region(Customer.objects.all())]
    assert rows == [("全国", 0, 3, 1), ("华东", 1, 2, 1), ("上海", 2, 1, 1), ("华南", 1, 1, 0), ("no region", 0, 1, 0)]
    assert rows[-1] and completeness.by_region(Customer.objects.all())[-1].url == (
        "/crm/customers/?missing=region")


def test_it_lists_the_worst_records_first(records):
    worst = completeness.worst(Customer.objects.all(), n=2)
    assert [(r.customer.name, len(r.missing)) for r in worst] == [("丁公司", 8), ("乙公司", 3)]
    assert codes(worst[1].missing) == ["source", "reachable_contact", "decision_maker"]
    assert [r.customer.name for r in completeness.worst(Customer.objects.all())] == ["丁公司", "乙公司", "丙公司"]


def test_the_selectors_only_count_the_records_they_are_given(records, world):
    alices = Customer.objects.filter(owner=world.people["alice"])
    assert completeness.summary(alices).share == 1
    assert completeness.worst(alices) == []
    assert [s.name for s in completeness.by_region(alices)] == ["全国", "华东", "上海"]


def test_records_url_names_the_filters():
    assert completeness.records_url() == "/crm/customers/?incomplete=on"
    assert completeness.records_url(region=4, missing="source") == "/crm/customers/?region=4&missing=source"
    assert completeness.records_url(incomplete=False) == "/crm/customers/"
