"""One way to show a list: filter, sort, paginate and export (CSV/Excel) a queryset the user may see.

A list view declares its columns and an optional filter form and calls ``list_page``; the template is shared
(``web/list.html``), and an htmx request gets just the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils.functional import Promise

from salesops.org.models import Company
from salesops.web.templatetags.salesops import money_text


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise | str
    value: Callable[[Any], Any]
    sort: str | None = None  # ORM ordering expression; None: not sortable
    kind: str = "text"  # text | money | number | date
    link: Callable[[Any], str] | None = None


def _cell(column: Column, obj, company: Company) -> dict:
    value = column.value(obj)
    if column.kind == "money":
        text = money_text(value, company)
    elif value is None:
        text = ""
    elif isinstance(value, Decimal):
        text = f"{value.normalize():f}"
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    return {"text": text, "url": column.link(obj) if column.link else None,
            "num": column.kind in ("money", "number")}


def list_page(request, *, title, queryset, columns: list[Column], default_sort: str, filename: str,
              filter_form=None, actions: list[dict] | None = None, per_page: int = 50, intro: str = ""):
    if filter_form is not None and filter_form.is_valid():
        queryset = filter_form.filter(queryset)
    by_key = {c.key: c for c in columns}
    sort = request.GET.get("sort", default_sort)
    column = by_key.get(sort.lstrip("-"))
    if column is None or column.sort is None:
        sort = default_sort
        column = by_key[sort.lstrip("-")]
    descending = sort.startswith("-")
    queryset = queryset.order_by(f"{'-' if descending else ''}{column.sort}", "-pk" if descending else "pk")

    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        from salesops.imports.exporting import export_response

        return export_response([(str(c.label), c.value) for c in columns], queryset.iterator(chunk_size=2000),
                               fmt, filename)

    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    company = Company.current()
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("sort", None)
    headers = [
        {"label": c.label, "num": c.kind in ("money", "number"),
         "sort": (f"-{c.key}" if sort == c.key else c.key) if c.sort else None,
         "active": sort.lstrip("-") == c.key, "descending": descending}
        for c in columns
    ]
    rows = [[_cell(c, obj, company) for c in columns] for obj in page.object_list]
    context = {
        "title": title, "intro": intro, "headers": headers, "rows": rows, "page": page, "filter_form": filter_form,
        "actions": actions or [], "query": params.urlencode(), "sort": sort,
    }
    template = "web/_list_table.html" if getattr(request, "htmx", False) and request.htmx.target == "list" else "web/list.html"
    return TemplateResponse(request, template, context)
