"""The scene's own light (场景亮灯规则), from its member projects; documented in
config/rules/README.md ("示范场景的灯").

With `n` members that have a light (started projects), `r` of them red and `y` yellow, and the
investment ratio `q` = Σ actual ÷ Σ planned to date (1.0 when nothing is planned yet):

1. no member has a light → `none` (灰: nothing to judge yet);
2. red (红) when `r` ≥ n ÷ 3 (a third or more of the members red), or `q` < 0.70;
3. yellow (黄) when any member is red or yellow, or `q` < 0.90;
4. green (绿) otherwise.

Every light comes with the reasons that decided it, Chinese first.
"""

from __future__ import annotations

from guatu.scenes.models import SceneProgress

RED_SHARE = 1 / 3
RED_RATIO = 0.70
YELLOW_RATIO = 0.90


def ratio(actual: float, planned: float) -> float:
    return round(actual / planned, 4) if planned > 0 else 1.0


def scene_light(p: SceneProgress) -> tuple[str, list[str], list[str]]:
    n = sum(p.lights.values())
    r, y = p.lights.get("red", 0), p.lights.get("yellow", 0)
    q = p.investment_ratio
    pct = f"{100 * q:.1f}%"
    if n == 0:
        return (
            "none",
            ["成员项目尚未启动，暂不亮灯"],
            ["no member project has a light yet"],
        )
    zh: list[str] = []
    en: list[str] = []
    if r and r >= n * RED_SHARE:
        zh.append(f"{n} 个成员项目中 {r} 个红灯（达到三分之一）")
        en.append(f"{r} of {n} member projects red (a third or more)")
    if q < RED_RATIO:
        zh.append(f"完成投资为序时计划的 {pct}（低于 70%）")
        en.append(f"investment at {pct} of the plan to date (below 70%)")
    if zh:
        return "red", zh, en
    if r or y:
        zh.append(f"{n} 个成员项目中 {r} 个红灯、{y} 个黄灯")
        en.append(f"{r} red and {y} yellow of {n} member projects")
    if q < YELLOW_RATIO:
        zh.append(f"完成投资为序时计划的 {pct}（低于 90%）")
        en.append(f"investment at {pct} of the plan to date (below 90%)")
    if zh:
        return "yellow", zh, en
    return (
        "green",
        [f"{n} 个成员项目均为绿灯，完成投资为序时计划的 {pct}"],
        [f"all {n} member projects green; investment at {pct} of the plan to date"],
    )
