"""Moving the attachments kept in the database (before the object store) into the store.

Run by `sciplan migrate` (and `sciplan attachments move-to-store`) after the migrations. Each
file is read from PostgreSQL in slices of a megabyte, written to the store under a key of this
run's own, checked against the SHA-256 and size recorded at upload, and only then is the row
pointed at it and its bytes emptied, in a transaction of its own. No transaction is held while
the store works. Safe to run again, or by two processes at once: the first to point the row at
its object wins, the other removes its own copy.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects.applications.repository import ApplicationRepository
from services.projects.models import Attachment
from shared.objectstore.base import ObjectStore

log = logging.getLogger(__name__)

SLICE_BYTES = 1024 * 1024
BATCH = 100


@dataclass
class MoveReport:
    moved: int = 0
    # Rows whose bytes do not match their recorded SHA-256 or size: left in the database.
    damaged: list[UUID] = field(default_factory=list)


async def _slices(
    sessions: async_sessionmaker[AsyncSession], attachment: Attachment
) -> AsyncIterator[bytes]:
    for start in range(0, attachment.size_bytes, SLICE_BYTES):
        async with sessions() as session:
            chunk = await ApplicationRepository(session).legacy_content_slice(
                attachment.id, start, SLICE_BYTES
            )
        if not chunk:
            return
        yield chunk


async def _moved_meanwhile(
    sessions: async_sessionmaker[AsyncSession], attachment: Attachment
) -> bool:
    async with sessions() as session:
        now = await ApplicationRepository(session).attachment(
            attachment.application_id, attachment.id
        )
    return now is None or now.object_key is not None


async def move_to_store(
    sessions: async_sessionmaker[AsyncSession], store: ObjectStore
) -> MoveReport:
    report = MoveReport()
    run = secrets.token_hex(4)
    skipped: set[UUID] = set()
    while True:
        async with sessions() as session:
            batch = [
                a
                for a in await ApplicationRepository(session).unmoved_attachments(
                    BATCH + len(skipped)
                )
                if a.id not in skipped
            ]
        if not batch:
            return report
        for attachment in batch:
            key = f"attachments/{attachment.application_id}/{attachment.id}-{run}"
            stored = await store.put(key, _slices(sessions, attachment))
            if (stored.sha256, stored.size) != (attachment.sha256, attachment.size_bytes):
                await store.delete(key)
                if not await _moved_meanwhile(sessions, attachment):
                    log.error("attachment %s does not match its SHA-256 or size", attachment.id)
                    report.damaged.append(attachment.id)
                    skipped.add(attachment.id)
                continue
            async with sessions() as session, session.begin():
                moved = await ApplicationRepository(session).mark_moved(attachment.id, key)
            if moved:
                report.moved += 1
            else:
                await store.delete(key)  # another run moved it first
