"""The events credit parked, through `/internal/v1/dead-letters`: service accounts and admins
read them, admins retry and discard them.

The story: a program manager terminates a project for misconduct under a rule the credit
catalog does not have yet. Before, credit's consumer failed on that event forever and every
later event of projects waited behind it; now it is parked, and applied once the rule exists.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import CreditRecord, events
from shared.auth.roles import Role
from shared.events.outbox import Event
from shared.events.parking import Outcome, apply_batch
from shared.ids import uuid7
from tests.conftest import bearer, org_code
from tests.credit.conftest import PROGRAM, START, Caller, Credit

NEW_RULE = "DATA_FABRICATION_2026"
LIST = "/internal/v1/dead-letters"


def terminated(project_id: UUID, rule_code: str = NEW_RULE) -> Event:
    return Event(
        event_id=uuid7(),
        event_type="project.terminated",
        aggregate_type="project",
        aggregate_id=str(project_id),
        payload={
            "project_id": str(project_id),
            "project_number": "2026-ZDYF-0042",
            "program_id": str(PROGRAM),
            "cause": "misconduct",
            "at_fault": True,
            "reason": "伪造实验数据",
            "managing_agency": "省科技厅",
            "pi": {"name": "赵磊", "gateway_user_id": str(uuid7())},
            "organization": {
                "name": "某大学",
                "credit_code": org_code(42),
                "gateway_org_id": str(uuid7()),
            },
            "rule_code": rule_code,
        },
        occurred_at=START,
        position="7:1",
    )


async def deliver(session: AsyncSession, credit: Credit, *batch: Event) -> list[Outcome]:
    """As credit's consumer of the projects feed applies a batch."""
    outcomes = await apply_batch(
        session,
        events,
        source="projects",
        handlers=credit.app.state.event_sources["projects"],
        events=list(batch),
    )
    await session.commit()
    return outcomes


@pytest.fixture
async def operators(credit: Credit, gateway: FastAPI) -> Credit:
    issuer = gateway.state.token_issuer
    token, _ = await issuer.access_token(
        subject=str(uuid7()),
        audience=issuer.settings.audiences,
        roles=[Role.admin.value],
        extra={"name": "ops-admin"},
    )
    credit.callers["admin"] = Caller(user_id="", headers=bearer(token))
    return credit


