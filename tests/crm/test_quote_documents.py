"""The customer's copies of a quote: the PDF (read back with pdftotext) and the Excel workbook (openpyxl), each in
the quote's language, with the same lines, discounts and totals as the stored quote."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from salesops.crm import quotes as q
from salesops.crm.quote_documents import quote_pdf, quote_xlsx
from salesops.org import services as org

D = Decimal
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def quote(world):
    """Alice's quote to 甲公司, valid to 2026-03-31: 2 × SW-1 (¥1,000.00) at 25 % off and 3 days of service
    (¥1.25) at 10 % off, whose net 3.375 rounds half up to ¥3.38."""
    service = org.product_create(actor=None, sku="SVC-1", name="实施服务", category=world.category,
                                 list_price=D("1.25"), standard_cost=D("0.50"), unit="天")
    world.people["alice"].email = "alice@example.com"
    world.people["alice"].save()
    return q.quote_create(actor=None, customer=world.customers.a, owner=world.people["alice"], at=T0,
                          valid_until=dt.date(2026, 3, 31), notes="=含安装 (formula-looking text stays text)",
                          lines=[(world.product, D(2), D("0.25")), (service, D(3), D("0.1"))])


def pdf_text(content: bytes) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "pdftotext is missing: `make browser` installs poppler-utils"
    return subprocess.run([pdftotext, "-layout", "-", "-"], input=content, capture_output=True,  # noqa: S603
                          check=True).stdout.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_pdf_shows_the_quote_in_its_language(world, quote, language):
    quote.language = language
    quote.save()
    content = quote_pdf(quote)
    assert content.startswith(b"%PDF") and b"/FontFile2" in content  # the CJK font is embedded
    text = pdf_text(content)
    for shown in (quote.number, "测试公司", "甲公司", "李丽", "CRM 套件", "实施服务", "2026-03-31",
                  "¥1,500.00", "¥3.38", "¥1,503.38", "25.00%", "10.00%", "-¥500.37", "¥2,003.75"):
        assert shown in text, shown
    if language == "en":
        assert "Quotation" in text and "Net amount" in text and "Customer" in text
    else:  # words the catalogue already translates
        assert "客户" in text and "净额" in text and "合计" in text and "Net amount" not in text
    assert quote_pdf(quote) == content  # the same quote, the same bytes


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_workbook_has_number_cells_and_the_totals(world, quote, language):
    quote.language = language
    quote.save()
    wb = load_workbook(io.BytesIO(quote_xlsx(quote)))
    ws = wb[quote.number]
    rows = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(rows) if row[0] == "#")
    assert rows[header][7] == ("Net amount" if language == "en" else "净额")
    lines = rows[header + 1:header + 3]
    assert [(r[1], r[2], r[3], r[5], r[6], r[7]) for r in lines] == [
        ("SW-1", "CRM 套件", 2, 1000, 0.25, 1500), ("SVC-1", "实施服务", 3, 1.25, 0.1, 3.38)]
    totals = {r[2]: r[7] for r in rows[header + 3:] if r[2] and r[7] is not None}
    total_label = "Total" if language == "en" else "合计"
    assert D(str(totals[total_label])) == D("1503.38")
    facts = {r[1]: r[2] for r in rows[:header] if r[1]}
    assert "甲公司" in facts.values() and quote.number in facts.values()
    notes = ws.cell(row=ws.max_row, column=3)
    assert notes.value.startswith("=含安装") and notes.data_type == "s"  # never a formula
