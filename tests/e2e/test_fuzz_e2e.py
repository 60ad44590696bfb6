"""Property-based fuzzing of the whole public API (Schemathesis), through the gateway.

The gateway serves one OpenAPI document with every service's operations under `/api/<name>`.
For each operation Schemathesis generates requests from the schema (valid and invalid) and
sends them as an administrator, on a stack and database of its own (what it writes stays
out of other tests). Each response must not be a 5xx and must match the schema it declares
(status code, content type, body), and an operation that declares a security scheme must
refuse the same request without credentials (`ignored_auth`).

Bounded: a few examples per operation, no shrinking, so the run stays within a minute or two.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import (
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation

from shared.testing.plugin import migrated_database
from tests.conftest import RunningStack, running_stack

EXAMPLES_PER_OPERATION = int(os.environ.get("SCIPLAN_FUZZ_EXAMPLES", "6"))
Operation = APIOperation[Any, Any, Any, Any]
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, ignored_auth]


@pytest.fixture(scope="module")
def fuzz_stack(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    with (
        migrated_database(postgres_server_url, f"sciplan_fuzz_{os.getpid()}") as url,
        running_stack(url, Path(tmp_path_factory.mktemp("fuzz-logs"))) as running,
    ):
        yield running


def _admin_token(running: RunningStack) -> str:
    reply = requests.post(
        f"{running.url}/auth/token",
        data={"username": "admin", "password": running.admin_password},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


def _fuzz(operation: Operation, base_url: str, session: requests.Session, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    strategy = operation.as_strategy()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Case[Operation]) -> None:
        case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS)

    fuzz()


def test_every_operation_survives_generated_requests(fuzz_stack: RunningStack) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.url}/openapi.json")
    token = _admin_token(fuzz_stack)
    operations: list[Operation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    services = {op.path.split("/")[2] for op in operations if op.path.startswith("/api/")}
    assert services == {"projects", "credit", "funds", "notify"}, services
    failures: list[str] = []
    session = requests.Session()
    for operation in operations:
        if operation.path == "/auth/logout":
            continue  # would end the administrator's own session mid-run
        try:
            _fuzz(operation, fuzz_stack.url, session, token)
        except (Exception, BaseExceptionGroup) as exc:  # note each operation, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert failures == [], "\n\n".join(failures)
