"""Working-day calendars: public holidays and make-up working days (调休), built in for mainland China.

Pure (the file loaders only read the file they are given). A day is a working day when it is a make-up working
day, or a Monday-to-Friday that is not a holiday. A calendar knows which calendar years it covers; asking for a
year it does not cover is refused rather than silently counting weekdays, because a missing Spring Festival
moves a whole month's target.

Built in: the State Council's notices (国务院办公厅关于X年部分节假日安排的通知) for 2023–2026, copied from the
notices named below. Later years are published each November or December; until a year is added here, load it
from a file (:func:`load_calendar`): CSV with columns ``date,kind[,name]`` or YAML (a list of entries, or a
mapping with ``days:`` and optionally ``years:``), ``kind`` being ``holiday`` or ``workday``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path as FilePath

from salesops.engine.decomposition import PlanError, Problem
from salesops.engine.messages import gettext_noop


@dataclass(frozen=True)
class HolidayCalendar:
    """Holidays and make-up working days; ``years`` are the calendar years covered (None: every year)."""

    name: str
    holidays: frozenset[date]
    workdays: frozenset[date]
    years: frozenset[int] | None
    sources: tuple[str, ...] = ()

    def covers(self, year: int) -> bool:
        return self.years is None or year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days(self, month: date) -> int:
        """Working days in the calendar month of ``month``; refuses a year the calendar does not cover."""
        if not self.covers(month.year):
            raise PlanError([missing_year(self, month.year)])
        day = date(month.year, month.month, 1)
        count = 0
        while day.month == month.month:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def merged(self, other: HolidayCalendar) -> HolidayCalendar:
        """This calendar with ``other`` laid over it: for the years ``other`` covers, only ``other`` counts."""
        if other.years is None:
            return other
        replaced = other.years
        years = None if self.years is None else self.years | replaced
        return HolidayCalendar(
            f"{self.name}+{other.name}",
            frozenset(d for d in self.holidays if d.year not in replaced) | other.holidays,
            frozenset(d for d in self.workdays if d.year not in replaced) | other.workdays,
            years,
            self.sources + other.sources,
        )


def missing_year(calendar: HolidayCalendar, year: int) -> Problem:
    """The problem of asking ``calendar`` for a year it does not cover."""
    return Problem((), gettext_noop(
        "the holiday calendar '{calendar}' has no data for {year} (it covers {covered}); load that year's official "
        "schedule from a file (CSV: date,kind with kind holiday or workday), or count weekdays only"
    ), {"calendar": calendar.name, "year": str(year), "covered": ", ".join(str(y) for y in sorted(calendar.years or ()))})


WEEKDAYS = HolidayCalendar("weekdays", frozenset(), frozenset(), None, ("Monday to Friday, no holidays",))


# -- mainland China ------------------------------------------------------------------------------------------
# Each year: the notice, then (festival, first day off, last day off) and the weekend days worked (调休上班),
# exactly as the notice words them.
_CN_MAINLAND: tuple[tuple[int, str, tuple[tuple[str, str, str], ...], tuple[str, ...]], ...] = (
    (
        2023,
        # 国务院办公厅关于2023年部分节假日安排的通知（国办发明电〔2022〕16号，2022-12-08）
        # https://www.gov.cn/zhengce/content/2022-12/08/content_5730844.htm
        # 元旦：2022年12月31日至2023年1月2日放假调休，共3天。
        # 春节：1月21日至27日放假调休，共7天。1月28日（星期六）、1月29日（星期日）上班。
        # 清明节：4月5日放假，共1天。
        # 劳动节：4月29日至5月3日放假调休，共5天。4月23日（星期日）、5月6日（星期六）上班。
        # 端午节：6月22日至24日放假调休，共3天。6月25日（星期日）上班。
        # 中秋节、国庆节：9月29日至10月6日放假调休，共8天。10月7日（星期六）、10月8日（星期日）上班。
        "国办发明电〔2022〕16号 https://www.gov.cn/zhengce/content/2022-12/08/content_5730844.htm",
        (
            ("元旦", "2022-12-31", "2023-01-02"),
            ("春节", "2023-01-21", "2023-01-27"),
            ("清明节", "2023-04-05", "2023-04-05"),
            ("劳动节", "2023-04-29", "2023-05-03"),
            ("端午节", "2023-06-22", "2023-06-24"),
            ("中秋节、国庆节", "2023-09-29", "2023-10-06"),
        ),
        ("2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06", "2023-06-25", "2023-10-07", "2023-10-08"),
    ),
    (
        2024,
        # 国务院办公厅关于2024年部分节假日安排的通知（国办发明电〔2023〕7号，2023-10-25）
        # https://www.gov.cn/zhengce/content/202310/content_6911527.htm
        # 元旦：1月1日放假，与周末连休。
        # 春节：2月10日至17日放假调休，共8天。2月4日（星期日）、2月18日（星期日）上班。
        # 清明节：4月4日至6日放假调休，共3天。4月7日（星期日）上班。
        # 劳动节：5月1日至5日放假调休，共5天。4月28日（星期日）、5月11日（星期六）上班。
        # 端午节：6月10日放假，与周末连休。
        # 中秋节：9月15日至17日放假调休，共3天。9月14日（星期六）上班。
        # 国庆节：10月1日至7日放假调休，共7天。9月29日（星期日）、10月12日（星期六）上班。
        "国办发明电〔2023〕7号 https://www.gov.cn/zhengce/content/202310/content_6911527.htm",
        (
            ("元旦", "2024-01-01", "2024-01-01"),
            ("春节", "2024-02-10", "2024-02-17"),
            ("清明节", "2024-04-04", "2024-04-06"),
            ("劳动节", "2024-05-01", "2024-05-05"),
            ("端午节", "2024-06-10", "2024-06-10"),
            ("中秋节", "2024-09-15", "2024-09-17"),
            ("国庆节", "2024-10-01", "2024-10-07"),
        ),
        ("2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14", "2024-09-29",
         "2024-10-12"),
    ),
    (
        2025,
        # 国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号，2024-11-12）
        # https://www.gov.cn/zhengce/content/202411/content_6986382.htm
        # 元旦：1月1日（周三）放假1天，不调休。
        # 春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。1月26日（周日）、2月8日（周六）上班。
        # 清明节：4月4日（周五）至6日（周日）放假，共3天。
        # 劳动节：5月1日（周四）至5日（周一）放假调休，共5天。4月27日（周日）上班。
        # 端午节：5月31日（周六）至6月2日（周一）放假，共3天。
        # 国庆节、中秋节：10月1日（周三）至8日（周三）放假调休，共8天。9月28日（周日）、10月11日（周六）上班。
        "国办发明电〔2024〕12号 https://www.gov.cn/zhengce/content/202411/content_6986382.htm",
        (
            ("元旦", "2025-01-01", "2025-01-01"),
            ("春节", "2025-01-28", "2025-02-04"),
            ("清明节", "2025-04-04", "2025-04-06"),
            ("劳动节", "2025-05-01", "2025-05-05"),
            ("端午节", "2025-05-31", "2025-06-02"),
            ("国庆节、中秋节", "2025-10-01", "2025-10-08"),
        ),
        ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
    ),
    (
        2026,
        # 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号，2025-11-04）
        # https://www.gov.cn/zhengce/content/202511/content_7047090.htm
        # 元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
        # 春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
        # 清明节：4月4日（周六）至6日（周一）放假，共3天。
        # 劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
        # 端午节：6月19日（周五）至21日（周日）放假，共3天。
        # 中秋节：9月25日（周五）至27日（周日）放假，共3天。
        # 国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
        "国办发明电〔2025〕7号 https://www.gov.cn/zhengce/content/202511/content_7047090.htm",
        (
            ("元旦", "2026-01-01", "2026-01-03"),
            ("春节", "2026-02-15", "2026-02-23"),
            ("清明节", "2026-04-04", "2026-04-06"),
            ("劳动节", "2026-05-01", "2026-05-05"),
            ("端午节", "2026-06-19", "2026-06-21"),
            ("中秋节", "2026-09-25", "2026-09-27"),
            ("国庆节", "2026-10-01", "2026-10-07"),
        ),
        ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
    ),
)


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@cache
def china_mainland() -> HolidayCalendar:
    """The built-in mainland China calendar (see the notices above)."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    for _, _, festivals, worked in _CN_MAINLAND:
        for _, first, last in festivals:
            holidays.update(_days(date.fromisoformat(first), date.fromisoformat(last)))
        workdays.update(date.fromisoformat(d) for d in worked)
    return HolidayCalendar(
        "cn",
        frozenset(holidays),
        frozenset(workdays),
        frozenset(year for year, *_ in _CN_MAINLAND),
        tuple(f"{year}: {notice}" for year, notice, *_ in _CN_MAINLAND),
    )


