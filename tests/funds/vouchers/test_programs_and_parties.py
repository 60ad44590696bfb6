"""Programs (budget into the pool), providers (review, publicity, suspension), enterprises."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models.vouchers import VoucherHistory
from shared.auth.roles import Role
from tests.funds.vouchers.conftest import SERVICES, World, program_body


async def test_a_program_moves_its_budget_into_its_pool_once(world: World) -> None:
    body = program_body(budget_fen=3_000_000)
    created = await world.call("POST", "/v1/voucher-programs", "finance", json=body)
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["ledger"] == f"CQ-2026-{body['code']}"
    pool = await world.pool(program)
    assert (pool["credits_posted"], pool["available"]) == (3_000_000, 3_000_000)
    treasury = await world.funds.balances(program["treasury_account_id"])
    assert treasury["net_posted"] == -3_000_000

    again = await world.call("POST", "/v1/voucher-programs", "admin", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == program["id"]
    assert (await world.pool(program))["credits_posted"] == 3_000_000

    different = await world.call(
        "POST", "/v1/voucher-programs", "finance", json={**body, "budget_fen": 1}
    )
    assert different.status_code == 409
    assert different.json()["code"] == "voucher.program_exists_different"
    same_code = await world.call(
        "POST", "/v1/voucher-programs", "finance", json={**body, "id": str(uuid4())}
    )
    assert same_code.status_code == 409

    read = await world.ok("GET", f"/v1/voucher-programs/{program['id']}", "applicant")
    assert read["categories"] == ["instruments", "testing"]
    listed = await world.ok("GET", "/v1/voucher-programs", "evaluator")
    assert program["id"] in {p["id"] for p in listed["items"]}


async def test_program_terms_are_checked(world: World) -> None:
    bad_terms: list[dict[str, Any]] = [
        {"voucher_share_bp": 3999},
        {"voucher_share_bp": 7001},
        {"budget_fen": 0},
        {"budget_fen": -5},
        {"cap_per_group_fen": 0},
        {"code": "a b"},
        {"categories": []},
    ]
    for bad in bad_terms:
        response = await world.call(
            "POST", "/v1/voucher-programs", "finance", json=program_body(**bad)
        )
        assert response.status_code == 422, bad
    for who in ("manager", "applicant", "auditor"):
        response = await world.call("POST", "/v1/voucher-programs", who, json=program_body())
        assert response.status_code == 403
    assert (await world.call("GET", "/v1/voucher-programs", None)).status_code == 401


async def test_a_provider_accepts_vouchers_only_after_review_and_publicity(world: World) -> None:
    provider = await world.provider("lab", approve=False)
    assert provider["status"] == "pending_review"
    assert provider["accepts_vouchers"] is False
    assert provider["services"] == SERVICES

    public = await world.ok("GET", "/v1/voucher-providers/publicity", None)
    assert provider["id"] not in {p["id"] for p in public["items"]}
    applicant = await world.call("POST", f"/v1/voucher-providers/{provider['id']}/approve", "lab")
    assert applicant.status_code == 403

    approved = await world.ok(
        "POST", f"/v1/voucher-providers/{provider['id']}/approve", "manager", json={}
    )
    assert approved["status"] == "in_publicity"
    public = await world.ok("GET", "/v1/voucher-providers/publicity", None)
    notice = next(p for p in public["items"] if p["id"] == provider["id"])
    assert notice["credit_code"] == provider["credit_code"]
    assert notice["publicity_ends_at"] == approved["publicity_ends_at"]

    world.funds.clock.advance(days=6, hours=23)
    seen = await world.ok("GET", f"/v1/voucher-providers/{provider['id']}", "lab")
    assert seen["status"] == "in_publicity"
    world.funds.clock.advance(hours=1)
    seen = await world.ok("GET", f"/v1/voucher-providers/{provider['id']}", "lab")
    assert (seen["status"], seen["accepts_vouchers"]) == ("active", True)
    public = await world.ok("GET", "/v1/voucher-providers/publicity", None)
    assert provider["id"] not in {p["id"] for p in public["items"]}

    twice = await world.call(
        "POST", f"/v1/voucher-providers/{provider['id']}/reject", "admin", json={"reason": "晚了"}
    )
    assert twice.status_code == 409
    assert twice.json()["state"] == "active"

    suspended = await world.ok(
        "POST",
        f"/v1/voucher-providers/{provider['id']}/suspend",
        "manager",
        json={"reason": "检测报告造假嫌疑"},
    )
    assert (suspended["status"], suspended["accepts_vouchers"]) == ("suspended", False)
    assert suspended["suspension_reason"] == "检测报告造假嫌疑"
    reinstated = await world.ok(
        "POST",
        f"/v1/voucher-providers/{provider['id']}/reinstate",
        "admin",
        json={"reason": "核查无问题"},
    )
    assert reinstated["status"] == "active"


async def test_a_rejected_provider_and_who_sees_providers(world: World) -> None:
    provider = await world.provider("lab", approve=False)
    other = await world.provider("other", approve=False)
    no_reason = await world.call(
        "POST", f"/v1/voucher-providers/{provider['id']}/reject", "manager", json={}
    )
    assert no_reason.status_code == 422
    rejected = await world.ok(
        "POST",
        f"/v1/voucher-providers/{provider['id']}/reject",
        "manager",
        json={"reason": "资质证明不全"},
    )
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "资质证明不全")

    assert (
        await world.call("GET", f"/v1/voucher-providers/{other['id']}", "lab")
    ).status_code == 404
    own = await world.ok("GET", "/v1/voucher-providers", "lab")
    assert [p["id"] for p in own["items"]] == [provider["id"]]
    everyone = await world.ok("GET", "/v1/voucher-providers", "auditor")
    assert {provider["id"], other["id"]} <= {p["id"] for p in everyone["items"]}
    assert (await world.call("GET", "/v1/voucher-providers", "applicant")).status_code == 403


async def test_provider_registration_is_idempotent_and_needs_an_organization(world: World) -> None:
    org = await world.organization("检测中心", kind="research_institute")
    await world.person("lab", Role.provider, org)
    body = {"id": str(uuid4()), "services": SERVICES, "actual_controller": " p-zhang "}
    first = await world.call("POST", "/v1/voucher-providers", "lab", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["actual_controller"] == "P-ZHANG"
    assert first.json()["credit_code"] == org.credit_code
    assert first.json()["name"] == org.name
    again = await world.call("POST", "/v1/voucher-providers", "lab", json=body)
    assert again.status_code == 200
    changed = await world.call(
        "POST", "/v1/voucher-providers", "lab", json={**body, "services": SERVICES[:1]}
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "voucher.provider_exists_different"
    free = await world.call(
        "POST", "/v1/voucher-providers", "applicant", json={**body, "id": str(uuid4())}
    )
    assert free.status_code == 403
    zero_price = await world.call(
        "POST",
        "/v1/voucher-providers",
        "lab",
        json={**body, "services": [{**SERVICES[0], "price_fen": 0}]},
    )
    assert zero_price.status_code == 422


async def test_an_enterprise_registers_once_with_its_controller(world: World) -> None:
    enterprise = await world.enterprise(
        "firm",
        controller="91620100MA00000001",
        related=[{"credit_code": "91620100ma00000002", "relation": "investment"}],
    )
    assert enterprise["actual_controller"] == "91620100MA00000001"
    assert enterprise["related_parties"] == [
        {"credit_code": "91620100MA00000002", "relation": "investment"}
    ]
    seen = await world.ok("GET", f"/v1/voucher-enterprises/{enterprise['id']}", "firm")
    assert seen["id"] == enterprise["id"]
    await world.enterprise("stranger")
    hidden = await world.call("GET", f"/v1/voucher-enterprises/{enterprise['id']}", "stranger")
    assert hidden.status_code == 404
    assert (
        await world.call("GET", f"/v1/voucher-enterprises/{enterprise['id']}", "finance")
    ).status_code == 200
    changed = await world.call(
        "POST",
        "/v1/voucher-enterprises",
        "firm",
        json={"id": enterprise["id"], "actual_controller": "P-SOMEONE-ELSE"},
    )
    assert changed.status_code == 409
    bad_relation = await world.call(
        "POST",
        "/v1/voucher-enterprises",
        "stranger",
        json={
            "id": str(uuid4()),
            "related_parties": [{"credit_code": "91620100MA00000002", "relation": "friends"}],
        },
    )
    assert bad_relation.status_code == 422


async def test_a_providers_history_names_the_states_its_status_shows(
    world: World, session: AsyncSession
) -> None:
    provider = await world.provider("lab", approve=False)
    await world.ok("POST", f"/v1/voucher-providers/{provider['id']}/approve", "manager", json={})
    rows = await session.scalars(
        sa.select(VoucherHistory)
        .where(VoucherHistory.subject_id == UUID(provider["id"]))
        .order_by(VoucherHistory.at, VoucherHistory.id)
    )
    assert [(r.action, r.from_state, r.to_state) for r in rows] == [
        ("registered", None, "pending_review"),
        ("approved", "pending_review", "in_publicity"),
    ]
