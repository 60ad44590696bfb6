"""The audit log's hash chain: each row's hash covers its content and the previous row's hash.

Rows are numbered without gaps under an advisory lock, so a deleted row shows as a gap, an
edited row as a hash that no longer matches, and a reordered pair as broken links. The database
numbers and hashes the rows it appends (`gateway.append_audit`, in the migration
`audit_append_1`); `entry_hash` is the same hash, for `verify`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit.repository import AuditRepository, ChainAppender
from services.gateway.models import AuditEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor: str | None
    method: str
    path: str
    status: int
    request_id: str
    client_address: str | None


def content_after_seq(record: AuditRecord) -> str:
    """The hashed JSON array [seq, at, actor, ...] after "[seq,": the database numbers the rows
    and completes it (`gateway.append_audit`)."""
    rest = json.dumps(
        [
            record.at.isoformat(),
            record.actor,
            record.method,
            record.path,
            record.status,
            record.request_id,
            record.client_address,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return rest[1:]


def entry_hash(seq: int, prev_hash: str, record: AuditRecord) -> str:
    content = f"[{seq},{content_after_seq(record)}"
    return hashlib.sha256(f"{prev_hash}|{content}".encode()).hexdigest()


async def append_all(repository: ChainAppender, records: list[AuditRecord]) -> list[int]:
    """Appends `records` in order, under the chain's lock; their sequence numbers."""
    if not records:
        return []
    last = await repository.append(records, [content_after_seq(r) for r in records])
    return list(range(last - len(records) + 1, last + 1))


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    at_seq: int | None = None


async def _entries(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEntry]:
    """All rows in order, a batch at a time (no cursor held open between batches)."""
    repository, after = AuditRepository(session), None
    while True:
        rows = await repository.entries(after=after, limit=batch)
        for entry in rows:
            yield entry
        if len(rows) < batch:
            return
        after = rows[-1].seq


async def verify(session: AsyncSession) -> VerifyResult:
    expected_seq, prev, checked = 1, GENESIS, 0
    async for entry in _entries(session):
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, f"row {expected_seq} is missing", expected_seq)
        if entry.prev_hash != prev:
            return VerifyResult(False, checked, "link to the previous row is broken", entry.seq)
        record = AuditRecord(
            at=entry.at,
            actor=entry.actor,
            method=entry.method,
            path=entry.path,
            status=entry.status,
            request_id=entry.request_id,
            client_address=entry.client_address,
        )
        if entry_hash(entry.seq, prev, record) != entry.hash:
            return VerifyResult(False, checked, "row content does not match its hash", entry.seq)
        prev, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return VerifyResult(True, checked)
