"""Running the per-service Alembic environments.

Each env.py calls `run_environment(metadata, schema)`; `upgrade_all(url)` runs every service's
migrations in order (the gateway first: the others read its events).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.states import render_state_type

SERVICES = ("gateway", "projects", "credit", "funds", "notify", "portal")
ROOT = Path(__file__).resolve().parent.parent
URL_VARIABLE = "SCIPLAN_DATABASE_URL"


def alembic_config(service: str, url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"), ini_section=service)
    config.set_main_option("script_location", str(ROOT / "migrations" / service))
    config.attributes["database_url"] = url
    return config


def upgrade_all(url: str, revision: str = "head") -> None:
    for service in SERVICES:
        command.upgrade(alembic_config(service, url), revision)


def _configure_and_run(connection: Connection, metadata: sa.MetaData, schema: str) -> None:
    connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        compare_type=True,
        render_item=render_state_type,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: sa.MetaData, schema: str) -> None:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure_and_run, metadata, schema)
    finally:
        await engine.dispose()


def run_environment(metadata: sa.MetaData, schema: str) -> None:
    url = context.config.attributes.get("database_url") or os.environ.get(URL_VARIABLE)
    if not url:
        raise SystemExit(f"set {URL_VARIABLE} to run migrations")
    asyncio.run(_run_online(url, metadata, schema))
