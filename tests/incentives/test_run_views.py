"""The pages around runs: starting a run from the web (a background task, eager here) and its progress, the
review → approve → pay buttons, the payroll export, adjustments, disputes, the "why" drill-down and the PDF
statement — each with who may and who may not (403 for a role that sees no such thing, 404 for someone else's)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from salesops.incentives import services
from salesops.incentives.models import Adjustment, CalculationRun, Dispute, RunStatus
from tests.incentives.conftest import assigned_plan
from tests.incentives.test_views import PLAN

D = Decimal


def as_user(user) -> Client:
    """A client of its own per user (``client_for`` signs one shared client in and out)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def plan(world, ops_olivia):
    return assigned_plan(world, ops_olivia, PLAN)


@pytest.fixture
def run(plan, ops_olivia):
    return services.run_calculation(actor=ops_olivia, plan=plan, period_code="2025-12")


@pytest.mark.parametrize(("persona", "status"), [
    ("ops_olivia", 200), ("admin_ada", 200), ("finance_dan", 200),
    ("rep_alice", 403), ("manager_carol", 403), ("hr_henry", 403),
])
def test_whole_runs_are_for_ops_admin_and_finance(run, client_for, request, persona, status):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("incentives:runs")).status_code == status
    assert client.get(reverse("incentives:run", args=[run.pk])).status_code == status
    assert client.get(reverse("incentives:payroll", args=[run.pk, "csv"])).status_code == 403  # not approved


@pytest.mark.parametrize("persona", ["rep_alice", "manager_carol", "hr_henry", "finance_dan"])
def test_only_ops_and_admin_review_a_run_from_the_page(run, client_for, request, persona):
    client = client_for(request.getfixturevalue(persona))
    for action in ("review", "approve", "pay", "reopen"):
        if persona == "finance_dan" and action != "review":
            continue  # finance approves and pays, once the run is reviewed (the workflow test)
        assert client.post(reverse("incentives:run-action", args=[run.pk, action])).status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.CALCULATED


def test_an_anonymous_visitor_is_sent_to_sign_in(run, client):
    for url in (reverse("incentives:runs"), reverse("incentives:run", args=[run.pk]),
                reverse("incentives:adjustments"), reverse("incentives:disputes")):
        assert client.get(url)["Location"].startswith(reverse("login"))


def test_ops_starts_a_run_from_the_web_and_lands_on_its_finished_page(plan, client_for, ops_olivia, finance_dan,
                                                                      django_capture_on_commit_callbacks):
    client = client_for(ops_olivia)
    with django_capture_on_commit_callbacks(execute=True) as tasks:
        response = client.post(reverse("incentives:runs"), {"plan": plan.pk, "period": "2025-12"})
    assert len(tasks) == 1  # the calculation is sent as a task once the run is stored
    run = CalculationRun.objects.get()
    assert response["Location"] == reverse("incentives:run", args=[run.pk])
    assert run.status == RunStatus.CALCULATED and run.progress == 100 and run.stage == "done"
    page = client.get(response["Location"])
    assert 'data-testid="run-status">calculated' in page.content.decode()
    # December: S1 split 60/40 — Alice 600 (500 × 5 % + 100 × 10 % = 35), Bob 400 (20), rolled up to Carol (35)
    # and Erin (20)
    assert page.context["grand_total"] == D("110.00")
    refused = client.post(reverse("incentives:runs"), {"plan": plan.pk, "period": "2025-13"})
    assert "is not a period code" in refused.content.decode()
    assert client_for(finance_dan).post(reverse("incentives:runs"), {"plan": plan.pk, "period": "2025-12"}
                                        ).status_code == 403


