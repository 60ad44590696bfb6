"""The gateway's direct messages: delivered once per idempotency key, never in the inbox, and
their one-time link erased once the mail went."""

from __future__ import annotations

import sqlalchemy as sa

from services.notify.models import Notification
from shared.auth.roles import Role
from tests.conftest import bearer
from tests.notify.conftest import Notify, text_of


def _reset(user_id: object, key: str = "reset-0001-abcdef") -> dict[str, object]:
    return {
        "idempotency_key": key,
        "user_id": str(user_id),
        "template": "password_reset",
        "params": {
            "link": "https://sciplan.example/account/password-reset#token=secret-token-123",
            "token": "secret-token-123",
        },
    }


async def test_the_gateway_sends_a_direct_message_once(notify: Notify) -> None:
    person = await notify.person(Role.applicant, email="wang.fang@example.org")
    gateway = bearer(await notify.token("svc:gateway", [Role.service.value]))

    first = await notify.client.post(
        "/internal/v1/messages", json=_reset(person.id), headers=gateway
    )
    again = await notify.client.post(
        "/internal/v1/messages", json=_reset(person.id), headers=gateway
    )
    assert first.status_code == 202, first.text
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]

    assert await notify.deliver() == 1
    assert await notify.deliver() == 0
    [mail] = notify.smtp.mailbox.received
    assert mail["To"] == "wang.fang@example.org"
    assert "secret-token-123" in text_of(mail)
    # Usable before any page takes the link: the mail says which call the token goes to.
    assert "POST /auth/password-reset/confirm" in text_of(mail)
    assert '{"token": "secret-token-123", "new_password":' in text_of(mail)

    inbox = await notify.call("GET", "/v1/me/notifications", person)
    assert inbox.json()["items"] == []
    async with notify.sessionmaker() as session:
        stored = await session.get_one(Notification, first.json()["id"])
        assert stored.params == {}
        assert stored.body is None


async def test_only_the_gateway_sends_direct_messages(notify: Notify) -> None:
    person = await notify.person(Role.applicant)
    other_service = bearer(await notify.token("svc:projects", [Role.service.value]))
    refused = await notify.client.post(
        "/internal/v1/messages", json=_reset(person.id), headers=other_service
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "notify.gateway_only"
    as_person = await notify.call("POST", "/internal/v1/messages", person, json=_reset(person.id))
    assert as_person.status_code == 403


async def test_a_direct_message_needs_an_address(notify: Notify) -> None:
    person = await notify.person(Role.applicant, email=None)
    gateway = bearer(await notify.token("svc:gateway", [Role.service.value]))
    refused = await notify.client.post(
        "/internal/v1/messages", json=_reset(person.id), headers=gateway
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "notify.no_address"
    async with notify.sessionmaker() as session:
        assert (
            await session.execute(sa.select(sa.func.count()).select_from(Notification))
        ).scalar() == 0