def festivals(year: int) -> tuple[tuple[str, date, date], ...]:
    """The built-in (festival, first day off, last day off) of one year: for display and tests."""
    for y, _, spans, _ in _CN_MAINLAND:
        if y == year:
            return tuple((name, date.fromisoformat(a), date.fromisoformat(b)) for name, a, b in spans)
    return ()


def weekdays() -> HolidayCalendar:
    return WEEKDAYS


BUILT_IN: dict[str, Callable[[], HolidayCalendar]] = {"cn": china_mainland, "weekdays": weekdays}


# -- loading a calendar from a file --------------------------------------------------------------------------


def load_calendar(path: str | FilePath, text: str | None = None) -> HolidayCalendar:
    """A calendar from a CSV (``date,kind[,name]``) or YAML file; every bad row is reported in one PlanError.

    YAML: a list of entries, or a mapping with ``days:`` (the list) and optionally ``name:`` and ``years:``; an
    entry is ``{date: 2027-02-06, kind: holiday}`` or a range ``{from: 2027-02-06, to: 2027-02-13, kind:
    holiday}``. The years covered are ``years:`` when given, else every year that has an entry.
    """
    path = FilePath(path)
    if text is None:
        text = read_text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        entries, years, name = _yaml_entries(path, text)
    else:
        entries, years, name = _csv_entries(path, text), None, path.stem
    problems: list[Problem] = []
    holidays: set[date] = set()
    workdays: set[date] = set()
    for where, first, last, kind in entries:
        a, b = _as_date(first), _as_date(last)
        if a is None or b is None:
            problems.append(Problem((), gettext_noop("not a date: {value} (expected e.g. 2027-02-06)"),
                                    {"value": repr(first if a is None else last)}, where))
            continue
        if b < a:
            problems.append(Problem((), gettext_noop("range ends ({end}) before it starts ({start})"),
                                    {"end": str(b), "start": str(a)}, where))
            continue
        kind_text = str(kind).strip().lower()
        if kind_text not in ("holiday", "workday"):
            problems.append(Problem((), gettext_noop("kind must be holiday or workday, not {kind}"),
                                    {"kind": repr(kind)}, where))
            continue
        days = set(_days(a, b))
        (holidays if kind_text == "holiday" else workdays).update(days)
    clash = sorted(holidays & workdays)
    if clash:
        problems.append(Problem((), gettext_noop("listed both as holiday and workday: {days}"),
                                {"days": ", ".join(map(str, clash))}, str(path)))
    if problems:
        raise PlanError(problems)
    covered = frozenset(years) if years is not None else frozenset(d.year for d in holidays | workdays)
    return HolidayCalendar(name, frozenset(holidays), frozenset(workdays), covered, (str(path),))


