"""The demo company's sales process: stages, contacts, customer records, 18 months of deals with their stage
histories, activities and quotes — drawn from the demo's people, customers and order lines.

Role in the flow: ``salesops demo`` calls :func:`create_demo_crm` after ``org.demo.load_demo`` (it reads the
people, their teams, the customers and the order lines; it needs nothing from targets or incentives and writes no
order line). Like the other demo generators it is deterministic (one ``random.Random`` seeded from ``seed``, rows
read in a fixed order), runs once (a second call finds the stages and does nothing) and writes in bulk, in one
transaction — never a service call per row — while keeping the invariants the services keep:

- an opportunity's ``stage`` and ``stage_entered_at`` are the ``to_stage`` and time of its newest ``StageChange``;
  ``status`` is won/lost/open as that stage is won/lost/neither; ``closed_on`` is set exactly for closed deals (the
  day of the closing change); ``created_on`` is the day of the first change, so no change comes before it;
- a deal entered each stage with that stage's required fields (the demo's stages: expected close from Qualified on;
  amount, expected close and decision maker from Proposal on; amount to be won; a reason to be lost);
- a won deal *is* one of the owner's orders of the period (most of them): its customer, products, amount (the
  order's net) and close date (the order's date) come from the order lines; its history is drawn back from there;
- every quote submission has its ``QuoteApproval``: automatic when the largest discount is within the owner's limit
  (decided at submission, no approver), else a request to the owner's manager; created < submitted < decided <
  sent < answered. An accepted quote's ``order_no`` is the order its deal became (no order line is written for a
  quote here, so the sales figures stay those of ``org.demo``); a quote without such an order leaves it empty.

Planted for the analytics to find (true by construction, held by ``tests/crm/test_demo.py``):

- a conversion bottleneck: the North team (``T-N1``, 华北组) moves about 28 % of its deals on from Proposal to
  Negotiation, against about 60 % elsewhere (they lose them on price and to competitors);
- a dwell bottleneck: the second rep of East Team 2 (``T-E2``, by employee number) leaves deals in Qualified for
  about 75 days at the median, against about 18 days for everyone else (a deal about to be lost lingers longer
  everywhere, so measured over all exits the figures are about 2.5 times apart);
- overdue activities (due before the demo's today, not done) for most reps, and quotes in every status.

Customer records get a status from their order history (never bought: prospect; a purchase in the last 6 months:
active; in the last 18 months: dormant; else lost), a source, preferences and notes for some, 1–3 contacts (a
decision maker for most) — and some deliberate gaps for the completeness report: prospects without a region,
segment or owner, customers without a source, an industry, a contact, a reachable contact or a decision maker.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core import audit
from salesops.crm.models import (
    Activity,
    ActivityKind,
    Contact,
    ContactRole,
    Opportunity,
    OpportunityProduct,
    OpportunityStatus,
    Quote,
    QuoteApproval,
    QuoteLine,
    QuoteStatus,
    RequiredField,
    Stage,
    StageChange,
)
from salesops.engine.periods import add_months
from salesops.org import demo as org_demo
from salesops.org import services as org
from salesops.org.models import (
    REVERSAL_STATUSES,
    Assignment,
    Company,
    Customer,
    CustomerStatus,
    OrderCredit,
    OrderLine,
    Product,
    Salesperson,
    Team,
)

Progress = org_demo.Progress

# (code, 中文, English, probability %, is_won, is_lost, required fields)
STAGES = [
    ("lead", "线索", "Lead", 10, False, False, []),
    ("qualified", "需求确认", "Qualified", 25, False, False, [RequiredField.EXPECTED_CLOSE]),
    ("proposal", "方案报价", "Proposal", 50, False, False,
     [RequiredField.AMOUNT, RequiredField.EXPECTED_CLOSE, RequiredField.DECISION_MAKER]),
    ("negotiation", "商务谈判", "Negotiation", 75, False, False,
     [RequiredField.AMOUNT, RequiredField.EXPECTED_CLOSE, RequiredField.DECISION_MAKER]),
    ("won", "赢单", "Won", 100, True, False, [RequiredField.AMOUNT]),
    ("lost", "输单", "Lost", 0, False, True, [RequiredField.LOST_REASON]),
]
LEAD, QUALIFIED, PROPOSAL, NEGOTIATION, WON, LOST = range(6)
OPEN_STAGES = (LEAD, QUALIFIED, PROPOSAL, NEGOTIATION)

MONTHS = 18  # the deals of the last 18 months
# the chance that a deal moves on from each open stage (per rep: × a draw in [0.9, 1.1])
MOVE_ON = {LEAD: 0.55, QUALIFIED: 0.65, PROPOSAL: 0.6, NEGOTIATION: 0.7}
# median days in each open stage (a lognormal draw around it)
DWELL = {LEAD: 10, QUALIFIED: 18, PROPOSAL: 20, NEGOTIATION: 14}
FADING = 2.5  # a deal about to be lost lingers this much longer in its last stage before someone closes it
BOTTLENECK_TEAM, BOTTLENECK_MOVE_ON = "T-N1", 0.28  # the North team's Proposal → Negotiation
SLOW_TEAM, SLOW_DWELL = "T-E2", 75  # the second rep of East Team 2 sits in Qualified
STATUS_DAYS = (182, 548)  # active: a purchase within 6 months; dormant: within 18; lost: before

SOURCES = [("官网咨询", "Website", 20), ("展会", "Trade fair", 14), ("客户转介绍", "Referral", 16),
           ("电话营销", "Cold call", 12), ("合作伙伴", "Partner", 14), ("线上广告", "Online ads", 10),
           ("行业活动", "Industry event", 8)]
EXISTING = ("老客户", "Existing customer")
COMPETITORS = {
    "SW": [("用友", "Yonyou"), ("金蝶", "Kingdee"), ("销售易", "Xiaoshouyi"), ("纷享销客", "Fxiaoke"),
           ("Salesforce", "Salesforce")],
    "HW": [("华为", "Huawei"), ("新华三", "H3C"), ("浪潮", "Inspur"), ("联想", "Lenovo"), ("戴尔", "Dell")],
}
PRICE, COMPETITOR = ("价格高于预算", "Price above budget"), ("选择了竞争对手", "Chose a competitor")
LOST_REASONS = {
    LEAD: [(("无回应", "No response"), 5), (("需求不匹配", "Not a fit"), 3), (("暂无预算", "No budget yet"), 2)],
    QUALIFIED: [(("预算未获批", "Budget not approved"), 4), (("项目延期", "Project postponed"), 3),
                (("需求不匹配", "Not a fit"), 2)],
    PROPOSAL: [(PRICE, 4), (COMPETITOR, 4), (("需求变更", "Requirements changed"), 2)],
    NEGOTIATION: [(PRICE, 3), (COMPETITOR, 4), (("预算取消", "Budget cancelled"), 2)],
}

ROLE_TITLES = {
    ContactRole.DECISION_MAKER: [("总经理", "General Manager"), ("信息化总监", "CIO"), ("副总裁", "Vice President"),
                                 ("财务总监", "CFO")],
    ContactRole.INFLUENCER: [("IT 经理", "IT Manager"), ("运营总监", "Head of Operations")],
    ContactRole.USER: [("销售主管", "Sales Supervisor"), ("业务专员", "Business Specialist")],
    ContactRole.PURCHASING: [("采购经理", "Purchasing Manager"), ("采购专员", "Buyer")],
    ContactRole.FINANCE: [("财务经理", "Finance Manager"), ("会计", "Accountant")],
    ContactRole.TECHNICAL: [("系统管理员", "System Administrator"), ("网络工程师", "Network Engineer")],
}
OTHER_ROLES = [ContactRole.INFLUENCER, ContactRole.USER, ContactRole.PURCHASING, ContactRole.FINANCE,
               ContactRole.TECHNICAL]
PREFERENCES = [("偏好年付", "Prefers yearly billing"), ("需要增值税专用发票", "Needs a special VAT invoice"),
               ("工作日上午联系", "Call on weekday mornings"), ("重视本地化实施服务", "Values on-site implementation"),
               ("采购需走招标流程", "Buys through a tender"), ("关注数据安全与合规", "Cares about data security"),
               ("倾向一次性打包采购", "Likes to buy in bundles"), ("付款周期 60 天", "Pays at 60 days")]
NOTES = [("2025 年续约时提出价格异议，最终按原价续签。", "Questioned the price at the 2025 renewal; renewed at list."),
         ("新任 IT 负责人，需要重新建立关系。", "New head of IT: the relationship needs rebuilding."),
         ("计划明年扩建工厂，可能新增系统需求。", "Plans a new plant next year: likely new system needs."),
         ("曾投诉实施进度，已由项目经理跟进解决。", "Complained about an implementation delay; resolved by the PM."),
         ("集团统一采购，需提前三个月报预算。", "Group-level purchasing: budgets are set three months ahead.")]
ACTIVITY_TEXT = {  # stage entered → (kind, subject 中文/English, outcome 中文/English)
    LEAD: (ActivityKind.CALL, ("首次电话沟通", "First call"), ("确认初步需求", "Confirmed the first needs")),
    QUALIFIED: (ActivityKind.VISIT, ("上门需求调研", "On-site needs assessment"),
                ("明确预算与时间表", "Budget and timeline confirmed")),
    PROPOSAL: (ActivityKind.MEETING, ("方案演示", "Solution presentation"),
               ("客户认可方案，等待报价", "The customer likes the solution; quote next")),
    NEGOTIATION: (ActivityKind.MEETING, ("商务谈判会议", "Commercial negotiation"),
                  ("就价格与付款条件达成初步一致", "Price and payment terms broadly agreed")),
}
NEXT_STEPS = [(ActivityKind.CALL, ("电话跟进", "Follow-up call")), (ActivityKind.EMAIL, ("发送方案资料", "Send material")),
              (ActivityKind.TASK, ("准备报价单", "Prepare the quote")),
              (ActivityKind.MEETING, ("安排高层会面", "Arrange an executive meeting")),
              (ActivityKind.VISIT, ("上门拜访", "On-site visit"))]
CARE = (ActivityKind.CALL, ("老客户回访", "Check-in with a lapsed customer"))
REJECTIONS = [("折扣过高，请控制在 15% 以内", "Discount too high: keep it within 15%"),
              ("请先确认客户预算再报价", "Confirm the customer's budget first"),
              ("毛利过低，请调整硬件折扣", "Margin too thin: lower the hardware discount")]
# the quotes of the demo, by status (the rest of the deals reaching Proposal have none)
QUOTES = {QuoteStatus.DRAFT: 8, QuoteStatus.PENDING: 12, QuoteStatus.APPROVED: 8, QuoteStatus.REJECTED: 8,
          QuoteStatus.SENT: 18, QuoteStatus.ACCEPTED: 30, QuoteStatus.DECLINED: 16}
APPROVAL_SHARE = 0.4  # quotes whose largest discount exceeds the owner's limit


@dataclass(frozen=True)
class CrmDemoResult:
    opportunities: int
    stage_changes: int
    contacts: int
    activities: int
    quotes: int
    seconds: float


@dataclass
class _Deal:
    owner: int  # salesperson pk
    team: str  # team code when created
    customer: int  # customer pk
    path: list[int]  # stages entered, in order (the last one is where it is)
    times: list[dt.datetime] = field(default_factory=list)
    products: list[tuple[int, Decimal]] = field(default_factory=list)  # (product pk, quantity)
    amount: Decimal | None = None
    order_no: str = ""
    lost_reason: tuple[str, str] | None = None
    competitor: tuple[str, str] | None = None
    expected_close: dt.date | None = None
    discounts: dict[int, Decimal] = field(default_factory=dict)  # product pk → the order's discount (won deals)
    handed_over: bool = False  # its owner left while it was open: the account's owner today has it


def _noop(_msg: str) -> None:
    pass


def deals_per_rep_month(small: bool = False) -> float:
    """The deals a rep opens a month in the demo: about 2,000 opportunities in all, fewer for ``demo --small``."""
    return 1.2 if small else 3.0


def create_demo_crm(*, seed: int = 42, today: dt.date | None = None, deals_per_rep_month: float = 3.0,
                    progress: Progress = _noop) -> CrmDemoResult | None:
    """Create the demo's sales process; None when stages exist already or the demo company is not loaded."""
    if Stage.objects.exists() or not org_demo.demo_exists():
        return None
    started = time.perf_counter()
    with transaction.atomic():
        counts = _Generator(seed, today or timezone.localdate(), deals_per_rep_month).run()
    result = CrmDemoResult(*counts, seconds=time.perf_counter() - started)
    progress(_("Sales process: %(deals)s opportunities with %(changes)s stage changes, %(contacts)s contacts, "
               "%(activities)s activities, %(quotes)s quotes in %(seconds).1f s.") % {
        "deals": f"{result.opportunities:,}", "changes": f"{result.stage_changes:,}",
        "contacts": f"{result.contacts:,}", "activities": f"{result.activities:,}", "quotes": result.quotes,
        "seconds": result.seconds})
    return result


