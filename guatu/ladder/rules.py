"""The pure steps of 激励奖惩: one period's outcome applied to a ladder track, the standing a
leader reads, and which finished orders a ladder may forget.

Deterministic over its inputs (no clock, no I/O): the BureauLadder workflow (through
`guatu.ladder.book.LadderBook`) and the what-if replay call the very same `ladder_step`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from guatu.ladder.models import (
    LadderAction,
    LadderStanding,
    LadderState,
    LadderStep,
    PeriodStep,
    SupervisionOrder,
    TrackState,
    TrackView,
)
from guatu.ranking.actions import ACTION_ZH, ActionKind
from guatu.ranking.messages import BureauOutcome
from guatu.ranking.models import LadderRules, ListKind
from guatu.ranking.periods import parse_period, previous_period
from guatu.ranking.scoring import pts

HISTORY_KEPT = 36


def level_name(levels: Sequence[str], level: int) -> str:
    """The rung a ladder stands on, in Chinese (the action taken on reaching it)."""
    if level <= 0 or not levels:
        return "无"
    return ACTION_ZH[ActionKind(levels[min(level, len(levels)) - 1])]


def level_name_en(levels: Sequence[str], level: int) -> str:
    if level <= 0 or not levels:
        return "none"
    return levels[min(level, len(levels)) - 1]


def track_key(ruleset_id: str, kind: str) -> str:
    return f"{ruleset_id}:{kind}"


_BLACK_ZH = {
    ActionKind.NOTICE: "予以黑榜通报批评，请深刻分析原因、落实整改",
    ActionKind.SUMMONS: "由区领导约谈单位主要负责人，请做好约谈准备并形成整改措施",
    ActionKind.SUPERVISION: "实行区级督办，请于 {days} 日内报送整改方案，逾期将升级督办",
}
_BLACK_EN = {
    ActionKind.NOTICE: "public notice of criticism (通报); analyse the causes and correct",
    ActionKind.SUMMONS: "the head of the bureau is summoned by a district leader (约谈)",
    ActionKind.SUPERVISION: "district supervision (督办): a correction plan is due within {days} days; "
    "missing it escalates",
}


def ladder_step(
    track: TrackState,
    outcome: BureauOutcome,
    rules: LadderRules,
    open_project_orders: Iterable[str] = (),
    exempted_by_ladder: str | None = None,
) -> LadderStep:
    """Apply one period's outcome to one ladder track. Pure: returns the new track and actions.

    - black list (not exempted): one rung up (1 通报, 2 约谈, 3 督办 by default), the action of the
      new rung is taken; the top rung repeats its action every further black-listed period;
    - off the black list: `step_down` rungs down; the black-list streak resets;
    - exempted (force majeure): neutral, nothing moves, nothing resets;
    - red list: 通报表扬; `award_after` red lists running → recommended for award once per streak;
    - monthly: a project red `project_red_months` months running → 督办单 unless one is open; an
      open 督办单 whose project is no longer red is closed (整改销号).
    A period that does not follow the track's last period restarts both streaks (not the level).
    """
    t = track.model_copy(update={"levels": list(rules.levels), "history": list(track.history)})
    period = parse_period(outcome.period)
    actions: list[LadderAction] = []
    head_zh = f"{period.label_zh}（{outcome.ruleset_id} v{outcome.ruleset_version}）"
    rank_zh = f"竞进比拼第 {outcome.rank}/{outcome.of} 名，得分 {pts(outcome.score)}"
    rank_en = f"{outcome.period}: ranked {outcome.rank} of {outcome.of}, score {pts(outcome.score)}"
    consecutive = t.last_period is not None and previous_period(period).key == t.last_period
    restart_zh: list[str] = []
    if not consecutive:
        if t.last_period is not None and (t.black_streak or t.red_streak):
            restart_zh = [f"上一记录期为 {t.last_period}，非连续期间，连续计数重新开始"]
        t.black_streak = 0
        t.red_streak = 0
        t.awarded = False
    before = t.level
    exempt_reason = outcome.exemption_reason if outcome.exempted else (exempted_by_ladder or "")
    exempted = outcome.exempted or (
        exempted_by_ladder is not None and outcome.listed is ListKind.BLACK
    )
    if outcome.listed is ListKind.BLACK and not exempted:
        t.black_streak += 1
        t.level = min(t.level + 1, len(rules.levels))
        kind = ActionKind(rules.levels[t.level - 1])
        due = rules.correction_plan_days if kind is ActionKind.SUPERVISION else None
        actions.append(
            LadderAction(
                kind=kind,
                level_before=before,
                level_after=t.level,
                due_days=due,
                lines_zh=[
                    f"{head_zh}{rank_zh}，未完成序时目标，列入黑榜（连续第 {t.black_streak} 期）",
                    *outcome.reasons_zh,
                    *restart_zh,
                    f"督办等级：「{level_name(rules.levels, before)}」→「{level_name(rules.levels, t.level)}」",
                    f"处理：{_BLACK_ZH[kind].format(days=due)}",
                ],
                lines_en=[
                    f"{rank_en}; target missed; black list ({t.black_streak} running)",
                    *outcome.reasons_en,
                    f"ladder: {level_name_en(rules.levels, before)} → {level_name_en(rules.levels, t.level)}",
                    f"action: {_BLACK_EN[kind].format(days=due)}",
                ],
            )
        )
    elif exempted:
        actions.append(
            LadderAction(
                kind=ActionKind.EXEMPTED,
                level_before=before,
                level_after=t.level,
                lines_zh=[
                    f"{head_zh}{rank_zh}，未完成序时目标，但因不可抗力（{exempt_reason}）免于列入黑榜",
                    f"督办等级保持「{level_name(rules.levels, t.level)}」，连续计数不变",
                ],
                lines_en=[
                    f"{rank_en}; target missed but exempted for force majeure: {exempt_reason}",
                    "ladder and streaks unchanged",
                ],
            )
        )
    else:
        t.black_streak = 0
        if t.level > 0 and rules.step_down > 0:
            t.level = max(t.level - rules.step_down, 0)
            actions.append(
                LadderAction(
                    kind=ActionKind.STEP_DOWN,
                    level_before=before,
                    level_after=t.level,
                    lines_zh=[
                        f"{head_zh}{rank_zh}，未列入黑榜",
                        f"督办等级由「{level_name(rules.levels, before)}」降为「{level_name(rules.levels, t.level)}」",
                    ],
                    lines_en=[
                        f"{rank_en}; off the black list",
                        f"ladder steps down: {level_name_en(rules.levels, before)} → "
                        f"{level_name_en(rules.levels, t.level)}",
                    ],
                )
            )
    if outcome.listed is ListKind.RED:
        t.red_streak += 1
        actions.append(
            LadderAction(
                kind=ActionKind.COMMENDATION,
                level_before=before,
                level_after=t.level,
                lines_zh=[
                    f"{head_zh}{rank_zh}，完成序时目标，列入红榜（连续第 {t.red_streak} 期），予以通报表扬",
                    *outcome.reasons_zh,
                ],
                lines_en=[
                    f"{rank_en}; target met; red list ({t.red_streak} running): commended",
                    *outcome.reasons_en,
                ],
            )
        )
        if t.red_streak >= rules.award_after and not t.awarded:
            t.awarded = True
            actions.append(
                LadderAction(
                    kind=ActionKind.AWARD,
                    level_before=before,
                    level_after=t.level,
                    lines_zh=[f"连续 {t.red_streak} 期列入红榜，推荐评优评先"],
                    lines_en=[f"red list {t.red_streak} periods running: recommended for an award"],
                )
            )
    else:
        t.red_streak = 0
        t.awarded = False
    if period.kind.value in rules.project_order_periods:
        red_now = {rp.code: rp for rp in outcome.red_projects}
        open_orders = set(open_project_orders)
        for code in sorted(red_now):
            rp = red_now[code]
            if rp.streak >= rules.project_red_months and code not in open_orders:
                actions.append(
                    LadderAction(
                        kind=ActionKind.PROJECT_SUPERVISION,
                        level_before=t.level,
                        level_after=t.level,
                        project=code,
                        project_name=rp.name_zh,
                        due_days=rules.project_correction_days,
                        lines_zh=[
                            f"项目「{rp.name_zh}」（{code}）连续 {rp.streak} 个月红灯"
                            f"（{'、'.join(rp.red_months[-rp.streak :])}）",
                            f"下达督办单：请于 {rules.project_correction_days} 日内完成整改并报送整改方案",
                        ],
                        lines_en=[
                            f"project {code} red for {rp.streak} months running",
                            f"supervision order: correct and send a correction plan within "
                            f"{rules.project_correction_days} days",
                        ],
                    )
                )
        for code in sorted(open_orders - set(red_now)):
            actions.append(
                LadderAction(
                    kind=ActionKind.ORDER_CLOSED,
                    level_before=t.level,
                    level_after=t.level,
                    project=code,
                    lines_zh=[f"项目 {code} {period.label_zh}已不再红灯，督办单整改销号"],
                    lines_en=[f"project {code} no longer red in {outcome.period}: order closed"],
                )
            )
    t.last_period = period.key
    t.history = [
        *t.history,
        PeriodStep(
            period=period.key,
            rank=outcome.rank,
            of=outcome.of,
            score=outcome.score,
            listed=outcome.listed,
            exempted=exempted,
            level_before=before,
            level_after=t.level,
            actions=[a.kind for a in actions],
        ),
    ][-HISTORY_KEPT:]
    return LadderStep(track=t, actions=actions)


def standing_of(s: LadderState) -> LadderStanding:
    """The standing a leader reads, from a ladder's state (workflow query or stored state)."""
    return LadderStanding(
        bureau=s.bureau,
        name_zh=s.name_zh,
        tracks=[
            TrackView(
                track=k,
                ruleset_id=t.ruleset_id,
                kind=t.kind,
                level=t.level,
                level_zh=level_name(t.levels, t.level),
                black_streak=t.black_streak,
                red_streak=t.red_streak,
                last_period=t.last_period,
                history=t.history[-12:],
            )
            for k, t in sorted(s.tracks.items())
        ],
        open_orders=sorted(
            (o for o in s.orders.values() if not o.status.finished), key=lambda o: (o.due, o.id)
        ),
        exemptions=sorted(s.exemptions.values(), key=lambda e: e.period),
        decisions=s.decisions,
        version=s.version,
        runs=s.runs,
    )


def orders_to_forget(orders: Iterable[SupervisionOrder], keep: int) -> list[str]:
    """IDs of the finished orders (closed or withdrawn) beyond the `keep` most recently issued:
    a ladder carries no more of them across continue-as-new (PostgreSQL keeps them all)."""
    done = sorted((o for o in orders if o.status.finished), key=lambda o: o.issued_at)
    return [o.id for o in done[: max(len(done) - keep, 0)]]


__all__ = [
    "HISTORY_KEPT",
    "ladder_step",
    "level_name",
    "level_name_en",
    "orders_to_forget",
    "standing_of",
    "track_key",
]
