"""Day units a deadline in a rule file is counted in (no dependencies: models import this)."""

from typing import Literal

Unit = Literal["working", "calendar"]
UNITS: tuple[Unit, ...] = ("working", "calendar")
UNIT_ZH = {"working": "工作日", "calendar": "自然日"}
UNIT_EN = {"working": "working days", "calendar": "calendar days"}
