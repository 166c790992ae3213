"""The demo company: a deterministic, realistic sales organisation to try salesops on, and bulk lines for benchmarks.

Role in the flow: ``salesops demo`` calls ``load_demo`` (and ``wipe`` with ``--reset``); ``salesops demo --scale N``
calls ``add_scale_lines``; ``salesops bench`` drives both in a temporary database.

What the demo holds: 全国 → 4 regions → provinces → cities; a national sales department (the director) over five
regional teams with managers; 40 reps with different strengths, three ramping new hires, three mid-year leavers and
a transfer between teams; 2 product lines with 9 categories and 33 products with real margin differences; 1,000+
customers in three segments, each buying software, hardware or both, with favourite products weighted by segment
and industry, some won during the years shown, some lapsing, a few prospects who never bought; order lines over two
full past years and the current year to date with Chinese seasonality (Spring Festival dip, 618, year-end peak),
growth, 60/40 and 50/50 splits, partial payments and returns linked to their originals.

Cross-sell structure, so that recommendations evaluated on a time hold-out mean something: an order is either an
anchor product with its bundle (``COMPANIONS``: a server with disks and a switch, a laptop with a monitor) or the
follow-ons a customer's first purchase of a product made due (``FOLLOW_ONS``: training and the mobile app weeks to
months after the CRM suite, the analytics add-ons within the year, the maintenance renewal after a year, scanners
for a new supply-chain system), bought with the customer's next order once their lag has passed.

Invariants:
- Deterministic: every draw comes from ``random.Random(seed)`` in a fixed order (never the global RNG, never set
  order), so the same seed and the same ``today`` give the same rows; the language changes names only.
- Money is ``Decimal`` with two places (integer cents on the raw bulk path), never float: net amounts come from
  ``org.services.compute_net_amount``, credits from ``org.services.credit_amounts`` (they sum exactly to the line).
- One transaction: a failed load leaves nothing behind; a second load finds the demo and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core import audit
from salesops.core.models import AuditEvent
from salesops.core.roles import Role
from salesops.core.services import user_create
from salesops.engine.money import RoundingPolicy
from salesops.engine.periods import add_months
from salesops.org import services as org
from salesops.org.models import (
    Company,
    Customer,
    CustomerSegment,
    DisplayUnit,
    LineStatus,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    SalespersonStatus,
    Team,
)

Progress = Callable[[str], None]

DEMO_PASSWORD = "salesops-demo"  # noqa: S105 - the public password of the demo accounts, shown on the login page
DEMO_PREFIX = "DEMO-"
DEMO_MARKER = f"{DEMO_PREFIX}C00001"  # external id of the demo's first customer: "the demo is loaded"
SCALE_PREFIX = "SCALE-"

DEMO_ACCOUNTS: list[dict] = [
    {"username": "admin", "password": DEMO_PASSWORD, "role": Role.ADMIN,
     "description": gettext_lazy("Administrator: sees and edits everything, including the audit log")},
    {"username": "ops", "password": DEMO_PASSWORD, "role": Role.OPS,
     "description": gettext_lazy("Sales operations: sees and edits all organisation and sales data")},
    {"username": "director", "password": DEMO_PASSWORD, "role": Role.MANAGER,
     "description": gettext_lazy("Sales director heading the national sales department; sees every team")},
    {"username": "manager", "password": DEMO_PASSWORD, "role": Role.MANAGER,
     "description": gettext_lazy("Manager of East Team 1 (华东一组); sees their team's people, customers and sales")},
    {"username": "rep", "password": DEMO_PASSWORD, "role": Role.REP,
     "description": gettext_lazy("Sales rep in East Team 1 (华东一组); sees only their own customers and sales")},
    {"username": "rep2", "password": DEMO_PASSWORD, "role": Role.REP,
     "description": gettext_lazy("Sales rep in the South Team (华南组); sees only their own customers and sales")},
    {"username": "hr", "password": DEMO_PASSWORD, "role": Role.HR,
     "description": gettext_lazy("HR: sees people and assignments, no sales data")},
    {"username": "finance", "password": DEMO_PASSWORD, "role": Role.FINANCE,
     "description": gettext_lazy("Finance: sees people, customers and sales transactions, read-only")},
]
DEMO_USERNAMES = [a["username"] for a in DEMO_ACCOUNTS]

LANGUAGES = ("zh-hans", "en")
POLICY = RoundingPolicy.HALF_UP


class DemoError(Exception):
    """The demo cannot be loaded as asked; the message says why and what to do."""


@dataclass(frozen=True)
class DemoSize:
    """How much to generate. The structure (trees, people, products, customers) is the same at every size; the
    order volume scales with ``orders_per_rep_month`` (the mean for a full-strength rep in an average month)."""

    customers: int = 1200
    orders_per_rep_month: float = 9.5


FULL = DemoSize()
SMALL = DemoSize(customers=1000, orders_per_rep_month=0.5)  # same structure, ~5% of the lines: tests, quick tries


# -- reference data: (code, 中文, English, ...) -------------------------------------------------------------
COMPANY_NAME = ("云启科技有限公司", "Yunqi Technology Co., Ltd.")

REGIONS = ("CN", "全国", "China", [
    ("E", "华东", "East China", [
        ("SH", "上海市", "Shanghai", [("SH", "上海", "Shanghai")]),
        ("JS", "江苏省", "Jiangsu", [("NJ", "南京", "Nanjing"), ("SZ", "苏州", "Suzhou"), ("WX", "无锡", "Wuxi")]),
        ("ZJ", "浙江省", "Zhejiang", [("HZ", "杭州", "Hangzhou"), ("NB", "宁波", "Ningbo")]),
        ("AH", "安徽省", "Anhui", [("HF", "合肥", "Hefei")]),
    ]),
    ("S", "华南", "South China", [
        ("GD", "广东省", "Guangdong", [("GZ", "广州", "Guangzhou"), ("SZ", "深圳", "Shenzhen"),
                                    ("DG", "东莞", "Dongguan"), ("FS", "佛山", "Foshan")]),
        ("FJ", "福建省", "Fujian", [("FZ", "福州", "Fuzhou"), ("XM", "厦门", "Xiamen")]),
    ]),
    ("N", "华北", "North China", [
        ("BJ", "北京市", "Beijing", [("BJ", "北京", "Beijing")]),
        ("TJ", "天津市", "Tianjin", [("TJ", "天津", "Tianjin")]),
        ("HE", "河北省", "Hebei", [("SJZ", "石家庄", "Shijiazhuang"), ("TS", "唐山", "Tangshan")]),
        ("SD", "山东省", "Shandong", [("JN", "济南", "Jinan"), ("QD", "青岛", "Qingdao")]),
    ]),
    ("SW", "西南", "Southwest China", [
        ("SC", "四川省", "Sichuan", [("CD", "成都", "Chengdu"), ("MY", "绵阳", "Mianyang")]),
        ("CQ", "重庆市", "Chongqing", [("CQ", "重庆", "Chongqing")]),
        ("YN", "云南省", "Yunnan", [("KM", "昆明", "Kunming")]),
    ]),
])

ROOT_TEAM = ("T-HQ", "全国销售部", "National Sales")
# (code, 中文, English, region code, rep seats, yearly growth)
TEAMS = [
    ("T-E1", "华东一组", "East Team 1", "CN-E", 8, 1.12),
    ("T-E2", "华东二组", "East Team 2", "CN-E", 8, 1.10),
    ("T-S1", "华南组", "South Team", "CN-S", 7, 1.15),
    ("T-N1", "华北组", "North Team", "CN-N", 7, 1.03),
    ("T-W1", "西南组", "Southwest Team", "CN-SW", 8, 1.25),
]

SEGMENTS = [("KA", "大客户", "Key accounts"), ("MM", "中型企业", "Mid-market"), ("SMB", "小微企业", "Small business")]
SEGMENT_SHARE = (10, 30, 60)  # % of customers
SEGMENT_ACTIVITY = (4.0, 2.0, 1.0)  # how often a customer orders, relative
SEGMENT_DISCOUNT = ((8, 22), (3, 12), (0, 6))  # order discount range, in %

CATEGORIES = [
    ("SW", "软件", "Software", [("SW-CRM", "客户关系管理", "CRM"), ("SW-ERP", "企业资源计划", "ERP"),
                              ("SW-BI", "数据分析", "Analytics"), ("SW-CLD", "云服务", "Cloud services"),
                              ("SW-SVC", "实施与服务", "Services")]),
    ("HW", "硬件", "Hardware", [("HW-SRV", "服务器", "Servers"), ("HW-STO", "存储", "Storage"),
                              ("HW-NET", "网络设备", "Networking"), ("HW-END", "终端设备", "End-user devices")]),
]


@dataclass(frozen=True)
class _Product:
    sku: str
    category: str
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    price: Decimal
    cost: Decimal
    qty: str  # quantity pattern, see QTY
    max_discount: int  # %, keeps hardware margins thin but positive


def _p(sku, cat, zh, en, unit_zh, unit_en, price, cost, qty, max_discount) -> _Product:
    return _Product(sku, cat, zh, en, unit_zh, unit_en, Decimal(price), Decimal(cost), qty, max_discount)


PRODUCTS = [
    _p("SW-CRM-STD", "SW-CRM", "CRM 标准版", "CRM Standard", "用户", "user", "1200.00", "180.00", "seat", 30),
    _p("SW-CRM-PRO", "SW-CRM", "CRM 专业版", "CRM Professional", "用户", "user", "2400.00", "300.00", "seat", 30),
    _p("SW-CRM-ENT", "SW-CRM", "CRM 企业版", "CRM Enterprise", "用户", "user", "4800.00", "520.00", "seat", 35),
    _p("SW-CRM-MOB", "SW-CRM", "移动销售 App", "Mobile Sales App", "用户", "user", "600.00", "60.00", "seat", 30),
    _p("SW-ERP-FIN", "SW-ERP", "ERP 财务模块", "ERP Finance", "套", "set", "68000.00", "9000.00", "one", 25),
    _p("SW-ERP-SCM", "SW-ERP", "ERP 供应链模块", "ERP Supply Chain", "套", "set", "88000.00", "12000.00", "one", 25),
    _p("SW-ERP-MFG", "SW-ERP", "ERP 生产制造模块", "ERP Manufacturing", "套", "set", "120000.00", "18000.00", "one", 25),
    _p("SW-ERP-HR", "SW-ERP", "ERP 人力资源模块", "ERP Human Resources", "套", "set", "45000.00", "6000.00", "one", 25),
    _p("SW-BI-RPT", "SW-BI", "BI 报表平台", "BI Reporting", "套", "set", "36000.00", "4000.00", "one", 25),
    _p("SW-BI-DP", "SW-BI", "数据中台", "Data Platform", "套", "set", "260000.00", "52000.00", "one", 20),
    _p("SW-BI-AI", "SW-BI", "AI 销售预测插件", "AI Sales Forecasting", "套", "set", "18000.00", "2500.00", "one", 25),
    _p("SW-CLD-VM", "SW-CLD", "云主机（年付）", "Cloud VM (yearly)", "台·年", "VM-year", "4800.00", "2900.00", "unit", 15),
    _p("SW-CLD-OSS", "SW-CLD", "对象存储（年付）", "Object Storage (yearly)", "TB·年", "TB-year", "1500.00", "800.00",
       "unit", 15),
    _p("SW-CLD-MAIL", "SW-CLD", "企业邮箱（年付）", "Business Email (yearly)", "用户·年", "user-year", "120.00", "30.00",
       "seat", 30),
    _p("SW-CLD-SEC", "SW-CLD", "安全防护（年付）", "Security Suite (yearly)", "套·年", "set-year", "9800.00", "2200.00",
       "one", 25),
    _p("SW-SVC-IMP", "SW-SVC", "实施服务", "Implementation", "人天", "person-day", "2500.00", "1400.00", "days", 15),
    _p("SW-SVC-TRN", "SW-SVC", "培训服务", "Training", "人天", "person-day", "1800.00", "900.00", "days", 15),
    _p("SW-SVC-MNT", "SW-SVC", "年度维保", "Annual Maintenance", "套·年", "set-year", "12000.00", "3000.00", "one", 20),
    _p("HW-SRV-2U", "HW-SRV", "机架服务器 2U", "2U Rack Server", "台", "unit", "48000.00", "39000.00", "unit", 10),
    _p("HW-SRV-GPU", "HW-SRV", "GPU 服务器", "GPU Server", "台", "unit", "260000.00", "221000.00", "one", 8),
    _p("HW-SRV-BLD", "HW-SRV", "刀片服务器", "Blade Server", "台", "unit", "72000.00", "60000.00", "unit", 10),
    _p("HW-STO-AFA", "HW-STO", "全闪存储阵列", "All-flash Array", "台", "unit", "180000.00", "140000.00", "one", 10),
    _p("HW-STO-NAS", "HW-STO", "NAS 存储", "NAS Storage", "台", "unit", "22000.00", "16500.00", "unit", 10),
    _p("HW-STO-HDD", "HW-STO", "企业级硬盘 16TB", "16TB Enterprise Disk", "块", "piece", "2600.00", "2100.00", "small", 8),
    _p("HW-NET-CORE", "HW-NET", "核心交换机", "Core Switch", "台", "unit", "85000.00", "62000.00", "one", 12),
    _p("HW-NET-ACC", "HW-NET", "接入交换机", "Access Switch", "台", "unit", "6800.00", "4900.00", "unit", 12),
    _p("HW-NET-FW", "HW-NET", "企业级防火墙", "Firewall", "台", "unit", "38000.00", "27000.00", "one", 12),
    _p("HW-NET-AP", "HW-NET", "无线 AP", "Wireless Access Point", "台", "unit", "1900.00", "1250.00", "small", 12),
    _p("HW-END-NB", "HW-END", "商务笔记本", "Business Laptop", "台", "unit", "7500.00", "6300.00", "unit", 6),
    _p("HW-END-WS", "HW-END", "台式工作站", "Desktop Workstation", "台", "unit", "12000.00", "9800.00", "unit", 6),
    _p("HW-END-MON", "HW-END", "27 英寸显示器", "27-inch Monitor", "台", "unit", "1799.90", "1450.00", "small", 6),
    _p("HW-END-PNL", "HW-END", "会议平板", "Meeting Display", "台", "unit", "16000.00", "11500.00", "unit", 10),
    _p("HW-END-SCN", "HW-END", "扫码枪", "Barcode Scanner", "把", "piece", "479.50", "330.00", "small", 6),
]
SKU_INDEX = {p.sku: i for i, p in enumerate(PRODUCTS)}

# quantity range per segment (KA, MM, SMB)
QTY = {
    "seat": ((20, 120), (8, 40), (2, 12)),
    "unit": ((3, 16), (2, 8), (1, 3)),
    "one": ((1, 2), (1, 1), (1, 1)),
    "days": ((10, 40), (4, 15), (2, 6)),
    "small": ((10, 60), (4, 24), (2, 8)),
}

# Bundles: buyers of the key product often take these in the same order, with the given probability.
COMPANIONS = {
    "SW-CRM-STD": [("SW-CLD-MAIL", 0.1)],
    "SW-CRM-PRO": [("SW-SVC-IMP", 0.4)],
    "SW-CRM-ENT": [("SW-SVC-IMP", 0.6)],
    "SW-ERP-FIN": [("SW-SVC-IMP", 0.7)],
    "SW-ERP-SCM": [("SW-SVC-IMP", 0.7), ("HW-SRV-2U", 0.3)],
    "SW-ERP-MFG": [("SW-SVC-IMP", 0.8), ("HW-SRV-2U", 0.35)],
    "SW-ERP-HR": [("SW-SVC-IMP", 0.5)],
    "SW-BI-RPT": [("SW-SVC-IMP", 0.3)],
    "SW-BI-DP": [("HW-SRV-GPU", 0.4), ("HW-STO-AFA", 0.4), ("SW-SVC-IMP", 0.8)],
    "SW-CLD-VM": [("SW-CLD-OSS", 0.35)],
    "HW-SRV-2U": [("HW-STO-HDD", 0.45), ("HW-NET-ACC", 0.4)],
    "HW-SRV-GPU": [("HW-STO-AFA", 0.5), ("HW-NET-CORE", 0.3)],
    "HW-SRV-BLD": [("HW-STO-AFA", 0.3), ("HW-NET-CORE", 0.35)],
    "HW-STO-AFA": [("HW-STO-HDD", 0.4)],
    "HW-STO-NAS": [("HW-STO-HDD", 0.7)],
    "HW-NET-CORE": [("HW-NET-ACC", 0.7), ("HW-NET-FW", 0.3)],
    "HW-NET-ACC": [("HW-NET-AP", 0.5)],
    "HW-END-NB": [("HW-END-MON", 0.6)],
    "HW-END-WS": [("HW-END-MON", 0.7)],
}

# Follow-ons: a customer's first purchase of the key product makes a later purchase of these likely — training a
# few weeks after the CRM suite, the mobile app and analytics add-ons within the year, the maintenance renewal
# after a year, scanners for a new supply-chain system — as (product, probability, earliest and latest lag in
# days). The follow-on is bought with the customer's first order once it is due, so it lands after the lag; a
# time hold-out sees anchors before the cut and their follow-ons after it (what the recommender must find).
FOLLOW_ONS = {
    "SW-CRM-STD": [("SW-SVC-TRN", 0.75, 20, 90), ("SW-CRM-MOB", 0.75, 45, 240), ("SW-CLD-MAIL", 0.35, 60, 300),
                   ("SW-CRM-PRO", 0.2, 240, 540)],
    "SW-CRM-PRO": [("SW-SVC-IMP", 0.7, 7, 60), ("SW-SVC-TRN", 0.9, 20, 90), ("SW-CRM-MOB", 0.9, 30, 240),
                   ("SW-BI-RPT", 0.5, 120, 420), ("SW-BI-AI", 0.4, 180, 480), ("SW-SVC-MNT", 0.7, 330, 390)],
    "SW-CRM-ENT": [("SW-SVC-IMP", 0.85, 7, 60), ("SW-SVC-TRN", 0.9, 20, 90), ("SW-CRM-MOB", 0.9, 30, 240),
                   ("SW-BI-AI", 0.65, 120, 420), ("SW-SVC-MNT", 0.9, 330, 390), ("SW-BI-DP", 0.15, 270, 540)],
    "SW-ERP-FIN": [("SW-SVC-IMP", 0.85, 7, 60), ("SW-SVC-TRN", 0.85, 30, 120), ("SW-ERP-HR", 0.55, 90, 360),
                   ("SW-SVC-MNT", 0.9, 330, 390), ("SW-BI-RPT", 0.5, 150, 450)],
    "SW-ERP-SCM": [("SW-SVC-IMP", 0.85, 7, 60), ("SW-SVC-TRN", 0.85, 30, 120), ("SW-ERP-FIN", 0.55, 60, 300),
                   ("SW-SVC-MNT", 0.9, 330, 390), ("HW-END-SCN", 0.65, 30, 180)],
    "SW-ERP-MFG": [("SW-SVC-IMP", 0.85, 7, 60), ("SW-SVC-TRN", 0.9, 30, 120), ("SW-ERP-SCM", 0.65, 60, 360),
                   ("SW-SVC-MNT", 0.9, 330, 390), ("HW-END-SCN", 0.7, 30, 180), ("HW-END-PNL", 0.35, 60, 300)],
    "SW-ERP-HR": [("SW-SVC-IMP", 0.7, 7, 60), ("SW-SVC-TRN", 0.7, 30, 120), ("SW-SVC-MNT", 0.65, 330, 390)],
    "SW-BI-RPT": [("SW-BI-AI", 0.7, 90, 360), ("SW-SVC-TRN", 0.65, 20, 90)],
    "SW-BI-DP": [("SW-BI-AI", 0.85, 60, 300), ("SW-SVC-MNT", 0.9, 330, 390), ("SW-SVC-TRN", 0.7, 20, 90)],
    "SW-BI-AI": [("SW-SVC-TRN", 0.5, 20, 90)],
    "SW-CLD-VM": [("SW-CLD-SEC", 0.75, 30, 240), ("SW-CLD-OSS", 0.65, 30, 180)],
    "SW-CLD-MAIL": [("SW-CLD-SEC", 0.4, 60, 300), ("SW-CRM-STD", 0.2, 120, 480)],
    "HW-SRV-2U": [("HW-STO-HDD", 0.55, 30, 180), ("HW-STO-NAS", 0.5, 60, 300), ("SW-SVC-MNT", 0.65, 330, 390),
                  ("HW-NET-FW", 0.4, 30, 240)],
    "HW-SRV-GPU": [("SW-BI-AI", 0.65, 30, 240), ("SW-SVC-MNT", 0.75, 330, 390)],
    "HW-SRV-BLD": [("SW-SVC-MNT", 0.75, 330, 390), ("HW-STO-AFA", 0.5, 60, 300)],
    "HW-STO-AFA": [("SW-SVC-MNT", 0.7, 330, 390)],
    "HW-STO-NAS": [("HW-STO-HDD", 0.85, 30, 240)],
    "HW-NET-CORE": [("HW-NET-AP", 0.75, 30, 240), ("HW-NET-FW", 0.65, 30, 240), ("SW-SVC-MNT", 0.55, 330, 390)],
    "HW-NET-FW": [("SW-CLD-SEC", 0.65, 30, 240)],
    "HW-END-NB": [("HW-END-MON", 0.7, 14, 120), ("HW-END-PNL", 0.35, 60, 360), ("SW-CLD-MAIL", 0.35, 30, 180)],
    "HW-END-WS": [("HW-END-MON", 0.7, 14, 120)],
    "HW-END-PNL": [("HW-NET-AP", 0.65, 14, 120)],
}
FOLLOW_ON_SHARE = 0.85  # an order of a customer with follow-ons due is those follow-ons this often
FAVOURITE_SHARE = 0.65  # otherwise an order starts with the segment's usual products

# which products each segment starts an order with (weights)
ANCHORS = (
    {"SW-ERP-FIN": 6, "SW-ERP-SCM": 5, "SW-ERP-MFG": 4, "SW-ERP-HR": 3, "SW-BI-DP": 2, "SW-BI-RPT": 3, "SW-CRM-ENT": 6,
     "HW-SRV-2U": 5, "HW-SRV-GPU": 2, "HW-SRV-BLD": 3, "HW-STO-AFA": 3, "HW-NET-CORE": 3, "HW-NET-FW": 2,
     "SW-SVC-MNT": 2, "SW-CLD-SEC": 2, "HW-END-WS": 2, "HW-END-NB": 3},
    {"SW-CRM-PRO": 7, "SW-CRM-STD": 3, "SW-ERP-FIN": 3, "SW-ERP-HR": 2, "SW-BI-RPT": 4, "SW-BI-AI": 2, "SW-CLD-VM": 5,
     "SW-CLD-SEC": 3, "HW-SRV-2U": 4, "HW-STO-NAS": 4, "HW-NET-FW": 3, "HW-NET-ACC": 3, "HW-END-NB": 5,
     "HW-END-WS": 3, "HW-END-PNL": 3},
    {"SW-CRM-STD": 8, "SW-CLD-MAIL": 6, "SW-CLD-VM": 5, "SW-CLD-OSS": 2, "HW-END-NB": 7, "HW-END-MON": 4,
     "HW-END-SCN": 4, "HW-NET-AP": 4, "HW-NET-ACC": 2, "HW-STO-NAS": 2, "SW-CRM-PRO": 2, "HW-END-PNL": 1},
)

# Chinese B2B seasonality by calendar month: Spring Festival dip in February, "618" in June, a Double-11 bump,
# budgets spent in December.
SEASONALITY = (0.85, 0.55, 1.00, 0.95, 1.00, 1.25, 0.90, 0.90, 1.05, 0.92, 1.15, 1.45)

INDUSTRIES = [  # (industry zh, en, word in a company name zh, en)
    ("制造业", "Manufacturing", "制造", "Manufacturing"),
    ("信息技术", "Information technology", "科技", "Technology"),
    ("医药健康", "Healthcare", "医药", "Pharmaceutical"),
    ("物流运输", "Logistics", "物流", "Logistics"),
    ("批发零售", "Wholesale and retail", "商贸", "Trading"),
    ("金融服务", "Financial services", "金融服务", "Financial Services"),
    ("教育培训", "Education", "教育", "Education"),
    ("能源化工", "Energy and chemicals", "能源", "Energy"),
    ("建筑地产", "Construction and real estate", "建设", "Construction"),
    ("餐饮酒店", "Hospitality", "餐饮管理", "Hospitality"),
    ("汽车零部件", "Automotive parts", "汽车部件", "Auto Parts"),
    ("电子元器件", "Electronics", "电子", "Electronics"),
]
# what an industry favours among its segment's usual first purchases (their weight × INDUSTRY_TASTE)
INDUSTRY_TASTES = {
    "Manufacturing": ("SW-ERP-MFG", "SW-ERP-SCM", "HW-END-SCN", "HW-END-PNL"),
    "Information technology": ("SW-CLD-VM", "HW-SRV-GPU", "SW-BI-DP", "HW-SRV-2U"),
    "Healthcare": ("SW-CLD-SEC", "HW-NET-FW", "SW-ERP-HR"),
    "Logistics": ("SW-ERP-SCM", "HW-END-SCN", "SW-CRM-STD"),
    "Wholesale and retail": ("SW-ERP-SCM", "HW-END-SCN", "SW-CRM-PRO", "SW-CRM-STD"),
    "Financial services": ("SW-CLD-SEC", "HW-NET-FW", "SW-BI-RPT", "HW-STO-AFA"),
    "Education": ("HW-END-PNL", "HW-END-NB", "HW-NET-AP"),
    "Energy and chemicals": ("SW-ERP-MFG", "SW-ERP-FIN", "HW-SRV-BLD"),
    "Construction and real estate": ("SW-ERP-FIN", "SW-CRM-PRO", "HW-END-NB"),
    "Hospitality": ("SW-CRM-STD", "HW-NET-AP", "SW-CLD-MAIL"),
    "Automotive parts": ("SW-ERP-MFG", "SW-ERP-SCM", "HW-END-SCN"),
    "Electronics": ("SW-ERP-MFG", "SW-ERP-SCM", "HW-END-WS"),
}
INDUSTRY_TASTE = 3
# a customer buys software, hardware or both (their first purchases come from those product lines)
FOCUS = (("SW",), ("HW",), ("SW", "HW"))
FOCUS_SHARE = (40, 35, 25)
# customers' lives: some are won during the years shown, some stop buying, a few are prospects who never bought
NEW_CUSTOMER_SHARE, CHURN_SHARE, PROSPECT_SHARE = 0.3, 0.07, 0.05
SUFFIXES = [("有限公司", "Co., Ltd."), ("股份有限公司", "Corp."), ("集团有限公司", "Group Co., Ltd.")]
BRAND = [
    ("华", "hua"), ("信", "xin"), ("中", "zhong"), ("恒", "heng"), ("泰", "tai"), ("达", "da"), ("博", "bo"),
    ("瑞", "rui"), ("金", "jin"), ("宏", "hong"), ("远", "yuan"), ("盛", "sheng"), ("安", "an"), ("天", "tian"),
    ("海", "hai"), ("创", "chuang"), ("联", "lian"), ("永", "yong"), ("佳", "jia"), ("德", "de"), ("润", "run"),
    ("通", "tong"), ("辰", "chen"), ("锦", "jin"), ("汇", "hui"), ("祥", "xiang"), ("凯", "kai"), ("东", "dong"),
    ("鼎", "ding"), ("丰", "feng"), ("卓", "zhuo"), ("力", "li"), ("启", "qi"), ("明", "ming"), ("诚", "cheng"),
    ("鑫", "xin"), ("晟", "sheng"), ("嘉", "jia"), ("兴", "xing"), ("宇", "yu"),
]
SURNAMES = [
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"), ("黄", "Huang"),
    ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"), ("马", "Ma"), ("朱", "Zhu"),
    ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"), ("高", "Gao"), ("罗", "Luo"),
]
GIVEN = [
    ("伟", "Wei"), ("娜", "Na"), ("芳", "Fang"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"), ("强", "Qiang"),
    ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"), ("杰", "Jie"), ("娟", "Juan"),
    ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("秀英", "Xiuying"), ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"),
    ("建华", "Jianhua"), ("晓东", "Xiaodong"), ("子涵", "Zihan"), ("浩然", "Haoran"), ("雨轩", "Yuxuan"),
    ("思远", "Siyuan"), ("欣怡", "Xinyi"), ("文博", "Wenbo"), ("佳琪", "Jiaqi"),
]
TITLES = {
    "director": ("销售总监", "Sales Director", "M3"),
    "manager": ("销售经理", "Sales Manager", "M1"),
    "senior": ("高级销售代表", "Senior Sales Representative", "P6"),
    "rep": ("销售代表", "Sales Representative", "P5"),
    "junior": ("销售专员", "Sales Associate", "P4"),
}
RAMP_SCHEDULE = [25, 50, 75]


# -- the plan: everything drawn in memory first, then written in one transaction --------------------------
@dataclass
class _Person:
    key: str
    name: tuple[str, str]  # (中文, English)
    email: str
    hire: dt.date
    kind: str  # a TITLES key
    leave: dt.date | None = None
    ramp: list[int] = field(default_factory=list)
    strength: float = 1.0
    trend: float = 1.0  # extra factor on this year's sales: < 1 falls behind, > 1 rises
    moves: list[tuple[int, dt.date]] = field(default_factory=list)  # (team index, from) — the assignment history


@dataclass
class _Seat:
    team: int
    holders: list[tuple[int, dt.date | None, dt.date | None]]  # (person, from, to) over time
    customers: list[int] = field(default_factory=list)
    cum_weights: list[float] = field(default_factory=list)


@dataclass
class _Customer:
    name: tuple[str, str]
    segment: int
    city: str
    industry: int
    seat: int
    activity: float
    favourites: list[int]
    focus: tuple[str, ...] = ("SW", "HW")  # product lines (category codes) the customer starts orders with
    since: dt.date | None = None  # first day the customer buys (None: before the data starts)
    until: dt.date | None = None  # last day the customer buys (None: still buying)
    bought: set[int] = field(default_factory=set)  # products bought so far (while the lines are drawn)
    pending: list[tuple[dt.date, int]] = field(default_factory=list)  # follow-ons: (due, product), by due date

    def buys_on(self, day: dt.date) -> bool:
        return self.activity > 0 and (self.since is None or self.since <= day) and \
            (self.until is None or day <= self.until)


@dataclass
class _Line:
    order_no: str
    date: dt.date
    customer: int
    product: int
    qty: int
    discount: Decimal
    net: Decimal
    cost: Decimal
    status: str
    credits: list[tuple[int, Decimal]]
    original: int | None = None


class _Plan:
    """Draws the whole company. Pure Python and the seeded RNG only; no database."""

    def __init__(self, seed: int, today: dt.date, size: DemoSize):
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not secrets; seeded for reproducibility
        self.today = today
        self.size = size
        self.start = dt.date(today.year - 2, 1, 1)
        self.year_start = dt.date(today.year, 1, 1)
        self.people: list[_Person] = []
        self.seats: list[_Seat] = []
        self.customers: list[_Customer] = []
        self.lines: list[_Line] = []
        self.payments: list[tuple[int, dt.date, Decimal]] = []
        self.managers: list[int] = []
        self.director = -1
        self.rep = self.rep2 = -1
        self.orders = 0
        self.keep: set[int] = set()  # lines never returned (the guaranteed sales of the demo reps)
        self._names: set[tuple[int, str]] = set()
        self._emails: set[str] = set()
        self.cities = self._cities()

    # people ------------------------------------------------------------------------------------------------
    def _cities(self) -> dict[str, list[str]]:
        by_region: dict[str, list[str]] = {}
        code0, _zh, _en, regions = REGIONS
        for code1, _z1, _e1, provinces in regions:
            for code2, _z2, _e2, cities in provinces:
                for code3, _z3, _e3 in cities:
                    by_region.setdefault(f"{code0}-{code1}", []).append(f"{code0}-{code1}-{code2}-{code3}")
        return by_region

    def _person(self, key: str, kind: str, hire: dt.date, **extra) -> int:
        while True:
            s, g = self.rng.randrange(len(SURNAMES)), self.rng.randrange(len(GIVEN))
            if (s, GIVEN[g][1]) not in self._names:
                self._names.add((s, GIVEN[g][1]))
                break
        email = f"{GIVEN[g][1]}.{SURNAMES[s][1]}".lower()
        n = 1
        while f"{email}{n if n > 1 else ''}" in self._emails:
            n += 1
        email = f"{email}{n if n > 1 else ''}"
        self._emails.add(email)
        self.people.append(_Person(
            key=key, name=(SURNAMES[s][0] + GIVEN[g][0], f"{GIVEN[g][1]} {SURNAMES[s][1]}"),
            email=f"{email}@yunqi.example.com", hire=hire, kind=kind, **extra))
        return len(self.people) - 1

    def _day_in_year(self, share: float) -> dt.date:
        elapsed = (self.today - self.year_start).days
        return self.year_start + dt.timedelta(days=int(elapsed * share))

    def _veteran_hire(self, min_days: int, max_days: int) -> dt.date:
        return self.start - dt.timedelta(days=self.rng.randint(min_days, max_days))

    def draw_people(self) -> None:
        rng, today = self.rng, self.today
        self.director = self._person("director", "director", self._veteran_hire(1500, 3000), strength=0)
        for t in range(len(TEAMS)):
            self.managers.append(self._person(f"manager{t}", "manager", self._veteran_hire(400, 2500), strength=0))
            self.people[self.managers[t]].moves.append((t, self.people[self.managers[t]].hire))
        self.people[self.director].moves.append((-1, self.people[self.director].hire))

        # key dates of this year's people changes (relative to today, so they are always in the current year)
        transfer = self._day_in_year(0.75)
        leave1, leave3 = self._day_in_year(0.35), self._day_in_year(0.45)
        hire2 = min(leave1 + dt.timedelta(days=21), today)
        hire3 = max(self.year_start, today - dt.timedelta(days=40))

        def veteran(team: int, seat: int) -> int:
            tenure = rng.randint(60, 2400)  # days before the data starts
            p = self._person(f"rep:{team}:{seat}", "senior" if tenure > 1200 else "rep",
                             self.start - dt.timedelta(days=tenure),
                             strength=min(1.8, max(0.45, rng.lognormvariate(0, 0.32))))
            self.people[p].moves.append((team, self.people[p].hire))
            return p

        def new_hire(team: int, seat: int, hire: dt.date) -> int:
            p = self._person(f"new:{team}:{seat}", "junior", hire, ramp=list(RAMP_SCHEDULE),
                             strength=min(1.3, max(0.6, rng.lognormvariate(0, 0.2))))
            self.people[p].moves.append((team, hire))
            return p

        for t, (_code, _zh, _en, _region, seats, _growth) in enumerate(TEAMS):
            for s in range(seats):
                special = s == seats - 1
                if not special:
                    p = veteran(t, s)
                    self.seats.append(_Seat(t, [(p, None, None)]))
                    continue
                if t == 0:  # a rep who transfers to the South team this year; a new hire takes the seat
                    x = veteran(t, s)
                    self.people[x].key = "transfer"
                    self.people[x].moves.append((2, transfer))
                    n1 = new_hire(t, s, transfer)
                    self.seats.append(_Seat(t, [(x, None, transfer - dt.timedelta(days=1)), (n1, transfer, None)]))
                elif t == 1:  # a mid-year leaver replaced three weeks later
                    lv = veteran(t, s)
                    self.people[lv].leave = leave1
                    n2 = new_hire(t, s, hire2)
                    self.seats.append(_Seat(t, [(lv, None, leave1), (n2, hire2, None)]))
                elif t == 2:  # a leaver whose accounts the transferred rep takes over
                    lv = veteran(t, s)
                    self.people[lv].leave = transfer - dt.timedelta(days=1)
                    x = next(i for i, p in enumerate(self.people) if p.key == "transfer")
                    self.seats.append(_Seat(t, [(lv, None, transfer - dt.timedelta(days=1)), (x, transfer, None)]))
                elif t == 3:  # a leaver whose accounts a teammate covers
                    lv = veteran(t, s)
                    self.people[lv].leave = leave3
                    cover = self.seats[-1].holders[0][0]
                    self.seats.append(_Seat(t, [(lv, None, leave3), (cover, leave3 + dt.timedelta(days=1), None)]))
                else:  # a new territory opened this year
                    n3 = new_hire(t, s, hire3)
                    self.seats.append(_Seat(t, [(n3, hire3, None)]))
        # some veterans fall behind this year, a few rise: rankings and behind-pace alerts have something to show
        veterans = [i for i, p in enumerate(self.people) if p.key.startswith("rep:") and p.leave is None]
        self.rep = next(i for i, p in enumerate(self.people) if p.key == "rep:0:0")
        self.rep2 = next(i for i, p in enumerate(self.people) if p.key == "rep:2:0")
        self.people[self.rep].strength, self.people[self.rep2].strength = 1.35, 0.95
        others = [i for i in veterans if i not in (self.rep, self.rep2)]
        picks = rng.sample(others, 6)
        for i in picks[:4]:
            self.people[i].trend = rng.uniform(0.5, 0.7)
        for i in picks[4:]:
            self.people[i].trend = rng.uniform(1.25, 1.45)

    # customers ---------------------------------------------------------------------------------------------
    def draw_customers(self) -> None:
        rng = self.rng
        seen: set[tuple] = set()
        anchor_lists = [([SKU_INDEX[s] for s in a], list(a.values())) for a in ANCHORS]
        span = (self.today - self.start).days
        for _n in range(self.size.customers):
            seat = rng.randrange(len(self.seats))
            team = self.seats[seat].team
            segment = rng.choices(range(3), weights=SEGMENT_SHARE)[0]
            while True:
                city = rng.choice(self.cities[TEAMS[team][3]])
                b1, b2 = rng.sample(range(len(BRAND)), 2)
                industry = rng.randrange(len(INDUSTRIES))
                key = (city, BRAND[b1][1], BRAND[b2][1], industry)
                if key not in seen:
                    seen.add(key)
                    break
            suffix = rng.choices(range(3), weights=((2, 3, 5), (6, 3, 1), (9, 1, 0))[segment])[0]
            city_zh, city_en = self._city_names(city)
            ind = INDUSTRIES[industry]
            brand_zh = BRAND[b1][0] + BRAND[b2][0]
            brand_en = (BRAND[b1][1] + BRAND[b2][1]).capitalize()
            name = (f"{city_zh}{brand_zh}{ind[2]}{SUFFIXES[suffix][0]}",
                    f"{city_en} {brand_en} {ind[3]} {SUFFIXES[suffix][1]}")
            focus = FOCUS[rng.choices(range(len(FOCUS)), weights=FOCUS_SHARE)[0]]
            tastes = INDUSTRY_TASTES[ind[1]]
            products, weights = [], []
            for product, weight in zip(*anchor_lists[segment], strict=True):
                if PRODUCTS[product].category[:2] in focus:
                    products.append(product)
                    weights.append(weight * INDUSTRY_TASTE if PRODUCTS[product].sku in tastes else weight)
            favourites = rng.choices(products, weights=weights, k=3)
            activity = SEGMENT_ACTIVITY[segment] * rng.lognormvariate(0, 0.5)
            life = rng.random()
            since = until = None
            if life < PROSPECT_SHARE:
                activity = 0.0
            elif life < PROSPECT_SHARE + NEW_CUSTOMER_SHARE:
                since = self.start + dt.timedelta(days=rng.randrange(span))
            elif life < PROSPECT_SHARE + NEW_CUSTOMER_SHARE + CHURN_SHARE:
                until = self.start + dt.timedelta(days=rng.randrange(span - 120))
            self.customers.append(_Customer(name, segment, city, industry, seat, activity, favourites, focus, since,
                                            until))
            self.seats[seat].customers.append(len(self.customers) - 1)
        for seat in self.seats:
            total = 0.0
            for c in seat.customers:
                total += self.customers[c].activity
                seat.cum_weights.append(total)

    def _city_names(self, code: str) -> tuple[str, str]:
        _c0, _z0, _e0, regions = REGIONS
        c1, c2, c3 = code.split("-")[1:]
        for code1, _z1, _e1, provinces in regions:
            for code2, _z2, _e2, cities in provinces:
                for code3, zh, en in cities:
                    if (code1, code2, code3) == (c1, c2, c3):
                        return zh, en
        raise KeyError(code)

    def owner(self, seat: _Seat) -> int:
        """Who holds the seat today (the customer's owner)."""
        current = [p for p, start, _end in seat.holders if start is None or start <= self.today]
        return current[-1]

    # order lines -------------------------------------------------------------------------------------------
    def _active(self, person: int, day: dt.date) -> bool:
        p = self.people[person]
        return p.hire <= day and (p.leave is None or day <= p.leave)

    def _ramp(self, person: int, month: dt.date) -> float:
        p = self.people[person]
        index = (month.year - p.hire.year) * 12 + month.month - p.hire.month
        return p.ramp[index] / 100 if 0 <= index < len(p.ramp) else 1.0

    def _poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 30:  # normal approximation; exact enough for order counts
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def draw_lines(self) -> None:
        months = (self.today.year - self.start.year) * 12 + self.today.month
        for i in range(months):
            month = add_months(self.start, i)
            month_end = add_months(month, 1) - dt.timedelta(days=1)
            days_in_month = month_end.day
            years = month.year - self.start.year
            for seat in self.seats:
                growth = TEAMS[seat.team][5] ** years
                for person, start, end in seat.holders:
                    p = self.people[person]
                    lo = max(month, start or month, p.hire)
                    hi = min(month_end, end or month_end, p.leave or month_end, self.today)
                    if lo > hi or not seat.customers:
                        continue
                    share = ((hi - lo).days + 1) / days_in_month
                    trend = p.trend if month.year == self.today.year else 1.0
                    lam = (self.size.orders_per_rep_month * SEASONALITY[month.month - 1] * growth * p.strength * trend
                           * self._ramp(person, month) * share * self.rng.lognormvariate(0, 0.15))
                    for _n in range(self._poisson(lam)):
                        self._order(person, seat, lo + dt.timedelta(days=self.rng.randrange((hi - lo).days + 1)))
        self._ensure_sales(self.rep)
        self._ensure_sales(self.rep2)
        self._draw_returns()

    def _ensure_sales(self, person: int) -> None:
        """The home page compares this month to date with the same period last year: make sure both have sales."""
        seat = next(s for s in self.seats if s.holders[0][0] == person)
        this_month = self.today.replace(day=1)
        last_year_day = self.today.replace(year=self.today.year - 1, day=min(self.today.day, 28))
        for lo, hi in ((this_month, self.today), (last_year_day.replace(day=1), last_year_day)):
            if not any(lo <= ln.date <= hi and any(c[0] == person for c in ln.credits) for ln in self.lines):
                self._order(person, seat, lo + dt.timedelta(days=self.rng.randrange((hi - lo).days + 1)),
                            returnable=False)

    def _customer_for(self, seat: _Seat, day: dt.date) -> int:
        """A customer of the seat who buys on ``day``, drawn by activity (a few tries, then the first who does)."""
        for _n in range(6):
            index = self.rng.choices(seat.customers, cum_weights=seat.cum_weights)[0]
            if self.customers[index].buys_on(day):
                return index
        return next((c for c in seat.customers if self.customers[c].buys_on(day)), index)

    def _items(self, customer: _Customer, day: dt.date) -> list[int]:
        """What the order holds: the follow-ons due by ``day`` (most of the time, when there are any), else an
        anchor product — one of the customer's favourites or the segment's usual — with its bundle."""
        rng = self.rng
        due = [p for d, p in customer.pending if d <= day]
        if due and rng.random() < FOLLOW_ON_SHARE:
            items = due[:2]
            customer.pending = [(d, p) for d, p in customer.pending if p not in items]
        else:
            seg = customer.segment
            if rng.random() < FAVOURITE_SHARE:
                anchor = rng.choice(customer.favourites)
            else:
                usual = [(sku, w) for sku, w in ANCHORS[seg].items() if sku[:2] in customer.focus]
                anchor = SKU_INDEX[rng.choices([sku for sku, _w in usual], weights=[w for _s, w in usual])[0]]
            items = [anchor]
            for sku, prob in COMPANIONS.get(PRODUCTS[anchor].sku, []):
                if rng.random() < prob and SKU_INDEX[sku] not in items:
                    items.append(SKU_INDEX[sku])
        for product in items:
            if product in customer.bought:
                continue
            customer.bought.add(product)
            waiting = {p for _d, p in customer.pending}
            for sku, prob, lo, hi in FOLLOW_ONS.get(PRODUCTS[product].sku, []):
                follow = SKU_INDEX[sku]
                if rng.random() < prob and follow not in customer.bought and follow not in waiting:
                    customer.pending.append((day + dt.timedelta(days=rng.randint(lo, hi)), follow))
            customer.pending.sort()
        return items

    def _order(self, person: int, seat: _Seat, day: dt.date, returnable: bool = True) -> None:
        rng = self.rng
        customer_index = self._customer_for(seat, day)
        customer = self.customers[customer_index]
        seg = customer.segment
        items = self._items(customer, day)
        self.orders += 1
        order_no = f"SO{day:%Y%m}-{self.orders:06d}"
        credits = [(person, Decimal(100))]
        if rng.random() < 0.08:  # a split deal with a teammate active that day
            mates = sorted({p for s in self.seats if s.team == seat.team for p, a, b in s.holders
                            if p != person and self._active(p, day) and (a is None or a <= day) and (b is None or day <= b)})
            if mates:
                first = rng.choice([Decimal(60), Decimal(50)])
                credits = [(person, first), (rng.choice(mates), Decimal(100) - first)]
        status = self._status(day)
        lo, hi = SEGMENT_DISCOUNT[seg]
        order_discount = rng.randint(lo, hi)
        for product_index in items:
            product = PRODUCTS[product_index]
            qlo, qhi = QTY[product.qty][seg]
            qty = rng.randint(qlo, qhi)
            discount = Decimal(min(order_discount, product.max_discount)) / 100
            net = org.compute_net_amount(Decimal(qty), product.price, discount, POLICY)
            line = _Line(order_no, day, customer_index, product_index, qty, discount, net, product.cost * qty,
                         status, credits)
            self.lines.append(line)
            if not returnable:
                self.keep.add(len(self.lines) - 1)
            self._pay(len(self.lines) - 1, line)

    def _status(self, day: dt.date) -> str:
        age, r = (self.today - day).days, self.rng.random()
        if age > 120:
            return LineStatus.PAID if r < 0.96 else LineStatus.INVOICED
        if age > 45:
            return LineStatus.PAID if r < 0.55 else LineStatus.INVOICED
        if age > 10:
            return LineStatus.INVOICED if r < 0.7 else LineStatus.BOOKED
        return LineStatus.BOOKED

    def _pay(self, index: int, line: _Line) -> None:
        """Payments received: the full amount for paid lines (1-3 instalments), part of it for some invoiced ones."""
        rng = self.rng
        cents = int(line.net * 100)
        if line.status == LineStatus.PAID:
            due = cents
        elif line.status == LineStatus.INVOICED and rng.random() < 0.4:
            due = cents * rng.randint(20, 80) // 100
        else:
            return
        parts = min(rng.choice((1, 1, 1, 2, 2, 3)), due)
        if due <= 0:
            return
        cuts = sorted(rng.sample(range(1, due), parts - 1)) if parts > 1 else []
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, due], strict=True)]
        first = line.date + dt.timedelta(days=10)
        last = min(line.date + dt.timedelta(days=110), self.today)
        span = max(0, (last - first).days)
        days = sorted(rng.randint(0, span) for _ in amounts)
        for amount, d in zip(amounts, days, strict=True):
            self.payments.append((index, min(first + dt.timedelta(days=d), self.today), Decimal(amount) / 100))

    def _draw_returns(self) -> None:
        """About 2.5% of lines come back, in full or in part, 5-60 days later, as lines linked to the original."""
        rng, originals = self.rng, len(self.lines)
        for index in range(originals):
            line = self.lines[index]
            age = (self.today - line.date).days
            if index in self.keep or age < 20 or rng.random() >= 0.025:
                continue
            qty = line.qty if line.qty == 1 or rng.random() < 0.6 else rng.randint(1, line.qty - 1)
            product = PRODUCTS[line.product]
            day = line.date + dt.timedelta(days=rng.randint(5, min(60, age)))
            net = org.compute_net_amount(Decimal(-qty), product.price, line.discount, POLICY)
            self.lines.append(_Line(f"RMA-{line.order_no}", day, line.customer, line.product, -qty, line.discount, net,
                                    -product.cost * qty, LineStatus.RETURNED, line.credits, original=index))


