"""The whole story, end to end through the gateway, with all four services as real processes:
how a province runs a special fund from the call to the money, credit and evaluation.

Every step is done by the role that does it in real life. The services' clock is moved with
the test clock (`SCIPLAN_<SERVICE>_TEST_CLOCK_FILE`): to the coming first of July when the story
begins (its fiscal year is that year, whatever year the test runs in), over the notice period,
a report's due date and the objection window, and into the next year for the year-end close;
the stack and its database are the story's own. At the end, every event one service published
has been consumed exactly once by each service that follows it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared.clock import SHANGHAI, in_shanghai
from shared.db import asyncpg_dsn
from shared.testing.plugin import migrated_database
from tests.conftest import RunningStack, running_stack, wait_until
from tests.e2e.consortium_steps import part_endorsed, parts_set
from tests.e2e.documents_steps import task_book_issued_and_verified
from tests.e2e.helpers import e2e_client
from tests.e2e.money_steps import year_closed
from tests.e2e.outputs_steps import (
    PROMISED,
    ProjectPeople,
    accepted_against_outputs,
    outputs_verified,
)
from tests.e2e.panel_steps import panel_heard, panel_settings
from tests.e2e.reports_steps import (
    overdue_for_the_manager,
    past,
    refused_for_overdue,
    report_filed,
    scheduled,
    today,
    told_overdue,
)
from tests.e2e.story_steps import PDF, Story, new_id
from tests.mail_catcher import smtp_server

pytestmark = pytest.mark.e2e

FUND = "LBCX"  # 兰白科技创新专项 (the special fund the story creates)
ZDZX = "0193a5c0-0000-7000-8000-000000000001"  # 科技重大专项计划 (seeded)
BUDGET_A = 80_000_000  # fen: ¥800,000
BUDGET_B = 60_000_000
SERVICES_WITH_CLOCKS = ("PROJECTS", "CREDIT", "FUNDS", "NOTIFY")


@dataclass
class StoryStack:
    running: RunningStack
    clock_file: Path


@contextlib.contextmanager
def running_story_stack(
    postgres_server_url: str,
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
    *,
    portal: bool = False,
    replicas: int = 1,
    gateways: int = 1,
) -> Iterator[StoryStack]:
    """The story's own stack and database, its clock moved by the test; `replicas` processes
    of every service behind `gateways` gateways (the portal's too, with `portal`)."""
    clock_file = tmp_path / "clock"
    clock_file.write_text("0")
    clocks = {f"SCIPLAN_{s}_TEST_CLOCK_FILE": str(clock_file) for s in SERVICES_WITH_CLOCKS}
    # An endorsement waits for credit's answer: on a busy 2-core box that can pass 5 s.
    clocks["SCIPLAN_GATEWAY_PROXY_TIMEOUT_SECONDS"] = "30"
    with smtp_server() as mail:
        clocks["SCIPLAN_NOTIFY_SMTP_HOST"] = "127.0.0.1"
        clocks["SCIPLAN_NOTIFY_SMTP_PORT"] = str(mail.port)
        with (
            migrated_database(postgres_server_url, f"sciplan_story_{os.getpid()}") as url,
            running_stack(
                url,
                tmp_path / "logs",
                clocks | (extra_env or {}),
                portal=portal,
                replicas=replicas,
                gateways=gateways,
            ) as running,
        ):
            running.mail = mail
            yield StoryStack(running=running, clock_file=clock_file)


@pytest.fixture
def story_stack(postgres_server_url: str, tmp_path: Path) -> Iterator[StoryStack]:
    with running_story_stack(postgres_server_url, tmp_path) as stack:
        yield stack


# --- the cast ---------------------------------------------------------------------------------


async def cast(story: Story) -> None:
    await story.admin()
    await story.organization("lzu", "兰州大学", "university", 1)
    await story.organization("gsaas", "甘肃省农业科学院", "research_institute", 2)
    await story.organization("nwnu", "西北师范大学", "university", 3)
    await story.organization("gau", "甘肃农业大学", "university", 4)
    await story.organization("lab", "兰州新区检验检测中心有限公司", "enterprise", 5)
    await story.organization("green", "甘肃绿源农业科技有限公司", "enterprise", 6)
    people = [
        ("pm.lbcx", "李明", ["program_manager"], None),
        ("pm.zdzx", "赵刚", ["program_manager"], None),  # of another program (重大专项)
        ("pi.wang", "王芳", ["applicant"], "lzu"),
        ("pi.liu", "刘洋", ["applicant"], "gsaas"),
        ("oa.lzu", "张伟", ["org_admin"], "lzu"),
        ("oa.gsaas", "孙丽", ["org_admin"], "gsaas"),
        ("copi.tian", "田课题", ["applicant"], "gsaas"),  # leads 农科院's part of 王芳's project
        ("oa.nwnu", "周科研", ["org_admin"], "nwnu"),  # no part in 王芳's project
        ("ex.chen", "陈静", ["expert"], "lzu"),  # same organization as pi.wang: a conflict
        ("ex.zhao", "赵强", ["expert"], "nwnu"),
        ("ex.wu", "吴磊", ["expert"], "gau"),
        ("fo.zhou", "周会计", ["finance_officer"], None),
        ("fo.qian", "钱审核", ["finance_officer"], None),
        ("ev.sun", "孙评估", ["evaluator"], None),
        ("co.ma", "马信用", ["credit_officer"], None),  # the second officer on severe records
        ("citizen.he", "何群众", ["applicant"], None),
        ("prov.lab", "马检测", ["provider"], "lab"),
        ("ent.green", "杨总", ["enterprise"], "green"),
    ]
    for username, name, roles, org in people:
        await story.person(username, name, roles, org, address_of(username))
    for username, *_ in people:
        await story.known_everywhere(username)


def address_of(username: str) -> str | None:
    """Everyone's mail address but 刘洋's: he is told in the inbox alone."""
    return None if username == "pi.liu" else f"{username}@story.example.org"


# --- projects: the fund, the call, the applications -------------------------------------------


def begin(story: Story) -> int:
    """The clock moves to the coming first of July, 09:00 in Beijing: the story's dates are
    then the same in any year (no holiday in its objection windows, half a year before the
    year-end close). Its fiscal year."""
    now = in_shanghai(story.now())
    year = now.year if (now.month, now.day, now.hour) < (7, 1, 9) else now.year + 1
    story.move_to(datetime(year, 7, 1, 9, tzinfo=SHANGHAI))
    return year


async def special_fund(story: Story, year: int) -> dict[str, Any]:
    fund: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        "/programs",
        "admin",
        json={
            "code": FUND,
            "name_zh": "兰白科技创新专项",
            "name_en": "Lanbai Science and Technology Innovation Fund",
            "managing_agency": "甘肃省科学技术厅",
            "active_from_year": year,
            "envelopes": [{"year": year, "amount_fen": 1_000_000_000}],
            "eligibility": {
                "eligible_org_kinds": ["university", "research_institute"],
                "budget_min_fen": 10_000_000,
                "budget_max_fen": 200_000_000,
                "required_attachments": ["feasibility_report"],
                "experts_per_application": 2,
                "notice_days": 7,
                "max_active_projects_per_pi": 2,
                "min_credit_level": "C",
            },
        },
    )
    await story.ok(
        "PUT", "projects", f"/programs/{fund['id']}/managers/{story.ids['pm.lbcx']}", "admin"
    )
    await story.ok("PUT", "projects", f"/programs/{ZDZX}/managers/{story.ids['pm.zdzx']}", "admin")
    return fund


