"""Confirmed fraud claws money back and tells the credit service; expiry returns unused value."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.contracts.funds import VoucherFraudConfirmedV1
from tests.funds.vouchers.conftest import World, ready
from tests.funds.vouchers.test_orders import redemption


async def _redeemed(world: World, voucher: dict[str, Any], provider: dict[str, Any]) -> str:
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=redemption())
    await world.ok("POST", f"{path}/redemption/approve", "finance")
    return path


async def test_fraud_after_payment_claws_back_and_is_reported_once(world: World) -> None:
    program, provider, enterprise, voucher = await ready(world, amount=500_000)
    path = await _redeemed(world, voucher, provider)
    open_order = (await world.order(voucher, provider, "enterprise", part=50_000)).json()
    assert (await world.pool(program))["available"] == 10_000_000 - 500_000

    facts = "服务机构与企业虚构检测服务交易，套取创新券资金。"
    assert (
        await world.call("POST", f"{path}/fraud", "manager", json={"facts": facts})
    ).status_code == 403
    fraud = await world.ok("POST", f"{path}/fraud", "finance", json={"facts": facts})
    assert (fraud["state"], fraud["fraud_facts"]) == ("cancelled", facts)

    # Paid 100,000 then clawed back: the provider owes nothing more and was paid nothing net.
    payable = await world.funds.balances(fraud["payable_account_id"])
    assert (payable["debits_posted"], payable["credits_posted"]) == (100_000, 100_000)
    # Everything of the voucher is back in the pool: the clawback, the open hold, the rest.
    assert (await world.pool(program))["available"] == 10_000_000
    cancelled = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (cancelled["status"], cancelled["available_fen"], cancelled["held_fen"]) == (
        "cancelled",
        0,
        0,
    )
    other = await world.ok("GET", f"/v1/voucher-orders/{open_order['id']}", "enterprise")
    assert other["state"] == "cancelled"
    seen = await world.ok("GET", f"/v1/voucher-providers/{provider['id']}", "provider")
    assert (seen["status"], seen["accepts_vouchers"]) == ("suspended", False)

    published = await world.outbox("voucher.fraud_confirmed")
    assert published == [
        {
            "voucher_number": voucher["number"],
            "facts": facts,
            "managing_agency": "省科技厅",
            "enterprise": {
                "name": enterprise["name"],
                "gateway_org_id": enterprise["org_id"],
                "credit_code": enterprise["credit_code"],
            },
            "provider": {
                "name": provider["name"],
                "gateway_org_id": provider["org_id"],
                "credit_code": provider["credit_code"],
            },
        }
    ]
    # The credit service's contract for this event reads it as it is.
    assert VoucherFraudConfirmedV1.model_validate(published[0]).voucher_number == voucher["number"]
    again = await world.ok("POST", f"{path}/fraud", "finance2", json={"facts": "再次确认"})
    assert (again["fraud_facts"], again["fraud_confirmed_by"]) == (
        facts,
        world.funds.callers["finance"].subject,
    )
    assert len(await world.outbox("voucher.fraud_confirmed")) == 1
    assert (await world.pool(program))["available"] == 10_000_000


async def test_fraud_before_payment_voids_the_hold(world: World) -> None:
    program, provider, _, voucher = await ready(world, amount=300_000)
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    fraud = await world.ok("POST", f"{path}/fraud", "admin", json={"facts": "未实际提供服务。"})
    assert fraud["state"] == "cancelled"
    payable = await world.funds.balances(fraud["payable_account_id"])
    assert (payable["credits_pending"], payable["credits_posted"]) == (0, 0)
    assert (await world.pool(program))["available"] == 10_000_000
    assert len(await world.outbox("voucher.fraud_confirmed")) == 1
    refused = await world.call("POST", f"{path}/redemption", "provider", json=redemption())
    assert refused.status_code == 409


async def test_expiry_returns_the_unused_value_and_keeps_delivered_work(world: World) -> None:
    program, provider, _, voucher = await ready(world, amount=500_000, validity_days=30)
    undelivered = (await world.order(voucher, provider, "enterprise", part=100_000)).json()
    delivered = (await world.order(voucher, provider, "enterprise", part=100_000)).json()
    await world.ok("POST", f"/v1/voucher-orders/{delivered['id']}/deliver", "provider")
    await _redeemed(world, voucher, provider)  # 100,000 paid
    assert await world.expire() == 0  # not due yet

    world.funds.clock.now = _parse(voucher["expires_at"])
    late = await world.order(voucher, provider, "enterprise", part=1_000)
    assert late.status_code == 409
    assert late.json()["code"] == "voucher.not_valid"
    assert await world.expire() == 1
    assert await world.expire() == 0  # nothing twice

    expired = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (expired["status"], expired["available_fen"], expired["held_fen"]) == (
        "expired",
        0,
        100_000,
    )
    assert expired["spent_fen"] == 100_000
    # 500,000 issued: 100,000 paid, 100,000 still held for delivered work, the rest returned.
    assert (await world.pool(program))["available"] == 10_000_000 - 200_000
    gone = await world.ok("GET", f"/v1/voucher-orders/{undelivered['id']}", "enterprise")
    assert gone["state"] == "cancelled"
    kept = await world.ok("POST", f"/v1/voucher-orders/{delivered['id']}/confirm", "enterprise")
    assert kept["state"] == "confirmed"

    # The grace period for redemption ends 30 days after expiry: the hold goes back too.
    world.funds.clock.advance(days=30)
    assert await world.expire() == 1
    ended = await world.ok("GET", f"/v1/voucher-orders/{delivered['id']}", "enterprise")
    assert ended["state"] == "cancelled"
    assert (await world.pool(program))["available"] == 10_000_000 - 100_000
    assert (await world.history(delivered))[-1] == "redemption_grace_over"


async def test_a_redemption_filed_in_time_is_paid_after_expiry(world: World) -> None:
    program, provider, _, voucher = await ready(world, amount=500_000, validity_days=30)
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=redemption())
    world.funds.clock.now = _parse(voucher["expires_at"]) + timedelta(days=40)
    assert await world.expire() == 1
    assert (await world.ok("POST", f"{path}/redemption/approve", "finance"))["state"] == "redeemed"
    assert (await world.pool(program))["available"] == 10_000_000 - 100_000


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))
