"""Reading a plan file: CSV / XLSX into `ProjectPlan`s, with every error by row and column.

Finds the header row (the first of the top rows naming three known columns), then checks every
row below it (`guatu.plan_file.rows`). CSV is read as UTF-8 (with or without BOM) or GB18030;
XLSX from the sheet 项目计划 (or the first sheet that is not 说明).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guatu.lifecycle.rules.stages import STEP_ZH
from guatu.plan_file.cells import _column_letter, _text
from guatu.plan_file.columns import (
    COLUMN_BY_KEY,
    COLUMNS,
    FIXED_COLUMNS,
    HEADER_SEARCH_ROWS,
    MAX_ROWS,
    MILESTONE_STEPS,
    README_SHEET,
    SHEET_NAME,
    YEAR_KEY_RE,
    YEAR_ZH_RE,
)
from guatu.plan_file.results import PlanError, PlanFile, PlanFileError
from guatu.plan_file.rows import _RowReader, _scene, _Validator


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
