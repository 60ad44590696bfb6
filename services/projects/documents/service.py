"""Issuing documents, reading them, and checking a copy.

A document is issued by a manager of its program with no stake in it, once what it states is
settled (the task book signed by both parties, the public notice over, the project accepted).
Issuing again is harmless: when nothing it states has changed, the current version is the
answer; when something has, a new version under the same number supersedes it. The PDF is a
pure function of the recorded inputs, number, version and issue time, so it can be made again
and its hash checked.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.documents.exceptions import DocumentNotFound, DocumentNotReady
from services.projects.documents.layouts import layout
from services.projects.documents.pdf import render
from services.projects.documents.repository import DocumentRepository
from services.projects.exceptions import CallNotFound
from services.projects.execution.access import managed_project, readable_project
from services.projects.execution.repository import ProjectRepository
from services.projects.models import IssuedDocument, Project
from services.projects.models.documents import DocumentKind
from services.projects.models.lifecycle import ProjectStatus
from services.projects.scope import require_manager_of
from services.projects.visibility import may_read_project
from shared.auth.tokens import Principal
from shared.clock import SHANGHAI
from shared.errors import Text
from shared.objectstore.base import CHUNK_BYTES, ObjectStore
from shared.objectstore.requests import NewObjects

# Document numbers: a prefix per kind, the year, a sequence without gaps (RWS-2026-00001).
PREFIXES = {
    DocumentKind.task_book: "RWS",  # 任务书
    DocumentKind.approval_notice: "LXTZ",  # 立项通知
    DocumentKind.acceptance_certificate: "YSZS",  # 验收证书
    DocumentKind.public_notice: "GS",  # 公示
}


def pdf_bytes(kind: str, inputs: dict[str, Any], number: str, version: int, at: datetime) -> bytes:
    return render(layout(kind, inputs), number=number, version=version, issued_at=at)


def reproduce(document: IssuedDocument) -> bytes:
    """The document's bytes made again from what was recorded (the same, byte for byte)."""
    return pdf_bytes(
        document.kind, document.inputs, document.number, document.version, document.issued_at
    )


