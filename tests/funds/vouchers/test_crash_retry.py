"""Every voucher endpoint that moves money, crashed after its commit and retried: the retry
answers with what was done, and the money moved once.

The clock moves between the crash and the retry, so the retry's timestamps show that it
answered with the committed original instead of doing the thing again.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.funds.lossy import lost_then_retried, parse_time
from tests.funds.vouchers.conftest import SERVICES, World, program_body, ready
from tests.funds.vouchers.test_orders import redemption

FRAUD_FACTS = "服务机构与企业虚构检测服务交易，套取创新券资金。"


def _order_body(voucher: dict[str, Any], provider: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "voucher_id": voucher["id"],
        "provider_id": provider["id"],
        "service_name": SERVICES[0]["name"],
        "service_category": SERVICES[0]["category"],
        "contract_amount_fen": 200_000,
        "voucher_amount_fen": 100_000,
    }


async def _history(world: World, order_id: str) -> list[dict[str, Any]]:
    response = await world.call("GET", f"/v1/voucher-orders/{order_id}/history", "auditor")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["items"]
    return entries


async def _filed(world: World, voucher: dict[str, Any], provider: dict[str, Any]) -> str:
    """An order of 100,000 of the voucher, delivered, confirmed, its redemption filed; its path."""
    order = await world.ok(
        "POST", "/v1/voucher-orders", "enterprise", 201, json=_order_body(voucher, provider)
    )
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=redemption())
    return path


async def test_a_program_created_after_a_lost_response_is_funded_once(world: World) -> None:
    body = program_body(budget_fen=10_000_000)
    crashed_at = world.funds.clock.now

    retry = await lost_then_retried(world.funds, "POST", "/v1/voucher-programs", "finance", body)

    assert retry.status_code == 200, retry.text
    program = retry.json()
    assert (program["id"], program["budget_fen"]) == (body["id"], 10_000_000)
    assert parse_time(program["created_at"]) == crashed_at
    assert await world.ok("GET", f"/v1/voucher-programs/{body['id']}", "auditor") == program
    pool = await world.pool(program)
    treasury = await world.funds.balances(program["treasury_account_id"])
    assert (pool["credits_posted"], pool["available"]) == (10_000_000, 10_000_000)
    assert treasury["debits_posted"] == 10_000_000


async def test_a_voucher_issued_after_a_lost_response_is_funded_once(world: World) -> None:
    program = await world.program(cap_per_group_fen=1_000_000)
    await world.enterprise("enterprise")
    body = {"id": str(uuid4()), "amount_fen": 600_000}
    crashed_at = world.funds.clock.now

    retry = await lost_then_retried(
        world.funds, "POST", f"/v1/voucher-programs/{program['id']}/vouchers", "enterprise", body
    )

    assert retry.status_code == 200, retry.text
    voucher = retry.json()
    assert (voucher["id"], voucher["amount_fen"], voucher["available_fen"]) == (
        body["id"],
        600_000,
        600_000,
    )
    assert parse_time(voucher["issued_at"]) == crashed_at
    assert await world.ok("GET", f"/v1/vouchers/{body['id']}", "enterprise") == voucher
    listed = await world.ok("GET", "/v1/vouchers", "enterprise")
    assert [v["id"] for v in listed["items"]] == [body["id"]]
    assert (await world.pool(program))["available"] == 10_000_000 - 600_000
    # The cap counted the voucher once: 400,000 of the group's 1,000,000 are still free.
    rest = await world.voucher(program, "enterprise", 400_000)
    assert rest.status_code == 201, rest.text


async def test_an_order_placed_after_a_lost_response_holds_once(world: World) -> None:
    _, provider, _, voucher = await ready(world, amount=500_000)
    body = _order_body(voucher, provider)
    crashed_at = world.funds.clock.now

    retry = await lost_then_retried(world.funds, "POST", "/v1/voucher-orders", "enterprise", body)

    assert retry.status_code == 200, retry.text
    order = retry.json()
    assert (order["id"], order["state"], order["voucher_amount_fen"]) == (
        body["id"],
        "ordered",
        100_000,
    )
    assert parse_time(order["created_at"]) == crashed_at
    assert await world.ok("GET", f"/v1/voucher-orders/{body['id']}", "enterprise") == order
    held = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (held["available_fen"], held["held_fen"]) == (400_000, 100_000)
    payable = await world.funds.balances(order["payable_account_id"])
    assert (payable["credits_pending"], payable["credits_posted"]) == (100_000, 0)
    assert [e["action"] for e in await _history(world, body["id"])] == ["ordered"]


async def test_an_order_cancelled_after_a_lost_response_releases_once(world: World) -> None:
    _, provider, _, voucher = await ready(world, amount=500_000)
    placed = await world.ok(
        "POST", "/v1/voucher-orders", "enterprise", 201, json=_order_body(voucher, provider)
    )
    crashed_at = world.funds.clock.now

    retry = await lost_then_retried(
        world.funds,
        "POST",
        f"/v1/voucher-orders/{placed['id']}/cancel",
        "enterprise",
        {"reason": "服务需求变更"},
    )

    assert retry.status_code == 200, retry.text
    assert (retry.json()["id"], retry.json()["state"]) == (placed["id"], "cancelled")
    history = await _history(world, placed["id"])
    assert [e["action"] for e in history] == ["ordered", "cancelled"]
    assert parse_time(history[-1]["at"]) == crashed_at
    back = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (back["available_fen"], back["held_fen"], back["spent_fen"]) == (500_000, 0, 0)
    payable = await world.funds.balances(placed["payable_account_id"])
    assert (payable["credits_pending"], payable["credits_posted"]) == (0, 0)


async def test_a_redemption_approved_after_a_lost_response_pays_once(world: World) -> None:
    program, provider, _, voucher = await ready(world, amount=500_000)
    path = await _filed(world, voucher, provider)
    crashed_at = world.funds.clock.now

    retry = await lost_then_retried(
        world.funds, "POST", f"{path}/redemption/approve", "finance", {"reason": "材料齐全"}
    )

    assert retry.status_code == 200, retry.text
    order = retry.json()
    assert (order["state"], order["redemption_decided_by"]) == (
        "redeemed",
        world.funds.callers["finance"].subject,
    )
    history = await _history(world, order["id"])
    assert [e["action"] for e in history][-2:] == ["redemption_filed", "redemption_approved"]
    assert parse_time(history[-1]["at"]) == crashed_at
    paid = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (paid["available_fen"], paid["held_fen"], paid["spent_fen"]) == (400_000, 0, 100_000)
    payable = await world.funds.balances(order["payable_account_id"])
    assert (payable["credits_posted"], payable["credits_pending"]) == (100_000, 0)
    assert (await world.pool(program))["available"] == 10_000_000 - 500_000


async def test_fraud_confirmed_after_a_lost_response_claws_back_once(world: World) -> None:
    program, provider, _, voucher = await ready(world, amount=500_000)
    path = await _filed(world, voucher, provider)
    await world.ok("POST", f"{path}/redemption/approve", "finance")
    crashed_at = world.funds.clock.now

    retry = await lost_then_retried(
        world.funds, "POST", f"{path}/fraud", "finance2", {"facts": FRAUD_FACTS}
    )

    assert retry.status_code == 200, retry.text
    order = retry.json()
    assert (order["state"], order["fraud_facts"], order["fraud_confirmed_by"]) == (
        "cancelled",
        FRAUD_FACTS,
        world.funds.callers["finance2"].subject,
    )
    history = await _history(world, order["id"])
    assert [e["action"] for e in history][-2:] == ["redemption_approved", "fraud_confirmed"]
    assert parse_time(history[-1]["at"]) == crashed_at
    # Paid 100,000, clawed back once: the provider is owed nothing and owes nothing.
    payable = await world.funds.balances(order["payable_account_id"])
    assert (payable["debits_posted"], payable["credits_posted"]) == (100_000, 100_000)
    assert (await world.pool(program))["available"] == 10_000_000
    cancelled = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (cancelled["status"], cancelled["available_fen"], cancelled["held_fen"]) == (
        "cancelled",
        0,
        0,
    )
    assert len(await world.outbox("voucher.fraud_confirmed")) == 1


async def test_fraud_before_payment_after_a_lost_response_voids_once(world: World) -> None:
    program, provider, _, voucher = await ready(world, amount=500_000)
    order = await world.ok(
        "POST", "/v1/voucher-orders", "enterprise", 201, json=_order_body(voucher, provider)
    )
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")

    retry = await lost_then_retried(
        world.funds, "POST", f"{path}/fraud", "finance", {"facts": FRAUD_FACTS}
    )

    assert retry.status_code == 200, retry.text
    assert (retry.json()["state"], retry.json()["fraud_confirmed_by"]) == (
        "cancelled",
        world.funds.callers["finance"].subject,
    )
    assert [e["action"] for e in await _history(world, order["id"])].count("fraud_confirmed") == 1
    payable = await world.funds.balances(order["payable_account_id"])
    assert (payable["credits_pending"], payable["credits_posted"]) == (0, 0)
    assert (await world.pool(program))["available"] == 10_000_000
    assert len(await world.outbox("voucher.fraud_confirmed")) == 1
