"""Checking one row of a plan file: every rule of the layout, each violation at its cell.

`_RowReader` holds a row's cells by column key and collects its errors; `_Validator` turns a row
into a `ProjectPlan` (programs and bureaus by code or Chinese name, unique codes, milestones of
the project's kind in order and inside its dates, yearly amounts adding up to the total);
`_scene` checks the 示范场景 cell. The names with a leading underscore are private to
`guatu.plan_file`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from guatu.lifecycle.models import CurveShape, MilestonePlan, ProjectKind, ProjectPlan, Step
from guatu.lifecycle.programme import load_bureaus, load_programs
from guatu.lifecycle.rules.stages import STEP_ZH
from guatu.plan_file.cells import _Bad, _bool, _curve, _date, _kind, _number, _text
from guatu.plan_file.columns import (
    BUREAU_RE,
    CODE_RE,
    COLUMN_BY_KEY,
    KIND_ZH,
    MILESTONE_STEPS,
    SCENE_RE,
    STEP_RANK,
    STEPS_OF_KIND,
    SUM_TOLERANCE_WAN,
    YEAR_KEY_RE,
)
from guatu.plan_file.results import PlanError


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
