"""The files of the customer-relationship import tests, as rows (the first is the header).

Contacts K-1 钱总 (decision maker, primary) and K-2 孙工 of 甲公司 (C-A), K-3 Ms Li of 乙公司 (C-B); deals O-1 (Alice,
Proposal, with products), O-2 (Bob, won) and O-3 (Alice, lost); O-1's and O-2's stage history; two activities.
"""

from __future__ import annotations

CONTACT = ["external_id", "customer", "name", "job_title", "role", "phone", "email", "wechat", "primary", "notes"]
OPP = ["external_id", "name", "customer", "owner", "stage", "amount", "expected_close", "decision_maker", "products",
       "source", "competitor", "lost_reason", "created_on", "closed_on"]
HISTORY = ["opportunity", "stage", "changed_at", "from_stage"]
ACT = ["external_id", "kind", "subject", "customer", "opportunity", "contact", "owner", "created_at", "due_at",
       "done_at", "outcome"]

CONTACTS = [
    CONTACT,
    ["K-1", "C-A", "钱总", "总经理", "决策人", "13800000001", "qian@jia.cn", "qian_wx", "是", "喜欢上午联系"],
    ["K-2", "C-A", "孙工", "IT 主管", "technical", "", "", "", "否", ""],
    ["K-3", "C-B", "Ms Li", "Buyer", "Purchasing", "", "li@yi.cn", "", "true", ""],
]


def opp(ext, *, name="甲公司 CRM", customer="C-A", owner="E101", stage="lead", amount="", expected="", dm="",
        products="", source="", competitor="", lost="", created="2026-03-02", closed=""):
    return [ext, name, customer, owner, stage, amount, expected, dm, products, source, competitor, lost, created, closed]


OPPORTUNITIES = [
    OPP,
    opp("O-1", stage="Proposal", amount="120000.00", expected="2026-04-30", dm="钱总", products="SW-1×2; HW-1",
        source="展会"),
    opp("O-2", name="乙公司 续约", customer="C-B", owner="E201", stage="won", amount="8000", created="2026-01-10",
        closed="2026-02-15"),
    opp("O-3", name="甲公司 扩容", owner="李丽", stage="Lost", competitor="友商", lost="价格", created="2026-02-01"),
]

HISTORY_ROWS = [
    HISTORY,
    ["O-1", "Qualified", "2026-03-05 10:00", ""],
    ["O-1", "lead", "2026-03-02 09:00", ""],  # out of order: the rows are sorted by time
    ["O-1", "proposal", "2026-03-20 16:30", "qualified"],
    ["O-2", "won", "2026-02-15 11:00", "lead"],  # moves only: created in Lead on its creation date
]

ACTIVITIES = [
    ACT,
    ["A-1", "拜访", "方案演示", "C-A", "O-1", "钱总", "E101", "2026-03-03 09:00", "2026-03-10 14:00", "", ""],
    ["A-2", "call", "续约确认", "C-B", "", "K-3", "E201", "2026-02-10 10:00", "", "2026-02-10 10:30", "同意续约"],
]
