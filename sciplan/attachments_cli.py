"""`sciplan attachments move-to-store`: attachments kept in the database (before the object
store) moved into the store the projects service is configured with (SCIPLAN_PROJECTS_OBJECT_STORE
and the rest). `sciplan migrate` and `sciplan dev` do it after migrating; run it by hand to see
what it did, or after fixing a file it reported as damaged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import typer
from pydantic import SecretStr

if TYPE_CHECKING:
    from services.projects.applications.legacy_content import MoveReport

# The `sciplan` command's database: SCIPLAN_DATABASE_URL or the embedded one (yields the URL).
DatabaseUrl = Callable[[], AbstractContextManager[str]]


async def _move(url: str) -> MoveReport:
    # Imported here: every `sciplan` command would otherwise load the projects service's models.
    from services.projects.applications.legacy_content import move_to_store
    from services.projects.config import ProjectsSettings
    from shared.db import Database

    settings = ProjectsSettings(database_url=SecretStr(url))
    database = Database(settings)
    store = settings.open_object_store()
    try:
        return await move_to_store(database.sessionmaker, store)
    finally:
        await store.close()
        await database.dispose()


def move_attachments(url: str) -> MoveReport:
    """Moves what is left to move; says so when it moved or found anything."""
    report = asyncio.run(_move(url))
    if report.moved:
        typer.echo(f"attachments moved into the object store: {report.moved}")
    if report.damaged:
        typer.echo(
            "attachments left in the database, their bytes not matching their SHA-256: "
            + ", ".join(str(i) for i in report.damaged),
            err=True,
        )
    return report


def commands(database: DatabaseUrl) -> typer.Typer:
    attachments = typer.Typer(help="Application attachments and the object store.")

    @attachments.command("move-to-store")
    def move() -> None:
        """Move attachments still held in the database into the object store."""
        with database() as url:
            report = move_attachments(url)
        if not report.moved and not report.damaged:
            typer.echo("nothing to move: every attachment is in the object store")
        if report.damaged:
            raise typer.Exit(1)

    return attachments
