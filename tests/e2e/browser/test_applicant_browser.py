"""An applicant in Chromium: an open call, a draft autosaved as they type, the API's message next
to the field it concerns, an attachment uploaded with a progress bar, a submission refused until
complete and then made; their organization's administrator endorses it; the timeline shows it."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Page, Route, expect

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.browser.conftest import log_in, person, screenshot
from tests.e2e.helpers import admin_token, create_org
from tests.e2e.projects_steps import assign_manager, login_as, published_call

pytestmark = pytest.mark.e2e

CALL_TITLE = "2026年度重点研发计划（旱作农业·浏览器）"
TITLE = "河西走廊旱作农业节水关键技术研究"
ABSTRACT = "研究旱作区节水灌溉与覆膜保墒技术，在武威开展示范。"
EDITOR = re.compile(r"/applications/[0-9a-f-]{36}/edit$")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def _accept(dialog: Dialog) -> None:
    asyncio.get_running_loop().create_task(dialog.accept())


async def _setup(client: httpx.AsyncClient, stack: RunningStack) -> dict[str, Any]:
    """An organization with an applicant and its administrator, and a call open to them."""
    api = f"{stack.url}/api/projects/v1"
    admin = await admin_token(client, stack)
    body = "91620100MA7BXAPL2"
    org = await create_org(
        client, stack, admin, "甘肃农业大学（浏览器）", body + check_character(body)
    )
    applicant = await person(client, stack, "ba-pi", ["applicant"], org["id"])
    org_admin = await person(client, stack, "ba-orgadmin", ["org_admin"], org["id"])
    # Last: once projects knows the manager, it knows the people created before.
    manager = await person(client, stack, "ba-manager", ["program_manager"])
    await assign_manager(client, api, bearer(admin), manager["id"])
    manager_h = await login_as(client, stack, "ba-manager")
    await published_call(client, api, manager_h, timedelta(hours=2), title=CALL_TITLE)
    return {"api": api, "applicant": applicant, "org_admin": org_admin}


async def _saved_content(
    client: httpx.AsyncClient, stack: RunningStack, api: str, application_id: str
) -> dict[str, Any]:
    headers = await login_as(client, stack, "ba-pi")
    response = await client.get(f"{api}/applications/{application_id}", headers=headers)
    assert response.status_code == 200, response.text
    content: dict[str, Any] = response.json()["content"]
    return content


async def test_an_applicant_drafts_uploads_and_submits_and_the_organization_endorses(
    page: Page, browser: Browser, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    world = await _setup(client, stack)
    api = world["api"]

    # Open calls, with their rules, and "apply".
    await log_in(page, world["applicant"], "/calls")
    listed = page.get_by_role("region", name=CALL_TITLE)
    await expect(listed).to_contain_text("100,000.00 – 2,000,000.00 元")
    await expect(listed).to_contain_text("可行性研究报告")
    await screenshot(page, "applicant-calls")
    await listed.get_by_role("link", name="申报").click()
    await page.get_by_label("项目名称").fill(TITLE)
    await page.get_by_label("关键词").fill("旱作农业、节水灌溉")
    await page.get_by_label("学科代码").fill("210.2010")
    await page.get_by_role("button", name="创建草稿").click()
    await expect(page).to_have_url(EDITOR)
    application_id = page.url.split("/")[-2]
    await expect(page.get_by_role("status").first).to_have_text("草稿已创建，填写内容会自动保存")

    # The draft, saved as one types: still there after a reload (amounts in yuan, kept in fen).
    saved = page.locator("#save-status")
    await page.get_by_label("摘要").fill(ABSTRACT)
    await page.get_by_label("设备费（元）").fill("100000")
    await page.get_by_label("业务费（元）").fill("400000.50")
    await page.get_by_label("劳务费（元）").fill("200000")
    await page.get_by_label("间接费用（元）").fill("100000")
    await expect(saved).to_contain_text("已保存")

    async def budget_saved() -> bool:
        content = await _saved_content(client, stack, api, application_id)
        return content["budget"]["indirect"] == 10_000_000 and content["abstract"] == ABSTRACT

    await wait_until(budget_saved)
    content = await _saved_content(client, stack, api, application_id)
    assert content["budget"]["business"] == 40_000_050
    await page.reload()
    await expect(page.get_by_label("摘要")).to_have_value(ABSTRACT)
    await expect(page.get_by_label("业务费（元）")).to_have_value("400,000.50")

    # A bad value: the API's own message, next to the field it concerns.
    title = page.get_by_label("项目名称")
    await title.fill("")
    await expect(title).to_have_attribute("aria-invalid", "true")
    await expect(title).to_have_accessible_description("至少应有 2 个字符")
    await expect(saved).to_have_text("未保存：请更正标出的内容")
    await title.fill(TITLE)
    await expect(saved).to_contain_text("已保存")
    await expect(title).not_to_have_attribute("aria-invalid", "true")

    # The required attachment, with a progress bar (the upload waits until it has been seen).
    seen = asyncio.Event()

    async def hold_upload(route: Route) -> None:
        await seen.wait()
        await route.continue_()

    await page.route("**/attachments", hold_upload)
    await page.get_by_label("选择文件").set_input_files(
        {"name": "可行性研究报告.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await page.get_by_role("button", name="上传").click()
    await expect(page.get_by_role("progressbar", name="上传进度")).to_be_visible()
    seen.set()
    await expect(page.get_by_role("link", name="可行性研究报告.pdf")).to_be_visible()
    await page.unroute("**/attachments")

    # Submitting an incomplete draft is refused, with the API's reasons by the sections concerned.
    page.once("dialog", _accept)
    await page.get_by_role("button", name="提交申报").click()
    await expect(page.get_by_role("alert")).to_contain_text("缺少：milestones、indicators")
    await expect(page.locator("#e-milestones")).to_have_text("申报书内容不完整，不能提交")
    await expect(page.locator("#e-indicators")).to_have_text("申报书内容不完整，不能提交")

    await page.get_by_role("button", name="添加一行：进度安排").click()
    await page.get_by_label("里程碑（第1行）").fill("建成节水示范区")
    await page.get_by_label("完成日期（第1行）").fill("2027-10-31")
    await page.get_by_role("button", name="添加一行：考核指标").click()
    await page.get_by_label("考核指标（第1行）").fill("示范面积")
    await page.get_by_label("目标值（第1行）").fill("3000")
    await page.get_by_label("单位（第1行）").fill("亩")
    await expect(saved).to_contain_text("已保存")
    await screenshot(page, "applicant-draft")
    page.once("dialog", _accept)
    await page.get_by_role("button", name="提交申报").click()
    await expect(page).to_have_url(f"{stack.url}/applications/{application_id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.locator("dl.facts").first).to_contain_text("已提交，待单位推荐")

    # The organization's administrator endorses it from the queue.
    admin_context = await browser.new_context(
        base_url=stack.url, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    try:
        admin_page = await admin_context.new_page()
        await log_in(admin_page, world["org_admin"], "/org/endorsements")
        queued = admin_page.get_by_role("region", name=TITLE)
        await expect(queued).to_contain_text("ba-pi")
        await expect(queued).to_contain_text(CALL_TITLE)
        await screenshot(admin_page, "org-endorsements")
        await queued.get_by_label("意见").fill("材料属实，同意推荐")
        await queued.get_by_role("button", name="推荐").click()
        await expect(admin_page.get_by_role("status")).to_have_text("已推荐，形式审查已自动进行")
        await expect(admin_page.get_by_role("region", name=TITLE)).to_have_count(0)
    finally:
        await admin_context.close()

    # The applicant's timeline shows the endorsement and the formal check it started.
    await page.reload()
    timeline = page.get_by_role("list").filter(has_text="创建草稿")
    await expect(timeline).to_contain_text("单位推荐")
    await expect(timeline).to_contain_text("材料属实，同意推荐")
    await expect(page.locator("dl.facts").first).to_contain_text("已推荐，形式审查中")
    await expect(page.get_by_role("heading", name="形式审查")).to_be_visible()
    await screenshot(page, "applicant-timeline")
