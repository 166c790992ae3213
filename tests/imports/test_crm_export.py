"""Contacts, opportunities, stage history and activities out and back in: the CLI, the web pages, who sees what.

Exports of what salesops made itself (no external ids) are covered by ``test_export.py``'s round trip over every
kind; here the records come from imports (``tests/imports/test_crm_kinds.py`` files).
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from salesops.crm.models import Opportunity, StageChange
from salesops.imports.exporting import kind_export
from salesops.imports.models import ImportBatch
from salesops.imports.views import importable_kinds
from tests.imports.crm_data import ACTIVITIES, HISTORY_ROWS

CRM_KINDS = ["contacts", "opportunities", "stage_history", "activities"]


@pytest.fixture
def imported(deals, csv_file, run_import):
    for kind, rows in [("stage_history", HISTORY_ROWS), ("activities", ACTIVITIES)]:
        result = run_import(kind, csv_file(rows, name=f"{kind}.csv"))
        assert result.ok, result.errors


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_cli_exports_each_kind_in_a_file_that_imports_back_unchanged(imported, tmp_path, capsys, fmt):
    for kind in CRM_KINDS:
        path = tmp_path / f"{kind}.{fmt}"
        call_command("export", kind, "-o", str(path))
        capsys.readouterr()

        call_command("import", kind, str(path))

        out = capsys.readouterr().out
        assert "0 created, 0 updated" in out and "0 unchanged" not in out, (kind, out)


def test_the_export_writes_the_import_columns(imported):
    columns, rows = kind_export("opportunities")
    by_ext = {row["external_id"]: row for row in rows}

    assert [name for name, _get in columns] == [
        "external_id", "name", "customer", "owner", "stage", "amount", "expected_close", "decision_maker", "products",
        "source", "competitor", "lost_reason", "created_on", "closed_on"]
    assert by_ext["O-1"]["products"] == "SW-1×2;HW-1×1" and by_ext["O-1"]["decision_maker"] == "K-1"
    columns, rows = kind_export("stage_history")
    assert [name for name, _get in columns] == ["opportunity", "stage", "changed_at", "from_stage"]
    assert len(list(rows)) == StageChange.objects.count() == 6


def test_a_rep_exports_only_her_own_deals_and_their_history(imported, rep_alice, client_for):
    client = client_for(rep_alice)

    response = client.get(reverse("imports:export", args=["opportunities"]) + "?format=csv")
    history = client.get(reverse("imports:export", args=["stage_history"]) + "?format=csv")

    exported = [row[0] for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))][1:]
    assert exported == ["O-3", "O-1"]  # O-2 is Bob's
    opportunities = {row[0] for row in csv.reader(io.StringIO(history.content.decode("utf-8-sig")))}
    assert opportunities == {"opportunity", "O-1", "O-3"}


def test_hr_sees_no_deals(imported, hr_henry):
    _columns, rows = kind_export("opportunities", user=hr_henry)
    assert list(rows) == []


def test_the_import_page_offers_the_new_kinds_to_ops_only(world, ops_olivia, hr_henry, client_for):
    assert set(CRM_KINDS) <= set(importable_kinds(ops_olivia))
    assert not set(CRM_KINDS) & set(importable_kinds(hr_henry))
    page = client_for(ops_olivia).get(reverse("imports:upload")).content.decode()
    assert 'value="stage_history"' in page and 'value="opportunities"' in page


def test_the_web_import_maps_chinese_headers_and_imports_a_deal(pipeline, ops_olivia, client_for, settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    client = client_for(ops_olivia)
    content = "商机编号,商机名称,客户编号,负责人工号,阶段,创建日期\nO-7,甲公司 培训,C-A,E101,lead,2026-03-02\n".encode("gbk")
    client.post(reverse("imports:upload"), {"kind": "opportunities", "source": "旧CRM", "encoding": "", "sheet": "",
                                            "file": SimpleUploadedFile("商机.csv", content)})

    batch = ImportBatch.objects.get()
    page = client.get(reverse("imports:mapping", args=[batch.pk]))
    assert page.context["form"]["map_stage"].initial == "阶段"

    client.post(reverse("imports:mapping", args=[batch.pk]), _initial(page.context["form"]))

    assert Opportunity.objects.get(external_id="O-7").stage == pipeline.lead


def _initial(form) -> dict:
    return {f"map_{spec.name}": form[f"map_{spec.name}"].initial or "" for spec in form.specs}


def test_the_cli_lists_the_new_kinds_and_their_fields(capsys):
    with pytest.raises(SystemExit):
        call_command("import", "--help")
    out = capsys.readouterr().out
    assert "stage_history: opportunity*, stage*, changed_at*, from_stage" in out
    assert "opportunities: external_id*, name*, customer*, owner*, stage*, amount" in out


def test_a_rep_exports_only_the_contacts_and_activities_he_may_see(imported, rep_bob, hr_henry):
    # K-1 and K-2 are contacts of Alice's 甲公司, K-3 of Bob's 乙公司; A-1 is Alice's visit, A-2 Bob's call
    _columns, contacts = kind_export("contacts", user=rep_bob)
    _columns, activities = kind_export("activities", user=rep_bob)
    assert [row["external_id"] for row in contacts] == ["K-3"]
    assert [row["external_id"] for row in activities] == ["A-2"]
    for kind in ("contacts", "activities"):
        _columns, rows = kind_export(kind, user=hr_henry)
        assert list(rows) == []
