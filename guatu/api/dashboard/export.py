"""The dashboard's current view as an Excel workbook (openpyxl), Chinese headers first.

One file: one workbook, its sheets written in order on shared cell and table helpers.

Sheets: 总览 (the programme and each program), 项目 (the projects of the current filter, with
their lights, reasons and milestones), 排名 (bureaus and programs of the shown period),
督办 (open supervision orders with deadlines), and the year's trends (`guatu.ranking.trends`, the
dashboard's charts): 投资趋势, 排名走势, 红黄绿灯趋势. Amounts are kept in 万元 as numbers, with the
亿元 figure beside the totals.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from guatu.lifecycle.models import Light, RunStatus
from guatu.lifecycle.rules.stages import STAGE_ZH

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WAN_PER_YI = 10_000.0

LIGHT_ZH = {Light.GREEN.value: "绿灯", Light.YELLOW.value: "黄灯", Light.RED.value: "红灯"}
STATUS_ZH = {
    RunStatus.ACTIVE.value: "在推进",
    RunStatus.SUSPENDED.value: "暂停",
    RunStatus.CANCELLED.value: "已撤销",
    RunStatus.CLOSED.value: "已关闭",
}
STAGE_NAMES = {stage.value: name for stage, name in STAGE_ZH.items()}
KIND_ZH = {"engineering": "工程类", "service": "服务类"}
LIST_ZH = {"red": "红榜", "black": "黑榜"}
FILTER_ZH = {
    "program": "工程",
    "bureau": "责任单位",
    "stage": "阶段",
    "light": "灯",
    "status": "状态",
}
FILLS = {
    "green": PatternFill("solid", fgColor="C8E6C9"),
    "yellow": PatternFill("solid", fgColor="FFF3B0"),
    "red": PatternFill("solid", fgColor="FFCDD2"),
}
HEAD_FILL = PatternFill("solid", fgColor="1F3A5F")
HEAD_FONT = Font(bold=True, color="FFFFFF")


@dataclass
class ExportView:
    generated_at: datetime
    filters: dict[str, str]
    overview: dict[str, Any]
    projects: list[dict[str, Any]]
    bureaus: dict[str, dict[str, Any]] = field(default_factory=dict)
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rankings: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    trends: dict[str, Any] = field(default_factory=dict)  # guatu.ranking.trends.for_export


def yi(wan: float | None) -> float | None:
    """万元 → 亿元, two decimals."""
    return None if wan is None else round(wan / WAN_PER_YI, 2)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one cell; text is always a string cell, never a formula.

    openpyxl turns a string starting with `=` into a live formula, so a project named
    `=HYPERLINK(…)` would run in a leader's Excel (formula injection). Every text cell is typed
    as a string after the write: Excel shows the literal text.
    """
    value = _iso(value)
    cell: Cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _table(
    ws: Worksheet,
    header: list[str],
    rows: list[list[Any]],
    start_row: int = 1,
    widths: list[int] | None = None,
) -> int:
    for col, title in enumerate(header, start=1):
        cell = _put(ws, start_row, col, title)
        cell.fill, cell.font = HEAD_FILL, HEAD_FONT
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for r, values in enumerate(rows, start=start_row + 1):
        for col, value in enumerate(values, start=1):
            _put(ws, r, col, value)
    for col, width in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    return start_row + len(rows) + 1


def _name(table: dict[str, dict[str, Any]], code: str | None) -> str:
    if not code:
        return ""
    return str(table.get(code, {}).get("name_zh") or code)


