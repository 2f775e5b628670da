"""`guatu up`: settings decide, flags override only when given; it serves before any round or
remote system answers; a stop request ends it at any stage (issue 8, deliverables 1 and 6).

The serve tests start the real embedded PostgreSQL and Temporal in a data directory of their
own, on free ports.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from config.settings import Settings
from guatu.cli.main import app as cli_app
from guatu.cli.main import up_settings
from guatu.runtime import up as guatu_app
from tests.conftest import free_port


def test_load_sample_setting_from_env_and_dotenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GUATU_LOAD_SAMPLE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().load_sample is True  # the default
    (tmp_path / ".env").write_text("GUATU_LOAD_SAMPLE=false\n")
    assert Settings().load_sample is False  # .env
    (tmp_path / ".env").unlink()
    monkeypatch.setenv("GUATU_LOAD_SAMPLE", "false")
    assert Settings().load_sample is False  # environment


def test_sample_flag_overrides_only_when_given() -> None:
    off, on = Settings(load_sample=False), Settings(load_sample=True)
    assert up_settings(off, sample=None, simulate=False).load_sample is False
    assert up_settings(on, sample=None, simulate=False).load_sample is True
    assert up_settings(off, sample=True, simulate=False).load_sample is True
    assert up_settings(on, sample=False, simulate=False).load_sample is False
    simulated = up_settings(on, sample=True, simulate=True)
    assert simulated.load_sample is False and simulated.data_dir == on.data_dir / "simulation"


@pytest.mark.parametrize(
    ("args", "expected"), [([], False), (["--sample"], True), (["--no-sample"], False)]
)
def test_up_command_honours_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], expected: bool
) -> None:
    """`GUATU_LOAD_SAMPLE=false guatu up` does not load the sample; `--sample` still does."""
    seen: list[Settings] = []
    monkeypatch.setenv("GUATU_LOAD_SAMPLE", "false")
    monkeypatch.chdir(tmp_path)
    from guatu.cli import main as cli

    cli.get_settings.cache_clear()
    monkeypatch.setattr(
        guatu_app, "run_forever", lambda settings, simulate_year_seconds=None: seen.append(settings)
    )
    monkeypatch.setattr(cli.logs, "configure", lambda *a, **k: None)
    try:
        result = CliRunner().invoke(cli_app, ["up", *args])
    finally:
        cli.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert [s.load_sample for s in seen] == [expected]


def _settings(tmp_path: Path, load_sample: bool) -> Settings:
    return Settings(
        data_dir=tmp_path / "guatu",
        postgres_port=free_port(),
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        api_port=free_port(),
        load_sample=load_sample,
        graceful_shutdown_seconds=2,
        programme_start_year=2031,
    )


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


async def test_stop_during_start_up_ends_it_and_its_servers(tmp_path: Path) -> None:
    settings = _settings(tmp_path, load_sample=True)
    stop = asyncio.Event()
    serving = asyncio.create_task(guatu_app.serve(settings, stop))
    # Stop while the embedded PostgreSQL is still being created (initdb takes seconds).
    await asyncio.sleep(0.5)
    assert not serving.done()
    stop.set()
    started = time.monotonic()
    # Bounded: the start in flight finishes (its own timeout), then everything stops.
    await asyncio.wait_for(serving, timeout=90)
    assert time.monotonic() - started < 90
    for port in (settings.postgres_port, settings.temporal_port, settings.api_port):
        assert not _listening(port), port


async def test_serves_while_the_first_round_is_held_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A first round that never finishes (a bureau's webhook holding it) does not keep the API
    or the dashboard from serving, and a stop request still ends everything."""
    held = asyncio.Event()
    cancelled = asyncio.Event()

    async def held_up_round(st: Any, first_round: bool = True) -> None:
        held.set()
        try:
            await asyncio.Event().wait()  # never answers
        finally:
            cancelled.set()

    monkeypatch.setattr(guatu_app, "start_rankings", held_up_round)
    settings = _settings(tmp_path, load_sample=False)
    stop = asyncio.Event()
    answers: list[int] = []

    async def once_up(_: guatu_app.Stack) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            base = f"http://{settings.api_host}:{settings.api_port}"
            for _attempt in range(100):
                try:
                    answers.append((await http.get(f"{base}/healthz")).status_code)
                    answers.append((await http.get(f"{base}/")).status_code)  # the dashboard
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        await asyncio.wait_for(held.wait(), timeout=30)
        stop.set()

    await asyncio.wait_for(guatu_app.serve(settings, stop, once_up), timeout=180)
    assert answers == [200, 200]
    assert held.is_set() and cancelled.is_set()
    for port in (settings.postgres_port, settings.temporal_port, settings.api_port):
        assert not _listening(port), port
