"""The incentives API (/api/runs/, /api/statements/, /api/adjustments/, /api/disputes/): the same workflow and the
same confidentiality as the pages — a rep their own pay only (someone else's is a 404), a manager their team's,
ops/admin/finance everyone's, HR nothing (403), anonymous callers nothing (401/403)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from salesops.incentives import services
from salesops.incentives.models import Adjustment, CalculationRun, Dispute, RunStatus
from tests.api.conftest import statuses
from tests.incentives.conftest import plan  # noqa: F401 - the shared comp plan fixture, used by name

PAY_SEERS = {  # whose statements each persona may see (tests/conftest.py)
    "alice": {"alice"}, "bob": {"bob"}, "carol": {"alice", "carol"}, "erin": {"bob", "erin"},
    "olivia": {"alice", "bob", "carol", "erin"}, "dan": {"alice", "bob", "carol", "erin"},
    "ada": {"alice", "bob", "carol", "erin"},
}
PAYEES = ("alice", "bob", "carol", "erin")


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


@pytest.fixture
def run(plan, ops_olivia):  # noqa: F811 - the fixture above
    # December: S1 (1000.00, split 60/40) → Alice 600 × 10 % = 60.00, Bob 40.00; rolled up one level to their
    # managers Carol 60.00 and Erin 40.00.
    return services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")


def payout_of(run, world, key):
    return run.payouts.get(salesperson=world.people[key])


# -- runs ---------------------------------------------------------------------------------------------------------


def test_it_shows_whole_runs_to_ops_admin_and_finance_only(api_as, anon, run):
    got = statuses(api_as, ["olivia", "ada", "dan", "alice", "carol", "victor", "henry"], lambda c: (
        c.get("/api/runs/"), c.get(f"/api/runs/{run.pk}/"), c.get(f"/api/runs/{run.pk}/payroll/")))
    assert got == {"olivia": (200, 200, 409), "ada": (200, 200, 409), "dan": (200, 200, 409),
                   "alice": (403, 403, 403), "carol": (403, 403, 403), "victor": (403, 403, 403),
                   "henry": (403, 403, 403)}
    assert anon.get("/api/runs/").status_code in (401, 403)
    assert api_as("olivia").get("/api/runs/999999/").status_code == 404


def test_a_run_carries_its_status_and_totals_as_exact_decimals(api_as, run, ops_olivia):
    data = api_as("dan").get(f"/api/runs/{run.pk}/").json()
    assert {k: data[k] for k in ("plan", "plan_name", "version", "period", "kind", "status", "progress", "stage",
                                 "started_by", "reviewed_by", "total", "people")} == {
        "plan": run.plan_id, "plan_name": "2025 提成", "version": 1, "period": "2025-12", "kind": "regular",
        "status": "calculated", "progress": 100, "stage": "done", "started_by": "olivia", "reviewed_by": None,
        "total": "200.00", "people": 4}
    assert len(data["fingerprint"]) > 0 and data["error"] == ""
    listed = api_as("olivia").get("/api/runs/", {"status": "calculated", "period": "2025-12"}).json()["results"]
    assert [r["id"] for r in listed] == [run.pk]
    assert api_as("olivia").get("/api/runs/", {"status": "paid"}).json()["results"] == []
    bad = api_as("olivia").get("/api/runs/", {"status": "done"})
    assert bad.status_code == 400 and "status" in bad.json()


def test_ops_starts_a_run_which_is_calculated_in_the_background(api_as, plan, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True) as tasks:
        response = api_as("olivia").post("/api/runs/", {"plan": plan.pk, "period": "2025-12"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "running" and len(tasks) == 1
    run = CalculationRun.objects.get(pk=response.json()["id"])
    assert run.status == RunStatus.CALCULATED
    data = api_as("olivia").get(f"/api/runs/{run.pk}/").json()
    assert (data["status"], data["progress"], data["total"]) == ("calculated", 100, "200.00")


@pytest.mark.parametrize("persona", ["dan", "alice", "carol", "henry"])
def test_only_ops_and_admin_start_runs(api_as, plan, persona):  # noqa: F811
    response = api_as(persona).post("/api/runs/", {"plan": plan.pk, "period": "2025-12"}, format="json")
    assert response.status_code == 403
    assert not CalculationRun.objects.exists()


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"period": "2025-13"}, "period", "is not a period code"),
    ({"period": "FY2025"}, "period", "A payout period is a month"),
    ({"period": ""}, "period", ""),
    ({"plan": 999999}, "plan", ""),
    ({"plan": None}, "plan", ""),
])
def test_a_bad_start_is_refused_naming_the_field(api_as, plan, body, field, message):  # noqa: F811
    response = api_as("ada").post("/api/runs/", {"plan": plan.pk, "period": "2025-12"} | body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not CalculationRun.objects.exists()


def test_the_workflow_end_to_end_through_the_api(api_as, world, run):
    ops, finance, alice = api_as("olivia"), api_as("dan"), api_as("alice")
    url = f"/api/runs/{run.pk}"
    # Given a calculated run, only ops or admin review it; nobody approves it yet.
    assert finance.post(f"{url}/review/").status_code == 403
    assert alice.post(f"{url}/review/").status_code == 403
    assert finance.post(f"{url}/approve/").json() == {"status": ["The run is calculated."]}
    admin = api_as("ada")
    reviewed = admin.post(f"{url}/review/")
    assert reviewed.status_code == 200 and (reviewed.json()["status"], reviewed.json()["reviewed_by"]) == (
        "reviewed", "ada")
    # The reviewer may not approve it (an admin may do both, never on the same run); ops never approves.
    refused = admin.post(f"{url}/approve/")
    assert refused.status_code == 400 and "someone else must approve" in refused.json()["approved_by"][0]
    assert ops.post(f"{url}/approve/").status_code == 403
    # Reopen needs a reason.
    assert ops.post(f"{url}/reopen/", {"reason": " "}, format="json").json() == {
        "reason": ["Say why the run is reopened."]}
    # No payroll before approval.
    early = finance.get(f"{url}/payroll/")
    assert early.status_code == 409 and "reviewed" in early.json()["status"][0]
    early_file = finance.get(f"{url}/payroll/", {"format": "csv"})  # the refusal in the file's format, not a 500
    assert early_file.status_code == 409 and "reviewed" in early_file.content.decode()
    assert alice.get(f"{url}/payroll/", {"format": "csv"}).status_code == 403
    approved = finance.post(f"{url}/approve/")
    assert (approved.status_code, approved.json()["status"], approved.json()["approved_by"]) == (200, "approved", "dan")
    payroll = finance.get(f"{url}/payroll/").json()
    assert payroll["components"] == [{"id": "commission", "name": "commission"}]
    assert [(r["employee_no"], r["name"], r["components"], r["corrections"], r["adjustments"], r["total"])
            for r in payroll["rows"]] == [
        ("E002", "陈经理", {"commission": "60.00"}, "0.00", "0.00", "60.00"),
        ("E003", "赵经理", {"commission": "40.00"}, "0.00", "0.00", "40.00"),
        ("E101", "李丽", {"commission": "60.00"}, "0.00", "0.00", "60.00"),
        ("E201", "张伟", {"commission": "40.00"}, "0.00", "0.00", "40.00")]
    assert (payroll["period"], payroll["status"], payroll["total"]) == ("2025-12", "approved", "200.00")
    # The same rows as a file, with the columns of the page's export.
    response = finance.get(f"{url}/payroll/", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Period", "Employee number", "Name"] and rows[0][-3:] == [
        "Corrections of paid periods", "Adjustments", "Total"]
    assert rows[3] == ["2025-12", "E101", "李丽", "60.00", "0.00", "0.00", "60.00"]
    book = openpyxl.load_workbook(io.BytesIO(finance.get(f"{url}/payroll/", {"format": "xlsx"}).content))
    assert [c.value for c in book.active[4]][:4] == ["2025-12", "E101", "李丽", 60]
    assert finance.get(f"{url}/payroll/", {"format": "pdf"}).status_code == 404
    assert alice.get(f"{url}/payroll/").status_code == 403
    # Paid: the period is closed; a paid run never reopens.
    assert alice.post(f"{url}/pay/").status_code == 403
    paid = finance.post(f"{url}/pay/")
    assert (paid.status_code, paid.json()["status"], paid.json()["paid_by"]) == (200, "paid", "dan")
    assert ops.post(f"{url}/reopen/", {"reason": "typo"}, format="json").json() == {"status": ["The run is paid."]}
    assert finance.get(f"{url}/payroll/").json()["status"] == "paid"


def test_a_reviewed_run_reopens_with_a_reason(api_as, run):
    ops = api_as("olivia")
    ops.post(f"/api/runs/{run.pk}/review/")
    assert api_as("henry").post(f"/api/runs/{run.pk}/reopen/", {"reason": "x"}, format="json").status_code == 403
    reopened = ops.post(f"/api/runs/{run.pk}/reopen/", {"reason": "S1 split is wrong"}, format="json")
    assert (reopened.status_code, reopened.json()["status"], reopened.json()["reviewed_by"]) == (200, "calculated", None)


# -- statements ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", sorted(PAY_SEERS))
def test_each_persona_gets_only_the_statements_they_may_see(api_as, world, run, persona):
    for payee in PAYEES:
        person = world.people[payee].pk
        expected = 200 if payee in PAY_SEERS[persona] else 404
        got = (api_as(persona).get(f"/api/statements/{run.pk}/{person}/").status_code,
               api_as(persona).get(f"/api/statements/{run.pk}/{person}/why/commission/").status_code)
        assert got == (expected, expected), (persona, payee)


def test_hr_and_anonymous_get_no_statement(api_as, anon, world, run):
    alice = world.people["alice"].pk
    for url in (f"/api/statements/{run.pk}/{alice}/", f"/api/statements/{run.pk}/{alice}/why/commission/"):
        assert api_as("henry").get(url).status_code == 403
        assert anon.get(url).status_code in (401, 403)
    assert api_as("olivia").get(f"/api/statements/999999/{alice}/").status_code == 404


def test_a_statement_explains_every_amount_as_exact_decimals(api_as, world, run):
    alice = world.people["alice"]
    data = api_as("alice").get(f"/api/statements/{run.pk}/{alice.pk}/").json()
    assert {k: data[k] for k in ("run", "period", "plan", "version", "total", "ytd", "previous", "change",
                                 "corrections", "adjustments")} == {
        "run": run.pk, "period": "2025-12", "plan": "2025 提成", "version": 1, "total": "60.00", "ytd": "60.00",
        "previous": None, "change": None, "corrections": [], "adjustments": []}
    assert data["person"] == {"id": alice.pk, "employee_no": "E101", "name": "李丽"}
    [item] = data["items"]
    assert {k: item[k] for k in ("payout", "component", "measure", "amount", "earned", "disputes")} == {
        "payout": payout_of(run, world, "alice").pk, "component": "commission", "measure": "600.00000000",
        "amount": "60.00", "earned": "60.000000000000000000", "disputes": []}
    assert [(d["rule"], d["basis"], d["rate"], d["earned"]) for d in item["details"]] == [
        ("flat", "600.00000000", "0.100000000000", "60.000000000000000000")]


def test_why_walks_from_the_amount_down_to_the_order_lines(api_as, world, run):
    carol = world.people["carol"].pk
    data = api_as("carol").get(f"/api/statements/{run.pk}/{carol}/why/commission/").json()
    assert (data["component"], data["amount"], data["total_credit"]) == ("commission", "60.00", "600.00000000")
    assert data["lines"] == [{"line_id": "S1", "date": "2025-12-01", "customer": "甲公司", "product": "CRM 套件",
                              "net_amount": "1000.00", "seller": "E101", "level": 1, "credit": "600.00000000"}]
    assert api_as("carol").get(f"/api/statements/{run.pk}/{carol}/why/nothing/").status_code == 404


# -- adjustments --------------------------------------------------------------------------------------------------


def adjustment_body(run, world, **changes):
    return {"plan": run.plan_id, "salesperson": world.people["alice"].pk, "period": "2025-12", "amount": "-12.50",
            "reason": "duplicate order SO-A"} | changes


def test_a_manager_adjusts_a_team_members_pay_and_someone_else_approves_it(api_as, world, run):
    made = api_as("carol").post("/api/adjustments/", adjustment_body(run, world), format="json")
    assert made.status_code == 201, made.content
    data = made.json()
    assert {k: data[k] for k in ("amount", "status", "created_by", "employee_no", "period", "decided_by")} == {
        "amount": "-12.50", "status": "pending", "created_by": "carol", "employee_no": "E101", "period": "2025-12",
        "decided_by": None}
    url = f"/api/adjustments/{data['id']}"
    # Who sees it: like statements.
    got = statuses(api_as, ["alice", "bob", "carol", "erin", "olivia", "dan", "ada", "henry"],
                   lambda c: (c.get(f"{url}/"),))
    assert got == {"alice": (200,), "bob": (404,), "carol": (200,), "erin": (404,), "olivia": (200,), "dan": (200,),
                   "ada": (200,), "henry": (403,)}
    assert [a["id"] for a in api_as("alice").get("/api/adjustments/").json()["results"]] == [data["id"]]
    assert api_as("bob").get("/api/adjustments/").json()["results"] == []
    assert api_as("henry").get("/api/adjustments/").status_code == 403
    # The pending adjustment is on Alice's statement but not yet in her total.
    statement = api_as("alice").get(f"/api/statements/{run.pk}/{world.people['alice'].pk}/").json()
    assert statement["total"] == "60.00" and [(a["amount"], a["status"]) for a in statement["adjustments"]] == [
        ("-12.50", "pending")]
    # Deciding: not a rep or a manager, not someone who may not see it.
    assert api_as("alice").post(f"{url}/approve/").status_code == 403
    assert api_as("carol").post(f"{url}/approve/").status_code == 403
    assert api_as("bob").post(f"{url}/approve/").status_code == 404
    assert api_as("dan").post(f"{url}/reject/", {"note": ""}, format="json").json() == {
        "note": ["Say why the adjustment is rejected."]}
    approved = api_as("dan").post(f"{url}/approve/", {"note": "checked"}, format="json")
    assert (approved.status_code, approved.json()["status"], approved.json()["decided_by"]) == (200, "approved", "dan")
    assert api_as("ada").post(f"{url}/reject/", {"note": "late"}, format="json").json() == {
        "status": ["The adjustment is already approved."]}
    statement = api_as("alice").get(f"/api/statements/{run.pk}/{world.people['alice'].pk}/").json()
    assert statement["total"] == "47.50"


def test_the_maker_of_an_adjustment_may_not_decide_on_it(api_as, world, run):
    made = api_as("olivia").post("/api/adjustments/", adjustment_body(run, world, amount="100"), format="json")
    url = f"/api/adjustments/{made.json()['id']}"
    refused = api_as("olivia").post(f"{url}/approve/")
    assert refused.status_code == 400 and "someone else must decide" in refused.json()["decided_by"][0]
    rejected = api_as("ada").post(f"{url}/reject/", {"note": "no basis"}, format="json")
    assert (rejected.json()["status"], rejected.json()["decision_note"]) == ("rejected", "no basis")


@pytest.mark.parametrize("persona", ["alice", "dan", "henry"])
def test_reps_finance_and_hr_make_no_adjustment(api_as, world, run, persona):
    assert api_as(persona).post("/api/adjustments/", adjustment_body(run, world), format="json").status_code == 403
    assert not Adjustment.objects.exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "abc"}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "1.005"}, "amount"),
    ({"reason": "  "}, "reason"),
    ({"period": "2025-13"}, "period"),
    ({"salesperson": "bob"}, "salesperson"),  # Bob is not in Carol's team
    ({"plan": 999999}, "plan"),
])
def test_a_bad_adjustment_is_refused_naming_the_field(api_as, world, run, changes, field):
    if changes.get("salesperson") == "bob":
        changes = {"salesperson": world.people["bob"].pk}
    response = api_as("carol").post("/api/adjustments/", adjustment_body(run, world, **changes), format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Adjustment.objects.exists()


def test_an_adjustment_sends_a_reviewed_run_back_to_calculated(api_as, world, run):
    api_as("olivia").post(f"/api/runs/{run.pk}/review/")
    api_as("carol").post("/api/adjustments/", adjustment_body(run, world), format="json")
    # The adjustment sent the reviewed run back to calculated.
    assert api_as("dan").get(f"/api/runs/{run.pk}/").json()["status"] == "calculated"


# -- disputes -----------------------------------------------------------------------------------------------------


def test_a_rep_questions_a_line_ops_answers_and_the_rep_resolves(api_as, world, run):
    alice_line, bob_line = payout_of(run, world, "alice"), payout_of(run, world, "bob")
    alice = api_as("alice")
    raised = alice.post("/api/disputes/", {"payout": alice_line.pk, "text": "S1 was 70 % mine."}, format="json")
    assert raised.status_code == 201, raised.content
    data = raised.json()
    assert {k: data[k] for k in ("payout", "run", "component", "employee_no", "amount", "raised_by", "status")} == {
        "payout": alice_line.pk, "run": run.pk, "component": "commission", "employee_no": "E101", "amount": "60.00",
        "raised_by": "alice", "status": "open"}
    assert [(m["author"], m["text"]) for m in data["messages"]] == [("alice", "S1 was 70 % mine.")]
    url = f"/api/disputes/{data['id']}"
    # Someone else's line is a 404; ops may see the line but raises nothing; HR sees no pay at all.
    assert alice.post("/api/disputes/", {"payout": bob_line.pk, "text": "x"}, format="json").status_code == 404
    assert api_as("olivia").post("/api/disputes/", {"payout": alice_line.pk, "text": "x"},
                                 format="json").status_code == 403
    assert api_as("henry").post("/api/disputes/", {"payout": alice_line.pk, "text": "x"},
                                format="json").status_code == 403
    # Who sees it.
    got = statuses(api_as, ["alice", "bob", "carol", "erin", "olivia", "dan", "ada", "henry"],
                   lambda c: (c.get(f"{url}/"), c.get("/api/disputes/")))
    assert got == {"alice": (200, 200), "bob": (404, 200), "carol": (200, 200), "erin": (404, 200),
                   "olivia": (200, 200), "dan": (200, 200), "ada": (200, 200), "henry": (403, 403)}
    assert [d["id"] for d in api_as("carol").get("/api/disputes/").json()["results"]] == [data["id"]]
    assert api_as("bob").get("/api/disputes/").json()["results"] == []
    # Ops answers; a manager who did not raise it may not write in it; Bob may not even see it.
    answered = api_as("olivia").post(f"{url}/messages/", {"text": "The order says 60/40."}, format="json")
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert api_as("carol").post(f"{url}/messages/", {"text": "hm"}, format="json").status_code == 403
    assert api_as("bob").post(f"{url}/messages/", {"text": "hm"}, format="json").status_code == 404
    assert alice.post(f"{url}/messages/", {"text": " "}, format="json").json() == {"text": ["Write a message."]}
    resolved = alice.post(f"{url}/messages/", {"text": "OK", "resolve": True}, format="json").json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert [(m["author"], m["text"]) for m in resolved["messages"]] == [
        ("alice", "S1 was 70 % mine."), ("olivia", "The order says 60/40."), ("alice", "OK")]
    assert alice.post(f"{url}/messages/", {"text": "again"}, format="json").json() == {
        "status": ["The dispute is resolved."]}
    assert [d["id"] for d in api_as("olivia").get("/api/disputes/", {"status": "resolved"}).json()["results"]] == [
        data["id"]]
    # The statement line lists its dispute.
    statement = alice.get(f"/api/statements/{run.pk}/{world.people['alice'].pk}/").json()
    assert statement["items"][0]["disputes"] == [data["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"payout": "x", "text": "?"}, "payout"),
    ({"text": "?"}, "payout"),
    ({"text": ""}, "text"),
])
def test_a_bad_dispute_is_refused_naming_the_field(api_as, world, run, body, field):
    body = {"payout": payout_of(run, world, "alice").pk} | body if field != "payout" else body
    response = api_as("alice").post("/api/disputes/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not Dispute.objects.exists()


def test_anonymous_callers_get_nothing(anon, world, run):
    for url in ("/api/runs/", f"/api/runs/{run.pk}/", "/api/adjustments/", "/api/disputes/",
                f"/api/statements/{run.pk}/{world.people['alice'].pk}/"):
        assert anon.get(url).status_code in (401, 403), url
    assert anon.post("/api/runs/", {"plan": run.plan_id, "period": "2026-01"}).status_code in (401, 403)


# -- schema -------------------------------------------------------------------------------------------------------


def test_the_schema_lists_every_incentives_endpoint_with_money_as_decimal_strings(client, db):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/runs/", "/api/runs/{id}/", "/api/runs/{id}/review/", "/api/runs/{id}/approve/",
                 "/api/runs/{id}/pay/", "/api/runs/{id}/reopen/", "/api/runs/{id}/payroll/",
                 "/api/statements/{run_id}/{person_id}/", "/api/statements/{run_id}/{person_id}/why/{component}/",
                 "/api/adjustments/", "/api/adjustments/{id}/approve/", "/api/adjustments/{id}/reject/",
                 "/api/disputes/", "/api/disputes/{id}/", "/api/disputes/{id}/messages/"):
        assert path in paths, path
    schemas = schema["components"]["schemas"]
    for component, field in [("Run", "total"), ("PayrollRow", "total"), ("Statement", "ytd"),
                             ("StatementItem", "attainment"), ("WhyLine", "credit"), ("Adjustment", "amount"),
                             ("Dispute", "amount")]:
        prop = schemas[component]["properties"][field]
        assert (prop["type"], prop["format"]) == ("string", "decimal"), (component, field)
