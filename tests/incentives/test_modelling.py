"""What-if modelling: a draft plan version over past months compared with the current plan — figures checked by
hand, bad documents refused with path and line and nothing saved, and who may see it (it shows everyone's pay).

The persona world (tests/conftest.py): lines A1 1,000.00 by Alice (2025-11-15), B1 1,000.00 by Bob (2025-11-16),
S1 1,000.00 split 60/40 Alice/Bob (2025-12-01). The plan pays Alice, Bob, Carol and Erin 10 % of their own credited
net revenue, with a fixed quota of 800 a month; the draft pays 12 %.

By hand: November revenue 2,000 (Alice 1,000, Bob 1,000), December 1,000 (Alice 600, Bob 400); current cost
200 + 100 = 300, draft 240 + 120 = 360: exactly 2 % of 3,000 more. At or above quota (800): Alice and Bob in
November (1,000 each), nobody in December; Carol and Erin sell nothing (0 %): 2 of 8 payee-months.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from salesops.engine.periods import FiscalCalendar
from salesops.incentives import modelling, services
from salesops.incentives.models import CompPlanVersion, Payout
from tests.incentives.conftest import assigned_plan

D = Decimal
PLAN = """
plan: 2025 提成
effective_from: 2025-01-01
components:
  - id: commission
    quota: {source: fixed, amount: 800}
    rate: {flat: 0.1}
