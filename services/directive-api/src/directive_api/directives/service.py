"""The rules of a document's life: who may create, see, change and move it, and numbering."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import re
import secrets
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from common.auth import Principal, require_roles
from common.calendar import DEADLINE_HORIZON
from common.db import utc_now
from common.http import require_if_match
from common.pdf.model import DocumentView, SignatureBlock, Table
from common.pdf.rules import check_document
from common.problems import ConflictError, ForbiddenError, UnprocessableError, UnsupportedMediaTypeError
from common.storage import FileStore
from common.workflow import WorkflowEngine, history_entry, history_factory
from directive_api.directives import effects, register_export, repository
from directive_api.directives.errors import (
    DirectiveNotEditableError,
    DirectiveNotFoundError,
    DocumentRuleError,
    InvalidReferenceError,
    RegisterNotFoundError,
    RetiredRecipientError,
)
from directive_api.directives.lifecycle import DIRECTIVE_WORKFLOW
from directive_api.directives.models import Directive, DirectiveHistory, Register, RegisterEntry
from directive_api.directives.repository import DirectiveRecord as DirectiveRecord
from directive_api.directives.repository import Reader as Reader
from directive_api.directives.schemas import (
    ComplianceRequest,
    DirectiveContent,
    DirectiveCreate,
    DirectiveUpdate,
    TransitionRequest,
)
from directive_api.directives.states import (
    DOC_TYPES,
    EDITABLE_STATUSES,
    OFFICE_ROLES,
    PRE_ISSUE_STATUSES,
    DirectiveStatus,
    Role,
    compose_notation,
)
from directive_api.events import visibility
from directive_api.orgs.models import Unit
from directive_api.pdfs.context import PdfContext
from directive_api.pdfs.schemas import PdfFile
from directive_api.people.models import Person
from directive_api.signing.models import SigningRequest

Clock = Callable[[], datetime]

CREATE_ROLES = (Role.drafter.value, Role.integration.value)
EDIT_ROLES = (Role.drafter.value, Role.integration.value)


def _record(
    directive: Directive,
    action: str,
    actor: Principal,
    *,
    from_status: str | None,
    comment: str | None = None,
    to_status: str | None = None,
) -> DirectiveHistory:
    """The history row of one change (a transition, creation or edit) at the document's version."""
    return history_entry(
        DirectiveHistory,
        "directive_id",
        directive,
        action,
        actor,
        from_status=from_status,
        to_status=to_status or directive.status,
        definition=DIRECTIVE_WORKFLOW,
        comment=comment,
    )


ENGINE = WorkflowEngine(DIRECTIVE_WORKFLOW, model=Directive, history=history_factory(DirectiveHistory, "directive_id"))


def new_public_id() -> str:
    """A short, unguessable id printed in the verification QR code."""
    return base64.b32encode(secrets.token_bytes(10)).decode().rstrip("=").lower()


def title_lines(signer: Person, authority: str | None) -> list[str]:
    """The signature block of ``signer`` for a signing authority (their default one without)."""
    if authority is None:
        return list(signer.signature_title_lines)
    return list(signer.signature_titles[authority])


