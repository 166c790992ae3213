"""Potential tables: imported from a file (all rows checked, all or nothing) and used by the potential method."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from salesops.targets import services as targets
from salesops.targets.models import PotentialIndex
from salesops.targets.potential import potential_import

D = Decimal


def write(tmp_path, rows, encoding="utf-8"):
    path = Path(tmp_path) / "potential.csv"
    path.write_bytes("\n".join(",".join(r) for r in rows).encode(encoding))
    return path


def test_it_imports_a_table_and_the_potential_method_uses_it(world, ops_olivia, tmp_path):
    path = write(tmp_path, [["维度", "成员", "市场规模"], ["region", "华东", "3000"], ["region", "CN-S", "1000"]],
                 encoding="gbk")
    assert potential_import(actor=ops_olivia, name="市场规模2026", path=path) == (2, [])
    plan = targets.plan_create(actor=ops_olivia, name="潜力", fiscal_year=2026, total=D("4000.00"), levels=[
        {"dimension": "region", "depth": 1, "method": "potential", "potential_table": "市场规模2026"}],
        seasonality={"source": "flat"})
    targets.plan_allocate(actor=ops_olivia, plan=plan)
    assert {n.name: n.value for n in plan.nodes.filter(level=1)} == {"华东": D("3000.00"), "华南": D("1000.00")}


def test_every_bad_row_is_reported_and_nothing_is_saved(world, ops_olivia, tmp_path):
    PotentialIndex.objects.create(name="t", dimension="region", member_id=world.regions.east.pk, value=D(1))
    path = write(tmp_path, [["dimension", "member", "value"], ["region", "火星", "1"], ["planet", "华东", "1"],
                            ["region", "华东", "-5"], ["region", "华南", "abc"], ["region", "华南", "2"]])
    saved, errors = potential_import(actor=ops_olivia, name="t", path=path)
    assert saved == 0
    assert [(e.row, e.field) for e in errors] == [(2, "member"), (3, "dimension"), (4, "value"), (5, "value")]
    assert list(PotentialIndex.objects.values_list("name", "value")) == [("t", D("1.0000"))]


def test_a_file_without_the_columns_is_refused(world, ops_olivia, tmp_path):
    saved, errors = potential_import(actor=ops_olivia, name="t", path=write(tmp_path, [["a", "b"], ["1", "2"]]))
    assert saved == 0 and {e.field for e in errors} == {"dimension", "member", "value"}


def test_the_page_imports_for_ops_and_refuses_everyone_else(world, client_for, ops_olivia, manager_carol, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    url = reverse("targets:potential")
    assert client_for(manager_carol).get(url).status_code == 403
    client = client_for(ops_olivia)
    body = "dimension,member,value\nregion,华东,30\nregion,火星,1\n".encode()
    response = client.post(url, {"name": "市场", "file": SimpleUploadedFile("m.csv", body)})
    assert response.status_code == 200 and "火星" in response.content.decode()
    assert not PotentialIndex.objects.exists()
    body = "dimension,member,value\nregion,华东,30\n".encode()
    response = client.post(url, {"name": "市场", "file": SimpleUploadedFile("m.csv", body)}, follow=True)
    assert "市场" in response.content.decode() and PotentialIndex.objects.get().value == D("30.0000")