async def test_service_accounts_and_admins_see_what_credit_parked(
    session: AsyncSession, operators: Credit
) -> None:
    project = uuid7()
    first, second = terminated(project), terminated(project)
    unfit = Event.model_validate({**terminated(uuid7()).model_dump(), "payload": {"at": 1}})
    assert await deliver(session, operators, first, second, unfit) == [
        "failed",
        "waiting",
        "failed",
    ]

    listed = await operators.call("GET", LIST, "admin")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [i["event_id"] for i in items] == [str(e.event_id) for e in (first, second, unfit)]
    head, behind, bad = items
    assert (head["status"], head["source"], head["attempts"]) == ("failed", "projects", 1)
    assert head["error"].startswith("rule.not_found")
    assert (behind["status"], behind["blocked_by"]) == ("waiting", head["id"])
    assert bad["error"].startswith("payload does not fit ProjectTerminatedV1")
    assert (await operators.call("GET", LIST, "service")).json()["items"] == items

    waiting = await operators.call("GET", LIST, "admin", params={"status": "waiting"})
    assert [i["id"] for i in waiting.json()["items"]] == [behind["id"]]
    other_source = await operators.call("GET", LIST, "admin", params={"source": "funds"})
    assert other_source.json()["items"] == []
    one = await operators.call("GET", f"{LIST}/{head['id']}", "service")
    assert one.json() == head

    for who in ("credit_officer", "auditor", "manager"):
        refused = await operators.call("GET", LIST, who)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await operators.call("GET", LIST, None)).status_code == 401
    unknown = await operators.call("GET", LIST, "admin", params={"state": "failed"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "query.unknown_parameter")
    bad_status = await operators.call("GET", LIST, "admin", params={"status": "lost"})
    assert bad_status.status_code == 422
    missing = await operators.call("GET", f"{LIST}/{uuid7()}", "admin")
    assert (missing.status_code, missing.json()["code"]) == (404, "dead_letter.not_found")


async def records_of(session: AsyncSession, event: Event) -> int:
    found = await session.scalar(
        select(func.count()).where(CreditRecord.source_event_id == event.event_id)
    )
    return int(found or 0)


async def test_a_retry_once_the_rule_exists_applies_the_event_and_those_behind_it(
    session: AsyncSession, operators: Credit
) -> None:
    project = uuid7()
    first, second = terminated(project), terminated(project)
    await deliver(session, operators, first, second)
    items = (await operators.call("GET", LIST, "admin")).json()["items"]
    head, behind = items[0]["id"], items[1]["id"]

    early = await operators.call("POST", f"{LIST}/{behind}/retry", "admin")
    assert (early.status_code, early.json()["code"]) == (409, "dead_letter.waiting")
    assert early.json()["blocked_by"] == head
    assert (await operators.call("POST", f"{LIST}/{head}/retry", "service")).status_code == 403

    still = await operators.call("POST", f"{LIST}/{head}/retry", "admin")
    assert still.status_code == 200, still.text
    assert [r["status"] for r in still.json()["replayed"]] == ["failed"]
    assert still.json()["letter"]["attempts"] == 2

    rule = {
        "code": NEW_RULE,
        "description_zh": "伪造实验数据",
        "description_en": "Fabricated experimental data",
        "applies_to": ["researcher"],
        "tier": "serious",
        "score_effect": -20,
        "validity_months": 36,
        "repairable": False,
        "legal_basis": "科研失信行为调查处理规则 第七条",
    }
    added = await operators.call("POST", "/v1/rules", "credit_officer", json=rule)
    assert added.status_code == 201, added.text

    retried = await operators.call("POST", f"{LIST}/{head}/retry", "admin")
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert [(r["event_id"], r["status"]) for r in body["replayed"]] == [
        (str(first.event_id), "applied"),
        (str(second.event_id), "applied"),
    ]
    assert (body["letter"]["status"], body["letter"]["resolved_by"]) == ("applied", "ops-admin")
    assert (await records_of(session, first), await records_of(session, second)) == (1, 1)

    again = await operators.call("POST", f"{LIST}/{head}/retry", "admin")
    assert (again.status_code, again.json()["code"]) == (409, "dead_letter.resolved")
    assert await deliver(session, operators, first) == ["held"]  # redelivered: no second record
    assert await records_of(session, first) == 1
    assert (await operators.call("GET", LIST, "admin")).json()["items"] == []


async def test_a_discarded_event_lets_the_next_one_of_its_project_be_tried(
    session: AsyncSession, operators: Credit
) -> None:
    project = uuid7()
    first, second = terminated(project), terminated(project, rule_code="TERMINATED_AT_FAULT")
    await deliver(session, operators, first, second)
    head = (await operators.call("GET", LIST, "admin")).json()["items"][0]["id"]

    no_reason = await operators.call("POST", f"{LIST}/{head}/discard", "admin", json={})
    assert no_reason.status_code == 422
    discarded = await operators.call(
        "POST",
        f"{LIST}/{head}/discard",
        "admin",
        json={"reason": "记录已由信用办人工办理"},
    )
    assert discarded.status_code == 200, discarded.text
    body = discarded.json()
    assert (body["letter"]["status"], body["letter"]["resolution"]) == (
        "discarded",
        "记录已由信用办人工办理",
    )
    assert [(r["event_id"], r["status"]) for r in body["replayed"]] == [
        (str(second.event_id), "applied")
    ]
    assert (await records_of(session, first), await records_of(session, second)) == (0, 1)
    everything = await operators.call("GET", LIST, "admin", params={"status": "all"})
    assert [i["status"] for i in everything.json()["items"]] == ["discarded", "applied"]
