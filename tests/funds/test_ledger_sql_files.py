"""The ledger's PL/pgSQL lives in versioned files that the migrations load.

The database runs the latest version of every function; a published version is never edited
(a change adds a version, which a new migration loads).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.funds.ledger.sql import function_sql, versions

SQL_DIR = Path(__file__).resolve().parents[2] / "services" / "funds" / "ledger" / "sql"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "funds" / "versions"
# The body PostgreSQL keeps (pg_proc.prosrc): what stands between the dollar quotes.
BODY = re.compile(r"AS (\$\w*\$)(?P<body>.*)\1", re.DOTALL)


def _published() -> dict[str, str]:
    sums = (SQL_DIR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split() for line in sums if line)}


async def test_the_database_runs_the_latest_version_of_every_function(
    connection: AsyncConnection,
) -> None:
    found = versions()
    assert set(found) == {
        "refuse_change",
        "guard_account",
        "apply_transfers",
        "create_transfers",
        "expire_pending_transfers",
    }
    for name, numbers in found.items():
        assert numbers == list(range(1, len(numbers) + 1)), f"{name}: versions {numbers}"
        match = BODY.search(function_sql(name, numbers[-1]))
        assert match is not None, name
        source = await connection.scalar(
            sa.text(
                "SELECT prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'funds' AND p.proname = :name"
            ),
            {"name": name},
        )
        assert source == match["body"], f"funds.{name} is not v{numbers[-1]}"


def test_a_published_version_is_never_edited() -> None:
    """Edit a function by adding `<name>.v<N+1>.sql` (and a migration loading it), then list
    the new file in SHA256SUMS."""
    files = {path.name: path for path in SQL_DIR.glob("*.sql")}
    published = _published()
    assert sorted(files) == sorted(published), "list every version file in SHA256SUMS"
    for name, path in files.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == published[name], f"{name} was published: add a new version instead"


def test_no_migration_carries_plpgsql_of_its_own() -> None:
    for migration in MIGRATIONS.glob("*.py"):
        assert "plpgsql" not in migration.read_text().lower(), migration.name
