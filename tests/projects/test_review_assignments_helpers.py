"""Steps the assignment tests share (no tests here): applications under review with the
subjects and teams a test needs, experts in the pool, dry runs and their application."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Assignment,
    Call,
    ReviewRound,
)
from shared.auth.roles import Role
from tests.projects.conftest import Caller, Projects, add_person, closed_call, insert_application
from tests.projects.review_factories import make_expert, make_round
from tests.projects.test_applications_helpers import confirm_record, credit_record

SUBJECT = "210.2010"  # the subject code of the applications `content` writes
OTHER_SUBJECT = "520.1010"


async def call_in_review(session: AsyncSession, projects: Projects) -> Call:
    """A call that closed a minute ago: its applications are under review."""
    return await closed_call(session, projects)


async def application(
    session: AsyncSession,
    projects: Projects,
    call: Call,
    who: str,
    *,
    org: int | None = None,
    **content: Any,
) -> Application:
    """An application of `who` in review; `who` is added as an applicant of `org` if new.
    `content` replaces fields of the submitted version (subject_codes, team, avoid, ...)."""
    if who not in projects.callers:
        await add_person(session, projects, who, (Role.applicant,), org or 1, who)
    found = await insert_application(session, projects, call, who=who)
    if content:
        version = await session.scalar(
            sa.select(ApplicationVersion).where(ApplicationVersion.application_id == found.id)
        )
        assert version is not None
        version.content = {**version.content, **content}
        await session.commit()
    return found


async def expert(
    session: AsyncSession,
    projects: Projects,
    name: str,
    *,
    org: int | None = None,
    primary: Sequence[str] = (SUBJECT,),
    keywords: Sequence[str] = (),
    max_load: int = 10,
    **overrides: Any,
) -> Caller:
    return await make_expert(
        session,
        projects,
        name,
        org=org,
        primary=primary,
        keywords=keywords,
        max_load=max_load,
        **overrides,
    )


async def review_round(
    session: AsyncSession, projects: Projects, call: Call, experts_per_item: int, **options: Any
) -> ReviewRound:
    return await make_round(
        session, projects, call, experts_per_item=experts_per_item, options=options
    )


def team_of(projects: Projects, *people: str) -> list[dict[str, Any]]:
    return [
        {"user_id": str(projects.callers[p].user_id), "role": "成员", "share": 10} for p in people
    ]


async def dry_run(
    projects: Projects, round_: ReviewRound, who: str = "manager", seed: int = 0
) -> dict[str, Any]:
    response = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/assignment-runs", who, json={"seed": seed}
    )
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


async def apply(projects: Projects, run: dict[str, Any], who: str = "manager") -> httpx.Response:
    return await projects.call("POST", f"/v1/assignment-runs/{run['id']}/apply", who)


def pairs_of(run: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["application_id"], p["expert_id"]) for p in run["pairs"]}


def ids(projects: Projects, *names: str) -> set[str]:
    return {str(projects.callers[n].user_id) for n in names}


async def assignments(session: AsyncSession, round_: ReviewRound) -> list[Assignment]:
    return list(
        (
            await session.scalars(
                sa.select(Assignment)
                .where(Assignment.round_id == round_.id)
                .order_by(Assignment.application_id, Assignment.expert_id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


def live(rows: Sequence[Assignment]) -> set[tuple[str, str]]:
    return {
        (str(a.application_id), str(a.expert_id))
        for a in rows
        if a.status in ("invited", "accepted")
    }


async def ban_from_reviewing(projects: Projects, who: str) -> None:
    """A confirmed credit record whose measure bars `who` from reviewing (the objection
    window passes: the clock moves 15 days)."""
    record = await credit_record(
        projects,
        who,
        "EXPERT_UNDECLARED_CONFLICT",
        effective_from=projects.clock.now.date(),
        capacity="expert",
    )
    projects.clock.advance(days=15)
    await confirm_record(projects, record["id"])
    projects.clock.advance(minutes=5)


async def applicant_application(
    session: AsyncSession, round_: ReviewRound, projects: Projects, who: str = "applicant"
) -> str:
    found = await session.scalar(
        sa.select(Application.id).where(
            Application.call_id == round_.call_id,
            Application.applicant_id == projects.callers[who].user_id,
        )
    )
    return str(found)