async def _check_references(
    session: AsyncSession,
    content: DirectiveContent | DirectiveUpdate,
    *,
    issuer_code: str,
    current_signer: Person | None = None,
) -> Person | None:
    """Refuse unknown groups, units and signers with one 422 listing every problem."""
    errors: list[dict[str, Any]] = []
    addressees = content.addressees or []
    groups = [a.group for a in addressees if a.group]
    units = [a.unit for a in addressees if a.unit]
    info_units = [code for r in content.info_recipients or [] for code in (r.units or [])]
    known_groups = await effects.known_group_codes(session, groups)
    known_units = await effects.known_unit_codes(session, [*units, *info_units])
    # A retired unit is offered for nothing new: naming it would print it and deliver to no one.
    retired = await effects.retired_unit_codes(session, [*units, *info_units])
    for index, addressee in enumerate(addressees):
        if addressee.group and addressee.group not in known_groups:
            errors.append({"location": ["body", "addressees", str(index), "group"], "message": "unknown group"})
        if addressee.unit and addressee.unit not in known_units:
            errors.append({"location": ["body", "addressees", str(index), "unit"], "message": "unknown unit"})
        elif addressee.unit in retired:
            errors.append(
                {
                    "location": ["body", "addressees", str(index), "unit"],
                    "message": f"unit {addressee.unit} is retired from the directory",
                }
            )
    for index, recipient in enumerate(content.info_recipients or []):
        for code in recipient.units or []:
            if code not in known_units:
                errors.append(
                    {
                        "location": ["body", "info_recipients", str(index), "units"],
                        "message": f"unknown unit {code}",
                    }
                )
            elif code in retired:
                errors.append(
                    {
                        "location": ["body", "info_recipients", str(index), "units"],
                        "message": f"unit {code} is retired from the directory",
                    }
                )
    signer: Person | None = None
    if content.signer_id is not None:
        signer = await repository.person(session, content.signer_id)
        if signer is None or not signer.is_active:
            errors.append({"location": ["body", "signer_id"], "message": "unknown signer"})
        elif Role.signer.value not in signer.roles or signer.unit_code != issuer_code:
            errors.append({"location": ["body", "signer_id"], "message": "this person cannot sign for the issuer"})
    authority = content.signing_authority
    checked = signer if content.signer_id is not None else current_signer
    if authority is not None and checked is not None and authority not in (checked.signature_titles or {}):
        errors.append(
            {
                "location": ["body", "signing_authority"],
                "message": f"the signer has no signature block for {authority}",
            }
        )
    if errors:
        raise InvalidReferenceError("some references are unknown", errors=errors)
    return signer


def _check_due_date(compliance: ComplianceRequest | None, *, today: date) -> None:
    """A due date lies after today (the document is issued today at the earliest) and within five
    years: report-api plans its reminders on it, and 9999-12-31 once stopped every obligation."""
    if compliance is None or compliance.due_date is None:
        return
    due, limit = compliance.due_date, today + DEADLINE_HORIZON
    if not today < due <= limit:
        raise UnprocessableError(
            f"the due date must lie after {today.isoformat()} and not after {limit.isoformat()}",
            errors=[
                {
                    "location": ["body", "compliance", "due_date"],
                    "message": f"between {(today + timedelta(days=1)).isoformat()} and {limit.isoformat()}",
                }
            ],
        )


def _ensure_author(directive: Directive, actor: Principal) -> None:
    """A draft is its author's: only the person who created it edits and submits it (a colleague
    of the same division drafts their own document, or the author sends it on). No hand-over
    exists yet; reviewers and signers act on it through the workflow (return, approve)."""
    if directive.drafted_by != actor.id:
        raise ForbiddenError("only the author of a draft may edit or submit it")


def _ensure_office_member(actor: Principal, issuer_code: str) -> None:
    if not actor.has_any(*OFFICE_ROLES) or actor.unit != issuer_code:
        raise ForbiddenError("only staff of the issuing unit may do this")


