"""The wire format of each channel, and what its answers mean.

Every sender returns when the channel took the message, or raises `ChannelFailure` saying
whether another attempt may succeed (`refused=False`) or not (`refused=True`: the same request
would be refused again; the administrator must fix the channel, then redeliver).

- webhook: POST the notice as JSON, its key in `Idempotency-Key` (the bureau dedups).
- 企业微信 group robot: POST `{"msgtype": "markdown", "markdown": {"content": …}}` to
  `url?key=<key>`.
- 钉钉 custom robot: POST `{"msgtype": "markdown", "markdown": {"title": …, "text": …}}` to
  `url?access_token=…`, signed when a secret is set: `timestamp` (ms) and
  `sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))` as query parameters.
- e-mail over SMTP: a multipart/alternative message (text/plain and text/html, UTF-8), the
  subject RFC 2047-encoded, STARTTLS and login when set.

HTTP answers: 2xx is taken; 408, 429 and 5xx are retried; any other 4xx is refused (as the
webhook always did). Both robots answer HTTP 200 with `{"errcode": 0}` on success and a
non-zero errcode on failure; only their rate limits and "system busy" are retried
(`WECOM_RETRYABLE`, `DINGTALK_RETRYABLE`), every other errcode is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from typing import Any

import httpx

from config.settings import Settings
from guatu.channels import cards
from guatu.core.delivery import RETRYABLE_CLIENT_ERRORS
from guatu.lifecycle.models import Notice

# errcodes worth another attempt; every other non-zero errcode is refused.
WECOM_RETRYABLE = {
    -1: "系统繁忙 / system busy",
    45009: "接口调用超过限制（每个机器人每分钟 20 条）/ rate limit (20 messages a minute)",
    45033: "接口并发调用超过限制 / too many concurrent calls",
}
DINGTALK_RETRYABLE = {
    -1: "系统繁忙 / system busy",
    130101: "发送太快（每分钟 20 条）/ send too fast, exceed 20 times per minute",
    410100: "发送速度太快而限流 / send too fast, rate limited",
}


class ChannelFailure(Exception):
    """The channel did not take the message; `refused`: retrying cannot help."""

    def __init__(self, error: str, refused: bool) -> None:
        super().__init__(error)
        self.error, self.refused = error, refused


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature, before URL encoding (the query encoding applies it once)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


async def _post(
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    try:
        response = await http.post(url, json=body, params=params, headers=headers)
        response.raise_for_status()
    except httpx.HTTPStatusError as err:
        status = err.response.status_code
        refused = 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS
        # The error names the status, not the URL: a robot's URL carries its credential.
        raise ChannelFailure(f"HTTP {status}: {err.response.reason_phrase}", refused) from err
    except httpx.HTTPError as err:
        raise ChannelFailure(f"{type(err).__name__}: {err}", False) from err
    return response


def _errcode(response: httpx.Response, retryable: dict[int, str]) -> None:
    try:
        answer = response.json()
        code = int(answer["errcode"])
    except (ValueError, KeyError, TypeError):
        raise ChannelFailure(f"unexpected answer: {response.text[:200]!r}", False) from None
    if code == 0:
        return
    message = str(answer.get("errmsg", ""))[:200]
    known = retryable.get(code)
    raise ChannelFailure(
        f"errcode {code}: {message}" + (f" ({known})" if known else ""), refused=known is None
    )


async def post_webhook(http: httpx.AsyncClient, url: str, notice: Notice) -> None:
    await _post(http, url, notice.model_dump(mode="json"), headers={"Idempotency-Key": notice.key})


async def post_wecom(http: httpx.AsyncClient, url: str, key: str, card: cards.Card) -> None:
    body = {"msgtype": "markdown", "markdown": {"content": cards.wecom_markdown(card)}}
    _errcode(await _post(http, url, body, params={"key": key}), WECOM_RETRYABLE)


async def post_dingtalk(
    http: httpx.AsyncClient,
    url: str,
    access_token: str,
    secret: str | None,
    card: cards.Card,
    now_ms: int,
) -> None:
    title, text = cards.dingtalk_markdown(card)
    params = {"access_token": access_token}
    if secret:
        # Signed at each attempt: DingTalk refuses a timestamp more than an hour off.
        params |= {"timestamp": str(now_ms), "sign": dingtalk_sign(secret, now_ms)}
    body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    _errcode(await _post(http, url, body, params=params), DINGTALK_RETRYABLE)


def email_message(card: cards.Card, notice: Notice, sender: str, to: list[str]) -> EmailMessage:
    """The mail of a notice. Its Message-ID is derived from the notice key, so a mail sent
    twice (a retry after a lost answer) is recognisably the same message."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = card.title
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(notice.created_at)
    domain = sender.rpartition("@")[2] or "guatu.invalid"
    digest = hashlib.sha256(notice.key.encode()).hexdigest()[:32]
    msg["Message-ID"] = f"<{digest}.{notice.bureau}@{domain}>"
    msg["X-Guatu-Notice-Key"] = notice.key
    msg.set_content(cards.email_text(card), charset="utf-8")
    msg.add_alternative(cards.email_html(card), subtype="html", charset="utf-8")
    return msg


