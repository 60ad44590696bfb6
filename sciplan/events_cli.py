"""`sciplan events`: the events the services parked (dead letters), listed, retried, discarded.

The command works on the database, as the others do. A retry is carried out by the service
that parked the event (its handlers, its settings): the command asks for it, and waits until
that service's consumer has replayed the event at its next poll.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Annotated, Any, cast
from uuid import UUID

import sqlalchemy as sa
import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.db import async_url
from shared.errors import AppError
from shared.events import dead_letters
from shared.events.dead_letters import DeadLetterNotFound, StatusFilter
from shared.events.tables import EventTables, event_tables

# The services that consume other services' events (the gateway: projects' `expert.admitted`).
CONSUMERS = ("gateway", "projects", "credit", "funds", "notify")
STATUSES = ("unresolved", "failed", "waiting", "applied", "discarded", "all")

# The `sciplan` command's database: SCIPLAN_DATABASE_URL or the embedded one (yields the URL).
Database = Callable[[], AbstractContextManager[str]]


def _tables(service: str) -> EventTables:
    return event_tables(sa.MetaData(schema=service))


@asynccontextmanager
async def _session(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(async_url(url), pool_size=1)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            yield session
    finally:
        await engine.dispose()


def _operator() -> str:
    return f"cli:{getpass.getuser()}"[:100]


def _fail(exc: AppError) -> typer.Exit:
    extra = ", ".join(f"{key}={value}" for key, value in exc.extra.items())
    typer.echo(f"{exc.code}: {exc}" + (f" ({extra})" if extra else ""), err=True)
    return typer.Exit(1)


def _line(service: str, row: Any) -> str:
    failed = f"{row.last_failed_at:%Y-%m-%d %H:%M:%S}" if row.last_failed_at else "-"
    error = row.error if row.status != "waiting" else f"waiting behind {row.blocked_by}"
    return (
        f"{row.id}  {service:<8} from {row.source:<8} {row.event_type:<26} "
        f"{row.aggregate_type}:{row.aggregate_id}  {row.status:<9} attempts={row.attempts} "
        f"last={failed}  {error[:160]}"
    )


async def _list(url: str, services: list[str], status: StatusFilter) -> list[str]:
    lines = []
    async with _session(url) as session:
        for service in services:
            rows = await dead_letters.list_letters(
                session, _tables(service), status=status, source=None, offset=0, limit=10_000
            )
            lines += [_line(service, row) for row in rows]
    return lines


async def _find(session: AsyncSession, letter_id: UUID) -> tuple[str, EventTables]:
    """The service whose schema holds the letter."""
    for service in CONSUMERS:
        tables = _tables(service)
        try:
            await dead_letters.letter(session, tables, letter_id)
        except DeadLetterNotFound:
            continue
        return service, tables
    raise DeadLetterNotFound()


async def _request_retry(url: str, letter_id: UUID) -> str:
    async with _session(url) as session, session.begin():
        service, tables = await _find(session, letter_id)
        await dead_letters.request_retry(session, tables, letter_id, actor=_operator())
    return service


async def _outcome(url: str, service: str, letter_id: UUID) -> Any:
    async with _session(url) as session:
        return await dead_letters.letter(session, _tables(service), letter_id)


async def _discard(url: str, letter_id: UUID, reason: str) -> tuple[str, Any]:
    async with _session(url) as session, session.begin():
        service, tables = await _find(session, letter_id)
        row, _ = await dead_letters.discard(
            session, tables, {}, letter_id, actor=_operator(), reason=reason
        )
    return service, row


def commands(database: Database) -> typer.Typer:
    """The `events` commands, on the database the `sciplan` command uses."""
    events_app = typer.Typer(
        help="Events the services could not apply (dead letters).", no_args_is_help=True
    )

    @events_app.command("dead-letters")
    def list_dead_letters(
        service: Annotated[
            str | None, typer.Option(help="projects, credit or funds (default: all three)")
        ] = None,
        status: Annotated[
            str,
            typer.Option(
                help="unresolved (failed or waiting), failed, waiting, applied, discarded or all"
            ),
        ] = "unresolved",
    ) -> None:
        """List parked events, oldest first: id, service, source, type, aggregate, status,
        attempts, last failure, error."""
        if service is not None and service not in CONSUMERS:
            typer.echo(f"--service is one of {', '.join(CONSUMERS)}", err=True)
            raise typer.Exit(2)
        if status not in STATUSES:
            typer.echo(f"--status is one of {', '.join(STATUSES)}", err=True)
            raise typer.Exit(2)
        services = [service] if service else list(CONSUMERS)
        with database() as url:
            lines = asyncio.run(_list(url, services, cast(StatusFilter, status)))
        for line in lines:
            typer.echo(line)
        if not lines:
            typer.echo("no dead letters" + ("" if status == "all" else f" ({status})"))

    @events_app.command("retry")
    def retry(
        letter_id: Annotated[UUID, typer.Argument(metavar="ID", help="the dead letter's id")],
        wait: Annotated[
            float, typer.Option(help="seconds to wait for the service to replay it")
        ] = 30.0,
    ) -> None:
        """Apply a parked event again, then those of its aggregate waiting behind it.

        The service that parked it replays it at its next poll; exits 0 when it applied, 1 when
        it failed again (the new error is shown), 3 when no consumer replayed it in time (the
        request stands: the service replays it when it runs).
        """
        with database() as url:
            try:
                service = asyncio.run(_request_retry(url, letter_id))
            except AppError as exc:
                raise _fail(exc) from None
            deadline = time.monotonic() + wait
            row = asyncio.run(_outcome(url, service, letter_id))
            while row.retry_requested_at is not None and time.monotonic() < deadline:
                time.sleep(0.5)
                row = asyncio.run(_outcome(url, service, letter_id))
        if row.retry_requested_at is not None:
            typer.echo(f"retry requested; {service} has not replayed it yet (is it running?)")
            raise typer.Exit(3)
        if row.status == "applied":
            typer.echo(f"applied ({service}, {row.event_type}, {row.resolution})")
            return
        typer.echo(f"failed again (attempt {row.attempts}): {row.error}", err=True)
        raise typer.Exit(1)

    @events_app.command("discard")
    def discard(
        letter_id: Annotated[UUID, typer.Argument(metavar="ID", help="the dead letter's id")],
        reason: Annotated[str, typer.Option(help="why it need not be applied (kept)")],
    ) -> None:
        """Give up on a parked event (the matter was settled by hand). The events of its
        aggregate that waited behind it are replayed by the service at its next poll."""
        if len(reason.strip()) < 2:
            typer.echo("--reason says why (at least 2 characters)", err=True)
            raise typer.Exit(2)
        with database() as url:
            try:
                service, row = asyncio.run(_discard(url, letter_id, reason.strip()))
            except AppError as exc:
                raise _fail(exc) from None
        typer.echo(f"discarded ({service}, {row.event_type}); those behind it are replayed")

    return events_app
