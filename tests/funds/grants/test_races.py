"""Races on one grant, with requests and events committing for real."""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import uuid4

from services.funds.grants.accounts import program_fund_id
from tests.funds.grants.conftest import Grants, fresh_program, terminated


async def test_racing_expenditures_never_pass_the_category_budget(
    committed_grants: Grants,
) -> None:
    grants, program = committed_grants, fresh_program()
    await grants.envelope(1_000_000, program_code=program)
    payload = await grants.contract(program_code=program)
    project_id = payload["project_id"]
    await grants.approve((await grants.grant(project_id))["tranches"][0]["payment_order_id"])

    answers = await asyncio.gather(
        *(grants.spend(project_id, "equipment", 20_000) for _ in range(20))
    )

    codes = Counter("created" if a.status_code == 201 else a.json()["code"] for a in answers)
    assert codes == {"created": 15, "grant.category_over_budget": 5}
    grant = await grants.grant(project_id)
    assert grant["spent_by_category"]["equipment"] == 300_000
    assert grant["available"] == 200_000


async def test_termination_racing_spending_and_an_approval_loses_no_fen(
    committed_grants: Grants,
) -> None:
    grants, program = committed_grants, fresh_program()
    await grants.envelope(1_000_000, program_code=program)
    payload = await grants.contract(program_code=program)
    project_id = payload["project_id"]
    await grants.approve((await grants.grant(project_id))["tranches"][0]["payment_order_id"])
    await grants.deliver(
        "project.midterm_passed",
        {
            "project_id": project_id,
            "project_number": payload["project_number"],
            "report_id": project_id,
        },
    )
    midterm_order = (await grants.grant(project_id))["tranches"][1]["payment_order_id"]

    results = await asyncio.gather(
        *(grants.spend(project_id, "business", 30_000) for _ in range(8)),
        grants.call("POST", f"/v1/payment-orders/{midterm_order}/approve", "finance2"),
        grants.deliver_apart("project.terminated", terminated(payload)),
        *(grants.spend(project_id, "labour", 10_000) for _ in range(4)),
    )

    spends = [r for r in results if r is not None and "expenditures" in str(r.url)]
    codes = {r.status_code if r.status_code == 201 else r.json()["code"] for r in spends}
    assert codes <= {201, "grant.frozen"}
    grant = await grants.grant(project_id)
    approval = results[8]
    paid_midterm = approval.status_code == 200
    assert grant["status"] == "frozen"
    assert grant["tranches"][1]["status"] == ("paid" if paid_midterm else "cancelled")
    assert grant["released"] == (800_000 if paid_midterm else 500_000)
    # Every fen released is either spent or held for recovery.
    assert grant["spent"] + grant["recovery"]["amount_fen"] == grant["released"]
    assert grant["spent"] == sum(r.json()["amount_fen"] for r in spends if r.status_code == 201)
    assert grant["available"] == 0


async def test_the_same_envelope_sent_at_once_is_allocated_once(committed_grants: Grants) -> None:
    grants, program = committed_grants, fresh_program()
    body = {"id": str(uuid4()), "program_code": program, "year": 2026, "amount_fen": 70_000}

    answers = await asyncio.gather(
        *(grants.call("POST", "/v1/grants/envelopes", "finance", json=body) for _ in range(10))
    )

    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    fund = await grants.funds.balances(str(program_fund_id(f"{program}-2026")))
    assert fund["credits_posted"] == 70_000
