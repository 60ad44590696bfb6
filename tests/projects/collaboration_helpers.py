"""Steps the consortium and delegation tests share (no tests here): a third organization with
its admin, a two-organization team, and the consortium's parts as the API takes them."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Call, directory
from shared.auth.roles import Role
from tests.conftest import org_code
from tests.projects.conftest import START, Projects, add_person, content
from tests.projects.test_applications_helpers import complete, user

BUDGET = 100_000_000  # what `content` asks for, in fen
THIRD = 3  # the index of the organization `third_organization` adds


async def third_organization(session: AsyncSession, projects: Projects) -> None:
    """A third organization (an enterprise) with an admin, `org_admin3`, and a researcher,
    `applicant3`."""
    org_id = (
        await session.execute(
            sa.insert(directory.organizations)
            .values(
                id=sa.func.gen_random_uuid(),
                name="兰州兰石集团有限公司",
                credit_code=org_code(THIRD),
                kind="enterprise",
                updated_at=START,
            )
            .returning(directory.organizations.c.id)
        )
    ).scalar_one()
    projects.orgs[THIRD] = org_id
    await add_person(session, projects, "org_admin3", (Role.org_admin,), THIRD, "钱管理")
    await add_person(session, projects, "applicant3", (Role.applicant,), THIRD, "郑研究")
    await session.commit()


def two_organization_team(projects: Projects) -> list[dict[str, Any]]:
    """The PI (organization 1) and `applicant2` (organization 2), who leads its part."""
    return [
        {"user_id": str(user(projects, "applicant")), "role": "负责人", "share": 60},
        {"user_id": str(user(projects, "applicant2")), "role": "课题负责人", "share": 40},
    ]


def parts(projects: Projects, lead_fen: int = 60_000_000, partner_fen: int = 40_000_000) -> Any:
    """Organization 1 leads; organization 2 takes part, its part led by `applicant2`."""
    return {
        "parts": [
            {"org_id": str(projects.orgs[1]), "budget_fen": lead_fen, "work": "总体设计与田间试验"},
            {
                "org_id": str(projects.orgs[2]),
                "budget_fen": partner_fen,
                "work": "品种选育与示范推广",
                "co_pi_ids": [str(user(projects, "applicant2"))],
            },
        ]
    }


async def consortium_draft(projects: Projects, call: Call, **extra: Any) -> Any:
    """A complete draft (version 2) of a two-organization team (unless told another), before
    its consortium is set."""
    extra.setdefault("team", two_organization_team(projects))
    return await complete(projects, call, **extra)


async def set_parts(
    projects: Projects, application_id: str, body: Any, who: str = "applicant"
) -> httpx.Response:
    return await projects.call(
        "PUT", f"/v1/applications/{application_id}/consortium", who, json=body
    )


async def endorse_part(
    projects: Projects,
    application_id: str,
    org: int,
    who: str,
    decision: str = "endorse",
    reason: str = "",
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"/v1/applications/{application_id}/consortium/parts/{projects.orgs[org]}/endorsement",
        who,
        json={"decision": decision, "reason": reason},
    )


def same_team_content(projects: Projects, **overrides: Any) -> dict[str, Any]:
    """An application body with the two-organization team (unless told another)."""
    overrides.setdefault("team", two_organization_team(projects))
    return content(projects, **overrides)
