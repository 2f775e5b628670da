"""第三方评估: evaluations by accredited agencies, per project or per program and year.

One file: the whole of 第三方评估 (checks, versions, answers, reads), which has no book or workflow of
its own to split along.

- An evaluator's token is scoped to the programs it is engaged for: an evaluation outside them is
  refused (`outside_programs`).
- An evaluation has indicator scores (0–100, weighted), a conclusion and optionally a report
  document (PDF or DOCX, checked by magic bytes, size-limited, stored in PostgreSQL). Its score is
  the weighted mean of the indicators, 2 decimals.
- Immutable: a row is only ever inserted. A correction is a new version naming the version it
  supersedes (the latest one) with a reason; the earlier version stays, as it was.
- Audited: every accepted and refused submission and answer is in `audit_log`.
- The evaluated bureau (the project's; the program's lead bureau) sees its evaluations and may
  answer each version once.
- A project evaluation is recorded on the project's workflow (`record_evaluation`), so that a
  service project can close its 评估 stage. A retry with the same key re-sends it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from guatu.core import constants as c
from guatu.core.clock import business_now
from guatu.core.pages import read_page
from guatu.core.records import AuditRow, write_audit
from guatu.lifecycle.models import EvaluationRecordInput, ProgrammeClock, UpdateResult
from guatu.lifecycle.rules.validation import InputRejected
from guatu.lifecycle.service import Rejected, audit_rejection, rejection_of
from guatu.society.models import (
    EvaluationFiling,
    EvaluationRules,
    EvaluationSubject,
    load_rules,
)

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"  # .docx


def report_type(data: bytes) -> str | None:
    if data.startswith(PDF_MAGIC):
        return "application/pdf"
    if data.startswith(ZIP_MAGIC):
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


def weighted_score(filing: EvaluationFiling) -> float:
    total = sum(i.weight for i in filing.indicators)
    return round(sum(i.score * i.weight for i in filing.indicators) / total, 2)


def check_filing(filing: EvaluationFiling, rules: EvaluationRules) -> None:
    """The pure checks: indicators, conclusion, report, correction reason."""
    if len(filing.indicators) > rules.indicators_max:
        raise InputRejected(
            "too_many_indicators",
            f"评估指标最多 {rules.indicators_max} 项",
            f"at most {rules.indicators_max} indicators",
        )
    keys = [i.key for i in filing.indicators]
    if len(set(keys)) != len(keys):
        raise InputRejected(
            "duplicate_indicator", "评估指标编号重复", "an indicator key appears twice"
        )
    size = len(filing.conclusion.strip())
    if size == 0:
        raise InputRejected(
            "conclusion_required", "请填写评估结论", "the evaluation's conclusion is required"
        )
    if size > rules.conclusion_max_chars:
        raise InputRejected(
            "conclusion_too_long",
            f"评估结论过长（最多 {rules.conclusion_max_chars} 个字，现 {size} 个字）",
            f"the conclusion is too long ({size} characters; at most {rules.conclusion_max_chars})",
        )
    if filing.report:
        if report_type(filing.report) is None:
            raise InputRejected(
                "report_not_document",
                "评估报告须为 PDF 或 Word（.docx）文件",
                "the report must be a PDF or Word (.docx) document",
            )
        if len(filing.report) > rules.report_max_bytes:
            raise InputRejected(
                "report_too_large",
                f"评估报告过大（{len(filing.report)} 字节，最多 {rules.report_max_bytes} 字节）",
                f"the report is too large ({len(filing.report)} bytes; at most "
                f"{rules.report_max_bytes})",
            )
    if filing.subject is EvaluationSubject.PROJECT and not filing.project:
        raise InputRejected(
            "project_required", "项目评估须填写项目编号", "a project evaluation needs its project"
        )
    if filing.subject is EvaluationSubject.PROGRAM and (filing.project or not filing.program):
        raise InputRejected(
            "program_required",
            "工程年度评估须填写工程编号（不填项目编号）",
            "a program evaluation names its program (and no project)",
        )
    if filing.supersedes and len(filing.reason.strip()) < rules.reason_min_chars:
        raise InputRejected(
            "reason_required",
            f"更正评估须写明更正理由（至少 {rules.reason_min_chars} 个字）",
            f"a correction needs its reason (at least {rules.reason_min_chars} characters)",
        )


def _audit_body(filing: EvaluationFiling) -> dict[str, Any]:
    body = filing.model_dump(mode="json", exclude={"report"})
    body["report_bytes"] = len(filing.report)
    return body


_COLUMNS = (
    "id, subject, project, program, bureau, year, version, supersedes, reason, indicators, score,"
    " conclusion, report_name, report_type, report_sha256, evaluator, evaluator_label,"
    " submitted_at"
)


async def submit_evaluation(
    pool: asyncpg.Pool,
    filing: EvaluationFiling,
    *,
    client: Client | None = None,
    clock: ProgrammeClock | None = None,
    rules: EvaluationRules | None = None,
    channel: str = "api",
) -> dict[str, Any]:
    """Check and store an evaluation (a new version when it corrects one); the stored row with
    `duplicate` when the same evaluator retried the same key. Refusals raise `Rejected`."""
    try:
        try:
            row = await _submit(pool, filing, clock, rules or load_rules().evaluation)
        except asyncpg.UniqueViolationError:
            # Another submission of the same subject and version (or the same key) committed
            # between our read and our insert: nothing of ours was written.
            raise InputRejected(
                "concurrent_submission",
                "同一评估对象的另一版本刚刚提交，请查看最新版本后重试",
                "another version of the same evaluation was submitted at the same moment; "
                "look at the latest version and retry",
            ) from None
    except InputRejected as err:
        rejected = Rejected(err.code, err.zh, err.en)
        await audit_rejection(
            pool,
            filing.project or None,
            f"evaluation:submit:{filing.subject.value}",
            filing.idempotency_key,
            f"evaluator:{filing.evaluator}",
            "",
            rejected,
            channel,
            _audit_body(filing),
        )
        raise rejected from None
    if client is not None and row["subject"] == "project":
        await record_on_project(client, row, f"evaluator:{filing.evaluator}")
    return row


async def _submit(
    pool: asyncpg.Pool,
    filing: EvaluationFiling,
    clock: ProgrammeClock | None,
    rules: EvaluationRules,
) -> dict[str, Any]:
    check_filing(filing, rules)
    async with pool.acquire() as conn, conn.transaction():
        earlier = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM evaluations WHERE evaluator = $1 AND filing_key = $2",
            filing.evaluator,
            filing.idempotency_key,
        )
        if earlier is not None:
            return {**dict(earlier), "duplicate": True}
        if filing.subject is EvaluationSubject.PROJECT:
            project = await conn.fetchrow(
                "SELECT program, bureau FROM projects WHERE code = $1", filing.project
            )
            if project is None:
                raise InputRejected(
                    "project_not_found",
                    f"没有项目 {filing.project}",
                    f"no project {filing.project}",
                )
            program, bureau = project["program"], project["bureau"]
        else:
            program = filing.program
            bureau = await conn.fetchval(
                "SELECT lead_bureau FROM programs WHERE code = $1", program
            )
            if bureau is None:
                raise InputRejected(
                    "program_not_found", f"没有工程 {program}", f"no program {program}"
                )
        if program not in filing.programs:
            raise InputRejected(
                "outside_programs",
                f"本机构未受委托评估工程 {program}（受委托范围：{'、'.join(filing.programs)}）",
                f"this agency is not engaged to evaluate program {program} (engaged for: "
                f"{', '.join(filing.programs)})",
            )
        # Versions of one subject are serialised: the latest is locked while the next is added.
        latest = await conn.fetchrow(
            "SELECT id, version FROM evaluations WHERE subject = $1 AND project = $2"
            " AND program = $3 AND year = $4 ORDER BY version DESC LIMIT 1 FOR UPDATE",
            filing.subject.value,
            filing.project,
            program,
            filing.year,
        )
        what = f"{filing.project or program} {filing.year} 年"
        if latest is None and filing.supersedes:
            raise InputRejected(
                "nothing_to_correct",
                f"{what}尚无评估，无可更正的版本 {filing.supersedes}",
                f"there is no evaluation of {filing.project or program} {filing.year} to correct",
            )
        if latest is not None and not filing.supersedes:
            raise InputRejected(
                "already_evaluated",
                f"{what}已有评估（{latest['id']}），提交后不可修改；如需更正，请提交新版本并注明"
                "所更正的版本和理由",
                f"{filing.project or program} {filing.year} was already evaluated ({latest['id']}); "
                "evaluations cannot be edited: submit a correction naming the version and a reason",
            )
        if latest is not None and filing.supersedes != latest["id"]:
            raise InputRejected(
                "not_latest_version",
                f"只能更正最新版本 {latest['id']}（不是 {filing.supersedes}）",
                f"only the latest version {latest['id']} can be corrected, not {filing.supersedes}",
            )
        version = 1 if latest is None else latest["version"] + 1
        code = filing.project or program
        eid = f"{filing.subject.value}-{code}-{filing.year}-v{version}"
        now = _now(clock)
        score = weighted_score(filing)
        await conn.execute(
            "INSERT INTO evaluations (id, subject, project, program, bureau, year, version,"
            " supersedes, reason, indicators, score, conclusion, report_name, report_type,"
            " report, report_sha256, evaluator, evaluator_label, filing_key, submitted_at)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)",
            eid,
            filing.subject.value,
            filing.project,
            program,
            bureau,
            filing.year,
            version,
            filing.supersedes or None,
            filing.reason.strip(),
            [i.model_dump(mode="json") for i in filing.indicators],
            score,
            filing.conclusion.strip(),
            filing.report_name,
            report_type(filing.report) or "" if filing.report else "",
            filing.report or None,
            hashlib.sha256(filing.report).hexdigest() if filing.report else "",
            filing.evaluator,
            filing.evaluator_label,
            filing.idempotency_key,
            now,
        )
        submitted = AuditRow(
            key=f"evaluation:{eid}:submitted",
            at=now,
            actor=f"evaluator:{filing.evaluator}",
            bureau=bureau,
            project=filing.project or None,
            action="evaluation:correct" if filing.supersedes else "evaluation:submit",
            idempotency_key=filing.idempotency_key,
            accepted=True,
            before={"supersedes": filing.supersedes} if filing.supersedes else {},
            after={"id": eid, "version": version, "score": score},
            reason=filing.reason.strip(),
            channel="api",
        )
        # A repeated key raises: another submission of this version committed (caller).
        await write_audit(conn, [submitted], duplicates="raise")
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM evaluations WHERE id = $1", eid)
    return {**dict(row), "duplicate": False}


def _now(clock: ProgrammeClock | None) -> datetime:
    clock = clock or ProgrammeClock()
    if clock.anchor_real is None and clock.anchor_business is not None:
        return clock.anchor_business
    return business_now(clock, datetime.now(UTC))


async def record_on_project(client: Client, row: dict[str, Any], actor: str) -> None:
    """Tell the project's workflow (idempotent by the evaluation id). A project whose run has
    ended (closed, cancelled) keeps the evaluation on file only."""
    handle = client.get_workflow_handle(c.project_workflow_id(row["project"]))
    try:
        await handle.execute_update(
            c.UPDATE_RECORD_EVALUATION,
            EvaluationRecordInput(
                evaluation_id=row["id"],
                score=row["score"],
                actor=actor,
                idempotency_key=f"evaluation:{row['id']}",
            ),
            id=f"evaluation:{row['id']}",
            result_type=UpdateResult,
        )
    except WorkflowUpdateFailedError as err:
        if rejection_of(err) is None:
            raise
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise


async def answer_evaluation(
    pool: asyncpg.Pool,
    evaluation: str,
    *,
    bureau: str,
    text: str,
    actor: str,
    rules: EvaluationRules | None = None,
    channel: str = "api",
) -> dict[str, Any]:
    """The evaluated bureau's answer to one version (once). Refusals raise `Rejected`."""
    rules = rules or load_rules().evaluation
    try:
        size = len(text.strip())
        if size == 0:
            raise InputRejected("answer_required", "请填写答复内容", "the answer is required")
        if size > rules.answer_max_chars:
            raise InputRejected(
                "answer_too_long",
                f"答复过长（最多 {rules.answer_max_chars} 个字）",
                f"the answer is too long (at most {rules.answer_max_chars} characters)",
            )
        now = datetime.now(UTC)
        async with pool.acquire() as conn, conn.transaction():
            owner = await conn.fetchval("SELECT bureau FROM evaluations WHERE id = $1", evaluation)
            if owner is None or owner != bureau:
                raise InputRejected(
                    "evaluation_not_found",
                    f"没有评估 {evaluation}，或不是对本单位的评估",
                    f"no evaluation {evaluation} of your bureau",
                )
            done = await conn.fetchval(
                "INSERT INTO evaluation_answers (evaluation_id, bureau, text, actor, answered_at)"
                " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (evaluation_id) DO NOTHING RETURNING 1",
                evaluation,
                bureau,
                text.strip(),
                actor,
                now,
            )
            if done is None:
                raise InputRejected(
                    "already_answered",
                    f"本单位已答复评估 {evaluation}，每个版本只能答复一次",
                    f"your bureau already answered evaluation {evaluation} (once per version)",
                )
            answered = AuditRow(
                key=f"evaluation:{evaluation}:answer",
                at=now,
                actor=actor,
                bureau=bureau,
                project=None,
                action="evaluation:answer",
                idempotency_key=evaluation,
                accepted=True,
                reason=text.strip(),
                channel=channel,
            )
            await write_audit(conn, [answered], duplicates="raise")
    except InputRejected as err:
        rejected = Rejected(err.code, err.zh, err.en)
        await audit_rejection(
            pool, None, "evaluation:answer", evaluation, actor, bureau, rejected, channel, {}
        )
        raise rejected from None
    return await get_evaluation(pool, evaluation) or {}


