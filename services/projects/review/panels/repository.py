"""All SQL of panel stages."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Call,
    Expert,
    PanelDraw,
    PanelMember,
    PanelScore,
    PanelSettings,
    PanelShortlistEntry,
    PanelStage,
    ReviewRound,
)
from services.projects.models.panels import PanelMemberStatus
from services.projects.models.review import RoundState


class PanelRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def call(self, call_id: UUID, *, lock: bool = False) -> Call | None:
        query = sa.select(Call).where(Call.id == call_id)
        return await self.session.scalar(query.with_for_update() if lock else query)

    async def settings(self, call_id: UUID) -> PanelSettings | None:
        return await self.session.get(PanelSettings, call_id)

    async def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def closed_proposal_round(self, call_id: UUID) -> ReviewRound | None:
        return await self.session.scalar(
            sa.select(ReviewRound).where(
                ReviewRound.call_id == call_id,
                ReviewRound.kind == "proposal",
                ReviewRound.state == RoundState.closed,
            )
        )

    async def round(self, round_id: UUID) -> ReviewRound | None:
        return await self.session.get(ReviewRound, round_id)

    async def stage_of_call(self, call_id: UUID) -> PanelStage | None:
        return await self.session.scalar(sa.select(PanelStage).where(PanelStage.call_id == call_id))

    async def stage(self, stage_id: UUID, *, lock: bool = False) -> PanelStage | None:
        query = sa.select(PanelStage).where(PanelStage.id == stage_id)
        return await self.session.scalar(query.with_for_update() if lock else query)

    # --- shortlist ----------------------------------------------------------------------

    async def shortlist(
        self, stage_id: UUID, *, only_shortlisted: bool = False
    ) -> Sequence[tuple[PanelShortlistEntry, str, str]]:
        """(entry, application title, application status) in written rank order."""
        query = (
            sa.select(PanelShortlistEntry, Application.title, Application.status)
            .join(Application, Application.id == PanelShortlistEntry.application_id)
            .where(PanelShortlistEntry.stage_id == stage_id)
            .order_by(PanelShortlistEntry.written_rank)
        )
        if only_shortlisted:
            query = query.where(PanelShortlistEntry.shortlisted)
        rows = await self.session.execute(query)
        return [(entry, title, str(status)) for entry, title, status in rows.all()]

    async def shortlisted_ids(self, stage_id: UUID) -> list[UUID]:
        rows = await self.session.scalars(
            sa.select(PanelShortlistEntry.application_id)
            .where(PanelShortlistEntry.stage_id == stage_id, PanelShortlistEntry.shortlisted)
            .order_by(PanelShortlistEntry.written_rank)
        )
        return list(rows.all())

    async def entry(
        self, stage_id: UUID, application_id: UUID, *, lock: bool = False
    ) -> PanelShortlistEntry | None:
        query = sa.select(PanelShortlistEntry).where(
            PanelShortlistEntry.stage_id == stage_id,
            PanelShortlistEntry.application_id == application_id,
        )
        return await self.session.scalar(query.with_for_update() if lock else query)

    async def applications(self, ids: Collection[UUID]) -> list[Application]:
        if not ids:
            return []
        rows = await self.session.scalars(
            sa.select(Application).where(Application.id.in_(ids)).order_by(Application.id)
        )
        return list(rows.all())

    # --- members and draws ----------------------------------------------------------------

    async def members(self, stage_id: UUID) -> Sequence[tuple[PanelMember, str]]:
        """(member, expert's name): seated first, then reserves in draw order, then declined."""
        order = sa.case(
            (PanelMember.status == PanelMemberStatus.seated, 0),
            (PanelMember.status == PanelMemberStatus.reserve, 1),
            else_=2,
        )
        rows = await self.session.execute(
            sa.select(PanelMember, Expert.name)
            .join(Expert, Expert.user_id == PanelMember.expert_id)
            .where(PanelMember.stage_id == stage_id)
            .order_by(order, PanelMember.draw_id, PanelMember.position, PanelMember.added_at)
        )
        return [(member, name) for member, name in rows.all()]

    async def member(self, member_id: UUID, *, lock: bool = False) -> PanelMember | None:
        query = sa.select(PanelMember).where(PanelMember.id == member_id)
        return await self.session.scalar(query.with_for_update() if lock else query)

    async def member_of(self, stage_id: UUID, expert_id: UUID) -> PanelMember | None:
        return await self.session.scalar(
            sa.select(PanelMember).where(
                PanelMember.stage_id == stage_id, PanelMember.expert_id == expert_id
            )
        )

    async def expert_name(self, expert_id: UUID) -> str:
        name = await self.session.scalar(sa.select(Expert.name).where(Expert.user_id == expert_id))
        return name or ""

    async def first_reserve(self, stage_id: UUID) -> PanelMember | None:
        return await self.session.scalar(
            sa.select(PanelMember)
            .where(
                PanelMember.stage_id == stage_id,
                PanelMember.status == PanelMemberStatus.reserve,
            )
            .order_by(PanelMember.added_at, PanelMember.position)
            .limit(1)
            .with_for_update()
        )

    async def memberships(self, expert_id: UUID) -> Sequence[tuple[PanelMember, PanelStage, Call]]:
        rows = await self.session.execute(
            sa.select(PanelMember, PanelStage, Call)
            .join(PanelStage, PanelStage.id == PanelMember.stage_id)
            .join(Call, Call.id == PanelStage.call_id)
            .where(PanelMember.expert_id == expert_id)
            .order_by(PanelStage.meeting_at.desc(), PanelMember.id)
        )
        return [(m, s, c) for m, s, c in rows.all()]

    async def active_experts(self) -> list[Expert]:
        rows = await self.session.scalars(
            sa.select(Expert).where(Expert.active).order_by(Expert.user_id)
        )
        return list(rows.all())

    async def expert(self, expert_id: UUID) -> Expert | None:
        return await self.session.get(Expert, expert_id)

    async def draw(self, draw_id: UUID) -> PanelDraw | None:
        return await self.session.get(PanelDraw, draw_id)

    async def members_of_draw(self, draw_id: UUID) -> Sequence[tuple[PanelMember, str]]:
        rows = await self.session.execute(
            sa.select(PanelMember, Expert.name)
            .join(Expert, Expert.user_id == PanelMember.expert_id)
            .where(PanelMember.draw_id == draw_id)
            .order_by(PanelMember.position)
        )
        return [(member, name) for member, name in rows.all()]

    # --- scores -------------------------------------------------------------------------

    async def score(self, member_id: UUID, application_id: UUID) -> PanelScore | None:
        return await self.session.scalar(
            sa.select(PanelScore)
            .where(PanelScore.member_id == member_id, PanelScore.application_id == application_id)
            .with_for_update()
        )

    async def scores(self, stage_id: UUID) -> Sequence[tuple[PanelScore, PanelMember, str]]:
        """The scores of members still seated, with the member and the expert's name."""
        rows = await self.session.execute(
            sa.select(PanelScore, PanelMember, Expert.name)
            .join(PanelMember, PanelMember.id == PanelScore.member_id)
            .join(Expert, Expert.user_id == PanelMember.expert_id)
            .where(
                PanelScore.stage_id == stage_id,
                PanelMember.status == PanelMemberStatus.seated,
            )
            .order_by(PanelScore.application_id, PanelMember.id)
        )
        return [(s, m, name) for s, m, name in rows.all()]

    async def scores_of_member(self, member_id: UUID) -> dict[UUID, PanelScore]:
        rows = await self.session.scalars(
            sa.select(PanelScore).where(PanelScore.member_id == member_id)
        )
        return {s.application_id: s for s in rows.all()}
