"""Credit behind the gateway, as processes, as the people who use it: due process that the subject
cannot subvert and one officer alone cannot bend, reads kept to role and program with a logged
purpose, the subject's own file, and a record's effect on the rating and the public list."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from shared.credit_code import check_character
from tests.conftest import RunningStack, wait_until
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client, scalar
from tests.e2e.projects_steps import ZDYF, assign_manager, login_as

pytestmark = pytest.mark.e2e
PURPOSE = {"purpose": "核查信用记录，办理相关业务"}


class People:
    """Everyone this test needs, made through the admin API, each logged in at the gateway."""

    def __init__(self, client: httpx.AsyncClient, stack: RunningStack) -> None:
        self.client, self.stack = client, stack
        self.suffix = uuid.uuid4().hex[:6]
        self.ids: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}

    async def add(self, name: str, role: str, org_id: str | None = None) -> None:
        admin = await admin_token(self.client, self.stack)
        user = await create_user(
            self.client, self.stack, admin, f"{name}.{self.suffix}", [role], org_id
        )
        self.ids[name] = user["id"]
        self.headers[name] = await login_as(self.client, self.stack, f"{name}.{self.suffix}")


@pytest.fixture
async def client() -> Any:
    async with e2e_client() as client:
        yield client


@pytest.fixture
async def people(client: httpx.AsyncClient, stack: RunningStack) -> People:
    people = People(client, stack)
    admin = await admin_token(client, stack)
    body = f"9162010{uuid.uuid4().int % 10**10:010d}"
    org = await create_org(
        client, stack, admin, f"某研究院{people.suffix}", body + check_character(body)
    )
    for name, role in (
        ("pm", "program_manager"),  # manages ZDYF, makes the records
        ("pm2", "program_manager"),  # manages ZDYF too, and is himself recorded
        ("pm_other", "program_manager"),  # manages no program here
        ("officer", "credit_officer"),
        ("finance", "finance_officer"),
        ("idle", "evaluator"),  # engaged on nothing
    ):
        await people.add(name, role)
    await people.add("researcher", "applicant", org["id"])
    projects = f"{stack.url}/api/projects/v1"
    for name in ("pm", "pm2"):
        await assign_manager(
            client, projects, {"Authorization": f"Bearer {admin}"}, people.ids[name]
        )
    return people


async def record_about(
    client: httpx.AsyncClient,
    stack: RunningStack,
    people: People,
    who: str,
    subject: str,
    rule_code: str,
) -> dict[str, Any]:
    """`who` proposes a record of program ZDYF about `subject` (once credit has heard from
    projects that `who` manages ZDYF)."""
    body = {
        "subject": {"kind": "person", "name": subject, "gateway_user_id": people.ids[subject]},
        "program_id": ZDYF,
        "capacity": "researcher",
        "rule_code": rule_code,
        "facts": "经调查核实，申报材料中的合作单位证明系伪造。",
        "handling_unit": "省科技厅监督处",
        "effective_from": "2026-03-02",
    }
    made: dict[str, Any] = {}

    async def proposed() -> bool:
        reply = await client.post(
            f"{stack.url}/api/credit/v1/records", headers=people.headers[who], json=body
        )
        assert reply.status_code in (201, 403), reply.text
        made.update(reply.json())
        return reply.status_code == 201

    await wait_until(proposed)
    return made


async def test_the_subject_of_a_record_cannot_clear_it_himself(
    client: httpx.AsyncClient, stack: RunningStack, people: People
) -> None:
    api = f"{stack.url}/api/credit/v1"
    record = await record_about(client, stack, people, "pm", "pm2", "FALSE_MATERIALS")
    sent = await client.post(
        f"{api}/records/{record['id']}/notify",
        headers=people.headers["pm"],
        json={"reason": "告知"},
    )
    assert sent.json()["status"] == "notified"
    mine = people.headers["pm2"]
    # Credit learns from projects' events that pm2 manages ZDYF too; until then he is refused
    # as an outsider (404), not as the record's subject (403). Proposing waits for it.
    await record_about(client, stack, people, "pm2", "researcher", "FALSE_MATERIALS")
    withdrawn = await client.post(
        f"{api}/records/{record['id']}/withdraw", headers=mine, json={"reason": "录入错误"}
    )
    assert withdrawn.status_code == 403
    assert withdrawn.json()["code"] == "record.own_affair"
    objected = await client.post(
        f"{api}/records/{record['id']}/objection", headers=mine, json={"statement": "本人有异议。"}
    )
    assert objected.status_code == 200, objected.text
    upheld = await client.post(
        f"{api}/records/{record['id']}/objection/decision",
        headers=mine,
        json={"outcome": "upheld", "reason": "异议成立"},
    )
    assert upheld.status_code == 403
    assert upheld.json()["code"] == "record.own_affair"
    # A manager with no part in the program learns nothing of it.
    other = await client.post(
        f"{api}/records/{record['id']}/withdraw",
        headers=people.headers["pm_other"],
        json={"reason": "撤回"},
    )
    assert other.status_code == 404


async def test_a_ban_needs_a_second_officer_and_reads_are_kept_and_logged(
    client: httpx.AsyncClient, stack: RunningStack, people: People
) -> None:
    api = f"{stack.url}/api/credit/v1"
    record = await record_about(client, stack, people, "pm", "researcher", "FABRICATION")
    rid = record["id"]
    asked = await client.post(
        f"{api}/records/{rid}/notify", headers=people.headers["pm"], json={"reason": "依规告知"}
    )
    assert asked.json()["status"] == "awaiting_approval"
    alone = await client.post(
        f"{api}/records/{rid}/notice/approval",
        headers=people.headers["pm"],
        json={"decision": "approve", "reason": "同意"},
    )
    assert alone.status_code == 403
    assert alone.json()["code"] == "record.same_officer"
    approved = await client.post(
        f"{api}/records/{rid}/notice/approval",
        headers=people.headers["officer"],
        json={"decision": "approve", "reason": "同意告知"},
    )
    assert approved.json()["status"] == "notified"
    assert [t["legal_basis"] for t in approved.json()["transitions"]][-1].startswith("《")

    subject = record["subject_id"]
    reads = [f"/records/{rid}", f"/subjects/{subject}/file", f"/subjects/{subject}/rating"]
    for who in ("finance", "idle", "pm_other"):
        for path in reads:
            seen = await client.get(f"{api}{path}", headers=people.headers[who], params=PURPOSE)
            assert seen.status_code == 404, (who, path)
    unstated = await client.get(f"{api}/subjects/{subject}/file", headers=people.headers["officer"])
    assert unstated.status_code == 422
    assert unstated.json()["code"] == "credit.purpose_required"
    stated = await client.get(
        f"{api}/subjects/{subject}/file", headers=people.headers["officer"], params=PURPOSE
    )
    assert [r["id"] for r in stated.json()["records"]] == [rid]
    logged = await scalar(
        stack,
        "SELECT count(*) FROM credit.query_log WHERE actor = $1 AND purpose = $2",
        people.ids["officer"],
        PURPOSE["purpose"],
    )
    assert logged == 1

    # The researcher finds the record in their own file, with the deadline to object.
    me = await client.get(f"{api}/me", headers=people.headers["researcher"])
    assert me.json()["details"]["credit_subject_id"] == subject
    own = await client.get(f"{api}/me/file", headers=people.headers["researcher"])
    assert own.status_code == 200, own.text
    [shown] = own.json()["person"]["records"]
    assert (shown["id"], shown["status"]) == (rid, "notified")
    assert shown["objection_open_until"] == approved.json()["objection_deadline"]


async def test_a_record_through_the_gateway_changes_the_rating_and_the_public_list(
    client: httpx.AsyncClient, stack: RunningStack, people: People
) -> None:
    body = "91620100MA7N0PXK9"
    code = body + check_character(body)
    admin = await admin_token(client, stack)
    await create_org(client, stack, admin, "某科技服务公司", code)
    officer = people.headers["officer"]
    api = f"{stack.url}/api/credit/v1"

    proposed = await client.post(
        f"{api}/records",
        headers=officer,
        json={
            "subject": {"kind": "organization", "name": "某科技服务公司", "credit_code": code},
            "capacity": "organization",
            "rule_code": "FUNDS_MISUSE",
            "facts": "挪用专项资金用于无关支出，经审计确认。",
            "handling_unit": "省科技厅监督处",
            "effective_from": "2026-01-05",
        },
    )
    assert proposed.status_code == 201, proposed.text
    record = proposed.json()
    assert record["program_id"] is None  # no program: the credit officers'
    asked = await client.post(
        f"{api}/records/{record['id']}/notify", headers=officer, json={"reason": "依规告知"}
    )
    assert asked.json()["status"] == "awaiting_approval"
    # A program manager cannot approve what is not of his programs.
    refused = await client.post(
        f"{api}/records/{record['id']}/notice/approval",
        headers=people.headers["pm"],
        json={"decision": "approve", "reason": "同意"},
    )
    assert refused.status_code in (403, 404)
    # The objection window (10 working days) is still open: confirmation must wait.
    early = await client.post(
        f"{api}/records/{record['id']}/confirm", headers=officer, json={"reason": "确认"}
    )
    assert early.status_code == 409

    rating = await client.get(
        f"{api}/subjects/{record['subject_id']}/rating", headers=officer, params=PURPOSE
    )
    assert rating.status_code == 200
    assert (rating.json()["level"], rating.json()["score"]) == ("B", 80)  # not yet confirmed
    eligibility = await client.get(
        f"{api}/eligibility",
        headers=officer,
        params={"action": "apply", "credit_code": code} | PURPOSE,
    )
    assert eligibility.json()["eligible"] is True

    public = await client.get(f"{api}/public/records")  # anonymous read through the gateway
    assert public.status_code == 200
    assert all(item["subject_credit_code"] != code for item in public.json()["items"])

    history = await client.get(f"{api}/records/{record['id']}", headers=officer, params=PURPOSE)
    transitions = history.json()["transitions"]
    assert [t["to_status"] for t in transitions] == ["proposed", "awaiting_approval"]
    assert {t["actor"] for t in transitions} == {people.ids["officer"]}  # from the verified token
    anonymous_write = await client.post(f"{api}/records", json={})
    assert anonymous_write.status_code == 401
