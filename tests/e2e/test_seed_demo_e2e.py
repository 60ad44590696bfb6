"""`sciplan seed-demo --scale small` and the API tour (docs/tour.md), run as a user would, side by
side on one stack of their own (the tests of this module follow one another on it, in order).

The first run of the demo fills the system through the gateway; the test then checks through
the API and the database that every kind of data is there (calls in every state, applications
across the lifecycle, projects in public notice with an objection, experts, credit records
proposed and notified, voucher program, provider in publicity, enterprises and vouchers, no order
yet), and, logged in as the people the demo names, that each finds their work: the expert two
open assignments, one sheet drafted and one not scored; the second finance officer a payment
order awaiting their approval; the evaluator an engagement under which they read projects and
credit records. The second run must create nothing: every table the demo writes to holds the
same rows.
Then the API tour runs from end to end next to the demo data (it moves the services' clock
24 days), after which a third run of the demo, past the notice and the publicity, signs the
drafted task books (budgets opened, first tranches paid) and places the voucher order. Last, the
tour starts again, with another suffix: its first blocks, which create the organizations, the
people, the fund and its money, meet nothing of the first tour's or the demo's.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from shared.db import asyncpg_dsn
from shared.testing.plugin import migrated_database
from tests.conftest import RunningStack, bearer, running_stack, wait_until
from tests.e2e.helpers import admin_token, e2e_client
from tests.e2e.test_tour import DAYS_ADVANCED, check_the_tour_outcome, run_tour

pytestmark = pytest.mark.e2e

# Every table the demo writes to (the audit log and login bookkeeping grow with any request).
TABLES = [
    "gateway.organizations",
    "gateway.users",
    "gateway.user_roles",
    "projects.programs",
    "projects.program_envelopes",
    "projects.program_managers",
    "projects.experts",
    "projects.calls",
    "projects.applications",
    "projects.application_versions",
    "projects.attachments",
    "projects.formal_checks",
    "projects.projects",
    "projects.objections",
    "projects.task_books",
    "projects.review_rounds",
    "projects.conflicts",
    "projects.assignment_runs",
    "projects.assignments",
    "projects.score_sheets",
    "projects.engagements",
    "credit.records",
    "funds.grant_envelopes",
    "funds.voucher_programs",
    "funds.voucher_providers",
    "funds.voucher_enterprises",
    "funds.vouchers",
    "funds.voucher_orders",
    "funds.accounts",
    "funds.transfers",
    "funds.payment_orders",
]
# Tables the first run may leave empty: the order is refused during the provider's publicity,
# and experts may have no conflict with the applications under review.
MAY_BE_EMPTY = {"funds.voucher_orders", "projects.conflicts"}
PASSWORD = "sciplan-demo-2026"  # the demo's default password for its people
ROLES = (  # as the output's login lines name them
    "program manager (basic programs)",
    "organization admin",
    "applicant",
    "finance officer",
    "expert",
    "evaluator",
    "voucher service provider",
    "enterprise",
)
WAITED = re.compile(r"^waiting ", re.MULTILINE)  # for new people to be known, or calls to close


# The shared e2e settings give up on a service after 2 s (for the fault tests); the formal
# check at endorsement asks credit and may take longer on a busy 2-core machine.
SLOW_OK = {"SCIPLAN_GATEWAY_PROXY_TIMEOUT_SECONDS": "30"}
SERVICES_WITH_CLOCKS = ("PROJECTS", "CREDIT", "FUNDS", "NOTIFY")
FIRST_TOUR, SECOND_TOUR = "7A01", "7A02"  # the tours' tags (TOUR)
TOUR_FUNDS = "LBCX7A__"  # the tours' funds, as a LIKE pattern
TOUR_SETUP_BLOCKS = 4  # the tools, the clock's tool, the people, the fund and its money


@dataclass
class SeedStack:
    running: RunningStack
    clock_file: Path


@pytest.fixture(scope="module")
def seeded(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeedStack]:
    """A stack of its own; its services' clock moves only for the run a week later."""
    here = tmp_path_factory.mktemp("seed")
    clock_file = here / "clock"
    clock_file.write_text("0")
    clocks = {f"SCIPLAN_{s}_TEST_CLOCK_FILE": str(clock_file) for s in SERVICES_WITH_CLOCKS}
    with (
        migrated_database(postgres_server_url, f"sciplan_seed_{os.getpid()}") as url,
        running_stack(url, here / "logs", SLOW_OK | clocks) as running,
    ):
        yield SeedStack(running=running, clock_file=clock_file)


