"""The plan file's column layout: every column, its header and the words a cell may hold.

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
| `scene` | 示范场景 | no | the code of an existing 示范场景 (S-JQJA), or empty |
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

import re
from collections.abc import Iterable
from dataclasses import dataclass

from guatu.lifecycle.models import CurveShape, ProjectKind, Step
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


def columns_for(years: Iterable[int]) -> list[Column]:
    return [*COLUMNS, *(year_column(y) for y in sorted(set(years)))]
