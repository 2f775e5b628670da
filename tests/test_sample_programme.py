"""The reference data and the illustrative sample programme honour the article's figures exactly.

Source: 金温江 2021-03-31, 《温江区幸福美好生活十大工程实施方案及2021年工作计划》
(see /work/shared/seed/FACTS.md). Expected numbers are written out literally on purpose.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from config.settings import CONFIG_DIR
from guatu.lifecycle.models import ProjectKind, ProjectPlan, Step, TimerPolicy
from guatu.lifecycle.programme import (
    load_bureaus,
    load_policy,
    load_programs,
    load_sample_plans,
    programme_summary,
    shift_date,
)

ROOT = Path(__file__).resolve().parent.parent

INCOME, ECOLOGY, BUSINESS, ALL_AGE = "P01", "P06", "P07", "P10"

ENGINEERING_STEPS = [
    Step.LAND_USE,
    Step.PLANNING_PERMIT,
    Step.CONSTRUCTION_PERMIT,
    Step.CONSTRUCTION_STARTED,
    Step.COMPLETED,
    Step.ACCEPTED,
]
SERVICE_STEPS = [Step.IMPLEMENTING, Step.DONE, Step.EVALUATED]


@pytest.fixture(scope="module")
def plans() -> list[ProjectPlan]:
    return load_sample_plans(2021)


def in_2021(plans: list[ProjectPlan], program: str) -> list[ProjectPlan]:
    """Projects of the 2021 work plan: started in 2021 with 2021 investment."""
    return [
        p
        for p in plans
        if p.program == program
        and p.start.year == 2021
        and p.yearly_investment_wan.get(2021, 0) > 0
    ]


def kinds(plans: list[ProjectPlan]) -> tuple[int, int]:
    c = Counter(p.kind for p in plans)
    return c[ProjectKind.ENGINEERING], c[ProjectKind.SERVICE]


# --- headline figures -------------------------------------------------------------------------


def test_sample_is_marked_illustrative():
    raw = json.loads((CONFIG_DIR / "sample_programme.json").read_text(encoding="utf-8"))
    assert raw["illustrative"] is True
    assert raw["base_year"] == 2021
    assert raw["source"]
    assert all(p["illustrative"] is True for p in raw["projects"])


def test_headline_figures(plans):
    assert len(plans) == 243
    # 828.11 亿元 in total, 194.21 亿元 in 2021.
    assert round(sum(p.total_investment_wan for p in plans), 2) == 8281100
    assert round(sum(p.yearly_investment_wan.get(2021, 0) for p in plans), 2) == 1942100


def test_ecology_2021_work_plan(plans):
    ecology = in_2021(plans, ECOLOGY)
    assert len(ecology) == 29
    assert kinds(ecology) == (20, 9)
    assert round(sum(p.yearly_investment_wan[2021] for p in ecology), 2) == 150000  # 15 亿元
    # No other ecology project spends money in 2021.
    spending = [p for p in plans if p.program == ECOLOGY and p.yearly_investment_wan.get(2021, 0)]
    assert len(spending) == 29


def test_all_age_friendly_2021_work_plan(plans):
    all_age = in_2021(plans, ALL_AGE)
    assert len(all_age) == 16
    assert kinds(all_age) == (6, 10)
    names = {p.name_zh for p in all_age}
    assert "红桥社区养老服务综合体" in names
    assert "江浦路社区儿童友好场景" in names


def test_business_environment_is_ten_service_projects_in_2021(plans):
    business = [p for p in plans if p.program == BUSINESS]
    assert len(business) == 10
    assert kinds(business) == (0, 10)
    assert len(in_2021(plans, BUSINESS)) == 10
    names = " ".join(p.name_zh for p in business)
    for phrase in ("九曲江安·十里光华", "24小时自助服务终端", "智能文件交换柜", "第三方评估"):
        assert phrase in names


def test_income_has_fifty_odd_projects(plans):
    assert len([p for p in plans if p.program == INCOME]) == 52


# --- reference data -----------------------------------------------------------------------------


def test_ten_programs_each_with_projects(plans):
    programs = load_programs()
    assert [p.number for p in programs] == list(range(1, 11))
    assert [p.code for p in programs] == [f"P{n:02d}" for n in range(1, 11)]
    assert [p.name_zh for p in programs] == [
        "居民收入水平提升工程",
        "生活成本竞争力提升工程",
        "高品质公共服务倍增工程",
        "城市通勤效率提升工程",
        "城市更新和老旧小区改造提升工程",
        "生态惠民示范工程",
        "稳定公平可及营商环境建设工程",
        "青年创新创业就业筑梦工程",
        "智慧韧性安全城市建设工程",
        "全龄友好包容社会营建工程",
    ]
    used = Counter(p.program for p in plans)
    assert set(used) == {p.code for p in programs}
    assert all(used[p.code] >= 1 for p in programs)


def test_lead_bureaus_named_in_the_article():
    lead = {p.code: p.lead_bureau for p in load_programs()}
    assert lead[INCOME] == "fgj"
    assert lead[ECOLOGY] == "sthjj"
    assert lead[BUSINESS] == "xzspj"
    assert lead[ALL_AGE] == "mzj"


def test_bureaus_exist_for_every_reference(plans):
    bureaus = load_bureaus()
    codes = [b.code for b in bureaus]
    assert len(codes) == len(set(codes))
    assert 12 <= len(codes) <= 16
    assert all(b.name_zh and b.name_en for b in bureaus)
    assert {p.lead_bureau for p in load_programs()} <= set(codes)
    assert {p.bureau for p in plans} <= set(codes)
    # The happiness office coordinates; it owns no project.
    assert "xfb" in codes
    assert not [p for p in plans if p.bureau == "xfb"]


def test_policy_loads_from_lifecycle_json():
    raw = json.loads((CONFIG_DIR / "lifecycle.json").read_text(encoding="utf-8"))
    assert load_policy() == TimerPolicy(**raw)


# --- each plan ----------------------------------------------------------------------------------


def test_codes_unique_and_well_formed(plans):
    codes = [p.code for p in plans]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"WJ2021-P(0[1-9]|10)-\d{3}", c) for c in codes)
    assert all(c.split("-")[1] == p.program for c, p in zip(codes, plans, strict=True))
    assert len({p.name_zh for p in plans}) == 243


def test_spans_fit_the_programme(plans):
    for p in plans:
        assert date(2021, 1, 1) <= p.start < p.finish <= date(2025, 12, 31), p.code
        days = (p.finish - p.start).days
        if p.kind is ProjectKind.ENGINEERING:
            assert 547 <= days <= 1461, p.code  # 1.5 to 4 years
        else:
            assert 182 <= days <= 731, p.code  # 6 to 24 months


def test_milestones_in_legal_order_within_span(plans):
    for p in plans:
        steps = [m.step for m in p.milestones]
        expected = ENGINEERING_STEPS if p.kind is ProjectKind.ENGINEERING else SERVICE_STEPS
        assert steps == expected, p.code
        dates = [m.planned for m in p.milestones]
        assert all(a < b for a, b in zip(dates, dates[1:], strict=False)), p.code
        assert p.start <= dates[0] and dates[-1] <= p.finish, p.code


def test_engineering_permits_early_and_completion_near_finish(plans):
    for p in plans:
        if p.kind is not ProjectKind.ENGINEERING:
            continue
        span = (p.finish - p.start).days
        permit = p.milestone(Step.CONSTRUCTION_PERMIT)
        assert permit is not None and (permit.planned - p.start).days <= 0.3 * span, p.code
        completed = p.milestone(Step.COMPLETED)
        assert completed is not None and 30 <= (p.finish - completed.planned).days <= 60, p.code


def test_yearly_amounts_cover_span_and_sum_to_total(plans):
    for p in plans:
        assert list(p.yearly_investment_wan) == list(range(p.start.year, p.finish.year + 1))
        assert all(v > 0 for v in p.yearly_investment_wan.values()), p.code
        assert all(round(v, 2) == v for v in p.yearly_investment_wan.values()), p.code
        assert round(sum(p.yearly_investment_wan.values()), 2) == p.total_investment_wan, p.code
        assert p.illustrative


def test_engineering_is_much_larger_than_service(plans):
    eng = [p.total_investment_wan for p in plans if p.kind is ProjectKind.ENGINEERING]
    svc = [p.total_investment_wan for p in plans if p.kind is ProjectKind.SERVICE]
    assert sum(eng) / len(eng) > 10 * sum(svc) / len(svc)


def test_programme_summary(plans):
    summary = programme_summary(plans)
    assert summary["first_year"] == 2021
    assert summary["total"] == {
        "projects": 243,
        "engineering": sum(1 for p in plans if p.kind is ProjectKind.ENGINEERING),
        "service": sum(1 for p in plans if p.kind is ProjectKind.SERVICE),
        "total_investment_wan": 8281100.0,
        "first_year_investment_wan": 1942100.0,
    }
    assert list(summary["programs"]) == [f"P{n:02d}" for n in range(1, 11)]
    assert summary["programs"][ECOLOGY]["first_year_investment_wan"] == 150000.0
    assert summary["programs"][BUSINESS]["projects"] == 10
    assert summary["programs"][BUSINESS]["service"] == 10
    assert summary["programs"][INCOME]["projects"] == 52
    assert sum(b["projects"] for b in summary["programs"].values()) == 243


# --- shifting to another start year -------------------------------------------------------------


def test_shift_to_2026_moves_everything_five_years(plans):
    shifted = load_sample_plans(2026)
    assert len(shifted) == 243
    for old, new in zip(plans, shifted, strict=True):
        assert new.code == old.code
        assert new.start == old.start.replace(year=old.start.year + 5)
        assert new.finish == old.finish.replace(year=old.finish.year + 5)
        assert [m.planned for m in new.milestones] == [
            m.planned.replace(year=m.planned.year + 5) for m in old.milestones
        ]
        assert new.yearly_investment_wan == {y + 5: v for y, v in old.yearly_investment_wan.items()}
        assert new.total_investment_wan == old.total_investment_wan
    summary = programme_summary(shifted)
    assert summary["first_year"] == 2026
    assert summary["total"]["total_investment_wan"] == 8281100.0
    assert summary["total"]["first_year_investment_wan"] == 1942100.0
    assert round(sum(p.yearly_investment_wan.get(2026, 0) for p in shifted), 2) == 1942100
    ecology = [p for p in shifted if p.program == ECOLOGY and p.yearly_investment_wan.get(2026)]
    assert len(ecology) == 29
    assert round(sum(p.yearly_investment_wan[2026] for p in ecology), 2) == 150000


def test_shift_to_a_leap_year_keeps_order():
    for year in (2023, 2024, 2028):
        for p in load_sample_plans(year):
            dates = [p.start, *(m.planned for m in p.milestones), p.finish]
            assert all(a <= b for a, b in zip(dates, dates[1:], strict=False)), (year, p.code)
            planned = [m.planned for m in p.milestones]
            assert all(a < b for a, b in zip(planned, planned[1:], strict=False)), (year, p.code)


def test_shift_date_leap_day():
    assert shift_date(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert shift_date(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert shift_date(date(2021, 3, 29), 5) == date(2026, 3, 29)


def test_loaders_return_fresh_objects():
    first = load_sample_plans(2021)
    first[0].yearly_investment_wan.clear()
    first[0].milestones.clear()
    again = load_sample_plans(2021)
    assert again[0].yearly_investment_wan and again[0].milestones


# --- the generator ------------------------------------------------------------------------------


def test_generator_reproduces_checked_in_file(tmp_path):
    out = tmp_path / "sample.json"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_sample.py"), "--out", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    assert out.read_bytes() == (CONFIG_DIR / "sample_programme.json").read_bytes()
