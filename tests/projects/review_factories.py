"""Shared setup for the expert review tests: experts in the pool and review rounds, written
straight into the projects service's tables (the API paths have tests of their own)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, ApplicationVersion, Call, Expert, ReviewRound
from services.projects.models import directory as people
from shared.auth.roles import Role
from shared.ids import uuid7
from tests.conftest import org_code
from tests.projects.conftest import START, Caller, Projects, add_person, insert_application


async def make_expert(
    session: AsyncSession,
    projects: Projects,
    username: str,
    *,
    org: int | None = None,
    primary: Sequence[str] = ("210.20",),
    secondary: Sequence[str] = (),
    keywords: Sequence[str] = (),
    max_load: int = 10,
    **overrides: Any,
) -> Caller:
    """A person with role expert in `org` (1, 2 or None) and their row in the expert pool.

    An existing caller (e.g. the fixture's "expert", of org 2) is reused as is: only the pool
    row is added, with the caller's own organization (`org` is then ignored).
    """
    caller = projects.callers.get(username)
    if caller is None:
        caller = await add_person(session, projects, username, (Role.expert,), org, username)
    number = next((n for n, org_id in projects.orgs.items() if org_id == caller.org_id), None)
    values: dict[str, Any] = {
        "user_id": caller.user_id,
        "name": caller.name,
        "title": "研究员",
        "org_id": caller.org_id,
        "org_credit_code": org_code(number) if number else None,
        "region": "甘肃",
        "primary_subjects": list(primary),
        "secondary_subjects": list(secondary),
        "keywords": list(keywords),
        "max_load": max_load,
        "availability": [],
        "active": True,
    }
    values.update(overrides)
    session.add(Expert(**values))
    await session.commit()
    return caller


async def make_round(
    session: AsyncSession, projects: Projects, call: Call, **overrides: Any
) -> ReviewRound:
    """A proposal round of `call` in state assigning, due 14 days after the clock."""
    values: dict[str, Any] = {
        "call_id": call.id,
        "kind": "proposal",
        "state": "assigning",
        "experts_per_item": call.experts_per_application,
        "review_template": call.review_template,
        "deadline": projects.clock.now + timedelta(days=14),
        "options": {},
        "co_applicant_years": 3,
        "created_by": projects.callers["manager"].user_id,
        "created_at": projects.clock.now,  # the co-applicant window counts back from here
    }
    values.update(overrides)
    round_ = ReviewRound(**values)
    session.add(round_)
    await session.commit()
    return round_


async def make_organization(
    session: AsyncSession,
    projects: Projects,
    number: int,
    name: str,
    *,
    kind: str = "enterprise",
    parent: int | None = None,
) -> str:
    """Organization `number` (3 and up; 1 and 2 are the fixture's) in the directory, its
    credit code `org_code(number)`, optionally under the directory parent `parent`. Returns the
    credit code; `projects.orgs[number]` is its id, so `add_person(..., org=number)` works."""
    org_id = uuid7()
    await session.execute(
        sa.insert(people.organizations).values(
            id=org_id,
            name=name,
            credit_code=org_code(number),
            kind=kind,
            parent_id=projects.orgs[parent] if parent else None,
            updated_at=START,
        )
    )
    await session.commit()
    projects.orgs[number] = org_id
    return org_code(number)


async def make_application(
    session: AsyncSession,
    projects: Projects,
    call: Call,
    who: str = "applicant",
    *,
    status: str = "in_review",
    team: Sequence[Caller] = (),
    avoid: Sequence[dict[str, Any]] = (),
    subjects: Sequence[str] | None = None,
    keywords: Sequence[str] | None = None,
    submitted_at: datetime | None = None,
) -> Application:
    """An application of `who` (the PI) in `status`, with `team` as further members, an avoid
    list (entries {"user_id"} or {"credit_code"}, with an optional "reason"), and subject codes
    and keywords if given; `submitted_at` defaults to the clock."""
    application = await insert_application(session, projects, call, who=who, status=status)
    version = await session.get(ApplicationVersion, (application.id, 1))
    assert version is not None
    content = dict(version.content)
    members = [{"user_id": str(p.user_id), "role": "成员", "share": 10} for p in team]
    content["team"] = [*content["team"], *members]
    content["avoid"] = [
        {k: str(v) if isinstance(v, UUID) else v for k, v in entry.items()} for entry in avoid
    ]
    if subjects is not None:
        content["subject_codes"] = list(subjects)
    if keywords is not None:
        content["keywords"] = list(keywords)
    version.content = content
    if submitted_at is not None and status != "draft":
        application.submitted_at = submitted_at
    await session.commit()
    return application
