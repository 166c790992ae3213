"""Helpers for import tests: write small CSV and .xlsx files, and import them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from salesops.imports.services import import_file


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

