"""What the database itself refuses, whatever the Python code does: a bug cannot overdraw an
account, rewrite history or resolve a hold twice."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.reports.repository import ReportRepository
from tests.funds.conftest import Funds, outcomes, post, transfer


async def _refused(session: AsyncSession, sql: str, **params: Any) -> str:
    """Runs `sql` in a savepoint; returns the error PostgreSQL raised (the test fails if none)."""
    with pytest.raises(DBAPIError) as refused:
        async with session.begin_nested():
            await session.execute(sa.text(sql), params)
    return str(refused.value.orig)


@pytest.fixture
async def ledger(funds: Funds) -> dict[str, Any]:
    treasury = await funds.account(code="treasury")
    fund = await funds.account(code="program_fund", debits_must_not_exceed_credits=True)
    project = await funds.account()
    hold = transfer(fund, project, 40, pending=True)
    payment = transfer(treasury, fund, 100)
    refused = transfer(fund, project, 1000)
    assert outcomes(await funds.transfers(payment, hold, post(hold), refused)) == [
        *["created"] * 3,
        "transfer.exceeds_credits",
    ]
    return {
        "fund": fund["id"],
        "project": project["id"],
        "payment": payment["id"],
        "hold": hold,
        "refused": refused["id"],
    }


async def test_transfers_cannot_be_changed_or_removed(
    session: AsyncSession, ledger: dict[str, Any]
) -> None:
    for sql in (
        "UPDATE funds.transfers SET amount = 1 WHERE id = :id",
        "DELETE FROM funds.transfers WHERE id = :id",
    ):
        assert "append-only" in await _refused(session, sql, id=ledger["payment"])
    assert "append-only" in await _refused(session, "TRUNCATE funds.transfers CASCADE")
    for sql in (
        "UPDATE funds.transfer_failures SET code = 'ok' WHERE id = :id",
        "DELETE FROM funds.transfer_failures WHERE id = :id",
    ):
        assert "append-only" in await _refused(session, sql, id=ledger["refused"])
    assert "append-only" in await _refused(session, "TRUNCATE funds.transfer_failures")


async def test_accounts_cannot_be_overdrawn_even_by_a_direct_update(
    session: AsyncSession, ledger: dict[str, Any]
) -> None:
    error = await _refused(
        session,
        "UPDATE funds.accounts SET debits_posted = credits_posted + 1 WHERE id = :id",
        id=ledger["fund"],
    )
    assert "ck_accounts_debits_within_credits" in error
    error = await _refused(
        session,
        "UPDATE funds.accounts SET debits_pending = credits_posted WHERE id = :id",
        id=ledger["fund"],
    )
    assert "ck_accounts_debits_within_credits" in error
    error = await _refused(
        session,
        "UPDATE funds.accounts SET credits_pending = -1 WHERE id = :id",
        id=ledger["project"],
    )
    assert "ck_accounts_totals_non_negative" in error


async def test_accounts_keep_their_flags_their_history_and_their_existence(
    session: AsyncSession, ledger: dict[str, Any]
) -> None:
    for sql in (
        "UPDATE funds.accounts SET debits_must_not_exceed_credits = false WHERE id = :id",
        "UPDATE funds.accounts SET requires_approval = true WHERE id = :id",
        "UPDATE funds.accounts SET ledger = '2027' WHERE id = :id",
    ):
        assert "never change" in await _refused(session, sql, id=ledger["fund"])
    assert "only grow" in await _refused(
        session, "UPDATE funds.accounts SET credits_posted = 0 WHERE id = :id", id=ledger["fund"]
    )
    assert "never deleted" in await _refused(
        session, "DELETE FROM funds.accounts WHERE id = :id", id=ledger["project"]
    )


async def test_a_hold_resolves_once_and_amounts_are_positive(
    session: AsyncSession, ledger: dict[str, Any]
) -> None:
    second_post = """
        INSERT INTO funds.transfers (id, debit_account_id, credit_account_id, amount, pending_id,
            ledger, code, kind, linked, user_data, body_hash, created_at, created_by)
        VALUES (:id, :fund, :project, :amount, :pending, '2026', 'allocation', :kind, false,
            '{}', :id, now(), 'a bug')
    """
    params = {"fund": ledger["fund"], "project": ledger["project"]}
    error = await _refused(
        session,
        second_post,
        id=uuid4(),
        amount=1,
        pending=ledger["hold"]["id"],
        kind="void",
        **params,
    )
    assert "uq_transfers_pending_id" in error
    error = await _refused(
        session, second_post, id=uuid4(), amount=0, pending=None, kind="single", **params
    )
    assert "ck_transfers_amount_positive" in error
    error = await _refused(
        session, second_post, id=uuid4(), amount=5, pending=None, kind="post", **params
    )
    assert "ck_transfers_pending_id_for_resolutions" in error


async def test_the_invariant_check_catches_a_total_its_transfers_do_not_explain(
    session: AsyncSession, ledger: dict[str, Any]
) -> None:
    savepoint = await session.begin_nested()
    await session.execute(
        sa.text("UPDATE funds.accounts SET credits_posted = credits_posted + 5 WHERE id = :id"),
        {"id": ledger["project"]},
    )

    found = await ReportRepository(session).integrity_violations()

    await savepoint.rollback()
    assert {(kind, subject) for kind, subject, _ in found} == {
        ("ledger_unbalanced", "2026"),
        ("account_totals_differ", ledger["project"]),
    }
    assert await ReportRepository(session).integrity_violations() == []


async def test_a_transfer_finds_earlier_ones_by_index_never_by_reading_the_whole_ledger(
    session: AsyncSession, funds: Funds
) -> None:
    # A ledger of some size, with the statistics ANALYZE keeps: each lookup of a transfer or a
    # failure by id must stay an index probe, not a scan of the table (whose cost would grow
    # with the ledger; PL/pgSQL keeps each statement's plan).
    treasury = await funds.account(code="treasury")
    fund = await funds.account(code="program_fund", debits_must_not_exceed_credits=True)
    earlier = [transfer(treasury, fund, 1) for _ in range(400)]
    refused = [transfer(fund, treasury, 10**12) for _ in range(1000)]
    assert (await funds.transfers(*earlier, *refused))["created"] == 400
    await session.execute(sa.text("ANALYZE funds.transfers, funds.transfer_failures"))
    scans = sa.text(
        "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_xact_user_tables"
        " WHERE schemaname = 'funds' AND relname IN ('transfers', 'transfer_failures')"
    )
    before = await session.scalar(scans)
    for n in range(1, 21):  # a plain transfer, a hold with its post, a refusal: every lookup
        hold = transfer(treasury, fund, 2, pending=True)
        sent = [transfer(treasury, fund, n), hold, post(hold), transfer(fund, treasury, 10**12)]
        assert outcomes(await funds.transfers(*sent)) == [
            *["created"] * 3,
            "transfer.exceeds_credits",
        ]
    assert await session.scalar(scans) == before
