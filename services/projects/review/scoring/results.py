"""A round's standings and results, its close, what an applicant reads after the decision,
and the ranking the decision step orders a call by.

A round: reviewing -> closed, when its deadline has passed or every live assignment has a
submitted sheet; assigning -> closed (some application never got all its experts) only once
the deadline has passed. A proposal round's in_review applications with at least one review
move to reviewed; an acceptance round's applications stay as they are (their projects are
approved and running): its results go to the program's managers, and with each final report.

What counts: submitted sheets of accepted assignments on applications not withdrawn.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import ApplicationNotFound, InvalidTransition
from services.projects.models import Application, Call, ReviewRound, ScoreSheet
from services.projects.models.review import (
    OPEN_ROUND_STATES,
    AssignmentStatus,
    RoundState,
)
from services.projects.models.submissions import DECIDED, ApplicationStatus
from services.projects.review.rounds.acceptance import final_reports
from services.projects.review.scoring import aggregate
from services.projects.review.scoring.exceptions import (
    ReviewNotYet,
    ReviewsMissing,
    RoundNotFound,
)
from services.projects.review.scoring.repository import (
    CountedReview,
    MissingReview,
    ScoringRepository,
)
from services.projects.review.scoring.schemas import (
    AnonymousComments,
    ApplicantReview,
    ApplicationResult,
    CriterionName,
    ExpertScore,
    RankedBy,
    Recommendation,
    RoundClosedRead,
    StatisticsRead,
)
from services.projects.review.scoring.service import criteria_of, publish_late
from services.projects.scope import check_duties_of, require_manager_of
from services.projects.visibility import may_read_application
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.errors import Text

SHOWN_PLACES = 4
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class RoundStandings:
    round: ReviewRound
    ranked_by: RankedBy
    disagreement_sd: float
    reviews: list[CountedReview]
    by_application: dict[UUID, aggregate.Standing]


@dataclass(frozen=True)
class CallRanking:
    """A call's closed proposal round as the decision step reads it."""

    ranked_by: RankedBy | Literal["combined"]  # combined: written and panel stage (panels)
    places: dict[UUID, tuple[int, float]]  # application -> (rank, score)


def _shown(value: float) -> float:
    return round(value, SHOWN_PLACES)


