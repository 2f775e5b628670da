"""Temporal's remote codec protocol, so that the Temporal Web UI and CLI show decoded payloads.

`POST /codec/decode` and `POST /codec/encode` take and answer `{"payloads": [...]}` (Temporal
payloads in protobuf JSON), with the `X-Namespace` header, as temporalio/samples-python
`encryption/codec_server.py` does. They use the codec of the API's own Temporal client (the
keys of GUATU_PAYLOAD_KEYS or the embedded stack's key file), and only for an admin token:

- the Temporal CLI: `temporal workflow show -w … --codec-endpoint http://HOST:8000/codec
  --codec-auth "Bearer <admin token>"`;
- the Web UI (a browser cannot add our token to the UI's requests): an operator signs in once
  at `/codec/login` (an HttpOnly cookie for `/codec` only), then sets the UI's codec endpoint to
  `http://HOST:8000/codec` with "Include cross-origin credentials". The UI's origin must be in
  GUATU_CODEC_CORS_ORIGINS (default: the embedded UI's).
"""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import HTMLResponse
from google.protobuf import json_format
from google.protobuf.json_format import ParseError
from temporalio.api.common.v1 import Payloads

from guatu.api.auth import check_role, parse_bearer
from guatu.api.deps import ApiContext, Context, get_principal
from guatu.api.errors import ApiError, ErrorBody, responses, unauthorized
from guatu.core.payload_codec import PayloadKeyError
from guatu.core.tokens import Principal, Role

router = APIRouter(prefix="/codec", tags=["codec"])

COOKIE = "guatu_codec"
COOKIE_SECONDS = 8 * 3600
# A history event's payloads can reach Temporal's 2 MiB blob limit; base64 in JSON adds a third.
BODY_LIMITS = {"/codec/decode": 4 * 1024 * 1024, "/codec/encode": 4 * 1024 * 1024}
_ADMIN = frozenset({Role.ADMIN})
_BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "Not payloads in protobuf JSON, or another namespace (X-Namespace)",
    }
}


def _cors(request: Request, ctx: ApiContext) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None or origin not in ctx.settings.codec_origins:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


async def _admin(request: Request, ctx: ApiContext) -> Principal:
    """The admin behind a bearer header or, from a browser, the sign-in cookie. The same checks
    as every API call (failure lock-out, per-token rate limit) apply to both."""
    if "authorization" not in request.headers:
        raw = request.cookies.get(COOKIE)
        if not raw:
            raise unauthorized(
                "missing_token",
                "缺少管理员令牌（Authorization: Bearer … 或先在 /codec/login 登录）",
                "missing admin token (Authorization: Bearer …, or sign in at /codec/login first)",
            )
        scope = dict(request.scope)
        scope["headers"] = [*request.scope["headers"], (b"authorization", f"Bearer {raw}".encode())]
        request = Request(scope, request.receive)
    principal = await get_principal(request, ctx, None)
    check_role(principal, _ADMIN)
    return principal


async def _apply(
    request: Request, ctx: ApiContext, namespace: str | None, decode: bool
) -> Response:
    cors = _cors(request, ctx)
    try:
        await _admin(request, ctx)
        if namespace is not None and namespace != ctx.settings.temporal_namespace:
            raise ApiError(
                400,
                "codec_namespace_mismatch",
                f"此编解码端点只服务命名空间 {ctx.settings.temporal_namespace}",
                f"this codec serves namespace {ctx.settings.temporal_namespace} only",
                details={"namespace": namespace},
            )
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except (ParseError, UnicodeDecodeError) as err:
            raise ApiError(
                400,
                "invalid_payloads",
                '请求体不是 {"payloads": [...]} 格式的负载',
                f'the body is not {{"payloads": [...]}} in protobuf JSON: {err}',
            ) from None
        codec = ctx.client.data_converter.payload_codec
        out = list(payloads.payloads)
        if codec is not None:
            try:
                out = await (codec.decode(out) if decode else codec.encode(out))
            except PayloadKeyError as err:
                raise ApiError(
                    422,
                    "payload_key_unknown",
                    f"无法解密负载：{err}",
                    f"cannot decrypt the payload: {err}",
                ) from None
    except ApiError as err:
        err.headers = {**err.headers, **cors}
        raise
    body = json_format.MessageToJson(Payloads(payloads=out))
    return Response(body, media_type="application/json", headers=cors)


NamespaceHeader = Annotated[
    str | None, Header(alias="X-Namespace", description="The Temporal namespace")
]


