"""Notify as a real process: a person the admin creates finds "account created" in their inbox
through the gateway, and the mail notify sends reaches the test's SMTP server."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import admin_token, create_user, e2e_client

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client() -> Any:
    async with e2e_client() as client:
        yield client


async def _login(client: httpx.AsyncClient, stack: RunningStack, username: str) -> str:
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": username, "password": "e2e-user-password"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_a_new_user_is_told_in_the_inbox_and_by_mail(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    assert stack.mail is not None
    admin = await admin_token(client, stack)
    username = f"notify.{uuid.uuid4().hex[:8]}"
    await create_user(client, stack, admin, username, ["applicant"])
    token = await _login(client, stack, username)
    inbox = f"{stack.url}/api/notify/v1/me/notifications"
    found: list[dict[str, Any]] = []

    async def told() -> bool:
        response = await client.get(inbox, headers=bearer(token))
        assert response.status_code == 200, response.text
        found[:] = response.json()["items"]
        return bool(found)

    await wait_until(told, seconds=30)
    [created] = found
    assert created["subject"] == "您的 SciPlan 账户已开通"
    assert created["category"] == "account"
    count = await client.get(f"{inbox}/unread-count", headers=bearer(token))
    assert count.json() == {"unread": 1}

    # A new address: the gateway asks notify (internally) to mail a one-time link to it.
    changed = await client.patch(
        f"{stack.url}/v1/me",
        json={"email": f"{username}@example.org", "current_password": "e2e-user-password"},
        headers=bearer(token),
    )
    assert changed.status_code == 200, changed.text
    mailbox = stack.mail.mailbox

    async def mailed() -> bool:
        return any(mail["To"] == f"{username}@example.org" for mail in mailbox.received)

    await wait_until(mailed, seconds=30)
    [mail] = [m for m in mailbox.received if m["To"] == f"{username}@example.org"]
    assert mail["Subject"] == "验证您的邮箱地址"
    # Never in the inbox: it carries a one-time link.
    again = await client.get(inbox, headers=bearer(token))
    assert len(again.json()["items"]) == 1