# -- loading ------------------------------------------------------------------------------------------------
def demo_exists() -> bool:
    return Customer.objects.filter(external_id=DEMO_MARKER).exists()


def _has_other_data() -> bool:
    return any(m.objects.exists() for m in (Salesperson, Team, Region, Product, Customer, OrderLine)) or \
        get_user_model().objects.filter(username__in=DEMO_USERNAMES).exists()


@dataclass(frozen=True)
class DemoResult:
    created: bool
    lines: int = 0
    customers: int = 0
    payments: int = 0
    seconds: float = 0.0


def _noop(_msg: str) -> None:
    pass


def load_demo(*, seed: int = 42, language: str = "zh-hans", size: DemoSize = FULL, today: dt.date | None = None,
              progress: Progress = _noop) -> DemoResult:
    """Create the demo company unless it exists. Refuses (``DemoError``) when other organisation data is present."""
    if language not in LANGUAGES:
        raise DemoError(_("Unknown demo language %(language)s; use one of %(choices)s.") % {
            "language": language, "choices": ", ".join(LANGUAGES)})
    if demo_exists():
        return DemoResult(created=False)
    if _has_other_data():
        raise DemoError(_("The database already holds organisation data or users that are not the demo company; "
                          "run with --reset to wipe them and load the demo."))
    started = time.perf_counter()
    today = today or timezone.localdate()
    plan = _Plan(seed, today, size)
    plan.draw_people()
    plan.draw_customers()
    plan.draw_lines()
    progress(_("Drew %(lines)s order lines for %(customers)s customers in %(seconds).1f s.") % {
        "lines": len(plan.lines), "customers": len(plan.customers), "seconds": time.perf_counter() - started})
    with transaction.atomic():
        _write(plan, language, seed, progress)
    org.analyze()
    return DemoResult(created=True, lines=len(plan.lines), customers=len(plan.customers), payments=len(plan.payments),
                      seconds=time.perf_counter() - started)


