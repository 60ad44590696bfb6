"""Idempotency: the client's transfer id, the Idempotency-Key header, failed ids, and a crash
between the commit and the response."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.funds.conftest import Funds, outcomes, post, transfer, void
from tests.funds.lossy import LoseResponses, ResponseLost, crash_then_retry


async def _funded(funds: Funds, amount: int = 1000) -> tuple[dict[str, Any], dict[str, Any]]:
    treasury = await funds.account(code="treasury", owner_kind="province", owner_id="gansu")
    fund = await funds.account(code="program_fund", debits_must_not_exceed_credits=True)
    assert outcomes(await funds.transfers(transfer(treasury, fund, amount))) == ["created"]
    return fund, await funds.account()


async def test_the_same_transfer_again_has_no_second_effect(funds: Funds) -> None:
    fund, project = await _funded(funds)
    payment = transfer(fund, project, 300)

    first = await funds.transfers(payment)
    again = await funds.transfers(payment)

    assert first["results"][0]["status"] == 201
    assert again["results"][0] | {"id": None} == {
        "index": 0,
        "id": None,
        "result": "exists",
        "status": 200,
        "code": None,
    }
    assert (await funds.balances(project["id"]))["credits_posted"] == 300


async def test_omitted_defaults_are_the_same_body(funds: Funds) -> None:
    fund, project = await _funded(funds)
    payment = transfer(fund, project, 300)
    explicit = {
        **payment,
        "pending": False,
        "linked": False,
        "user_data": {},
        "pending_id": None,
        "timeout": None,
    }

    assert outcomes(await funds.transfers(payment)) == ["created"]
    assert outcomes(await funds.transfers(explicit)) == ["exists"]


async def test_the_same_id_with_another_body_is_refused(funds: Funds) -> None:
    fund, project = await _funded(funds)
    payment = transfer(fund, project, 300)
    await funds.transfers(payment)

    for changed in (
        {"amount": 301},
        {"credit_account_id": (await funds.account())["id"]},
        {"code": "other"},
        {"user_data": {"project": "P-1"}},
    ):
        body = await funds.transfers({**payment, **changed})
        assert body["results"][0]["status"] == 409
        assert body["results"][0]["code"] == "transfer.exists_different"
    assert (await funds.balances(fund["id"]))["debits_posted"] == 300


async def test_a_failed_id_stays_failed(funds: Funds) -> None:
    fund, project = await _funded(funds, 100)
    too_much = transfer(fund, project, 150)
    assert outcomes(await funds.transfers(too_much)) == ["transfer.exceeds_credits"]

    # Even once the money is there, the same request keeps its first answer ...
    treasury = await funds.account(code="treasury")
    await funds.transfers(transfer(treasury, fund, 1000))
    assert outcomes(await funds.transfers(too_much)) == ["transfer.exceeds_credits"]
    # ... and the id cannot be reused for something else.
    assert outcomes(await funds.transfers({**too_much, "amount": 10})) == [
        "transfer.exists_different"
    ]
    assert (await funds.balances(project["id"]))["credits_posted"] == 0
    missing = await funds.call("GET", f"/v1/transfers/{too_much['id']}", "auditor")
    assert missing.status_code == 404


async def test_repeats_inside_one_batch(funds: Funds) -> None:
    fund, project = await _funded(funds)
    payment = transfer(fund, project, 300)
    refused = transfer(fund, project, 5000)

    body = await funds.transfers(
        payment, payment, {**payment, "amount": 1}, refused, refused, {**refused, "amount": 1}
    )

    assert outcomes(body) == [
        "created",
        "exists",
        "transfer.exists_different",
        "transfer.exceeds_credits",
        "transfer.exceeds_credits",
        "transfer.exists_different",
    ]
    assert (await funds.balances(project["id"]))["credits_posted"] == 300


async def test_a_replayed_chain_gets_its_first_answers(funds: Funds) -> None:
    fund, project = await _funded(funds, 100)
    failed_chain = [
        transfer(fund, project, 60, linked=True),
        transfer(fund, project, 60, linked=True),
        transfer(fund, project, 1),
    ]
    good_chain = [transfer(fund, project, 10, linked=True), transfer(fund, project, 10)]
    first = await funds.transfers(*failed_chain, *good_chain)
    assert outcomes(first) == [
        "transfer.linked_event_failed",
        "transfer.exceeds_credits",
        "transfer.linked_event_failed",
        "created",
        "created",
    ]

    again = await funds.transfers(*failed_chain, *good_chain)

    assert outcomes(again) == [*outcomes(first)[:3], "exists", "exists"]
    assert (await funds.balances(project["id"]))["credits_posted"] == 20


async def test_an_idempotency_key_returns_the_first_answer(funds: Funds) -> None:
    fund, project = await _funded(funds)
    batch = [transfer(fund, project, 100), transfer(fund, project, 5000)]
    key = {"Idempotency-Key": "batch-2026-03-02-0001"}

    first = await funds.call("POST", "/v1/transfers", "finance", json=batch, headers=key)
    again = await funds.call("POST", "/v1/transfers", "finance", json=batch, headers=key)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()  # "created", not "exists": the very same answer
    assert outcomes(first.json()) == ["created", "transfer.exceeds_credits"]
    assert (await funds.balances(project["id"]))["credits_posted"] == 100

    other = await funds.call(
        "POST", "/v1/transfers", "finance", json=[transfer(fund, project, 1)], headers=key
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency.key_reused"
    # Keys belong to their caller: another officer's identical key is another request.
    mine = await funds.call(
        "POST", "/v1/transfers", "finance2", json=[transfer(fund, project, 1)], headers=key
    )
    assert outcomes(mine.json()) == ["created"]


async def test_a_lost_response_then_a_retry_moves_money_once(funds: Funds) -> None:
    fund, project = await _funded(funds)
    payment, hold, other_hold = (
        transfer(fund, project, 100),
        transfer(fund, project, 200, pending=True),
        transfer(fund, project, 300, pending=True),
    )

    for body in ([payment], [hold, other_hold], [post(hold, 150)], [void(other_hold)]):
        retry = await crash_then_retry(
            funds.app, "POST", "/v1/transfers", headers=funds.callers["finance"].headers, json=body
        )
        assert retry.status_code == 200
        assert outcomes(retry.json()) == ["exists"] * len(body)

    after = await funds.balances(fund["id"])
    assert (after["debits_posted"], after["debits_pending"]) == (250, 0)
    assert (await funds.balances(project["id"]))["credits_posted"] == 250


async def test_a_lost_response_with_an_idempotency_key(funds: Funds) -> None:
    fund, project = await _funded(funds)
    batch = [transfer(fund, project, 100)]
    transport = httpx.ASGITransport(app=LoseResponses(funds.app))
    key = {**funds.callers["finance"].headers, "Idempotency-Key": "lost-response-0001"}
    async with httpx.AsyncClient(transport=transport, base_url="http://funds") as lossy:
        with pytest.raises(ResponseLost):
            await lossy.post("/v1/transfers", headers=key, json=batch)

    retry = await funds.client.post("/v1/transfers", headers=key, json=batch)

    assert outcomes(retry.json()) == ["created"]
    assert (await funds.balances(project["id"]))["credits_posted"] == 100


async def test_a_lost_response_when_opening_an_account(funds: Funds) -> None:
    body = {
        "id": "00000000-0000-4000-8000-00000000a001",
        "ledger": "2026",
        "code": "project_budget",
        "name": "项目经费",
        "owner_kind": "project",
        "owner_id": "P-2026-001",
    }
    retry = await crash_then_retry(
        funds.app, "POST", "/v1/accounts", headers=funds.callers["finance"].headers, json=body
    )
    assert retry.status_code == 200
    assert retry.json()["id"] == body["id"]
