"""A draft's call closing in three days reminds its applicant, unless it was submitted; an
application returned to the applicant is reminded again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.notify.reminders.worker import remind_due
from shared.auth.roles import Role
from shared.contracts.applications import (
    ApplicationDraftCreatedV1,
    ApplicationReturnedV1,
    ApplicationSubmittedV1,
)
from shared.ids import uuid7
from tests.notify.conftest import Notify, Person, apply


def _application(applicant: UUID, closes_at: datetime) -> dict[str, Any]:
    return {
        "application_id": uuid7(),
        "title": "祁连山冰川变化监测",
        "applicant_id": applicant,
        "org_id": uuid7(),
        "call_id": uuid7(),
        "call_title": "2026 年度重点研发计划",
        "program_id": uuid7(),
        "call_closes_at": closes_at,
    }


async def _subjects(notify: Notify, person: Person) -> list[str]:
    items = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    return [item["subject"] for item in items]


async def test_an_unsubmitted_draft_is_reminded_before_its_call_closes(notify: Notify) -> None:
    applicant = await notify.person(Role.applicant)
    application = _application(applicant.id, notify.clock() + timedelta(days=10))
    await apply(
        notify,
        "projects",
        ApplicationDraftCreatedV1(**application, created_at=notify.clock()),
    )
    notify.clock.advance(days=6, hours=23)
    assert await remind_due(notify.app, notify.clock()) == 0
    notify.clock.advance(hours=2)
    assert await remind_due(notify.app, notify.clock()) == 1
    assert await remind_due(notify.app, notify.clock()) == 0
    assert await _subjects(notify, applicant) == ["申报即将截止：2026 年度重点研发计划"]


async def test_a_submitted_application_is_not_reminded_until_it_comes_back(
    notify: Notify,
) -> None:
    applicant = await notify.person(Role.applicant)
    application = _application(applicant.id, notify.clock() + timedelta(days=10))
    await apply(
        notify, "projects", ApplicationDraftCreatedV1(**application, created_at=notify.clock())
    )
    await apply(
        notify,
        "projects",
        ApplicationSubmittedV1(**application, submitted_version=1, submitted_at=notify.clock()),
    )
    notify.clock.advance(days=8)
    assert await remind_due(notify.app, notify.clock()) == 0
    assert await _subjects(notify, applicant) == ["申报已提交：祁连山冰川变化监测"]

    # Returned (the call closes in two days now): too late for a three-day reminder.
    await apply(
        notify,
        "projects",
        ApplicationReturnedV1(**application, reason="预算说明不完整", returned_at=notify.clock()),
    )
    assert await remind_due(notify.app, notify.clock() + timedelta(days=1)) == 0


async def test_an_application_returned_early_is_reminded_again(notify: Notify) -> None:
    applicant = await notify.person(Role.applicant)
    application = _application(applicant.id, notify.clock() + timedelta(days=20))
    await apply(
        notify, "projects", ApplicationDraftCreatedV1(**application, created_at=notify.clock())
    )
    await apply(
        notify,
        "projects",
        ApplicationSubmittedV1(**application, submitted_version=1, submitted_at=notify.clock()),
    )
    await apply(
        notify,
        "projects",
        ApplicationReturnedV1(**application, reason="预算说明不完整", returned_at=notify.clock()),
    )
    notify.clock.advance(days=17, minutes=1)
    assert await remind_due(notify.app, notify.clock()) == 1
    assert (await _subjects(notify, applicant))[0] == "申报即将截止：2026 年度重点研发计划"