KEY_ACCOUNTS = 20


def _write(plan: _Plan, language: str, seed: int, progress: Progress) -> None:
    def pick(pair):
        return pair[1] if language == "en" else pair[0]

    company = Company.current()
    org.company_update(actor=None, company=company, name=pick(COMPANY_NAME), currency_code="CNY", currency_symbol="¥",
                       fiscal_year_start_month=1, rounding_policy=POLICY.value, display_unit=DisplayUnit.YUAN,
                       default_language=language)

    regions: dict[str, Region] = {}

    def region_tree(node, parent: Region | None, prefix: str) -> None:
        code, zh, name_en = node[:3]
        children = node[3] if len(node) > 3 else []
        full = f"{prefix}-{code}" if prefix else code
        regions[full] = org.tree_node_create(actor=None, model=Region, name=pick((zh, name_en)), code=full,
                                             parent=parent)
        for child in children:
            region_tree(child, regions[full], full)

    region_tree(REGIONS, None, "")

    categories: dict[str, ProductCategory] = {}
    for code, zh, name_en, subs in CATEGORIES:
        categories[code] = org.tree_node_create(actor=None, model=ProductCategory, name=pick((zh, name_en)), code=code)
        for sub, szh, sen in subs:
            categories[sub] = org.tree_node_create(actor=None, model=ProductCategory, name=pick((szh, sen)), code=sub,
                                                   parent=categories[code])
    segments = [org.tree_node_create(actor=None, model=CustomerSegment, name=pick((zh, name_en)), code=code)
                for code, zh, name_en in SEGMENTS]
    products = [org.product_create(actor=None, sku=p.sku, name=pick((p.zh, p.en)), category=categories[p.category],
                                   list_price=p.price, standard_cost=p.cost, unit=pick((p.unit_zh, p.unit_en)))
                for p in PRODUCTS]
    progress(_("Created the company, %(regions)s regions, %(products)s products.") % {
        "regions": len(regions), "products": len(products)})

    people: list[Salesperson] = []
    for n, p in enumerate(plan.people, start=1):
        title_zh, title_en, level = TITLES[p.kind]
        status = SalespersonStatus.ACTIVE
        if p.leave:
            status = SalespersonStatus.LEFT
        elif p.ramp and (plan.today.year - p.hire.year) * 12 + plan.today.month - p.hire.month < len(p.ramp):
            status = SalespersonStatus.RAMPING
        people.append(org.salesperson_create(
            actor=None, employee_no=f"E{n:04d}", name=pick(p.name), email=p.email, hire_date=p.hire,
            leave_date=p.leave, title=pick((title_zh, title_en)), level=level, status=status, ramp_schedule=p.ramp))

    root = org.tree_node_create(actor=None, model=Team, name=pick(ROOT_TEAM[1:]), code=ROOT_TEAM[0],
                                manager=people[plan.director])
    teams = [org.tree_node_create(actor=None, model=Team, name=pick((zh, name_en)), code=code, parent=root,
                                  manager=people[plan.managers[t]])
             for t, (code, zh, name_en, _r, _s, _g) in enumerate(TEAMS)]
    for i, p in enumerate(plan.people):
        for move, (team_index, start) in enumerate(p.moves):
            if team_index < 0:
                team, manager, region = root, None, regions["CN"]
            else:
                team = teams[team_index]
                manager = people[plan.director] if i in plan.managers else people[plan.managers[team_index]]
                region = regions[TEAMS[team_index][3]]
            if move == 0:
                org.assignment_create(actor=None, salesperson=people[i], team=team, manager=manager, region=region,
                                      start_date=start, end_date=p.leave)
            else:
                org.assignment_transfer(actor=None, salesperson=people[i], team=team, on=start, manager=manager,
                                        region=region)
    _create_users(plan, people, pick)
    progress(_("Created %(people)s salespeople in %(teams)s teams and %(users)s demo accounts.") % {
        "people": len(people), "teams": len(teams) + 1, "users": len(DEMO_ACCOUNTS)})

    customers = [
        Customer(external_id=f"{DEMO_PREFIX}C{n:05d}", name=pick(c.name), segment=segments[c.segment],
                 region=regions[c.city], industry=pick(INDUSTRIES[c.industry][:2]),
                 owner=people[plan.owner(plan.seats[c.seat])])
        for n, c in enumerate(plan.customers, start=1)
    ]
    Customer.objects.bulk_create(customers, batch_size=500)
    _write_lines(plan, customers, products, people)
    progress(_("Wrote %(lines)s order lines, %(payments)s payments.") % {
        "lines": len(plan.lines), "payments": len(plan.payments)})
    # The biggest customers over the years are the key accounts (their own level in target plans).
    top = (OrderLine.objects.values("customer_id").annotate(s=Sum("net_amount")).order_by("-s", "customer_id")
           .values_list("customer_id", flat=True)[:KEY_ACCOUNTS])
    Customer.objects.filter(pk__in=list(top)).update(key_account=True)
    org.sales_monthly_refresh()
    audit.record(actor=None, event="demo.loaded", subject=company,
                 new={"seed": seed, "language": language, "today": plan.today, "lines": len(plan.lines),
                      "customers": len(plan.customers)})


