"""What reading a plan file gives: the plans of the valid rows and every error, by row and column.

`PlanFileError` is the whole file refused (missing, wrong type, no header row); `PlanError` one
bad cell; `PlanFile` the result of `guatu.plan_file.read.read_plan_file`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from guatu.lifecycle.models import ProjectPlan


class PlanFileError(Exception):
    """The file as a whole cannot be read (missing, wrong type, no header row)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


@dataclass(frozen=True)
class PlanError:
    """One problem in one cell: `row` as the spreadsheet numbers it, `column` the column key."""

    row: int
    column: str
    letter: str
    code: str
    zh: str
    en: str
    value: str = ""

    @property
    def message(self) -> str:
        where_zh = (
            f"第 {self.row} 行 {self.letter} 列（{self.column}）"
            if self.letter
            else f"第 {self.row} 行（{self.column}）"
        )
        where_en = (
            f"row {self.row}, column {self.letter} ({self.column})"
            if self.letter
            else f"row {self.row} ({self.column})"
        )
        return f"{where_zh}：{self.zh} / {where_en}: {self.en}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PlanFile:
    """What a plan file holds: the plans of the valid rows and every error found."""

    path: Path
    rows: int = 0
    plans: list[ProjectPlan] = field(default_factory=list)
    errors: list[PlanError] = field(default_factory=list)
    header_row: int = 1
    scenes: dict[str, str] = field(default_factory=dict)  # project code → its 示范场景 column

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


def iter_messages(errors: Iterable[PlanError]) -> Iterator[str]:
    for error in errors:
        yield error.message
