"""Channel pieces without servers: cards, the DingTalk signature, sealed secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest
from pydantic import SecretStr

from config.settings import Settings
from guatu.channels import cards
from guatu.channels.secrets import KEY_FILE, ChannelKeys, SecretError, context_of
from guatu.channels.senders import dingtalk_sign
from guatu.core.payload_codec import PayloadKey
from guatu.lifecycle.models import Notice


def _notice(**kw: object) -> Notice:
    base: dict[str, object] = {
        "key": "WJ-P06-001:report_late:2031-03",
        "bureau": "sthjj",
        "project": "WJ-P06-001",
        "kind": "report_late",
        "title_zh": "【月报逾期】<b>湿地</b>公园",
        "body_zh": "请尽快补报。",
        "created_at": datetime(2031, 4, 1, tzinfo=UTC),
        "deadline": date(2031, 3, 25),
    }
    base.update(kw)
    return Notice.model_validate(base)


def test_the_card_names_action_bureau_project_and_deadline() -> None:
    card = cards.Card.of(_notice(), "区生态环境局", "湿地公园")
    assert card.facts() == [
        ("事项", "月报逾期"),
        ("单位", "区生态环境局"),
        ("项目", "WJ-P06-001 湿地公园"),
        ("期限", "2031-03-25"),
    ]
    # A tag inside a name is shown, not interpreted by the robot's markdown.
    assert card.title == "【月报逾期】＜b＞湿地＜/b＞公园"
    assert "<b>" not in cards.wecom_markdown(card)
    # The ladder's kinds read as its actions; an unknown kind falls back to its title's head.
    assert cards.action_zh(_notice(kind="ladder_summons")) == "约谈"
    assert cards.action_zh(_notice(kind="appeal_decided", title_zh="【申诉答复】x")) == "申诉答复"


def test_a_long_notice_is_cut_to_the_robot_limit_keeping_its_key() -> None:
    body = "长" * 3000  # 9000 bytes of UTF-8
    card = cards.Card.of(_notice(body_zh=body), "区生态环境局", None)
    content = cards.wecom_markdown(card)
    assert 4000 < len(content.encode()) <= 4096
    assert content.endswith("通知编号：WJ-P06-001:report_late:2031-03</font>")
    assert "内容过长已截断" in content
    title, text = cards.dingtalk_markdown(card)
    assert len(text.encode()) < 18000 and "内容过长" not in text  # 9000 bytes fit there


def test_dingtalk_signature_is_the_documented_one() -> None:
    secret, timestamp = (
        "SEC000000000000000000000000000000000000000000000000000000000000",
        1577262236757,
    )
    # Computed here the way DingTalk's documentation does it, independently of the code.
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256
    ).digest()
    documented = quote_plus(base64.b64encode(digest))
    raw = dingtalk_sign(secret, timestamp)
    assert base64.b64decode(raw) == digest
    # Passed as a query parameter, it is URL-encoded exactly once, as documented.
    url = httpx.Request(
        "POST",
        "https://oapi.dingtalk.com/robot/send",
        params={"access_token": "t", "timestamp": str(timestamp), "sign": raw},
    ).url
    assert url.query.decode().split("&")[2] == f"sign={documented}"


def test_sealed_secrets_open_only_where_they_were_sealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ChannelKeys(Settings(data_dir=tmp_path))
    sealed = keys.store("robot-key-1", context_of("sthjj", "wecom", "key"))
    assert sealed.startswith("enc:k1:") and "robot-key-1" not in sealed
    # Without GUATU_CHANNEL_KEYS the key is generated into the data directory, owner-only.
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert (
        ChannelKeys(Settings(data_dir=tmp_path)).reveal(sealed, context_of("sthjj", "wecom", "key"))
        == "robot-key-1"
    )
    # Copied to another bureau's row, it does not open.
    with pytest.raises(SecretError, match="does not decrypt"):
        keys.reveal(sealed, context_of("swj", "wecom", "key"))
    # Another data directory (a lost key file) has its own k1: that does not open it either;
    # a key list without k1 names the missing key id.
    with pytest.raises(SecretError, match="does not decrypt with key 'k1'"):
        ChannelKeys(Settings(data_dir=tmp_path / "other")).reveal(
            sealed, context_of("sthjj", "wecom", "key")
        )
    other = json.dumps([PayloadKey.generate("k2").to_json()])
    with pytest.raises(SecretError, match="key id 'k1', which is not among"):
        ChannelKeys(Settings(data_dir=tmp_path, channel_keys=SecretStr(other))).reveal(
            sealed, context_of("sthjj", "wecom", "key")
        )
    # env:NAME is kept as a reference and read from the worker's environment.
    assert keys.store("env:ROBOT_KEY_X", "ctx") == "env:ROBOT_KEY_X"
    with pytest.raises(SecretError, match="ROBOT_KEY_X"):
        keys.reveal("env:ROBOT_KEY_X", "ctx")
    monkeypatch.setenv("ROBOT_KEY_X", "from-env")
    assert keys.reveal("env:ROBOT_KEY_X", "ctx") == "from-env"