async def seed_demo(stack: RunningStack) -> str:
    """Runs the command as a user would; its output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sciplan.cli",
        "seed-demo",
        "--url",
        stack.url,
        "--scale",
        "small",
        "--close-after",
        "25",
        env=os.environ | {"SCIPLAN_ADMIN_PASSWORD": stack.admin_password},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, out.decode() + err.decode()
    return out.decode()


async def table_counts(stack: RunningStack) -> dict[str, int]:
    conn = await asyncpg.connect(asyncpg_dsn(stack.stack.database_url))
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
    finally:
        await conn.close()


async def grouped(stack: RunningStack, sql: str) -> dict[str, int]:
    conn = await asyncpg.connect(asyncpg_dsn(stack.stack.database_url))
    try:
        return {str(r[0]): int(r[1]) for r in await conn.fetch(sql)}
    finally:
        await conn.close()


async def call_states(stack: RunningStack) -> set[str]:
    """Every demo call as its managers see it through the API: stored state or clock status."""
    async with e2e_client() as client:
        admin = bearer(await admin_token(client, stack))
        api = f"{stack.url}/api/projects/v1"
        programs = (await client.get(f"{api}/programs", params={"limit": 200})).json()["items"]
        states: set[str] = set()
        for program in programs:
            reply = await client.get(
                f"{api}/programs/{program['id']}/calls", headers=admin, params={"limit": 200}
            )
            assert reply.status_code == 200, reply.text
            for call in reply.json()["items"]:
                states.add("decided" if call["state"] == "decided" else call["status"])
        return states


def login_of(output: str, role: str) -> str:
    """The username the demo's output says to log in as for `role`."""
    found = re.search(rf"^ +(\S+) +\S+ +{re.escape(role)}: (.*)$", output, re.MULTILINE)
    assert found, f"no login for {role}:\n{output}"
    assert found.group(2) != "nothing yet", found.group(0)
    return found.group(1)


