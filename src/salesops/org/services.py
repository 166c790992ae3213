"""Every write to the organisation goes through these functions: atomic, validated, audited.

Errors are ``django.core.exceptions.ValidationError`` whose messages name the field or object at fault.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core import audit
from salesops.core.roles import can_edit_org
from salesops.engine.allocation import allocate
from salesops.engine.money import round_money
from salesops.engine.periods import add_months
from salesops.org.models import (
    REVERSAL_STATUSES,
    Assignment,
    Company,
    Customer,
    OrderCredit,
    OrderLine,
    Payment,
    Product,
    SalesMonthly,
    Salesperson,
    Team,
    TreeNode,
    active_on,
)

HUNDRED = Decimal(100)


# -- company ----------------------------------------------------------------------------------------------
@transaction.atomic
def company_update(*, actor, company: Company, **fields) -> Company:
    old = audit.snapshot(company)
    if "fiscal_year_start_month" in fields and not 1 <= int(fields["fiscal_year_start_month"]) <= 12:
        raise ValidationError({"fiscal_year_start_month": _("The fiscal year must start in month 1 to 12.")})
    for name, value in fields.items():
        setattr(company, name, value)
    company.full_clean()
    company.save(update_fields=list(fields))
    _audit_change(actor, "company.updated", company, old)
    return company


def _audit_change(actor, event: str, obj, old: dict) -> None:
    before, after = audit.diff(old, audit.snapshot(obj))
    if before or after:
        audit.record(actor=actor, event=event, subject=obj, old=before, new=after)


# -- trees ------------------------------------------------------------------------------------------------
def _set_path(node: TreeNode) -> None:
    parent_path = node.parent.path if node.parent_id else "/"
    node.path = f"{parent_path}{node.pk}/"
    node.depth = parent_path.count("/") - 1


@transaction.atomic
def tree_node_create(*, actor, model: type[TreeNode], name: str, code: str, parent: TreeNode | None = None, **extra):
    if model.objects.filter(code=code).exists():
        raise ValidationError({"code": _("Code %(code)s is already used.") % {"code": code}})
    node = model(name=name, code=code, parent=parent, **extra)
    node.full_clean(exclude=["path"])
    node.save()
    _set_path(node)
    node.save(update_fields=["path", "depth"])
    audit.record(actor=actor, event=f"{model._meta.model_name}.created", subject=node, new=audit.snapshot(node))
    return node


@transaction.atomic
def tree_node_update(*, actor, node: TreeNode, **fields) -> TreeNode:
    """Rename, recode, move (``parent=``) or change extra fields of a node; a move carries its subtree along
    and is refused when the new parent lies inside the node's own subtree."""
    model = type(node)
    # Lock the whole tree: two concurrent moves could otherwise each pass the cycle check and together make one.
    list(model.objects.select_for_update().values_list("pk", flat=True))
    node = model.objects.get(pk=node.pk)
    old = audit.snapshot(node)
    old_path = node.path
    if "code" in fields and model.objects.filter(code=fields["code"]).exclude(pk=node.pk).exists():
        raise ValidationError({"code": _("Code %(code)s is already used.") % {"code": fields["code"]}})
    moving = "parent" in fields and (fields["parent"].pk if fields["parent"] else None) != node.parent_id
    if moving and fields["parent"] is not None:
        new_parent = model.objects.get(pk=fields["parent"].pk)
        if new_parent.path.startswith(old_path):
            raise ValidationError({"parent": _(
                "Moving %(node)s under %(parent)s would make a cycle: %(parent)s is inside %(node)s."
            ) % {"node": node.name, "parent": new_parent.name}})
        fields["parent"] = new_parent
    for name, value in fields.items():
        setattr(node, name, value)
    node.full_clean(exclude=["path"])
    if moving:
        _set_path(node)
    node.save(update_fields=[*fields, *(["path", "depth"] if moving else [])])
    if moving:
        _rewrite_subtree_paths(model, old_path, node.path)
    _audit_change(actor, f"{model._meta.model_name}.moved" if moving else f"{model._meta.model_name}.updated", node, old)
    return node