def _canonical(inputs: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The inputs as they come back from the database (plain JSON), and their fingerprint."""
    text = json.dumps(inputs, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()


def _day(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).date().isoformat() if moment else ""


def _on(day: date | None) -> str:
    return day.isoformat() if day else ""


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]


@dataclass(frozen=True)
class Issued:
    document: IssuedDocument
    new: bool  # False: nothing had changed, this is the current version


class DocumentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = DocumentRepository(session)
        self.projects = ProjectRepository(session)

    # --- issuing -----------------------------------------------------------------------------

    async def issue_for_project(
        self,
        principal: Principal,
        project_id: UUID,
        kind: str,
        now: datetime,
        objects: ObjectStore,
        written: NewObjects,
    ) -> Issued:
        project = await managed_project(self.session, principal, project_id)  # locked
        inputs = await self._project_inputs(project, kind, now)
        return await self._issue(
            kind,
            project.id,
            project,
            project.call_id,
            project.program_id,
            inputs,
            principal,
            now,
            objects,
            written,
        )

    async def issue_public_notice(
        self,
        principal: Principal,
        call_id: UUID,
        now: datetime,
        objects: ObjectStore,
        written: NewObjects,
    ) -> Issued:
        call = await self.repo.call(call_id, lock=True)
        if call is None:
            raise CallNotFound()
        await require_manager_of(self.session, principal, call.program_id)
        projects = await self.repo.announced(call.id)
        if not projects:
            raise DocumentNotReady(
                Text("该指南尚无拟立项项目", "The call has no approved projects to announce")
            )
        program = await self.repo.program(call.program_id)
        inputs = {
            "call": {"title": call.title, "program": program.name_zh, "year": call.year},
            "projects": [
                {
                    "number": p.number,
                    "title": p.title,
                    "organization": p.org_name,
                    "pi": p.pi_name,
                    "approved_budget_fen": p.approved_budget_fen,
                    "notice_from": _day(p.notice_starts_at),
                    "notice_to": _day(p.notice_ends_at),
                }
                for p in projects
            ],
        }
        return await self._issue(
            DocumentKind.public_notice,
            call.id,
            None,
            call.id,
            call.program_id,
            inputs,
            principal,
            now,
            objects,
            written,
        )

    async def _issue(
        self,
        kind: str,
        subject_id: UUID,
        project: Project | None,
        call_id: UUID,
        program_id: UUID,
        raw_inputs: dict[str, Any],
        principal: Principal,
        now: datetime,
        objects: ObjectStore,
        written: NewObjects,
    ) -> Issued:
        inputs, fingerprint = _canonical(raw_inputs)
        current = await self.repo.current(kind, subject_id)
        if current is not None and current.inputs_sha256 == fingerprint:
            return Issued(current, new=False)
        if current is not None:
            year, sequence, number = current.year, current.sequence, current.number
            version = current.version + 1
            current.superseded_at = now
            await self.session.flush()  # before the new one: one current version at a time
        else:
            year = now.astimezone(SHANGHAI).year
            sequence = await self.repo.next_number(kind, year)
            number = f"{PREFIXES[DocumentKind(kind)]}-{year}-{sequence:05d}"
            version = 1
        data = await asyncio.to_thread(pdf_bytes, kind, inputs, number, version, now)
        key = f"documents/{kind}/{year}/{number.lower()}-v{version}.pdf"
        written.add(key)
        stored = await objects.put(key, _chunks(data))
        document = IssuedDocument(
            kind=kind,
            number=number,
            year=year,
            sequence=sequence,
            version=version,
            subject_id=subject_id,
            project_id=project.id if project else None,
            call_id=call_id,
            program_id=program_id,
            inputs=inputs,
            inputs_sha256=fingerprint,
            sha256=stored.sha256,
            size_bytes=stored.size,
            object_key=key,
            issued_by=principal.user_id,
            issued_at=now,
        )
        self.session.add(document)
        await self.session.flush()
        return Issued(document, new=True)

    async def _project_inputs(self, project: Project, kind: str, now: datetime) -> dict[str, Any]:
        program = await self.repo.program(project.program_id)
        facts: dict[str, Any] = {
            "number": project.number,
            "title": project.title,
            "program": program.name_zh,
            "organization": project.org_name,
            "pi": project.pi_name,
            "approved_budget_fen": project.approved_budget_fen,
            "starts_on": _on(project.starts_on),
            "ends_on": _on(project.ends_on),
        }
        if kind == DocumentKind.task_book:
            book = await self.projects.task_book(project.id)
            if book is None or book.org_signed_at is None or book.agency_signed_at is None:
                raise DocumentNotReady(
                    Text("任务书尚未经双方签署", "The task book is not signed by both parties")
                )
            facts["starts_on"], facts["ends_on"] = _on(book.starts_on), _on(book.ends_on)
            return {
                "project": facts,
                "budget": book.budget,
                "tranches": book.tranches,
                "milestones": book.milestones,
                "indicators": book.indicators,
                "signed": {
                    "organization": _day(book.org_signed_at),
                    "agency": _day(book.agency_signed_at),
                },
            }
        if kind == DocumentKind.approval_notice:
            shown = await self.projects.shown_status(project.id, now)
            if shown in (ProjectStatus.in_notice, ProjectStatus.cancelled):
                raise DocumentNotReady(
                    Text(
                        "公示期未结束或有未处理的异议，不能签发立项通知书",
                        "The public notice is not over (or an objection is open)",
                    )
                )
            return {
                "project": facts,
                "decided_on": _day(await self.repo.decided_at(project)),
                "notice_from": _day(project.notice_starts_at),
                "notice_to": _day(project.notice_ends_at),
            }
        acceptance = await self.repo.acceptance(project.id)
        if project.status != ProjectStatus.accepted or acceptance is None:
            raise DocumentNotReady(Text("项目尚未通过验收", "The project has not been accepted"))
        return {
            "project": facts,
            "verdict": acceptance.status,
            "accepted_on": _day(project.closed_at or acceptance.reviewed_at),
            "conditions": project.acceptance_conditions or "",
            "comment": acceptance.review_comment or "",
        }

    # --- reading -----------------------------------------------------------------------------

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[IssuedDocument]:
        project = await readable_project(self.session, principal, project_id)
        return await self.repo.of_project(project.id, offset=offset, limit=limit)

    async def readable(self, principal: Principal, document_id: UUID) -> IssuedDocument:
        """A document the caller may read: a project's for those who read the project; a
        public notice for anyone."""
        document = await self.repo.get(document_id)
        if document is None:
            raise DocumentNotFound()
        if document.project_id is not None:
            project = await self.projects.get(document.project_id)
            assert project is not None
            if not await may_read_project(self.session, principal, project):
                raise DocumentNotFound()
        return document

    async def public(self, document_id: UUID) -> IssuedDocument:
        document = await self.repo.get(document_id)
        if document is None or document.kind != DocumentKind.public_notice:
            raise DocumentNotFound()
        return document

    async def public_notices(
        self, call_id: UUID, *, offset: int, limit: int
    ) -> Sequence[IssuedDocument]:
        return await self.repo.public_notices(call_id, offset=offset, limit=limit)

    # --- checking a copy ---------------------------------------------------------------------

    async def verify(self, sha256: str) -> tuple[IssuedDocument, int] | None:
        """The document with these bytes and its document's current version; None if we never
        issued them."""
        document = await self.repo.by_sha256(sha256)
        if document is None:
            return None
        current = await self.repo.current(document.kind, document.subject_id)
        return document, current.version if current else document.version
