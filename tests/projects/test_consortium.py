"""Consortium applications (产学研联合申报): the organizations' shares add up to the budget,
each participating organization endorses its own part, and the application is submitted
only once all of them have; co-PIs and the partners' admins read, only the PI's side writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ConsortiumPart
from shared.auth.roles import Role
from tests.projects.collaboration_helpers import (
    BUDGET,
    THIRD,
    consortium_draft,
    endorse_part,
    parts,
    same_team_content,
    set_parts,
    third_organization,
    two_organization_team,
)
from tests.projects.conftest import Projects, add_person, insert_call
from tests.projects.factories import insert_project, put_on_team
from tests.projects.test_applications_helpers import act, user


def problem(reply: Any) -> tuple[int, str]:
    return reply.status_code, reply.json().get("code", "")


async def history_actions(projects: Projects, application_id: str) -> list[tuple[str, str]]:
    story = await projects.call("GET", f"/v1/applications/{application_id}/history", "applicant")
    return [(e["action"], e["actor_id"]) for e in story.json()["items"]]


async def test_submission_waits_until_every_participant_has_endorsed_its_part(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    set_reply = await set_parts(projects, app_id, parts(projects))
    assert set_reply.status_code == 200, set_reply.text
    consortium = set_reply.json()
    assert (consortium["budget_fen"], consortium["shares_fen"]) == (BUDGET, BUDGET)
    lead, partner = consortium["parts"]
    assert (lead["org_id"], lead["is_lead"], lead["endorsement"]) == (
        str(projects.orgs[1]),
        True,
        None,
    )
    assert (partner["org_name"], partner["endorsement"]) == ("甘肃省农业科学院", "pending")
    assert consortium["pending_org_ids"] == [str(projects.orgs[2])]

    refused = await act(projects, app_id, "submit", "applicant")
    assert problem(refused) == (409, "consortium.not_endorsed")
    assert refused.json()["pending_org_ids"] == [str(projects.orgs[2])]
    still = await projects.call("GET", f"/v1/applications/{app_id}", "applicant")
    assert still.json()["status"] == "draft"

    endorsed = await endorse_part(projects, app_id, 2, "org_admin2")
    assert endorsed.status_code == 200, endorsed.text
    partner = endorsed.json()["parts"][1]
    assert partner["endorsement"] == "endorsed"
    assert partner["endorsed_by"] == str(user(projects, "org_admin2"))
    assert partner["endorsed_version"] == application["version"]
    assert endorsed.json()["pending_org_ids"] == []

    submitted = await act(projects, app_id, "submit", "applicant")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    # The lead organization endorses the whole application, as for any application.
    lead_endorses = await act(projects, app_id, "endorsement", "org_admin", decision="endorse")
    assert lead_endorses.json()["status"] == "endorsed", lead_endorses.text
    assert await history_actions(projects, app_id) >= [
        ("create", str(user(projects, "applicant"))),
        ("consortium.set", str(user(projects, "applicant"))),
        ("consortium.endorse", str(user(projects, "org_admin2"))),
    ]
    # Submitted, the parts hold still.
    assert problem(await set_parts(projects, app_id, parts(projects))) == (
        409,
        "state.invalid_transition",
    )
    assert problem(await endorse_part(projects, app_id, 2, "org_admin2", "decline", "撤回")) == (
        409,
        "state.invalid_transition",
    )


async def test_the_shares_must_add_up_to_the_budget(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    short = await set_parts(projects, app_id, parts(projects, partner_fen=30_000_000))
    assert problem(short) == (422, "consortium.shares_mismatch")
    assert (short.json()["budget_fen"], short.json()["shares_fen"]) == (BUDGET, 90_000_000)
    nothing = await projects.call("GET", f"/v1/applications/{app_id}/consortium", "applicant")
    assert nothing.json()["parts"] == []  # nothing half-written

    assert (await set_parts(projects, app_id, parts(projects))).status_code == 200
    assert (await endorse_part(projects, app_id, 2, "org_admin2")).status_code == 200
    # The budget grows in a later version: the shares no longer add up, submission says so.
    bigger = {"equipment": 30_000_000, "business": 50_000_000, "labour": 20_000_000}
    saved = await projects.call(
        "PUT",
        f"/v1/applications/{app_id}",
        "applicant",
        json={
            "base_version": application["version"],
            "content": same_team_content(
                projects,
                budget={**bigger, "indirect": 10_000_000},
                attachments=application["content"]["attachments"],
            ),
        },
    )
    assert saved.status_code == 200, saved.text
    refused = await act(projects, app_id, "submit", "applicant")
    assert problem(refused) == (422, "consortium.shares_mismatch")
    assert refused.json()["budget_fen"] == BUDGET + 10_000_000
    fixed = await set_parts(projects, app_id, parts(projects, lead_fen=70_000_000))
    assert fixed.status_code == 200, fixed.text
    # The lead's part changed, the partner's did not: its endorsement stands.
    assert fixed.json()["pending_org_ids"] == []
    assert (await act(projects, app_id, "submit", "applicant")).status_code == 200


async def test_the_parts_are_checked_before_anything_is_written(
    projects: Projects, session: AsyncSession
) -> None:
    await third_organization(session, projects)
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    good = parts(projects)
    lead, partner = good["parts"]
    stranger = str(user(projects, "stranger"))
    third = {
        **partner,
        "org_id": str(projects.orgs[THIRD]),
        "co_pi_ids": [str(user(projects, "applicant3"))],
    }
    cases: list[tuple[Any, str]] = [
        ({"parts": [partner, third]}, "lead_missing"),
        (
            {"parts": [lead, {**partner, "org_id": "0193a5c0-0000-7000-8000-00000000dead"}]},
            "unknown_organizations",
        ),
        ({"parts": [lead, {**partner, "co_pi_ids": []}]}, "invalid_co_pis"),
        ({"parts": [lead, {**partner, "co_pi_ids": [stranger]}]}, "invalid_co_pis"),
        (  # a person of organization 2, but not on the team
            {"parts": [lead, {**partner, "co_pi_ids": [str(user(projects, "expert"))]}]},
            "invalid_co_pis",
        ),
        (
            {"parts": [{**lead, "co_pi_ids": [str(user(projects, "applicant"))]}, partner]},
            "invalid_co_pis",
        ),
    ]
    for body, code in cases:
        reply = await set_parts(projects, app_id, body)
        assert problem(reply) == (422, f"consortium.{code}"), (body, reply.text)
    for body in (
        {"parts": [lead]},
        {"parts": [lead, partner, partner]},
        {"parts": [lead, {**partner, "budget_fen": -1}]},
        {"parts": [lead, {**partner, "work": ""}]},
    ):
        reply = await set_parts(projects, app_id, body)
        assert problem(reply) == (422, "request.invalid"), body
    listed = await projects.call("GET", f"/v1/applications/{app_id}/consortium", "applicant")
    assert listed.json()["parts"] == []


async def test_a_changed_part_is_asked_again_and_a_decline_needs_reasons(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    await set_parts(projects, app_id, parts(projects))
    assert problem(await endorse_part(projects, app_id, 2, "org_admin2", "decline")) == (
        422,
        "reason.required",
    )
    declined = await endorse_part(projects, app_id, 2, "org_admin2", "decline", "经费份额过低")
    assert declined.json()["parts"][1]["endorsement"] == "declined"
    assert problem(await act(projects, app_id, "submit", "applicant")) == (
        409,
        "consortium.not_endorsed",
    )
    assert (await endorse_part(projects, app_id, 2, "org_admin2")).status_code == 200
    changed = parts(projects)
    changed["parts"][1]["work"] = "品种选育、示范推广与技术培训"
    rewritten = await set_parts(projects, app_id, changed)
    assert rewritten.json()["parts"][1]["endorsement"] == "pending"
    assert rewritten.json()["parts"][1]["endorsed_by"] is None
    story = await projects.call("GET", f"/v1/applications/{app_id}/history", "applicant")
    last = story.json()["items"][-1]
    assert (last["action"], last["details"]["endorsements_reset"]) == (
        "consortium.set",
        [str(projects.orgs[2])],
    )


async def test_an_organization_endorses_only_its_own_part(
    projects: Projects, session: AsyncSession
) -> None:
    await third_organization(session, projects)
    call = await insert_call(session, projects)
    team = [
        *two_organization_team(projects),
        {"user_id": str(user(projects, "applicant3")), "role": "课题负责人", "share": 0},
    ]
    application = await consortium_draft(projects, call, team=team)
    app_id = application["id"]
    body = parts(projects, partner_fen=30_000_000)
    body["parts"].append(
        {
            "org_id": str(projects.orgs[THIRD]),
            "budget_fen": 10_000_000,
            "work": "装备研制",
            "co_pi_ids": [str(user(projects, "applicant3"))],
        }
    )
    assert (await set_parts(projects, app_id, body)).status_code == 200
    # A participant's admin may not endorse another's part, nor the lead's admin anyone's.
    for who in ("org_admin3", "org_admin"):
        assert problem(await endorse_part(projects, app_id, 2, who)) == (
            403,
            "consortium.not_your_part",
        )
    assert problem(await endorse_part(projects, app_id, 1, "org_admin")) == (
        409,
        "consortium.lead_endorses_application",
    )
    # An organization with no part reads nothing of it.
    outsider = await add_person(session, projects, "outsider_admin", (Role.org_admin,), None, "x")
    await session.commit()
    assert outsider.org_id is None
    assert problem(await endorse_part(projects, app_id, 2, "outsider_admin")) == (
        404,
        "application.not_found",
    )
    # A researcher is not their organization's voice; an admin on the team is not either.
    assert (await endorse_part(projects, app_id, 2, "applicant2")).status_code == 403
    await add_person(session, projects, "admin_on_team", (Role.org_admin,), 2, "孙科研")
    await session.commit()
    on_team = [*team, {"user_id": str(user(projects, "admin_on_team")), "role": "成员", "share": 0}]
    resaved = await projects.call(
        "PUT",
        f"/v1/applications/{app_id}",
        "applicant",
        json={
            "base_version": application["version"],
            "content": same_team_content(
                projects, team=on_team, attachments=application["content"]["attachments"]
            ),
        },
    )
    assert resaved.status_code == 200, resaved.text
    assert problem(await endorse_part(projects, app_id, 2, "admin_on_team")) == (
        403,
        "duty.conflict",
    )
    shown = await projects.call("GET", f"/v1/applications/{app_id}/consortium", "applicant")
    assert [p["endorsement"] for p in shown.json()["parts"][1:]] == ["pending", "pending"]
    # Each endorses its own: then the PI submits.
    for org, admin in ((2, "org_admin2"), (THIRD, "org_admin3")):
        assert (await endorse_part(projects, app_id, org, admin)).status_code == 200
    assert (await act(projects, app_id, "submit", "applicant")).status_code == 200


async def test_the_team_and_the_partners_read_but_only_the_pi_writes(
    projects: Projects, session: AsyncSession
) -> None:
    await third_organization(session, projects)
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    base = f"/v1/applications/{app_id}"
    assert (await set_parts(projects, app_id, parts(projects))).status_code == 200
    # The co-PI (on the team) and the partner's admin read the draft and its consortium.
    for who in ("applicant2", "org_admin2", "org_admin", "applicant"):
        for path in (base, f"{base}/consortium", f"{base}/versions", f"{base}/history"):
            reply = await projects.call("GET", path, who)
            assert reply.status_code == 200, (who, path, reply.text)
        listed = await projects.call("GET", "/v1/applications", who)
        assert app_id in {a["id"] for a in listed.json()["items"]}, who
    # Nobody else, and not agency staff while it is a draft.
    for who in ("org_admin3", "applicant3", "colleague", "stranger", "manager"):
        for path in (base, f"{base}/consortium"):
            assert (await projects.call("GET", path, who)).status_code == 404, (who, path)
    # Reading is not writing: the co-PI and the partner's admin change nothing.
    edit = {"base_version": application["version"], "content": same_team_content(projects)}
    for who in ("applicant2", "org_admin2", "org_admin"):
        assert problem(await projects.call("PUT", base, who, json=edit)) == (
            403,
            "application.not_drafter",
        ), who
        assert problem(await set_parts(projects, app_id, parts(projects), who)) == (
            403,
            "application.not_drafter",
        ), who
        reply = await projects.call("DELETE", f"{base}/consortium", who)
        assert problem(reply) == (403, "application.not_drafter"), who
    assert problem(await act(projects, app_id, "submit", "applicant2")) == (
        404,
        "application.not_found",
    )
    # Once submitted, the program's manager reads the consortium too.
    assert (await endorse_part(projects, app_id, 2, "org_admin2")).status_code == 200
    assert (await act(projects, app_id, "submit", "applicant")).status_code == 200
    managed = await projects.call("GET", f"{base}/consortium", "manager")
    assert managed.status_code == 200, managed.text
    assert managed.json()["pending_org_ids"] == []
    assert (await projects.call("GET", f"{base}/consortium", "manager2")).status_code == 404


async def test_co_pis_and_partners_read_the_project_but_do_not_lead_it(
    projects: Projects, session: AsyncSession
) -> None:
    project = await insert_project(session, projects)
    path = f"/v1/projects/{project.id}"
    for who in ("applicant2", "org_admin2"):
        assert (await projects.call("GET", path, who)).status_code == 404, who
    await put_on_team(session, project, projects.callers["applicant2"])
    session.add(
        ConsortiumPart(
            application_id=project.application_id,
            org_id=projects.orgs[2],
            is_lead=False,
            budget_fen=30_000_000,
            work="品种选育",
            co_pi_ids=[user(projects, "applicant2")],
            endorsement="endorsed",
            endorsed_by=user(projects, "org_admin2"),
            endorsed_at=projects.clock.now,
            set_by=user(projects, "applicant"),
        )
    )
    await session.commit()
    for who in ("applicant2", "org_admin2"):
        for sub in ("", "/history", "/reports", "/changes"):
            reply = await projects.call("GET", f"{path}{sub}", who)
            assert reply.status_code == 200, (who, sub, reply.text)
        listed = await projects.call("GET", "/v1/projects", who)
        assert str(project.id) in {p["id"] for p in listed.json()["items"]}, who
    report = await projects.call(
        "POST",
        f"{path}/reports",
        "applicant2",
        json={"kind": "midterm", "content": {"summary": "中期报告"}},
    )
    assert problem(report) == (403, "project.not_lead")
    # The lead's admin reads it, as before; an admin of an organization that took no part
    # does not.
    assert (await projects.call("GET", path, "org_admin")).status_code == 200
    await third_organization(session, projects)
    assert (await projects.call("GET", path, "org_admin3")).status_code == 404


async def test_a_consortium_dissolved_is_an_application_alone_again(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    path = f"/v1/applications/{app_id}/consortium"
    assert problem(await projects.call("DELETE", path, "applicant")) == (
        404,
        "consortium.not_found",
    )
    await set_parts(projects, app_id, parts(projects))
    assert (await projects.call("DELETE", path, "applicant")).status_code == 204
    assert (await projects.call("GET", path, "applicant")).json()["parts"] == []
    # The partner's admin no longer reads the application.
    assert (
        await projects.call("GET", f"/v1/applications/{app_id}", "org_admin2")
    ).status_code == 404
    assert (await act(projects, app_id, "submit", "applicant")).status_code == 200