def test_a_running_run_shows_its_progress_to_a_polling_page(plan, client_for, ops_olivia):
    run = services.run_start(actor=ops_olivia, plan=plan, period_code="2025-12")
    CalculationRun.objects.filter(pk=run.pk).update(progress=40, stage="calculating")
    client = client_for(ops_olivia)
    partial = client.get(reverse("incentives:run", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'value="40"' in partial and "calculating" in partial and 'hx-trigger="every 1s"' in partial
    services.run_execute(run.pk)
    done = client.get(reverse("incentives:run", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Refresh"] == "true"


def test_the_workflow_buttons_and_the_payroll_export(world, run, ops_olivia, finance_dan):
    ops, finance = as_user(ops_olivia), as_user(finance_dan)
    assert finance.post(reverse("incentives:run-action", args=[run.pk, "review"])).status_code == 403
    ops.post(reverse("incentives:run-action", args=[run.pk, "review"]))
    page = ops.get(reverse("incentives:run", args=[run.pk])).content.decode()
    assert "Approve" not in page  # the reviewer may not approve
    finance.post(reverse("incentives:run-action", args=[run.pk, "approve"]))
    run.refresh_from_db()
    assert run.status == RunStatus.APPROVED
    response = finance.get(reverse("incentives:payroll", args=[run.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Period", "Employee number", "Name", "销售提成", "Corrections of paid periods", "Adjustments",
                       "Total"]
    assert rows[1:] == [["2025-12", "E002", "陈经理", "35.00", "0.00", "0.00", "35.00"],
                        ["2025-12", "E003", "赵经理", "20.00", "0.00", "0.00", "20.00"],
                        ["2025-12", "E101", "李丽", "35.00", "0.00", "0.00", "35.00"],
                        ["2025-12", "E201", "张伟", "20.00", "0.00", "0.00", "20.00"]]
    book = openpyxl.load_workbook(io.BytesIO(finance.get(reverse("incentives:payroll", args=[run.pk, "xlsx"]))
                                             .content))
    sheet = book.active
    assert [c.value for c in sheet[4]][:4] == ["2025-12", "E101", "李丽", 35] and sheet[4][3].number_format == "#,##0.00"
    finance.post(reverse("incentives:run-action", args=[run.pk, "pay"]))
    run.refresh_from_db()
    assert run.status == RunStatus.PAID


def test_adjustments_from_the_page(world, run, client_for, manager_carol, finance_dan, rep_alice, rep_bob, hr_henry):
    carol = as_user(manager_carol)
    form = {"plan": run.plan_id, "salesperson": world.people["alice"].pk, "period": "2025-12", "amount": "-12.50",
            "reason": "duplicate order SO-A"}
    assert carol.post(reverse("incentives:adjustments"), form).status_code == 302
    adjustment = Adjustment.objects.get()
    assert adjustment.amount == D("-12.50") and adjustment.created_by == manager_carol
    bad = carol.post(reverse("incentives:adjustments"), form | {"amount": "abc"}).content.decode()
    assert "Enter an amount" in bad and Adjustment.objects.count() == 1
    outside = carol.post(reverse("incentives:adjustments"), form | {"salesperson": world.people["bob"].pk})
    assert "Select a valid choice" in outside.content.decode()  # Bob is not in Carol's team
    assert client_for(rep_alice).post(reverse("incentives:adjustments"), form).status_code == 403
    assert "duplicate order" in client_for(rep_alice).get(reverse("incentives:adjustments")).content.decode()
    assert "duplicate order" not in client_for(rep_bob).get(reverse("incentives:adjustments")).content.decode()
    assert client_for(hr_henry).get(reverse("incentives:adjustments")).status_code == 403
    decide = reverse("incentives:adjustment-decide", args=[adjustment.pk])
    assert client_for(rep_bob).post(decide, {"decision": "approve"}).status_code == 404
    client_for(finance_dan).post(decide, {"decision": "approve"})
    adjustment.refresh_from_db()
    assert adjustment.status == "approved"
    statement = client_for(rep_alice).get(reverse("incentives:statement", args=[run.pk, world.people["alice"].pk]))
    assert "duplicate order SO-A" in statement.content.decode()
    assert statement.context["s"].total == D("35.00") - D("12.50")
    listed = client_for(rep_alice).get(reverse("incentives:statements")).context["rows"]
    assert [(r["run__period"], r["total"]) for r in listed] == [("2025-12", D("22.50"))]  # the list agrees


def test_a_rep_questions_a_line_and_ops_answers(world, run, client_for, rep_alice, rep_bob, ops_olivia, hr_henry):
    alice = as_user(rep_alice)
    line = run.payouts.get(salesperson=world.people["alice"])
    response = alice.post(reverse("incentives:dispute-raise", args=[line.pk]), {"text": "S1 was 70 % mine."})
    dispute = Dispute.objects.get()
    assert response["Location"] == reverse("incentives:dispute", args=[dispute.pk])
    bob_line = run.payouts.get(salesperson=world.people["bob"])
    assert alice.post(reverse("incentives:dispute-raise", args=[bob_line.pk]), {"text": "x"}).status_code == 404
    assert client_for(rep_bob).get(reverse("incentives:dispute", args=[dispute.pk])).status_code == 404
    assert client_for(hr_henry).get(reverse("incentives:disputes")).status_code == 403
    assert "S1 was 70 %" not in client_for(rep_bob).get(reverse("incentives:disputes")).content.decode()
    ops = as_user(ops_olivia)
    ops.post(reverse("incentives:dispute", args=[dispute.pk]), {"text": "The order says 60/40."})
    dispute.refresh_from_db()
    assert dispute.status == "answered"
    page = alice.get(reverse("incentives:dispute", args=[dispute.pk])).content.decode()
    assert "The order says 60/40." in page and "S1 was 70 % mine." in page
    alice.post(reverse("incentives:dispute", args=[dispute.pk]), {"text": "OK", "resolve": "1"})
    dispute.refresh_from_db()
    assert dispute.status == "resolved"


def test_why_walks_from_the_amount_down_to_the_order_lines(world, run, client_for, rep_alice, rep_bob,
                                                          manager_carol):
    carol = world.people["carol"]
    url = reverse("incentives:why", args=[run.pk, carol.pk, "commission"])
    page = client_for(manager_carol).get(url)
    lines = page.context["lines"]
    assert [(w.line_id, w.seller, w.level, w.credit) for w in lines] == [("S1", "E101", 1, D("600"))]
    html = page.content.decode()
    assert "甲公司" in html and "roll-up, 1 level" in html
    assert client_for(rep_alice).get(url).status_code == 404  # Carol's pay is not Alice's to see
    assert client_for(rep_bob).get(reverse("incentives:why", args=[run.pk, world.people["alice"].pk,
                                                                   "commission"])).status_code == 404
    assert client_for(manager_carol).get(reverse("incentives:why", args=[run.pk, carol.pk, "nothing"])
                                         ).status_code == 404


def test_the_statement_pdf_embeds_a_chinese_font_and_is_confidential(world, run, client_for, rep_alice, rep_bob,
                                                                     hr_henry):
    alice = world.people["alice"]
    url = reverse("incentives:statement-pdf", args=[run.pk, alice.pk])
    response = client_for(rep_alice).get(url)
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert b"/FontFile2" in response.content  # a TrueType CJK font embedded, not a referenced one
    assert client_for(rep_bob).get(url).status_code == 404
    assert client_for(hr_henry).get(url).status_code == 403
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: `make browser` installs poppler-utils"
    text = subprocess.run([pdftotext, "-", "-"], input=response.content, capture_output=True,  # noqa: S603
                          check=True).stdout.decode()
    assert "李丽" in text and "销售提成" in text and "¥35.00" in text
