"""Logging in and out of the portal in Chromium: the session, its end, and forged forms."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.conftest import RunningStack
from tests.e2e.browser.conftest import PASSWORD, log_in, person, screenshot

pytestmark = pytest.mark.e2e


async def test_a_page_without_a_session_sends_to_the_login_and_back(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    who = await person(client, stack, "b-reader", ["applicant"])
    await page.goto("/inbox")
    await expect(page).to_have_url(f"{stack.url}/login?next=/inbox")
    await screenshot(page, "login")
    await page.get_by_label("用户名").fill(who["username"])
    await page.get_by_label("密码", exact=True).fill("wrong password!")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page).to_have_url(f"{stack.url}/login")
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page).to_have_url(f"{stack.url}/inbox")
    await expect(page.get_by_role("heading", level=1)).to_have_text("消息")


async def test_logging_out_ends_every_session_of_the_person(
    browser: Browser, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    who = await person(client, stack, "b-twodevices", ["applicant"])
    phone = await browser.new_context(base_url=stack.url)
    laptop = await browser.new_context(base_url=stack.url)
    try:
        on_phone, on_laptop = await phone.new_page(), await laptop.new_page()
        await log_in(on_phone, who)
        await log_in(on_laptop, who)
        await on_laptop.get_by_role("button", name="退出").click()
        await expect(on_laptop.get_by_role("status")).to_have_text("您已退出登录")
        await on_phone.goto("/account")
        await expect(on_phone).to_have_url(f"{stack.url}/login?next=/account")
    finally:
        await phone.close()
        await laptop.close()


async def test_a_forged_form_changes_nothing(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    who = await person(client, stack, "b-victim", ["applicant"])
    await log_in(page, who)
    # Same site, token tampered with (as a script injected elsewhere would have to guess it).
    await page.goto("/account/password")
    await page.get_by_label("当前密码").fill(PASSWORD)
    await page.get_by_label("新密码").fill("a-new-password-123")
    await page.locator("#main input[name=csrf_token]").evaluate("(el) => { el.value = 'forged'; }")
    await page.get_by_role("button", name="修改密码").click()
    await expect(page.get_by_role("alert")).to_contain_text("请求被拒绝")

    # Another site's page that posts to the portal while the victim is logged in.
    async def evil(route: Route) -> None:
        await route.fulfill(
            content_type="text/html",
            body=(
                f'<form id="f" method="post" action="{stack.url}/account/password">'
                f'<input name="current_password" value="{PASSWORD}">'
                '<input name="new_password" value="attacker-password-1"></form>'
                "<script>document.getElementById('f').submit()</script>"
            ),
        )

    await page.route("http://evil.example/**", evil)
    async with page.expect_navigation(url=f"{stack.url}/**"):
        await page.goto("http://evil.example/win")
    # The browser did post (and landed on the portal), but nothing came of it.
    await expect(page.get_by_role("alert")).to_contain_text("请求被拒绝")
    # The password is the old one still.
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": who["username"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text


async def test_the_portal_speaks_english_on_request(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    await page.goto("/login")
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await page.goto("/")
    await expect(page.get_by_role("link", name="Open calls").first).to_be_visible()


async def test_logging_in_needs_no_mouse(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    who = await person(client, stack, "b-keyboard", ["applicant"])
    await page.goto("/login")
    await expect(page.get_by_label("用户名")).to_be_focused()  # the first field, at once
    await page.keyboard.type(who["username"])
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("您好")
    # From the top of a page, the first stop skips the menu, and the focus shows.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    await expect(skip).to_be_focused()
    outline = await skip.evaluate("(el) => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()


async def test_pages_fit_a_phone(browser: Browser, stack: RunningStack) -> None:
    phone = await browser.new_context(
        base_url=stack.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    try:
        page = await phone.new_page()
        for path in ("/", "/login", "/public/calls", "/public/projects"):
            await page.goto(path)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
    finally:
        await phone.close()
