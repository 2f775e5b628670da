"""One notice as each channel shows it well, Chinese first.

A card says what was decided (the action: 通报, 约谈, 督办, 月报提醒 …), for which bureau and
project, by when (the deadline), and what to do (the notice's text, which ends with its
requirement), then the notice key so that a reader can quote it. Group robots get markdown (each
service's own subset: 企业微信 knows `<font color>`, 钉钉 needs blank lines between
paragraphs), e-mail a plain-text part and an HTML part.

Text that comes from a plan (project names) is shown, not interpreted: `<` and `>` become their
full-width forms so that no tag of the robot's markdown can be opened from inside a name.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

from guatu.lifecycle.models import Notice
from guatu.ranking.actions import ACTION_ZH, ActionKind

# The action of the notices a workflow (not the ladder) writes, by kind.
_KIND_ZH = {
    "milestone_reminder": "节点提醒",
    "milestone_missed": "节点预警",
    "milestone_escalated": "节点逾期升级",
    "report_reminder": "月报提醒",
    "report_late": "月报逾期",
    "progress_light": "序时进度预警",
    "ranking_result": "竞进比拼结果",
    "ranking_summary": "竞进比拼汇总",
    "ranking_revision": "竞进比拼更正",
}

WECOM_MAX_BYTES = 4096  # 企业微信: markdown.content at most 4096 bytes (UTF-8)
DINGTALK_MAX_BYTES = 18000  # 钉钉 allows about 20000 bytes per message; keep a margin
_CUT = "\n\n……（内容过长已截断，全文请在挂图系统中查看）"


def action_zh(notice: Notice) -> str:
    if notice.kind.startswith("ladder_"):
        try:
            return ACTION_ZH[ActionKind(notice.kind.removeprefix("ladder_"))]
        except ValueError:
            pass
    if notice.kind in _KIND_ZH:
        return _KIND_ZH[notice.kind]
    # Any other kind: the bracketed head of its title (【…】), else the kind itself.
    title = notice.title_zh
    if title.startswith("【") and "】" in title:
        return title[1 : title.index("】")]
    return notice.kind


def _shown(text: str) -> str:
    return text.replace("<", "＜").replace(">", "＞")


@dataclass(frozen=True)
class Card:
    """What every channel shows of a notice."""

    title: str
    action: str
    bureau: str  # the bureau's Chinese name (or its code)
    project: str  # "code 名称", or "" for a bureau-wide notice
    deadline: date | None
    body: str
    key: str

    @classmethod
    def of(cls, notice: Notice, bureau_name: str | None, project_name: str | None) -> Card:
        project = notice.project
        if project and project_name and project_name not in project:
            project = f"{project} {project_name}"
        return cls(
            title=_shown(notice.title_zh),
            action=_shown(action_zh(notice)),
            bureau=_shown(bureau_name or notice.bureau),
            project=_shown(project),
            deadline=notice.deadline,
            body=_shown(notice.body_zh),
            key=notice.key,
        )

    def facts(self) -> list[tuple[str, str]]:
        rows = [("事项", self.action), ("单位", self.bureau)]
        if self.project:
            rows.append(("项目", self.project))
        if self.deadline:
            rows.append(("期限", self.deadline.isoformat()))
        return rows


def _fit(head: str, body: str, tail: str, limit: int) -> str:
    text = head + body + tail
    if len(text.encode()) <= limit:
        return text
    room = limit - len((head + tail + _CUT).encode())
    cut = body.encode()[: max(room, 0)].decode(errors="ignore")
    return head + cut + _CUT + tail


def wecom_markdown(card: Card) -> str:
    """企业微信 markdown: a heading, the facts as a quote (the deadline in orange), the text."""
    facts = "\n".join(
        f'> {name}：<font color="warning">{value}</font>'
        if name == "期限"
        else f"> {name}：**{value}**"
        if name == "事项"
        else f"> {name}：{value}"
        for name, value in card.facts()
    )
    head = f"## {card.title}\n{facts}\n\n"
    tail = f'\n\n<font color="comment">通知编号：{card.key}</font>'
    return _fit(head, card.body, tail, WECOM_MAX_BYTES)


def dingtalk_markdown(card: Card) -> tuple[str, str]:
    """钉钉 markdown: (title for the conversation list, text). A single newline does not break
    a line there, so every line is a paragraph of its own."""
    facts = "\n\n".join(f"> **{name}**：{value}" for name, value in card.facts())
    body = "\n\n".join(line for line in card.body.splitlines() if line.strip())
    head = f"### {card.title}\n\n{facts}\n\n"
    tail = f"\n\n###### 通知编号：{card.key}"
    return card.title, _fit(head, body, tail, DINGTALK_MAX_BYTES)


def email_text(card: Card) -> str:
    facts = "\n".join(f"{name}：{value}" for name, value in card.facts())
    return f"{card.title}\n\n{facts}\n\n{card.body}\n\n通知编号：{card.key}\n"


def email_html(card: Card) -> str:
    e = html.escape
    rows = "".join(f'<tr><th align="left">{e(n)}</th><td>{e(v)}</td></tr>' for n, v in card.facts())
    paragraphs = "".join(f"<p>{e(line)}</p>" for line in card.body.splitlines() if line.strip())
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{e(card.title)}</title></head><body>"
        f"<h2>{e(card.title)}</h2><table>{rows}</table>{paragraphs}"
        f'<p style="color:#888">通知编号：{e(card.key)}</p></body></html>'
    )


__all__ = ["Card", "action_zh", "dingtalk_markdown", "email_html", "email_text", "wecom_markdown"]