def _overview_sheet(ws: Worksheet, view: ExportView) -> None:
    ov = view.overview
    total = ov["total"]
    ws.title = "总览"
    _put(ws, 1, 1, "温江区幸福美好生活十大工程 · 挂图作战 / Guatu programme overview").font = Font(
        bold=True, size=14
    )
    _put(
        ws,
        2,
        1,
        f"数据截至 {_iso(ov['as_of'])}（{ov['year']} 年）；导出于 {_iso(view.generated_at)}",
    )
    if view.filters:
        shown = "；".join(f"{FILTER_ZH.get(k, k)}={v}" for k, v in view.filters.items())
        _put(ws, 3, 1, f"项目表筛选：{shown}")
    lights = total["lights"]
    facts = [
        ("项目数", total["projects"], None),
        ("计划总投资（万元）", total["total_investment_wan"], yi(total["total_investment_wan"])),
        ("方案公布总投资（万元）", total["published_total_wan"], yi(total["published_total_wan"])),
        ("计划占公布总投资 %", total["plan_vs_published_pct"], None),
        (
            "序时计划投资（万元）",
            total["planned_investment_to_date_wan"],
            yi(total["planned_investment_to_date_wan"]),
        ),
        (
            "实际完成投资（万元）",
            total["actual_investment_wan"],
            yi(total["actual_investment_wan"]),
        ),
        ("完成序时进度 %", total["actual_vs_planned_pct"], None),
        (f"{ov['year']} 年度目标（万元）", total["year_target_wan"], yi(total["year_target_wan"])),
        (f"{ov['year']} 年度完成（万元）", total["year_actual_wan"], yi(total["year_actual_wan"])),
        ("年度目标完成 %", total["year_progress_pct"], None),
        (
            "绿灯 / 黄灯 / 红灯",
            f"{lights.get('green', 0)} / {lights.get('yellow', 0)} / {lights.get('red', 0)}",
            None,
        ),
        (
            "开工率 %（已开工 / 应开工）",
            total["start_rate_pct"],
            f"{total['started']} / {total['due_to_start']}",
        ),
        (
            "完工率 %（已完工 / 应完工）",
            total["completion_rate_pct"],
            f"{total['completed']} / {total['due_to_complete']}",
        ),
    ]
    row = _table(
        ws,
        ["指标", "数值", "亿元 / 说明"],
        [list(f) for f in facts],
        start_row=5,
        widths=[34, 18, 18, 14, 16, 16, 16, 12, 16, 16, 10, 10, 10, 10, 10],
    )
    header = [
        "工程",
        "名称",
        "项目数",
        "计划总投资（万元）",
        "序时计划（万元）",
        "实际完成（万元）",
        "完成序时 %",
        f"{ov['year']} 年度目标（万元）",
        f"{ov['year']} 年度完成（万元）",
        "年度完成 %",
        "绿灯",
        "黄灯",
        "红灯",
        "开工率 %",
        "完工率 %",
    ]
    rows = [
        [
            p["code"],
            p["name_zh"],
            p["projects"],
            p["total_investment_wan"],
            p["planned_investment_to_date_wan"],
            p["actual_investment_wan"],
            p["actual_vs_planned_pct"],
            p["year_target_wan"],
            p["year_actual_wan"],
            p["year_progress_pct"],
            p["lights"].get("green", 0),
            p["lights"].get("yellow", 0),
            p["lights"].get("red", 0),
            p["start_rate_pct"],
            p["completion_rate_pct"],
        ]
        for p in ov["programs"]
    ]
    _table(ws, header, rows, start_row=row + 2)


def _milestones(ms: list[dict[str, Any]]) -> str:
    parts = []
    for m in ms:
        actual = m.get("actual")
        state = f"实际 {actual}" if actual else ("逾期未完成" if m.get("missed") else "未完成")
        parts.append(f"{m.get('name_zh') or m.get('step')}：计划 {m.get('planned')}，{state}")
    return "\n".join(parts)


