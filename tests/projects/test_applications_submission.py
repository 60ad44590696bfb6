"""Submission at the deadline (to the second), idempotent retries, and withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Transition
from tests.projects.conftest import Projects, insert_application, insert_call, shanghai
from tests.projects.test_applications_helpers import act, complete, draft, save

CLOSE = shanghai(2026, 3, 31, 17, 0)  # 17:00 Beijing time


async def _history(session: AsyncSession, application_id: str) -> list[tuple[str, str | None]]:
    rows = await session.scalars(
        sa.select(Transition)
        .where(Transition.application_id == application_id)
        .order_by(Transition.id)
    )
    return [(t.action, t.to_state) for t in rows]


async def test_submit_before_the_close_records_version_and_time(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects, closes_at=CLOSE)
    application = await complete(projects, call)
    projects.clock.now = CLOSE - timedelta(seconds=1)
    response = await act(projects, application["id"], "submit", "applicant")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "submitted"
    assert body["submitted_version"] == 2
    assert datetime.fromisoformat(body["submitted_at"]) == CLOSE - timedelta(seconds=1)
    assert await _history(session, application["id"]) == [
        ("create", "draft"),
        ("submit", "submitted"),
    ]


async def test_at_the_close_and_one_second_after_submission_is_refused(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects, closes_at=CLOSE)
    application = await complete(projects, call)
    for moment in (CLOSE, CLOSE + timedelta(seconds=1)):
        projects.clock.now = moment.astimezone(UTC)
        response = await act(projects, application["id"], "submit", "applicant")
        assert response.status_code == 409
        problem = response.json()
        assert problem["code"] == "call.closed"
        assert "2026-03-31 17:00:00" in problem["detail"]
        assert problem["closes_at"] == "2026-03-31T17:00:00+08:00"
    stored = await session.get(Application, application["id"])
    assert stored is not None
    await session.refresh(stored)
    assert stored.status == "draft"
    assert stored.submitted_at is None
    # Nor can the draft be saved any more.
    late_save = await save(projects, application)
    assert late_save.status_code == 409
    assert late_save.json()["code"] == "call.closed"


async def test_a_retried_submit_changes_nothing(projects: Projects, session: AsyncSession) -> None:
    call = await insert_call(session, projects, closes_at=CLOSE)
    application = await complete(projects, call)
    first = await act(projects, application["id"], "submit", "applicant")
    projects.clock.advance(minutes=3)
    retry = await act(projects, application["id"], "submit", "applicant")
    assert retry.status_code == 200
    assert retry.json()["submitted_at"] == first.json()["submitted_at"]
    assert retry.json()["submitted_version"] == first.json()["submitted_version"]
    # Even once the call has closed, the retry is answered as the first submit was.
    projects.clock.now = CLOSE + timedelta(hours=1)
    after_close = await act(projects, application["id"], "submit", "applicant")
    assert after_close.status_code == 200
    assert after_close.json()["submitted_at"] == first.json()["submitted_at"]
    assert await _history(session, application["id"]) == [
        ("create", "draft"),
        ("submit", "submitted"),
    ]
    count = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Application)
        .where(Application.applicant_id == projects.callers["applicant"].user_id)
    )
    assert count == 1


async def test_an_incomplete_draft_cannot_be_submitted(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call, milestones=[], indicators=[], abstract="")
    response = await act(projects, application["id"], "submit", "applicant")
    assert response.status_code == 422
    assert response.json()["code"] == "application.incomplete"
    assert response.json()["missing"] == ["abstract", "milestones", "indicators"]


async def test_a_returned_application_is_edited_and_submitted_again_before_the_close(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects, closes_at=CLOSE)
    application = await complete(projects, call)
    await act(projects, application["id"], "submit", "applicant")
    returned = await act(
        projects,
        application["id"],
        "endorsement",
        "org_admin",
        decision="return",
        reason="预算说明不完整，请补充设备费明细。",
    )
    assert returned.json()["status"] == "returned"
    edited = await save(projects, returned.json(), abstract="补充了设备费明细的摘要。")
    assert edited.status_code == 200
    assert edited.json()["version"] == 3
    again = await act(projects, application["id"], "submit", "applicant")
    assert again.status_code == 200
    assert again.json()["status"] == "submitted"
    assert again.json()["submitted_version"] == 3
    assert await _history(session, application["id"]) == [
        ("create", "draft"),
        ("submit", "submitted"),
        ("return", "returned"),
        ("submit", "submitted"),
    ]


async def test_withdraw_any_time_before_a_decision_and_never_after(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    for status in ("draft", "submitted", "returned", "endorsed", "in_review", "reviewed"):
        application = await insert_application(session, projects, call, status=status)
        response = await act(
            projects, str(application.id), "withdraw", "applicant", reason="团队成员变动"
        )
        assert response.status_code == 200, status
        assert response.json()["status"] == "withdrawn"
        history = await projects.call(
            "GET", f"/v1/applications/{application.id}/history", "applicant"
        )
        assert [(h["from_state"], h["to_state"], h["reason"]) for h in history.json()["items"]] == [
            (status, "withdrawn", "团队成员变动")
        ]
    for status in ("approved", "reserved", "rejected", "withdrawn"):
        decided_call = await insert_call(session, projects)  # one live application per call
        application = await insert_application(session, projects, decided_call, status=status)
        response = await act(
            projects, str(application.id), "withdraw", "applicant", reason="团队成员变动"
        )
        assert response.status_code == 409, status
        assert response.json()["code"] == "state.invalid_transition"
        assert response.json()["state"] == status
    no_reason = await insert_application(session, projects, call, status="draft")
    response = await act(projects, str(no_reason.id), "withdraw", "applicant", reason="")
    assert response.status_code == 422


async def test_only_the_applicant_submits_or_withdraws(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await complete(projects, call)
    for who in ("colleague", "applicant2", "stranger"):
        submit = await act(projects, application["id"], "submit", who)
        assert submit.status_code == 404, who
        withdraw = await act(projects, application["id"], "withdraw", who, reason="代为撤回")
        assert withdraw.status_code == 404, who
    for who in ("org_admin", "manager"):
        assert (await act(projects, application["id"], "submit", who)).status_code == 403
    stored = await session.get(Application, application["id"])
    assert stored is not None
    await session.refresh(stored)
    assert stored.status == "draft"
