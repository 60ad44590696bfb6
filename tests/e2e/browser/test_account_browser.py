"""A forgotten password, reset in the browser with the link from the mail: the token travels in
the link's fragment (never sent to a server) and the page puts it into the form itself."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import RunningStack, wait_until
from tests.e2e.helpers import admin_token

pytestmark = pytest.mark.e2e
LINK = r"https?://\S+/account/password-reset#token=[\w-]+"


async def test_a_forgotten_password_is_reset_from_the_mailed_link(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    assert stack.mail is not None
    address = "b-forgetful@example.org"
    made = await client.post(
        f"{stack.url}/admin/v1/users",
        json={
            "username": "b-forgetful",
            "password": "e2e-user-password",
            "display_name": "健忘的人",
            "email": address,
            "roles": ["applicant"],
        },
        headers={"Authorization": f"Bearer {await admin_token(client, stack)}"},
    )
    assert made.status_code == 201, made.text

    await page.goto("/login")
    await page.get_by_role("link", name="忘记密码？").click()
    await page.get_by_label("用户名或邮箱").fill(address)
    await page.get_by_role("button", name="发送链接").click()
    await expect(page.get_by_role("status")).to_contain_text("重设链接已发到其邮箱")

    links: list[str] = []

    mail = stack.mail

    async def mailed() -> bool:
        for message in mail.mailbox.received:
            body = message.get_body(preferencelist=("plain",))
            if message["To"] == address and body is not None:
                found = re.search(LINK, body.get_content())
                if found:
                    links.append(found.group(0))
        return bool(links)

    await wait_until(mailed, seconds=30)
    await page.goto(links[-1])
    token_field = page.get_by_label("令牌")
    await expect(token_field).not_to_have_value("")
    assert "#token=" not in page.url  # the address bar forgot it at once
    await page.get_by_label("新密码").fill("remembered-at-last-1")
    await page.get_by_role("button", name="设置新密码").click()
    await expect(page.get_by_role("status")).to_have_text("密码已重设，请用新密码登录")

    await page.get_by_label("用户名").fill("b-forgetful")
    await page.get_by_label("密码", exact=True).fill("remembered-at-last-1")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("您好")
