"""``salesops crm_recommend evaluate [--cut DATE] [--k 5]``: the product recommender on a time hold-out over the
database's order lines — trained on the lines before the cut, tested on the purchases on or after it — with
precision@k and recall@k next to popularity within the segment (``crm.recommendations.evaluate``). The cut
defaults to six months before the newest order line."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from salesops.crm import recommendations


class Command(BaseCommand):
    help = "Evaluate the product recommender on a time hold-out over the order lines, next to a baseline."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        evaluate = sub.add_parser("evaluate", help="precision@k and recall@k of the recommender and of popularity "
                                                   "within the segment")
        evaluate.add_argument("--cut", help="first day of the test window (YYYY-MM-DD); default: six months before "
                                            "the newest order line")
        evaluate.add_argument("--k", type=int, default=5, help="products recommended per customer (default 5)")

    def handle(self, *args, action, cut, k, **options):
        if k < 1:
            raise CommandError(_("--k needs a number of at least 1."))
        if cut:
            try:
                cut = dt.date.fromisoformat(cut)
            except ValueError:
                raise CommandError(_("--cut %(cut)s is not a date (YYYY-MM-DD).") % {"cut": cut}) from None
        else:
            cut = recommendations.default_cut()
            if cut is None:
                raise CommandError(_("There are no order lines to evaluate on."))
        started = time.perf_counter()
        result = recommendations.evaluate(cut, k=k)
        say = self.stdout.write
        say(_("Trained on the order lines before %(cut)s; tested on %(customers)s customer(s) who bought something "
              "new on or after it (k = %(k)s, %(seconds).1f s).") % {
            "cut": cut.isoformat(), "customers": f"{result.customers:,}", "k": result.k,
            "seconds": time.perf_counter() - started})
        if not result.customers:
            say(_("Nobody bought anything new after the cut: nothing to measure."))
        rows = [("", f"precision@{result.k}", f"recall@{result.k}"),
                (_("recommender"), f"{result.precision:.3f}", f"{result.recall:.3f}"),
                (_("popularity in segment"), f"{result.baseline_precision:.3f}", f"{result.baseline_recall:.3f}")]
        for name, precision, recall in rows:
            say(f"{name:<24} {precision:>12} {recall:>10}")
