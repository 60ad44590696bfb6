"""A dry run too long for one request goes on as a job the manager polls: asked to answer at
once (`Prefer: respond-async`) the request answers 202 with the job, which is then done with
its run; a job whose process stopped is reported interrupted; only the round's managers see
it."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import AssignmentRunJob
from services.projects.models.review import RunJobStatus
from services.projects.review.assignments import runs
from tests.projects.conftest import Projects
from tests.projects.test_review_assignments_runs import three_applications_five_experts


async def test_a_dry_run_answered_at_once_is_polled_until_its_run_is_there(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)

    reply = await projects.client.post(
        f"/v1/review-rounds/{round_.id}/assignment-runs",
        json={"seed": 5},
        headers={**projects.callers["manager"].headers, "Prefer": "respond-async"},
    )
    assert reply.status_code == 202, reply.text
    assert reply.headers["preference-applied"] == "respond-async"
    job = reply.json()
    assert (job["status"], job["run_id"], job["problem"]) == ("running", None, None)
    assert job["round_id"] == str(round_.id)
    # The tests share one connection: let the run finish before asking again.
    await asyncio.gather(*runs.computing)

    polled = await projects.call("GET", f"/v1/assignment-run-jobs/{job['id']}", "manager")
    assert polled.status_code == 200
    done = polled.json()
    assert done["status"] == "done"
    assert done["finished_at"] is not None
    run = await projects.call("GET", f"/v1/assignment-runs/{done['run_id']}", "manager")
    assert run.status_code == 200
    assert run.json()["seed"] == 5
    assert len(run.json()["pairs"]) == 6
    waited = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/assignment-runs", "manager", json={"seed": 5}
    )
    assert waited.status_code == 201  # small: done within the wait, as before
    assert waited.json()["pairs"] == run.json()["pairs"]


async def test_a_job_whose_process_stopped_is_reported_interrupted(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    orphan = AssignmentRunJob(
        round_id=round_.id,
        seed=0,
        status=RunJobStatus.running,
        created_by=projects.callers["manager"].user_id,
        created_at=projects.clock.now,
    )
    session.add(orphan)  # nobody holds its row: no worker computes it
    await session.commit()

    polled = await projects.client.get(
        f"/v1/assignment-run-jobs/{orphan.id}",
        headers={**projects.callers["manager"].headers, "Accept-Language": "en"},
    )

    assert polled.status_code == 200
    body = polled.json()
    assert body["status"] == "failed"
    assert body["run_id"] is None
    assert body["problem"]["code"] == "assignment.run_interrupted"
    assert body["problem"]["status"] == 503
    assert body["problem"]["title"].startswith("The dry run was interrupted")
    await session.refresh(orphan)
    assert orphan.status == RunJobStatus.failed


async def test_only_the_rounds_managers_see_its_jobs(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    job = AssignmentRunJob(
        round_id=round_.id,
        seed=0,
        status=RunJobStatus.failed,
        problem=None,
        created_by=projects.callers["manager"].user_id,
        created_at=projects.clock.now,
    )
    session.add(job)
    await session.commit()

    for who in ("manager2", "applicant", "expert"):
        polled = await projects.call("GET", f"/v1/assignment-run-jobs/{job.id}", who)
        assert polled.status_code == 403, who
    unknown = await projects.call(
        "GET", "/v1/assignment-run-jobs/0193a5c0-0000-7000-8000-00000000dead", "manager"
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "assignment_run_job.not_found"
