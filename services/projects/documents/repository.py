"""SQL for issued documents, their numbers, and what they state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Call,
    DocumentNumberSequence,
    IssuedDocument,
    Program,
    Project,
    Report,
)
from services.projects.models.documents import DocumentKind
from services.projects.models.lifecycle import PUBLIC_PROJECT_STATES, ReportStatus

ACCEPTED_VERDICTS = (ReportStatus.passed, ReportStatus.conditional)


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_number(self, kind: str, year: int) -> int:
        """The next number of `kind` in `year`. The counter's row stays locked until the
        transaction ends: a rollback gives the number back, so none is ever skipped."""
        statement = (
            insert(DocumentNumberSequence)
            .values(kind=kind, year=year, last=1)
            .on_conflict_do_update(
                index_elements=["kind", "year"],
                set_={"last": DocumentNumberSequence.last + 1},
            )
            .returning(DocumentNumberSequence.last)
        )
        number = await self.session.scalar(statement)
        assert number is not None
        return number

    async def current(self, kind: str, subject_id: UUID) -> IssuedDocument | None:
        return await self.session.scalar(
            sa.select(IssuedDocument).where(
                IssuedDocument.kind == kind,
                IssuedDocument.subject_id == subject_id,
                IssuedDocument.superseded_at.is_(None),
            )
        )

    async def get(self, document_id: UUID) -> IssuedDocument | None:
        return await self.session.get(IssuedDocument, document_id)

    async def by_sha256(self, sha256: str) -> IssuedDocument | None:
        return await self.session.scalar(
            sa.select(IssuedDocument).where(IssuedDocument.sha256 == sha256)
        )

    async def of_project(
        self, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[IssuedDocument]:
        rows = await self.session.scalars(
            sa.select(IssuedDocument)
            .where(IssuedDocument.project_id == project_id)
            .order_by(IssuedDocument.kind, IssuedDocument.version.desc())
            .offset(offset)
            .limit(limit)
        )
        return rows.all()

    async def public_notices(
        self, call_id: UUID, *, offset: int, limit: int
    ) -> Sequence[IssuedDocument]:
        rows = await self.session.scalars(
            sa.select(IssuedDocument)
            .where(
                IssuedDocument.call_id == call_id,
                IssuedDocument.kind == DocumentKind.public_notice,
            )
            .order_by(IssuedDocument.version.desc())
            .offset(offset)
            .limit(limit)
        )
        return rows.all()

    # --- what the documents state ------------------------------------------------------------

    async def program(self, program_id: UUID) -> Program:
        program = await self.session.get(Program, program_id)
        assert program is not None  # a foreign key of every project and call
        return program

    async def call(self, call_id: UUID, *, lock: bool = False) -> Call | None:
        query = sa.select(Call).where(Call.id == call_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def decided_at(self, project: Project) -> datetime | None:
        return await self.session.scalar(
            sa.select(Application.decided_at).where(Application.id == project.application_id)
        )

    async def acceptance(self, project_id: UUID) -> Report | None:
        """The final report whose review accepted the project."""
        return await self.session.scalar(
            sa.select(Report)
            .where(
                Report.project_id == project_id,
                Report.kind == "final",
                Report.status.in_(ACCEPTED_VERDICTS),
            )
            .order_by(Report.reviewed_at.desc())
            .limit(1)
        )

    async def announced(self, call_id: UUID) -> Sequence[Project]:
        """The call's approved projects the public sees, in number order."""
        rows = await self.session.scalars(
            sa.select(Project)
            .where(Project.call_id == call_id, Project.status.in_(PUBLIC_PROJECT_STATES))
            .order_by(Project.number)
        )
        return rows.all()
