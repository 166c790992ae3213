"""Every runnable example of ``docs/plans.md`` runs through ``salesops comp calc`` and pays what the page says.

An example is a marker ``<!-- example: NAME period=P -->`` followed (up to the next marker, or the next heading:
the sketches of a reference section are not part of the example before it) by fenced blocks: one
```` ```yaml ```` plan and ```` ```csv ROLE ```` files — ``transactions``, ``payees``, optionally ``quotas``,
``hierarchy``, ``scores`` and ``payments`` — and ``expected`` (``payee,component,amount``): exactly the rows of ``payouts.csv``, in order.
Other fenced blocks (``text``) are prose and ignored; a second plan or a repeated or unknown CSV role is an error,
so a misplaced block fails loudly instead of being silently skipped.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from salesops.engine.comp import cli

DOC = Path(__file__).resolve().parents[2] / "docs" / "plans.md"
MARKER = re.compile(r"<!-- example: (?P<name>[a-z0-9][a-z0-9-]*) period=(?P<period>\S+) -->")
HEADING = re.compile(r"#{1,6} ")
FENCE = re.compile(r"^```(?P<info>[^`\n]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FILES = ("transactions", "payees", "quotas", "hierarchy", "scores", "payments", "balances", "customers")
REQUIRED = ("transactions", "payees", "expected")


@dataclass
class Example:
    name: str
    period: str
    plan: str = ""
    csv: dict[str, str] = field(default_factory=dict)

    def expected(self) -> list[tuple[str, str, str]]:
        rows = list(csv.reader(io.StringIO(self.csv["expected"])))
        assert rows[0] == ["payee", "component", "amount"], f"{self.name}: expected header is {rows[0]}"
        return [tuple(row) for row in rows[1:] if row]


def prose(text: str) -> list[tuple[int, str]]:
    """(offset, line) of the page's lines outside fenced blocks: a heading or a marker inside a fence (a YAML
    comment, the layout shown above) is not one."""
    out, fence, offset = [], "", 0
    for line in text.splitlines(keepends=True):
        ticks = re.match(r"^(`{3,})", line)
        if fence:
            if ticks and ticks[1] == fence and not line[len(fence):].strip():
                fence = ""
        elif ticks:
            fence = ticks[1]
        else:
            out.append((offset, line.rstrip("\n")))
        offset += len(line)
    return out


def parse(text: str) -> list[Example]:
    lines = prose(text)
    markers = [(offset, MARKER.fullmatch(line)) for offset, line in lines if MARKER.fullmatch(line)]
    headings = [offset for offset, line in lines if HEADING.match(line)]
    examples = []
    for i, (offset, marker) in enumerate(markers):
        start = offset + len(marker[0])
        following = markers[i + 1][0] if i + 1 < len(markers) else len(text)
        end = min([following, *(h for h in headings if h > start)])
        example = Example(marker["name"], marker["period"])
        for block in FENCE.finditer(text, start, end):
            info = block["info"].split()
            if info == ["yaml"]:
                assert not example.plan, f"{example.name}: two yaml blocks"
                example.plan = block["body"]
            elif info[:1] == ["csv"]:
                assert len(info) == 2 and info[1] in (*FILES, "expected"), f"{example.name}: block ```{block['info']}"
                assert info[1] not in example.csv, f"{example.name}: two csv {info[1]} blocks"
                example.csv[info[1]] = block["body"]
        assert example.plan, f"{example.name}: no yaml plan"
        missing = [role for role in REQUIRED if role not in example.csv]
        assert not missing, f"{example.name}: no csv {', '.join(missing)} block"
        examples.append(example)
    return examples


EXAMPLES = parse(DOC.read_text(encoding="utf-8"))


def run(example: Example, tmp_path: Path) -> list[tuple[str, str, str]]:
    """Write the example's files, run ``calc`` and return ``payouts.csv``'s (payee, component, amount) rows."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "plan.yaml").write_text(example.plan, encoding="utf-8")
    argv = ["calc", "--plan", str(tmp_path / "plan.yaml"), "--period", example.period, "--out", str(tmp_path / "out")]
    for role in FILES:
        if role in example.csv:
            (tmp_path / f"{role}.csv").write_text(example.csv[role], encoding="utf-8")
            argv += [f"--{role}", str(tmp_path / f"{role}.csv")]
    assert cli.main(argv) == 0, f"{example.name}: calc failed"
    raw = (tmp_path / "out" / "payouts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    return [(r["payee"], r["component"], r["amount"]) for r in rows]


def test_the_page_has_at_least_ten_examples_with_unique_names():
    names = [e.name for e in EXAMPLES]
    assert len(names) >= 10
    assert len(set(names)) == len(names)
    # every marker on the page was parsed (a marker with a typo in its layout would otherwise be skipped)
    assert len(names) == sum(1 for _offset, line in prose(DOC.read_text(encoding="utf-8"))
                             if re.match(r"\s*<!--\s*example", line))


def check(example: Example, tmp_path: Path) -> None:
    expected = example.expected()
    assert expected, f"{example.name}: an example must expect at least one payout"
    assert run(example, tmp_path) == expected


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_the_example_pays_what_the_page_says(example, tmp_path):
    check(example, tmp_path)


@pytest.mark.parametrize("change", [
    lambda text: text.replace("E101,commission,32000.00", "E101,commission,32000.01"),  # one cent off
    lambda text: text.replace("E101,commission,32000.00", "E101,commission,32000"),  # not the file's text
    lambda text: text.replace("E101,commission,32000.00\n", ""),  # a payout left out
    lambda text: text + "E103,commission,0.00\n",  # a payout that is not there
    lambda text: "payee,component,amount\nE102,commission,52000.00\nE101,commission,32000.00\n",  # reordered
], ids=["cent", "text", "missing", "extra", "order"])
def test_a_wrong_expected_block_fails(change, tmp_path):
    example = next(e for e in EXAMPLES if e.name == "tiers-marginal")
    check(example, tmp_path / "right")  # as written on the page it holds …
    wrong = Example(example.name, example.period, example.plan, {**example.csv,
                                                                 "expected": change(example.csv["expected"])})
    assert wrong.csv["expected"] != example.csv["expected"]
    with pytest.raises(AssertionError):  # … and any change to the expected block is caught
        check(wrong, tmp_path / "wrong")


def test_the_parser_refuses_a_misplaced_block():
    page = """<!-- example: a period=2026-03 -->
```yaml
plan: p
```
```csv transactions
line_id
```
```csv payees
payee
```
```csv expected
payee,component,amount
```
```csv transactions
line_id
```
"""
    with pytest.raises(AssertionError, match="two csv transactions"):
        parse(page)
    with pytest.raises(AssertionError, match="no csv expected"):
        parse(page.split("```csv expected")[0])
    with pytest.raises(AssertionError, match="```csv payee"):
        parse(page.replace("csv payees", "csv payee"))


def test_an_example_ends_at_the_next_heading_but_not_at_a_comment_in_its_plan():
    page = """<!-- example: a period=2026-03 -->
```yaml
# a comment, not a heading
plan: p
```
```csv transactions
line_id
```
```csv payees
payee
```
```csv expected
payee,component,amount
```

## The next section

```yaml
plan: a sketch, not part of example a
```
"""
    [example] = parse(page)
    assert example.plan == "# a comment, not a heading\nplan: p\n"
    assert set(example.csv) == {"transactions", "payees", "expected"}
