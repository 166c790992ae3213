"""Contacts, opportunities, their stage history and activities: happy paths from CSV and Excel, every refusal with
its message, all-or-nothing, re-imports, Chinese headers.

The persona company is in ``tests/conftest.py`` (customers C-A of Alice E101 and C-B of Bob E201, product SW-1);
``tests/imports/conftest.py`` adds the stages (``pipeline``), the contacts and the deals of ``crm_data``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesops.core.models import AuditEvent
from salesops.crm.models import Activity, Contact, Opportunity, OpportunityProduct, StageChange
from salesops.imports.kinds import suggest
from salesops.org.models import Customer
from tests.imports.crm_data import (
    ACT,
    ACTIVITIES,
    CONTACT,
    CONTACTS,
    HISTORY,
    HISTORY_ROWS,
    OPP,
    OPPORTUNITIES,
    opp,
)

D = Decimal
SH = ZoneInfo("Asia/Shanghai")

_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


def as_excel(rows):
    """The rows as a user's workbook holds them: dates and times in date cells, amounts as numbers."""
    def cell(value):
        if isinstance(value, str) and _MOMENT.match(value):
            return dt.datetime.fromisoformat(value) if " " in value else dt.date.fromisoformat(value)
        if isinstance(value, str) and re.fullmatch(r"\d+\.\d\d", value):
            return float(value)
        return value

    return [rows[0], *[[cell(v) for v in row] for row in rows[1:]]]


@pytest.fixture
def table(csv_file, xlsx_file, request):
    """``table(rows, name)``: a CSV file, or for the xlsx parameter an Excel workbook with date cells."""
    fmt = getattr(request, "param", "csv")

    def make(rows, name="data"):
        if fmt == "xlsx":
            return xlsx_file({"数据": as_excel(rows)}, name=f"{name}.xlsx")
        return csv_file(rows, name=f"{name}.csv")

    return make


both = pytest.mark.parametrize("table", ["csv", "xlsx"], indirect=True)


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def errors(result):
    return [str(e) for e in result.errors]


# -- happy paths --------------------------------------------------------------------------------------------
@both
def test_it_imports_contacts_with_roles_in_either_language_and_one_primary(world, table, run_import):
    result = run_import("contacts", table(CONTACTS))

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    qian = Contact.objects.get(external_id="K-1")
    assert (qian.customer, qian.role, qian.primary, qian.phone, qian.notes) == (
        world.customers.a, "decision_maker", True, "13800000001", "喜欢上午联系")
    assert Contact.objects.get(external_id="K-3").role == "purchasing"
    assert AuditEvent.objects.filter(event="contact.created").count() == 3
    assert run_import("contacts", table(CONTACTS, name="again")).unchanged == 3


@both
def test_it_imports_opportunities_with_products_and_a_creation_row(pipeline, contacts, hardware, table, run_import):
    result = run_import("opportunities", table(OPPORTUNITIES))

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    o1 = Opportunity.objects.get(external_id="O-1")
    assert (o1.stage, o1.status, o1.amount, o1.decision_maker, o1.source) == (
        pipeline.proposal, "open", D("120000.00"), contacts["K-1"], "展会")
    assert list(OpportunityProduct.objects.filter(opportunity=o1).values_list("product__sku", "quantity")) == [
        ("SW-1", D(2)), ("HW-1", D(1))]
    # an opportunity without a history gets one creation row, at the start of its creation date
    assert list(StageChange.objects.filter(opportunity=o1).values_list("from_stage", "to_stage", "changed_at",
                                                                       "imported")) == [
        (None, pipeline.proposal.pk, at("2026-03-02 00:00"), True)]
    assert o1.stage_entered_at == at("2026-03-02 00:00")
    o2, o3 = Opportunity.objects.get(external_id="O-2"), Opportunity.objects.get(external_id="O-3")
    assert (o2.status, o2.closed_on) == ("won", dt.date(2026, 2, 15))
    assert (o3.status, o3.closed_on, o3.owner, o3.lost_reason) == ("lost", dt.date(2026, 2, 1), o1.owner, "价格")
    assert AuditEvent.objects.filter(event="opportunity.created").count() == 3


