"""The layering rules of the architecture, as `make lint` checks them (import-linter).

Services never import each other, `shared` never imports a service, and inside a service imports
flow endpoints -> service -> repository -> models with no SQL in endpoints.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_the_layering_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_service_is_kept_independent() -> None:
    """A new service (notify, portal) cannot slip past the independence contract."""
    services = {
        f"services.{p.name}"
        for p in (ROOT / "services").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    independent = next(c for c in _contracts() if c["id"] == "services-independent")
    assert set(independent["modules"]) == services  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        (
            "services/projects/calls/repository.py",
            "from services.projects.calls import service",
            "Repositories import no services or endpoints",
        ),
        (
            "services/credit/records/endpoints.py",
            "import sqlalchemy",
            "Endpoints hold no SQL",
        ),
        ("shared/clock.py", "import services.funds.main", "shared is plumbing"),
        (
            "services/funds/grants/service.py",
            "import services.projects.models",
            "Services never import each other",
        ),
    ],
)
def test_a_broken_rule_fails_the_check(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    for package in ("services", "shared", "sciplan"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{bad_import}  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken


# Modules that build SQL outside a repository, each with its reason.
SQL_BESIDE_ITS_RULE = {
    # The SQL twins of the record rules stand next to their Python form (one home per rule).
    "services/credit/rating/model.py",
}
# What a service or endpoint may take from SQLAlchemy: the session type and its errors.
NOT_SQL = ("sqlalchemy.ext.asyncio", "sqlalchemy.exc")


def _sql_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        found += [n for n in names if n.split(".")[0] == "sqlalchemy" and not n.startswith(NOT_SQL)]
    return found


@pytest.mark.parametrize("service", ["credit", "gateway", "notify"])
def test_sql_lives_in_repositories(service: str) -> None:
    """No statements in endpoints or services: they call a domain package's repository."""
    offenders = {
        str(path.relative_to(ROOT)): imports
        for path in (ROOT / "services" / service).rglob("*.py")
        if path.name != "repository.py" and "models" not in path.parts
        if (imports := _sql_imports(path))
    }
    assert set(offenders) == SQL_BESIDE_ITS_RULE & set(offenders), offenders
