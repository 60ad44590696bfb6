"""Issuing vouchers (credit-eligible enterprises, within their controller group's cap, out of
the program's pool), reading them with their balances, and expiring them.

The credit service is asked about the enterprise before the request's transaction begins (it
may be slow): as of the request, about the caller's own organization, so nothing that happens
meanwhile makes the answer wrong."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.funds.access.repository import AccessRepository
from services.funds.exceptions import TransferRefused
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.vouchers import (
    UNFILED_ORDER_STATES,
    OrderState,
    Voucher,
    VoucherEnterprise,
    VoucherProgram,
    VoucherStatus,
)
from services.funds.vouchers import events as voucher_events
from services.funds.vouchers.accounts import (
    available,
    derived_id,
    open_account,
    voucher_account_id,
)
from services.funds.vouchers.exceptions import (
    CapExceeded,
    CreditIneligible,
    PoolExhausted,
    VoucherExistsDifferent,
    VoucherNotFound,
)
from services.funds.vouchers.holds import cancel_order, close_voucher, return_unused
from services.funds.vouchers.parties import PartyService
from services.funds.vouchers.programs import ProgramService
from services.funds.vouchers.repository import VoucherRepository
from services.funds.vouchers.schemas import VoucherIssue, VoucherRead
from services.funds.vouchers.visibility import voucher_scope
from shared.auth.tokens import Principal
from shared.clock import SHANGHAI, in_shanghai
from shared.credit_client import CreditClient

SWEEPER = "system:voucher-expiry"
# Delivered work may still be redeemed this long after its voucher expired.
REDEMPTION_GRACE = timedelta(days=30)


class VoucherService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = VoucherRepository(session)
        self.ledger = LedgerService(session)
        self.programs = ProgramService(session)
        self.parties = PartyService(session)

    async def read(self, voucher: Voucher) -> VoucherRead:
        account = await self.repo.account(voucher.account_id)
        assert account is not None
        return VoucherRead.model_validate(
            {
                **{c: getattr(voucher, c) for c in VoucherRead.model_fields if hasattr(voucher, c)},
                "available_fen": available(account),
                "held_fen": account.debits_pending,
                "spent_fen": await self.repo.paid_from(account.id),
            }
        )

    async def get(self, voucher_id: UUID, principal: Principal) -> Voucher:
        """The voucher if the caller may read it (`visibility.py`); else not found."""
        found = await voucher_scope(self.session, principal)
        voucher = await AccessRepository(self.session).visible(
            Voucher, voucher_id, found.vouchers()
        )
        if voucher is None:
            raise VoucherNotFound()
        return voucher

    async def search(self, principal: Principal, *, offset: int, limit: int) -> Sequence[Voucher]:
        found = await voucher_scope(self.session, principal)
        return await self.repo.vouchers(found.vouchers(), offset=offset, limit=limit)

    async def issue(
        self,
        program_id: UUID,
        data: VoucherIssue,
        *,
        principal: Principal,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> tuple[Voucher, bool]:
        """(the voucher, True if issued now); the same id and body again is the same voucher."""
        async with sessions() as reading:
            asking = await VoucherService(reading)._to_issue(program_id, data, principal)
        if asking is not None:
            answer = await credit.eligibility(action="voucher", at=now, gateway_org_id=asking)
            if not answer.eligible:
                raise CreditIneligible(
                    extra={"reasons": [r.model_dump(mode="json") for r in answer.reasons]}
                )
        program = await self.programs.get(program_id)
        enterprise = await self.parties.own_enterprise(principal)
        existing = await self.repo.voucher(data.id)
        if existing is not None:
            return self._same(existing, program, enterprise, data), False
        assert asking == enterprise.org_id  # vouchers are never deleted
        account = await open_account(
            self.session,
            account_id=voucher_account_id(data.id),
            program=program,
            ledger=program.ledger,
            year=program.year,
            code="voucher",
            name=f"创新券 {enterprise.name}",
            owner_kind="enterprise",
            owner_id=str(enterprise.id),
            limited=True,
            actor=principal.subject,
            now=now,
        )
        valid_until = in_shanghai(now).date() + timedelta(days=program.validity_days)
        serial = await self.repo.next_voucher_serial()
        issue_transfer = derived_id("voucher-issue", data.id)
        # The row first: of two requests with this id only one goes on to the cap and money.
        created = await self.repo.insert_voucher(
            {
                "id": data.id,
                "number": f"CQ{program.year}-{serial:06d}",
                "program_id": program.id,
                "enterprise_id": enterprise.id,
                "actual_controller": enterprise.actual_controller,
                "amount_fen": data.amount_fen,
                "account_id": account.id,
                "issue_transfer_id": issue_transfer,
                "status": VoucherStatus.active,
                "valid_until": valid_until,
                "expires_at": datetime.combine(
                    valid_until + timedelta(days=1), time(), tzinfo=SHANGHAI
                ),
                "issued_by": principal.subject,
                "issued_at": now,
            }
        )
        if not created:
            found = await self.repo.voucher(data.id)
            assert found is not None
            return self._same(found, program, enterprise, data), False
        total = await self.repo.use_cap(
            program.id, enterprise.actual_controller, program.cap_per_group_fen, data.amount_fen
        )
        if total is None:
            used = await self.repo.cap_used(program.id, enterprise.actual_controller)
            raise CapExceeded(
                extra={
                    "cap_fen": program.cap_per_group_fen,
                    "remaining_fen": program.cap_per_group_fen - used,
                }
            )
        try:
            await self.ledger.create_transfer(
                TransferIn(
                    id=issue_transfer,
                    debit_account_id=program.pool_account_id,
                    credit_account_id=account.id,
                    amount=data.amount_fen,
                    ledger=program.ledger,
                    code="voucher_issue",
                    user_data={"voucher": str(data.id)},
                ),
                actor=principal.subject,
                now=now,
            )
        except TransferRefused as refused:
            if refused.code == "transfer.exceeds_credits":
                raise PoolExhausted() from refused
            raise
        voucher = await self.repo.voucher(data.id)
        assert voucher is not None
        await self.repo.record(
            subject_kind="voucher",
            subject_id=voucher.id,
            action="issued",
            from_state=None,
            to_state=VoucherStatus.active,
            actor=principal.subject,
            reason=None,
            at=now,
        )
        await voucher_events.voucher_issued(self.session, voucher, program, enterprise)
        return voucher, True

    async def _to_issue(
        self, program_id: UUID, data: VoucherIssue, principal: Principal
    ) -> UUID | None:
        """The organization to ask the credit service about, or None when the voucher exists
        (a retry: answered as the first request was, nobody asked)."""
        program = await self.programs.get(program_id)
        enterprise = await self.parties.own_enterprise(principal)
        existing = await self.repo.voucher(data.id)
        if existing is not None:
            self._same(existing, program, enterprise, data)
            return None
        return enterprise.org_id

    def _same(
        self,
        voucher: Voucher,
        program: VoucherProgram,
        enterprise: VoucherEnterprise,
        data: VoucherIssue,
    ) -> Voucher:
        if (
            voucher.program_id != program.id
            or voucher.enterprise_id != enterprise.id
            or voucher.amount_fen != data.amount_fen
        ):
            raise VoucherExistsDifferent()
        return voucher

    # --- expiry ------------------------------------------------------------------------------

    async def due(self, now: datetime, limit: int) -> list[tuple[str, UUID]]:
        """What the sweep has to do: vouchers whose validity ended ("expire") and expired
        vouchers whose redemption grace is over ("end_grace")."""
        expiring = await self.repo.expired_voucher_ids(now, limit)
        graceless = await self.repo.vouchers_past_grace(now - REDEMPTION_GRACE, limit)
        return [("expire", v) for v in expiring] + [("end_grace", v) for v in graceless]

    async def settle(self, step: str, voucher_id: UUID, now: datetime) -> int:
        """One step of `due` for one voucher (1 if it changed anything): call it in a
        transaction of its own, so one voucher that fails does not hold up the others."""
        if step == "expire":
            return await self._expire(voucher_id, now)
        return await self._end_grace(voucher_id, now)

    async def _expire(self, voucher_id: UUID, now: datetime) -> int:
        """Orders not yet delivered lose their hold; delivered work keeps it for the grace
        period; the rest of the value goes back to the pool."""
        voucher = await self.repo.lock_voucher(voucher_id)
        if voucher is None or not voucher.is_due_to_expire(now):
            return 0  # another sweeper got there first
        program = await self.programs.get(voucher.program_id)
        for order in await self.repo.lock_orders_of(voucher.id, (OrderState.ordered,)):
            await cancel_order(
                self.session,
                order,
                program,
                action="voucher_expired",
                actor=SWEEPER,
                reason="创新券已过期，服务尚未交付",
                now=now,
            )
        await return_unused(
            self.session, voucher, program, transfer_key="expired", actor=SWEEPER, now=now
        )
        await close_voucher(
            self.session,
            voucher,
            VoucherStatus.expired,
            actor=SWEEPER,
            reason="有效期届满",
            now=now,
        )
        return 1

    async def _end_grace(self, voucher_id: UUID, now: datetime) -> int:
        voucher = await self.repo.lock_voucher(voucher_id)
        if voucher is None or voucher.status != VoucherStatus.expired:
            return 0
        program = await self.programs.get(voucher.program_id)
        orders = await self.repo.lock_orders_of(voucher.id, UNFILED_ORDER_STATES)
        for order in orders:
            await cancel_order(
                self.session,
                order,
                program,
                action="redemption_grace_over",
                actor=SWEEPER,
                reason="创新券过期后兑付宽限期届满，未提交兑付",
                now=now,
            )
            await return_unused(
                self.session, voucher, program, transfer_key=str(order.id), actor=SWEEPER, now=now
            )
        return 1 if orders else 0
