"""Issuing vouchers: credit-eligible enterprises, within the controller group's cap, out of
the pool; idempotent; readable by their enterprise and staff only."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from shared.auth.roles import Role
from tests.funds.vouchers.conftest import World


async def test_a_voucher_is_issued_from_the_pool_once(world: World) -> None:
    program = await world.program(budget_fen=2_000_000, validity_days=90)
    enterprise = await world.enterprise("firm")
    body = {"id": str(uuid4()), "amount_fen": 300_000}
    path = f"/v1/voucher-programs/{program['id']}/vouchers"
    issued = await world.call("POST", path, "firm", json=body)
    assert issued.status_code == 201, issued.text
    voucher = issued.json()
    assert voucher["number"].startswith("CQ2026-")
    assert len(voucher["number"]) == len("CQ2026-000123")
    assert (voucher["status"], voucher["enterprise_id"]) == ("active", enterprise["id"])
    assert (voucher["available_fen"], voucher["held_fen"], voucher["spent_fen"]) == (300_000, 0, 0)
    # START is 2026-03-02 10:00 in Shanghai: valid through 2026-05-31, ends at its midnight.
    assert voucher["valid_until"] == "2026-05-31"
    assert voucher["expires_at"] == "2026-05-31T16:00:00Z"

    again = await world.call("POST", path, "firm", json=body)
    assert again.status_code == 200
    assert again.json()["number"] == voucher["number"]
    assert (await world.pool(program))["available"] == 1_700_000
    different = await world.call("POST", path, "firm", json={**body, "amount_fen": 1})
    assert different.status_code == 409
    assert different.json()["code"] == "voucher.exists_different"

    for amount in (0, -1):
        bad = await world.call(
            "POST", path, "firm", json={"id": str(uuid4()), "amount_fen": amount}
        )
        assert bad.status_code == 422
    assert (await world.call("POST", path, "finance", json=body)).status_code == 403


async def test_the_cap_counts_every_enterprise_of_one_controller(world: World) -> None:
    program = await world.program(cap_per_group_fen=500_000)
    await world.enterprise("first", controller="P-ZHANG-001")
    await world.enterprise("second", controller="p-zhang-001")  # the same person, normalised
    await world.enterprise("unrelated")
    assert (await world.voucher(program, "first", 300_000)).status_code == 201
    refused = await world.voucher(program, "second", 300_000)
    assert refused.status_code == 409
    assert refused.json()["code"] == "voucher.cap_exceeded"
    assert refused.json()["remaining_fen"] == 200_000
    assert (await world.voucher(program, "second", 200_000)).status_code == 201
    assert (await world.voucher(program, "first", 1)).status_code == 409
    assert (await world.voucher(program, "unrelated", 500_000)).status_code == 201
    # Nothing of the refused issue stayed: the pool paid exactly what was issued.
    assert (await world.pool(program))["available"] == 10_000_000 - 1_000_000


async def test_the_pool_refuses_what_it_does_not_have(world: World) -> None:
    program = await world.program(budget_fen=100_000, cap_per_group_fen=1_000_000)
    await world.enterprise("firm")
    refused = await world.voucher(program, "firm", 100_001)
    assert refused.status_code == 409
    assert refused.json()["code"] == "voucher.pool_exhausted"
    assert (await world.voucher(program, "firm", 100_000)).status_code == 201
    assert (await world.pool(program))["available"] == 0


async def test_an_enterprise_must_be_registered_and_credit_eligible(world: World) -> None:
    program = await world.program()
    org = await world.organization("失信企业")
    await world.person("banned", Role.enterprise, org)
    unregistered = await world.voucher(program, "banned", 100_000)
    assert unregistered.status_code == 404
    assert unregistered.json()["code"] == "voucher.enterprise_not_found"
    await world.ok("POST", "/v1/voucher-enterprises", "banned", 201, json={"id": str(uuid4())})

    await _confirmed_voucher_ban(world, org.name, org.credit_code, str(org.id))
    refused = await world.voucher(program, "banned", 100_000)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "voucher.credit_ineligible"
    assert refused.json()["reasons"][0]["code"] == "credit.restricted.voucher"
    assert refused.json()["reasons"][0]["rule_code"] == "VOUCHER_FRAUD"
    assert (await world.pool(program))["available"] == program["budget_fen"]

    await world.enterprise("clean")
    assert (await world.voucher(program, "clean", 100_000)).status_code == 201


async def _confirmed_voucher_ban(world: World, name: str, credit_code: str, org_id: str) -> None:
    """A VOUCHER_FRAUD record, confirmed through the credit service's own due process."""
    headers = world.funds.callers["credit_officer"].headers
    proposed = await world.credit.post(
        "/v1/records",
        headers=headers,
        json={
            "subject": {
                "kind": "organization",
                "name": name,
                "credit_code": credit_code,
                "gateway_org_id": org_id,
            },
            "capacity": "organization",
            "rule_code": "VOUCHER_FRAUD",
            "facts": "虚构检测服务交易套取创新券资金。",
            "evidence": [{"reference": "case-2026-009.pdf", "description": "调查报告"}],
            "handling_unit": "省科技厅监督处",
            "effective_from": world.funds.clock.now.date().isoformat(),
        },
    )
    assert proposed.status_code == 201, proposed.text
    record = proposed.json()["id"]
    asked = await world.credit.post(
        f"/v1/records/{record}/notify", headers=headers, json={"reason": "依规告知"}
    )
    assert asked.json()["status"] == "awaiting_approval", asked.text  # a ban: four eyes
    notified = await world.credit.post(
        f"/v1/records/{record}/notice/approval",
        headers=world.funds.callers["credit_officer2"].headers,
        json={"decision": "approve", "reason": "同意告知"},
    )
    assert notified.json()["status"] == "notified", notified.text
    world.funds.clock.advance(days=15)  # the objection window passes unused
    confirmed = await world.credit.post(
        f"/v1/records/{record}/confirm", headers=headers, json={"reason": "异议期满无异议"}
    )
    assert confirmed.status_code == 200, confirmed.text


async def test_vouchers_are_seen_by_their_enterprise_and_staff(world: World) -> None:
    program = await world.program()
    await world.enterprise("firm")
    await world.enterprise("other")
    voucher: dict[str, Any] = (await world.voucher(program, "firm", 100_000)).json()
    path = f"/v1/vouchers/{voucher['id']}"
    assert (await world.call("GET", path, "firm")).status_code == 200
    assert (await world.call("GET", path, "other")).status_code == 404
    for who in ("finance", "auditor", "evaluator", "manager", "admin"):
        assert (await world.call("GET", path, who)).status_code == 200
    assert (await world.call("GET", path, "applicant")).status_code == 403
    own = await world.ok("GET", "/v1/vouchers", "firm")
    assert [v["id"] for v in own["items"]] == [voucher["id"]]
    assert (await world.ok("GET", "/v1/vouchers", "other"))["items"] == []


async def test_validity_ends_at_midnight_in_shanghai(world: World) -> None:
    program = await world.program(validity_days=1)
    await world.enterprise("firm")
    world.funds.clock.advance(hours=14)  # 2026-03-03 00:00 in Shanghai: the next day
    voucher = (await world.voucher(program, "firm", 100_000)).json()
    assert voucher["valid_until"] == "2026-03-04"
    assert voucher["expires_at"] == "2026-03-04T16:00:00Z"
