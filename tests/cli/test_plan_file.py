"""Reading the project plan from CSV / XLSX: every error by row and column, and exact round trips.

These tests need no server: `plan import --dry-run` must not connect to anything, so the CLI is
pointed at closed ports throughout.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from config.settings import CONFIG_DIR, get_settings
from guatu.cli.main import app
from guatu.lifecycle.models import CurveShape, ProjectKind, Step
from guatu.lifecycle.programme import load_sample_plans
from guatu.plan_file.columns import COLUMNS
from guatu.plan_file.read import read_plan_file
from guatu.plan_file.results import PlanFileError
from guatu.plan_file.write import write_plans
from tests.conftest import free_port

SAMPLES = CONFIG_DIR / "samples"
THREE_ERRORS = SAMPLES / "plan_three_errors.csv"
PROGRAMME_XLSX = SAMPLES / "programme_2021.xlsx"

runner = CliRunner()


@pytest.fixture
def offline_env() -> dict[str, str]:
    """Settings that point at ports nobody listens on: any connection attempt would fail."""
    return {
        "GUATU_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/none",
    }


def invoke(args: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    try:
        return runner.invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()


HEADER = [c.header for c in COLUMNS]


def write_csv(
    path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8-sig"
) -> Path:
    keys = [h.split(" / ")[-1] for h in header]
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(k, "") for k in keys])
    return path


def service_row(code: str, **overrides: str) -> dict[str, str]:
    row = {
        "code": code,
        "name_zh": "社区养老服务",
        "program": "P10",
        "bureau": "mzj",
        "kind": "服务类",
        "total_investment_wan": "300",
        "start": "2026-02-01",
        "finish": "2026-12-31",
        "implementing": "2026-03-01",
        "done": "2026-10-01",
        "evaluated": "2026-12-01",
    }
    row.update(overrides)
    return row


def engineering_row(code: str, **overrides: str) -> dict[str, str]:
    row = {
        "code": code,
        "name_zh": "绿道建设",
        "program": "P06",
        "bureau": "gycsj",
        "kind": "工程类",
        "total_investment_wan": "1000",
        "start": "2026-01-10",
        "finish": "2027-12-20",
        "land_use": "2026-02-01",
        "planning_permit": "2026-03-01",
        "construction_permit": "2026-04-01",
        "construction_started": "2026-05-01",
        "completed": "2027-11-01",
        "accepted": "2027-12-01",
    }
    row.update(overrides)
    return row


# ---------------------------------------------------------------------------------------------
# The file with three bad rows (the acceptance check)
# ---------------------------------------------------------------------------------------------


def test_dry_run_lists_exactly_the_three_errors(offline_env: dict[str, str]) -> None:
    result = invoke(["plan", "import", str(THREE_ERRORS), "--dry-run"], offline_env)
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    # One line per error, then the summary line.
    assert len(lines) == 4
    assert lines[0].startswith("第 3 行 G 列（total_investment_wan）：")
    assert lines[1].startswith("第 5 行 E 列（bureau）：")
    assert lines[2].startswith("第 7 行 O 列（construction_started）：")
    assert "row 7, column O (construction_started)" in lines[2]
    assert lines[3].startswith("共 3 个错误，涉及 3 行；未启动任何项目")


def test_dry_run_json_gives_the_row_and_column_of_each_error(offline_env: dict[str, str]) -> None:
    result = invoke(["plan", "import", str(THREE_ERRORS), "--dry-run", "--json"], offline_env)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    pairs = [(e["row"], e["column"], e["letter"], e["code"]) for e in report["errors"]]
    assert pairs == [
        (3, "total_investment_wan", "G", "not_a_number"),
        (5, "bureau", "E", "unknown_bureau"),
        (7, "construction_started", "O", "milestone_order"),
    ]
    assert (report["rows"], report["valid_rows"]) == (6, 3)
    assert report["errors"][0]["value"] == "19,68l.30"
    assert report["errors"][2]["zh"] == "「开工」2021-11-01 早于「取得施工许可」2021-11-07"


def test_real_import_of_a_bad_file_starts_nothing_and_connects_nowhere(
    offline_env: dict[str, str],
) -> None:
    # Without --dry-run a file with errors is refused before any connection is tried: the
    # closed Temporal port would otherwise give "cannot reach Temporal".
    result = invoke(["plan", "import", str(THREE_ERRORS)], offline_env)
    assert result.exit_code == 1
    assert "Temporal" not in result.output
    assert "未启动任何项目" in result.stdout


# ---------------------------------------------------------------------------------------------
# The 243-project sample
# ---------------------------------------------------------------------------------------------


def test_committed_sample_xlsx_equals_the_sample_programme() -> None:
    parsed = read_plan_file(PROGRAMME_XLSX)
    assert parsed.errors == []
    assert parsed.rows == 243
    assert parsed.plans == load_sample_plans(2021)


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_export_sample_round_trips_for_any_year(
    tmp_path: Path, suffix: str, offline_env: dict[str, str]
) -> None:
    path = tmp_path / f"programme.{suffix}"
    result = invoke(["plan", "export-sample", str(path), "--year", "2027"], offline_env)
    assert result.exit_code == 0, result.output
    parsed = read_plan_file(path)
    assert parsed.errors == []
    assert parsed.plans == load_sample_plans(2027)
    assert len(parsed.plans) == 243


def test_dry_run_of_the_sample_is_valid_and_connects_nowhere(offline_env: dict[str, str]) -> None:
    result = invoke(["plan", "import", str(PROGRAMME_XLSX), "--dry-run", "--json"], offline_env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["rows"], report["valid_rows"], report["errors"]) == (243, 243, [])
    assert report["plans"][0] == "WJ2021-P01-001"
    text = invoke(["plan", "import", str(PROGRAMME_XLSX), "--dry-run"], offline_env)
    assert text.exit_code == 0
    assert "8,281,100.00" in text.stdout  # 828.11 亿元 in the per-program summary
    assert "243 行全部有效" in text.stdout


# ---------------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_template_has_every_column_and_imports_once_filled(
    tmp_path: Path, suffix: str, offline_env: dict[str, str]
) -> None:
    path = tmp_path / f"template.{suffix}"
    result = invoke(["plan", "template", str(path), "--year", "2026", "--years", "3"], offline_env)
    assert result.exit_code == 0, result.output
    if suffix == "xlsx":
        book = load_workbook(path)
        assert book.sheetnames == ["项目计划", "说明"]
        header = [c.value for c in book["项目计划"][1]]
        readme = [r[0] for r in book["说明"].iter_rows(values_only=True)]
        assert "项目编号 / code" in readme and "2028年计划投资（万元） / y2028" in readme
    else:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f))
    assert header == [
        *HEADER,
        "2026年计划投资（万元） / y2026",
        "2027年计划投资（万元） / y2027",
        "2028年计划投资（万元） / y2028",
    ]
    empty = read_plan_file(path)
    assert (empty.rows, empty.errors, empty.plans) == (0, [], [])
    # Filling one row of the template gives one plan.
    if suffix == "xlsx":
        book = load_workbook(path)
        sheet = book["项目计划"]
        keys = [h.split(" / ")[-1] for h in header]
        row = service_row("TPL-001", y2026="300")
        sheet.append(
            [
                datetime.fromisoformat(row[k])
                if k in ("start", "finish", "implementing", "done", "evaluated")
                else float(row[k])
                if k in ("total_investment_wan", "y2026")
                else row.get(k)
                for k in keys
            ]
        )
        book.save(path)
    else:
        write_csv(path, header, [service_row("TPL-001", y2026="300")])
    filled = read_plan_file(path)
    assert filled.errors == []
    [plan] = filled.plans
    assert (plan.code, plan.kind, plan.bureau, plan.total_investment_wan) == (
        "TPL-001",
        ProjectKind.SERVICE,
        "mzj",
        300.0,
    )
    assert plan.yearly_investment_wan == {2026: 300.0}
    assert [(m.step, m.planned) for m in plan.milestones] == [
        (Step.IMPLEMENTING, date(2026, 3, 1)),
        (Step.DONE, date(2026, 10, 1)),
        (Step.EVALUATED, date(2026, 12, 1)),
    ]


# ---------------------------------------------------------------------------------------------
# Every rule, every error listed
# ---------------------------------------------------------------------------------------------


def test_every_error_of_every_row_is_listed(tmp_path: Path) -> None:
    header = [*HEADER, "2026年计划投资（万元） / y2026", "2027年计划投资（万元） / y2027"]
    rows = [
        engineering_row("OK-1", y2026="400", y2027="600"),  # row 2: valid
        engineering_row("bad code", bureau="nobody", kind="土建"),  # row 3: 3 errors
        service_row("OK-1", construction_started="2026-05-01"),  # row 4: 2 errors
        service_row("S-4", finish="2026-01-01", implementing="2026/3/1"),  # row 5: 1 (finish)
        engineering_row("E-5", y2026="100", y2027="100"),  # row 6: sum
        service_row("S-6", y2027="300"),  # row 7: year
        service_row("S-7", implementing="", done="", evaluated=""),  # row 8: none
        service_row(
            "S-8", name_zh="", total_investment_wan="-5", done="2026-02-30", curve="曲线"
        ),  # row 9: 4 errors
        engineering_row("E-9", completed="2026-04-15"),  # row 10: order
        service_row("S-10", implementing="2025-12-31", evaluated="2027-01-05"),  # row 11: 2
    ]
    parsed = read_plan_file(write_csv(tmp_path / "plan.csv", header, rows))
    found = [(e.row, e.column, e.code) for e in parsed.errors]
    assert found == [
        (3, "code", "bad_code"),
        (3, "bureau", "unknown_bureau"),
        (3, "kind", "bad_kind"),
        (4, "code", "duplicate_code"),
        (4, "construction_started", "milestone_not_of_kind"),
        (5, "finish", "finish_before_start"),
        (6, "total_investment_wan", "yearly_sum_mismatch"),
        (7, "y2027", "year_outside_span"),
        (8, "implementing", "no_milestone"),
        (9, "name_zh", "required"),
        (9, "total_investment_wan", "negative"),
        (9, "curve", "bad_curve"),
        (9, "done", "not_a_date"),
        (10, "completed", "milestone_order"),
        (11, "implementing", "milestone_before_start"),
        (11, "evaluated", "milestone_after_finish"),
    ]
    assert [p.code for p in parsed.plans] == ["OK-1"]
    assert parsed.bad_rows == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    dup = next(e for e in parsed.errors if e.code == "duplicate_code")
    assert dup.zh == "项目编号 OK-1 与第 2 行重复"
    assert dup.letter == "A"
    sums = next(e for e in parsed.errors if e.code == "yearly_sum_mismatch")
    assert sums.en == "yearly amounts add up to 200.00, not the total 1000.00"


def test_header_problems_are_listed_by_column(tmp_path: Path) -> None:
    header = [
        "项目编号",
        "项目名称",
        "所属工程",
        "责任单位",
        "类型说明",
        "总投资（万元）",
        "开始日期",
        "完成日期",
        "实施",
        "实施",
    ]
    path = write_csv(tmp_path / "plan.csv", header, [])
    parsed = read_plan_file(path)
    assert [(e.row, e.column, e.letter, e.code) for e in parsed.errors] == [
        (1, "类型说明", "E", "unknown_column"),
        (1, "implementing", "J", "duplicate_column"),
        (1, "kind", "", "missing_column"),
    ]


def test_chinese_headers_title_row_excel_cells_and_names(tmp_path: Path) -> None:
    """What a clerk's own workbook looks like: a title row, Chinese headers only, Excel dates
    and numbers, program and bureau by their Chinese names."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["温江区幸福美好生活十大工程 2026 年项目计划"])
    sheet.append(
        [
            "项目编号",
            "项目名称",
            "所属工程",
            "责任单位",
            "项目类型",
            "总投资（万元）",
            "开始日期",
            "完成日期",
            "开工",
            "竣工",
            "序时曲线",
            "2026年计划投资（万元）",
            "2027年",
        ]
    )
    sheet.append(
        [
            "WJ2026-P06-001",
            "江安河绿道",
            "生态惠民示范工程",
            "区公园城市建设管理局",
            "工程",
            2500,
            datetime(2026, 3, 1),
            datetime(2027, 6, 30),
            datetime(2026, 5, 10),
            "2027年6月1日",
            "S型",
            1000,
            1500.0,
        ]
    )
    sheet.append(
        [
            20260002,
            "应急广播",
            "P09",
            "yjglj",
            "服务类",
            "800",
            "2026/4/1",
            "2026.12.31",
            None,
            None,
            None,
            None,
            None,
        ]
    )
    path = tmp_path / "clerk.xlsx"
    book.save(path)
    parsed = read_plan_file(path)
    assert parsed.header_row == 2
    # The service project in row 4 has no milestone: the file has no service milestone column.
    assert [(e.row, e.column, e.letter, e.code) for e in parsed.errors] == [
        (4, "implementing", "", "no_milestone")
    ]
    assert parsed.rows == 2
    first = parsed.plans[0]
    assert (first.program, first.bureau, first.kind, first.curve) == (
        "P06",
        "gycsj",
        ProjectKind.ENGINEERING,
        CurveShape.S_CURVE,
    )
    assert first.total_investment_wan == 2500.0
    assert first.yearly_investment_wan == {2026: 1000.0, 2027: 1500.0}
    assert [(m.step, m.planned) for m in first.milestones] == [
        (Step.CONSTRUCTION_STARTED, date(2026, 5, 10)),
        (Step.COMPLETED, date(2027, 6, 1)),
    ]


