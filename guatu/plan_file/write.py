"""Writing a plan file: plans, an empty template or the sample programme as CSV or XLSX.

CSV is written as UTF-8 with BOM so that Excel opens it correctly; XLSX gets the sheet 项目计划
(dates formatted, dropdowns for kind, curve and 示例数据) and the sheet 说明 explaining every
column and listing the programs and bureaus.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from guatu.lifecycle.models import ProjectPlan
from guatu.lifecycle.programme import load_bureaus, load_programs, load_sample_plans
from guatu.plan_file.cells import _column_letter
from guatu.plan_file.columns import (
    CURVE_ZH,
    KIND_ZH,
    MILESTONE_STEPS,
    README_SHEET,
    SHEET_NAME,
    Column,
    columns_for,
)
from guatu.plan_file.results import PlanFileError


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
