"""A signed task book opens the grant; tranches are paid through maker-checker orders."""

from __future__ import annotations

import sqlalchemy as sa

from services.funds.grants.accounts import program_fund_id, project_funds_id, project_spent_id
from services.funds.models import PaymentOrder, Transfer, events
from tests.funds.grants.conftest import TRANCHES, Grants, contracted, make_event, summary


async def test_a_contract_opens_accounts_and_orders_the_signing_tranche(grants: Grants) -> None:
    await grants.envelope(2_000_000)

    payload = await grants.contract()

    project_id = payload["project_id"]
    grant = await grants.grant(project_id)
    assert (grant["status"], grant["ledger"], grant["approved_budget_fen"]) == (
        "active",
        "ZDYF-2026",
        1_000_000,
    )
    assert grant["budget"] == payload["budget"]
    assert [(t["n"], t["on"], t["status"]) for t in grant["tranches"]] == [
        (1, "signing", "awaiting_approval"),
        (2, "midterm", "scheduled"),
        (3, "acceptance", "scheduled"),
    ]
    funds = await grants.funds.balances(str(project_funds_id(project_id)))
    spent = await grants.funds.balances(str(project_spent_id(project_id)))
    fund = await grants.funds.balances(str(program_fund_id("ZDYF-2026")))
    assert (funds["code"], funds["owner_kind"], funds["owner_id"]) == (
        "project_funds",
        "organization",
        payload["org"]["id"],
    )
    assert funds["debits_must_not_exceed_credits"] is True
    assert funds["user_data"] == {"project_id": project_id}
    assert (spent["code"], spent["owner_kind"]) == ("project_spent", "project")
    assert (fund["requires_approval"], fund["debits_must_not_exceed_credits"]) == (True, True)
    # The signing tranche is held in the program fund until a finance officer approves.
    assert (fund["debits_pending"], fund["available"]) == (500_000, 1_500_000)
    assert funds["credits_posted"] == 0

    order_id = grant["tranches"][0]["payment_order_id"]
    order = await grants.approve(order_id, who="finance2")

    assert (order["maker_id"], order["amount"]) == ("event:project.contracted", 500_000)
    after = await grants.grant(project_id)
    assert after["tranches"][0]["status"] == "paid"
    assert (after["released"], after["available"], after["spent"]) == (500_000, 500_000, 0)
    assert (await grants.funds.balances(str(project_funds_id(project_id))))[
        "credits_posted"
    ] == 500_000


async def test_the_same_contract_twice_changes_nothing(grants: Grants) -> None:
    await grants.envelope(2_000_000)
    payload = await grants.contract()
    first = await grants.grant(payload["project_id"])
    transfers = await grants.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
    orders = await grants.session.scalar(sa.select(sa.func.count()).select_from(PaymentOrder))

    # Redelivered (a new event id: the inbox would drop the same one) and re-sent as is.
    await grants.deliver("project.contracted", payload)
    await grants.redeliver(make_event("project.contracted", payload, at=grants.funds.clock.now))

    assert await grants.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == (
        transfers
    )
    assert (
        await grants.session.scalar(sa.select(sa.func.count()).select_from(PaymentOrder)) == orders
    )
    assert await grants.grant(payload["project_id"]) == first
    fund = await grants.funds.balances(str(program_fund_id("ZDYF-2026")))
    assert fund["debits_pending"] == 500_000


async def test_a_small_envelope_leaves_the_tranche_due_until_released_again(
    grants: Grants,
) -> None:
    await grants.envelope(100_000)
    payload = await grants.contract()
    project_id = payload["project_id"]

    tranche = (await grants.grant(project_id))["tranches"][0]
    assert (tranche["status"], tranche["refusal_code"], tranche["attempts"]) == (
        "due",
        "transfer.exceeds_credits",
        1,
    )
    assert tranche["payment_order_id"] is None

    # Still too small: refused again, and the attempt is recorded.
    again = await grants.call("POST", f"/v1/grants/{project_id}/tranches/1/release", "finance")
    assert again.status_code == 409
    assert again.json()["code"] == "transfer.exceeds_credits"
    assert (await grants.grant(project_id))["tranches"][0]["attempts"] == 2

    await grants.envelope(900_000)
    released = await grants.call("POST", f"/v1/grants/{project_id}/tranches/1/release", "finance")
    assert released.status_code == 200, released.text
    body = released.json()
    assert (body["status"], body["refusal_code"], body["attempts"]) == (
        "awaiting_approval",
        None,
        3,
    )
    # The same officer releasing again (a lost response) gets the same order back.
    repeat = await grants.call("POST", f"/v1/grants/{project_id}/tranches/1/release", "finance")
    assert repeat.json()["payment_order_id"] == body["payment_order_id"]
    # Maker-checker: the officer who released cannot approve.
    own = await grants.call(
        "POST", f"/v1/payment-orders/{body['payment_order_id']}/approve", "finance"
    )
    assert (own.status_code, own.json()["code"]) == (403, "payment_order.maker_cannot_approve")
    await grants.approve(body["payment_order_id"], who="finance2")

    grant = await grants.grant(project_id)
    assert (grant["tranches"][0]["status"], grant["released"]) == ("paid", 500_000)
    paid = await grants.call("POST", f"/v1/grants/{project_id}/tranches/1/release", "admin")
    assert (paid.status_code, paid.json()["code"], paid.json()["state"]) == (
        409,
        "grant.tranche_not_due",
        "paid",
    )
    assert (await grants.summary())["available"] == 1_000_000 - 1_000_000


