"""The events that tell an enterprise and a provider what became of their vouchers and orders
(the notify service turns them into notices), each naming the organizations by gateway id."""

from __future__ import annotations

from typing import Any

from tests.funds.vouchers.conftest import World, ready
from tests.funds.vouchers.test_orders import redemption


def organization(party: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": party["name"],
        "gateway_org_id": party["org_id"],
        "credit_code": party["credit_code"],
    }


async def test_an_issued_voucher_tells_its_enterprise(world: World) -> None:
    program, _, enterprise, voucher = await ready(world, amount=500_000)

    [issued] = [e for e in await world.outbox("voucher.issued") if e["voucher_id"] == voucher["id"]]
    assert issued["enterprise"] == organization(enterprise)
    assert (issued["voucher_number"], issued["amount_fen"]) == (voucher["number"], 500_000)
    assert (issued["program_code"], issued["program_name"]) == (program["code"], program["name"])
    assert issued["valid_until"] == voucher["valid_until"]


async def test_an_order_tells_the_provider_and_its_redemption_too(world: World) -> None:
    _, provider, enterprise, voucher = await ready(world)
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"

    [placed] = [
        e for e in await world.outbox("voucher.order_placed") if e["order_id"] == order["id"]
    ]
    assert (placed["provider"], placed["enterprise"]) == (
        organization(provider),
        organization(enterprise),
    )
    assert (placed["service_name"], placed["voucher_amount_fen"]) == ("材料成分检测", 100_000)

    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    filed = redemption()
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=filed)
    await world.ok("POST", f"{path}/redemption/approve", "finance")
    await world.ok("POST", f"{path}/redemption/approve", "finance")  # again: paid once, told once

    [approved] = [
        e for e in await world.outbox("voucher.redemption_approved") if e["order_id"] == order["id"]
    ]
    assert approved["provider"] == organization(provider)
    assert approved["invoice_number"] == filed["invoice_number"].upper()  # as funds keeps it
