"""Projects' reminders of reports on schedule: the PI is told once per event (a redelivered
event tells nobody twice), in the reminders category, in Chinese and in English."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from services.notify.rendering import render
from shared.auth.roles import Role
from shared.contracts.projects import ProjectPerson
from shared.contracts.reports import ReportDueSoonV1, ReportOverdueV1
from shared.ids import uuid7
from tests.notify.conftest import Notify, apply


def _about(pi: UUID) -> dict[str, Any]:
    return {
        "project_id": uuid7(),
        "project_number": "2026-ZDYF-0001",
        "title": "旱区小麦节水栽培关键技术研究与示范",
        "pi": ProjectPerson(id=pi, name="王芳"),
        "due_id": uuid7(),
        "kind": "annual",
        "period": "Y1",
        "due_on": date(2027, 5, 30),
    }


async def test_the_pi_is_told_a_report_is_due_soon_and_then_overdue_once_each(
    notify: Notify,
) -> None:
    pi = await notify.person(Role.applicant)
    about = _about(pi.id)
    soon = ReportDueSoonV1(**about, days_left=7)
    event_id = await apply(notify, "projects", soon)
    await apply(notify, "projects", soon, event_id=event_id)  # redelivered
    await apply(notify, "projects", ReportOverdueV1(**about))

    inbox = (await notify.call("GET", "/v1/me/notifications", pi)).json()["items"]
    assert [item["subject"] for item in inbox] == [
        "报告已逾期：2026-ZDYF-0001 年度报告",
        "报告即将到期：2026-ZDYF-0001 年度报告",
    ]
    assert {item["category"] for item in inbox} == {"reminder"}
    assert {(item["about_type"], item["about_id"]) for item in inbox} == {
        ("project", str(about["project_id"]))
    }
    assert "还有 7 天" in inbox[1]["body"]
    assert "补交之前，您不能提交新的项目申报" in inbox[0]["body"]


def test_the_reminders_read_in_english_too() -> None:
    params = {
        "display_name": "Wang Fang",
        "project_number": "2026-ZDYF-0001",
        "title": "Dryland wheat",
        "kind": "final",
        "kind_name": "结题报告",
        "period": "",
        "due_on": "2029-03-31",
    }
    subject, body = render("report_overdue", "en", params)
    assert subject == "Report overdue: 2026-ZDYF-0001 final report"
    assert "was due on 2029-03-31" in body
    subject, _ = render("report_due_soon", "en", {**params, "days_left": 30})
    assert subject == "Report due soon: 2026-ZDYF-0001 final report"
