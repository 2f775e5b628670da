"""A message to a bureau: what the lifecycle, the ladders, the rounds and appeals hand to delivery."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class Notice(BaseModel):
    """A message to a bureau (通知). `key` is unique per decision: the receiver dedups by it."""

    key: str
    bureau: str
    project: str
    kind: str
    title_zh: str
    body_zh: str
    body_en: str = ""
    created_at: datetime
    deadline: date | None = None
