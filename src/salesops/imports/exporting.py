"""Export any list to CSV or Excel: ``write_table`` and ``export_response`` (stable API for list views).

Usage from a list view (its queryset already filtered by ``visible_to``)::

    from salesops.imports.exporting import export_response, wants_export

    columns = [(_("Date"), lambda line: line.date), (_("Net amount"), lambda line: line.net_amount)]
    if fmt := wants_export(request):            # ?format=csv or ?format=xlsx
        return export_response(columns, queryset, fmt, "order-lines")

Invariants: Decimal stays exact (CSV: plain digits, never an exponent or a float; xlsx: a number cell with a
number format of two places, more when the value has more); dates are dates (CSV ISO 2025-11-15, xlsx date
cells); CSV is UTF-8 with a BOM so that Chinese Excel opens it correctly; text that Excel would run as a
formula (starting with = + - @) is written as text (a leading ' in CSV, which our import removes again).

``kind_export(kind, user=None)`` gives the columns and rows of a whole kind in the import format, so an export
re-imports with nothing changed; with a ``user`` only what ``visible_to(user, …)`` shows is exported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import BinaryIO

from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import Promise
from django.utils.http import content_disposition_header

from salesops.imports import crm_export
from salesops.imports.models import ImportKind
from salesops.imports.parsing import FORMULA_START
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    Team,
)

Column = tuple[str, Callable[[object], object]]
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def wants_export(request) -> str | None:
    """'csv' or 'xlsx' when the request asks for an export (``?format=…``), else None."""
    fmt = request.GET.get("format", "").lower()
    return fmt if fmt in FORMATS else None


def write_table(columns: list[Column], rows: Iterable, fmt: str, out: BinaryIO, *, sheet_title: str = "data") -> None:
    """Write ``rows`` to the binary stream ``out`` as CSV or xlsx; each column is (header, getter(row))."""
    if fmt == "csv":
        _write_csv(columns, rows, out)
    elif fmt == "xlsx":
        _write_xlsx(columns, rows, out, sheet_title)
    else:
        raise ValueError(f"unknown export format {fmt!r}; use one of {FORMATS}")


def export_response(columns: list[Column], rows: Iterable, fmt: str, filename: str) -> HttpResponse:
    """An attachment download of ``rows`` as ``fmt`` ('csv' or 'xlsx'); the extension is added to ``filename``
    when missing. Chinese file names are fine (RFC 5987)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {FORMATS}")
    buffer = io.BytesIO()
    write_table(columns, rows, fmt, buffer)
    if not filename.lower().endswith("." + fmt):
        filename = f"{filename}.{fmt}"
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = force_str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def _write_csv(columns: list[Column], rows: Iterable, out: BinaryIO) -> None:
    stream = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(stream)
        writer.writerow([force_str(header) for header, _get in columns])
        getters = [get for _h, get in columns]
        for row in rows:
            writer.writerow([_csv_value(get(row)) for get in getters])
        stream.flush()
    finally:
        stream.detach()  # leave the caller's stream open


def _number_format(value: Decimal) -> str:
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return "#,##0." + "0" * places


def _write_xlsx(columns: list[Column], rows: Iterable, out: BinaryIO, sheet_title: str) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_title[:31] or "data")
    headers = [force_str(header) for header, _get in columns]
    for i, header in enumerate(headers):
        from openpyxl.utils import get_column_letter

        ws.column_dimensions[get_column_letter(i + 1)].width = max(12, min(40, len(header.encode("gbk", "replace")) + 4))
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", header))
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    ws.freeze_panes = "A2"
    getters = [get for _h, get in columns]
    for row in rows:
        cells = []
        for get in getters:
            value = get(row)
            if isinstance(value, Promise):
                value = force_str(value)
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = _number_format(value)
            elif isinstance(value, dt.datetime):
                if timezone.is_aware(value):
                    value = timezone.localtime(value).replace(tzinfo=None)
                cell = WriteOnlyCell(ws, value=value.replace(microsecond=0))  # whole seconds, as in CSV
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, dt.date):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
            elif value is None or isinstance(value, bool | int | float):
                cell = WriteOnlyCell(ws, value=value)
            else:
                cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", force_str(value)))
                cell.data_type = "s"  # never a formula
            cells.append(cell)
        ws.append(cells)
    wb.save(out)


# -- whole kinds in the import format --------------------------------------------------------------------------
def _plain(value: Decimal) -> str:
    """60.0000 → '60', 33.3333 → '33.3333' (no exponent)."""
    text = format(value.normalize(), "f")
    return text


def _get(key: str) -> Callable[[dict], object]:
    return lambda row: row.get(key)


def _attribute(name: str) -> Callable[[dict], object]:
    return lambda row: (row.get("attributes") or {}).get(name, "")


def _ramp(row: dict) -> str:
    return ";".join(str(v) for v in row.get("ramp_schedule") or [])


