"""Import pages: who may open them, the upload → mapping → result flow, error downloads, web exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from salesops.imports.models import BatchStatus, ImportBatch, ImportMapping
from salesops.org.models import Customer, OrderLine


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    return settings.IMPORT_UPLOAD_DIR


def upload(client, kind, content: bytes, name="customers.csv", **extra):
    data = {"kind": kind, "source": "CRM", "file": SimpleUploadedFile(name, content), "encoding": "", "sheet": ""}
    data.update(extra)
    return client.post(reverse("imports:upload"), data)


CUSTOMERS = "客户编号,客户名称,区域,负责人\nC-N1,新客户一,华东,E101\nC-N2,新客户二,CN-S,E201\n".encode("gbk")


@pytest.mark.parametrize("name", ["imports:index", "imports:upload"])
def test_it_forbids_a_rep_the_import_pages(world, rep_alice, client_for, name):
    assert client_for(rep_alice).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("who", ["carol", "dan"])
def test_it_forbids_managers_and_finance_the_import_pages(world, client_for, who):
    client = client_for(world.users[who])
    assert client.get(reverse("imports:index")).status_code == 403
    assert upload(client, "customers", CUSTOMERS).status_code == 403
    assert not ImportBatch.objects.exists()


def test_it_forgets_uploads_left_unmapped(world, ops_olivia, client_for, upload_dir):
    client = client_for(ops_olivia)
    upload(client, "customers", CUSTOMERS)
    old = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))

    upload(client, "customers", CUSTOMERS)

    assert list(ImportBatch.objects.values_list("status", flat=True)) == [BatchStatus.UPLOADED]
    assert len(list(upload_dir.iterdir())) == 1


def test_it_forbids_a_rep_someone_elses_import_report(world, rep_alice, ops_olivia, client_for):
    batch = ImportBatch.objects.create(kind="customers", file_name="x.csv", actor=ops_olivia, status=BatchStatus.FAILED)
    client = client_for(rep_alice)
    for name in ("imports:batch", "imports:mapping", "imports:errors"):
        assert client.get(reverse(name, args=[batch.pk])).status_code == 403


def test_it_lets_hr_import_people_but_not_sales_data(world, hr_henry, client_for):
    client = client_for(hr_henry)
    page = client.get(reverse("imports:upload"))
    assert page.status_code == 200
    assert [k for k, _label in page.context["form"].fields["kind"].choices] == ["people", "assignments"]
    refused = upload(client, "customers", CUSTOMERS)
    assert refused.status_code == 200 and "kind" in refused.context["form"].errors
    lines_batch = ImportBatch.objects.create(kind="order_lines", file_name="x.csv", status=BatchStatus.FAILED)
    assert client.get(reverse("imports:batch", args=[lines_batch.pk])).status_code == 404


def test_it_uploads_maps_and_imports_a_gbk_file(world, ops_olivia, client_for, upload_dir):
    client = client_for(ops_olivia)

    # Given an uploaded GBK CSV with Chinese headers
    response = upload(client, "customers", CUSTOMERS)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:mapping", args=[batch.pk])
    assert batch.encoding == "gb18030" and batch.status == BatchStatus.UPLOADED

    # the mapping page pre-fills the columns from the header names
    page = client.get(response["Location"])
    assert page.status_code == 200
    form = page.context["form"]
    assert form["map_external_id"].value() == "客户编号" and form["map_owner"].value() == "负责人"
    assert "新客户一" in page.content.decode()

    # when the mapping is confirmed
    done = client.post(response["Location"], {
        "map_external_id": "客户编号", "map_name": "客户名称", "map_region": "区域", "map_owner": "负责人"})

    # then the customers are saved, the result page shows the counts and the file is gone
    assert done.status_code == 302 and done["Location"] == reverse("imports:batch", args=[batch.pk])
    assert Customer.objects.get(external_id="C-N1").owner == world.people["alice"]
    result = client.get(done["Location"])
    assert result.context["batch"].created == 2 and result.context["batch"].status == BatchStatus.SUCCEEDED
    assert not list(upload_dir.iterdir())
    assert ImportMapping.objects.get(source="CRM", kind="customers").mapping["segment"] == ""
    history = client.get(reverse("imports:index"))
    assert batch in history.context["batches"]


def test_it_shows_every_error_and_offers_them_as_csv(world, ops_olivia, client_for):
    client = client_for(ops_olivia)
    content = "external_id,name,owner\nC-N1,,E101\nC-N2,乙,E999\n".encode()
    response = upload(client, "customers", content)
    mapping_url = response["Location"]
    client.post(mapping_url, {"map_external_id": "external_id", "map_name": "name", "map_owner": "owner"})
    batch = ImportBatch.objects.get()

    page = client.get(reverse("imports:batch", args=[batch.pk]))
    assert batch.status == BatchStatus.FAILED
    assert [(e["row"], e["field"]) for e in page.context["errors"]] == [(2, "name"), (3, "owner")]
    assert "E999" in page.content.decode()
    assert page.context["can_retry"]  # the file is kept so the mapping can be changed

    download = client.get(reverse("imports:errors", args=[batch.pk]) + "?format=csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[1][:2] == ["2", "name"] and rows[2][:3] == ["3", "owner", "E999"]
    assert not Customer.objects.filter(external_id__in=["C-N1", "C-N2"]).exists()


def test_it_tells_the_uploader_about_a_wrong_sheet(world, ops_olivia, client_for, xlsx_file):
    path = xlsx_file({"客户": [["external_id", "name"], ["C-N1", "甲"]]})
    response = upload(client_for(ops_olivia), "customers", path.read_bytes(), name="c.xlsx", sheet="Sheet1")
    assert response.status_code == 200
    [error] = response.context["file_errors"]
    assert "Sheet1" in error.message and "客户" in error.message
    assert not ImportBatch.objects.exists()


def test_a_reps_web_export_holds_only_what_she_may_see(world, rep_alice, client_for):
    client = client_for(rep_alice)

    lines = client.get(reverse("imports:export", args=["order_lines"]) + "?format=csv")
    customers = client.get(reverse("imports:export", args=["customers"]) + "?format=csv")

    assert lines.status_code == 200 and lines["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(lines.content.decode("utf-8-sig"))))
    assert sorted(r["external_id"] for r in rows) == ["A1", "S1"]
    assert {r["external_id"]: r["credits"] for r in rows}["S1"] == "E101:60"  # Bob's share is not hers to see
    assert [r["external_id"] for r in csv.DictReader(io.StringIO(customers.content.decode("utf-8-sig")))] == ["C-A"]
    assert OrderLine.objects.count() == 3


def test_hr_exports_people_but_no_order_lines(world, hr_henry, client_for):
    client = client_for(hr_henry)
    people = client.get(reverse("imports:export", args=["people"]) + "?format=xlsx")
    lines = client.get(reverse("imports:export", args=["order_lines"]) + "?format=csv")
    assert people.status_code == 200 and people["Content-Disposition"].startswith("attachment")
    assert lines.content.decode("utf-8-sig").strip().count("\n") == 0  # the header only