def _rewrite_subtree_paths(model: type[TreeNode], old_prefix: str, new_prefix: str) -> None:
    shift = new_prefix.count("/") - old_prefix.count("/")
    descendants = list(model.objects.filter(path__startswith=old_prefix).exclude(path=new_prefix))
    for d in descendants:
        d.path = new_prefix + d.path[len(old_prefix):]
        d.depth += shift
    model.objects.bulk_update(descendants, ["path", "depth"], batch_size=500)


@transaction.atomic
def tree_node_delete(*, actor, node: TreeNode) -> None:
    if node.children.exists():
        raise ValidationError(_("%(node)s still has children; move or delete them first.") % {"node": node.name})
    audit.record(actor=actor, event=f"{node._meta.model_name}.deleted", subject=node, old=audit.snapshot(node))
    try:
        with transaction.atomic():
            node.delete()
    except ProtectedError as error:
        used_by = sorted({obj._meta.verbose_name for obj in error.protected_objects})
        raise ValidationError(_("%(node)s is still used by other records (%(used_by)s).") % {
            "node": node.name, "used_by": ", ".join(str(u) for u in used_by)}) from None


# -- products, customers, people ---------------------------------------------------------------------------
def _create(actor, model, **fields):
    obj = model(**fields)
    obj.full_clean()
    obj.save()
    audit.record(actor=actor, event=f"{model._meta.model_name}.created", subject=obj, new=audit.snapshot(obj))
    return obj


def _update(actor, obj, **fields):
    old = audit.snapshot(obj)
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save(update_fields=list(fields))
    _audit_change(actor, f"{obj._meta.model_name}.updated", obj, old)
    return obj


@transaction.atomic
def product_create(*, actor, **fields) -> Product:
    return _create(actor, Product, **fields)


@transaction.atomic
def product_update(*, actor, product: Product, **fields) -> Product:
    moved = "category" in fields and _pk(fields["category"]) != product.category_id
    product = _update(actor, product, **fields)
    if moved:
        _refresh_months_of(OrderLine.objects.filter(product=product))
    return product


def _pk(value):
    return getattr(value, "pk", value)


def _refresh_months_of(lines) -> None:
    """The cube keys sales by the customer's region/segment and the product's category: re-derive the months
    of ``lines`` when one of those changes."""
    dates = lines.values_list("date", flat=True).distinct()
    sales_monthly_refresh(months={d.replace(day=1) for d in dates})


@transaction.atomic
def customer_create(*, actor, **fields) -> Customer:
    return _create(actor, Customer, **fields)


@transaction.atomic
def customer_update(*, actor, customer: Customer, **fields) -> Customer:
    moved = any(name in fields and _pk(fields[name]) != getattr(customer, f"{name}_id") for name in ("region", "segment"))
    moved = moved or ("key_account" in fields and bool(fields["key_account"]) != customer.key_account)
    customer = _update(actor, customer, **fields)
    if moved:
        _refresh_months_of(OrderLine.objects.filter(customer=customer))
    return customer


LINK_USERS_REFUSED = gettext_lazy("Only administrators and sales operations may link a sign-in account to a "
                                   "salesperson: the link decides whose sales that account sees.")


def can_link_users(actor) -> bool:
    """Linking an account to a salesperson grants that account the person's (and subtree's) sales data, so HR,
    who may otherwise edit people, may not do it. ``actor=None`` is the system (CLI, demo)."""
    return actor is None or not getattr(actor, "is_authenticated", False) or can_edit_org(actor)


@transaction.atomic
def salesperson_create(*, actor, **fields) -> Salesperson:
    _check_person(actor, None, fields)
    return _create(actor, Salesperson, **fields)


@transaction.atomic
def salesperson_update(*, actor, salesperson: Salesperson, **fields) -> Salesperson:
    _check_person(actor, salesperson, fields)
    return _update(actor, salesperson, **fields)


def _check_person(actor, current: Salesperson | None, fields: dict) -> None:
    _check_ramp(fields.get("ramp_schedule") or [])
    hire = fields.get("hire_date", current.hire_date if current else None)
    leave = fields.get("leave_date", current.leave_date if current else None)
    if hire and leave and leave < hire:
        raise ValidationError({"leave_date": _("The leave date is before the hire date.")})
    if "user" in fields:
        new_user = fields["user"].pk if fields["user"] else None
        old_user = current.user_id if current else None
        if new_user != old_user and not can_link_users(actor):
            raise ValidationError({"user": LINK_USERS_REFUSED})


