"""`sciplan seed-demo`: fills a running SciPlan with a realistic demo dataset, through the API.

Everything goes through the gateway as the role that does it in real life: the admin creates
organizations, people, the two special funds and their envelopes; program managers open calls,
run reviews, decide and engage evaluators; applicants draft and submit; organization admins
endorse or return; experts accept and score; finance officers fund envelopes, make payment
orders and run innovation vouchers; providers and enterprises register.

Re-runnable: natural keys decide what exists already (organization credit codes, usernames,
program codes, call titles; the funds service's client-chosen ids are UUIDv5 of a natural key),
and what exists is skipped, so a second run with the same seed creates nothing. The people,
organizations and applications come from fixed lists, picked with `random.Random(seed)`.

Time is not moved: calls that must be closed or decided are created to close `close_after`
seconds after creation (60 s; 120 s at full scale), their applications are submitted at once,
and the command waits once, saying for what, before deciding. Once the calls have closed, the
closed call's review is under way: its program manager opens the online review round (due in
three weeks), runs and applies the automatic assignment and adds the well-known demo expert by
hand where the run left them fewer than two applications; that expert accepts two and saves one
score sheet as a draft. Public notices (7 days) and the voucher providers' 7-day publicity run in
real time, so the first run drafts task books and registers the provider, and an order placed
during the publicity is refused (printed). A run after they end goes on where the clock allows:
it signs the drafted task books (the funds service opens the budgets, a second finance officer
approves the first tranche) and places, delivers and confirms the voucher order. Credit records
are proposed and notified; none is confirmed, since the objection window (working days) cannot
pass without moving time.

Every role finds something from the first run on. Tranches wait for signed task books, so the
payment order left for a second finance officer to approve is one no task book holds up: the
post-subsidy (后补助) of a shared instrument platform after its yearly performance review (the
plan: 共享服务平台运行绩效考核、后补助), from the innovation bases program's fund to the platform's
account at its organization, made by one finance officer and awaiting the other. A third-party
evaluator is engaged on 重点研发计划, whose applications, projects, credit records and ledger
they then read. The last lines say whom to log in as and what each will find.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx

from sciplan.seed_data import (
    ENTERPRISES,
    GIVEN_NAMES,
    ORGANIZATIONS,
    PROVIDER_ORG,
    RESEARCH_ORGS,
    SURNAMES,
    TOPICS,
    credit_code,
)

Scale = Literal["small", "full"]
YEAR = 2026
AGENCY = "甘肃省科学技术厅"
NAMESPACE = uuid.UUID("5c1e9a2e-0d3b-4c55-9d0b-5e3d2a7f0c11")  # the demo's UUIDv5 namespace
PDF = b"%PDF-1.7\n" + b"1" * 2_000
FEASIBILITY = "feasibility_report"
Echo = Callable[[str], None]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def demo_id(*key: object) -> str:
    """A stable id for a natural key: the funds service treats a repeated id as the same request."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(k) for k in key)))


class SeedError(RuntimeError):
    """A request the demo needs failed: the message says which and why."""


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    username: str
    name: str
    roles: list[str]
    org: str | None  # organization key


@dataclass(frozen=True)
class CallPlan:
    key: str
    program: str  # program code
    title: str
    state: Literal["draft", "upcoming", "open", "closed", "decided", "cancelled"]
    applications: int


SPECIAL_FUNDS = [
    ("LBCX", "兰白技术创新驱动基金", "Lanbai Technology Innovation Drive Fund", 2_000_000_000),
    (
        "ZXCY",
        "战略性新兴产业创业投资引导基金",
        "Strategic Emerging Industries Venture Guidance Fund",
        1_500_000_000,
    ),
]
VOUCHER_PROGRAM = "CXYD"  # 技术创新引导计划 runs the innovation vouchers
EVALUATED_PROGRAM = "ZDYF"  # 重点研发计划: the evaluator's engagement and the credit records
PLATFORM_PROGRAM = "JDRC"  # 创新基地与人才计划 pays the shared instrument platform's post-subsidy
PLATFORM_ORG = "gsas"  # 甘肃省科学院 runs the platform
PLATFORM_SUBSIDY_FEN = 80_000_000  # ¥800,000
REVIEW_DAYS = 21  # how long the experts have to score
EXPERT_ASSIGNMENTS = 2  # what the well-known demo expert finds to review
BASIC_ENVELOPE_FEN = 3_000_000_000  # ¥30 million a year for each basic program
SHORT_STATES = ("closed", "decided")  # states that need the call's close to pass


def call_plans(scale: Scale) -> list[CallPlan]:
    big = scale == "full"
    decided, closed, opened = (60, 40, 45) if big else (8, 6, 5)
    return [
        CallPlan("zdyf-1", "ZDYF", f"{YEAR}年度重点研发计划（第一批）", "decided", decided),
        CallPlan("lbcx-1", "LBCX", f"{YEAR}年度兰白技术创新驱动基金项目", "decided", decided),
        CallPlan("jdrc-1", "JDRC", f"{YEAR}年度创新基地与人才计划", "closed", closed),
        CallPlan("zdzx-1", "ZDZX", f"{YEAR}年度科技重大专项", "open", opened),
        CallPlan("zxcy-1", "ZXCY", f"{YEAR}年度战略性新兴产业引导专项", "open", opened),
        CallPlan("zscq-1", "ZSCQ", f"{YEAR}年度知识产权计划", "open", opened),
        CallPlan("cxyd-1", "CXYD", f"{YEAR}年度技术创新引导计划（预告）", "upcoming", 0),
        CallPlan("zdyf-2", "ZDYF", f"{YEAR}年度重点研发计划（第二批，编制中）", "draft", 0),
        CallPlan("zscq-2", "ZSCQ", f"{YEAR}年度知识产权计划（专利导航专题）", "cancelled", 0),
    ]