async def get_evaluation(pool: asyncpg.Pool, evaluation: str) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM evaluations WHERE id = $1", evaluation)
        if row is None:
            return None
        answer = await conn.fetchrow(
            "SELECT text, actor, answered_at FROM evaluation_answers WHERE evaluation_id = $1",
            evaluation,
        )
        later = await conn.fetchval("SELECT id FROM evaluations WHERE supersedes = $1", evaluation)
    return {**dict(row), "answer": dict(answer) if answer else None, "superseded_by": later}


async def list_evaluations(
    pool: asyncpg.Pool,
    *,
    bureau: str | None = None,
    programs: list[str] | None = None,
    project: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Evaluations, newest first; `bureau` scopes a bureau to its own, `programs` an evaluator
    to its engagement."""
    return await read_page(
        pool,
        f"SELECT {_COLUMNS} FROM evaluations",
        "evaluations",
        (("bureau", bureau), ("program = ANY({})", programs), ("project", project)),
        order_by="submitted_at DESC, id",
        limit=limit,
        offset=offset,
    )


async def get_report(pool: asyncpg.Pool, evaluation: str) -> tuple[str, str, bytes] | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT report_name, report_type, report FROM evaluations WHERE id = $1"
            " AND report IS NOT NULL",
            evaluation,
        )
    return (row["report_name"], row["report_type"], bytes(row["report"])) if row else None


__all__ = [
    "Rejected",
    "answer_evaluation",
    "check_filing",
    "get_evaluation",
    "get_report",
    "list_evaluations",
    "record_on_project",
    "report_type",
    "submit_evaluation",
    "weighted_score",
]