async def open_call(
    story: Story, fund: dict[str, Any], title: str, closes_in: timedelta = timedelta(hours=2)
) -> dict[str, Any]:
    now = story.now()
    call: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        "/calls",
        "pm.lbcx",
        json={
            "program_id": fund["id"],
            "year": fund["active_from_year"],
            "title": title,
            "guideline": "支持兰白试验区旱作农业、盐碱地治理与新材料方向。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + closes_in).isoformat(),
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
        },
    )
    await story.ok("POST", "projects", f"/calls/{call['id']}/publish", "pm.lbcx")
    return call


def content(
    story: Story,
    pi: str,
    title: str,
    attachments: list[dict[str, str]],
    co_pi: str | None = None,
    indicators: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    team = [{"user_id": story.ids[pi], "role": "负责人", "share": 100}]
    if co_pi is not None:
        team = [
            {"user_id": story.ids[pi], "role": "负责人", "share": 70},
            {"user_id": story.ids[co_pi], "role": "课题负责人", "share": 30},
        ]
    return {
        "title": title,
        "abstract": "围绕兰白试验区的产业需求开展关键技术攻关与示范。",
        "keywords": ["盐碱地", "土壤改良"],
        "subject_codes": ["210.2010"],
        "team": team,
        "budget": {
            "equipment": 10_000_000,
            "business": 40_000_000,
            "labour": 20_000_000,
            "indirect": 10_000_000,
        },
        "milestones": [{"name": "完成试验区建设", "due": f"{today(story).year + 1}-12-31"}],
        "indicators": indicators or [{"name": "改良面积", "target": 5000, "unit": "亩"}],
        "attachments": attachments,
    }


async def submitted(story: Story, call: dict[str, Any], pi: str, title: str) -> str:
    application_id = await drafted(story, call, pi, title)
    await story.ok("POST", "projects", f"/applications/{application_id}/submit", pi)
    return application_id


async def drafted(
    story: Story,
    call: dict[str, Any],
    pi: str,
    title: str,
    co_pi: str | None = None,
    indicators: list[dict[str, Any]] | None = None,
) -> str:
    """A complete draft, its feasibility report uploaded, not submitted yet."""

    def written(attachments: list[dict[str, str]]) -> dict[str, Any]:
        return content(story, pi, title, attachments, co_pi, indicators)

    draft = await story.ok(
        "POST",
        "projects",
        "/applications",
        pi,
        json={"call_id": call["id"], "content": written([])},
    )
    application_id: str = draft["id"]
    uploaded = await story.call(
        "POST",
        "projects",
        f"/applications/{application_id}/attachments",
        pi,
        data={"kind": "feasibility_report"},
        files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
    await story.ok(
        "PUT",
        "projects",
        f"/applications/{application_id}",
        pi,
        json={"base_version": 1, "content": written(attachments)},
    )
    return application_id


async def consortium(story: Story, application_id: str) -> None:
    """王芳 leads for 兰州大学; 甘肃省农业科学院 takes part (田课题 its co-PI) and its admin
    endorses that part before she can submit."""
    lzu, gsaas = story.orgs["lzu"]["id"], story.orgs["gsaas"]["id"]
    await parts_set(
        story,
        application_id,
        "pi.wang",
        [
            {"org_id": lzu, "budget_fen": 50_000_000, "work": "改良菌剂研制与机理研究"},
            {
                "org_id": gsaas,
                "budget_fen": 30_000_000,
                "work": "张掖示范区田间试验与推广",
                "co_pi_ids": [story.ids["copi.tian"]],
            },
        ],
    )
    endorsed = await part_endorsed(story, application_id, gsaas, "oa.gsaas", "同意承担田间试验")
    assert endorsed["pending_org_ids"] == [], endorsed


async def endorse(story: Story, application_id: str, org_admin: str) -> dict[str, Any]:
    endorsed: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        f"/applications/{application_id}/endorsement",
        org_admin,
        json={"decision": "endorse", "reason": "同意推荐"},
    )
    return endorsed


# --- expert review ----------------------------------------------------------------------------


async def review(story: Story, call: dict[str, Any], applications: dict[str, str]) -> None:
    for expert, keywords in (
        ("ex.chen", ["盐碱地"]),
        ("ex.zhao", ["盐碱地"]),
        ("ex.wu", ["土壤改良"]),
    ):
        await story.ok(
            "PUT",
            "projects",
            f"/experts/{story.ids[expert]}",
            "pm.lbcx",
            json={
                "title": "研究员",
                "region": "甘肃",
                "primary_subjects": ["210.2010"],
                "keywords": keywords,
                "max_load": 5,
            },
        )
    opened = await story.ok(
        "POST",
        "projects",
        f"/calls/{call['id']}/review-rounds",
        "pm.lbcx",
        json={
            "kind": "proposal",
            "deadline": (story.now() + timedelta(days=3)).isoformat(),
            "experts_per_item": 2,
        },
    )
    round_id = opened["id"]
    await story.ok("POST", "projects", f"/review-rounds/{round_id}/conflicts/refresh", "pm.lbcx")
    conflicts = await story.ok("GET", "projects", f"/review-rounds/{round_id}/conflicts", "pm.lbcx")
    assert [(c["expert_id"], c["kind"]) for c in conflicts["items"]] == [
        (story.ids["ex.chen"], "same_org")
    ]
    run = await story.ok(
        "POST",
        "projects",
        f"/review-rounds/{round_id}/assignment-runs",
        "pm.lbcx",
        json={"seed": 2026},
    )
    # Without conflicts: 陈静 (兰州大学) never reviews 王芳 (兰州大学).
    pairs = {(p["expert_id"], p["application_id"]) for p in run["pairs"]}
    assert (story.ids["ex.chen"], applications["pi.wang"]) not in pairs
    await story.ok("POST", "projects", f"/assignment-runs/{run['id']}/apply", "pm.lbcx")
    for expert in ("ex.chen", "ex.zhao", "ex.wu"):
        mine = await story.ok("GET", "projects", "/me/assignments", expert)
        for assignment in mine["items"]:
            path = f"/assignments/{assignment['id']}"
            await story.ok("POST", "projects", f"{path}/accept", expert)
            mark = 90 if assignment["application"]["id"] == applications["pi.wang"] else 80
            await story.ok(
                "PUT",
                "projects",
                f"{path}/sheet",
                expert,
                json={
                    "scores": {"innovation": mark, "feasibility": mark - 5},
                    "comments": {
                        "innovation": "技术路线有一定创新，需补充对照试验。",
                        "feasibility": "团队基础较好，示范区条件具备。",
                    },
                    "overall_comment": "建议支持，注意控制示范推广成本。",
                    "recommendation": "support",
                },
            )
            await story.ok("POST", "projects", f"{path}/sheet/submit", expert)
    results = await story.ok("GET", "projects", f"/review-rounds/{round_id}/results", "pm.lbcx")
    ranked = {r["application_id"]: r for r in results["items"]}
    assert ranked[applications["pi.wang"]]["rank"] == 1
    assert all(r["n_reviews"] == 2 for r in ranked.values())
    await story.ok("POST", "projects", f"/review-rounds/{round_id}/close", "pm.lbcx")


# --- decision, public notice, task books ------------------------------------------------------


async def decide(
    story: Story, call: dict[str, Any], applications: dict[str, str]
) -> dict[str, str]:
    decided = await story.ok(
        "POST",
        "projects",
        f"/calls/{call['id']}/decisions",
        "pm.lbcx",
        json={
            "decisions": [
                {
                    "application_id": applications["pi.wang"],
                    "decision": "approve",
                    "approved_budget_fen": BUDGET_A,
                    "reason": "书面评审与答辩综合排名第一",
                },
                {
                    "application_id": applications["pi.liu"],
                    "decision": "approve",
                    "approved_budget_fen": BUDGET_B,
                    "reason": "书面评审与答辩综合排名第二",
                },
            ]
        },
    )
    by_application = {d["application_id"]: d["project_id"] for d in decided["decisions"]}
    return {pi: by_application[app] for pi, app in applications.items()}


async def public_notice(story: Story, projects: dict[str, str]) -> None:
    """One objection, filed by a member of the public and dismissed; the notice then runs out."""
    target = projects["pi.wang"]
    objection = await story.ok(
        "POST",
        "projects",
        f"/projects/{target}/objections",
        "citizen.he",
        json={"reasons": "该项目与已结题项目内容重复，请核查。"},
    )
    early = await story.call("POST", "projects", f"/projects/{target}/task-book/sign", "oa.lzu")
    assert early.status_code == 409, early.text  # not while the notice runs
    await story.ok(
        "POST",
        "projects",
        f"/projects/{target}/objections/{objection['id']}/resolution",
        "pm.lbcx",
        json={
            "decision": "dismiss",
            "resolution": "经核查，研究内容与已结题项目不重复，异议不成立",
        },
    )
    story.advance(days=8)


def task_book(
    budget: int, starts_on: date, reports: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Starting on `starts_on`, ending at the end of the year after next; its own report
    schedule if `reports`, else the program's."""
    book: dict[str, Any] = {
        "budget": {
            "equipment": budget // 5,
            "business": budget // 2,
            "labour": budget // 5,
            "indirect": budget // 10,
        },
        "tranches": [
            {"name": "首笔拨款", "amount_fen": budget // 2, "on": "signing"},
            {"name": "中期拨款", "amount_fen": budget * 3 // 8, "on": "midterm"},
            {"name": "验收后拨款", "amount_fen": budget // 8, "on": "acceptance"},
        ],
        "starts_on": starts_on.isoformat(),
        "ends_on": date(starts_on.year + 2, 12, 31).isoformat(),
    }
    if reports is not None:
        book["reports"] = reports
    return book


def own_schedule(starts_on: date) -> list[dict[str, Any]]:
    """王芳's task book: the first year's report two weeks in (an early look at a new
    demonstration site), the final report 90 days after the end."""
    ends_on = date(starts_on.year + 2, 12, 31)
    return [
        {"kind": "annual", "period": "Y1", "due_on": (starts_on + timedelta(days=14)).isoformat()},
        {"kind": "final", "due_on": (ends_on + timedelta(days=90)).isoformat()},
    ]


async def contract(
    story: Story,
    project_id: str,
    budget: int,
    org_admin: str,
    reports: list[dict[str, Any]] | None = None,
) -> None:
    book = task_book(budget, today(story), reports)
    await story.ok("PUT", "projects", f"/projects/{project_id}/task-book", "pm.lbcx", json=book)
    await story.ok("POST", "projects", f"/projects/{project_id}/task-book/sign", org_admin)
    signed = await story.ok("POST", "projects", f"/projects/{project_id}/task-book/sign", "pm.lbcx")
    assert signed["status"] == "in_progress"


async def report(story: Story, project_id: str, pi: str, kind: str, decision: str) -> None:
    body: dict[str, Any] = {"summary": f"{kind} 报告：按计划推进。"}
    if kind == "final":
        body = {
            "summary": "完成全部研究任务，建立盐碱地改良技术体系。",
            "milestones": [{"name": "完成试验区建设", "done": True}],
            "indicators": [{"name": "改良面积", "achieved": 6000}],
        }
    filed = await story.ok(
        "POST",
        "projects",
        f"/projects/{project_id}/reports",
        pi,
        json={"kind": kind, "content": body},
    )
    await story.ok(
        "POST",
        "projects",
        f"/projects/{project_id}/reports/{filed['id']}/review",
        "pm.lbcx",
        json={"decision": decision, "comment": "审核意见：同意"},
    )


# --- funds: envelopes, tranches, post-subsidy, spending, recovery -----------------------------


async def fund_the_envelope(story: Story, year: int) -> None:
    await story.ok(
        "POST",
        "funds",
        "/grants/envelopes",
        "fo.zhou",
        json={
            "id": new_id(),
            "program_code": FUND,
            "year": year,
            "amount_fen": 1_000_000_000,
            "note": f"省级财政{year}年度兰白专项资金",
        },
    )


async def grant(story: Story, project_id: str, who: str = "fo.zhou") -> dict[str, Any]:
    found: dict[str, Any] = await story.ok("GET", "funds", f"/grants/{project_id}", who)
    return found


async def pay_tranche(story: Story, project_id: str, n: int) -> dict[str, Any]:
    """The tranche falls due by itself (the projects service's event); a finance officer
    approves the payment order the event made."""
    order: str | None = None

    async def due() -> bool:
        nonlocal order
        reply = await story.call("GET", "funds", f"/grants/{project_id}", "fo.zhou")
        if reply.status_code != 200:
            return False
        tranche = next(t for t in reply.json()["tranches"] if t["n"] == n)
        order = tranche["payment_order_id"]
        return bool(tranche["status"] == "awaiting_approval")

    await wait_until(due, seconds=30)
    await story.ok(
        "POST",
        "funds",
        f"/payment-orders/{order}/approve",
        "fo.qian",
        json={"reason": "拨付资料齐全，同意拨付"},
    )
    paid = await grant(story, project_id)
    assert next(t for t in paid["tranches"] if t["n"] == n)["status"] == "paid"
    return paid


async def who_reads_the_grant(story: Story, project_id: str, paid: dict[str, Any]) -> None:
    """Issue 13, items 6 and 9: the PI and the fund's manager read the grant and its money; a
    manager of another program, an evaluator not engaged and another PI are told 404."""
    mine = await grant(story, project_id, who="pi.wang")
    assert (mine["pi"]["name"], mine["released"]) == ("王芳", BUDGET_A // 2)
    assert (await grant(story, project_id, who="pm.lbcx"))["project_id"] == project_id
    account = f"/accounts/{paid['funds_account_id']}"
    for who in ("pm.zdzx", "ev.sun", "pi.liu"):
        hidden = await story.call("GET", "funds", f"/grants/{project_id}", who)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "grant.not_found"), who
    for who in ("pm.zdzx", "ev.sun"):
        for path in (account, f"{account}/statement"):
            assert (await story.call("GET", "funds", path, who)).status_code == 404, (who, path)
        for path in ("/grants", "/accounts", "/payment-orders"):
            assert (await story.ok("GET", "funds", path, who))["items"] == [], (who, path)
    assert (await story.ok("GET", "funds", account, "pm.lbcx"))["id"] == paid["funds_account_id"]


async def balance(story: Story, account_id: str) -> int:
    account = await story.ok("GET", "funds", f"/accounts/{account_id}", "fo.zhou")
    return int(account["credits_posted"]) - int(account["debits_posted"])


async def post_subsidy(story: Story, project_id: str, amount: int) -> None:
    made = await story.ok(
        "POST",
        "funds",
        f"/grants/{project_id}/post-subsidies",
        "fo.zhou",
        json={"id": new_id(), "amount_fen": amount, "reason": "验收通过，按绩效给予后补助"},
    )
    order = made["payment_order_id"]
    own = await story.call(
        "POST", "funds", f"/payment-orders/{order}/approve", "fo.zhou", json={"reason": "同意"}
    )
    assert own.status_code == 403, own.text  # the maker never approves their own payment
    await story.ok(
        "POST", "funds", f"/payment-orders/{order}/approve", "fo.qian", json={"reason": "同意"}
    )


async def spend(story: Story, project_id: str, org_admin: str, category: str, amount: int) -> None:
    await story.ok(
        "POST",
        "funds",
        f"/grants/{project_id}/expenditures",
        org_admin,
        json={
            "id": new_id(),
            "category": category,
            "amount_fen": amount,
            "description": "购置试验材料",
            "spent_on": story.now().date().isoformat(),
        },
    )


async def recover(story: Story, project_id: str, unspent: int) -> None:
    async def frozen() -> bool:
        return bool((await grant(story, project_id))["status"] == "frozen")

    await wait_until(frozen, seconds=30)
    held = await grant(story, project_id)
    assert held["frozen"] == unspent
    assert held["recovery"]["status"] == "open"
    assert held["recovery"]["amount_fen"] == unspent
    refused = await story.call(
        "POST",
        "funds",
        f"/grants/{project_id}/expenditures",
        "oa.gsaas",
        json={
            "id": new_id(),
            "category": "business",
            "amount_fen": 100,
            "description": "终止后继续支出",
            "spent_on": story.now().date().isoformat(),
        },
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "grant.frozen"
    await story.ok(
        "POST", "funds", f"/grants/{project_id}/recovery/settle", "fo.zhou", json={"id": new_id()}
    )
    settled = await grant(story, project_id)
    assert settled["recovery"]["status"] == "settled"
    assert await balance(story, settled["funds_account_id"]) == 0


# --- innovation vouchers ----------------------------------------------------------------------


async def vouchers(story: Story, year: int) -> None:
    program = await story.ok(
        "POST",
        "funds",
        "/voucher-programs",
        "fo.zhou",
        json={
            "id": new_id(),
            "code": "LZCX",
            "name": f"{year}年兰州市科技创新券",
            "year": year,
            "budget_fen": 50_000_000,
            "voucher_share_bp": 5000,
            "cap_per_group_fen": 20_000_000,
            "validity_days": 180,
            "categories": ["testing", "rd_service"],
            "managing_agency": "兰州市科学技术局",
            "run_by_program": FUND,  # pm.lbcx admits its providers
        },
    )
    provider = await story.ok(
        "POST",
        "funds",
        "/voucher-providers",
        "prov.lab",
        json={
            "id": new_id(),
            "services": [{"name": "材料成分检测", "category": "testing", "price_fen": 4_000_000}],
        },
    )
    reviewed = await story.ok(
        "POST",
        "funds",
        f"/voucher-providers/{provider['id']}/approve",
        "pm.lbcx",
        json={"reason": "资质齐全"},
    )
    assert reviewed["status"] == "in_publicity"
    public = await story.call("GET", "funds", "/voucher-providers/publicity", None)
    assert public.status_code == 200, public.text  # the publicity list needs no login
    assert "兰州新区检验检测中心有限公司" in public.text
    await story.ok("POST", "funds", "/voucher-enterprises", "ent.green", json={"id": new_id()})
    voucher = await story.ok(
        "POST",
        "funds",
        f"/voucher-programs/{program['id']}/vouchers",
        "ent.green",
        json={"id": new_id(), "amount_fen": 10_000_000},
    )
    order = {
        "id": new_id(),
        "voucher_id": voucher["id"],
        "provider_id": provider["id"],
        "service_name": "材料成分检测",
        "service_category": "testing",
        "contract_amount_fen": 4_000_000,
        "voucher_amount_fen": 2_000_000,
    }
    early = await story.call("POST", "funds", "/voucher-orders", "ent.green", json=order)
    assert early.status_code == 409, early.text  # still in its 7-day publicity period
    assert early.json()["code"] == "voucher.provider_not_accepting"
    story.advance(days=8)
    placed = await story.ok("POST", "funds", "/voucher-orders", "ent.green", json=order)
    path = f"/voucher-orders/{placed['id']}"
    await story.ok("POST", "funds", f"{path}/deliver", "prov.lab")
    await story.ok("POST", "funds", f"{path}/confirm", "ent.green")
    await story.ok(
        "POST",
        "funds",
        f"{path}/redemption",
        "prov.lab",
        json={
            "invoice_number": "62001234-00056789",
            "invoice_amount_fen": 4_000_000,
            "contract_ref": "HT-2026-LZ-0042",
            "self_payment_ref": "转账凭证-20261201-001",
            "delivery_proof_ref": "检测报告-2026-1188",
        },
    )
    redeemed = await story.ok(
        "POST", "funds", f"{path}/redemption/approve", "fo.qian", json={"reason": "材料齐全"}
    )
    assert redeemed["state"] == "redeemed"
    spent = await story.ok("GET", "funds", f"/vouchers/{voucher['id']}", "ent.green")
    assert (spent["spent_fen"], spent["available_fen"]) == (2_000_000, 8_000_000)


# --- misconduct and credit --------------------------------------------------------------------


async def terminate_for_misconduct(story: Story, project_id: str) -> dict[str, Any]:
    await story.ok(
        "POST",
        "projects",
        f"/projects/{project_id}/termination",
        "pm.lbcx",
        json={
            "cause": "misconduct",
            "reason": "经查实中期报告中的实验数据系伪造",
            "rule_code": "FABRICATION",
        },
    )
    found: list[dict[str, Any]] = []

    async def proposed() -> bool:
        nonlocal found
        search = await story.ok(
            "GET",
            "credit",
            "/records",
            "pm.lbcx",
            params={"purpose": "核查项目终止后的信用记录", "rule_code": "FABRICATION"},
        )
        found = [
            r for r in search["items"] if r["subject_name"] == "王芳" or "刘洋" in r["subject_name"]
        ]
        return bool(found)

    await wait_until(proposed, seconds=30)
    [record] = [r for r in found if r["subject_name"] == "刘洋"]
    assert record["status"] == "proposed"
    # A five-year ban: the manager's notice waits for a second officer's approval.
    asked = await story.ok(
        "POST",
        "credit",
        f"/records/{record['id']}/notify",
        "pm.lbcx",
        json={"reason": "依规告知当事人"},
    )
    assert asked["status"] == "awaiting_approval"
    await story.ok(
        "POST",
        "credit",
        f"/records/{record['id']}/notice/approval",
        "co.ma",
        json={"decision": "approve", "reason": "事实清楚，同意告知"},
    )
    # The window counts from delivery, not from the officers' clicks: three weeks on, the notice
    # still waits for its person, and nothing can be confirmed.
    story.advance(days=21)
    undelivered = await story.call(
        "POST",
        "credit",
        f"/records/{record['id']}/confirm",
        "pm.lbcx",
        json={"reason": "异议期满无异议"},
    )
    assert undelivered.status_code == 409, undelivered.text
    assert undelivered.json()["code"] == "record.awaiting_delivery"
    delivered_at = await open_the_notice(story, "pi.liu", record["id"])
    early = await story.call(
        "POST",
        "credit",
        f"/records/{record['id']}/confirm",
        "pm.lbcx",
        json={"reason": "异议期满无异议"},
    )
    assert early.status_code == 409, early.text  # the objection window is open since delivery
    assert early.json()["code"] != "record.awaiting_delivery", early.text
    mine = await story.ok("GET", "credit", "/me/file", "pi.liu")
    [seen] = [r for r in mine["person"]["records"] if r["id"] == record["id"]]
    assert seen["awaiting_delivery"] is False, seen
    # Ten working days from the delivery: two weeks on the calendar, give or take a holiday.
    window = datetime.fromisoformat(seen["objection_deadline"]) - datetime.fromisoformat(
        delivered_at
    )
    assert timedelta(days=13) < window < timedelta(days=22), (seen, delivered_at)
    story.advance(days=15)  # past 10 working days after delivery
    confirmed: dict[str, Any] = await story.ok(
        "POST",
        "credit",
        f"/records/{record['id']}/confirm",
        "pm.lbcx",
        json={"reason": "异议期满无异议"},
    )
    assert confirmed["status"] == "confirmed"
    return confirmed


async def open_the_notice(story: Story, who: str, record_id: str) -> str:
    """The person opens the record's formal notice in their inbox (its delivery); once credit
    has heard of it, the moment it was delivered."""
    found: list[dict[str, Any]] = []

    async def told() -> bool:
        nonlocal found
        inbox = await story.ok("GET", "notify", "/me/notifications", who, params={"unread": "1"})
        found = [n for n in inbox["items"] if n["about_id"] == record_id]
        return bool(found)

    await wait_until(told, seconds=30)
    [notice] = found
    assert (notice["formal"], notice["mandatory"]) == (True, True), notice
    assert notice["delivered_at"] is None, notice  # no mail address: only the inbox delivers
    assert notice["body"] is None, notice  # listed, not served: its text waits for the opening
    opened = await story.ok("POST", "notify", f"/me/notifications/{notice['id']}/open", who)
    assert opened["delivered_by"] == "inbox", opened

    async def heard() -> bool:
        mine = await story.ok("GET", "credit", "/me/file", who)
        return any(
            r["id"] == record_id and not r["awaiting_delivery"] for r in mine["person"]["records"]
        )

    await wait_until(heard, seconds=30)
    delivered: str = opened["delivered_at"]
    return delivered


# --- evaluation -------------------------------------------------------------------------------


async def evaluate(story: Story, fund: dict[str, Any], project_id: str) -> None:
    engagement = await story.ok(
        "POST",
        "projects",
        "/engagements",
        "admin",
        json={
            "evaluator_id": story.ids["ev.sun"],
            "program_id": fund["id"],
            "purpose": f"兰白科技创新专项{fund['active_from_year']}年度第三方绩效评估",
        },
    )
    listed = await story.ok(
        "GET", "projects", "/projects", "ev.sun", params={"program_id": fund["id"]}
    )
    assert project_id in {p["id"] for p in listed["items"]}

    async def records_seen() -> bool:  # once credit has heard of the engagement
        records = await story.ok(
            "GET",
            "credit",
            "/records",
            "ev.sun",
            params={"purpose": "第三方评估：专项承担主体信用核查"},
        )
        return any(r["rule_code"] == "FABRICATION" for r in records["items"])

    await wait_until(records_seen, seconds=30)
    usage: list[Any] = []

    async def heard() -> bool:  # funds learns of the engagement from projects' events
        nonlocal usage
        reply = await story.ok(
            "GET",
            "funds",
            "/grants/execution",
            "ev.sun",
            params={"program_code": FUND, "year": fund["active_from_year"]},
        )
        usage = reply["items"]
        return bool(usage)

    await wait_until(heard, seconds=30)
    [row] = usage
    assert row["grants"] == 2
    assert row["spent"] == 17_000_000
    await story.ok(
        "POST",
        "projects",
        "/evaluations",
        "ev.sun",
        json={
            "engagement_id": engagement["id"],
            "project_id": project_id,
            "kind": "execution",
            "scores": {"进度": 90, "经费使用": 85},
            "summary": "项目按任务书推进，经费使用规范，成果达到预期。",
        },
    )


# --- events -----------------------------------------------------------------------------------

# (consumer schema, source name, producer schema): every feed one service reads from another.
FEEDS = [
    ("projects", "gateway", "gateway"),
    ("credit", "gateway", "gateway"),
    ("funds", "gateway", "gateway"),
    ("credit", "projects", "projects"),
    ("credit", "funds", "funds"),
    ("funds", "projects", "projects"),
    ("notify", "gateway", "gateway"),
    ("notify", "projects", "projects"),
    ("notify", "credit", "credit"),
    ("notify", "funds", "funds"),
    ("credit", "notify", "notify"),
]


async def events_consumed_exactly_once(story: Story) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(story.running.stack.database_url))
    try:

        async def caught_up() -> bool:
            for consumer, source, producer in FEEDS:
                published = {
                    r["event_id"]
                    for r in await conn.fetch(f"SELECT event_id FROM {producer}.outbox")
                }
                read = await conn.fetch(
                    f"SELECT event_id FROM {consumer}.inbox WHERE source = $1", source
                )
                if {r["event_id"] for r in read} != published:
                    return False
            return True

        await wait_until(caught_up, seconds=30)
        for consumer, source, producer in FEEDS:
            published = await conn.fetchval(f"SELECT count(*) FROM {producer}.outbox")
            read = await conn.fetchval(
                f"SELECT count(*) FROM {consumer}.inbox WHERE source = $1", source
            )
            assert read == published, (consumer, source)
    finally:
        await conn.close()


# --- who was told what ------------------------------------------------------------------------

# What each person's steps imply they were told (notify's templates), at least.
TOLD = {
    "pi.wang": {"account_created", "application_submitted", "formal_check_done", "report_overdue"},
    "oa.lzu": {"endorsement_requested", "task_book_ready", "payment_order_approved"},
    "oa.gsaas": {"endorsement_requested", "task_book_ready", "project_terminated"},
    "ex.zhao": {"review_assigned"},
    "ex.wu": {"review_assigned"},
    "fo.qian": {"payment_order_awaiting_approval"},
    "pi.liu": {"account_created", "credit_record_notified", "project_terminated"},
    "ent.green": {"voucher_issued"},
    "prov.lab": {"voucher_order_placed", "voucher_redemption_approved"},
}
DECIDED = {"application_decided", "project_approved"}  # one decision notice, either name


async def inbox(story: Story, who: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = await story.ok("GET", "notify", "/me/notifications", who, params=params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def everyone_was_told(story: Story) -> None:
    """Each person finds in the inbox what their steps imply, and everyone with an address got
    each of those notices once by mail, read from the test's SMTP server."""
    mailbox = story.running.mail
    assert mailbox is not None
    entries: dict[str, list[dict[str, Any]]] = {}

    async def all_told() -> bool:
        for who, expected in TOLD.items():
            entries[who] = await inbox(story, who)
            if not expected <= {n["template"] for n in entries[who]}:
                return False
        return bool(DECIDED & {n["template"] for n in entries["pi.wang"]})

    await wait_until(all_told, seconds=60)
    for who in TOLD:
        if (address := address_of(who)) is None:
            continue
        subjects = sorted(n["subject"] for n in entries[who])

        async def mailed(address: str = address, subjects: list[str] = subjects) -> bool:
            received = [m for m in mailbox.mailbox.received if m["To"] == address]
            return len(received) >= len(subjects)

        await wait_until(mailed, seconds=60)
        received = sorted(str(m["Subject"]) for m in mailbox.mailbox.received if m["To"] == address)
        assert received == subjects, (who, received, subjects)  # each once, nothing twice
    assert not [m for m in mailbox.mailbox.received if "pi.liu" in str(m["To"])]


# --- the story --------------------------------------------------------------------------------


async def test_the_whole_story(story_stack: StoryStack) -> None:
    async with e2e_client() as client:
        story = Story(client=client, running=story_stack.running, clock_file=story_stack.clock_file)
        await the_whole_story(story)


async def the_whole_story(story: Story) -> dict[str, Any]:
    """From the call to the year-end close, by the people of `cast`; the special fund it made.
    Also run on two replicas of every service (test_replicas_e2e.py)."""
    year = begin(story)
    await cast(story)
    fund = await special_fund(story, year)
    await fund_the_envelope(story, year)
    call = await open_call(story, fund, f"{year}年度兰白科技创新专项")
    # The call's terms: a defence panel (答辩) after the written review, members drawn.
    await panel_settings(story, call["id"], "pm.lbcx")
    # 王芳's application is a consortium: 农科院's admin endorses its part before she submits.
    title = "盐碱地生物改良关键技术"
    wang_draft = await drafted(story, call, "pi.wang", title, "copi.tian", PROMISED)
    await consortium(story, wang_draft)
    await story.ok("POST", "projects", f"/applications/{wang_draft}/submit", "pi.wang")
    applications = {
        "pi.wang": wang_draft,
        "pi.liu": await submitted(story, call, "pi.liu", "旱作农业节水关键技术"),
    }
    story.advance(hours=3)  # the call closes
    for pi, org_admin in (("pi.wang", "oa.lzu"), ("pi.liu", "oa.gsaas")):
        endorsed = await endorse(story, applications[pi], org_admin)
        assert endorsed["status"] == "endorsed", endorsed
        assert endorsed["formal_check"]["automatic_passed"] is True, endorsed
        await story.ok(
            "POST",
            "projects",
            f"/applications/{applications[pi]}/formal-check/decision",
            "pm.lbcx",
            json={"decision": "pass", "reason": "形式审查合格"},
        )
    await review(story, call, applications)
    # The panel hears both (陈静 kept off it: she is of 王芳's university); the decision list
    # is by the combined score: .4 * 88 + .6 * 92 = 90.4 before .4 * 78 + .6 * 70 = 73.2.
    wang_app, liu_app = applications["pi.wang"], applications["pi.liu"]
    ranking = await panel_heard(
        story,
        call["id"],
        "pm.lbcx",
        {wang_app: 92, liu_app: 70},
        panel_size=2,
        left_out=["ex.chen"],
    )
    assert [(i["application_id"], i["combined"], i["rank"]) for i in ranking] == [
        (wang_app, 90.4, 1),
        (liu_app, 73.2, 2),
    ]
    listed = await story.ok("GET", "projects", f"/calls/{call['id']}/decisions", "pm.lbcx")
    assert listed["review_ranked_by"] == "combined", listed
    assert [i["application_id"] for i in listed["items"]][:2] == [wang_app, liu_app]
    projects = await decide(story, call, applications)
    wang, liu = projects["pi.wang"], projects["pi.liu"]
    await public_notice(story, projects)

    # The task book is signed: its own report schedule is made, and the first tranche reaches
    # the organization's account.
    await contract(story, wang, BUDGET_A, "oa.lzu", own_schedule(today(story)))
    [y1] = [d for d in await scheduled(story, wang, "pi.wang") if d["period"] == "Y1"]
    # The manager issues the signed task book as PDF; the PI's copy checks out by its hash.
    await task_book_issued_and_verified(story, wang, "pm.lbcx", "pi.wang")
    first = await pay_tranche(story, wang, 1)
    assert first["released"] == BUDGET_A // 2
    assert await balance(story, first["funds_account_id"]) == BUDGET_A // 2
    assert (await grant(story, wang, who="oa.lzu"))["org"]["name"] == "兰州大学"
    await who_reads_the_grant(story, wang, first)

    # The funds service is killed while the second task book's event is on its way; started
    # again, it opens that budget once and has lost nothing it had answered.
    await contract(story, liu, BUDGET_B, "oa.gsaas")
    story.running.stack.kill("funds")
    story.running.stack.restart("funds")
    await pay_tranche(story, liu, 1)
    assert (await grant(story, wang))["released"] == BUDGET_A // 2
    listed = await story.ok("GET", "funds", "/grants", "fo.zhou", params={"program_code": FUND})
    assert sorted(g["project_id"] for g in listed["items"]) == sorted([wang, liu])

    await spend(story, wang, "oa.lzu", "business", 12_000_000)
    # The first year's report is due; 王芳 prepares her next application meanwhile. The due
    # date passes: the manager lists the report overdue, notify tells her, and her
    # application is refused until she files it.
    later = await open_call(
        story, fund, f"{year}年度兰白科技创新专项（第二批）", timedelta(days=30)
    )
    next_draft = await drafted(story, later, "pi.wang", "盐碱地改良技术集成示范")
    past(story, y1["due_on"])
    overdue = await overdue_for_the_manager(story, wang, "pm.lbcx", "pi.wang")
    assert (overdue["id"], overdue["kind"], overdue["period"]) == (y1["id"], "annual", "Y1")
    await told_overdue(story, "pi.wang", overdue["project_number"])
    await refused_for_overdue(story, next_draft, "pi.wang", overdue["project_number"])
    await report_filed(story, wang, "pi.wang", y1, "第一年度完成示范区选址与本底调查。")
    resubmitted = await story.ok(
        "POST", "projects", f"/applications/{next_draft}/submit", "pi.wang"
    )
    assert resubmitted["status"] == "submitted"

    await report(story, wang, "pi.wang", "midterm", "pass")
    await pay_tranche(story, wang, 2)
    # The team registers its outputs (田课题 of the partner institute too), 兰州大学 verifies
    # them, and the acceptance holds them against the task book's indicators.
    people = ProjectPeople(
        project_id=wang,
        pi="pi.wang",
        member="copi.tian",
        org_admin="oa.lzu",
        other_org_admin="oa.nwnu",
        manager="pm.lbcx",
    )
    await outputs_verified(story, people)
    await accepted_against_outputs(story, people)
    accepted = await story.ok("GET", "projects", f"/projects/{wang}", "pm.lbcx")
    assert accepted["status"] == "accepted"
    await pay_tranche(story, wang, 3)
    await post_subsidy(story, wang, 10_000_000)
    done = await grant(story, wang)
    assert done["released"] == BUDGET_A + 10_000_000
    assert done["spent"] == 12_000_000

    # Misconduct: the second project ends, its unspent money is frozen and recovered, and
    # its PI's credit record goes through notice and confirmation.
    await spend(story, liu, "oa.gsaas", "business", 5_000_000)
    await terminate_for_misconduct(story, liu)
    await recover(story, liu, BUDGET_B // 2 - 5_000_000)
    # The banned PI cannot apply to the next call: the formal check asks credit.
    next_call = await open_call(story, fund, f"{year}年度兰白科技创新专项（第三批）")
    again = await submitted(story, next_call, "pi.liu", "旱作农业节水关键技术（续）")
    story.advance(hours=3)
    checked = await endorse(story, again, "oa.gsaas")
    assert checked["formal_check"]["automatic_passed"] is False
    failed = [r for r in checked["formal_check"]["results"] if not r["passed"]]
    assert [r["rule"] for r in failed] == ["credit.eligible"], checked

    await vouchers(story, year)
    await evaluate(story, fund, wang)
    # The year ends: what the fund did not spend is carried into next year's program fund.
    await year_closed(story, FUND, year, "fo.zhou", "pm.lbcx")
    balanced = await story.ok("GET", "funds", "/reports/trial-balance", "fo.zhou")
    assert balanced["balanced"] is True
    assert f"{FUND}-{year + 1}" in {ledger["ledger"] for ledger in balanced["ledgers"]}
    await events_consumed_exactly_once(story)
    await everyone_was_told(story)
    return fund
