"""Termination and failed acceptance: unpaid orders rejected, the unspent money frozen and
recovered into the program fund."""

from __future__ import annotations

from uuid import uuid4

import sqlalchemy as sa

from services.funds.grants.accounts import program_fund_id, project_funds_id
from services.funds.models import events
from tests.funds.grants.conftest import Grants, make_event, summary, terminated


async def test_termination_freezes_and_recovers_the_unspent_money(grants: Grants) -> None:
    await grants.envelope(2_000_000)
    payload = await grants.contract()
    project_id = payload["project_id"]
    await grants.approve((await grants.grant(project_id))["tranches"][0]["payment_order_id"])
    await grants.deliver(
        "project.midterm_passed",
        {
            "project_id": project_id,
            "project_number": payload["project_number"],
            "report_id": project_id,
        },
    )
    midterm_order = (await grants.grant(project_id))["tranches"][1]["payment_order_id"]
    assert (await grants.spend(project_id, "equipment", 120_000)).status_code == 201

    event = await grants.deliver("project.terminated", terminated(payload))

    grant = await grants.grant(project_id)
    assert (grant["status"], grant["frozen_cause"]) == ("frozen", "project.terminated")
    assert [t["status"] for t in grant["tranches"]] == ["paid", "cancelled", "cancelled"]
    order = (await grants.call("GET", f"/v1/payment-orders/{midterm_order}", "auditor")).json()
    assert (order["status"], order["decided_by"]) == ("rejected", "event:project.terminated")
    assert (grant["available"], grant["frozen"], grant["spent"]) == (0, 380_000, 120_000)
    assert grant["recovery"]["status"] == "open"
    assert grant["recovery"]["amount_fen"] == 380_000
    funds = await grants.funds.balances(str(project_funds_id(project_id)))
    assert (funds["debits_pending"], funds["available"]) == (380_000, 0)

    refused = await grants.spend(project_id, "business", 1)
    assert (refused.status_code, refused.json()["code"], refused.json()["state"]) == (
        409,
        "grant.frozen",
        "frozen",
    )
    release = await grants.call("POST", f"/v1/grants/{project_id}/tranches/2/release", "finance")
    assert (release.status_code, release.json()["code"]) == (409, "grant.frozen")
    # A second termination, or a late acceptance, changes nothing.
    await grants.redeliver(make_event("project.terminated", event.payload, at=event.occurred_at))
    late = await grants.deliver(
        "project.accepted", summary(payload, result="passed", conditions=None)
    )
    assert await grants.grant(project_id) == grant
    letters = events.dead_letters
    parked = (
        await grants.session.execute(sa.select(letters).where(letters.c.event_id == late.event_id))
    ).one()
    assert (parked.status, parked.error.split(":")[0]) == ("failed", "grant_frozen")

    settle = {"id": str(uuid4())}
    path = f"/v1/grants/{project_id}/recovery/settle"
    assert (await grants.call("POST", path, "org_admin", json=settle)).status_code == 403
    settled = await grants.call("POST", path, "finance", json=settle)
    assert settled.status_code == 201, settled.text
    assert (settled.json()["status"], settled.json()["settled_by"]) == (
        "settled",
        grants.funds.callers["finance"].subject,
    )
    assert (await grants.call("POST", path, "finance", json=settle)).status_code == 200
    other = await grants.call("POST", path, "finance2", json={"id": str(uuid4())})
    assert (other.status_code, other.json()["code"], other.json()["state"]) == (
        409,
        "grant.recovery_not_open",
        "settled",
    )

    fund = await grants.funds.balances(str(program_fund_id("ZDYF-2026")))
    # Back in the fund: everything but the 120,000 spent.
    assert (fund["net_posted"], fund["debits_pending"]) == (2_000_000 - 120_000, 0)
    envelope = await grants.summary()
    assert (envelope["recovered"], envelope["committed"], envelope["available"]) == (
        380_000,
        0,
        1_880_000,
    )
    after = await grants.grant(project_id)
    assert (after["frozen"], after["available"], after["released"]) == (0, 0, 500_000)


async def test_failed_acceptance_with_nothing_paid_recovers_nothing(grants: Grants) -> None:
    await grants.envelope(1_000_000)
    payload = await grants.contract()
    project_id = payload["project_id"]

    await grants.deliver("project.acceptance_failed", summary(payload, reason="未完成主要考核指标"))

    grant = await grants.grant(project_id)
    assert grant["status"] == "frozen"
    assert [t["status"] for t in grant["tranches"]] == ["cancelled"] * 3
    assert (grant["recovery"]["amount_fen"], grant["recovery"]["status"]) == (0, "settled")
    fund = await grants.funds.balances(str(program_fund_id("ZDYF-2026")))
    assert (fund["debits_pending"], fund["available"]) == (0, 1_000_000)
    settle = await grants.call(
        "POST", f"/v1/grants/{project_id}/recovery/settle", "finance", json={"id": str(uuid4())}
    )
    assert (settle.status_code, settle.json()["code"]) == (409, "grant.recovery_not_open")
    active = await grants.contract()
    not_frozen = await grants.call(
        "POST",
        f"/v1/grants/{active['project_id']}/recovery/settle",
        "finance",
        json={"id": str(uuid4())},
    )
    assert (not_frozen.status_code, not_frozen.json()["state"]) == (409, "active")
