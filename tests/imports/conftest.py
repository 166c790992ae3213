"""Helpers for import tests: write small CSV and .xlsx files, and import them; the pipeline's stages and the
contacts and deals of ``crm_data`` imported by ops Olivia."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from salesops.crm.models import Contact, Opportunity
from salesops.imports.services import import_file
from salesops.org import services as org
from tests.crm.conftest import stages  # noqa: F401 - the pipeline of the crm tests, used by name
from tests.imports.crm_data import CONTACTS, OPPORTUNITIES


@pytest.fixture
def csv_file(tmp_path):
    """``csv_file(rows, name="data.csv", encoding="utf-8")``: the path of a CSV holding ``rows`` (first = header)."""

    def make(rows, name="data.csv", encoding="utf-8"):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        path = Path(tmp_path) / name
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return make


@pytest.fixture
def xlsx_file(tmp_path):
    """``xlsx_file({"Sheet": rows, ...}, name=..., merge=["A1:B1"])``: an Excel workbook."""

    def make(sheets, name="data.xlsx", merge=()):
        wb = Workbook()
        wb.remove(wb.active)
        for title, rows in sheets.items():
            ws = wb.create_sheet(title)
            for row in rows:
                ws.append(row)
            for ref in merge:
                ws.merge_cells(ref)
            merge = ()
        path = Path(tmp_path) / name
        wb.save(path)
        return path

    return make


@pytest.fixture
def run_import(ops_olivia):
    """``run_import(kind, path, **options)`` as ops Olivia."""

    def run(kind, path, **options):
        return import_file(actor=ops_olivia, kind=kind, path=path, **options)

    return run


LINE_HEADER = ["external_id", "order_no", "date", "customer", "product", "quantity", "unit_price", "discount",
               "status", "original_external_id", "credits"]


def line(ext, *, date="2025-11-20", customer="C-A", product="SW-1", quantity="2", price="1000.00", discount="0",
         status="booked", original="", credits="E101"):
    return [ext, "SO-" + ext, date, customer, product, quantity, price, discount, status, original, credits]



@pytest.fixture
def pipeline(stages):  # noqa: F811 - the crm tests' fixture, imported above
    """The stages of ``tests/crm/conftest.py``: Lead 10% → Qualified 25% (expected close) → Proposal 50% (amount,
    expected close, decision maker) → Won 100% / Lost 0% (lost reason)."""
    return stages


@pytest.fixture
def hardware(world):
    return org.product_create(actor=None, sku="HW-1", name="扫码枪", category=world.category, list_price=Decimal("99.00"),
                              standard_cost=Decimal("40.00"))


@pytest.fixture
def contacts(world, csv_file, run_import):
    result = run_import("contacts", csv_file(CONTACTS, name="contacts.csv"))
    assert result.ok, result.errors
    return {c.external_id: c for c in Contact.objects.all()}


@pytest.fixture
def deals(pipeline, contacts, hardware, csv_file, run_import):
    result = run_import("opportunities", csv_file(OPPORTUNITIES, name="opportunities.csv"))
    assert result.ok, result.errors
    return {o.external_id: o for o in Opportunity.objects.all()}