def test_gb18030_csv_from_chinese_excel_is_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", HEADER, [service_row("GBK-1")], encoding="gb18030")
    parsed = read_plan_file(path)
    assert parsed.errors == []
    assert parsed.plans[0].name_zh == "社区养老服务"


def test_written_plans_read_back_equal(tmp_path: Path) -> None:
    plans = load_sample_plans(2030)[100:110]
    for suffix in ("csv", "xlsx"):
        path = write_plans(plans, tmp_path / f"ten.{suffix}")
        assert read_plan_file(path).plans == plans


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.xlsx", "文件不存在"),
        ("plan.xls", "不支持旧版 .xls 文件"),
        ("plan.pdf", "不支持的文件类型"),
    ],
)
def test_unreadable_files_are_one_clear_line(
    tmp_path: Path, name: str, message: str, offline_env: dict[str, str]
) -> None:
    path = tmp_path / name
    if name != "missing.xlsx":
        path.write_bytes(b"%PDF-1.4")
    with pytest.raises(PlanFileError):
        read_plan_file(path)
    result = invoke(["plan", "import", str(path), "--dry-run"], offline_env)
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("guatu: ") and message in line


def test_a_file_without_a_header_is_refused(tmp_path: Path, offline_env: dict[str, str]) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("hello,world\n1,2\n", encoding="utf-8")
    result = invoke(["plan", "import", str(path), "--dry-run"], offline_env)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "找不到表头" in line and "no header row" in line