@both
def test_it_imports_a_stage_history_and_the_deal_takes_its_newest_change(pipeline, deals, table, run_import):
    result = run_import("stage_history", table(HISTORY_ROWS))

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (4, 0, 0)
    history = list(StageChange.objects.filter(opportunity=deals["O-1"]).values_list(
        "from_stage__code", "to_stage__code", "changed_at"))
    assert history == [(None, "lead", at("2026-03-02 09:00")), ("lead", "qualified", at("2026-03-05 10:00")),
                       ("qualified", "proposal", at("2026-03-20 16:30"))]
    o1 = Opportunity.objects.get(external_id="O-1")
    assert (o1.stage, o1.stage_entered_at, o1.status) == (pipeline.proposal, at("2026-03-20 16:30"), "open")
    # a history of moves only starts with the creation into the first move's from-stage
    assert list(StageChange.objects.filter(opportunity=deals["O-2"]).values_list(
        "from_stage__code", "to_stage__code", "changed_at")) == [
        (None, "lead", at("2026-01-10 00:00")), ("lead", "won", at("2026-02-15 11:00"))]
    o2 = Opportunity.objects.get(external_id="O-2")
    assert (o2.stage, o2.closed_on) == (pipeline.won, dt.date(2026, 2, 15))
    # O-3 is not in the file: its creation row stays
    assert StageChange.objects.filter(opportunity=deals["O-3"]).count() == 1
    assert AuditEvent.objects.filter(event="opportunity.history_imported").count() == 2

    again = run_import("stage_history", table(HISTORY_ROWS, name="again"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)


def test_a_history_closes_a_deal_on_the_day_of_its_last_change(pipeline, deals, csv_file, run_import):
    # O-1 is open; its history ends with a win (it has an amount)
    result = run_import("stage_history", csv_file([HISTORY, ["O-1", "lead", "2026-03-02 09:00", ""],
                                                   ["O-1", "won", "2026-03-28 18:00", ""]]))

    assert result.ok, result.errors
    o1 = Opportunity.objects.get(external_id="O-1")
    assert (o1.stage, o1.status, o1.closed_on) == (pipeline.won, "won", dt.date(2026, 3, 28))


@both
def test_it_imports_activities_naming_contacts_by_name_or_id(deals, contacts, table, run_import):
    result = run_import("activities", table(ACTIVITIES))

    assert result.ok, result.errors
    a1, a2 = Activity.objects.get(external_id="A-1"), Activity.objects.get(external_id="A-2")
    assert (a1.kind, a1.opportunity, a1.contact, a1.due_at) == ("visit", deals["O-1"], contacts["K-1"],
                                                                at("2026-03-10 14:00"))
    assert (a2.kind, a2.contact, a2.done_at, a2.outcome) == ("call", contacts["K-3"], at("2026-02-10 10:30"), "同意续约")
    assert AuditEvent.objects.filter(event="activity.imported").count() == 1
    assert run_import("activities", table(ACTIVITIES, name="again")).unchanged == 2


def test_it_imports_the_new_customer_fields_with_status_codes_or_labels(world, csv_file, run_import):
    path = csv_file([["external_id", "name", "status", "source", "preferences", "notes"],
                     ["C-N1", "丙公司", "潜在客户", "官网", "偏好年付", "老板姓王"], ["C-A", "甲公司", "Dormant", "", "", ""],
                     ["C-N2", "丁公司", "lost", "", "", ""]])

    result = run_import("customers", path)

    assert result.ok, result.errors
    new = Customer.objects.get(external_id="C-N1")
    assert (new.status, new.source, new.preferences, new.notes) == ("prospect", "官网", "偏好年付", "老板姓王")
    assert Customer.objects.get(external_id="C-A").status == "dormant"
    bad = run_import("customers", csv_file([["external_id", "name", "status"], ["C-N3", "戊", "VIP"]], name="bad.csv"))
    assert errors(bad) == ["row 2, status [VIP]: unknown value; use one of: prospect, active, dormant, lost"]


# -- refusals, each with its message ------------------------------------------------------------------------
def test_it_refuses_a_stage_without_its_required_fields_naming_them_all(pipeline, contacts, csv_file, run_import):
    result = run_import("opportunities", csv_file([OPP, opp("O-9", stage="lead"), opp("O-8", stage="Proposal")]))

    assert errors(result) == [
        "row 3, stage [Proposal]: Stage Proposal needs amount, expected close date, decision maker."]


def test_it_refuses_a_won_deal_without_an_amount(pipeline, csv_file, run_import):
    result = run_import("opportunities", csv_file([OPP, opp("O-9", stage="won", closed="2026-03-05")]))

    assert errors(result) == ["row 2, stage [won]: Stage Won needs amount."]


def test_it_refuses_unknown_customers_owners_stages_contacts_and_products(pipeline, contacts, csv_file, run_import):
    result = run_import("opportunities", csv_file([
        OPP,
        opp("O-1", customer="C-999"),
        opp("O-2", owner="E999"),
        opp("O-3", stage="Negotiation"),
        opp("O-4", dm="Nobody"),
        opp("O-5", products="SW-1×2; NOPE×1"),
    ]))

    assert errors(result) == [
        "row 2, customer [C-999]: No customer has the customer number “C-999”.",
        "row 3, owner [E999]: No salesperson has the employee number or name “E999”.",
        "row 4, stage [Negotiation]: No stage has the code or name “Negotiation”. The stages are: lead, qualified, "
        "proposal, won, lost.",
        "row 5, decision_maker [Nobody]: No contact of 甲公司 has the external id or name “Nobody”.",
        "row 6, products [SW-1×2; NOPE×1]: No product has the SKU “NOPE”.",
    ]
    assert not Opportunity.objects.exists()


def test_it_refuses_a_negative_amount_a_decision_maker_of_another_customer_and_dates_out_of_order(
        pipeline, contacts, csv_file, run_import):
    result = run_import("opportunities", csv_file([
        OPP,
        opp("O-1", amount="-5"),
        opp("O-2", dm="K-3"),  # Ms Li works for 乙公司
        opp("O-3", expected="2026-03-01"),
        opp("O-4", stage="lost", lost="价格", closed="2026-02-01"),
        opp("O-5", closed="2026-03-05"),
    ]))

    assert errors(result) == [
        "row 2, amount [-5]: The amount cannot be negative.",
        "row 3, decision_maker [K-3]: The decision maker must be a contact of 甲公司.",
        "row 4, expected_close [2026-03-01]: The expected close date cannot be before the deal was created.",
        "row 5, closed_on [2026-02-01]: The close date cannot be before the deal was created (2026-03-02).",
        "row 6, closed_on [2026-03-05]: Stage Lead is open: an open deal has no close date.",
    ]


def test_it_refuses_an_activity_due_before_it_was_created_or_tied_to_another_customer(deals, csv_file, run_import):
    result = run_import("activities", csv_file([
        ACT,
        ["A-9", "task", "回访", "C-A", "", "", "E101", "2026-03-03 09:00", "2026-03-02 09:00", "", ""],
        ["A-8", "会议", "复盘", "C-A", "O-2", "K-3", "E101", "2026-03-03 09:00", "", "", ""],
        ["A-7", "lunch", "午餐", "C-A", "O-404", "", "E101", "2026-03-03 09:00", "", "", ""],
    ]))

    assert errors(result) == [
        "row 2, due_at [2026-03-02 09:00]: An activity cannot be due before it was created (2026-03-03 09:00).",
        "row 3, opportunity [O-2]: The opportunity belongs to another customer.",
        "row 3, contact [K-3]: The contact belongs to another customer.",
        "row 4, kind [lunch]: unknown value; use one of: call, visit, meeting, email, task",
        "row 4, opportunity [O-404]: No opportunity has the external id “O-404”.",
    ]
    assert not Activity.objects.exists()


def test_it_refuses_an_activity_of_an_unknown_owner_customer_or_contact(deals, csv_file, run_import):
    result = run_import("activities", csv_file([
        ACT,
        ["A-9", "email", "报价", "C-A", "", "Nobody", "E101", "2026-03-03 09:00", "", "", ""],
        ["A-8", "email", "报价", "C-999", "", "", "E999", "2026-03-03 09:00", "", "", ""],
        ["A-7", "email", "报价", "C-A", "", "", "E101", "next week", "", "", ""],
    ]))

    assert errors(result) == [
        "row 2, contact [Nobody]: No contact of 甲公司 has the external id or name “Nobody”.",
        "row 3, customer [C-999]: No customer has the customer number “C-999”.",
        "row 3, owner [E999]: No salesperson has the employee number or name “E999”.",
        "row 4, created_at [next week]: not a date and time (write it as 2026-03-02 09:30)",
    ]


def test_it_refuses_a_discount_over_100_percent_and_a_negative_price(world, csv_file, run_import):
    from tests.imports.conftest import LINE_HEADER, line

    result = run_import("order_lines", csv_file([LINE_HEADER, line("L1", discount="120%"), line("L2", price="-1")]))

    assert errors(result) == ["row 2, discount [120%]: must be between 0 and 1 (or 0% to 100%)",
                              "row 3, unit_price [-1]: a price must not be negative"]


def test_it_refuses_two_primary_contacts_of_one_customer_and_moving_a_contact(contacts, csv_file, run_import):
    result = run_import("contacts", csv_file([CONTACT, ["K-2", "C-A", "孙工", "", "", "", "", "", "yes", ""],
                                              ["K-4", "C-A", "周工", "", "", "", "", "", "yes", ""],
                                              ["K-3", "C-A", "Ms Li", "", "", "", "", "", "", ""]]))

    assert errors(result) == [
        "row 3, primary: Row 2 already makes 孙工 the primary contact of this customer; a customer has one.",
        "row 4, customer [C-A]: A contact cannot move to another customer."]


def test_a_new_primary_contact_takes_over_from_the_old_one(contacts, csv_file, run_import):
    result = run_import("contacts", csv_file([CONTACT, ["K-4", "C-A", "周工", "", "", "", "", "", "yes", ""]]))

    assert result.ok, result.errors
    assert list(Contact.objects.filter(customer__external_id="C-A", primary=True).values_list("name", flat=True)) == [
        "周工"]
    assert AuditEvent.objects.get(event="contact.updated").old == {"primary": True}


def test_an_unknown_salesops_id_is_an_error_not_a_new_record(world, csv_file, run_import):
    result = run_import("contacts", csv_file([CONTACT, ["#424242", "C-A", "某人", "", "", "", "", "", "", ""]]))

    assert errors(result) == ["row 2, external_id [#424242]: No contact has the id #424242 (ids written #… are those "
                              "of records made in salesops without an external id)."]


# -- stage history consistency ------------------------------------------------------------------------------
def test_a_history_must_chain_follow_creation_and_never_repeat_a_stage(deals, csv_file, run_import):
    result = run_import("stage_history", csv_file([
        HISTORY,
        ["O-1", "lead", "2026-03-02 09:00", ""],
        ["O-1", "proposal", "2026-03-06 09:00", "qualified"],  # the change before ends in Lead
        ["O-2", "lead", "2026-01-09 18:00", ""],  # O-2 was created on 2026-01-10
        ["O-2", "won", "2026-02-15 11:00", ""],
        ["O-3", "lead", "2026-02-01 09:00", ""],
        ["O-3", "lead", "2026-02-03 09:00", ""],
        ["O-3", "lost", "2026-02-05 09:00", ""],
        ["O-404", "lead", "2026-02-05 09:00", ""],
    ]))

    assert errors(result) == [
        "row 3, from_stage [qualified]: The change before (row 2) ends in stage Lead, not Qualified.",
        "row 4, changed_at [2026-01-09 18:00]: This change is dated before the opportunity was created (2026-01-10).",
        "row 7, stage [lead]: The deal is already in stage Lead here.",
        "row 9, opportunity [O-404]: No opportunity has the external id “O-404”; import the opportunities first.",
    ]
    # nothing half-saved: every deal keeps its one creation row and its stage
    assert StageChange.objects.count() == 3
    assert Opportunity.objects.get(external_id="O-1").stage.code == "proposal"


def test_a_history_must_end_in_a_stage_whose_requirements_the_deal_meets(pipeline, deals, csv_file, run_import):
    # O-3 (lost, no amount) cannot end won; O-2 has no decision maker for Proposal
    result = run_import("stage_history", csv_file([
        HISTORY, ["O-3", "lead", "2026-02-01 09:00", ""], ["O-3", "won", "2026-02-09 09:00", ""],
        ["O-2", "proposal", "2026-01-20 09:00", "lead"]]))

    assert errors(result) == ["row 3, stage [won]: Stage Won needs amount.",
                              "row 4, stage [proposal]: Stage Proposal needs expected close date, decision maker."]


def test_a_history_does_not_replace_changes_salesops_recorded_itself(pipeline, deals, csv_file, run_import):
    from salesops.crm import services as crm

    # Given a deal moved in salesops after it was imported
    o3 = Opportunity.objects.get(external_id="O-1")
    crm.opportunity_move(actor=None, opportunity=o3, stage=pipeline.won, at=at("2026-04-01 10:00"))

    # when an older history of it is imported
    result = run_import("stage_history", csv_file([HISTORY, ["O-1", "lead", "2026-03-02 09:00", ""],
                                                   ["O-1", "proposal", "2026-03-20 16:30", ""]]))

    # then it is refused: the move made here stays
    assert errors(result) == [
        "row 2, opportunity [O-1]: Salesops recorded stage changes of this deal itself (the first on 2026-04-01 "
        "10:00); its history cannot be replaced by an import."]
    assert Opportunity.objects.get(external_id="O-1").stage == pipeline.won


# -- all or nothing, idempotence ----------------------------------------------------------------------------
def test_one_bad_row_saves_nothing(pipeline, contacts, hardware, csv_file, run_import):
    rows = [*OPPORTUNITIES, opp("O-9", customer="C-999")]

    result = run_import("opportunities", csv_file(rows))

    assert errors(result) == ["row 5, customer [C-999]: No customer has the customer number “C-999”."]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    assert not OpportunityProduct.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="opportunity").exists()