def _create_users(plan: _Plan, people: list[Salesperson], pick) -> None:
    """One user per role; the password is hashed once (hashing is deliberately slow) and shared by all."""
    hashed = make_password(DEMO_PASSWORD)
    linked = {"director": plan.director, "manager": plan.managers[0], "rep": plan.rep, "rep2": plan.rep2}
    for account in DEMO_ACCOUNTS:
        username = account["username"]
        person = linked.get(username)
        first_name = pick(plan.people[person].name) if person is not None else username.title()
        user, _profile = user_create(actor=None, username=username, password=None, role=account["role"],
                                     email=f"{username}@yunqi.example.com", first_name=first_name)
        user.password = hashed
        user.save(update_fields=["password"])
        if person is not None:
            org.salesperson_update(actor=None, salesperson=people[person], user=user)


def _write_lines(plan: _Plan, customers: list[Customer], products: list[Product], people: list[Salesperson]) -> None:
    objs: list[OrderLine] = []
    for n, ln in enumerate(plan.lines, start=1):
        prefix = "R" if ln.original is not None else "L"
        objs.append(OrderLine(
            external_id=f"{DEMO_PREFIX}{prefix}{n:06d}", order_no=ln.order_no, date=ln.date,
            customer=customers[ln.customer], product=products[ln.product], quantity=Decimal(ln.qty),
            unit_price=PRODUCTS[ln.product].price, discount=ln.discount, net_amount=ln.net, cost=ln.cost,
            status=ln.status))
    # originals first (returns need their ids), then the returns
    originals = [o for o, ln in zip(objs, plan.lines, strict=True) if ln.original is None]
    OrderLine.objects.bulk_create(originals, batch_size=2000)
    returns = []
    for o, ln in zip(objs, plan.lines, strict=True):
        if ln.original is not None:
            o.original = objs[ln.original]
            returns.append(o)
    OrderLine.objects.bulk_create(returns, batch_size=2000)
    credits = []
    for o, ln in zip(objs, plan.lines, strict=True):
        shares = org.credit_amounts(ln.net, ln.cost, [pct for _p, pct in ln.credits])
        for (person, pct), (amount, cost) in zip(ln.credits, shares, strict=True):
            credits.append(OrderCredit(line=o, salesperson=people[person], split_pct=pct, amount=amount, cost=cost))
    OrderCredit.objects.bulk_create(credits, batch_size=5000)
    Payment.objects.bulk_create([
        Payment(line=objs[index], date=day, amount=amount, external_id=f"{DEMO_PREFIX}P{n:06d}")
        for n, (index, day, amount) in enumerate(plan.payments, start=1)
    ], batch_size=5000)


