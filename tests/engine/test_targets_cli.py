"""``salesops targets allocate``: the documented example end to end, with no database and no settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from salesops.engine import targets_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "targets"
INPUTS = ["--plan", "plan.yaml", "--history", "history.csv", "--potential", "potential.csv",
          "--capacity", "capacity.csv", "--locks", "locks.csv"]


def test_it_runs_the_documented_example_without_django_and_writes_the_committed_csvs(tmp_path):
    # Given no Django settings, no secret key and no database in the environment
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "SALESOPS_SECRET_KEY", "DATABASE_URL")}
    salesops = Path(sys.executable).parent / "salesops"
    # When the documented command runs in the example folder
    done = subprocess.run(  # noqa: S603  # our own console script, fixed arguments
        [str(salesops), "targets", "allocate", *INPUTS,
         "-o", str(tmp_path / "targets.csv"), "--tree", str(tmp_path / "tree.csv")],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    # Then it succeeds and writes exactly the files shown in docs/targets-allocate.md
    assert done.returncode == 0, done.stderr
    assert "Allocated 50000000 over 4 levels to 14 leaves x 12 months (FY2026)" in done.stderr
    assert (tmp_path / "targets.csv").read_bytes() == (EXAMPLE / "targets.csv").read_bytes()
    assert (tmp_path / "tree.csv").read_bytes() == (EXAMPLE / "tree.csv").read_bytes()


@pytest.fixture
def example(tmp_path, monkeypatch):
    for name in ("plan.yaml", "history.csv", "potential.csv", "capacity.csv", "locks.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def read(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text(encoding="utf-8-sig").splitlines()]


def test_the_long_layout_has_one_row_per_leaf_and_month_adding_up_to_the_wide_one(example, capsys):
    assert targets_cli.main(["allocate", *INPUTS, "-o", "long.csv", "--layout", "long"]) == 0
    rows = read(example / "long.csv")
    assert rows[0] == ["产品", "区域", "团队", "销售员", "period", "target"]
    assert len(rows) == 1 + 14 * 12
    wide = {tuple(r[:4]): int(r[4]) for r in read(EXAMPLE / "targets.csv")[1:]}
    sums: dict[tuple[str, ...], int] = {}
    for row in rows[1:]:
        sums[tuple(row[:4])] = sums.get(tuple(row[:4]), 0) + int(row[5])
    assert sums == wide


def test_it_reads_gb18030_files_and_a_total_in_wan(example, capsys):
    (example / "history.csv").write_bytes((EXAMPLE / "history.csv").read_text("utf-8-sig").encode("gb18030"))
    assert targets_cli.main(["allocate", *INPUTS, "--total", "6,000万", "-o", "out.csv"]) == 0
    rows = read(example / "out.csv")
    assert sum(int(r[4]) for r in rows[1:]) == 60_000_000


def test_it_prints_every_problem_with_its_row_or_node_and_writes_nothing(example, capsys):
    # Given locks that cannot hold, a lock and a capacity on members that do not exist, and a bad amount
    (example / "locks.csv").write_text("产品,区域,value\nA产品,,4000万\nB产品,,2000万\nC产品,,1万\nB产品,西北,1\n",
                                       encoding="utf-8")
    with (example / "capacity.csv").open("a", encoding="utf-8") as f:
        f.write("钱七,1,100%\n刘洋,1,lots\n")
    # When
    status = targets_cli.main(["allocate", *INPUTS, "-o", "out.csv", "--tree", "tree.csv"])
    # Then
    err = capsys.readouterr().err.splitlines()
    assert status == 1
    assert err == [
        "error: capacity.csv row 10: capacity: not a number: 'lots'",
        "error: capacity.csv row 9: 钱七 matches no member of the plan (unknown member?)",
        "error: locks.csv row 4: C产品 is not a member of the plan's tree",
        "error: locks.csv row 5: B产品/西北 is not a member of the plan's tree",
        "error: (total): locked values sum to 60000000, 10000000 more than its value 50000000: A产品=40000000, "
        "B产品=20000000",
        "5 problems; nothing was written.",
    ]
    assert not (example / "out.csv").exists() and not (example / "tree.csv").exists()


def test_it_names_every_mistake_in_the_plan_file(example, capsys):
    text = (example / "plan.yaml").read_text(encoding="utf-8")
    text = text.replace("method: capacity", "method: capacty").replace("equal: 0}", "equal: 0.1}")
    text = text.replace("  by: 产品", "  by: 产品\n  colour: blue")
    (example / "plan.yaml").write_text(text, encoding="utf-8")
    assert targets_cli.main(["allocate", *INPUTS, "-o", "out.csv"]) == 1
    err = capsys.readouterr().err
    assert "error: plan.yaml: levels[2].blend: historical 0.6 + potential 0.4 + equal 0.1 = 1.1; the three must " \
           "add up to exactly 1" in err
    assert "error: plan.yaml: levels[4].method: 'capacty' is not one of: equal, historical" in err
    assert "error: plan.yaml: seasonality: unknown key 'colour'" in err


def test_a_typed_profile_off_100_percent_is_refused(example, capsys):
    text = (example / "plan.yaml").read_text(encoding="utf-8")
    text = text.replace("  profile: history", "  profile: typed\n  percent: [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]")
    (example / "plan.yaml").write_text(text, encoding="utf-8")
    assert targets_cli.main(["allocate", *INPUTS, "-o", "out.csv"]) == 1
    assert "the typed profile totals 96%, 4 percentage points short of 100%" in capsys.readouterr().err