def round_options(round_: ReviewRound) -> tuple[bool, float]:
    """(normalise, disagreement_sd) from the round's options, with their defaults."""
    options = round_.options or {}
    threshold = options.get("disagreement_sd", aggregate.DEFAULT_DISAGREEMENT_SD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        threshold = aggregate.DEFAULT_DISAGREEMENT_SD
    return bool(options.get("normalise", False)), float(threshold)


def anonymous_label(index: int) -> str:
    """专家A ... 专家Z, then 专家A2 ... (a round has at most 15 experts per application)."""
    letter, lap = LABELS[index % len(LABELS)], index // len(LABELS)
    return f"专家{letter}{lap + 1 if lap else ''}"


def anonymous_order(sheet: ScoreSheet, round_id: UUID) -> str:
    """A stable order that says nothing of when each expert was assigned (ids are time-ordered)."""
    return hashlib.sha256(f"{sheet.assignment_id}:{round_id}".encode()).hexdigest()


def statistics_read(stats: aggregate.Statistics) -> StatisticsRead:
    return StatisticsRead(
        mean=_shown(stats.mean),
        median=_shown(stats.median),
        trimmed_mean=_shown(stats.trimmed_mean),
        sd=_shown(stats.sd),
        spread=_shown(stats.spread),
        normalised_mean=(None if stats.normalised_mean is None else _shown(stats.normalised_mean)),
    )


class RoundService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ScoringRepository(session)

    async def _managed_round(
        self, principal: Principal, round_id: UUID, *, lock: bool = False
    ) -> tuple[ReviewRound, Call]:
        round_ = await self.repo.round(round_id)
        if round_ is None:
            raise RoundNotFound()
        call = await self.repo.call(round_.call_id)
        await require_manager_of(self.session, principal, call.program_id)
        if lock:
            locked = await self.repo.round(round_id, lock="update")
            assert locked is not None
            round_ = locked
        return round_, call

    async def standings(self, round_: ReviewRound) -> RoundStandings:
        normalise, threshold = round_options(round_)
        reviews = await self.repo.counted_reviews(round_.id)
        ranked = aggregate.rank(
            [
                aggregate.Review(str(r.application_id), str(r.expert_id), r.weighted_total)
                for r in reviews
            ],
            normalise=normalise,
            disagreement_sd=threshold,
        )
        return RoundStandings(
            round=round_,
            ranked_by="normalised_mean" if normalise else "trimmed_mean",
            disagreement_sd=threshold,
            reviews=reviews,
            by_application={UUID(s.item): s for s in ranked},
        )

    async def results(
        self, principal: Principal, round_id: UUID
    ) -> tuple[RoundStandings, list[ApplicationResult]]:
        """Every application of the round, ranked ones first in rank order."""
        round_, _ = await self._managed_round(principal, round_id)
        applications = await self.repo.round_applications(round_.id)
        await check_duties_of(self.session, principal, [a.application for a in applications])
        standings = await self.standings(round_)
        reviews_of: dict[UUID, list[CountedReview]] = {}
        for review in standings.reviews:
            reviews_of.setdefault(review.application_id, []).append(review)
        results = []
        for one in applications:
            application = one.application
            standing = standings.by_application.get(application.id)
            own = reviews_of.get(application.id, [])
            normalised = standings.ranked_by == "normalised_mean"
            results.append(
                ApplicationResult(
                    application_id=application.id,
                    title=application.title,
                    status=application.status,
                    rank=standing.rank if standing else None,
                    score=_shown(standing.score) if standing else None,
                    n_reviews=len(own),
                    n_expected=one.expected,
                    statistics=statistics_read(standing.statistics) if standing else None,
                    disagreement=standing.statistics.disagreement if standing else False,
                    reviews=[
                        ExpertScore(
                            expert_id=r.expert_id,
                            expert_name=r.expert_name,
                            assignment_id=r.assignment_id,
                            weighted_total=float(r.weighted_total),
                            z_score=(
                                _shown(standing.z_scores[str(r.expert_id)])
                                if normalised and standing
                                else None
                            ),
                            recommendation=cast(Recommendation | None, r.recommendation),
                            submitted_at=r.submitted_at,
                            late=r.late,
                        )
                        for r in own
                    ],
                )
            )
        unranked = len(results) + 1
        results.sort(key=lambda r: (r.rank or unranked, r.application_id))
        return standings, results

    async def close(self, principal: Principal, round_id: UUID, now: datetime) -> RoundClosedRead:
        round_, _ = await self._managed_round(principal, round_id, lock=True)
        if round_.state not in OPEN_ROUND_STATES:
            raise InvalidTransition(round_.state)
        if round_.state == RoundState.assigning and now < round_.deadline:
            raise InvalidTransition(
                round_.state,
                Text(
                    "评审专家仍在分配中，评审轮次须到截止时间方可结束",
                    "Experts are still being assigned: the round closes at its deadline",
                ),
            )
        missing = await self.repo.missing_reviews(round_.id)
        if missing and now < round_.deadline:
            raise ReviewsMissing(
                Text(
                    f"尚有 {len(missing)} 份评审意见未提交，截止时间未到",
                    f"{len(missing)} review(s) missing and the deadline has not passed",
                ),
                extra={
                    "missing": len(missing),
                    "deadline": in_shanghai(round_.deadline).isoformat(),
                },
            )
        counted = Counter(r.application_id for r in await self.repo.counted_reviews(round_.id))
        applications = await self.repo.applications_for_update(sorted(counted))
        await check_duties_of(self.session, principal, applications)
        from_state = round_.state
        round_.state = RoundState.closed
        round_.closed_at = now
        moved = (
            [a for a in applications if a.status == ApplicationStatus.in_review]
            if round_.kind == "proposal"
            else []
        )
        await self.session.flush()
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="round.closed",
            actor=principal.subject,
            from_state=from_state,
            to_state=RoundState.closed,
            details={
                "kind": round_.kind,
                "applications_reviewed": len(moved),
                "reviews_missing": len(missing),
            },
        )
        for application in moved:
            await self._mark_reviewed(principal, application, round_, counted[application.id], now)
        for ref in final_reports(round_):
            # The project's story says the experts are done and how many, never who.
            await history.record(
                self.session,
                entity="project",
                entity_id=ref.project_id,
                application_id=ref.application_id,
                action="acceptance_review.completed",
                actor=principal.subject,
                details={
                    "round_id": str(round_.id),
                    "report_id": str(ref.report_id),
                    "reviews": counted[ref.application_id],
                },
            )
        await self._publish_missing(round_, missing)
        return RoundClosedRead(
            round_id=round_.id,
            state=round_.state,
            closed_at=now,
            applications_reviewed=len(moved),
            reviews_missing=len(missing),
        )

    async def _mark_reviewed(
        self,
        principal: Principal,
        application: Application,
        round_: ReviewRound,
        reviews: int,
        now: datetime,
    ) -> None:
        application.status = ApplicationStatus.reviewed
        application.updated_at = now
        await self.session.flush()
        # The applicant reads this history: it says how many reviews, never whose.
        await history.record(
            self.session,
            entity="application",
            entity_id=application.id,
            application_id=application.id,
            action="review.completed",
            actor=principal.subject,
            from_state=ApplicationStatus.in_review,
            to_state=ApplicationStatus.reviewed,
            details={"round_id": str(round_.id), "reviews": reviews},
        )

    async def _publish_missing(self, round_: ReviewRound, missing: list[MissingReview]) -> None:
        """An accepted review never submitted by the close is late too; a sheet a manager
        reopened was submitted in time once and is not held against its expert."""
        for one in missing:
            if one.assignment.status == AssignmentStatus.accepted and not one.reopened:
                await publish_late(self.session, round_, one.assignment, submitted_at=None)

    # --- what the applicant reads after the decision ---------------------------------------

    async def applicant_review(self, principal: Principal, application_id: UUID) -> ApplicantReview:
        application = await self.repo.application(application_id)
        if application is None or not await may_read_application(
            self.session, principal, application
        ):
            raise ApplicationNotFound()
        if application.status not in DECIDED:
            raise ReviewNotYet(extra={"state": application.status})
        round_ = await self.repo.closed_proposal_round(application.call_id)
        if round_ is None:
            return ApplicantReview(
                application_id=application.id,
                status=application.status,
                n_reviews=0,
                ranked_by=None,
                score=None,
                rank=None,
                ranked_applications=0,
                statistics=None,
                criteria=[],
                comments=[],
            )
        standings = await self.standings(round_)
        standing = standings.by_application.get(application.id)
        sheets = sorted(
            await self.repo.submitted_sheets(round_.id, application.id),
            key=lambda s: anonymous_order(s, round_.id),
        )
        criteria = criteria_of(round_)
        return ApplicantReview(
            application_id=application.id,
            status=application.status,
            n_reviews=len(sheets),
            ranked_by=standings.ranked_by,
            score=_shown(standing.score) if standing else None,
            rank=standing.rank if standing else None,
            ranked_applications=len(standings.by_application),
            statistics=statistics_read(standing.statistics) if standing else None,
            criteria=[CriterionName(code=c.code, name=c.name) for c in criteria],
            comments=[
                AnonymousComments(
                    expert=anonymous_label(i),
                    comments={
                        c.code: sheet.comments[c.code] for c in criteria if c.code in sheet.comments
                    },
                    overall_comment=sheet.overall_comment,
                )
                for i, sheet in enumerate(sheets)
            ],
        )


async def call_ranking(session: AsyncSession, call_id: UUID) -> CallRanking | None:
    """The ranking of a call's closed proposal round, or None while there is none."""
    round_ = await ScoringRepository(session).closed_proposal_round(call_id)
    if round_ is None:
        return None
    standings = await RoundService(session).standings(round_)
    return CallRanking(
        ranked_by=standings.ranked_by,
        places={
            application_id: (s.rank, _shown(s.score))
            for application_id, s in standings.by_application.items()
        },
    )