async def create_directive(session: AsyncSession, body: DirectiveCreate, *, actor: Principal) -> Directive:
    """Create a draft for the caller's unit."""
    require_roles(actor, *CREATE_ROLES)
    issuer_code = body.issuer_code or actor.unit
    if issuer_code is None:
        raise UnprocessableError("issuer_code is required when the token names no unit")
    _ensure_office_member(actor, issuer_code)
    if body.doc_type not in DOC_TYPES:
        raise InvalidReferenceError(
            "unknown document type",
            errors=[{"location": ["body", "doc_type"], "message": f"one of {', '.join(DOC_TYPES)}"}],
        )
    issuer = await repository.unit(session, issuer_code)
    if issuer is None or not issuer.notation or not issuer.is_active:
        raise InvalidReferenceError(
            "the issuer is unknown or issues no documents",
            errors=[{"location": ["body", "issuer_code"], "message": "unknown issuer"}],
        )
    signer = await _check_references(session, body, issuer_code=issuer_code)
    assert signer is not None
    _check_due_date(body.compliance, today=utc_now().date())
    if body.corrects_id is not None:
        original = await repository.get(session, body.corrects_id)
        if original is None or original.issuer_code != issuer_code or original.status in PRE_ISSUE_STATUSES:
            raise InvalidReferenceError(
                "a correction must refer to an issued document of the same issuer",
                errors=[{"location": ["body", "corrects_id"], "message": "not an issued document of this issuer"}],
            )
    now = utc_now()
    directive = Directive(
        id=uuid.uuid4(),
        public_id=new_public_id(),
        doc_type=body.doc_type,
        status=DIRECTIVE_WORKFLOW.initial,
        version=1,
        workflow_version=DIRECTIVE_WORKFLOW.version,
        issuer_code=issuer_code,
        issuer_notation=issuer.notation,
        place_name=issuer.place_name or "Cần Thơ",
        drafting_unit=body.drafting_unit,
        subject=_strip_vv(body.subject),
        addressees=[a.model_dump(exclude_none=True) for a in body.addressees],
        body=[b.model_dump(mode="json") for b in body.body],
        annexes=[a.model_dump(mode="json", exclude_none=True) for a in body.annexes] or None,
        second_signature=body.second_signature.model_dump(mode="json") if body.second_signature else None,
        signer_id=signer.id,
        signer_name=signer.full_name,
        signature_title_lines=title_lines(signer, body.signing_authority),
        info_recipients=[
            r.model_dump(exclude_none=True, exclude_defaults=True) or {"as_above": True} for r in body.info_recipients
        ],
        archive_line=body.archive_line,
        urgency=body.urgency,
        secrecy=body.secrecy,
        compliance=body.compliance.model_dump(mode="json") if body.compliance else None,
        drafter_initials=body.drafter_initials,
        copies=body.copies,
        drafted_by=actor.id,
        corrects_id=body.corrects_id,
        created_at=now,
        updated_at=now,
    )
    check_decree_rules(directive)
    await repository.add(session, directive, _record(directive, "create", actor, from_status=None))
    return directive


def _rules_view(directive: Directive, second: dict[str, Any] | None) -> DocumentView:
    """The document as the rules see it (no directory look-ups: names do not matter to them)."""
    return DocumentView(
        issuer_name=directive.issuer_code,
        notation=directive.issuer_notation,
        place=directive.place_name,
        subject=directive.subject or "V/v",
        addressees=tuple("-" for _ in directive.addressees),
        body=tuple(directive.body),  # type: ignore[arg-type]
        signature=SignatureBlock(
            authority_lines=tuple(directive.signature_title_lines) or (directive.signer_name.upper(),),
            signer_name=directive.signer_name,
        ),
        second_signature=SignatureBlock.model_validate(second) if second else None,
        archive_line=directive.archive_line,
        doc_type=directive.doc_type,
        annexes=tuple(directive.annexes or ()),  # type: ignore[arg-type]
    )


MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
"""Largest PDF that may travel with a document (tài liệu kèm theo)."""
MAX_ATTACHMENTS = 20
_FILE_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,200}$")


def _check_attachment_pdf(data: bytes) -> None:
    """A readable, unencrypted PDF, or UnprocessableError/UnsupportedMediaTypeError."""
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMediaTypeError("the body is not a PDF file")
    from pyhanko.pdf_utils.reader import PdfFileReader  # the PDF stack stays out of an idle web process

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        encrypted = reader.encrypted
        pages = int(reader.root["/Pages"]["/Count"])
    except Exception:
        raise UnprocessableError("the PDF cannot be read") from None
    if encrypted:
        raise UnprocessableError("an encrypted PDF cannot travel with a document: send it unprotected")
    if pages < 1:
        raise UnprocessableError("the PDF has no page")


