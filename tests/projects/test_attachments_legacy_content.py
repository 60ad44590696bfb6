"""Attachments kept in the database before the object store move into it, checked by their
SHA-256; a file whose bytes do not match stays where it is and is reported."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects.applications import legacy_content
from services.projects.applications.legacy_content import move_to_store
from services.projects.models import Attachment
from shared.ids import uuid7
from shared.objectstore.directory import DirectoryStore
from tests.projects.conftest import Projects, insert_call
from tests.projects.test_applications_helpers import PDF, draft


def stored(store: DirectoryStore) -> list[str]:
    return [str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file()]


async def test_rows_with_their_bytes_in_the_database_move_to_the_store(
    projects: Projects,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    # Larger than a slice: read out of PostgreSQL in several.
    sound = PDF + os.urandom(legacy_content.SLICE_BYTES * 2 + 123)
    rows = [
        Attachment(
            id=uuid7(),
            application_id=application["id"],
            kind="feasibility_report",
            filename="报告.pdf",
            content_type="application/pdf",
            size_bytes=len(data),
            sha256=hashlib.sha256(recorded).hexdigest(),
            legacy_content=data,
            uploaded_by=projects.callers["applicant"].user_id,
        )
        for data, recorded in ((sound, sound), (PDF, PDF + b"changed since"))
    ]
    session.add_all(rows)
    await session.commit()
    moved, damaged = rows

    store = DirectoryStore(tmp_path / "moved")
    report = await move_to_store(sessionmaker, store)
    assert (report.moved, report.damaged) == (1, [damaged.id])
    await session.refresh(moved)
    await session.refresh(damaged)
    assert moved.object_key is not None
    assert moved.object_key.startswith(f"attachments/{application['id']}/{moved.id}")
    assert await (await store.get(moved.object_key)).read_all() == sound
    emptied = sa.select(Attachment.legacy_content).where(Attachment.id == moved.id)
    assert await session.scalar(emptied) is None
    assert damaged.object_key is None
    # The damaged file's copy was removed again: the store holds the moved one only.
    assert stored(store) == [moved.object_key]

    # Run again: nothing more moves, the damaged one is reported again.
    again = await move_to_store(sessionmaker, store)
    assert (again.moved, again.damaged) == (0, [damaged.id])
    # Downloads read the moved one from the store.
    projects.app.state.objects = store
    path = f"/v1/applications/{application['id']}/attachments/{moved.id}"
    assert (await projects.call("GET", path, "applicant")).content == sound
