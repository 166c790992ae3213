"""A statement as a PDF (reportlab), in the reader's language, Chinese included.

Chinese needs a CJK font embedded in the file: the first of ``SALESOPS_PDF_FONT`` (a .ttf/.ttc path),
WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``) or Noto Sans CJK that exists is embedded (subset). Without any,
reportlab's standard CID font STSong-Light is referenced instead: viewers with Adobe's CJK support show it, others
may not — install one of the fonts on the server.
"""

from __future__ import annotations

import io
import os
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from salesops.incentives.selectors import Statement
from salesops.org.models import Company
from salesops.web.templatetags.salesops import money_text, pct_text

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
)


@cache
def font_name() -> str:
    """Register the CJK font once per process and return its name."""
    for candidate in (os.environ.get("SALESOPS_PDF_FONT", ""), *FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont("SalesopsCJK", candidate, subfontIndex=0))
            return "SalesopsCJK"
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _number(value) -> str:
    return "—" if value is None else f"{value.normalize():f}"


def statement_pdf(s: Statement) -> bytes:
    font = font_name()
    company = Company.current()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22)
    heading = ParagraphStyle("heading", parent=body, fontSize=11, leading=16, spaceBefore=6)

    def p(text: str, style=body) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    def money(value) -> str:
        return money_text(value, company)

    grid = TableStyle([("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8),
                       ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5"))])
    run = s.run
    story = [
        p(f"{company.name} · {_('Statement')}", title),
        p(f"{s.person.name} ({s.person.employee_no}) · {_('Period')} {run.period}"),
        p(_("Plan %(plan)s version %(version)s, run %(run)s (%(status)s), inputs fingerprint %(fp)s.") % {
            "plan": run.version.plan.name, "version": run.version.version, "run": run.pk,
            "status": run.get_status_display(), "fp": run.fingerprint[:12]}),
        Spacer(1, 4 * mm),
        p(f"{_('Total')}: {money(s.total)}", heading),
        p(f"{_('Year to date')} ({s.fiscal_year}): {money(s.ytd)} · {_('Change vs the period before')}: "
          f"{money(s.change) if s.change is not None else '—'}"),
    ]
    for item in s.items:
        payout = item.payout
        story.append(p(f"{item.name}: {money(payout.amount)}", heading))
        if payout.quota is not None:
            story.append(p(f"{_('Measure')} {_number(payout.measure)} · {_('Quota')} {_number(payout.quota)} · "
                           f"{_('Attainment')} {pct_text(payout.attainment)}"))
        elif payout.measure is not None:
            story.append(p(f"{_('Measure')} {_number(payout.measure)}"))
        rows = [[_("Rule"), _("Basis"), _("Rate"), _("Amount")]]
        rows += [[rule, _number(d.basis), _number(d.rate), _number(d.earned)] for d, rule in item.details]
        rows.append([_("Before rounding"), "", "", _number(payout.earned)])
        table = Table(rows, colWidths=[80 * mm, 35 * mm, 25 * mm, 35 * mm], repeatRows=1)
        table.setStyle(grid)
        story.append(table)
    if s.corrections:
        story.append(p(_("Corrections of paid periods"), heading))
        rows = [[_("Component"), _("Corrected period"), _("Amount")]]
        rows += [[s.component_names.get(c.component, c.component), c.corrected_period, money(c.amount)]
                 for c in s.corrections]
        table = Table(rows, colWidths=[80 * mm, 45 * mm, 50 * mm])
        table.setStyle(grid)
        story.append(table)
    if s.adjustments:
        story.append(p(_("Adjustments"), heading))
        rows = [[_("Reason"), _("Approved by"), _("Amount")]]
        rows += [[a.reason[:80], a.decided_by.get_full_name() or a.decided_by.username, money(a.amount)]
                 for a in s.adjustments]
        table = Table(rows, colWidths=[95 * mm, 40 * mm, 40 * mm])
        table.setStyle(grid)
        story.append(table)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{_('Statement')} {s.person.employee_no} {run.period}",
                            author=company.name, invariant=1)
    doc.build(story)
    return buffer.getvalue()
