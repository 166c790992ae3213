"""The customer-relationship imports read their lookups once: the number of queries does not grow with the rows
(the measured times are in the docstring of ``salesops.imports.crm_loaders``)."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesops.crm.models import Opportunity, StageChange
from tests.imports.crm_data import HISTORY, OPP, opp


def _files(csv_file, n: int, tag: str):
    deals, history = [OPP], [HISTORY]
    for i in range(n):
        created = dt.date(2026, 1, 1) + dt.timedelta(days=i % 60)
        deals.append(opp(f"{tag}-{i}", name=f"商机 {i}", customer=("C-A", "C-B")[i % 2], owner=("E101", "E201")[i % 2],
                         stage="qualified", amount="1000.00", expected=(created + dt.timedelta(days=90)).isoformat(),
                         products="SW-1×2", created=created.isoformat()))
        for j, stage in enumerate(["lead", "qualified"]):
            history.append([f"{tag}-{i}", stage, f"{created + dt.timedelta(days=j)} 09:{i % 60:02}", ""])
    return csv_file(deals, name=f"{tag}-deals.csv"), csv_file(history, name=f"{tag}-history.csv")


def _queries(run_import, kind, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        result = run_import(kind, path)
    assert result.ok, result.errors[:3]
    return len(queries)


def test_the_number_of_queries_does_not_depend_on_the_number_of_rows(pipeline, csv_file, run_import):
    few_deals, few_history = _files(csv_file, 10, "F")
    many_deals, many_history = _files(csv_file, 400, "M")

    assert _queries(run_import, "opportunities", few_deals) == _queries(run_import, "opportunities", many_deals)
    assert _queries(run_import, "stage_history", few_history) == _queries(run_import, "stage_history", many_history)
    assert Opportunity.objects.count() == 410 and StageChange.objects.count() == 820
