"""Delegation: a PI lets a research administrator of their organization prepare the draft.
The delegate edits (versions, attachments, the consortium) and every change names them; only
the PI submits; a revoked delegation ends the access; the delegate never endorses it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.roles import Role
from tests.projects.collaboration_helpers import (
    consortium_draft,
    endorse_part,
    parts,
    same_team_content,
    set_parts,
)
from tests.projects.conftest import Projects, add_person, content, insert_call
from tests.projects.test_applications_helpers import act, complete, draft, upload, user


def problem(reply: Any) -> tuple[int, str]:
    return reply.status_code, reply.json().get("code", "")


async def grant(projects: Projects, application_id: str, who: str = "org_admin") -> Any:
    return await projects.call(
        "PUT",
        f"/v1/applications/{application_id}/delegates/{user(projects, who)}",
        "applicant",
    )


async def revoke(projects: Projects, application_id: str, who: str = "org_admin") -> Any:
    return await projects.call(
        "DELETE",
        f"/v1/applications/{application_id}/delegates/{user(projects, who)}",
        "applicant",
    )


async def save_as(projects: Projects, application: dict[str, Any], who: str, **extra: Any) -> Any:
    return await projects.call(
        "PUT",
        f"/v1/applications/{application['id']}",
        who,
        json={
            "base_version": application["version"],
            "content": content(
                projects, attachments=application["content"]["attachments"], **extra
            ),
        },
    )


async def test_a_delegate_prepares_the_draft_but_only_the_pi_submits(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await consortium_draft(projects, call)
    app_id = application["id"]
    granted = await grant(projects, app_id)
    assert granted.status_code == 200, granted.text
    assert granted.json()["active"] is True
    assert granted.json()["granted_by"] == str(user(projects, "applicant"))
    again = await grant(projects, app_id)  # a retry changes nothing
    assert again.json()["id"] == granted.json()["id"]

    # The delegate edits: a new version, an attachment, the consortium's parts.
    saved = await projects.call(
        "PUT",
        f"/v1/applications/{app_id}",
        "org_admin",
        json={
            "base_version": application["version"],
            "content": same_team_content(
                projects,
                title="河西走廊小麦节水栽培技术集成与示范",
                attachments=application["content"]["attachments"],
            ),
        },
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["applicant_id"] == str(user(projects, "applicant"))  # still the PI's
    uploaded = await upload(projects, app_id, "org_admin", kind="other_material")
    assert uploaded.status_code == 201, uploaded.text
    set_reply = await set_parts(projects, app_id, parts(projects), who="org_admin")
    assert set_reply.status_code == 200, set_reply.text
    assert set_reply.json()["parts"][0]["set_by"] == str(user(projects, "org_admin"))
    assert (await endorse_part(projects, app_id, 2, "org_admin2")).status_code == 200

    # Every change names who made it.
    versions = await projects.call("GET", f"/v1/applications/{app_id}/versions", "applicant")
    assert [v["saved_by"] for v in versions.json()["items"]] == [
        str(user(projects, "applicant")),
        str(user(projects, "applicant")),
        str(user(projects, "org_admin")),
    ]
    story = await projects.call("GET", f"/v1/applications/{app_id}/history", "applicant")
    acts = [(e["action"], e["actor_id"]) for e in story.json()["items"]]
    assert ("delegation.grant", str(user(projects, "applicant"))) in acts
    assert ("consortium.set", str(user(projects, "org_admin"))) in acts

    # Submitting and withdrawing stay with the PI.
    for action, body in (("submit", {}), ("withdraw", {"reason": "不再申报"})):
        refused = await act(projects, app_id, action, "org_admin", **body)
        assert refused.status_code == 403, (action, refused.text)
    submitted = await act(projects, app_id, "submit", "applicant")
    assert submitted.status_code == 200, submitted.text
    # Submitted, nobody edits (the delegate no more than the PI).
    late = await projects.call(
        "PUT",
        f"/v1/applications/{app_id}",
        "org_admin",
        json={"base_version": 3, "content": same_team_content(projects)},
    )
    assert problem(late) == (409, "state.invalid_transition")


async def test_a_revoked_delegation_ends_the_access(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await complete(projects, call)
    app_id = application["id"]
    await grant(projects, app_id)
    revoked = await revoke(projects, app_id)
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["active"], revoked.json()["revoked_by"]) == (
        False,
        str(user(projects, "applicant")),
    )
    # The organization's admin still reads the application, but no longer changes it.
    assert (
        await projects.call("GET", f"/v1/applications/{app_id}", "org_admin")
    ).status_code == 200
    assert problem(await save_as(projects, application, "org_admin")) == (
        403,
        "application.not_drafter",
    )
    assert problem(await upload(projects, app_id, "org_admin", kind="other_material")) == (
        403,
        "application.not_drafter",
    )
    listed = await projects.call("GET", f"/v1/applications/{app_id}/delegates", "applicant")
    assert [d["active"] for d in listed.json()["items"]] == [False]
    assert problem(await revoke(projects, app_id)) == (404, "delegation.not_found")
    # Granted again, a new delegation; the revoked one stays on record.
    assert (await grant(projects, app_id)).status_code == 200
    listed = await projects.call("GET", f"/v1/applications/{app_id}/delegates", "org_admin")
    assert [d["active"] for d in listed.json()["items"]] == [False, True]
    assert (await save_as(projects, application, "org_admin")).status_code == 200


async def test_only_the_pi_delegates_and_only_to_their_organizations_administrator(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    team = [
        {"user_id": str(user(projects, "applicant")), "role": "负责人", "share": 60},
        {"user_id": str(user(projects, "applicant2")), "role": "成员", "share": 40},
    ]
    application = await draft(projects, call, team=team)
    app_id = application["id"]
    path = f"/v1/applications/{app_id}/delegates/{user(projects, 'org_admin')}"
    # A team member reads the application but does not delegate; others do not see it.
    assert problem(await projects.call("PUT", path, "applicant2")) == (403, "delegation.pi_only")
    assert problem(await projects.call("PUT", path, "colleague")) == (404, "application.not_found")
    assert (await projects.call("PUT", path, "org_admin")).status_code == 403  # by role
    assert (
        await projects.call("GET", f"/v1/applications/{app_id}/delegates", "stranger")
    ).status_code == 404
    # Only an active org admin of the PI's organization may be the delegate.
    for who in ("org_admin2", "colleague", "manager", "applicant"):
        refused = await grant(projects, app_id, who)
        assert problem(refused) == (422, "delegation.not_research_administrator"), who
    unknown = await projects.call(
        "PUT",
        f"/v1/applications/{app_id}/delegates/0193a5c0-0000-7000-8000-00000000dead",
        "applicant",
    )
    assert problem(unknown) == (422, "delegation.not_research_administrator")
    assert (await projects.call("GET", f"/v1/applications/{app_id}/delegates", "applicant")).json()[
        "items"
    ] == []

    # A delegation is for one application: the delegate does not edit the PI's others.
    await grant(projects, app_id)
    other_call = await insert_call(session, projects, title="2026年度重点研发计划（第二批）")
    other = await draft(projects, other_call)
    assert problem(await save_as(projects, other, "org_admin")) == (403, "application.not_drafter")


async def test_a_delegate_does_not_endorse_what_they_prepared(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await complete(projects, call)
    app_id = application["id"]
    await grant(projects, app_id)
    assert (await save_as(projects, application, "org_admin")).status_code == 200
    await revoke(projects, app_id)
    assert (await act(projects, app_id, "submit", "applicant")).status_code == 200
    refused = await act(projects, app_id, "endorsement", "org_admin", decision="endorse")
    assert problem(refused) == (403, "duty.conflict")
    await add_person(session, projects, "org_admin_b", (Role.org_admin,), 1, "周科研")
    await session.commit()
    endorsed = await act(projects, app_id, "endorsement", "org_admin_b", decision="endorse")
    assert endorsed.json()["status"] == "endorsed", endorsed.text
