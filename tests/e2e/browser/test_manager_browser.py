"""A program manager in Chromium: the call's dashboard, the expert assignment (dry run, pairs
with their reasons, apply), the review progress and decisions; an evaluator engaged by a
manager reads credit records only with a stated purpose."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.browser.conftest import PASSWORD, log_in, screenshot
from tests.e2e.helpers import admin_token, create_org, create_user
from tests.e2e.projects_steps import ZDYF, application_content, assign_manager, endorse_and_pass

pytestmark = pytest.mark.e2e

# A field no other end-to-end test uses: the dry run draws on the whole pool of the shared
# stack, and only these experts are in it.
SUBJECT = "520.2410"
CALL_TITLE = "2026年度重点研发计划（门户专家分配）"
# Long enough for two applications to be submitted before the close, even on a busy machine
# (endorsement and the formal check may come after it); the manager's review opens after it.
CLOSES_IN = timedelta(seconds=8)


def _code(n: int) -> str:
    body = f"91620100MA7BM{n:04d}"
    return body + check_character(body)


@dataclass
class Review:
    call: dict[str, Any]
    manager: dict[str, str]
    experts: dict[str, dict[str, str]]  # by username


async def _headers(client: httpx.AsyncClient, stack: RunningStack, who: dict[str, str]) -> Any:
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": who["username"], "password": who["password"]}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


async def _known_to_projects(client: httpx.AsyncClient, api: str, headers: Any) -> None:
    async def known() -> bool:
        me = await client.get(f"{api}/me", headers=headers)
        return bool(me.status_code == 200 and me.json()["in_directory"])

    await wait_until(known)


async def _people(
    client: httpx.AsyncClient, stack: RunningStack, wanted: dict[str, tuple[list[str], str | None]]
) -> dict[str, dict[str, str]]:
    """Accounts made at once with one admin login (each costs the gateway a password hash)."""
    admin = await admin_token(client, stack)
    made = await asyncio.gather(
        *(
            create_user(client, stack, admin, username, roles, org_id)
            for username, (roles, org_id) in wanted.items()
        )
    )
    return {
        username: {"id": user["id"], "username": username, "password": PASSWORD}
        for username, user in zip(wanted, made, strict=True)
    }


async def _register(client: httpx.AsyncClient, api: str, manager: Any, user_id: str) -> None:
    async def registered() -> bool:
        reply = await client.put(
            f"{api}/experts/{user_id}",
            headers=manager,
            json={
                "title": "研究员",
                "region": "甘肃",
                "primary_subjects": [SUBJECT],
                "keywords": ["防沙治沙", "植被恢复"],
                "max_load": 5,
            },
        )
        return reply.status_code in (200, 201)

    await wait_until(registered)  # once projects has heard of them from the gateway


async def _submitted_application(
    client: httpx.AsyncClient, api: str, call_id: str, n: int, pi: Any
) -> str:
    content = application_content(pi["id"], []) | {
        "title": f"河西走廊防沙治沙技术研究（{n}）",
        "subject_codes": [SUBJECT],
        "keywords": ["防沙治沙", "植被恢复"],
    }
    draft = await client.post(
        f"{api}/applications", headers=pi["headers"], json={"call_id": call_id, "content": content}
    )
    assert draft.status_code == 201, draft.text
    application_id: str = draft.json()["id"]
    submit = f"{api}/applications/{application_id}/submit"
    submitted = await client.post(submit, headers=pi["headers"])
    assert submitted.status_code == 200, submitted.text
    return application_id


async def _call_in_review(client: httpx.AsyncClient, stack: RunningStack) -> Review:
    """A call of 重点研发计划 with two applications endorsed and formally passed, closing in a
    few seconds, and three experts of its field in the pool (one of the applicants' unit)."""
    api = f"{stack.url}/api/projects/v1"
    admin = await admin_token(client, stack)
    home, other = await asyncio.gather(
        create_org(client, stack, admin, "兰州交通大学（门户）", _code(1)),
        create_org(client, stack, admin, "甘肃省林业科学研究院（门户）", _code(2)),
    )
    people = await _people(
        client,
        stack,
        {
            "bm-manager": (["program_manager"], None),
            "bm-pi1": (["applicant"], home["id"]),
            "bm-pi2": (["applicant"], home["id"]),
            "bm-orgadmin": (["org_admin"], home["id"]),
            "bm-expert-colleague": (["expert"], home["id"]),
            "bm-expert-one": (["expert"], other["id"]),
            "bm-expert-two": (["expert"], None),
        },
    )
    manager = people["bm-manager"]
    await assign_manager(client, api, bearer(admin), manager["id"])
    as_manager, as_org_admin, *as_pis = await asyncio.gather(
        *(_headers(client, stack, people[n]) for n in ("bm-manager", "bm-orgadmin")),
        *(_headers(client, stack, people[f"bm-pi{n}"]) for n in (1, 2)),
    )
    experts = {name: who for name, who in people.items() if name.startswith("bm-expert")}
    await asyncio.gather(
        *(_register(client, api, as_manager, e["id"]) for e in experts.values()),
        *(_known_to_projects(client, api, headers) for headers in (as_org_admin, *as_pis)),
    )

    now = datetime.now(UTC)
    created = await client.post(
        f"{api}/calls",
        headers=as_manager,
        json={
            "program_id": ZDYF,
            "year": 2026,
            "title": CALL_TITLE,
            "guideline": "支持河西走廊防沙治沙与植被恢复。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + CLOSES_IN).isoformat(),
            "budget_min_fen": 10_000_000,
            "budget_max_fen": 200_000_000,
            "required_attachments": [],
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
            "experts_per_application": 2,
            "notice_days": 7,
        },
    )
    assert created.status_code == 201, created.text
    call = created.json()
    published = await client.post(f"{api}/calls/{call['id']}/publish", headers=as_manager)
    assert published.status_code == 200, published.text
    submitted = await asyncio.gather(
        *(
            _submitted_application(
                client, api, call["id"], n, people[f"bm-pi{n}"] | {"headers": headers}
            )
            for n, headers in enumerate(as_pis, start=1)
        )
    )
    # One after the other: each endorsement asks the credit service, as a busy stack allows.
    for application_id in submitted:
        await endorse_and_pass(client, api, application_id, as_org_admin, as_manager)
    return Review(call=call, manager=manager, experts=experts)


async def _closed(client: httpx.AsyncClient, stack: RunningStack, call_id: str) -> None:
    async def closed() -> bool:
        found = await client.get(f"{stack.url}/api/projects/v1/calls/{call_id}")
        return bool(found.json()["status"] == "closed")

    await wait_until(closed, seconds=30)


async def test_a_manager_assigns_experts_from_the_calls_dashboard(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    review = await _call_in_review(client, stack)
    await log_in(page, review.manager, "/manage/calls")
    await page.get_by_role("link", name=CALL_TITLE).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(CALL_TITLE)
    counts = page.get_by_role("table", name="申报书状态")
    await expect(counts.get_by_role("row").filter(has_text="评审中")).to_contain_text("2")
    await expect(page.get_by_role("heading", name="待形式审查 (0)")).to_be_visible()

    await _closed(client, stack, review.call["id"])
    await page.reload()
    await page.get_by_label("每份申报书的专家人数").fill("2")
    await page.get_by_role("button", name="开启评审").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("专家分配")
    await page.get_by_role("button", name="试运行分配").click()

    proposed = page.get_by_role("table", name="拟新增的分配")
    await expect(proposed.get_by_role("row")).to_have_count(5)  # the header and four pairs
    await expect(proposed).not_to_contain_text("bm-expert-colleague")  # same organization
    await expect(proposed.get_by_role("row").nth(1)).to_contain_text(f"{SUBJECT} 是专家的主学科")
    await expect(proposed.get_by_role("row").nth(1)).to_contain_text("共同关键词")
    conflicts = page.get_by_role("table", name="利益冲突 (2)")
    await expect(conflicts).to_contain_text("bm-expert-colleague")
    await screenshot(page, "manager-assignment")
    await page.get_by_role("button", name="确认分配").click()

    await expect(page.get_by_role("status")).to_have_text("已分配 4 个评审任务，专家已收到邀请")
    progress = page.get_by_role("table", name="评审进度")
    for name in ("bm-expert-one", "bm-expert-two"):
        row = progress.get_by_role("row").filter(has_text=name)
        await expect(row.get_by_role("cell").nth(1)).to_have_text("2")  # assigned
    await expect(progress).not_to_contain_text("bm-expert-colleague")
    await expect(page.get_by_text("同单位（含关联单位）: 2")).to_be_visible()
    await screenshot(page, "manager-dashboard")
    again = await page.reload()
    assert again is not None
    assert again.headers["x-portal-api-calls"] == "2"  # the overview and one page of the list

    await page.get_by_role("link", name="排序与立项决策").click()
    first = page.get_by_role("row").filter(has_text="防沙治沙技术研究（1）")
    second = page.get_by_role("row").filter(has_text="防沙治沙技术研究（2）")
    await first.get_by_label("决定").select_option("approve")
    await first.get_by_label("批准金额（元）").fill("八十万")  # not an amount: said at the field
    await page.get_by_role("button", name="保存决定").click()
    await expect(first.get_by_label("批准金额（元）")).to_have_attribute("aria-invalid", "true")
    await first.get_by_label("决定").select_option("reserve")
    await first.get_by_label("理由").fill("评审结果良好，列入项目储备库")
    await second.get_by_label("决定").select_option("reject")
    await second.get_by_label("理由").fill("与本年度支持方向契合度不高")
    await page.get_by_role("button", name="保存决定").click()
    await expect(page.get_by_role("status")).to_contain_text("决定已保存")
    await expect(first).to_contain_text("储备")
    await expect(second).to_contain_text("未立项")


async def test_an_engaged_evaluator_reads_credit_records_only_for_a_stated_purpose(
    page: Page, client: httpx.AsyncClient, stack: RunningStack
) -> None:
    api = f"{stack.url}/api/projects/v1"
    admin = await admin_token(client, stack)
    people = await _people(
        client,
        stack,
        {"bm-engager": (["program_manager"], None), "bm-evaluator": (["evaluator"], None)},
    )
    manager, evaluator = people["bm-engager"], people["bm-evaluator"]
    await assign_manager(client, api, bearer(admin), manager["id"])
    as_manager, as_evaluator = await asyncio.gather(
        _headers(client, stack, manager), _headers(client, stack, evaluator)
    )
    await _known_to_projects(client, api, as_evaluator)
    why = "2026年度重点研发计划执行情况第三方评价"
    engaged = await client.post(
        f"{api}/engagements",
        headers=as_manager,
        json={"evaluator_id": evaluator["id"], "program_id": ZDYF, "purpose": why},
    )
    assert engaged.status_code == 201, engaged.text

    await log_in(page, evaluator, "/evaluator/engagements")
    await expect(page.get_by_role("cell", name=why)).to_be_visible()
    await screenshot(page, "evaluator-engagements")
    await page.get_by_role("link", name="重点研发计划").click()
    purpose = page.get_by_label("查阅用途")
    await purpose.fill("评价")  # too short: the credit service says why
    await page.get_by_role("button", name="查阅信用记录").click()
    await expect(purpose).to_have_attribute("aria-invalid", "true")
    await purpose.fill("2026年度重点研发计划执行评价：核查承担单位信用")
    await page.get_by_role("button", name="查阅信用记录").click()
    await expect(purpose).not_to_have_attribute("aria-invalid", "true")
    none_found = page.get_by_text("没有您可查阅的信用记录")
    await expect(page.get_by_role("table", name="信用记录").or_(none_found)).to_be_visible()