@router.post(
    "/decode",
    responses={**responses(401, 403, 422), **_BAD_REQUEST},
    summary="Decode (decrypt) Temporal payloads: the remote codec protocol",
)
async def decode(request: Request, ctx: Context, namespace: NamespaceHeader = None) -> Response:
    return await _apply(request, ctx, namespace, decode=True)


@router.post(
    "/encode",
    responses={**responses(401, 403), **_BAD_REQUEST},
    summary="Encode (encrypt) Temporal payloads with the current key",
)
async def encode(request: Request, ctx: Context, namespace: NamespaceHeader = None) -> Response:
    return await _apply(request, ctx, namespace, decode=False)


@router.options("/decode", include_in_schema=False)
@router.options("/encode", include_in_schema=False)
async def preflight(request: Request, ctx: Context) -> Response:
    headers = _cors(request, ctx)
    if request.headers.get("origin") is not None and "Access-Control-Allow-Origin" not in headers:
        raise ApiError(
            403,
            "origin_not_allowed",
            "该来源不在 GUATU_CODEC_CORS_ORIGINS 中",
            "this origin is not in GUATU_CODEC_CORS_ORIGINS",
            headers=headers,
        )
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "authorization, content-type, x-namespace",
            "Access-Control-Max-Age": "600",
            "Allow": "POST, OPTIONS",
        }
    )
    return Response(status_code=204, headers=headers)


_LOGIN_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>挂图 · 负载解码登录</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>负载解码登录 / Sign in to the payload codec</h1>
<p>输入管理员令牌后，在 Temporal Web UI 的 Data Encoder 设置中填写编解码端点
<code>{endpoint}</code> 并勾选 “Include cross-origin credentials”。<br>
Enter the admin token, then set the Temporal Web UI's codec endpoint to <code>{endpoint}</code>
with "Include cross-origin credentials".</p>
<form method="post" action="/codec/session">
<input type="password" name="token" autocomplete="off" size="50" placeholder="gt_…" required>
<button type="submit">登录 / Sign in</button></form></body></html>
"""

_SIGNED_IN = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>挂图 · 已登录</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<p>已登录，{hours} 小时内有效。Web UI 现在可通过 <code>{endpoint}</code> 解码负载。<br>
Signed in for {hours} hours: the Web UI can now decode payloads through
<code>{endpoint}</code>.</p></body></html>
"""

_NO_STORE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; "
    "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}


def _endpoint(request: Request) -> str:
    return html.escape(f"{request.base_url}codec")


@router.get("/login", include_in_schema=False)
async def login_page(request: Request) -> HTMLResponse:
    return HTMLResponse(_LOGIN_PAGE.format(endpoint=_endpoint(request)), headers=_NO_STORE)


@router.post(
    "/session",
    status_code=204,
    responses=responses(401, 403),
    summary="Sign a browser in to the codec (admin token → HttpOnly cookie for /codec)",
)
async def sign_in(request: Request, ctx: Context) -> Response:
    form = "application/x-www-form-urlencoded" in request.headers.get("content-type", "")
    if form:
        origin = request.headers.get("origin")
        if origin is not None and f"{origin}/" != str(request.base_url):
            raise ApiError(
                403,
                "cross_origin_sign_in",
                "只能从本服务的登录页登录",
                "sign in from this server's own /codec/login page",
            )
        fields = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        raw = (fields.get("token") or [""])[0].strip()
    else:
        raw = parse_bearer(request.headers.get("authorization"))
    # Verified exactly as a bearer header (lock-out and rate limit included), never the cookie.
    scope = dict(request.scope)
    scope["headers"] = [
        (k, v) for k, v in request.scope["headers"] if k not in (b"authorization", b"cookie")
    ]
    scope["headers"].append((b"authorization", f"Bearer {raw}".encode()))
    await _admin(Request(scope, request.receive), ctx)
    response: Response = (
        HTMLResponse(
            _SIGNED_IN.format(endpoint=_endpoint(request), hours=COOKIE_SECONDS // 3600),
            headers=_NO_STORE,
        )
        if form
        else Response(status_code=204)
    )
    secure = request.url.scheme == "https"
    # Same-site UIs (the embedded one: another port of the same host) get Strict; a UI on
    # another site (Temporal Cloud) can only send a cookie marked None, which needs https.
    response.set_cookie(
        COOKIE,
        raw,
        max_age=COOKIE_SECONDS,
        path="/codec",
        httponly=True,
        secure=secure,
        samesite="none" if secure else "strict",
    )
    return response


@router.delete("/session", status_code=204, summary="Sign the browser out of the codec")
async def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/codec")
    return response


__all__ = ["BODY_LIMITS", "COOKIE", "router"]
