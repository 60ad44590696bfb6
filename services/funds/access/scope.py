"""Who reads which money: the object rules of the funds service, the same as projects'.

- finance officers, auditors, admins and the other services: everything (finance pays across
  programs; audit oversees all of it);
- program managers: the grants, accounts, payment orders and voucher schemes of the programs they
  manage; evaluators those of the programs they are engaged on, and the grants (with their two
  accounts) of the projects they are engaged on. Who manages or is engaged on what is the
  projects service's word, kept here from its events (`shared.program_scope`);
- an organization's admins: its grants; a PI: their own grant;
- enterprises and providers: their own registrations, vouchers and orders (`vouchers/`);
- anyone else: nothing. One who may not read an object is told it does not exist (404); lists
  hold only what the caller may read.

A voucher scheme names the program that runs it (`run_by_program`); that program's managers
admit and suspend providers (who serve every scheme) and oversee the scheme, and evaluators
engaged on it read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.models import Account, PaymentOrder, Transfer, scope
from services.funds.models.grants import Grant
from services.funds.models.vouchers import VoucherProgram
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.program_scope import StaffScope, staff_scope

# Roles that read all of funds: money moves across programs, and audit oversees it all.
OVERSIGHT = frozenset({Role.finance_officer, Role.auditor, Role.admin, Role.service})


@dataclass(frozen=True)
class FundsScope:
    everything: bool = False
    staff: StaffScope = field(default_factory=StaffScope)
    # The codes of the programs read (managed or engaged on), and of those managed.
    codes: frozenset[str] = frozenset()
    managed_codes: frozenset[str] = frozenset()
    person: UUID | None = None
    organization: UUID | None = None  # an org admin's organization

    # --- grants ------------------------------------------------------------------------------

    def reads_grant(self, grant: Grant) -> bool:
        return (
            self.everything
            or self.staff.reads_project(grant.project_id, grant.program_id)
            or (self.person is not None and grant.pi_id == self.person)
            or (self.organization is not None and grant.org_id == self.organization)
        )

    def grants(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `Grant`: those the caller may read."""
        if self.everything:
            return sa.true()
        allowed: list[sa.ColumnElement[bool]] = []
        if self.staff.programs:
            allowed.append(Grant.program_id.in_(self.staff.programs))
        if self.staff.engaged_projects:
            allowed.append(Grant.project_id.in_(self.staff.engaged_projects))
        if self.person is not None:
            allowed.append(Grant.pi_id == self.person)
        if self.organization is not None:
            allowed.append(Grant.org_id == self.organization)
        return sa.or_(*allowed) if allowed else sa.false()

    def program_grants(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `Grant` for program-level figures: whole programs only."""
        if self.everything:
            return sa.true()
        if not self.staff.programs:
            return sa.false()
        return Grant.program_id.in_(self.staff.programs)

    def reads_program(self, code: str) -> bool:
        """Program-level figures (its envelope, its fund): of programs managed or engaged on."""
        return self.everything or code in self.codes

    # --- the ledger --------------------------------------------------------------------------

    def ledgers(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `Account`: those of whole ledgers the caller reads (a program's
        `{code}-{year}` ledgers, the ledger of a voucher scheme its program runs)."""
        if self.everything:
            return sa.true()
        if not self.codes:
            return sa.false()
        codes = list(self.codes)
        program_ledger = sa.and_(
            Account.program.in_(codes),
            Account.ledger == sa.func.concat(Account.program, "-", Account.fiscal_year),
        )
        scheme_ledger = Account.ledger.in_(
            sa.select(VoucherProgram.ledger).where(VoucherProgram.run_by_program.in_(codes))
        )
        return sa.or_(program_ledger, scheme_ledger)

    def accounts(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `Account`: those the caller may read."""
        if self.everything:
            return sa.true()
        allowed = [self.ledgers()]
        if self.staff.engaged_projects:
            engaged = Grant.project_id.in_(self.staff.engaged_projects)
            allowed.append(
                Account.id.in_(
                    sa.union(
                        sa.select(Grant.funds_account_id).where(engaged),
                        sa.select(Grant.spent_account_id).where(engaged),
                    )
                )
            )
        return sa.or_(*allowed)

    def _readable_accounts(self) -> sa.Select[UUID]:
        return sa.select(Account.id).where(self.accounts())

    def payment_orders(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `PaymentOrder`: those paying from or into an account read."""
        if self.everything:
            return sa.true()
        readable = self._readable_accounts()
        return sa.or_(
            PaymentOrder.debit_account_id.in_(readable),
            PaymentOrder.credit_account_id.in_(readable),
        )

    def transfers(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `Transfer`: those moving money from or into an account read."""
        if self.everything:
            return sa.true()
        readable = self._readable_accounts()
        return sa.or_(
            Transfer.debit_account_id.in_(readable), Transfer.credit_account_id.in_(readable)
        )

    # --- voucher schemes ---------------------------------------------------------------------

    def voucher_programs(self) -> sa.ColumnElement[bool]:
        """A WHERE clause on `VoucherProgram`: the schemes the caller oversees."""
        if self.everything:
            return sa.true()
        if not self.codes:
            return sa.false()
        return VoucherProgram.run_by_program.in_(list(self.codes))


async def funds_scope(session: AsyncSession, principal: Principal) -> FundsScope:
    """The caller's scope: one query for staff, two when they manage or evaluate programs."""
    if principal.has_any(*OVERSIGHT):
        return FundsScope(everything=True)
    staff = await staff_scope(session, scope, principal)
    codes = await AccessRepository(session).codes_of(staff.programs)
    return FundsScope(
        staff=staff,
        codes=frozenset(c for program in staff.programs for c in codes.get(program, ())),
        managed_codes=frozenset(
            c for program in staff.managed_programs for c in codes.get(program, ())
        ),
        person=principal.user_id,
        organization=principal.org_id if principal.has_any(Role.org_admin) else None,
    )


async def admits_providers(session: AsyncSession, principal: Principal, found: FundsScope) -> bool:
    """An admin, or a manager of a program that runs a voucher scheme: providers serve every
    scheme, so admitting or suspending one is the act of any scheme's managers."""
    if Role.admin in principal.roles:
        return True
    return await AccessRepository(session).runs_a_voucher_scheme(found.managed_codes)
