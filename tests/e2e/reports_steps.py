"""Reports on schedule as steps of the story (tests/e2e/test_story_e2e.py), through the
gateway: the schedule a signed task book made, a due date passed, the report overdue for the
program's manager, the PI's next application refused until the report is in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from shared.clock import SHANGHAI, in_shanghai
from tests.conftest import wait_until
from tests.e2e.story_steps import Story


def today(story: Story) -> date:
    """The services' date in Beijing."""
    return in_shanghai(story.now()).date()


async def scheduled(story: Story, project_id: str, pi: str) -> list[dict[str, Any]]:
    """The PI reads the schedule the task book made at its second signature: its dues."""
    schedule = await story.ok("GET", "projects", f"/projects/{project_id}/report-schedule", pi)
    assert schedule["source"] == "task_book", schedule
    assert all(d["state"] == "open" for d in schedule["dues"]), schedule
    dues: list[dict[str, Any]] = schedule["dues"]
    return dues


def past(story: Story, due_on: str) -> None:
    """Moves the clock to the first hour of the day after `due_on` (Beijing): overdue."""
    after = datetime.combine(date.fromisoformat(due_on) + timedelta(days=1), time(1), SHANGHAI)
    story.move_to(after)


async def overdue_for_the_manager(
    story: Story, project_id: str, manager: str, pi: str
) -> dict[str, Any]:
    """The program's manager lists the project's overdue report; the PI may not list."""
    overdue = await story.ok(
        "GET",
        "projects",
        "/report-dues",
        manager,
        params={"state": "overdue", "project_id": project_id},
    )
    [listed] = overdue["items"]
    assert listed["days_overdue"] >= 1, listed
    hidden = await story.call("GET", "projects", "/report-dues", pi, params={"state": "overdue"})
    assert hidden.status_code == 403, hidden.text
    return listed


async def told_overdue(story: Story, pi: str, project_number: str) -> None:
    """Notify tells the PI the report is overdue (the projects service's reminder job, at the
    start of the day after the due date)."""

    async def told() -> bool:
        inbox = await story.ok("GET", "notify", "/me/notifications", pi)
        return any(
            n["template"] == "report_overdue" and project_number in n["subject"]
            for n in inbox["items"]
        )

    await wait_until(told, seconds=30)


async def refused_for_overdue(
    story: Story, application_id: str, pi: str, project_number: str
) -> None:
    """The PI's new application is refused, naming the overdue report."""
    refused = await story.call("POST", "projects", f"/applications/{application_id}/submit", pi)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "application.reports_overdue", refused.text
    assert project_number in refused.json()["detail"], refused.text


async def report_filed(
    story: Story, project_id: str, pi: str, due: dict[str, Any], summary: str
) -> dict[str, Any]:
    """The PI files the report the due asks for; the schedule shows it met."""
    filed: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        f"/projects/{project_id}/reports",
        pi,
        json={"kind": due["kind"], "period": due["period"], "content": {"summary": summary}},
    )
    schedule = await story.ok("GET", "projects", f"/projects/{project_id}/report-schedule", pi)
    [met] = [d for d in schedule["dues"] if d["id"] == due["id"]]
    assert met["state"] == "submitted", met
    return filed
