"""Races on real commits: the database, not Python, keeps every voucher rule."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.funds.vouchers.conftest import World, ready
from tests.funds.vouchers.test_orders import redemption


async def test_100_orders_on_a_voucher_worth_10(committed_world: World) -> None:
    world = committed_world
    _, provider, _, voucher = await ready(world, amount=10 * 30_000)
    answers = await asyncio.gather(
        *(world.order(voucher, provider, "enterprise", part=30_000) for _ in range(100))
    )
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 10, 409: 90}, [a.text for a in answers if a.status_code >= 500]
    codes = {a.json()["code"] for a in answers if a.status_code == 409}
    assert codes == {"voucher.insufficient_balance"}
    after = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (after["available_fen"], after["held_fen"]) == (0, 300_000)
    placed = await world.ok("GET", "/v1/voucher-orders", "enterprise", params={"limit": 200})
    assert len(placed["items"]) == 10


async def test_two_approvers_make_one_payment(committed_world: World) -> None:
    world = committed_world
    _, provider, _, voucher = await ready(world)
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=redemption())
    answers = await asyncio.gather(
        world.call("POST", f"{path}/redemption/approve", "finance"),
        world.call("POST", f"{path}/redemption/approve", "finance2"),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    payable = await world.funds.balances(order["payable_account_id"])
    assert (payable["credits_posted"], payable["credits_pending"]) == (100_000, 0)
    paid = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")
    assert (paid["spent_fen"], paid["held_fen"]) == (100_000, 0)


async def test_one_invoice_filed_twice_at_once(committed_world: World) -> None:
    world = committed_world
    _, provider, _, voucher = await ready(world)
    paths = []
    for _ in range(2):
        order = (await world.order(voucher, provider, "enterprise")).json()
        path = f"/v1/voucher-orders/{order['id']}"
        await world.ok("POST", f"{path}/deliver", "provider")
        await world.ok("POST", f"{path}/confirm", "enterprise")
        paths.append(path)
    invoice = redemption()
    answers = await asyncio.gather(
        *(world.call("POST", f"{path}/redemption", "provider", json=invoice) for path in paths)
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["code"] == "voucher.invoice_reused"
    states = [(await world.ok("GET", path, "provider"))["state"] for path in paths]
    assert sorted(states) == ["confirmed", "redemption_filed"]


async def test_one_group_cap_under_concurrent_issues(committed_world: World) -> None:
    world = committed_world
    program = await world.program(cap_per_group_fen=500_000)
    await world.enterprise("first", controller="P-RACE-GROUP")
    await world.enterprise("second", controller="P-RACE-GROUP")
    answers = await asyncio.gather(
        world.voucher(program, "first", 300_000), world.voucher(program, "second", 300_000)
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert (await world.pool(program))["available"] == program["budget_fen"] - 300_000


async def test_fraud_racing_an_approval_leaves_no_money_with_the_provider(
    committed_world: World,
) -> None:
    world = committed_world
    program, provider, _, voucher = await ready(world)
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=redemption())
    approval, fraud = await asyncio.gather(
        world.call("POST", f"{path}/redemption/approve", "finance"),
        world.call("POST", f"{path}/fraud", "finance2", json={"facts": "虚构交易，未实际检测。"}),
    )
    assert fraud.status_code == 200, fraud.text
    assert approval.status_code in (200, 409)  # either order of the two is consistent
    payable = await world.funds.balances(order["payable_account_id"])
    assert payable["credits_pending"] == 0
    assert payable["net_posted"] == 0  # paid and clawed back, or never paid
    assert (await world.pool(program))["available"] == program["budget_fen"]
    final = await world.ok("GET", path, "auditor")
    assert final["state"] == "cancelled"
