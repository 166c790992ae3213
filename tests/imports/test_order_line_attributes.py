"""Order lines' invoice date (``invoiced_on``) and deal attributes (``attr:<name>`` columns): imported, updated,
cleared by a mapped empty cell, kept when not mapped, every bad cell reported, and an export re-imports unchanged."""

from __future__ import annotations

import datetime as dt

import pytest

from salesops.imports.exporting import kind_export, write_table
from salesops.imports.services import import_file
from salesops.org.models import OrderLine
from tests.imports.conftest import LINE_HEADER, line

HEADER = [*LINE_HEADER, "invoiced_on", "attr:Channel", "属性:deal_type"]


def test_it_imports_invoice_dates_and_attributes_and_a_second_import_changes_nothing(world, csv_file, run_import):
    path = csv_file([HEADER, line("L1") + ["2025-12-02", "online", "new"], line("L2") + ["", "partner", ""]])

    result = run_import("order_lines", path)

    assert result.ok, result.errors
    l1, l2 = OrderLine.objects.get(external_id="L1"), OrderLine.objects.get(external_id="L2")
    assert (l1.invoiced_on, l1.attributes) == (dt.date(2025, 12, 2), {"channel": "online", "deal_type": "new"})
    assert (l2.invoiced_on, l2.attributes) == (None, {"channel": "partner"})
    again = run_import("order_lines", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_mapped_empty_cell_removes_an_attribute_and_an_unmapped_one_is_kept(world, csv_file, run_import):
    run_import("order_lines", csv_file([HEADER, line("L1") + ["2025-12-02", "online", "new"]], name="a.csv"))

    result = run_import("order_lines", csv_file([[*LINE_HEADER, "attr:channel"], line("L1") + [""]], name="b.csv"))

    assert result.ok and result.updated == 1, result.errors
    l1 = OrderLine.objects.get(external_id="L1")
    assert (l1.invoiced_on, l1.attributes) == (dt.date(2025, 12, 2), {"deal_type": "new"})


def test_bad_dates_attribute_names_and_long_values_are_each_reported_and_nothing_is_saved(world, csv_file,
                                                                                         run_import):
    bad_name = run_import("order_lines", csv_file([[*LINE_HEADER, "attr:Deal Type"], line("L1") + ["x"]], name="a.csv"))
    assert [(e.row, e.field) for e in bad_name.errors] == [(1, "attr:deal type")]
    result = run_import("order_lines", csv_file([HEADER, line("L1") + ["2025-13-01", "online", ""],
                                                 line("L2") + ["", "x" * 101, ""]], name="b.csv"))
    assert [(e.row, e.field) for e in result.errors] == [(2, "invoiced_on"), (3, "attr:channel")]
    assert not OrderLine.objects.filter(external_id__in=["L1", "L2"]).exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_with_attributes_imports_again_unchanged(world, csv_file, run_import, tmp_path, fmt):
    run_import("order_lines", csv_file([HEADER, line("L1") + ["2025-12-02", "online", "new"],
                                        line("L2") + ["", "", "renewal"]]))
    columns, rows = kind_export("order_lines")
    assert [name for name, _get in columns][-3:] == ["credits", "attr:channel", "attr:deal_type"]
    path = tmp_path / f"lines.{fmt}"
    with open(path, "wb") as out:
        write_table(columns, rows, fmt, out)

    result = import_file(actor=None, kind="order_lines", path=path)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 0, OrderLine.objects.count())