def _projects_sheet(ws: Worksheet, view: ExportView) -> None:
    header = [
        "项目编号",
        "项目名称",
        "工程",
        "责任单位",
        "类型",
        "阶段",
        "状态",
        "灯",
        "亮灯原因",
        "总投资（万元）",
        "序时计划（万元）",
        "实际完成（万元）",
        "完成序时 %",
        "形象进度 %",
        "计划开始",
        "计划完成",
        "节点（计划 / 实际）",
        "红灯月份",
        "未销号问题",
        "最近月报",
    ]
    rows = []
    for p in view.projects:
        planned = p["planned_investment_to_date_wan"]
        ratio = round(100 * p["actual_investment_wan"] / planned, 1) if planned else None
        reasons = "\n".join(str(e.get("text_zh", "")) for e in p.get("explanations") or [])
        rows.append(
            [
                p["code"],
                p["name_zh"],
                _name(view.programs, p["program"]),
                _name(view.bureaus, p["bureau"]),
                KIND_ZH.get(p["kind"], p["kind"]),
                STAGE_NAMES.get(p["stage"], p["stage"]),
                STATUS_ZH.get(p["status"], p["status"]),
                LIGHT_ZH.get(p["light"], p["light"]),
                reasons,
                p["total_investment_wan"],
                planned,
                p["actual_investment_wan"],
                ratio,
                p["physical_progress_pct"],
                p.get("start"),
                p.get("finish"),
                _milestones(p.get("milestones") or []),
                "、".join(p.get("red_months") or []),
                p.get("open_issues", 0),
                p.get("last_report_month") or "",
            ]
        )
    _table(
        ws,
        header,
        rows,
        widths=[14, 30, 18, 18, 8, 8, 8, 6, 50, 14, 14, 14, 10, 10, 12, 12, 50, 16, 8, 10],
    )
    for r, p in enumerate(view.projects, start=2):
        fill = FILLS.get(p["light"])
        if fill is not None:
            ws.cell(row=r, column=8).fill = fill
        for col in (9, 17):
            ws.cell(row=r, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"


def _movement(row: dict[str, Any]) -> str:
    move = row.get("movement")
    if row.get("previous_rank") is None or move is None:
        return "新上榜"
    if move > 0:
        return f"↑{move}"
    if move < 0:
        return f"↓{-move}"
    return "—"


def _ranking_sheet(ws: Worksheet, view: ExportView) -> None:
    row = 1
    for level, title in (("bureau", "责任单位排名"), ("program", "工程排名")):
        ranking = view.rankings.get(level)
        if not ranking or not ranking.get("found"):
            _put(ws, row, 1, f"{title}：本期排名尚未生成").font = Font(bold=True)
            row += 2
            continue
        _put(
            ws,
            row,
            1,
            f"{title}（{ranking.get('label_zh', ranking['period'])}，"
            f"{ranking['ruleset'].get('name_zh', '')}）",
        ).font = Font(bold=True)
        rows = [
            [
                r["rank"],
                r["code"],
                r["name_zh"],
                r["score"],
                _movement(r),
                LIST_ZH.get(r.get("list") or "", ""),
                "是" if r.get("target_met") else "否",
                r.get("investment_ratio"),
                "是" if r.get("exempted") else "",
                "\n".join(str(line.get("text_zh", "")) for line in r.get("breakdown") or []),
            ]
            for r in ranking["rows"]
        ]
        row = (
            _table(
                ws,
                [
                    "名次",
                    "代码",
                    "名称",
                    "得分",
                    "升降",
                    "榜单",
                    "达到序时目标",
                    "投资完成比",
                    "豁免",
                    "得分明细",
                ],
                rows,
                start_row=row + 1,
                widths=[6, 14, 24, 10, 8, 8, 12, 12, 6, 70],
            )
            + 1
        )


def _escalation_sheet(ws: Worksheet, view: ExportView) -> None:
    rows = [
        [
            e["kind_zh"],
            e["bureau_name"],
            e.get("project_name") or e.get("project") or "",
            e["period"],
            e["issued_at"],
            e["due"],
            e["status_zh"],
            e["overdue_days"],
            "\n".join(e.get("lines_zh") or []),
        ]
        for e in view.escalations
    ]
    _table(
        ws,
        [
            "类别",
            "责任单位",
            "项目",
            "期间",
            "下达时间",
            "整改方案期限",
            "状态",
            "逾期天数",
            "依据",
        ],
        rows,
        widths=[10, 20, 28, 10, 20, 14, 16, 10, 70],
    )


# -- the year's trends (guatu.ranking.trends): the dashboard's three charts as tables -------------------


def _ratio_pct(actual: float | None, plan: float | None) -> float | None:
    return round(100 * actual / plan, 1) if actual is not None and plan else None


def _investment_trend_sheet(ws: Worksheet, trends: dict[str, Any]) -> None:
    inv = trends["investment"]
    ws["A1"] = f"{trends['year']} 年投资完成与序时计划（万元，年度计划口径：年度计划 × 时间进度）"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = f"数据截至 {inv['as_of']}；本年累计完成为各月月报之和（取每月最新更正）"
    rows = [
        [m, plan, actual, _ratio_pct(actual, plan)]
        for m, plan, actual in zip(inv["months"], inv["plan_wan"], inv["actual_wan"], strict=True)
    ]
    end = _table(
        ws,
        ["月份", "全区序时计划（万元）", "全区本年累计完成（万元）", "完成序时 %"],
        rows,
        start_row=4,
        widths=[10, 20, 22, 12, 20, 14, 22, 12],
    )
    chart = LineChart()
    chart.title, chart.y_axis.title = "本年累计完成 vs 序时计划", "万元"
    chart.height, chart.width = 8, 16
    chart.add_data(
        Reference(ws, min_col=2, max_col=3, min_row=4, max_row=end - 1), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=5, max_row=end - 1))
    ws.add_chart(chart, "F4")
    scope_rows = [
        [
            "工程" if s["level"] == "program" else "责任单位",
            s["scope"]["program"] or s["scope"]["bureau"],
            s["scope"]["name_zh"],
            m,
            plan,
            actual,
            _ratio_pct(actual, plan),
        ]
        for s in trends["investment_scopes"]
        for m, plan, actual in zip(s["months"], s["plan_wan"], s["actual_wan"], strict=True)
    ]
    start = max(end + 2, 22)
    ws.cell(row=start, column=1, value="分工程、分责任单位").font = Font(bold=True)
    _table(
        ws,
        ["范围", "代码", "名称", "月份", "序时计划（万元）", "本年累计完成（万元）", "完成序时 %"],
        scope_rows,
        start_row=start + 1,
    )


