"""Returns imported from a file obey the same rules as returns typed in: same customer and product as the
original, never more than was sold, and an import may not link accounts unless ops/admin runs it."""

from __future__ import annotations

from salesops.imports.services import import_file
from salesops.org.models import OrderLine, Salesperson
from tests.imports.conftest import LINE_HEADER, line


def messages(result):
    return [(e.row, e.field, e.message) for e in result.errors]


def test_a_file_cannot_return_more_than_was_sold(world, csv_file, run_import):
    # Given A1 sold 1 unit, when a file returns 1 and then 1 more, then the second row is refused and nothing saved
    path = csv_file([LINE_HEADER,
                     line("R1", quantity="-1", status="returned", original="A1"),
                     line("R2", quantity="-1", status="returned", original="A1")])
    result = run_import("order_lines", path)
    assert [(row, field) for row, field, _m in messages(result)] == [(3, "quantity")]
    assert not OrderLine.objects.filter(external_id__in=["R1", "R2"]).exists()


def test_a_return_must_match_the_originals_customer_and_product(world, csv_file, run_import):
    path = csv_file([LINE_HEADER, line("R1", customer="C-B", quantity="-1", status="returned", original="A1")])
    result = run_import("order_lines", path)
    assert [(row, field) for row, field, _m in messages(result)] == [(2, "original_external_id")]
    assert "A1" in result.errors[0].message


def test_hr_cannot_link_accounts_by_import(world, csv_file, hr_henry):
    path = csv_file([["employee_no", "name", "hire_date", "username"], ["E900", "新人", "2025-01-01", "ada"]])
    result = import_file(actor=hr_henry, kind="people", path=path)
    assert [(row, field) for row, field, _m in messages(result)] == [(2, "username")]
    assert not Salesperson.objects.filter(employee_no="E900").exists()