# -- wiping ------------------------------------------------------------------------------------------------
def wipe(progress: Progress = _noop) -> None:
    """Delete all organisation data (every table of the org app but the company row, which is reset), what the
    apps built on it hold (compensation plans and runs, target plans, the sales process, import history), the demo
    users and the audit log. Raw deletes: the collector would load a million lines into memory first."""
    User = get_user_model()  # noqa: N806 - Django's idiom
    qn = connection.ops.quote_name
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {qn(AuditEvent._meta.db_table)}")  # noqa: S608 - table names from models
                for label in ("incentives", "targets", "crm", "imports", "org"):  # apps that refer to the organisation first
                    if not apps.is_installed(f"salesops.{label}"):
                        continue
                    for model in reversed(list(apps.get_app_config(label).get_models())):  # children first
                        if model is not Company:
                            cursor.execute(f"DELETE FROM {qn(model._meta.db_table)}")  # noqa: S608
            User.objects.filter(username__in=DEMO_USERNAMES).delete()
            Company.objects.all().delete()
    except IntegrityError as error:
        raise DemoError(_("Could not wipe the organisation data: other data still refers to it (%(error)s).") % {
            "error": error}) from error
    progress(_("Wiped the organisation data, the demo users and the audit log."))


# -- --scale: synthetic lines by the fastest bulk path -----------------------------------------------------
@dataclass(frozen=True)
class ScaleResult:
    lines: int
    credits: int
    insert_seconds: float
    refresh_seconds: float


