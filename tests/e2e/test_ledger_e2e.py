"""A finance officer's single transfers, sent all at once through the gateway to the running
funds service, which group-commits them (services/funds/ledger/coalescer.py): each request is
answered about its own transfer, and the limit holds across them."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest

from tests.conftest import RunningStack
from tests.e2e.helpers import e2e_client
from tests.e2e.story_steps import Story, new_id

pytestmark = pytest.mark.e2e

PAYMENTS = 40
FUNDED = 1_000
EACH = 100


async def _account(story: Story, who: str, ledger: str, **fields: Any) -> str:
    body = {
        "id": new_id(),
        "ledger": ledger,
        "code": "project_budget",
        "name": "并发测试账户",
        "owner_kind": "project",
        "owner_id": f"project-{secrets.token_hex(4)}",
        **fields,
    }
    account: dict[str, Any] = await story.ok("POST", "funds", "/accounts", who, json=body)
    return str(account["id"])


def _transfer(debit: str, credit: str, amount: int, ledger: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "debit_account_id": debit,
        "credit_account_id": credit,
        "amount": amount,
        "ledger": ledger,
        "code": "allocation",
    }


async def test_single_transfers_sent_at_once_are_each_answered_for_their_own(
    stack: RunningStack,
) -> None:
    assert stack.clock_file is not None
    ledger = "E" + secrets.token_hex(5).upper()
    officer = f"ledger{secrets.token_hex(3)}.fo"
    async with e2e_client() as client:
        story = Story(client=client, running=stack, clock_file=stack.clock_file)
        await story.admin()
        await story.person(officer, "并发会计", ["finance_officer"], None)
        await story.known_everywhere(officer)
        treasury = await _account(story, officer, ledger, code="treasury")
        fund = await _account(
            story, officer, ledger, code="program_fund", debits_must_not_exceed_credits=True
        )
        payee = await _account(story, officer, ledger)
        funded = await story.ok(
            "POST",
            "funds",
            "/transfers",
            officer,
            json=[_transfer(treasury, fund, FUNDED, ledger)],
        )
        assert funded["created"] == 1

        payments = [_transfer(fund, payee, EACH, ledger) for _ in range(PAYMENTS)]
        replies: list[httpx.Response] = await asyncio.gather(
            *(
                story.call("POST", "funds", "/transfers", officer, json=[payment])
                for payment in payments
            )
        )

        assert {reply.status_code for reply in replies} == {200}
        answers = [reply.json() for reply in replies]
        # Every answer is about the one transfer its request sent.
        assert [a["results"][0]["id"] for a in answers] == [p["id"] for p in payments]
        assert all(len(a["results"]) == 1 and a["results"][0]["index"] == 0 for a in answers)
        outcomes = [a["results"][0].get("code") or a["results"][0]["result"] for a in answers]
        assert outcomes.count("created") == FUNDED // EACH
        assert outcomes.count("transfer.exceeds_credits") == PAYMENTS - FUNDED // EACH
        # What each was told is what the ledger holds.
        for payment, outcome in zip(payments, outcomes, strict=True):
            stored = await story.call("GET", "funds", f"/transfers/{payment['id']}", officer)
            assert stored.status_code == (200 if outcome == "created" else 404), stored.text
        balances = await story.ok("GET", "funds", f"/accounts/{fund}", officer)
        assert (balances["debits_posted"], balances["credits_posted"]) == (FUNDED, FUNDED)
