"""The channel kinds, what an administrator sets for each, and how it is checked.

One channel of each kind per bureau: a webhook, a 企业微信 group robot, a 钉钉 custom robot, an
e-mail channel (one or more recipients). Secrets (the robot key, the DingTalk access token and
signing secret, the SMTP password) are kept apart from the plain settings so that they can be
encrypted and are never shown again. A robot URL pasted whole (`…/send?key=…`,
`…/send?access_token=…`) is split: its credential becomes the secret.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
ENV_PREFIX = "env:"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ADDRESS = re.compile(r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,255}$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    EMAIL = "email"


KIND_ZH = {
    ChannelKind.WEBHOOK: "系统接口（Webhook）",
    ChannelKind.WECOM: "企业微信群机器人",
    ChannelKind.DINGTALK: "钉钉群机器人",
    ChannelKind.EMAIL: "电子邮件",
}


class ChannelError(ValueError):
    """A channel setting refused: a stable code and the message in Chinese and English."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{code}: {en}")
        self.code, self.zh, self.en = code, zh, en


def check_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(value) > 2000
        or any(ch.isspace() for ch in value)
        or parts.username
        or parts.password
    ):
        raise ValueError(
            "地址必须是不含账号密码的 http(s) 网址 / must be an http(s) URL "
            "without user or password"
        )
    return value


def check_secret(value: str) -> str:
    """A secret as given: a reference `env:NAME`, or the secret itself (printable, no spaces)."""
    if value.startswith(ENV_PREFIX):
        if not _ENV_NAME.match(value[len(ENV_PREFIX) :]):
            raise ValueError(
                "环境变量名无效（env:NAME，字母数字下划线）/ env:NAME needs a "
                "variable name of letters, digits and underscores"
            )
        return value
    if not value or len(value) > 500 or not value.isprintable() or " " in value:
        raise ValueError(
            "密钥须为 1–500 个可打印字符、不含空格 / a secret is 1-500 printable "
            "characters without spaces"
        )
    return value


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    secret_fields: ClassVar[tuple[str, ...]] = ()

    def split(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(plain settings, secrets as given) — what the store keeps in its two columns."""
        data = self.model_dump(mode="json", exclude_none=True)
        secrets = {k: data.pop(k) for k in self.secret_fields if k in data}
        return data, secrets


class WebhookSettings(_Settings):
    """The bureau's own system: the notice as JSON, its key in the Idempotency-Key header."""

    url: str = Field(description="http(s) URL that receives a POST per notice")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)


