"""Two-phase transfers: a hold, then a post (in full or in part), a void, or its expiry."""

from __future__ import annotations

from typing import Any

from services.funds.ledger.sweep import expire_once
from tests.funds.conftest import Funds, outcomes, post, transfer, void


async def _funded(funds: Funds, amount: int = 1000) -> tuple[dict[str, Any], dict[str, Any]]:
    treasury = await funds.account(code="treasury", owner_kind="province", owner_id="gansu")
    fund = await funds.account(code="program_fund", debits_must_not_exceed_credits=True)
    assert outcomes(await funds.transfers(transfer(treasury, fund, amount))) == ["created"]
    return fund, await funds.account()


async def _hold_state(funds: Funds, transfer_id: str) -> tuple[str, str | None]:
    response = await funds.call("GET", f"/v1/transfers/{transfer_id}", "auditor")
    assert response.status_code == 200, response.text
    return response.json()["hold_state"], response.json()["resolved_by"]


async def test_a_hold_reserves_the_money_and_a_post_pays_it(funds: Funds) -> None:
    fund, project = await _funded(funds)
    hold = transfer(fund, project, 700, pending=True)

    assert outcomes(await funds.transfers(hold)) == ["created"]
    held = await funds.balances(fund["id"])
    assert (held["debits_pending"], held["debits_posted"], held["available"]) == (700, 0, 300)
    assert (await funds.balances(project["id"]))["credits_pending"] == 700
    # The hold counts against the limit: only 300 can still leave.
    assert outcomes(await funds.transfers(transfer(fund, project, 301))) == [
        "transfer.exceeds_credits"
    ]

    payment = post(hold)
    assert outcomes(await funds.transfers(payment)) == ["created"]
    paid = await funds.balances(fund["id"])
    assert (paid["debits_pending"], paid["debits_posted"], paid["available"]) == (0, 700, 300)
    assert (await funds.balances(project["id"]))["credits_posted"] == 700
    assert await _hold_state(funds, hold["id"]) == ("posted", payment["id"])
    stored = (await funds.call("GET", f"/v1/transfers/{payment['id']}", "auditor")).json()
    assert (stored["kind"], stored["amount"]) == ("post", 700)  # 0 meant the whole hold


async def test_a_partial_post_pays_part_and_releases_the_rest(funds: Funds) -> None:
    fund, project = await _funded(funds)
    hold = transfer(fund, project, 700, pending=True)
    await funds.transfers(hold)

    assert outcomes(await funds.transfers(post(hold, 701))) == [
        "transfer.exceeds_pending_transfer_amount"
    ]
    assert outcomes(await funds.transfers(post(hold, 450))) == ["created"]

    after = await funds.balances(fund["id"])
    assert (after["debits_pending"], after["debits_posted"], after["available"]) == (0, 450, 550)


async def test_a_void_releases_the_hold(funds: Funds) -> None:
    fund, project = await _funded(funds)
    hold = transfer(fund, project, 700, pending=True)
    await funds.transfers(hold)

    assert outcomes(await funds.transfers(void(hold, amount=1))) == [
        "transfer.pending_transfer_has_different_amount"
    ]
    cancel = void(hold)
    assert outcomes(await funds.transfers(cancel)) == ["created"]

    after = await funds.balances(fund["id"])
    assert (after["debits_pending"], after["debits_posted"], after["available"]) == (0, 0, 1000)
    assert await _hold_state(funds, hold["id"]) == ("voided", cancel["id"])


async def test_a_hold_resolves_exactly_once(funds: Funds) -> None:
    fund, project = await _funded(funds)
    posted, voided = (
        transfer(fund, project, 100, pending=True),
        transfer(fund, project, 100, pending=True),
    )
    await funds.transfers(posted, voided, post(posted), void(voided))

    body = await funds.transfers(post(posted), void(posted), post(voided), void(voided))

    assert outcomes(body) == [
        "transfer.pending_transfer_already_posted",
        "transfer.pending_transfer_already_posted",
        "transfer.pending_transfer_already_voided",
        "transfer.pending_transfer_already_voided",
    ]
    assert (await funds.balances(fund["id"]))["debits_posted"] == 100


async def test_hold_and_post_in_one_batch_and_twice_in_one_batch(funds: Funds) -> None:
    fund, project = await _funded(funds)
    hold = transfer(fund, project, 100, pending=True)

    body = await funds.transfers(post(hold), hold, post(hold), void(hold))

    assert outcomes(body) == [
        "transfer.pending_transfer_not_found",  # the hold comes after it
        "created",
        "created",
        "transfer.pending_transfer_already_posted",
    ]


async def test_posts_and_voids_must_match_their_hold(funds: Funds) -> None:
    fund, project = await _funded(funds)
    other = await funds.account()
    hold = transfer(fund, project, 100, pending=True)
    single = transfer(fund, project, 1)
    await funds.transfers(hold, single)

    body = await funds.transfers(
        post(hold, debit_account_id=other["id"]),
        post(hold, credit_account_id=other["id"]),
        post(hold, ledger="2027"),
        post(single),
        post({"id": "00000000-0000-4000-8000-0000000000ff"}),
        post(hold, debit_account_id=fund["id"], credit_account_id=project["id"]),
    )

    assert outcomes(body) == [
        "transfer.pending_transfer_has_different_debit_account",
        "transfer.pending_transfer_has_different_credit_account",
        "transfer.pending_transfer_has_different_ledger",
        "transfer.pending_transfer_not_pending",
        "transfer.pending_transfer_not_found",
        "created",
    ]


async def test_a_hold_expires_after_its_timeout(funds: Funds) -> None:
    fund, project = await _funded(funds)
    hold = transfer(fund, project, 600, pending=True, timeout=3600)
    await funds.transfers(hold)
    stored = (await funds.call("GET", f"/v1/transfers/{hold['id']}", "auditor")).json()
    assert stored["timeout_seconds"] == 3600
    assert stored["expires_at"].startswith("2026-03-02T03:00:00")

    funds.clock.advance(minutes=59)
    assert await expire_once(funds.app) == 0
    funds.clock.advance(minutes=1)
    # Due now: a post is refused even before the sweep has run ...
    assert outcomes(await funds.transfers(post(hold))) == ["transfer.pending_transfer_expired"]
    assert (await funds.balances(fund["id"]))["debits_pending"] == 600
    # ... and the sweep releases the hold with an 'expire' transfer.
    assert await expire_once(funds.app) == 1
    after = await funds.balances(fund["id"])
    assert (after["debits_pending"], after["available"]) == (0, 1000)
    state, resolution = await _hold_state(funds, hold["id"])
    assert state == "expired"
    expiry = (await funds.call("GET", f"/v1/transfers/{resolution}", "auditor")).json()
    assert (expiry["kind"], expiry["amount"], expiry["created_by"]) == (
        "expire",
        600,
        "system:expiry",
    )
    assert outcomes(await funds.transfers(void(hold))) == ["transfer.pending_transfer_expired"]


async def test_a_hold_posted_in_time_is_not_expired_later(funds: Funds) -> None:
    fund, project = await _funded(funds)
    hold = transfer(fund, project, 600, pending=True, timeout=60)
    await funds.transfers(hold)
    funds.clock.advance(seconds=59)
    assert outcomes(await funds.transfers(post(hold))) == ["created"]

    funds.clock.advance(hours=1)
    assert await expire_once(funds.app) == 0

    assert (await funds.balances(fund["id"]))["debits_posted"] == 600