_SPECS: dict[str, tuple[type[Model], list[tuple[str, str]], list[str]]] = {
    # kind: (model, [(column, values() key)], ordering)
    ImportKind.CUSTOMERS: (Customer, [("external_id", "external_id"), ("name", "name"), ("segment", "segment__code"),
                                      ("region", "region__code"), ("industry", "industry"),
                                      ("owner", "owner__employee_no"), ("key_account", "key_account"),
                                      ("status", "status"), ("source", "source"), ("preferences", "preferences"),
                                      ("notes", "notes")],
                           ["external_id"]),
    ImportKind.PRODUCTS: (Product, [("sku", "sku"), ("name", "name"), ("category", "category__code"),
                                    ("list_price", "list_price"), ("standard_cost", "standard_cost"), ("unit", "unit"),
                                    ("active", "active")], ["sku"]),
    ImportKind.PEOPLE: (Salesperson, [("employee_no", "employee_no"), ("name", "name"), ("email", "email"),
                                      ("hire_date", "hire_date"), ("leave_date", "leave_date"), ("title", "title"),
                                      ("level", "level"), ("status", "status"), ("ramp_schedule", "ramp_schedule"),
                                      ("username", "user__username")], ["employee_no"]),
    ImportKind.ASSIGNMENTS: (Assignment, [("salesperson", "salesperson__employee_no"), ("team", "team__code"),
                                          ("start_date", "start_date"), ("end_date", "end_date"),
                                          ("manager", "manager__employee_no"), ("region", "region__code")],
                             ["salesperson__employee_no", "start_date"]),
    ImportKind.ORDER_LINES: (OrderLine, [("external_id", "external_id"), ("order_no", "order_no"), ("date", "date"),
                                         ("customer", "customer__external_id"), ("product", "product__sku"),
                                         ("quantity", "quantity"), ("unit_price", "unit_price"),
                                         ("discount", "discount"), ("net_amount", "net_amount"), ("cost", "cost"),
                                         ("status", "status"), ("original_external_id", "original__external_id"),
                                         ("invoiced_on", "invoiced_on")],
                             ["date", "pk"]),
    ImportKind.PAYMENTS: (Payment, [("external_id", "external_id"), ("line", "line__external_id"), ("date", "date"),
                                    ("amount", "amount")], ["date", "pk"]),
}
_TREE = [("code", "code"), ("name", "name"), ("parent", "parent__code")]
_SPECS[ImportKind.REGIONS] = (Region, _TREE, ["path"])
_SPECS[ImportKind.CATEGORIES] = (ProductCategory, _TREE, ["path"])
_SPECS[ImportKind.SEGMENTS] = (CustomerSegment, _TREE, ["path"])
_SPECS[ImportKind.TEAMS] = (Team, [*_TREE, ("manager", "manager__employee_no")], ["path"])


def kind_model(kind: str) -> type[Model]:
    kind = ImportKind(kind)
    return _SPECS[kind][0] if kind in _SPECS else crm_export.MODELS[kind]


def kind_export(kind: str, user=None, queryset: QuerySet | None = None) -> tuple[list[Column], Iterable[dict]]:
    """Columns and rows of ``kind`` in the import format. ``user``: only what they may see (web); none: all (CLI).

    With a ``user``, the ``credits`` column of order lines lists only the credits ``visible_to`` shows them (a
    rep sees her own 60% of a shared line, not her colleague's 40%), so such a file is for reading, not for
    re-importing."""
    from salesops.org.access import visible_to

    kind = ImportKind(kind).value
    if kind in crm_export.EXPORTS:
        return crm_export.EXPORTS[kind](user, queryset)
    model, spec, ordering = _SPECS[kind]
    if queryset is None:
        queryset = visible_to(user, model) if user is not None else model.objects.all()
    columns: list[Column] = [(name, _get(key)) for name, key in spec]
    if kind == ImportKind.PEOPLE:
        columns = [(name, _ramp if name == "ramp_schedule" else get) for name, get in columns]
    keys = [key for _name, key in spec]
    rows = queryset.order_by(*ordering).values("pk", *keys)
    if kind == ImportKind.ORDER_LINES:
        credits = visible_to(user, OrderCredit) if user is not None else OrderCredit.objects.all()
        columns.append(("credits", _get("credits")))
        # a column attr:<name> per deal attribute any exported line has (names sorted), so the file re-imports
        names: set[str] = set()
        for attributes in queryset.exclude(attributes={}).values_list("attributes", flat=True).iterator(2000):
            names.update(attributes or {})
        columns += [(f"attr:{name}", _attribute(name)) for name in sorted(names)]
        return columns, _with_credits(queryset.order_by(*ordering).values("pk", *keys, "attributes"), credits)
    return columns, _renamed(rows, spec)


def _renamed(rows: Iterable[dict], spec: list[tuple[str, str]]) -> Iterator[dict]:
    for row in rows.iterator(chunk_size=2000) if isinstance(rows, QuerySet) else rows:
        yield {key: row[key] for _name, key in spec}


def _with_credits(rows: QuerySet, credits: QuerySet, chunk: int = 900) -> Iterator[dict]:
    """Order-line rows with their ``credits`` column (E101:60;E201:40), credits fetched per chunk of lines."""
    batch: list[dict] = []
    for row in rows.iterator(chunk_size=2000):
        batch.append(row)
        if len(batch) >= chunk:
            yield from _credit_chunk(batch, credits)
            batch = []
    if batch:
        yield from _credit_chunk(batch, credits)


def _credit_chunk(batch: list[dict], credits: QuerySet) -> Iterator[dict]:
    by_line: dict[int, list[str]] = {}
    for line_id, emp, pct in (credits.filter(line_id__in=[r["pk"] for r in batch])
                              .order_by("line_id", "-split_pct", "salesperson__employee_no")
                              .values_list("line_id", "salesperson__employee_no", "split_pct")):
        by_line.setdefault(line_id, []).append(f"{emp}:{_plain(pct)}")
    for row in batch:
        row["credits"] = ";".join(by_line.get(row["pk"], []))
        yield row
