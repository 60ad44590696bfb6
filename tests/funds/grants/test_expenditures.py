"""Expenditure: reported by the project's organization, within each category's budget and
within the money released."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from tests.funds.grants.conftest import Grants


async def _released(grants: Grants) -> dict[str, Any]:
    """A project whose signing tranche (500,000 of 1,000,000) was paid."""
    await grants.envelope(2_000_000)
    payload = await grants.contract()
    await grants.approve(
        (await grants.grant(payload["project_id"]))["tranches"][0]["payment_order_id"]
    )
    return payload


async def test_spending_within_the_budget_and_the_released_money(grants: Grants) -> None:
    project_id = (await _released(grants))["project_id"]
    body = {
        "id": str(uuid4()),
        "category": "equipment",
        "amount_fen": 200_000,
        "description": "购置高效液相色谱仪",
        "spent_on": "2026-04-15",
    }
    path = f"/v1/grants/{project_id}/expenditures"

    made = await grants.call("POST", path, "org_admin", json=body)
    replay = await grants.call("POST", path, "org_admin", json=body)
    changed = await grants.call("POST", path, "org_admin", json={**body, "amount_fen": 1})

    assert made.status_code == 201, made.text
    assert (made.json()["category"], made.json()["created_by"]) == (
        "equipment",
        grants.funds.callers["org_admin"].subject,
    )
    assert (replay.status_code, replay.json()) == (200, made.json())
    assert (changed.status_code, changed.json()["code"]) == (
        409,
        "grant.expenditure_exists_different",
    )

    over_category = await grants.spend(project_id, "equipment", 100_001)
    assert over_category.status_code == 409
    assert over_category.json()["code"] == "grant.category_over_budget"
    assert {
        key: over_category.json()[key]
        for key in ("category", "budget_fen", "spent_fen", "requested_fen")
    } == {
        "category": "equipment",
        "budget_fen": 300_000,
        "spent_fen": 200_000,
        "requested_fen": 100_001,
    }
    # The category allows 400,000 but only 300,000 of the released money is left.
    over_released = await grants.spend(project_id, "business", 300_001)
    assert (over_released.status_code, over_released.json()["code"]) == (
        409,
        "transfer.exceeds_credits",
    )
    by_finance = await grants.spend(project_id, "labour", 100_000, who="finance")
    assert by_finance.status_code == 201, by_finance.text
    exact = await grants.spend(project_id, "equipment", 100_000)
    assert exact.status_code == 201, exact.text

    grant = await grants.grant(project_id, who="org_admin")
    assert grant["spent_by_category"] == {
        "equipment": 300_000,
        "business": 0,
        "labour": 100_000,
        "indirect": 0,
    }
    assert (grant["released"], grant["spent"], grant["available"]) == (500_000, 400_000, 100_000)
    assert grant["execution"] == {"of_released": "0.8000", "of_budget": "0.4000"}
    listed = await grants.call("GET", path, "auditor")
    assert [e["amount_fen"] for e in listed.json()["items"]] == [200_000, 100_000, 100_000]


async def test_strangers_and_bad_input_are_refused(grants: Grants) -> None:
    project_id = (await _released(grants))["project_id"]

    stranger = await grants.spend(project_id, "business", 1, who="org_admin2")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "grant.not_found")
    for who in ("auditor", "applicant", "manager"):
        assert (await grants.spend(project_id, "business", 1, who=who)).status_code == 403
    for amount in (0, -1):
        bad = await grants.spend(project_id, "business", amount)
        assert (bad.status_code, bad.json()["code"]) == (422, "request.invalid")
    unknown_category = await grants.spend(project_id, "travel", 10)
    assert unknown_category.status_code == 422
    one_fen = await grants.spend(project_id, "indirect", 1)
    assert one_fen.status_code == 201
    assert (await grants.grant(project_id))["spent"] == 1
