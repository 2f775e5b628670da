"""Notices of 竞进比拼, Chinese first: each bureau's rank, the leaders' office summary, and the
office's notice of a revised round. Pure: the round's notices activity builds them.

Each notice's key is unique to what it reports, so the outbox row is written once and the
bureau's webhook receives it once (the key travels as the Idempotency-Key header). The ladder's
decision notices are in `guatu.ladder.notices`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from guatu.core.constants import OFFICE_BUREAU
from guatu.lifecycle.models import Notice
from guatu.ranking.models import (
    Level,
    ListKind,
    RoundResults,
)
from guatu.ranking.periods import KIND_ZH, PeriodKind, parse_period
from guatu.ranking.scoring import pts

OFFICE = OFFICE_BUREAU  # 区幸福办: the one code, guatu.core.constants
CORRECTION = "【更正通报】"


def round_notices(results: RoundResults, at: datetime) -> list[Notice]:
    """Each ranked bureau's rank notice, and the leaders' office summary of the round."""
    period = parse_period(results.period)
    label = period.label_zh
    kind_zh = KIND_ZH[PeriodKind(results.kind)]
    rules = f"{results.ruleset_id} v{results.ruleset_version}"
    level = results.levels[Level.BUREAU]
    base = f"ranking:{results.ruleset_id}:{results.period}"
    notices: list[Notice] = []
    for row in level.rows:
        if row.listed is ListKind.RED:
            status = "列入红榜"
        elif row.listed is ListKind.BLACK:
            status = "列入黑榜"
        elif row.exempted:
            status = "因不可抗力免于列入黑榜"
        else:
            status = "未列入红黑榜"
        lines = [
            f"{row.name_zh}：",
            f"{label}{kind_zh}竞进比拼结果：综合得分 {pts(row.score)}，"
            f"在 {row.of} 个责任单位中排第 {row.rank} 名，{status}。",
            *[
                line["text_zh"]
                for line in row.breakdown
                if line["key"] in ("total", "target", "movement", "tie_break", "list")
            ],
            "项目得分（由低到高）：",
            *[
                line["text_zh"]
                for line in sorted(
                    (x for x in row.breakdown if x["key"] == "member"),
                    key=lambda x: (x["points"] or 0.0, x["text_zh"]),
                )[:20]
            ],
            "各项目得分构成见挂图排名页面。",
            f"如对结果有异议，可申请复核：本期输入已冻结（快照 {results.snapshot_sha256[:12]}），"
            f"按规则 {rules} 重算结果一致。",
        ]
        notices.append(
            Notice(
                key=f"{base}:{row.code}",
                bureau=row.code,
                project="",
                kind="ranking_result",
                title_zh=f"【竞进比拼】{label}排名：第 {row.rank}/{row.of} 名",
                body_zh="\n".join(lines),
                body_en=(
                    f"{results.period} ranking ({rules}): {row.code} ranked {row.rank} of "
                    f"{row.of} with {pts(row.score)}"
                    + (f"; {row.listed.value} list" if row.listed else "")
                ),
                created_at=at,
            )
        )
    table = [
        f"{r.rank}. {r.name_zh} {pts(r.score)}"
        + (
            "（红榜）"
            if r.listed is ListKind.RED
            else "（黑榜）"
            if r.listed is ListKind.BLACK
            else "（豁免）"
            if r.exempted
            else ""
        )
        for r in level.rows
    ]
    names = {r.code: r.name_zh for r in level.rows}
    summary = [
        f"{label}{kind_zh}竞进比拼结果（规则 {rules}，快照 {results.snapshot_sha256[:12]}）：",
        *table,
        f"红榜：{'、'.join(names[c] for c in level.red_list) or '无'}",
        f"黑榜：{'、'.join(names[c] for c in level.black_list) or '无'}",
    ]
    if level.exempted:
        summary.append(f"不可抗力豁免：{'、'.join(names[c] for c in level.exempted)}")
    notices.append(
        Notice(
            key=f"{base}:summary",
            bureau=OFFICE,
            project="",
            kind="ranking_summary",
            title_zh=f"【竞进比拼】{label}{kind_zh}排名汇总",
            body_zh="\n".join(summary),
            body_en=(
                f"{results.period} ranking summary ({rules}): red {level.red_list}, "
                f"black {level.black_list}"
            ),
            created_at=at,
        )
    )
    return notices


def _changes_zh(changes: dict[str, Any], names: dict[str, str]) -> list[str]:
    bureaus = (changes.get("levels") or {}).get("bureau") or {}
    lines: list[str] = []
    for row in bureaus.get("rows", []):
        before, after = row.get("before") or {}, row.get("after") or {}
        lines.append(
            f"{row['name_zh']}：第 {before.get('rank', '—')} 名（{pts(before.get('score') or 0.0)}）"
            f"→ 第 {after.get('rank', '—')} 名（{pts(after.get('score') or 0.0)}）"
        )
    for key, zh in (("red_list", "红榜"), ("black_list", "黑榜")):
        lists = bureaus.get(key, {})
        if lists.get("before") != lists.get("after"):
            lines.append(
                f"{zh}：{'、'.join(names.get(c, c) for c in lists.get('before', [])) or '无'}"
                f" → {'、'.join(names.get(c, c) for c in lists.get('after', [])) or '无'}"
            )
    return lines or ["责任单位名次与红黑榜均无变化"]


def revision_notices(results: RoundResults, at: datetime, head: dict[str, Any]) -> list[Notice]:
    """The leaders' office notice of a revision of a round (更正通报): what changed and why.

    Bureaus hear of a revision only through the ladder decisions it changed (made or
    withdrawn), each a 更正通报 of its own; a bureau whose decisions stand is not disturbed.
    """
    revision = int(head["revision"])
    label = parse_period(results.period).label_zh
    rules = f"{results.ruleset_id} v{results.ruleset_version}"
    names = {r.code: r.name_zh for r in results.levels[Level.BUREAU].rows}
    changes = head.get("changes") or {}
    body = [
        f"{label}{KIND_ZH[PeriodKind(results.kind)]}竞进比拼结果更正为第 {revision} 版"
        f"（规则 {rules}，快照 {results.snapshot_sha256[:12]}）。",
        f"更正原因：{head.get('reason') or '未说明'}；操作人：{head.get('actor') or '—'}。",
        f"与第 {revision - 1} 版相比：",
        *_changes_zh(changes, names),
        f"第 {revision - 1} 版及其哈希值保留备查。",
    ]
    return [
        Notice(
            key=f"ranking:{results.ruleset_id}:{results.period}:r{revision}:summary",
            bureau=OFFICE,
            project="",
            kind="ranking_revision",
            title_zh=f"{CORRECTION}{label}竞进比拼结果第 {revision} 版",
            body_zh="\n".join(body),
            body_en=(
                f"{results.period} ranking ({rules}) revised to revision {revision}: "
                f"{head.get('reason') or ''}"
            ),
            created_at=at,
        )
    ]