"""
# effective from a date after the months modelled: a what-if applies it anyway
DRAFT = PLAN.replace("flat: 0.1}", "flat: 0.12}").replace("2025-01-01", "2026-06-01")
MONTHS = ["2025-11", "2025-12"]


@pytest.fixture
def plan(world, ops_olivia):
    return assigned_plan(world, ops_olivia, PLAN)


@pytest.fixture
def draft(plan, ops_olivia):
    return modelling.draft_create(actor=ops_olivia, plan=plan, document=DRAFT)


def page_url(plan, draft, start="2025-11", end="2025-12"):
    return f"{reverse('incentives:modelling')}?plan={plan.pk}&draft={draft.pk}&start={start}&end={end}"


# -- the figures ---------------------------------------------------------------------------------------------


def test_a_draft_with_a_higher_rate_costs_exactly_the_rate_difference_on_the_credited_revenue(plan, draft):
    c = modelling.compare(plan, draft, MONTHS)
    assert [(r.period, r.revenue, r.current.cost, r.draft.cost, r.change) for r in c.periods] == [
        ("2025-11", D(2000), D("200.00"), D("240.00"), D("40.00")),
        ("2025-12", D(1000), D("100.00"), D("120.00"), D("20.00"))]
    assert (c.revenue, c.current.cost, c.draft.cost, c.change) == (D(3000), D(300), D(360), D(60))
    assert c.change == D("0.02") * c.revenue and c.change_share == D("0.2")
    assert (c.current.cost_of_sales, c.draft.cost_of_sales) == (D("0.1"), D("0.12"))
    assert all(r.current_version == 1 and r.payees == 4 for r in c.periods)


def test_it_counts_the_share_of_payees_at_or_above_quota_per_payee_month(plan, draft):
    c = modelling.compare(plan, draft, MONTHS)
    assert [(r.current.at_quota, r.current.measured) for r in c.periods] == [(2, 4), (0, 4)]
    assert (c.current.at_quota, c.current.measured, c.current.share_at_quota) == (2, 8, D("0.25"))


def test_a_payee_with_several_quotas_is_at_quota_only_when_every_one_is_reached(plan, ops_olivia):
    # a second component with a 1,200 quota, paying nothing: Alice's and Bob's 1,000 in November reach 800, not
    # 1,200, so in the draft nobody is at or above quota — and the cost does not change
    two = PLAN + "  - id: stretch\n    quota: {source: fixed, amount: 1200}\n    rate: {flat: 0}\n"
    version = modelling.draft_create(actor=ops_olivia, plan=plan, document=two)
    c = modelling.compare(plan, version, MONTHS)
    assert (c.current.at_quota, c.draft.at_quota, c.draft.measured) == (2, 0, 8)
    assert c.change == 0


def test_the_current_side_is_what_a_calculation_run_pays(plan, draft, ops_olivia):
    c = modelling.compare(plan, draft, MONTHS)
    paid = D(0)
    for month in MONTHS:
        run = services.run_calculation(actor=ops_olivia, plan=plan, period_code=month)
        paid += sum(Payout.objects.filter(run=run).values_list("amount", flat=True), D(0))
    assert paid == c.current.cost


def test_it_ranks_earners_and_measures_inequality(plan, draft, world):
    c = modelling.compare(plan, draft, MONTHS)
    alice, bob = world.people["alice"], world.people["bob"]
    assert [(p.name, p.current, p.draft, p.change) for p in c.current_distribution.top[:2]] == [
        (alice.name, D(160), D(192), D(32)), (bob.name, D(140), D(168), D(28))]
    assert [p.payee for p in c.current_distribution.bottom] == ["E002", "E003", "E201", "E101"]
    assert next(p for p in c.people if p.payee == "E101").change_share == D("0.2")
    # sorted [0, 0, 140, 160]: 2 Σ i·x ÷ (n Σ x) − (n + 1) ÷ n = 2 × 1,060 ÷ 1,200 − 5/4 = 0.51666…
    assert c.current_distribution.gini == D("0.5167") == c.draft_distribution.gini  # ×1.2 for everyone
    assert c.current_distribution.lorenz[-1] == (1, 1)
    assert sum(b.counts[0] for b in c.bands) == 4 == sum(b.counts[1] for b in c.bands)


def test_it_refuses_a_published_version_or_a_draft_of_another_plan(plan, draft, ops_olivia):
    published = plan.versions.get(draft=False)
    with pytest.raises(ValidationError) as error:
        modelling.compare(plan, published, MONTHS)
    assert "draft" in error.value.message_dict
    other = services.plan_version_create(actor=ops_olivia, name="other", document=PLAN, draft=True)
    with pytest.raises(ValidationError) as error:
        modelling.compare(plan, other, MONTHS)
    assert "draft" in error.value.message_dict


def test_a_month_without_a_current_version_is_named(plan, draft):
    with pytest.raises(ValidationError) as error:
        modelling.compare(plan, draft, ["2024-12"])
    assert "2024-12" in str(error.value.message_dict["period"])


@pytest.mark.parametrize(("start", "end", "field", "text"), [
    ("2025-13", "2025-12", "start", "not a month"),
    ("2025-11", "2025-Q4", "end", "not a month"),
    ("2025-12", "2025-11", "end", "before the first"),
    ("2026-10", "2026-11", "end", "not over yet"),
    ("2023-01", "2025-01", "start", "At most 24 months"),
])
def test_a_bad_month_range_is_refused_naming_the_field(start, end, field, text):
    with pytest.raises(ValidationError) as error:
        modelling.month_range(FiscalCalendar(), start, end, dt.date(2026, 11, 27))
    assert text in str(error.value.message_dict[field])


def test_the_default_is_the_last_six_complete_months():
    codes = [p.code for p in modelling.default_periods(FiscalCalendar(), dt.date(2026, 1, 15))]
    assert codes == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]


# -- the page ------------------------------------------------------------------------------------------------


def test_ops_sees_the_comparison_with_its_charts_and_figures(plan, draft, client_for, ops_olivia):
    response = client_for(ops_olivia).get(page_url(plan, draft))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="cost-current">¥300.00<' in html and 'data-testid="cost-draft">¥360.00<' in html
    assert "+¥60.00 (20.0%)" in html and "10.00% → 12.00%" in html
    for chart in ("chart-cost", "chart-bands", "chart-lorenz"):
        assert f'id="{chart}"' in html
    assert "vendor/echarts/echarts.min.js" in html and "incentives/modelling.js" in html and "cdn" not in html.lower()
    data = json.loads(html.split('id="modelling-data" type="application/json">')[1].split("</script>")[0])["data"]
    assert data["draft"]["cost"] == "360" and data["periods"][0]["revenue"] == "2000"
    assert 'data-testid="draft-form"' in html


def test_without_parameters_the_page_compares_the_newest_draft_over_the_last_six_months(plan, draft, client_for,
                                                                                     ops_olivia):
    # the plan has a version in effect, but no sales in the last six months: every cost is zero
    response = client_for(ops_olivia).get(reverse("incentives:modelling"))
    assert response.status_code == 200
    c = response.context["c"]
    assert c.draft_version == draft and len(c.periods) == 6 and c.current.cost == 0


def test_a_bad_month_is_shown_on_its_field(plan, draft, client_for, ops_olivia):
    response = client_for(ops_olivia).get(page_url(plan, draft, end="2025-13"))
    assert response.status_code == 200 and response.context["c"] is None
    assert "not a month" in str(response.context["form"].errors["end"])


def test_finance_reads_the_comparison_but_cannot_save_drafts(plan, draft, client_for, finance_dan):
    client = client_for(finance_dan)
    response = client.get(page_url(plan, draft))
    assert response.status_code == 200 and 'data-testid="draft-form"' not in response.content.decode()
    before = CompPlanVersion.objects.count()
    response = client.post(reverse("incentives:modelling-draft"), {"plan": plan.pk, "document": DRAFT})
    assert response.status_code == 403 and CompPlanVersion.objects.count() == before


@pytest.mark.parametrize("persona", ["rep_alice", "rep_bob", "manager_carol", "director_victor", "hr_henry"])
def test_people_who_may_not_see_everyones_pay_get_403(plan, draft, client_for, request, persona):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(page_url(plan, draft)).status_code == 403
    assert client.post(reverse("incentives:modelling-draft"), {"plan": plan.pk, "document": DRAFT}).status_code == 403
    assert client.post(reverse("api-modelling"), {"plan": plan.pk, "draft_version": draft.pk, "periods": MONTHS},
                       content_type="application/json").status_code == 403


def test_an_outsider_without_a_role_gets_403_and_anonymous_users_are_sent_to_sign_in(plan, draft, client):
    outsider = get_user_model().objects.create_user("mallory", password="pw-mallory")
    assert client.get(page_url(plan, draft)).status_code == 302
    assert "/login/" in client.get(page_url(plan, draft))["Location"]
    assert client.post(reverse("api-modelling"), {}, content_type="application/json").status_code in (401, 403)
    client.force_login(outsider)
    assert client.get(page_url(plan, draft)).status_code == 403
    assert client.post(reverse("api-modelling"), {"plan": plan.pk, "draft_version": draft.pk},
                       content_type="application/json").status_code == 403


@pytest.mark.parametrize("persona", ["ops_olivia", "admin_ada"])
def test_ops_and_admin_open_the_page(plan, draft, client_for, request, persona):
    assert client_for(request.getfixturevalue(persona)).get(page_url(plan, draft)).status_code == 200


# -- saving a draft ------------------------------------------------------------------------------------------


def test_a_pasted_document_is_saved_as_a_draft_and_compared(plan, client_for, ops_olivia):
    response = client_for(ops_olivia).post(reverse("incentives:modelling-draft"), {"plan": plan.pk,
                                                                                    "document": DRAFT})
    version = plan.versions.get(draft=True)
    assert response.status_code == 302 and f"draft={version.pk}" in response["Location"]
    assert version.document == DRAFT and version.created_by == ops_olivia
    assert services.version_for(plan, FiscalCalendar().parse("2026-07")).draft is False  # runs never use a draft


def test_an_uploaded_file_is_saved_as_a_draft(plan, client_for, ops_olivia):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("draft.yaml", DRAFT.encode("utf-8"), content_type="application/x-yaml")
    response = client_for(ops_olivia).post(reverse("incentives:modelling-draft"), {"plan": plan.pk,
                                                                                    "upload": upload})
    assert response.status_code == 302 and plan.versions.filter(draft=True).count() == 1


def test_a_bad_document_is_refused_with_path_and_line_and_nothing_is_saved(plan, client_for, ops_olivia):
    bad = DRAFT.replace("rate: {flat: 0.12}", "rate: {flat: -1}").replace("quota:", "quota_:")
    before = CompPlanVersion.objects.count()
    response = client_for(ops_olivia).post(reverse("incentives:modelling-draft"), {"plan": plan.pk, "document": bad})
    assert response.status_code == 400 and CompPlanVersion.objects.count() == before
    errors = response.context["draft_form"].errors["document"]
    assert any("components[0].quota_: unknown key (line 6)" in e for e in errors)
    assert any("components[0].rate.flat" in e and "(line 7)" in e for e in errors)
    assert "components[0].quota_: unknown key (line 6)" in response.content.decode()


def test_a_document_that_is_no_yaml_or_empty_is_refused(plan, client_for, ops_olivia):
    client = client_for(ops_olivia)
    response = client.post(reverse("incentives:modelling-draft"), {"plan": plan.pk, "document": "a: [1, 2"})
    assert response.status_code == 400 and "not valid YAML" in str(response.context["draft_form"].errors["document"])
    response = client.post(reverse("incentives:modelling-draft"), {"plan": plan.pk, "document": "  "})
    assert response.status_code == 400 and "Paste a plan document" in str(response.context["draft_form"].errors)
    assert not plan.versions.filter(draft=True).exists()


# -- the API -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["ops_olivia", "admin_ada", "finance_dan"])
def test_the_api_returns_the_same_comparison_as_exact_text(plan, draft, client_for, request, persona):
    response = client_for(request.getfixturevalue(persona)).post(
        reverse("api-modelling"), {"plan": plan.pk, "draft_version": draft.pk, "periods": MONTHS},
        content_type="application/json")
    assert response.status_code == 200
    data = response.json()
    assert (data["current"]["cost"], data["draft"]["cost"], data["change"]) == ("300", "360", "60")
    assert [p["period"] for p in data["periods"]] == MONTHS and data["current"]["share_at_quota"] == "0.25"
    assert data["draft"]["cost_of_sales"] == "0.12" and data["current"]["distribution"]["gini"] == "0.5167"
    assert data["people"][2] == {"payee": "E101", "name": "李丽", "current": "160", "draft": "192", "change": "32",
                                 "change_share": "0.2"}


def test_the_api_names_the_bad_field(plan, draft, client_for, ops_olivia, world):
    client = client_for(ops_olivia)
    url = reverse("api-modelling")
    response = client.post(url, {"plan": plan.pk, "draft_version": draft.pk, "periods": ["2025-13"]},
                           content_type="application/json")
    assert response.status_code == 400 and "periods" in response.json()
    response = client.post(url, {"plan": plan.pk, "draft_version": draft.pk, "periods": ["2099-01"]},
                           content_type="application/json")
    assert response.status_code == 400 and "not over yet" in str(response.json()["periods"])
    published = plan.versions.get(draft=False)
    response = client.post(url, {"plan": plan.pk, "draft_version": published.pk}, content_type="application/json")
    assert response.status_code == 400 and "draft_version" in response.json()
    other = services.plan_version_create(actor=ops_olivia, name="other", document=PLAN, draft=True)
    response = client.post(url, {"plan": plan.pk, "draft_version": other.pk}, content_type="application/json")
    assert response.status_code == 400 and "draft_version" in response.json()
    response = client.post(url, {"plan": plan.pk, "draft_version": draft.pk, "periods": ["2024-12"]},
                           content_type="application/json")
    assert response.status_code == 400 and "2024-12" in str(response.json())
