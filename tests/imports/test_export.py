"""Exports: exact decimals, dates, UTF-8 BOM, and a round trip (export, import, nothing changes)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from salesops.imports.exporting import export_response, kind_export, write_table
from salesops.imports.models import ImportKind
from salesops.imports.services import import_file
from salesops.org import services as org
from salesops.org.models import Payment

COLUMNS = [("名称", lambda r: r[0]), ("金额", lambda r: r[1]), ("日期", lambda r: r[2]), ("公式", lambda r: r[3])]
ROWS = [("甲", Decimal("1234567890123.45"), dt.date(2025, 11, 15), "=1+1"), ("乙", Decimal("-0.10"), None, "@x")]


def test_csv_is_utf8_with_bom_exact_and_formula_safe():
    out = io.BytesIO()
    write_table(COLUMNS, ROWS, "csv", out)

    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == [
        "名称,金额,日期,公式", "甲,1234567890123.45,2025-11-15,'=1+1", "乙,-0.10,,'@x"]


def test_xlsx_keeps_numbers_dates_and_text():
    response = export_response(COLUMNS, ROWS, "xlsx", "报表")

    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%E6%8A%A5%E8%A1%A8.xlsx"
    ws = load_workbook(io.BytesIO(response.content)).active
    amount, day, formula = ws["B2"], ws["C2"], ws["D2"]
    assert Decimal(repr(amount.value)) == Decimal("1234567890123.45") and amount.number_format == "#,##0.00"
    assert day.value == dt.datetime(2025, 11, 15) and day.number_format == "yyyy-mm-dd"
    assert formula.value == "=1+1" and formula.data_type == "s"


@pytest.fixture
def richer_world(world, pipeline):
    """The persona company plus a return, a payment, a product whose price has cents, and a pipeline made in
    salesops (contacts, deals with their moves and products, activities: no external ids, times with microseconds)."""
    org.order_line_create(actor=None, credits=[(world.people["alice"], Decimal(60)), (world.people["bob"], Decimal(40))],
                          external_id="S1-R", order_no="SO-S", date=dt.date(2025, 12, 5), customer=world.customers.a,
                          product=world.product, quantity=Decimal("-1"), unit_price=Decimal("1000.00"),
                          cost=Decimal("-400.00"), status="returned", original=world.lines.s, discount=Decimal("0.125"))
    Payment.objects.create(line=world.lines.a, date=dt.date(2025, 12, 1), amount=Decimal("333.33"), external_id="P1")
    org.product_create(actor=None, sku="HW-1", name="扫码枪", category=world.category, list_price=Decimal("99.99"),
                       standard_cost=Decimal("45.50"), unit="个", active=False)
    _pipeline_made_here(world, pipeline)
    return world


def _pipeline_made_here(world, pipeline):
    from salesops.crm import services as crm

    t0 = dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    boss = crm.contact_create(actor=None, customer=world.customers.a, name="钱总", role="decision_maker", primary=True)
    crm.contact_create(actor=None, customer=world.customers.a, name="孙工", role="technical")
    crm.contact_create(actor=None, customer=world.customers.a, name="孙工", job_title="同名的另一位")
    crm.contact_create(actor=None, customer=world.customers.b, name="Ms Li", external_id="K-B1", email="li@yi.cn")
    deal = crm.opportunity_create(actor=None, customer=world.customers.a, owner=world.people["alice"], name="甲公司 CRM",
                                  at=t0, products=[(world.product, Decimal("2.5"))], source="展会")
    crm.opportunity_move(actor=None, opportunity=deal, stage=pipeline.proposal, at=t0 + hour,
                         amount=Decimal("120000.00"), expected_close=dt.date(2026, 4, 30), decision_maker=boss)
    crm.opportunity_move(actor=None, opportunity=deal, stage=pipeline.won, at=t0 + 2 * hour)
    crm.opportunity_create(actor=None, customer=world.customers.b, owner=world.people["bob"], name="乙公司 续约", at=t0)
    crm.activity_create(actor=None, kind="visit", subject="演示", customer=world.customers.a, owner=world.people["alice"],
                        created_at=t0, due_at=t0 + hour, opportunity=deal, contact=boss)
    crm.activity_create(actor=None, kind="call", subject="=回访", customer=world.customers.b, owner=world.people["bob"],
                        created_at=t0, external_id="ACT-1", done_at=t0 + hour, outcome="好")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_again_with_nothing_changed(richer_world, tmp_path, fmt):
    for kind in ImportKind.values:
        # Given everything of a kind exported by the CLI's function
        columns, rows = kind_export(kind)
        path = tmp_path / f"{kind}.{fmt}"
        with open(path, "wb") as out:
            write_table(columns, rows, fmt, out)

        # when it is imported again
        result = import_file(actor=None, kind=kind, path=path)

        # then every row is recognised as unchanged
        assert result.ok, (kind, result.errors)
        assert (result.created, result.updated) == (0, 0), kind
        assert result.unchanged == result.rows > 0, kind


def test_the_cli_export_holds_everything_and_web_export_only_the_visible(world, rep_bob):
    _columns, everything = kind_export("customers")
    _columns, bobs = kind_export("customers", user=rep_bob)
    assert [r["external_id"] for r in everything] == ["C-A", "C-B"]
    assert [r["external_id"] for r in bobs] == ["C-B"]
