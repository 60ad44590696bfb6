"""Program envelopes: allocated once per id, and what is left of them."""

from __future__ import annotations

from uuid import uuid4

from services.funds.grants.accounts import program_fund_id, treasury_id
from tests.funds.grants.conftest import Grants


async def test_an_envelope_is_allocated_once_per_id(grants: Grants) -> None:
    body = {
        "id": str(uuid4()),
        "program_code": "ZDYF",
        "year": 2026,
        "amount_fen": 5_000_000,
        "note": "2026年度重点研发计划",
    }

    first = await grants.call("POST", "/v1/grants/envelopes", "finance", json=body)
    again = await grants.call("POST", "/v1/grants/envelopes", "admin", json=body)
    other = await grants.call(
        "POST", "/v1/grants/envelopes", "finance", json={**body, "amount_fen": 6_000_000}
    )

    assert first.status_code == 201, first.text
    assert (first.json()["ledger"], first.json()["amount_fen"]) == ("ZDYF-2026", 5_000_000)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (409, "grant.envelope_exists_different")
    fund = await grants.funds.balances(str(program_fund_id("ZDYF-2026")))
    treasury = await grants.funds.balances(str(treasury_id("ZDYF-2026")))
    assert (fund["credits_posted"], treasury["debits_posted"]) == (5_000_000, 5_000_000)
    summary = await grants.summary()
    assert (summary["allocated"], summary["available"], summary["committed"]) == (
        5_000_000,
        5_000_000,
        0,
    )
    assert [e["id"] for e in summary["envelopes"]] == [body["id"]]


async def test_envelope_amounts_and_callers_are_checked(grants: Grants) -> None:
    body = {"id": str(uuid4()), "program_code": "ZDYF", "year": 2026, "amount_fen": 1}
    for amount in (0, -5, 2**63):
        bad = await grants.call(
            "POST", "/v1/grants/envelopes", "finance", json={**body, "amount_fen": amount}
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "request.invalid")
    for who in ("auditor", "manager", "applicant"):
        refused = await grants.call("POST", "/v1/grants/envelopes", who, json=body)
        assert refused.status_code == 403
    assert (await grants.call("GET", "/v1/grants/envelopes", "applicant")).status_code == 403
    one_fen = await grants.call("POST", "/v1/grants/envelopes", "finance", json=body)
    assert one_fen.status_code == 201


async def test_the_summary_counts_commitments_and_payments(grants: Grants) -> None:
    await grants.envelope(1_500_000)
    first = await grants.contract()
    await grants.contract()

    before = await grants.summary()
    # Two schedules of 1,000,000 promise more than the envelope: available goes negative.
    assert (before["on_hold"], before["committed"], before["paid_out"]) == (
        1_000_000,
        2_000_000,
        0,
    )
    assert before["available"] == 1_500_000 - 2_000_000

    order_id = (await grants.grant(first["project_id"]))["tranches"][0]["payment_order_id"]
    await grants.approve(order_id)

    after = await grants.summary()
    assert (after["on_hold"], after["committed"], after["paid_out"]) == (
        500_000,
        1_500_000,
        500_000,
    )
    assert after["available"] == 1_500_000 - 500_000 - 1_500_000
    empty = await grants.summary(program_code="ZDZX", year=2027)
    assert (empty["allocated"], empty["available"], empty["envelopes"]) == (0, 0, [])