def test_a_reimport_changes_only_what_changed_and_records_a_stage_move(pipeline, deals, csv_file, run_import):
    # Given the same file where O-3's competitor changed and O-1 is won
    rows = [OPP, OPPORTUNITIES[1][:4] + ["won"] + OPPORTUNITIES[1][5:], OPPORTUNITIES[2],
            opp("O-3", name="甲公司 扩容", owner="李丽", stage="Lost", competitor="友商二", lost="价格", created="2026-02-01")]

    result = run_import("opportunities", csv_file(rows, name="again.csv"))

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (0, 2, 1)
    assert Opportunity.objects.get(external_id="O-3").competitor == "友商二"
    o1 = Opportunity.objects.get(external_id="O-1")
    assert (o1.stage, o1.status) == (pipeline.won, "won")
    moves = list(StageChange.objects.filter(opportunity=o1).values_list("from_stage__code", "to_stage__code"))
    assert moves == [(None, "proposal"), ("proposal", "won")]
    moved = AuditEvent.objects.get(event="opportunity.moved")
    assert moved.old["stage_id"] == pipeline.proposal.pk and moved.new["stage_id"] == pipeline.won.pk
    # the products column left out keeps the products
    assert OpportunityProduct.objects.filter(opportunity=o1).count() == 2