def _check_ramp(schedule) -> None:
    message = _("A ramp schedule is a list of percentages from 0 to 100, e.g. [25, 50, 75].")
    if not isinstance(schedule, list):
        raise ValidationError({"ramp_schedule": message})
    for value in schedule:
        try:
            if isinstance(value, bool | float) or not 0 <= Decimal(str(value)) <= 100:
                raise ValidationError({"ramp_schedule": message})
        except decimal.InvalidOperation:
            raise ValidationError({"ramp_schedule": message}) from None


# -- assignments ------------------------------------------------------------------------------------------
def _check_assignment(a: Assignment) -> None:
    if a.end_date and a.end_date < a.start_date:
        raise ValidationError({"end_date": _("The end date is before the start date.")})
    if a.manager_id and a.manager_id == a.salesperson_id:
        raise ValidationError({"manager": _("A salesperson cannot be their own manager.")})
    others = Assignment.objects.filter(salesperson_id=a.salesperson_id).exclude(pk=a.pk)
    for other in others:
        if other.start_date <= (a.end_date or dt.date.max) and a.start_date <= (other.end_date or dt.date.max):
            raise ValidationError({"start_date": _(
                "This assignment (%(start)s to %(end)s) overlaps %(other)s (%(ostart)s to %(oend)s)."
            ) % {
                "start": a.start_date, "end": a.end_date or "…", "other": other.team.name,
                "ostart": other.start_date, "oend": other.end_date or "…",
            }})


@transaction.atomic
def assignment_create(*, actor, salesperson: Salesperson, team: Team, start_date: dt.date,
                      end_date: dt.date | None = None, manager: Salesperson | None = None, region=None) -> Assignment:
    Salesperson.objects.select_for_update().filter(pk=salesperson.pk).first()  # serialise writers per person
    a = Assignment(salesperson=salesperson, team=team, start_date=start_date, end_date=end_date, manager=manager, region=region)
    _check_assignment(a)
    a.save()
    audit.record(actor=actor, event="assignment.created", subject=a, new=audit.snapshot(a))
    return a


@transaction.atomic
def assignment_update(*, actor, assignment: Assignment, **fields) -> Assignment:
    Salesperson.objects.select_for_update().filter(pk=assignment.salesperson_id).first()
    old = audit.snapshot(assignment)
    for name, value in fields.items():
        setattr(assignment, name, value)
    _check_assignment(assignment)
    assignment.save(update_fields=list(fields))
    _audit_change(actor, "assignment.updated", assignment, old)
    return assignment


@transaction.atomic
def assignment_transfer(*, actor, salesperson: Salesperson, team: Team, on: dt.date,
                        manager: Salesperson | None = None, region=None) -> Assignment:
    """Close the assignment in effect on ``on`` the day before, and open a new one from ``on``."""
    current = Assignment.objects.filter(active_on(on), salesperson=salesperson, start_date__lt=on).first()
    if current:
        assignment_update(actor=actor, assignment=current, end_date=on - dt.timedelta(days=1))
    return assignment_create(actor=actor, salesperson=salesperson, team=team, start_date=on, manager=manager,
                             region=region if region is not None else (current.region if current else None))


# -- order lines ------------------------------------------------------------------------------------------
def check_splits(pcts: Sequence[Decimal], *, field: str = "credits") -> None:
    """Split percentages must each be in (0, 100] and total exactly 100."""
    if not pcts:
        raise ValidationError({field: _("At least one salesperson must be credited.")})
    if any(p <= 0 or p > HUNDRED for p in pcts):
        raise ValidationError({field: _("Each split percentage must be above 0 and at most 100.")})
    if any(p != p.quantize(Decimal("0.0001")) for p in pcts):
        raise ValidationError({field: _("A split percentage has at most 4 decimal places.")})
    total = sum(pcts, Decimal(0))
    if total != HUNDRED:
        raise ValidationError({field: _("Split percentages total %(total)s, not 100.") % {"total": total}})


