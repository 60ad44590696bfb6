"""Single transfers, batches with per-transfer results, linked chains, limits and edge amounts."""

from __future__ import annotations

from typing import Any

from tests.funds.conftest import MAX_FEN, Funds, outcomes, transfer


async def _fund(funds: Funds, amount: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A treasury (no limit) and a program fund credited with `amount` from it."""
    treasury = await funds.account(code="treasury", owner_kind="province", owner_id="gansu")
    fund = await funds.account(
        code="program_fund",
        owner_kind="program",
        owner_id="ZDYF",
        debits_must_not_exceed_credits=True,
    )
    body = await funds.transfers(transfer(treasury, fund, amount))
    assert outcomes(body) == ["created"]
    return treasury, fund


async def test_a_transfer_moves_money_and_both_sides_keep_their_totals(funds: Funds) -> None:
    treasury, fund = await _fund(funds, 1_000_000)
    project = await funds.account()

    body = await funds.transfers(transfer(fund, project, 250_000, code="disbursement"))

    assert body == {
        "created": 1,
        "exists": 0,
        "failed": 0,
        "results": [
            {
                "index": 0,
                "id": body["results"][0]["id"],
                "result": "created",
                "status": 201,
                "code": None,
            }
        ],
    }
    assert (await funds.balances(treasury["id"]))["debits_posted"] == 1_000_000
    fund_now = await funds.balances(fund["id"])
    assert (fund_now["debits_posted"], fund_now["credits_posted"]) == (250_000, 1_000_000)
    assert fund_now["net_posted"] == 750_000
    assert fund_now["available"] == 750_000
    project_now = await funds.balances(project["id"])
    assert (project_now["credits_posted"], project_now["debits_posted"]) == (250_000, 0)
    stored = await funds.call("GET", f"/v1/transfers/{body['results'][0]['id']}", "auditor")
    assert stored.status_code == 200
    assert stored.json()["kind"] == "single"
    assert stored.json()["created_by"] == funds.callers["finance"].subject


async def test_an_account_that_must_not_go_below_zero_refuses_the_overdraft(funds: Funds) -> None:
    _, fund = await _fund(funds, 100)
    project = await funds.account()

    body = await funds.transfers(transfer(fund, project, 101))

    assert body["failed"] == 1
    assert body["results"][0]["status"] == 409
    assert body["results"][0]["code"] == "transfer.exceeds_credits"
    assert (await funds.balances(fund["id"]))["debits_posted"] == 0
    # The last fen is fine.
    assert outcomes(await funds.transfers(transfer(fund, project, 100))) == ["created"]
    assert (await funds.balances(fund["id"]))["available"] == 0


async def test_credits_must_not_exceed_debits_caps_what_an_account_receives(funds: Funds) -> None:
    treasury = await funds.account(code="treasury", owner_kind="province", owner_id="gansu")
    receivable = await funds.account(code="recovery", credits_must_not_exceed_debits=True)
    payer = await funds.account(code="project_budget")
    assert outcomes(await funds.transfers(transfer(receivable, treasury, 500))) == ["created"]

    body = await funds.transfers(transfer(payer, receivable, 501), transfer(payer, receivable, 500))

    assert outcomes(body) == ["transfer.exceeds_debits", "created"]


async def test_unlinked_transfers_of_a_batch_succeed_or_fail_each_on_their_own(
    funds: Funds,
) -> None:
    _, fund = await _fund(funds, 1000)
    a, b = await funds.account(), await funds.account()

    body = await funds.transfers(
        transfer(fund, a, 600),
        transfer(fund, b, 600),  # only 400 left after the first
        transfer(fund, b, 400),
    )

    assert outcomes(body) == ["created", "transfer.exceeds_credits", "created"]
    assert (body["created"], body["exists"], body["failed"]) == (2, 0, 1)
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert (await funds.balances(fund["id"]))["available"] == 0


async def test_a_linked_chain_succeeds_or_fails_as_a_whole(funds: Funds) -> None:
    _, fund = await _fund(funds, 1000)
    a, b, c = await funds.account(), await funds.account(), await funds.account()

    failed_chain = await funds.transfers(
        transfer(fund, a, 300, linked=True),
        transfer(fund, b, 300, linked=True),
        transfer(fund, c, 500),  # 400 left: the whole chain fails
        transfer(fund, c, 100),  # not in the chain
    )
    assert outcomes(failed_chain) == [
        "transfer.linked_event_failed",
        "transfer.linked_event_failed",
        "transfer.exceeds_credits",
        "created",
    ]
    assert (await funds.balances(a["id"]))["credits_posted"] == 0
    assert (await funds.balances(fund["id"]))["debits_posted"] == 100

    good_chain = await funds.transfers(transfer(fund, a, 300, linked=True), transfer(fund, b, 600))
    assert outcomes(good_chain) == ["created", "created"]
    assert (await funds.balances(fund["id"]))["available"] == 0


async def test_a_failure_early_in_a_chain_fails_the_rest_unseen(funds: Funds) -> None:
    _, fund = await _fund(funds, 100)
    a = await funds.account()

    body = await funds.transfers(
        transfer(fund, a, 200, linked=True),
        transfer(fund, a, 10, linked=True),
        transfer(fund, a, 10),
        transfer(fund, a, 10),
    )

    assert outcomes(body) == [
        "transfer.exceeds_credits",
        "transfer.linked_event_failed",
        "transfer.linked_event_failed",
        "created",
    ]


async def test_a_batch_ending_inside_a_chain_fails_that_chain(funds: Funds) -> None:
    _, fund = await _fund(funds, 100)
    a = await funds.account()

    body = await funds.transfers(
        transfer(fund, a, 10),
        transfer(fund, a, 10, linked=True),
        transfer(fund, a, 10, linked=True),
    )

    assert outcomes(body) == [
        "created",
        "transfer.linked_event_failed",
        "transfer.linked_event_chain_open",
    ]
    assert (await funds.balances(a["id"]))["credits_posted"] == 10


async def test_transfers_stay_inside_one_ledger(funds: Funds) -> None:
    _, fund = await _fund(funds, 100)
    elsewhere = await funds.account(ledger="LANBAI")

    body = await funds.transfers(
        transfer(fund, elsewhere, 10),
        transfer(fund, await funds.account(), 10, ledger="LANBAI"),
    )

    assert outcomes(body) == [
        "transfer.accounts_must_have_the_same_ledger",
        "transfer.ledger_must_match_accounts",
    ]
    assert [r["status"] for r in body["results"]] == [422, 422]


async def test_unknown_accounts_are_named(funds: Funds) -> None:
    project = await funds.account()
    missing = "00000000-0000-4000-8000-000000000001"

    body = await funds.transfers(transfer(missing, project, 1), transfer(project, missing, 1))

    assert outcomes(body) == [
        "transfer.debit_account_not_found",
        "transfer.credit_account_not_found",
    ]


async def test_zero_negative_fractional_and_too_large_amounts_are_refused_whole(
    funds: Funds,
) -> None:
    a, b = await funds.account(), await funds.account()
    amounts: list[Any] = [0, -1, 1.5, "100", MAX_FEN + 1]
    for amount in amounts:
        bad = {**transfer(a, b, 1), "amount": amount}
        response = await funds.call(
            "POST", "/v1/transfers", "finance", json=[transfer(a, b, 1), bad]
        )
        assert response.status_code == 422, (amount, response.text)
        assert response.json()["code"] == "request.invalid"
        assert response.json()["errors"][0]["loc"][:3] == ["body", 1, "amount"] or (
            amount == 0 and response.json()["errors"][0]["loc"][:2] == ["body", 1]
        )
    # Nothing of those batches was written, not even their valid first transfer.
    assert (await funds.balances(a["id"]))["debits_posted"] == 0


async def test_one_fen_and_the_largest_amount_move(funds: Funds) -> None:
    a, b, c = await funds.account(), await funds.account(), await funds.account()

    body = await funds.transfers(transfer(a, b, 1), transfer(a, c, MAX_FEN - 1))

    assert outcomes(body) == ["created", "created"]
    assert (await funds.balances(a["id"]))["debits_posted"] == MAX_FEN
    assert (await funds.balances(c["id"]))["credits_posted"] == MAX_FEN - 1


async def test_totals_that_would_overflow_are_refused_cleanly(funds: Funds) -> None:
    a, b, c = await funds.account(), await funds.account(), await funds.account()
    assert outcomes(await funds.transfers(transfer(a, b, MAX_FEN))) == ["created"]

    body = await funds.transfers(
        transfer(a, c, 1),  # a's debits would pass 2^63-1
        transfer(c, b, 1),  # b's credits would
        transfer(c, a, MAX_FEN),  # fine: a's credits are 0
    )

    assert outcomes(body) == [
        "transfer.overflows_debits_posted",
        "transfer.overflows_credits_posted",
        "created",
    ]
    assert [r["status"] for r in body["results"]] == [422, 422, 201]


async def test_pending_and_posted_together_may_not_overflow(funds: Funds) -> None:
    a, b, c = await funds.account(), await funds.account(), await funds.account()
    half = 2**62
    assert outcomes(await funds.transfers(transfer(a, b, half, pending=True))) == ["created"]

    body = await funds.transfers(transfer(a, c, half), transfer(a, c, half - 1))

    assert outcomes(body) == ["transfer.overflows_debits", "created"]


async def test_malformed_transfers_are_refused_before_anything_is_written(funds: Funds) -> None:
    a, b = await funds.account(), await funds.account()
    bad: list[dict[str, Any]] = [
        transfer(a, a, 1),
        transfer(a, b, 1, pending=True, post_pending=True),
        transfer(a, b, 1, timeout=60),
        transfer(a, b, 1, pending_id=a["id"]),
        {**transfer(a, b, 1), "colour": "red"},
        transfer(a, b, 1, ledger="no spaces allowed"),
        transfer(a, b, 1, user_data={"k": {"nested": 1}}),
        {k: v for k, v in transfer(a, b, 1).items() if k != "debit_account_id"},
    ]
    for body in bad:
        response = await funds.call("POST", "/v1/transfers", "finance", json=[body])
        assert response.status_code == 422, (body, response.text)
    too_many = [transfer(a, b, 1) for _ in range(8191)]
    response = await funds.call("POST", "/v1/transfers", "finance", json=too_many)
    assert response.status_code == 422
    assert (await funds.call("POST", "/v1/transfers", "finance", json=[])).status_code == 422


async def test_who_may_move_money(funds: Funds) -> None:
    a, b = await funds.account(), await funds.account()
    for who in ("finance", "admin", "service"):
        assert outcomes(await funds.transfers(transfer(a, b, 1), who=who)) == ["created"]
    for who in ("auditor", "evaluator", "manager", "applicant"):
        response = await funds.call("POST", "/v1/transfers", who, json=[transfer(a, b, 1)])
        assert response.status_code == 403, who
    response = await funds.call("POST", "/v1/transfers", None, json=[transfer(a, b, 1)])
    assert response.status_code == 401
    assert (await funds.balances(b["id"]))["credits_posted"] == 3
