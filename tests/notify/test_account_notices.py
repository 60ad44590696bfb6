"""A changed password is a security notice: told to the person whatever they chose, in the inbox
and by mail, however the password came to change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.models import Channel
from services.notify.notifications.repository import NotificationRepository
from shared.auth.roles import Role
from shared.contracts.accounts import (
    AccountEmailChangedV1,
    AccountPasswordChangedV1,
    PasswordChangedBy,
)
from shared.contracts.directory import UserContactChangedV1
from tests.notify.conftest import Notify, apply, text_of

CHANGED_AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def test_a_changed_password_is_told_and_cannot_be_switched_off(notify: Notify) -> None:
    person = await notify.person(Role.applicant, email="wang.fang@example.org")
    refused = await notify.call(
        "PUT",
        "/v1/me/preferences",
        person,
        json={"items": [{"category": "account", "channel": "mail", "enabled": False}]},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "notify.mandatory_category"
    # A choice stored before the category became mandatory silences it no more.
    async with notify.sessionmaker() as session:
        await NotificationRepository(session).set_preference(
            person.id, "account", Channel.mail, False, notify.clock()
        )
        await session.commit()

    event = AccountPasswordChangedV1(user_id=person.id, changed_by="self", changed_at=CHANGED_AT)
    event_id = await apply(notify, "gateway", event)
    await apply(notify, "gateway", event, event_id=event_id)  # redelivered: told once

    [told] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert told["subject"] == "您的 SciPlan 密码已更改"
    assert (told["category"], told["mandatory"]) == ("account", True)
    assert "2026-03-02 10:00" in told["body"]  # Beijing time
    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "wang.fang@example.org"
    assert "如果这不是您本人的操作" in text_of(mail)


@pytest.mark.parametrize(
    ("changed_by", "says"),
    [("self", "您的账户密码已于"), ("reset", "重置链接"), ("operator", "平台管理员已于")],
)
async def test_the_notice_says_how_the_password_changed(
    notify: Notify, changed_by: PasswordChangedBy, says: str
) -> None:
    person = await notify.person(Role.expert)
    await apply(
        notify,
        "gateway",
        AccountPasswordChangedV1(user_id=person.id, changed_by=changed_by, changed_at=CHANGED_AT),
    )
    [told] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert says in told["body"]
    assert "联系平台管理员" in told["body"]


async def test_mail_goes_to_the_address_verified_last(notify: Notify) -> None:
    person = await notify.person(Role.applicant, email=None)
    await apply(notify, "gateway", UserContactChangedV1(id=person.id, email="old@example.org"))
    # The gateway changes the address only once the new one is confirmed from its own mail.
    await apply(
        notify,
        "gateway",
        UserContactChangedV1(id=person.id, email="new@example.org", email_verified=True),
    )
    await apply(
        notify,
        "gateway",
        AccountPasswordChangedV1(user_id=person.id, changed_by="reset", changed_at=CHANGED_AT),
    )
    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "new@example.org"


async def test_a_changed_address_is_told_at_the_previous_one(notify: Notify) -> None:
    # Whoever pointed the account elsewhere, the owner still reads the old address.
    person = await notify.person(Role.applicant, email=None)
    await apply(
        notify,
        "gateway",
        UserContactChangedV1(id=person.id, email="new@example.org", email_verified=True),
    )
    async with notify.sessionmaker() as session:
        await NotificationRepository(session).set_preference(
            person.id, "account", Channel.mail, False, notify.clock()
        )
        await session.commit()
    event = AccountEmailChangedV1(
        user_id=person.id, previous_email="old@example.org", changed_at=CHANGED_AT
    )
    event_id = await apply(notify, "gateway", event)
    await apply(notify, "gateway", event, event_id=event_id)  # redelivered: told once

    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "old@example.org"
    assert "2026-03-02 10:00" in text_of(mail)
    assert "联系平台管理员" in text_of(mail)
    [told] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert (told["category"], told["mandatory"]) == ("account", True)
