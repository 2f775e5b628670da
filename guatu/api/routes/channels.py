"""Administrators: where a bureau's notices go (webhook, 企业微信 / 钉钉 robots, e-mail).

Secrets go in (in clear, or as `env:NAME`) and never come out: an answer shows of each secret
only `set` or the name of its environment variable.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, Field

from guatu.api import service
from guatu.api.deps import BUREAU_PATTERN, AdminOnly, Context
from guatu.api.errors import ApiError, responses
from guatu.channels import store
from guatu.channels.models import ChannelError, ChannelKind, channel_kind
from guatu.channels.secrets import ChannelKeys

T = TypeVar("T")

router = APIRouter(prefix="/api/v1/bureaus/{bureau}/channels", tags=["admin"])

BureauCode = Annotated[str, Path(pattern=BUREAU_PATTERN, description="Bureau code, e.g. sthjj")]
ChannelName = Annotated[str, Path(max_length=40, description="webhook, wecom, dingtalk or email")]

_EXAMPLES = {
    "wecom": {
        "summary": "企业微信群机器人",
        "value": {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-…"},
    },
    "dingtalk": {
        "summary": "钉钉自定义机器人（加签）",
        "value": {"access_token": "env:DINGTALK_TOKEN_STHJJ", "secret": "SEC…"},
    },
    "email": {"summary": "电子邮件", "value": {"to": ["office@example.gov.cn"]}},
    "webhook": {"summary": "系统接口", "value": {"url": "https://bureau.example/notify"}},
}


class ChannelInfo(BaseModel):
    """A channel as an administrator sees it: never a secret's value."""

    channel: ChannelKind
    settings: dict[str, Any]
    secrets: dict[str, str] = Field(description='"set", or the env:NAME the worker reads')
    source: str = Field(description='"admin" (this API, the CLI) or "config" (bureaus.json)')
    updated_at: datetime | None
    updated_by: str


def _refusal(err: ChannelError) -> ApiError:
    status = 404 if err.code == "bureau_not_found" else 422
    return ApiError(status, err.code, err.zh, err.en)


async def _stored(ctx: Context, call: Awaitable[T]) -> T:
    return await service.stored(ctx, call, ChannelError, _refusal)


def _kind(name: str) -> ChannelKind:
    try:
        return channel_kind(name)
    except ChannelError as err:
        raise _refusal(err) from None


@router.get(
    "",
    response_model=list[ChannelInfo],
    responses=responses(403, 404),
    summary="A bureau's notice channels (secrets masked)",
)
async def list_channels(ctx: Context, _: AdminOnly, bureau: BureauCode) -> list[ChannelInfo]:
    found = await _stored(ctx, store.list_channels(ctx.pool, bureau))
    return [ChannelInfo.model_validate(c.view()) for c in found]


@router.put(
    "/{channel}",
    response_model=ChannelInfo,
    responses=responses(403, 404, 422),
    summary="Set (replace) one channel of a bureau; secrets are stored encrypted",
)
async def set_channel(
    ctx: Context,
    admin: AdminOnly,
    bureau: BureauCode,
    channel: ChannelName,
    body: Annotated[dict[str, Any], Body(openapi_examples=_EXAMPLES)],
) -> ChannelInfo:
    kind = _kind(channel)
    saved = await _stored(
        ctx,
        store.set_channel(
            ctx.pool, ChannelKeys(ctx.settings), bureau, kind, body, actor=admin.actor
        ),
    )
    return ChannelInfo.model_validate(saved.view())


@router.delete(
    "/{channel}",
    status_code=204,
    responses=responses(403, 404, 422),
    summary="Remove one channel of a bureau",
)
async def remove_channel(
    ctx: Context, admin: AdminOnly, bureau: BureauCode, channel: ChannelName
) -> Response:
    kind = _kind(channel)
    removed = await _stored(ctx, store.remove_channel(ctx.pool, bureau, kind, actor=admin.actor))
    if removed is None:
        raise ApiError(
            404,
            "channel_not_set",
            f"该单位没有由管理员设置的「{kind.value}」渠道（配置文件中的 webhook 请在 "
            "config/bureaus.json 中修改）",
            f"the bureau has no {kind.value} channel set by an administrator (a "
            "webhook from config/bureaus.json is changed there)",
        )
    return Response(status_code=204)
