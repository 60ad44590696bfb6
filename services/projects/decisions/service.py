"""Decisions per call (立项): approve with a budget, reserve (项目储备库) or reject.

A batch is all or nothing: every item is checked (the application's state, separation of
duties, the budget asked for, the program's yearly envelope) before anything is written.
An approval makes a project in public notice (公示) with a number `{year}-{code}-{seq:04d}`.

The first batch after the close moves the call published -> decided; later batches on a
decided call go on (the reserve is drawn on as money is freed). in_review | reviewed ->
approved | reserved | rejected; reserved -> approved (within the envelope) | rejected (the
reserve is cleared); approved and rejected are final.

A reserved application stays in its program's standing reserve after its call (see
`services/projects/reserve`): a later call's round of the same program may decide it too, and
approves it within that call's year's envelope, as its own applications.
"""

from __future__ import annotations

from collections import Counter, defaultdict
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
    """One item of a batch after its checks, with the call it applied to and what an approval
    needs from the directory."""

    item: DecisionItem
    application: Application
    call: Call
    pi: Mapping[str, Any] | None = None
    organization: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Round:
    """Where a decision is taken: the year whose envelope pays an approval and its number, the
    length of the public notice, and the call whose round it is (None: a program's own
    decision on its standing reserve)."""

    year: int
    notice_days: int
    call_id: UUID | None


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
        await self.check_panels(checked, call.id)
        await self.within_envelope(program, call.year, checked)
        if call.state == CallState.published:
            await self._mark_decided(principal, call, len(checked))
        round_ = Round(year=call.year, notice_days=call.notice_days, call_id=call.id)
        results: list[tuple[Application, Project | None]] = []
        for one in checked:
            results.append(
                (one.application, await self.apply(principal, program, one, now, round_))
            )
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
        # The call's own applications, and the program's standing reserve from earlier calls.
        found = {
            a.id: (a, of)
            for a, of in await self.repo.decidable_for_update(
                call, [d.application_id for d in items]
            )
        }
        triples: list[tuple[DecisionItem, Application, Call]] = []
        for item in items:
            application, of = found.get(item.application_id, (None, None))
            if application is None or of is None:
                raise ApplicationNotFound(extra={"application_id": str(item.application_id)})
            triples.append((item, application, of))
        return await self.check_items(principal, triples)

    async def check_items(
        self, principal: Principal, triples: Sequence[tuple[DecisionItem, Application, Call]]
    ) -> list[Checked]:
        """The checks of decisions on locked applications (with the calls they applied to):
        each item's own rules, separation of duties, and the directory entries approvals name."""
        for item, application, _ in triples:
            _check_item(item, application)
        # One query for every team, and one each for the people and units approvals name.
        await check_duties_of(self.session, principal, [a for _, a, _ in triples])
        approved = [a for item, a, _ in triples if item.decision == "approve"]
        people = await self.directory.people(a.applicant_id for a in approved)
        units = await self.directory.organizations(a.org_id for a in approved)
        checked = []
        for item, application, of in triples:
            if item.decision != "approve":
                checked.append(Checked(item, application, of))
                continue
            pi, unit = people.get(application.applicant_id), units.get(application.org_id)
            if pi is None or unit is None:
                raise DirectoryUnknown(extra={"application_id": str(application.id)})
            checked.append(Checked(item, application, of, pi, unit))
        return checked

    async def check_panels(self, checked: Sequence[Checked], round_call_id: UUID | None) -> None:
        """The panel rules: the deciding call's (no decision before its stage closed), and
        those of the call each approved application applied to."""
        approved: dict[UUID, list[UUID]] = defaultdict(list)
        if round_call_id is not None:
            approved[round_call_id] = []
        for one in checked:
            if one.item.decision == "approve":
                approved[one.call.id].append(one.application.id)
        for call_id in sorted(approved):
            await check_decisions(self.session, call_id, approved[call_id])

    async def within_envelope(
        self, program: Program, year: int, checked: Sequence[Checked]
    ) -> None:
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

    async def apply(
        self, principal: Principal, program: Program, one: Checked, now: datetime, round_: Round
    ) -> Project | None:
        """Writes one checked decision taken in `round_`: the application's new state, the
        project an approval makes (numbered in the round's year), the history and the events."""
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
            project = await self._project(program, one, now, round_)
        # A decision on the standing reserve, not in the round of the call it applied to.
        in_call = str(round_.call_id) if round_.call_id else None
        from_reserve = (
            {"from_reserve": True, "year": round_.year, "decided_in_call": in_call}
            if round_.call_id != one.call.id
            else {}
        )
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
            | ({"project_number": project.number} if project else {})
            | from_reserve,
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
        await self.application_events.decided(application, one.call, project)
        return project

    async def _project(
        self, program: Program, one: Checked, now: datetime, round_: Round
    ) -> Project:
        application, year = one.application, round_.year
        assert one.pi is not None
        assert one.organization is not None
        assert one.item.approved_budget_fen is not None
        sequence = await self.repo.next_number(program.code, year)
        project = Project(
            application_id=application.id,
            number=f"{year}-{program.code}-{sequence:04d}",
            call_id=one.call.id,  # the call it applied to, whichever round approved it
            program_id=program.id,
            year=year,
            org_id=application.org_id,
            pi_id=application.applicant_id,
            pi_name=one.pi["display_name"],
            org_name=one.organization["name"],
            title=application.title,
            approved_budget_fen=one.item.approved_budget_fen,
            status=ProjectStatus.in_notice,
            notice_starts_at=now,
            notice_ends_at=now + timedelta(days=round_.notice_days),
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
