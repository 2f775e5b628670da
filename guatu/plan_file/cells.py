"""One spreadsheet cell as a value: text, number (万元), date, kind, curve and yes/no.

A cell that cannot be read raises `_Bad` (code, 中文, English), which the row checker turns into a
`PlanError` at its row and column. The names with a leading underscore are private to
`guatu.plan_file`.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from guatu.lifecycle.models import CurveShape, ProjectKind
from guatu.plan_file.columns import BOOL_WORDS, CURVE_WORDS, KIND_WORDS


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
