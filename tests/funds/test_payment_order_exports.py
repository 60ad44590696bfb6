"""Payment orders as CSV and XLSX (`/v1/exports/payment-orders`): the list's rows and scope
(a program's manager reads the orders of their program's ledger only), formulas disarmed."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import openpyxl

from tests.funds.conftest import Funds, outcomes, transfer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PURPOSE = '=HYPERLINK("http://evil.example","拨付")'


def csv_rows(reply: httpx.Response) -> list[dict[str, str]]:
    assert reply.status_code == 200, reply.text
    assert reply.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))


async def _order_in(funds: Funds, program: str) -> dict[str, Any]:
    """A payment order out of the program's 2026 fund, waiting for its approval."""
    ledger: dict[str, Any] = {"ledger": f"{program}-2026", "program": program, "fiscal_year": 2026}
    treasury = await funds.account(**ledger, code="treasury", owner_kind="province")
    fund = await funds.account(
        **ledger,
        code="program_fund",
        owner_kind="program",
        owner_id=program,
        debits_must_not_exceed_credits=True,
        requires_approval=True,
    )
    payee = await funds.account(**ledger, name=f"项目专账 2026-{program}-0001")
    assert outcomes(
        await funds.transfers(transfer(treasury, fund, 1000, ledger=ledger["ledger"]))
    ) == ["created"]
    order = {
        **transfer(fund, payee, 400, ledger=ledger["ledger"]),
        "code": "disbursement",
        "purpose": PURPOSE,
    }
    made = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def export(funds: Funds, who: str, fmt: str = "csv", **params: Any) -> httpx.Response:
    return await funds.call(
        "GET", "/v1/exports/payment-orders", who, params={"format": fmt, **params}
    )


async def test_payment_orders_export_in_the_callers_scope(funds: Funds) -> None:
    await funds.manages("manager", "ZDYF")
    await funds.manages("manager2", "ZDZX")
    ours = await _order_in(funds, "ZDYF")
    theirs = await _order_in(funds, "ZDZX")

    rows = csv_rows(await export(funds, "manager"))
    assert [r["id"] for r in rows] == [ours["id"]]
    assert rows[0]["purpose"] == "'" + PURPOSE  # shown as text, never run
    assert rows[0]["amount"] == "400"
    assert rows[0]["status"] == "pending_approval"
    assert [r["id"] for r in csv_rows(await export(funds, "manager2"))] == [theirs["id"]]
    every = {r["id"] for r in csv_rows(await export(funds, "finance"))}
    assert {ours["id"], theirs["id"]} <= every
    filtered = csv_rows(await export(funds, "manager", status="approved"))
    assert filtered == []
    assert (await export(funds, "applicant")).status_code == 403
    assert (await export(funds, "manager", "pdf")).status_code == 422

    reply = await export(funds, "manager", "xlsx")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(reply.content)).active
    assert sheet is not None
    header, *values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert [dict(zip(header, v, strict=True))["id"] for v in values] == [ours["id"]]
    purpose = dict(zip(header, values[0], strict=True))["purpose"]
    assert purpose == "'" + PURPOSE
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