async def log_in(client: httpx.AsyncClient, stack: RunningStack, username: str) -> dict[str, str]:
    reply = await client.post(
        f"{stack.url}/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    return bearer(reply.json()["access_token"])


async def every_role_finds_their_work(stack: RunningStack, output: str) -> None:
    """Every role has a login with something to find; the expert, the second finance officer
    and the evaluator, as the output names them, find it through the API."""
    for role in ROLES:
        login_of(output, role)
    api = f"{stack.url}/api"
    async with e2e_client() as client:
        expert = await log_in(client, stack, login_of(output, "expert"))
        listed = await client.get(f"{api}/projects/v1/me/assignments", headers=expert)
        assert listed.status_code == 200, listed.text
        now = datetime.now(UTC)
        open_ = [
            a
            for a in listed.json()["items"]
            if a["status"] in ("invited", "accepted")
            and datetime.fromisoformat(a["deadline"]) > now
        ]
        assert len(open_) >= 2, listed.json()
        sheets: Counter[str] = Counter()
        for assignment in open_:
            sheet = await client.get(
                f"{api}/projects/v1/assignments/{assignment['id']}/sheet", headers=expert
            )
            sheets["unscored" if sheet.status_code == 404 else sheet.json()["status"]] += 1
        assert sheets["draft"] >= 1, sheets
        assert sheets["unscored"] >= 1, sheets

        checker = await log_in(client, stack, login_of(output, "finance officer"))
        me = (await client.get(f"{api}/funds/v1/me", headers=checker)).json()
        waiting = await client.get(
            f"{api}/funds/v1/payment-orders",
            headers=checker,
            params={"status": "pending_approval"},
        )
        assert waiting.status_code == 200, waiting.text
        others = [o for o in waiting.json()["items"] if o["maker_id"] != me["subject"]]
        assert others, waiting.json()  # made by the other officer: theirs to approve

        evaluator = await log_in(client, stack, login_of(output, "evaluator"))
        engagements = await client.get(f"{api}/projects/v1/engagements", headers=evaluator)
        assert engagements.status_code == 200, engagements.text
        [engagement] = [e for e in engagements.json()["items"] if e["active"]]
        projects = await client.get(
            f"{api}/projects/v1/projects",
            headers=evaluator,
            params={"program_id": engagement["program_id"]},
        )
        assert projects.status_code == 200, projects.text
        assert projects.json()["items"], projects.json()

        async def reads_records() -> bool:  # credit hears of the engagement through events
            records = await client.get(
                f"{api}/credit/v1/records",
                headers=evaluator,
                params={"purpose": "第三方评估：核查承担主体信用"},
            )
            return records.status_code == 200 and bool(records.json()["items"])

        await wait_until(reads_records, seconds=30)


async def test_seed_demo_fills_the_system_and_runs_again_without_duplicates(
    seeded: SeedStack,
) -> None:
    seed_stack = seeded.running
    first = await seed_demo(seed_stack)
    assert WAITED.search(first), first
    assert "SciPlan demo data:" in first, first
    assert "voucher order refused as expected" in first, first

    assert await call_states(seed_stack) == {
        "draft",
        "upcoming",
        "open",
        "closed",
        "decided",
        "cancelled",
    }
    applications = await grouped(
        seed_stack, "SELECT status, count(*) FROM projects.applications GROUP BY status"
    )
    for status in ("draft", "submitted", "endorsed", "returned", "in_review", "approved"):
        assert applications.get(status, 0) > 0, applications
    assert applications.get("rejected", 0) + applications.get("reserved", 0) > 0, applications
    assert sum(applications.values()) >= 30, applications
    projects = await grouped(
        seed_stack, "SELECT status, count(*) FROM projects.projects GROUP BY status"
    )
    assert projects.get("in_notice", 0) > 0, projects
    records = await grouped(seed_stack, "SELECT status, count(*) FROM credit.records GROUP BY 1")
    assert records.get("proposed", 0) > 0, records
    assert records.get("notified", 0) > 0, records
    kinds = await grouped(
        seed_stack, "SELECT kind, count(*) FROM gateway.organizations GROUP BY kind"
    )
    assert set(kinds) == {"university", "research_institute", "enterprise"}, kinds
    await every_role_finds_their_work(seed_stack, first)
    counts: dict[str, Any] = await table_counts(seed_stack)
    for table in TABLES:
        if table not in MAY_BE_EMPTY:
            assert counts[table] > 0, table
    assert counts["funds.voucher_orders"] == 0
    assert counts["projects.programs"] == 7  # the five basic programs and two special funds
    providers = await grouped(
        seed_stack,
        "SELECT review_state, count(*) FROM funds.voucher_providers GROUP BY review_state",
    )
    assert providers == {"approved": 1}, providers

    second = await seed_demo(seed_stack)
    assert "created by this run:   none" in second, second
    assert not WAITED.search(second), second
    assert await table_counts(seed_stack) == counts


def test_the_tour_runs_next_to_the_demo(seeded: SeedStack, tmp_path: Path) -> None:
    before = float(seeded.clock_file.read_text() or 0)
    run_tour(seeded.running, seeded.clock_file, tmp_path, FIRST_TOUR)
    # The tour moved the services' clock over its three periods, and not otherwise.
    assert float(seeded.clock_file.read_text()) == before + DAYS_ADVANCED * 86_400
    check_the_tour_outcome(seeded.running.url, FIRST_TOUR)


async def test_a_run_of_the_demo_after_the_notice_and_the_publicity_goes_on(
    seeded: SeedStack,
) -> None:
    """The services' clock at least 8 days on (the tour moved it 24): the public notice and the
    provider's publicity are over, so a run contracts the drafted task books (funds opens the
    budgets and pays the first tranche) and the voucher order goes through."""
    seed_stack = seeded.running
    week = timedelta(days=8).total_seconds()
    if float(seeded.clock_file.read_text() or 0) < week:
        seeded.clock_file.write_text(str(week))
    later = await seed_demo(seed_stack)
    assert "projects contracted" in later, later
    # The demo's own projects, orders and tranches (not the tour's, which has run by now).
    projects = await grouped(
        seed_stack,
        "SELECT p.status, count(*) FROM projects.projects p"
        " JOIN projects.programs g ON g.id = p.program_id"
        f" WHERE g.code NOT LIKE '{TOUR_FUNDS}' GROUP BY 1",
    )
    assert projects.get("in_progress", 0) > 0, projects
    paid = await grouped(  # a tranche is paid when its payment order is approved
        seed_stack,
        "SELECT o.status, count(*) FROM funds.grant_tranches t"
        " JOIN funds.payment_orders o ON o.id = t.order_id"
        " JOIN funds.grants g ON g.project_id = t.project_id"
        f" WHERE t.n = 1 AND g.program_code NOT LIKE '{TOUR_FUNDS}' GROUP BY 1",
    )
    assert paid == {"approved": projects["in_progress"]}, paid
    orders = await grouped(
        seed_stack,
        "SELECT o.state, count(*) FROM funds.voucher_orders o"
        " JOIN funds.voucher_programs v ON v.id = o.program_id WHERE v.code = 'LZCX' GROUP BY 1",
    )
    assert orders == {"confirmed": 1}, orders


async def test_the_tour_runs_again(seeded: SeedStack, tmp_path: Path) -> None:
    """Its first two blocks make everything the tour needs to be unique (organizations, people,
    the fund and its envelope); they run again beside the first tour and the demo."""
    run_tour(seeded.running, seeded.clock_file, tmp_path, SECOND_TOUR, blocks=TOUR_SETUP_BLOCKS)
    codes = await grouped(
        seeded.running,
        "SELECT code, count(*) FROM projects.programs WHERE code LIKE 'LBCX%' GROUP BY code",
    )
    assert codes == {"LBCX": 1, f"LBCX{FIRST_TOUR}": 1, f"LBCX{SECOND_TOUR}": 1}, codes
    managers = await grouped(
        seeded.running,
        "SELECT username, count(*) FROM gateway.users WHERE username LIKE 'pm.lbcx%' GROUP BY 1",
    )
    assert set(managers) == {f"pm.lbcx.{FIRST_TOUR.lower()}", f"pm.lbcx.{SECOND_TOUR.lower()}"}