def cast(scale: Scale, seed: int) -> list[Person]:
    """Everyone the demo needs, with names from the fixed lists, the same for the same seed.

    Each group draws its names from its own stretch of one shuffled list, so the small cast is
    the first part of the full one (a full run after a small one adds people, renames nobody).
    """
    rng = random.Random(seed)
    combos = [(s, g) for s in SURNAMES for g in GIVEN_NAMES]
    rng.shuffle(combos)
    used: set[str] = set()
    people: list[Person] = []

    def group(first: int, prefix: str, roles: list[str], orgs: list[str | None]) -> None:
        for n, org in enumerate(orgs):
            (surname, s_py), (given, g_py) = combos[first + n]
            username, again = f"{prefix}.{s_py}{g_py}", 2
            while username in used:
                username, again = f"{prefix}.{s_py}{g_py}{again}", again + 1
            used.add(username)
            people.append(Person(username, surname + given, roles, org))

    research: list[str | None] = list(RESEARCH_ORGS)
    experts, applicants = (16, 70) if scale == "full" else (8, 14)
    group(0, "pm", ["program_manager"], [None] * 3)
    group(5, "fo", ["finance_officer"], [None] * 2)
    group(8, "ev", ["evaluator"], [None])
    group(10, "oa", ["org_admin"], research)
    group(25, "pub", ["applicant"], [None])  # a member of the public: objects in a notice
    group(26, "prov", ["provider"], [PROVIDER_ORG])
    group(27, "ent", ["enterprise"], list(ENTERPRISES))
    group(40, "ex", ["expert"], [research[i % len(research)] for i in range(experts)])
    group(100, "pi", ["applicant"], [research[i % len(research)] for i in range(applicants)])
    return people


# --- talking to the gateway -------------------------------------------------------------------


