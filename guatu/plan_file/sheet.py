"""The project plan as a spreadsheet: CSV / XLSX into `ProjectPlan`s; templates and exports.

Column layout (one project per row; the header row names each column as "中文 / key", and a
header cell holding only the Chinese label or only the key is accepted as well; columns may come
in any order; rows above the header, such as a title row, are ignored):

| key | 中文 | required | content |
|---|---|---|---|
| `code` | 项目编号 | yes | `^[A-Z0-9][A-Z0-9-]{1,39}$`, unique in the file (e.g. WJ2021-P06-001) |
| `name_zh` | 项目名称 | yes | project name in Chinese |
| `name_en` | 英文名称 | no | project name in English |
| `program` | 所属工程 | yes | program code P01–P10 or its Chinese name (居民收入水平提升工程) |
| `bureau` | 责任单位 | yes | bureau code (sthjj) or its Chinese name (区生态环境局) |
| `kind` | 项目类型 | yes | 工程类 / engineering, 服务类 / service |
| `total_investment_wan` | 总投资（万元） | yes | number ≥ 0, in 万元 |
| `start` | 开始日期 | yes | date: 2021-03-01, 2021/3/1, 2021年3月1日 or an Excel date |
| `finish` | 完成日期 | yes | date, not before `start` |
| `curve` | 序时曲线 | no | 线性 / linear (default), S型 / s_curve |
| `illustrative` | 示例数据 | no | 是 / 否 (true / false); marks invented sample data |
| `land_use` … `accepted` | 计划节点 | see below | engineering milestones, planned dates: 取得用地 `land_use`, 取得规划许可 `planning_permit`, 取得施工许可 `construction_permit`, 开工 `construction_started`, 竣工 `completed`, 验收 `accepted` |
| `implementing` … `evaluated` | 计划节点 | see below | service milestones, planned dates: 实施 `implementing`, 完成 `done`, 评估 `evaluated` |
| `y2021`, `y2022`, … | 2021年计划投资（万元） | no | planned investment of that year, 万元 |

Rules checked for every row (every violation is reported, with its row and column):
at least one milestone, and only the milestones of the project's kind; every milestone between
`start` and `finish`; permits ≤ 开工 ≤ 竣工 ≤ 验收 and 实施 ≤ 完成 ≤ 评估; yearly amounts ≥ 0, only
in the years from `start` to `finish`, adding up to `total_investment_wan` (± 0.01 万元) when any
is given. Rows are numbered as a spreadsheet shows them (the header is usually row 1).

CSV files are read as UTF-8 (with or without BOM) or, failing that, GB18030 (what Excel on a
Chinese Windows saves); they are written as UTF-8 with BOM so that Excel opens them correctly.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guatu.lifecycle.models import (
    CurveShape,
    MilestonePlan,
    ProjectKind,
    ProjectPlan,
    Step,
)
from guatu.lifecycle.programme import load_bureaus, load_programs, load_sample_plans
from guatu.lifecycle.rules.stages import STEP_ZH

MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 10
SHEET_NAME = "项目计划"
README_SHEET = "说明"
SUM_TOLERANCE_WAN = 0.01

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
BUREAU_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
SCENE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,39}$")  # guatu.scenes.models.SCENE_PATTERN

ENGINEERING_STEPS: tuple[Step, ...] = (
    Step.LAND_USE,
    Step.PLANNING_PERMIT,
    Step.CONSTRUCTION_PERMIT,
    Step.CONSTRUCTION_STARTED,
    Step.COMPLETED,
    Step.ACCEPTED,
)
SERVICE_STEPS: tuple[Step, ...] = (Step.IMPLEMENTING, Step.DONE, Step.EVALUATED)
MILESTONE_STEPS: tuple[Step, ...] = ENGINEERING_STEPS + SERVICE_STEPS
STEPS_OF_KIND: dict[ProjectKind, tuple[Step, ...]] = {
    ProjectKind.ENGINEERING: ENGINEERING_STEPS,
    ProjectKind.SERVICE: SERVICE_STEPS,
}
# Milestones of a lower rank must not fall after those of a higher rank (permits are unordered
# among themselves).
STEP_RANK: dict[Step, int] = {
    Step.LAND_USE: 0,
    Step.PLANNING_PERMIT: 0,
    Step.CONSTRUCTION_PERMIT: 0,
    Step.CONSTRUCTION_STARTED: 1,
    Step.COMPLETED: 2,
    Step.ACCEPTED: 3,
    Step.IMPLEMENTING: 0,
    Step.DONE: 1,
    Step.EVALUATED: 2,
}

KIND_WORDS: dict[str, ProjectKind] = {
    "engineering": ProjectKind.ENGINEERING,
    "工程类": ProjectKind.ENGINEERING,
    "工程": ProjectKind.ENGINEERING,
    "service": ProjectKind.SERVICE,
    "服务类": ProjectKind.SERVICE,
    "服务": ProjectKind.SERVICE,
}
KIND_ZH = {ProjectKind.ENGINEERING: "工程类", ProjectKind.SERVICE: "服务类"}
CURVE_WORDS: dict[str, CurveShape] = {
    "linear": CurveShape.LINEAR,
    "线性": CurveShape.LINEAR,
    "直线": CurveShape.LINEAR,
    "s_curve": CurveShape.S_CURVE,
    "s型": CurveShape.S_CURVE,
    "s曲线": CurveShape.S_CURVE,
    "s-curve": CurveShape.S_CURVE,
    "s": CurveShape.S_CURVE,
}
CURVE_ZH = {CurveShape.LINEAR: "线性", CurveShape.S_CURVE: "S型"}
BOOL_WORDS: dict[str, bool] = {
    "是": True,
    "true": True,
    "yes": True,
    "y": True,
    "1": True,
    "否": False,
    "false": False,
    "no": False,
    "n": False,
    "0": False,
}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    required: bool
    help_zh: str
    help_en: str

    @property
    def header(self) -> str:
        return f"{self.zh} / {self.key}"


FIXED_COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        "项目编号",
        True,
        "大写字母、数字和连字符，文件内唯一，如 WJ2021-P06-001",
        "capital letters, digits and hyphens, unique in the file, e.g. WJ2021-P06-001",
    ),
    Column("name_zh", "项目名称", True, "项目中文名称", "project name in Chinese"),
    Column(
        "name_en", "英文名称", False, "项目英文名称（可空）", "project name in English (optional)"
    ),
    Column(
        "program",
        "所属工程",
        True,
        "工程编号 P01–P10 或工程名称",
        "program code P01–P10 or the program's Chinese name",
    ),
    Column(
        "bureau",
        "责任单位",
        True,
        "单位代码（如 sthjj）或单位名称（如 区生态环境局）",
        "bureau code (e.g. sthjj) or its Chinese name",
    ),
    Column("kind", "项目类型", True, "工程类 或 服务类", "engineering or service"),
    Column(
        "total_investment_wan",
        "总投资（万元）",
        True,
        "不小于 0 的数，单位万元",
        "number ≥ 0, in 10,000 yuan",
    ),
    Column("start", "开始日期", True, "如 2021-03-01", "date, e.g. 2021-03-01"),
    Column("finish", "完成日期", True, "不早于开始日期", "date, not before start"),
    Column("curve", "序时曲线", False, "线性（默认）或 S型", "linear (default) or s_curve"),
    Column("illustrative", "示例数据", False, "是 / 否（默认否）", "true / false (default false)"),
    Column(
        "scene",
        "示范场景",
        False,
        "场景编号（可空），如 S-JQJA；须为已设立的示范场景",
        "scene code (optional), e.g. S-JQJA; the scene must exist",
    ),
)
MILESTONE_COLUMNS: tuple[Column, ...] = tuple(
    Column(
        step.value,
        f"计划节点：{STEP_ZH[step]}",
        False,
        ("工程类项目" if step in ENGINEERING_STEPS else "服务类项目") + "的计划日期",
        f"planned date ({'engineering' if step in ENGINEERING_STEPS else 'service'} projects)",
    )
    for step in MILESTONE_STEPS
)
COLUMNS: tuple[Column, ...] = FIXED_COLUMNS + MILESTONE_COLUMNS
COLUMN_BY_KEY: dict[str, Column] = {c.key: c for c in COLUMNS}
YEAR_KEY_RE = re.compile(r"^y(\d{4})$")
YEAR_ZH_RE = re.compile(r"^(\d{4})\s*年")


def year_column(year: int) -> Column:
    return Column(
        f"y{year}",
        f"{year}年计划投资（万元）",
        False,
        f"{year} 年计划投资，万元",
        f"planned investment in {year}, 10,000 yuan",
    )


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------------------------


def _column_letter(index: int) -> str:
    """Spreadsheet letters of a 0-based column index: 0 → A, 26 → AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


