"""Import a CSV or Excel file: ``import_file(*, actor, kind, path, ...) -> ImportResult``.

Flow: read the file (``parsing``: encoding detection, sheet choice, header checks) → map columns to our fields
(``kinds``: explicit > remembered for the source > suggested from header names, English or Chinese) → validate
every row and classify it as new / changed / unchanged (``loaders``) → if there is no error and it is not a dry
run, write everything inside one ``transaction.atomic`` (bulk inserts and updates, audit rows, then
``org.services.sales_monthly_refresh`` for the affected months). Any error means nothing is saved; the result
lists every error as ``(row, field, value, message)``, the header being row 1. Re-importing the same file
changes nothing (records are matched on their external ids). Each run is recorded as an ``ImportBatch``.

Kinds: customers, products, people, assignments, order_lines, payments, the customer-relationship kinds
contacts, opportunities, stage_history and activities (``crm_loaders``: in that order, after the customers; the
rules of ``crm.services`` apply to every row), and the trees regions, categories, segments, teams.
``kinds.FIELDS`` lists every kind's fields; ``salesops import --help`` prints them.

Order-line columns (kind ``order_lines``; a header may use these names, or any synonym such as 订单日期,
产品编码, 数量, 单价; ``*`` = required):

=======================  ==================================================================================
column                   content
=======================  ==================================================================================
external_id *            the line's unique id in the source system (行号); the key for re-imports
order_no                 order number (订单编号); defaults to external_id
date *                   2025-11-15, 2025/11/15, 2025年11月15日 or an Excel date
customer *               the customer's external_id (客户编号); the customer must exist
product *                the product's SKU (产品编码); the product must exist
quantity *               number, up to 3 decimals; negative (or positive, flipped) for returns
unit_price *             price per unit, at most 2 decimals, not negative
discount                 share off the price: 0.1, 10% or 9折; default 0
net_amount               line amount after discount; default quantity × unit_price × (1 − discount),
                         rounded with the company's policy (四舍五入 by default)
cost                     line cost; default quantity × the product's standard cost
status                   booked (default), invoiced, paid, returned or cancelled (or 已开票, 退货, 取消 …)
original_external_id     for returned/cancelled lines: the external_id of the line reversed (in the file
                         or already imported); required for them, refused on other lines
credits *                employee_no:percent pairs separated by ; , or | (``E101:60;E201:40``), or one
                         employee number alone for 100% (``E101``); percentages total exactly 100
invoiced_on              the invoice date (开票日期; a return: its credit note's); empty: not invoiced yet
attr:<name>              a deal attribute (``attr:channel``, ``属性:deal_type``): any number of such columns,
                         the name in lower-case letters, digits and _; text up to 100 characters; an empty
                         cell removes the attribute, an attribute with no column stays as it is
=======================  ==================================================================================

Example (UTF-8 or GBK)::

    external_id,order_no,date,customer,product,quantity,unit_price,discount,status,original_external_id,credits
    L1,SO-1,2025-11-15,C-A,SW-1,2,1000.00,0.1,booked,,E101:60;E201:40
    L2,SO-2,2025-11-20,C-A,SW-1,-1,1000.00,0.1,returned,L1,E101:60;E201:40
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.imports import crm_loaders, loaders
from salesops.imports import kinds as kinds_mod
from salesops.imports.models import BatchStatus, ImportBatch, ImportKind
from salesops.imports.parsing import Table, TableError, read_table
from salesops.imports.results import ImportResult, RowError

__all__ = ["ImportResult", "RowError", "import_file", "import_table"]

LOADERS = {**loaders.LOADERS, **crm_loaders.LOADERS}


class _DryRun(Exception):  # noqa: N818 - rolls back the dry run's transaction
    pass


def import_file(*, actor, kind: str, path: str | Path, source: str = "", mapping: Mapping[str, str] | None = None,
                encoding: str | None = None, sheet: str | None = None, dry_run: bool = False,
                batch: ImportBatch | None = None) -> ImportResult:
    """Import ``path`` as ``kind``. ``mapping`` maps our field names to the file's column names (partial: the
    rest is remembered for ``source`` or suggested). ``batch`` reuses an ImportBatch made by the upload page."""
    kind = ImportKind(kind).value
    path = Path(path)
    started = time.monotonic()
    if batch is None:
        batch = ImportBatch.objects.create(kind=kind, source=source, file_name=path.name,
                                           actor=actor if getattr(actor, "is_authenticated", False) else None)
    try:
        table = read_table(path, encoding=encoding, sheet=sheet)
    except TableError as exc:
        return _finish(batch, kind, started, errors=exc.errors, dry_run=dry_run, encoding=encoding or "",
                       sheet=sheet or "")
    return import_table(actor=actor, kind=kind, table=table, source=source, mapping=mapping, dry_run=dry_run,
                        batch=batch, started=started)


def import_table(*, actor, kind: str, table: Table, source: str = "", mapping: Mapping[str, str] | None = None,
                 dry_run: bool = False, batch: ImportBatch, started: float | None = None) -> ImportResult:
    """Map, validate and (unless there are errors or it is a dry run) save a table already read."""
    started = time.monotonic() if started is None else started
    resolved, errors = kinds_mod.resolve(kind, table.header, mapping, source)
    common = dict(dry_run=dry_run, encoding=table.encoding, sheet=table.sheet, mapping=resolved, rows=len(table.rows))
    if errors:
        return _finish(batch, kind, started, errors=errors, **common)
    kinds_mod.remember(kind, source, resolved)
    index = {field: table.header.index(column) for field, column in resolved.items()}
    rows = [(rowno, {field: cells[i] for field, i in index.items()}) for rowno, cells in table.rows]
    loader = LOADERS[kind](actor=actor, batch=batch, mapped=resolved)
    try:
        with transaction.atomic():
            loader.validate(rows)
            if loader.errors or dry_run:
                raise _DryRun
            loader.write()
    except _DryRun:
        pass
    except DatabaseError as exc:
        # Another writer changed the same records meanwhile, or held the database too long; nothing was saved.
        loader.errors.append(RowError(None, "", "", _(
            "The database refused the import (%(reason)s); nothing was saved. Try again.") % {"reason": exc}))
    loader.errors.sort(key=lambda e: (e.row or 0,))
    return _finish(batch, kind, started, errors=loader.errors, created=loader.created, updated=loader.updated,
                   unchanged=loader.unchanged, **common)


def _finish(batch: ImportBatch, kind: str, started: float, *, errors, dry_run: bool, encoding: str = "",
            sheet: str = "", mapping: Mapping[str, str] | None = None, rows: int = 0, created: int = 0,
            updated: int = 0, unchanged: int = 0) -> ImportResult:
    errors = tuple(errors)
    seconds = time.monotonic() - started
    if errors:  # nothing was saved, so nothing counts
        status, created, updated, unchanged = BatchStatus.FAILED, 0, 0, 0
    elif dry_run:
        status = BatchStatus.CHECKED
    else:
        status = BatchStatus.SUCCEEDED
    batch.status = status
    batch.finished_at = timezone.now()
    batch.encoding, batch.sheet, batch.mapping = encoding, sheet, dict(mapping or {})
    batch.rows, batch.created, batch.updated, batch.unchanged = rows, created, updated, unchanged
    batch.error_count = len(errors)
    batch.errors = [list(e) for e in errors]
    batch.duration_ms = int(seconds * 1000)
    batch.save()
    return ImportResult(kind=kind, rows=rows, created=created, updated=updated, unchanged=unchanged, errors=errors,
                        dry_run=dry_run, batch_id=batch.pk, encoding=encoding, sheet=sheet,
                        mapping=MappingProxyType(dict(mapping or {})), seconds=seconds)
