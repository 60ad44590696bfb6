"""Maker-checker: money leaves a program fund only when a second finance officer approves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import directory, events
from tests.funds.conftest import Funds, outcomes, post, published, transfer


async def _program_fund(
    funds: Funds, amount: int = 1000, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    treasury = await funds.account(code="treasury", owner_kind="province", owner_id="gansu")
    fund = await funds.account(
        code="program_fund",
        owner_kind="program",
        owner_id="ZDYF",
        debits_must_not_exceed_credits=True,
        requires_approval=True,
        **fields,
    )
    assert outcomes(await funds.transfers(transfer(treasury, fund, amount))) == ["created"]
    return fund, await funds.account()


def _order(fund: dict[str, Any], project: dict[str, Any], amount: int) -> dict[str, Any]:
    return {
        **transfer(fund, project, amount),
        "code": "disbursement",
        "purpose": "项目首笔经费拨付（任务书签订）",
        "user_data": {"project": "2026-ZDYF-0001"},
    }


async def test_a_program_fund_pays_only_through_an_approved_order(funds: Funds) -> None:
    fund, project = await _program_fund(funds)

    direct = await funds.transfers(transfer(fund, project, 100))
    assert direct["results"][0]["status"] == 403
    assert direct["results"][0]["code"] == "transfer.requires_approval"
    hold = await funds.transfers(transfer(fund, project, 100, pending=True))
    assert outcomes(hold) == ["transfer.requires_approval"]

    order = _order(fund, project, 400)
    made = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending_approval"
    assert made.json()["maker_id"] == funds.callers["finance"].subject
    held = await funds.balances(fund["id"])
    assert (held["debits_pending"], held["debits_posted"], held["available"]) == (400, 0, 600)

    # Posting the hold directly is refused too: only the approval posts it.
    sneaky = await funds.transfers(post(order, code="disbursement"))
    assert outcomes(sneaky) == ["transfer.requires_approval"]

    approved = await funds.call(
        "POST", f"/v1/payment-orders/{order['id']}/approve", "finance2", json={"reason": "同意"}
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decided_by"], body["reason"]) == (
        "approved",
        funds.callers["finance2"].subject,
        "同意",
    )
    paid = await funds.balances(fund["id"])
    assert (paid["debits_pending"], paid["debits_posted"], paid["available"]) == (0, 400, 600)
    assert (await funds.balances(project["id"]))["credits_posted"] == 400
    resolution = await funds.call(
        "GET", f"/v1/transfers/{body['resolution_transfer_id']}", "auditor"
    )
    assert (resolution.json()["kind"], resolution.json()["pending_id"]) == ("post", order["id"])


async def test_the_maker_cannot_approve_their_own_order(
    funds: Funds, session: AsyncSession
) -> None:
    fund, project = await _program_fund(funds)
    order = _order(fund, project, 400)
    await funds.call("POST", "/v1/payment-orders", "finance", json=order)

    response = await funds.call("POST", f"/v1/payment-orders/{order['id']}/approve", "finance")

    assert response.status_code == 403
    assert response.json()["code"] == "payment_order.maker_cannot_approve"
    assert (await funds.balances(fund["id"]))["debits_posted"] == 0
    # The database refuses it as well, whatever the code above it does.
    with pytest.raises(DBAPIError) as refused:
        async with session.begin_nested():
            await session.execute(
                sa.text(
                    "UPDATE funds.payment_orders SET status = 'approved',"
                    " decided_by = maker_id, decided_at = now() WHERE id = :id"
                ),
                {"id": order["id"]},
            )
    assert "ck_payment_orders_checker_is_not_maker" in str(refused.value.orig)


async def test_rejecting_releases_the_hold_and_closes_the_order(funds: Funds) -> None:
    fund, project = await _program_fund(funds)
    order = _order(fund, project, 400)
    await funds.call("POST", "/v1/payment-orders", "finance", json=order)

    rejected = await funds.call(
        "POST", f"/v1/payment-orders/{order['id']}/reject", "finance2", json={"reason": "预算不符"}
    )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    after = await funds.balances(fund["id"])
    assert (after["debits_pending"], after["available"]) == (0, 1000)
    late = await funds.call("POST", f"/v1/payment-orders/{order['id']}/approve", "admin")
    assert late.status_code == 409
    assert (late.json()["code"], late.json()["state"]) == (
        "payment_order.invalid_transition",
        "rejected",
    )
    # The maker may withdraw their own order.
    withdrawn = _order(fund, project, 100)
    await funds.call("POST", "/v1/payment-orders", "finance", json=withdrawn)
    response = await funds.call(
        "POST", f"/v1/payment-orders/{withdrawn['id']}/reject", "finance", json={"reason": "撤回"}
    )
    assert response.status_code == 200


async def test_orders_and_decisions_are_idempotent(funds: Funds, session: AsyncSession) -> None:
    fund, project = await _program_fund(funds)
    order = _order(fund, project, 400)

    first = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    again = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    different = await funds.call(
        "POST", "/v1/payment-orders", "finance", json={**order, "amount": 401}
    )
    assert different.status_code == 409
    assert different.json()["code"] == "payment_order.exists_different"

    path = f"/v1/payment-orders/{order['id']}/approve"
    approved = await funds.call("POST", path, "finance2")
    replay = await funds.call("POST", path, "finance2")
    assert (approved.status_code, replay.status_code) == (200, 200)
    assert replay.json() == approved.json()
    assert (await funds.balances(fund["id"]))["debits_posted"] == 400
    published = await session.execute(
        sa.select(events.outbox.c.event_type, events.outbox.c.payload)
        .where(events.outbox.c.aggregate_id == order["id"])
        .order_by(events.outbox.c.id)
    )
    rows = published.all()
    assert [r.event_type for r in rows] == [
        "payment_order.awaiting_approval",
        "payment_order.approved",
    ]
    assert rows[1].payload["amount_fen"] == 400


async def test_an_order_waiting_for_approval_names_its_program_and_the_organization_paid(
    funds: Funds, session: AsyncSession
) -> None:
    fund, _ = await _program_fund(funds, program="ZDYF")
    org_id = uuid4()
    payee = await funds.account(
        code="project_funds",
        name="项目专账 2026-ZDYF-0001",
        owner_kind="organization",
        owner_id=str(org_id),
        program="ZDYF",
    )
    order = _order(fund, payee, 400)
    made = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    assert made.status_code == 201, made.text

    [event] = await published(session, "payment_order.awaiting_approval", order_id=order["id"])
    assert (event["org_id"], event["program_code"], event["amount_fen"]) == (
        str(org_id),
        "ZDYF",
        400,
    )
    assert (event["payee_account_name"], event["purpose"]) == (
        "项目专账 2026-ZDYF-0001",
        "项目首笔经费拨付（任务书签订）",
    )
    assert event["maker_id"] == funds.callers["finance"].subject


async def test_an_order_the_fund_cannot_cover_stays_refused(funds: Funds) -> None:
    fund, project = await _program_fund(funds, 100)
    order = _order(fund, project, 400)

    first = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    assert first.status_code == 409
    assert first.json()["code"] == "transfer.exceeds_credits"
    treasury = await funds.account(code="treasury")
    await funds.transfers(transfer(treasury, fund, 1000))
    again = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    assert again.status_code == 409
    assert again.json()["code"] == "transfer.exceeds_credits"
    assert (
        await funds.call("GET", f"/v1/payment-orders/{order['id']}", "auditor")
    ).status_code == 404


async def test_who_may_make_decide_and_read_orders(funds: Funds) -> None:
    fund, project = await _program_fund(funds)
    order = _order(fund, project, 100)
    for who in ("auditor", "service", "manager"):
        response = await funds.call("POST", "/v1/payment-orders", who, json=order)
        assert response.status_code == 403, who
    await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    response = await funds.call("POST", f"/v1/payment-orders/{order['id']}/approve", "auditor")
    assert response.status_code == 403
    listed = await funds.call(
        "GET", "/v1/payment-orders", "auditor", params={"status": "pending_approval"}
    )
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]
    missing = await funds.call(
        "POST", "/v1/payment-orders/00000000-0000-4000-8000-000000000000/approve", "finance2"
    )
    assert missing.status_code == 404


async def test_the_list_names_the_maker_the_checker_and_the_accounts(
    funds: Funds, session: AsyncSession
) -> None:
    for who, name in (("finance", "赵会计"), ("finance2", "钱复核")):
        await session.execute(
            sa.insert(directory.users).values(
                id=UUID(funds.callers[who].subject),
                username=f"{who}-{uuid4().hex[:6]}",
                display_name=name,
                roles=["finance_officer"],
                is_active=True,
                updated_at=datetime.now(UTC),
            )
        )
    await session.commit()
    fund, _ = await _program_fund(funds, name="重点研发计划专项资金")
    payee = await funds.account(name="项目专账 2026-ZDYF-0002")
    order = _order(fund, payee, 400)
    await funds.call("POST", "/v1/payment-orders", "finance", json=order)

    waiting = await funds.call(
        "GET", "/v1/payment-orders", "finance2", params={"status": "pending_approval"}
    )
    [listed] = [o for o in waiting.json()["items"] if o["id"] == order["id"]]
    assert (listed["maker_name"], listed["decided_by_name"]) == ("赵会计", None)
    assert (listed["debit_account_name"], listed["credit_account_name"]) == (
        "重点研发计划专项资金",
        "项目专账 2026-ZDYF-0002",
    )
    approved = await funds.call("POST", f"/v1/payment-orders/{order['id']}/approve", "finance2")
    assert (approved.json()["maker_name"], approved.json()["decided_by_name"]) == (
        "赵会计",
        "钱复核",
    )
