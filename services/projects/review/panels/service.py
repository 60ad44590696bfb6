"""Review in stages: a panel meeting or defence (会评/答辩) after a call's written review.

A call's program managers state in its panel settings that its review has a panel stage, in
which format, how members are found (chosen from the qualified pool, or only drawn at random)
and how the two stages weigh in the decision. Once the written (proposal) round has closed, a
manager opens the stage: forming -> scoring -> closed.

- forming: the shortlist follows the rule (the top N of the written ranking, or a written score
  at least so much) and a manager adjusts it application by application with a reason; members
  are drawn (or chosen, where the call allows) from the qualified pool (`pool.py`); a member
  may decline, and the first reserve of the draws takes the seat.
- scoring: the shortlist and the panel are fixed; each seated member scores each shortlisted
  application (0..100 and a comment), and may correct their score until the close.
- closed: every seated member scored every shortlisted application; the combined ranking
  (`combined.py`) is final and the call's decisions draw on it: with panel settings, nothing
  is decided before the stage closes and only shortlisted applications may be approved.

Every change is in the history (entity `panel`), never under an application, whose history
its applicant reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects import history
from services.projects.exceptions import CallNotFound, InvalidTransition
from services.projects.models import (
    Call,
    PanelDraw,
    PanelMember,
    PanelScore,
    PanelSettings,
    PanelShortlistEntry,
    PanelStage,
    ReviewRound,
    events,
)
from services.projects.models.calls import CallState
from services.projects.models.panels import (
    PanelMemberStatus,
    PanelSelection,
    PanelState,
)
from services.projects.review import draw
from services.projects.review.assignments.candidates import eligibility
from services.projects.review.panels import combined
from services.projects.review.panels.exceptions import (
    ApprovalNotShortlisted,
    DrawRequired,
    ExpertNotQualified,
    MemberConflicted,
    NoDrawNeeded,
    NotSeated,
    NotShortlisted,
    PanelConflicted,
    PanelDrawNotFound,
    PanelExists,
    PanelInvalid,
    PanelMemberNotFound,
    PanelNotClosed,
    PanelNotConfigured,
    PanelSettingsFixed,
    PanelSettingsNotFound,
    PanelShort,
    PanelStageNotFound,
    PoolEmpty,
    ScoresMissing,
    ShortlistEmpty,
    ShortlistUnchanged,
    WrittenReviewOpen,
)
from services.projects.review.panels.pool import Pool, in_field, qualified_pool
from services.projects.review.panels.repository import PanelRepository
from services.projects.review.panels.schemas import (
    DeclineRead,
    DrawRead,
    DrawVerification,
    ExcludedExpert,
    MemberAdd,
    MemberDecline,
    MemberRead,
    MemberScore,
    MembershipApplication,
    MembershipRead,
    PanelSettingsRead,
    PanelSettingsWrite,
    PanelStageCreate,
    PanelStageRead,
    RankingEntry,
    RankingRead,
    ScoreRead,
    ScoreWrite,
    ShortlistAdjust,
    ShortlistEntryRead,
    StartScoring,
)
from services.projects.review.rounds.conflicts import blocked_pairs
from services.projects.review.scoring.results import CallRanking, RoundService, call_ranking
from services.projects.scope import check_duties_of, require_manager_of
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.contracts.credit import EligibilityV1
from shared.contracts.panels import PanelMemberSeatedV1
from shared.credit_client import CreditClient
from shared.errors import Text
from shared.events import outbox

SCORE_PLACES = Decimal("0.001")


def _actor(principal: Principal) -> str:
    return str(principal.user_id) if principal.user_id else principal.subject


def _user(principal: Principal) -> UUID:
    assert principal.user_id is not None  # managers and experts are people
    return principal.user_id


def _float(value: Fraction | Decimal | None) -> float | None:
    if value is None:
        return None
    return float(combined.shown(value) if isinstance(value, Fraction) else value)


def settings_read(row: PanelSettings) -> PanelSettingsRead:
    return PanelSettingsRead(
        call_id=row.call_id,
        format=row.format,
        selection=row.selection,
        written_weight=row.written_weight,
        panel_weight=row.panel_weight,
        set_by=row.set_by,
        set_at=row.set_at,
    )


def member_read(member: PanelMember, name: str) -> MemberRead:
    return MemberRead(
        id=member.id,
        stage_id=member.stage_id,
        expert_id=member.expert_id,
        expert_name=name,
        status=member.status,
        how="drawn" if member.draw_id else "chosen",
        draw_id=member.draw_id,
        position=member.position,
        added_at=member.added_at,
        seated_at=member.seated_at,
        declined_at=member.declined_at,
        decline_reason=member.decline_reason,
    )


def entry_read(entry: PanelShortlistEntry, title: str) -> ShortlistEntryRead:
    return ShortlistEntryRead(
        application_id=entry.application_id,
        title=title,
        written_rank=entry.written_rank,
        written_score=float(entry.written_score),
        by_rule=entry.by_rule,
        shortlisted=entry.shortlisted,
        adjusted_by=entry.adjusted_by,
        adjusted_at=entry.adjusted_at,
        adjustment_reason=entry.adjustment_reason,
    )


def _require_state(stage: PanelStage, *states: PanelState) -> None:
    if stage.state not in states:
        raise InvalidTransition(stage.state)


class PanelService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PanelRepository(session)

    # --- whose it is ----------------------------------------------------------------------

    async def _managed_call(
        self, principal: Principal, call_id: UUID, *, lock: bool = False
    ) -> Call:
        call = await self.repo.call(call_id)
        if call is None:
            raise CallNotFound()
        await require_manager_of(self.session, principal, call.program_id)
        if lock:
            locked = await self.repo.call(call_id, lock=True)
            assert locked is not None
            call = locked
        return call

    async def _managed_stage(
        self, principal: Principal, stage_id: UUID, *, lock: bool = False
    ) -> tuple[PanelStage, Call]:
        stage = await self.repo.stage(stage_id)
        if stage is None:
            raise PanelStageNotFound()
        call = await self.repo.call(stage.call_id)
        assert call is not None
        await require_manager_of(self.session, principal, call.program_id)
        if lock:
            locked = await self.repo.stage(stage_id, lock=True)
            assert locked is not None
            stage = locked
        return stage, call

    async def _round(self, stage: PanelStage) -> ReviewRound:
        round_ = await self.repo.round(stage.round_id)
        assert round_ is not None
        return round_

    # --- settings -------------------------------------------------------------------------

    async def settings(self, principal: Principal, call_id: UUID) -> PanelSettingsRead:
        call = await self._managed_call(principal, call_id)
        found = await self.repo.settings(call.id)
        if found is None:
            raise PanelSettingsNotFound()
        return settings_read(found)

    async def set_settings(
        self, principal: Principal, call_id: UUID, data: PanelSettingsWrite, now: datetime
    ) -> PanelSettingsRead:
        call = await self._managed_call(principal, call_id, lock=True)
        if call.state not in (CallState.draft, CallState.published):
            raise InvalidTransition(call.state)
        # Part of the call's terms: fixed once applications are in, so that nobody who has
        # seen them (and the written scores) can drop a required draw or shift the weights.
        if call.has_closed(now):
            raise PanelSettingsFixed()
        row = await self.repo.settings(call.id)
        before = settings_read(row).model_dump(mode="json") if row else None
        if row is None:
            row = PanelSettings(call_id=call.id)
            self.session.add(row)
        row.format = data.format
        row.selection = data.selection
        row.written_weight = data.written_weight
        row.panel_weight = data.panel_weight
        row.set_by = _user(principal)
        row.set_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="panel_settings.set",
            actor=_actor(principal),
            details={"before": before, "after": data.model_dump(mode="json")},
        )
        return settings_read(row)

    # --- the stage ------------------------------------------------------------------------

    async def stage_read(self, stage: PanelStage) -> PanelStageRead:
        shortlisted = await self.repo.shortlisted_ids(stage.id)
        members = [m for m, _ in await self.repo.members(stage.id)]
        return PanelStageRead(
            id=stage.id,
            call_id=stage.call_id,
            round_id=stage.round_id,
            state=stage.state,
            format=stage.format,
            selection=stage.selection,
            written_weight=stage.written_weight,
            panel_weight=stage.panel_weight,
            top_n=stage.top_n,
            min_score=_float(stage.min_score),
            panel_size=stage.panel_size,
            reserves=stage.reserves,
            meeting_at=stage.meeting_at,
            opened_by=stage.opened_by,
            opened_at=stage.opened_at,
            scoring_at=stage.scoring_at,
            closed_at=stage.closed_at,
            shortlisted=len(shortlisted),
            seated=sum(m.status == PanelMemberStatus.seated for m in members),
            reserves_waiting=sum(m.status == PanelMemberStatus.reserve for m in members),
        )

    async def open(
        self, principal: Principal, call_id: UUID, data: PanelStageCreate, now: datetime
    ) -> PanelStageRead:
        call = await self._managed_call(principal, call_id, lock=True)
        settings = await self.repo.settings(call.id)
        if settings is None:
            raise PanelNotConfigured()
        if call.state != CallState.published:
            raise InvalidTransition(call.state)
        if await self.repo.stage_of_call(call.id) is not None:
            raise PanelExists()
        if data.meeting_at <= now:
            raise PanelInvalid(Text("会评时间须晚于当前时间", "meeting_at must be in the future"))
        round_ = await self.repo.closed_proposal_round(call.id)
        if round_ is None:
            raise WrittenReviewOpen()
        standings = (await RoundService(self.session).standings(round_)).by_application
        applications = await self.repo.applications(list(standings))
        await check_duties_of(self.session, principal, applications)
        entries = []
        for application_id, standing in standings.items():
            written = Decimal(str(standing.statistics.trimmed_mean)).quantize(
                SCORE_PLACES, rounding=ROUND_HALF_UP
            )
            by_rule = (
                standing.rank <= data.shortlist.top_n
                if data.shortlist.top_n is not None
                else written >= (data.shortlist.min_score or 0)
            )
            entries.append((application_id, standing.rank, written, by_rule))
        if not any(by_rule for *_, by_rule in entries):
            raise ShortlistEmpty(
                Text("按此规则没有申报书进入会评", "no application meets the shortlist rule")
            )
        stage = PanelStage(
            call_id=call.id,
            round_id=round_.id,
            state=PanelState.forming,
            format=settings.format,
            selection=settings.selection,
            written_weight=settings.written_weight,
            panel_weight=settings.panel_weight,
            top_n=data.shortlist.top_n,
            min_score=data.shortlist.min_score,
            panel_size=data.panel_size,
            reserves=data.reserves,
            meeting_at=data.meeting_at,
            opened_by=_user(principal),
            opened_at=now,
        )
        await self.repo.add(stage)
        await self.repo.add(
            *(
                PanelShortlistEntry(
                    stage_id=stage.id,
                    application_id=application_id,
                    written_rank=rank,
                    written_score=written,
                    by_rule=by_rule,
                    shortlisted=by_rule,
                )
                for application_id, rank, written, by_rule in entries
            )
        )
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="opened",
            actor=_actor(principal),
            to_state=stage.state,
            details={
                "call_id": str(call.id),
                "round_id": str(round_.id),
                "shortlist_rule": data.shortlist.model_dump(mode="json", exclude_none=True),
                "shortlisted": [str(a) for a, *_, by_rule in entries if by_rule],
                "panel_size": data.panel_size,
                "reserves": data.reserves,
                "meeting_at": data.meeting_at.isoformat(),
                "weights": {"written": stage.written_weight, "panel": stage.panel_weight},
            },
        )
        return await self.stage_read(stage)

    async def get(self, principal: Principal, stage_id: UUID) -> PanelStageRead:
        stage, _ = await self._managed_stage(principal, stage_id)
        return await self.stage_read(stage)

    async def of_call(self, principal: Principal, call_id: UUID) -> PanelStageRead:
        call = await self._managed_call(principal, call_id)
        stage = await self.repo.stage_of_call(call.id)
        if stage is None:
            raise PanelStageNotFound()
        return await self.stage_read(stage)

    # --- the shortlist --------------------------------------------------------------------

    async def shortlist(self, principal: Principal, stage_id: UUID) -> list[ShortlistEntryRead]:
        stage, _ = await self._managed_stage(principal, stage_id)
        return [entry_read(e, title) for e, title, _ in await self.repo.shortlist(stage.id)]

    async def adjust(
        self,
        principal: Principal,
        stage_id: UUID,
        application_id: UUID,
        data: ShortlistAdjust,
        now: datetime,
    ) -> ShortlistEntryRead:
        stage, _ = await self._managed_stage(principal, stage_id, lock=True)
        _require_state(stage, PanelState.forming)
        entry = await self.repo.entry(stage.id, application_id, lock=True)
        if entry is None:
            raise NotShortlisted(
                Text("书面评审未对该申报书排名", "the written review did not rank it")
            )
        await check_duties_of(
            self.session, principal, await self.repo.applications([entry.application_id])
        )
        if entry.shortlisted == data.shortlisted:
            raise ShortlistUnchanged()
        if data.shortlisted:
            await self._members_free_of(stage, entry.application_id)
        elif len(await self.repo.shortlisted_ids(stage.id)) == 1:
            raise ShortlistEmpty(Text("会评名单不能为空", "the shortlist cannot be left empty"))
        entry.shortlisted = data.shortlisted
        entry.adjusted_by = _user(principal)
        entry.adjusted_at = now
        entry.adjustment_reason = data.reason
        await self.session.flush()
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="shortlist.added" if data.shortlisted else "shortlist.removed",
            actor=_actor(principal),
            reason=data.reason,
            details={
                "application_id": str(entry.application_id),
                "written_rank": entry.written_rank,
                "written_score": str(entry.written_score),
                "by_rule": entry.by_rule,
            },
        )
        titles = {e.application_id: t for e, t, _ in await self.repo.shortlist(stage.id)}
        return entry_read(entry, titles[entry.application_id])

    async def _members_free_of(self, stage: PanelStage, application_id: UUID) -> None:
        """Everyone seated or waiting must be free of conflicts with an application added."""
        on_panel = [
            m.expert_id
            for m, _ in await self.repo.members(stage.id)
            if m.status != PanelMemberStatus.declined
        ]
        if not on_panel:
            return
        blocked = await blocked_pairs(
            self.session,
            await self._round(stage),
            application_ids=[application_id],
            expert_ids=on_panel,
        )
        if blocked:
            raise MemberConflicted(
                extra={
                    "conflicts": [
                        {"expert_id": str(expert), "kinds": kinds}
                        for (_, expert), kinds in sorted(blocked.items(), key=lambda p: str(p[0]))
                    ]
                }
            )

    # --- members: chosen or drawn -----------------------------------------------------------

    async def members(self, principal: Principal, stage_id: UUID) -> list[MemberRead]:
        stage, _ = await self._managed_stage(principal, stage_id)
        return [member_read(m, name) for m, name in await self.repo.members(stage.id)]

    async def _ask_credit(
        self,
        principal: Principal,
        stage_id: UUID,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
        only: UUID | None = None,
    ) -> dict[UUID, EligibilityV1]:
        """The credit service's answers about the experts in the field, asked holding no
        transaction (it may be slow); the stage is locked and checked again afterwards."""
        async with sessions() as reading:
            stage, _ = await PanelService(reading)._managed_stage(principal, stage_id)
            _require_state(stage, PanelState.forming)
            shortlist = await PanelRepository(reading).shortlisted_ids(stage.id)
            round_ = await PanelService(reading)._round(stage)
            experts, _ = await in_field(reading, round_, shortlist)
        asked = [e.user_id for e in experts if only is None or e.user_id == only]
        return await eligibility(credit, asked, now) if asked else {}

    async def _pool(self, stage: PanelStage, answers: dict[UUID, EligibilityV1]) -> Pool:
        on_panel = {m.expert_id for m, _ in await self.repo.members(stage.id)}
        return await qualified_pool(
            self.session,
            stage,
            await self._round(stage),
            await self.repo.shortlisted_ids(stage.id),
            answers,
            on_panel,
        )

    async def add_member(
        self,
        principal: Principal,
        stage_id: UUID,
        data: MemberAdd,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> MemberRead:
        answers = await self._ask_credit(principal, stage_id, credit, now, sessions, data.expert_id)
        stage, call = await self._managed_stage(principal, stage_id, lock=True)
        _require_state(stage, PanelState.forming)
        if stage.selection == PanelSelection.draw:
            raise DrawRequired()
        if await self.repo.member_of(stage.id, data.expert_id) is not None:
            raise ExpertNotQualified(
                extra={"expert_id": str(data.expert_id), "reasons": ["on_panel"]}
            )
        pool = await self._pool(stage, answers)
        if data.expert_id not in pool.qualified:
            why = pool.why_not(data.expert_id) or {"reasons": ["not_in_field_or_inactive"]}
            raise ExpertNotQualified(extra={"expert_id": str(data.expert_id), **why})
        member = PanelMember(
            stage_id=stage.id,
            expert_id=data.expert_id,
            status=PanelMemberStatus.seated,
            added_by=_user(principal),
            added_at=now,
            seated_at=now,
        )
        await self.repo.add(member)
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="member.chosen",
            actor=_actor(principal),
            details={"member_id": str(member.id), "expert_id": str(member.expert_id)},
        )
        await self._seated(stage, call, member, "chosen")
        return member_read(member, await self.repo.expert_name(member.expert_id))

    async def run_draw(
        self,
        principal: Principal,
        stage_id: UUID,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> DrawRead:
        answers = await self._ask_credit(principal, stage_id, credit, now, sessions)
        stage, call = await self._managed_stage(principal, stage_id, lock=True)
        _require_state(stage, PanelState.forming)
        members = [m for m, _ in await self.repo.members(stage.id)]
        seated = sum(m.status == PanelMemberStatus.seated for m in members)
        waiting = sum(m.status == PanelMemberStatus.reserve for m in members)
        seats = stage.panel_size - seated
        if seats <= 0 or waiting:
            raise NoDrawNeeded(extra={"seated": seated, "reserves_waiting": waiting})
        pool = await self._pool(stage, answers)
        if not pool.qualified:
            raise PoolEmpty(extra={"excluded": pool.excluded})
        seed = draw.new_seed()
        drawn = draw.draw(pool.qualified, seed, seats + stage.reserves)
        record = PanelDraw(
            stage_id=stage.id,
            algorithm=draw.ALGORITHM,
            seed=seed,
            pool=draw.canonical_pool(pool.qualified),
            pool_hash=draw.pool_hash(pool.qualified),
            excluded=pool.excluded,
            seats=seats,
            reserves=stage.reserves,
            drawn=drawn,
            drawn_by=_user(principal),
            drawn_at=now,
        )
        await self.repo.add(record)
        new = [
            PanelMember(
                stage_id=stage.id,
                expert_id=UUID(expert_id),
                status=PanelMemberStatus.seated if place <= seats else PanelMemberStatus.reserve,
                draw_id=record.id,
                position=place,
                added_by=_user(principal),
                added_at=now,
                seated_at=now if place <= seats else None,
            )
            for place, expert_id in enumerate(drawn, start=1)
        ]
        await self.repo.add(*new)
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="members.drawn",
            actor=_actor(principal),
            details={
                "draw_id": str(record.id),
                "algorithm": record.algorithm,
                "seed": str(seed),
                "pool_hash": record.pool_hash,
                "pool_size": len(record.pool),
                "drawn": drawn,
                "seats": seats,
            },
        )
        for member in new:
            if member.status == PanelMemberStatus.seated:
                await self._seated(stage, call, member, "drawn")
        return await self._draw_read(record)

    async def _draw_read(self, record: PanelDraw) -> DrawRead:
        return DrawRead(
            id=record.id,
            stage_id=record.stage_id,
            algorithm=record.algorithm,
            seed=str(record.seed),
            pool_hash=record.pool_hash,
            pool=[UUID(e) for e in record.pool],
            excluded=[ExcludedExpert.model_validate(e) for e in record.excluded],
            seats=record.seats,
            reserves=record.reserves,
            drawn=[UUID(e) for e in record.drawn],
            drawn_by=record.drawn_by,
            drawn_at=record.drawn_at,
            members=[member_read(m, n) for m, n in await self.repo.members_of_draw(record.id)],
        )

    async def _managed_draw(self, principal: Principal, draw_id: UUID) -> PanelDraw:
        record = await self.repo.draw(draw_id)
        if record is None:
            raise PanelDrawNotFound()
        await self._managed_stage(principal, record.stage_id)
        return record

    async def get_draw(self, principal: Principal, draw_id: UUID) -> DrawRead:
        return await self._draw_read(await self._managed_draw(principal, draw_id))

    async def verify_draw(self, principal: Principal, draw_id: UUID) -> DrawVerification:
        """The draw run again on its recorded pool and seed, by the algorithm it names."""
        record = await self._managed_draw(principal, draw_id)
        if record.algorithm != draw.ALGORITHM:  # no other version exists yet
            raise PanelInvalid(extra={"algorithm": record.algorithm})
        again = draw.draw(record.pool, record.seed, record.seats + record.reserves)
        return DrawVerification(
            draw_id=record.id,
            algorithm=record.algorithm,
            seed=str(record.seed),
            pool_hash=record.pool_hash,
            pool_hash_matches=draw.pool_hash(record.pool) == record.pool_hash,
            drawn=[UUID(e) for e in again],
            matches=again == record.drawn,
        )

    async def decline(
        self, principal: Principal, member_id: UUID, data: MemberDecline, now: datetime
    ) -> DeclineRead:
        """The member themselves, or a manager of the program on their word."""
        found = await self.repo.member(member_id)
        if found is None:
            raise PanelMemberNotFound()
        if found.expert_id != principal.user_id:
            if not ({Role.program_manager, Role.admin} & set(principal.roles)):
                raise PanelMemberNotFound()
            await self._managed_stage(principal, found.stage_id)
        stage = await self.repo.stage(found.stage_id, lock=True)
        assert stage is not None
        call = await self.repo.call(stage.call_id)
        assert call is not None
        _require_state(stage, PanelState.forming)
        member = await self.repo.member(member_id, lock=True)
        assert member is not None
        if member.status == PanelMemberStatus.declined:
            raise InvalidTransition(member.status)
        was = member.status
        member.status = PanelMemberStatus.declined
        member.declined_at = now
        member.decline_reason = data.reason
        await self.session.flush()
        moved_up = None
        if was == PanelMemberStatus.seated:
            moved_up = await self.repo.first_reserve(stage.id)
            if moved_up is not None:
                moved_up.status = PanelMemberStatus.seated
                moved_up.seated_at = now
                await self.session.flush()
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="member.declined",
            actor=_actor(principal),
            from_state=was,
            to_state=PanelMemberStatus.declined,
            reason=data.reason,
            details={
                "member_id": str(member.id),
                "expert_id": str(member.expert_id),
                "moved_up": str(moved_up.expert_id) if moved_up else None,
            },
        )
        if moved_up is not None:
            await self._seated(stage, call, moved_up, "reserve_moved_up")
        return DeclineRead(
            declined=member_read(member, await self.repo.expert_name(member.expert_id)),
            moved_up=(
                member_read(moved_up, await self.repo.expert_name(moved_up.expert_id))
                if moved_up
                else None
            ),
        )

    async def _seated(self, stage: PanelStage, call: Call, member: PanelMember, how: str) -> None:
        await outbox.publish(
            self.session,
            events,
            PanelMemberSeatedV1.model_validate(
                {
                    "member_id": member.id,
                    "stage_id": stage.id,
                    "expert_id": member.expert_id,
                    "call_id": call.id,
                    "call_title": call.title,
                    "program_id": call.program_id,
                    "format": stage.format,
                    "meeting_at": stage.meeting_at,
                    "how": how,
                    "seated_at": member.seated_at,
                }
            ),
        )

    # --- scoring --------------------------------------------------------------------------

    async def start(
        self, principal: Principal, stage_id: UUID, data: StartScoring, now: datetime
    ) -> PanelStageRead:
        stage, _ = await self._managed_stage(principal, stage_id, lock=True)
        _require_state(stage, PanelState.forming)
        seated = [
            m for m, _ in await self.repo.members(stage.id) if m.status == PanelMemberStatus.seated
        ]
        if not seated or (len(seated) < stage.panel_size and data.short_reason is None):
            raise PanelShort(extra={"seated": len(seated), "panel_size": stage.panel_size})
        stage.state = PanelState.scoring
        stage.scoring_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="scoring.started",
            actor=_actor(principal),
            from_state=PanelState.forming,
            to_state=PanelState.scoring,
            reason=data.short_reason,
            details={
                "seated": [str(m.expert_id) for m in seated],
                "shortlisted": [str(a) for a in await self.repo.shortlisted_ids(stage.id)],
            },
        )
        return await self.stage_read(stage)

    async def save_score(
        self,
        principal: Principal,
        stage_id: UUID,
        application_id: UUID,
        data: ScoreWrite,
        now: datetime,
    ) -> ScoreRead:
        stage = await self.repo.stage(stage_id, lock=True)
        if stage is None:
            raise PanelStageNotFound()
        member = await self.repo.member_of(stage.id, _user(principal))
        if member is None:
            raise PanelStageNotFound()  # an expert not on the panel does not learn of it
        if member.status != PanelMemberStatus.seated:
            raise NotSeated(extra={"status": member.status})
        _require_state(stage, PanelState.scoring)
        entry = await self.repo.entry(stage.id, application_id)
        if entry is None or not entry.shortlisted:
            raise NotShortlisted()
        blocked = await blocked_pairs(
            self.session,
            await self._round(stage),
            application_ids=[application_id],
            expert_ids=[member.expert_id],
        )
        if blocked:
            raise PanelConflicted(extra={"kinds": next(iter(blocked.values()))})
        row = await self.repo.score(member.id, application_id)
        before = row.score if row else None
        if row is None:
            row = PanelScore(member_id=member.id, application_id=application_id, stage_id=stage.id)
            self.session.add(row)
        row.score = data.score
        row.comment = data.comment
        row.saved_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="score.saved",
            actor=_actor(principal),
            details={
                "member_id": str(member.id),
                "application_id": str(application_id),
                "score": data.score,
                "before": before,
            },
        )
        return ScoreRead(
            stage_id=stage.id,
            application_id=application_id,
            member_id=member.id,
            score=row.score,
            comment=row.comment,
            saved_at=row.saved_at,
        )

    async def memberships(self, principal: Principal) -> list[MembershipRead]:
        found = []
        for member, stage, call in await self.repo.memberships(_user(principal)):
            applications: list[MembershipApplication] = []
            if member.status == PanelMemberStatus.seated:
                mine = await self.repo.scores_of_member(member.id)
                for entry, title, _ in await self.repo.shortlist(stage.id, only_shortlisted=True):
                    score = mine.get(entry.application_id)
                    applications.append(
                        MembershipApplication(
                            application_id=entry.application_id,
                            title=title,
                            my_score=score.score if score else None,
                            my_comment=score.comment if score else None,
                        )
                    )
            found.append(
                MembershipRead(
                    member_id=member.id,
                    stage_id=stage.id,
                    call_id=call.id,
                    call_title=call.title,
                    format=stage.format,
                    meeting_at=stage.meeting_at,
                    stage_state=stage.state,
                    status=member.status,
                    applications=applications,
                )
            )
        return found

    async def close(self, principal: Principal, stage_id: UUID, now: datetime) -> PanelStageRead:
        stage, _ = await self._managed_stage(principal, stage_id, lock=True)
        _require_state(stage, PanelState.scoring)
        shortlisted = await self.repo.shortlisted_ids(stage.id)
        await check_duties_of(self.session, principal, await self.repo.applications(shortlisted))
        seated = [
            m for m, _ in await self.repo.members(stage.id) if m.status == PanelMemberStatus.seated
        ]
        scored = {(s.member_id, s.application_id) for s, _, _ in await self.repo.scores(stage.id)}
        missing = [
            {"member_id": str(m.id), "expert_id": str(m.expert_id), "application_id": str(a)}
            for m in seated
            for a in shortlisted
            if (m.id, a) not in scored
        ]
        if missing:
            raise ScoresMissing(
                Text(f"尚缺 {len(missing)} 个会评分数", f"{len(missing)} panel score(s) missing"),
                extra={"missing": missing},
            )
        stage.state = PanelState.closed
        stage.closed_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="panel",
            entity_id=stage.id,
            action="closed",
            actor=_actor(principal),
            from_state=PanelState.scoring,
            to_state=PanelState.closed,
            details={"scores": len(scored), "seated": len(seated)},
        )
        return await self.stage_read(stage)

    # --- the combined ranking ---------------------------------------------------------------

    async def ranking(self, principal: Principal, stage_id: UUID) -> RankingRead:
        stage, _ = await self._managed_stage(principal, stage_id)
        _require_state(stage, PanelState.scoring, PanelState.closed)
        rows = await self.repo.shortlist(stage.id)
        shortlisted = [(e, t, s) for e, t, s in rows if e.shortlisted]
        await check_duties_of(
            self.session,
            principal,
            await self.repo.applications([e.application_id for e, _, _ in shortlisted]),
        )
        placed, by_application = await standings(self.session, stage)
        seated = sum(
            m.status == PanelMemberStatus.seated for m, _ in await self.repo.members(stage.id)
        )
        about = {e.application_id: (e, title, status) for e, title, status in shortlisted}
        items = []
        for place in placed:
            entry, title, status = about[place.entry.application_id]
            own = by_application.get(entry.application_id, [])
            items.append(
                RankingEntry(
                    application_id=entry.application_id,
                    title=title,
                    status=status,
                    written_rank=entry.written_rank,
                    written_score=float(entry.written_score),
                    panel_scores=own,
                    panel_mean=_float(combined.panel_mean([s.score for s in own])),
                    panel_score=_float(place.entry.panel),
                    combined=_float(place.combined),
                    rank=place.rank,
                )
            )
        return RankingRead(
            stage_id=stage.id,
            state=stage.state,
            final=stage.state == PanelState.closed,
            written_weight=stage.written_weight,
            panel_weight=stage.panel_weight,
            seated=seated,
            items=items,
            not_shortlisted=[entry_read(e, t) for e, t, _ in rows if not e.shortlisted],
        )


async def standings(
    session: AsyncSession, stage: PanelStage
) -> tuple[list[combined.Placed], dict[UUID, list[MemberScore]]]:
    """The shortlist ranked on both stages, and each application's members' scores."""
    repo = PanelRepository(session)
    by_application: dict[UUID, list[MemberScore]] = defaultdict(list)
    for score, member, name in await repo.scores(stage.id):
        by_application[score.application_id].append(
            MemberScore(
                member_id=member.id,
                expert_id=member.expert_id,
                expert_name=name,
                score=score.score,
                comment=score.comment,
            )
        )
    entries = [
        combined.Entry(
            application_id=entry.application_id,
            written=Fraction(entry.written_score),
            panel=combined.panel_part(
                [s.score for s in by_application.get(entry.application_id, [])]
            ),
        )
        for entry, _, _ in await repo.shortlist(stage.id, only_shortlisted=True)
    ]
    placed = combined.rank(
        entries, written_weight=stage.written_weight, panel_weight=stage.panel_weight
    )
    return placed, by_application


# --- what the decision step asks -----------------------------------------------------------


async def check_decisions(session: AsyncSession, call_id: UUID, approved: Collection[UUID]) -> None:
    """A call with panel settings is decided once its panel stage has closed, and approves
    only applications the panel heard (409 otherwise); a call without them, as before."""
    repo = PanelRepository(session)
    if await repo.settings(call_id) is None:
        return
    stage = await repo.stage_of_call(call_id)
    if stage is None or stage.state != PanelState.closed:
        raise PanelNotClosed(extra={"panel_state": stage.state if stage else None})
    heard = set(await repo.shortlisted_ids(stage.id))
    outside = sorted(str(a) for a in approved if a not in heard)
    if outside:
        raise ApprovalNotShortlisted(extra={"application_ids": outside})


async def decision_ranking(session: AsyncSession, call_id: UUID) -> CallRanking | None:
    """What the call's decision list is ordered by: the combined ranking once the call's panel
    stage has closed (the shortlist only; the others follow unranked), else the written one."""
    stage = await PanelRepository(session).stage_of_call(call_id)
    if stage is None or stage.state != PanelState.closed:
        return await call_ranking(session, call_id)
    placed, _ = await standings(session, stage)
    return CallRanking(
        ranked_by="combined",
        places={
            p.entry.application_id: (p.rank, float(combined.shown(p.combined)))
            for p in placed
            if p.rank is not None and p.combined is not None
        },
    )
