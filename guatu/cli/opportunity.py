"""`guatu opportunity publish|list|close|interests|respond|outcome|public`: 机会清单 from the
command line (wired by guatu/cli/main.py).

The same service as the API (`guatu.opportunities.service`): a manager publishes and closes; the
responsible bureau's clerk answers an enterprise and records the outcome (签约 / 未成); `public`
prints exactly what the public page publishes. Writes are audited as `cli:<user>`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from config.settings import get_settings
from guatu.cli.common import (
    JsonOption,
    KeyOption,
    LimitOption,
    _actor,
    _default_key,
    _page_done,
    _print_json,
    _with_pool,
    _with_services,
    command,
)
from guatu.opportunities.models import (
    INTEREST_STATUS_ZH,
    KIND_ZH,
    LISTING_STATUS_ZH,
    CloseInput,
    InterestStatus,
    ListingStatus,
    OpportunityKind,
    Outcome,
    OutcomeInput,
    PublishInput,
    RespondInput,
    SubjectKind,
)

opportunity_app: typer.Typer = typer.Typer(
    help="Opportunity lists (机会清单): publish, list, close; answer interests, record outcomes.",
    no_args_is_help=True,
)


def _print_listing(view: Any, as_json: bool) -> None:
    if as_json:
        _print_json(view)
        return
    again = "（重复提交）" if view.duplicate else ""
    typer.echo(
        f"机会 {view.id}：{LISTING_STATUS_ZH[view.status]}{again} / opportunity {view.id}: "
        f"{view.status.value}"
    )
    typer.echo(f"  {KIND_ZH[view.kind]}「{view.title_zh}」，截止 closes {view.closes_on}")
    typer.echo(
        f"  责任单位 bureau：{view.bureau_name or view.bureau}；意向 interests：{view.interests}"
    )


def _print_interest(view: Any, as_json: bool) -> None:
    if as_json:
        _print_json(view)
        return
    typer.echo(
        f"合作意向 {view.id}：{INTEREST_STATUS_ZH[view.status]} / interest {view.id}: "
        f"{view.status.value}{' (duplicate)' if view.duplicate else ''}"
    )
    typer.echo(
        f"  企业 company：{view.company_name}（{view.uscc}）；答复期限 due {view.respond_due}"
    )


@opportunity_app.command("publish")
@command
def publish(
    subject: Annotated[str, typer.Option("--subject", help="Project or scene code.")],
    kind: Annotated[
        OpportunityKind,
        typer.Option("--kind", help="investment / operation / procurement / venue."),
    ],
    title: Annotated[str, typer.Option("--title", help="The opportunity's name (中文).")],
    closes_on: Annotated[
        str, typer.Option("--closes-on", help="Last day interests are taken, YYYY-MM-DD.")
    ],
    subject_kind: Annotated[
        SubjectKind, typer.Option("--subject-kind", help="project or scene.")
    ] = SubjectKind.PROJECT,
    amount: Annotated[
        float | None, typer.Option("--amount", help="万元 (default: 面议, to be agreed).")
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    conditions: Annotated[str, typer.Option("--conditions", help="合作条件.")] = "",
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish an opportunity on a project or scene (as a manager)."""
    from guatu.opportunities.service import publish as publish_

    body: dict[str, Any] = {
        "subject_kind": subject_kind.value,
        "subject": subject,
        "kind": kind.value,
        "title_zh": title,
        "description": description,
        "amount_wan": amount,
        "conditions": conditions,
        "closes_on": date.fromisoformat(closes_on),
    }
    data = PublishInput.model_validate(
        {**body, "actor": _actor(), "idempotency_key": key or _default_key("opp", subject, body)}
    )
    task_queue = get_settings().task_queue
    view = _with_services(
        lambda client, pool: publish_(client, pool, data, task_queue=task_queue, channel="cli")
    )
    _print_listing(view, as_json)