def read_text(path: FilePath) -> str:
    """A text file in UTF-8 (with or without BOM), else GB18030 (what Chinese Excel saves)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _as_date(value: object) -> date | None:
    """The date a cell or YAML value names, or None when it names none."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


Entry = tuple[str, object, object, object]


def _csv_entries(path: FilePath, text: str) -> list[Entry]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise PlanError([Problem((), gettext_noop("the file is empty (expected columns date,kind)"), source=str(path))])
    header = [cell.strip().lower() for cell in rows[0]]
    if "date" not in header or "kind" not in header:
        raise PlanError([Problem((), gettext_noop("expected columns date,kind[,name], found {found}"),
                                 {"found": ",".join(rows[0])}, str(path))])
    d, k = header.index("date"), header.index("kind")
    entries: list[Entry] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        entries.append((f"{path.name} row {number}", cells[d], cells[d], cells[k]))
    return entries


def _yaml_entries(path: FilePath, text: str) -> tuple[list[Entry], Sequence[int] | None, str]:
    import yaml  # the engine needs PyYAML only to read YAML calendar files

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError([Problem((), gettext_noop("not valid YAML: {error}"), {"error": str(exc)}, str(path))]) from None
    name, years = path.stem, None
    if isinstance(data, dict):
        name = str(data.get("name", name))
        years = data.get("years")
        if years is not None and (not isinstance(years, list) or not all(isinstance(y, int) for y in years)):
            raise PlanError([Problem((), gettext_noop("years: must be a list of years, e.g. [2027]"), source=str(path))])
        data = data.get("days")
    if not isinstance(data, list):
        raise PlanError([Problem((), gettext_noop("expected a list of days (or a mapping with days:)"),
                                 source=str(path))])
    entries: list[Entry] = []
    for number, item in enumerate(data, start=1):
        where = f"{path.name} entry {number}"
        if not isinstance(item, dict):
            entries.append((where, item, item, "(missing)"))
            continue
        first = item.get("date", item.get("from"))
        last = item.get("date", item.get("to", first))
        entries.append((where, first, last, item.get("kind", "(missing)")))
    return entries, years, name
