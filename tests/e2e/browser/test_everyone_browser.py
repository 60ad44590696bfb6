"""What every person does in the portal: a formal notice opened and acknowledged in the inbox,
an objection from the credit file before its deadline, the password changed."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import RunningStack, wait_until
from tests.e2e.browser.conftest import PASSWORD, log_in, screenshot
from tests.e2e.projects_steps import assign_manager
from tests.e2e.test_credit_e2e import People, record_about

pytestmark = pytest.mark.e2e


async def test_a_person_opens_a_formal_notice_objects_and_changes_the_password(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    people = People(client, stack)
    await people.add("bw-pm", "program_manager")
    await people.add("bw-researcher", "applicant")
    admin = await client.post(
        f"{stack.url}/auth/token", data={"username": "admin", "password": stack.admin_password}
    )
    assigned = {"Authorization": f"Bearer {admin.json()['access_token']}"}
    await assign_manager(client, f"{stack.url}/api/projects/v1", assigned, people.ids["bw-pm"])
    record = await record_about(client, stack, people, "bw-pm", "bw-researcher", "FALSE_MATERIALS")
    notified = await client.post(
        f"{stack.url}/api/credit/v1/records/{record['id']}/notify",
        headers=people.headers["bw-pm"],
        json={"reason": "依规告知"},
    )
    assert notified.status_code == 200, notified.text

    async def told() -> bool:
        # The welcome notice arrives too; wait for the formal one.
        inbox = await client.get(
            f"{stack.url}/api/notify/v1/me/notifications", headers=people.headers["bw-researcher"]
        )
        return any(item["formal"] for item in inbox.json()["items"])

    await wait_until(told, seconds=30)
    who = {"username": f"bw-researcher.{people.suffix}", "password": PASSWORD}
    await log_in(page, who)

    await page.get_by_role("link", name="消息").first.click()
    await screenshot(page, "inbox")
    await page.get_by_role("row").filter(has_text="正式通知").get_by_role("link").click()
    # Sealed until opened: opening it is its delivery, and says so first.
    await expect(page.get_by_text("打开即视为送达")).to_be_visible()
    await page.get_by_role("button", name="打开通知").click()
    await page.get_by_role("button", name="确认收悉").click()
    await expect(page.get_by_role("status")).to_have_text("已确认收悉")

    async def delivery_known() -> bool:  # credit hears of the delivery by an event
        file = await client.get(
            f"{stack.url}/api/credit/v1/me/file", headers=people.headers["bw-researcher"]
        )
        return file.json()["person"]["records"][0]["objection_open_until"] is not None

    await wait_until(delivery_known, seconds=30)
    await page.get_by_role("link", name="查看我的信用档案").click()
    await expect(page.get_by_role("heading", name="我的信用档案")).to_be_visible()
    await expect(page.get_by_text("FALSE_MATERIALS").first).to_be_visible()
    await expect(page.get_by_text("异议截止")).to_be_visible()
    await screenshot(page, "credit-file")
    await page.get_by_label("提出异议：陈述理由").fill(
        "合作单位证明系对方单位出具，材料真实，请予复核。"
    )
    await page.get_by_role("button", name="提出异议").click()
    await expect(page.get_by_role("status")).to_have_text("异议已提交")
    objected = await client.get(
        f"{stack.url}/api/credit/v1/me/file", headers=people.headers["bw-researcher"]
    )
    [shown] = objected.json()["person"]["records"]
    assert shown["status"] == "objected", shown

    await page.goto("/account/password")
    await page.get_by_label("当前密码").fill("not my password")
    await page.get_by_label("新密码").fill("a-brand-new-password")
    await page.get_by_role("button", name="修改密码").click()
    current = page.get_by_label("当前密码")
    await expect(current).to_have_attribute("aria-invalid", "true")
    await current.fill(PASSWORD)
    await page.get_by_label("新密码").fill("a-brand-new-password")
    await page.get_by_role("button", name="修改密码").click()
    await expect(page.get_by_role("status")).to_contain_text("密码已修改")
    await page.goto("/credit")  # still logged in, on the new login
    await expect(page.get_by_role("heading", name="我的信用档案")).to_be_visible()
    relogin = await client.post(
        f"{stack.url}/auth/token",
        data={"username": who["username"], "password": "a-brand-new-password"},
    )
    assert relogin.status_code == 200
