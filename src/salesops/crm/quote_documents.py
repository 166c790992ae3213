"""A quote as the customer gets it: PDF (reportlab) and Excel (openpyxl), in the quote's language.

Both documents show the same figures, read from the stored quote: company, number, dates and validity, customer,
the salesperson, each line (SKU, product, quantity, unit, list price, discount, net), the totals (list amount,
discount, total) and the notes. Nothing is recomputed: the nets are the stored, once-rounded ones, and the total
is their sum. Amounts are always shown in yuan (元), whatever the company's screen unit, since a customer's copy
in 万元 would be unusual. The PDF embeds the CJK font that statements use (``incentives.pdf.font_name``) and is
the same bytes for the same quote (reportlab's invariant mode).
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from salesops.crm.models import Quote
from salesops.crm.quotes import totals as quote_lines_totals
from salesops.engine.money import format_money
from salesops.incentives.pdf import font_name
from salesops.org.models import Company
from salesops.web.templatetags.salesops import pct_text

QUOTATION = gettext_noop("Quotation")  # the documents' title; marked here, as text inside f-strings is not extracted


def _quantity(value) -> str:
    return f"{value.normalize():f}"


def _day(value) -> str:
    if value is None:
        return "—"
    if hasattr(value, "tzinfo"):
        value = timezone.localdate(value)
    return value.isoformat()


def _facts(quote: Quote) -> list[tuple[str, str]]:
    """The header rows both documents share (label, value), in the active language."""
    owner = quote.owner
    contact = owner.name + (f" <{owner.email}>" if owner.email else "")
    return [
        (_("Quote number"), quote.number),
        (_("Date"), _day(quote.created_at)),
        (_("Valid until"), _day(quote.valid_until)),
        (_("Customer"), quote.customer.name),
        (_("Salesperson"), contact),
        (_("Status"), quote.get_status_display()),
    ]


def _headers() -> list[str]:
    return ["#", _("SKU"), _("Product"), _("Quantity"), _("Unit"), _("List price"), _("Discount"), _("Net amount")]


def quote_pdf(quote: Quote) -> bytes:
    """The quote as a PDF in ``quote.language``."""
    with translation.override(quote.language):
        return _pdf(quote)


def _pdf(quote: Quote) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = font_name()
    company = Company.current()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22)
    heading = ParagraphStyle("heading", parent=body, fontSize=11, leading=16, spaceBefore=6)

    def p(text, style=body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def money(value) -> str:
        return format_money(value, symbol=company.currency_symbol, unit="yuan", policy=company.rounding_policy)

    lines = list(quote.lines.select_related("product").order_by("pk"))
    totals = quote_lines_totals(lines)
    story = [p(f"{company.name} · {_(QUOTATION)}", title)]
    facts = Table([[label, value] for label, value in _facts(quote)], colWidths=[35 * mm, 145 * mm])
    facts.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 9),
                               ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#6b7685"))]))
    story += [facts, Spacer(1, 4 * mm)]
    rows = [_headers()]
    for number, line in enumerate(lines, start=1):
        rows.append([str(number), line.product.sku, Paragraph(escape(line.product.name), body),
                     _quantity(line.quantity), line.product.unit, money(line.list_price), pct_text(line.discount, 2),
                     money(line.net_amount)])
    rows += [["", "", _("List amount"), "", "", "", "", money(totals.gross)],
             ["", "", _("Discount"), "", "", "", "", money(-totals.discount)],
             ["", "", _("Total"), "", "", "", "", money(totals.net)]]
    table = Table(rows, colWidths=[8 * mm, 24 * mm, 50 * mm, 16 * mm, 12 * mm, 24 * mm, 16 * mm, 30 * mm],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -4), 0.25, colors.grey), ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (4, 0), (4, -1), "LEFT"), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
        ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black), ("FONTSIZE", (0, -1), (-1, -1), 10),
    ]))
    story.append(table)
    if quote.notes:
        story += [p(_("Notes"), heading), p(quote.notes)]
    if quote.valid_until:
        story += [Spacer(1, 4 * mm), p(_("This quotation is valid until %(day)s.") % {"day": _day(quote.valid_until)})]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{_(QUOTATION)} {quote.number}", author=company.name,
                            invariant=1)
    doc.build(story)
    return buffer.getvalue()


def quote_xlsx(quote: Quote) -> bytes:
    """The quote as an Excel workbook in ``quote.language``: the header facts, then the lines table with
    number cells (amounts with two places, the discount as a percentage) and the totals under it."""
    with translation.override(quote.language):
        return _xlsx(quote)


def _text_cell(ws, row: int, column: int, value: str, **style):
    cell = ws.cell(row=row, column=column, value=value)
    cell.data_type = "s"  # text that looks like a formula stays text
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _xlsx(quote: Quote) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    company = Company.current()
    money_format = f'"{company.currency_symbol}"#,##0.00'
    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = quote.number[:31]
    _text_cell(ws, 1, 1, f"{company.name} · {_(QUOTATION)}", font=Font(bold=True, size=14))
    row = 3
    for label, value in _facts(quote):
        _text_cell(ws, row, 2, label, font=bold)
        _text_cell(ws, row, 3, value)
        row += 1
    row += 1
    for column, header in enumerate(_headers(), start=1):
        _text_cell(ws, row, column, header, font=bold)
    header_row = row
    lines = list(quote.lines.select_related("product").order_by("pk"))
    for number, line in enumerate(lines, start=1):
        row += 1
        ws.cell(row=row, column=1, value=number)
        _text_cell(ws, row, 2, line.product.sku)
        _text_cell(ws, row, 3, line.product.name)
        ws.cell(row=row, column=4, value=line.quantity).number_format = "#,##0.###"
        _text_cell(ws, row, 5, line.product.unit)
        ws.cell(row=row, column=6, value=line.list_price).number_format = money_format
        ws.cell(row=row, column=7, value=line.discount).number_format = "0.0#%"
        ws.cell(row=row, column=8, value=line.net_amount).number_format = money_format
    totals = quote_lines_totals(lines)
    row += 1
    for label, amount in ((_("List amount"), totals.gross), (_("Discount"), -totals.discount),
                          (_("Total"), totals.net)):
        row += 1
        _text_cell(ws, row, 3, label, font=bold)
        cell = ws.cell(row=row, column=8, value=amount)
        cell.number_format, cell.font = money_format, bold
    if quote.notes:
        row += 2
        _text_cell(ws, row, 2, _("Notes"), font=bold)
        _text_cell(ws, row, 3, quote.notes)
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    for column, width in enumerate((6, 16, 36, 10, 8, 16, 10, 18), start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    wb.properties.creator = company.name or "salesops"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
