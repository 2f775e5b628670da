"""`guatu observation …` and `guatu evaluation …`: 市民观察 and 第三方评估 from the command line.

For the leaders' office and bureau clerks: list and read observations, reply (a bureau),
resolve an escalated one (区幸福办), print the published figures; list and read evaluations.
Observers and evaluators use the API with their own tokens. Owns `observation_app` and
`evaluation_app`, wired by `guatu.cli.main`, on the shared helpers of `guatu.cli.common`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from guatu.cli.common import (
    CliError,
    JsonOption,
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
from guatu.society.models import STATUS_ZH, ObservationStatus

observation_app = typer.Typer(
    help="Citizen observations (市民观察): list, show, reply, resolve, figures.",
    no_args_is_help=True,
)
evaluation_app = typer.Typer(
    help="Third-party evaluations (第三方评估): list, show.", no_args_is_help=True
)


def _print_observation(view: Any, as_json: bool) -> None:
    if as_json:
        _print_json(view)
        return
    v = view if isinstance(view, dict) else view.model_dump()
    status = ObservationStatus(v["status"])
    typer.echo(f"市民观察 {v['id']}：{STATUS_ZH[status]} / observation {v['id']}: {status.value}")
    typer.echo(f"  对象 target：{v['target_kind']} {v['target']} {v.get('target_name') or ''}")
    typer.echo(f"  责任单位 bureau：{v.get('bureau_name') or v['bureau']}")
    typer.echo(f"  内容 text（{v['category']}，{v['rating']}/5）：{v['text']}")
    if v.get("reply_due"):
        typer.echo(f"  答复期限 reply due：{v['reply_due']}")
    if v.get("reply"):
        on_time = "按期" if v.get("reply_on_time") else "逾期"
        typer.echo(f"  答复 reply（{on_time}）：{v['reply']}")
    if v.get("satisfaction"):
        typer.echo(f"  评价 rating：{v['satisfaction']} {v.get('rating_comment') or ''}")
    if v.get("escalated_at"):
        typer.echo(
            f"  督办 escalated（{v['escalation_reason']}）：区幸福办办结期限 {v.get('office_due')}"
        )


@observation_app.command("list")
@command
def list_observations(
    bureau: Annotated[str | None, typer.Option("--bureau", help="One bureau's to answer.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="One project or scene.")] = None,
    status: Annotated[
        ObservationStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List observations, newest first, with their deadlines and status."""
    from guatu.society.service import list_observations as list_

    page = _with_pool(
        lambda pool: list_(
            pool,
            bureau=bureau,
            target=target,
            status=status.value if status else None,
            limit=limit,
        )
    )
    if _page_done(page, as_json, "暂无市民观察 / no observations"):
        return
    _print_table(
        f"市民观察 / observations（{page['total']}）",
        ("编号 id", "对象 target", "单位 bureau", "类别", "状态 status", "答复期限 due"),
        (
            (
                r["id"],
                r["target"],
                r["bureau_name"] or r["bureau"],
                r["category"],
                STATUS_ZH[ObservationStatus(r["status"])],
                r["reply_due"].isoformat() if r["reply_due"] else "",
            )
            for r in page["items"]
        ),
    )


@observation_app.command("show")
@command
def show_observation(
    observation: Annotated[str, typer.Argument(help="The observation's id.")],
    as_json: JsonOption = False,
) -> None:
    """One observation with its reply, rating and escalation."""
    from guatu.society.service import find_observation

    row = _with_services(lambda client, pool: find_observation(client, pool, observation))
    if row is None:
        raise CliError(f"没有市民观察 {observation}", f"no observation {observation}")
    _print_observation(row, as_json)