def _rank_trend_sheet(ws: Worksheet, trends: dict[str, Any]) -> None:
    row = 1
    for level, title in (("bureau", "责任单位"), ("program", "工程")):
        series = trends["ranks"][level]
        ws.cell(
            row=row,
            column=1,
            value=f"{trends['year']} 年{title}名次走势（各月排名，取每期最新版本）",
        ).font = Font(bold=True)
        labels = series["labels_zh"]
        if not labels:
            ws.cell(row=row + 1, column=1, value="本年尚无排名")
            row += 3
            continue
        header = ["代码", "名称"] + [f"{x} 名次" for x in labels] + [f"{x} 得分" for x in labels]
        rows = [[u["code"], u["name_zh"], *u["ranks"], *u["scores"]] for u in series["units"]]
        row = (
            _table(ws, header, rows, start_row=row + 1, widths=[14, 24] + [12] * (2 * len(labels)))
            + 1
        )


def _light_trend_sheet(ws: Worksheet, trends: dict[str, Any]) -> None:
    lights = trends["lights"]
    ws["A1"] = f"{trends['year']} 年各月末红黄绿灯项目数（当月为当前灯色）"
    ws["A1"].font = Font(bold=True, size=13)
    rows = []
    for i, m in enumerate(lights["months"]):
        counts = [lights[k][i] for k in ("green", "yellow", "red")]
        total = None if None in counts else sum(c or 0 for c in counts)
        rows.append([m, *counts, total])
    end = _table(
        ws, ["月份", "绿灯", "黄灯", "红灯", "合计"], rows, start_row=3, widths=[10, 10, 10, 10, 10]
    )
    for col, key in ((2, "green"), (3, "yellow"), (4, "red")):
        ws.cell(row=3, column=col).fill = FILLS[key]
        ws.cell(row=3, column=col).font = Font(bold=True)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title, chart.height, chart.width = "各月末红黄绿灯", 8, 16
    chart.add_data(
        Reference(ws, min_col=2, max_col=4, min_row=3, max_row=end - 1), titles_from_data=True
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=end - 1))
    for series, color in zip(chart.series, ("2E9D4F", "E0A800", "D93025"), strict=True):
        series.graphicalProperties.solidFill = color
        series.graphicalProperties.line.solidFill = color
    ws.add_chart(chart, "G3")


def build_workbook(view: ExportView) -> bytes:
    wb = Workbook()
    _overview_sheet(wb.active, view)
    _projects_sheet(wb.create_sheet("项目"), view)
    _ranking_sheet(wb.create_sheet("排名"), view)
    _escalation_sheet(wb.create_sheet("督办"), view)
    if view.trends:
        _investment_trend_sheet(wb.create_sheet("投资趋势"), view.trends)
        _rank_trend_sheet(wb.create_sheet("排名走势"), view.trends)
        _light_trend_sheet(wb.create_sheet("红黄绿灯趋势"), view.trends)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = ["XLSX_TYPE", "ExportView", "build_workbook", "yi"]
