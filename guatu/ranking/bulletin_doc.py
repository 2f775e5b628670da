"""The 通报 as a Word document (python-docx), in the customary layout of a government 通报:
red masthead of the issuing office, title, salutation, numbered sections (总体情况, the ranking
tables, 红榜 / 黑榜, 通报表扬, 约谈和督办 with deadlines, the investment chart), requirements,
signature and date. Chinese text carries East-Asian fonts (w:eastAsia): 宋体 title, 黑体
headings, 仿宋 body, as GB/T 9704 sets them.

One file: one document's layout, top to bottom, on shared style helpers (fonts, runs, tables).

`render` is pure: the same `Bulletin` gives the same bytes (the package's dates are the round's
publication time, its zip entries are stamped with that day).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from guatu.core.clock import local_date
from guatu.ranking.actions import ActionKind
from guatu.ranking.bulletin import ISSUER_ZH, Bulletin, Decision
from guatu.ranking.models import ListKind, RankedRow
from guatu.ranking.periods import parse_period
from guatu.ranking.scoring import pct, pts

SONG, HEI, FANG, KAI = "宋体", "黑体", "仿宋", "楷体"
LATIN = "Times New Roman"
RED = RGBColor(0xC0, 0x00, 0x00)
BODY_PT, TABLE_PT = 16, 10.5  # 三号 body, 五号 tables
NUMERALS = "一二三四五六七八九十"

LIST_ZH = {ListKind.RED: "红榜", ListKind.BLACK: "黑榜"}
# Items of the 约谈和督办 table (with deadlines where an order was issued).
ORDERS = (
    ActionKind.NOTICE,
    ActionKind.SUMMONS,
    ActionKind.SUPERVISION,
    ActionKind.PROJECT_SUPERVISION,
)
PRAISE = (ActionKind.COMMENDATION, ActionKind.AWARD)


def title_of(period_label: str) -> str:
    return f"关于{period_label}重点项目竞进比拼情况的通报"


def movement_zh(movement: int | None) -> str:
    """Up ↑n, down ↓n, 持平, or — when there is no previous period to compare with."""
    if movement is None:
        return "—"
    if movement == 0:
        return "持平"
    return f"↑{movement}" if movement > 0 else f"↓{-movement}"


def yi(wan: float) -> str:
    """万元 as 亿元, 2 decimals."""
    return f"{wan / 10_000:,.2f}"


def date_zh(day: datetime) -> str:
    d = local_date(day)
    return f"{d.year}年{d.month}月{d.day}日"


# ---------------------------------------------------------------------------------------------
# Fonts and paragraphs
# ---------------------------------------------------------------------------------------------


def _fonts(rpr_owner: object, east_asia: str) -> None:
    """Latin text in Times New Roman, Chinese in `east_asia` (Word reads w:eastAsia)."""
    rpr = rpr_owner.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)
    fonts.set(qn("w:eastAsia"), east_asia)


def _run(
    p: Paragraph,
    text: str,
    *,
    font: str = FANG,
    size: float = BODY_PT,
    bold: bool = False,
    colour: RGBColor | None = None,
) -> None:
    run = p.add_run(text)
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour is not None:
        run.font.color.rgb = colour
    _fonts(run._r, font)


def _para(
    doc: object,
    text: str = "",
    *,
    font: str = FANG,
    size: float = BODY_PT,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = True,
    colour: RGBColor | None = None,
) -> Paragraph:
    p: Paragraph = doc.add_paragraph()  # type: ignore[attr-defined]
    if align is not None:
        p.alignment = align
    if indent and align is None:
        p.paragraph_format.first_line_indent = Pt(size * 2)  # two characters
    if text:
        _run(p, text, font=font, size=size, bold=bold, colour=colour)
    return p


def _heading(doc: object, number: int, text: str) -> None:
    p = _para(doc, f"{NUMERALS[number - 1]}、{text}", font=HEI)
    p.paragraph_format.space_before = Pt(6)


def _red_rule(p: Paragraph) -> None:
    """The red line under the masthead: a bottom border on its paragraph."""
    ppr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "18"),
        ("w:space", "6"),
        ("w:color", "C00000"),
    ):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def _table(
    doc: object, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> Table:
    table: Table = doc.add_table(rows=1, cols=len(header))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, text, bold=True, font=HEI)
    for row in rows:
        cells = table.add_row().cells  # type: ignore[no-untyped-call]
        for cell, text in zip(cells, row, strict=True):
            _cell(cell, text)
    # Word reads the cells' widths, LibreOffice the grid's: both are set.
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
    return table


def _cell(cell: object, text: str, *, bold: bool = False, font: str = SONG) -> None:
    p: Paragraph = cell.paragraphs[0]  # type: ignore[attr-defined]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing = 1.0
    _run(p, text, font=font, size=TABLE_PT, bold=bold)


# ---------------------------------------------------------------------------------------------
# What the 通报 says
# ---------------------------------------------------------------------------------------------


def _names(rows: Sequence[RankedRow]) -> str:
    return "、".join(f"{r.name_zh}（{pts(r.score)} 分）" for r in rows) or "无"


def _count(decisions: Sequence[Decision], kind: ActionKind) -> int:
    return len(
        {
            d.bureau if d.project is None else (d.bureau, d.project)
            for d in decisions
            if d.kind is kind
        }
    )


def summary(b: Bulletin) -> str:
    """The 总体情况 paragraph, from the stored results only."""
    parts = [
        f"{b.label_zh}竞进比拼共对{b.projects}个重点项目、{len(b.bureaus)}个责任单位、"
        f"{len(b.programs)}项工程进行排名。"
    ]
    if b.investment:
        actual = sum(i.actual_wan for i in b.investment)
        planned = sum(i.planned_wan for i in b.investment)
        rate = f"，为序时计划{yi(planned)}亿元的{pct(actual / planned)}" if planned > 0 else ""
        parts.append(f"参与排名项目{b.basis_zh}完成投资{yi(actual)}亿元{rate}。")
    if b.bureaus:
        first, last = b.bureaus[0], b.bureaus[-1]
        parts.append(
            f"责任单位中，{first.name_zh}以{pts(first.score)}分位列第一，"
            f"{last.name_zh}以{pts(last.score)}分位列末位"
        )
        if b.programs:
            pf, pl = b.programs[0], b.programs[-1]
            parts.append(
                f"；工程中，{pf.name_zh}以{pts(pf.score)}分位列第一，"
                f"{pl.name_zh}以{pts(pl.score)}分位列末位"
            )
        parts.append("。")
    parts.append(
        f"{'、'.join(r.name_zh for r in b.red_list) or '无单位'}列入红榜，"
        f"{'、'.join(r.name_zh for r in b.black_list) or '无单位'}列入黑榜"
    )
    if b.exempted:
        parts.append(f"，{'、'.join(r.name_zh for r, _ in b.exempted)}因不可抗力免于列入黑榜")
    parts.append("。")
    counts = [
        (ActionKind.COMMENDATION, "通报表扬{n}个单位"),
        (ActionKind.AWARD, "推荐评优{n}个单位"),
        (ActionKind.NOTICE, "通报批评{n}个单位"),
        (ActionKind.SUMMONS, "约谈{n}个单位"),
        (ActionKind.SUPERVISION, "督办{n}个单位"),
        (ActionKind.PROJECT_SUPERVISION, "下达项目督办单{n}份"),
    ]
    told = [text.format(n=n) for kind, text in counts if (n := _count(b.decisions, kind))]
    parts.append(f"本期{'，'.join(told)}。" if told else "本期无表扬、约谈和督办事项。")
    return "".join(parts)


def ranking_rows(rows: Sequence[RankedRow]) -> list[list[str]]:
    """名次, 升降, 代码, 名称, 得分, 序时完成率, 榜单 — one line per ranked unit."""
    return [
        [
            f"{r.rank}",
            movement_zh(r.movement),
            r.code,
            r.name_zh,
            pts(r.score),
            pct(r.investment_ratio),
            LIST_ZH[r.listed] if r.listed else ("免于黑榜" if r.exempted else ""),
        ]
        for r in rows
    ]


def order_rows(decisions: Sequence[Decision]) -> list[list[str]]:
    """序号, 事项, 责任单位, 项目, 事由, 整改期限 — 通报批评, 约谈, 督办 and 督办单."""
    items = [d for d in decisions if d.kind in ORDERS]
    return [
        [
            f"{i}",
            d.kind_zh,
            d.bureau_name,
            f"{d.project_name}（{d.project}）" if d.project else "—",
            d.lines_zh[0] if d.lines_zh else "",
            d.deadline.isoformat() if d.deadline else "—",
        ]
        for i, d in enumerate(items, start=1)
    ]


def _revision_note(b: Bulletin) -> str:
    who = f"（{b.actor}）" if b.actor else ""
    return (
        f"更正说明：本通报为第 {b.revision} 版，更正第 {b.revision - 1} 版。"
        f"更正原因：{b.reason or '—'}{who}。"
    )


def _changes(b: Bulletin) -> list[str]:
    """What this revision changed from the one before, as stored with it."""
    lines: list[str] = []
    levels = (b.changes or {}).get("levels", {})
    for level, label, rows in (("bureau", "责任单位", b.bureaus), ("program", "工程", b.programs)):
        names = {r.code: r.name_zh for r in rows}
        lv = levels.get(level) or {}
        for row in lv.get("rows", []):
            before, after = row.get("before") or {}, row.get("after") or {}
            lines.append(
                f"{label}{row.get('name_zh', row.get('code'))}：第 {before.get('rank', '—')}"
                f" 名（{_score(before)}）→ 第 {after.get('rank', '—')} 名（{_score(after)}）"
            )
        for key, name in (("red_list", "红榜"), ("black_list", "黑榜")):
            pair = lv.get(key) or {}
            if pair.get("before") != pair.get("after"):
                was, now = (
                    "、".join(names.get(c, c) for c in pair.get(side) or []) or "无"
                    for side in ("before", "after")
                )
                lines.append(f"{label}{name}：{was} → {now}")
    lines.extend(
        f"撤销{d.bureau_name}「{d.kind_zh}」决定" + (f"（项目 {d.project}）" if d.project else "")
        for d in b.withdrawn
    )
    lines.extend(
        f"新作出{d.bureau_name}「{d.kind_zh}」决定" + (f"（项目 {d.project}）" if d.project else "")
        for d in b.decisions
        if d.revision == b.revision
    )
    return lines


def _score(side: dict[str, object]) -> str:
    score = side.get("score")
    return f"{pts(float(score))} 分" if isinstance(score, int | float) else "—"


def render(b: Bulletin) -> bytes:
    """The .docx bytes of the 通报."""
    from guatu.ranking.bulletin_chart import investment_chart

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    _fonts(normal.element, FANG)
    normal.paragraph_format.line_spacing = Pt(28)
    normal.paragraph_format.space_after = Pt(0)

    masthead = _para(
        doc, ISSUER_ZH, font=SONG, size=36, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, colour=RED
    )
    masthead.paragraph_format.line_spacing = 1.2
    _red_rule(masthead)
    _para(doc)
    title = _para(
        doc, title_of(b.label_zh), font=SONG, size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    title.paragraph_format.line_spacing = 1.3
    if b.revision > 1:
        _para(doc, f"（第 {b.revision} 版 · 更正）", font=KAI, align=WD_ALIGN_PARAGRAPH.CENTER)
    period = parse_period(b.period)
    last_day = period.close - timedelta(days=1)
    _para(
        doc,
        f"统计期间：{b.label_zh}（{b.kind_zh}，{period.start.isoformat()} 至 "
        f"{last_day.isoformat()}）",
        font=KAI,
        size=14,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _para(
        doc,
        f"排名规则：{b.ruleset_name_zh}（{b.ruleset_id} 第 {b.ruleset_version} 版）",
        font=KAI,
        size=14,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    if b.revision > 1:
        _para(doc, _revision_note(b), font=KAI)
    _para(doc)
    _para(doc, "各责任单位：", indent=False)
    _para(doc, f"按照《{b.ruleset_name_zh}》，现将{b.label_zh}重点项目竞进比拼情况通报如下。")

    n = 0

    def heading(text: str) -> None:
        nonlocal n
        n += 1
        _heading(doc, n, text)

    heading("总体情况")
    _para(doc, summary(b))

    header = ["名次", "升降", "代码", "{}", "得分", "序时完成率", "榜单"]
    widths = [1.2, 1.4, 2.0, 5.2, 1.8, 2.5, 1.5]
    heading("责任单位排名")
    _table(doc, [h.format("责任单位") for h in header], ranking_rows(b.bureaus), widths)
    heading("工程排名")
    _table(doc, [h.format("工程") for h in header], ranking_rows(b.programs), widths)

    heading("红榜和黑榜")
    _para(doc, f"红榜：{_names(b.red_list)}。")
    _para(doc, f"黑榜：{_names(b.black_list)}。")
    if b.program_red_list or b.program_black_list:
        _para(
            doc,
            f"工程红榜：{_names(b.program_red_list)}；工程黑榜：{_names(b.program_black_list)}。",
        )
    for row, reason in b.exempted:
        _para(doc, f"{row.name_zh}未完成序时目标，因不可抗力（{reason or '—'}）免于列入黑榜。")

    heading("通报表扬")
    praise = [d for d in b.decisions if d.kind in PRAISE]
    if not praise:
        _para(doc, "本期无通报表扬事项。")
    for d in praise:
        _para(
            doc,
            f"{d.bureau_name}：{'；'.join(d.lines_zh[:1])}"
            f"{'。' if d.kind is ActionKind.COMMENDATION else '（推荐评优）。'}",
        )

    heading("约谈和督办事项")
    orders = order_rows(b.decisions)
    if orders:
        _para(doc, "以下单位和项目须在整改期限内向区幸福办报送整改方案，逾期未报送的提级督办。")
        _table(
            doc,
            ["序号", "事项", "责任单位", "项目", "事由", "整改期限"],
            orders,
            [1.2, 2.0, 2.4, 2.8, 4.8, 2.4],
        )
    else:
        _para(doc, "本期无约谈和督办事项。")
    others = [d for d in b.decisions if d.kind not in ORDERS and d.kind not in PRAISE]
    for d in others:
        _para(
            doc,
            f"{d.bureau_name}{f'（{d.project}）' if d.project else ''}：{'；'.join(d.lines_zh)}。",
        )

    heading("投资完成情况")
    if b.investment:
        png = investment_chart(b.investment, f"{b.label_zh}各工程完成投资与序时计划（亿元）")
        picture = doc.add_paragraph()
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.paragraph_format.line_spacing = 1.0  # not the body's exact 28 pt: it would crop
        picture.add_run().add_picture(io.BytesIO(png), width=Cm(15))
        _para(
            doc,
            f"图 1　{b.label_zh}各工程完成投资与序时计划（{b.basis_zh}）",
            font=KAI,
            size=12,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
        _table(
            doc,
            ["工程", "序时计划（万元）", "实际完成（万元）", "完成率"],
            [
                [
                    i.name_zh,
                    f"{i.planned_wan:,.2f}",
                    f"{i.actual_wan:,.2f}",
                    pct(i.actual_wan / i.planned_wan) if i.planned_wan > 0 else "—",
                ]
                for i in b.investment
            ],
            [5.6, 3.6, 3.6, 2.6],
        )
    else:
        _para(doc, "本期无投资数据。")

    if b.revision > 1:
        heading("更正事项")
        _para(doc, _revision_note(b))
        for line in _changes(b) or ["本次更正未改变排名、榜单和奖惩决定。"]:
            _para(doc, line)

    heading("工作要求")
    _para(
        doc,
        "各责任单位要对照排名查找差距，列入黑榜的单位要深入分析原因、制定整改措施；"
        "被约谈、督办的单位要按期报送整改方案，确保项目按序时推进。",
    )

    _para(doc)
    _para(doc, ISSUER_ZH, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, date_zh(b.published_at), align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(
        doc,
        f"（本通报依据{b.label_zh}排名第 {b.revision} 版结果生成，结果校验码 "
        f"{b.results_sha256[:16]}）",
        font=KAI,
        size=10.5,
        indent=False,
    )

    props = doc.core_properties
    published = b.published_at.astimezone(UTC).replace(tzinfo=None)
    props.title = title_of(b.label_zh)
    props.subject = f"{b.period} r{b.revision}"
    props.author = props.last_modified_by = ISSUER_ZH
    props.keywords = "竞进比拼;通报"
    props.comments = ""
    props.created = props.modified = props.last_printed = published
    props.revision = b.revision
    out = io.BytesIO()
    doc.save(out)
    return _stamped(out.getvalue(), b.published_at)


def _stamped(package: bytes, at: datetime) -> bytes:
    """The package with every zip entry stamped at `at` (zip stores the local time of the save
    otherwise): the same round gives byte-identical documents."""
    day = local_date(at)
    stamp = (max(day.year, 1980), day.month, day.day, 0, 0, 0)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(package)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


__all__ = ["movement_zh", "order_rows", "ranking_rows", "render", "summary", "title_of"]