@observation_app.command("reply")
@command
def reply(
    observation: Annotated[str, typer.Argument(help="The observation's id.")],
    bureau: Annotated[str, typer.Option("--bureau", help="Your bureau (the responsible one).")],
    text: Annotated[str, typer.Option("--text", help="The reply (答复).")],
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Reply to an observation as its responsible bureau."""
    from guatu.society.models import ReplyInput
    from guatu.society.service import reply_observation

    data = ReplyInput(
        text=text,
        bureau=bureau,
        actor=_actor(),
        role="bureau",
        idempotency_key=key or _default_key("reply", observation, {"text": text}),
    )
    view = _with_services(
        lambda client, pool: reply_observation(client, pool, observation, data, channel="cli")
    )
    _print_observation(view, as_json)


@observation_app.command("resolve")
@command
def resolve(
    observation: Annotated[str, typer.Argument(help="The observation's id.")],
    text: Annotated[str, typer.Option("--text", help="What was done (办结情况).")],
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Close an escalated observation as 区幸福办."""
    from guatu.society.models import ResolveInput
    from guatu.society.service import resolve_observation

    data = ResolveInput(
        text=text,
        actor=_actor(),
        role="leader",
        idempotency_key=key or _default_key("resolve", observation, {"text": text}),
    )
    view = _with_services(
        lambda client, pool: resolve_observation(client, pool, observation, data, channel="cli")
    )
    _print_observation(view, as_json)


@observation_app.command("figures")
@command
def figures(
    since: Annotated[
        str | None, typer.Option("--since", help="Filed on or after (YYYY-MM-DD).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Filed before (YYYY-MM-DD).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Published figures: satisfaction and response timeliness per bureau, project and scene."""
    from guatu.society.figures import published_figures

    out = _with_pool(
        lambda pool: published_figures(
            pool,
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
        )
    )
    if as_json:
        _print_json(out)
        return

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x * 100:.1f}%"

    for level, title in (("bureaus", "责任单位"), ("projects", "项目"), ("scenes", "示范场景")):
        if not out[level]:
            continue
        _print_table(
            f"市民观察{title} / {level}（截至 {out['as_of']}）",
            ("编码", "名称", "观察", "平均评分", "按期答复率", "满意率", "督办"),
            (
                (
                    f["code"],
                    f["name_zh"],
                    str(f["observations"]),
                    "—" if f["average_rating"] is None else f"{f['average_rating']:.2f}",
                    f"{pct(f['timeliness'])}（{f['replied_on_time']}/{f['replies_due']}）",
                    f"{pct(f['satisfaction'])}（{f['satisfied']}/{f['rated']}）",
                    str(f["escalated"]),
                )
                for f in out[level]
            ),
        )


@evaluation_app.command("list")
@command
def list_evaluations(
    bureau: Annotated[str | None, typer.Option("--bureau", help="One bureau's.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="One project's.")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List third-party evaluations (every version), newest first."""
    from guatu.society.evaluations import list_evaluations as list_

    page = _with_pool(lambda pool: list_(pool, bureau=bureau, project=project, limit=limit))
    if _page_done(page, as_json, "暂无第三方评估 / no evaluations"):
        return
    _print_table(
        f"第三方评估 / evaluations（{page['total']}）",
        ("编号 id", "单位 bureau", "年度", "得分", "更正 supersedes", "机构"),
        (
            (
                r["id"],
                r["bureau"],
                str(r["year"]),
                f"{r['score']:.2f}",
                r["supersedes"] or "",
                r["evaluator_label"],
            )
            for r in page["items"]
        ),
    )


@evaluation_app.command("show")
@command
def show_evaluation(
    evaluation: Annotated[str, typer.Argument(help="The evaluation's id (one version).")],
    as_json: JsonOption = False,
) -> None:
    """One evaluation version: indicators, conclusion, the bureau's answer, any correction."""
    from guatu.society.evaluations import get_evaluation

    row = _with_pool(lambda pool: get_evaluation(pool, evaluation))
    if row is None:
        raise CliError(f"没有评估 {evaluation}", f"no evaluation {evaluation}")
    if as_json:
        _print_json(row)
        return
    typer.echo(f"第三方评估 {row['id']}（第 {row['version']} 版）得分 {row['score']:.2f}")
    for i in row["indicators"]:
        typer.echo(f"  · {i['name_zh']}（{i['key']}）：{i['score']} × 权重 {i['weight']}")
    typer.echo(f"  结论 conclusion：{row['conclusion']}")
    if row["supersedes"]:
        typer.echo(f"  更正 {row['supersedes']}，理由：{row['reason']}")
    if row["superseded_by"]:
        typer.echo(f"  已被 {row['superseded_by']} 更正 / superseded")
    if row["answer"]:
        typer.echo(f"  单位答复 answer：{row['answer']['text']}")
