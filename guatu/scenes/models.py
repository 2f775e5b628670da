"""A scene as data, and what its progress shows."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SCENE_PATTERN = r"^[A-Z][A-Z0-9-]{1,39}$"
SceneCode = Annotated[str, StringConstraints(pattern=SCENE_PATTERN)]
ProjectCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")]
MAX_MEMBERS = 500


class Strict(BaseModel):
    """Unknown fields refused; every text storable in PostgreSQL (no NUL, no lone surrogate)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                if "\x00" in text:
                    raise ValueError("text must not contain NUL (\\u0000) characters")
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError("text must be valid Unicode (no lone surrogates)") from None
        return value


class SceneBody(Strict):
    """What a leader or an administrator writes: `PUT /api/v1/scenes/{code}`, `guatu scene set`."""

    name_zh: str = Field(
        min_length=1, max_length=100, description="场景名称, e.g. 九曲江安·十里光华"
    )
    name_en: str = Field(default="", max_length=200)
    program: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="Program code, e.g. P07")
    lead_bureau: str = Field(
        pattern=r"^[a-z][a-z0-9_]{1,39}$", description="牵头单位 bureau code, e.g. xzspj"
    )
    description: str = Field(default="", max_length=2000, description="What the scene is (public)")
    projects: list[ProjectCode] = Field(
        default_factory=list, max_length=MAX_MEMBERS, description="Member project codes"
    )


class MembersBody(Strict):
    projects: list[ProjectCode] = Field(min_length=1, max_length=MAX_MEMBERS)


class MemberView(BaseModel):
    code: str
    name_zh: str | None = Field(description="None: the project is not (yet) in the read model")
    bureau: str | None
    light: str | None
    stage: str | None
    total_investment_wan: float
    planned_investment_to_date_wan: float
    actual_investment_wan: float


class SceneProgress(BaseModel):
    members: int
    known: int = Field(description="members found in the read model (started projects)")
    total_investment_wan: float
    planned_investment_to_date_wan: float
    actual_investment_wan: float
    investment_ratio: float = Field(description="actual ÷ planned to date (1.0 when nothing due)")
    milestones_due: int
    milestones_met: int
    milestones_pending: int
    lights: dict[str, int] = Field(description="members per light: green / yellow / red")


class SceneView(BaseModel):
    code: str
    name_zh: str
    name_en: str
    program: str
    program_name_zh: str = ""
    lead_bureau: str
    lead_bureau_name_zh: str = ""
    description: str
    illustrative: bool
    version: int
    projects: list[str]
    progress: SceneProgress
    light: str = Field(description="the scene's own light: green / yellow / red / none")
    light_reasons_zh: list[str]
    light_reasons_en: list[str]


class SceneDetail(SceneView):
    members: list[MemberView]
