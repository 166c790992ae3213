"""Reading files (CSV in any common encoding, Excel .xlsx) into a header and rows, and parsing cell values.

Role in the flow: ``read_table`` → mapping (``kinds``) → validation (``loaders``) → write. Nothing here touches
the database. File-level problems raise ``TableError`` carrying every ``RowError`` found; value parsers raise
``ValueError`` with a message for the user. Numbers become exact ``Decimal`` (an Excel float goes through its
shortest repr, never through binary arithmetic).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.imports.results import RowError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}


class TableError(Exception):
    """The file cannot be read as a table; ``errors`` says every reason found."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = tuple(errors)
        super().__init__("; ".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple], ...]  # (row number as the user sees it, cells)
    encoding: str = ""
    sheet: str = ""
    sheets: tuple[str, ...] = ()


def file_error(message: str, value: str = "") -> TableError:
    return TableError([RowError(None, "", value, message)])


def read_table(path: str | Path, *, encoding: str | None = None, sheet: str | None = None,
               limit: int | None = None) -> Table:
    """The header (row 1) and the non-empty data rows of a CSV or .xlsx file; ``limit`` caps the data rows read."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES or (suffix not in CSV_SUFFIXES and zipfile.is_zipfile(path)):
        return _read_xlsx(path, sheet, limit)
    if suffix == ".xls":
        raise file_error(_("Old Excel .xls files are not supported: save the file as .xlsx or CSV."), path.name)
    return _read_csv(path, encoding, limit)


# -- CSV ----------------------------------------------------------------------------------------------------
ENCODING_CHOICES = ["utf-8", "gbk", "gb18030", "big5", "utf-16", "latin-1"]


def decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    """The text of ``data`` and the encoding used: the chosen one, else UTF-8 (with or without BOM), else
    GB18030 (a superset of GBK, what Chinese Excel writes), else charset-normalizer's best guess."""
    if encoding:
        try:
            codec = codecs.lookup(encoding.strip()).name
        except LookupError:
            raise file_error(_("Unknown encoding %(enc)s.") % {"enc": encoding}, encoding) from None
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise file_error(_(
                "The file is not valid %(enc)s: the bytes at line %(line)d cannot be decoded. Choose another encoding "
                "(files saved by Chinese Excel are usually gbk)."
            ) % {"enc": encoding, "line": line}, encoding) from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None:
        try:
            return data.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise file_error(_(
        "Could not work out the file's text encoding (tried UTF-8 and GBK/GB18030). Choose the encoding it was "
        "saved with."
    ))


def _read_csv(path: Path, encoding: str | None, limit: int | None) -> Table:
    text, used = decode(path.read_bytes(), encoding)
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", "\t", ";"], key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header_cells = next(reader)
    except StopIteration:
        raise file_error(_("The file is empty.")) from None
    except csv.Error as exc:
        raise file_error(_("Row 1 is not valid CSV: %(reason)s") % {"reason": exc}) from None
    header = _check_header([c for c in header_cells], merged=())
    width = len(header)
    rows = []
    errors = []
    try:
        for cells in reader:
            rowno = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width:
                if any(c.strip() for c in cells[width:]):
                    errors.append(RowError(rowno, "", "", _(
                        "This row has %(n)d cells but the header has %(m)d columns."
                    ) % {"n": len(cells), "m": width}))
                    continue
                cells = cells[:width]
            rows.append((rowno, tuple(cells)))
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "", "", _("Not valid CSV: %(reason)s") % {"reason": exc}))
    if errors:
        raise TableError(errors)
    return Table(header=header, rows=tuple(rows), encoding=used)


