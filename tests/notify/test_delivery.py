"""Mail to a real SMTP server in the test process: sent once, retried through an outage
without loss or repetition, refused for good when the server says so, and a formal notice's
acceptance published as its delivery, once."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notify.models import Delivery, Notification
from services.notify.notifications.repository import NotificationRepository
from shared.auth.roles import Role
from shared.contracts.directory import UserContactChangedV1
from tests.conftest import bearer
from tests.notify.conftest import Notify, apply, approved, assigned, published, text_of


async def _deliveries(notify: Notify) -> list[Delivery]:
    async with notify.sessionmaker() as session:
        return list((await session.execute(sa.select(Delivery))).scalars())


async def test_an_event_applied_twice_notifies_once_and_mails_once(notify: Notify) -> None:
    expert = await notify.person(Role.expert, email="li.ming@example.org")
    event = assigned(expert.id)
    event_id = await apply(notify, "projects", event)
    await apply(notify, "projects", event, event_id=event_id)

    items = (await notify.call("GET", "/v1/me/notifications", expert)).json()["items"]
    assert len(items) == 1
    assert await notify.deliver() == 1
    assert await notify.deliver() == 0
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "li.ming@example.org"
    assert mail["Subject"] == "评审邀请：黄河上游生态修复关键技术研究"
    assert "2026 年度自然科学基金" in text_of(mail)


async def test_mail_waits_out_a_server_outage_and_goes_exactly_once(notify: Notify) -> None:
    person = await notify.person(Role.applicant)
    await apply(notify, "projects", approved(person.id))
    notify.smtp.stop()

    assert await notify.deliver() == 1
    [delivery] = await _deliveries(notify)
    assert (delivery.state, delivery.attempts) == ("queued", 1)
    assert delivery.last_error
    assert await notify.deliver() == 0  # not due again before its pause (30 s) is over
    notify.clock.advance(seconds=31)
    assert await notify.deliver() == 1
    notify.clock.advance(seconds=61)  # the pause doubles
    assert await notify.deliver() == 1
    [delivery] = await _deliveries(notify)
    assert (delivery.state, delivery.attempts) == ("queued", 3)
    assert notify.smtp.mailbox.received == []
    assert await published(notify) == []  # not delivered: no proof

    notify.smtp.start()
    notify.clock.advance(seconds=121)
    assert await notify.deliver() == 1
    notify.clock.advance(hours=2)
    assert await notify.deliver() == 0
    [delivery] = await _deliveries(notify)
    assert (delivery.state, delivery.attempts) == ("accepted", 4)
    assert len(notify.smtp.mailbox.received) == 1


async def test_a_formal_notice_accepted_by_the_mail_server_is_delivered_once(
    notify: Notify,
) -> None:
    person = await notify.person(Role.applicant)
    event = approved(person.id)
    source_event = await apply(notify, "projects", event)
    assert await notify.deliver() == 1
    [notice] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert notice["delivered_by"] == "mail"
    assert notice["deliveries"][0]["state"] == "accepted"
    # Opening it later is no second delivery.
    await notify.call("POST", f"/v1/me/notifications/{notice['id']}/open", person)

    [(kind, delivered)] = await published(notify)
    assert kind == "notice.delivered"
    assert delivered["notification_id"] == notice["id"]
    assert delivered["channel"] == "mail"
    assert delivered["user_id"] == str(person.id)
    assert (delivered["about_type"], delivered["about_id"]) == ("project", str(event.project_id))
    assert delivered["source_event_id"] == str(source_event)


async def test_mail_to_an_unverified_address_goes_but_only_opening_delivers_a_formal_notice(
    notify: Notify,
) -> None:
    person = await notify.person(Role.applicant, email=None)
    await apply(
        notify,
        "gateway",
        UserContactChangedV1(id=person.id, email="maybe.wang@example.org", email_verified=False),
    )
    await apply(notify, "projects", approved(person.id))
    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "maybe.wang@example.org"  # the mail still goes
    [notice] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert notice["deliveries"][0]["state"] == "accepted"
    assert notice["delivered_at"] is None  # but whoever holds that mailbox may not be them
    assert await published(notify) == []

    notify.clock.advance(hours=1)
    await notify.call("POST", f"/v1/me/notifications/{notice['id']}/open", person)
    [(kind, delivered)] = await published(notify)
    assert (kind, delivered["channel"]) == ("notice.delivered", "inbox")


async def test_a_mail_refused_for_good_is_shown_on_the_notification(notify: Notify) -> None:
    person = await notify.person(Role.applicant, email="nobody@example.org")
    await apply(notify, "projects", approved(person.id))
    notify.smtp.mailbox.refuse = True
    assert await notify.deliver() == 1
    notify.clock.advance(hours=2)
    assert await notify.deliver() == 0  # never tried again

    [notice] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    [delivery] = notice["deliveries"]
    assert delivery["state"] == "failed_permanently"
    assert delivery["attempts"] == 1
    assert delivery["last_error"].startswith("550")
    assert notice["delivered_at"] is None
    assert await published(notify) == []


async def test_a_notification_without_an_address_stays_in_the_inbox(notify: Notify) -> None:
    person = await notify.person(Role.expert, email=None)
    await apply(notify, "projects", assigned(person.id))
    assert await notify.deliver() == 0
    async with notify.sessionmaker() as session:
        count = (
            await session.execute(sa.select(sa.func.count()).select_from(Notification))
        ).scalar()
    assert count == 1


async def test_a_control_character_in_a_title_neither_breaks_the_mail_nor_the_pass(
    notify: Notify,
) -> None:
    person = await notify.person(Role.applicant, email="wang.fang@example.org")
    await apply(notify, "projects", approved(person.id, project_number="GS2026\r\nBcc: x@evil.org"))
    assert await notify.deliver() == 1
    [mail] = notify.smtp.mailbox.received
    assert mail["Subject"] == "【正式通知】项目立项决定：GS2026  Bcc: x@evil.org"
    assert mail["Bcc"] is None
    [delivery] = await _deliveries(notify)
    assert delivery.state == "accepted"


async def test_a_mail_that_cannot_be_made_fails_alone_and_the_pass_goes_on(
    notify: Notify, caplog: pytest.LogCaptureFixture
) -> None:
    broken = await notify.person(Role.expert, email=None)
    await apply(notify, "gateway", UserContactChangedV1(id=broken.id, email="a@x.org\r\nBcc: b@x"))
    fine = await notify.person(Role.expert, email="li.ming@example.org")
    await apply(notify, "projects", assigned(broken.id))
    await apply(notify, "projects", assigned(fine.id))

    with caplog.at_level(logging.ERROR, logger="services.notify.delivery.worker"):
        assert await notify.deliver() == 2
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "li.ming@example.org"
    states = {d.address: (d.state, d.last_error) for d in await _deliveries(notify)}
    assert states["li.ming@example.org"] == ("accepted", None)
    assert states["a@x.org\r\nBcc: b@x"][0] == "failed_permanently"
    [logged] = caplog.records
    assert "a@x.org" not in logged.getMessage()  # the delivery's id, not its content
    notify.clock.advance(hours=2)
    assert await notify.deliver() == 0  # never tried again


async def test_a_delivery_whose_worker_dies_every_time_is_given_up_after_max_attempts(
    notify: Notify,
) -> None:
    person = await notify.person(Role.applicant)
    await apply(notify, "projects", approved(person.id))
    gateway = bearer(await notify.token("svc:gateway", [Role.service.value]))
    reset = {
        "idempotency_key": "reset-0001-abcdef",
        "user_id": str(person.id),
        "template": "password_reset",
        "params": {"link": "https://sciplan.example/reset?t=secret-token-123"},
    }
    sent = await notify.client.post("/internal/v1/messages", json=reset, headers=gateway)
    assert sent.status_code == 202, sent.text
    settings = notify.app.state.settings
    for _ in range(settings.max_attempts):
        # Leased, then never recorded: the process died mid-send.
        async with notify.sessionmaker() as session:
            now = notify.clock()
            lease = now + timedelta(seconds=settings.sending_lease_seconds)
            assert len(await NotificationRepository(session).claim_due(now, lease, 20, 99)) == 2
            await session.commit()
        notify.clock.advance(seconds=settings.sending_lease_seconds + 1)

    assert await notify.deliver() == 0
    deliveries = await _deliveries(notify)
    assert {(d.state, d.attempts) for d in deliveries} == {
        ("failed_permanently", settings.max_attempts)
    }
    assert notify.smtp.mailbox.received == []
    async with notify.sessionmaker() as session:
        link = await session.get(Notification, sent.json()["id"])
        assert link is not None
        assert (link.params, link.body) == ({}, None)  # a link that will never go is not kept
