"""Money across fiscal years: the year-end close under each carry-over rule, drawdowns of the
carried-over money (maker-checker), co-funding and the final accounts (决算).

After every test the ledger's integrity check runs (`ledger_invariants`): money is conserved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI

from services.funds.fiscal.accounts import carry_over_id, project_carried_id
from services.funds.grants.accounts import program_fund_id, treasury_id
from shared.ids import uuid7
from tests.conftest import bearer
from tests.funds.conftest import Caller
from tests.funds.grants.conftest import Grants

NEXT_YEAR = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
BUDGET = {"equipment": 300_000, "business": 400_000, "labour": 200_000, "indirect": 100_000}
SIGNING_ONLY = [
    {"name": "首笔", "amount_fen": 600_000, "on": "signing"},
    {"name": "尾款", "amount_fen": 400_000, "on": "acceptance"},
]


async def rule(grants: Grants, rule: str, share: int | None = None, code: str = "ZDYF") -> Any:
    body: dict[str, Any] = {"rule": rule, "reason": "省财政厅年度结转结余规定"}
    if share is not None:
        body["share_percent"] = share
    return await grants.call("PUT", f"/v1/carry-over-rules/{code}", "finance", json=body)


async def close(grants: Grants, year: int = 2026, who: str = "finance", **body: Any) -> Any:
    sent = {"id": str(uuid4()), "program_code": "ZDYF", "year": year, **body}
    return await grants.call("POST", "/v1/year-end-closes", who, json=sent)


async def balance(grants: Grants, account_id: Any) -> int:
    found = await grants.funds.balances(str(account_id))
    return int(found["credits_posted"]) - int(found["debits_posted"])


async def funded_project(grants: Grants, *, spend: int = 200_000) -> dict[str, Any]:
    """A 2026 grant of ZDYF out of a 3,000,000 fen envelope: its signing tranche (600,000) paid
    and `spend` of it spent on business costs."""
    await grants.envelope(3_000_000)
    payload = await grants.contract(tranches=SIGNING_ONLY)
    grant = await grants.grant(payload["project_id"])
    await grants.approve(grant["tranches"][0]["payment_order_id"])
    if spend:
        spent = await grants.spend(payload["project_id"], "business", spend)
        assert spent.status_code == 201, spent.text
    return payload


async def test_carry_all_moves_the_project_and_program_money_into_the_next_year(
    grants: Grants,
) -> None:
    project = await funded_project(grants)
    project_id = project["project_id"]
    assert (await rule(grants, "carry_all")).status_code == 200

    early = await close(grants)
    assert early.status_code == 409
    assert early.json()["code"] == "fiscal.year_not_over"

    grants.funds.clock.now = NEXT_YEAR
    closed = await close(grants)
    assert closed.status_code == 201, closed.text
    body = closed.json()
    # The project: 400,000 unspent at the organization, kept for it in its carry-over account.
    # The program: 3,000,000 - 1,000,000 owed to the grant = 2,000,000 free, into 2027.
    assert (body["carried_fen"], body["returned_fen"]) == (2_400_000, 0)
    lines = {line["kind"]: line for line in body["lines"]}
    assert lines["project"]["unspent_fen"] == 400_000
    assert [t["code"] for t in lines["project"]["transfers"]] == ["carry_over"]
    assert [(t["code"], t["ledger"]) for t in lines["program"]["transfers"]] == [
        ("carry_over_out", "ZDYF-2026"),
        ("carry_over_in", "ZDYF-2027"),
    ]
    assert await balance(grants, project_carried_id(project_id)) == 400_000
    grant = await grants.grant(project_id)
    assert grant["available"] == 0  # nothing at the organization until it draws down
    assert await balance(grants, program_fund_id("ZDYF-2027")) == 2_000_000
    # The two clearing accounts mirror each other across the years.
    out = await grants.funds.balances(str(carry_over_id("ZDYF-2026")))
    into = await grants.funds.balances(str(carry_over_id("ZDYF-2027")))
    assert out["credits_posted"] == into["debits_posted"] == 2_000_000
    # The tranche still owed stays in 2026, and the envelope summary says so.
    summary = await grants.summary()
    assert summary["committed"] == 400_000

    shown = await grants.call("GET", "/v1/year-end-closes/ZDYF/2026", "auditor")
    assert shown.status_code == 200
    assert shown.json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("share", "project_carried", "program_carried"),
    [(50, 200_000, 1_000_000), (0, 0, 0)],
)
async def test_carry_share_carries_up_to_the_share_and_returns_the_rest(
    grants: Grants, share: int, project_carried: int, program_carried: int
) -> None:
    project = await funded_project(grants)
    assert (await rule(grants, "carry_share", share)).status_code == 200
    grants.funds.clock.now = NEXT_YEAR
    closed = await close(grants)
    assert closed.status_code == 201, closed.text
    body = closed.json()
    assert body["rule"] == "carry_share"
    assert body["share_percent"] == share
    assert body["carried_fen"] == project_carried + program_carried
    assert body["returned_fen"] == (400_000 - project_carried) + (2_000_000 - program_carried)
    assert await balance(grants, project_carried_id(project["project_id"])) == project_carried
    treasury = await grants.funds.balances(str(treasury_id("ZDYF-2026")))
    assert treasury["credits_posted"] == body["returned_fen"]
    codes = {t["code"] for line in body["lines"] for t in line["transfers"]}
    assert "year_end_return" in codes


async def test_return_all_gives_everything_back_to_the_treasury(grants: Grants) -> None:
    project = await funded_project(grants)
    assert (await rule(grants, "return_all")).status_code == 200
    grants.funds.clock.now = NEXT_YEAR
    closed = await close(grants)
    assert closed.status_code == 201, closed.text
    assert (closed.json()["carried_fen"], closed.json()["returned_fen"]) == (0, 2_400_000)
    assert await balance(grants, project_carried_id(project["project_id"])) == 0
    assert await balance(grants, program_fund_id("ZDYF-2026")) == 400_000  # the owed tranche


async def test_a_year_is_closed_once(grants: Grants) -> None:
    await funded_project(grants)
    assert (await rule(grants, "carry_all")).status_code == 200
    grants.funds.clock.now = NEXT_YEAR
    close_id = str(uuid4())
    first = await close(grants, id=close_id)
    assert first.status_code == 201
    again = await close(grants, id=close_id)
    assert again.status_code == 200  # the same request: the same close, nothing moved twice
    assert again.json() == first.json()
    second = await close(grants)
    assert second.status_code == 409
    assert second.json()["code"] == "fiscal.year_closed"
    assert await balance(grants, program_fund_id("ZDYF-2027")) == 2_000_000


async def test_years_are_closed_in_order(grants: Grants) -> None:
    await grants.envelope(3_000_000)
    await grants.envelope(2_000_000, year=2027)
    assert (await rule(grants, "carry_all")).status_code == 200
    grants.funds.clock.now = NEXT_YEAR.replace(year=2028)
    early = await close(grants, year=2027)
    assert (early.status_code, early.json()["code"]) == (409, "fiscal.previous_year_open")
    assert early.json()["years"] == [2026]
    assert (await close(grants, year=2026)).status_code == 201
    assert (await close(grants, year=2027)).status_code == 201


async def test_the_close_needs_a_rule_no_holds_and_a_finance_officer(grants: Grants) -> None:
    await grants.envelope(3_000_000)
    await grants.contract(tranches=SIGNING_ONLY)  # its signing order waits for approval
    grants.funds.clock.now = NEXT_YEAR
    no_rule = await close(grants)
    assert (no_rule.status_code, no_rule.json()["code"]) == (409, "fiscal.no_carry_over_rule")
    assert (await rule(grants, "carry_all")).status_code == 200
    held = await close(grants)
    assert (held.status_code, held.json()["code"]) == (409, "fiscal.holds_pending")
    for who in ("manager", "org_admin", "auditor", "applicant"):
        refused = await close(grants, who=who)
        assert refused.status_code == 403, who
    bad = await grants.call(
        "PUT",
        "/v1/carry-over-rules/ZDYF",
        "finance",
        json={"rule": "carry_share", "reason": "缺少比例"},
    )
    assert bad.status_code == 422
    assert (
        await grants.call(
            "PUT",
            "/v1/carry-over-rules/ZDYF",
            "manager",
            json={"rule": "carry_all", "reason": "项目主管无权设定"},
        )
    ).status_code == 403
    # Nothing was half-written: no close to read.
    missing = await grants.call("GET", "/v1/year-end-closes/ZDYF/2026", "finance")
    assert missing.status_code == 404


async def test_a_drawdown_is_requested_by_the_organization_and_approved_by_finance(
    grants: Grants,
) -> None:
    project = await funded_project(grants)
    project_id = project["project_id"]
    assert (await rule(grants, "carry_all")).status_code == 200
    grants.funds.clock.now = NEXT_YEAR
    assert (await close(grants)).status_code == 201

    def ask(amount: int, category: str = "equipment") -> dict[str, Any]:
        return {
            "id": str(uuid4()),
            "category": category,
            "amount_fen": amount,
            "purpose": "购置检测仪器",
        }

    path = f"/v1/grants/{project_id}/drawdowns"
    other = await grants.call("POST", path, "org_admin2", json=ask(100_000))
    assert other.status_code == 404  # another organization does not see the grant
    finance = await grants.call("POST", path, "finance", json=ask(100_000))
    assert finance.status_code == 403
    too_much = await grants.call("POST", path, "org_admin", json=ask(400_001))
    assert too_much.json()["code"] == "drawdown.exceeds_carried_over"
    over_budget = await grants.call("POST", path, "org_admin", json=ask(300_000, "indirect"))
    assert over_budget.json()["code"] == "drawdown.category_over_budget"

    requested = await grants.call("POST", path, "org_admin", json=ask(250_000))
    assert requested.status_code == 201, requested.text
    drawdown = requested.json()
    assert drawdown["status"] == "awaiting_approval"
    # The amount is held: it cannot be asked for twice.
    twice = await grants.call("POST", path, "org_admin", json=ask(200_000))
    assert twice.json()["code"] == "drawdown.exceeds_carried_over"

    approve = f"/v1/drawdowns/{drawdown['id']}/approve"
    assert (await grants.call("POST", approve, "org_admin")).status_code == 403
    paid = await grants.call("POST", approve, "finance2", json={"reason": "同意"})
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert await balance(grants, project_carried_id(project_id)) == 150_000
    assert (await grants.grant(project_id))["available"] == 250_000
    # The program's execution counts the money drawn back once, as the grant's own view does.
    execution = await grants.call(
        "GET", "/v1/grants/execution", "finance", params={"program_code": "ZDYF", "year": 2026}
    )
    assert execution.status_code == 200, execution.text
    [row] = execution.json()["items"]
    assert row["released"] == (await grants.grant(project_id))["released"]

    rejected_one = await grants.call("POST", path, "org_admin", json=ask(50_000, "labour"))
    rejected = await grants.call(
        "POST",
        f"/v1/drawdowns/{rejected_one.json()['id']}/reject",
        "finance",
        json={"reason": "用途不明确"},
    )
    assert rejected.json()["status"] == "rejected"
    assert await balance(grants, project_carried_id(project_id)) == 150_000

    listed = await grants.call("GET", path, "org_admin")
    assert [d["status"] for d in listed.json()["items"]] == ["paid", "rejected"]
    assert (await grants.call("GET", path, "org_admin2")).status_code == 404


async def test_a_finance_officer_who_asked_cannot_approve(grants: Grants, person: Person) -> None:
    """Maker-checker holds for a person with both roles too: the requester never approves."""
    project = await funded_project(grants)
    assert (await rule(grants, "carry_all")).status_code == 200
    grants.funds.clock.now = NEXT_YEAR
    assert (await close(grants)).status_code == 201
    both = await person(["org_admin", "finance_officer"], 1)
    asked = await grants.call(
        "POST",
        f"/v1/grants/{project['project_id']}/drawdowns",
        both,
        json={
            "id": str(uuid4()),
            "category": "labour",
            "amount_fen": 10_000,
            "purpose": "劳务费发放",
        },
    )
    assert asked.status_code == 201, asked.text
    own = await grants.call("POST", f"/v1/drawdowns/{asked.json()['id']}/approve", both)
    assert (own.status_code, own.json()["code"]) == (403, "payment_order.maker_cannot_approve")


async def test_co_funding_is_declared_and_confirmed_by_two_people_of_the_organization(
    grants: Grants, person: Person
) -> None:
    project = await funded_project(grants, spend=0)
    path = f"/v1/grants/{project['project_id']}/co-funding"
    body = {
        "id": str(uuid4()),
        "category": "equipment",
        "source": "self_raised",
        "amount_fen": 500_000,
        "fiscal_year": 2026,
        "note": "学校配套设备费",
    }
    assert (await grants.call("POST", path, "org_admin2", json=body)).status_code == 404
    assert (await grants.call("POST", path, "manager", json=body)).status_code == 403
    declared = await grants.call("POST", path, "org_admin", json=body)
    assert declared.status_code == 201, declared.text
    assert (await grants.call("POST", path, "org_admin", json=body)).status_code == 200
    changed = await grants.call("POST", path, "org_admin", json={**body, "amount_fen": 1})
    assert changed.json()["code"] == "co_funding.exists_different"
    confirm = f"{path}/{body['id']}/confirm"
    own = await grants.call("POST", confirm, "org_admin")
    assert own.json()["code"] == "co_funding.declarer_cannot_confirm"
    colleague = await person(["org_admin"], 1)
    confirmed = await grants.call("POST", confirm, colleague)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    accounts = await grants.call(
        "GET",
        f"/v1/grants/{project['project_id']}/final-accounts",
        "org_admin",
        params={"year": 2026},
    )
    assert accounts.json()["self_raised_fen"] == 500_000
    equipment = next(c for c in accounts.json()["categories"] if c["category"] == "equipment")
    assert equipment["self_raised_fen"] == 500_000


async def test_final_accounts_across_two_years(grants: Grants) -> None:
    project = await funded_project(grants)
    project_id = project["project_id"]
    path = f"/v1/grants/{project_id}/final-accounts"
    so_far = (await grants.call("GET", path, "org_admin", params={"year": 2026})).json()
    assert (so_far["closed"], so_far["received_fen"], so_far["spent_fen"]) == (
        False,
        600_000,
        200_000,
    )
    assert so_far["carried_over_fen"] is None
    assert (await rule(grants, "carry_all")).status_code == 200
    grants.funds.clock.now = NEXT_YEAR
    assert (await close(grants)).status_code == 201
    drawdown = await grants.call(
        "POST",
        f"/v1/grants/{project_id}/drawdowns",
        "org_admin",
        json={
            "id": str(uuid4()),
            "category": "equipment",
            "amount_fen": 300_000,
            "purpose": "购置检测仪器",
        },
    )
    await grants.call("POST", f"/v1/drawdowns/{drawdown.json()['id']}/approve", "finance")
    assert (await grants.spend(project_id, "equipment", 250_000)).status_code == 201

    first = await grants.call("GET", path, "manager", params={"year": 2026})
    assert first.status_code == 404  # manager of no program here
    await grants.funds.manages("manager", "ZDYF")
    first = (await grants.call("GET", path, "manager", params={"year": 2026})).json()
    assert first["closed"] is True
    assert (first["opening_fen"], first["received_fen"], first["spent_fen"]) == (
        0,
        600_000,
        200_000,
    )
    assert (first["returned_fen"], first["closing_fen"], first["carried_over_fen"]) == (
        0,
        400_000,
        400_000,
    )
    by = {c["category"]: c for c in first["categories"]}
    assert sum(c["received_fen"] for c in by.values()) == 600_000
    assert sum(c["carried_over_fen"] for c in by.values()) == 400_000
    assert by["business"]["spent_fen"] == 200_000

    second = (await grants.call("GET", path, "finance", params={"year": 2027})).json()
    assert second["closed"] is False
    assert (second["opening_fen"], second["received_fen"], second["drawn_fen"]) == (
        400_000,
        0,
        300_000,
    )
    assert (second["spent_fen"], second["closing_fen"]) == (250_000, 150_000)
    equipment = next(c for c in second["categories"] if c["category"] == "equipment")
    assert (equipment["drawn_fen"], equipment["spent_fen"]) == (300_000, 250_000)

    assert (await grants.call("GET", path, "org_admin2", params={"year": 2026})).status_code == 404
    assert (await grants.call("GET", path, "applicant", params={"year": 2026})).status_code == 404
    future = await grants.call("GET", path, "finance", params={"year": 2029})
    assert (future.status_code, future.json()["code"]) == (422, "fiscal.year_out_of_range")
    # The grant's own view counts what reached the organization once, drawdowns included.
    assert (await grants.grant(project_id))["released"] == 600_000


Person = Callable[[list[str], int], Awaitable[str]]


@pytest.fixture
def person(grants: Grants, gateway: FastAPI) -> Person:
    """Makes another person of an organization with these roles; their caller's name."""

    async def make(roles: list[str], org: int) -> str:
        issuer = gateway.state.token_issuer
        subject = str(uuid7())
        token, _ = await issuer.access_token(
            subject=subject,
            audience=issuer.settings.audiences,
            roles=roles,
            extra={"name": subject, "org": str(grants.orgs[org])},
        )
        name = f"person-{subject[-6:]}"
        grants.funds.callers[name] = Caller(subject=subject, headers=bearer(token))
        return name

    return make
