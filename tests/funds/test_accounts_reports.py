"""Accounts, balances now and in the past, statements with a running balance, the trial
balance and the integrity check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.funds.conftest import START, Funds, fresh_ledger, outcomes, post, transfer

ACCOUNT = {
    "id": "00000000-0000-4000-8000-0000000000a1",
    "ledger": "2026",
    "code": "program_fund",
    "name": "重点研发计划2026年度资金",
    "owner_kind": "program",
    "owner_id": "ZDYF",
    "program": "ZDYF",
    "fiscal_year": 2026,
    "debits_must_not_exceed_credits": True,
}


async def test_opening_an_account_is_idempotent_by_its_id(funds: Funds) -> None:
    first = await funds.call("POST", "/v1/accounts", "finance", json=ACCOUNT)
    again = await funds.call("POST", "/v1/accounts", "admin", json=ACCOUNT)
    other = await funds.call("POST", "/v1/accounts", "finance", json={**ACCOUNT, "name": "别的"})

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert first.json()["created_by"] == funds.callers["finance"].subject
    assert other.json()["code"] == "account.exists_different"
    body = first.json()
    assert (body["debits_posted"], body["credits_posted"], body["available"]) == (0, 0, 0)


async def test_account_rules_and_roles(funds: Funds) -> None:
    both = {**ACCOUNT, "id": None, "credits_must_not_exceed_debits": True}
    assert (await funds.call("POST", "/v1/accounts", "finance", json=both)).status_code == 422
    for who in ("auditor", "service", "applicant"):
        response = await funds.call("POST", "/v1/accounts", who, json=ACCOUNT)
        assert response.status_code == 403, who
    await funds.call("POST", "/v1/accounts", "finance", json=ACCOUNT)
    for who in ("auditor", "finance", "service", "admin"):
        response = await funds.call("GET", f"/v1/accounts/{ACCOUNT['id']}", who)
        assert response.status_code == 200, who
    # Managers and evaluators read the accounts of their programs only: not this one.
    for who in ("evaluator", "manager"):
        response = await funds.call("GET", f"/v1/accounts/{ACCOUNT['id']}", who)
        assert (response.status_code, response.json()["code"]) == (404, "account.not_found"), who
    assert (
        await funds.call("GET", f"/v1/accounts/{ACCOUNT['id']}", "applicant")
    ).status_code == 403
    assert (await funds.call("GET", f"/v1/accounts/{ACCOUNT['id']}", None)).status_code == 401
    missing = await funds.call(
        "GET", "/v1/accounts/00000000-0000-4000-8000-000000000000", "auditor"
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "account.not_found")


async def test_accounts_are_listed_by_ledger_and_owner(funds: Funds) -> None:
    ledger = fresh_ledger()
    opened = [await funds.account(ledger, owner_id=f"P{n}") for n in range(3)]
    page = await funds.call("GET", "/v1/accounts", "auditor", params={"ledger": ledger, "limit": 2})
    assert page.status_code == 200
    rest = await funds.call(
        "GET",
        "/v1/accounts",
        "auditor",
        params={"cursor": page.json()["next_cursor"], "ledger": ledger},
    )
    ids = [a["id"] for a in page.json()["items"] + rest.json()["items"]]
    assert sorted(ids) == sorted(a["id"] for a in opened)
    mine = await funds.call(
        "GET", "/v1/accounts", "auditor", params={"owner_id": "P1", "ledger": ledger}
    )
    assert [a["id"] for a in mine.json()["items"]] == [opened[1]["id"]]


async def _history(funds: Funds) -> dict[str, Any]:
    """A year of a program fund: allotment, a hold, a payment, the hold posted in part."""
    treasury = await funds.account(code="treasury")
    fund = await funds.account(code="program_fund", debits_must_not_exceed_credits=True)
    project = await funds.account()
    await funds.transfers(transfer(treasury, fund, 10_000))  # day 0
    funds.clock.advance(days=1)
    hold = transfer(fund, project, 3_000, pending=True)
    await funds.transfers(hold)  # day 1
    funds.clock.advance(days=1)
    await funds.transfers(transfer(fund, project, 1_000))  # day 2
    funds.clock.advance(days=1)
    await funds.transfers(post(hold, 2_500))  # day 3
    return {"fund": fund["id"], "project": project["id"]}


async def test_balances_as_of_a_past_moment(funds: Funds) -> None:
    history = await _history(funds)

    def at(days: int) -> dict[str, str]:
        return {"as_of": (START + timedelta(days=days, hours=1)).isoformat()}

    day0, day1, day2, day3 = [await funds.balances(history["fund"], **at(d)) for d in range(4)]
    now = await funds.balances(history["fund"])

    assert (day0["credits_posted"], day0["debits_pending"], day0["debits_posted"]) == (10_000, 0, 0)
    assert (day1["debits_pending"], day1["available"]) == (3_000, 7_000)
    assert (day2["debits_posted"], day2["available"]) == (1_000, 6_000)
    assert (day3["debits_pending"], day3["debits_posted"], day3["available"]) == (0, 3_500, 6_500)
    assert day3["as_of"] is not None
    assert now["as_of"] is None
    assert {k: now[k] for k in ("debits_posted", "debits_pending", "credits_posted")} == {
        k: day3[k] for k in ("debits_posted", "debits_pending", "credits_posted")
    }
    before = await funds.balances(history["fund"], as_of=(START - timedelta(days=1)).isoformat())
    assert before["credits_posted"] == 0
    naive = await funds.call(
        "GET", f"/v1/accounts/{history['fund']}", "auditor", params={"as_of": "2026-03-01T00:00:00"}
    )
    assert naive.status_code == 422


async def test_a_statement_carries_the_running_balance(funds: Funds) -> None:
    history = await _history(funds)
    path = f"/v1/accounts/{history['fund']}/statement"

    whole = (await funds.call("GET", path, "auditor")).json()

    lines = [
        (
            i["kind"],
            i["side"],
            i["amount"],
            i["debits_pending"],
            i["debits_posted"],
            i["net_posted"],
        )
        for i in whole["items"]
    ]
    assert lines == [
        ("single", "credit", 10_000, 0, 0, 10_000),
        ("pending", "debit", 3_000, 3_000, 0, 10_000),
        ("single", "debit", 1_000, 3_000, 1_000, 9_000),
        ("post", "debit", 2_500, 0, 3_500, 6_500),
    ]
    assert whole["items"][3]["pending_change"] == -3_000
    assert whole["next_cursor"] is None

    params = {
        "from": (START + timedelta(days=2)).isoformat(),
        "to": (START + timedelta(days=3)).isoformat(),
    }
    period = (await funds.call("GET", path, "auditor", params=params)).json()
    assert period["opening"]["debits_pending"] == 3_000
    assert [(i["kind"], i["debits_posted"]) for i in period["items"]] == [("single", 1_000)]

    first = (await funds.call("GET", path, "auditor", params={"limit": 3})).json()
    rest = (
        await funds.call("GET", path, "auditor", params={"cursor": first["next_cursor"]})
    ).json()
    assert [i["transfer_id"] for i in first["items"] + rest["items"]] == [
        i["transfer_id"] for i in whole["items"]
    ]
    assert rest["items"][0]["net_posted"] == 6_500  # the running balance carries across pages
    backwards = await funds.call(
        "GET", path, "auditor", params={"from": params["to"], "to": params["from"]}
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "statement.invalid_period")


async def test_the_trial_balance_balances_now_and_in_the_past(funds: Funds) -> None:
    ledger = fresh_ledger()
    treasury, fund = await funds.account(ledger), await funds.account(ledger)
    project = await funds.account(ledger)
    hold = transfer(fund, project, 50, ledger=ledger, pending=True)
    body = await funds.transfers(
        transfer(treasury, fund, 500, ledger=ledger),
        transfer(fund, project, 120, ledger=ledger),
        hold,
    )
    assert outcomes(body) == ["created"] * 3

    report = await funds.call(
        "GET", "/v1/reports/trial-balance", "auditor", params={"ledger": ledger}
    )

    assert report.status_code == 200
    assert report.json() == {
        "as_of": None,
        "source": "accounts",
        "balanced": True,
        "ledgers": [
            {
                "ledger": ledger,
                "accounts": 3,
                "debits_posted": 620,
                "credits_posted": 620,
                "debits_pending": 50,
                "credits_pending": 50,
                "balanced": True,
            }
        ],
    }
    past = await funds.call(
        "GET",
        "/v1/reports/trial-balance",
        "evaluator",
        params={"ledger": ledger, "as_of": (START - timedelta(seconds=1)).isoformat()},
    )
    assert past.json()["ledgers"] == []
    assert past.json()["balanced"] is True
    everything = await funds.call("GET", "/v1/reports/trial-balance", "auditor")
    assert everything.json()["balanced"] is True
    assert ledger in [entry["ledger"] for entry in everything.json()["ledgers"]]
    as_of_now = await funds.call(
        "GET",
        "/v1/reports/trial-balance",
        "auditor",
        params={"ledger": ledger, "as_of": START.isoformat()},
    )
    assert as_of_now.json()["ledgers"][0]["debits_posted"] == 620
    assert as_of_now.json()["source"] == "transfers"
    assert (await funds.call("GET", "/v1/reports/trial-balance", "applicant")).status_code == 403


async def test_the_integrity_report_finds_nothing_wrong(funds: Funds) -> None:
    await _history(funds)

    report = await funds.call("GET", "/v1/reports/integrity", "auditor")

    assert report.status_code == 200
    assert report.json()["ok"] is True
    assert report.json()["violations"] == []
    assert report.json()["checked_transfers"] >= 4
