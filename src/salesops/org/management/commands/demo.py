"""``salesops demo``: load the demo company (idempotent), ``--reset`` to start over, ``--scale N`` to add N bulk
order lines for benchmarks. The work is done by ``salesops.org.demo``; this command parses, reports and times."""

from __future__ import annotations

import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salesops.org import demo


class Command(BaseCommand):
    help = "Load the demo company (deterministic for a seed); --reset to regenerate, --scale N to add N bulk lines."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="random seed (same seed and day, same data)")
        parser.add_argument("--language", choices=demo.LANGUAGES, default="zh-hans",
                            help="language of names: zh-hans (default) or en")
        parser.add_argument("--reset", action="store_true",
                            help="wipe all organisation data, the demo users and the audit log, then regenerate")
        parser.add_argument("--scale", type=int, default=0, metavar="N",
                            help="add N synthetic order lines (with credits) for benchmarks, loading the demo first "
                                 "if absent")
        parser.add_argument("--small", action="store_true",
                            help="same structure with about 5%% of the order lines (tests, quick tries)")

    def handle(self, *args, seed, language, reset, scale, small, **options):
        started = time.perf_counter()
        say = self.stdout.write
        if scale < 0:
            raise CommandError(_("--scale needs a positive number of lines."))
        try:
            if reset:
                demo.wipe(progress=say)
            result = demo.load_demo(seed=seed, language=language, size=demo.SMALL if small else demo.FULL,
                                    progress=say)
            if result.created:
                say(_("Demo company loaded: %(lines)s order lines, %(customers)s customers, %(payments)s payments "
                      "in %(seconds).1f s.") % {"lines": f"{result.lines:,}", "customers": f"{result.customers:,}",
                                                "payments": f"{result.payments:,}", "seconds": result.seconds})
                say(_("Demo logins (password %(password)s): %(users)s") % {
                    "password": demo.DEMO_PASSWORD, "users": ", ".join(demo.DEMO_USERNAMES)})
            elif not scale:
                say(_("The demo company is already loaded; nothing to do (use --reset to regenerate it)."))
            if apps.is_installed("salesops.targets"):
                from salesops.targets.demo import create_demo_plan

                plan = create_demo_plan()
                if plan is not None:
                    say(_("Target plan %(name)s: %(nodes)s nodes.") % {"name": plan.name, "nodes": plan.nodes.count()})
            if apps.is_installed("salesops.incentives"):
                from salesops.incentives.demo import create_demo_comp_plan

                comp = create_demo_comp_plan()
                if comp is not None:
                    say(_("Compensation plan %(name)s: %(paid)s period(s) paid, %(open)s waiting for review.") % {
                        "name": comp.name, "paid": comp.runs.filter(status="paid").count(),
                        "open": comp.runs.filter(status="calculated").count()})
            if apps.is_installed("salesops.crm"):
                from salesops.crm.demo import create_demo_crm, deals_per_rep_month

                create_demo_crm(seed=seed, deals_per_rep_month=deals_per_rep_month(small), progress=say)
            if scale:
                scaled = demo.add_scale_lines(scale, seed=seed, progress=say)
                say(_("Added %(lines)s order lines and %(credits)s credits: inserted in %(insert).1f s, monthly "
                      "aggregates refreshed in %(refresh).1f s.") % {
                    "lines": f"{scaled.lines:,}", "credits": f"{scaled.credits:,}", "insert": scaled.insert_seconds,
                    "refresh": scaled.refresh_seconds})
        except demo.DemoError as error:
            raise CommandError(str(error)) from error
        say(_("Done in %(seconds).1f s.") % {"seconds": time.perf_counter() - started})
