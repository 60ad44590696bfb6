"""Approved projects and extra people, written straight into the projects service's tables.

Projects normally come from a decision on a call; tests of what happens to them afterwards
(disclosure, evaluation) start from a row in the state they need.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ApplicationVersion, Program, Project, directory
from shared.auth.roles import Role
from shared.ids import uuid7
from tests.conftest import bearer
from tests.projects.conftest import (
    ORGS,
    START,
    ZDYF,
    Caller,
    Projects,
    insert_application,
    insert_call,
)

_serial = itertools.count(1)


async def insert_project(
    session: AsyncSession,
    projects: Projects,
    who: str = "applicant",
    program_id: UUID = ZDYF,
    *,
    year: int = 2026,
    status: str = "in_notice",
    title: str | None = None,
    **overrides: Any,
) -> Project:
    """An approved application of `who` (in a call of its own) and the project it became."""
    call = await insert_call(session, projects, program_id=program_id, year=year)
    application = await insert_application(session, projects, call, who=who, status="approved")
    program = await session.get(Program, program_id)
    assert program is not None
    caller = projects.callers[who]
    assert caller.org_id is not None
    org_number = next(n for n, org_id in projects.orgs.items() if org_id == caller.org_id)
    values: dict[str, Any] = {
        "application_id": application.id,
        "number": f"{year}-{program.code}-{next(_serial):04d}",
        "call_id": call.id,
        "program_id": program_id,
        "year": year,
        "org_id": caller.org_id,
        "pi_id": caller.user_id,
        "pi_name": caller.name,
        "org_name": ORGS[org_number][0],
        "title": title or application.title,
        "approved_budget_fen": 80_000_000,
        "status": status,
        "notice_starts_at": START,
        "notice_ends_at": START + timedelta(days=7),
    }
    values.update(overrides)
    project = Project(**values)
    session.add(project)
    await session.commit()
    return project


async def put_on_team(session: AsyncSession, project: Project, person: Caller) -> None:
    """Add `person` to the team of the application the project came from."""
    version = await session.scalar(
        sa.select(ApplicationVersion).where(
            ApplicationVersion.application_id == project.application_id
        )
    )
    assert version is not None
    team = [*version.content["team"], {"user_id": str(person.user_id), "role": "成员"}]
    version.content = {**version.content, "team": team}
    await session.commit()


async def add_person(
    session: AsyncSession,
    projects: Projects,
    gateway: FastAPI,
    name: str,
    roles: tuple[Role, ...],
    org: int | None = None,
) -> Caller:
    """Someone beyond the fixture's people, known to the directory and holding a token."""
    user_id = uuid7()
    org_id = projects.orgs[org] if org else None
    await session.execute(
        sa.insert(directory.users).values(
            id=user_id,
            username=f"{name}-{user_id.hex[:8]}",
            display_name=name,
            org_id=org_id,
            roles=[r.value for r in roles],
            is_active=True,
            updated_at=START,
        )
    )
    await session.commit()
    issuer = gateway.state.token_issuer
    token, _ = await issuer.access_token(
        subject=str(user_id),
        audience=issuer.settings.audiences,
        roles=[r.value for r in roles],
        extra={"name": name, "org": str(org_id) if org_id else None},
    )
    caller = Caller(user_id, bearer(token), name, org_id)
    projects.callers[name] = caller
    return caller
