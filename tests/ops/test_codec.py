"""Payload encryption (issue 12, deliverable 3): the codec, its keys and rotation, the committed
unencrypted histories, a lifecycle whose Temporal history holds no clear text, and the codec
endpoint the Temporal Web UI calls."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config.settings import Settings
from guatu.api.app import create_app
from guatu.core import constants as c
from guatu.core.clock import local_date, month_key
from guatu.core.payload_codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadKey,
    PayloadKeyError,
    data_converter,
    parse_keys,
    payload_keys,
    with_codec,
)
from guatu.core.tokens import create_token
from guatu.lifecycle.models import ProgressReportInput, ProjectKind, TimerPolicy
from guatu.lifecycle.service import project_status, send_update, start_project
from tests.helpers import add_bureau, eventually, make_plan, running_worker
from tests.replay.corpus import Recorded, corpus
from workflows.project_lifecycle import ProjectLifecycle
from workflows.registry import WORKFLOWS

# The replay corpus with its real workflow IDs (RankingRound decides on its own ID).
HISTORIES = corpus()
OLD, NEW = PayloadKey("2026-01", b"o" * 32), PayloadKey("2026-10", b"n" * 32)


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


# --- the codec --------------------------------------------------------------------------------


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    codec = EncryptionCodec([NEW])
    original = [plain("项目简况：征地拆迁进度"), plain("second")]
    encoded = await codec.encode(original)
    for p in encoded:
        assert p.metadata["encoding"] == ENCODING == b"binary/encrypted"
        assert p.metadata[KEY_ID_METADATA] == b"2026-10"
        assert "征地".encode() not in p.data and b"json/plain" not in p.data
    # 12-byte nonce + ciphertext of the serialized payload + 16-byte GCM tag.
    assert len(encoded[1].data) == 12 + len(original[1].SerializeToString()) + 16
    assert encoded[0].data[:12] != encoded[1].data[:12]  # a fresh nonce per payload
    assert await codec.decode(encoded) == original


async def test_rotation_old_payloads_still_open_new_ones_use_the_new_key() -> None:
    before = EncryptionCodec([OLD])
    written_before = await before.encode([plain("old narrative")])
    after = EncryptionCodec([NEW, OLD])  # the new key put in front, the old one kept
    assert await after.decode(written_before) == [plain("old narrative")]
    written_after = await after.encode([plain("new narrative")])
    assert written_after[0].metadata[KEY_ID_METADATA] == b"2026-10"
    assert await after.decode(written_after) == [plain("new narrative")]


async def test_unknown_key_id_fails_clearly() -> None:
    written = await EncryptionCodec([NEW]).encode([plain("x")])
    with pytest.raises(
        PayloadKeyError,
        match=r"key id '2026-10'.*not in GUATU_PAYLOAD_KEYS "
        r"\(known: 2026-01\)",
    ):
        await EncryptionCodec([OLD]).decode(written)


async def test_a_relabelled_or_wrong_key_does_not_decrypt() -> None:
    written = (await EncryptionCodec([OLD]).encode([plain("x")]))[0]
    # The same id holding another key, and a payload relabelled with another known key id.
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        await EncryptionCodec([PayloadKey("2026-01", b"z" * 32)]).decode([written])
    written.metadata[KEY_ID_METADATA] = b"2026-10"
    with pytest.raises(PayloadKeyError, match="does not decrypt"):
        await EncryptionCodec([NEW, OLD]).decode([written])


async def test_unencrypted_payloads_pass_through() -> None:
    assert await EncryptionCodec([NEW]).decode([plain("old history")]) == [plain("old history")]


def test_key_list_formats_and_refusals() -> None:
    b64 = {k.id: base64.b64encode(k.key).decode() for k in (NEW, OLD)}
    as_json = json.dumps(
        [{"id": "2026-10", "key": b64["2026-10"]}, {"id": "2026-01", "key": b64["2026-01"]}]
    )
    as_pairs = f"2026-10:{b64['2026-10']}, 2026-01:{b64['2026-01']}"
    assert parse_keys(as_json) == parse_keys(as_pairs) == [NEW, OLD]
    with pytest.raises(PayloadKeyError, match="16 bytes; AES-256 needs 32"):
        parse_keys(f"k:{base64.b64encode(b'x' * 16).decode()}")
    with pytest.raises(PayloadKeyError, match="repeats a key id"):
        parse_keys(f"k:{b64['2026-10']},k:{b64['2026-01']}")
    with pytest.raises(PayloadKeyError, match="not valid base64"):
        parse_keys("k:not*base64")
    assert "6e6e" not in repr(NEW) and "nnnn" not in repr(NEW)  # a key never shows in a repr


def test_embedded_stack_keeps_a_generated_key_in_its_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = payload_keys(settings)
    path = tmp_path / "payload_keys.json"
    assert first is not None and len(first) == 1 and len(first[0].key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert payload_keys(settings) == first  # the next start reads the same key
    # GUATU_PAYLOAD_KEYS wins over the file; an external Temporal without keys stays plain.
    pairs = f"2026-10:{base64.b64encode(NEW.key).decode()}"
    assert payload_keys(Settings(data_dir=tmp_path, payload_keys=SecretStr(pairs))) == [NEW]
    assert payload_keys(Settings(data_dir=tmp_path / "x", temporal_address="t:7233")) is None
    assert not (tmp_path / "x").exists()
    assert isinstance(data_converter(settings).payload_codec, EncryptionCodec)
    assert data_converter(settings, embedded=False).payload_codec is None


@pytest.mark.parametrize("recorded", HISTORIES, ids=[r.file for r in HISTORIES])
async def test_committed_unencrypted_histories_replay_with_the_codec(recorded: Recorded) -> None:
    converter = with_codec(pydantic_data_converter, [NEW, OLD])
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter)
    result = await replayer.replay_workflow(recorded.history(), raise_on_replay_failure=False)
    assert result.replay_failure is None


# --- a lifecycle on the time-skipping server ---------------------------------------------------


@pytest_asyncio.fixture
async def codec_client(ts_env: WorkflowEnvironment) -> Client:
    return Client(
        ts_env.client.service_client,
        namespace=ts_env.client.namespace,
        data_converter=with_codec(pydantic_data_converter, [NEW, OLD]),
    )


async def _history_bytes(client: Client, workflow_id: str) -> bytes:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return b"".join(e.SerializeToString() for e in history.events)


async def test_lifecycle_history_holds_no_clear_text(
    ts_env: WorkflowEnvironment,
    codec_client: Client,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
) -> None:
    marker = f"SECRET-NARRATIVE-{uuid.uuid4().hex}"
    bureau = await add_bureau(pool, None)
    today = local_date(await ts_env.get_current_time())
    plan = make_plan(
        ProjectKind.SERVICE,
        start=today.replace(day=1),
        bureau=bureau,
        milestone_days=[300, 320, 340],
    ).model_copy(update={"name_zh": marker})
    plain_plan = make_plan(
        ProjectKind.SERVICE,
        start=today.replace(day=1),
        bureau=bureau,
        milestone_days=[300, 320, 340],
    ).model_copy(update={"name_zh": marker})
    async with running_worker(codec_client, pool, http, settings) as task_queue:
        ids = [c.project_workflow_id(plan.code), c.project_workflow_id(plain_plan.code)]
        try:
            await start_project(
                codec_client, plan, TimerPolicy(), task_queue=task_queue, index=False
            )
            report = ProgressReportInput(
                bureau=bureau,
                idempotency_key="k1",
                month=month_key(plan.start),
                investment_wan=10,
                physical_progress_pct=5,
                narrative=marker,
            )
            result = await send_update(
                codec_client, plan.code, ProjectLifecycle.submit_report, report
            )
            assert result.accepted
            # Through the codec the project reads back in clear.
            assert (await project_status(codec_client, plan.code)).name_zh == marker
            raw = await _history_bytes(ts_env.client, ids[0])
            assert marker.encode() not in raw
            assert raw.count(ENCODING) >= 3  # start input, update input, update result
            # Control: a project started by a client without the codec (as every project was
            # before) carries the marker in clear, and the codec'd worker still runs it.
            await start_project(
                ts_env.client, plain_plan, TimerPolicy(), task_queue=task_queue, index=False
            )
            assert (await project_status(codec_client, plain_plan.code)).name_zh == marker
            assert marker.encode() in await _history_bytes(ts_env.client, ids[1])
        finally:
            for workflow_id in ids:
                handle = ts_env.client.get_workflow_handle(workflow_id)
                with contextlib.suppress(Exception):
                    await eventually(lambda h=handle: _idle(h), timeout=5)
                    await handle.terminate()


async def _idle(handle: object) -> bool:
    description = await handle.describe()  # type: ignore[attr-defined]
    return not description.raw_description.pending_activities


# --- the codec endpoint ------------------------------------------------------------------------


@pytest_asyncio.fixture
async def api(codec_client: Client, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(codec_client, pool, Settings(temporal_ui_port=8233))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://guatu.test", timeout=10
    ) as client:
        yield client


def _body(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


async def test_codec_endpoint_needs_an_admin_token(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    encrypted = await EncryptionCodec([NEW]).encode([plain("项目叙述")])
    body = _body(encrypted)
    headers = {"Content-Type": "application/json", "X-Namespace": "default"}
    anonymous = await api.post("/codec/decode", content=body, headers=headers)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_token"
    leader = await create_token(pool, "leader", label="codec test")
    refused = await api.post(
        "/codec/decode", content=body, headers={**headers, "Authorization": f"Bearer {leader}"}
    )
    assert refused.status_code == 403 and "admin" in refused.json()["en"]
    admin = await create_token(pool, "admin", label="codec test")
    auth = {**headers, "Authorization": f"Bearer {admin}"}
    decoded = await api.post("/codec/decode", content=body, headers=auth)
    assert decoded.status_code == 200, decoded.text
    out = json_format.Parse(decoded.content, Payloads()).payloads
    assert list(out) == [plain("项目叙述")]
    # Encode answers with the current key; what it encodes, decode opens again.
    encoded = await api.post("/codec/encode", content=_body([plain("x")]), headers=auth)
    again = json_format.Parse(encoded.content, Payloads()).payloads
    assert again[0].metadata[KEY_ID_METADATA] == b"2026-10"
    assert await EncryptionCodec([NEW]).decode(again) == [plain("x")]
    # A key nobody holds, another namespace, a body that is not payloads: clear refusals.
    foreign = await EncryptionCodec([PayloadKey("gone", b"g" * 32)]).encode([plain("x")])
    unknown = await api.post("/codec/decode", content=_body(foreign), headers=auth)
    assert unknown.status_code == 422 and "'gone'" in unknown.json()["en"]
    other = await api.post(
        "/codec/decode", content=body, headers={**auth, "X-Namespace": "elsewhere"}
    )
    assert other.status_code == 400 and other.json()["code"] == "codec_namespace_mismatch"
    bad = await api.post("/codec/decode", content=b'{"payloads": 3}', headers=auth)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_payloads"


async def test_web_ui_origin_and_browser_sign_in(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    ui = "http://127.0.0.1:8233"
    preflight = await api.options(
        "/codec/decode",
        headers={
            "Origin": ui,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ui
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in preflight.headers["access-control-allow-headers"]
    evil = await api.options("/codec/decode", headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    # A browser signs in once; the UI's fetch then carries only the cookie (and its origin).
    admin = await create_token(pool, "admin", label="codec browser")
    page = await api.get("/codec/login")
    assert page.status_code == 200 and 'action="/codec/session"' in page.text
    bad = await api.post("/codec/session", data={"token": "gt_wrong"})
    assert bad.status_code == 401 and "guatu_codec" not in bad.headers.get("set-cookie", "")
    signed = await api.post("/codec/session", data={"token": admin})
    assert signed.status_code == 200 and "已登录" in signed.text, signed.text
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/codec" in cookie and "SameSite=strict" in cookie
    encrypted = await EncryptionCodec([NEW]).encode([plain("叙述")])
    decoded = await api.post(
        "/codec/decode",
        content=_body(encrypted),
        headers={"Content-Type": "application/json", "Origin": ui, "X-Namespace": "default"},
    )
    assert decoded.status_code == 200, decoded.text
    assert decoded.headers["access-control-allow-origin"] == ui
    assert list(json_format.Parse(decoded.content, Payloads()).payloads) == [plain("叙述")]
    # The cookie signs nothing else in: a new session needs the token itself.
    assert (await api.post("/codec/session")).status_code == 401
    api.cookies.clear()
    scripted = await api.post("/codec/session", headers={"Authorization": f"Bearer {admin}"})
    assert scripted.status_code == 204 and "guatu_codec=" in scripted.headers["set-cookie"]
    api.cookies.clear()
    refused = await api.post(
        "/codec/decode",
        content=_body(encrypted),
        headers={"Content-Type": "application/json", "Origin": ui},
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ui  # the UI can read why
