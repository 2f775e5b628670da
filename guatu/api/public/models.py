"""What the public page (信息公开) may show: every field is listed here, nothing else goes out.

The public answers are built field by field from these models (never a read-model row passed
through), so a column added to an internal table cannot leak: tokens, observer identities,
internal notes (explanations, audit, notices), bureau contacts and ranking rounds are simply
not fields of any of them. tests/api/test_public.py checks the serialised answers against a
list of internal field names.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Lights(Public):
    green: int = 0
    yellow: int = 0
    red: int = 0


class Figures(Public):
    projects: int
    total_investment_wan: float
    planned_investment_to_date_wan: float
    actual_investment_wan: float
    actual_vs_planned_pct: float | None
    year_target_wan: float
    year_actual_wan: float
    year_progress_pct: float | None
    start_rate_pct: float | None
    completion_rate_pct: float | None
    lights: Lights


class ProgramFigures(Figures):
    code: str
    name_zh: str
    name_en: str


class Overview(Public):
    as_of: date
    year: int
    illustrative: bool = Field(description="the figures are the invented sample programme")
    total: Figures
    programs: list[ProgramFigures]


class SceneMember(Public):
    code: str
    name_zh: str
    light: str | None
    stage: str | None


class SceneProgress(Public):
    members: int
    total_investment_wan: float
    planned_investment_to_date_wan: float
    actual_investment_wan: float
    investment_ratio: float
    milestones_due: int
    milestones_met: int
    lights: Lights


class Scene(Public):
    code: str
    name_zh: str
    name_en: str
    program: str
    program_name_zh: str
    lead_bureau_name_zh: str
    description: str
    illustrative: bool
    light: str
    light_reasons_zh: list[str]
    light_reasons_en: list[str]
    progress: SceneProgress
    members: list[SceneMember]


class ObservationFigures(Public):
    """市民观察 of one project, scene or bureau (or the whole district): counts and rates only."""

    code: str
    name_zh: str
    observations: int
    average_rating: float | None = Field(description="mean 1–5 rating; None: no observation")
    replies_due: int = Field(description="replies asked for whose deadline has passed, or given")
    replied_on_time: int
    timeliness: float | None = Field(description="on time ÷ due (0–1); None: nothing due yet")
    rated: int = Field(description="replies the observer rated")
    satisfied: int
    satisfaction: float | None = Field(description="满意 ÷ rated (0–1); None: none rated")
    escalated: int = Field(description="observations that went to 区幸福办")


class PublicSatisfaction(Public):
    """The published figures of 市民观察 (`guatu.society.figures`), per bureau, scene, project."""

    as_of: date
    total: ObservationFigures
    bureaus: list[ObservationFigures]
    scenes: list[ObservationFigures]
    projects: list[ObservationFigures]


class Notice(Public):
    """What the page says about itself (the sections not published yet are listed)."""

    title_zh: str = "温江区幸福美好生活十大工程 · 信息公开"
    title_en: str = "Wenjiang Ten Programmes for a Happy Life · public information"
    sections: list[str]
    cache_seconds: int