LINE_COLUMNS = ("id", "external_id", "order_no", "date", "customer", "product", "quantity", "unit_price", "discount",
                "net_amount", "cost", "status", "original")
CREDIT_COLUMNS = ("line", "salesperson", "split_pct", "amount", "cost")
_BATCH = 50_000


def _cents_rounded(numerator: int, denominator: int, policy: str) -> int:
    """numerator / denominator (both positive) rounded to an integer with ``policy``: the integer twin of
    ``round_money`` for non-negative amounts."""
    q, r = divmod(numerator, denominator)
    if r == 0:
        return q
    policy = RoundingPolicy(policy)
    if policy == RoundingPolicy.DOWN:
        return q
    if policy == RoundingPolicy.UP:
        return q + 1
    twice = 2 * r
    if twice > denominator or (twice == denominator and (policy == RoundingPolicy.HALF_UP or q % 2 == 1)):
        return q + 1
    return q


def add_scale_lines(n: int, *, seed: int = 42, today: dt.date | None = None, progress: Progress = _noop) -> ScaleResult:
    """Append ``n`` synthetic order lines with their credits to the demo company, bypassing the ORM but storing
    exactly what it would (values prepared by each field's ``get_db_prep_save``). SQLite: ``executemany`` in one
    transaction; PostgreSQL: ``COPY``. Lines are sorted by date so every index grows at its end."""
    if n <= 0:
        return ScaleResult(0, 0, 0.0, 0.0)
    today = today or timezone.localdate()
    rng = random.Random(seed * 1_000_003 + n)  # noqa: S311 - benchmark data, not secrets
    started = time.perf_counter()
    company = Company.current()
    policy = company.rounding_policy
    customers = list(Customer.objects.order_by("pk").values_list("pk", "owner_id", "segment__code"))
    products = list(Product.objects.order_by("pk").values_list("pk", "sku", "list_price", "standard_cost"))
    if not customers or not products:
        raise DemoError(_("Load the demo company before adding scale lines."))
    reps = list(Salesperson.objects.filter(managed_teams__isnull=True).order_by("pk")
                .values_list("pk", "hire_date", "leave_date"))
    start = dt.date(today.year - 2, 1, 1)
    days = [start + dt.timedelta(days=i) for i in range((today - start).days + 1)]
    growth = [1.12 ** (d.year - start.year) * SEASONALITY[d.month - 1] for d in days]
    cum, total = [], 0.0
    for g in growth:
        total += g
        cum.append(total)
    dates = sorted(rng.choices(days, cum_weights=cum, k=n))

    PAID, INVOICED, BOOKED = LineStatus.PAID.value, LineStatus.INVOICED.value, LineStatus.BOOKED.value  # noqa: N806
    line_model, credit_model = OrderLine._meta, OrderCredit._meta
    prep = {name: line_model.get_field(name) for name in LINE_COLUMNS}
    cprep = {name: credit_model.get_field(name) for name in CREDIT_COLUMNS}
    date_db = {d: prep["date"].get_db_prep_save(d, connection) for d in days}
    qty_db = {q: prep["quantity"].get_db_prep_save(Decimal(q), connection) for q in range(1, 21)}
    disc_db = {b: prep["discount"].get_db_prep_save(Decimal(b) / 100, connection) for b in range(0, 31)}
    pct_db = {p: cprep["split_pct"].get_db_prep_save(Decimal(p), connection) for p in (100, 60, 50, 40)}
    max_disc = {p.sku: p.max_discount for p in PRODUCTS}
    prod_rows = [(pk, int(price * 100), int(cost * 100), max_disc.get(sku, 10)) for pk, sku, price, cost in products]
    # people active on each day, to credit a plausible rep when the owner was not there yet (or had left)
    active_by_month: dict[tuple[int, int], list[int]] = {}
    for d in days[::28] + [today]:
        key = (d.year, d.month)
        if key not in active_by_month:
            first = d.replace(day=1)
            active_by_month[key] = [pk for pk, hire, leave in reps if hire <= first and (leave is None or leave >= first)] \
                or [pk for pk, _h, _l in reps]
    owner_ok = {pk: (hire, leave) for pk, hire, leave in reps}

    def rows() -> Iterator[tuple[list, list]]:
        next_id = first_id
        for chunk_start in range(0, n, _BATCH):
            count = min(_BATCH, n - chunk_start)
            custs = rng.choices(customers, k=count)
            prods = rng.choices(prod_rows, k=count)
            qtys = rng.choices(range(1, 21), weights=[20 - q // 2 for q in range(1, 21)], k=count)
            discs = rng.choices(range(0, 16), k=count)
            splits = rng.choices((0, 1, 2), weights=(92, 5, 3), k=count)
            picks = rng.choices(range(1 << 16), k=count)
            lines_rows, credit_rows = [], []
            for j in range(count):
                day = dates[chunk_start + j]
                cust_pk, owner, _seg = custs[j]
                prod_pk, price, unit_cost, max_d = prods[j]
                qty = qtys[j]
                disc = min(discs[j], max_d)
                net = _cents_rounded(qty * price * (100 - disc), 100, policy)
                cost = unit_cost * qty
                age = (today - day).days
                status = PAID if age > 90 else (INVOICED if age > 20 else BOOKED)
                lines_rows.append((next_id, f"{SCALE_PREFIX}{next_id}", f"{SCALE_PREFIX}O{next_id}", date_db[day], cust_pk,
                                   prod_pk, qty_db[qty], price, disc_db[disc], net, cost, status, None))
                hire_leave = owner_ok.get(owner)
                if hire_leave is None or day < hire_leave[0] or (hire_leave[1] is not None and day > hire_leave[1]):
                    pool = active_by_month[(day.year, day.month)]
                    owner = pool[picks[j] % len(pool)]
                if splits[j] == 0:
                    credit_rows.append((next_id, owner, pct_db[100], net, cost))
                else:
                    pool = active_by_month[(day.year, day.month)]
                    partner = pool[(picks[j] >> 4) % len(pool)]
                    if partner == owner:
                        credit_rows.append((next_id, owner, pct_db[100], net, cost))
                    else:
                        pcts = (60, 40) if splits[j] == 1 else (50, 50)
                        shares = org.credit_amounts(Decimal(net) / 100, Decimal(cost) / 100,
                                                    [Decimal(p) for p in pcts])
                        for person, pct, (amount, c) in zip((owner, partner), pcts, shares, strict=True):
                            credit_rows.append((next_id, person, pct_db[pct], int(amount * 100), int(c * 100)))
                next_id += 1
            yield lines_rows, credit_rows

    line_cols = [line_model.get_field(name).column for name in LINE_COLUMNS]
    credit_cols = [credit_model.get_field(name).column for name in CREDIT_COLUMNS]
    credits = 0
    with transaction.atomic():
        first_id = _reserve_ids(line_model.db_table, n)
        writer = _copy_writer if connection.vendor == "postgresql" else _sqlite_writer
        with writer(line_model.db_table, line_cols, credit_model.db_table, credit_cols) as write:
            done = 0
            for lines_rows, credit_rows in rows():
                write(lines_rows, credit_rows)
                credits += len(credit_rows)
                done += len(lines_rows)
                if done % (_BATCH * 4) == 0 or done == n:
                    progress(_("%(done)s / %(total)s lines inserted (%(seconds).1f s)") % {
                        "done": f"{done:,}", "total": f"{n:,}", "seconds": time.perf_counter() - started})
    inserted = time.perf_counter()
    org.sales_monthly_refresh()
    org.analyze()
    return ScaleResult(n, credits, inserted - started, time.perf_counter() - inserted)


def _reserve_ids(table: str, n: int) -> int:
    """The first of ``n`` consecutive line ids nobody else will use (we are inside the writing transaction)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {qn(table)} IN EXCLUSIVE MODE")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT GREATEST(nextval(%s), (SELECT COALESCE(MAX(id), 0) + 1 FROM {qn(table)}))",  # noqa: S608
                           [sequence])
            first = cursor.fetchone()[0]
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + n - 1])
            return first
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {qn(table)}")  # noqa: S608 - table name from the model
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        return max(top, row[0] if row else 0) + 1


def _insert_sql(table: str, columns: Sequence[str], param_mark: str) -> str:
    qn = connection.ops.quote_name
    return (f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join([param_mark] * len(columns))})")


@contextmanager
def _sqlite_writer(line_table: str, line_cols: Sequence[str], credit_table: str, credit_cols: Sequence[str]):
    """``executemany`` on the raw sqlite3 connection, inside Django's open transaction, with a bigger page cache
    while the indexes grow."""
    line_sql = _insert_sql(line_table, line_cols, "?")
    credit_sql = _insert_sql(credit_table, credit_cols, "?")
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
    cursor.execute("PRAGMA cache_size = -262144")  # 256 MB

    def write(lines_rows: list, credit_rows: list) -> None:
        cursor.executemany(line_sql, lines_rows)
        cursor.executemany(credit_sql, credit_rows)

    try:
        yield write
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        cursor.close()


@contextmanager
def _copy_writer(line_table: str, line_cols: Sequence[str], credit_table: str, credit_cols: Sequence[str]):
    """PostgreSQL ``COPY … FROM STDIN`` through psycopg 3, inside Django's open transaction."""
    qn = connection.ops.quote_name
    line_sql = f"COPY {qn(line_table)} ({', '.join(qn(c) for c in line_cols)}) FROM STDIN"
    credit_sql = f"COPY {qn(credit_table)} ({', '.join(qn(c) for c in credit_cols)}) FROM STDIN"
    connection.ensure_connection()
    cursor = connection.connection.cursor()

    def write(lines_rows: list, credit_rows: list) -> None:
        for sql, rows in ((line_sql, lines_rows), (credit_sql, credit_rows)):
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)

    try:
        yield write
    finally:
        cursor.close()
