"""Two processes of every service and two gateways, on one database.

The story of test_story_e2e.py runs again here: its requests go to the two gateways in turn,
each gateway spreads them over a service's replicas, and one funds replica is killed -9 midway
(the story's own step; the gateways skip it while it is down). Then:
- every process served part of it: both gateways (each logs every request) and both replicas
  of every service (their metrics count the requests they answered);
- every event was applied once (the story's own check: each consumer's inbox holds each
  published event once), none was parked, and what they made was made once (a payment order
  per tranche, a notification per event and person);
- a reminder, made and mailed by notify's periodic jobs, which both of its replicas run,
  reaches its person once, in the inbox and by mail;
- a person logged in on one portal replica is logged in on the other (the first down, then
  the second: the gateways go around the one that is down);
- a rate limit counts the requests of both gateways together.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sciplan.stack import replica_name, service_of
from tests.conftest import bearer, wait_until
from tests.e2e.helpers import e2e_client, scalar
from tests.e2e.story_steps import PASSWORD, Story
from tests.e2e.test_story_e2e import (
    StoryStack,
    address_of,
    content,
    open_call,
    running_story_stack,
    the_whole_story,
)

pytestmark = pytest.mark.e2e

REPLICAS = 2
METRICS_TOKEN = "replicas-e2e-metrics"
# Token confirmations (password reset, address check) per client address: a tight bucket.
CONFIRMS_PER_ADDRESS = 4
ENVIRONMENT = {
    # Two replicas read each feed: polling every 0.8 s, together they look as often as one
    # process of the single stack does (and the idle processes leave the cores to the tests).
    **{
        f"SCIPLAN_{service}_EVENT_POLL_SECONDS": "0.8"
        for service in ("GATEWAY", "PROJECTS", "CREDIT", "FUNDS", "NOTIFY")
    },
    # A mail being sent is leased to one replica for a while, counted on the services' clock;
    # the story moves that clock by weeks, and by months into the next year for its year-end
    # close, which would end a lease mid-send and let the other replica send the mail again.
    # Leases longer than the story's jumps keep this test about replicas, not about a clock
    # that leaps.
    "SCIPLAN_NOTIFY_SENDING_LEASE_SECONDS": str(400 * 86400),
    # The sweeps of credit and funds run often, in both replicas, all through the story.
    "SCIPLAN_CREDIT_RATING_SWEEP_SECONDS": "1",
    "SCIPLAN_FUNDS_EXPIRY_SWEEP_SECONDS": "1",
    "SCIPLAN_GATEWAY_TOKEN_CONFIRM_PER_ADDRESS": json.dumps(
        {"per_hour": 1, "burst": CONFIRMS_PER_ADDRESS}
    ),
    **{
        f"SCIPLAN_{service}_METRICS_TOKEN": METRICS_TOKEN
        for service in ("PROJECTS", "CREDIT", "FUNDS", "NOTIFY")
    },
}
SCHEMAS_WITH_EVENTS = ("gateway", "projects", "credit", "funds", "notify")


@pytest.fixture
def replicated(postgres_server_url: str, tmp_path: Path) -> Iterator[StoryStack]:
    with running_story_stack(
        postgres_server_url,
        tmp_path,
        ENVIRONMENT,
        portal=True,
        replicas=REPLICAS,
        gateways=REPLICAS,
    ) as stack:
        yield stack


async def test_the_story_on_two_replicas_of_everything(replicated: StoryStack) -> None:
    async with e2e_client() as client:
        story = Story(client=client, running=replicated.running, clock_file=replicated.clock_file)
        fund = await the_whole_story(story)
        await nothing_parked(story)
        await effects_once(story)
        await a_reminder_is_sent_once(story, fund)
        await portal_sessions_hold_on_every_replica(story)
        await a_rate_limit_counts_both_gateways(story)
        await every_process_served(story)


async def nothing_parked(story: Story) -> None:
    for schema in SCHEMAS_WITH_EVENTS:
        parked = await scalar(story.running, f"SELECT count(*) FROM {schema}.event_dead_letters")
        assert parked == 0, schema


async def effects_once(story: Story) -> None:
    """What the events made, made once: one payment order per tranche that fell due (three of
    王芳's project, the first of 刘洋's), one notification per event and person."""
    orders = await scalar(
        story.running,
        "SELECT count(*) FROM funds.payment_orders WHERE user_data ? 'tranche'",
    )
    tranches = await scalar(
        story.running,
        "SELECT count(DISTINCT (user_data->>'project_id', user_data->>'tranche'))"
        " FROM funds.payment_orders WHERE user_data ? 'tranche'",
    )
    assert (orders, tranches) == (4, 4)
    told_twice = await scalar(
        story.running,
        "SELECT count(*) FROM (SELECT 1 FROM notify.notifications"
        " WHERE source_event_id IS NOT NULL"
        " GROUP BY source_event_id, user_id, template HAVING count(*) > 1) AS twice",
    )
    assert told_twice == 0


async def a_reminder_is_sent_once(story: Story, fund: dict[str, Any]) -> None:
    """A draft in a call closing in three days and an hour is reminded in an hour; both notify
    replicas look for due reminders and due mail every 0.4 s, and it is told once."""
    title = "2026年度兰白科技创新专项（第三批）"
    call = await open_call(story, fund, title, timedelta(days=3, hours=1))
    draft = await story.ok(
        "POST",
        "projects",
        "/applications",
        "pi.wang",
        json={"call_id": call["id"], "content": content(story, "pi.wang", "黄河流域生态治理", [])},
    )

    async def scheduled() -> bool:  # once notify has the draft's event, not before
        sql = "SELECT count(*) FROM notify.reminders WHERE about_id = $1"
        return bool(await scalar(story.running, sql, draft["id"]))

    await wait_until(scheduled, seconds=30)
    story.advance(hours=2)
    mailbox = story.running.mail
    assert mailbox is not None
    address = address_of("pi.wang")
    reminders: list[dict[str, Any]] = []

    async def reminded() -> bool:
        nonlocal reminders
        inbox = await story.ok("GET", "notify", "/me/notifications", "pi.wang")
        reminders = [n for n in inbox["items"] if n["about_id"] == draft["id"]]
        return bool(reminders)

    def mailed() -> list[str]:
        subject = reminders[0]["subject"]
        received = mailbox.mailbox.received
        return [str(m["To"]) for m in received if (m["To"], m["Subject"]) == (address, subject)]

    async def arrived() -> bool:
        return bool(mailed())

    await wait_until(reminded, seconds=30)
    await wait_until(arrived, seconds=30)
    # The reminder is marked sent with its notification made, and the delivery with its mail:
    # by now any second replica would have had to act already.
    assert [n["template"] for n in reminders] == ["call_closing"]
    assert len(mailed()) == 1


async def portal_sessions_hold_on_every_replica(story: Story) -> None:
    """Logged in while the first portal replica is down (so on the second), a person's pages
    open while the second is down (so on the first): the sessions are in the database, and
    the gateways go around a replica that is down."""
    stack, gateways = story.running.stack, story.running.gateway_urls
    async with httpx.AsyncClient(timeout=30) as browser:
        stack.kill("portal")
        await browser.get(f"{gateways[0]}/login")
        logged_in = await browser.post(
            f"{gateways[0]}/login",
            data={
                "username": "pi.wang",
                "password": PASSWORD,
                "csrf_token": browser.cookies["sp_csrf"],
                "next": "/inbox",
            },
        )
        assert logged_in.status_code == 303, logged_in.text
        stack.restart("portal")
        stack.kill(replica_name("portal", 2))
        for gateway in gateways:
            page = await browser.get(f"{gateway}/inbox")
            assert page.status_code == 200, page.headers.get("location")
            assert "王芳" in page.text


async def a_rate_limit_counts_both_gateways(story: Story) -> None:
    """Bogus tokens confirmed from one address, to the two gateways in turn: the bucket of
    four is spent after four requests in all, not four at each gateway."""
    gateways = story.running.gateway_urls
    answers = []
    for turn in range(3 * CONFIRMS_PER_ADDRESS):
        reply = await story.client.post(
            f"{gateways[turn % len(gateways)]}/auth/email-verification/confirm",
            json={"token": f"not-a-real-token-{turn:04d}"},
        )
        answers.append(reply.status_code)
    assert answers == [400] * CONFIRMS_PER_ADDRESS + [429] * (2 * CONFIRMS_PER_ADDRESS)


async def every_process_served(story: Story) -> None:
    """Each gateway answered some of the story's requests (its log has a line for each), and
    each replica of every service some of those forwarded to it (its metrics count them by
    route): not only the feeds, health checks and tokens the processes ask of each other.
    (The portal's replicas show in `portal_sessions_hold_on_every_replica`.)"""
    stack = story.running.stack
    assert stack.log_dir is not None
    for process in stack.process_names():
        service = service_of(process)
        if service == "gateway":
            served = [p for p in _paths_logged(stack.log_dir / f"{process}.log") if "/api/" in p]
        elif service != "portal":
            served = [r for r in await _routes_counted(story, process) if r.startswith("/v1/")]
        else:
            continue
        assert served, f"{process} answered none of the story's requests"


def _paths_logged(log: Path) -> list[str]:
    paths = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line not ours (a crash's traceback)
        if entry.get("logger") == "sciplan.access":
            paths.append(str(entry["path"]))
    return paths


async def _routes_counted(story: Story, process: str) -> list[str]:
    scraped = await story.client.get(
        f"{story.running.stack.url(process)}/metrics", headers=bearer(METRICS_TOKEN)
    )
    assert scraped.status_code == 200, scraped.text
    return [
        sample.labels["route"]
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "sciplan_http_requests_total" and sample.value > 0
    ]
