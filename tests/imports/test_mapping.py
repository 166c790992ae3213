"""Column mapping: suggested from headers, explicit, remembered per source."""

from __future__ import annotations

from salesops.imports.kinds import initial_mapping, suggest
from salesops.imports.models import ImportMapping
from salesops.org.models import Customer, Product


def test_it_suggests_fields_from_chinese_and_english_headers():
    header = ["订单日期", "客户编号", "SKU", "数量", "单价", "折扣", "净额", "成本", "状态", "业务员", "Order No."]

    mapping = suggest("order_lines", header)

    assert mapping == {"order_no": "Order No.", "date": "订单日期", "customer": "客户编号", "product": "SKU",
                       "quantity": "数量", "unit_price": "单价", "discount": "折扣", "net_amount": "净额",
                       "cost": "成本", "status": "状态", "credits": "业务员"}


def test_it_remembers_the_mapping_per_source(world, csv_file, run_import):
    # Given a first file from the ERP whose columns are mapped by hand
    first = csv_file([["Kunden", "Bezeichnung", "Branche"], ["C-N1", "甲", "制造"]])
    result = run_import("customers", first, source="ERP",
                        mapping={"external_id": "Kunden", "name": "Bezeichnung", "industry": "Branche"})
    assert result.ok, result.errors

    # when the next file from the same source comes without a mapping
    second = csv_file([["Kunden", "Bezeichnung", "Branche"], ["C-N2", "乙", "零售"]], name="second.csv")
    again = run_import("customers", second, source="ERP")

    # then the remembered mapping is used, and pre-filled for the web page
    assert again.ok, again.errors
    assert Customer.objects.get(external_id="C-N2").industry == "零售"
    assert initial_mapping("customers", ["Kunden", "Bezeichnung", "Branche"], "ERP") == {
        "external_id": "Kunden", "name": "Bezeichnung", "industry": "Branche"}
    assert ImportMapping.objects.filter(source="ERP").count() == 1
    # another source does not see it
    other = run_import("customers", second, source="Other")
    assert [(e.row, e.field) for e in other.errors] == [(1, "external_id"), (1, "name")]


def test_it_names_a_missing_column_and_an_unknown_field(world, csv_file, run_import):
    path = csv_file([["sku", "名称"], ["N-1", "新品"]])

    result = run_import("products", path, mapping={"category": "类别", "colour": "名称"})

    assert sorted((e.row, e.field, e.value) for e in result.errors) == [
        (1, "category", "类别"), (1, "colour", "名称"), (1, "list_price", "")]
    assert "sku, 名称" in result.errors[0].message or "sku, 名称" in result.errors[1].message
    assert not Product.objects.filter(sku="N-1").exists()


def test_an_unmapped_optional_column_leaves_existing_values_alone(world, csv_file, run_import):
    path = csv_file([["sku", "name", "category", "list_price"], ["SW-1", "CRM 套件", "SW", "1200.00"]])

    result = run_import("products", path)

    assert (result.updated, result.unchanged) == (1, 0)
    product = Product.objects.get(sku="SW-1")
    assert str(product.list_price) == "1200.00" and str(product.standard_cost) == "400.00" and product.unit == "套"
