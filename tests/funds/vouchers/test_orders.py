"""Orders: the voucher part is held, then paid on an approved redemption; the guards."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.funds.vouchers.conftest import SERVICES, World, ready


def redemption(invoice: str = "", **overrides: Any) -> dict[str, Any]:
    return {
        "invoice_number": invoice or f"INV-{uuid4().hex[:12]}",
        "invoice_amount_fen": 200_000,
        "contract_ref": "HT-2026-001.pdf",
        "self_payment_ref": "BANK-2026-0301.pdf",
        "delivery_proof_ref": "REPORT-2026-07.pdf",
        **overrides,
    }


async def _voucher(world: World, voucher: dict[str, Any]) -> dict[str, Any]:
    return await world.ok("GET", f"/v1/vouchers/{voucher['id']}", "enterprise")


async def test_an_order_from_hold_to_payment(world: World) -> None:
    _, provider, _, voucher = await ready(world, amount=500_000)
    placed = await world.order(voucher, provider, "enterprise", contract=200_000, part=100_000)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["state"] == "ordered"
    held = await _voucher(world, voucher)
    assert (held["available_fen"], held["held_fen"]) == (400_000, 100_000)
    path = f"/v1/voucher-orders/{order['id']}"

    # Each party does only its own step, in order.
    early = await world.call("POST", f"{path}/confirm", "enterprise")
    assert early.status_code == 409
    assert early.json()["state"] == "ordered"
    assert (await world.call("POST", f"{path}/deliver", "enterprise")).status_code == 403
    delivered = await world.ok("POST", f"{path}/deliver", "provider")
    assert delivered["state"] == "delivered"
    assert (await world.ok("POST", f"{path}/deliver", "provider"))["state"] == "delivered"
    confirmed = await world.ok("POST", f"{path}/confirm", "enterprise")
    assert confirmed["state"] == "confirmed"

    filed = await world.call(
        "POST", f"{path}/redemption", "provider", json=redemption("FP-20260001")
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["state"] == "redemption_filed"
    same = await world.call(
        "POST", f"{path}/redemption", "provider", json=redemption("FP-20260001")
    )
    assert same.status_code == 200
    other = await world.call(
        "POST", f"{path}/redemption", "provider", json=redemption("FP-20260002")
    )
    assert other.status_code == 409
    assert other.json()["code"] == "voucher.redemption_exists_different"

    assert (await world.call("POST", f"{path}/redemption/approve", "provider")).status_code == 403
    approved = await world.ok("POST", f"{path}/redemption/approve", "finance", json={})
    assert (approved["state"], approved["redemption_decided_by"]) == (
        "redeemed",
        world.funds.callers["finance"].subject,
    )
    replay = await world.ok("POST", f"{path}/redemption/approve", "finance")
    assert replay["state"] == "redeemed"
    second = await world.call("POST", f"{path}/redemption/approve", "finance2")
    assert second.status_code == 409
    assert second.json()["state"] == "redeemed"

    paid = await _voucher(world, voucher)
    assert (paid["available_fen"], paid["held_fen"], paid["spent_fen"]) == (400_000, 0, 100_000)
    payable = await world.funds.balances(approved["payable_account_id"])
    assert payable["net_posted"] == 100_000
    assert await world.history(order) == [
        "ordered",
        "delivered",
        "confirmed",
        "redemption_filed",
        "redemption_approved",
    ]


async def test_a_rejected_redemption_may_be_filed_again(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    order = (await world.order(voucher, provider, "enterprise")).json()
    path = f"/v1/voucher-orders/{order['id']}"
    await world.ok("POST", f"{path}/deliver", "provider")
    await world.ok("POST", f"{path}/confirm", "enterprise")
    mismatch = await world.call(
        "POST", f"{path}/redemption", "provider", json=redemption(invoice_amount_fen=199_999)
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["code"] == "voucher.invoice_amount_mismatch"
    await world.ok("POST", f"{path}/redemption", "provider", 201, json=redemption("FP-REFILE-1"))
    no_reason = await world.call("POST", f"{path}/redemption/reject", "finance", json={})
    assert no_reason.status_code == 422
    rejected = await world.ok(
        "POST", f"{path}/redemption/reject", "finance", json={"reason": "自付凭证不清晰"}
    )
    assert rejected["state"] == "confirmed"
    assert (await _voucher(world, voucher))["held_fen"] == 100_000  # the hold stays
    refiled = await world.call(
        "POST",
        f"{path}/redemption",
        "provider",
        json=redemption("FP-REFILE-1", self_payment_ref="BANK-2026-0302.pdf"),
    )
    assert refiled.status_code == 201, refiled.text
    approved = await world.ok("POST", f"{path}/redemption/approve", "finance2")
    assert approved["state"] == "redeemed"


async def test_an_invoice_number_backs_one_order_only(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    paths = []
    for _ in range(2):
        order = (await world.order(voucher, provider, "enterprise")).json()
        path = f"/v1/voucher-orders/{order['id']}"
        await world.ok("POST", f"{path}/deliver", "provider")
        await world.ok("POST", f"{path}/confirm", "enterprise")
        paths.append(path)
    await world.ok("POST", f"{paths[0]}/redemption", "provider", 201, json=redemption("FP-ONCE-01"))
    reused = await world.call(
        "POST", f"{paths[1]}/redemption", "provider", json=redemption("fp-once-01")
    )
    assert reused.status_code == 409
    assert reused.json()["code"] == "voucher.invoice_reused"
    still = await world.ok("GET", paths[1], "provider")
    assert still["state"] == "confirmed"


async def test_an_order_is_idempotent(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    body = {
        "id": str(uuid4()),
        "voucher_id": voucher["id"],
        "provider_id": provider["id"],
        "service_name": SERVICES[0]["name"],
        "service_category": SERVICES[0]["category"],
        "contract_amount_fen": 100_000,
        "voucher_amount_fen": 50_000,
    }
    first = await world.call("POST", "/v1/voucher-orders", "enterprise", json=body)
    assert first.status_code == 201, first.text
    again = await world.call("POST", "/v1/voucher-orders", "enterprise", json=body)
    assert again.status_code == 200
    assert again.json()["hold_transfer_id"] == first.json()["hold_transfer_id"]
    assert (await _voucher(world, voucher))["held_fen"] == 50_000
    other = await world.call(
        "POST", "/v1/voucher-orders", "enterprise", json={**body, "voucher_amount_fen": 40_000}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "voucher.order_exists_different"


async def test_the_voucher_part_is_at_most_the_share(world: World) -> None:
    _, provider, _, voucher = await ready(world, voucher_share_bp=4000)
    over = await world.order(voucher, provider, "enterprise", contract=100_001, part=40_001)
    assert over.status_code == 422
    assert over.json()["code"] == "voucher.share_exceeded"
    assert over.json()["max_voucher_amount_fen"] == 40_000
    exact = await world.order(voucher, provider, "enterprise", contract=100_001, part=40_000)
    assert exact.status_code == 201, exact.text
    for part in (0, -1):
        bad = await world.order(voucher, provider, "enterprise", contract=100_000, part=part)
        assert bad.status_code == 422


async def test_services_must_be_offered_and_in_the_program(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    consulting = await world.order(voucher, provider, "enterprise", service=SERVICES[2])
    assert consulting.status_code == 422
    assert consulting.json()["code"] == "voucher.category_ineligible"
    unknown = await world.order(
        voucher,
        provider,
        "enterprise",
        service={"name": "代写论文", "category": "testing"},
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "voucher.unknown_service"


async def test_a_voucher_covers_no_more_than_it_has(world: World) -> None:
    _, provider, _, voucher = await ready(world, amount=150_000)
    assert (await world.order(voucher, provider, "enterprise", part=100_000)).status_code == 201
    short = await world.order(voucher, provider, "enterprise", part=60_000)
    assert short.status_code == 409
    assert short.json()["code"] == "voucher.insufficient_balance"
    assert short.json()["available_fen"] == 50_000
    assert (await world.order(voucher, provider, "enterprise", part=50_000)).status_code == 201
    assert (await _voucher(world, voucher))["available_fen"] == 0


async def test_providers_in_publicity_or_suspended_are_refused(world: World) -> None:
    program = await world.program()
    await world.enterprise("enterprise")
    voucher = (await world.voucher(program, "enterprise", 500_000)).json()
    provider = await world.provider("provider")
    in_publicity = await world.order(voucher, provider, "enterprise")
    assert in_publicity.status_code == 409
    assert in_publicity.json()["code"] == "voucher.provider_not_accepting"
    assert in_publicity.json()["provider_status"] == "in_publicity"
    pending = await world.provider("pending", approve=False)
    assert (await world.order(voucher, pending, "enterprise")).status_code == 409

    world.after_publicity()
    assert (await world.order(voucher, provider, "enterprise")).status_code == 201
    await world.ok(
        "POST",
        f"/v1/voucher-providers/{provider['id']}/suspend",
        "manager",
        json={"reason": "涉嫌虚假检测"},
    )
    suspended = await world.order(voucher, provider, "enterprise")
    assert suspended.status_code == 409
    assert suspended.json()["provider_status"] == "suspended"


async def test_related_parties_may_not_use_vouchers(world: World) -> None:
    program = await world.program()
    shared_controller = await world.provider("same_boss", controller="P-LI-0001")
    owner = await world.provider("owner")
    unrelated_lab = await world.provider("unrelated_lab")
    world.after_publicity()
    enterprise = await world.enterprise(
        "enterprise",
        controller="p-li-0001",
        related=[{"credit_code": owner["credit_code"], "relation": "ownership"}],
    )
    voucher = (await world.voucher(program, "enterprise", 500_000)).json()
    for provider in (shared_controller, owner):
        refused = await world.order(voucher, provider, "enterprise")
        assert refused.status_code == 409, provider
        assert refused.json()["code"] == "voucher.related_parties"
    assert (await world.order(voucher, unrelated_lab, "enterprise")).status_code == 201
    # Declared by the provider's side only: still related.
    other = await world.provider(
        "subsidiary",
        related=[{"credit_code": enterprise["credit_code"], "relation": "subordination"}],
    )
    world.after_publicity()
    assert (await world.order(voucher, other, "enterprise")).json()["code"] == (
        "voucher.related_parties"
    )


async def test_the_enterprise_cancels_before_delivery_only(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    first = (await world.order(voucher, provider, "enterprise")).json()
    second = (await world.order(voucher, provider, "enterprise")).json()
    cancelled = await world.ok(
        "POST",
        f"/v1/voucher-orders/{first['id']}/cancel",
        "enterprise",
        json={"reason": "不需要了"},
    )
    assert cancelled["state"] == "cancelled"
    assert (await world.ok("POST", f"/v1/voucher-orders/{first['id']}/cancel", "enterprise"))[
        "state"
    ] == "cancelled"
    await world.ok("POST", f"/v1/voucher-orders/{second['id']}/deliver", "provider")
    late = await world.call("POST", f"/v1/voucher-orders/{second['id']}/cancel", "enterprise")
    assert late.status_code == 409
    assert late.json()["state"] == "delivered"
    left = await _voucher(world, voucher)
    assert (left["available_fen"], left["held_fen"]) == (400_000, 100_000)


async def test_orders_are_seen_by_their_parties_and_staff(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    order = (await world.order(voucher, provider, "enterprise")).json()
    await world.enterprise("other_firm")
    await world.provider("other_lab")
    path = f"/v1/voucher-orders/{order['id']}"
    for who in ("enterprise", "provider", "finance", "auditor", "evaluator", "manager", "admin"):
        assert (await world.call("GET", path, who)).status_code == 200, who
    for who in ("other_firm", "other_lab"):
        assert (await world.call("GET", path, who)).status_code == 404, who
        assert (await world.ok("GET", "/v1/voucher-orders", who))["items"] == []
    assert (await world.call("POST", f"{path}/deliver", "other_lab")).status_code == 404
    assert (await world.call("POST", f"{path}/confirm", "other_firm")).status_code == 404
    assert [
        o["id"] for o in (await world.ok("GET", "/v1/voucher-orders", "provider"))["items"]
    ] == [order["id"]]
