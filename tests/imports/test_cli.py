"""``salesops import`` and ``salesops export``."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from salesops.org.models import Customer, OrderLine
from tests.imports.conftest import LINE_HEADER, line


def test_import_prints_the_counts(world, csv_file, capsys):
    path = csv_file([["客户编号", "名称"], ["C-N1", "新客户"]], encoding="gbk")

    call_command("import", "customers", str(path), "--source", "CRM")

    out = capsys.readouterr().out
    assert "1 created, 0 updated, 0 unchanged" in out and "gb18030" in out
    assert Customer.objects.filter(external_id="C-N1").exists()


def test_import_prints_every_error_and_fails(world, csv_file, capsys):
    path = csv_file([LINE_HEADER, line("L1", product="NOPE"), line("L2", customer="WHO")])

    with pytest.raises(CommandError, match="2 error"):
        call_command("import", "order_lines", str(path))

    err = capsys.readouterr().err
    assert "row 2, product [NOPE]" in err and "row 3, customer [WHO]" in err
    assert OrderLine.objects.count() == 3


def test_import_takes_a_mapping_sheet_and_dry_run(world, xlsx_file, capsys):
    path = xlsx_file({"封面": [["x"]], "数据": [["Kunde", "Name"], ["C-N1", "甲"]]})

    call_command("import", "customers", str(path), "--sheet", "数据", "--map", "external_id=Kunde", "--map",
                 "name=Name", "--dry-run")

    assert "would have 1 created" in capsys.readouterr().out
    assert not Customer.objects.filter(external_id="C-N1").exists()


def test_export_writes_a_file_that_imports_back_unchanged(world, tmp_path, capsys):
    path = tmp_path / "lines.xlsx"

    call_command("export", "order_lines", "-o", str(path))
    call_command("import", "order_lines", str(path))

    assert "0 created, 0 updated, 3 unchanged" in capsys.readouterr().out
