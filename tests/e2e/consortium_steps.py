"""The consortium steps of the end-to-end tests (tests/e2e/test_consortium_e2e.py; the story
takes them as they are): the PI sets the parts of a draft, each participating organization's
admin endorses its own part. Each step is done by the role that does it, through the gateway."""

from __future__ import annotations

from typing import Any

from tests.e2e.story_steps import Story


async def parts_set(
    story: Story, application_id: str, pi: str, parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The PI sets the consortium's parts (`org_id`, `budget_fen`, `work`, `co_pi_ids`): every
    participating organization's part waits for its endorsement, the lead's (the first) never
    does; submission waits for them."""
    consortium: dict[str, Any] = await story.ok(
        "PUT",
        "projects",
        f"/applications/{application_id}/consortium",
        pi,
        json={"parts": parts},
    )
    partners = [p["org_id"] for p in parts[1:]]
    assert consortium["pending_org_ids"] == partners, consortium
    waiting = await story.call("POST", "projects", f"/applications/{application_id}/submit", pi)
    assert (waiting.status_code, waiting.json()["code"]) == (409, "consortium.not_endorsed")
    return consortium


async def part_endorsed(
    story: Story, application_id: str, org_id: str, org_admin: str, reason: str
) -> dict[str, Any]:
    """A participating organization's admin endorses its own part; the consortium as it is."""
    endorsed: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        f"/applications/{application_id}/consortium/parts/{org_id}/endorsement",
        org_admin,
        json={"decision": "endorse", "reason": reason},
    )
    return endorsed
