"""Finance officers in Chromium: a payment order made by one officer is approved by another; its
maker's own approval is refused with the funds service's words (maker-checker)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.browser.conftest import log_in, person, screenshot

pytestmark = pytest.mark.e2e


class Ledger:
    """Accounts of a ledger of this test's own, opened and moved by a finance officer."""

    def __init__(self, client: httpx.AsyncClient, stack: RunningStack, headers: Any) -> None:
        self.client, self.headers = client, headers
        self.api = f"{stack.url}/api/funds/v1"
        self.code = f"BF{uuid.uuid4().hex[:8]}"

    async def post(self, path: str, body: Any) -> Any:
        reply = await self.client.post(f"{self.api}{path}", headers=self.headers, json=body)
        assert reply.is_success, reply.text
        return reply.json()

    async def account(self, name: str, **fields: Any) -> str:
        body = {
            "ledger": self.code,
            "code": "program_fund",
            "name": name,
            "owner_kind": "program",
            "owner_id": "ZDYF",
            **fields,
        }
        created: dict[str, Any] = await self.post("/accounts", body)
        return str(created["id"])

    async def order(self, debit: str, credit: str, amount: int, purpose: str) -> str:
        order_id = str(uuid.uuid4())
        await self.post(
            "/payment-orders",
            {
                "id": order_id,
                "debit_account_id": debit,
                "credit_account_id": credit,
                "amount": amount,
                "ledger": self.code,
                "code": "disbursement",
                "purpose": purpose,
            },
        )
        return order_id


async def _token(client: httpx.AsyncClient, stack: RunningStack, who: dict[str, str]) -> Any:
    reply = await client.post(
        f"{stack.url}/auth/token", data={"username": who["username"], "password": who["password"]}
    )
    assert reply.status_code == 200, reply.text
    return bearer(reply.json()["access_token"])


async def test_a_second_officer_approves_what_the_maker_may_not(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    maker, checker = await asyncio.gather(
        person(client, stack, "bf-maker", ["finance_officer"]),
        person(client, stack, "bf-checker", ["finance_officer"]),
    )
    as_maker = await _token(client, stack, maker)
    ledger = Ledger(client, stack, as_maker)
    treasury = await ledger.account("省级财政（门户测试）", code="treasury", owner_kind="province")
    fund = await ledger.account(
        "重点研发计划专项资金（门户测试）",
        debits_must_not_exceed_credits=True,
        requires_approval=True,
    )
    project = await ledger.account("项目专账（门户测试）", owner_kind="project")
    await ledger.post(
        "/transfers",
        [
            {
                "id": str(uuid.uuid4()),
                "debit_account_id": treasury,
                "credit_account_id": fund,
                "amount": 100_000_000,
                "ledger": ledger.code,
                "code": "allocation",
            }
        ],
    )
    first = f"首笔经费拨付 {ledger.code}"
    second = f"第二笔经费拨付 {ledger.code}"
    first_id = await ledger.order(fund, project, 12_345_600, first)
    second_id = await ledger.order(fund, project, 5_000_000, second)

    async def maker_known() -> bool:  # funds names the maker once it has heard of them
        me = await client.get(f"{ledger.api}/me", headers=as_maker)
        return bool(me.status_code == 200 and me.json()["in_directory"])

    await wait_until(maker_known)

    await log_in(page, checker, "/finance/payments")
    row = page.get_by_role("row").filter(has_text=first)
    await expect(row).to_contain_text("bf-maker")
    await expect(row).to_contain_text("123,456.00")
    await expect(row).to_contain_text("重点研发计划专项资金（门户测试） → 项目专账（门户测试）")
    await screenshot(page, "finance-payments")
    await row.get_by_role("button", name="批准").click()
    await expect(page.get_by_role("status")).to_have_text("支付指令已批准，款项已支付")
    approved = await client.get(f"{ledger.api}/payment-orders/{first_id}", headers=as_maker)
    assert (approved.json()["status"], approved.json()["decided_by"]) == (
        "approved",
        checker["id"],
    )

    await page.get_by_role("button", name="退出").click()
    await log_in(page, maker, "/finance/payments")
    mine = page.get_by_role("row").filter(has_text=second)
    await expect(mine).to_contain_text("本人")
    await mine.get_by_role("button", name="批准").click()
    await expect(page.get_by_role("alert")).to_contain_text("制单人不能审批自己的支付指令")
    still = await client.get(f"{ledger.api}/payment-orders/{second_id}", headers=as_maker)
    assert still.json()["status"] == "pending_approval"