def _smtp_failure(err: Exception) -> ChannelFailure:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in err.recipients.values()]
        return ChannelFailure(
            f"SMTP recipients refused: {codes}", refused=all(c >= 500 for c in codes)
        )
    if isinstance(err, smtplib.SMTPResponseException):
        text = (
            err.smtp_error.decode(errors="replace")
            if isinstance(err.smtp_error, bytes)
            else str(err.smtp_error)
        )
        # 4xx: transient (greylisting, a full queue); 5xx: permanent (bad login, bad address).
        return ChannelFailure(f"SMTP {err.smtp_code}: {text[:200]}", refused=err.smtp_code >= 500)
    if isinstance(err, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
        return ChannelFailure(f"{type(err).__name__}: {err}", refused=True)
    return ChannelFailure(f"{type(err).__name__}: {err}", refused=False)


def _smtp_send(
    host: str,
    port: int,
    starttls: bool,
    username: str | None,
    password: str | None,
    msg: EmailMessage,
    timeout: float,
) -> dict[str, Any]:
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        smtp.ehlo()
        if starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if username:
            _login(smtp, username, password or "")
        return dict(smtp.send_message(msg))


def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    if (username + password).isascii():
        smtp.login(username, password)
        return
    # RFC 4616: AUTH PLAIN carries UTF-8, but smtplib encodes its credentials as ASCII only.
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN for a non-ASCII login")
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode()).decode()
    code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


async def send_email(
    settings: Settings,
    channel: dict[str, Any],
    password: str | None,
    card: cards.Card,
    notice: Notice,
) -> dict[str, Any]:
    """Send the notice's mail; the recipients some server refused while taking the rest."""
    host = channel.get("host") or settings.smtp_host
    sender = channel.get("sender") or settings.smtp_from
    if not host or not sender:
        raise ChannelFailure(
            "no SMTP server or sender: set host/sender on the channel or "
            "GUATU_SMTP_HOST / GUATU_SMTP_FROM",
            refused=True,
        )
    port = int(channel.get("port") or settings.smtp_port)
    starttls = channel.get("starttls")
    starttls = settings.smtp_starttls if starttls is None else bool(starttls)
    username = channel.get("username") or settings.smtp_username
    if password is None and settings.smtp_password is not None and not channel.get("username"):
        password = settings.smtp_password.get_secret_value()
    msg = email_message(card, notice, sender, list(channel["to"]))
    try:
        # smtplib blocks: a thread of its own, bounded by its socket timeout.
        return await asyncio.to_thread(
            _smtp_send, host, port, starttls, username, password, msg, settings.smtp_timeout_seconds
        )
    except (smtplib.SMTPException, OSError) as err:
        raise _smtp_failure(err) from err


__all__ = [
    "DINGTALK_RETRYABLE",
    "WECOM_RETRYABLE",
    "ChannelFailure",
    "dingtalk_sign",
    "email_message",
    "post_dingtalk",
    "post_webhook",
    "post_wecom",
    "send_email",
]