@opportunity_app.command("list")
@command
def list_(
    status: Annotated[ListingStatus | None, typer.Option("--status")] = None,
    bureau: Annotated[str | None, typer.Option("--bureau", help="One bureau's.")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List opportunities, newest first."""
    from guatu.opportunities.service import list_opportunities

    page = _with_pool(
        lambda pool: list_opportunities(
            pool, bureau=bureau, status=status.value if status else None, limit=limit
        )
    )
    if _page_done(page, as_json, "暂无机会清单 / no opportunities"):
        return
    for r in page["items"]:
        typer.echo(
            f"{r['id']}  {LISTING_STATUS_ZH[ListingStatus(r['status'])]}  "
            f"{KIND_ZH[OpportunityKind(r['kind'])]}「{r['title_zh']}」  截止 {r['closes_on']}  "
            f"意向 {r['interests']}"
        )


@opportunity_app.command("close")
@command
def close(
    opportunity: Annotated[str, typer.Argument(help="The opportunity's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it closes early (理由).")],
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close an opportunity before its closing date (as a manager)."""
    from guatu.opportunities.service import close as close_

    data = CloseInput(
        reason=reason,
        actor=_actor(),
        role="manager",
        idempotency_key=key or _default_key("close", opportunity, {"reason": reason}),
    )
    view = _with_services(
        lambda client, pool: close_(client, pool, opportunity, data, channel="cli")
    )
    _print_listing(view, as_json)


@opportunity_app.command("interests")
@command
def interests(
    opportunity: Annotated[str | None, typer.Option("--opportunity")] = None,
    bureau: Annotated[str | None, typer.Option("--bureau", help="One bureau's.")] = None,
    status: Annotated[InterestStatus | None, typer.Option("--status")] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List expressions of interest, the nearest answer deadline first."""
    from guatu.opportunities.service import list_interests

    page = _with_pool(
        lambda pool: list_interests(
            pool,
            bureau=bureau,
            opportunity=opportunity,
            status=status.value if status else None,
            limit=limit,
        )
    )
    if _page_done(page, as_json, "暂无合作意向 / no expressions of interest"):
        return
    for r in page["items"]:
        typer.echo(
            f"{r['id']}  {INTEREST_STATUS_ZH[InterestStatus(r['status'])]}  {r['company_name']}  "
            f"答复期限 {r['respond_due']}"
        )


@opportunity_app.command("respond")
@command
def respond(
    interest: Annotated[str, typer.Argument(help="The interest's id.")],
    bureau: Annotated[str, typer.Option("--bureau", help="Your bureau code.")],
    reply: Annotated[str, typer.Option("--reply", help="The answer to the enterprise (答复).")],
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer an enterprise's expression of interest (the responsible bureau)."""
    from guatu.opportunities.service import respond as respond_

    data = RespondInput(
        reply=reply,
        actor=_actor(),
        role="bureau",
        bureau=bureau,
        idempotency_key=key or _default_key("respond", interest, {"reply": reply}),
    )
    view = _with_services(
        lambda client, pool: respond_(client, pool, interest, data, channel="cli")
    )
    _print_interest(view, as_json)


@opportunity_app.command("outcome")
@command
def outcome(
    interest: Annotated[str, typer.Argument(help="The interest's id.")],
    bureau: Annotated[str, typer.Option("--bureau", help="Your bureau code.")],
    result: Annotated[
        Outcome, typer.Option("--outcome", help="signed (签约) / not_concluded (未成).")
    ],
    note: Annotated[str, typer.Option("--note", help="说明 (required for 未成).")] = "",
    amount: Annotated[float | None, typer.Option("--amount", help="签约金额, 万元.")] = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the outcome of an expression of interest (the responsible bureau)."""
    from guatu.opportunities.service import record_outcome

    body = {"outcome": result.value, "note": note, "amount_wan": amount}
    data = OutcomeInput(
        outcome=result,
        note=note,
        amount_wan=amount,
        actor=_actor(),
        role="bureau",
        bureau=bureau,
        idempotency_key=key or _default_key("outcome", interest, body),
    )
    view = _with_services(
        lambda client, pool: record_outcome(client, pool, interest, data, channel="cli")
    )
    _print_interest(view, as_json)


@opportunity_app.command("public")
@command
def public(as_json: JsonOption = False) -> None:
    """What the public page publishes (信息公开): the opportunity lists, nothing internal."""
    from guatu.opportunities.service import public_opportunities

    items = _with_pool(public_opportunities)
    if as_json:
        _print_json(items)
        return
    for o in items:
        amount = f"{o.amount_wan:g} 万元" if o.amount_wan is not None else "面议"
        typer.echo(
            f"{o.id}  {o.status_zh}  {o.kind_zh}「{o.title_zh}」  {amount}  截止 {o.closes_on}  "
            f"{o.bureau_name_zh}"
        )
