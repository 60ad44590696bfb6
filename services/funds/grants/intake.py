"""What the projects service's events do to grant money.

Effects are idempotent by construction, although the consumer's inbox already applies each
event once: accounts, tranches and payment orders have ids derived from the project, and a
grant is opened only once. An event funds cannot apply (a project it has never seen, a frozen
grant, a change that does not fit the grant; a payload that does not fit its contract never
reaches these handlers) raises `CannotApply`: the consumer parks it, and the project's later
events wait behind it, until an operator retries or discards it (`/internal/v1/dead-letters`).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.grants.accounts import GrantAccounts, derived_id, ledger_of
from services.funds.grants.payouts import TranchePayer
from services.funds.grants.repository import GrantRepository
from services.funds.grants.service import GrantService
from services.funds.models import events
from services.funds.models.grants import Grant, GrantStatus, TrancheShown, TrancheStatus
from shared.contracts.funds import GrantOpenedV1
from shared.contracts.projects import (
    Budget,
    ProjectAcceptanceFailedV1,
    ProjectAcceptedV1,
    ProjectChangedV1,
    ProjectContractedV1,
    ProjectMidtermPassedV1,
    ProjectTerminatedV1,
)
from shared.contracts.vocabulary import ChangeKind, TrancheMilestone
from shared.events.handlers import CannotApply, Received
from shared.events.outbox import publish

ProjectEvent = (
    ProjectMidtermPassedV1
    | ProjectAcceptedV1
    | ProjectAcceptanceFailedV1
    | ProjectTerminatedV1
    | ProjectChangedV1
)


def actor_of(event: Received[Any]) -> str:
    return f"event:{event.event_type}"


class GrantIntake:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = GrantRepository(session)
        self.accounts = GrantAccounts(session)
        self.payer = TranchePayer(session)
        self.grants = GrantService(session)

    async def contracted(self, event: Received[ProjectContractedV1]) -> None:
        data = event.payload
        now, actor = event.occurred_at, actor_of(event)
        ledger = ledger_of(data.program_code, data.year)
        await self.accounts.open_program(data.program_code, data.year, actor=actor, now=now)
        funds, spent = await self.accounts.open_project(
            ledger=ledger,
            program_code=data.program_code,
            year=data.year,
            project_id=data.project_id,
            project_number=data.project_number,
            org_id=data.org.id,
            actor=actor,
            now=now,
        )
        opened = await self.repo.insert_grant(
            {
                "project_id": data.project_id,
                "project_number": data.project_number,
                "program_id": data.program_id,
                "program_code": data.program_code,
                "year": data.year,
                "ledger": ledger,
                "org_id": data.org.id,
                "org_name": data.org.name,
                "org_credit_code": data.org.credit_code,
                "pi_id": data.pi.id,
                "pi_name": data.pi.name,
                "approved_budget_fen": data.approved_budget_fen,
                "budget": data.budget.model_dump(),
                "starts_on": data.starts_on,
                "ends_on": data.ends_on,
                "status": GrantStatus.active,
                "funds_account_id": funds.id,
                "spent_account_id": spent.id,
                "contracted_at": now,
                "updated_at": now,
            }
        )
        if not opened:
            return  # contracted again (another event id): the first one opened it
        await self.repo.insert_tranches(
            [
                {
                    "id": derived_id(f"tranche:{data.project_id}:{n}"),
                    "project_id": data.project_id,
                    "n": n,
                    "name": tranche.name,
                    "amount_fen": tranche.amount_fen,
                    "milestone": tranche.on,
                    "status": TrancheStatus.scheduled,
                    "attempts": 0,
                    "updated_at": now,
                }
                for n, tranche in enumerate(data.tranches, start=1)
            ]
        )
        await self.repo.record(
            data.project_id,
            action="grant.opened",
            actor=actor,
            at=now,
            to_state=GrantStatus.active,
            details={"event_id": str(event.event_id), "budget": data.budget.model_dump()},
        )
        grant = await self.repo.grant(data.project_id, lock=True)
        assert grant is not None
        await publish(
            self.session,
            events,
            GrantOpenedV1(
                project_id=grant.project_id,
                ledger=ledger,
                approved_budget_fen=grant.approved_budget_fen,
                funds_account_id=funds.id,
            ),
        )
        await self._milestone(grant, TrancheMilestone.signing, event)

    async def midterm_passed(self, event: Received[ProjectMidtermPassedV1]) -> None:
        await self._milestone(await self._grant(event), TrancheMilestone.midterm, event)

    async def accepted(self, event: Received[ProjectAcceptedV1]) -> None:
        grant = await self._grant(event)
        before = grant.status
        grant.status = GrantStatus.accepted
        grant.accepted_at = event.occurred_at
        grant.updated_at = event.occurred_at
        await self.repo.record(
            grant.project_id,
            action="grant.accepted",
            actor=actor_of(event),
            at=event.occurred_at,
            from_state=before,
            to_state=GrantStatus.accepted,
            details={"result": event.payload.result},
        )
        await self._milestone(grant, TrancheMilestone.acceptance, event)

    async def stopped(
        self, event: Received[ProjectTerminatedV1 | ProjectAcceptanceFailedV1]
    ) -> None:
        """Terminated, or failed acceptance: the grant is frozen and its money recovered."""
        data = event.payload
        frozen = await self.grants.freeze(
            data.project_id,
            cause=event.event_type,
            reason=data.reason,
            actor=actor_of(event),
            now=event.occurred_at,
        )
        if frozen is None:
            raise _unknown(data.project_id)

    async def changed(self, event: Received[ProjectChangedV1]) -> None:
        data = event.payload
        grant = await self.repo.grant(data.project_id, lock=True)
        if grant is None:
            raise _unknown(data.project_id)
        details = self._applied_change(grant, data)
        if details is None:
            raise CannotApply(
                f"change_not_applicable: the {data.kind} change does not fit the grant"
            )
        grant.updated_at = event.occurred_at
        await self.repo.record(
            grant.project_id,
            action=f"change.{data.kind}",
            actor=actor_of(event),
            at=event.occurred_at,
            details={"change_id": str(data.change_id), **details},
        )

    # --- parts -------------------------------------------------------------------------------

    @staticmethod
    def _applied_change(grant: Grant, data: ProjectChangedV1) -> dict[str, Any] | None:
        """Applies an approved change to the grant; what changed, or None if it cannot apply."""
        details = data.details
        if data.kind is ChangeKind.budget_reallocation:
            try:
                budget = Budget.model_validate(details.get("budget")).model_dump()
            except ValidationError:
                return None
            if sum(budget.values()) != sum(grant.budget.values()):
                return None  # the total never changes by a reallocation
            old, grant.budget = grant.budget, budget
            return {"old_budget": old, "budget": budget}
        try:
            if data.kind is ChangeKind.extension:
                new_end = date.fromisoformat(str(details["new_ends_on"]))
                old_end, grant.ends_on = grant.ends_on, new_end
                return {"old_ends_on": old_end.isoformat(), "new_ends_on": new_end.isoformat()}
            if data.kind is ChangeKind.pi_change:
                new_pi = UUID(str(details["new_pi_id"]))
                old_pi = {"id": str(grant.pi_id), "name": grant.pi_name}
                grant.pi_id = new_pi
                grant.pi_name = str(details.get("new_pi_name") or grant.pi_name)[:200]
                return {"old_pi": old_pi, "new_pi": {"id": str(new_pi), "name": grant.pi_name}}
        except (KeyError, ValueError):
            return None
        return None

    async def _milestone(
        self, grant: Grant, milestone: TrancheMilestone, event: Received[Any]
    ) -> None:
        """Every scheduled tranche of the milestone becomes due: a payment order each."""
        for tranche in await self.repo.tranches(grant.project_id, lock=True):
            if tranche.milestone != milestone or tranche.status != TrancheStatus.scheduled:
                continue
            refused = await self.payer.pay(
                grant, tranche, maker=actor_of(event), now=event.occurred_at
            )
            await self.repo.record(
                grant.project_id,
                action="tranche.due",
                actor=actor_of(event),
                at=event.occurred_at,
                from_state=TrancheShown.scheduled,
                to_state=TrancheShown.due if refused else TrancheShown.awaiting_approval,
                details={"n": tranche.n, "refusal_code": refused.code if refused else None},
            )

    async def _grant(self, event: Received[ProjectEvent]) -> Grant:
        """The event's grant, locked; `CannotApply` if there is none or it is frozen."""
        project_id = event.payload.project_id
        grant = await self.repo.grant(project_id, lock=True)
        if grant is None:
            raise _unknown(project_id)
        if grant.status == GrantStatus.frozen:
            raise CannotApply(
                f"grant_frozen: the grant of project {project_id} is frozen"
                f" ({grant.frozen_cause}); {event.event_type} does not apply to it"
            )
        return grant


def _unknown(project_id: UUID) -> CannotApply:
    return CannotApply(f"unknown_project: funds has no grant for project {project_id}")
