"""Engaged evaluators read the full records of what they are engaged on, and change nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.projects.conftest import ZDZX, Projects
from tests.projects.factories import insert_project
from tests.projects.test_evaluation import engaged


async def test_an_engaged_evaluator_reads_the_project_its_application_and_history(
    session: AsyncSession, projects: Projects
) -> None:
    project = await insert_project(session, projects, "applicant2", status="in_progress")
    other = await insert_project(session, projects, "applicant2", program_id=ZDZX)
    paths = [
        f"/v1/projects/{project.id}",
        f"/v1/projects/{project.id}/history",
        f"/v1/projects/{project.id}/reports",
        f"/v1/applications/{project.application_id}",
        f"/v1/applications/{project.application_id}/versions",
    ]
    for path in paths:  # not engaged yet: nothing exists for them
        assert (await projects.call("GET", path, "evaluator")).status_code == 404, path

    await engaged(projects, project_id=project.id)
    for path in paths:
        reply = await projects.call("GET", path, "evaluator")
        assert reply.status_code == 200, (path, reply.text)
    listed = await projects.call("GET", "/v1/projects", "evaluator")
    assert [p["id"] for p in listed.json()["items"]] == [str(project.id)]

    # Engaged on the project, not on the program: other projects stay out of sight.
    assert (await projects.call("GET", f"/v1/projects/{other.id}", "evaluator")).status_code == 404


async def test_an_engaged_evaluator_changes_nothing(
    session: AsyncSession, projects: Projects
) -> None:
    project = await insert_project(session, projects, "applicant2", status="in_progress")
    await engaged(projects, project_id=project.id)
    writes = [
        ("POST", f"/v1/projects/{project.id}/reports", {"kind": "annual", "content": {}}),
        (
            "POST",
            f"/v1/projects/{project.id}/termination",
            {"cause": "request", "reason": "x" * 12},
        ),
        ("PUT", f"/v1/projects/{project.id}/task-book", {}),
        ("POST", f"/v1/applications/{project.application_id}/withdraw", {"reason": "撤回申报"}),
    ]
    for method, path, body in writes:
        reply = await projects.call(method, path, "evaluator", json=body)
        assert reply.status_code == 403, (path, reply.status_code)  # the role, before the body
        assert reply.json()["code"] == "forbidden"
    shown = await projects.call("GET", f"/v1/projects/{project.id}", "evaluator")
    assert shown.json()["status"] == "in_progress"