@dataclass
class Seeder:
    client: httpx.AsyncClient
    url: str
    admin_password: str
    password: str
    scale: Scale
    seed: int
    close_after: float
    echo: Echo
    people: list[Person] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # username -> user id
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> organization
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> program
    managers: dict[str, str] = field(default_factory=dict)  # program code -> username
    created: Counter[str] = field(default_factory=Counter)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)  # plan key -> call
    closes_at: dict[str, datetime] = field(default_factory=dict)  # short calls made now
    finds: dict[str, str] = field(default_factory=dict)  # role prefix -> what they will find
    shown: dict[str, Person] = field(default_factory=dict)  # role prefix -> whom to log in as
    under_review: str | None = None  # the call whose review is under way
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))

    def by_role(self, prefix: str) -> list[Person]:
        return [p for p in self.people if p.username.startswith(prefix + ".")]

    # -- requests --

    async def login(self, username: str) -> None:
        password = self.admin_password if username == "admin" else self.password
        reply = await self._send(
            "POST", "/auth/token", None, data={"username": username, "password": password}
        )
        if reply.status_code != 200:
            raise SeedError(f"cannot log in as {username}: {reply.status_code} {reply.text}")
        self.tokens[username] = str(reply.json()["access_token"])

    async def _send(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        """One request; waits out rate limits (429) and brief unavailability (503)."""
        for attempt in range(30):
            headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
            try:
                async with self.gate:
                    reply = await self.client.request(
                        method, f"{self.url}{path}", headers=headers, **kwargs
                    )
            except httpx.TransportError:
                if attempt >= 5:
                    raise
                await asyncio.sleep(1)
                continue
            if reply.status_code == 429 or reply.status_code == 503:
                await asyncio.sleep(min(float(reply.headers.get("Retry-After", "1")), 30))
                continue
            if reply.status_code == 401 and who and attempt == 0:
                await self.login(who)  # the access token expired (15 minutes)
                continue
            return reply
        return reply

    async def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        if who is not None and who not in self.tokens:
            await self.login(who)
        return await self._send(method, path, who, **kwargs)

    async def ok(self, method: str, path: str, who: str | None, **kwargs: Any) -> Any:
        reply = await self.call(method, path, who, **kwargs)
        if not reply.is_success:
            raise SeedError(f"{method} {path} as {who}: {reply.status_code} {reply.text}")
        return reply.json() if reply.content else None

    async def all_pages(self, path: str, who: str | None, **params: Any) -> list[dict[str, Any]]:
        """Every item of a listing: pages of {items, next_cursor}, or plain lists by offset."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            paging = {"cursor": cursor} if cursor else {"offset": len(items)}
            page = await self.ok("GET", path, who, params={**params, "limit": 200, **paging})
            if isinstance(page, list):
                items += page
                if len(page) < 200:
                    return items
                continue
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    # -- the steps --

    async def directory(self) -> None:
        """Organizations and people, created by the admin where their natural key is new."""
        await self.login("admin")
        existing = {
            o["credit_code"]: o for o in await self.all_pages("/admin/v1/organizations", "admin")
        }
        for n, (key, name, kind) in enumerate(ORGANIZATIONS, start=1):
            code = credit_code(n)
            if code not in existing:
                existing[code] = await self.ok(
                    "POST",
                    "/admin/v1/organizations",
                    "admin",
                    json={"name": name, "credit_code": code, "kind": kind},
                )
                self.created["organizations"] += 1
            self.orgs[key] = existing[code]
        users = {u["username"]: u for u in await self.all_pages("/admin/v1/users", "admin")}
        new: list[str] = []
        for person in self.people:
            if person.username not in users:
                users[person.username] = await self.ok(
                    "POST",
                    "/admin/v1/users",
                    "admin",
                    json={
                        "username": person.username,
                        "password": self.password,
                        "display_name": person.name,
                        "org_id": self.orgs[person.org]["id"] if person.org else None,
                        "roles": person.roles,
                    },
                )
                new.append(person.username)
                self.created["people"] += 1
            self.ids[person.username] = str(users[person.username]["id"])
        if new:
            await self.gather(self.login(username) for username in new)
            self.echo(f"waiting for the services to learn of {len(new)} new people ...")
            await self.gather(self.known_everywhere(u) for u in new)

    async def known_everywhere(self, username: str) -> None:
        for service in ("projects", "credit", "funds"):
            for _ in range(600):
                me = await self.call("GET", f"/api/{service}/v1/me", username)
                if me.status_code == 200 and me.json().get("in_directory"):
                    break
                await asyncio.sleep(0.2)
            else:
                raise SeedError(f"{service} never learned of {username}")

    async def gather(self, steps: Iterable[Awaitable[Any]]) -> list[Any]:
        return list(await asyncio.gather(*steps))

    async def programs_and_funds(self) -> None:
        pms = [p.username for p in self.by_role("pm")]
        listed = await self.all_pages("/api/projects/v1/programs", "admin")
        self.programs = {p["code"]: p for p in listed}
        for code, zh, en, amount in SPECIAL_FUNDS:
            if code in self.programs:
                continue
            self.programs[code] = await self.ok(
                "POST",
                "/api/projects/v1/programs",
                "admin",
                json={
                    "code": code,
                    "name_zh": zh,
                    "name_en": en,
                    "managing_agency": AGENCY,
                    "active_from_year": YEAR,
                    "envelopes": [{"year": YEAR, "amount_fen": amount}],
                    "eligibility": {
                        "eligible_org_kinds": ["university", "research_institute"],
                        "budget_min_fen": 5_000_000,
                        "budget_max_fen": 300_000_000,
                        "required_attachments": [FEASIBILITY],
                        "experts_per_application": 3,
                        "notice_days": 7,
                        "max_active_projects_per_pi": 2,
                        "min_credit_level": "C",
                    },
                },
            )
            self.created["special funds"] += 1
        basic = [p["code"] for p in listed if p.get("kind") == "basic"]
        for code in basic:
            program = self.programs[code]
            detail = await self.ok("GET", f"/api/projects/v1/programs/{program['id']}", "admin")
            if not any(e.get("year") == YEAR for e in detail.get("envelopes") or []):
                await self.ok(
                    "PUT",
                    f"/api/projects/v1/programs/{program['id']}/envelopes/{YEAR}",
                    "admin",
                    json={"amount_fen": BASIC_ENVELOPE_FEN},
                )
                self.created["program envelopes"] += 1
        # The first manager runs the basic programs, one manager for each special fund.
        for code in self.programs:
            special = [c for c, *_ in SPECIAL_FUNDS]
            self.managers[code] = pms[1 + special.index(code)] if code in special else pms[0]
        for code, username in self.managers.items():
            program_id = self.programs[code]["id"]
            current = await self.all_pages(
                f"/api/projects/v1/programs/{program_id}/managers", "admin"
            )
            if self.ids[username] not in {str(m["user_id"]) for m in current}:
                await self.ok(
                    "PUT",
                    f"/api/projects/v1/programs/{program_id}/managers/{self.ids[username]}",
                    "admin",
                )
        fo = self.by_role("fo")[0].username
        amounts = {code: amount for code, _, _, amount in SPECIAL_FUNDS}
        for code in self.programs:
            amount = amounts.get(code, BASIC_ENVELOPE_FEN)
            await self.made(
                "fund envelopes",
                "/api/funds/v1/grants/envelopes",
                fo,
                {
                    "id": demo_id("envelope", code, YEAR),
                    "program_code": code,
                    "year": YEAR,
                    "amount_fen": amount,
                    "note": f"省级财政{YEAR}年度专项资金",
                },
            )

    async def made(self, kind: str, path: str, who: str, body: dict[str, Any]) -> Any:
        """POSTs to the funds service with a stable id: 201 made now, 200 the same one again."""
        reply = await self.call("POST", path, who, json=body)
        if not reply.is_success:
            raise SeedError(f"POST {path} as {who}: {reply.status_code} {reply.text}")
        if reply.status_code == 201:
            self.created[kind] += 1
        return reply.json()

    async def expert_pool(self) -> None:
        pm = self.by_role("pm")[0].username
        pool = {str(e["user_id"]) for e in await self.all_pages("/api/projects/v1/experts", pm)}
        rng = random.Random(self.seed + 1)
        for person in self.by_role("ex"):
            if self.ids[person.username] in pool:
                continue
            _, keywords, subject = rng.choice(TOPICS)
            await self.ok(
                "PUT",
                f"/api/projects/v1/experts/{self.ids[person.username]}",
                pm,
                json={
                    "title": rng.choice(["研究员", "教授", "正高级工程师", "副教授"]),
                    "region": "甘肃",
                    "primary_subjects": [subject],
                    "keywords": keywords,
                    "max_load": 10,
                },
            )
            self.created["experts"] += 1

    # -- calls and applications --

    def call_body(self, plan: CallPlan, now: datetime) -> dict[str, Any]:
        if plan.state in SHORT_STATES:
            opens, closes = now - timedelta(minutes=1), now + timedelta(seconds=self.close_after)
        elif plan.state == "upcoming":
            opens, closes = now + timedelta(days=30), now + timedelta(days=75)
        else:
            opens, closes = now - timedelta(minutes=1), now + timedelta(days=45)
        program = self.programs[plan.program]
        return {
            "program_id": program["id"],
            "year": YEAR,
            "title": plan.title,
            "guideline": f"{program['name_zh']}{YEAR}年度项目申报指南：围绕全省重点产业与民生需求，"
            "支持关键核心技术攻关、成果转化与示范应用。",
            "opens_at": opens.isoformat(),
            "closes_at": closes.isoformat(),
            "budget_min_fen": 5_000_000,
            "budget_max_fen": 300_000_000,
            "required_attachments": [FEASIBILITY],
            "experts_per_application": 3,
            "notice_days": 7,
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 40, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 35, "min": 0, "max": 100},
                    {"code": "team", "name": "团队基础", "weight": 25, "min": 0, "max": 100},
                ]
            },
        }

    async def existing_calls(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for code in {p.program for p in call_plans(self.scale)}:
            program_id = self.programs[code]["id"]
            for call in await self.all_pages(
                f"/api/projects/v1/programs/{program_id}/calls", self.managers[code]
            ):
                found[call["title"]] = call
        return found

    async def make_call(self, plan: CallPlan) -> dict[str, Any]:
        pm = self.managers[plan.program]
        body = self.call_body(plan, datetime.now(UTC))
        call: dict[str, Any] = await self.ok("POST", "/api/projects/v1/calls", pm, json=body)
        self.created["calls"] += 1
        if plan.state != "draft":
            await self.ok("POST", f"/api/projects/v1/calls/{call['id']}/publish", pm)
        if plan.state == "cancelled":
            await self.ok(
                "POST",
                f"/api/projects/v1/calls/{call['id']}/cancel",
                pm,
                json={"reason": "与年度重点研发计划专题重复，合并至下一批次发布"},
            )
        if plan.state in SHORT_STATES:
            self.closes_at[plan.key] = datetime.fromisoformat(body["closes_at"])
        return call

    def applications_of(self, plan: CallPlan) -> list[tuple[int, Person, str, int]]:
        """(index, PI, title, budget in fen) of each application the plan's call receives."""
        rng = random.Random(f"{self.seed}:{plan.key}")
        pis = self.by_role("pi")
        rng.shuffle(pis)
        result = []
        for i in range(plan.applications):
            topic, *_ = rng.choice(TOPICS)
            budget = rng.choice([10, 20, 30, 50, 80, 120, 200]) * 1_000_000
            result.append(
                (i, pis[i % len(pis)], f"{topic}研究（{plan.key.upper()}-{i + 1:03d}）", budget)
            )
        return result

    @staticmethod
    def target(plan: CallPlan, i: int) -> str:
        """Where application `i` of a call ends up in this run (before any decision)."""
        if plan.state == "open":
            return ("draft", "submitted", "endorsed", "returned", "in_review", "in_review")[i % 6]
        if plan.state == "closed":
            return ("draft", "submitted", "returned", "in_review", "in_review", "in_review")[i % 6]
        return "returned" if i % 10 == 9 else "in_review"

    def content(
        self, pi: Person, title: str, budget: int, attachments: list[dict[str, str]]
    ) -> dict[str, Any]:
        _, keywords, subject = next(t for t in TOPICS if title.startswith(t[0]))
        return {
            "title": title,
            "abstract": f"面向甘肃省产业发展需求，开展{title.split('研究（')[0]}研究，"
            "形成可推广的技术方案并开展示范应用。",
            "keywords": keywords,
            "subject_codes": [subject],
            "team": [{"user_id": self.ids[pi.username], "role": "负责人", "share": 100}],
            "budget": {
                "equipment": budget // 8,
                "business": budget // 2,
                "labour": budget // 4,
                "indirect": budget // 8,
            },
            "milestones": [{"name": "完成关键技术攻关", "due": f"{YEAR + 1}-12-31"}],
            "indicators": [{"name": "发表论文", "target": 3, "unit": "篇"}],
            "attachments": attachments,
        }

    async def apply(
        self, call: dict[str, Any], pi: Person, title: str, budget: int, submit: bool
    ) -> str | None:
        """A draft, its feasibility report, saved, and submitted if asked; its id."""
        who = pi.username
        draft = await self.ok(
            "POST",
            "/api/projects/v1/applications",
            who,
            json={"call_id": call["id"], "content": self.content(pi, title, budget, [])},
        )
        self.created["applications"] += 1
        application_id: str = draft["id"]
        uploaded = await self.ok(
            "POST",
            f"/api/projects/v1/applications/{application_id}/attachments",
            who,
            data={"kind": FEASIBILITY},
            files={"file": ("可行性研究报告.pdf", PDF, "application/pdf")},
        )
        attachments = [{"id": uploaded["id"], "kind": FEASIBILITY}]
        await self.ok(
            "PUT",
            f"/api/projects/v1/applications/{application_id}",
            who,
            json={"base_version": 1, "content": self.content(pi, title, budget, attachments)},
        )
        if submit:
            reply = await self.call(
                "POST", f"/api/projects/v1/applications/{application_id}/submit", who
            )
            if not reply.is_success:
                self.echo(f"  not submitted ({reply.status_code}): {title}: {reply.text[:200]}")
                return None
        return application_id

    async def file_applications(self, plan: CallPlan) -> dict[int, str]:
        """Drafts and submissions of a new call; {index: id} of the submitted ones."""
        call = self.calls[plan.key]
        planned = self.applications_of(plan)

        async def one(i: int, pi: Person, title: str, budget: int) -> tuple[int, str | None]:
            submit = self.target(plan, i) != "draft"
            return i, await self.apply(call, pi, title, budget, submit)

        done = await self.gather(one(*a) for a in planned)
        return {i: a for i, a in done if a is not None and self.target(plan, i) != "draft"}

    async def process(self, plan: CallPlan, submitted: dict[int, str]) -> None:
        """Organization admins endorse or return; the manager passes the formal check."""
        admins = {p.org: p.username for p in self.by_role("oa")}
        pis = {i: pi for i, pi, _, _ in self.applications_of(plan)}
        pm = self.managers[plan.program]

        async def one(i: int, application_id: str) -> None:
            goal = self.target(plan, i)
            if goal == "submitted":
                return
            oa = admins[pis[i].org or ""]
            if goal == "returned":
                reason = "预算说明不完整，请补充设备购置明细后重新提交"
                body = {"decision": "return", "reason": reason}
                await self.step(application_id, "endorsement", oa, body, "submitted")
                return
            body = {"decision": "endorse", "reason": "同意推荐"}
            await self.step(application_id, "endorsement", oa, body, "submitted")
            if goal != "in_review":
                return
            path = f"/api/projects/v1/applications/{application_id}"
            check = await self.ok("GET", f"{path}/formal-check", pm)
            if check["automatic_passed"]:
                body = {"decision": "pass", "reason": "形式审查合格"}
                await self.step(application_id, "formal-check/decision", pm, body, "endorsed")

        await self.gather(one(i, a) for i, a in sorted(submitted.items()))

    async def step(
        self, application_id: str, action: str, who: str, body: dict[str, Any], before: str
    ) -> None:
        """A transition of an application; after a gateway timeout (504), whether it happened."""
        path = f"/api/projects/v1/applications/{application_id}"
        reply = await self.call("POST", f"{path}/{action}", who, json=body)
        if reply.is_success:
            return
        if reply.status_code == 504:
            for _ in range(100):
                if (await self.ok("GET", path, who))["status"] != before:
                    return
                await asyncio.sleep(0.2)
        raise SeedError(f"POST {path}/{action} as {who}: {reply.status_code} {reply.text}")

    async def decide(self, plan: CallPlan, call: dict[str, Any]) -> None:
        """After the close: about 40 % approved, 10 % in the reserve, the rest rejected."""
        pm = self.managers[plan.program]
        waiting = await self.all_pages(
            "/api/projects/v1/applications", pm, call_id=call["id"], status="in_review"
        )
        if not waiting:
            return
        items = []
        approved_pis: set[str] = set()
        for n, application in enumerate(sorted(waiting, key=lambda a: a["title"])):
            kind = "approve" if n % 10 < 4 else "reserve" if n % 10 == 4 else "reject"
            if kind == "approve" and application["applicant_id"] in approved_pis:
                kind = "reserve"  # one new project per PI and call
            item: dict[str, Any] = {"application_id": application["id"], "decision": kind}
            if kind == "approve":
                approved_pis.add(application["applicant_id"])
                item["approved_budget_fen"] = application["requested_budget_fen"]
                item["reason"] = "专家论证通过，予以立项"
            elif kind == "reserve":
                item["reason"] = "评审良好，列入项目储备库"
            else:
                item["reason"] = "创新性不足，本批次不予支持"
            items.append(item)
        decided = await self.ok(
            "POST", f"/api/projects/v1/calls/{call['id']}/decisions", pm, json={"decisions": items}
        )
        projects = [d["project_id"] for d in decided["decisions"] if d.get("project_id")]
        self.created["decisions"] += len(items)
        self.created["projects (in public notice)"] += len(projects)
        if projects and plan.program == "LBCX":
            public = self.by_role("pub")[0].username
            await self.ok(
                "POST",
                f"/api/projects/v1/projects/{projects[0]}/objections",
                public,
                json={"reasons": "该项目负责人同期承担同类项目，研究内容可能重复，请核查。"},
            )
            self.created["objections"] += 1
        # Task books may be drafted during the notice; they are signed once it is over.
        for project_id in projects[1 : 1 + (5 if self.scale == "full" else 2)]:
            budget = next(
                d["approved_budget_fen"]
                for d in decided["decisions"]
                if d.get("project_id") == project_id
            )
            await self.ok(
                "PUT",
                f"/api/projects/v1/projects/{project_id}/task-book",
                pm,
                json=task_book(budget),
            )
            self.created["task books (drafted)"] += 1

    async def contracts(self, plan: CallPlan) -> None:
        """Once the notice is over (a later run): task books signed, the first tranche paid."""
        call = self.calls.get(plan.key)
        if call is None:
            return
        pm = self.managers[plan.program]
        makers, checker = self.by_role("fo")[0].username, self.by_role("fo")[1].username
        admins = {self.orgs[p.org]["id"]: p.username for p in self.by_role("oa") if p.org}
        projects = await self.all_pages(
            "/api/projects/v1/projects", pm, program_id=self.programs[plan.program]["id"]
        )
        signed_now: set[str] = set()
        for project in [p for p in projects if p["call_id"] == call["id"]]:
            path = f"/api/projects/v1/projects/{project['id']}/task-book/sign"
            if project["status"] == "awaiting_contract" and project["org_id"] in admins:
                signed = await self.call("POST", path, admins[project["org_id"]])
                if signed.status_code == 409:
                    continue  # no task book drafted for it
                if not signed.is_success:
                    raise SeedError(f"POST {path}: {signed.status_code} {signed.text}")
                await self.ok("POST", path, pm)
                self.created["projects contracted"] += 1
                signed_now.add(project["id"])
            elif project["status"] == "in_progress":
                signed_now.add(project["id"])
        for project_id in sorted(signed_now):
            await self.first_tranche(project_id, makers, checker)

    async def first_tranche(self, project_id: str, reader: str, checker: str) -> None:
        """The tranche due at signing: its payment order approved by a second finance officer."""
        for _ in range(150):  # the funds service opens the budget from the projects' event
            grant = await self.call("GET", f"/api/funds/v1/grants/{project_id}", reader)
            if grant.status_code == 200:
                first = next(t for t in grant.json()["tranches"] if t["n"] == 1)
                if first["status"] == "paid":
                    return
                if first["status"] == "awaiting_approval":
                    await self.ok(
                        "POST",
                        f"/api/funds/v1/payment-orders/{first['payment_order_id']}/approve",
                        checker,
                        json={"reason": "任务书已签订，拨付资料齐全，同意拨付首笔经费"},
                    )
                    self.created["first tranches paid"] += 1
                    return
            await asyncio.sleep(0.2)
        self.echo(f"  the budget of project {project_id} is not open yet; paid on a later run")

    async def calls_and_applications(self, after_short: Callable[[], Awaitable[None]]) -> None:
        plans = call_plans(self.scale)
        existing = await self.existing_calls()
        new: list[CallPlan] = []
        for plan in plans:
            if plan.title in existing:
                self.calls[plan.key] = existing[plan.title]
            else:
                new.append(plan)
        # The calls that must close first: created, filled and submitted right away.
        short = [p for p in new if p.state in SHORT_STATES]
        for plan in short:
            self.calls[plan.key] = await self.make_call(plan)
        filed = {p.key: await self.file_applications(p) for p in short}
        for plan in [p for p in new if p.state not in SHORT_STATES]:
            self.calls[plan.key] = await self.make_call(plan)
            filed[plan.key] = await self.file_applications(plan)
        for plan in new:
            if plan.key in filed:
                await self.process(plan, filed[plan.key])
        await after_short()
        decided = [p for p in plans if p.state == "decided"]
        if self.closes_at:
            last = max(self.closes_at.values())
            wait = (last - datetime.now(UTC)).total_seconds() + 1
            if wait > 0:
                titles = "、".join(p.title for p in short)
                self.echo(
                    f"waiting {wait:.0f} s for calls to close at {last:%H:%M:%S} UTC: {titles}"
                )
                await asyncio.sleep(wait)
        for plan in decided:
            call = self.calls[plan.key]
            closes = datetime.fromisoformat(call["closes_at"])
            if closes <= datetime.now(UTC):
                await self.decide(plan, call)
            else:
                self.echo(f"  {plan.title}: still open until {closes}; decided on a later run")
        for plan in decided:
            await self.contracts(plan)

    # -- online review --

    async def review(self) -> None:
        """The closed call's review under way: a round opened, assigned automatically, and the
        demo expert added by hand up to two applications; they accept two and draft a sheet."""
        plan = next(p for p in call_plans(self.scale) if p.state == "closed")
        call = self.calls.get(plan.key)
        if call is None or datetime.fromisoformat(call["closes_at"]) > datetime.now(UTC):
            self.echo(f"  {plan.title}: not closed yet; its review opens on a later run")
            return
        pm = self.managers[plan.program]
        rounds = await self.all_pages(
            f"/api/projects/v1/calls/{call['id']}/review-rounds", pm, kind="proposal"
        )
        if rounds:
            round_ = rounds[0]
        else:
            deadline = datetime.now(UTC) + timedelta(days=REVIEW_DAYS)
            round_ = await self.ok(
                "POST",
                f"/api/projects/v1/calls/{call['id']}/review-rounds",
                pm,
                json={"kind": "proposal", "deadline": deadline.isoformat()},
            )
            self.created["review rounds"] += 1
        path = f"/api/projects/v1/review-rounds/{round_['id']}"
        if not await self.all_pages(f"{path}/assignment-runs", pm):
            run = await self.ok("POST", f"{path}/assignment-runs", pm, json={"seed": self.seed})
            if run["pairs"]:  # experts of the applications' fields, if there are any
                applied = await self.ok(
                    "POST", f"/api/projects/v1/assignment-runs/{run['id']}/apply", pm
                )
                self.created["review assignments"] += len(applied["created"])
        self.under_review = plan.title
        expert = self.by_role("ex")[0]
        if round_["state"] != "closed":  # closed since, by someone using the demo
            await self.assign_demo_expert(round_["id"], call["id"], pm, expert)
            await self.expert_at_work(round_, expert.username)

    async def assign_demo_expert(
        self, round_id: str, call_id: str, pm: str, expert: Person
    ) -> None:
        """The manager puts the demo expert on applications the run left them off, outside their
        field if need be (with the reason), never on their own organization's."""
        path = f"/api/projects/v1/review-rounds/{round_id}/assignments"
        expert_id = self.ids[expert.username]
        theirs = await self.all_pages(path, pm, expert_id=expert_id)
        live = [a for a in theirs if a["status"] in ("invited", "accepted")]
        had = {a["application_id"] for a in theirs}
        waiting = await self.all_pages(
            "/api/projects/v1/applications", pm, call_id=call_id, status="in_review"
        )
        own_org = self.orgs[expert.org]["id"] if expert.org else None
        for application in sorted(waiting, key=lambda a: a["title"]):
            if len(live) >= EXPERT_ASSIGNMENTS:
                return
            if application["id"] in had or application["org_id"] == own_org:
                continue
            reply = await self.call(
                "POST",
                path,
                pm,
                json={
                    "application_id": application["id"],
                    "expert_id": expert_id,
                    "reason": "该申报书同领域专家不足，由学科相近的专家补充评审",
                    "force_out_of_field": True,
                },
            )
            if reply.status_code in (409, 422):  # a conflict or a check the run also keeps
                continue
            if not reply.is_success:
                raise SeedError(f"POST {path} as {pm}: {reply.status_code} {reply.text}")
            live.append(reply.json())
            self.created["review assignments"] += 1
        if len(live) < EXPERT_ASSIGNMENTS:
            self.echo(f"  {expert.username} could be given only {len(live)} applications to review")

    async def expert_at_work(self, round_: dict[str, Any], expert: str) -> None:
        """The expert accepts two invitations and saves a first score sheet as a draft."""
        mine = [
            a
            for a in await self.all_pages("/api/projects/v1/me/assignments", expert)
            if a["round_id"] == round_["id"]
        ]
        mine.sort(key=lambda a: a["application"]["title"])
        for assignment in mine[:EXPERT_ASSIGNMENTS]:
            if assignment["status"] == "invited":
                await self.ok(
                    "POST", f"/api/projects/v1/assignments/{assignment['id']}/accept", expert
                )
                self.created["review assignments accepted"] += 1
        if not mine:
            return
        sheet = await self.first_sheet(mine[0]["id"], expert)
        self.finds["ex"] = (
            f"{len(mine)} applications to review by {beijing(round_['deadline'])}, "
            f"the first one's score sheet {sheet}"
        )

    async def first_sheet(self, assignment_id: str, expert: str) -> str:
        """The state of the assignment's score sheet, a draft saved now if there is none."""
        path = f"/api/projects/v1/assignments/{assignment_id}/sheet"
        found = await self.call("GET", path, expert)
        if found.status_code != 404:
            if not found.is_success:
                raise SeedError(f"GET {path} as {expert}: {found.status_code} {found.text}")
            return str(found.json()["status"])
        draft = {
            "scores": {"innovation": 82},
            "comments": {"innovation": "技术路线有一定新意，需补充与现有工艺的对比数据。"},
        }
        saved = await self.ok("PUT", path, expert, json=draft)
        self.created["score sheets (draft)"] += 1
        return str(saved["status"])

    # -- credit records --

    async def credit_records(self) -> None:
        """Records proposed by a manager in a program of theirs; the first half notified to
        their subjects."""
        # The evaluator is engaged on this program: they read its records too.
        pm = self.managers[EVALUATED_PROGRAM]
        program_id = self.programs[EVALUATED_PROGRAM]["id"]
        pis = self.by_role("pi")
        cases = [
            ("LATE_REPORT", "未按期提交年度进展报告，经督促后于逾期30日内补交。"),
            ("DUPLICATE_APPLICATION", "同一研究内容同时向两个省级科技计划重复申报。"),
            ("FALSE_MATERIALS", "申报材料中的合作协议与实际情况不符。"),
            ("LATE_REPORT", "项目中期报告逾期提交，已完成整改。"),
        ]
        if self.scale == "full":
            cases += cases
        today = datetime.now(UTC).date().isoformat()
        for n, (rule, facts) in enumerate(cases):
            subject = pis[-1 - n]  # the last applicants of the cast
            found = await self.ok(
                "GET",
                "/api/credit/v1/records",
                pm,
                params={
                    "purpose": "演示数据：检查是否已建立",
                    "rule_code": rule,
                    "name": subject.name,
                },
            )
            if found["items"]:
                continue
            record = await self.proposed_record(
                pm,
                {
                    "subject": {
                        "kind": "person",
                        "name": subject.name,
                        "gateway_user_id": self.ids[subject.username],
                    },
                    "program_id": program_id,
                    "capacity": "researcher",
                    "rule_code": rule,
                    "facts": facts,
                    "evidence": [{"reference": f"督查通报〔{YEAR}〕{n + 1}号"}],
                    "handling_unit": AGENCY,
                    "effective_from": today,
                },
            )
            self.created["credit records (proposed)"] += 1
            if n % 2 == 0:
                await self.ok(
                    "POST",
                    f"/api/credit/v1/records/{record['id']}/notify",
                    pm,
                    json={"reason": "依规书面告知当事人，异议期内可提出异议"},
                )
                self.created["credit records (notified)"] += 1

    async def proposed_record(self, pm: str, body: dict[str, Any]) -> Any:
        """A manager proposes a record of their program, once credit has heard from projects
        that they manage it (an event away)."""
        for _ in range(150):
            reply = await self.call("POST", "/api/credit/v1/records", pm, json=body)
            if reply.status_code != 403:
                break
            await asyncio.sleep(0.2)
        if not reply.is_success:
            raise SeedError(
                f"POST /api/credit/v1/records as {pm}: {reply.status_code} {reply.text}"
            )
        return reply.json()

    # -- innovation vouchers --

    async def vouchers(self) -> None:
        fo = self.by_role("fo")[0].username
        # The scheme is a line of 技术创新引导计划: its manager admits the providers.
        pm = self.managers[VOUCHER_PROGRAM]
        body = {
            "id": demo_id("voucher-program", "LZCX", YEAR),
            "code": "LZCX",
            "name": f"{YEAR}年兰州市科技创新券",
            "year": YEAR,
            "budget_fen": 50_000_000,
            "voucher_share_bp": 5000,
            "cap_per_group_fen": 20_000_000,
            "validity_days": 180,
            "categories": ["testing", "rd_service"],
            "managing_agency": "兰州市科学技术局",
            "run_by_program": VOUCHER_PROGRAM,
        }
        for _ in range(60):  # funds learns the program from projects' events: give it time
            reply = await self.call("POST", "/api/funds/v1/voucher-programs", fo, json=body)
            if reply.status_code != 422 or reply.json().get("code") != "voucher.unknown_program":
                break
            await asyncio.sleep(0.5)
        if not reply.is_success:
            raise SeedError(f"POST voucher-programs as {fo}: {reply.status_code} {reply.text}")
        if reply.status_code == 201:
            self.created["voucher programs"] += 1
        program = reply.json()
        provider_user = self.by_role("prov")[0].username
        provider = await self.made(
            "voucher providers",
            "/api/funds/v1/voucher-providers",
            provider_user,
            {
                "id": demo_id("voucher-provider", PROVIDER_ORG),
                "services": [
                    {"name": "材料成分检测", "category": "testing", "price_fen": 4_000_000},
                    {"name": "产品中试验证", "category": "rd_service", "price_fen": 8_000_000},
                ],
            },
        )
        if provider["status"] == "pending_review":
            provider = await self.ok(
                "POST",
                f"/api/funds/v1/voucher-providers/{provider['id']}/approve",
                pm,
                json={"reason": "资质齐全，检测能力经现场核查属实"},
            )
        vouchers = []
        for n, person in enumerate(self.by_role("ent")):
            await self.made(
                "voucher enterprises",
                "/api/funds/v1/voucher-enterprises",
                person.username,
                {"id": demo_id("voucher-enterprise", person.org)},
            )
            voucher = await self.made(
                "vouchers",
                f"/api/funds/v1/voucher-programs/{program['id']}/vouchers",
                person.username,
                {"id": demo_id("voucher", person.org, YEAR), "amount_fen": (n + 1) * 5_000_000},
            )
            vouchers.append((person.username, voucher))
        who, voucher = vouchers[0]
        self.finds["ent"] = (
            f"a voucher of ¥{voucher['amount_fen'] // 100:,} from {program['name']} "
            f"({program['voucher_share_bp'] // 100}% of a service contract)"
        )
        order = await self.call(
            "POST",
            "/api/funds/v1/voucher-orders",
            who,
            json={
                "id": demo_id("voucher-order", voucher["id"]),
                "voucher_id": voucher["id"],
                "provider_id": provider["id"],
                "service_name": "材料成分检测",
                "service_category": "testing",
                "contract_amount_fen": 4_000_000,
                "voucher_amount_fen": 2_000_000,
            },
        )
        if (
            order.status_code == 409
            and order.json().get("code") == "voucher.provider_not_accepting"
        ):
            self.echo(
                f"  voucher order refused as expected ({order.json()['code']}): the provider is "
                f"in its 7-day publicity period until {provider['publicity_ends_at']}"
            )
            self.finds["prov"] = (
                f"admitted, its services listed publicly until "
                f"{beijing(provider['publicity_ends_at'])}; "
                "vouchers accepted after that"
            )
            self.finds["ent"] += "; orders once the provider's publicity ends"
            return
        if not order.is_success:
            raise SeedError(f"POST /voucher-orders as {who}: {order.status_code} {order.text}")
        self.created["voucher orders"] += order.status_code == 201
        path = f"/api/funds/v1/voucher-orders/{order.json()['id']}"
        state = order.json()["state"]
        if state == "ordered":
            await self.ok("POST", f"{path}/deliver", provider_user)
            self.created["voucher orders delivered"] += 1
            state = (await self.ok("POST", f"{path}/confirm", who))["state"]
            self.created["voucher orders confirmed"] += 1
        self.finds["prov"] = f"a voucher order for 材料成分检测 ({state})"
        if state == "confirmed":
            self.finds["prov"] += ": its redemption to file"
        self.finds["ent"] += f"; an order for 材料成分检测 ({state})"

    # -- a payment order for a second finance officer --

    async def payment_awaiting_approval(self) -> None:
        """A shared instrument platform's post-subsidy after its performance review: one
        finance officer opens the platform's account and makes the order; it waits for the
        other. No task book holds it up, so it is there from the first run."""
        maker, checker = self.by_role("fo")[0].username, self.by_role("fo")[1]
        ledger = f"{PLATFORM_PROGRAM}-{YEAR}"
        funds = await self.ok(
            "GET",
            "/api/funds/v1/accounts",
            maker,
            params={"ledger": ledger, "code": "program_fund"},
        )
        if not funds["items"]:
            raise SeedError(f"no program fund in the ledger {ledger}: was its envelope allocated?")
        org = self.orgs[PLATFORM_ORG]
        account = await self.made(
            "accounts",
            "/api/funds/v1/accounts",
            maker,
            {
                "id": demo_id("account", "platform", PLATFORM_ORG, YEAR),
                "ledger": ledger,
                "code": "platform_funds",
                "name": f"{org['name']}大型科研仪器共享服务平台专账",
                "owner_kind": "organization",
                "owner_id": str(org["id"]),
                "program": PLATFORM_PROGRAM,
                "fiscal_year": YEAR,
                "debits_must_not_exceed_credits": True,
            },
        )
        purpose = f"{org['name']}大型科研仪器共享服务平台{YEAR}年度运行绩效考核优秀，给予后补助"
        order = await self.made(
            "payment orders (awaiting approval)",
            "/api/funds/v1/payment-orders",
            maker,
            {
                "id": demo_id("payment-order", "platform", PLATFORM_ORG, YEAR),
                "debit_account_id": funds["items"][0]["id"],
                "credit_account_id": account["id"],
                "amount": PLATFORM_SUBSIDY_FEN,
                "ledger": ledger,
                "code": "platform_subsidy",
                "purpose": purpose,
                "user_data": {"org_id": str(org["id"])},
            },
        )
        self.shown["fo"] = checker
        if order["status"] == "pending_approval":
            self.finds["fo"] = (
                f"a payment order made by {maker} awaiting your approval: {purpose}, "
                f"¥{PLATFORM_SUBSIDY_FEN // 100:,}"
            )

    # -- third-party evaluation --

    async def evaluation(self) -> None:
        """The program's manager engages the evaluator on it (once: one active engagement per
        evaluator and program)."""
        pm = self.managers[EVALUATED_PROGRAM]
        program = self.programs[EVALUATED_PROGRAM]
        evaluator = self.by_role("ev")[0].username
        engaged = await self.all_pages(
            "/api/projects/v1/engagements",
            pm,
            evaluator_id=self.ids[evaluator],
            program_id=program["id"],
            active=True,
        )
        if not engaged:
            await self.ok(
                "POST",
                "/api/projects/v1/engagements",
                pm,
                json={
                    "evaluator_id": self.ids[evaluator],
                    "program_id": program["id"],
                    "purpose": f"{program['name_zh']}{YEAR}年度项目执行与成果产出第三方评估",
                },
            )
            self.created["evaluator engagements"] += 1
        self.finds["ev"] = (
            f"engaged on {program['name_zh']}: its applications, projects, notified credit "
            f"records and the {EVALUATED_PROGRAM}-{YEAR} ledger"
        )

    # -- the summary --

    async def summary(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {
            "calls": Counter(),
            "applications": Counter(),
            "projects": Counter(),
        }
        listed = await self.existing_calls()  # the managers' view, drafts included
        # Drafts are their organizations' to see, submitted applications the managers' too.
        org_admins = {p.org: p.username for p in self.by_role("oa") if p.org}
        applications: dict[str, dict[str, Any]] = {}
        for plan in call_plans(self.scale):
            call = listed.get(plan.title)
            if call is None:
                continue
            pm = self.managers[plan.program]
            counts["calls"]["decided" if call["state"] == "decided" else call["status"]] += 1
            for who in (pm, *org_admins.values()):
                path = "/api/projects/v1/applications"
                for a in await self.all_pages(path, who, call_id=call["id"]):
                    applications[a["id"]] = a
        counts["applications"].update(a["status"] for a in applications.values())
        projects: list[dict[str, Any]] = []
        for code, pm in self.managers.items():
            program_id = self.programs[code]["id"]
            projects += await self.all_pages("/api/projects/v1/projects", pm, program_id=program_id)
        counts["projects"].update(p["status"] for p in projects)
        self.people_to_show(list(applications.values()), projects)
        return counts

    def people_to_show(
        self, applications: list[dict[str, Any]], projects: list[dict[str, Any]]
    ) -> None:
        """The applicant and the organization admin with the most to see, and what that is."""
        by_pi: dict[str, Counter[str]] = {}
        by_org: dict[str, Counter[str]] = {}
        for a in applications:
            by_pi.setdefault(str(a["applicant_id"]), Counter())[a["status"]] += 1
            by_org.setdefault(str(a["org_id"]), Counter())[a["status"]] += 1
        led = Counter(str(p["pi_id"]) for p in projects)
        undertaken = Counter(str(p["org_id"]) for p in projects)

        def variety(person: Person) -> int:
            return len(by_pi.get(self.ids[person.username], ())) + led[self.ids[person.username]]

        pi = max(self.by_role("pi"), key=variety)  # the first of the cast among equals
        pi_id = self.ids[pi.username]
        self.shown["pi"] = pi
        self.finds["pi"] = (
            f"own applications {_line(by_pi.get(pi_id, Counter()))}; leads {led[pi_id]} project(s)"
        )

        def waiting(person: Person) -> int:
            return by_org.get(str(self.orgs[person.org or ""]["id"]), Counter())["submitted"]

        oa = max((p for p in self.by_role("oa") if p.org), key=waiting)
        org_id = str(self.orgs[oa.org or ""]["id"])
        self.shown["oa"] = oa
        self.finds["oa"] = (
            f"{waiting(oa)} application(s) awaiting endorsement; its applications "
            f"{_line(by_org.get(org_id, Counter()))}; {undertaken[org_id]} project(s)"
        )
        pm = self.by_role("pm")[0].username
        basic = {self.programs[c]["id"] for c, who in self.managers.items() if who == pm}
        theirs = Counter(p["status"] for p in projects if p["program_id"] in basic)
        review = f"the review of {self.under_review} under way, " if self.under_review else ""
        self.finds["pm"] = (
            f"calls in every state, projects {_line(theirs)}, {review}credit records proposed "
            "and notified"
        )

    def logins(self) -> list[tuple[Person, str, str]]:
        """(who, their role, what they will find) for the last lines of the output."""
        roles = (
            ("pm", "program manager (basic programs)"),
            ("oa", "organization admin"),
            ("pi", "applicant"),
            ("fo", "finance officer"),
            ("ex", "expert"),
            ("ev", "evaluator"),
            ("prov", "voucher service provider"),
            ("ent", "enterprise"),
        )
        return [
            (self.shown.get(prefix) or self.by_role(prefix)[0], what, self.finds.get(prefix, ""))
            for prefix, what in roles
        ]


def task_book(budget: int) -> dict[str, Any]:
    """Budget by category and three tranches: at signing, after the mid-term, after acceptance."""
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
        "starts_on": f"{YEAR + 1}-01-01",
        "ends_on": f"{YEAR + 2}-12-31",
    }


def beijing(moment: str) -> str:
    """An ISO time as people in Gansu read it."""
    return f"{datetime.fromisoformat(moment).astimezone(SHANGHAI):%Y-%m-%d %H:%M} (Beijing time)"


def _line(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


async def seed(
    url: str,
    admin_password: str,
    password: str,
    scale: Scale = "small",
    seed_value: int = 2026,
    close_after: float | None = None,
    echo: Echo = print,
) -> dict[str, Any]:
    """Fills the system at `url`; returns what it counted (also printed)."""
    async with httpx.AsyncClient(timeout=30) as client:
        seeder = Seeder(
            client=client,
            url=url.rstrip("/"),
            admin_password=admin_password,
            password=password,
            scale=scale,
            seed=seed_value,
            close_after=close_after or (120.0 if scale == "full" else 60.0),
            echo=echo,
            people=cast(scale, seed_value),
        )
        echo(f"seeding {url} ({scale}, seed {seed_value}) ...")
        await seeder.directory()
        await seeder.programs_and_funds()
        await seeder.expert_pool()

        async def meanwhile() -> None:
            await seeder.credit_records()
            await seeder.vouchers()
            await seeder.payment_awaiting_approval()
            await seeder.evaluation()

        await seeder.calls_and_applications(meanwhile)
        await seeder.review()
        counts = await seeder.summary()
        echo("")
        echo("SciPlan demo data:")
        echo(
            f"  organizations {len(seeder.orgs)}, people {len(seeder.people)}, "
            f"programs {len(seeder.programs)}"
        )
        echo(f"  calls by state:        {_line(counts['calls'])}")
        echo(f"  applications by state: {_line(counts['applications'])}")
        echo(f"  projects by state:     {_line(counts['projects'])}")
        echo(f"  created by this run:   {_line(seeder.created)}")
        echo(f"  log in (password {password!r}):")
        for person, what, finds in seeder.logins():
            echo(f"    {person.username:<24} {person.name}  {what}: {finds or 'nothing yet'}")
        echo(f"    curl -s -X POST {url}/auth/token -d username=USERNAME -d password=...")
        return {
            "projects": dict(counts["projects"]),
            "created": dict(seeder.created),
            "calls": dict(counts["calls"]),
            "applications": dict(counts["applications"]),
        }
