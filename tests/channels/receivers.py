"""Local stand-ins for the services a notice goes to, checking each one's documented wire format.

- `FakeService("wecom")`: a 企业微信 group robot. `POST /cgi-bin/webhook/send?key=<key>` with
  exactly `{"msgtype": "markdown", "markdown": {"content": <≤ 4096 bytes>}}`; answers HTTP 200
  `{"errcode": 0, "errmsg": "ok"}`, or `93000 invalid webhook url` for an unknown key.
- `FakeService("dingtalk")`: a 钉钉 custom robot with 加签. `POST /robot/send?access_token=…
  &timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")))>`
  with exactly `{"msgtype": "markdown", "markdown": {"title": …, "text": …}}`. The signature is
  recomputed here with `hmac` and `urllib.parse.quote_plus`, independently of the code under
  test; a wrong one answers `310000 sign not match`, a timestamp more than an hour off too.
- `FakeService("webhook")`: a bureau system: the notice as JSON, `Idempotency-Key` = its key.
- `Mailbox`: an SMTP server (aiosmtpd) that requires a login and keeps each mail.

Each can fail the first valid request of every notice (`fail_first`: an HTTP status, or a robot
answer such as a rate-limit errcode; for SMTP a reply line such as 451), or every request
(`always`). `accepted` holds what the service took: the messages a group or inbox would show.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import free_port

KEY_IN_TEXT = re.compile(r"通知编号：(\S+?)(?:</font>)?$", re.MULTILINE)

Answer = tuple[int, dict[str, Any] | None]  # HTTP status, JSON body (None: empty)
OK: Answer = (200, {"errcode": 0, "errmsg": "ok"})


@dataclass
class Request:
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.raw_query, keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeService:
    kind: str  # wecom | dingtalk | webhook
    credentials: dict[str, str] = field(default_factory=dict)  # key/token → dingtalk secret
    fail_first: Answer | None = None
    always: Answer | None = None
    requests: list[Request] = field(default_factory=list)
    accepted: list[tuple[str, Request]] = field(default_factory=list)  # (notice key, request)
    invalid: list[str] = field(default_factory=list)
    failed_once: set[str] = field(default_factory=set)
    server: asyncio.AbstractServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        path = {"wecom": "/cgi-bin/webhook/send", "dingtalk": "/robot/send"}.get(
            self.kind, "/notify"
        )
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, key: str) -> int:
        return sum(1 for k, _ in self.accepted if k == key)

    def keys(self) -> list[str]:
        return [k for k, _ in self.accepted]

    async def start(self) -> FakeService:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()

    # -- what the real service checks ---------------------------------------------------------

    def _check(self, req: Request) -> tuple[str | None, Answer | None]:
        """(the notice key, None) if the request is as the service documents it; else
        (None, the service's refusal)."""
        if req.headers.get("content-type", "").split(";")[0] != "application/json":
            return self._bad("content type is not application/json")
        try:
            body = req.json()
        except ValueError:
            return self._bad("body is not JSON")
        if self.kind == "webhook":
            key = req.headers.get("idempotency-key", "")
            if not key or body.get("key") != key:
                return self._bad("Idempotency-Key missing or not the notice's key")
            return key, None
        if self.kind == "wecom":
            if urlsplit(self.url).path != req.path or set(req.query) != {"key"}:
                return self._bad(f"path or query wrong: {req.path}?{req.raw_query}")
            if req.query["key"][0] not in self.credentials:
                return None, (200, {"errcode": 93000, "errmsg": "invalid webhook url"})
            if (
                set(body) != {"msgtype", "markdown"}
                or body["msgtype"] != "markdown"
                or set(body["markdown"]) != {"content"}
                or not isinstance(body["markdown"]["content"], str)
            ):
                return self._bad(f"not a markdown message: {body}")
            if len(body["markdown"]["content"].encode()) > 4096:
                return self._bad("content longer than 4096 bytes")
            return self._key_in(body["markdown"]["content"])
        # dingtalk
        if urlsplit(self.url).path != req.path:
            return self._bad(f"path wrong: {req.path}")
        token = req.query.get("access_token", [""])[0]
        if token not in self.credentials:
            return None, (200, {"errcode": 300001, "errmsg": "token is not exist"})
        secret = self.credentials[token]
        if secret:
            if set(req.query) != {"access_token", "timestamp", "sign"}:
                return None, (200, {"errcode": 310000, "errmsg": "sign not match"})
            timestamp = req.query["timestamp"][0]
            digest = hmac.new(
                secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256
            ).digest()
            expected = quote_plus(base64.b64encode(digest))
            raw_sign = dict(p.split("=", 1) for p in req.raw_query.split("&"))["sign"]
            fresh = abs(int(timestamp) - time.time() * 1000) < 3600 * 1000
            if raw_sign != expected or not fresh:
                return None, (200, {"errcode": 310000, "errmsg": "sign not match"})
        if (
            set(body) != {"msgtype", "markdown"}
            or body["msgtype"] != "markdown"
            or set(body["markdown"]) != {"title", "text"}
            or not all(isinstance(v, str) and v for v in body["markdown"].values())
        ):
            return self._bad(f"not a markdown message: {body}")
        return self._key_in(body["markdown"]["text"])

    def _bad(self, why: str) -> tuple[None, Answer]:
        self.invalid.append(why)
        if self.kind == "webhook":
            return None, (400, None)
        return None, (200, {"errcode": 40008, "errmsg": f"invalid message: {why}"})

    def _key_in(self, text: str) -> tuple[str | None, Answer | None]:
        found = KEY_IN_TEXT.findall(text)
        if len(found) != 1:
            return self._bad("no notice key in the text")
        return found[0], None

    def _answer(self, req: Request) -> Answer:
        key, refusal = self._check(req)
        if refusal is not None or key is None:
            return refusal or (400, None)
        if self.always is not None:
            return self.always
        if self.fail_first is not None and key not in self.failed_once:
            self.failed_once.add(key)
            return self.fail_first
        self.accepted.append((key, req))
        return OK if self.kind != "webhook" else (200, None)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _, target, _ = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            path, _, query = target.partition("?")
            req = Request(path, query, headers, body)
            self.requests.append(req)
            status, answer = self._answer(req)
            data = json.dumps(answer).encode() if answer is not None else b""
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        finally:
            writer.close()


class Mailbox:
    """An SMTP server that requires `login`/`password` (AUTH PLAIN/LOGIN, no TLS: loopback)."""

    def __init__(self, login: str, password: str) -> None:
        self.login, self.password = login.encode(), password.encode()
        self.fail_first: str | None = None  # e.g. "451 4.3.0 try again later"
        self.always: str | None = None  # e.g. "550 5.1.1 mailbox unavailable"
        self.accepted: list[tuple[str, EmailMessage, bytes, list[str]]] = []
        self.attempts: list[str] = []
        self.failed_once: set[str] = set()
        self.logins: list[bytes] = []
        self.port = free_port()
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
            auth_required=True,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.login
            and auth_data.password == self.password
        )
        self.logins.append(auth_data.login if isinstance(auth_data, LoginPassword) else b"?")
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        # A long key is folded onto the next line: unfolded, its leading space is not part of it.
        key = str(msg["X-Guatu-Notice-Key"]).strip()
        self.attempts.append(key)
        if self.always:
            return self.always
        if self.fail_first and key not in self.failed_once:
            self.failed_once.add(key)
            return self.fail_first
        assert isinstance(msg, EmailMessage)
        self.accepted.append((key, msg, raw, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def count(self, key: str) -> int:
        return sum(1 for k, *_ in self.accepted if k == key)

    def keys(self) -> list[str]:
        return [k for k, *_ in self.accepted]

    def start(self) -> Mailbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