def credit_amounts(net_amount: Decimal, cost: Decimal, pcts: Sequence[Decimal]) -> list[tuple[Decimal, Decimal]]:
    """Credited (amount, cost) per split, each summing exactly to the line's figures."""
    return list(zip(allocate(net_amount, pcts), allocate(cost, pcts), strict=True))


def compute_net_amount(quantity: Decimal, unit_price: Decimal, discount: Decimal, policy: str) -> Decimal:
    return round_money(quantity * unit_price * (1 - discount), policy)


@transaction.atomic
def order_line_create(*, actor, credits: Iterable[tuple[Salesperson, Decimal]], refresh: bool = True,
                      **fields) -> OrderLine:
    """Create a line with its credits. ``net_amount`` is computed from quantity, price and discount when absent.
    ``refresh=False``: the caller refreshes the sales cube once for all the lines it creates."""
    credits = list(credits)
    if len({sp.pk for sp, _pct in credits}) < len(credits):
        raise ValidationError({"credits": _("A salesperson is credited more than once on this line.")})
    company = Company.current()
    if fields.get("net_amount") is None:
        fields["net_amount"] = compute_net_amount(
            Decimal(fields["quantity"]), Decimal(fields["unit_price"]), Decimal(fields.get("discount") or 0),
            company.rounding_policy)
    line = OrderLine(**fields)
    check_line(line)
    if line.original_id:
        original = OrderLine.objects.select_for_update().get(pk=line.original_id)
        before = original.reversals.aggregate(q=Sum("quantity"))["q"] or Decimal(0)
        check_reversal(line, original, before)
    line.full_clean()
    check_splits([p for _sp, p in credits])
    line.save()
    shares = credit_amounts(line.net_amount, line.cost, [p for _sp, p in credits])
    OrderCredit.objects.bulk_create([
        OrderCredit(line=line, salesperson=sp, split_pct=p, amount=a, cost=c)
        for (sp, p), (a, c) in zip(credits, shares, strict=True)
    ])
    audit.record(actor=actor, event="order_line.created", subject=line,
                 new={**audit.snapshot(line), "credits": [[sp.pk, str(p)] for sp, p in credits]})
    if refresh:
        sales_monthly_refresh(months={line.date.replace(day=1)}, people={sp.pk for sp, _p in credits})
    return line


def check_line(line: OrderLine) -> None:
    """Rules for one line that the database cannot express; the original of a reversal is read from the database."""
    if not Decimal(0) <= line.discount <= 1:
        raise ValidationError({"discount": _("Discount must be between 0 and 1 (0% to 100%).")})
    if line.status not in REVERSAL_STATUSES:
        if line.original_id:
            raise ValidationError({"original": _("Only a returned or cancelled line points at an original line.")})
        if line.quantity < 0 or line.net_amount < 0:
            raise ValidationError({"quantity": _(
                "Quantity or amount is negative; record returns as returned lines linked to the original.")})
        return
    if not line.original_id:
        raise ValidationError({"original": _("A returned or cancelled line must point at the original line it reverses.")})
    if line.quantity > 0 or line.net_amount > 0 or line.cost > 0:
        raise ValidationError({"quantity": _("A return or cancellation must have a negative quantity and amount.")})


def check_reversal(line, original, reversed_before: Decimal) -> None:
    """A return or cancellation against ``original``: same customer and product, the original is not itself a
    reversal, and all reversals together take back at most what was sold. ``reversed_before`` is the (negative)
    quantity other lines already reversed. Both lines may be model instances or records with the same attributes."""
    if original.status in REVERSAL_STATUSES:
        raise ValidationError({"original": _("The original line %(line)s is itself a return or cancellation.") % {
            "line": original.external_id}})
    if (original.customer_id, original.product_id) != (line.customer_id, line.product_id):
        raise ValidationError({"original": _(
            "A return must have the customer and product of its original line %(line)s.") % {"line": original.external_id}})
    if -(line.quantity + reversed_before) > original.quantity:
        raise ValidationError({"quantity": _(
            "Returning %(qty)s would reverse more than the %(orig)s sold on line %(line)s (already reversed: %(done)s).") % {
            "qty": -line.quantity, "orig": original.quantity, "line": original.external_id, "done": -reversed_before}})


