"""`sciplan set-password USERNAME`, run as the operator runs it: a process of its own."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import subprocess
import sys
import termios
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from services.gateway import operations
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.gateway.models import AuditEntry, User, events
from shared.db import Database
from shared.testing.plugin import migrated_database, running_app
from tests.conftest import ROOMY_RATE_LIMITS

FIRST = "the-first-password"
SECOND = "the-second-password"


@pytest.fixture(scope="module")
def own_database(postgres_server_url: str) -> Iterator[str]:
    """Committed rows, as the command sees them: a database of this module's own."""
    with migrated_database(postgres_server_url, f"sciplan_set_password_{os.getpid()}") as url:
        yield url


def _set_password(url: str, username: str, typed: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sciplan.cli", "set-password", username],
        input=typed,
        env=os.environ | {"SCIPLAN_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _at_a_terminal(url: str, username: str, typed: str) -> tuple[int, str]:
    """Runs the command with a terminal of its own (a pseudo-terminal made its controlling
    one, as in an operator's shell) and types `typed` into it; the exit code and the screen."""
    controller, terminal = pty.openpty()

    def own_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "sciplan.cli", "set-password", username],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=os.environ | {"SCIPLAN_DATABASE_URL": url},
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    screen = b""
    for line in typed.splitlines(keepends=True):
        # Type once the prompt is there: getpass flushes what was typed before it asks.
        while not screen.endswith(b": "):
            screen += os.read(controller, 1024)
        os.write(controller, line.encode())
        screen += os.read(controller, 1024)
    while True:
        try:
            chunk = os.read(controller, 1024)
        except OSError:  # the command ended and closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    return process.wait(timeout=120), screen.decode(errors="replace")


def test_at_a_terminal_the_password_is_asked_twice_and_never_shown(own_database: str) -> None:
    name = f"tty-{uuid.uuid4().hex[:8]}"
    settings = GatewaySettings(database_url=SecretStr(own_database))
    assert asyncio.run(operations.ensure_admin(settings, name, FIRST))
    code, screen = _at_a_terminal(
        own_database, name, f"one-password-1\ntwo-password-2\n{SECOND}\n{SECOND}\n"
    )
    assert code == 0, screen
    assert "do not match" in screen  # a typo is caught: asked again
    assert screen.count("Repeat for confirmation") == 2
    assert f"password of '{name}' set" in screen
    assert SECOND not in screen  # not echoed


async def test_the_operator_sets_a_password_and_every_session_ends(own_database: str) -> None:
    settings = GatewaySettings.model_validate(
        {
            "database_url": own_database,
            "environment": "test",
            "consume_events": False,
            "rate_limits": ROOMY_RATE_LIMITS,
        }
    )
    name = f"ops-{uuid.uuid4().hex[:8]}"
    assert await operations.ensure_admin(settings, name, FIRST)
    async with running_app(gateway_app(settings)) as app:
        transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            session = await client.post("/auth/token", data={"username": name, "password": FIRST})
            assert session.status_code == 200

            short = await asyncio.to_thread(_set_password, own_database, name, "short\n")
            assert short.returncode == 2
            assert "10 to 200 characters" in short.stderr
            unknown = await asyncio.to_thread(_set_password, own_database, "nobody-here", SECOND)
            assert unknown.returncode == 1
            done = await asyncio.to_thread(_set_password, own_database, name, SECOND + "\n")
            assert done.returncode == 0, done.stderr
            assert SECOND not in done.stdout + done.stderr

            refresh = session.json()["refresh_token"]
            assert (
                await client.post("/auth/refresh", data={"refresh_token": refresh})
            ).status_code == 401
            old = await client.post("/auth/token", data={"username": name, "password": FIRST})
            assert old.status_code == 401
            new = await client.post("/auth/token", data={"username": name, "password": SECOND})
            assert new.status_code == 200

    db = Database(GatewaySettings(database_url=SecretStr(own_database)))
    try:
        async with db.sessionmaker() as check:
            audited = (
                await check.execute(
                    sa.select(AuditEntry.actor, AuditEntry.method).where(
                        AuditEntry.path == f"sciplan set-password {name}"
                    )
                )
            ).all()
            told = await check.scalars(
                sa.select(events.outbox.c.payload).where(
                    events.outbox.c.event_type == "account.password_changed"
                )
            )
            assert [row.method for row in audited] == ["CLI"]
            assert str(audited[0].actor).startswith("operator:")
            user_id = await check.scalar(sa.select(User.id).where(User.username == name))
            assert [p["changed_by"] for p in told if p["user_id"] == str(user_id)] == ["operator"]
    finally:
        await db.dispose()
