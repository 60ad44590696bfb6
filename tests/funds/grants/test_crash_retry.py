"""Every grant endpoint that moves money, crashed after its commit and retried: the retry
answers with what was done, and the money moved once.

The clock moves between the crash and the retry, so the retry's timestamps show that it
answered with the committed original instead of doing the thing again.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from services.funds.grants.accounts import (
    program_fund_id,
    project_funds_id,
    project_spent_id,
    treasury_id,
)
from tests.funds.grants.conftest import Grants, summary, terminated
from tests.funds.lossy import lost_then_retried, parse_time


async def _fund(grants: Grants) -> dict[str, Any]:
    return await grants.funds.balances(str(program_fund_id("ZDYF-2026")))


async def _signing_paid(grants: Grants) -> dict[str, Any]:
    """A contracted project whose signing tranche (500,000 of 1,000,000) was paid; the
    `project.contracted` payload."""
    await grants.envelope(2_000_000)
    payload = await grants.contract()
    tranches = (await grants.grant(payload["project_id"]))["tranches"]
    await grants.approve(tranches[0]["payment_order_id"])
    return payload


async def test_an_envelope_retried_after_a_lost_response_is_allocated_once(
    grants: Grants,
) -> None:
    body = {"id": str(uuid4()), "program_code": "ZDYF", "year": 2026, "amount_fen": 5_000_000}

    crashed_at = grants.funds.clock.now

    retry = await lost_then_retried(grants.funds, "POST", "/v1/grants/envelopes", "finance", body)

    assert retry.status_code == 200, retry.text
    assert (retry.json()["id"], retry.json()["amount_fen"]) == (body["id"], 5_000_000)
    assert parse_time(retry.json()["created_at"]) == crashed_at
    envelope = await grants.summary()
    assert envelope["envelopes"] == [retry.json()]
    assert (envelope["allocated"], envelope["available"]) == (5_000_000, 5_000_000)
    treasury = await grants.funds.balances(str(treasury_id("ZDYF-2026")))
    assert ((await _fund(grants))["credits_posted"], treasury["debits_posted"]) == (
        5_000_000,
        5_000_000,
    )


async def test_a_tranche_release_retried_after_a_lost_response_orders_once(
    grants: Grants,
) -> None:
    await grants.envelope(100_000)  # too small: the signing tranche is refused and stays due
    project_id = (await grants.contract())["project_id"]
    await grants.envelope(900_000)
    path = f"/v1/grants/{project_id}/tranches/1/release"
    crashed_at = grants.funds.clock.now

    retry = await lost_then_retried(grants.funds, "POST", path, "finance")

    assert retry.status_code == 200, retry.text
    released = retry.json()
    assert (released["status"], released["attempts"]) == ("awaiting_approval", 2)
    assert (await grants.grant(project_id))["tranches"][0] == released
    order = await grants.call(
        "GET", f"/v1/payment-orders/{released['payment_order_id']}", "auditor"
    )
    assert (order.json()["status"], parse_time(order.json()["created_at"])) == (
        "pending_approval",
        crashed_at,
    )
    # One order holding the tranche, not two.
    fund = await _fund(grants)
    assert (fund["debits_pending"], fund["debits_posted"]) == (500_000, 0)
    await grants.approve(released["payment_order_id"], who="finance2")
    assert (await grants.grant(project_id))["released"] == 500_000


async def test_a_post_subsidy_retried_after_a_lost_response_is_ordered_once(
    grants: Grants,
) -> None:
    await grants.envelope(3_000_000)
    payload = await grants.contract()
    project_id = payload["project_id"]
    await grants.deliver("project.accepted", summary(payload, result="passed", conditions=None))
    body = {"id": str(uuid4()), "amount_fen": 800_000, "reason": "验收优秀，给予后补助"}
    crashed_at = grants.funds.clock.now

    retry = await lost_then_retried(
        grants.funds, "POST", f"/v1/grants/{project_id}/post-subsidies", "finance", body
    )

    assert retry.status_code == 200, retry.text
    subsidy = retry.json()
    assert (subsidy["id"], subsidy["amount_fen"], subsidy["status"]) == (
        body["id"],
        800_000,
        "pending_approval",
    )
    assert parse_time(subsidy["created_at"]) == crashed_at
    assert (await grants.grant(project_id))["post_subsidies"] == [subsidy]
    # The signing (500,000) and acceptance (200,000) tranches and one subsidy are held.
    assert (await _fund(grants))["debits_pending"] == 500_000 + 200_000 + 800_000
    await grants.approve(subsidy["payment_order_id"], who="finance2")
    assert (await grants.grant(project_id))["released"] == 800_000


async def test_an_expenditure_retried_after_a_lost_response_is_spent_once(
    grants: Grants,
) -> None:
    project_id = (await _signing_paid(grants))["project_id"]
    body = {
        "id": str(uuid4()),
        "category": "equipment",
        "amount_fen": 200_000,
        "description": "购置高效液相色谱仪",
        "spent_on": "2026-04-15",
    }
    path = f"/v1/grants/{project_id}/expenditures"
    crashed_at = grants.funds.clock.now

    retry = await lost_then_retried(grants.funds, "POST", path, "org_admin", body)

    assert retry.status_code == 200, retry.text
    assert (retry.json()["id"], retry.json()["amount_fen"]) == (body["id"], 200_000)
    assert parse_time(retry.json()["created_at"]) == crashed_at
    listed = await grants.call("GET", path, "auditor")
    assert listed.json()["items"] == [retry.json()]
    grant = await grants.grant(project_id)
    assert (grant["spent"], grant["available"]) == (200_000, 300_000)
    assert grant["spent_by_category"]["equipment"] == 200_000
    spent = await grants.funds.balances(str(project_spent_id(project_id)))
    funds = await grants.funds.balances(str(project_funds_id(project_id)))
    assert (spent["credits_posted"], funds["debits_posted"]) == (200_000, 200_000)


async def test_a_recovery_settled_after_a_lost_response_returns_the_money_once(
    grants: Grants,
) -> None:
    payload = await _signing_paid(grants)
    project_id = payload["project_id"]
    assert (await grants.spend(project_id, "equipment", 120_000)).status_code == 201
    await grants.deliver("project.terminated", terminated(payload))
    body = {"id": str(uuid4())}
    crashed_at = grants.funds.clock.now

    retry = await lost_then_retried(
        grants.funds, "POST", f"/v1/grants/{project_id}/recovery/settle", "finance", body
    )

    assert retry.status_code == 200, retry.text
    recovery = retry.json()
    assert (recovery["status"], recovery["amount_fen"], recovery["settled_by"]) == (
        "settled",
        380_000,
        grants.funds.callers["finance"].subject,
    )
    assert parse_time(recovery["settled_at"]) == crashed_at
    after = await grants.grant(project_id)
    assert after["recovery"] == recovery
    assert (after["frozen"], after["available"]) == (0, 0)
    fund = await _fund(grants)
    # Back in the fund once: everything but the 120,000 spent.
    assert (fund["net_posted"], fund["debits_pending"]) == (2_000_000 - 120_000, 0)
    assert (await grants.summary())["recovered"] == 380_000


async def test_a_tranche_order_approved_after_a_lost_response_pays_once(grants: Grants) -> None:
    await grants.envelope(1_000_000)
    project_id = (await grants.contract())["project_id"]
    order_id = (await grants.grant(project_id))["tranches"][0]["payment_order_id"]
    crashed_at = grants.funds.clock.now

    retry = await lost_then_retried(
        grants.funds,
        "POST",
        f"/v1/payment-orders/{order_id}/approve",
        "finance2",
        {"reason": "任务书已签订"},
    )

    assert retry.status_code == 200, retry.text
    order = retry.json()
    assert (order["id"], order["status"], order["amount"]) == (order_id, "approved", 500_000)
    assert (order["decided_by"], parse_time(order["decided_at"])) == (
        grants.funds.callers["finance2"].subject,
        crashed_at,
    )
    grant = await grants.grant(project_id)
    assert (grant["tranches"][0]["status"], grant["released"]) == ("paid", 500_000)
    funds = await grants.funds.balances(str(project_funds_id(project_id)))
    fund = await _fund(grants)
    assert funds["credits_posted"] == 500_000
    assert (fund["debits_posted"], fund["debits_pending"]) == (500_000, 0)
