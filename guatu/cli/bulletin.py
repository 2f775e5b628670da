"""`guatu ranking bulletin`: write the monthly 通报 of a published round as a Word document.

The same document as `GET /api/v1/rankings/bulletin` (both call `guatu.ranking.bulletin`),
generated from the round's stored results: writing it again gives the same file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from guatu.cli.common import CliError, _with_pool, command
from guatu.cli.ranking import ranking_app
from guatu.cli.rounds import _period


@ranking_app.command("bulletin")
@command
def ranking_bulletin(
    period: Annotated[
        str | None,
        typer.Option("--period", help="2026-11, 2026-Q4 or 2026 (default: the last closed month)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the .docx (default: 通报-<period>.docx here).",
        ),
    ] = None,
    revision: Annotated[
        int | None,
        typer.Option("--revision", min=1, help="A revision of the round (default: the latest)."),
    ] = None,
    ruleset: Annotated[
        str | None, typer.Option("--ruleset", help="Rule set id (default: the default one).")
    ] = None,
) -> None:
    """Write the 通报 (关于…重点项目竞进比拼情况的通报) of a published round as a .docx."""
    from guatu.ranking import bulletin
    from guatu.ranking.rulesets import available_rulesets

    key = _period(period, None)
    if ruleset is not None and ruleset not in available_rulesets():
        raise CliError(
            f"没有规则集「{ruleset}」，可用：{'、'.join(available_rulesets())}",
            f"no rule set {ruleset!r}; known: {', '.join(available_rulesets())}",
            code=2,
        )
    if output is not None and not output.parent.resolve().is_dir():
        raise CliError(
            f"目录不存在：{output.parent}", f"no such directory: {output.parent}", code=2
        )
    built = _with_pool(
        lambda pool: bulletin.build(pool, key, revision=revision, ruleset_id=ruleset)
    )
    if built is None:
        which = f"第 {revision} 版" if revision else ""
        raise CliError(
            f"{key} 排名{which}尚未生成，无法生成通报",
            f"no published round for {key}"
            f"{f' revision {revision}' if revision else ''}: no bulletin",
        )
    data, body = built
    target = output if output is not None else Path(data.filename)
    # Written whole or not at all: a clerk never opens half a document.
    fd, tmp = tempfile.mkstemp(dir=target.resolve().parent, prefix=".bulletin-", suffix=".docx")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    typer.echo(
        f"已生成{data.label_zh}竞进比拼通报（第 {data.revision} 版，规则 {data.ruleset_id} "
        f"v{data.ruleset_version}）：{target} / wrote the {key} bulletin "
        f"(revision {data.revision}) to {target}"
    )


__all__ = ["ranking_bulletin"]
