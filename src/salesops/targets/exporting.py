"""A target plan to Excel in the shape of the screen, and locks or commits back from such a file.

Export: one row per node the user may see, in tree order, the name indented by level; level, method, target,
locked flag, commit, gap and the 12 months; amounts are number cells with two decimals. Column A (``key``) is
hidden: it is how an imported row finds its node. Three columns are for input: ``lock`` (pre-filled with the value
of locked nodes), ``commit`` (pre-filled with the stored commit) and ``manual`` (the typed values of nodes on a
level whose method is manual), so re-importing an unchanged export changes nothing.

Import (all or nothing): every row is checked first (known and visible key, a number ≥ 0 with at most two
decimals, the user's right to lock, type or commit that node); any problem → nothing is applied and every bad
row is reported with its row number and reason. Otherwise, in one transaction, typed values go through
``services.nodes_set_manual`` together (one re-balance), locks through ``services.node_lock`` one after another
(each re-balances the plan), then commits through ``services.node_commit``; typed values that do not add up or a
lock the plan cannot hold are reported and the whole import rolls back.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from salesops.imports.parsing import Table, TableError, parse_decimal, read_table, text
from salesops.imports.results import RowError
from salesops.targets import access, services
from salesops.targets.forms import method_label
from salesops.targets.models import TargetNode, TargetPlan

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEY, LOCK, COMMIT, MANUAL = "key", "lock", "commit", "manual"
MONEY_FORMAT = "#,##0.00"


def plan_workbook(tree, level_labels: list[str]) -> bytes:
    """The visible nodes of ``tree`` (a ``views.PlanTree`` loaded with months) as an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    plan: TargetPlan = tree.plan
    wb = Workbook(write_only=True)  # streams rows: a 2,000-node plan in a fraction of a second
    ws = wb.create_sheet(_("Plan")[:31])
    months = [m.strftime("%Y-%m") for m in tree.month_starts]
    widths = [10, 6, 16, 30, 14, 16, 16, 16, 16, 8, 16] + [14] * len(months)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.column_dimensions["A"].hidden = True
    ws.freeze_panes = "E2"
    bold = Font(bold=True)
    header = [KEY, pgettext("target plan", "Level"), _("Dimension"), _("Name"), _("Method"), _("Target"), LOCK, COMMIT, MANUAL,
              _("Locked"),
              _("Gap (target − commit)"), *months]
    ws.append([_styled(_text(ws, h), font=bold) for h in header])
    indents = {}
    for node in tree.nodes:
        if node.level not in indents:
            indents[node.level] = Alignment(indent=node.level)
        gap = node.value - node.commit if node.commit is not None else None
        row = [_text(ws, node.key), WriteOnlyCell(ws, value=node.level),
               _text(ws, level_labels[node.level] if node.level < len(level_labels) else ""),
               _styled(_text(ws, node.name), alignment=indents[node.level]), _text(ws, method_label(node.method))]
        amounts = [node.value, node.value if node.locked else None, node.commit, node.manual]
        row.extend(_money(ws, v) for v in amounts)
        row.append(_text(ws, _("yes") if node.locked else ""))
        row.append(_money(ws, gap))
        row.extend(_money(ws, v) for v in tree.months.get(node.pk, [None] * len(months)))
        ws.append(row)
    help_sheet = wb.create_sheet(_("How to import")[:31])
    help_sheet.column_dimensions["A"].width = 120
    for line in [
        _("%(plan)s, version %(version)d, fiscal year %(year)d.") % {
            "plan": plan.name, "version": plan.version, "year": plan.fiscal_year},
        _("Type a value in the “lock” column to fix a node's target (its siblings re-balance), or in the “commit” "
          "column to record a bottom-up commit. Leave the other rows as they are."),
        _("On a level whose method is manual, type each node's value in the “manual” column: members left empty "
          "share the rest equally; when all are typed they must add up to their parent."),
        _("The hidden column A (key) finds each node: do not change it. Then upload the file on the plan page."),
        _("If any row has a problem nothing is imported, and every bad row is listed with its number."),
    ]:
        help_sheet.append([line])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _styled(cell, **styles):
    for name, value in styles.items():
        setattr(cell, name, value)
    return cell


