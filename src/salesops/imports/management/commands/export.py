"""``salesops export KIND``: everything of a kind as CSV or .xlsx, in the format ``salesops import`` reads back.

An admin tool: it exports all records (the web exports apply each user's visibility)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salesops.imports.exporting import FORMATS, kind_export, write_table
from salesops.imports.models import ImportKind


class Command(BaseCommand):
    help = ("Export customers, products, people, assignments, order lines, payments, contacts, opportunities, "
            "opportunity stage history, activities or a tree to CSV or Excel.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("--format", choices=FORMATS, help="csv or xlsx (default: from -o's suffix, else csv)")
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")

    def handle(self, *args, **options):
        output = options["output"]
        fmt = options["format"] or (Path(output).suffix.lower().lstrip(".") if output else "csv")
        if fmt not in FORMATS:
            raise CommandError(_("Cannot tell the format from %(out)r; pass --format csv or --format xlsx.") % {
                "out": output})
        columns, rows = kind_export(options["kind"])
        if output:
            with open(output, "wb") as out:
                write_table(columns, rows, fmt, out, sheet_title=options["kind"])
            self.stderr.write(_("Wrote %(out)s.") % {"out": output})
        else:
            stream = getattr(getattr(self.stdout, "_out", None), "buffer", None) or sys.stdout.buffer
            write_table(columns, rows, fmt, stream, sheet_title=options["kind"])
            stream.flush()
