"""``salesops comp check`` and ``salesops comp calc`` over files: exit codes, every problem named (file, row,
column, value; path and line), nothing written on a problem, the four outputs, and Parquet equal to CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from salesops.engine.comp import cli

D = Decimal

PLAN = """\
plan: 2026 销售提成方案
version: 2
effective_from: 2026-01-01
components:
  - id: commission
    name: 提成
    credit: {roll_up: {levels: 1}}
    quota: {source: input}
    rate:
      tiers:
        mode: marginal
        bands:
          - {from: 0, to: 1.0, rate: 0.02}
          - {from: 1.0, to: 1.5, rate: 0.04}
          - {from: 1.5, rate: 0.06}
"""
TX = """\
line_id,date,customer,product,category,region,segment,quantity,net_amount,cost,credits
L1,2026-03-02,K1,P1,HW,华东,KA,1,800000.00,500000,E101
L2,2026-03-15,K2,P2,HW,华东,KA,2,500000.00,300000,E101:60;E102:40
L3,2026-02-15,K2,P2,HW,华东,KA,2,100.00,50,E102
"""
PAYEES = """\
payee,name,manager
E101,李丽,M201
E102,张伟,M201
M201,陈经理,
"""
QUOTAS = """\
payee,component,period,quota
E101,commission,2026-03,1000000
E102,commission,2026-03,500000
M201,commission,2026-03,1500000
"""
EXPECTED = [("E101", "commission", "24000.00"), ("E102", "commission", "4000.00"), ("M201", "commission", "26000.00")]


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def calc(tmp_path: Path, *, plan=PLAN, tx=TX, payees=PAYEES, quotas=QUOTAS, hierarchy=None, period="2026-03",
         tx_path: Path | None = None) -> tuple[int, Path]:
    out = tmp_path / "out"
    argv = ["calc", "--plan", str(write(tmp_path, "plan.yaml", plan)),
            "--transactions", str(tx_path or write(tmp_path, "tx.csv", tx)),
            "--payees", str(write(tmp_path, "payees.csv", payees)), "--period", period, "--out", str(out)]
    if quotas is not None:
        argv += ["--quotas", str(write(tmp_path, "quotas.csv", quotas))]
    if hierarchy is not None:
        argv += ["--hierarchy", str(write(tmp_path, "hierarchy.csv", hierarchy))]
    return cli.main(argv), out


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} is UTF-8 with BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def payouts(out: Path) -> list[tuple[str, str, str]]:
    return [(r["payee"], r["component"], r["amount"]) for r in read_csv(out / "payouts.csv")]


def stderr_lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


# -- check ----------------------------------------------------------------------------------------------------


def test_check_accepts_a_valid_plan(tmp_path, capsys):
    path = write(tmp_path, "plan.yaml", PLAN)
    assert cli.main(["check", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == (f"{path}: plan '2026 销售提成方案' version 2, 1 component(s): commission — valid")
    assert captured.err == ""


def test_check_lists_every_problem_with_its_path_and_line_on_stderr(tmp_path, capsys):
    broken = PLAN.replace("version: 2", "version: 0").replace("rate: 0.04", "rate: -0.04").replace(
        "    name: 提成\n", "    name: 提成\n    windw: quarter\n")
    path = write(tmp_path, "plan.yaml", broken)
    assert cli.main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert sorted(captured.err.splitlines()) == [
        f"{path}: components[0].rate.tiers.bands[1].rate: must be ≥ 0 (line 15)",
        f"{path}: components[0].windw: unknown key (line 7)",
        f"{path}: version: must be ≥ 1 (line 2)",
    ]


def test_check_names_a_plan_it_cannot_read(tmp_path, capsys):
    missing = tmp_path / "nowhere.yaml"
    assert cli.main(["check", str(missing)]) == 1
    [problem] = stderr_lines(capsys)
    assert problem.startswith(f"{missing}: {missing}: cannot read it")


# -- calc: the outputs --------------------------------------------------------------------------------------------


def test_calc_writes_payouts_details_credits_and_statements(tmp_path, capsys):
    code, out = calc(tmp_path)
    assert code == 0
    assert capsys.readouterr().out.strip() == f"2026 销售提成方案 v2, 2026-03: 3 payout(s), total 54,000.00 CNY → {out}"
    rows = read_csv(out / "payouts.csv")
    assert list(rows[0]) == ["plan", "version", "period", "payee", "name", "component", "amount", "earned", "measure",
                             "quota", "attainment", "rules"]
    assert payouts(out) == EXPECTED
    e101 = rows[0]
    assert (e101["plan"], e101["version"], e101["period"], e101["name"]) == ("2026 销售提成方案", "2", "2026-03", "李丽")
    assert (e101["measure"], e101["quota"], e101["attainment"], e101["earned"]) == (
        "1100000.00", "1000000.00", "1.1000", "24000.00")
    assert e101["rules"] == ("attainment 0%–100%: 1000000.00 × 0.02 = 20000.00; "
                             "attainment 100%–150%: 100000.00 × 0.04 = 4000.00")

    details = read_csv(out / "details.csv")
    assert list(details[0]) == ["payee", "component", "rule", "band", "basis", "rate", "earned"]
    for payee, _component, amount in EXPECTED:  # each payout is its detail rows' sum
        assert sum(D(d["earned"]) for d in details if d["payee"] == payee) == D(amount)
    assert [(d["rule"], D(d["basis"]), D(d["rate"])) for d in details if d["payee"] == "E101"] == [
        ("attainment 0%–100%", D(1000000), D("0.02")), ("attainment 100%–150%", D(100000), D("0.04"))]

    credits = read_csv(out / "credits.csv")
    assert list(credits[0]) == ["payee", "component", "line_id", "seller", "level", "credit", "measure"]
    assert [(c["payee"], c["line_id"], c["seller"], c["level"], D(c["credit"])) for c in credits] == [
        ("E101", "L1", "E101", "0", D(800000)), ("E101", "L2", "E101", "0", D(300000)),
        ("E102", "L2", "E102", "0", D(200000)),
        ("M201", "L1", "E101", "1", D(800000)), ("M201", "L2", "E101", "1", D(300000)),
        ("M201", "L2", "E102", "1", D(200000)),
    ]

    assert sorted(p.name for p in (out / "statements").iterdir()) == ["E101.txt", "E102.txt", "M201.txt"]
    statement = (out / "statements" / "E101.txt").read_text(encoding="utf-8")
    for expected in ("Statement — 李丽 (E101)", "Plan 2026 销售提成方案 v2, period 2026-03", "Total 24,000.00 CNY",
                     "提成: 24,000.00", "measure 1100000.00 of quota 1000000.00 = attainment 1.1000",
                     "attainment 100%–150%: 100000.00 × 0.04 = 4000.00", "from 2 credited order line(s)"):
        assert expected in statement


def test_calc_gives_the_same_bytes_run_after_run(tmp_path):
    first = tmp_path / "a"
    second = tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert calc(first)[0] == 0 and calc(second)[0] == 0
    for name in ("payouts.csv", "details.csv", "credits.csv", "statements/M201.txt"):
        assert (first / "out" / name).read_bytes() == (second / "out" / name).read_bytes()


def test_calc_reads_a_csv_saved_by_excel_with_a_bom(tmp_path):
    code, out = calc(tmp_path, tx_path=write(tmp_path, "tx.csv", TX, encoding="utf-8-sig"))
    assert code == 0
    assert payouts(out) == EXPECTED


def test_calc_pays_a_quarter(tmp_path):
    quotas = QUOTAS.replace("2026-03", "2026-Q1")
    code, out = calc(tmp_path, quotas=quotas, period="2026-Q1")
    assert code == 0
    # the quarter also holds L3 (February, 100.00 for E102): E102 200,100 × 2 %
    assert payouts(out) == [("E101", "commission", "24000.00"), ("E102", "commission", "4002.00"),
                            ("M201", "commission", "26002.00")]


# -- calc: bad inputs are named and nothing is written ------------------------------------------------------------

HEADER = "line_id,date,product,category,quantity,net_amount,credits\n"
GOOD = "L1,2026-03-02,P1,HW,1,1000.00,E101\n"


@pytest.mark.parametrize(("row", "problem"), [
    ("L2,2026-03-03,P1,HW,1,12x.00,E101", "tx.csv row 3, net_amount [12x.00]: not a number"),
    ("L2,2026-03-03,P1,HW,1,10.001,E101", "tx.csv row 3, net_amount [10.001]: more than 2 decimals"),
    ("L2,2026-03-03,P1,HW,one,10.00,E101", "tx.csv row 3, quantity [one]: not a number"),
    ("L2,2026-02-30,P1,HW,1,10.00,E101", "tx.csv row 3, date [2026-02-30]: not a date (YYYY-MM-DD)"),
    ("L2,03/03/2026,P1,HW,1,10.00,E101", "tx.csv row 3, date [03/03/2026]: not a date (YYYY-MM-DD)"),
    ("L1,2026-03-03,P1,HW,1,10.00,E101", "tx.csv row 3, line_id [L1]: the same line id is on row 2"),
    ("L2,2026-03-03,P1,HW,1,10.00,E101:60;E102:30",
     "tx.csv row 3, credits [E101:60;E102:30]: the shares add up to 90%, not 100%"),
    ("L2,2026-03-03,P1,HW,1,10.00,E101:60;E102:60",
     "tx.csv row 3, credits [E101:60;E102:60]: the shares add up to 120%, not 100%"),
    ("L2,2026-03-03,P1,HW,1,10.00,E999", "tx.csv row 3, credits [E999]: no such payee in payees.csv"),
    ("L2,2026-03-03,P1,HW,1,10.00,", "tx.csv row 3, credits []: no salesperson credited"),
    ("L2,2026-03-03,P1,HW,1,10.00,E101:60;E102:4O",
     ["tx.csv row 3, credits [E101:60;E102:4O]: the shares add up to 60%, not 100%",
      "tx.csv row 3, credits [E102:4O]: not employee-number:percent (e.g. E101:60;E201:40)"]),
    ("L2,2026-03-03,P1,HW,1,10.00,E101:abc", "tx.csv row 3, credits [E101:abc]: no such payee in payees.csv"),
], ids=["not-a-number", "decimals", "quantity", "no-such-day", "date-format", "duplicate-line", "shares-under-100",
        "shares-over-100", "unknown-payee", "empty-credits", "bad-credit", "one-bad-credit"])
def test_a_bad_transaction_row_is_named_and_nothing_is_written(tmp_path, capsys, row, problem):
    code, out = calc(tmp_path, tx=HEADER + GOOD + row + "\n", payees="payee,name\nE101,李丽\nE102,张伟\n", quotas=None,
                     plan="plan: p\neffective_from: 2026-01-01\ncomponents:\n  - {id: c, rate: {flat: 0.1}}\n")
    assert code == 1
    assert sorted(stderr_lines(capsys)) == ([problem] if isinstance(problem, str) else problem)
    assert not out.exists()


def test_every_bad_row_of_a_file_is_listed_at_once(tmp_path, capsys):
    tx = HEADER + GOOD + ("L2,2026-13-01,P1,HW,1,1x,E101\n"
                          "L1,2026-03-03,P1,HW,1,10.00,E101:50;E999:40\n"
                          "L4,2026-03-03,P1,HW,1,10.00,\n")
    code, out = calc(tmp_path, tx=tx, payees="payee,name\nE101,李丽\n", quotas=None,
                     plan="plan: p\neffective_from: 2026-01-01\ncomponents:\n  - {id: c, rate: {flat: 0.1}}\n")
    assert code == 1
    assert sorted(stderr_lines(capsys)) == sorted([
        "tx.csv row 3, date [2026-13-01]: not a date (YYYY-MM-DD)",
        "tx.csv row 3, net_amount [1x]: not a number",
        "tx.csv row 4, line_id [L1]: the same line id is on row 2",
        "tx.csv row 4, credits [E101:50;E999:40]: the shares add up to 90%, not 100%",
        "tx.csv row 4, credits [E999]: no such payee in payees.csv",
        "tx.csv row 5, credits []: no salesperson credited",
    ])
    assert not out.exists()


def test_missing_columns_are_named(tmp_path, capsys):
    code, out = calc(tmp_path, tx="id,date,amount\nL1,2026-03-02,10\n")
    assert code == 1
    assert stderr_lines(capsys) == ["tx.csv: needs a column line_id or external_id",
                                    "tx.csv: needs a column net_amount or net", "tx.csv: needs a column credits"]
    assert not out.exists()


def test_a_missing_quota_is_listed_by_payee(tmp_path, capsys):
    code, out = calc(tmp_path, quotas="payee,component,period,quota\nE101,commission,2026-03,1000000\n")
    assert code == 1
    assert stderr_lines(capsys) == ["component commission: no quota for period 2026-03 for payee E102",
                                    "component commission: no quota for period 2026-03 for payee M201"]
    assert not out.exists()


def test_a_bad_quota_row_is_named(tmp_path, capsys):
    quotas = QUOTAS + "E101,commission,2026-3,5\nE102,commission,2026-03,-1\n"
    code, out = calc(tmp_path, quotas=quotas)
    assert code == 1
    assert sorted(stderr_lines(capsys)) == [
        "quotas.csv row 5, period [2026-3]: not a period code (2026-03, 2026-Q1, 2026-H1 or FY2026)",
        "quotas.csv row 6, period [2026-03]: the same payee, component and period is on row 3",
        "quotas.csv row 6, quota [-1]: negative",
    ]
    assert not out.exists()


HIERARCHY = """\
payee,manager,valid_from,valid_to
E101,M201,2025-01-01,2026-03-10
E101,M202,2026-03-10,
"""
PAYEES_4 = "payee,name\nE101,李丽\nE102,张伟\nM201,陈经理\nM202,赵经理\n"


def test_a_dated_hierarchy_moves_the_roll_up_on_the_line_date(tmp_path):
    hierarchy = HIERARCHY + "E102,M201,2025-01-01,\n"
    code, out = calc(tmp_path, payees=PAYEES_4, hierarchy=hierarchy, quotas=QUOTAS + "M202,commission,2026-03,1\n")
    assert code == 0
    # L1 (2 March) rolls up to M201, E101's share of L2 (15 March) to M202; E102's share of L2 to M201
    credits = [(c["payee"], c["line_id"], c["seller"]) for c in read_csv(out / "credits.csv") if c["level"] == "1"]
    assert credits == [("M201", "L1", "E101"), ("M201", "L2", "E102"), ("M202", "L2", "E101")]


def test_overlapping_hierarchy_rows_of_a_payee_are_refused(tmp_path, capsys):
    hierarchy = HIERARCHY + "E101,M202,2026-02-01,2026-04-01\n"
    code, out = calc(tmp_path, payees=PAYEES_4, hierarchy=hierarchy)
    assert code == 1
    assert sorted(stderr_lines(capsys)) == [
        "hierarchy.csv row 4, valid_from [2026-02-01]: overlaps row 2 of the same payee",
        "hierarchy.csv row 4, valid_from [2026-02-01]: overlaps row 3 of the same payee"]
    assert not out.exists()


def test_a_payee_with_a_manager_in_both_files_is_refused(tmp_path, capsys):
    payees = "payee,name,manager\nE101,李丽,M201\nE102,张伟,\nM201,陈经理,\nM202,赵经理,\n"
    code, out = calc(tmp_path, payees=payees, hierarchy="payee,manager,valid_from,valid_to\nE101,M202,2026-01-01,\n",
                     quotas=None, plan=PLAN.replace("quota: {source: input}", "quota: {source: fixed, amount: 1}"))
    assert code == 1
    assert stderr_lines(capsys) == [
        "payees.csv row 2, manager [M201]: this payee also has rows in hierarchy.csv: keep the reporting line in one "
        "file"]
    assert not out.exists()


def test_a_plan_problem_stops_calc(tmp_path, capsys):
    code, out = calc(tmp_path, plan=PLAN.replace("rate: 0.04", "rate: -0.04"))
    assert code == 1
    assert stderr_lines(capsys) == ["components[0].rate.tiers.bands[1].rate: must be ≥ 0 (line 14)"]
    assert not out.exists()


@pytest.mark.parametrize(("period", "problem"), [
    ("2026-H1", "--period 2026-H1: a payout period is a month (2026-03) or a quarter (2026-Q1)"),
    ("2026-3", "not a period code: '2026-3' (expected e.g. 2026-03, 2026-Q1, 2026-H1, FY2026)"),
])
def test_a_payout_period_is_a_month_or_a_quarter(tmp_path, capsys, period, problem):
    code, out = calc(tmp_path, period=period)
    assert code == 1
    assert stderr_lines(capsys) == [problem]
    assert not out.exists()


# -- Parquet -----------------------------------------------------------------------------------------------------


def test_parquet_transactions_give_the_same_payouts_as_csv(tmp_path):
    csv_dir, parquet_dir = tmp_path / "csv", tmp_path / "parquet"
    csv_dir.mkdir()
    parquet_dir.mkdir()
    code, csv_out = calc(csv_dir)
    assert code == 0
    table = pacsv.read_csv(csv_dir / "tx.csv")  # typed as pyarrow infers them: date32, double, int64, string
    assert str(table.schema.field("date").type) == "date32[day]"
    pq.write_table(table, parquet_dir / "tx.parquet")
    code, parquet_out = calc(parquet_dir, tx_path=parquet_dir / "tx.parquet")
    assert code == 0
    assert payouts(parquet_out) == payouts(csv_out) == EXPECTED
    for name in ("payouts.csv", "details.csv", "credits.csv"):
        assert (parquet_out / name).read_bytes() == (csv_out / name).read_bytes()


def test_bad_parquet_rows_are_named_like_csv_rows(tmp_path, capsys):
    table = pacsv.read_csv(io.BytesIO((TX + "L1,2026-03-20,K1,P1,HW,华东,KA,1,5.00,0,E101\n").encode()))
    pq.write_table(table, tmp_path / "tx.parquet")
    code, out = calc(tmp_path, tx_path=tmp_path / "tx.parquet")
    assert code == 1
    assert stderr_lines(capsys) == ["tx.parquet row 5, line_id [L1]: the same line id is on row 2"]
    assert not out.exists()