class _Bad(Exception):
    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad("not_a_number", "不是数字", "not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value).replace(",", "").replace("，", "").replace(" ", "")
        text = text.removesuffix("万元")
        try:
            number = float(text)
        except ValueError:
            raise _Bad(
                "not_a_number", f"「{_text(value)}」不是数字", f"'{_text(value)}' is not a number"
            ) from None
    if not math.isfinite(number):
        raise _Bad(
            "not_a_number",
            f"「{_text(value)}」不是有限数字",
            f"'{_text(value)}' is not a finite number",
        )
    if number < 0:
        raise _Bad("negative", f"不能为负数（{number:g}）", f"cannot be negative ({number:g})")
    return number


_DATE_RES = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{1,2}-\d{1,2} 00:00(:00)?$", text) else text
    for pattern in _DATE_RES:
        match = pattern.match(text)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                break
    raise _Bad(
        "not_a_date",
        f"「{text}」不是有效日期（应如 2021-03-01）",
        f"'{text}' is not a valid date (expected e.g. 2021-03-01)",
    )


# ---------------------------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------------------------


def _header_key(cell: Any) -> str | None:
    """The column key a header cell names, or None when it names nothing known."""
    text = _text(cell)
    if not text:
        return None
    by_zh = {c.zh: c.key for c in COLUMNS}
    by_zh.update({STEP_ZH[s]: s.value for s in MILESTONE_STEPS})
    for part in (text, *(p.strip() for p in re.split(r"[/|]", text))):
        if not part:
            continue
        if part.lower() in COLUMN_BY_KEY:
            return part.lower()
        if part in by_zh:
            return by_zh[part]
        match = YEAR_KEY_RE.match(part.lower()) or YEAR_ZH_RE.match(part)
        if match:
            return f"y{match[1]}"
    return None


@dataclass
class _Header:
    row: int
    keys: dict[int, str]  # column index → key
    errors: list[PlanError]
    named: set[int]  # column indices whose header cell is not empty


def _find_header(rows: Sequence[tuple[int, Sequence[Any]]]) -> _Header:
    for row_number, cells in rows[:HEADER_SEARCH_ROWS]:
        known = [_header_key(c) for c in cells]
        if sum(1 for k in known if k is not None) < 3:
            continue
        keys: dict[int, str] = {}
        errors: list[PlanError] = []
        seen: dict[str, int] = {}
        for index, (cell, key) in enumerate(zip(cells, known, strict=True)):
            letter = _column_letter(index)
            if key is None:
                if _text(cell):
                    errors.append(
                        PlanError(
                            row_number,
                            _text(cell),
                            letter,
                            "unknown_column",
                            f"无法识别的列「{_text(cell)}」",
                            f"unknown column '{_text(cell)}'",
                            _text(cell),
                        )
                    )
                continue
            if key in seen:
                errors.append(
                    PlanError(
                        row_number,
                        key,
                        letter,
                        "duplicate_column",
                        f"列 {key} 重复（已在 {_column_letter(seen[key])} 列）",
                        f"column {key} appears twice (first in column {_column_letter(seen[key])})",
                        _text(cell),
                    )
                )
                continue
            seen[key] = index
            keys[index] = key
        for column in FIXED_COLUMNS:
            if column.required and column.key not in seen:
                errors.append(
                    PlanError(
                        row_number,
                        column.key,
                        "",
                        "missing_column",
                        f"缺少必填列「{column.header}」",
                        f"required column '{column.header}' is missing",
                    )
                )
        if not any(s.value in seen for s in MILESTONE_STEPS):
            errors.append(
                PlanError(
                    row_number,
                    "milestones",
                    "",
                    "missing_column",
                    "缺少计划节点列（如「计划节点：开工 / construction_started」）",
                    "no milestone column (e.g. 'construction_started')",
                )
            )
        named = {i for i, cell in enumerate(cells) if _text(cell)}
        return _Header(row_number, keys, errors, named)
    raise PlanFileError(
        f"前 {HEADER_SEARCH_ROWS} 行中找不到表头（应有「项目编号 / code」等列；可用 guatu plan template 生成模板）",
        f"no header row in the first {HEADER_SEARCH_ROWS} rows (expected columns such as "
        "'code'; `guatu plan template` writes a template)",
    )


# ---------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------


class _RowReader:
    def __init__(self, row: int, cells: dict[str, tuple[str, Any]]) -> None:
        self.row = row
        self.cells = cells  # key → (letter, raw value)
        self.errors: list[PlanError] = []

    def raw(self, key: str) -> Any:
        return self.cells.get(key, ("", None))[1]

    def text(self, key: str) -> str:
        return _text(self.raw(key))

    def error(self, key: str, code: str, zh: str, en: str) -> None:
        letter = self.cells.get(key, ("", None))[0]
        self.errors.append(PlanError(self.row, key, letter, code, zh, en, self.text(key)))

    def required(self, key: str) -> str | None:
        text = self.text(key)
        if not text:
            column = COLUMN_BY_KEY[key]
            self.error(key, "required", f"「{column.zh}」不能为空", f"'{key}' is required")
            return None
        return text

    def parse(self, key: str, parser: Any, required: bool = True) -> Any:
        if not self.text(key):
            if required:
                self.required(key)
            return None
        try:
            return parser(self.raw(key))
        except _Bad as bad:
            self.error(key, bad.code, bad.zh, bad.en)
            return None


def _lookup(text: str, by_code: set[str], by_name: dict[str, str]) -> str | None:
    if text in by_code:
        return text
    if text.lower() in by_code:
        return text.lower()
    return by_name.get(text)


class _Validator:
    def __init__(self, programs: dict[str, str] | None, bureaus: dict[str, str] | None) -> None:
        program_list = load_programs()
        bureau_list = load_bureaus()
        self.program_codes = (
            set(programs) if programs is not None else {p.code for p in program_list}
        )
        self.program_names = (
            {v: k for k, v in programs.items()}
            if programs is not None
            else {p.name_zh: p.code for p in program_list}
        )
        self.bureau_codes = set(bureaus) if bureaus is not None else {b.code for b in bureau_list}
        self.bureau_names = (
            {v: k for k, v in bureaus.items()}
            if bureaus is not None
            else {b.name_zh: b.code for b in bureau_list}
        )
        self.codes: dict[str, int] = {}

    def row(self, r: _RowReader) -> ProjectPlan | None:
        code = r.required("code")
        if code is not None:
            if not CODE_RE.match(code):
                r.error(
                    "code",
                    "bad_code",
                    f"项目编号「{code}」格式不对：只能用大写字母、数字和连字符，2–40 位",
                    f"project code '{code}' must be 2–40 capital letters, digits or hyphens",
                )
            elif code in self.codes:
                r.error(
                    "code",
                    "duplicate_code",
                    f"项目编号 {code} 与第 {self.codes[code]} 行重复",
                    f"project code {code} already appears in row {self.codes[code]}",
                )
            else:
                self.codes[code] = r.row
        name_zh = r.required("name_zh")
        program = None
        program_text = r.required("program")
        if program_text is not None:
            program = _lookup(program_text, self.program_codes, self.program_names)
            if program is None:
                r.error(
                    "program",
                    "unknown_program",
                    f"未知的工程「{program_text}」（应为 P01–P10）",
                    f"unknown program '{program_text}' (expected P01–P10)",
                )
        bureau = None
        bureau_text = r.required("bureau")
        if bureau_text is not None:
            bureau = _lookup(bureau_text, self.bureau_codes, self.bureau_names)
            if bureau is None or not BUREAU_RE.match(bureau):
                bureau = None
                r.error(
                    "bureau",
                    "unknown_bureau",
                    f"未知的责任单位「{bureau_text}」",
                    f"unknown bureau '{bureau_text}'",
                )
        kind = r.parse("kind", _kind)
        total = r.parse("total_investment_wan", _number)
        start = r.parse("start", _date)
        finish = r.parse("finish", _date)
        if start and finish and finish < start:
            r.error(
                "finish",
                "finish_before_start",
                f"完成日期 {finish.isoformat()} 早于开始日期 {start.isoformat()}",
                f"finish {finish.isoformat()} is before start {start.isoformat()}",
            )
            finish = None
        curve = r.parse("curve", _curve, required=False) or CurveShape.LINEAR
        illustrative = r.parse("illustrative", _bool, required=False) or False

        milestones = self._milestones(r, kind, start, finish)
        yearly = self._yearly(r, start, finish, total)

        if (
            r.errors
            or code is None
            or name_zh is None
            or program is None
            or bureau is None
            or kind is None
            or total is None
            or start is None
            or finish is None
            or milestones is None
            or yearly is None
        ):
            return None
        try:
            return ProjectPlan(
                code=code,
                name_zh=name_zh,
                name_en=r.text("name_en"),
                program=program,
                bureau=bureau,
                kind=kind,
                total_investment_wan=total,
                yearly_investment_wan=yearly,
                start=start,
                finish=finish,
                milestones=milestones,
                curve=curve,
                illustrative=illustrative,
            )
        except ValidationError as err:  # a rule of the model not checked above
            for item in err.errors():
                key = str(item["loc"][0]) if item["loc"] else "code"
                r.error(key, "invalid", f"无效：{item['msg']}", f"invalid: {item['msg']}")
            return None

    def _milestones(
        self, r: _RowReader, kind: ProjectKind | None, start: date | None, finish: date | None
    ) -> list[MilestonePlan] | None:
        planned: dict[Step, date] = {}
        failed = False
        for step in MILESTONE_STEPS:
            day = r.parse(step.value, _date, required=False)
            if day is None:
                failed = failed or bool(r.text(step.value))
                continue
            if kind is not None and step not in STEPS_OF_KIND[kind]:
                r.error(
                    step.value,
                    "milestone_not_of_kind",
                    f"{KIND_ZH[kind]}项目没有「{STEP_ZH[step]}」节点",
                    f"a {kind.value} project has no '{step.value}' milestone",
                )
                failed = True
                continue
            if start and day < start:
                r.error(
                    step.value,
                    "milestone_before_start",
                    f"「{STEP_ZH[step]}」{day.isoformat()} 早于开始日期 {start.isoformat()}",
                    f"'{step.value}' {day.isoformat()} is before start {start.isoformat()}",
                )
                failed = True
                continue
            if finish and day > finish:
                r.error(
                    step.value,
                    "milestone_after_finish",
                    f"「{STEP_ZH[step]}」{day.isoformat()} 晚于完成日期 {finish.isoformat()}",
                    f"'{step.value}' {day.isoformat()} is after finish {finish.isoformat()}",
                )
                failed = True
                continue
            planned[step] = day
        for step, day in planned.items():
            earlier = [
                (s, d) for s, d in planned.items() if STEP_RANK[s] < STEP_RANK[step] and d > day
            ]
            if earlier:
                s, d = max(earlier, key=lambda item: item[1])
                r.error(
                    step.value,
                    "milestone_order",
                    f"「{STEP_ZH[step]}」{day.isoformat()} 早于「{STEP_ZH[s]}」{d.isoformat()}",
                    f"'{step.value}' {day.isoformat()} is before '{s.value}' {d.isoformat()}",
                )
                failed = True
        if not planned and not failed and kind is not None:
            first = STEPS_OF_KIND[kind][0]
            r.error(
                first.value,
                "no_milestone",
                "至少要填一个计划节点日期",
                "at least one milestone date is required",
            )
            return None
        if failed:
            return None
        return [MilestonePlan(step=s, planned=planned[s]) for s in MILESTONE_STEPS if s in planned]

    def _yearly(
        self, r: _RowReader, start: date | None, finish: date | None, total: float | None
    ) -> dict[int, float] | None:
        yearly: dict[int, float] = {}
        failed = False
        for key in sorted(k for k in r.cells if YEAR_KEY_RE.match(k)):
            year = int(key[1:])
            amount = r.parse(key, _number, required=False)
            if amount is None:
                failed = failed or bool(r.text(key))
                continue
            if amount > 0 and start and finish and not start.year <= year <= finish.year:
                r.error(
                    key,
                    "year_outside_span",
                    f"{year} 年不在项目起止年份 {start.year}–{finish.year} 内",
                    f"{year} is outside the project's years {start.year}–{finish.year}",
                )
                failed = True
                continue
            yearly[year] = amount
        if failed:
            return None
        if yearly and total is not None:
            planned = sum(yearly.values())
            if abs(planned - total) > SUM_TOLERANCE_WAN:
                r.error(
                    "total_investment_wan",
                    "yearly_sum_mismatch",
                    f"年度计划投资合计 {planned:.2f} 万元与总投资 {total:.2f} 万元不符",
                    f"yearly amounts add up to {planned:.2f}, not the total {total:.2f}",
                )
                return None
        return yearly


def _kind(value: Any) -> ProjectKind:
    text = _text(value)
    kind = KIND_WORDS.get(text.lower())
    if kind is None:
        raise _Bad(
            "bad_kind",
            f"项目类型「{text}」应为 工程类 或 服务类",
            f"kind '{text}' must be engineering or service",
        )
    return kind


def _curve(value: Any) -> CurveShape:
    text = _text(value)
    curve = CURVE_WORDS.get(text.lower())
    if curve is None:
        raise _Bad(
            "bad_curve",
            f"序时曲线「{text}」应为 线性 或 S型",
            f"curve '{text}' must be linear or s_curve",
        )
    return curve


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text.lower() not in BOOL_WORDS:
        raise _Bad("bad_flag", f"「{text}」应为 是 或 否", f"'{text}' must be true or false")
    return BOOL_WORDS[text.lower()]


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[tuple[int, list[Any]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise PlanFileError("文件编码无法识别", "cannot decode the file")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(number, row) for number, row in enumerate(reader, start=1)]


def _xlsx_rows(path: Path) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:
        raise PlanFileError(
            f"无法读取 Excel 文件：{err}", f"cannot read the Excel file: {err}"
        ) from None
    try:
        names = book.sheetnames
        name = (
            SHEET_NAME
            if SHEET_NAME in names
            else next((n for n in names if n != README_SHEET), names[0])
        )
        sheet = book[name]
        rows: list[tuple[int, list[Any]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append((number, list(values)))
            if number > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
        return rows
    finally:
        book.close()


def read_rows(path: Path) -> list[tuple[int, list[Any]]]:
    """Every row of the file as (row number, cell values)."""
    if not path.exists():
        raise PlanFileError(f"文件不存在：{path}", f"no such file: {path}")
    if path.is_dir():
        raise PlanFileError(f"{path} 是目录，不是文件", f"{path} is a directory")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt"):
        return _csv_rows(path)
    if suffix == ".xls":
        raise PlanFileError(
            "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx",
            "old .xls files are not supported; save the file as .xlsx",
        )
    raise PlanFileError(
        f"不支持的文件类型「{suffix or path.name}」（支持 .xlsx、.csv）",
        f"unsupported file type '{suffix or path.name}' (use .xlsx or .csv)",
    )


def parse_rows(
    path: Path,
    rows: Sequence[tuple[int, Sequence[Any]]],
    *,
    programs: dict[str, str] | None = None,
    bureaus: dict[str, str] | None = None,
    scenes: Iterable[str] | None = None,
) -> PlanFile:
    """Validate every row; `programs` / `bureaus` map code → Chinese name (default: config);
    `scenes` are the scene codes a `scene` cell may name (None: any well-formed code)."""
    header = _find_header(rows)
    result = PlanFile(path=path, header_row=header.row, errors=list(header.errors))
    if any(e.code == "missing_column" for e in header.errors):
        return result
    validator = _Validator(programs, bureaus)
    for number, cells in rows:
        if number <= header.row or not any(_text(c) for c in cells):
            continue
        result.rows += 1
        if result.rows > MAX_ROWS:
            raise PlanFileError(
                f"文件超过 {MAX_ROWS} 行", f"the file has more than {MAX_ROWS} rows"
            )
        extra = [i for i, c in enumerate(cells) if i not in header.named and _text(c)]
        reader = _RowReader(
            number,
            {
                key: (_column_letter(i), cells[i] if i < len(cells) else None)
                for i, key in header.keys.items()
            },
        )
        for i in extra:
            reader.errors.append(
                PlanError(
                    number,
                    "",
                    _column_letter(i),
                    "cell_without_column",
                    "该单元格所在列没有表头",
                    "this cell is in a column without a header",
                    _text(cells[i]),
                )
            )
        plan = validator.row(reader)
        scene = _scene(reader, None if scenes is None else set(scenes))
        if scene and plan is not None and not reader.errors:
            result.scenes[plan.code] = scene
        result.errors.extend(reader.errors)
        if plan is not None:
            result.plans.append(plan)
    return result


def _scene(r: _RowReader, known: set[str] | None) -> str | None:
    """The row's 示范场景 cell: empty, or a scene code that exists."""
    text = r.text("scene")
    if not text:
        return None
    if not SCENE_RE.match(text) or (known is not None and text not in known):
        r.error(
            "scene",
            "unknown_scene",
            f"没有示范场景「{text}」：请填写已设立的场景编号（guatu scene list），或留空",
            f"no scene '{text}': give the code of an existing scene (guatu scene list), or "
            "leave it empty",
        )
        return None
    return text


def read_plan_file(
    path: Path | str,
    *,
    programs: dict[str, str] | None = None,
    bureaus: dict[str, str] | None = None,
    scenes: Iterable[str] | None = None,
) -> PlanFile:
    """Read and validate a CSV or XLSX plan file; every error is listed by row and column."""
    path = Path(path)
    return parse_rows(path, read_rows(path), programs=programs, bureaus=bureaus, scenes=scenes)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def columns_for(years: Iterable[int]) -> list[Column]:
    return [*COLUMNS, *(year_column(y) for y in sorted(set(years)))]


def plan_row(plan: ProjectPlan, columns: Sequence[Column]) -> list[Any]:
    """One plan as cell values (dates as `date`, amounts as floats, kind and curve in Chinese)."""
    values: dict[str, Any] = {
        "code": plan.code,
        "name_zh": plan.name_zh,
        "name_en": plan.name_en,
        "program": plan.program,
        "bureau": plan.bureau,
        "kind": KIND_ZH[plan.kind],
        "total_investment_wan": plan.total_investment_wan,
        "start": plan.start,
        "finish": plan.finish,
        "curve": CURVE_ZH[plan.curve],
        "illustrative": "是" if plan.illustrative else "否",
    }
    for m in plan.milestones:
        values[m.step.value] = m.planned
    for year, amount in plan.yearly_investment_wan.items():
        values[f"y{year}"] = amount
    return [values.get(c.key) for c in columns]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def write_plans(
    plans: Sequence[ProjectPlan], path: Path | str, *, years: Iterable[int] | None = None
) -> Path:
    """Write plans in the column layout above, as .xlsx or .csv (by the file's suffix)."""
    path = Path(path)
    all_years = set(years or ()) | {y for p in plans for y in p.yearly_investment_wan}
    columns = columns_for(all_years)
    rows = [plan_row(p, columns) for p in plans]
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([c.header for c in columns])
            writer.writerows([_csv_cell(v) for v in row] for row in rows)
        return path
    if suffix != ".xlsx":
        raise PlanFileError(
            f"只能写 .xlsx 或 .csv 文件（收到 {path.name}）",
            f"can only write .xlsx or .csv files (got {path.name})",
        )
    _write_xlsx(path, columns, rows)
    return path


def _write_xlsx(path: Path, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_NAME
    sheet.append([c.header for c in columns])
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FDE9D9")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if column.required:
            cell.fill = required_fill
        width = 30 if column.key == "name_zh" else 22 if column.key == "name_en" else 14
        sheet.column_dimensions[_column_letter(index - 1)].width = width
    sheet.freeze_panes = "C2"
    date_keys = {"start", "finish", *(s.value for s in MILESTONE_STEPS)}
    count = 0
    for row in rows:
        sheet.append(list(row))
        count += 1
        for index, column in enumerate(columns, start=1):
            if column.key in date_keys:
                sheet.cell(row=count + 1, column=index).number_format = "yyyy-mm-dd"
    last = max(count + 1, 500)
    letters = {c.key: _column_letter(i) for i, c in enumerate(columns)}
    for key, choices in (
        ("kind", "工程类,服务类"),
        ("curve", "线性,S型"),
        ("illustrative", "是,否"),
    ):
        rule = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
        rule.add(f"{letters[key]}2:{letters[key]}{last}")
        sheet.add_data_validation(rule)

    readme = book.create_sheet(README_SHEET)
    readme.append(["列 / column", "必填 / required", "说明", "description"])
    for cell in readme[1]:
        cell.font = bold
    for column in columns:
        readme.append(
            [
                column.header,
                "是 / yes" if column.required else "否 / no",
                column.help_zh,
                column.help_en,
            ]
        )
    readme.append([])
    readme.append(["工程 / programs"])
    for program in load_programs():
        readme.append([program.code, program.name_zh, program.name_en])
    readme.append([])
    readme.append(["责任单位 / bureaus"])
    for bureau in load_bureaus():
        readme.append([bureau.code, bureau.name_zh, bureau.name_en])
    readme.column_dimensions["A"].width = 34
    readme.column_dimensions["B"].width = 26
    readme.column_dimensions["C"].width = 40
    readme.column_dimensions["D"].width = 50
    fixed = datetime(2021, 3, 31)
    book.properties.created = fixed
    book.properties.modified = fixed
    book.properties.creator = "guatu"
    book.save(path)


def write_template(path: Path | str, years: Iterable[int] | None = None) -> Path:
    """An empty plan file with every column (and, for .xlsx, a 说明 sheet and dropdowns)."""
    if years is None:
        first = date.today().year
        years = range(first, first + 5)
    return write_plans([], path, years=years)


def export_sample(path: Path | str, year: int) -> Path:
    """The 243-project sample programme, moved to start in `year`, as a plan file."""
    return write_plans(load_sample_plans(year), path)


def iter_messages(errors: Iterable[PlanError]) -> Iterator[str]:
    for error in errors:
        yield error.message


__all__ = [
    "COLUMNS",
    "Column",
    "PlanError",
    "PlanFile",
    "PlanFileError",
    "export_sample",
    "read_plan_file",
    "write_plans",
    "write_template",
]
