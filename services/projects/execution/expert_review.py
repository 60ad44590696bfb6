"""The acceptance round's word on a final report, shown with the report.

An acceptance round (review/rounds) puts the final reports awaiting review to experts; what
they score is aggregated here for the report it was opened for: how many reviews, mean,
median, trimmed mean, standard deviation, the experts' recommendations counted, and flags.
No expert is named. The program's managers read it at any time (it is advice: the acceptance
stays their decision); the project's other readers once the report is decided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.execution.repository import ProjectRepository
from services.projects.execution.schemas import ExpertReviewFlag, ExpertReviewRead
from services.projects.models import Project, Report, ReviewRound
from services.projects.models.lifecycle import ReportStatus
from services.projects.models.review import RoundState
from services.projects.review.rounds.acceptance import final_reports
from services.projects.review.scoring.results import RoundService, statistics_read
from services.projects.scope import manages
from shared.auth.tokens import Principal


async def expert_reviews(
    session: AsyncSession, principal: Principal, project: Project, reports: Sequence[Report]
) -> dict[UUID, ExpertReviewRead]:
    """Per final report put to an acceptance round, its aggregate, as `principal` may see it."""
    finals = [r for r in reports if r.kind == "final"]
    if not finals:
        return {}
    repo = ProjectRepository(session)
    round_of: dict[UUID, ReviewRound] = {}
    for acceptance in await repo.acceptance_rounds(project.call_id):
        for ref in final_reports(acceptance):
            if ref.project_id == project.id:
                round_of[ref.report_id] = acceptance
    manager = await manages(session, principal, project.program_id)
    shown: dict[UUID, ExpertReviewRead] = {}
    for report in finals:
        round_ = round_of.get(report.id)
        if round_ is None:
            continue
        if not manager and (
            report.status == ReportStatus.submitted or round_.state != RoundState.closed
        ):
            continue  # like a proposal's review: the applicant's side sees it after the decision
        shown[report.id] = await _aggregate(session, repo, round_, project.application_id)
    return shown


async def _aggregate(
    session: AsyncSession, repo: ProjectRepository, round_: ReviewRound, application_id: UUID
) -> ExpertReviewRead:
    standings = await RoundService(session).standings(round_)
    reviews = [r for r in standings.reviews if r.application_id == application_id]
    standing = standings.by_application.get(application_id)
    stats = statistics_read(standing.statistics) if standing else None
    expected = await repo.experts_on(round_.id, application_id)
    flags: list[ExpertReviewFlag] = []
    if standing is not None and standing.statistics.disagreement:
        flags.append("disagreement")
    if len(reviews) < expected:
        flags.append("incomplete")
    if any(r.late for r in reviews):
        flags.append("late_reviews")
    if round_.state != RoundState.closed:
        flags.append("round_open")
    return ExpertReviewRead(
        round_id=round_.id,
        round_state=round_.state,
        deadline=round_.deadline,
        n_reviews=len(reviews),
        n_expected=expected,
        mean=stats.mean if stats else None,
        median=stats.median if stats else None,
        trimmed_mean=stats.trimmed_mean if stats else None,
        sd=stats.sd if stats else None,
        recommendations=dict(
            sorted(Counter(r.recommendation for r in reviews if r.recommendation).items())
        ),
        flags=flags,
    )
