"""Post-subsidies (后补助): only after acceptance, paid when a second officer approves."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.funds.grants.conftest import Grants, summary


async def _accepted(grants: Grants) -> dict[str, Any]:
    await grants.envelope(3_000_000)
    payload = await grants.contract()
    return payload


async def test_a_post_subsidy_waits_for_acceptance_and_a_second_officer(grants: Grants) -> None:
    payload = await _accepted(grants)
    project_id = payload["project_id"]
    body = {"id": str(uuid4()), "amount_fen": 800_000, "reason": "验收优秀，给予后补助"}
    path = f"/v1/grants/{project_id}/post-subsidies"

    early = await grants.call("POST", path, "finance", json=body)
    assert (early.status_code, early.json()["code"], early.json()["state"]) == (
        409,
        "grant.not_accepted",
        "active",
    )

    await grants.deliver("project.accepted", summary(payload, result="passed", conditions=None))
    made = await grants.call("POST", path, "finance", json=body)
    assert made.status_code == 201, made.text
    assert (made.json()["status"], made.json()["amount_fen"]) == ("pending_approval", 800_000)
    replay = await grants.call("POST", path, "finance", json=body)
    assert (replay.status_code, replay.json()) == (200, made.json())
    different = await grants.call("POST", path, "finance", json={**body, "amount_fen": 1})
    assert (different.status_code, different.json()["code"]) == (
        409,
        "grant.post_subsidy_exists_different",
    )

    order_id = made.json()["payment_order_id"]
    own = await grants.call("POST", f"/v1/payment-orders/{order_id}/approve", "finance")
    assert (own.status_code, own.json()["code"]) == (403, "payment_order.maker_cannot_approve")
    assert (await grants.grant(project_id))["post_subsidies"][0]["status"] == "pending_approval"
    await grants.approve(order_id, who="finance2")

    grant = await grants.grant(project_id)
    assert grant["post_subsidies"][0]["status"] == "approved"
    # Signing and acceptance tranches are held, not paid; the subsidy is paid.
    assert grant["released"] == 800_000


async def test_post_subsidy_input_and_callers(grants: Grants) -> None:
    payload = await _accepted(grants)
    path = f"/v1/grants/{payload['project_id']}/post-subsidies"
    body = {"id": str(uuid4()), "amount_fen": 0, "reason": "验收优秀"}

    zero = await grants.call("POST", path, "finance", json=body)
    assert (zero.status_code, zero.json()["code"]) == (422, "request.invalid")
    org = await grants.call("POST", path, "org_admin", json={**body, "amount_fen": 5})
    assert org.status_code == 403
    unknown = await grants.call(
        "POST",
        f"/v1/grants/{uuid4()}/post-subsidies",
        "finance",
        json={**body, "amount_fen": 5},
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "grant.not_found")


async def test_a_post_subsidy_the_fund_cannot_cover_stays_refused(grants: Grants) -> None:
    payload = await _accepted(grants)
    await grants.deliver("project.accepted", summary(payload, result="passed", conditions=None))
    path = f"/v1/grants/{payload['project_id']}/post-subsidies"
    # 3,000,000 allocated; the signing and acceptance tranches hold 700,000 of it.
    body = {"id": str(uuid4()), "amount_fen": 2_300_001, "reason": "验收优秀，给予后补助"}

    refused = await grants.call("POST", path, "finance", json=body)
    again = await grants.call("POST", path, "finance", json=body)

    assert (refused.status_code, refused.json()["code"]) == (409, "transfer.exceeds_credits")
    # A refused id stays refused (the ledger's rule): the officer sends a new id.
    assert (again.status_code, again.json()["code"]) == (409, "transfer.exceeds_credits")
    fits = await grants.call(
        "POST", path, "finance", json={**body, "id": str(uuid4()), "amount_fen": 2_300_000}
    )
    assert fits.status_code == 201, fits.text
    assert (await grants.summary())["available"] == 3_000_000 - 1_000_000 - 2_300_000