class _Generator:
    def __init__(self, seed: int, today: dt.date, rate: float):
        self.rng = random.Random(seed * 7919 + 17)  # noqa: S311 - demo data, not secrets; seeded for reproducibility
        self.today = today
        self.rate = rate
        self.start = add_months(today, -MONTHS)
        self.zone = timezone.get_current_timezone()
        self.en = Company.current().default_language == "en"

    def pick(self, pair: tuple[str, str]) -> str:
        return pair[1] if self.en else pair[0]

    def at(self, day: dt.date, minute: int | None = None) -> dt.datetime:
        """``day`` at a working-hours minute (drawn when not given)."""
        minute = self.rng.randrange(9 * 60, 18 * 60) if minute is None else minute
        return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.zone)

    # -- reading the demo company ----------------------------------------------------------------------------
    def read(self) -> None:
        managers = set(Team.objects.exclude(manager=None).values_list("manager_id", flat=True))
        self.people = {pk: (hire, leave, user_id) for pk, hire, leave, user_id in
                       Salesperson.objects.order_by("employee_no").values_list("pk", "hire_date", "leave_date", "user_id")}
        self.reps = [pk for pk in self.people if pk not in managers]
        self.assignments: dict[int, list[tuple[dt.date, dt.date | None, str, int | None]]] = defaultdict(list)
        for person, start, end, team, manager in Assignment.objects.order_by("salesperson_id", "start_date").values_list(
                "salesperson_id", "start_date", "end_date", "team__code", "manager_id"):
            self.assignments[person].append((start, end, team, manager))
        self.products = {pk: (sku, price, cat) for pk, sku, price, cat in Product.objects.order_by("sku").values_list(
            "pk", "sku", "list_price", "category__code")}
        self.by_sku = {sku: pk for pk, (sku, _p, _c) in self.products.items()}
        self.product_names = dict(Product.objects.values_list("pk", "name"))
        self.customers = list(Customer.objects.order_by("external_id").values_list(
            "pk", "external_id", "name", "segment__code", "owner_id"))
        self.segment_of = {pk: seg for pk, _e, _n, seg, _o in self.customers}
        self.owner_of = {pk: owner for pk, _e, _n, _s, owner in self.customers}
        self.customer_name = {pk: name for pk, _e, name, _s, _o in self.customers}
        purchases = OrderLine.objects.exclude(status__in=REVERSAL_STATUSES)
        self.last_purchase = dict(purchases.values("customer_id").annotate(m=Max("date")).values_list("customer_id", "m"))
        # the orders of the period, each with its main seller (largest split, then lowest person id)
        main: dict[str, tuple[Decimal, int]] = {}
        for order_no, person, pct in OrderCredit.objects.filter(
                line__date__gte=self.start, line__original=None).exclude(line__status__in=REVERSAL_STATUSES).order_by(
                "line__order_no", "-split_pct", "salesperson_id").values_list("line__order_no", "salesperson_id",
                                                                               "split_pct"):
            main.setdefault(order_no, (pct, person))
        orders: dict[str, dict] = {}
        for order_no, day, customer, product, qty, discount, net in purchases.filter(
                date__gte=self.start, original=None).order_by("order_no", "pk").values_list(
                "order_no", "date", "customer_id", "product_id", "quantity", "discount", "net_amount"):
            order = orders.setdefault(order_no, {"no": order_no, "date": day, "customer": customer, "net": Decimal(0),
                                                 "products": {}, "discounts": {}})
            order["net"] += net
            order["products"][product] = order["products"].get(product, Decimal(0)) + qty
            order["discounts"].setdefault(product, discount)
        self.orders_of: dict[int, list[dict]] = defaultdict(list)
        for order_no, order in orders.items():
            if order_no in main and order["date"] < self.today:
                self.orders_of[main[order_no][1]].append(order)
        for person_orders in self.orders_of.values():
            person_orders.sort(key=lambda o: (-o["net"], o["no"]))
        # each rep's customers: those credited to them, and those they own
        self.customers_of: dict[int, list[int]] = defaultdict(list)
        pairs = set(OrderCredit.objects.values_list("salesperson_id", "line__customer_id").distinct())
        pairs |= {(owner, pk) for pk, owner in self.owner_of.items() if owner is not None}
        for person, customer in sorted(pairs):
            self.customers_of[person].append(customer)

    def team_on(self, person: int, day: dt.date) -> tuple[str, int | None]:
        """(team code, manager pk) of ``person``'s assignment in effect on ``day`` (else their first/last one)."""
        rows = self.assignments[person]
        for start, end, team, manager in rows:
            if start <= day and (end is None or day <= end):
                return team, manager
        return (rows[-1][2], rows[-1][3]) if rows and day >= rows[-1][0] else (rows[0][2], rows[0][3])

    # -- the whole run -----------------------------------------------------------------------------------------
    def run(self) -> tuple[int, int, int, int, int]:
        self.read()
        self.stages = self.write_stages()
        deals = self.draw_deals()
        contacts = self.write_customers_and_contacts(deals)
        opportunities, changes = self.write_deals(deals, contacts)
        activities = self.write_activities(deals, opportunities, contacts)
        quotes = self.write_quotes(deals, opportunities)
        audit.record(actor=None, event="demo.crm_loaded", subject=Company.current(), new={
            "today": self.today, "opportunities": len(opportunities), "quotes": quotes})
        return len(opportunities), changes, len(contacts), activities, quotes

    def write_stages(self) -> list[Stage]:
        stages = [Stage(code=code, name=self.pick((zh, en)), position=(n + 1) * 10, probability=Decimal(prob),
                        is_won=won, is_lost=lost, required_fields=[str(f) for f in required])
                  for n, (code, zh, en, prob, won, lost, required) in enumerate(STAGES)]
        return Stage.objects.bulk_create(stages)

    # -- deals -------------------------------------------------------------------------------------------------
    def draw_deals(self) -> list[_Deal]:
        rng = self.rng
        slow_team = [p for p in self.reps  # by employee number
                     if self.team_on(p, self.today)[0] == SLOW_TEAM and self.people[p][1] is None]
        self.slow_rep = slow_team[1] if len(slow_team) > 1 else None
        deals: list[_Deal] = []
        for rep in self.reps:
            hire, leave, _user = self.people[rep]
            lo, hi = max(self.start, hire), min(self.today - dt.timedelta(days=1), leave or self.today)
            if hi <= lo:
                continue
            months = (hi - lo).days / 30.4
            count = round(self.rate * months * rng.uniform(0.8, 1.2))
            move_on = {s: min(0.95, p * rng.uniform(0.9, 1.1)) for s, p in MOVE_ON.items()}
            # the rep's larger orders of the period (the top half when they have many), by date: what won deals
            # become
            orders = self.orders_of.get(rep, [])
            orders = sorted(orders[:len(orders) // 2] if len(orders) >= 40 else orders,
                            key=lambda o: (o["date"], o["no"]))
            orders = [o for o in orders if o["date"] >= max(hire, self.start + dt.timedelta(days=20))]
            for _n in range(count):
                created = lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))
                team = self.team_on(rep, created)[0]
                rates = dict(move_on)
                if team == BOTTLENECK_TEAM:
                    rates[PROPOSAL] = BOTTLENECK_MOVE_ON * rng.uniform(0.95, 1.05)
                deal = _Deal(owner=rep, team=team, customer=0, path=self.draw_path(rates))
                self.time_forward(deal, created)
                if deal.path[-1] == WON:  # won before today: it is the rep's unused order nearest that day
                    order = self.nearest(orders, deal.times[-1].date())
                    if order is not None:
                        self.from_order(deal, order)
                    else:  # no order to become: the deal was lost in the end
                        deal.path[-1] = LOST
                deals.append(deal)
        for deal in deals:
            self.fill(deal)
        deals.sort(key=lambda d: (d.times[0], d.owner, d.customer))
        return deals

    @staticmethod
    def nearest(orders: list[dict], day: dt.date, within: int = 90) -> dict | None:
        """Take the order nearest ``day`` (at most ``within`` days away) out of ``orders``, if any."""
        best = min(range(len(orders)), key=lambda n: (abs((orders[n]["date"] - day).days), n), default=None)
        if best is None or abs((orders[best]["date"] - day).days) > within:
            return None
        return orders.pop(best)

    def draw_path(self, rates: dict[int, float]) -> list[int]:
        """The stages a deal enters until it is won or lost (skips and an odd move back included)."""
        rng = self.rng
        path = [QUALIFIED if rng.random() < 0.1 else LEAD]
        moved_back = False
        while True:
            stage = path[-1]
            if rng.random() >= rates[stage]:
                path.append(LOST)
                return path
            if stage == NEGOTIATION:
                if not moved_back and rng.random() < 0.07:  # back to Proposal for a new offer, then on again
                    moved_back = True
                    path += [PROPOSAL, NEGOTIATION]
                    continue
                path.append(WON)
                return path
            path.append(PROPOSAL if stage == LEAD and rng.random() < 0.06 else stage + 1)

    def dwell(self, stage: int, owner: int) -> float:
        median = SLOW_DWELL if stage == QUALIFIED and owner == self.slow_rep else DWELL[stage]
        return max(0.2, self.rng.lognormvariate(math.log(median), 0.5))

    def _times(self, first: dt.date, gaps: list[float]) -> list[dt.datetime]:
        """Change times from ``first`` with the given gaps (days): dates move on by whole days, and changes on
        the same day keep their order."""
        days, offset = [first], 0.0
        for gap in gaps:
            offset += gap
            days.append(first + dt.timedelta(days=int(offset)))
        minutes = [self.rng.randrange(9 * 60, 18 * 60) for _d in days]
        times, n = [], 0
        while n < len(days):
            m = n
            while m < len(days) and days[m] == days[n]:
                m += 1
            for k, minute in enumerate(sorted(minutes[n:m])):
                times.append(self.at(days[n], minute + k))
            n = m
        return times

    def time_forward(self, deal: _Deal, created: dt.date) -> None:
        """Times of a deal from its creation: it stops, open, at the stage it is in on the demo's today."""
        gaps = [self.dwell(stage, deal.owner) for stage in deal.path[:-1]]
        if deal.path[-1] == LOST:
            gaps[-1] *= FADING
        times = self._times(created, gaps)
        for n, moment in enumerate(times):
            if moment.date() >= self.today:
                deal.path, times = deal.path[:n], times[:n]
                break
        deal.times = times
        leave = self.people[deal.owner][1]
        deal.handed_over = leave is not None and times[-1].date() > leave

    def from_order(self, deal: _Deal, order: dict) -> None:
        """A won deal is this order: its history is drawn back from the order's day."""
        gaps = [self.dwell(stage, deal.owner) for stage in deal.path[:-1]]
        hire = self.people[deal.owner][0]
        room = (order["date"] - max(self.start, hire)).days
        if sum(gaps) > room:
            gaps = [g * room / sum(gaps) for g in gaps]
        total = int(sum(gaps))
        times = self._times(order["date"] - dt.timedelta(days=total), gaps)
        # the last change is on the order's day whatever the rounding of the gaps
        if times[-1].date() != order["date"]:
            times[-1] = self.at(order["date"], max(times[-2].hour * 60 + times[-2].minute + 1, 9 * 60)
                                if times[-2].date() == order["date"] else None)
        deal.times = times
        deal.handed_over = False  # the order is the owner's own, before any leaving date
        deal.customer = order["customer"]
        deal.order_no = order["no"]
        deal.amount = order["net"]
        deal.products = sorted(order["products"].items())
        deal.discounts = order["discounts"]

    def fill(self, deal: _Deal) -> None:
        """Customer, products, amount, expected close, reasons and competitors of a drawn deal."""
        rng = self.rng
        if not deal.customer:
            mine = self.customers_of.get(deal.owner) or [pk for pk, *_rest in self.customers]
            deal.customer = rng.choice(mine)
        if deal.handed_over and self.owner_of.get(deal.customer) in self.people:
            deal.owner = self.owner_of[deal.customer]
        if not deal.products:
            seg = ("KA", "MM", "SMB").index(self.segment_of.get(deal.customer) or "SMB")
            anchors = org_demo.ANCHORS[seg]
            anchor = rng.choices(list(anchors), weights=list(anchors.values()))[0]
            skus = [anchor] + [s for s, p in org_demo.COMPANIONS.get(anchor, []) if rng.random() < p]
            lo, hi = org_demo.SEGMENT_DISCOUNT[seg]
            discount = Decimal(rng.randint(lo, hi)) / 100
            amount = Decimal(0)
            for sku in dict.fromkeys(skus):
                spec = org_demo.PRODUCTS[org_demo.SKU_INDEX[sku]]
                qlo, qhi = org_demo.QTY[spec.qty][seg]
                qty = Decimal(rng.randint(qlo, qhi))
                deal.products.append((self.by_sku[sku], qty))
                amount += org.compute_net_amount(qty, spec.price, min(discount, Decimal(spec.max_discount) / 100),
                                                 org_demo.POLICY)
            reached = max(s for s in deal.path if s in OPEN_STAGES)
            deal.amount = amount if reached >= PROPOSAL or rng.random() < 0.5 else None
        created, last = deal.times[0].date(), deal.times[-1].date()
        if deal.path[-1] == WON:
            deal.expected_close = last + dt.timedelta(days=rng.randint(-20, 20))
        elif deal.path[-1] == LOST or deal.path[-1] in OPEN_STAGES:
            deal.expected_close = created + dt.timedelta(days=rng.randint(45, 150))
            if deal.path[-1] in OPEN_STAGES and deal.expected_close < self.today and rng.random() < 0.6:
                deal.expected_close = self.today + dt.timedelta(days=rng.randint(7, 75))  # moved by the rep
        if max(deal.path[:-1] if deal.path[-1] == LOST else deal.path) == LEAD and rng.random() < 0.6:
            deal.expected_close = None  # never qualified: no date yet
        line = self.products[deal.products[0][0]][2][:2]
        if deal.path[-1] == LOST:
            where = deal.path[-2]
            reasons = LOST_REASONS[where]
            if deal.team == BOTTLENECK_TEAM and where == PROPOSAL:
                reasons = [(PRICE, 6), (COMPETITOR, 5)]
            deal.lost_reason = rng.choices([r for r, _w in reasons], weights=[w for _r, w in reasons])[0]
            if deal.lost_reason == COMPETITOR:
                deal.competitor = rng.choice(COMPETITORS[line])
        if deal.competitor is None and max(s for s in deal.path if s in OPEN_STAGES) >= PROPOSAL and \
                rng.random() < 0.5:
            deal.competitor = rng.choice(COMPETITORS[line])

    # -- customers and contacts ----------------------------------------------------------------------------------
    def write_customers_and_contacts(self, deals: list[_Deal]) -> list[Contact]:
        rng = self.rng
        needs_contact = {d.customer for d in deals if max(s for s in d.path if s in OPEN_STAGES) >= PROPOSAL}
        needs_dm = {d.customer for d in deals if d.path[-1] == WON}
        with_deals = {d.customer for d in deals}
        recent = {c for c, day in self.last_purchase.items() if (self.today - day).days <= 365}
        rows = {c.pk: c for c in Customer.objects.order_by("external_id")}
        source_pairs = [(zh, en) for zh, en, _w in SOURCES]
        source_weights = [w for _zh, _en, w in SOURCES]
        contacts: list[Contact] = []
        names: set[tuple[int, str]] = set()
        for pk, external_id, _name, segment, _owner in self.customers:
            customer = rows[pk]
            last = self.last_purchase.get(pk)
            if last is None:
                customer.status = CustomerStatus.PROSPECT
            elif (self.today - last).days <= STATUS_DAYS[0]:
                customer.status = CustomerStatus.ACTIVE
            elif (self.today - last).days <= STATUS_DAYS[1]:
                customer.status = CustomerStatus.DORMANT
            else:
                customer.status = CustomerStatus.LOST
            customer.source = self.pick(rng.choices(source_pairs, weights=source_weights)[0]) \
                if rng.random() < 0.88 else ""
            if rng.random() < 0.35:
                customer.preferences = self.sep().join(self.pick(p) for p in rng.sample(PREFERENCES, rng.randint(1, 3)))
            if rng.random() < 0.15:
                customer.notes = self.pick(rng.choice(NOTES))
            if customer.status == CustomerStatus.PROSPECT and pk not in with_deals:
                gap = rng.random()  # new leads are the least complete records
                if gap < 0.25:
                    customer.region = None
                elif gap < 0.45:
                    customer.segment = None
                elif gap < 0.55:
                    customer.owner = None
            elif rng.random() < 0.04:
                customer.industry = ""
            # contacts: 1-3 (key accounts more); none for some records without recent purchases or deals
            if pk not in needs_contact and pk not in recent and rng.random() < 0.2:
                continue
            n = {"KA": (2, 3), "MM": (1, 3), "SMB": (1, 2)}.get(segment or "SMB", (1, 2))
            count = rng.randint(*n)
            has_dm = pk in needs_dm or rng.random() < 0.8
            unreachable = pk not in needs_contact and rng.random() < 0.06  # no phone, no email: a name only
            domain = f"{external_id.lower()}.example.cn"
            for k in range(count):
                role = ContactRole.DECISION_MAKER if k == 0 and has_dm else rng.choice(OTHER_ROLES)
                while True:
                    s, g = rng.randrange(len(org_demo.SURNAMES)), rng.randrange(len(org_demo.GIVEN))
                    if (pk, f"{s}:{g}") not in names:
                        names.add((pk, f"{s}:{g}"))
                        break
                surname, given = org_demo.SURNAMES[s], org_demo.GIVEN[g]
                contacts.append(Contact(
                    external_id=f"{org_demo.DEMO_PREFIX}K{len(contacts) + 1:06d}", customer_id=pk,
                    name=self.pick((surname[0] + given[0], f"{given[1]} {surname[1]}")),
                    job_title=self.pick(rng.choice(ROLE_TITLES[role])), role=role,
                    phone="" if unreachable else f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                    email="" if unreachable or rng.random() < 0.3 else f"{given[1]}.{surname[1]}@{domain}".lower(),
                    wechat=f"wx_{given[1].lower()}{rng.randrange(100, 1000)}" if rng.random() < 0.5 else "",
                    primary=k == 0))
        _update_customers(list(rows.values()))
        return Contact.objects.bulk_create(contacts, batch_size=1000)

    def sep(self) -> str:
        return "; " if self.en else "；"

    # -- opportunities and their histories -----------------------------------------------------------------------
    def write_deals(self, deals: list[_Deal], contacts: list[Contact]) -> tuple[list[Opportunity], int]:
        rng = self.rng
        by_customer: dict[int, list[Contact]] = defaultdict(list)
        for contact in contacts:
            by_customer[contact.customer_id].append(contact)
        users = {pk: user for pk, (_h, _l, user) in self.people.items()}
        opportunities, products, changes = [], [], []
        for n, deal in enumerate(deals, start=1):
            people = by_customer.get(deal.customer, [])
            reached = max(s for s in deal.path if s in OPEN_STAGES)
            dm = next((c for c in people if c.role == ContactRole.DECISION_MAKER), people[0] if people else None)
            if reached >= PROPOSAL and dm is None:  # cannot happen: such customers always get a contact
                raise AssertionError(f"deal {n} reaches Proposal without a contact")
            decision_maker = dm if reached >= PROPOSAL or (dm is not None and rng.random() < 0.4) else None
            bought_before = deal.customer in self.last_purchase and self.last_purchase[deal.customer] < deal.times[0].date()
            source = EXISTING if bought_before and rng.random() < 0.7 else \
                rng.choices([(zh, en) for zh, en, _w in SOURCES], weights=[w for *_p, w in SOURCES])[0]
            stage = deal.path[-1]
            status = OpportunityStatus.WON if stage == WON else (
                OpportunityStatus.LOST if stage == LOST else OpportunityStatus.OPEN)
            first_product = self.product_names[deal.products[0][0]]
            customer = self.customer_name[deal.customer]
            opportunities.append(Opportunity(
                external_id=f"{org_demo.DEMO_PREFIX}O{n:06d}",
                name=(f"{first_product} for {customer}" if self.en else f"{customer}{first_product}项目")[:200],
                customer_id=deal.customer, owner_id=deal.owner, stage=self.stages[stage], status=status,
                amount=deal.amount, expected_close=deal.expected_close, decision_maker=decision_maker,
                source=self.pick(source), competitor=self.pick(deal.competitor) if deal.competitor else "",
                lost_reason=self.pick(deal.lost_reason) if deal.lost_reason else "",
                created_on=deal.times[0].date(), closed_on=deal.times[-1].date() if stage in (WON, LOST) else None,
                stage_entered_at=deal.times[-1]))
        opportunities = Opportunity.objects.bulk_create(opportunities, batch_size=1000)
        for deal, opportunity in zip(deals, opportunities, strict=True):
            for product, qty in deal.products:
                products.append(OpportunityProduct(opportunity=opportunity, product_id=product, quantity=qty))
            previous = None
            for stage, moment in zip(deal.path, deal.times, strict=True):
                changes.append(StageChange(opportunity=opportunity, from_stage=previous, to_stage=self.stages[stage],
                                           changed_at=moment, actor_id=users.get(deal.owner)))
                previous = self.stages[stage]
        OpportunityProduct.objects.bulk_create(products, batch_size=2000)
        StageChange.objects.bulk_create(changes, batch_size=2000)
        return opportunities, len(changes)

    # -- activities ------------------------------------------------------------------------------------------------
    def write_activities(self, deals: list[_Deal], opportunities: list[Opportunity], contacts: list[Contact]) -> int:
        rng = self.rng
        first_contact: dict[int, Contact] = {}
        for contact in contacts:
            first_contact.setdefault(contact.customer_id, contact)
        horizon = self.today - dt.timedelta(days=365)
        now = self.at(self.today, 9 * 60)
        rows: list[Activity] = []

        def add(kind, subject, deal_opportunity, customer, owner, created, due, done, outcome=""):
            rows.append(Activity(
                external_id=f"{org_demo.DEMO_PREFIX}A{len(rows) + 1:06d}", kind=kind, subject=self.pick(subject),
                customer_id=customer, opportunity=deal_opportunity, contact=first_contact.get(customer),
                owner_id=owner, created_at=created, due_at=due, done_at=done,
                outcome=self.pick(outcome) if outcome else ""))

        for deal, opportunity in zip(deals, opportunities, strict=True):
            for stage, moment in zip(deal.path, deal.times, strict=True):
                if stage not in ACTIVITY_TEXT or moment.date() < horizon:
                    continue
                kind, subject, outcome = ACTIVITY_TEXT[stage]
                due = moment + dt.timedelta(hours=rng.randint(2, 72))
                created = moment - dt.timedelta(hours=rng.randint(1, 48))
                if due >= now:  # the step is still ahead
                    add(kind, subject, opportunity, deal.customer, deal.owner, created, due, None)
                elif due < now - dt.timedelta(days=60) or rng.random() < 0.9:
                    add(kind, subject, opportunity, deal.customer, deal.owner, created, due,
                        due + dt.timedelta(minutes=rng.randint(0, 240)), outcome)
                else:  # a recent step not done and past due: overdue
                    add(kind, subject, opportunity, deal.customer, deal.owner, created, due, None)
            if deal.path[-1] in OPEN_STAGES:  # the next step of an open deal: ahead, or overdue
                kind, subject = rng.choice(NEXT_STEPS)
                created = max(deal.times[-1], now - dt.timedelta(days=30)) - dt.timedelta(hours=rng.randint(0, 24))
                if rng.random() < 0.3:
                    due = self.at(self.today - dt.timedelta(days=rng.randint(1, 20)))
                    created = min(created, due - dt.timedelta(hours=1))
                else:
                    due = self.at(self.today + dt.timedelta(days=rng.randint(1, 21)))
                add(kind, subject, opportunity, deal.customer, deal.owner, created, due, None)
        # check-ins with lapsed customers, some of them overdue
        lapsed = [pk for pk, _e, _n, _s, owner in self.customers if owner is not None and pk in self.last_purchase
                  and STATUS_DAYS[0] < (self.today - self.last_purchase[pk]).days <= STATUS_DAYS[1]]
        for pk in rng.sample(lapsed, min(len(lapsed), 120)):
            due = self.at(self.today + dt.timedelta(days=rng.randint(-25, 25)))
            add(CARE[0], CARE[1], None, pk, self.owner_of[pk], due - dt.timedelta(days=rng.randint(3, 20)), due, None)
        Activity.objects.bulk_create(rows, batch_size=1000)
        return len(rows)

    # -- quotes ------------------------------------------------------------------------------------------------------
    def write_quotes(self, deals: list[_Deal], opportunities: list[Opportunity]) -> int:
        rng = self.rng
        recent = self.today - dt.timedelta(days=200)
        limits = self.write_discount_limits()
        won = [(d, o) for d, o in zip(deals, opportunities, strict=True) if d.path[-1] == WON and d.order_no
               and d.times[-1].date() >= recent]
        lost = [(d, o) for d, o in zip(deals, opportunities, strict=True) if d.path[-1] == LOST
                and d.path[-2] in (PROPOSAL, NEGOTIATION) and d.times[-1].date() >= recent]
        open_ = [(d, o) for d, o in zip(deals, opportunities, strict=True) if d.path[-1] in (PROPOSAL, NEGOTIATION)]
        plan: list[tuple[_Deal, Opportunity, str]] = []
        plan += [(d, o, QuoteStatus.ACCEPTED) for d, o in rng.sample(won, min(len(won), QUOTES[QuoteStatus.ACCEPTED]))]
        plan += [(d, o, QuoteStatus.DECLINED) for d, o in rng.sample(lost, min(len(lost), QUOTES[QuoteStatus.DECLINED]))]
        statuses = [s for s in (QuoteStatus.SENT, QuoteStatus.PENDING, QuoteStatus.REJECTED, QuoteStatus.APPROVED,
                                QuoteStatus.DRAFT) for _n in range(QUOTES[s])]
        rng.shuffle(statuses)
        chosen = rng.sample(open_, min(len(open_), len(statuses)))
        plan += [(d, o, s) for (d, o), s in zip(chosen, statuses[:len(chosen)], strict=True)]
        drafts = []
        for deal, opportunity, status in plan:
            drafts.append(self.draw_quote(deal, opportunity, status, limits))
        drafts.sort(key=lambda q: (q["created"], q["opportunity"].pk))
        numbers: dict[int, int] = defaultdict(int)
        quotes, lines, approvals = [], [], []
        for q in drafts:
            year = q["created"].year
            numbers[year] += 1
            quotes.append(Quote(
                number=f"Q-{year}-{numbers[year]:06d}", customer_id=q["deal"].customer, opportunity=q["opportunity"],
                owner_id=q["deal"].owner, status=q["status"], language="en" if self.en else "zh-hans",
                valid_until=q["created"].date() + dt.timedelta(days=30), notes=q["notes"], created_at=q["created"],
                submitted_at=q["submitted"], sent_at=q["sent"], answered_at=q["answered"], order_no=q["order_no"]))
        quotes = Quote.objects.bulk_create(quotes)
        for quote, q in zip(quotes, drafts, strict=True):
            lines += [QuoteLine(quote=quote, **line) for line in q["lines"]]
            approvals += [QuoteApproval(quote=quote, **approval) for approval in q["approvals"]]
        QuoteLine.objects.bulk_create(lines)
        QuoteApproval.objects.bulk_create(approvals)
        return len(quotes)

    def write_discount_limits(self) -> dict[int, Decimal]:
        """Senior reps may give 15 % without approval, new hires 5 %, the rest the company's limit."""
        company = Company.current().discount_limit
        limits = {}
        people = list(Salesperson.objects.filter(pk__in=self.reps).order_by("employee_no"))
        for person in people:
            if person.level == org_demo.TITLES["senior"][2]:
                person.discount_limit = Decimal("0.15")
            elif person.ramp_schedule:
                person.discount_limit = Decimal("0.05")
            limits[person.pk] = person.discount_limit if person.discount_limit is not None else company
        Salesperson.objects.bulk_update(people, ["discount_limit"])
        return limits

    def draw_quote(self, deal: _Deal, opportunity: Opportunity, status: str, limits: dict[int, Decimal]) -> dict:
        """One quote of ``deal`` in ``status``: lines from the deal's products (a won deal's at its order's
        discounts), its approval and its times, all between entering Proposal and the deal's end (or now)."""
        rng = self.rng
        limit = limits.get(deal.owner, Decimal("0.1"))
        if deal.discounts:
            discounts = {product: deal.discounts[product] for product, _q in deal.products}
        else:
            over = status in (QuoteStatus.PENDING, QuoteStatus.REJECTED) or (
                status != QuoteStatus.DRAFT and rng.random() < APPROVAL_SHARE)
            top = int(limit * 100)
            discounts = {product: Decimal(rng.randint(top + 2, top + 12) if over else rng.randint(0, top)) / 100
                         for product, _q in deal.products}
        lines = []
        for product, qty in deal.products:
            price = self.products[product][1]
            lines.append({"product_id": product, "quantity": qty, "list_price": price, "discount": discounts[product],
                          "net_amount": org.compute_net_amount(qty, price, discounts[product], org_demo.POLICY)})
        largest = max(line["discount"] for line in lines)
        over = largest > limit
        # created → submitted → decided → sent → answered, in hours, squeezed into the deal's time from Proposal
        proposal = next(t for stage, t in zip(deal.path, deal.times, strict=True) if stage == PROPOSAL)
        end = deal.times[-1] if deal.path[-1] in (WON, LOST) else self.at(self.today, 8 * 60)
        gaps = [rng.uniform(1, 48), rng.uniform(1, 30), rng.uniform(2, 60) if over else 0.0, rng.uniform(1, 24),
                rng.uniform(48, 480)]
        span = (end - proposal).total_seconds() / 3600
        scale = min(1.0, 0.95 * span / sum(gaps))
        moments, moment = [], proposal
        for gap in gaps:
            moment += dt.timedelta(seconds=max(60, round(gap * scale * 3600)) if gap else 0)
            moments.append(moment)
        created, submitted, decided, sent, answered = moments
        result = {"deal": deal, "opportunity": opportunity, "status": status, "created": created, "lines": lines,
                  "submitted": None, "sent": None, "answered": None, "order_no": "", "approvals": [], "notes": ""}
        if status == QuoteStatus.DRAFT:
            return result
        result["submitted"] = submitted
        approval = {"max_discount": largest, "limit": limit, "requested_at": submitted}
        if not over:  # within the owner's limit: approved at submission
            result["approvals"].append(approval | {"decided_at": submitted, "approved": True})
        elif status == QuoteStatus.PENDING:
            result["approvals"].append(approval | {"approver_id": self.team_on(deal.owner, submitted.date())[1]})
        else:
            approved = status != QuoteStatus.REJECTED
            result["approvals"].append(approval | {
                "approver_id": self.team_on(deal.owner, submitted.date())[1], "decided_at": decided,
                "approved": approved, "comment": "" if approved else self.pick(rng.choice(REJECTIONS))})
        if status in (QuoteStatus.SENT, QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
            result["sent"] = sent
        if status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
            result["answered"] = answered
        if status == QuoteStatus.ACCEPTED:
            result["order_no"] = deal.order_no
        return result


CUSTOMER_FIELDS = ("status", "source", "preferences", "notes", "region", "segment", "owner", "industry")


def _update_customers(customers: list[Customer]) -> None:
    """Write the record fields of ``customers`` by one prepared UPDATE per row (``executemany``): ``bulk_update``
    builds a CASE per field and row, which takes seconds on SQLite for a thousand customers."""
    meta, qn = Customer._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in CUSTOMER_FIELDS]
    sql = (f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "  # noqa: S608
           f"WHERE {qn(meta.pk.column)} = %s")
    rows = [[f.get_db_prep_save(getattr(c, f.attname), connection) for f in fields] + [c.pk] for c in customers]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
