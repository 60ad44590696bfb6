"""The events funds skipped before consumers parked events are kept: the migration moves them
from `grant_skipped_events` into `event_dead_letters` (as discarded), and back on downgrade."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from shared.db import asyncpg_dsn
from shared.devdb import create_database, drop_database
from shared.ids import uuid7
from shared.migrate import alembic_config

SKIPPED = {
    "event_id": uuid7(),
    "event_type": "project.accepted",
    "project_id": str(uuid7()),
    "reason": "grant_frozen",
    "payload": {"project_id": "p", "result": "passed"},
    "occurred_at": datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
}


@pytest.fixture
def funds_url(postgres_server_url: str) -> Iterator[str]:
    name = f"sciplan_skipped_{os.getpid()}"
    url = asyncio.run(create_database(postgres_server_url, name, drop_first=True))
    try:
        yield url
    finally:
        asyncio.run(drop_database(postgres_server_url, name))


def _fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def test_skipped_events_move_into_the_dead_letters_and_back(funds_url: str) -> None:
    config = alembic_config("funds", funds_url)
    [dead_letters] = [
        revision
        for revision in ScriptDirectory.from_config(config).walk_revisions()
        if (revision.doc or "").startswith("event dead letters")
    ]
    before = dead_letters.down_revision
    assert isinstance(before, str)
    command.upgrade(config, before)
    _fetch(
        funds_url,
        "INSERT INTO funds.grant_skipped_events"
        " (event_id, event_type, project_id, reason, payload, occurred_at)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        SKIPPED["event_id"],
        SKIPPED["event_type"],
        SKIPPED["project_id"],
        SKIPPED["reason"],
        json.dumps(SKIPPED["payload"]),
        SKIPPED["occurred_at"],
    )

    command.upgrade(config, dead_letters.revision)
    [moved] = _fetch(funds_url, "SELECT * FROM funds.event_dead_letters")
    assert (moved["event_id"], moved["event_type"], moved["source"]) == (
        SKIPPED["event_id"],
        "project.accepted",
        "projects",
    )
    assert (moved["aggregate_type"], moved["aggregate_id"]) == ("project", SKIPPED["project_id"])
    assert (moved["status"], moved["error"]) == ("discarded", "grant_frozen")
    assert json.loads(moved["payload"]) == SKIPPED["payload"]
    assert moved["occurred_at"] == SKIPPED["occurred_at"]
    assert moved["resolved_by"] == "grant_skipped_events"

    command.downgrade(config, before)
    [back] = _fetch(funds_url, "SELECT * FROM funds.grant_skipped_events")
    assert (back["event_id"], back["reason"], back["project_id"]) == (
        SKIPPED["event_id"],
        "grant_frozen",
        SKIPPED["project_id"],
    )