def _text(ws, value: str):
    """A text cell that Excel never runs as a formula, whatever it starts with (names come from users)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    cell.data_type = "s"
    return cell


def _money(ws, value: Decimal | None):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    if value is not None:
        cell.number_format = MONEY_FORMAT
    return cell


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    locks: int = 0
    commits: int = 0
    typed: int = 0


class _Rollback(Exception):
    pass


def _read(upload) -> Table:
    """The uploaded file as a table (read_table wants a path: the upload may live only in memory)."""
    suffix = Path(getattr(upload, "name", "") or "plan.xlsx").suffix.lower() or ".xlsx"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
        handle.flush()
        return read_table(handle.name)


def _amount(value, rowno: int, column: str, errors: list[RowError]) -> Decimal | None:
    if value is None or text(value) == "":
        return None
    try:
        amount = parse_decimal(value, places=2)
    except ValueError as error:
        errors.append(RowError(rowno, column, text(value), str(error)))
        return None
    if amount < 0:
        errors.append(RowError(rowno, column, text(value), _("must not be negative")))
        return None
    return amount


def import_plan_file(user, plan: TargetPlan, segments: set[str] | None, upload) -> ImportReport:
    report = ImportReport()
    try:
        table = _read(upload)
    except TableError as error:
        report.errors.extend(error.errors)
        return report
    columns = {h.strip().lower(): i for i, h in enumerate(table.header)}
    if KEY not in columns or not ({LOCK, COMMIT, MANUAL} & set(columns)):
        report.errors.append(RowError(None, "", "", _(
            "The file needs the columns “key” and “lock”, “commit” or “manual”: export the plan and fill that file "
            "in.")))
        return report
    nodes = {n.key: n for n in TargetNode.objects.filter(plan=plan)}
    editor = access.can_edit(user)
    locks: list[tuple[int, str, Decimal]] = []
    commits: list[tuple[int, str, Decimal]] = []
    typed: dict[str, Decimal] = {}
    manual_levels = {k for k, level in enumerate(plan.levels, start=1) if level.get("method") == "manual"}
    seen: dict[str, int] = {}
    for rowno, cells in table.rows:
        key = text(cells[columns[KEY]])
        lock = _amount(cells[columns[LOCK]], rowno, LOCK, report.errors) if LOCK in columns else None
        commit = _amount(cells[columns[COMMIT]], rowno, COMMIT, report.errors) if COMMIT in columns else None
        manual = _amount(cells[columns[MANUAL]], rowno, MANUAL, report.errors) if MANUAL in columns else None
        if lock is None and commit is None and manual is None:
            continue
        node = nodes.get(key)
        if node is None or not key or not access.key_visible(key, segments):
            report.errors.append(RowError(rowno, KEY, key, _("no node of this plan has this key")))
            continue
        if key in seen:
            report.errors.append(RowError(rowno, KEY, key, _("the same node is already on row %(row)d") % {
                "row": seen[key]}))
            continue
        seen[key] = rowno
        if lock is not None and not (node.locked and node.value == lock):
            if not editor:
                report.errors.append(RowError(rowno, LOCK, text(lock), _("you may not lock targets")))
            elif not plan.editable:
                report.errors.append(RowError(rowno, LOCK, text(lock), _("only a draft plan can change")))
            else:
                locks.append((rowno, key, lock))
        if manual is not None and manual != node.manual:
            if not editor:
                report.errors.append(RowError(rowno, MANUAL, text(manual), _("you may not type targets")))
            elif not plan.editable:
                report.errors.append(RowError(rowno, MANUAL, text(manual), _("only a draft plan can change")))
            elif node.level not in manual_levels:
                report.errors.append(RowError(rowno, MANUAL, text(manual), _(
                    "this node's level does not use the manual method")))
            else:
                typed[key] = manual
        if commit is not None and commit != node.commit:
            if not access.may_commit(user, plan, key, segments):
                report.errors.append(RowError(rowno, COMMIT, text(commit), _("you may not commit on this node")))
            else:
                commits.append((rowno, key, commit))
    if report.errors:
        return report
    try:
        with transaction.atomic():
            if typed:
                try:
                    report.warnings = services.nodes_set_manual(actor=user, plan=plan, values=typed)
                except ValidationError as error:
                    report.errors.extend(RowError(None, MANUAL, "", message) for message in error.messages)
                    raise _Rollback from None
            for rowno, key, value in locks:
                node = TargetNode.objects.select_related("plan").get(plan=plan, key=key)  # fresh: locks re-store nodes
                try:
                    report.warnings = services.node_lock(actor=user, node=node, value=value)  # the latest state's
                except ValidationError as error:
                    for message in error.messages:
                        report.errors.append(RowError(rowno, LOCK, text(value), message))
            for rowno, key, value in commits:
                node = TargetNode.objects.select_related("plan").get(plan=plan, key=key)
                try:
                    services.node_commit(actor=user, node=node, value=value)
                except ValidationError as error:
                    for message in error.messages:
                        report.errors.append(RowError(rowno, COMMIT, text(value), message))
            if report.errors:
                raise _Rollback
    except _Rollback:
        report.warnings = []
        return report
    report.locks, report.commits, report.typed = len(locks), len(commits), len(typed)
    return report