def _credential_from_url(url: str, name: str) -> tuple[str, str | None]:
    """(URL without the credential, the credential) of a robot URL pasted whole."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    found = [v for k, v in query if k == name]
    rest = [(k, v) for k, v in query if k != name]
    return urlunsplit(parts._replace(query=urlencode(rest))), (found[-1] if found else None)


class WecomSettings(_Settings):
    """A 企业微信 group robot: POST to `url?key=<key>`."""

    secret_fields: ClassVar[tuple[str, ...]] = ("key",)
    url: str = Field(default=WECOM_URL, description="The robot's send URL (the key may be in it)")
    key: str | None = Field(default=None, description="The robot's key (secret, or env:NAME)")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)

    @field_validator("key")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        return None if v is None else check_secret(v)

    @model_validator(mode="after")
    def _key_in_url(self) -> WecomSettings:
        url, key = _credential_from_url(self.url, "key")
        if key is not None and self.key is not None:
            raise ValueError(
                "key 与网址中的 key 只能给一个 / give the key or a URL with key=…, not both"
            )
        self.url, self.key = url, check_secret(key) if key is not None else self.key
        if self.key is None:
            raise ValueError(
                "缺少机器人 key / the robot's key is missing (key, or a URL with key=…)"
            )
        return self


class DingtalkSettings(_Settings):
    """A 钉钉 custom robot: POST to `url?access_token=…[&timestamp=…&sign=…]`."""

    secret_fields: ClassVar[tuple[str, ...]] = ("access_token", "secret")
    url: str = Field(
        default=DINGTALK_URL, description="The robot's send URL (the access_token may be in it)"
    )
    access_token: str | None = Field(default=None, description="Secret, or env:NAME")
    secret: str | None = Field(
        default=None,
        description="The 加签 secret (SEC…), or env:NAME; "
        "without it the robot must accept unsigned messages",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)

    @field_validator("access_token", "secret")
    @classmethod
    def _secret(cls, v: str | None) -> str | None:
        return None if v is None else check_secret(v)

    @model_validator(mode="after")
    def _token_in_url(self) -> DingtalkSettings:
        url, token = _credential_from_url(self.url, "access_token")
        if token is not None and self.access_token is not None:
            raise ValueError(
                "access_token 与网址中的只能给一个 / give access_token or a URL "
                "with access_token=…, not both"
            )
        self.url = url
        self.access_token = check_secret(token) if token is not None else self.access_token
        if self.access_token is None:
            raise ValueError("缺少 access_token / the robot's access_token is missing")
        return self


def _address(value: str) -> str:
    if not _ADDRESS.match(value.strip()):
        raise ValueError(f"邮件地址无效 / not an e-mail address: {value[:80]!r}")
    return value.strip()


class EmailSettings(_Settings):
    """E-mail over SMTP. Server fields left out come from the settings (GUATU_SMTP_*)."""

    secret_fields: ClassVar[tuple[str, ...]] = ("password",)
    to: list[str] = Field(min_length=1, max_length=20, description="Recipients")
    host: str | None = Field(default=None, description="SMTP server (default GUATU_SMTP_HOST)")
    port: int | None = Field(default=None, ge=1, le=65535)
    starttls: bool | None = Field(default=None, description="STARTTLS before login")
    username: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, description="SMTP password (secret, or env:NAME)")
    sender: str | None = Field(default=None, description="From address (default GUATU_SMTP_FROM)")

    @field_validator("to")
    @classmethod
    def _to(cls, v: list[str]) -> list[str]:
        return [_address(a) for a in v]

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str | None) -> str | None:
        return None if v is None else _address(v)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str | None) -> str | None:
        if v is not None and not _HOST.match(v):
            raise ValueError("邮件服务器名无效 / not a host name")
        return v

    @field_validator("password")
    @classmethod
    def _password(cls, v: str | None) -> str | None:
        return None if v is None else check_secret(v)


SETTINGS: dict[ChannelKind, type[_Settings]] = {
    ChannelKind.WEBHOOK: WebhookSettings,
    ChannelKind.WECOM: WecomSettings,
    ChannelKind.DINGTALK: DingtalkSettings,
    ChannelKind.EMAIL: EmailSettings,
}
SECRET_FIELDS: dict[ChannelKind, tuple[str, ...]] = {
    k: m.secret_fields for k, m in SETTINGS.items()
}


def channel_kind(value: str) -> ChannelKind:
    try:
        return ChannelKind(value)
    except ValueError:
        known = ", ".join(k.value for k in ChannelKind)
        raise ChannelError(
            "unknown_channel",
            f"未知的渠道类型「{value[:40]}」，可选：{known}",
            f"unknown channel type {value[:40]!r}; one of: {known}",
        ) from None


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(_storable, value))
    return True


def parse_settings(kind: ChannelKind, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate what an administrator sent for a channel of `kind`: (plain, secrets as given)."""
    if not isinstance(body, dict):
        raise ChannelError(
            "invalid_channel", "渠道设置须为 JSON 对象", "channel settings must be a JSON object"
        )
    if not _storable(body):
        raise ChannelError(
            "invalid_channel",
            "渠道设置含有无法保存的字符（NUL 或非法 Unicode）",
            "channel settings hold characters that cannot be stored (NUL or invalid Unicode)",
        )
    try:
        model = SETTINGS[kind].model_validate(body)
    except ValidationError as err:
        zh, en = [], []
        for e in err.errors():
            where = ".".join(str(p) for p in e["loc"])
            text = str(e["msg"]).removeprefix("Value error, ")
            # Our own messages are "中文 / English"; pydantic's are English only.
            text_zh, sep, text_en = text.partition(" / ")
            zh.append(f"{where}：{text_zh}" if where else text_zh)
            en.append(f"{where}: {text_en if sep else text}" if where else (text_en or text))
        raise ChannelError(
            "invalid_channel",
            f"{KIND_ZH[kind]}设置无效：{'；'.join(zh)}",
            f"invalid {kind.value} channel settings: {'; '.join(en)}",
        ) from None
    return model.split()


__all__ = [
    "DINGTALK_URL",
    "ENV_PREFIX",
    "KIND_ZH",
    "SECRET_FIELDS",
    "WECOM_URL",
    "ChannelError",
    "ChannelKind",
    "channel_kind",
    "check_url",
    "parse_settings",
]
