"""Order-line imports: credits, returns, every bad row reported, all or nothing, idempotent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesops.core.models import AuditEvent
from salesops.imports.models import BatchStatus, ImportBatch
from salesops.org.models import OrderCredit, OrderLine
from tests.conftest import monthly
from tests.imports.conftest import LINE_HEADER, line

D = Decimal


def test_it_imports_lines_with_split_credits_and_refreshes_the_monthly_aggregate(world, csv_file, run_import):
    path = csv_file([LINE_HEADER, line("L1", credits="E101:60;E201:40", discount="10%"),
                     line("L2", date="2025/12/03", credits="E102")])

    result = run_import("order_lines", path)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    l1 = OrderLine.objects.get(external_id="L1")
    assert l1.net_amount == D("1800.00") and l1.discount == D("0.1") and l1.cost == D("800.00")
    assert sorted(OrderCredit.objects.filter(line=l1).values_list("salesperson__employee_no", "split_pct", "amount")) == [
        ("E101", D("60"), D("1080.00")), ("E201", D("40"), D("720.00"))]
    assert OrderLine.objects.get(external_id="L2").date == dt.date(2025, 12, 3)
    amy = monthly(world.people["amy"], dt.date(2025, 12, 1))
    assert amy.net_amount == D("2000.00")
    assert ImportBatch.objects.get(pk=result.batch_id).status == BatchStatus.SUCCEEDED
    summary = AuditEvent.objects.get(event="orderline.imported")
    assert summary.new["created"] == 2 and summary.actor == world.users["olivia"]


def test_it_names_the_row_and_field_of_an_unknown_product_and_saves_nothing(world, csv_file, run_import):
    path = csv_file([LINE_HEADER, line("L1"), line("L2", product="NOPE-9")])

    result = run_import("order_lines", path)

    assert [(e.row, e.field, e.value) for e in result.errors] == [(3, "product", "NOPE-9")]
    assert "NOPE-9" in result.errors[0].message
    assert not OrderLine.objects.filter(external_id__in=["L1", "L2"]).exists()


def test_it_names_the_row_and_field_of_an_unknown_customer_and_saves_nothing(world, csv_file, run_import):
    path = csv_file([LINE_HEADER, line("L1", customer="C-ZZZ"), line("L2")])

    result = run_import("order_lines", path)

    assert [(e.row, e.field, e.value) for e in result.errors] == [(2, "customer", "C-ZZZ")]
    assert OrderLine.objects.count() == 3


def test_it_refuses_splits_that_do_not_total_100(world, csv_file, run_import):
    path = csv_file([LINE_HEADER, line("L1", credits="E101:60;E201:30")])

    result = run_import("order_lines", path)

    [error] = result.errors
    assert (error.row, error.field) == (2, "credits") and "90" in error.message and "100" in error.message
    assert OrderLine.objects.count() == 3


def test_it_refuses_a_return_that_points_at_no_original_line(world, csv_file, run_import):
    path = csv_file([LINE_HEADER, line("R1", status="returned", original="GHOST", quantity="-1")])

    result = run_import("order_lines", path)

    [error] = result.errors
    assert (error.row, error.field, error.value) == (2, "original_external_id", "GHOST")
    assert "no original line" in error.message
    assert OrderLine.objects.count() == 3


def test_it_links_returns_to_originals_in_the_file_or_the_database(world, csv_file, run_import):
    # Given a return listed before its original, and one for a line imported earlier (A1), written positive
    path = csv_file([LINE_HEADER, line("R1", status="returned", original="L1", quantity="-1"), line("L1"),
                     line("R2", status="cancelled", original="A1", quantity="1", price="1000.00")])

    result = run_import("order_lines", path)

    assert result.ok, result.errors
    r1, r2 = OrderLine.objects.get(external_id="R1"), OrderLine.objects.get(external_id="R2")
    assert r1.original.external_id == "L1" and r1.net_amount == D("-1000.00")
    assert r2.original == world.lines.a and r2.quantity == D("-1") and r2.cost == D("-400.00")


def test_it_reports_every_bad_row_not_just_the_first(world, csv_file, run_import):
    path = csv_file([
        LINE_HEADER,
        line("L1", date="15.11.2025"),
        line("L2", price="-5"),
        line("L3", discount="1.5"),
        line("L4", quantity="abc"),
        line("L5", credits="E999"),
        line("L5"),
        ["", "SO", "2025-11-01", "C-A", "SW-1", "1", "1", "0", "booked", "", "E101"],
    ])

    result = run_import("order_lines", path)

    assert [(e.row, e.field) for e in result.errors] == [
        (2, "date"), (3, "unit_price"), (4, "discount"), (5, "quantity"), (6, "credits"), (7, "external_id"),
        (8, "external_id")]
    assert "row 6" in result.errors[5].message
    assert OrderLine.objects.count() == 3


def test_it_saves_nothing_when_one_row_of_many_is_bad(world, csv_file, run_import):
    rows = [line(f"L{i}") for i in range(300)]
    rows[217] = line("L217", product="NOPE")

    result = run_import("order_lines", csv_file([LINE_HEADER, *rows]))

    assert [(e.row, e.field) for e in result.errors] == [(219, "product")]
    assert OrderLine.objects.count() == 3 and OrderCredit.objects.count() == 4
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert batch.status == BatchStatus.FAILED and batch.errors[0][:2] == [219, "product"] and batch.created == 0


def test_it_changes_nothing_when_the_same_file_is_imported_again(world, csv_file, run_import):
    rows = [LINE_HEADER, line("L1", credits="E101:60;E201:40"), line("L2"),
            line("R1", status="returned", original="L1", quantity="-1", credits="E101:60;E201:40")]
    run_import("order_lines", csv_file(rows))
    audit_rows = AuditEvent.objects.count()

    again = run_import("order_lines", csv_file(rows, name="again.csv"))

    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert AuditEvent.objects.count() == audit_rows


def test_it_updates_changed_lines_and_their_credits(world, csv_file, run_import):
    run_import("order_lines", csv_file([LINE_HEADER, line("L1"), line("L2")]))

    result = run_import("order_lines", csv_file([LINE_HEADER, line("L1", quantity="3", credits="E201"), line("L2")],
                                                name="v2.csv"))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    l1 = OrderLine.objects.get(external_id="L1")
    assert l1.net_amount == D("3000.00")
    assert list(l1.credits.values_list("salesperson__employee_no", "amount")) == [("E201", D("3000.00"))]
    event = AuditEvent.objects.get(event="orderline.updated")
    assert event.old["quantity"] == "2.000" and event.new["credits"] == [["E201", "100"]]
    bob_nov = monthly(world.people["bob"], dt.date(2025, 11, 1))
    assert bob_nov.net_amount == D("4000.00")  # B1 1000 + L1 3000


def test_a_dry_run_counts_and_saves_nothing(world, csv_file, run_import):
    result = run_import("order_lines", csv_file([LINE_HEADER, line("L1")]), dry_run=True)

    assert result.ok and result.dry_run and result.created == 1
    assert not OrderLine.objects.filter(external_id="L1").exists()
    assert ImportBatch.objects.get(pk=result.batch_id).status == BatchStatus.CHECKED


def test_it_reads_chinese_headers_and_values(world, csv_file, run_import):
    path = csv_file([
        ["行号", "订单日期", "客户编号", "产品编码", "数量", "单价", "折扣", "状态", "业绩归属"],
        ["L1", "2025年11月15日", "C-A", "SW-1", "1", "¥1,000.00", "9折", "已开票", "李丽"],
    ])

    result = run_import("order_lines", path)

    assert result.ok, result.errors
    l1 = OrderLine.objects.get(external_id="L1")
    assert (l1.order_no, l1.status, l1.discount, l1.net_amount) == ("L1", "invoiced", D("0.1"), D("900.00"))
    assert l1.credits.get().salesperson == world.people["alice"]