@transaction.atomic
def payment_create(*, actor, line: OrderLine, date: dt.date, amount: Decimal, external_id: str | None = None) -> Payment:
    if amount <= 0:
        raise ValidationError({"amount": _("A payment amount must be positive.")})
    external_id = external_id or None  # blank ids are absent, not a shared empty key
    line = OrderLine.objects.select_for_update().get(pk=line.pk)  # serialise payments against one line
    paid = line.payments.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    if paid + amount > line.net_amount:
        raise ValidationError({"amount": _("Payments (%(total)s) would exceed the line's net amount %(net)s.") % {
            "total": paid + amount, "net": line.net_amount}})
    payment = _create(actor, Payment, line=line, date=date, amount=amount, external_id=external_id)
    return payment


# -- the monthly aggregate --------------------------------------------------------------------------------
@transaction.atomic
def sales_monthly_refresh(*, months: Iterable[dt.date] | None = None, people: Iterable[int] | None = None) -> int:
    """Recompute the sales cube (``SalesMonthly``) for the given months (first days) and salesperson ids, or for
    all. Returns rows written. Refreshes are serialised (a lock on the company row) so two writers never insert the
    same cell.

    One ``INSERT … SELECT … GROUP BY`` in the database, no rows through Python: money sums are integer cents
    (exact); credited units are quantity × split % (units, not money: SQLite multiplies them in floating point,
    and the column keeps 4 places). SQLite keeps dates as 'YYYY-MM-DD' text,
    so the month is a substring there (its date functions would call back into Python per row)."""
    Company.objects.select_for_update().filter(pk=Company.current().pk).first()
    target = SalesMonthly.objects.all()
    conditions, params = [], []
    if months is not None:
        months = sorted(set(months))
        if not months:
            return 0
        target = target.filter(month__in=months)
        conditions.append("(" + " OR ".join(["(l.date >= %s AND l.date < %s)"] * len(months)) + ")")
        for m in months:
            params += [m, add_months(m, 1)]
    if people is not None:
        people = sorted(set(people))
        if not people:
            return 0
        target = target.filter(salesperson_id__in=people)
        conditions.append(f"c.salesperson_id IN ({', '.join(['%s'] * len(people))})")
        params += people
    target.delete()
    month = "substr(l.date, 1, 7) || '-01'" if connection.vendor == "sqlite" else "date_trunc('month', l.date)::date"
    t = {m.__name__: m._meta.db_table for m in (SalesMonthly, OrderCredit, OrderLine, Customer, Product)}
    reversal = ", ".join(f"'{s}'" for s in REVERSAL_STATUSES)
    sql = f"""
        INSERT INTO {t["SalesMonthly"]} (salesperson_id, month, region_id, segment_id, category_id, product_id,
                                         key_customer_id, net_amount, cost,
                                         quantity, new_customers, lines)
        SELECT c.salesperson_id, {month}, cu.region_id, cu.segment_id, p.category_id, p.id,
               CASE WHEN cu.key_account THEN cu.id END, SUM(c.amount), SUM(c.cost),
               SUM(l.quantity * c.split_pct / 100.0),
               SUM(CASE WHEN f.id IS NULL THEN 0 ELSE c.split_pct / 100.0 END), COUNT(*)
        FROM {t["OrderCredit"]} c
        JOIN {t["OrderLine"]} l ON l.id = c.line_id
        JOIN {t["Customer"]} cu ON cu.id = l.customer_id
        JOIN {t["Product"]} p ON p.id = l.product_id
        LEFT JOIN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY date, id) AS n
                FROM {t["OrderLine"]} WHERE status NOT IN ({reversal})
            ) firsts WHERE n = 1
        ) f ON f.id = l.id
        {"WHERE " + " AND ".join(conditions) if conditions else ""}
        GROUP BY c.salesperson_id, {month}, cu.region_id, cu.segment_id, p.category_id, p.id,
                 CASE WHEN cu.key_account THEN cu.id END
    """  # noqa: S608 - table names from model metadata; values are bound parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def analyze() -> None:
    """Refresh planner statistics after bulk loads (cheap, and keeps home-page queries on their indexes)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
