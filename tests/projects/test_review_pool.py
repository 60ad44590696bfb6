"""The expert pool: registration from the directory, search, the expert's own entry and
declared conflicts, and organization links."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import DeclaredConflict, Expert, OrganizationLink, Transition
from services.projects.models import directory as people
from shared.auth.roles import Role
from tests.conftest import org_code
from tests.projects.conftest import Projects, add_person
from tests.projects.review_factories import make_expert, make_organization

PROFILE: dict[str, Any] = {
    "title": "研究员",
    "region": "甘肃",
    "primary_subjects": ["210.20", "210.2010"],
    "secondary_subjects": ["230"],
    "keywords": ["节水农业", "小麦"],
    "max_load": 12,
    "availability": [{"from": "2026-03-01", "to": "2026-06-30"}],
}


async def register(
    projects: Projects, who: str = "expert", by: str = "manager", **overrides: Any
) -> Any:
    user_id = projects.callers[who].user_id
    return await projects.call("PUT", f"/v1/experts/{user_id}", by, json=PROFILE | overrides)


async def declare(projects: Projects, who: str = "expert", **body: Any) -> Any:
    return await projects.call(
        "POST", "/v1/experts/me/conflicts", who, json={"reason": "指导过其博士论文"} | body
    )


# --- registration -------------------------------------------------------------------------


async def test_a_manager_registers_an_expert_from_the_directory(
    session: AsyncSession, projects: Projects
) -> None:
    reply = await register(projects)

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["name"] == "吴磊"  # from the directory
    assert body["org_id"] == str(projects.orgs[2])
    assert body["org_credit_code"] == org_code(2)
    assert body["org_name"] == "甘肃省农业科学院"
    assert body["primary_subjects"] == ["210.20", "210.2010"]
    assert body["max_load"] == 12
    assert body["availability"] == [{"from": "2026-03-01", "to": "2026-06-30"}]
    assert body["active"] is True
    assert body["declared_conflicts"] == []
    recorded = await session.scalar(
        sa.select(Transition).where(
            Transition.entity == "expert",
            Transition.entity_id == projects.callers["expert"].user_id,
        )
    )
    assert recorded is not None
    assert (recorded.action, recorded.to_state) == ("registered", "active")


async def test_registering_again_updates_the_entry(
    session: AsyncSession, projects: Projects
) -> None:
    assert (await register(projects)).status_code == 201

    reply = await register(projects, title="教授", active=False, max_load=3)

    assert reply.status_code == 200, reply.text
    assert (reply.json()["title"], reply.json()["active"], reply.json()["max_load"]) == (
        "教授",
        False,
        3,
    )
    assert await session.scalar(sa.select(sa.func.count()).select_from(Expert)) == 1
    actions = (
        await session.execute(
            sa.select(Transition.action, Transition.from_state, Transition.to_state)
            .where(Transition.entity == "expert")
            .order_by(Transition.id)
        )
    ).all()
    assert [tuple(a) for a in actions] == [
        ("registered", None, "active"),
        ("updated", "active", "inactive"),
    ]


async def test_only_active_people_with_the_expert_role_are_registered(
    session: AsyncSession, projects: Projects
) -> None:
    not_expert = await register(projects, who="applicant")
    await session.execute(
        sa.update(people.users)
        .where(people.users.c.id == projects.callers["expert"].user_id)
        .values(is_active=False)
    )
    await session.commit()
    inactive = await register(projects)
    unknown = await projects.call(
        "PUT", "/v1/experts/0193a5c0-0000-7000-8000-00000000ffff", "manager", json=PROFILE
    )

    for reply in (not_expert, inactive, unknown):
        assert reply.status_code == 422
        assert reply.json()["code"] == "expert.not_eligible"
    assert await session.scalar(sa.select(sa.func.count()).select_from(Expert)) == 0


async def test_bad_profiles_are_refused(session: AsyncSession, projects: Projects) -> None:
    bad: list[dict[str, Any]] = [
        {"primary_subjects": []},
        {"primary_subjects": ["210", "220", "230", "240"]},
        {"primary_subjects": ["21"]},
        {"primary_subjects": ["210.2"]},
        {"primary_subjects": ["210.201010"]},
        {"secondary_subjects": ["abc"]},
        {"secondary_subjects": ["210.20"]},  # also primary
        {"secondary_subjects": ["230", "231", "232", "233", "234", "235"]},
        {"keywords": [f"词{n}" for n in range(11)]},
        {"keywords": ["小麦", "小麦"]},
        {"max_load": 0},
        {"max_load": 101},
        {"availability": [{"from": "2026-07-01", "to": "2026-06-30"}]},
        {"title": ""},
        {"unknown": 1},
    ]
    for overrides in bad:
        reply = await register(projects, **overrides)
        assert reply.status_code == 422, (overrides, reply.text)
    assert await session.scalar(sa.select(sa.func.count()).select_from(Expert)) == 0


async def test_applicants_and_experts_do_not_register_experts(projects: Projects) -> None:
    assert (await register(projects, by="applicant")).status_code == 403
    assert (await register(projects, by="expert")).status_code == 403
    assert (await register(projects, by="admin")).status_code == 201


# --- reading and searching the pool ---------------------------------------------------------


async def search(projects: Projects, **params: Any) -> list[str]:
    reply = await projects.call("GET", "/v1/experts", "manager", params=params)
    assert reply.status_code == 200, reply.text
    return [e["name"] for e in reply.json()["items"]]


async def test_the_pool_is_searched_by_subject_keyword_activity_and_organization(
    session: AsyncSession, projects: Projects
) -> None:
    await make_expert(session, projects, "agronomist", org=1, primary=("210.20",))
    await make_expert(
        session, projects, "botanist", org=2, primary=("180",), secondary=("210.2010",)
    )
    await make_expert(
        session, projects, "chemist", primary=("150.10",), keywords=("催化",), active=False
    )

    assert await search(projects, subject="210") == ["agronomist", "botanist"]
    assert await search(projects, subject="210.20") == ["agronomist", "botanist"]
    assert await search(projects, subject="210.2010") == ["botanist"]
    assert await search(projects, keyword="催化") == ["chemist"]
    assert await search(projects, active="true") == ["agronomist", "botanist"]
    assert await search(projects, active="false") == ["chemist"]
    assert await search(projects, credit_code=org_code(2).lower()) == ["botanist"]
    bad = await projects.call("GET", "/v1/experts", "manager", params={"subject": "21x"})
    assert bad.status_code == 422


async def test_the_pool_pages(session: AsyncSession, projects: Projects) -> None:
    for n in range(3):
        await make_expert(session, projects, f"pooled_{n}")

    first = await projects.call("GET", "/v1/experts", "manager", params={"limit": 2})
    rest = await projects.call(
        "GET",
        "/v1/experts",
        "manager",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
    )

    assert [e["name"] for e in first.json()["items"]] == ["pooled_0", "pooled_1"]
    assert [e["name"] for e in rest.json()["items"]] == ["pooled_2"]
    assert rest.json()["next_cursor"] is None


async def test_experts_read_their_own_entry_only(session: AsyncSession, projects: Projects) -> None:
    mine = await make_expert(session, projects, "expert")
    other = await make_expert(session, projects, "other_expert")

    own = await projects.call("GET", f"/v1/experts/{mine.user_id}", "expert")
    me = await projects.call("GET", "/v1/experts/me", "expert")
    theirs = await projects.call("GET", f"/v1/experts/{other.user_id}", "expert")
    by_applicant = await projects.call("GET", f"/v1/experts/{mine.user_id}", "applicant")
    listing = await projects.call("GET", "/v1/experts", "expert")

    assert own.status_code == 200
    assert me.json() == own.json()
    assert theirs.status_code == 404
    assert by_applicant.status_code == 403
    assert listing.status_code == 403


async def test_someone_outside_the_pool_has_no_entry(projects: Projects) -> None:
    for method, path in (("GET", "/v1/experts/me"), ("GET", "/v1/experts/me/conflicts")):
        reply = await projects.call(method, path, "expert")
        assert reply.status_code == 404
        assert reply.json()["code"] == "expert.not_found"
    assert (
        await declare(projects, person_id=str(projects.callers["applicant"].user_id))
    ).status_code == 404


# --- the expert's own changes ----------------------------------------------------------------


async def test_an_expert_updates_availability_keywords_and_secondary_subjects(
    session: AsyncSession, projects: Projects
) -> None:
    await make_expert(session, projects, "expert", primary=("210.20",), keywords=("旧",))

    reply = await projects.call(
        "PATCH",
        "/v1/experts/me",
        "expert",
        json={
            "keywords": ["旱作农业"],
            "secondary_subjects": ["230.10"],
            "availability": [{"from": "2026-04-01", "to": "2026-04-30"}],
        },
    )

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["keywords"] == ["旱作农业"]
    assert body["secondary_subjects"] == ["230.10"]
    assert body["availability"] == [{"from": "2026-04-01", "to": "2026-04-30"}]
    assert body["primary_subjects"] == ["210.20"]
    for bad in (
        {"secondary_subjects": ["210.20"]},  # a primary one
        {"max_load": 50},  # the agency's to set
        {"availability": [{"from": "2026-05-01", "to": "2026-04-01"}]},
    ):
        refused = await projects.call("PATCH", "/v1/experts/me", "expert", json=bad)
        assert refused.status_code == 422, bad


# --- declared conflicts -----------------------------------------------------------------------


async def test_an_expert_declares_conflicts_and_managers_see_them(
    session: AsyncSession, projects: Projects
) -> None:
    expert = await make_expert(session, projects, "expert")
    applicant = projects.callers["applicant"]

    person = await declare(projects, person_id=str(applicant.user_id))
    org = await declare(projects, credit_code=org_code(1).lower(), reason="曾在该单位兼职")
    again = await declare(projects, person_id=str(applicant.user_id))

    assert person.status_code == 201, person.text
    assert person.json()["person_name"] == "王芳"
    assert org.status_code == 201
    assert (org.json()["credit_code"], org.json()["org_name"]) == (org_code(1), "兰州大学")
    assert again.status_code == 409
    assert again.json()["code"] == "declared_conflict.exists"
    own = await projects.call("GET", "/v1/experts/me/conflicts", "expert")
    assert [d["id"] for d in own.json()["items"]] == [person.json()["id"], org.json()["id"]]
    seen = await projects.call("GET", f"/v1/experts/{expert.user_id}", "manager")
    assert seen.json()["declared_conflicts"] == own.json()["items"]
    recorded = (
        await session.scalars(
            sa.select(Transition)
            .where(Transition.action == "conflict.declared")
            .order_by(Transition.id)
        )
    ).all()
    assert [t.reason for t in recorded] == ["指导过其博士论文", "曾在该单位兼职"]


async def test_bad_declarations_are_refused(session: AsyncSession, projects: Projects) -> None:
    expert = await make_expert(session, projects, "expert")
    bad: list[dict[str, Any]] = [
        {},
        {"person_id": str(projects.callers["applicant"].user_id), "credit_code": org_code(1)},
        {"credit_code": "91620100000000000X"},  # wrong check character
        {"person_id": str(expert.user_id)},
        {"person_id": "0193a5c0-0000-7000-8000-00000000ffff"},
        {"person_id": str(projects.callers["applicant"].user_id), "reason": ""},
    ]
    for body in bad:
        reply = await declare(projects, **body)
        assert reply.status_code == 422, (body, reply.text)
    assert await session.scalar(sa.select(sa.func.count()).select_from(DeclaredConflict)) == 0
    by_manager = await projects.call(
        "POST", "/v1/experts/me/conflicts", "manager", json={"credit_code": org_code(1)}
    )
    assert by_manager.status_code == 403


# --- organization links -------------------------------------------------------------------------


async def link(projects: Projects, parent: str, child: str, who: str = "manager") -> Any:
    return await projects.call(
        "POST",
        "/v1/organization-links",
        who,
        json={"parent_code": parent, "child_code": child},
    )


async def test_managers_declare_and_list_organization_links(
    session: AsyncSession, projects: Projects
) -> None:
    subsidiary = await make_organization(session, projects, 3, "兰州大学资产经营有限公司")

    reply = await link(projects, org_code(1), subsidiary.lower())
    reverse = await link(projects, subsidiary, org_code(1))
    same = await link(projects, org_code(1), org_code(1))
    invalid = await link(projects, org_code(1), "91620100000000000X")
    by_applicant = await link(projects, org_code(2), subsidiary, who="applicant")

    assert reply.status_code == 201, reply.text
    assert reply.json()["parent_name"] == "兰州大学"
    assert reply.json()["child_code"] == subsidiary
    assert reverse.status_code == 409
    assert reverse.json()["code"] == "organization_link.exists"
    assert (same.status_code, invalid.status_code, by_applicant.status_code) == (422, 422, 403)
    assert await session.scalar(sa.select(sa.func.count()).select_from(OrganizationLink)) == 1
    listed = await projects.call(
        "GET", "/v1/organization-links", "manager", params={"credit_code": subsidiary}
    )
    assert [(x["parent_code"], x["child_code"]) for x in listed.json()["items"]] == [
        (org_code(1), subsidiary)
    ]
    none = await projects.call(
        "GET", "/v1/organization-links", "manager", params={"credit_code": org_code(2)}
    )
    assert none.json()["items"] == []


async def test_a_person_added_later_with_the_expert_role_can_be_registered(
    session: AsyncSession, projects: Projects
) -> None:
    await add_person(session, projects, "newcomer", (Role.expert, Role.applicant), None, "新专家")
    await session.commit()

    reply = await register(projects, who="newcomer")

    assert reply.status_code == 201, reply.text
    assert (reply.json()["org_id"], reply.json()["org_credit_code"]) == (None, None)
