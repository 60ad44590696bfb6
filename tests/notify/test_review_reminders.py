"""An expert's review is reminded two days before it is due and once when it is overdue, each at
most once per assignment, and not at all once the score sheet is submitted, the invitation
declined, or the expert taken off the review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.notify.reminders.worker import remind_due
from shared.auth.roles import Role
from shared.contracts.review import (
    ReviewAssignedV1,
    ReviewDeclinedV1,
    ReviewSubmittedV1,
    ReviewUnassignedV1,
)
from tests.notify.conftest import Notify, Person, apply, assigned

DUE_SOON = "评审即将截止：黄河上游生态修复关键技术研究"
OVERDUE = "评审已逾期：黄河上游生态修复关键技术研究"
INVITED = "评审邀请：黄河上游生态修复关键技术研究"


async def _inbox(notify: Notify, person: Person) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await notify.call("GET", "/v1/me/notifications", person)).json()[
        "items"
    ]
    return items


async def _subjects(notify: Notify, person: Person) -> list[str]:
    return [item["subject"] for item in await _inbox(notify, person)]


def _about(invitation: ReviewAssignedV1) -> dict[str, Any]:
    return invitation.model_dump(exclude={"assigned_at"})


async def _invited(notify: Notify, expert: Person, due_in: timedelta) -> ReviewAssignedV1:
    invitation = assigned(expert.id, due_at=notify.clock() + due_in, assigned_at=notify.clock())
    await apply(notify, "projects", invitation)
    return invitation


async def test_a_review_due_in_two_days_is_reminded_once(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    invitation = await _invited(notify, expert, timedelta(days=10))

    notify.clock.advance(days=7, hours=23)
    assert await remind_due(notify.app, notify.clock()) == 0
    notify.clock.advance(hours=2)
    assert await remind_due(notify.app, notify.clock()) == 1
    assert await remind_due(notify.app, notify.clock()) == 0

    reminder, _ = await _inbox(notify, expert)
    assert reminder["subject"] == DUE_SOON
    assert (reminder["category"], reminder["mandatory"]) == ("review", False)
    assert (reminder["about_type"], reminder["about_id"]) == (
        "assignment",
        str(invitation.assignment_id),
    )


async def test_an_overdue_review_is_reminded_once_after_its_deadline(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    await _invited(notify, expert, timedelta(days=10))
    notify.clock.advance(days=9)
    assert await remind_due(notify.app, notify.clock()) == 1  # due in two days

    notify.clock.advance(hours=23)
    assert await remind_due(notify.app, notify.clock()) == 0
    notify.clock.advance(hours=1, seconds=1)
    assert await remind_due(notify.app, notify.clock()) == 1
    notify.clock.advance(days=3)
    assert await remind_due(notify.app, notify.clock()) == 0
    assert await _subjects(notify, expert) == [OVERDUE, DUE_SOON, INVITED]


async def test_an_assignment_made_in_the_last_two_days_is_reminded_only_when_overdue(
    notify: Notify,
) -> None:
    expert = await notify.person(Role.expert)
    await _invited(notify, expert, timedelta(days=1))
    notify.clock.advance(days=1, seconds=1)
    assert await remind_due(notify.app, notify.clock()) == 1
    assert await _subjects(notify, expert) == [OVERDUE, INVITED]


async def test_a_submitted_review_is_reminded_no_more(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    invitation = await _invited(notify, expert, timedelta(days=10))
    notify.clock.advance(days=5)
    await apply(
        notify,
        "projects",
        ReviewSubmittedV1(**_about(invitation), submitted_at=notify.clock(), late=False),
    )
    notify.clock.advance(days=10)
    assert await remind_due(notify.app, notify.clock()) == 0
    assert await _subjects(notify, expert) == [INVITED]


async def test_an_expert_who_declined_is_not_reminded(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    invitation = await _invited(notify, expert, timedelta(days=10))
    await apply(
        notify,
        "projects",
        ReviewDeclinedV1(**_about(invitation), reason="时间冲突", declined_at=notify.clock()),
    )
    notify.clock.advance(days=11)
    assert await remind_due(notify.app, notify.clock()) == 0
    assert await _subjects(notify, expert) == [INVITED]


async def test_an_expert_taken_off_a_review_is_reminded_no_more(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    invitation = await _invited(notify, expert, timedelta(days=10))
    notify.clock.advance(days=9)
    assert await remind_due(notify.app, notify.clock()) == 1  # due in two days
    await apply(
        notify,
        "projects",
        ReviewUnassignedV1(**_about(invitation), reason="专家出国", removed_at=notify.clock()),
    )
    notify.clock.advance(days=2)
    assert await remind_due(notify.app, notify.clock()) == 0
    assert (await _subjects(notify, expert))[1] == DUE_SOON
    assert OVERDUE not in await _subjects(notify, expert)


async def test_the_same_invitation_twice_makes_one_reminder_of_each(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    invitation = assigned(expert.id, due_at=notify.clock() + timedelta(days=10))
    event_id = await apply(notify, "projects", invitation)
    await apply(notify, "projects", invitation, event_id=event_id)
    await apply(notify, "projects", invitation)  # published again, under another id

    notify.clock.advance(days=8, seconds=1)
    assert await remind_due(notify.app, notify.clock()) == 1
    # Announced again after its reminder went: a sent reminder stays sent.
    await apply(notify, "projects", invitation)
    notify.clock.advance(days=2)
    assert await remind_due(notify.app, notify.clock()) == 1
    assert await remind_due(notify.app, notify.clock()) == 0
    subjects = await _subjects(notify, expert)
    assert (subjects.count(DUE_SOON), subjects.count(OVERDUE)) == (1, 1)


async def test_an_expert_who_switched_review_mail_off_finds_reminders_in_the_inbox_only(
    notify: Notify,
) -> None:
    expert = await notify.person(Role.expert)
    switched = await notify.call(
        "PUT",
        "/v1/me/preferences",
        expert,
        json={"items": [{"category": "review", "channel": "mail", "enabled": False}]},
    )
    assert switched.status_code == 200, switched.text
    await _invited(notify, expert, timedelta(days=10))
    notify.clock.advance(days=8, seconds=1)
    assert await remind_due(notify.app, notify.clock()) == 1
    assert await notify.deliver() == 0
    assert (await _subjects(notify, expert))[0] == DUE_SOON
