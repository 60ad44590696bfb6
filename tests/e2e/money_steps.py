"""Steps of money across fiscal years (docs/money.md) through the gateway, each done by the
role that does it in real life: a special fund of its own (so that its year-end close sweeps no
other test's grants), a contracted project with a grant, a tranche paid, spending, the
year-end close with carry-over, a drawdown approved and paid, the final accounts; and the
story's own close of its program's year (`year_closed`).

Made for `tests/e2e/test_money_e2e.py` and for the story to take as they are: every step takes
a `Story` (the running product, its clock, everyone's tokens) and the usernames it acts as.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from shared.clock import SHANGHAI
from tests.conftest import wait_until
from tests.e2e.story_steps import PDF, Story, new_id

# The cast of the money steps: usernames (prefixed per run, see `MoneyCast`) and their roles.
ROLES = {
    "pm": ("资金项目经理", ["program_manager"], False),
    "pi": ("资金负责人", ["applicant"], True),
    "oa": ("资金单位管理员", ["org_admin"], True),
    "fo": ("资金会计", ["finance_officer"], False),
    "fo2": ("资金复核", ["finance_officer"], False),
}


@dataclass(frozen=True)
class MoneyCast:
    """Who acts in the money steps (usernames, prefixed per run) and their organization's key
    in `story.orgs`."""

    org: str
    pm: str  # the fund's manager
    pi: str
    oa: str  # the organization's admin
    fo: str  # finance officers
    fo2: str


async def cast_for_money(story: Story, prefix: str, org_number: int) -> MoneyCast:
    """An organization and the people of the money steps, known to every service."""
    cast = MoneyCast(f"{prefix}.org", *(f"{prefix}.{role}" for role in ROLES))
    if "admin" not in story.tokens:
        await story.admin()
    await story.organization(cast.org, "兰州理工大学", "university", org_number)
    for role, (name, roles, in_org) in ROLES.items():
        await story.person(f"{prefix}.{role}", name, roles, cast.org if in_org else None)
    for role in ROLES:
        await story.known_everywhere(f"{prefix}.{role}")
    return cast


def shanghai_today(story: Story) -> date:
    return story.now().astimezone(SHANGHAI).date()


def first_year(story: Story, days_needed: int = 15) -> int:
    """The fiscal year the grant starts in: this one, unless fewer than `days_needed` days
    of it are left (the story moves the clock on into the next)."""
    now = story.now().astimezone(SHANGHAI)
    if (now + timedelta(days=days_needed)).year == now.year:
        return now.year
    move_into_year(story, now.year + 1)
    return now.year + 1


def move_into_year(story: Story, year: int, day: int = 2) -> None:
    """The clock moved on to 10:00 on `day` January of `year`, Asia/Shanghai."""
    target = datetime(year, 1, day, 10, 0, tzinfo=SHANGHAI)
    ahead = target - story.now()
    assert ahead > timedelta(), "the clock only moves forward"
    story.advance(seconds=ahead.total_seconds())


async def money_fund(story: Story, cast: MoneyCast, code: str, year: int, amount: int) -> str:
    """A special fund of its own, added by an admin (the budget authority) with the year's
    envelope and given its manager; the envelope put into the fund's ledger by a finance
    officer; its carry-over rule `carry_all`. Its id."""
    fund = await story.ok(
        "POST",
        "projects",
        "/programs",
        "admin",
        json={
            "code": code,
            "name_zh": "跨年度资金测试专项",
            "name_en": "Money Across Years Fund",
            "managing_agency": "甘肃省科学技术厅",
            "active_from_year": year,
            "envelopes": [{"year": year, "amount_fen": amount}],
            "eligibility": {
                "eligible_org_kinds": ["university"],
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
    # Assigned (not only added by the manager): the assignment's event tells funds who
    # oversees the fund's money.
    await story.ok(
        "PUT", "projects", f"/programs/{fund['id']}/managers/{story.ids[cast.pm]}", "admin"
    )

    async def in_the_ledger() -> bool:  # once funds has heard of the fund
        reply = await story.call(
            "POST",
            "funds",
            "/grants/envelopes",
            cast.fo,
            json={
                "id": envelope_id,
                "program_code": code,
                "year": year,
                "amount_fen": amount,
                "note": f"省级财政{year}年度专项资金",
            },
        )
        return reply.status_code in (200, 201)

    envelope_id = new_id()
    await wait_until(in_the_ledger, seconds=30)
    await story.ok(
        "PUT",
        "funds",
        f"/carry-over-rules/{code}",
        cast.fo,
        json={"rule": "carry_all", "reason": "结转资金全部留用"},
    )
    return str(fund["id"])


def task_book(start: date, budget: int) -> dict[str, Any]:
    return {
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
        "starts_on": start.isoformat(),
        "ends_on": (start + timedelta(days=730)).isoformat(),
    }


async def contracted_project(
    story: Story, cast: MoneyCast, fund_id: str, year: int, budget: int
) -> dict[str, Any]:
    """A call of the fund in `year`, an application submitted, endorsed and checked, approved
    for `budget` after the close, past its public notice, its task book signed by the
    organization and the agency: a project in progress. The decision (project id, number)."""
    now = story.now()
    call = await story.ok(
        "POST",
        "projects",
        "/calls",
        cast.pm,
        json={
            "program_id": fund_id,
            "year": year,
            "title": f"{year}年度跨年度资金测试专项",
            "guideline": "支持旱作农业与盐碱地治理方向。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(hours=1)).isoformat(),
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
        },
    )
    await story.ok("POST", "projects", f"/calls/{call['id']}/publish", cast.pm)
    application_id = await submitted_application(story, cast, call["id"])
    story.advance(hours=2)  # the call has closed
    await story.ok(
        "POST",
        "projects",
        f"/applications/{application_id}/endorsement",
        cast.oa,
        json={"decision": "endorse", "reason": "同意推荐"},
    )
    await story.ok(
        "POST",
        "projects",
        f"/applications/{application_id}/formal-check/decision",
        cast.pm,
        json={"decision": "pass", "reason": "形式审查合格"},
    )
    decided = await story.ok(
        "POST",
        "projects",
        f"/calls/{call['id']}/decisions",
        cast.pm,
        json={
            "decisions": [
                {
                    "application_id": application_id,
                    "decision": "approve",
                    "approved_budget_fen": budget,
                    "reason": "综合评审排名靠前",
                }
            ]
        },
    )
    project: dict[str, Any] = decided["decisions"][0]
    story.advance(days=8)  # the public notice (7 days) is over
    path = f"/projects/{project['project_id']}/task-book"
    await story.ok("PUT", "projects", path, cast.pm, json=task_book(shanghai_today(story), budget))
    await story.ok("POST", "projects", f"{path}/sign", cast.oa)
    signed = await story.ok("POST", "projects", f"{path}/sign", cast.pm)
    assert signed["status"] == "in_progress"
    return project


async def submitted_application(story: Story, cast: MoneyCast, call_id: str) -> str:
    pi_id = story.ids[cast.pi]

    def content(attachments: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "title": "河西走廊旱作农业节水关键技术研究",
            "abstract": "研究旱作农业节水技术，并在武威开展示范。",
            "keywords": ["旱作农业", "节水"],
            "subject_codes": ["210.2010"],
            "team": [{"user_id": pi_id, "role": "负责人", "share": 100}],
            "budget": {
                "equipment": 10_000_000,
                "business": 40_000_000,
                "labour": 20_000_000,
                "indirect": 10_000_000,
            },
            "milestones": [{"name": "完成示范区建设", "due": "2028-12-31"}],
            "indicators": [{"name": "示范面积", "target": 5000, "unit": "亩"}],
            "attachments": attachments,
        }

    draft = await story.ok(
        "POST",
        "projects",
        "/applications",
        cast.pi,
        json={"call_id": call_id, "content": content([])},
    )
    uploaded = await story.ok(
        "POST",
        "projects",
        f"/applications/{draft['id']}/attachments",
        cast.pi,
        data={"kind": "feasibility_report"},
        files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
    )
    await story.ok(
        "PUT",
        "projects",
        f"/applications/{draft['id']}",
        cast.pi,
        json={
            "base_version": 1,
            "content": content([{"id": uploaded["id"], "kind": "feasibility_report"}]),
        },
    )
    await story.ok("POST", "projects", f"/applications/{draft['id']}/submit", cast.pi)
    return str(draft["id"])


async def grant_of(story: Story, project_id: str, who: str) -> dict[str, Any]:
    found: dict[str, Any] = await story.ok("GET", "funds", f"/grants/{project_id}", who)
    return found


async def pay_first_tranche(story: Story, cast: MoneyCast, project_id: str) -> dict[str, Any]:
    """The first tranche falls due at signing (projects' event makes the payment order in
    funds); a finance officer approves it. The grant after."""
    order: str | None = None

    async def due() -> bool:
        nonlocal order
        reply = await story.call("GET", "funds", f"/grants/{project_id}", cast.fo)
        if reply.status_code != 200:
            return False
        first = next(t for t in reply.json()["tranches"] if t["n"] == 1)
        order = first["payment_order_id"]
        return bool(first["status"] == "awaiting_approval")

    await wait_until(due, seconds=30)
    await story.ok(
        "POST",
        "funds",
        f"/payment-orders/{order}/approve",
        cast.fo,
        json={"reason": "拨付资料齐全，同意拨付"},
    )
    return await grant_of(story, project_id, cast.fo)


async def spend(story: Story, cast: MoneyCast, project_id: str, category: str, amount: int) -> None:
    await story.ok(
        "POST",
        "funds",
        f"/grants/{project_id}/expenditures",
        cast.oa,
        json={
            "id": new_id(),
            "category": category,
            "amount_fen": amount,
            "description": "购置试验材料",
            "spent_on": shanghai_today(story).isoformat(),
        },
    )


async def close_year(story: Story, cast: MoneyCast, code: str, year: int) -> dict[str, Any]:
    """The year-end close (年终结账) of the fund's `year` by a finance officer, once the year is
    over; sending it again answers the same close."""
    body = {"id": new_id(), "program_code": code, "year": year}
    closed: dict[str, Any] = await story.ok("POST", "funds", "/year-end-closes", cast.fo, json=body)
    again = await story.ok("POST", "funds", "/year-end-closes", cast.fo, json=body)
    assert again["id"] == closed["id"]
    return closed


async def drawdown(
    story: Story, cast: MoneyCast, project_id: str, category: str, amount: int
) -> dict[str, Any]:
    """A drawdown of carried-over money requested by the organization and approved (paid) by
    a finance officer; the requester may not approve it."""
    requested = await story.ok(
        "POST",
        "funds",
        f"/grants/{project_id}/drawdowns",
        cast.oa,
        json={
            "id": new_id(),
            "category": category,
            "amount_fen": amount,
            "purpose": "继续开展示范区建设",
        },
    )
    assert requested["status"] == "awaiting_approval"
    self_approved = await story.call(
        "POST", "funds", f"/drawdowns/{requested['id']}/approve", cast.oa, json={"reason": "同意"}
    )
    assert self_approved.status_code == 403, self_approved.text
    paid: dict[str, Any] = await story.ok(
        "POST",
        "funds",
        f"/drawdowns/{requested['id']}/approve",
        cast.fo2,
        json={"reason": "结转资金用款计划合理，同意"},
    )
    return paid


async def final_accounts(story: Story, project_id: str, year: int, who: str) -> dict[str, Any]:
    found: dict[str, Any] = await story.ok(
        "GET", "funds", f"/grants/{project_id}/final-accounts", who, params={"year": year}
    )
    return found


async def year_closed(
    story: Story, program_code: str, year: int, officer: str, overseer: str
) -> dict[str, Any]:
    """The clock moves into the next year; `officer` carries all the unspent money over and
    closes `year`: next year's program fund holds what this year's did not spend; `overseer`
    (the program's manager) reads the close. The close."""
    new_year = datetime.combine(date(year + 1, 1, 1), time(1), SHANGHAI)
    early = await story.call(
        "POST",
        "funds",
        "/year-end-closes",
        officer,
        json={"id": new_id(), "program_code": program_code, "year": year},
    )
    if story.now() < new_year:  # not before the year is over
        assert (early.status_code, early.json()["code"]) == (409, "fiscal.year_not_over")
        story.move_to(new_year)
    await story.ok(
        "PUT",
        "funds",
        f"/carry-over-rules/{program_code}",
        officer,
        json={"rule": "carry_all", "reason": "专项资金结转下年继续使用"},
    )
    close = {"id": new_id(), "program_code": program_code, "year": year}
    closed: dict[str, Any] = await story.ok(
        "POST", "funds", "/year-end-closes", officer, json=close
    )
    again = await story.call("POST", "funds", "/year-end-closes", officer, json=close)
    assert again.status_code == 200, again.text  # the same close, answered again
    assert again.json()["id"] == closed["id"]
    next_ledger = f"{program_code}-{year + 1}"
    assert closed["next_ledger"] == next_ledger, closed
    [program] = [line for line in closed["lines"] if line["kind"] == "program"]
    assert program["carried_fen"] == program["unspent_fen"] > 0, program
    assert (closed["carried_fen"], closed["returned_fen"]) == (program["unspent_fen"], 0), closed
    carried_in = [t for t in program["transfers"] if t["code"] == "carry_over_in"]
    assert [(t["ledger"], t["amount_fen"]) for t in carried_in] == [
        (next_ledger, program["unspent_fen"])
    ], program
    funds = await story.ok(
        "GET",
        "funds",
        "/accounts",
        officer,
        params={"ledger": next_ledger, "code": "program_fund"},
    )
    [fund] = funds["items"]
    assert fund["credits_posted"] - fund["debits_posted"] == program["unspent_fen"], fund
    read = await story.ok("GET", "funds", f"/year-end-closes/{program_code}/{year}", overseer)
    assert read["id"] == closed["id"]
    return closed
