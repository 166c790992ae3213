"""The values an import returns: one ``RowError`` per problem and one immutable ``ImportResult`` per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple


class RowError(NamedTuple):
    """One problem, located as the user sees it: ``row`` is the file's row number (the header is row 1;
    ``None`` for the file as a whole), ``field`` our field name (or "" when no field is at fault), ``value``
    the cell text, ``message`` the reason in the user's language."""

    row: int | None
    field: str
    value: str
    message: str

    def __str__(self) -> str:
        from django.utils.translation import gettext as _

        where = _("row %(row)d") % {"row": self.row} if self.row is not None else _("file")
        what = f", {self.field}" if self.field else ""
        shown = f" [{self.value}]" if self.value else ""
        return f"{where}{what}{shown}: {self.message}"


@dataclass(frozen=True)
class ImportResult:
    """What one import did (or, on a dry run or with errors, would have done: nothing is saved then)."""

    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: tuple[RowError, ...] = ()
    dry_run: bool = False
    batch_id: int | None = None
    encoding: str = ""
    sheet: str = ""
    mapping: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def saved(self) -> bool:
        return self.ok and not self.dry_run
