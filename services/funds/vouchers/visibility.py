"""Who reads which voucher, order and registration (`services.funds.access.scope` for staff).

- finance officers, auditors and admins: all of them;
- the managers of a program that runs a scheme: every provider and enterprise registration
  (providers and enterprises serve and use every scheme; admitting providers is theirs), and
  the vouchers and orders of the schemes their programs run; evaluators engaged on such a
  program: those vouchers and orders, and the parties to them;
- an enterprise: its own registration, vouchers and orders; a provider: its own registration
  and the orders placed with it;
- anyone else: nothing (404), and lists hold only what the caller may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.scope import FundsScope, admits_providers, funds_scope
from services.funds.models.vouchers import (
    Voucher,
    VoucherEnterprise,
    VoucherOrder,
    VoucherProgram,
    VoucherProvider,
)
from shared.auth.roles import Role
from shared.auth.tokens import Principal


@dataclass(frozen=True)
class VoucherScope:
    funds: FundsScope
    admits_providers: bool  # an admin, or a manager of a program running a scheme
    principal: Principal

    @property
    def all_registrations(self) -> bool:
        return self.funds.everything or self.admits_providers

    def _schemes(self) -> sa.Select[UUID]:
        return sa.select(VoucherProgram.id).where(self.funds.voucher_programs())

    def vouchers(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `Voucher`."""
        if self.funds.everything:
            return sa.true()
        allowed: list[sa.ColumnElement[bool]] = [Voucher.program_id.in_(self._schemes())]
        if self.principal.org_id is not None:
            allowed.append(
                Voucher.enterprise_id.in_(
                    sa.select(VoucherEnterprise.id).where(
                        VoucherEnterprise.org_id == self.principal.org_id
                    )
                )
            )
        return sa.or_(*allowed)

    def orders(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `VoucherOrder`."""
        if self.funds.everything:
            return sa.true()
        allowed: list[sa.ColumnElement[bool]] = [VoucherOrder.program_id.in_(self._schemes())]
        org = self.principal.org_id
        if org is not None and Role.enterprise in self.principal.roles:
            allowed.append(
                VoucherOrder.enterprise_id.in_(
                    sa.select(VoucherEnterprise.id).where(VoucherEnterprise.org_id == org)
                )
            )
        if org is not None and Role.provider in self.principal.roles:
            allowed.append(
                VoucherOrder.provider_id.in_(
                    sa.select(VoucherProvider.id).where(VoucherProvider.org_id == org)
                )
            )
        return sa.or_(*allowed)

    def providers(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `VoucherProvider`."""
        if self.all_registrations:
            return sa.true()
        allowed: list[sa.ColumnElement[bool]] = [
            VoucherProvider.id.in_(
                sa.select(VoucherOrder.provider_id).where(
                    VoucherOrder.program_id.in_(self._schemes())
                )
            )
        ]
        if self.principal.org_id is not None:
            allowed.append(VoucherProvider.org_id == self.principal.org_id)
        return sa.or_(*allowed)

    def enterprises(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `VoucherEnterprise`."""
        if self.all_registrations:
            return sa.true()
        allowed: list[sa.ColumnElement[bool]] = [
            VoucherEnterprise.id.in_(
                sa.select(Voucher.enterprise_id).where(Voucher.program_id.in_(self._schemes()))
            )
        ]
        if self.principal.org_id is not None:
            allowed.append(VoucherEnterprise.org_id == self.principal.org_id)
        return sa.or_(*allowed)


async def voucher_scope(session: AsyncSession, principal: Principal) -> VoucherScope:
    found = await funds_scope(session, principal)
    admits = Role.program_manager in principal.roles or Role.admin in principal.roles
    return VoucherScope(
        funds=found,
        admits_providers=admits and await admits_providers(session, principal, found),
        principal=principal,
    )