async def add_attachment(
    session: AsyncSession,
    directive_id: uuid.UUID,
    read_body: Callable[[int], Awaitable[bytes]],
    *,
    name: str | None,
    actor: Principal,
    if_match: str | None,
    store: FileStore,
) -> Directive:
    """Attach an uploaded PDF to a draft: stored by its SHA-256, listed, embedded when signed."""
    directive = await get_directive(session, directive_id, actor=actor)
    require_roles(actor, *EDIT_ROLES)
    _ensure_office_member(actor, directive.issuer_code)
    require_if_match(if_match, directive.version, allow_any=False)
    if directive.status not in EDITABLE_STATUSES:
        raise DirectiveNotEditableError(
            f"a document in status '{directive.status}' cannot be edited", current_status=directive.status
        )
    current = list(directive.attachments or [])
    name = unicodedata.normalize("NFC", name or f"tai-lieu-kem-theo-{len(current) + 1}.pdf").strip()
    if not _FILE_NAME.match(name):
        raise UnprocessableError(
            "invalid attachment name", errors=[{"location": ["query", "name"], "message": "a file name, no path"}]
        )
    # Read only now: a request refused for who or what it is never uploads its file.
    data = await read_body(MAX_ATTACHMENT_BYTES)
    await asyncio.to_thread(_check_attachment_pdf, data)  # parsing a large file stays off the event loop
    digest = hashlib.sha256(data).hexdigest()
    if any(item["sha256"] == digest for item in current):
        raise ConflictError("this file is already attached to the document")
    if len(current) >= MAX_ATTACHMENTS:
        raise UnprocessableError(f"a document carries at most {MAX_ATTACHMENTS} attachments")
    stored = await store.put_async(data)
    directive.attachments = [*current, {"name": name, "sha256": stored.sha256, "size": stored.size}]
    directive.version += 1
    directive.updated_at = utc_now()
    await repository.add_history(session, _record(directive, "edit", actor, from_status=directive.status))
    return directive


MAX_TABLE_ROWS = 5000
"""Table rows in a whole document, annexes included (about 350 pages): each row costs layout time at
every preview and at approval, and the 2 MB request cap alone would let one draft hold minutes of it."""


def _check_layout_size(view: DocumentView) -> None:
    blocks = [*view.body, *(block for annex in view.annexes for block in annex.body)]
    rows = sum(len(block.rows) for block in blocks if isinstance(block, Table))
    if rows > MAX_TABLE_ROWS:
        raise UnprocessableError(
            f"a document holds at most {MAX_TABLE_ROWS} table rows (this one has {rows}):"
            " send a longer list as an attachment",
            errors=[{"location": ["body"], "message": f"at most {MAX_TABLE_ROWS} table rows in all"}],
        )


def check_decree_rules(directive: Directive) -> None:
    """Refuse content that Decree 30 forbids for the document's type (a QĐ without căn cứ, a công văn
    without V/v, an article without number …), naming each rule broken.

    Raises:
        DocumentRuleError: With one ``errors`` entry per rule: ``rule``, ``location``, ``message``.
    """
    second = directive.second_signature
    try:
        view = _rules_view(directive, second)
    except ValidationError as exc:  # the request schema admits what the renderer's model refuses
        raise DocumentRuleError(
            "the content cannot be laid out as a Decree 30 document",
            errors=[{"location": ["body", *e["loc"]], "message": e["msg"]} for e in exc.errors()],
        ) from None
    _check_layout_size(view)
    violations = check_document(view)
    if violations:
        raise DocumentRuleError(
            "; ".join(v.message for v in violations),
            errors=[
                {
                    "location": ["body", *v.location],
                    "rule": v.rule,
                    "message": v.message,
                }
                for v in violations
            ],
        )


def _strip_vv(subject: str) -> str:
    for prefix in ("V/v ", "V/v: ", "v/v "):
        if subject.startswith(prefix):
            return subject[len(prefix) :].strip()
    return subject


async def get_directive(session: AsyncSession, directive_id: uuid.UUID, *, actor: Principal) -> Directive:
    """The document, if the caller may see it."""
    directive = await repository.get(session, directive_id)
    if directive is None:
        raise DirectiveNotFoundError(f"no document {directive_id}")
    await _ensure_visible(session, directive, actor)
    return directive


