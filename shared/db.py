"""Database plumbing: one async engine per service, a naming convention, and the transaction rule.

The framework owns the transaction: a request gets one session from `SessionDep`; the session
commits after the endpoint returns and before the response is sent, and rolls back on any
error. Domain code only ever calls `flush()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.errors import AppError, ServiceUnavailable, Text, problem_response, unexpected_error
from shared.fair_pool import FifoAsyncPool
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> sa.MetaData:
    """Metadata for one service: every table in the service's own PostgreSQL schema."""
    return sa.MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs and point them at asyncpg."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def asyncpg_dsn(url: str) -> str:
    """The same URL as asyncpg's own `connect()` wants it (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Database:
    """An engine and its session factory, owned by the app's lifespan."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.engine: AsyncEngine = create_async_engine(
            async_url(settings.database_url.get_secret_value()),
            # Waiting requests get connections in the order they asked (see fair_pool).
            poolclass=FifoAsyncPool,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            # No ping before each checkout: with asyncpg it costs three round trips a request
            # (BEGIN, a query, ROLLBACK). A connection found dead answers 503 once and makes
            # the pool drop every connection opened before it (SQLAlchemy's pool invalidation).
            pool_pre_ping=False,
            connect_args={
                "timeout": settings.db_pool_timeout_seconds,
                "command_timeout": settings.db_statement_timeout_ms / 1000 + 1,
                "server_settings": {
                    "statement_timeout": str(settings.db_statement_timeout_ms),
                    "application_name": f"sciplan-{settings.service_name}",
                },
            },
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # The same pool, in autocommit: a lookup that reads with a single statement sends just
        # that statement (a statement is its own snapshot; BEGIN and COMMIT would be two more
        # round trips on the hottest reads).
        self.reader: AsyncEngine = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection from the pool (tests swap in their own transaction's)."""
        async with self.reader.connect() as connection:
            yield connection

    async def ping(self, within_seconds: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(within_seconds), self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except (OSError, DBAPIError, PoolTimeout, TimeoutError) as exc:
            log.warning("database ping failed: %s", exc.__class__.__name__)
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


async def driver_connection(on: AsyncConnection | AsyncSession) -> asyncpg.Connection:
    """asyncpg's own connection under `on` (a session's: in its transaction, if it has one)."""
    connection = await on.connection() if isinstance(on, AsyncSession) else on
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    return driver


def as_dbapi_error(sql: str, args: list[Any], exc: Exception) -> DBAPIError:
    """A driver error in SQLAlchemy's terms, so the app's handlers answer as for any statement."""
    return DBAPIError(sql, args, exc, connection_invalidated=isinstance(exc, _OUTAGES))


DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


class CompiledRead:
    """A SELECT compiled once to asyncpg's SQL and run on the driver's own connection.

    SQLAlchemy's async execution costs about 0.3 ms of CPU a statement on these machines (the
    greenlet bridge and the result machinery) against 0.04 ms for asyncpg itself; on the
    lookups every request makes (the caller in the directory, whether they are active) that was
    most of a request's cost. For plain columns only: no TypeDecorator runs on the way in or out.
    The statement names its parameters with `sa.bindparam`; values are passed by name.
    """

    def __init__(self, statement: sa.Select[Any]) -> None:
        compiled = statement.compile(dialect=postgresql_asyncpg.dialect())
        self.sql = compiled.string
        self._names = tuple(compiled.positiontup or ())

    async def first(
        self, on: AsyncConnection | AsyncSession, **values: object
    ) -> asyncpg.Record | None:
        """The first row, on the connection (a session's: in its transaction, if it has one)."""
        driver = await driver_connection(on)
        args = [values[name] for name in self._names]
        try:
            row: asyncpg.Record | None = await driver.fetchrow(self.sql, *args)
        except DRIVER_ERRORS as exc:
            raise as_dbapi_error(self.sql, args, exc) from exc
        return row


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.db
    async with database.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except AppError as exc:
            await (session.commit() if exc.keep_writes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise


async def _read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    database: Database = request.app.state.db
    async with database.reading() as connection:
        yield connection


async def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    database: Database = request.app.state.db
    return database.sessionmaker


# scope="function": the dependency's exit (the commit) runs before the response is sent,
# so a client never sees 200 for a write that failed to commit.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
# Sessions of their own, for what a request must read before it asks another service: each is
# closed before the question is sent, so no connection, lock or transaction is held while the
# other service answers; the request's SessionDep then locks and checks again.
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
# For endpoints that only read, with one statement: no transaction, nothing to commit.
ReadDep = Annotated[AsyncConnection, Depends(_read_connection, scope="function")]
# The database itself, for an endpoint that chooses per request between one statement on an
# autocommit connection and a session's transaction (and so holds only the one it uses).
DatabaseDep = Annotated[Database, Depends(_database)]


_UNREACHABLE = Text(
    "暂时无法连接数据库或依赖服务，请稍后重试",
    "The database or a service this request needs is unreachable; try again shortly",
)
_DB_DOWN = Text("数据库暂不可用，请稍后重试", "The database is unavailable; try again shortly")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return problem_response(
        request,
        status=503,
        code=ServiceUnavailable.code,
        title=ServiceUnavailable.title,
        detail=_DB_DOWN,
        headers={"Retry-After": "2"},
    )


async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("a dependency is unreachable: %r", exc)
    return problem_response(
        request,
        status=503,
        code=ServiceUnavailable.code,
        title=ServiceUnavailable.title,
        detail=_UNREACHABLE,
        headers={"Retry-After": "2"},
    )


def _cause(exc: DBAPIError) -> BaseException | None:
    """The asyncpg exception under SQLAlchemy's adapter."""
    return getattr(exc.orig, "__cause__", None) or exc.orig


# Driver errors that mean "no database right now", not a bug in a statement: the connection
# is gone, the server is starting or shutting down, or (asyncpg's InternalClientError, "cannot
# switch to state 12") a connection was left mid-protocol by one the server cut off.
_OUTAGES = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


def _lost_connection(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or isinstance(_cause(exc), _OUTAGES)


def is_database_outage(exc: BaseException) -> bool:
    """True for a failure to reach the database (answered 503), false for anything else."""
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError | InterfaceError) or _lost_connection(exc)
    return isinstance(exc, (*_OUTAGES, PoolTimeout, TimeoutError))


# Statements that failed for the moment, not for what they say: a serialization failure or a
# deadlock (class 40), a lock not available, a statement timed out or cancelled.
_RETRY_LATER = frozenset({"40001", "40P01", "55P03", "57014"})


def is_transient_failure(exc: BaseException) -> bool:
    """True when trying the same work again later may succeed (an outage, a deadlock, a lock
    or statement timeout); false for a failure the work itself causes."""
    if is_database_outage(exc):
        return True
    if isinstance(exc, DBAPIError):
        return getattr(_cause(exc), "sqlstate", None) in _RETRY_LATER
    return False


async def _driver_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DBAPIError) and _lost_connection(exc):
        return await _database_unavailable(request, exc)
    # Text PostgreSQL cannot store (a NUL character) is bad input, not a server fault; the
    # transaction rolls back, so nothing is half-written.
    if isinstance(exc, DBAPIError) and isinstance(
        _cause(exc), asyncpg.CharacterNotInRepertoireError | asyncpg.UntranslatableCharacterError
    ):
        return problem_response(
            request,
            status=422,
            code="request.invalid_text",
            title=Text(
                "文本含有无法保存的字符（如 NUL）",
                "Text contains a character that cannot be stored (e.g. NUL)",
            ),
        )
    return await unexpected_error(request, exc)


def install_db_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    # Connecting failed: refused (TCP), no socket file (a stopped local server), unreachable.
    # (Other services' outages are each client's own 503, e.g. `credit.unavailable`.)
    app.add_exception_handler(OSError, _unreachable)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    # "the database system is shutting down" and dropped connections arrive as plain DBAPIError.
    app.add_exception_handler(DBAPIError, _driver_error)
