"""Decisions per call (立项): approve with a budget, reserve (项目储备库) or reject.

A batch is all or nothing: every item is checked (the application's state, separation of
duties, the budget asked for, the program's yearly envelope) before anything is written.
An approval makes a project in public notice (公示) with a number `{year}-{code}-{seq:04d}`.

The first batch after the close moves the call published -> decided; later batches on a
decided call go on (the reserve is drawn on as money is freed). in_review | reviewed ->
approved | reserved | rejected; reserved -> approved (within the envelope) | rejected (the
reserve is cleared); approved and rejected are final.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.applications.events import ApplicationEvents
from services.projects.calls.service import managed_call
from services.projects.decisions.exceptions import CallStillOpen, DecisionInvalid, NoEnvelope
from services.projects.decisions.repository import DecisionRepository
from services.projects.decisions.schemas import DecisionBatch, DecisionItem, EnvelopeRead
from services.projects.exceptions import ApplicationNotFound, EnvelopeExceeded, InvalidTransition
from services.projects.execution.events import ProjectEvents
from services.projects.execution.exceptions import DirectoryUnknown
from services.projects.execution.repository import ProjectRepository
from services.projects.models import Application, Call, Program, Project
from services.projects.models.calls import PUBLIC_CALL_STATES, CallState
from services.projects.models.lifecycle import ProjectStatus
from services.projects.models.submissions import UNDER_REVIEW, ApplicationStatus
from services.projects.programs.repository import ProgramRepository
from services.projects.review.panels.service import check_decisions, decision_ranking
from services.projects.review.scoring.results import CallRanking
from services.projects.scope import check_duties_of
from shared.auth.tokens import Principal
from shared.errors import Text

OUTCOME = {
    "approve": ApplicationStatus.approved,
    "reserve": ApplicationStatus.reserved,
    "reject": ApplicationStatus.rejected,
}
# The states each decision may be taken from.
DECIDABLE_FROM = {
    "approve": (*UNDER_REVIEW, ApplicationStatus.reserved),
    "reserve": UNDER_REVIEW,
    "reject": (*UNDER_REVIEW, ApplicationStatus.reserved),
}


@dataclass(frozen=True)
class Checked:
    """One item of a batch after its checks, with what an approval needs from the directory."""

    item: DecisionItem
    application: Application
    pi: Mapping[str, Any] | None = None
    organization: Mapping[str, Any] | None = None


class DecisionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = DecisionRepository(session)
        self.programs = ProgramRepository(session)
        self.directory = ProjectRepository(session)
        self.events = ProjectEvents(session)
        self.application_events = ApplicationEvents(session)

    async def decide(
        self, principal: Principal, call_id: UUID, batch: DecisionBatch, now: datetime
    ) -> tuple[list[tuple[Application, Project | None]], EnvelopeRead | None]:
        await managed_call(self.session, principal, call_id)
        call = await self.repo.call_for_update(call_id)
        # A call takes decisions once published and closed; the first batch marks it decided.
        if call.state not in PUBLIC_CALL_STATES:
            raise InvalidTransition(call.state)
        if not call.has_closed(now):
            raise CallStillOpen()  # more applications may come: nothing is decided before the close
        program = await self.programs.referenced(call.program_id)
        checked = await self._check(principal, call, batch.decisions)
        await check_decisions(
            self.session,
            call.id,
            [c.application.id for c in checked if c.item.decision == "approve"],
        )
        await self._within_envelope(program, call.year, checked)
        if call.state == CallState.published:
            await self._mark_decided(principal, call, len(checked))
        results: list[tuple[Application, Project | None]] = []
        for one in checked:
            results.append((one.application, await self._apply(principal, call, program, one, now)))
        return results, await self.envelope(program.id, call.year)

    async def of_call(
        self, principal: Principal, call_id: UUID, *, status: str | None, limit: int, offset: int
    ) -> tuple[
        Sequence[tuple[Application, Project | None]], EnvelopeRead | None, CallRanking | None
    ]:
        """The call's applications, in review rank order once its review round is closed."""
        call = await managed_call(self.session, principal, call_id)
        ranking = await decision_ranking(self.session, call.id)
        ranks = {a: rank for a, (rank, _) in ranking.places.items()} if ranking else None
        rows = await self.repo.of_call(
            call.id, status=status, limit=limit, offset=offset, review_ranks=ranks
        )
        return rows, await self.envelope(call.program_id, call.year), ranking

    async def envelope(self, program_id: UUID, year: int) -> EnvelopeRead | None:
        found = await self.repo.envelope(program_id, year)
        if found is None:
            return None
        committed = await self.programs.committed_fen(program_id, year)
        return EnvelopeRead(
            program_id=program_id,
            year=year,
            amount_fen=found.amount_fen,
            committed_fen=committed,
            remaining_fen=found.amount_fen - committed,
        )

    # --- checks (nothing written yet) ------------------------------------------------------

    async def _check(
        self, principal: Principal, call: Call, items: list[DecisionItem]
    ) -> list[Checked]:
        twice = [str(i) for i, n in Counter(d.application_id for d in items).items() if n > 1]
        if twice:
            raise DecisionInvalid(
                Text("同一申报书在一批中出现多次", "an application appears twice in the batch"),
                extra={"application_ids": twice},
            )
        found = {
            a.id: a
            for a in await self.repo.applications_for_update(
                call.id, [d.application_id for d in items]
            )
        }
        pairs: list[tuple[DecisionItem, Application]] = []
        for item in items:
            application = found.get(item.application_id)
            if application is None:
                raise ApplicationNotFound(extra={"application_id": str(item.application_id)})
            _check_item(item, application)
            pairs.append((item, application))
        # One query for every team, and one each for the people and units approvals name.
        await check_duties_of(self.session, principal, [a for _, a in pairs])
        approved = [a for item, a in pairs if item.decision == "approve"]
        people = await self.directory.people(a.applicant_id for a in approved)
        units = await self.directory.organizations(a.org_id for a in approved)
        checked = []
        for item, application in pairs:
            if item.decision != "approve":
                checked.append(Checked(item, application))
                continue
            pi, unit = people.get(application.applicant_id), units.get(application.org_id)
            if pi is None or unit is None:
                raise DirectoryUnknown(extra={"application_id": str(application.id)})
            checked.append(Checked(item, application, pi, unit))
        return checked

    async def _within_envelope(self, program: Program, year: int, checked: list[Checked]) -> None:
        asked = sum(c.item.approved_budget_fen or 0 for c in checked)
        if not asked:
            return
        envelope = await self.repo.envelope_for_update(program.id, year)
        if envelope is None:
            raise NoEnvelope(extra={"program_id": str(program.id), "year": year})
        remaining = envelope.amount_fen - await self.programs.committed_fen(program.id, year)
        if asked > remaining:
            raise EnvelopeExceeded(
                Text(
                    f"本批批准经费 {asked} 分，超出 {year} 年度剩余额度 {remaining} 分",
                    f"this batch approves {asked} fen; {remaining} fen remain for {year}",
                ),
                extra={"remaining_fen": remaining, "requested_fen": asked, "year": year},
            )

    # --- writes ----------------------------------------------------------------------------

    async def _mark_decided(self, principal: Principal, call: Call, decisions: int) -> None:
        call.state = CallState.decided
        await self.session.flush()
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="decided",
            actor=principal.subject,
            from_state=CallState.published,
            to_state=CallState.decided,
            details={"first_batch": decisions},
        )

    async def _apply(
        self, principal: Principal, call: Call, program: Program, one: Checked, now: datetime
    ) -> Project | None:
        application, item = one.application, one.item
        from_state = application.status
        application.status = OUTCOME[item.decision]
        application.decision_reason = item.reason
        application.approved_budget_fen = item.approved_budget_fen
        application.decided_by = principal.user_id
        application.decided_at = now
        application.updated_at = now
        project = None
        if item.decision == "approve":
            project = await self._project(call, program, one, now)
        await history.record(
            self.session,
            entity="application",
            entity_id=application.id,
            application_id=application.id,
            action=f"decision.{item.decision}",
            actor=principal.subject,
            from_state=from_state,
            to_state=application.status,
            reason=item.reason,
            details={"approved_budget_fen": item.approved_budget_fen}
            | ({"project_number": project.number} if project else {}),
        )
        if project is not None:
            await history.record(
                self.session,
                entity="project",
                entity_id=project.id,
                application_id=application.id,
                action="approved",
                actor=principal.subject,
                to_state=project.status,
                reason=item.reason,
                details={
                    "number": project.number,
                    "approved_budget_fen": project.approved_budget_fen,
                    "notice_ends_at": project.notice_ends_at.isoformat(),
                },
            )
            await self.events.approved(project, program)
            assert one.organization is not None
            await self.events.public_notice_started(project, one.organization["credit_code"])
        await self.application_events.decided(application, call, project)
        return project

    async def _project(self, call: Call, program: Program, one: Checked, now: datetime) -> Project:
        application = one.application
        assert one.pi is not None
        assert one.organization is not None
        assert one.item.approved_budget_fen is not None
        sequence = await self.repo.next_number(program.code, call.year)
        project = Project(
            application_id=application.id,
            number=f"{call.year}-{program.code}-{sequence:04d}",
            call_id=call.id,
            program_id=program.id,
            year=call.year,
            org_id=application.org_id,
            pi_id=application.applicant_id,
            pi_name=one.pi["display_name"],
            org_name=one.organization["name"],
            title=application.title,
            approved_budget_fen=one.item.approved_budget_fen,
            status=ProjectStatus.in_notice,
            notice_starts_at=now,
            notice_ends_at=now + timedelta(days=call.notice_days),
        )
        self.session.add(project)
        await self.session.flush()
        return project


def _check_item(item: DecisionItem, application: Application) -> None:
    """The rules one item must meet on its own (no query)."""
    if application.status not in DECIDABLE_FROM[item.decision]:
        raise InvalidTransition(
            application.status,
            Text(
                f"申报书 {application.id} 处于 {application.status}，"
                f"不能作此决定（{item.decision}）",
                f"application {application.id} is {application.status}: "
                f"it cannot take '{item.decision}'",
            ),
        )
    if item.decision == "approve":
        assert item.approved_budget_fen is not None  # the schema asks for it with 'approve'
        if item.approved_budget_fen > application.requested_budget_fen:
            raise DecisionInvalid(
                Text(
                    f"批准经费不得超过申请经费 {application.requested_budget_fen} 分",
                    f"the approved budget may not exceed the "
                    f"{application.requested_budget_fen} fen requested",
                ),
                extra={"application_id": str(application.id)},
            )
