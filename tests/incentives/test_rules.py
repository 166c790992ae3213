"""Every rule label the engine writes has a translated form on the statement pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import translation

from salesops.incentives.rules import known, rule_text
from tests.engine.test_comp_docs import EXAMPLES, run


def labels_of_every_documented_example(tmp_path) -> set[str]:
    labels = set()
    for example in EXAMPLES:
        run(example, tmp_path / example.name)
        raw = (tmp_path / example.name / "out" / "details.csv").read_text(encoding="utf-8-sig")
        labels |= {row["rule"] for row in csv.DictReader(io.StringIO(raw))}
    return labels


def test_every_label_of_the_documented_plans_is_known(tmp_path):
    labels = labels_of_every_documented_example(tmp_path)
    assert len(labels) > 15
    assert sorted(label for label in labels if not known(label)) == []


@pytest.mark.parametrize(("label", "chinese"), [
    ("attainment 100%–150%", "达成率 100%–150%"),
    ("amount 0–100000 (before 2026-03-01)", "金额 0–100000（2026-03-01 之前）"),
    ("attainment 150%+", "达成率 150% 及以上"),
    ("clawback: product HW-1", "追回：产品 HW-1"),
    ("gate: attainment below 50%", "门槛：达成率低于 50%"),
    ("multiplier ×0.8 (margin_rate < 0.2)", "乘数 ×0.8（margin_rate < 0.2）"),
    ("flat", "固定费率"),
])
def test_labels_read_in_chinese(label, chinese):
    with translation.override("zh-hans"):
        assert rule_text(label) == chinese


def test_an_unknown_label_is_shown_as_it_is():
    assert rule_text("something new") == "something new" and not known("something new")
