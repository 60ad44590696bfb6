"""The ledger's PL/pgSQL: one file per version of each database function, `<name>.v<N>.sql`.

The migration that brought a version loads that file by name, so every migration keeps
building the same database: changing a function adds a file (`v2`) and a migration that loads
it (the files say CREATE OR REPLACE); a published file is never edited. `SHA256SUMS` lists the
published files, and a test refuses an edit of one.
"""

from __future__ import annotations

import re
from importlib.resources import files

_FILE = re.compile(r"(?P<name>\w+)\.v(?P<version>\d+)\.sql")


def function_sql(name: str, version: int) -> str:
    """The CREATE OR REPLACE FUNCTION statement of one version of a ledger function."""
    return files(__name__).joinpath(f"{name}.v{version}.sql").read_text(encoding="utf-8")


def versions() -> dict[str, list[int]]:
    """Every function with its published versions, oldest first."""
    found: dict[str, list[int]] = {}
    for entry in files(__name__).iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: sorted(numbers) for name, numbers in sorted(found.items())}
