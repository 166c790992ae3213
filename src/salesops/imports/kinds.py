"""What can be imported: the target fields of each kind, and the column mapping (suggested, remembered, explicit).

Each kind lists its fields with whether they are required, their type and how a reference is resolved. A column
is suggested for a field when its normalised header equals the field name or one of its English or Chinese
synonyms. A mapping is ``{our field: the file's column name}``; precedence is explicit > remembered for the
source > suggested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.imports.models import ImportKind, ImportMapping
from salesops.imports.results import RowError

# Types, for the documentation and the mapping page.
TEXT = gettext_lazy("text")
DATE = gettext_lazy("date (2025-11-15, 2025/11/15 or an Excel date)")
MONEY = gettext_lazy("amount, at most 2 decimal places")
NUMBER = gettext_lazy("number")
SHARE = gettext_lazy("share 0–1, or 10%, or 9折")
BOOL = gettext_lazy("yes/no")
PERSON = gettext_lazy("salesperson: employee number (or name when unique)")
CREDITS = gettext_lazy("employee_no:percent;… (E101:60;E201:40), or E101 alone for 100%")
STATUS = gettext_lazy("booked, invoiced, paid, returned or cancelled")
DATETIME = gettext_lazy("date and time (2026-03-02 09:30, or an Excel date-time), in the company's time zone")
CUSTOMER_NO = gettext_lazy("customer number")
CRM_KEY = gettext_lazy("text; #id for a record made in salesops without one")
STAGE = gettext_lazy("stage: code or name")
CONTACT = gettext_lazy("contact: external id, or name within the customer")
OPPORTUNITY = gettext_lazy("opportunity: external id")
CUSTOMER_STATUS = gettext_lazy("prospect, active, dormant or lost (or 潜在, 活跃, 休眠, 流失)")
CONTACT_ROLE = gettext_lazy("decision_maker, influencer, user, purchasing, finance, technical or other "
                            "(or 决策人, 影响者, 使用者, 采购, 财务, 技术, 其他)")
ACTIVITY_KIND = gettext_lazy("call, visit, meeting, email or task (or 电话, 拜访, 会议, 邮件, 任务)")
DEAL_PRODUCTS = gettext_lazy("SKU×quantity separated by ; (SW-1×2; HW-1×10); a SKU alone is 1")


def tree_ref(what):
    return format_lazy(gettext_lazy("{what}: code, or name when unique"), what=what)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: object  # lazy translation
    required: bool
    type: object
    synonyms: tuple[str, ...] = ()


def F(name, label, required, type_, *synonyms) -> FieldSpec:  # noqa: N802 - short constructor for the tables below
    return FieldSpec(name, label, required, type_, synonyms)


_CUSTOMER_REF = ("客户编号", "客户编码", "客户代码", "客户id", "客户号", "customer id", "customer no", "customer code",
                 "customer number", "customer")
_PRODUCT_REF = ("产品编码", "产品编号", "产品代码", "物料编码", "物料编号", "商品编码", "商品编号", "货号", "存货编码", "sku",
                "product code", "item code", "product")
_OPPORTUNITY_REF = ("商机编号", "商机编码", "商机id", "机会编号", "项目编号", "opportunity id", "opportunity no",
                    "deal id", "opportunity", "deal")
_OWNER_REF = ("负责人工号", "负责人", "销售员", "业务员", "工号", "owner", "owner employee no", "sales rep",
              "salesperson", "employee no")
_PERSON_REF = ("工号", "员工编号", "员工号", "职员编号", "销售员", "业务员", "销售代表", "employee no", "employee number",
               "employee id", "salesperson", "sales rep")

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    ImportKind.CUSTOMERS: (
        F("external_id", gettext_lazy("Customer number"), True, TEXT, *_CUSTOMER_REF[:-1], "external id", "编号"),
        F("name", gettext_lazy("Name"), True, TEXT, "客户名称", "客户名", "客户", "公司名称", "名称", "customer name", "name"),
        F("segment", gettext_lazy("Segment"), False, tree_ref(gettext_lazy("customer segment")),
          "客户分类", "客户类型", "客户细分", "客户群", "segment", "customer segment"),
        F("region", gettext_lazy("Region"), False, tree_ref(gettext_lazy("region")),
          "区域", "地区", "大区", "销售区域", "所属区域", "region", "territory"),
        F("industry", gettext_lazy("Industry"), False, TEXT, "行业", "所属行业", "industry"),
        F("owner", gettext_lazy("Owner"), False, PERSON, "负责人", "客户经理", "销售员", "业务员", "工号", "owner",
          "account owner", "sales rep"),
        F("key_account", gettext_lazy("Key account"), False, BOOL, "重点客户", "大客户标记", "key account", "key"),
        F("status", gettext_lazy("Status"), False, CUSTOMER_STATUS, "状态", "客户状态", "status", "customer status"),
        F("source", gettext_lazy("Source"), False, TEXT, "来源", "客户来源", "获客渠道", "来源渠道", "source",
          "lead source"),
        F("preferences", gettext_lazy("Preferences"), False, TEXT, "偏好", "客户偏好", "需求偏好", "preferences",
          "preference"),
        F("notes", gettext_lazy("Notes"), False, TEXT, "备注", "说明", "notes", "note", "remarks", "comments"),
    ),
    ImportKind.PRODUCTS: (
        F("sku", gettext_lazy("SKU"), True, TEXT, *_PRODUCT_REF[:-1]),
        F("name", gettext_lazy("Name"), True, TEXT, "产品名称", "商品名称", "品名", "物料名称", "名称", "product name", "name"),
        F("category", gettext_lazy("Category"), True, tree_ref(gettext_lazy("product category")),
          "产品类别", "产品分类", "类别", "分类", "品类", "产品线", "category", "product category"),
        F("list_price", gettext_lazy("List price"), True, MONEY, "标准价", "目录价", "指导价", "售价", "价格", "单价", "定价",
          "list price", "price"),
        F("standard_cost", gettext_lazy("Standard cost"), False, MONEY, "标准成本", "单位成本", "成本", "成本价",
          "standard cost", "unit cost", "cost"),
        F("unit", gettext_lazy("Unit"), False, TEXT, "单位", "计量单位", "unit", "uom"),
        F("active", gettext_lazy("Active"), False, BOOL, "是否启用", "启用", "有效", "active", "enabled"),
    ),
    ImportKind.PEOPLE: (
        F("employee_no", gettext_lazy("Employee number"), True, TEXT, *_PERSON_REF[:4], "employee no",
          "employee number", "employee id", "emp no"),
        F("name", gettext_lazy("Name"), True, TEXT, "姓名", "名字", "员工姓名", "销售员", "业务员", "name"),
        F("email", gettext_lazy("Email"), False, TEXT, "邮箱", "电子邮件", "电子邮箱", "email", "e-mail", "mail"),
        F("hire_date", gettext_lazy("Hire date"), True, DATE, "入职日期", "入职时间", "hire date", "hired"),
        F("leave_date", gettext_lazy("Leave date"), False, DATE, "离职日期", "离职时间", "leave date", "termination date"),
        F("title", gettext_lazy("Title"), False, TEXT, "职位", "职务", "岗位", "title", "job title"),
        F("level", gettext_lazy("Level"), False, TEXT, "职级", "级别", "等级", "level", "grade"),
        F("status", gettext_lazy("Status"), False, gettext_lazy("ramping, active, on_leave or left"),
          "状态", "在职状态", "员工状态", "status"),
        F("ramp_schedule", gettext_lazy("Ramp schedule"), False, gettext_lazy("percentages by month: 25;50;75"),
          "爬坡计划", "新人爬坡", "爬坡", "ramp", "ramp schedule"),
        F("username", gettext_lazy("User name"), False, gettext_lazy("an existing sign-in user name"),
          "用户名", "登录名", "账号", "username", "user", "login"),
    ),
    ImportKind.ASSIGNMENTS: (
        F("salesperson", gettext_lazy("Salesperson"), True, PERSON, *_PERSON_REF),
        F("team", gettext_lazy("Team"), True, tree_ref(gettext_lazy("team")), "团队", "销售团队", "小组", "部门", "组别",
          "team"),
        F("start_date", gettext_lazy("Start date"), True, DATE, "开始日期", "生效日期", "起始日期", "start date", "from",
          "effective date"),
        F("end_date", gettext_lazy("End date"), False, DATE, "结束日期", "截止日期", "失效日期", "end date", "to"),
        F("manager", gettext_lazy("Manager"), False, PERSON, "上级", "直属上级", "上级工号", "经理", "主管", "manager"),
        F("region", gettext_lazy("Region"), False, tree_ref(gettext_lazy("region")), "区域", "地区", "负责区域",
          "region", "territory"),
    ),
    ImportKind.ORDER_LINES: (
        F("external_id", gettext_lazy("Line id"), True, TEXT, "行号", "订单行号", "明细编号", "明细id", "行id", "明细行号",
          "line id", "line no", "external id"),
        F("order_no", gettext_lazy("Order number"), False, TEXT, "订单编号", "订单号", "单号", "销售单号", "单据编号",
          "order no", "order number", "order id", "order"),
        F("date", gettext_lazy("Date"), True, DATE, "日期", "订单日期", "下单日期", "销售日期", "业务日期", "单据日期",
          "date", "order date"),
        F("customer", gettext_lazy("Customer"), True, gettext_lazy("customer number"), *_CUSTOMER_REF),
        F("product", gettext_lazy("Product"), True, gettext_lazy("SKU"), *_PRODUCT_REF),
        F("quantity", gettext_lazy("Quantity"), True, NUMBER, "数量", "销售数量", "qty", "quantity"),
        F("unit_price", gettext_lazy("Unit price"), True, MONEY, "单价", "销售单价", "成交价", "成交单价", "unit price",
          "price"),
        F("discount", gettext_lazy("Discount"), False, SHARE, "折扣", "折扣率", "discount"),
        F("net_amount", gettext_lazy("Net amount"), False, MONEY, "金额", "净额", "净金额", "销售额", "销售金额",
          "成交金额", "net amount", "amount", "net"),
        F("cost", gettext_lazy("Cost"), False, MONEY, "成本", "成本金额", "cost"),
        F("status", gettext_lazy("Status"), False, STATUS, "状态", "订单状态", "单据状态", "status"),
        F("original_external_id", gettext_lazy("Original line"), False, gettext_lazy("line id of the line returned"),
          "原行号", "原订单行号", "原明细编号", "原单行号", "原始行号", "original line", "original external id", "original"),
        F("invoiced_on", gettext_lazy("Invoice date"), False, DATE, "开票日期", "发票日期", "开票时间", "invoice date",
          "invoiced on", "invoiced"),
        F("credits", gettext_lazy("Credited salespeople"), True, CREDITS, "业绩归属", "业绩分配", "销售员", "业务员",
          "工号", "销售代表", "credits", "salesperson", "sales rep", "split"),
    ),
    ImportKind.PAYMENTS: (
        F("external_id", gettext_lazy("Payment id"), True, TEXT, "收款编号", "回款编号", "收款单号", "回款单号", "payment id",
          "payment no", "external id"),
        F("line", gettext_lazy("Order line"), True, gettext_lazy("line id of the order line"), "订单行号", "行号", "明细编号",
          "order line", "line id", "line"),
        F("date", gettext_lazy("Date"), True, DATE, "收款日期", "回款日期", "到账日期", "日期", "payment date", "date"),
        F("amount", gettext_lazy("Amount"), True, MONEY, "收款金额", "回款金额", "到账金额", "金额", "amount"),
    ),
    ImportKind.CONTACTS: (
        F("external_id", gettext_lazy("Contact id"), True, CRM_KEY, "联系人编号", "联系人编码", "联系人id", "联系人代码",
          "contact id", "contact no", "external id", "编号"),
        F("customer", gettext_lazy("Customer"), True, CUSTOMER_NO, *_CUSTOMER_REF),
        F("name", gettext_lazy("Name"), True, TEXT, "联系人", "联系人姓名", "姓名", "名字", "contact name", "contact", "name"),
        F("job_title", gettext_lazy("Job title"), False, TEXT, "职位", "职务", "岗位", "头衔", "job title", "title",
          "position"),
        F("role", gettext_lazy("Role"), False, CONTACT_ROLE, "角色", "联系人角色", "决策角色", "role", "buying role"),
        F("phone", gettext_lazy("Phone"), False, TEXT, "电话", "手机", "手机号", "联系电话", "电话号码", "phone", "mobile",
          "tel", "telephone"),
        F("email", gettext_lazy("Email"), False, TEXT, "邮箱", "电子邮件", "电子邮箱", "email", "e-mail", "mail"),
        F("wechat", gettext_lazy("WeChat"), False, TEXT, "微信", "微信号", "wechat", "weixin", "wechat id"),
        F("primary", gettext_lazy("Primary contact"), False, BOOL, "主联系人", "首要联系人", "是否主联系人", "primary",
          "primary contact", "main contact"),
        F("notes", gettext_lazy("Notes"), False, TEXT, "备注", "说明", "notes", "note", "remarks", "comments"),
    ),
    ImportKind.OPPORTUNITIES: (
        F("external_id", gettext_lazy("Opportunity id"), True, CRM_KEY, *_OPPORTUNITY_REF[:-2], "external id", "编号"),
        F("name", gettext_lazy("Name"), True, TEXT, "商机名称", "机会名称", "项目名称", "商机", "名称", "opportunity name",
          "deal name", "name"),
        F("customer", gettext_lazy("Customer"), True, CUSTOMER_NO, *_CUSTOMER_REF),
        F("owner", gettext_lazy("Owner"), True, PERSON, *_OWNER_REF),
        F("stage", gettext_lazy("Stage"), True, STAGE, "阶段", "销售阶段", "商机阶段", "当前阶段", "stage", "sales stage"),
        F("amount", gettext_lazy("Amount"), False, MONEY, "金额", "商机金额", "预计金额", "预计成交金额", "合同金额",
          "amount", "deal amount", "value"),
        F("expected_close", gettext_lazy("Expected close date"), False, DATE, "预计成交日期", "预计签约日期",
          "预计结单日期", "预计关闭日期", "expected close", "expected close date", "close date"),
        F("decision_maker", gettext_lazy("Decision maker"), False, CONTACT, "决策人", "关键决策人", "决策者",
          "decision maker"),
        F("products", gettext_lazy("Products"), False, DEAL_PRODUCTS, "产品", "意向产品", "产品明细", "products"),
        F("source", gettext_lazy("Source"), False, TEXT, "来源", "商机来源", "线索来源", "source", "lead source"),
        F("competitor", gettext_lazy("Competitor"), False, TEXT, "竞争对手", "竞品", "competitor", "competitors"),
        F("lost_reason", gettext_lazy("Lost reason"), False, TEXT, "输单原因", "丢单原因", "失败原因", "lost reason",
          "loss reason"),
        F("created_on", gettext_lazy("Created on"), True, DATE, "创建日期", "创建时间", "立项日期", "created on",
          "created", "created date", "create date"),
        F("closed_on", gettext_lazy("Closed on"), False, DATE, "关闭日期", "实际成交日期", "结单日期", "赢单日期",
          "closed on", "closed date", "actual close date"),
    ),
    ImportKind.STAGE_HISTORY: (
        F("opportunity", gettext_lazy("Opportunity"), True, OPPORTUNITY, *_OPPORTUNITY_REF),
        F("stage", gettext_lazy("Stage"), True, STAGE, "阶段", "新阶段", "变更后阶段", "目标阶段", "stage", "to stage",
          "new stage", "new value"),
        F("changed_at", gettext_lazy("Changed at"), True, DATETIME, "变更时间", "变更日期", "修改时间", "时间", "日期",
          "changed at", "changed", "date", "edit date", "created date"),
        F("from_stage", gettext_lazy("From stage"), False, STAGE, "原阶段", "变更前阶段", "旧阶段", "from stage",
          "old stage", "old value", "previous stage"),
    ),
    ImportKind.ACTIVITIES: (
        F("external_id", gettext_lazy("Activity id"), True, CRM_KEY, "活动编号", "活动id", "跟进编号", "跟进记录编号",
          "记录编号", "activity id", "external id", "编号"),
        F("kind", gettext_lazy("Kind"), True, ACTIVITY_KIND, "类型", "活动类型", "跟进方式", "跟进类型", "kind", "type",
          "activity type"),
        F("subject", gettext_lazy("Subject"), True, TEXT, "主题", "标题", "跟进内容", "内容", "subject", "title"),
        F("customer", gettext_lazy("Customer"), True, CUSTOMER_NO, *_CUSTOMER_REF),
        F("opportunity", gettext_lazy("Opportunity"), False, OPPORTUNITY, *_OPPORTUNITY_REF),
        F("contact", gettext_lazy("Contact"), False, CONTACT, "联系人编号", "联系人", "contact id", "contact"),
        F("owner", gettext_lazy("Owner"), True, PERSON, *_OWNER_REF, "跟进人", "assigned to"),
        F("created_at", gettext_lazy("Created at"), True, DATETIME, "创建时间", "创建日期", "记录时间", "created at",
          "created", "created date"),
        F("due_at", gettext_lazy("Due"), False, DATETIME, "截止时间", "到期时间", "计划时间", "截止日期", "due", "due at",
          "due date"),
        F("done_at", gettext_lazy("Done at"), False, DATETIME, "完成时间", "完成日期", "done at", "completed at",
          "completed", "done"),
        F("outcome", gettext_lazy("Outcome"), False, TEXT, "结果", "跟进结果", "成果", "outcome", "result"),
    ),
}


def _tree_fields(what, *synonyms) -> tuple[FieldSpec, ...]:
    return (
        F("code", gettext_lazy("Code"), True, TEXT, *(s + "编码" for s in synonyms), *(s + "代码" for s in synonyms),
          "编码", "代码", "编号", "code"),
        F("name", gettext_lazy("Name"), True, TEXT, *(s + "名称" for s in synonyms), "名称", "name"),
        F("parent", gettext_lazy("Parent"), False, tree_ref(what), "上级", "上级编码", "上级代码", "父级", "parent",
          "parent code"),
    )


FIELDS[ImportKind.REGIONS] = _tree_fields(gettext_lazy("region"), "区域", "地区")
FIELDS[ImportKind.CATEGORIES] = _tree_fields(gettext_lazy("product category"), "类别", "分类")
FIELDS[ImportKind.SEGMENTS] = _tree_fields(gettext_lazy("customer segment"), "分类", "客户分类")
FIELDS[ImportKind.TEAMS] = (*_tree_fields(gettext_lazy("team"), "团队", "部门"),
                            F("manager", gettext_lazy("Manager"), False, PERSON, "负责人", "经理", "主管", "manager"))

_NORMALISE = re.compile(r"[\s_\-.*:：()（）\[\]【】/#]+")


def normalise(header: str) -> str:
    return _NORMALISE.sub("", header.casefold())


def fields_of(kind: str) -> tuple[FieldSpec, ...]:
    return FIELDS[ImportKind(kind)]


# Order lines carry deal attributes (channel, deal type…) in columns ``attr:<name>`` (or ``属性:<name>``): each such
# column maps itself to the field ``attr:<name>``, the name in lower case.
ATTRIBUTE_PREFIXES = ("attr:", "attr：", "属性:", "属性：")
ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def attribute_field(column: str) -> str | None:
    """``attr:<name>`` for a column that names a deal attribute (the name lower-cased), else None."""
    head = column.strip()
    for prefix in ATTRIBUTE_PREFIXES:
        if head[:len(prefix)].casefold() == prefix:
            return "attr:" + head[len(prefix):].strip().casefold()
    return None


def _attribute_columns(kind: str, header: Sequence[str]) -> tuple[dict[str, str], list[RowError]]:
    """Order lines: field ``attr:<name>`` → its column, and the columns whose name is not usable."""
    if ImportKind(kind) != ImportKind.ORDER_LINES:
        return {}, []
    mapping: dict[str, str] = {}
    errors = []
    for column in header:
        field = attribute_field(column)
        if field is None:
            continue
        if not ATTRIBUTE_NAME.match(field.removeprefix("attr:")):
            errors.append(RowError(1, field, column, _(
                "An attribute column is attr:<name>, the name in lower-case letters, digits and _ (at most 40), "
                "starting with a letter.")))
        elif field in mapping:
            errors.append(RowError(1, field, column, _("Two columns name the attribute “%(name)s”.") % {
                "name": field.removeprefix("attr:")}))
        else:
            mapping[field] = column
    return mapping, errors


def suggest(kind: str, header: Sequence[str]) -> dict[str, str]:
    """Our field → the file's column, guessed from the header names."""
    by_norm: dict[str, str] = {}
    for column in header:
        by_norm.setdefault(normalise(column), column)
    used: set[str] = set()
    mapping: dict[str, str] = {}
    specs = fields_of(kind)
    # Exact field names first (our own exports), then synonyms in the order listed.
    for spec in specs:
        column = by_norm.get(normalise(spec.name))
        if column and column not in used:
            mapping[spec.name] = column
            used.add(column)
    for spec in specs:
        if spec.name in mapping:
            continue
        for synonym in (str(spec.label), *spec.synonyms):
            column = by_norm.get(normalise(synonym))
            if column and column not in used:
                mapping[spec.name] = column
                used.add(column)
                break
    return mapping


