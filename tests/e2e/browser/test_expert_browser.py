"""A review expert's whole online review in Chromium: the list of assignments, the application
and its attachment, the score sheet saved as a draft while typing and submitted once, and a
conflict of interest declared.

The review is set up through the API (fast): a published call, applications with a PDF
attachment, endorsed and formally passed, experts in the pool and a review round with the
experts assigned by hand (the automatic assignment would draw on every expert of the field in
the shared stack). The applications and experts share a subject code of their own, so no other
test's assignment run picks these experts, nor this round other tests' experts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Dialog, Page, Response, expect

from shared.credit_code import check_character
from tests.conftest import RunningStack, wait_until
from tests.e2e.browser.conftest import log_in, person, screenshot
from tests.e2e.helpers import admin_token, create_org, e2e_client
from tests.e2e.projects_steps import (
    application_content,
    assign_manager,
    endorse_and_pass,
    login_as,
    published_call,
)

pytestmark = pytest.mark.e2e

SUBJECT = "780.4520"
TITLES = (
    "黄土高原旱作梯田保墒技术研究",
    "祁连山水源涵养林恢复研究",
    "河西绿洲节水灌溉示范",
    "陇东苹果病害绿色防控",
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
COMMENT = "旱作梯田保墒思路新颖，试验设计合理。"


def _pdf() -> bytes:
    """A one-page PDF a viewer can show (with a correct cross-reference table)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 120] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length 52 >>\nstream\nBT /F1 18 Tf 20 60 Td (Feasibility report) Tj ET\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


PDF = _pdf()


@dataclass
class Review:
    """The round, its applications (by title) and the people of the test."""

    api: str
    round_id: str
    deadline: datetime
    applications: dict[str, str]  # title -> application id
    manager: dict[str, str]
    expert: dict[str, str]
    expert2: dict[str, str]

    async def assign(self, client: httpx.AsyncClient, expert: dict[str, str], title: str) -> str:
        """Assigns the expert by hand (once the credit service knows them); the assignment id."""
        found: dict[str, Any] = {}

        async def assigned() -> bool:
            reply = await client.post(
                f"{self.api}/review-rounds/{self.round_id}/assignments",
                headers=self.manager,
                json={
                    "application_id": self.applications[title],
                    "expert_id": expert["id"],
                    "reason": "研究方向对口",
                },
            )
            found.update(reply.json())
            return reply.status_code == 201

        await wait_until(assigned, seconds=30)
        return str(found["id"])


def _code(n: int) -> str:
    body = f"91620100MA7EXP0R{n}"
    return body + check_character(body)