# -- Excel ----------------------------------------------------------------------------------------------------
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _read_xlsx(path: Path, sheet: str | None, limit: int | None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise file_error(_("This is not a readable .xlsx workbook (%(reason)s).") % {"reason": exc}, path.name) from None
    try:
        names = tuple(wb.sheetnames)
        if sheet:
            if sheet not in names:
                raise file_error(_("There is no sheet named “%(sheet)s”. The workbook's sheets are: %(sheets)s.") % {
                    "sheet": sheet, "sheets": ", ".join(names)}, sheet)
            name = sheet
        else:
            name = names[0]
        ws = wb[name]
        merged = _merged_ranges_in_header(wb, ws)
        it = ws.iter_rows(values_only=True)
        try:
            header_cells = next(it)
        except StopIteration:
            raise file_error(_("Sheet “%(sheet)s” is empty.") % {"sheet": name}, name) from None
        header = _check_header(list(header_cells), merged=merged)
        width = len(header)
        rows = []
        errors = []
        for rowno, cells in enumerate(it, start=2):
            if not any(c is not None and (not isinstance(c, str) or c.strip()) for c in cells):
                continue
            if len(cells) > width:
                if any(c is not None and c != "" for c in cells[width:]):
                    errors.append(RowError(rowno, "", "", _(
                        "This row has values beyond the last named column (%(m)d columns)."
                    ) % {"m": width}))
                    continue
                cells = cells[:width]
            elif len(cells) < width:
                cells = tuple(cells) + (None,) * (width - len(cells))
            rows.append((rowno, tuple(cells)))
            if limit is not None and len(rows) >= limit:
                break
        if errors:
            raise TableError(errors)
        return Table(header=header, rows=tuple(rows), sheet=name, sheets=names)
    finally:
        wb.close()


def _merged_ranges_in_header(wb, ws) -> tuple[str, ...]:
    """Merged ranges touching row 1. Read-only worksheets do not expose merged cells, so scan the sheet's XML
    (the <mergeCells> element follows the data) without parsing it."""
    archive = getattr(wb, "_archive", None)
    part = getattr(ws, "_worksheet_path", None)
    if archive is None or part is None:
        return ()
    found = []
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            for m in _MERGE_RE.finditer(data):
                col1, row1, col2, row2 = m.groups()
                if int(row1) <= 1 <= int(row2 or row1):
                    ref = f"{col1.decode()}{row1.decode()}" + (f":{col2.decode()}{row2.decode()}" if col2 else "")
                    if ref not in found:
                        found.append(ref)
            tail = data[-200:]
    return tuple(found)


def _check_header(cells: list, *, merged: Sequence[str]) -> tuple[str, ...]:
    names = [header_text(c) for c in cells]
    while names and not names[-1]:
        names.pop()
    errors = []
    if merged:
        errors.append(RowError(1, "", ", ".join(merged), _(
            "The header row has merged cells (%(ranges)s). Row 1 must hold one column name per column: unmerge "
            "the cells and remove any title rows above the header."
        ) % {"ranges": ", ".join(merged)}))
    if not names:
        errors.append(RowError(1, "", "", _("The header row (row 1) is empty.")))
    for i, name in enumerate(names):
        if not name and not merged:
            errors.append(RowError(1, "", column_letter(i), _(
                "Column %(col)s has no name in the header row (row 1). Every column needs a name; merged header "
                "cells leave such gaps."
            ) % {"col": column_letter(i)}))
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not name:
            continue
        key = name.casefold()
        if key in seen:
            errors.append(RowError(1, "", name, _(
                "Column name “%(name)s” appears twice (columns %(first)s and %(second)s); names must be unique."
            ) % {"name": name, "first": column_letter(seen[key]), "second": column_letter(i)}))
        else:
            seen[key] = i
    if errors:
        raise TableError(errors)
    return tuple(names)


def column_letter(index: int) -> str:
    """Spreadsheet letter of a zero-based column index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def header_text(value) -> str:
    if value is None:
        return ""
    return str(value).replace("\ufeff", "").strip()


# -- values -------------------------------------------------------------------------------------------------
# Cells Excel would run as formulas; exports prefix them with ', which reading removes again.
FORMULA_START = ("=", "+", "-", "@")


def text(value) -> str:
    """A cell as text: '' for empty; numbers without a spurious '.0'; a quote protecting a formula-like value
    in our own exports is removed."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("'") and value[1:2] in FORMULA_START:
            return value[1:]
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


_NUMBER_JUNK = str.maketrans({",": None, "，": None, " ": None, "¥": None, "￥": None, "\u00a0": None})


def parse_decimal(value, *, places: int, max_digits: int = 18) -> Decimal:
    """An exact number with at most ``places`` decimal places and ``max_digits`` digits in all; '1,234.50',
    '¥12' and Excel numbers are accepted."""
    if isinstance(value, bool):
        raise ValueError(_("not a number"))
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    else:
        raw = text(value).translate(_NUMBER_JUNK)
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise ValueError(_("not a number")) from None
    if not number.is_finite():
        raise ValueError(_("not a number"))
    quantum = Decimal(1).scaleb(-places)
    try:
        rounded = number.quantize(quantum)
    except InvalidOperation:
        raise ValueError(_("number too large")) from None
    if rounded != number:
        raise ValueError(_("more than %(n)d decimal places") % {"n": places})
    if len(rounded.as_tuple().digits) > max_digits:
        raise ValueError(_("number too large"))
    return rounded


def parse_share(value) -> Decimal:
    """A share between 0 and 1 with at most 4 places: 0.1, '10%', or Chinese '9折' (90% of the price = 0.1 off)."""
    raw = text(value) if not isinstance(value, int | float | Decimal) or isinstance(value, bool) else value
    if isinstance(raw, str):
        s = raw.translate(_NUMBER_JUNK)
        if s.endswith(("%", "％")):
            share = parse_decimal(s[:-1], places=6) / 100
        elif s.endswith("折"):
            factor = parse_decimal(s[:-1], places=6)
            if not Decimal(0) < factor <= 10:
                raise ValueError(_("a discount written as 折 must be between 0 and 10"))
            share = 1 - factor / 10
        else:
            share = parse_decimal(s, places=6)
    else:
        share = parse_decimal(raw, places=6)
    if not Decimal(0) <= share <= 1:
        raise ValueError(_("must be between 0 and 1 (or 0% to 100%)"))
    quantised = share.quantize(Decimal("0.0001"))
    if quantised != share:
        raise ValueError(_("more than %(n)d decimal places") % {"n": 4})
    return quantised


_DATE_RES = [
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),
]
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value) -> dt.date:
    """A date: 2025-11-15, 2025/11/15, 2025.11.15, 2025年11月15日, 20251115, an Excel date cell or serial number."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466 and float(value).is_integer():
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(_("not a date"))
    raw = text(value)
    for regex, (y, m, d) in _DATE_RES:
        match = regex.match(raw)
        if match:
            try:
                return dt.date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
            except ValueError:
                raise ValueError(_("not a valid calendar date")) from None
    raise ValueError(_("not a date (write it as 2025-11-15 or 2025/11/15)"))


_DATETIME_RE = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$")
_DATETIME_ZH = re.compile(
    r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[:：时](\d{2})分?(?:[:：](\d{2})秒?)?)?$")


def parse_datetime(value, tz: dt.tzinfo | None = None) -> dt.datetime:
    """A moment, time-zone aware: 2026-03-02 09:30, 2026/03/02 09:30:15, 2026-03-02T09:30+08:00, 2026年3月2日 9:30,
    a date alone (midnight), an Excel date-time cell or serial number. Without an offset it is read in ``tz``,
    by default the current time zone (the company's, ``SALESOPS_TIME_ZONE``; pass it when parsing many)."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not 1 <= value < 2958466:
            raise ValueError(_("not a date and time"))
        moment = dt.datetime.combine(_EXCEL_EPOCH, dt.time()) + dt.timedelta(seconds=round(float(value) * 86400))
    else:
        raw = text(value)
        match = _DATETIME_RE.match(raw) or _DATETIME_ZH.match(raw) or _DATE_RES[2][0].match(raw)
        if not match:
            raise ValueError(_("not a date and time (write it as 2026-03-02 09:30)"))
        parts = match.groups() + (None,) * (8 - len(match.groups()))
        y, m, d, hh, mm, ss = (int(p) if p else 0 for p in parts[:6])
        micro, offset = int((parts[6] or "0").ljust(6, "0")), parts[7]
        try:
            tzinfo = None
            if offset == "Z":
                tzinfo = dt.UTC
            elif offset:
                sign = -1 if offset[0] == "-" else 1
                digits = offset[1:].replace(":", "")
                tzinfo = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
            moment = dt.datetime(y, m, d, hh, mm, ss, micro, tzinfo=tzinfo)
        except ValueError:
            raise ValueError(_("not a valid calendar date or time")) from None
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return moment
    return moment.replace(tzinfo=tz or timezone.get_current_timezone())  # zoneinfo: what make_aware does


_TRUE = {"1", "true", "yes", "y", "t", "是", "启用", "有效", "在用", "x", "√"}
_FALSE = {"0", "false", "no", "n", "f", "否", "停用", "无效", "禁用"}


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    raw = text(value).casefold()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(_("not yes/no (use true/false, 1/0 or 是/否)"))


_CREDIT_SPLIT = re.compile(r"[;,|；，、]")
_CREDIT_PART = re.compile(r"^(.+?)\s*[:：=]\s*([0-9.]+)\s*[%％]?$")


def parse_credits(value) -> list[tuple[str, Decimal]]:
    """'E101:60;E201:40' (employee number : percent; ';', ',' or '|' between) or just 'E101' for 100%."""
    raw = text(value)
    if not raw:
        raise ValueError(_("no salesperson credited"))
    parts = [p.strip() for p in _CREDIT_SPLIT.split(raw) if p.strip()]
    if len(parts) == 1 and not _CREDIT_PART.match(parts[0]):
        return [(parts[0], Decimal(100))]
    credits = []
    for part in parts:
        match = _CREDIT_PART.match(part)
        if not match:
            raise ValueError(_("“%(part)s” is not employee-number:percent (e.g. E101:60;E201:40)") % {"part": part})
        try:
            pct = Decimal(match.group(2))
        except InvalidOperation:
            raise ValueError(_("“%(part)s” has no valid percentage") % {"part": part}) from None
        credits.append((match.group(1).strip(), pct))
    return credits