def test_a_mapped_empty_products_cell_clears_the_products(deals, csv_file, run_import):
    row = opp("O-1", stage="Proposal", amount="120000.00", expected="2026-04-30", dm="钱总", source="展会")

    result = run_import("opportunities", csv_file([OPP, row], name="again.csv"))

    assert result.ok, result.errors
    assert result.updated == 1 and not OpportunityProduct.objects.filter(opportunity__external_id="O-1").exists()
    assert AuditEvent.objects.get(event="opportunity.updated").old == {"products": "SW-1×2;HW-1×1"}


# -- headers in Chinese -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "header", "expected"), [
    ("contacts", ["联系人编号", "客户编号", "联系人", "职位", "角色", "手机", "邮箱", "微信", "主联系人", "备注"],
     ["external_id", "customer", "name", "job_title", "role", "phone", "email", "wechat", "primary", "notes"]),
    ("opportunities", ["商机编号", "商机名称", "客户编号", "负责人工号", "阶段", "金额", "预计成交日期", "决策人", "产品",
                       "来源", "竞争对手", "输单原因", "创建日期", "关闭日期"], OPP),
    ("stage_history", ["商机编号", "阶段", "变更时间", "原阶段"], HISTORY),
    ("activities", ["活动编号", "类型", "主题", "客户编号", "商机编号", "联系人", "负责人工号", "创建时间", "截止时间",
                    "完成时间", "结果"], ACT),
    ("customers", ["客户编号", "客户名称", "客户状态", "客户来源", "客户偏好", "备注"],
     ["external_id", "name", "status", "source", "preferences", "notes"]),
])
def test_it_suggests_every_field_from_chinese_headers(kind, header, expected):
    assert suggest(kind, header) == dict(zip(expected, header, strict=True))


def test_it_imports_a_gbk_file_with_chinese_headers(pipeline, contacts, csv_file, run_import):
    path = csv_file([["商机编号", "商机名称", "客户编号", "负责人工号", "阶段", "金额", "预计成交日期", "创建日期"],
                     ["O-7", "甲公司 培训", "C-A", "E101", "Qualified", "30000", "2026-05-31", "2026年3月2日"]],
                    encoding="gbk")

    result = run_import("opportunities", path)

    assert result.ok, result.errors
    o7 = Opportunity.objects.get(external_id="O-7")
    assert (o7.stage, o7.amount, o7.expected_close) == (pipeline.qualified, D("30000.00"), dt.date(2026, 5, 31))