async def read_directive(connection: AsyncConnection, directive_id: uuid.UUID, *, actor: Principal) -> Row[Any]:
    """The document as a Core row, if the caller may see it (the read-only twin of :func:`get_directive`)."""
    row = await repository.get_row(connection, directive_id)
    if row is None:
        raise DirectiveNotFoundError(f"no document {directive_id}")
    await _ensure_visible(connection, row, actor)
    return row


# The one read rule (reads, the feed and webhooks) lives in events.visibility, below every slice
# that applies it.
is_addressed_to = visibility.is_addressed_to
can_read = visibility.can_read
_ensure_visible = visibility.ensure_readable


async def list_directives(
    session: AsyncSession, *, actor: Principal, status: str | None, limit: int, cursor: str | None
) -> tuple[Sequence[Directive], str | None]:
    """Documents the caller may see, newest first, with keyset pagination: one SQL statement."""
    readable = repository.readable_statement(actor)
    if readable is None:
        raise ForbiddenError("your roles do not allow listing documents")
    after = None
    if cursor is not None:
        created, _, ident = _decode_cursor(cursor)
        after = (created, ident)
    rows = await repository.page(
        session, readable, status=DirectiveStatus(status) if status else None, after=after, limit=limit + 1
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _encode_cursor(directive: Directive) -> str:
    raw = f"{directive.created_at.isoformat()}|{directive.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str, uuid.UUID]:
    try:
        created, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), "", uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise UnprocessableError("invalid cursor") from None


async def update_directive(
    session: AsyncSession,
    directive_id: uuid.UUID,
    body: DirectiveUpdate,
    *,
    actor: Principal,
    if_match: str | None,
) -> Directive:
    """Change a draft; the caller must send the ETag it read."""
    directive = await get_directive(session, directive_id, actor=actor)
    require_roles(actor, *EDIT_ROLES)
    _ensure_office_member(actor, directive.issuer_code)
    require_if_match(if_match, directive.version, allow_any=False)
    _ensure_author(directive, actor)
    if directive.status not in EDITABLE_STATUSES:
        raise DirectiveNotEditableError(
            f"a document in status '{directive.status}' cannot be edited", current_status=directive.status
        )
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise UnprocessableError("nothing to change")
    nulls = [
        k
        for k in ("subject", "body", "signer_id", "archive_line", "drafting_unit")
        if k in changes and changes[k] is None
    ]
    if nulls:
        raise UnprocessableError(f"these fields cannot be null: {', '.join(nulls)}")
    current = await repository.person(session, directive.signer_id) if body.signing_authority is not None else None
    signer = await _check_references(session, body, issuer_code=directive.issuer_code, current_signer=current)
    _check_due_date(body.compliance, today=utc_now().date())
    if "subject" in changes:
        directive.subject = _strip_vv(body.subject or "")
    if body.addressees is not None:
        directive.addressees = [a.model_dump(exclude_none=True) for a in body.addressees]
    if body.body is not None:
        directive.body = [b.model_dump(mode="json") for b in body.body]
    if "annexes" in changes:
        directive.annexes = [a.model_dump(mode="json", exclude_none=True) for a in body.annexes or []] or None
    if body.attachments is not None:
        uploaded = {item["sha256"]: item for item in directive.attachments or []}
        unknown = [i for i, ref in enumerate(body.attachments) if ref.sha256 not in uploaded]
        if unknown:
            raise InvalidReferenceError(
                "only uploaded attachments can be kept",
                errors=[{"location": ["body", "attachments", i, "sha256"], "message": "not attached"} for i in unknown],
            )
        kept = list(dict.fromkeys(ref.sha256 for ref in body.attachments))
        directive.attachments = [uploaded[digest] for digest in kept] or None
    if "second_signature" in changes:
        directive.second_signature = body.second_signature.model_dump(mode="json") if body.second_signature else None
    if signer is not None:
        directive.signer_id = signer.id
        directive.signer_name = signer.full_name
    if signer is not None or current is not None:
        chosen = signer or current
        assert chosen is not None
        directive.signature_title_lines = title_lines(chosen, body.signing_authority)
    if body.info_recipients is not None:
        directive.info_recipients = [
            r.model_dump(exclude_none=True, exclude_defaults=True) or {"as_above": True} for r in body.info_recipients
        ]
    if "compliance" in changes:
        directive.compliance = body.compliance.model_dump(mode="json") if body.compliance else None
    for key in ("archive_line", "urgency", "secrecy", "drafter_initials", "copies", "drafting_unit"):
        if key in changes:
            setattr(directive, key, changes[key])
    check_decree_rules(directive)  # the request's transaction rolls the changes back if it refuses
    directive.version += 1
    directive.updated_at = utc_now()
    await repository.add_history(session, _record(directive, "edit", actor, from_status=directive.status))
    if body.addressees is not None or body.info_recipients is not None:
        await repository.save_recipients(session, directive)
    return directive


