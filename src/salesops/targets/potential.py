"""Potential tables (e.g. market size by region) for the potential and blend methods, imported from CSV or Excel.

A file has the columns ``dimension`` (category, product, customer, region, segment, team or salesperson), ``member``
(the tree node's code or name, the product's SKU, the key account's customer number, or the salesperson's employee
number; or a unique name) and ``value`` (a number ≥ 0); the table's
name is chosen on import. Every bad row is reported with its row number and field; an import replaces the whole
table or changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.imports.parsing import TableError, parse_decimal, read_table, text
from salesops.imports.results import RowError
from salesops.org.models import Customer, Product, Salesperson
from salesops.targets.dimensions import DIMENSIONS, TREES
from salesops.targets.models import PotentialIndex

COLUMNS = {"dimension": ("dimension", "维度"), "member": ("member", "成员", "编码", "code", "名称", "name"),
           "value": ("value", "数值", "潜力", "市场规模", "index", "指数")}


def _lookup(dimension: str) -> dict[str, int | None]:
    """code and name → id (None for a name that is not unique)."""
    if dimension == "salesperson":
        rows = Salesperson.objects.values_list("employee_no", "name", "pk")
    elif dimension == "product":
        rows = Product.objects.values_list("sku", "name", "pk")
    elif dimension == "customer":
        rows = Customer.objects.filter(key_account=True).values_list("external_id", "name", "pk")
    else:
        rows = TREES[dimension].objects.values_list("code", "name", "pk")
    found: dict[str, int | None] = {}
    for code, name, pk in rows:
        found[code] = pk
        found[name] = None if name in found and found[name] != pk else pk
    return found


@transaction.atomic
def potential_import(*, actor, name: str, path: str | Path, encoding: str | None = None, sheet: str | None = None
                     ) -> tuple[int, list[RowError]]:
    """Replace the potential table ``name`` with the file's rows; returns (rows saved, errors)."""
    name = name.strip()
    if not name:
        return 0, [RowError(None, "name", "", _("Name the table."))]
    try:
        table = read_table(path, encoding=encoding, sheet=sheet)
    except TableError as error:
        return 0, list(error.errors)
    header = [h.strip().lower() for h in table.header]
    index, errors = {}, []
    for field, synonyms in COLUMNS.items():
        hit = next((i for i, h in enumerate(header) if h in synonyms), None)
        if hit is None:
            errors.append(RowError(1, field, "", _("The file has no “%(field)s” column (columns: %(columns)s).") % {
                "field": field, "columns": ", ".join(table.header)}))
        index[field] = hit
    if errors:
        return 0, errors
    lookups: dict[str, dict[str, int | None]] = {}
    rows: dict[tuple[str, int], tuple[int, object]] = {}
    for rowno, cells in table.rows:
        def cell(field, cells=cells):
            i = index[field]
            return cells[i] if i < len(cells) else None
        dimension = text(cell("dimension")).lower()
        if dimension not in DIMENSIONS:
            errors.append(RowError(rowno, "dimension", dimension, _("Unknown dimension; use one of: %(dims)s.") % {
                "dims": ", ".join(DIMENSIONS)}))
            continue
        member_text = text(cell("member"))
        member = lookups.setdefault(dimension, _lookup(dimension)).get(member_text, -1)
        if member in (-1, None):
            errors.append(RowError(rowno, "member", member_text, _(
                "No %(dimension)s has this code or name.") % {"dimension": dimension} if member == -1 else _(
                "Several %(dimension)s members have this name; use the code.") % {"dimension": dimension}))
            continue
        try:
            value = parse_decimal(cell("value"), places=4, max_digits=24)
            if value < 0:
                raise ValueError(_("must not be negative"))
        except ValueError as error:
            errors.append(RowError(rowno, "value", text(cell("value")), str(error)))
            continue
        if (dimension, member) in rows:
            errors.append(RowError(rowno, "member", member_text, _("Duplicate: row %(row)d has the same member.") % {
                "row": rows[(dimension, member)][0]}))
            continue
        rows[(dimension, member)] = (rowno, value)
    if errors:
        return 0, errors
    old = PotentialIndex.objects.filter(name=name).count()
    PotentialIndex.objects.filter(name=name).delete()
    created = PotentialIndex.objects.bulk_create([
        PotentialIndex(name=name, dimension=dim, member_id=member, value=value)
        for (dim, member), (_row, value) in rows.items()
    ])
    if created:
        audit.record(actor=actor, event="potential_table.imported", subject=created[0],
                     old={"name": name, "rows": old}, new={"name": name, "rows": len(created)})
    return len(created), []
