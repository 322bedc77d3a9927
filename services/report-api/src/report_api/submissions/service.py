"""Rules of the submissions: a report validated against the document's template, its evidence files,
and the Office's review of the latest version."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.http import require_if_match
from common.problems import ConflictError, UnprocessableError
from report_api.access import require_office, require_unit_officer
from report_api.context import Context
from report_api.obligations import repository as obligations_repository
from report_api.obligations import service as obligations
from report_api.obligations.models import DirectiveRecord, Obligation
from report_api.obligations.schemas import EvidenceRead, ObligationDetail, SubmissionRead
from report_api.obligations.states import OBLIGATION_WORKFLOW
from report_api.submissions import evidence as files
from report_api.submissions import repository, templates
from report_api.submissions.errors import EvidenceNotFoundError
from report_api.submissions.models import Evidence, ReviewStatus, Submission


def report_fields(directive: DirectiveRecord) -> list[templates.ReportField]:
    """The fields of the document's report template (none when it asks for no figures)."""
    return templates.parse_fields((directive.compliance or {}).get("report_fields"))


async def submit(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    data: dict[str, Any],
    actor: Principal,
    ctx: Context,
    if_match: str | None,
) -> Submission:
    """The unit submits (or resubmits) its report; each submission is kept as a new version."""
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    expected = require_if_match(if_match, obligation.version) if if_match else None
    OBLIGATION_WORKFLOW.check(obligation, OBLIGATION_WORKFLOW.get("submit"), actor, {"comment": None})
    directive = await obligations.directive_of(session, obligation)
    clean, evidence_ids = templates.validate_report(report_fields(directive), data)
    if evidence_ids:
        found = await repository.evidence_ids_among(session, obligation.id, [uuid.UUID(e) for e in evidence_ids])
        missing = [e for e in evidence_ids if uuid.UUID(e) not in found]
        if missing:
            raise UnprocessableError(
                "the report cites evidence that was not uploaded to this obligation", missing_evidence=missing
            )
    now = ctx.now()
    late = ctx.today() > obligation.due_on
    version = obligation.submission_count + 1
    values: dict[str, Any] = {"submission_count": version}
    if obligation.first_submitted_at is None:
        values.update(first_submitted_at=now, first_submission_late=late)
    await obligations.ENGINE.fire(session, obligation, "submit", actor, expected_version=expected, values=values)
    submission = Submission(
        obligation_id=obligation.id,
        version=version,
        data=clean,
        evidence_ids=evidence_ids,
        late=late,
        submitted_by=actor.id,
        submitted_at=now,
        review_status=ReviewStatus.pending,
    )
    session.add(submission)
    obligations_repository.emit(session, "obligation.submitted", obligation, now, submission_version=version, late=late)
    await session.flush()
    return submission


async def submit_view(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    data: dict[str, Any],
    actor: Principal,
    ctx: Context,
    if_match: str | None,
) -> SubmissionRead:
    submission = await submit(session, obligation_id, data, actor, ctx, if_match)
    return SubmissionRead.model_validate(submission, from_attributes=True)


async def review(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    decision: str,
    comment: str | None,
    actor: Principal,
    ctx: Context,
    if_match: str | None,
) -> Obligation:
    """The Office accepts the latest report, or returns it with a comment."""
    require_office(actor, ctx.settings)
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    expected = require_if_match(if_match, obligation.version) if if_match else None
    now = ctx.now()
    action = "accept" if decision == "accept" else "return"
    values = {"accepted_at": now} if action == "accept" else {}
    await obligations.ENGINE.fire(
        session, obligation, action, actor, expected_version=expected, comment=comment or None, values=values
    )
    latest = await repository.latest_submission(session, obligation.id)
    assert latest is not None
    latest.review_status = ReviewStatus.accepted if action == "accept" else ReviewStatus.returned
    latest.review_comment = comment or None
    latest.reviewed_by = actor.id
    latest.reviewed_at = now
    if action == "accept":
        await obligations_repository.cancel_timers(session, obligation.id, now)
    obligations_repository.emit(
        session,
        f"obligation.{'accepted' if action == 'accept' else 'returned'}",
        obligation,
        now,
        submission_version=latest.version,
        comment=comment or None,
    )
    return obligation


async def review_view(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    decision: str,
    comment: str | None,
    actor: Principal,
    ctx: Context,
    if_match: str | None,
) -> ObligationDetail:
    await review(session, obligation_id, decision, comment, actor, ctx, if_match)
    return await obligations.detail_view(session, obligation_id, actor, ctx)


async def _store(
    session: AsyncSession, obligation: Obligation, upload: files.Upload, actor: Principal, ctx: Context
) -> Evidence:
    settings = ctx.settings
    media_type, sha, size, key = await files.store(upload, settings.evidence_dir, settings.evidence_max_bytes)
    item = Evidence(
        obligation_id=obligation.id,
        filename=files.safe_filename(upload.filename, media_type),
        media_type=media_type,
        size_bytes=size,
        sha256=sha,
        storage_key=key,
        uploaded_by=actor.id,
        uploaded_at=ctx.now(),
    )
    session.add(item)
    await session.flush()
    return item


async def upload_evidence(
    session: AsyncSession, obligation_id: uuid.UUID, upload: files.Upload, actor: Principal, ctx: Context
) -> EvidenceRead:
    """Store an evidence file of the obligation (its unit's officer, while it is open)."""
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    require_unit_officer(actor)
    if obligations.is_closed(obligation):
        raise ConflictError(f"no uploads while the status is '{obligation.status}'")
    return EvidenceRead.model_validate(await _store(session, obligation, upload, actor, ctx), from_attributes=True)


async def evidence_file(
    session: AsyncSession, obligation_id: uuid.UUID, evidence_id: uuid.UUID, actor: Principal, ctx: Context
) -> tuple[Path, Evidence]:
    """The stored file and its record, if the caller may read the obligation."""
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    item = await repository.evidence(session, obligation.id, evidence_id)
    if item is None:
        raise EvidenceNotFoundError(f"no evidence {evidence_id} on this obligation")
    return files.path_of(ctx.settings.evidence_dir, item.storage_key), item


async def report_form(
    session: AsyncSession, obligation_id: uuid.UUID, actor: Principal, ctx: Context
) -> DirectiveRecord:
    """The document whose report template the unit's officer fills in (the pages' report form)."""
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    require_unit_officer(actor)
    return await obligations.directive_of(session, obligation)


async def submit_form(
    session: AsyncSession,
    obligation_id: uuid.UUID,
    data: dict[str, Any],
    uploads: dict[str, list[files.Upload]],
    actor: Principal,
    ctx: Context,
) -> Submission:
    """The pages' report form: the report is checked first (nothing stored when it is refused), then
    each evidence field's files are stored and cited, then the report is submitted."""
    directive = await report_form(session, obligation_id, actor, ctx)
    templates.validate_report(report_fields(directive), data)
    obligation = await obligations.load(session, obligation_id, actor, ctx)
    for key, items in uploads.items():
        data[key] = [str((await _store(session, obligation, upload, actor, ctx)).id) for upload in items]
    return await submit(session, obligation_id, data, actor, ctx, None)
