"""Chromium, driven by Playwright, against the shared end-to-end stack (the portal at its root).

The browser is the operating system's (`/usr/bin/chromium`, Debian's package `chromium`, which
`.ci/run` installs), never one Playwright downloads. Without it these tests are skipped, and
`make test` says so in one line, unless SCIPLAN_REQUIRE_BROWSER=1 (set by `.ci/run`) makes a
missing browser a failure. Screenshots of the main pages go to `.sciplan/screenshots/`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.conftest import RunningStack
from tests.e2e.helpers import admin_token, create_user, e2e_client

BROWSER_VARIABLE = "SCIPLAN_CHROMIUM"
REQUIRE_VARIABLE = "SCIPLAN_REQUIRE_BROWSER"
SKIP_REASON = "no Chromium"
INSTALL_HINT = "apt-get install chromium (or set SCIPLAN_CHROMIUM to a Chromium binary)"
SCREENSHOTS = Path(__file__).resolve().parents[3] / ".sciplan" / "screenshots"
PASSWORD = "e2e-user-password"
# Chromium as root in a container, and quiet: no sandbox (needs user namespaces), no calls home
# (the machine has no internet; each would wait for its timeout).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def chromium_path() -> str | None:
    named = os.environ.get(BROWSER_VARIABLE)
    if named:
        return named if Path(named).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{REQUIRE_VARIABLE}=1 but no Chromium was found: {INSTALL_HINT}")
        pytest.skip(f"{SKIP_REASON}: {INSTALL_HINT}")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, stack: RunningStack) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, in the province's time zone."""
    made = await browser.new_context(
        base_url=stack.url, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    made.set_default_timeout(15_000)
    yield made
    await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with e2e_client() as made:
        yield made


async def person(
    client: httpx.AsyncClient,
    stack: RunningStack,
    username: str,
    roles: list[str],
    org_id: str | None = None,
) -> dict[str, str]:
    token = await admin_token(client, stack)
    created = await create_user(client, stack, token, username, roles, org_id)
    return {"id": created["id"], "username": username, "password": PASSWORD}


async def log_in(page: Page, who: dict[str, str], next_path: str = "/") -> None:
    await page.goto(f"/login?next={next_path}")
    await page.get_by_label("用户名").fill(who["username"])
    await page.get_by_label("密码", exact=True).fill(who["password"])
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(lambda url: "/login" not in url)


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