async def _submitted(
    client: httpx.AsyncClient, api: str, pi: dict[str, str], pi_id: str, call_id: str, title: str
) -> str:
    content = application_content(pi_id, []) | {"title": title, "subject_codes": [SUBJECT]}
    draft = await client.post(
        f"{api}/applications", headers=pi, json={"call_id": call_id, "content": content}
    )
    assert draft.status_code == 201, draft.text
    application_id: str = draft.json()["id"]
    uploaded = await client.post(
        f"{api}/applications/{application_id}/attachments",
        headers=pi,
        data={"kind": "feasibility_report"},
        files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    content["attachments"] = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
    saved = await client.put(
        f"{api}/applications/{application_id}",
        headers=pi,
        json={"base_version": 1, "content": content},
    )
    assert saved.status_code == 200, saved.text
    submitted = await client.post(f"{api}/applications/{application_id}/submit", headers=pi)
    assert submitted.status_code == 200, submitted.text
    return application_id


@pytest.fixture(scope="module")
async def review(stack: RunningStack) -> AsyncIterator[Review]:
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        home = await create_org(client, stack, admin, "定西市农业科学研究院", _code(1))
        other = await create_org(client, stack, admin, "天水师范学院", _code(2))
        pm = await person(client, stack, "be-pm", ["program_manager"])
        await person(client, stack, "be-oa", ["org_admin"], home["id"])
        pis = [
            await person(client, stack, f"be-pi{n}", ["applicant"], home["id"]) for n in range(1, 5)
        ]
        expert = await person(client, stack, "be-expert", ["expert"], other["id"])
        expert2 = await person(client, stack, "be-expert2", ["expert"], other["id"])
        await assign_manager(client, api, {"Authorization": f"Bearer {admin}"}, pm["id"])
        manager = await login_as(client, stack, "be-pm")
        for who in (expert, expert2):

            async def registered(user_id: str = who["id"]) -> bool:
                reply = await client.put(
                    f"{api}/experts/{user_id}",
                    headers=manager,
                    json={
                        "title": "研究员",
                        "region": "甘肃",
                        "primary_subjects": [SUBJECT],
                        "keywords": ["旱作农业"],
                        "max_load": 3,
                    },
                )
                return reply.status_code in (200, 201)

            await wait_until(registered)
        tokens = [await login_as(client, stack, pi["username"]) for pi in pis]
        for token in tokens:

            async def known(token: dict[str, str] = token) -> bool:
                me = await client.get(f"{api}/me", headers=token)
                return bool(me.status_code == 200 and me.json()["in_directory"])

            await wait_until(known)

        call = await published_call(client, api, manager, timedelta(seconds=6))
        ids = await asyncio.gather(
            *(
                _submitted(client, api, token, pi["id"], call["id"], title)
                for token, pi, title in zip(tokens, pis, TITLES, strict=True)
            )
        )
        org_admin = await login_as(client, stack, "be-oa")
        for application_id in ids:
            await endorse_and_pass(client, api, application_id, org_admin, manager)
        deadline = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
        opened: dict[str, Any] = {}

        async def round_opened() -> bool:  # once the call has closed
            reply = await client.post(
                f"{api}/calls/{call['id']}/review-rounds",
                headers=manager,
                json={"kind": "proposal", "deadline": deadline.isoformat(), "experts_per_item": 1},
            )
            opened.update(reply.json())
            return reply.status_code == 201

        await wait_until(round_opened, seconds=30)
        yield Review(
            api=api,
            round_id=str(opened["id"]),
            deadline=deadline,
            applications=dict(zip(TITLES, ids, strict=True)),
            manager=manager,
            expert=expert,
            expert2=expert2,
        )


def saving(field: str, value: str) -> Callable[[Response], bool]:
    """The answer to a draft save that carried `value` in `field` (saves come as one types)."""

    def matches(response: Response) -> bool:
        if not response.url.endswith("/sheet/draft"):
            return False
        sent = parse_qs(response.request.post_data or "")
        return sent.get(field) == [value]

    return matches


async def _accept_dialogs(dialog: Dialog) -> None:
    await dialog.accept()


async def _list(page: Page) -> int:
    """Opens my assignments; how many API calls the page made."""
    response = await page.goto("/expert/assignments")
    assert response is not None
    assert response.status == 200
    return int(response.headers["x-portal-api-calls"])


async def test_an_expert_reviews_an_application_online(
    page: Page, client: httpx.AsyncClient, review: Review
) -> None:
    first, second, third = TITLES[:3]
    assignment_id = await review.assign(client, review.expert, first)
    page.on("dialog", _accept_dialogs)
    await log_in(page, review.expert, "/expert/assignments")

    calls_for_one = await _list(page)
    row = page.get_by_role("row").filter(has_text=first)
    await expect(row).to_contain_text(
        review.deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    )
    await expect(row).to_contain_text("待评审")
    for title in (second, third):
        await review.assign(client, review.expert, title)
    calls_for_three = await _list(page)
    await expect(page.get_by_role("row")).to_have_count(4)  # the header and three
    assert calls_for_three == calls_for_one  # no call per row
    await screenshot(page, "expert-assignments")

    # The application: every section, the version under review, the attachment's preview.
    await page.get_by_role("link", name=first).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(first)
    for section in (
        "评审版本",
        "基本信息",
        "项目摘要",
        "项目组成员",
        "经费预算（元）",
        "进度安排",
        "考核指标",
        "附件",
    ):
        await expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    await expect(page.get_by_text("第 2 版")).to_be_visible()
    async with page.expect_response(lambda r: "/attachments/" in r.url) as opened:
        await page.get_by_role("link", name="预览 可行性报告.pdf").click()
    file = await opened.value
    assert file.status == 200
    assert file.headers["content-type"] == "application/pdf"
    assert file.headers["content-disposition"].startswith("inline")
    # Chromium hands a framed PDF to its viewer, so the bytes are fetched again in the session.
    fetched = await page.request.get(file.url)
    assert fetched.headers["content-type"] == "application/pdf"
    assert await fetched.body() == PDF
    await expect(page.locator("iframe.preview")).to_be_visible()
    await screenshot(page, "expert-application")

    # The score sheet: accepted, partly filled, kept as a draft across a reload.
    await page.get_by_role("link", name="填写评审表").click()
    await expect(page.get_by_text("每项意见至少 10 个字")).to_be_visible()  # said up front
    await page.get_by_role("button", name="接受评审任务").click()
    await expect(page.get_by_role("status").first).to_contain_text("已接受评审任务")
    await page.wait_for_load_state()  # htmx listens from here on
    async with page.expect_response(saving("comment_innovation", COMMENT)) as drafted:
        await page.get_by_label("创新性 得分").fill("85")
        await page.get_by_label("创新性 评审意见").fill(COMMENT)
    assert (await drafted.value).status == 200
    await expect(page.locator("#sheet-status")).to_contain_text("已保存")
    await page.reload()
    await expect(page.get_by_label("创新性 得分")).to_have_value("85")
    await expect(page.get_by_label("创新性 评审意见")).to_have_value(COMMENT)
    await screenshot(page, "expert-score-sheet")

    # A comment too short: the API says so, next to the field.
    await page.get_by_label("可行性 得分").fill("78")
    await page.get_by_label("可行性 评审意见").fill("可行")
    await page.get_by_label("综合评价").fill("建议支持，注意示范推广成本。")
    await page.get_by_label("推荐意见").select_option("support")
    await page.get_by_role("button", name="提交评审表").click()
    short = page.get_by_label("可行性 评审意见")
    await expect(short).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#comment-feasibility-e")).to_contain_text("至少 10 个字")
    await expect(page.get_by_label("创新性 得分")).to_have_value("85")  # nothing typed is lost

    await short.fill("团队基础较好，示范区条件具备，进度安排可行。")
    await page.get_by_role("button", name="提交评审表").click()
    await expect(page.get_by_role("heading", name="已提交的评审意见")).to_be_visible()
    await expect(page.get_by_role("heading", name="提交之后")).to_be_visible()
    await expect(page.get_by_role("button", name="提交评审表")).to_have_count(0)  # read-only

    await _list(page)
    await expect(page.get_by_role("row").filter(has_text=first)).to_contain_text("已提交")

    seen = await client.get(
        f"{review.api}/assignments/{assignment_id}/sheet", headers=review.manager
    )
    assert seen.status_code == 200, seen.text
    sheet = seen.json()
    assert sheet["status"] == "submitted"
    assert sheet["scores"] == {"innovation": 85, "feasibility": 78}
    assert sheet["recommendation"] == "support"


async def test_declaring_a_conflict_takes_the_assignment_off_the_list_to_score(
    page: Page, client: httpx.AsyncClient, stack: RunningStack, review: Review
) -> None:
    title = TITLES[3]
    await review.assign(client, review.expert2, title)
    page.on("dialog", _accept_dialogs)
    await log_in(page, review.expert2, "/expert/assignments")
    row = page.get_by_role("row").filter(has_text=title)
    await expect(row).to_contain_text("待评审")

    await row.get_by_role("link", name="回避或谢绝").click()
    reason = page.get_by_label("利益冲突说明")
    await reason.fill("  ")  # blank: the API refuses it, and the page says so under the field
    await page.get_by_role("button", name="申报利益冲突并回避").click()
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#conflict-reason-e")).to_be_visible()

    await reason.fill("申请人是我近三年的合作者")
    await page.get_by_role("button", name="申报利益冲突并回避").click()
    await expect(page).to_have_url(f"{stack.url}/expert/assignments")
    await expect(page.get_by_role("status").first).to_contain_text("已申报利益冲突")
    row = page.get_by_role("row").filter(has_text=title)
    await expect(row).to_contain_text("利益冲突回避")
    await expect(row).not_to_contain_text("待评审")
    await expect(row.get_by_role("link")).to_have_count(0)  # nothing left to open or score

    token = await login_as(client, stack, review.expert2["username"])
    mine = await client.get(f"{review.api}/me/assignments", headers=token)
    assert mine.json()["items"] == []