def register_code_for(directive: Directive) -> str:
    """Secret documents have their own series (Decree 30, Art. 15); the rest share ``HC``."""
    return "MAT" if directive.secrecy else "HC"


async def allocate_number(session: AsyncSession, *, issuer_code: str, code: str, year: int) -> tuple[int, int]:
    """The next number of a register, taken inside the caller's transaction (see the repository)."""
    return await repository.allocate_number(session, issuer_code=issuer_code, code=code, year=year)


async def fire(
    session: AsyncSession,
    directive_id: uuid.UUID,
    action: str,
    *,
    actor: Principal,
    if_match: str | None,
    comment: str | None,
    clock: Clock,
    timezone: str,
    pdf: PdfContext,
    request_body: TransitionRequest | None = None,
) -> Directive:
    """Move a document along its workflow.

    Approval renders the final layout and applies the signer's signature; issue takes the next
    number, fills number and date into the signed PDF and applies the organisation's seal;
    dispatch creates one delivery per recipient — each in the transaction that changes the state,
    with its event written to the outbox in the same transaction.
    """
    directive = await get_directive(session, directive_id, actor=actor)
    transition = DIRECTIVE_WORKFLOW.get(action)
    _ensure_office_member(actor, directive.issuer_code)
    DIRECTIVE_WORKFLOW.check(directive, transition, actor, {"comment": comment})
    expected = require_if_match(if_match, directive.version, allow_any=False)
    if action == "submit":
        _ensure_author(directive, actor)
    body = request_body or TransitionRequest()
    _check_body(action, body)
    if action in _CHECKS_RECIPIENTS:
        await _ensure_no_retired_recipients(session, directive, action)
    now = clock()
    values: dict[str, Any] = {}
    entry: RegisterEntry | None = None
    replacement: Directive | None = None
    request: SigningRequest | None = None
    if action == "approve" and await effects.signs_elsewhere(session, directive, pdf):
        # The signer's key is on their token or at a remote service: the prepared revision waits
        # for the signature (``awaiting_signature``) instead of being signed here.
        request = await effects.signing_request(session, directive, pdf=pdf, now=now)
        action = "request_signature"
    elif action == "approve":
        signed_sha256 = await effects.sign(session, directive, pdf=pdf, now=now)
        values = {"approved_by": actor.id, "approved_at": now, "signed_sha256": signed_sha256}
    elif action == "abandon_signature":
        await effects.abandon_signing(session, directive, now=now)
    elif action == "issue":
        due = (directive.compliance or {}).get("due_date")
        issued_on = now.astimezone(ZoneInfo(timezone)).date()
        if due is not None and date.fromisoformat(due) <= issued_on:
            raise UnprocessableError(
                f"the due date {due} does not lie after today's issue date: return the draft to correct it"
            )
        values, entry = await _number(session, directive, actor=actor, now=now, timezone=timezone)
        values["issued_sha256"] = await effects.seal(
            session, directive, notation=values["notation"], issued_on=values["issued_on"], pdf=pdf
        )
        values["dispatch_due_at"] = now if directive.urgency else _end_of_day(now, timezone)
    elif action == "dispatch":
        values = {"dispatched_at": now}
    elif action == "archive":
        assert body.records_file is not None
        year = (directive.issued_on or now.date()).year
        records_file_id = await effects.records_file_id(
            session,
            directive,
            year=year,
            file_notation=body.records_file.file_notation,
            title=body.records_file.title,
            retention=body.records_file.retention,
            actor_id=actor.id,
        )
        values = {"records_file_id": records_file_id, "archived_at": now}
    elif action == "recall":
        values = {"recalled_at": now, "recall_reason": comment}
    elif action == "replace":
        assert body.replacement_id is not None
        replacement = await _replacement(session, directive, body.replacement_id)
        values = {"replaced_by_id": replacement.id}
    await ENGINE.fire(session, directive, action, actor, expected_version=expected, comment=comment, values=values)
    if entry is not None:
        # Written only after the conditional update won: a request that lost the race to issue
        # this document rolls back its number instead of colliding in the register.
        await repository.add_register_entry(session, entry)
    if request is not None:
        await effects.open_signing_request(session, request)
    await _after(session, directive, action, now=now, replacement=replacement)
    return directive