def remembered(kind: str, source: str) -> dict[str, str]:
    if not source:
        return {}
    row = ImportMapping.objects.filter(source=source, kind=kind).first()
    return dict(row.mapping) if row else {}


def initial_mapping(kind: str, header: Sequence[str], source: str = "") -> dict[str, str]:
    """What the mapping page pre-fills: the remembered mapping for ``source`` where its columns exist, else a guess."""
    mapping = suggest(kind, header)
    columns = set(header)
    for field, column in remembered(kind, source).items():
        if column in columns:
            mapping[field] = column
        elif not column:
            mapping.pop(field, None)
    return {f.name: mapping[f.name] for f in fields_of(kind) if f.name in mapping}


def resolve(kind: str, header: Sequence[str], explicit: Mapping[str, str | None] | None, source: str = ""
            ) -> tuple[dict[str, str], list[RowError]]:
    """The mapping to use, and the errors that make it unusable (unknown field or column, required field unmapped)."""
    mapping = initial_mapping(kind, header, source)
    attributes, errors = _attribute_columns(kind, header)
    mapping.update(attributes)
    names = {f.name for f in fields_of(kind)} | set(attributes)
    columns = set(header)
    for field, column in (explicit or {}).items():
        if field not in names and not (ImportKind(kind) == ImportKind.ORDER_LINES and field.startswith("attr:")
                                       and ATTRIBUTE_NAME.match(field.removeprefix("attr:"))):
            errors.append(RowError(1, field, str(column or ""), _(
                "There is no field “%(field)s” for this kind of import; fields are: %(fields)s."
            ) % {"field": field, "fields": ", ".join(f.name for f in fields_of(kind))}))
            continue
        if not column:
            mapping.pop(field, None)
            continue
        if column not in columns:
            errors.append(RowError(1, field, column, _(
                "The file has no column “%(column)s”. Its columns are: %(columns)s."
            ) % {"column": column, "columns": ", ".join(header)}))
            continue
        mapping[field] = column
    for spec in fields_of(kind):
        if spec.required and spec.name not in mapping and not any(e.field == spec.name for e in errors):
            errors.append(RowError(1, spec.name, "", _(
                "Required field “%(field)s” (%(label)s) has no column. Map one of the file's columns to it "
                "(columns: %(columns)s)."
            ) % {"field": spec.name, "label": spec.label, "columns": ", ".join(header)}))
    return mapping, errors


def remember(kind: str, source: str, mapping: Mapping[str, str]) -> None:
    """Store the mapping for the next file from ``source``. Fields left unmapped are stored as '' so that
    an explicit "not imported" choice is remembered too."""
    if not source:
        return
    full = {f.name: mapping.get(f.name, "") for f in fields_of(kind)}
    ImportMapping.objects.update_or_create(source=source, kind=kind, defaults={"mapping": full})
