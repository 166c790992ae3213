"""Customers, products, people, assignments, payments and trees: references, rules across rows, audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesops.core.models import AuditEvent
from salesops.org.models import (
    Assignment,
    Customer,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    Team,
)

PEOPLE = ["employee_no", "name", "hire_date", "status", "ramp_schedule", "username"]
ASSIGN = ["salesperson", "team", "start_date", "end_date", "manager", "region"]


def test_it_imports_people_and_audits_each_one(world, csv_file, run_import):
    path = csv_file([PEOPLE, ["E301", "孙新", "2025-09-01", "新人", "25;50;75", ""],
                     ["E101", "李丽", "2024-01-01", "active", "", "alice"]])

    result = run_import("people", path)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (1, 0, 1)
    sun = Salesperson.objects.get(employee_no="E301")
    assert sun.status == "ramping" and sun.ramp_schedule == [25, 50, 75]
    event = AuditEvent.objects.get(event="salesperson.created", subject_id=str(sun.pk))
    assert event.actor == world.users["olivia"] and event.new["employee_no"] == "E301"


def test_it_refuses_overlapping_assignments_within_the_file_and_against_the_database(world, csv_file, run_import):
    path = csv_file([
        ASSIGN,
        # Alice is in team A from 2024-01-01, open-ended: a second open assignment overlaps it
        ["E101", "T-B", "2025-06-01", "", "E003", "CN-S"],
        # a new person's two rows overlap each other
        ["E102", "华东一组", "2023-01-01", "2023-06-30", "", ""],
        ["E102", "T-B", "2023-06-01", "2023-12-31", "", ""],
    ])

    result = run_import("assignments", path)

    assert [(e.row, e.field) for e in result.errors] == [(2, "start_date"), (4, "start_date")]
    assert "华东一组" in result.errors[0].message and "E101" in result.errors[0].message
    assert "row 3" in result.errors[1].message
    assert Assignment.objects.count() == 6


def test_it_closes_an_assignment_and_opens_the_next_by_natural_key(world, csv_file, run_import):
    path = csv_file([ASSIGN, ["E101", "T-A", "2024-01-01", "2025-05-31", "E002", "CN-E-SH"],
                     ["E101", "T-B", "2025-06-01", "", "E003", "华南"]])

    result = run_import("assignments", path)

    assert result.ok, result.errors
    assert (result.created, result.updated) == (1, 1)
    alice = world.people["alice"]
    assert list(Assignment.objects.filter(salesperson=alice).values_list("team__code", "end_date")) == [
        ("T-A", dt.date(2025, 5, 31)), ("T-B", None)]
    assert AuditEvent.objects.get(event="assignment.updated").new == {"end_date": "2025-05-31"}
    assert run_import("assignments", path).unchanged == 2


def test_it_resolves_references_by_code_or_unique_name(world, csv_file, run_import):
    path = csv_file([["external_id", "name", "segment", "region", "owner"],
                     ["C-N1", "丙公司", "大客户", "上海", "张伟"], ["C-N2", "丁公司", "KA", "华北", "E101"]])

    result = run_import("customers", path)

    [error] = result.errors
    assert (error.row, error.field, error.value) == (3, "region", "华北")
    assert not Customer.objects.filter(external_id="C-N1").exists()


def test_it_refuses_a_negative_price(world, csv_file, run_import):
    result = run_import("products", csv_file([["sku", "name", "category", "list_price"], ["N-1", "新", "SW", "-1"]]))

    assert [(e.row, e.field, e.value) for e in result.errors] == [(2, "list_price", "-1")]
    assert not Product.objects.filter(sku="N-1").exists()


def test_it_refuses_payments_beyond_the_line_amount(world, csv_file, run_import):
    header = ["external_id", "line", "date", "amount"]
    ok = run_import("payments", csv_file([header, ["P1", "A1", "2025-12-01", "600.00"]]))
    assert ok.ok and Payment.objects.get(external_id="P1").amount == Decimal("600.00")

    result = run_import("payments", csv_file([header, ["P1", "A1", "2025-12-01", "600.00"],
                                              ["P2", "A1", "2025-12-05", "500.00"], ["P3", "NOPE", "2025-12-05", "1"]],
                                             name="more.csv"))

    assert [(e.row, e.field) for e in result.errors] == [(2, "amount"), (3, "amount"), (4, "line")]
    assert "1100.00" in result.errors[0].message
    assert Payment.objects.count() == 1


def test_it_imports_a_tree_and_refuses_a_cycle(world, csv_file, run_import):
    header = ["code", "name", "parent"]
    ok = run_import("regions", csv_file([header, ["CN-E-HZ", "杭州", "华东"], ["CN-N", "华北", "CN"],
                                         ["CN-N-BJ", "北京", "CN-N"]]))
    assert ok.ok, ok.errors
    beijing = Region.objects.get(code="CN-N-BJ")
    assert beijing.depth == 2 and beijing.path == f"{world.regions.china.path}{beijing.parent_id}/{beijing.pk}/"

    # moving 华东 under 杭州 (its own child) is a cycle
    cycle = run_import("regions", csv_file([header, ["CN-E", "华东", "CN-E-HZ"]], name="cycle.csv"))

    [error] = cycle.errors
    assert (error.row, error.field) == (2, "parent") and "CN-E → CN-E-HZ → CN-E" in error.message
    assert Region.objects.get(code="CN-E").parent == world.regions.china


def test_it_moves_a_team_with_its_subtree_and_sets_its_manager(world, csv_file, run_import):
    result = run_import("teams", csv_file([["code", "name", "parent", "manager"], ["T-NEW", "新组", "T-ROOT", "E101"],
                                           ["T-A", "华东一组", "T-NEW", "E002"]]))

    assert result.ok, result.errors
    team_a = Team.objects.get(code="T-A")
    assert team_a.depth == 2 and team_a.parent.manager == world.people["alice"]
    assert ProductCategory.objects.count() == 1
