"""`guatu`: the command line for project managers and operators.

Every command reads its settings from the environment (`GUATU_*`, `DATABASE_URL`, `.env`), like
`guatu up`: by default it talks to the stack that `guatu up` runs on this machine (Temporal on
127.0.0.1:7233, the embedded PostgreSQL on 127.0.0.1:55432).

- Every read command takes `--json`: then stdout holds exactly one JSON document, and progress
  bars and notes go to stderr.
- Every error is one line on stderr ("guatu: 中文 / English") and a non-zero exit: 1 for a
  failure or a refusal, 2 for a usage mistake. Set `GUATU_DEBUG=1` for the full traceback of an
  unexpected error.

The root app, `guatu up`, the CLI's logging and the wiring of every sub-command group live here;
each group is its own module (`plan`, `project`, `report`, `ranking` with `rounds` and
`bulletin`, `token`, `appeal`, `society`, `notices`, `channels`, `opportunity`, `scene`,
`simulate`) on the shared helpers of `guatu.cli.common`.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from config.settings import Settings, get_settings
from guatu.cli import bulletin, rounds  # noqa: F401 - they add their commands to `guatu ranking`
from guatu.cli.appeal import appeal_app
from guatu.cli.channels import channels_app
from guatu.cli.common import _one_line
from guatu.cli.notices import notices_app
from guatu.cli.opportunity import opportunity_app
from guatu.cli.plan import plan_app
from guatu.cli.project import project_app
from guatu.cli.ranking import ranking_app
from guatu.cli.report import report_app
from guatu.cli.scene import scene_app
from guatu.cli.simulate import simulate as simulate_command
from guatu.cli.society import evaluation_app, observation_app
from guatu.cli.token import token_app
from guatu.core import logs


class OneLineErrors(TyperGroup):
    """Usage mistakes as one line on stderr (exit 2), like every other error of the CLI."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        try:
            code = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except NoArgsIsHelpError as err:
            err.show()
            sys.exit(err.exit_code)
        except typer.TyperException as err:  # a usage mistake: unknown option, bad value …
            ctx = getattr(err, "ctx", None)
            where = f" — {ctx.command_path} --help" if ctx is not None else ""
            typer.echo(f"guatu: {_one_line(err.format_message())}{where}", err=True)
            sys.exit(err.exit_code)
        except typer.Abort:
            typer.echo("guatu: 已中断 / aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    help="Guatu (挂图): the wall-chart engine for a district's key projects.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=OneLineErrors,
)
app.add_typer(plan_app, name="plan")
app.add_typer(project_app, name="project")
app.add_typer(report_app, name="report")
app.add_typer(ranking_app, name="ranking")
app.add_typer(token_app, name="token")
app.add_typer(appeal_app, name="appeal")
app.add_typer(observation_app, name="observation")
app.add_typer(evaluation_app, name="evaluation")
app.add_typer(notices_app, name="notices")
app.add_typer(channels_app, name="channels")
app.add_typer(opportunity_app, name="opportunity")
app.add_typer(scene_app, name="scene")


@app.callback()
def main() -> None:
    """Guatu (挂图): the wall-chart engine for a district's key projects."""
    _cli_logging()


def _cli_logging() -> None:
    """Library logs go to stderr, warnings and above: stdout holds only the command's output
    (with --json, exactly one JSON document). `guatu up` configures its own logging."""
    import logging

    import structlog

    if structlog.is_configured():
        return
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        # Resolved at each use, so that a redirected stderr (a pipe, a test runner) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


@app.command()
def up(
    sample: Annotated[
        bool | None,
        typer.Option(
            "--sample/--no-sample",
            help="Load the sample programme (243 projects). Default: the setting GUATU_LOAD_SAMPLE "
            "(environment or .env; true unless set).",
        ),
    ] = None,
    simulate: Annotated[
        bool,
        typer.Option(
            help="Instead of the live sample, run a simulated year of it (seeded bureaus, ranking "
            "rounds each month) in its own data directory, and keep serving the dashboard.",
        ),
    ] = False,
    year_seconds: Annotated[
        float,
        typer.Option(min=30.0, help="With --simulate: real seconds one simulated year takes."),
    ] = 120.0,
) -> None:
    """Start the embedded stack, the worker, the sample programme and the API; Ctrl-C stops all."""
    from guatu.runtime.up import run_forever

    settings = up_settings(get_settings(), sample=sample, simulate=simulate)
    logs.configure_from(settings)
    run_forever(settings, simulate_year_seconds=year_seconds if simulate else None)


def up_settings(settings: Settings, *, sample: bool | None, simulate: bool) -> Settings:
    """The settings `guatu up` runs with: the flags override the settings only when given."""
    if simulate:
        # Its own data: a simulated programme never mixes with the live one.
        return settings.model_copy(
            update={"load_sample": False, "data_dir": settings.data_dir / "simulation"}
        )
    if sample is None:
        return settings
    return settings.model_copy(update={"load_sample": sample})


app.command("simulate")(simulate_command)

if __name__ == "__main__":
    app()
