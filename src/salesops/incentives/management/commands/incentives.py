"""``salesops incentives``: store a plan version from a YAML file, write a stored version back to a file, and
calculate a plan for a payout period."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils.translation import gettext as _

from salesops.incentives import services
from salesops.incentives.models import CompPlan, CompPlanVersion, RunStatus


class Command(BaseCommand):
    help = "Store a compensation plan version from a YAML file, or calculate a plan for a payout period."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        plan = sub.add_parser("plan", help="store FILE as the next version of the plan NAME")
        plan.add_argument("--name", required=True)
        plan.add_argument("file")
        plan.add_argument("--draft", action="store_true", help="keep it as a draft (modelling only)")
        export = sub.add_parser("export", help="write a stored version of the plan NAME to FILE (default: latest)")
        export.add_argument("--name", required=True)
        export.add_argument("--version", type=int)
        export.add_argument("file")
        run = sub.add_parser("run", help="calculate the plan NAME for a period (2026-03 or 2026-Q1)")
        run.add_argument("--plan", required=True)
        run.add_argument("--period", required=True)

    def handle(self, *args, action, **options):
        try:
            if action == "plan":
                path = Path(options["file"])
                try:
                    document = path.read_text(encoding="utf-8-sig")
                except OSError as error:
                    raise CommandError(f"{path}: {error.strerror}") from None
                version = services.plan_version_create(actor=None, name=options["name"], document=document,
                                                       draft=options["draft"])
                self.stdout.write(_("Stored %(plan)s version %(version)d.") % {"plan": version.plan.name,
                                                                                "version": version.version})
                return
            if action == "export":
                versions = CompPlanVersion.objects.filter(plan__name=options["name"]).order_by("-version")
                if options["version"]:
                    versions = versions.filter(version=options["version"])
                version = versions.first()
                if version is None:
                    raise CommandError(_("No such version of %(name)s.") % {"name": options["name"]})
                Path(options["file"]).write_text(version.document, encoding="utf-8")
                self.stdout.write(_("Wrote %(plan)s version %(version)d to %(file)s.") % {
                    "plan": options["name"], "version": version.version, "file": options["file"]})
                return
            plan = CompPlan.objects.filter(name=options["plan"]).first()
            if plan is None:
                raise CommandError(_("No plan named %(name)s.") % {"name": options["plan"]})
            run = services.run_calculation(actor=None, plan=plan, period_code=options["period"])
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from None
        if run.status == RunStatus.FAILED:
            raise CommandError(_("Run %(id)d failed:\n%(error)s") % {"id": run.pk, "error": run.error})
        total = run.payouts.aggregate(total=Sum("amount"))["total"] or 0
        self.stdout.write(_("Run %(id)d: %(plan)s v%(version)d, %(period)s — %(n)d payout(s), total %(total)s, "
                            "inputs %(fingerprint)s.") % {
            "id": run.pk, "plan": plan.name, "version": run.version.version, "period": run.period,
            "n": run.payouts.count(), "total": f"{total:,.2f}", "fingerprint": run.fingerprint[:12]})
