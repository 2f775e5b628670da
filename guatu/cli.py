"""`guatu`: the command line for project managers and operators."""

from __future__ import annotations

import typer

from config.settings import get_settings
from guatu import logs

app = typer.Typer(help="Guatu (挂图): the wall-chart engine for a district's key projects.",
                  no_args_is_help=True)


@app.callback()
def main() -> None:
    """Guatu (挂图): the wall-chart engine for a district's key projects."""


@app.command()
def up(
    sample: bool = typer.Option(True, help="Load the sample programme (243 projects)."),
) -> None:
    """Start the embedded stack, the worker, the sample programme and the API; Ctrl-C stops all."""
    from guatu.app import run_forever

    settings = get_settings().model_copy(update={"load_sample": sample})
    logs.configure(settings.log_level, settings.log_json)
    run_forever(settings)


if __name__ == "__main__":
    app()
