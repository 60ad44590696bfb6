"""The SQL of review rounds and of the conflict rules.

Conflict lookups go by index from the people and organizations of the round's applications
(experts by user id, by organization code; teams by person), never over all applications
times all experts. Long id lists travel as one array parameter (`= ANY(:ids)`), not as one
bind parameter per id.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Call,
    Conflict,
    ConsortiumPart,
    DeclaredConflict,
    Expert,
    OrganizationLink,
    Project,
    Report,
    ReviewRound,
    directory,
)
from services.projects.models.lifecycle import ProjectStatus, ReportStatus
from services.projects.models.review import (
    RoundState,
)
from services.projects.models.submissions import ApplicationStatus
from services.projects.review.rounds.exceptions import RoundExists

# One proposal round per call; one open round of each kind per call.
ONE_ROUND_PER_KIND = ("uq_review_rounds_proposal_call_id", "uq_review_rounds_open_call_id_kind")
UPSERT_CHUNK = 20_000


def _ids(values: Collection[UUID]) -> sa.BindParameter[Any]:
    return sa.literal(list(values), ARRAY(sa.Uuid()))


def _codes(values: Collection[str]) -> sa.BindParameter[Any]:
    return sa.literal(list(values), ARRAY(sa.String()))


def _table(table: Any) -> str:
    found = table.__table__ if hasattr(table, "__table__") else table
    return f"{found.schema}.{found.name}"


class SameOrgPart(NamedTuple):
    """One organization of an application, for the same-organization rule in bulk: the
    applicant's (rank 0) or a consortium partner's (the first to relate an expert says it)."""

    application_id: UUID
    code: str
    lead_code: str | None  # the applicant's organization
    rank: int


# The inputs of the same-organization rule for a whole round, as arrays, and its pairs.
_SAME_ORG_INPUTS = """
    i(application_id, code, lead_code, rank) AS (
        SELECT * FROM unnest(CAST(:applications AS uuid[]), CAST(:codes AS text[]),
                             CAST(:lead_codes AS text[]), CAST(:ranks AS int[]))),
    r(applicant_code, expert_code, relation, links) AS (
        SELECT * FROM unnest(CAST(:from_codes AS text[]), CAST(:to_codes AS text[]),
                             CAST(:relations AS text[]), CAST(:links AS text[])))"""
_SAME_ORG_PAIRS = f"""i JOIN r ON r.applicant_code = i.code
    JOIN {_table(Expert)} e ON e.org_credit_code = r.expert_code"""


def _same_org_parameters(
    items: Sequence[SameOrgPart], relations: Sequence[tuple[str, str, str, str]]
) -> list[sa.BindParameter[Any]]:
    texts = ARRAY(sa.Text())
    return [
        sa.bindparam("applications", [i.application_id for i in items], ARRAY(sa.Uuid())),
        sa.bindparam("codes", [i.code for i in items], texts),
        sa.bindparam("lead_codes", [i.lead_code for i in items], texts),
        sa.bindparam("ranks", [i.rank for i in items], ARRAY(sa.Integer())),
        sa.bindparam("from_codes", [r[0] for r in relations], texts),
        sa.bindparam("to_codes", [r[1] for r in relations], texts),
        sa.bindparam("relations", [r[2] for r in relations], texts),
        sa.bindparam("links", [r[3] for r in relations], texts),
    ]


def _judged_version() -> sa.ColumnElement[int]:
    # The version the applicant submitted; a draft has none and is never judged here.
    return sa.func.coalesce(Application.submitted_version, Application.version)


@dataclass(frozen=True)
class ConflictFilter:
    application_id: UUID | None = None
    expert_id: UUID | None = None
    kind: str | None = None

    def clause(self) -> sa.ColumnElement[bool]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.application_id is not None:
            conditions.append(Conflict.application_id == self.application_id)
        if self.expert_id is not None:
            conditions.append(Conflict.expert_id == self.expert_id)
        if self.kind is not None:
            conditions.append(Conflict.kind == self.kind)
        return sa.and_(sa.true(), *conditions)


class RoundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- rounds -----------------------------------------------------------------------

    async def call(self, call_id: UUID) -> Call | None:
        return await self.session.get(Call, call_id)

    async def round(self, round_id: UUID) -> ReviewRound | None:
        return await self.session.get(ReviewRound, round_id)

    async def round_for_update(self, round_id: UUID) -> ReviewRound | None:
        """The round, locked until the transaction ends: refreshes of its conflicts and
        overrides take turns."""
        return await self.session.scalar(
            sa.select(ReviewRound)
            .where(ReviewRound.id == round_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def rounds_of_call(
        self, call_id: UUID, *, kind: str | None, state: RoundState | None, offset: int, limit: int
    ) -> Sequence[ReviewRound]:
        query = (
            sa.select(ReviewRound)
            .where(ReviewRound.call_id == call_id)
            .order_by(ReviewRound.created_at, ReviewRound.id)
            .offset(offset)
            .limit(limit)
        )
        if kind is not None:
            query = query.where(ReviewRound.kind == kind)
        if state is not None:
            query = query.where(ReviewRound.state == state)
        return (await self.session.scalars(query)).all()

    async def round_of_kind(
        self, call_id: UUID, kind: str, *, open_only: bool = False
    ) -> ReviewRound | None:
        query = sa.select(ReviewRound).where(
            ReviewRound.call_id == call_id, ReviewRound.kind == kind
        )
        if open_only:
            query = query.where(ReviewRound.state != RoundState.closed)
        return await self.session.scalar(query.limit(1))

    async def rounds_of_kind(self, call_id: UUID, kind: str) -> Sequence[ReviewRound]:
        return (
            await self.session.scalars(
                sa.select(ReviewRound).where(
                    ReviewRound.call_id == call_id, ReviewRound.kind == kind
                )
            )
        ).all()

    async def final_reports_awaiting(self, call_id: UUID) -> list[tuple[UUID, UUID, UUID]]:
        """(application, project, report) of the call's projects in progress whose final
        report awaits review (one at a time per project)."""
        rows = await self.session.execute(
            sa.select(Project.application_id, Project.id, Report.id)
            .join(Report, Report.project_id == Project.id)
            .where(
                Project.call_id == call_id,
                Project.status == ProjectStatus.in_progress,
                Report.kind == "final",
                Report.status == ReportStatus.submitted,
            )
            .order_by(Project.application_id, Report.submitted_at, Report.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def count_applications(self, call_id: UUID, statuses: Sequence[str]) -> int:
        found = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(Application)
            .where(Application.call_id == call_id, Application.status.in_(statuses))
        )
        return int(found or 0)

    async def add_round(self, round_: ReviewRound) -> None:
        self.session.add(round_)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            if any(name in str(exc.orig) for name in ONE_ROUND_PER_KIND):
                raise RoundExists() from exc
            raise

    async def application(self, application_id: UUID) -> Application | None:
        return await self.session.get(Application, application_id)

    # --- what the rules read ----------------------------------------------------------

    async def item_rows(
        self,
        call_id: UUID,
        statuses: Sequence[str] | None,
        application_ids: Collection[UUID] | None,
    ) -> Sequence[Any]:
        """Per application: ids, title, the submitted version's subject codes, keywords, team
        and avoid list, its organization's credit code and name, its consortium partners'
        credit codes (None when alone), and the lead of its project
        (if it became one: a PI may have changed since). `statuses` None: any status."""
        content = ApplicationVersion.content
        orgs = directory.organizations
        partner_orgs = orgs.alias("partner_orgs")
        partner_codes = (
            sa.select(sa.func.array_agg(partner_orgs.c.credit_code))
            .select_from(ConsortiumPart)
            .join(partner_orgs, partner_orgs.c.id == ConsortiumPart.org_id)
            .where(ConsortiumPart.application_id == Application.id, ~ConsortiumPart.is_lead)
            .scalar_subquery()
        )
        query = (
            sa.select(
                Application.id,
                Application.applicant_id,
                Application.org_id,
                Application.title,
                content["subject_codes"].label("subject_codes"),
                content["keywords"].label("keywords"),
                content["team"].label("team"),
                content["avoid"].label("avoid"),
                orgs.c.credit_code,
                orgs.c.name.label("org_name"),
                Project.pi_id.label("project_lead"),
                partner_codes.label("partner_codes"),
            )
            .join(
                ApplicationVersion,
                sa.and_(
                    ApplicationVersion.application_id == Application.id,
                    ApplicationVersion.version == _judged_version(),
                ),
            )
            .outerjoin(orgs, orgs.c.id == Application.org_id)
            .outerjoin(Project, Project.application_id == Application.id)
            .where(Application.call_id == call_id)
            .order_by(Application.id)
        )
        if statuses is not None:
            query = query.where(Application.status.in_(statuses))
        if application_ids is not None:
            query = query.where(Application.id == sa.any_(_ids(application_ids)))
        return (await self.session.execute(query)).all()

    async def experts_among(
        self, people: Collection[UUID], only: Collection[UUID] | None
    ) -> Sequence[Any]:
        """(user_id, name, org_credit_code) of the pool's experts who are among `people`."""
        if not people:
            return []
        query = sa.select(Expert.user_id, Expert.name, Expert.org_credit_code).where(
            Expert.user_id == sa.any_(_ids(people))
        )
        if only is not None:
            query = query.where(Expert.user_id == sa.any_(_ids(only)))
        return (await self.session.execute(query)).all()

    async def experts_of_organizations(
        self, codes: Collection[str], only: Collection[UUID] | None
    ) -> Sequence[Any]:
        """(user_id, name, org_credit_code) of the pool's experts of these organizations."""
        if not codes:
            return []
        query = sa.select(Expert.user_id, Expert.name, Expert.org_credit_code).where(
            Expert.org_credit_code == sa.any_(_codes(codes))
        )
        if only is not None:
            query = query.where(Expert.user_id == sa.any_(_ids(only)))
        return (await self.session.execute(query)).all()

    async def organization_links_touching(
        self, codes: Collection[str]
    ) -> list[tuple[str, str, str]]:
        """(parent code, child code, source) of every link with one end among `codes`: the
        declared ones and the gateway directory's parent organizations."""
        if not codes:
            return []
        wanted = _codes(codes)
        declared = sa.select(
            OrganizationLink.parent_code, OrganizationLink.child_code, sa.literal("declared")
        ).where(
            sa.or_(
                OrganizationLink.parent_code == sa.any_(wanted),
                OrganizationLink.child_code == sa.any_(wanted),
            )
        )
        child = directory.organizations.alias("child")
        parent = directory.organizations.alias("parent")
        from_directory = (
            sa.select(parent.c.credit_code, child.c.credit_code, sa.literal("directory"))
            .select_from(child.join(parent, parent.c.id == child.c.parent_id))
            .where(
                sa.or_(
                    parent.c.credit_code == sa.any_(_codes(codes)),
                    child.c.credit_code == sa.any_(_codes(codes)),
                )
            )
        )
        rows = await self.session.execute(sa.union(declared, from_directory))
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def organization_names(self, codes: Collection[str]) -> dict[str, str]:
        if not codes:
            return {}
        orgs = directory.organizations
        rows = await self.session.execute(
            sa.select(orgs.c.credit_code, orgs.c.name).where(
                orgs.c.credit_code == sa.any_(_codes(codes))
            )
        )
        return {r.credit_code: r.name for r in rows}

    async def shared_teams(
        self,
        people: Collection[UUID],
        experts: Collection[UUID] | None,
        since: datetime,
    ) -> Sequence[Any]:
        """Applications submitted since `since` whose team (applicant included) has both
        an expert and one of `people`: (application_id, title, applicant_id, submitted_at,
        year, expert_id, person_id) rows."""
        if not people:
            return []
        recent = sa.and_(
            Application.status != ApplicationStatus.draft,
            Application.submitted_at.is_not(None),
            Application.submitted_at >= since,
        )
        element = (
            sa.func.jsonb_array_elements(ApplicationVersion.content["team"])
            .table_valued(sa.column("value", JSONB))
            .lateral("member")
        )
        members = sa.union(
            sa.select(
                Application.id.label("application_id"),
                Application.applicant_id.label("person_id"),
            ).where(recent),
            sa.select(
                Application.id.label("application_id"),
                sa.cast(element.c.value["user_id"].astext, sa.Uuid).label("person_id"),
            )
            .select_from(Application)
            .join(
                ApplicationVersion,
                sa.and_(
                    ApplicationVersion.application_id == Application.id,
                    ApplicationVersion.version == _judged_version(),
                ),
            )
            .join(element, sa.true())
            .where(recent, sa.func.jsonb_typeof(ApplicationVersion.content["team"]) == "array"),
        ).cte("members")
        expert_side = members.alias("expert_side")
        person_side = members.alias("person_side")
        experts_clause = (
            expert_side.c.person_id.in_(sa.select(Expert.user_id))
            if experts is None
            else expert_side.c.person_id == sa.any_(_ids(experts))
        )
        query = (
            sa.select(
                Application.id.label("application_id"),
                Application.title,
                Application.applicant_id,
                Application.submitted_at,
                Call.year,
                expert_side.c.person_id.label("expert_id"),
                person_side.c.person_id.label("person_id"),
            )
            .select_from(expert_side)
            .join(
                person_side,
                sa.and_(
                    person_side.c.application_id == expert_side.c.application_id,
                    person_side.c.person_id != expert_side.c.person_id,
                ),
            )
            .join(Application, Application.id == expert_side.c.application_id)
            .join(Call, Call.id == Application.call_id)
            .where(experts_clause, person_side.c.person_id == sa.any_(_ids(people)))
            .order_by(Application.submitted_at, Application.id)
        )
        return (await self.session.execute(query)).all()

    async def declarations_about(
        self, people: Collection[UUID], codes: Collection[str], experts: Collection[UUID] | None
    ) -> Sequence[DeclaredConflict]:
        """Experts' declarations naming one of `people` or one of the organizations `codes`."""
        about: list[sa.ColumnElement[bool]] = []
        if people:
            about.append(DeclaredConflict.person_id == sa.any_(_ids(people)))
        if codes:
            about.append(DeclaredConflict.credit_code == sa.any_(_codes(codes)))
        if not about:
            return []
        query = sa.select(DeclaredConflict).where(sa.or_(*about))
        if experts is not None:
            query = query.where(DeclaredConflict.expert_id == sa.any_(_ids(experts)))
        return (await self.session.scalars(query.order_by(DeclaredConflict.declared_at))).all()

    # --- stored conflicts -------------------------------------------------------------

    async def stored_conflicts(
        self,
        round_id: UUID,
        *,
        application_id: UUID | None = None,
        expert_id: UUID | None = None,
        lock: bool = False,
    ) -> Sequence[Conflict]:
        where = ConflictFilter(application_id=application_id, expert_id=expert_id).clause()
        query = sa.select(Conflict).where(Conflict.round_id == round_id, where)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).all()

    async def conflict_for_update(
        self, round_id: UUID, application_id: UUID, expert_id: UUID, kind: str
    ) -> Conflict | None:
        return await self.session.scalar(
            sa.select(Conflict)
            .where(
                Conflict.round_id == round_id,
                Conflict.application_id == application_id,
                Conflict.expert_id == expert_id,
                Conflict.kind == kind,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def add_conflicts(self, rows: Sequence[Conflict]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def conflict_keys(
        self,
        round_id: UUID,
        *,
        kinds: Collection[str] | None = None,
        application_ids: Collection[UUID] | None = None,
        expert_ids: Collection[UUID] | None = None,
        overridden_only: bool = False,
    ) -> dict[tuple[UUID, UUID, str], bool]:
        """Per stored conflict of the round (its key): whether it is overridden; narrowed to
        `kinds`, `application_ids`, `expert_ids`, or to the overridden ones."""
        query = sa.select(
            Conflict.application_id,
            Conflict.expert_id,
            Conflict.kind,
            Conflict.overridden_at.is_not(None),
        ).where(Conflict.round_id == round_id)
        if kinds is not None:
            query = query.where(Conflict.kind == sa.any_(_codes(kinds)))
        if application_ids is not None:
            query = query.where(Conflict.application_id == sa.any_(_ids(application_ids)))
        if expert_ids is not None:
            query = query.where(Conflict.expert_id == sa.any_(_ids(expert_ids)))
        if overridden_only:
            query = query.where(Conflict.overridden_at.is_not(None))
        rows = await self.session.execute(query)
        return {(a, e, k): overridden for a, e, k, overridden in rows}

    async def upsert_conflicts(
        self, round_id: UUID, found_at: datetime, rows: Sequence[tuple[UUID, UUID, str, str]]
    ) -> int:
        """Insert new conflicts and bring the evidence of stored ones up to date; `rows` are
        (application id, expert id, kind, evidence as JSON text). How many rows were inserted
        or changed: PostgreSQL compares the evidence and writes only what changed.

        A large round has hundreds of thousands of conflicts: they travel as four arrays per
        chunk, not as one bind parameter per value."""
        written = 0
        for start in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[start : start + UPSERT_CHUNK]
            given = (
                sa.func.unnest(
                    _ids([r[0] for r in chunk]),
                    _ids([r[1] for r in chunk]),
                    _codes([r[2] for r in chunk]),
                    sa.literal([r[3] for r in chunk], ARRAY(sa.Text())),
                )
                .table_valued(
                    sa.column("application_id", sa.Uuid()),
                    sa.column("expert_id", sa.Uuid()),
                    sa.column("kind", sa.String()),
                    sa.column("evidence", sa.Text()),
                )
                .render_derived(name="given")
            )
            new = insert(Conflict).from_select(
                ["round_id", "application_id", "expert_id", "kind", "evidence", "found_at"],
                sa.select(
                    sa.literal(round_id, sa.Uuid()),
                    given.c.application_id,
                    given.c.expert_id,
                    given.c.kind,
                    sa.cast(given.c.evidence, JSONB),
                    sa.literal(found_at, sa.DateTime(timezone=True)),
                ),
            )
            statement = new.on_conflict_do_update(
                index_elements=[
                    Conflict.round_id,
                    Conflict.application_id,
                    Conflict.expert_id,
                    Conflict.kind,
                ],
                set_={"evidence": new.excluded.evidence},
                where=Conflict.evidence.is_distinct_from(new.excluded.evidence),
            ).returning(Conflict.kind)
            written += len((await self.session.execute(statement)).all())
        return written

    async def upsert_same_org(
        self,
        round_id: UUID,
        found_at: datetime,
        items: Sequence[SameOrgPart],
        relations: Sequence[tuple[str, str, str, str]],
    ) -> tuple[int, int]:
        """Store the same-organization conflicts of `items` (every organization of each
        application given) with the experts of the organizations `relations` relate to theirs
        (applicant's code, expert's code, relation, links as JSON text). A large round has
        millions: they are written by PostgreSQL, their evidence short (the organizations,
        relation and links; `conflicts.with_evidence` completes it when read). How many were
        inserted, and inserted or changed."""
        if not items or not relations:
            return 0, 0
        # An expert related to two organizations of a consortium is one conflict: the first
        # organization says it. Applications alone (nearly all) need no sort for that.
        consortia = any(i.rank for i in items)
        distinct = "DISTINCT ON (i.application_id, e.user_id)" if consortia else ""
        ranked = "ORDER BY i.application_id, e.user_id, i.rank" if consortia else ""
        statement = sa.text(
            f"""WITH {_SAME_ORG_INPUTS},
            written AS (
                INSERT INTO {_table(Conflict)} AS c
                    (round_id, application_id, expert_id, kind, evidence, found_at)
                SELECT {distinct}
                    :round_id, i.application_id, e.user_id, 'same_org', jsonb_build_object(
                    'rule', 'same_org',
                    'relation', r.relation,
                    'links', CAST(r.links AS jsonb),
                    'applicant_org_code', i.lead_code,
                    'expert_org_code', r.expert_code) || CASE
                        WHEN i.code IS NOT DISTINCT FROM i.lead_code THEN CAST('{{}}' AS jsonb)
                        ELSE jsonb_build_object('partner_org_code', i.code) END, :found_at
                FROM {_SAME_ORG_PAIRS}
                {ranked}
                ON CONFLICT (round_id, application_id, expert_id, kind)
                DO UPDATE SET evidence = excluded.evidence
                WHERE c.evidence IS DISTINCT FROM excluded.evidence
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"""
        ).bindparams(
            sa.bindparam("round_id", round_id, sa.Uuid()),
            sa.bindparam("found_at", found_at, sa.DateTime(timezone=True)),
            *_same_org_parameters(items, relations),
        )
        inserted, written = (await self.session.execute(statement)).one()
        return int(inserted), int(written)

    async def application_titles(self, ids: Collection[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        rows = await self.session.execute(
            sa.select(Application.id, Application.title).where(Application.id == sa.any_(_ids(ids)))
        )
        return {r.id: r.title for r in rows}

    async def same_org_keys(self, round_id: UUID) -> bytes:
        """The round's stored same-organization conflicts not overridden, 32 bytes each: the
        application's id and the expert's (a large round has millions: no object per row)."""
        found = await self.session.scalar(
            sa.select(
                sa.func.string_agg(
                    sa.func.uuid_send(Conflict.application_id)
                    .op("||")(sa.func.uuid_send(Conflict.expert_id))
                    .cast(sa.LargeBinary()),
                    sa.literal(b"", sa.LargeBinary()),
                )
            ).where(
                Conflict.round_id == round_id,
                Conflict.kind == "same_org",
                Conflict.overridden_at.is_(None),
            )
        )
        return bytes(found or b"")

    async def delete_same_org(
        self, round_id: UUID, application_ids: Sequence[UUID], expert_ids: Sequence[UUID]
    ) -> None:
        if not application_ids:
            return
        table = cast(sa.Table, Conflict.__table__)
        pairs = (
            sa.func.unnest(_ids(application_ids), _ids(expert_ids))
            .table_valued(sa.column("a", sa.Uuid()), sa.column("e", sa.Uuid()))
            .render_derived(name="gone")
        )
        await self.session.execute(
            sa.delete(table).where(
                table.c.round_id == round_id,
                table.c.kind == "same_org",
                sa.tuple_(table.c.application_id, table.c.expert_id).in_(
                    sa.select(pairs.c.a, pairs.c.e)
                ),
            )
        )

    async def delete_conflicts(
        self, round_id: UUID, keys: Sequence[tuple[UUID, UUID, str]]
    ) -> None:
        if not keys:
            return
        table = cast(sa.Table, Conflict.__table__)
        statement = sa.delete(table).where(
            table.c.round_id == round_id,
            table.c.application_id == sa.bindparam("b_application"),
            table.c.expert_id == sa.bindparam("b_expert"),
            table.c.kind == sa.bindparam("b_kind"),
        )
        await self.session.execute(
            statement,
            [{"b_application": a, "b_expert": e, "b_kind": k} for a, e, k in keys],
        )

    async def conflicts_page(
        self, round_id: UUID, where: ConflictFilter, limit: int, offset: int
    ) -> Sequence[Any]:
        """(conflict, expert name, application title) rows in a stable order."""
        return (
            await self.session.execute(
                sa.select(Conflict, Expert.name, Application.title)
                .join(Expert, Expert.user_id == Conflict.expert_id)
                .join(Application, Application.id == Conflict.application_id)
                .where(Conflict.round_id == round_id, where.clause())
                .order_by(Conflict.application_id, Conflict.expert_id, Conflict.kind)
                .limit(limit)
                .offset(offset)
            )
        ).all()

    async def conflict_counts(self, round_id: UUID) -> dict[str, dict[str, int]]:
        """Per kind: how many conflicts are stored and how many of them are overridden."""
        rows = await self.session.execute(
            sa.select(
                Conflict.kind,
                sa.func.count(),
                sa.func.count(Conflict.overridden_at),
            )
            .where(Conflict.round_id == round_id)
            .group_by(Conflict.kind)
        )
        return {kind: {"total": total, "overridden": over} for kind, total, over in rows}
