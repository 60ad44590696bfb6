"""Outputs (成果): registered by the project's team, verified or rejected by its organization,
held against the task book's promises at acceptance, and counted per program and year.

- The PI and the team register outputs of a project in progress or accepted (outputs keep
  coming after the end); each counts toward at most one task book indicator, named exactly.
- The project's organization judges them: an admin of that organization who is not on the
  project (nor registered the output). Another organization's admin does not see the project.
- At acceptance a closed project is judged on what was verified by the moment it closed.
- Statistics count verified outputs by the year of `achieved_on`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import DutyConflict, InvalidTransition, ProgramNotFound
from services.projects.execution.access import readable_project
from services.projects.execution.repository import ProjectRepository
from services.projects.models import Output, Project
from services.projects.models.lifecycle import ProjectStatus
from services.projects.models.outputs import OutputKind, OutputStatus
from services.projects.outputs.exceptions import (
    NotProjectOrganization,
    NotProjectTeam,
    NotStatisticsReader,
    OutputExists,
    OutputInvalid,
    OutputNotFound,
)
from services.projects.outputs.repository import OutputRepository, OutputTally
from services.projects.outputs.schemas import (
    IndicatorProgress,
    OutputCreate,
    OutputDecision,
    ProgramOutputStatistics,
    ProgramYearOutputs,
    PromisedVsAchieved,
    PublicOutputStatistics,
    TransferTotals,
    YearOutputs,
)
from services.projects.review.rounds.acceptance import achieved_vs_promised
from services.projects.scope import check_personal_duties, manages
from services.projects.visibility import engaged_on
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.errors import Text

# A project takes outputs while it runs and after it is accepted (papers and transfers often
# come later); not before its task book, nor once it failed, was terminated or cancelled.
TAKES_OUTPUTS = (ProjectStatus.in_progress, ProjectStatus.accepted)
CLOSED = (ProjectStatus.accepted, ProjectStatus.acceptance_failed)


class OutputService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = OutputRepository(session)
        self.projects = ProjectRepository(session)

    async def register(
        self, principal: Principal, project_id: UUID, data: OutputCreate, now: datetime
    ) -> Output:
        project = await readable_project(self.session, principal, project_id, lock=True)
        if principal.user_id is None or not await self.repo.on_team(project, principal.user_id):
            raise NotProjectTeam()
        if project.status not in TAKES_OUTPUTS:
            raise InvalidTransition(project.status)
        if data.achieved_on > in_shanghai(now).date():
            raise OutputInvalid(
                Text("成果取得日期不能晚于今天", "achieved_on cannot be later than today")
            )
        await self._check_indicator(project, data.indicator)
        kind = OutputKind(data.kind)
        identifier = data.identifier()
        if identifier is not None and await self.repo.duplicate(project.id, kind, identifier):
            raise OutputExists(extra={"identifier": identifier})
        output = Output(
            project_id=project.id,
            kind=kind,
            title=data.title,
            achieved_on=data.achieved_on,
            identifier=identifier,
            details=data.details(),
            amount_fen=data.contract_amount(),
            indicator=data.indicator,
            status=OutputStatus.pending,
            registered_by=principal.user_id,
            registered_at=now,
        )
        await self.repo.add(output)
        await self._record(project, output, principal, None, "output.registered", None)
        return output

    async def _check_indicator(self, project: Project, indicator: str | None) -> None:
        if indicator is None:
            return
        book = await self.projects.task_book(project.id)
        names = [str(i.get("name")) for i in (book.indicators if book else [])]
        if indicator not in names:
            raise OutputInvalid(
                Text(
                    f"任务书中没有考核指标“{indicator}”；可选：{'、'.join(names) or '无'}",
                    f"the task book has no indicator {indicator!r}; "
                    f"it has: {', '.join(names) or 'none'}",
                ),
                extra={"indicators": names},
            )

    async def of_project(
        self,
        principal: Principal,
        project_id: UUID,
        *,
        kind: OutputKind | None,
        status: OutputStatus | None,
        offset: int,
        limit: int,
    ) -> Sequence[Output]:
        project = await readable_project(self.session, principal, project_id)
        return await self.repo.of_project(
            project.id, kind=kind, status=status, offset=offset, limit=limit
        )

    async def get(self, principal: Principal, project_id: UUID, output_id: UUID) -> Output:
        project = await readable_project(self.session, principal, project_id)
        output = await self.repo.get(project.id, output_id)
        if output is None:
            raise OutputNotFound()
        return output

    async def decide(
        self,
        principal: Principal,
        project_id: UUID,
        output_id: UUID,
        data: OutputDecision,
        now: datetime,
    ) -> Output:
        project = await readable_project(self.session, principal, project_id)
        if principal.org_id is None or principal.org_id != project.org_id:
            raise NotProjectOrganization()
        output = await self.repo.get(project.id, output_id, lock=True)
        if output is None:
            raise OutputNotFound()
        # The organization vouches: not through someone on the project, nor its registrant.
        await check_personal_duties(
            self.session, principal, await self.projects.application(project.application_id)
        )
        if principal.user_id in (output.registered_by, project.pi_id):
            raise DutyConflict()
        if output.status != OutputStatus.pending:
            raise InvalidTransition(output.status)
        verified = data.decision == "verify"
        output.status = OutputStatus.verified if verified else OutputStatus.rejected
        output.rejection_reason = None if verified else data.reason
        output.decided_by = principal.user_id
        output.decided_at = now
        await self.session.flush()
        await self._record(
            project, output, principal, OutputStatus.pending, f"output.{output.status}", data.reason
        )
        return output

    async def promised_vs_achieved(
        self, principal: Principal, project_id: UUID
    ) -> PromisedVsAchieved:
        """The acceptance view: each indicator the task book promised, next to the outputs
        verified toward it (as of the acceptance, once the project is closed) and to what the
        final report says."""
        project = await readable_project(self.session, principal, project_id)
        book = await self.projects.task_book(project.id)
        promised: list[dict[str, Any]] = list(book.indicators) if book else []
        as_of = project.closed_at if project.status in CLOSED else None
        rows = await self.repo.counts_by_indicator(project.id, as_of)
        verified: dict[str, int] = defaultdict(int)
        pending: dict[str, int] = defaultdict(int)
        by_kind = dict.fromkeys(OutputKind, 0)
        unlinked = 0
        for indicator, kind, n_verified, n_pending in rows:
            by_kind[kind] += n_verified
            if indicator is None:
                unlinked += n_verified
            else:
                verified[indicator] += n_verified
                pending[indicator] += n_pending
        report = await self.repo.latest_final_report(project.id) or {}
        reported = {row["name"]: row["achieved"] for row in achieved_vs_promised(promised, report)}
        counted = [{"name": name, "achieved": n} for name, n in verified.items()]
        judged = achieved_vs_promised(promised, {"indicators": counted})
        return PromisedVsAchieved(
            project_id=project.id,
            project_status=project.status,
            as_of=as_of,
            indicators=[
                IndicatorProgress(
                    name=row["name"],
                    target=row["target"],
                    unit=row["unit"],
                    reported=reported.get(row["name"]),
                    verified=verified.get(row["name"], 0),
                    pending=pending.get(row["name"], 0),
                    met=_met(row["target"], verified.get(row["name"], 0)),
                )
                for row in judged
            ],
            verified_by_kind=by_kind,
            verified_unlinked=unlinked,
        )

    async def _record(
        self,
        project: Project,
        output: Output,
        principal: Principal,
        from_state: OutputStatus | None,
        action: str,
        reason: str | None,
    ) -> None:
        await history.record(
            self.session,
            entity="output",
            entity_id=output.id,
            application_id=project.application_id,
            action=action,
            actor=principal.subject,
            from_state=from_state,
            to_state=output.status,
            reason=reason,
            details={"kind": output.kind, "project_id": str(project.id), "title": output.title},
        )


def _met(target: object, verified: int) -> bool | None:
    if isinstance(target, bool) or not isinstance(target, int | float):
        return None
    return verified >= target


# --- statistics ------------------------------------------------------------------------------


def _zero() -> dict[OutputKind, int]:
    return dict.fromkeys(OutputKind, 0)


def _years(tallies: Iterable[OutputTally]) -> dict[int, list[OutputTally]]:
    years: dict[int, list[OutputTally]] = defaultdict(list)
    for tally in tallies:
        years[tally.year].append(tally)
    return dict(sorted(years.items()))


def _year(year: int, tallies: list[OutputTally]) -> dict[str, Any]:
    outputs, pending = _zero(), _zero()
    transfers = TransferTotals(count=0, amount_fen=0)
    for tally in tallies:
        if tally.status == OutputStatus.pending:
            pending[tally.kind] += tally.count
            continue
        outputs[tally.kind] += tally.count
        if tally.kind == OutputKind.transfer:
            transfers.count += tally.count
            transfers.amount_fen += tally.amount_fen
    return {"year": year, "outputs": outputs, "transfers": transfers, "pending": pending}


class OutputStatistics:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = OutputRepository(session)

    async def of_program(
        self, principal: Principal, program_id: UUID, year: int | None
    ) -> ProgramOutputStatistics:
        """For the program's managers (admins) and the evaluators engaged on the program."""
        program = await self.repo.program(program_id)
        if program is None:
            raise ProgramNotFound()
        engaged_programs, _ = await engaged_on(self.session, principal)
        if (
            not (
                (Role.program_manager in principal.roles or Role.admin in principal.roles)
                and await manages(self.session, principal, program.id)
            )
            and program.id not in engaged_programs
        ):
            raise NotStatisticsReader()
        tallies = await self.repo.tallies(
            program_id=program.id,
            year=year,
            statuses=(OutputStatus.verified, OutputStatus.pending),
        )
        projects = await self.repo.projects_with_verified(program.id, year)
        return ProgramOutputStatistics(
            program_id=program.id,
            years=[
                ProgramYearOutputs(**_year(y, group), projects=projects.get(y, 0))
                for y, group in _years(tallies).items()
            ],
        )

    async def public(self, program: str | None, year: int | None) -> PublicOutputStatistics:
        """Verified outputs of the projects the public sees, per year (all programs, or one
        given by its code or id)."""
        program_id: UUID | None = None
        code: str | None = None
        if program is not None:
            found = await self.repo.program(_as_uuid(program) or program.upper())
            if found is None:
                raise ProgramNotFound()
            program_id, code = found.id, found.code
        tallies = await self.repo.tallies(
            program_id=program_id, year=year, statuses=(OutputStatus.verified,), public_only=True
        )
        return PublicOutputStatistics(
            program=code,
            years=[
                YearOutputs.model_validate(_year(y, group), from_attributes=False)
                for y, group in _years(tallies).items()
            ],
        )


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
