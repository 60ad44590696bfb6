"""A consortium's participating organizations count for conflicts of interest and separation
of duties as the lead organization does: their experts (and those of their parents and
subsidiaries) are in conflict, an expert's declaration about one counts, and their staff
do not evaluate the project. An expert related through two organizations is one conflict,
told through the lead."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Call, ConsortiumPart, ReviewRound
from services.projects.review.rounds.conflicts import blocked_pairs, find_conflicts
from shared.auth.roles import Role
from tests.conftest import org_code
from tests.projects.conftest import Projects, closed_call
from tests.projects.factories import add_person, insert_project
from tests.projects.review_factories import (
    make_application,
    make_expert,
    make_organization,
    make_round,
)
from tests.projects.test_evaluation import engage, transitions
from tests.projects.test_review_assignments_helpers import (
    application,
    apply,
    assignments,
    dry_run,
    expert,
    ids,
    live,
    pairs_of,
    review_round,
)
from tests.projects.test_review_conflicts import listed, refresh

PARTNER = 3  # the participating organization's number (1 leads, 2 is the fixture's other)


@pytest.fixture
async def call(session: AsyncSession, projects: Projects) -> Call:
    return await closed_call(session, projects)


@pytest.fixture
async def review(session: AsyncSession, projects: Projects, call: Call) -> ReviewRound:
    return await make_round(session, projects, call)


async def take_part(
    session: AsyncSession, projects: Projects, application: Application, *orgs: int
) -> None:
    """Make `application` (of organization 1) a consortium with the organizations `orgs`,
    each part endorsed (as it is once the application is in review)."""
    manager = projects.callers["manager"].user_id
    session.add(
        ConsortiumPart(
            application_id=application.id,
            org_id=application.org_id,
            is_lead=True,
            budget_fen=50_000_000,
            work="总体设计",
            co_pi_ids=[],
            set_by=manager,
        )
    )
    for org in orgs:
        session.add(
            ConsortiumPart(
                application_id=application.id,
                org_id=projects.orgs[org],
                is_lead=False,
                budget_fen=10_000_000,
                work="示范推广",
                co_pi_ids=[],
                endorsement="endorsed",
                endorsed_by=manager,
                endorsed_version=1,
                set_by=manager,
            )
        )
    await session.commit()


async def stored(projects: Projects, review: ReviewRound, **filters: Any) -> list[Any]:
    assert (await refresh(projects, review)).status_code == 200
    return await listed(projects, review, **filters)


async def test_an_expert_of_a_participating_organization_conflicts_and_the_partner_is_named(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    code = await make_organization(session, projects, PARTNER, "兰州兰石集团有限公司")
    expert = await make_expert(session, projects, "partner_expert", org=PARTNER)
    alone = await make_application(session, projects, call)
    consortium = await make_application(session, projects, call, who="colleague")
    await take_part(session, projects, consortium, PARTNER)

    found = await stored(projects, review, expert_id=expert.user_id, kind="same_org")

    # Only the consortium: the partner's expert may review an application of organization 1 alone.
    assert [c["application_id"] for c in found] == [str(consortium.id)]
    evidence = found[0]["evidence"]
    assert evidence["relation"] == "same"
    assert evidence["partner_org"] == {"credit_code": code, "name": "兰州兰石集团有限公司"}
    assert evidence["expert_org"] == evidence["partner_org"]
    assert evidence["applicant_org"] == {"credit_code": org_code(1), "name": "兰州大学"}
    assert evidence["summary"]["en"] == (
        "The expert is of a participating organization of the consortium"
    )
    # The pair's own check (a manual assignment, a late refresh) says the same.
    (pair,) = await find_conflicts(
        session, review, application_ids=[consortium.id], expert_ids=[expert.user_id]
    )
    assert pair.kind == "same_org"
    assert pair.evidence == evidence
    blocked = await blocked_pairs(session, review, expert_ids=[expert.user_id])
    assert blocked == {(consortium.id, expert.user_id): ["same_org"]}
    assert (alone.id, expert.user_id) not in blocked


async def test_an_expert_of_a_partners_subsidiary_conflicts_through_the_partner(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    partner = await make_organization(session, projects, PARTNER, "甘肃农业大学")
    child = await make_organization(session, projects, 4, "甘农大种业公司", parent=PARTNER)
    expert = await make_expert(session, projects, "subsidiary_expert", org=4)
    consortium = await make_application(session, projects, call)
    await take_part(session, projects, consortium, PARTNER)

    (found,) = await stored(projects, review, expert_id=expert.user_id)

    evidence = found["evidence"]
    assert (found["kind"], evidence["relation"]) == ("same_org", "subsidiary")
    assert evidence["partner_org"]["credit_code"] == partner
    assert evidence["links"] == [
        {"parent_code": partner, "child_code": child, "sources": ["directory"]}
    ]


async def test_an_expert_related_to_the_lead_and_a_partner_is_one_conflict_told_by_the_lead(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    # The partner is the lead's subsidiary: its expert relates to both.
    await make_organization(session, projects, PARTNER, "兰州大学资产经营有限公司", parent=1)
    expert = await make_expert(session, projects, "both_expert", org=PARTNER)
    consortium = await make_application(session, projects, call)
    await take_part(session, projects, consortium, PARTNER, 2)

    (found,) = await stored(projects, review, expert_id=expert.user_id)

    evidence = found["evidence"]
    assert (found["kind"], evidence["relation"]) == ("same_org", "subsidiary")
    assert "partner_org" not in evidence
    assert evidence["applicant_org"]["credit_code"] == org_code(1)
    (pair,) = await find_conflicts(session, review, expert_ids=[expert.user_id])
    assert (pair.evidence["relation"], "partner_org" in pair.evidence) == ("subsidiary", False)


async def test_a_partner_added_or_gone_is_found_or_removed_by_the_next_refresh(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    await make_organization(session, projects, PARTNER, "兰州兰石集团有限公司")
    expert = await make_expert(session, projects, "partner_expert", org=PARTNER)
    consortium = await make_application(session, projects, call)
    assert await stored(projects, review, expert_id=expert.user_id) == []

    await take_part(session, projects, consortium, PARTNER)
    assert [c["kind"] for c in await stored(projects, review, expert_id=expert.user_id)] == [
        "same_org"
    ]

    await session.execute(
        sa.delete(ConsortiumPart).where(ConsortiumPart.org_id == projects.orgs[PARTNER])
    )
    await session.commit()
    assert await stored(projects, review, expert_id=expert.user_id) == []


async def test_an_experts_declaration_about_a_participating_organization_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    code = await make_organization(session, projects, PARTNER, "兰州兰石集团有限公司")
    await make_expert(session, projects, "declarer", org=2)
    consortium = await make_application(session, projects, call)
    await take_part(session, projects, consortium, PARTNER)
    reply = await projects.call(
        "POST",
        "/v1/experts/me/conflicts",
        "declarer",
        json={"credit_code": code, "reason": "曾在该企业兼职"},
    )
    assert reply.status_code == 201, reply.text

    (found,) = await stored(projects, review, kind="declared")

    (declared,) = found["evidence"]["declarations"]
    assert (declared["matches"], declared["credit_code"]) == ("partner_org", code)


async def test_a_participating_organizations_evaluator_is_not_engaged_on_the_project(
    session: AsyncSession, projects: Projects, gateway: FastAPI
) -> None:
    await make_organization(session, projects, PARTNER, "兰州兰石集团有限公司")
    await add_person(session, projects, gateway, "兰石评价员", (Role.evaluator,), org=PARTNER)
    partnered = await insert_project(session, projects, "applicant", status="in_progress")
    application = await session.get(Application, partnered.application_id)
    assert application is not None
    await take_part(session, projects, application, PARTNER)
    other = await insert_project(session, projects, "applicant", status="in_progress")

    refused = await engage(projects, evaluator="兰石评价员", project_id=partnered.id)
    accepted = await engage(projects, evaluator="兰石评价员", project_id=other.id)

    assert (refused.status_code, refused.json()["code"]) == (403, "duty.conflict")
    assert accepted.status_code == 201, accepted.text
    assert await transitions(session, partnered.id) == []


async def test_an_assignment_run_never_proposes_a_partners_expert_for_the_consortium(
    session: AsyncSession, projects: Projects, call: Call
) -> None:
    await make_organization(session, projects, PARTNER, "兰州兰石集团有限公司")
    # The best match of both applications (shared keywords), of the partner organization.
    await expert(session, projects, "兰石专家", org=PARTNER, keywords=("小麦", "栽培"))
    for n in range(2):
        await expert(session, projects, f"外单位专家{n}")
    consortium = await application(session, projects, call, "applicant")
    await take_part(session, projects, consortium, PARTNER)
    alone = await application(session, projects, call, "applicant2")
    round_ = await review_round(session, projects, call, 2)

    run = await dry_run(projects, round_)

    partner_expert = ids(projects, "兰石专家")
    assert {e for a, e in pairs_of(run) if a == str(consortium.id)} == ids(
        projects, "外单位专家0", "外单位专家1"
    )
    assert partner_expert <= {e for a, e in pairs_of(run) if a == str(alone.id)}
    assert (await apply(projects, run)).status_code == 200
    assert (str(consortium.id), *partner_expert) not in live(await assignments(session, round_))
