"""Reading files: encodings, Excel sheets, bad headers. Each refusal names the row/column and saves nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesops.imports.parsing import TableError, read_table
from salesops.org.models import Customer, OrderLine

GBK_CUSTOMERS = [["客户编号", "客户名称", "行业"], ["C-N1", "华为技术", "通信"], ["C-N2", "小米科技", "消费电子"]]


def test_it_detects_a_gbk_csv_from_chinese_excel(world, csv_file, run_import):
    result = run_import("customers", csv_file(GBK_CUSTOMERS, encoding="gbk"))

    assert result.ok, result.errors
    assert result.encoding == "gb18030"
    assert Customer.objects.get(external_id="C-N2").industry == "消费电子"


def test_it_decodes_with_the_encoding_the_user_chooses(world, csv_file, run_import):
    result = run_import("customers", csv_file(GBK_CUSTOMERS, encoding="gbk"), encoding="gbk")

    assert result.ok and Customer.objects.get(external_id="C-N1").name == "华为技术"


def test_it_reads_utf8_with_a_bom(world, csv_file, run_import):
    result = run_import("customers", csv_file(GBK_CUSTOMERS, encoding="utf-8-sig"))

    assert result.ok and result.encoding == "utf-8-sig"
    assert Customer.objects.filter(external_id__in=["C-N1", "C-N2"]).count() == 2


def test_it_says_so_when_the_chosen_encoding_does_not_fit(world, csv_file, run_import):
    result = run_import("customers", csv_file(GBK_CUSTOMERS, encoding="gbk"), encoding="utf-8")

    [error] = result.errors
    assert error.row is None and "utf-8" in error.message and "line 1" in error.message and "gbk" in error.message
    assert not Customer.objects.filter(external_id="C-N1").exists()


def test_it_lists_the_sheets_when_the_sheet_name_is_wrong(world, xlsx_file, run_import):
    path = xlsx_file({"说明": [["read me"]], "客户": GBK_CUSTOMERS})

    result = run_import("customers", path, sheet="Customers")

    [error] = result.errors
    assert error.value == "Customers" and "说明, 客户" in error.message
    assert run_import("customers", path, sheet="客户").created == 2


def test_it_refuses_merged_header_cells(world, xlsx_file, run_import):
    path = xlsx_file({"Sheet1": [["2025年11月客户清单", None, None], *GBK_CUSTOMERS]}, merge=["A1:C1"])

    result = run_import("customers", path)

    [error] = result.errors
    assert error.row == 1 and "A1:C1" in error.message and "merged" in error.message
    assert not Customer.objects.filter(external_id="C-N1").exists()


def test_it_refuses_an_empty_or_duplicate_header(csv_file):
    with pytest.raises(TableError) as empty:
        read_table(csv_file([["客户编号", "", "行业"], ["C-1", "x", "y"]]))
    with pytest.raises(TableError) as duplicate:
        read_table(csv_file([["客户编号", "名称", "客户编号"], ["C-1", "x", "y"]]))

    assert [(e.row, e.value) for e in empty.value.errors] == [(1, "B")]
    assert "客户编号" in duplicate.value.errors[0].message and "A" in duplicate.value.errors[0].message


def test_it_reads_excel_dates_numbers_and_gbk_free_text(world, xlsx_file, run_import):
    path = xlsx_file({"明细": [
        ["行号", "日期", "客户编号", "产品编码", "数量", "单价", "折扣", "业绩归属"],
        ["X1", dt.datetime(2025, 11, 15), "C-A", "SW-1", 3, 999.99, 0.15, "E101:50,E102:50"],
        ["X2", "2025/11/16", "C-B", "SW-1", 1.5, "1000", "10%", "E201"],
    ]})

    result = run_import("order_lines", path)

    assert result.ok, result.errors
    x1, x2 = OrderLine.objects.get(external_id="X1"), OrderLine.objects.get(external_id="X2")
    assert (x1.date, x1.unit_price, x1.discount, x1.net_amount) == (dt.date(2025, 11, 15), Decimal("999.99"),
                                                                   Decimal("0.15"), Decimal("2549.97"))
    assert (x2.quantity, x2.net_amount) == (Decimal("1.5"), Decimal("1350.00"))
