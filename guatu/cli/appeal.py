"""`guatu appeal submit|list|decide`: 申诉 from the command line (clerks and leaders' office).

Owns `appeal_app`, wired as `guatu appeal` by `guatu.cli.main`, on the shared helpers of
`guatu.cli.common` (one-line errors, `--json`, connections).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from guatu.appeals.models import AppealItem, AppealStatus, Decision
from guatu.cli.common import (
    JsonOption,
    KeyOption,
    LimitOption,
    _actor,
    _default_key,
    _page_done,
    _print_json,
    _print_table,
    _with_pool,
    _with_services,
    command,
)

appeal_app = typer.Typer(
    help="Appeals (申诉) against a published ranking: submit, list, decide.", no_args_is_help=True
)

STATUS_ZH = {
    "open": "待决定",
    "reminded": "待决定（已提醒）",
    "escalated": "已提请区幸福办督办",
    "accepted": "申诉成立",
    "rejected": "申诉不成立",
}


def _print_view(view: Any, as_json: bool) -> None:
    if as_json:
        _print_json(view)
        return
    head = "（重复提交，未重复受理）" if view.duplicate else ""
    typer.echo(
        f"申诉 {view.id}：{STATUS_ZH[view.status.value]}{head} / appeal {view.id}: "
        f"{view.status.value}{' (duplicate)' if view.duplicate else ''}"
    )
    typer.echo(f"  事项 subject：{view.subject_zh}")
    typer.echo(
        f"  决定期限 decision due：{view.decision_due.isoformat()}"
        f"；逾期提请区幸福办，督办期限 office due：{view.office_due.isoformat()}"
    )
    if view.decision:
        typer.echo(
            f"  决定 decision：{view.decision.value}（{view.decided_by}）理由：{view.decision_reason}"
        )
    if view.revised_to:
        typer.echo(f"  更正后的排名 revision：第 {view.revised_to} 版")


@appeal_app.command("submit")
@command
def submit(
    bureau: Annotated[str, typer.Option("--bureau", help="Your bureau code.")],
    period: Annotated[
        str, typer.Option("--period", help="The round appealed: 2026-11, 2026-Q4, 2026.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the result is wrong (申诉理由).")],
    item: Annotated[
        AppealItem,
        typer.Option("--item", help="score (得分), list (红黑榜名次) or order (督办单)."),
    ] = AppealItem.SCORE,
    ruleset: Annotated[str, typer.Option("--ruleset", help="Rule set of the round.")] = "default",
    project: Annotated[
        str,
        typer.Option(
            "--project", help="--item score: one of your projects (default: the bureau's score)."
        ),
    ] = "",
    order: Annotated[str, typer.Option("--order", help="--item order: the order's id.")] = "",
    evidence: Annotated[str, typer.Option("--evidence", help="Evidence, as text (证明材料).")] = "",
    evidence_file: Annotated[
        Path | None,
        typer.Option("--evidence-file", help="Read the evidence text from a UTF-8 file."),
    ] = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Appeal (申诉) a published score, list place or supervision order, within the window."""
    from config.settings import get_settings
    from guatu.appeals.models import AppealFiling
    from guatu.appeals.service import file_appeal

    if evidence_file is not None:
        evidence = evidence_file.read_text(encoding="utf-8")
    body: dict[str, Any] = {
        "bureau": bureau,
        "period": period,
        "ruleset_id": ruleset,
        "item": item.value,
        "project": project,
        "order_id": order,
        "reason": reason,
        "evidence": evidence,
    }
    filing = AppealFiling.model_validate(
        {**body, "actor": _actor(), "idempotency_key": key or _default_key("appeal", bureau, body)}
    )
    task_queue = get_settings().task_queue
    view = _with_services(
        lambda client, pool: file_appeal(client, pool, filing, task_queue=task_queue, channel="cli")
    )
    _print_view(view, as_json)


@appeal_app.command("list")
@command
def list_(
    bureau: Annotated[str | None, typer.Option("--bureau", help="One bureau's appeals.")] = None,
    status: Annotated[
        AppealStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only this round.")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List appeals, newest first, with their deadlines and decisions."""
    from guatu.appeals.service import list_appeals

    page = _with_pool(
        lambda pool: list_appeals(
            pool,
            bureau=bureau,
            status=status.value if status else None,
            period=period,
            limit=limit,
        )
    )
    if _page_done(page, as_json, "暂无申诉 / no appeals"):
        return
    _print_table(
        f"申诉 / appeals（{page['total']}）",
        ("编号 id", "单位 bureau", "事项 subject", "状态 status", "决定期限 due", "决定 decision"),
        (
            (
                r["id"],
                r["bureau_name"] or r["bureau"],
                r["subject_zh"],
                STATUS_ZH.get(r["status"], r["status"]),
                r["decision_due"].isoformat(),
                f"{r['decision'] or ''} {r['decision_reason'][:40]}".strip(),
            )
            for r in page["items"]
        ),
    )


@appeal_app.command("decide")
@command
def decide(
    appeal: Annotated[str, typer.Argument(help="The appeal's id (guatu appeal list).")],
    decision: Annotated[Decision, typer.Option("--decision", help="accept or reject.")],
    reason: Annotated[str, typer.Option("--reason", help="The reason of the decision (理由).")],
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide an appeal as a leader: accept (a corrected revision follows) or reject."""
    from guatu.appeals.models import DecideInput
    from guatu.appeals.service import decide_appeal

    body = {"decision": decision.value, "reason": reason}
    data = DecideInput(
        decision=decision,
        reason=reason,
        actor=_actor(),
        role="leader",
        idempotency_key=key or _default_key("decide", appeal, body),
    )
    view = _with_services(
        lambda client, pool: decide_appeal(client, pool, appeal, data, channel="cli")
    )
    _print_view(view, as_json)
