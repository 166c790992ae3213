"""``salesops import KIND FILE``: import a CSV or .xlsx file; prints the counts, or every error and exits 1."""

from __future__ import annotations

import argparse

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salesops.imports.kinds import FIELDS
from salesops.imports.models import ImportKind
from salesops.imports.services import import_file


def fields_help() -> str:
    lines = ["fields per kind (* = required):"]
    for kind, specs in FIELDS.items():
        lines.append(f"  {kind}: " + ", ".join(f"{s.name}{'*' if s.required else ''}" for s in specs))
    return "\n".join(lines)


class Command(BaseCommand):
    help = ("Import customers, products, people, assignments, order lines, payments, contacts, opportunities, "
            "opportunity stage history, activities or a tree from CSV or Excel. All or nothing: with any error "
            "nothing is saved. Re-importing the same file changes nothing.")

    def add_arguments(self, parser):
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = fields_help()
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file")
        parser.add_argument("--source", default="", help="Source name; its column mapping is remembered.")
        parser.add_argument("--encoding", help="CSV encoding (default: detect UTF-8, then GBK/GB18030).")
        parser.add_argument("--sheet", help="Excel sheet name (default: the first sheet).")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help="Map one of our fields to a column of the file (repeatable); FIELD= leaves it out.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, save nothing.")
        parser.add_argument("--user", help="User name recorded as the actor in the audit log.")

    def handle(self, *args, **options):
        mapping = {}
        for item in options["map"]:
            field, sep, column = item.partition("=")
            if not sep or not field.strip():
                raise CommandError(_("--map expects FIELD=COLUMN, got %(item)r") % {"item": item})
            mapping[field.strip()] = column.strip()
        actor = None
        if options["user"]:
            try:
                actor = get_user_model().objects.get(username=options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(_("No user %(name)r.") % {"name": options["user"]}) from None
        result = import_file(actor=actor, kind=options["kind"], path=options["file"], source=options["source"],
                             mapping=mapping or None, encoding=options["encoding"], sheet=options["sheet"],
                             dry_run=options["dry_run"])
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(_("%(n)d error(s) in %(file)s; nothing was saved (import #%(batch)s).") % {
                "n": len(result.errors), "file": options["file"], "batch": result.batch_id})
        counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        if result.dry_run:
            what = _("dry run, nothing saved: would have %(created)d created, %(updated)d updated, %(unchanged)d "
                     "unchanged") % counts
        else:
            what = _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged") % counts
        read_as = (_("read as %(enc)s") % {"enc": result.encoding} if result.encoding
                   else _("sheet %(sheet)s") % {"sheet": result.sheet})
        self.stdout.write(_("%(kind)s: %(rows)d rows, %(read_as)s — %(what)s in %(s).2f s (import #%(batch)s).") % {
            "kind": result.kind, "rows": result.rows, "read_as": read_as, "what": what, "s": result.seconds,
            "batch": result.batch_id})
