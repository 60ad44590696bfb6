"""The SQL of applications, versions, attachments and formal checks."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.exceptions import DuplicateApplication
from services.projects.models import (
    Application,
    ApplicationVersion,
    Attachment,
    Call,
    FormalCheck,
    Project,
    Transition,
    directory,
)
from services.projects.models.lifecycle import RUNNING

# Projects that count against a PI's limit of concurrent projects (限项).
# The partial unique index keeping one live application per person per call.
ONE_LIVE_PER_CALL = "ix_applications_call_id_applicant_id"
# (version, saved_by, saved_at) of one saved version
VersionRow = sa.Row[int, UUID, datetime]


@dataclass(frozen=True)
class Labels:
    """What lists show of an application besides its own columns: its call's title and the
    applicant's name (empty while the directory has not heard of them)."""

    call_title: str
    applicant_name: str


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- calls and the directory -----------------------------------------------------------

    async def call(self, call_id: UUID, *, hold: bool = False) -> Call | None:
        """The call; with `hold`, locked FOR KEY SHARE until commit, so a cancellation (which
        locks it FOR UPDATE) waits for this submission and then sees it, or goes first."""
        if hold:
            return await self.session.get(
                Call,
                call_id,
                with_for_update={"read": True, "key_share": True},
                populate_existing=True,
            )
        return await self.session.get(Call, call_id)

    async def organization_kind(self, org_id: UUID) -> str | None:
        kind: str | None = await self.session.scalar(
            sa.select(directory.organizations.c.kind).where(directory.organizations.c.id == org_id)
        )
        return kind

    async def active_people(self, user_ids: Iterable[UUID]) -> set[UUID]:
        ids = list(user_ids)
        if not ids:
            return set()
        users = directory.users
        rows = await self.session.scalars(
            sa.select(users.c.id).where(users.c.id.in_(ids), users.c.is_active)
        )
        return set(rows.all())

    # --- applications ----------------------------------------------------------------------

    async def get(self, application_id: UUID) -> Application | None:
        return await self.session.get(Application, application_id)

    async def locked(self, application_id: UUID) -> Application | None:
        """The application, locked until the transaction ends (and read afresh)."""
        return await self.session.scalar(
            sa.select(Application)
            .where(Application.id == application_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def add(self, application: Application, first: ApplicationVersion) -> None:
        """Insert an application with its first version; a live one for the call is a duplicate."""
        self.session.add(application)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            if ONE_LIVE_PER_CALL in str(exc.orig):
                raise DuplicateApplication() from exc
            raise
        self.session.add(first)
        await self.session.flush()

    async def add_version(self, version: ApplicationVersion) -> None:
        self.session.add(version)
        await self.session.flush()

    async def page(
        self,
        visible: sa.ColumnElement[bool],
        whole: sa.ColumnElement[bool],
        *,
        call_id: UUID | None,
        status: str | None,
        before: UUID | None,
        offset: int,
        limit: int,
    ) -> list[tuple[Application, bool, Labels]]:
        """Visible applications, newest first, each with whether `whole` holds for it and its
        labels."""
        users = directory.users
        query = (
            sa.select(Application, whole.label("whole"), Call.title, users.c.display_name)
            .join(Call, Call.id == Application.call_id)
            .outerjoin(users, users.c.id == Application.applicant_id)
            .where(visible)
            .order_by(Application.id.desc())
            .limit(limit)
        )
        if call_id is not None:
            query = query.where(Application.call_id == call_id)
        if status is not None:
            query = query.where(Application.status == status)
        # A cursor continues after the last one seen; an offset counts from the newest.
        query = query.where(Application.id < before) if before is not None else query.offset(offset)
        return [
            (row[0], bool(row[1]), Labels(row[2], row[3] or ""))
            for row in await self.session.execute(query)
        ]

    async def labels(self, application: Application) -> Labels:
        users = directory.users
        row = (
            await self.session.execute(
                sa.select(Call.title, users.c.display_name)
                .select_from(Call)
                .outerjoin(users, users.c.id == application.applicant_id)
                .where(Call.id == application.call_id)
            )
        ).one()
        return Labels(row[0], row[1] or "")

    # --- versions --------------------------------------------------------------------------

    async def version(self, application_id: UUID, number: int) -> ApplicationVersion | None:
        return await self.session.get(ApplicationVersion, (application_id, number))

    async def versions(
        self, application_id: UUID, *, only: Collection[int] | None, offset: int, limit: int
    ) -> Sequence[VersionRow]:
        """Who saved which version when (of `only` these, if given); not the contents (each a
        JSON document of its own)."""
        query = (
            sa.select(
                ApplicationVersion.version, ApplicationVersion.saved_by, ApplicationVersion.saved_at
            )
            .where(ApplicationVersion.application_id == application_id)
            .order_by(ApplicationVersion.version)
            .offset(offset)
            .limit(limit)
        )
        if only is not None:
            query = query.where(ApplicationVersion.version.in_(list(only)))
        return (await self.session.execute(query)).all()

    async def submitted_versions(self, application: Application) -> set[int]:
        """Every version the applicant ever submitted (the history says which)."""
        numbers = await self.session.scalars(
            sa.select(Transition.details["version"].as_integer()).where(
                Transition.application_id == application.id,
                Transition.entity == "application",
                Transition.action == "submit",
            )
        )
        found = {n for n in numbers.all() if n is not None}
        if application.submitted_version is not None:
            found.add(application.submitted_version)
        return found

    async def referenced_attachments(
        self, application_id: UUID, versions: Collection[int]
    ) -> set[UUID]:
        """The attachments these versions list."""
        if not versions:
            return set()
        rows = await self.session.scalars(
            sa.select(ApplicationVersion.content["attachments"]).where(
                ApplicationVersion.application_id == application_id,
                ApplicationVersion.version.in_(list(versions)),
            )
        )
        return {
            UUID(str(item["id"]))
            for listed in rows.all()
            if isinstance(listed, list)
            for item in listed
            if isinstance(item, dict) and "id" in item
        }

    async def submitted_heads(
        self, applications: Collection[Application]
    ) -> dict[UUID, dict[str, Any]]:
        """Title and budget of each application's submitted version (what staff are shown)."""
        keys = [(a.id, a.submitted_version) for a in applications if a.submitted_version]
        if not keys:
            return {}
        content = ApplicationVersion.content
        rows = await self.session.execute(
            sa.select(
                ApplicationVersion.application_id,
                content["title"].as_string().label("title"),
                content["budget"].label("budget"),
            ).where(
                sa.tuple_(ApplicationVersion.application_id, ApplicationVersion.version).in_(keys)
            )
        )
        return {r.application_id: {"title": r.title, "budget": r.budget} for r in rows}

    # --- attachments -----------------------------------------------------------------------

    async def add_attachment(self, attachment: Attachment) -> None:
        self.session.add(attachment)
        await self.session.flush()

    async def attachments(
        self, application_id: UUID, *, only: Collection[UUID] | None, offset: int, limit: int
    ) -> Sequence[Attachment]:
        query = (
            sa.select(Attachment)
            .where(Attachment.application_id == application_id)
            .order_by(Attachment.id)
            .offset(offset)
            .limit(limit)
        )
        if only is not None:
            query = query.where(Attachment.id.in_(list(only)))
        return (await self.session.scalars(query)).all()

    async def attachment_kinds(self, application_id: UUID, ids: Iterable[UUID]) -> dict[UUID, str]:
        wanted = list(ids)
        if not wanted:
            return {}
        rows = await self.session.execute(
            sa.select(Attachment.id, Attachment.kind).where(
                Attachment.application_id == application_id, Attachment.id.in_(wanted)
            )
        )
        return {row.id: row.kind for row in rows}

    async def attachment(self, application_id: UUID, attachment_id: UUID) -> Attachment | None:
        return await self.session.scalar(
            sa.select(Attachment).where(
                Attachment.id == attachment_id, Attachment.application_id == application_id
            )
        )

    async def delete_attachment(self, attachment: Attachment) -> None:
        await self.session.delete(attachment)
        await self.session.flush()

    # --- attachments still held in the database (before the object store) ----------------

    async def unmoved_attachments(self, limit: int) -> Sequence[Attachment]:
        return (
            await self.session.scalars(
                sa.select(Attachment)
                .where(Attachment.object_key.is_(None))
                .order_by(Attachment.id)
                .limit(limit)
            )
        ).all()

    async def legacy_content_slice(self, attachment_id: UUID, start: int, length: int) -> bytes:
        """`length` bytes of the stored content from `start` (0-based), read in the database."""
        found = await self.session.scalar(
            sa.select(sa.func.substring(Attachment.legacy_content, start + 1, length)).where(
                Attachment.id == attachment_id
            )
        )
        return bytes(found or b"")

    async def mark_moved(self, attachment_id: UUID, object_key: str) -> bool:
        """Points the row at its object and empties its content; False if another run did."""
        result = await self.session.execute(
            sa.update(Attachment)
            .where(Attachment.id == attachment_id, Attachment.object_key.is_(None))
            .values(object_key=object_key, legacy_content=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- formal checks and the projects a PI leads -----------------------------------------

    @staticmethod
    def _latest_check(application_id: UUID) -> sa.Select[FormalCheck]:
        # The pending check (at most one: re-runs update it) comes first, then the last decided.
        return (
            sa.select(FormalCheck)
            .where(FormalCheck.application_id == application_id)
            .order_by(FormalCheck.outcome.is_(None).desc(), FormalCheck.id.desc())
            .limit(1)
        )

    async def latest_check(self, application_id: UUID) -> FormalCheck | None:
        return await self.session.scalar(self._latest_check(application_id))

    async def locked_latest_check(self, application_id: UUID) -> FormalCheck | None:
        return await self.session.scalar(
            self._latest_check(application_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def add_check(self, check: FormalCheck) -> None:
        self.session.add(check)
        await self.session.flush()
        await self.session.refresh(check, ["created_at"])

    async def active_projects_led_by(self, pi_id: UUID) -> int:
        count: int = (
            await self.session.scalar(
                sa.select(sa.func.count())
                .select_from(Project)
                .where(Project.pi_id == pi_id, Project.status.in_(RUNNING))
            )
            or 0
        )
        return count

    async def touch(self, application: Application, **values: Any) -> None:
        for name, value in values.items():
            setattr(application, name, value)
        await self.session.flush()
