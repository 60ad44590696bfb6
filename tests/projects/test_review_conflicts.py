"""Conflicts of interest in a review round: every rule with its evidence, organization links
either way and through the directory, the co-applicant window, overrides and refreshes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Call,
    Conflict,
    DeclaredConflict,
    ReviewRound,
    Transition,
)
from services.projects.review.rounds.conflicts import (
    active_conflicts,
    blocked_pairs,
    find_conflicts,
    refresh_conflicts,
)
from tests.conftest import org_code
from tests.projects.conftest import ZDZX, Projects, closed_call, insert_call
from tests.projects.review_factories import (
    make_application,
    make_expert,
    make_organization,
    make_round,
)


@pytest.fixture
async def call(session: AsyncSession, projects: Projects) -> Call:
    return await closed_call(session, projects)


@pytest.fixture
async def review(session: AsyncSession, projects: Projects, call: Call) -> ReviewRound:
    return await make_round(session, projects, call)


async def refresh(projects: Projects, review: ReviewRound, who: str = "manager") -> Any:
    return await projects.call("POST", f"/v1/review-rounds/{review.id}/conflicts/refresh", who)


async def listed(projects: Projects, review: ReviewRound, **filters: Any) -> list[dict[str, Any]]:
    params = {k: str(v) for k, v in filters.items()}
    reply = await projects.call(
        "GET", f"/v1/review-rounds/{review.id}/conflicts", "manager", params=params
    )
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


async def the_conflict(
    projects: Projects, review: ReviewRound, application: Application, expert: UUID, kind: str
) -> dict[str, Any]:
    """After a refresh: the one stored conflict of this kind for the pair."""
    assert (await refresh(projects, review)).status_code == 200
    found = await listed(
        projects, review, application_id=application.id, expert_id=expert, kind=kind
    )
    assert len(found) == 1, found
    return found[0]


async def override(
    projects: Projects,
    review: ReviewRound,
    application: Application,
    expert: UUID,
    kind: str,
    reason: str = "该专家与申请人仅为同一学会会员，无实质合作关系。",
    who: str = "manager",
) -> Any:
    body = {
        "application_id": str(application.id),
        "expert_id": str(expert),
        "kind": kind,
        "reason": reason,
    }
    return await projects.call(
        "POST", f"/v1/review-rounds/{review.id}/conflicts/override", who, json=body
    )


# --- one test per rule, with its evidence -------------------------------------------------


async def test_an_expert_on_the_team_conflicts_as_a_team_member(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    member = await make_expert(session, projects, "team_expert")
    application = await make_application(session, projects, call, team=[member])

    found = await the_conflict(projects, review, application, member.user_id, "team")

    evidence = found["evidence"]
    assert evidence["rule"] == "team"
    assert evidence["role"] == "team_member"
    assert evidence["application"] == {"id": str(application.id), "title": application.title}
    assert evidence["expert"]["id"] == str(member.user_id)
    assert evidence["summary"]["zh"] == "专家是该申报书的项目组成员"
    assert found["expert_name"] == "team_expert"
    assert found["overridden"] is False


async def test_the_applicant_in_the_pool_conflicts_as_the_applicant(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    colleague = await make_expert(session, projects, "colleague")  # org 1, like `applicant`
    application = await make_application(session, projects, call, who="colleague")

    found = await the_conflict(projects, review, application, colleague.user_id, "team")

    assert found["evidence"]["role"] == "applicant"


async def test_an_expert_of_the_applicants_organization_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    same = await make_expert(session, projects, "same_org_expert", org=1)
    application = await make_application(session, projects, call)

    found = await the_conflict(projects, review, application, same.user_id, "same_org")

    evidence = found["evidence"]
    assert evidence["relation"] == "same"
    assert evidence["applicant_org"] == {"credit_code": org_code(1), "name": "兰州大学"}
    assert evidence["expert_org"] == {"credit_code": org_code(1), "name": "兰州大学"}
    assert evidence["links"] == []


async def test_an_avoid_list_names_the_expert_or_their_organization(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    named = await make_expert(session, projects, "named_expert")
    of_org = await make_expert(session, projects, "expert")  # the fixture's expert, org 2
    application = await make_application(
        session,
        projects,
        call,
        avoid=[
            {"user_id": named.user_id, "reason": "学术观点长期对立"},
            {"credit_code": org_code(2), "reason": "同领域竞争单位"},
        ],
    )
    assert (await refresh(projects, review)).status_code == 200

    (by_person,) = await listed(projects, review, expert_id=named.user_id, kind="avoid_list")
    (by_org,) = await listed(projects, review, expert_id=of_org.user_id, kind="avoid_list")

    assert by_person["application_id"] == str(application.id)
    assert by_person["evidence"]["entries"] == [
        {"user_id": str(named.user_id), "reason": "学术观点长期对立"}
    ]
    assert by_org["evidence"]["entries"] == [
        {"credit_code": org_code(2), "org_name": "甘肃省农业科学院", "reason": "同领域竞争单位"}
    ]


async def test_a_co_applicant_within_the_window_conflicts_with_the_past_application_named(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    partner = await make_expert(session, projects, "partner_expert")
    earlier_call = await insert_call(session, projects, year=2024, title="2024年度重点研发计划")
    earlier = await make_application(
        session,
        projects,
        earlier_call,
        who="applicant2",
        status="approved",
        team=[partner, projects.callers["applicant"]],
        submitted_at=projects.clock.now - timedelta(days=2 * 365),
    )
    application = await make_application(session, projects, call)

    found = await the_conflict(projects, review, application, partner.user_id, "co_applicant")

    evidence = found["evidence"]
    assert evidence["window_years"] == 3
    (shared,) = evidence["shared_applications"]
    assert shared["application_id"] == str(earlier.id)
    assert shared["title"] == earlier.title
    assert shared["year"] == 2024
    assert shared["person_id"] == str(projects.callers["applicant"].user_id)
    assert shared["person_role"] == "applicant"


async def test_co_applicants_outside_the_window_or_on_a_draft_do_not_conflict(
    session: AsyncSession, projects: Projects, call: Call
) -> None:
    partner = await make_expert(session, projects, "partner_expert")
    colleague = projects.callers["colleague"]
    old_call = await insert_call(session, projects, year=2022)
    await make_application(
        session,
        projects,
        old_call,
        who="applicant2",
        status="approved",
        team=[partner, projects.callers["applicant"]],
        submitted_at=projects.clock.now - timedelta(days=4 * 365),
    )
    draft_call = await insert_call(session, projects, year=2026)
    await make_application(
        session, projects, draft_call, who="applicant2", status="draft", team=[partner, colleague]
    )
    mine = await make_application(session, projects, call, team=[colleague])
    three_years = await make_round(session, projects, call)

    assert await find_conflicts(session, three_years, expert_ids=[partner.user_id]) == []

    three_years.co_applicant_years = 5
    await session.commit()
    (found,) = await find_conflicts(session, three_years, expert_ids=[partner.user_id])
    assert (found.application_id, found.kind) == (mine.id, "co_applicant")


async def test_an_experts_declaration_of_a_person_or_organization_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    of_person = await make_expert(session, projects, "declares_person")
    of_org = await make_expert(session, projects, "declares_org")
    application = await make_application(session, projects, call)
    for who, body in (
        ("declares_person", {"person_id": str(projects.callers["applicant"].user_id)}),
        ("declares_org", {"credit_code": org_code(1).lower()}),
    ):
        reply = await projects.call(
            "POST", "/v1/experts/me/conflicts", who, json=body | {"reason": "近五年指导过其博士"}
        )
        assert reply.status_code == 201, reply.text

    person = await the_conflict(projects, review, application, of_person.user_id, "declared")
    org = await the_conflict(projects, review, application, of_org.user_id, "declared")

    (declared,) = person["evidence"]["declarations"]
    assert declared["matches"] == "applicant"
    assert declared["person_id"] == str(projects.callers["applicant"].user_id)
    assert declared["reason"] == "近五年指导过其博士"
    (declared,) = org["evidence"]["declarations"]
    assert (declared["matches"], declared["credit_code"]) == ("applicant_org", org_code(1))


async def test_a_declaration_about_a_team_member_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    expert = await make_expert(session, projects, "declarer")
    colleague = projects.callers["colleague"]
    application = await make_application(session, projects, call, team=[colleague])
    session.add(
        DeclaredConflict(expert_id=expert.user_id, person_id=colleague.user_id, reason="亲属关系")
    )
    await session.commit()

    found = await the_conflict(projects, review, application, expert.user_id, "declared")

    assert found["evidence"]["declarations"][0]["matches"] == "team_member"


# --- organizations linked either way, and through the directory ----------------------------


async def link(projects: Projects, parent: str, child: str) -> None:
    reply = await projects.call(
        "POST",
        "/v1/organization-links",
        "manager",
        json={"parent_code": parent, "child_code": child},
    )
    assert reply.status_code == 201, reply.text


async def test_an_expert_of_a_declared_subsidiary_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    code = await make_organization(session, projects, 3, "兰州大学资产经营有限公司")
    expert = await make_expert(session, projects, "subsidiary_expert", org=3)
    application = await make_application(session, projects, call)
    await link(projects, org_code(1), code)

    found = await the_conflict(projects, review, application, expert.user_id, "same_org")

    evidence = found["evidence"]
    assert evidence["relation"] == "subsidiary"
    assert evidence["expert_org"] == {"credit_code": code, "name": "兰州大学资产经营有限公司"}
    assert evidence["links"] == [
        {"parent_code": org_code(1), "child_code": code, "sources": ["declared"]}
    ]


async def test_an_expert_of_a_declared_parent_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    code = await make_organization(session, projects, 3, "甘肃省教育厅", kind="government")
    expert = await make_expert(session, projects, "parent_expert", org=3)
    application = await make_application(session, projects, call)
    await link(projects, code, org_code(1))

    found = await the_conflict(projects, review, application, expert.user_id, "same_org")

    assert found["evidence"]["relation"] == "parent"
    assert found["evidence"]["links"] == [
        {"parent_code": code, "child_code": org_code(1), "sources": ["declared"]}
    ]


async def test_the_directorys_parent_organization_links_too_but_siblings_do_not(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    code = await make_organization(session, projects, 3, "兰州大学第一医院", parent=1)
    await make_organization(session, projects, 4, "兰州大学第二医院", parent=1)
    expert = await make_expert(session, projects, "hospital_expert", org=3)
    sibling = await make_expert(session, projects, "sibling_expert", org=4)
    mine = await make_application(session, projects, call)
    sibling_application = await make_application(session, projects, call, who="sibling_expert")

    found = await the_conflict(projects, review, mine, expert.user_id, "same_org")

    assert found["evidence"]["relation"] == "subsidiary"
    assert found["evidence"]["links"] == [
        {"parent_code": org_code(1), "child_code": code, "sources": ["directory"]}
    ]
    # The two hospitals are each other's siblings, not the same organization.
    assert (
        await listed(
            projects, review, application_id=sibling_application.id, expert_id=expert.user_id
        )
        == []
    )
    assert await listed(projects, review, application_id=mine.id, expert_id=sibling.user_id) != []


# --- refresh and overrides ----------------------------------------------------------------


async def test_a_refresh_counts_by_kind_and_a_second_one_changes_nothing(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    member = await make_expert(session, projects, "member_expert", org=1)
    await make_application(session, projects, call, team=[member])

    first = await refresh(projects, review)
    second = await refresh(projects, review)

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["added"] == 2
    assert body["counts"]["team"] == {"total": 1, "overridden": 0}
    assert body["counts"]["same_org"] == {"total": 1, "overridden": 0}
    assert body["counts"]["declared"] == {"total": 0, "overridden": 0}
    assert second.json() | {"counts": None} == {
        "added": 0,
        "updated": 0,
        "removed": 0,
        "total": 2,
        "counts": None,
    }


async def test_an_override_needs_a_written_reason_and_is_recorded(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    expert = await make_expert(session, projects, "override_expert", org=1)
    application = await make_application(session, projects, call)
    await the_conflict(projects, review, application, expert.user_id, "same_org")

    short = await override(projects, review, application, expert.user_id, "same_org", "同意")
    done = await override(projects, review, application, expert.user_id, "same_org")
    again = await override(projects, review, application, expert.user_id, "same_org")

    assert short.status_code == 422
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["overridden"] is True
    assert body["overridden_by"] == str(projects.callers["manager"].user_id)
    assert body["override_reason"] == "该专家与申请人仅为同一学会会员，无实质合作关系。"
    assert again.status_code == 409
    assert again.json()["code"] == "conflict.overridden"
    row = await session.scalar(
        sa.select(Conflict)
        .where(Conflict.expert_id == expert.user_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    assert row.overridden_at == projects.clock.now
    recorded = await session.scalar(
        sa.select(Transition).where(
            Transition.entity_id == review.id, Transition.action == "conflict.overridden"
        )
    )
    assert recorded is not None
    assert recorded.application_id == application.id
    assert recorded.reason == body["override_reason"]
    assert recorded.actor_id == str(projects.callers["manager"].user_id)
    assert recorded.details["kind"] == "same_org"
    assert await active_conflicts(session, review.id, application.id, expert.user_id) == []


async def test_no_override_for_a_conflict_that_does_not_exist(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    expert = await make_expert(session, projects, "free_expert")
    application = await make_application(session, projects, call)

    reply = await override(projects, review, application, expert.user_id, "team")

    assert reply.status_code == 404
    assert reply.json()["code"] == "conflict.not_found"


async def test_a_manager_on_the_team_may_not_override(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    expert = await make_expert(session, projects, "some_expert", org=1)
    application = await make_application(
        session, projects, call, team=[projects.callers["manager"]]
    )
    await the_conflict(projects, review, application, expert.user_id, "same_org")

    reply = await override(projects, review, application, expert.user_id, "same_org")

    assert reply.status_code == 403
    assert reply.json()["code"] == "duty.conflict"


async def test_a_refresh_keeps_overrides_and_drops_conflicts_whose_cause_is_gone(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    kept = await make_expert(session, projects, "kept_expert")
    dropped = await make_expert(session, projects, "dropped_expert")
    application = await make_application(
        session,
        projects,
        call,
        avoid=[{"user_id": kept.user_id}, {"user_id": dropped.user_id}],
    )
    assert (await refresh(projects, review)).json()["counts"]["avoid_list"]["total"] == 2
    assert (await override(projects, review, application, kept.user_id, "avoid_list")).is_success
    # The applicant's avoid list as judged is now empty (e.g. corrected by the agency).
    version = await session.get(ApplicationVersion, (application.id, 1))
    assert version is not None
    version.content = {**version.content, "avoid": []}
    await session.commit()

    reply = await refresh(projects, review)

    assert reply.json()["removed"] == 1
    assert reply.json()["counts"]["avoid_list"] == {"total": 1, "overridden": 1}
    (left,) = await listed(projects, review, kind="avoid_list")
    assert (left["expert_id"], left["overridden"]) == (str(kept.user_id), True)


async def test_conflicts_arising_after_the_refresh_still_bar_the_pair(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    expert = await make_expert(session, projects, "late_declarer")
    application = await make_application(session, projects, call)
    assert (await refresh(projects, review)).json()["total"] == 0
    reply = await projects.call(
        "POST",
        "/v1/experts/me/conflicts",
        "late_declarer",
        json={"person_id": str(projects.callers["applicant"].user_id), "reason": "曾合作发表论文"},
    )
    assert reply.status_code == 201

    (active,) = await active_conflicts(session, review.id, application.id, expert.user_id)
    blocked = await blocked_pairs(session, review)

    assert active.kind == "declared"
    assert active.evidence["declarations"][0]["reason"] == "曾合作发表论文"
    assert blocked == {(application.id, expert.user_id): ["declared"]}
    # ... and a manager may override it before any refresh stored it.
    done = await override(projects, review, application, expert.user_id, "declared")
    assert done.status_code == 200, done.text
    assert await active_conflicts(session, review.id, application.id, expert.user_id) == []
    assert await blocked_pairs(session, review) == {}


async def test_find_conflicts_narrows_to_the_pairs_asked_about(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    first = await make_expert(session, projects, "first_expert", org=1)
    second = await make_expert(session, projects, "second_expert", org=1)
    mine = await make_application(session, projects, call)
    other = await make_application(session, projects, call, who="colleague")

    narrowed = await find_conflicts(
        session, review, application_ids=[mine.id], expert_ids=[second.user_id]
    )
    everything = await find_conflicts(session, review)

    assert [(c.application_id, c.expert_id, c.kind) for c in narrowed] == [
        (mine.id, second.user_id, "same_org")
    ]
    assert {(c.application_id, c.expert_id) for c in everything} == {
        (a, e) for a in (mine.id, other.id) for e in (first.user_id, second.user_id)
    }
    assert await find_conflicts(session, review, expert_ids=[]) == []
    assert await refresh_conflicts(session, review, projects.clock.now) == 4


# --- who may see and act --------------------------------------------------------------------


async def test_only_the_programs_managers_see_and_override_conflicts(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    expert = await make_expert(session, projects, "scoped_expert", org=1)
    application = await make_application(session, projects, call)
    await the_conflict(projects, review, application, expert.user_id, "same_org")
    path = f"/v1/review-rounds/{review.id}/conflicts"

    assert (await projects.call("GET", path, "manager2")).status_code == 403
    assert (await projects.call("GET", path, "applicant")).status_code == 403
    assert (await projects.call("GET", path, "scoped_expert")).status_code == 403
    assert (await refresh(projects, review, "manager2")).status_code == 403
    reply = await override(
        projects, review, application, expert.user_id, "same_org", who="manager2"
    )
    assert reply.status_code == 403
    assert (await projects.call("GET", path, "admin")).status_code == 200


async def test_the_conflict_list_pages_and_filters(
    session: AsyncSession, projects: Projects, call: Call, review: ReviewRound
) -> None:
    for n in range(3):
        await make_expert(session, projects, f"paged_expert_{n}", org=1)
    await make_application(session, projects, call)
    assert (await refresh(projects, review)).json()["total"] == 3

    first = await projects.call(
        "GET", f"/v1/review-rounds/{review.id}/conflicts", "manager", params={"limit": 2}
    )
    cursor = first.json()["next_cursor"]
    rest = await projects.call(
        "GET",
        f"/v1/review-rounds/{review.id}/conflicts",
        "manager",
        params={"limit": 2, "cursor": cursor},
    )

    assert len(first.json()["items"]) == 2
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    assert await listed(projects, review, kind="team") == []


async def test_a_round_of_another_program_is_refused_to_its_non_managers(
    session: AsyncSession, projects: Projects
) -> None:
    zdzx = await closed_call(session, projects, program_id=ZDZX)
    review = await make_round(session, projects, zdzx)

    assert (await refresh(projects, review, "manager")).status_code == 403
    assert (await refresh(projects, review, "manager2")).status_code == 200
