"""``salesops crm_bench``: time the kanban board with 500 open deals (goal ≤ 300 ms) and print the figure with its
ratio to the goal (≤ 1 meets it). A benchmark, not a test: it never fails a build.

Where: in a throw-away test database made by Django's test machinery (an in-memory SQLite database on the default
SQLite set-up; a database of its own, ``salesops_crm_bench_<pid>``, on PostgreSQL), migrated, filled and dropped by
the command — your own database is never read or written. Run it like the other commands, e.g.
``SALESOPS_DEMO=true salesops crm_bench`` (the settings need the demo flag or a secret key).

What: a company of 2 teams × 10 reps and 200 customers, the stages Lead → Qualified → Proposal → Negotiation →
Won / Lost with their required fields, and ``--deals`` open deals spread over the four open stages (each with the
fields its stage needs and its one stage change). Then ``GET /crm/pipeline/`` through Django's test client, as ops
(every deal on the board) and as a manager (their team's half): a few warm-up renders, then ``--repeat`` timed
ones; the figure is the best, the median is printed beside it, with the number of SQL queries of one render.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.utils import timezone
from django.utils.translation import gettext as _

GOAL_MS = 300.0
WARM_UPS = 3


class Command(BaseCommand):
    help = "Time the kanban board with 500 open deals on a throw-away database (goal ≤ 300 ms)."

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=500, help="open deals on the board (500)")
        parser.add_argument("--repeat", type=int, default=20, help=f"timed renders after {WARM_UPS} warm-ups (20)")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, deals, repeat, seed, **options):
        if deals <= 0 or repeat <= 0:
            raise CommandError(_("--deals and --repeat must be positive."))
        creation = connection.creation
        if not isinstance(connection, SQLiteWrapper):
            connection.settings_dict.setdefault("TEST", {})["NAME"] = f"salesops_crm_bench_{os.getpid()}"
        old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            self.stdout.write(_("Kanban benchmark on a throw-away %(vendor)s database, %(cpus)s CPUs") % {
                "vendor": connection.vendor, "cpus": os.cpu_count()})
            started = time.perf_counter()
            users = _fill(deals, seed)
            self.stdout.write(_("  %(n)s open deals created in %(s).1f s") % {
                "n": f"{deals:,}", "s": time.perf_counter() - started})
            for label, user in ((_("ops (every deal)"), users["ops"]), (_("manager (their team)"), users["manager"])):
                figure = _time_board(user, repeat)
                ratio = figure["best_ms"] / GOAL_MS
                self.stdout.write(_(
                    "kanban board, %(label)s: %(cards)s cards, best %(best).1f ms, median %(median).1f ms over "
                    "%(n)s renders, %(queries)s SQL queries, %(kb).0f kB — goal ≤ %(goal).0f ms, ratio %(ratio).2f "
                    "(%(verdict)s)") % {
                    "label": label, "cards": f"{figure['cards']:,}", "best": figure["best_ms"],
                    "median": figure["median_ms"], "n": repeat, "queries": figure["queries"],
                    "kb": figure["bytes"] / 1024, "goal": GOAL_MS, "ratio": ratio,
                    "verdict": _("met") if ratio <= 1 else _("not met")})
        finally:
            creation.destroy_test_db(old_name, verbosity=0)


def _fill(n_deals: int, seed: int) -> dict:
    """The company, its people and customers through the services; the deals in bulk, as the services would
    leave them (stage entered with its fields, one stage change each)."""
    from salesops.core.roles import Role
    from salesops.core.services import user_create
    from salesops.crm import services as crm
    from salesops.crm.models import Contact, ContactRole, Opportunity, StageChange
    from salesops.org import services as org
    from salesops.org.models import Company, Team

    rng = random.Random(seed)  # noqa: S311 - made-up data, not secrets
    Company.objects.get_or_create(defaults={"name": "基准公司"})
    ops, _profile = user_create(actor=None, username="bench-ops", password=None, role=Role.OPS)
    hired = dt.date(2024, 1, 1)
    root = org.tree_node_create(actor=None, model=Team, name="销售部", code="B-ROOT")
    people, manager_user = [], None
    for t in range(2):
        team = org.tree_node_create(actor=None, model=Team, name=f"销售{t + 1}组", code=f"B-T{t}", parent=root)
        user, _profile = user_create(actor=None, username=f"bench-manager-{t}", password=None, role=Role.MANAGER)
        boss = org.salesperson_create(actor=None, user=user, employee_no=f"BM{t}", name=f"经理{t}", hire_date=hired)
        org.tree_node_update(actor=None, node=team, manager=boss)
        org.assignment_create(actor=None, salesperson=boss, team=team, start_date=hired)
        manager_user = manager_user or user
        for r in range(10):
            rep_user, _profile = user_create(actor=None, username=f"bench-rep-{t}-{r}", password=None, role=Role.REP)
            rep = org.salesperson_create(actor=None, user=rep_user, employee_no=f"BR{t}{r:02d}", name=f"销售{t}-{r}",
                                         hire_date=hired)
            org.assignment_create(actor=None, salesperson=rep, team=team, manager=boss, start_date=hired)
            people.append(rep)
    customers = [org.customer_create(actor=None, external_id=f"BC{i:04d}", name=f"客户{i:04d}有限公司",
                                     owner=people[i % len(people)]) for i in range(200)]
    contacts = Contact.objects.bulk_create([Contact(customer=c, name=f"决策人{c.pk}", role=ContactRole.DECISION_MAKER)
                                            for c in customers])
    maker = {c.customer_id: c.pk for c in contacts}
    stages = [
        crm.stage_create(actor=None, code="lead", name="线索", probability=Decimal(10)),
        crm.stage_create(actor=None, code="qualified", name="已确认", probability=Decimal(25),
                         required_fields=["expected_close"]),
        crm.stage_create(actor=None, code="proposal", name="方案报价", probability=Decimal(50),
                         required_fields=["amount", "expected_close", "decision_maker"]),
        crm.stage_create(actor=None, code="negotiation", name="商务谈判", probability=Decimal(75),
                         required_fields=["amount", "expected_close", "decision_maker", "competitor"]),
    ]
    crm.stage_create(actor=None, code="won", name="赢单", probability=Decimal(100), is_won=True)
    crm.stage_create(actor=None, code="lost", name="输单", probability=Decimal(0), is_lost=True)
    now = timezone.now()
    deals = []
    for i in range(n_deals):
        stage = stages[i % len(stages)]
        customer = customers[rng.randrange(len(customers))]
        entered = now - dt.timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440))
        level = stages.index(stage)
        deals.append(Opportunity(
            name=f"{customer.name} 项目{i:04d}", customer=customer, owner_id=customer.owner_id, stage=stage,
            amount=Decimal(rng.randint(1_000, 2_000_000)) if level >= 2 or rng.random() < 0.5 else None,
            expected_close=timezone.localdate(now) + dt.timedelta(days=rng.randint(10, 200)) if level >= 1 else None,
            decision_maker_id=maker[customer.pk] if level >= 2 else None,
            competitor="友商" if level >= 3 else "", created_on=timezone.localdate(entered),
            stage_entered_at=entered))
    Opportunity.objects.bulk_create(deals, batch_size=500)
    StageChange.objects.bulk_create([StageChange(opportunity=d, to_stage=d.stage, changed_at=d.stage_entered_at)
                                     for d in deals], batch_size=500)
    return {"ops": ops, "manager": manager_user}


def _time_board(user, repeat: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    url = reverse("crm:pipeline")
    for _n in range(WARM_UPS):
        response = client.get(url)
        if response.status_code != 200:
            raise CommandError(_("The board answered HTTP %(code)s.") % {"code": response.status_code})
    queries = _Counter()
    with connection.execute_wrapper(queries):
        response = client.get(url)
    times = []
    for _n in range(repeat):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return {"best_ms": min(times), "median_ms": statistics.median(times), "queries": queries.n,
            "bytes": len(response.content), "cards": response.content.count(b'class="kcard"')}


class _Counter:
    """Counts the SQL statements run through the connection (one render's queries)."""

    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)
