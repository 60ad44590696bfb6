"""Every contract between services has a committed JSON Schema (`docs/contracts/<Name>.json`);
a published version never changes.

A new contract gets its snapshot with

    SCIPLAN_UPDATE_CONTRACTS=1 .venv/bin/pytest tests/test_contracts.py

which writes snapshots only for contracts that have none (and rewrites those whose titles or
descriptions alone changed): a changed shape is never written over. To change a published
contract, add its next version (`...V2`, event type `....v2`).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi.routing import APIRoute

from services.credit.config import CreditSettings
from services.credit.inbound import credit_handlers
from services.credit.rating.endpoints import router as rating_routes
from services.funds.access.handlers import HANDLERS as FUNDS_ACCESS
from services.funds.grants.handlers import HANDLERS as FUNDS_GRANTS
from services.funds.models import directory
from services.funds.models import scope as funds_scope
from services.gateway.identity.admissions import admission_handlers
from services.notify import inbound as notify_inbound
from shared.clock import utcnow
from shared.contracts import registry
from shared.contracts.base import Contract, EventContract
from shared.contracts.credit import EligibilityQueryV1
from shared.contracts.programs import ProgramRetiredV1, ReviewLateV1
from shared.contracts.projects import CreditOrganization, CreditPerson, ProjectTerminatedV1
from shared.contracts.vocabulary import TerminationCause
from shared.directory import directory_handlers
from shared.program_scope import scope_handlers

SNAPSHOTS = Path(__file__).resolve().parent.parent / "docs" / "contracts"
UPDATE = "SCIPLAN_UPDATE_CONTRACTS"


def rendered(contract: type[Contract]) -> str:
    schema = contract.model_json_schema(mode="validation")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


_NAMED = ("properties", "$defs")  # maps of names to schemas: their keys are not keywords


def shape(schema: Any) -> Any:
    """The schema without its prose (titles, descriptions): what a consumer relies on."""
    if isinstance(schema, list):
        return [shape(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: {name: shape(sub) for name, sub in value.items()} if key in _NAMED else shape(value)
        for key, value in schema.items()
        if key not in ("title", "description")
    }


def check_snapshots(
    contracts: tuple[type[Contract], ...], folder: Path, *, update: bool
) -> list[str]:
    """What is wrong between the contracts and their snapshots (writing the missing ones when
    `update`)."""
    problems = []
    names = {contract.__name__ for contract in contracts}
    for contract in contracts:
        path = folder / f"{contract.__name__}.json"
        schema = rendered(contract)
        if not path.exists():
            if update:
                path.write_text(schema, encoding="utf-8")
                continue
            problems.append(
                f"{contract.__name__} has no snapshot: if it is a new contract, write it with "
                f"`{UPDATE}=1 .venv/bin/pytest tests/test_contracts.py` and commit {path.name}"
            )
        elif path.read_text(encoding="utf-8") == schema:
            continue
        elif shape(json.loads(path.read_text(encoding="utf-8"))) == shape(json.loads(schema)):
            if update:  # only its prose changed
                path.write_text(schema, encoding="utf-8")
                continue
            problems.append(
                f"{contract.__name__}: only titles or descriptions changed; rewrite its snapshot "
                f"with `{UPDATE}=1 .venv/bin/pytest tests/test_contracts.py`"
            )
        else:
            problems.append(
                f"{contract.__name__} differs from its published schema ({path.name}): a "
                "published version never changes meaning. Restore it, and add the new shape as "
                f"the next version ({next_version(contract.__name__)}) instead"
            )
    problems += [
        f"{path.name}: the contract {path.stem} was removed, but events or callers may still "
        "use it; keep published versions"
        for path in sorted(folder.glob("*.json"))
        if path.stem not in names
    ]
    return problems


def next_version(name: str) -> str:
    found = re.fullmatch(r"(.*)V(\d+)", name)
    assert found is not None
    return f"{found.group(1)}V{int(found.group(2)) + 1}"


def test_every_contract_matches_its_published_schema() -> None:
    update = os.environ.get(UPDATE) == "1"
    problems = check_snapshots(registry.ALL, SNAPSHOTS, update=update)
    assert not problems, "\n".join(problems)


class _PayloadV1(EventContract):
    event_type: ClassVar[str] = "thing.happened"
    aggregate_type: ClassVar[str] = "thing"
    aggregate_field: ClassVar[str | None] = "thing_id"

    thing_id: str


class _ChangedPayloadV1(EventContract):
    """The same contract after someone edited its published version."""

    event_type: ClassVar[str] = "thing.happened"
    aggregate_type: ClassVar[str] = "thing"
    aggregate_field: ClassVar[str | None] = "thing_id"

    thing_id: str
    new_field: int


def test_a_changed_published_contract_is_refused_and_never_written_over(tmp_path: Path) -> None:
    snapshot = tmp_path / "_PayloadV1.json"
    snapshot.write_text(rendered(_PayloadV1), encoding="utf-8")
    _ChangedPayloadV1.__name__ = "_PayloadV1"  # the edited class keeps its published name
    try:
        problems = check_snapshots((_ChangedPayloadV1,), tmp_path, update=True)
    finally:
        _ChangedPayloadV1.__name__ = "_ChangedPayloadV1"
    assert len(problems) == 1
    assert "never changes meaning" in problems[0]
    assert "_PayloadV2" in problems[0]
    assert snapshot.read_text(encoding="utf-8") == rendered(_PayloadV1)


def test_a_reworded_description_is_not_a_new_version(tmp_path: Path) -> None:
    snapshot = tmp_path / "_PayloadV1.json"
    reworded = json.loads(rendered(_PayloadV1))
    reworded["description"] = "said otherwise"
    snapshot.write_text(json.dumps(reworded), encoding="utf-8")
    [problem] = check_snapshots((_PayloadV1,), tmp_path, update=False)
    assert "only titles or descriptions changed" in problem
    assert check_snapshots((_PayloadV1,), tmp_path, update=True) == []
    assert snapshot.read_text(encoding="utf-8") == rendered(_PayloadV1)


def test_a_new_contract_gets_its_snapshot_only_when_asked(tmp_path: Path) -> None:
    problems = check_snapshots((_PayloadV1,), tmp_path, update=False)
    assert len(problems) == 1
    assert f"{UPDATE}=1" in problems[0]
    assert not list(tmp_path.iterdir())
    assert check_snapshots((_PayloadV1,), tmp_path, update=True) == []
    assert (tmp_path / "_PayloadV1.json").read_text(encoding="utf-8") == rendered(_PayloadV1)


def test_contracts_are_named_by_version_and_event_types_are_unique() -> None:
    for contract in registry.ALL:
        version = contract.version()  # raises for a name without its version
        if issubclass(contract, EventContract) and version > 1:
            assert contract.event_type.endswith(f".v{version}"), contract.__name__
    types = [contract.event_type for contract in registry.EVENTS]
    assert len(types) == len(set(types))


def test_every_event_a_service_consumes_is_a_published_contract() -> None:
    consumed: dict[str, Any] = {
        **credit_handlers(CreditSettings()),
        **FUNDS_GRANTS,
        **FUNDS_ACCESS,
        **scope_handlers(funds_scope),
        **directory_handlers(directory),
        **notify_inbound.gateway_handlers(utcnow),
        **notify_inbound.projects_handlers(utcnow),
        **notify_inbound.credit_handlers(utcnow),
        **notify_inbound.funds_handlers(utcnow),
        **admission_handlers(),
    }
    for event_type, subscription in consumed.items():
        assert registry.BY_EVENT_TYPE[event_type] is subscription.contract, event_type


def test_the_eligibility_query_is_the_contract_the_client_sends() -> None:
    [route] = [
        r
        for r in rating_routes.routes
        if isinstance(r, APIRoute) and r.path == "/v1/eligibility" and "GET" in (r.methods or ())
    ]
    declared = {param.alias for param in route.dependant.query_params}
    # `purpose` is what a person states when they ask (logged); services ask for their own.
    assert declared - {"purpose"} == set(EligibilityQueryV1.model_fields)


def test_payloads_are_written_as_the_services_wrote_them_before_the_contracts() -> None:
    """V1 is what was published already: moments keep the offset the producer gave them
    (Python's isoformat, not "Z"), ids are strings, and a termination not at fault names no
    credit rule at all."""
    ids = [UUID(int=n) for n in range(1, 6)]
    deadline = datetime(2026, 3, 31, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    late = ReviewLateV1(
        expert_id=ids[0],
        expert_name="吴磊",
        round_id=ids[1],
        call_id=ids[2],
        program_id=ids[3],
        application_id=ids[4],
        deadline=deadline,
        submitted_at=None,
        managing_agency="甘肃省科学技术厅",
    ).model_dump(mode="json")
    assert (late["deadline"], late["submitted_at"], late["expert_id"]) == (
        "2026-03-31T10:00:00+08:00",
        None,
        str(ids[0]),
    )
    retired = ProgramRetiredV1(
        program_id=ids[0],
        code="TSZX",
        reason="到期",
        retired_at=datetime(2026, 5, 6, 3, tzinfo=UTC),
    )
    assert retired.model_dump(mode="json")["retired_at"] == "2026-05-06T03:00:00+00:00"

    def termination(at_fault: bool) -> dict[str, Any]:
        return ProjectTerminatedV1(
            project_id=ids[0],
            project_number="2026-ZDYF-0001",
            program_id=ids[1],
            cause=TerminationCause.misconduct if at_fault else TerminationCause.request,
            at_fault=at_fault,
            reason="原因",
            managing_agency="省科技厅",
            pi=CreditPerson(name="王芳", gateway_user_id=ids[2]),
            organization=CreditOrganization(
                name="兰州大学", gateway_org_id=ids[3], credit_code=None
            ),
            rule_code="FABRICATION" if at_fault else None,
        ).model_dump(mode="json")

    assert "rule_code" not in termination(at_fault=False)
    assert termination(at_fault=True)["rule_code"] == "FABRICATION"
    assert termination(at_fault=True)["cause"] == "misconduct"