_CHECKS_RECIPIENTS = frozenset({"submit", "review", "approve", "issue"})
"""The steps that refuse a document naming a unit retired since drafting (dispatch never drops one)."""


async def _ensure_no_retired_recipients(session: AsyncSession, directive: Directive, action: str) -> None:
    units = [a["unit"] for a in directive.addressees if a.get("unit")]
    units += [c for r in directive.info_recipients for c in r.get("units") or []]
    retired = sorted(await effects.retired_unit_codes(session, units))
    if not retired:
        return
    if action == "issue":
        advice = (
            "the signed text names them: restore them in the directory (PATCH /v1/orgs/{code} "
            '{"is_active": true}) to issue it, or draft the document again without them'
        )
    elif action == "submit":
        advice = "edit the draft to remove them"
    else:
        advice = "return the document to its author to remove them (or restore them in the directory)"
    raise RetiredRecipientError(
        f"{', '.join(retired)} {'was' if len(retired) == 1 else 'were'} retired from the directory "
        f"since the document was drafted: {advice}",
        units=retired,
    )


def _check_body(action: str, body: TransitionRequest) -> None:
    if body.records_file is not None and action != "archive":
        raise UnprocessableError("'records_file' only applies to 'archive'")
    if body.replacement_id is not None and action != "replace":
        raise UnprocessableError("'replacement_id' only applies to 'replace'")
    if action == "archive" and body.records_file is None:
        raise UnprocessableError("archiving needs 'records_file' (file_notation, title, retention)")
    if action == "replace" and body.replacement_id is None:
        raise UnprocessableError("replacing needs 'replacement_id', an issued document")


def _end_of_day(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=17, minute=0, second=0, microsecond=0).astimezone(UTC) if local.hour < 17 else now


async def _replacement(session: AsyncSession, directive: Directive, replacement_id: uuid.UUID) -> Directive:
    replacement = await repository.get(session, replacement_id)
    if (
        replacement is None
        or replacement.issuer_code != directive.issuer_code
        or replacement.id == directive.id
        or replacement.status not in ("issued", "dispatched")
    ):
        raise InvalidReferenceError(
            "the replacement must be another issued document of the same issuer",
            errors=[{"location": ["body", "replacement_id"], "message": "not an issued document of this issuer"}],
        )
    if replacement.replaces_id is not None and replacement.replaces_id != directive.id:
        raise InvalidReferenceError(
            "the replacement already replaces another document",
            errors=[{"location": ["body", "replacement_id"], "message": "already a replacement"}],
        )
    return replacement


async def _after(
    session: AsyncSession,
    directive: Directive,
    action: str,
    *,
    now: datetime,
    replacement: Directive | None,
) -> None:
    """Effects that follow a state change, in the same transaction."""
    if action == "issue":
        await effects.issued(session, directive)
    elif action == "dispatch":
        await effects.dispatch(session, directive, now=now)
    elif action == "recall":
        effects.recalled(session, directive)
    elif action == "replace":
        assert replacement is not None
        replacement.replaces_id = directive.id
        await session.flush()
        effects.replaced(session, directive, replacement)


