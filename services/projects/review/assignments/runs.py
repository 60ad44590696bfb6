"""Automatic assignment: a dry run proposes, a manager applies it atomically.

A dry run (round `assigning`) refreshes the round's conflicts, builds the candidates, solves
for each application's missing experts (the round's number minus its live assignments) and
stores the proposal with its quality, the applications it cannot serve and why, and the
fingerprint of its inputs. Applying it (round locked) first recomputes that fingerprint: any
change since the dry run (a conflict, an assignment, an expert's load or field, an
application) makes it stale (409), as does a second application of the same run. The
experts are asked about their credit again, as of the application.

Both ask the credit service before they lock the round, holding no transaction: a slow answer
holds up nobody else's work on the round. A dry run asks about the experts in the field of the
round's applications (`candidates.to_ask`); if, once locked, the round has a candidate nobody
asked about (an expert or application that came in meanwhile), it is refused (409
`state.changed_meanwhile`) and nothing is stored. Applying asks about the run's own experts,
which a run never changes.

A dry run is computed by a job of the process that was asked (`start_dry_run`): its request
waits for it a while, and a large call's (about a minute for 10,000 applications and 5,000
experts) is polled instead (`job`). The job's worker holds the job's row until it is done, so a
job still `running` that nobody holds lost its process and is reported interrupted.

Once every application of the round has its experts, applying moves the round from
`assigning` to `reviewing`; a run that leaves some short keeps it `assigning`, so the
manager can add experts by hand and apply a fresh run (which then completes it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects import history
from services.projects.exceptions import ChangedMeanwhile, InvalidTransition
from services.projects.models import (
    Assignment,
    AssignmentRun,
    AssignmentRunJob,
    ReviewRound,
    Transition,
)
from services.projects.models.review import (
    AssignmentMethod,
    AssignmentStatus,
    RoundState,
    RunJobStatus,
)
from services.projects.review.assignments import events as assignment_events
from services.projects.review.assignments.access import (
    managed_round,
    manager_id,
    require_method,
)
from services.projects.review.assignments.candidates import (
    Candidates,
    build,
    eligibility,
    snapshot,
    to_ask,
)
from services.projects.review.assignments.exceptions import (
    RunFailed,
    RunInterrupted,
    RunJobNotFound,
    RunNotFound,
    RunStale,
)
from services.projects.review.assignments.proposal import quality, shortages, solve_for
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.rounds.conflicts import store
from services.projects.review.rounds.exceptions import RoundNotFound
from shared.auth.tokens import Principal
from shared.clock import utcnow
from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient
from shared.errors import AppError, Text
from shared.ids import uuid7

if TYPE_CHECKING:
    from services.projects.review.solver.flow import Solution

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A dry run under way: its job (committed) and the task computing it."""

    job: AssignmentRunJob
    task: asyncio.Task[AssignmentRun]


# The dry runs this process is computing (a task needs a reference to live on).
computing: set[asyncio.Task[AssignmentRun]] = set()


def _finished(task: asyncio.Task[AssignmentRun]) -> None:
    computing.discard(task)
    # A failure is recorded in its job; one of ours is logged too (nobody may be waiting).
    error = None if task.cancelled() else task.exception()
    if error is not None and not isinstance(error, AppError):
        log.error("dry run failed", exc_info=error)


def _problem(error: BaseException) -> dict[str, Any]:
    """A failed job's problem (rendered in the reader's language when polled)."""
    known = error if isinstance(error, AppError) else RunFailed()
    return {
        "status": known.status,
        "code": known.code,
        "title": {"zh": known.title.zh, "en": known.title.en},
        "detail": None if known.detail is None else {"zh": known.detail.zh, "en": known.detail.en},
        "extra": known.extra,
    }


