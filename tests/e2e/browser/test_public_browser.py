"""The public's pages in Chromium, without a login: open calls with their rules, funded projects
searched and exported as CSV, and a public notice (公示) with a real-name objection (实名异议)
lodged without an account, and one by a logged-in person under their account.

The data comes through the API the fastest way to a notice: a special fund of the test's own
(its envelope and its program filter touch nobody else's projects), a call that closes a few
seconds after the applications are in, a formal check passed before the close and a decision
right after it. The shared stack's clock is never moved.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from playwright.async_api import Page, expect

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.browser.conftest import PASSWORD, log_in, screenshot
from tests.e2e.helpers import admin_token, create_org, create_user
from tests.e2e.projects_steps import application_content, endorse_and_pass, login_as

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUND = "BPUBLIC"
PDF = b"%PDF-1.7\n" + b"2" * 2_000
# The notice's call closes this long after it is published: time enough for the two applications
# to go in on a busy machine (the decision waits for the close, and the stack's clock stays).
CLOSES_IN_SECONDS = 12
TITLES = ("祁连山冰川消融监测与预警", "河西走廊戈壁设施农业示范")
BUDGETS = (60_000_001, 45_000_050)  # fen: 600,000.01 and 450,000.50 yuan
REVIEW = {
    "criteria": [
        {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
        {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
    ]
}


def shanghai(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def ok(reply: httpx.Response, *statuses: int) -> Any:
    assert reply.status_code in (statuses or (200,)), reply.text
    return reply.json() if reply.content else None


async def call_of_fund(
    client: httpx.AsyncClient, api: str, manager: dict[str, str], program_id: str, **terms: Any
) -> dict[str, Any]:
    created = await ok(
        await client.post(
            f"{api}/calls",
            headers=manager,
            json={
                "program_id": program_id,
                "year": 2026,
                "guideline": "支持冰川、荒漠与绿洲农业方向的应用研究。\n申报单位须为省内注册法人。",
                "eligible_org_kinds": ["university", "research_institute"],
                "max_active_projects_per_pi": 2,
                "min_credit_level": "C",
                "budget_min_fen": 10_000_000,
                "budget_max_fen": 200_000_000,
                "required_attachments": ["feasibility_report"],
                "review_template": REVIEW,
                "experts_per_application": 3,
                "notice_days": 7,
                **terms,
            },
        ),
        201,
    )
    await ok(await client.post(f"{api}/calls/{created['id']}/publish", headers=manager))
    return dict(created)


async def submitted(
    client: httpx.AsyncClient, api: str, pi: dict[str, str], pi_id: str, call_id: str, title: str
) -> str:
    content = {**application_content(pi_id, []), "title": title}
    draft = await ok(
        await client.post(
            f"{api}/applications", headers=pi, json={"call_id": call_id, "content": content}
        ),
        201,
    )
    upload = await ok(
        await client.post(
            f"{api}/applications/{draft['id']}/attachments",
            headers=pi,
            data={"kind": "feasibility_report"},
            files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
        ),
        201,
    )
    content["attachments"] = [{"id": upload["id"], "kind": "feasibility_report"}]
    await ok(
        await client.put(
            f"{api}/applications/{draft['id']}",
            headers=pi,
            json={"base_version": 1, "content": content},
        )
    )
    await ok(await client.post(f"{api}/applications/{draft['id']}/submit", headers=pi))
    return str(draft["id"])


@pytest.fixture
async def notice(client: httpx.AsyncClient, stack: RunningStack) -> dict[str, Any]:
    """An open call of the fund, and a closed one whose two projects are in public notice."""
    api = f"{stack.url}/api/projects/v1"
    admin = await admin_token(client, stack)
    body = "91620100MA7R0PUB1"
    org = await create_org(client, stack, admin, "敦煌绿洲研究院", body + check_character(body))
    people = [
        ("bp-manager", "program_manager", None),
        ("bp-pi1", "applicant", org["id"]),
        ("bp-pi2", "applicant", org["id"]),
        ("bp-orgadmin", "org_admin", org["id"]),
        ("bp-objector", "applicant", None),  # objects under their account
    ]
    ids = {
        name: (await create_user(client, stack, admin, name, [role], org_id))["id"]
        for name, role, org_id in people
    }
    manager = await login_as(client, stack, "bp-manager")
    pis = [(ids[name], await login_as(client, stack, name)) for name in ("bp-pi1", "bp-pi2")]

    async def fund_added() -> bool:  # once projects has heard of the manager from the gateway
        reply = await client.post(
            f"{api}/programs",
            headers=manager,
            json={
                "code": FUND,
                "name_zh": "绿洲科技专项",
                "name_en": "Oasis science fund",
                "managing_agency": "省科技厅",
                "active_from_year": 2026,
            },
        )
        return reply.status_code == 201

    await wait_until(fund_added)
    funds = await ok(await client.get(f"{api}/programs", params={"limit": 200}))
    fund = next(p for p in funds["items"] if p["code"] == FUND)
    await ok(
        await client.put(
            f"{api}/programs/{fund['id']}/envelopes/2026",
            headers=bearer(admin),
            json={"amount_fen": 1_000_000_000},
        )
    )
    for _, token in pis:

        async def known(token: dict[str, str] = token) -> bool:
            me = await client.get(f"{api}/me", headers=token)
            return bool(me.status_code == 200 and me.json()["in_directory"])

        await wait_until(known)

    now = datetime.now(UTC)
    open_call = await call_of_fund(
        client,
        api,
        manager,
        fund["id"],
        title="2026年度绿洲科技专项申报指南",
        opens_at=(now - timedelta(minutes=1)).isoformat(),
        closes_at=(now + timedelta(days=30)).isoformat(),
    )
    closing = await call_of_fund(
        client,
        api,
        manager,
        fund["id"],
        title="2026年度绿洲科技专项（第一批）",
        opens_at=(now - timedelta(minutes=1)).isoformat(),
        closes_at=(now + timedelta(seconds=CLOSES_IN_SECONDS)).isoformat(),
    )
    org_admin = await login_as(client, stack, "bp-orgadmin")
    applications = [
        await submitted(client, api, token, pi_id, closing["id"], title)
        for (pi_id, token), title in zip(pis, TITLES, strict=True)
    ]
    for application in applications:  # while the call runs out
        await endorse_and_pass(client, api, application, org_admin, manager)

    decisions: dict[str, Any] = {}

    async def decided() -> bool:  # as soon as the call has closed
        nonlocal decisions
        reply = await client.post(
            f"{api}/calls/{closing['id']}/decisions",
            headers=manager,
            json={
                "decisions": [
                    {
                        "application_id": application,
                        "decision": "approve",
                        "approved_budget_fen": budget,
                        "reason": "形式审查合格，同意立项",
                    }
                    for application, budget in zip(applications, BUDGETS, strict=True)
                ]
            },
        )
        if reply.status_code == 409 and reply.json()["code"] == "call.still_open":
            return False
        decisions = await ok(reply)
        return True

    await wait_until(decided, seconds=30)
    projects = [
        await ok(await client.get(f"{api}/public/projects/{d['project_number']}"))
        for d in decisions["decisions"]
    ]
    return {
        "fund": fund,
        "open_call": open_call,
        "call": closing,
        "projects": projects,
        "objector": {"id": ids["bp-objector"], "username": "bp-objector"},
    }


async def test_a_visitor_reads_calls_searches_exports_and_objects(
    page: Page, client: httpx.AsyncClient, stack: RunningStack, notice: dict[str, Any]
) -> None:
    open_call = notice["open_call"]
    first, second = notice["projects"]

    # Open calls, and one call's rules.
    await page.goto("/")
    await page.get_by_role("link", name="申报指南").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("申报指南")
    await screenshot(page, "public-calls")
    await page.get_by_role("link", name=open_call["title"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(open_call["title"])
    rules = page.locator("dl.facts")
    await expect(rules).to_contain_text(shanghai(open_call["closes_at"]))
    await expect(rules).to_contain_text("100,000.00 – 2,000,000.00 元")
    await expect(rules).to_contain_text("高等院校、科研院所")
    await expect(page.get_by_role("listitem").filter(has_text="可行性研究报告")).to_be_visible()
    await screenshot(page, "public-call")

    # Funded projects of the fund: both; the CSV has both, exact to the fen. A year that is no
    # number is the API's to refuse, next to the field.
    await page.goto("/public/projects")
    await page.get_by_label("年度").fill("明年")
    await page.get_by_role("button", name="查询").click()
    await expect(page.get_by_label("年度")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-year-e")).to_contain_text("应为整数")
    await page.get_by_label("年度").fill("2026")
    await page.get_by_label("计划类别").select_option(FUND)
    await page.get_by_role("button", name="查询").click()
    rows = page.locator("table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("600,000.01")
    await screenshot(page, "public-projects")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="导出 CSV").click()
    download = await downloading.value
    raw = await anyio.Path(await download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][:3] == ["项目编号", "项目名称", "计划类别"]
    assert [(r[0], r[1], r[6], r[7]) for r in table[1:]] == [
        (first["number"], TITLES[0], "600000.01", "公示中"),
        (second["number"], TITLES[1], "450000.50", "公示中"),
    ]

    # A keyword narrows it down to the matching project only.
    await page.get_by_label("关键词").fill("冰川")
    await page.get_by_role("button", name="查询").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(TITLES[0])
    await expect(page.get_by_text(TITLES[1])).to_have_count(0)
    # The file of the same search, in English: the header and the words follow the language.
    english = await client.get(
        f"{stack.url}/public/projects/export",
        params={"program": FUND, "q": "戈壁"},
        headers={"Cookie": "sp_lang=en"},
    )
    assert english.status_code == 200, english.text
    assert english.headers["content-type"].startswith("text/csv")
    assert english.headers["content-disposition"].startswith("attachment;")
    table = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert table[0][:3] == ["Number", "Title", "Program"]
    assert [(r[0], r[2], r[6], r[7]) for r in table[1:]] == [
        (second["number"], "Oasis science fund", "450000.50", "In public notice")
    ]

    # The notice, and an objection without an account: blank fields are refused next to each
    # (anonymous objections are not taken), then one under a real name goes in.
    await page.goto("/public/notices")
    notice_title = f"{notice['call']['title']}拟立项项目公示"
    await expect(page.get_by_role("link", name=notice_title)).to_be_visible()
    await screenshot(page, "public-notices")
    await page.get_by_role("link", name=notice_title).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(notice_title)
    await expect(page.locator("table tbody tr")).to_have_count(2)
    await page.get_by_role("link", name=f"对项目“{TITLES[1]}”提出异议").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("对拟立项项目提出异议")
    name, contact = page.get_by_label("姓名"), page.get_by_label("联系方式")
    reasons = page.get_by_label("异议事实和理由")
    await contact.fill("0931-891")
    await reasons.fill("   ")
    await page.get_by_role("button", name="提交异议").click()
    for box in (name, contact, reasons):
        await expect(box).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-name-e")).to_contain_text("至少应有 2 个字符")
    await expect(page.locator("#f-contact-e")).to_contain_text(
        "应为手机号码、带区号的固定电话或电子邮件地址"
    )
    await expect(page.locator("#f-reasons-e")).to_contain_text("至少应有 5 个字符")
    await expect(contact).to_have_value("0931-891")  # what was typed stays
    await screenshot(page, "public-objection")
    statement = "该项目研究内容与申报单位2024年已结题项目高度重复，请核查。"
    await name.fill("赵敏")
    await contact.fill("0931-8912345")
    await page.get_by_label("工作单位（选填）").fill("兰州市城关区居民")
    await reasons.fill(statement)
    await page.get_by_role("button", name="提交异议").click()
    await expect(page.get_by_role("status")).to_contain_text(
        f"您对项目 {second['number']} 的异议已于"
    )
    await expect(page.get_by_role("status")).to_contain_text("通过您留下的联系方式")
    await expect(page.get_by_role("heading", level=1)).to_have_text(notice_title)

    # A logged-in person objects under their account: no name or contact to give.
    objector = notice["objector"]
    await log_in(page, {**objector, "password": PASSWORD})
    await page.goto(f"/public/notices/{notice['call']['id']}/{first['number']}/objection")
    await expect(page.get_by_text("您将以账号")).to_be_visible()
    await expect(page.get_by_label("姓名")).to_have_count(0)
    await page.get_by_label("异议事实和理由").fill("负责人同期主持的省级项目已达限项。")
    await page.get_by_role("button", name="提交异议").click()
    await expect(page.get_by_role("status")).to_contain_text("站内消息")

    # The manager finds both, in the objectors' own words, and who lodged them.
    manager = await login_as(client, stack, "bp-manager")
    found = []
    for project in (second, first):
        objections = await ok(
            await client.get(
                f"{stack.url}/api/projects/v1/projects/{project['id']}/objections",
                headers=manager,
            )
        )
        found += [
            (o["reasons"], o["filed_by"], o["objector_name"], o["objector_contact"], o["status"])
            for o in objections["items"]
        ]
    assert found == [
        (statement, None, "赵敏", "0931-8912345", "open"),
        ("负责人同期主持的省级项目已达限项。", objector["id"], "bp-objector", None, "open"),
    ]