async def dispatch_due(session: AsyncSession, *, now: datetime, limit: int = 50) -> list[uuid.UUID]:
    """Dispatch issued documents whose dispatch time has come (same day as issue; urgent at once).

    Replicas of the timer share the work (see :func:`repository.due_for_dispatch`).
    """
    done = []
    for directive_id in await repository.due_for_dispatch(session, now=now, limit=limit):
        directive = await repository.get(session, directive_id)
        assert directive is not None
        system = Principal(
            subject="system",
            name="Hệ thống (tự động phát hành)",
            roles=frozenset({"clerk"}),
            unit=directive.issuer_code,
        )
        await ENGINE.fire(session, directive, "dispatch", system, values={"dispatched_at": now})
        await effects.dispatch(session, directive, now=now)
        done.append(directive_id)
    return done


async def _number(
    session: AsyncSession, directive: Directive, *, actor: Principal, now: datetime, timezone: str
) -> tuple[dict[str, Any], RegisterEntry]:
    issued_on = now.astimezone(ZoneInfo(timezone)).date()
    code = register_code_for(directive)
    register_id, number = await allocate_number(
        session, issuer_code=directive.issuer_code, code=code, year=issued_on.year
    )
    notation = compose_notation(
        number,
        doc_type=directive.doc_type,
        issuer_notation=directive.issuer_notation,
        drafting_unit=directive.drafting_unit,
    )
    entry = RegisterEntry(
        register_id=register_id,
        number=number,
        directive_id=directive.id,
        notation=notation,
        issued_on=issued_on,
        doc_type=directive.doc_type,
        subject=directive.subject,
        signer_name=directive.signer_name,
        recorded_by=actor.id,
        recorded_at=now,
    )
    values = {
        "number": number,
        "notation": notation,
        "issued_on": issued_on,
        "issued_at": now,
        "issued_by": actor.id,
        "register_code": code,
    }
    return values, entry


async def history(session: AsyncSession, directive_id: uuid.UUID, *, actor: Principal) -> Sequence[DirectiveHistory]:
    """Every change of the document, oldest first."""
    await get_directive(session, directive_id, actor=actor)
    return await repository.history(session, directive_id)


async def get_register(
    session: AsyncSession, *, issuer_code: str, code: str, year: int, actor: Principal
) -> tuple[Register, Sequence[RegisterEntry]]:
    """A register with its entries in number order (staff of the issuer only)."""
    _ensure_office_member(actor, issuer_code)
    found = await repository.register(session, issuer_code=issuer_code, code=code, year=year)
    if found is None:
        raise RegisterNotFoundError(f"no register {issuer_code}/{code}/{year}")
    return found, await repository.register_entries(session, found.id)


async def list_registers(session: AsyncSession, *, actor: Principal) -> Sequence[Register]:
    """The registers of the caller's unit."""
    if actor.unit is None:
        return []
    _ensure_office_member(actor, actor.unit)
    return await repository.registers_of(session, actor.unit)


async def document_pdf(
    session: AsyncSession, directive_id: uuid.UUID, *, actor: Principal, pdf: PdfContext, now: datetime
) -> PdfFile:
    """The document's PDF for a caller who may see the document (issued, signed, or a preview)."""
    directive = await get_directive(session, directive_id, actor=actor)
    return await effects.current_pdf(session, directive, pdf=pdf, now=now)


async def register_export_data(
    session: AsyncSession, *, issuer_code: str, code: str, year: int, actor: Principal
) -> tuple[Register, Unit, list[register_export.RegisterRow]]:
    """A register, its issuer and its lines as the export prints them (staff of the issuer only)."""
    found, entries = await get_register(session, issuer_code=issuer_code, code=code, year=year, actor=actor)
    issuer = await repository.unit(session, issuer_code)
    assert issuer is not None
    return found, issuer, await register_export.rows(session, entries)