class RunService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AssignmentRepository(session)

    async def start_dry_run(
        self,
        principal: Principal,
        round_id: UUID,
        seed: int,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> Started:
        """Checks who asks and the round's state, asks the credit service, then starts the dry
        run as a job (committed, so that it can be polled) and returns once its worker holds
        the job. The caller waits for the task as long as it likes."""
        async with sessions() as reading:
            round_, _ = await managed_round(reading, principal, round_id)
            _assigning(round_)
            await require_method(reading, round_, AssignmentMethod.optimal)
            asked = await to_ask(reading, round_, now)
        answers = await eligibility(credit, asked, now)
        async with sessions() as writing:
            job = AssignmentRunJob(
                round_id=round_id,
                seed=seed,
                status=RunJobStatus.running,
                created_by=manager_id(principal),
                created_at=now,
            )
            await AssignmentRepository(writing).add_job(job)
            await writing.commit()
        holding = asyncio.Event()
        task = asyncio.create_task(
            _work(job.id, principal, round_id, seed, answers, now, sessions, holding)
        )
        computing.add(task)
        task.add_done_callback(_finished)
        waiting = asyncio.ensure_future(holding.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        return Started(job, task)

    async def job(self, principal: Principal, job_id: UUID) -> AssignmentRunJob:
        """A dry run's job, for the round's managers; one still `running` whose worker is gone
        (nobody holds its row) is failed now."""
        job = await self.repo.job(job_id)
        if job is None:
            raise RunJobNotFound()
        try:
            await managed_round(self.session, principal, job.round_id)
        except RoundNotFound as exc:
            raise RunJobNotFound() from exc
        if job.status == RunJobStatus.running:
            lost = await self.repo.job(job_id, lock=True, skip_locked=True)
            if lost is not None and lost.status == RunJobStatus.running:
                lost.status, lost.problem = RunJobStatus.failed, _problem(RunInterrupted())
                lost.finished_at = utcnow()
                await self.session.flush()
                return lost
        return job

    async def runs(
        self, principal: Principal, round_id: UUID, *, limit: int, offset: int
    ) -> Sequence[tuple[AssignmentRun, dict[str, Any], int]]:
        round_, _ = await managed_round(self.session, principal, round_id)
        return await self.repo.runs_of(round_.id, limit=limit, offset=offset)

    async def run(
        self, principal: Principal, run_id: UUID, *, with_result: bool = True
    ) -> AssignmentRun:
        """The run, for its round's managers; `with_result` False leaves its proposal (tens of
        megabytes on a large call) unread."""
        run = await self.repo.run(run_id, with_result=with_result)
        if run is None:
            raise RunNotFound()
        try:
            await managed_round(self.session, principal, run.round_id)
        except RoundNotFound as exc:
            raise RunNotFound() from exc
        return run

    async def apply(
        self,
        principal: Principal,
        run_id: UUID,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> tuple[AssignmentRun, list[Assignment], ReviewRound, list[dict[str, Any]]]:
        """The run's assignments, the round (maybe now reviewing), and who is still short."""
        async with sessions() as reading:
            earlier = await RunService(reading).run(principal, run_id, with_result=False)
            _not_applied(earlier)
            _assigning((await managed_round(reading, principal, earlier.round_id))[0])
            experts = await AssignmentRepository(reading).experts_of_run(run_id)
        answers = await eligibility(credit, experts, now)
        found = await self.run(principal, run_id, with_result=False)
        round_, _ = await managed_round(self.session, principal, found.round_id, lock=True)
        run = await self.repo.run(run_id, lock=True)
        assert run is not None
        _not_applied(run)
        _assigning(round_)
        await require_method(self.session, round_, AssignmentMethod.optimal)
        # Whether anything changed is all that matters here: a conflict found since (or gone)
        # changes the fingerprint, and refuses the run; nothing needs storing.
        snap = await snapshot(self.session, round_, now)
        if snap.fingerprint() != run.fingerprint:
            raise RunStale(
                Text(
                    "试运行后冲突、已有分配、专家或申报书发生了变化",
                    "Conflicts, assignments, experts or applications changed since the dry run",
                )
            )
        pairs: list[dict[str, Any]] = run.result["pairs"]
        _still_eligible(answers, pairs)
        actor = manager_id(principal)
        rows = [
            {
                "id": uuid7(),
                "round_id": round_.id,
                "application_id": UUID(p["application_id"]),
                "expert_id": UUID(p["expert_id"]),
                "status": AssignmentStatus.invited,
                "match_score": p["score"],
                "explanation": p["explanation"],
                "source": f"auto:{run.id}",
                "assigned_by": actor,
                "assigned_at": now,
            }
            for p in pairs
        ]
        # Tens of thousands at once: written in bulk, not through the unit of work.
        await self.repo.insert_assignments(rows)
        created = [Assignment(**row) for row in rows]
        await assignment_events.assigned(self.session, round_, created)
        run.applied_at, run.applied_by = now, actor
        await self._record(principal, round_, run, created)
        short: list[dict[str, Any]] = list(run.result["unassignable"])
        if not short:
            await start_reviewing(self.session, principal.subject, round_, {"run_id": str(run.id)})
        return run, created, round_, short

    async def _record(
        self,
        principal: Principal,
        round_: ReviewRound,
        run: AssignmentRun,
        created: list[Assignment],
    ) -> None:
        per_application: dict[UUID, int] = defaultdict(int)
        for assignment in created:
            per_application[assignment.application_id] += 1
        # The applicant reads the application's history: how many experts, never who.
        await history.record_all(
            self.session,
            [
                Transition(
                    entity="application",
                    entity_id=application_id,
                    application_id=application_id,
                    action="experts_assigned",
                    actor_id=principal.subject,
                    details={"count": count, "source": "automatic"},
                )
                for application_id, count in sorted(per_application.items())
            ],
        )
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="assignment_applied",
            actor=principal.subject,
            details={
                "run_id": str(run.id),
                "seed": run.seed,
                "assignments": [
                    {
                        "id": str(a.id),
                        "application_id": str(a.application_id),
                        "expert_id": str(a.expert_id),
                    }
                    for a in created
                ],
                "unassignable": run.result["unassignable"],
            },
        )


async def _work(
    job_id: UUID,
    principal: Principal,
    round_id: UUID,
    seed: int,
    answers: dict[UUID, EligibilityV1],
    now: datetime,
    sessions: async_sessionmaker[AsyncSession],
    holding: asyncio.Event,
) -> AssignmentRun:
    """Computes a dry run for its job, holding the job's row lock throughout (a poll that
    finds it unlocked and still running knows the worker is gone); the run and the job's
    outcome are committed together."""
    async with sessions() as session:
        repo = AssignmentRepository(session)
        job = await repo.job(job_id, lock=True)
        assert job is not None  # committed before the task started
        holding.set()
        try:
            run = await _dry_run(principal, round_id, seed, answers, now, sessions)
            await repo.add_run(run)
            job.status, job.run_id, job.finished_at = RunJobStatus.done, run.id, utcnow()
            await session.commit()
            return run
        except Exception as error:
            await session.rollback()
            job = await repo.job(job_id, lock=True)
            assert job is not None
            job.status, job.problem, job.finished_at = (
                RunJobStatus.failed,
                _problem(error),
                utcnow(),
            )
            await session.commit()
            raise


async def _dry_run(
    principal: Principal,
    round_id: UUID,
    seed: int,
    answers: dict[UUID, EligibilityV1],
    now: datetime,
    sessions: async_sessionmaker[AsyncSession],
) -> AssignmentRun:
    """The dry run itself (not stored). The round is locked while it is read and its conflicts
    are refreshed (the fingerprint is of what was read then), not after: other work on the
    round goes on while the solver finishes. The solver starts as soon as the candidates are
    built, while PostgreSQL stores the conflicts (a large round's take a while)."""
    async with sessions() as session:
        round_, _ = await managed_round(session, principal, round_id, lock=True)
        _assigning(round_)
        snap = await snapshot(session, round_, now)
        candidates = build(snap, answers)
        if candidates.unasked:
            raise ChangedMeanwhile(
                Text(
                    "查询信用期间专家库或申报书发生了变化，请重新试运行",
                    "Experts or applications came in while the credit service was asked; run again",
                ),
                extra={"experts_not_asked": sorted(str(e) for e in candidates.unasked)},
            )
        fingerprint = snap.fingerprint()
        solving = asyncio.ensure_future(
            solve_for(candidates, one_per_group=snap.one_per_organization, seed=seed)
        )
        try:
            assert snap.found is not None  # a whole round
            await store(session, round_, snap.found, now)
            await session.commit()
        except BaseException:
            solving.cancel()
            raise
    del snap
    solution = await solving
    # Explanations for the proposed pairs only (tens of thousands at most): CPU work too.
    result = await asyncio.to_thread(_result, candidates, solution)
    return AssignmentRun(
        round_id=round_id,
        seed=seed,
        fingerprint=fingerprint,
        result=result,
        created_by=manager_id(principal),
        created_at=now,
    )


def _result(candidates: Candidates, solution: Solution) -> dict[str, Any]:
    assigned = sorted(solution.assigned, key=lambda p: (p.item, p.expert))
    pairs = [
        {
            "application_id": p.item,
            "expert_id": p.expert,
            "expert_name": candidates.experts[p.expert].name,
            "score": p.score,
            "explanation": candidates.explain(p.item, p.expert),
        }
        for p in assigned
    ]
    return {
        "pairs": pairs,
        "quality": quality(candidates, assigned, solution),
        "unassignable": shortages(candidates, assigned),
    }


def _assigning(round_: ReviewRound) -> None:
    if round_.state != RoundState.assigning:
        raise InvalidTransition(round_.state)


def _not_applied(run: AssignmentRun) -> None:
    if run.applied_at is not None:
        raise RunStale(
            Text("该方案已执行过", "This run was applied already"),
            extra={"applied_at": run.applied_at.isoformat()},
        )


def _still_eligible(answers: dict[UUID, EligibilityV1], pairs: list[dict[str, Any]]) -> None:
    """Every expert of the run may still review (asked as of the application)."""
    experts = {UUID(p["expert_id"]) for p in pairs}
    barred = sorted(str(e) for e, a in answers.items() if e in experts and not a.eligible)
    if barred:
        raise RunStale(
            Text(
                "试运行后有专家的信用状况不再允许评审",
                "Some experts' credit no longer allows them to review",
            ),
            extra={"experts_not_eligible": barred},
        )


async def start_reviewing(
    session: AsyncSession, actor: str, round_: ReviewRound, details: dict[str, Any]
) -> None:
    """assigning -> reviewing, once the applied run (or a draw, `details` say which) left no
    application short."""
    round_.state = RoundState.reviewing
    await session.flush()
    await history.record(
        session,
        entity="round",
        entity_id=round_.id,
        action="review_started",
        actor=actor,
        from_state=RoundState.assigning,
        to_state=RoundState.reviewing,
        reason="every application has its experts",
        details=details,
    )