async def test_a_rejected_order_makes_the_tranche_due_again(grants: Grants) -> None:
    await grants.envelope(1_000_000)
    payload = await grants.contract()
    project_id = payload["project_id"]
    order_id = (await grants.grant(project_id))["tranches"][0]["payment_order_id"]

    rejected = await grants.call(
        "POST", f"/v1/payment-orders/{order_id}/reject", "finance", json={"reason": "账户信息有误"}
    )
    assert rejected.status_code == 200, rejected.text

    tranche = (await grants.grant(project_id))["tranches"][0]
    assert (tranche["status"], tranche["refusal_code"]) == ("due", "payment_order.rejected")
    released = await grants.call("POST", f"/v1/grants/{project_id}/tranches/1/release", "finance")
    assert released.status_code == 200, released.text
    assert released.json()["payment_order_id"] != order_id
    scheduled = await grants.call("POST", f"/v1/grants/{project_id}/tranches/2/release", "finance")
    assert (scheduled.status_code, scheduled.json()["state"]) == (409, "scheduled")
    missing = await grants.call("POST", f"/v1/grants/{project_id}/tranches/9/release", "finance")
    assert (missing.status_code, missing.json()["code"]) == (404, "grant.tranche_not_found")
    auditor = await grants.call("POST", f"/v1/grants/{project_id}/tranches/1/release", "auditor")
    assert auditor.status_code == 403


async def test_midterm_and_acceptance_make_their_tranches_due(grants: Grants) -> None:
    await grants.envelope(1_000_000)
    payload = await grants.contract()
    project_id = payload["project_id"]
    await grants.approve((await grants.grant(project_id))["tranches"][0]["payment_order_id"])

    await grants.deliver(
        "project.midterm_passed",
        {
            "project_id": project_id,
            "project_number": payload["project_number"],
            "report_id": "0193a0c0-0000-7000-8000-000000000001",
        },
    )
    midterm = (await grants.grant(project_id))["tranches"][1]
    assert midterm["status"] == "awaiting_approval"
    await grants.approve(midterm["payment_order_id"])

    await grants.deliver("project.accepted", summary(payload, result="passed", conditions=None))
    grant = await grants.grant(project_id)
    assert (grant["status"], grant["tranches"][2]["status"]) == ("accepted", "awaiting_approval")
    assert grant["accepted_at"] is not None
    await grants.approve(grant["tranches"][2]["payment_order_id"])

    done = await grants.grant(project_id)
    assert [t["status"] for t in done["tranches"]] == ["paid", "paid", "paid"]
    assert done["released"] == 1_000_000
    envelope = await grants.summary()
    assert (envelope["allocated"], envelope["paid_out"], envelope["committed"]) == (
        1_000_000,
        1_000_000,
        0,
    )
    assert envelope["available"] == 0


async def test_events_funds_cannot_apply_are_parked_and_later_ones_of_the_project_wait(
    grants: Grants,
) -> None:
    unknown = "0193a0c0-0000-7000-8000-00000000abcd"
    midterm = await grants.deliver(
        "project.midterm_passed",
        {"project_id": unknown, "project_number": "2026-ZDYF-9999", "report_id": unknown},
    )
    garbled = await grants.deliver("project.contracted", {"project_id": unknown, "year": "x"})
    payload = contracted(grants.orgs[1])
    payload["tranches"] = [{**TRANCHES[0], "amount_fen": 900_000}, *TRANCHES[1:]]
    overpaid = await grants.deliver("project.contracted", payload)
    applied = await grants.contract()  # another project: not held up by the others

    letters = events.dead_letters
    parked = {row.event_id: row for row in (await grants.session.execute(sa.select(letters))).all()}
    assert set(parked) == {midterm.event_id, garbled.event_id, overpaid.event_id}
    first = parked[midterm.event_id]
    assert (first.status, first.source, first.attempts) == ("failed", "projects", 1)
    assert first.error.startswith("unknown_project")
    # The project's next event is not tried while an earlier one of the project is parked.
    behind = parked[garbled.event_id]
    assert (behind.status, behind.blocked_by, behind.attempts) == ("waiting", first.id, 0)
    bad = parked[overpaid.event_id]
    assert bad.status == "failed"
    assert "tranches do not add up" in bad.error  # the contract refuses the payload
    assert (await grants.grant(applied["project_id"]))["status"] == "active"
    missing = await grants.call("GET", f"/v1/grants/{unknown}", "auditor")
    assert (missing.status_code, missing.json()["code"]) == (404, "grant.not_found")
