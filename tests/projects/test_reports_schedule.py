"""Reports on schedule: the schedule made at signing (program policy, task book's own list,
supervision by credit level), due dates moved by a manager with a reason, the reminder job
(once each), the managers' list of overdue reports, a PI with an overdue report refused a new
submission, and the credit records proposed through credit's own path."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.inbound import credit_handlers
from services.projects.models import events
from services.projects.models.reporting import Supervision
from services.projects.reporting.plan import program_plan, supervised
from services.projects.reporting.policy import policy_from
from services.projects.reporting.reminders import remind_once
from shared.contracts.feed import EventV1
from tests.conftest import org_code
from tests.projects.conftest import ZDYF, ZDZX, Projects, shanghai
from tests.projects.test_applications_helpers import (
    act,
    complete,
    confirm_record,
    credit_record,
    open_call,
    rules,
)
from tests.projects.test_decisions import BUDGET, approved_projects, outbox
from tests.projects.test_execution import (
    ORG_ADMIN_OF,
    contracted_projects,
    sign,
    task_book,
)
from tests.projects.test_execution_reports import FINAL, file, review

# The default schedule of a project running 2026-05-01 .. 2028-12-31 (test_execution.task_book).
DEFAULT_DUES = [
    ("annual", "Y1", "2027-05-30"),
    ("midterm", None, "2027-09-30"),
    ("annual", "Y2", "2028-05-30"),
    ("final", None, "2029-03-31"),
    ("financial", None, "2029-03-31"),
]
EARLY = [
    {"kind": "annual", "period": "Y1", "due_on": "2026-06-30"},
    {"kind": "final", "due_on": "2029-03-31"},
]


async def schedule(projects: Projects, project_id: str, who: str = "applicant") -> httpx.Response:
    return await projects.call("GET", f"/v1/projects/{project_id}/report-schedule", who)


def dues(body: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(d["kind"], d["period"], d["due_on"]) for d in body["dues"]]


async def contracted_with(
    session: AsyncSession, projects: Projects, who: str = "applicant", **book: Any
) -> str:
    """One project in progress whose task book has `book`'s fields besides the usual ones."""
    [decision] = await approved_projects(session, projects, who)
    projects.clock.advance(days=8)
    project_id: str = decision["project_id"]
    path = f"/v1/projects/{project_id}/task-book"
    drafted = await projects.call("PUT", path, "manager", json=task_book(**book))
    assert drafted.status_code == 200, drafted.text
    assert (await sign(projects, project_id, ORG_ADMIN_OF[who])).status_code == 200
    assert (await sign(projects, project_id, "manager")).json()["status"] == "in_progress"
    return project_id


async def overdue_list(projects: Projects, who: str, **params: Any) -> httpx.Response:
    return await projects.call("GET", "/v1/report-dues", who, params={"state": "overdue", **params})


async def apply_to_credit(session: AsyncSession, event_type: str) -> None:
    """Hands projects' published events of a type to credit's consumer, as its feed would."""
    rows = await session.execute(
        sa.select(events.outbox).where(events.outbox.c.event_type == event_type)
    )
    handler = credit_handlers(CreditSettings())[event_type]
    for row in rows:
        await handler.handle(
            session,
            EventV1(
                event_id=row.event_id,
                event_type=row.event_type,
                aggregate_type=row.aggregate_type,
                aggregate_id=row.aggregate_id,
                payload=row.payload,
                occurred_at=row.occurred_at,
                position="1:1",
            ),
        )
    await session.commit()


async def credit_records(projects: Projects, rule_code: str) -> list[dict[str, Any]]:
    found = await projects.credit.get(
        "/v1/records",
        headers=projects.callers["credit_officer"].headers,
        params={"purpose": "核对报告逾期与验收的信用记录", "rule_code": rule_code},
    )
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


# --- the schedule ----------------------------------------------------------------------------


async def test_signing_makes_the_schedule_from_the_program_policy(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")

    made = await schedule(projects, project_id)
    assert made.status_code == 200, made.text
    body = made.json()
    assert (body["source"], body["supervision"], body["credit_level"], body["spot_check"]) == (
        "program",
        "standard",
        "B",
        False,
    )
    assert dues(body) == DEFAULT_DUES
    assert {d["state"] for d in body["dues"]} == {"open"}
    assert body["dues"][0]["reminder_days"] == [30, 7]
    for who in ("org_admin", "manager", "admin"):
        assert (await schedule(projects, project_id, who)).status_code == 200, who
    for who in ("applicant2", "stranger", "org_admin2", "manager2"):
        hidden = await schedule(projects, project_id, who)
        assert hidden.status_code == 404, who
        assert hidden.json()["code"] == "project.not_found"

    story = await projects.call("GET", f"/v1/projects/{project_id}/history", "manager")
    created = story.json()["items"][-1]
    assert created["action"] == "report_schedule.created"
    assert created["details"]["supervision"] == "standard"


async def test_a_task_book_may_bring_its_own_list_of_reports(
    session: AsyncSession, projects: Projects
) -> None:
    project_id = await contracted_with(session, projects, reports=EARLY)
    body = (await schedule(projects, project_id)).json()
    assert body["source"] == "task_book"
    assert dues(body) == [("annual", "Y1", "2026-06-30"), ("final", None, "2029-03-31")]
    book = (await projects.call("GET", f"/v1/projects/{project_id}", "manager")).json()
    assert book["task_book"]["reports"][0] == EARLY[0]


async def test_a_task_book_list_without_a_final_report_is_refused(
    session: AsyncSession, projects: Projects
) -> None:
    [decision] = await approved_projects(session, projects, "applicant")
    projects.clock.advance(days=8)
    path = f"/v1/projects/{decision['project_id']}/task-book"
    no_final = task_book(reports=[{"kind": "annual", "period": "Y1", "due_on": "2026-06-30"}])
    refused = await projects.call("PUT", path, "manager", json=no_final)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "task_book.invalid"
    assert {"field": "reports", "message": "exactly one final report"} in refused.json()["problems"]
    too_late = task_book(reports=[{"kind": "final", "due_on": "2031-01-01"}])
    assert (await projects.call("PUT", path, "manager", json=too_late)).status_code == 422
    unknown_kind = task_book(reports=[{"kind": "weekly", "due_on": "2027-01-01"}])
    assert (await projects.call("PUT", path, "manager", json=unknown_kind)).status_code == 422
    book = (await projects.call("GET", f"/v1/projects/{decision['project_id']}", "manager")).json()
    assert book["task_book"] is None  # nothing half-written


async def org_record(projects: Projects, rule_code: str) -> str:
    """A record on organization 1 (兰州大学) at the real credit service, notified; its path."""
    officer = projects.callers["credit_officer"].headers
    proposed = await projects.credit.post(
        "/v1/records",
        headers=officer,
        json={
            "subject": {
                "kind": "organization",
                "name": "兰州大学",
                "credit_code": org_code(1),
                "gateway_org_id": str(projects.orgs[1]),
            },
            "capacity": "organization",
            "rule_code": rule_code,
            "facts": "经核实，该单位承担项目验收结论为优秀。",
            "handling_unit": "省科技厅监督处",
            "effective_from": "2026-03-02",
        },
    )
    assert proposed.status_code == 201, proposed.text
    path = f"/v1/records/{proposed.json()['id']}"
    notified = await projects.credit.post(
        f"{path}/notify", headers=officer, json={"reason": "依规告知当事人"}
    )
    assert notified.status_code == 200, notified.text
    return path


async def test_supervision_follows_the_credit_level(
    session: AsyncSession, projects: Projects
) -> None:
    # applicant: A (80 + 5 + 5), and so is their organization; applicant2: C (80 - 8)
    start = date(2026, 3, 2)
    people, units = [], []
    for rule in ("SCIENCE_AWARD", "EXCELLENT_ACCEPTANCE"):
        people.append(await credit_record(projects, "applicant", rule, effective_from=start))
        units.append(await org_record(projects, rule))
    people.append(
        await credit_record(projects, "applicant2", "MISSING_REPORT", effective_from=start)
    )
    projects.clock.advance(days=15)  # the objection windows pass unused
    for record in people:
        await confirm_record(projects, record["id"])
    for path in units:
        confirmed = await projects.credit.post(
            f"{path}/confirm",
            headers=projects.callers["credit_officer"].headers,
            json={"reason": "异议期满无异议"},
        )
        assert confirmed.status_code == 200, confirmed.text

    # No tranche waits for the mid-term check: simplified supervision can do without its report.
    paid_twice = task_book(
        tranches=[
            {"name": "首笔拨款", "amount_fen": BUDGET // 2, "on": "signing"},
            {"name": "验收后拨款", "amount_fen": BUDGET // 2, "on": "acceptance"},
        ]
    )
    trusted, watched = await contracted_projects(
        session, projects, "applicant", "applicant2", book=paid_twice
    )

    simplified = (await schedule(projects, trusted)).json()
    assert (simplified["supervision"], simplified["credit_level"]) == ("simplified", "A")
    assert "midterm" not in [kind for kind, _, _ in dues(simplified)]
    assert simplified["spot_check"] is False

    enhanced = (await schedule(projects, watched, "applicant2")).json()
    assert (enhanced["supervision"], enhanced["credit_level"], enhanced["spot_check"]) == (
        "enhanced",
        "C",
        True,
    )
    progress = [(p, due) for kind, p, due in dues(enhanced) if kind == "progress"]
    assert progress == [
        ("P1", "2026-11-15"),
        ("P2", "2027-05-15"),
        ("P3", "2027-11-15"),
        ("P4", "2028-05-15"),
        ("P5", "2028-11-15"),
    ]
    assert "midterm" in [kind for kind, _, _ in dues(enhanced)]


# --- the program's policy --------------------------------------------------------------------


async def test_a_programs_managers_set_its_reporting_policy(
    session: AsyncSession, projects: Projects
) -> None:
    path = f"/v1/programs/{ZDYF}/report-policy"
    default = await projects.call("GET", path, "manager")
    assert default.status_code == 200, default.text
    assert (default.json()["own"], default.json()["reminder_days"]) == (False, [30, 7])
    assert default.json()["supervision"] == {
        "A": "simplified",
        "B": "standard",
        "C": "enhanced",
        "D": "enhanced",
    }

    terms = {
        **default.json(),
        "reminder_days": [14, 60, 3],
        "final_overdue_days": 10,
        "annual": False,
    }
    for key in ("program_id", "own", "updated_by", "updated_at"):
        terms.pop(key)
    for who, status in (("manager2", 403), ("applicant", 403), ("org_admin", 403)):
        refused = await projects.call("PUT", path, who, json=terms)
        assert refused.status_code == status, who
    saved = await projects.call("PUT", path, "manager", json=terms)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["own"], saved.json()["reminder_days"]) == (True, [60, 14, 3])
    assert (await projects.call("GET", path, "manager2")).status_code == 403
    assert (await projects.call("GET", f"/v1/programs/{ZDZX}/report-policy", "manager2")).json()[
        "own"
    ] is False

    for bad in (
        {**terms, "reminder_days": [7, 7]},
        {**terms, "supervision": {"A": "simplified"}},
        {**terms, "final_overdue_days": 0},
        {**terms, "weekly": True},
    ):
        refused = await projects.call("PUT", path, "manager", json=bad)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await projects.call("GET", path, "manager")).json()["reminder_days"] == [60, 14, 3]
    missing = await projects.call(
        "GET", "/v1/programs/0193a5c0-0000-7000-8000-0000000000ff/report-policy", "admin"
    )
    assert missing.status_code == 404

    [project_id] = await contracted_projects(session, projects, "applicant")
    made = (await schedule(projects, project_id)).json()
    assert "annual" not in [kind for kind, _, _ in dues(made)]
    assert made["dues"][0]["reminder_days"] == [60, 14, 3]


# --- moving a due date -----------------------------------------------------------------------


async def test_a_manager_moves_a_due_date_with_a_reason(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    first = (await schedule(projects, project_id)).json()["dues"][0]
    path = f"/v1/projects/{project_id}/report-schedule/{first['id']}/due-date"
    change = {"due_on": "2027-06-30", "reason": "田间试验因干旱推迟一个月"}

    assert (await projects.call("POST", path, "applicant", json=change)).status_code == 403
    assert (await projects.call("POST", path, "org_admin", json=change)).status_code == 403
    assert (await projects.call("POST", path, "manager2", json=change)).status_code == 404
    no_reason = await projects.call("POST", path, "manager", json={"due_on": "2027-06-30"})
    assert no_reason.status_code == 422
    before_start = await projects.call(
        "POST", path, "manager", json={**change, "due_on": "2026-04-01"}
    )
    assert before_start.status_code == 422
    assert before_start.json()["code"] == "report_due.invalid_date"
    elsewhere = f"/v1/projects/{project_id}/report-schedule/{UUID(int=1)}/due-date"
    assert (await projects.call("POST", elsewhere, "manager", json=change)).status_code == 404

    moved = await projects.call("POST", path, "manager", json=change)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["due_on"], moved.json()["state"]) == ("2027-06-30", "open")
    story = (await projects.call("GET", f"/v1/projects/{project_id}/history", "applicant")).json()
    entry = story["items"][-1]
    assert (entry["action"], entry["reason"]) == ("report_due.rescheduled", change["reason"])
    assert (entry["details"]["from"], entry["details"]["to"]) == ("2027-05-30", "2027-06-30")

    projects.clock.now = shanghai(2026, 6, 1)
    filed = await file(projects, project_id, "annual", period="Y1")
    assert filed.status_code == 201, filed.text
    met = await projects.call("POST", path, "manager", json=change)
    assert met.status_code == 409
    assert met.json()["code"] == "report_due.met"


# --- reminders, overdue, the managers' list ---------------------------------------------------


async def test_each_reminder_is_told_once_and_the_overdue_notice_once(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")

    projects.clock.now = shanghai(2027, 4, 29, 23, 59)  # 30 days before Y1's 2027-05-30
    assert await remind_once(projects.app, projects.clock.now) == 0
    projects.clock.now = shanghai(2027, 4, 30, 0, 0)
    assert await remind_once(projects.app, projects.clock.now) == 1
    assert await remind_once(projects.app, projects.clock.now) == 0  # told: nothing twice
    projects.clock.now = shanghai(2027, 5, 23, 8, 0)  # 7 days before
    assert await remind_once(projects.app, projects.clock.now) == 1
    assert await remind_once(projects.app, projects.clock.now) == 0

    soon = await outbox(session, "report.due_soon")
    assert [(e["kind"], e["period"], e["days_left"]) for e in soon] == [
        ("annual", "Y1", 30),
        ("annual", "Y1", 7),
    ]
    assert soon[0]["pi"]["id"] == str(projects.callers["applicant"].user_id)
    assert await outbox(session, "report.overdue") == []

    projects.clock.now = shanghai(2027, 5, 30, 23, 59)  # the due date's last minute
    assert await remind_once(projects.app, projects.clock.now) == 0
    assert (await overdue_list(projects, "manager")).json()["items"] == []
    projects.clock.now = shanghai(2027, 5, 31, 0, 0)
    assert await remind_once(projects.app, projects.clock.now) == 1
    projects.clock.now = shanghai(2027, 6, 10)
    await remind_once(projects.app, projects.clock.now)
    [overdue] = await outbox(session, "report.overdue")
    assert (overdue["kind"], overdue["period"], overdue["due_on"]) == ("annual", "Y1", "2027-05-30")
    assert len(await outbox(session, "report.due_soon")) == 2
    assert await outbox(session, "report.final_overdue") == []  # only a final report goes to credit

    state = (await schedule(projects, project_id)).json()["dues"][0]
    assert (state["state"], state["reminded"]) == ("overdue", [30, 7])
    assert state["overdue_told_at"] is not None


async def test_a_late_schedule_tells_only_the_nearest_reminder(
    session: AsyncSession, projects: Projects
) -> None:
    # Y1 is due 2026-06-30: on signing (2026-03-10) the 30-day reminder is still ahead.
    await contracted_with(session, projects, reports=EARLY)
    projects.clock.now = shanghai(2026, 6, 25)  # the job was down for both reminder days
    assert await remind_once(projects.app, projects.clock.now) == 1
    [told] = await outbox(session, "report.due_soon")
    assert told["days_left"] == 5
    projects.clock.now = shanghai(2026, 6, 29)
    assert await remind_once(projects.app, projects.clock.now) == 0


async def test_the_overdue_list_is_scoped_to_the_managers_programs(
    session: AsyncSession, projects: Projects
) -> None:
    mine = await contracted_with(session, projects, "applicant", reports=EARLY)
    # a second project in the same program, due later
    other = await contracted_with(
        session,
        projects,
        "applicant2",
        reports=[{**EARLY[0], "due_on": "2026-07-31"}, EARLY[1]],
    )
    projects.clock.now = shanghai(2026, 8, 5)

    listed = await overdue_list(projects, "manager")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["project_id"], i["kind"], i["days_overdue"]) for i in items] == [
        (mine, "annual", 36),
        (other, "annual", 5),
    ]
    assert items[0]["project_number"] == "2026-ZDYF-0001"
    assert items[0]["pi_name"] == "王芳"
    assert items[0]["state"] == "overdue"

    assert (await overdue_list(projects, "manager2")).json()["items"] == []
    assert (await overdue_list(projects, "manager2", program_id=str(ZDYF))).json()["items"] == []
    assert len((await overdue_list(projects, "admin")).json()["items"]) == 2
    for who in ("applicant", "org_admin", "evaluator"):
        assert (await overdue_list(projects, who)).status_code == 403, who

    first = await overdue_list(projects, "manager", limit=1)
    assert [i["project_id"] for i in first.json()["items"]] == [mine]
    cursor = first.json()["next_cursor"]
    second = await overdue_list(projects, "manager", limit=1, cursor=cursor)
    assert [i["project_id"] for i in second.json()["items"]] == [other]
    assert second.json()["next_cursor"] is None
    assert (await overdue_list(projects, "manager", kind="final")).json()["items"] == []
    by_project = await overdue_list(projects, "manager", project_id=other)
    assert [i["project_id"] for i in by_project.json()["items"]] == [other]
    assert (await overdue_list(projects, "manager", kind="weekly")).status_code == 422
    assert (await overdue_list(projects, "manager", colour="red")).status_code == 422

    assert (await file(projects, mine, "annual", period="Y1")).status_code == 201
    left = (await overdue_list(projects, "manager")).json()["items"]
    assert [i["project_id"] for i in left] == [other]
    submitted = await projects.call(
        "GET", "/v1/report-dues", "manager", params={"state": "submitted"}
    )
    assert [i["project_id"] for i in submitted.json()["items"]] == [mine]


# --- an overdue report blocks a new application ------------------------------------------------


async def test_a_pi_with_an_overdue_report_is_refused_until_it_is_in(
    session: AsyncSession, projects: Projects
) -> None:
    project_id = await contracted_with(session, projects, reports=EARLY)
    projects.clock.now = shanghai(2026, 7, 1, 9, 0)  # Y1 was due 2026-06-30
    call = await open_call(session, projects, year=2026, title="2026年度重点研发计划（第二批）")
    application = await complete(projects, call)

    refused = await act(projects, application["id"], "submit", "applicant")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "application.reports_overdue"
    assert "项目 2026-ZDYF-0001 的年度报告（Y1）应于 2026-06-30 前提交" in problem["detail"]
    assert problem["overdue_reports"] == [
        {
            "due_id": problem["overdue_reports"][0]["due_id"],
            "project_id": project_id,
            "project_number": "2026-ZDYF-0001",
            "kind": "annual",
            "period": "Y1",
            "due_on": "2026-06-30",
        }
    ]
    english = await projects.call(
        "POST",
        f"/v1/applications/{application['id']}/submit",
        "applicant",
        headers={"Accept-Language": "en"},
    )
    assert "the annual report (Y1) of project 2026-ZDYF-0001" in english.json()["detail"]
    found = await projects.call("GET", f"/v1/applications/{application['id']}", "applicant")
    assert found.json()["status"] == "draft"  # nothing half-written

    # a colleague of the same organization is not held up by someone else's report
    other = await complete(projects, call, "colleague")
    assert (await act(projects, other["id"], "submit", "colleague")).status_code == 200

    assert (await file(projects, project_id, "annual", period="Y1")).status_code == 201
    accepted = await act(projects, application["id"], "submit", "applicant")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "submitted"


async def test_a_report_overdue_by_the_check_fails_the_formal_check(
    session: AsyncSession, projects: Projects
) -> None:
    project_id = await contracted_with(session, projects, reports=EARLY)
    projects.clock.now = shanghai(2026, 6, 30, 12, 0)  # still on time: the submission goes in
    call = await open_call(session, projects, year=2026, title="2026年度重点研发计划（第二批）")
    application = await complete(projects, call)
    assert (await act(projects, application["id"], "submit", "applicant")).status_code == 200
    projects.clock.now = shanghai(2026, 7, 2)  # overdue when the organization endorses
    endorsed_now = await act(
        projects, application["id"], "endorsement", "org_admin", decision="endorse"
    )
    assert endorsed_now.status_code == 200, endorsed_now.text
    passed, detail = rules(endorsed_now.json())["reports.none_overdue"]
    assert passed is False
    assert detail == "overdue: 2026-ZDYF-0001 annual Y1 due 2026-06-30"
    refused = await act(
        projects, application["id"], "formal-check/decision", "manager", decision="pass"
    )
    assert refused.status_code in (409, 422), refused.text
    assert "reports.none_overdue" in refused.json()["failed_rules"]

    assert (await file(projects, project_id, "annual", period="Y1")).status_code == 201
    rerun = await act(projects, application["id"], "formal-check/rerun", "manager")
    assert rerun.status_code == 200, rerun.text
    assert {r["rule"]: r["passed"] for r in rerun.json()["results"]}["reports.none_overdue"] is True


# --- credit proposals ---------------------------------------------------------------------------


async def test_a_final_report_long_overdue_is_proposed_to_credit_once(
    session: AsyncSession, projects: Projects
) -> None:
    project_id = await contracted_with(
        session,
        projects,
        reports=[{"kind": "final", "due_on": "2026-12-31"}],
    )
    projects.clock.now = shanghai(2027, 1, 30)  # 30 days past: the default is "more than 30"
    await remind_once(projects.app, projects.clock.now)
    assert await outbox(session, "report.final_overdue") == []
    projects.clock.now = shanghai(2027, 2, 1)
    assert await remind_once(projects.app, projects.clock.now) == 1
    assert await remind_once(projects.app, projects.clock.now) == 0
    [escalated] = await outbox(session, "report.final_overdue")
    assert (escalated["days_overdue"], escalated["managing_agency"]) == (32, "甘肃省科学技术厅")
    assert escalated["pi_credit"]["gateway_user_id"] == str(projects.callers["applicant"].user_id)

    await apply_to_credit(session, "report.final_overdue")
    await apply_to_credit(session, "report.final_overdue")  # redelivered: still one record
    [record] = await credit_records(projects, "MISSING_REPORT")
    assert record["status"] == "proposed"  # the due process has not started, let alone ended
    assert "2026-ZDYF-0001" in record["facts"]
    due = (await schedule(projects, project_id)).json()["dues"][0]
    assert due["escalated_at"] is not None
    story = (await projects.call("GET", f"/v1/projects/{project_id}/history", "manager")).json()
    assert story["items"][-1]["action"] == "report_due.credit_proposed"


async def test_an_excellent_and_a_failed_acceptance_are_proposed_to_credit(
    session: AsyncSession, projects: Projects
) -> None:
    excellent, failed = await contracted_projects(session, projects, "applicant", "applicant2")
    outcomes = {}
    for project_id, who, decision in (
        (excellent, "applicant", "passed"),
        (failed, "applicant2", "failed"),
    ):
        report = await file(projects, project_id, "final", who=who, **FINAL)
        assert report.status_code == 201, report.text
        outcomes[project_id] = await review(
            projects, project_id, report.json()["id"], decision, excellent=decision == "passed"
        )
        assert outcomes[project_id].status_code == 200, outcomes[project_id].text
    assert outcomes[excellent].json()["excellent"] is True

    wrong = await file(projects, excellent, "annual", period="Y1")
    assert wrong.status_code == 409  # the project is accepted: no more reports
    concluded = await outbox(session, "project.acceptance_concluded")
    assert [(c["project_id"], c["grade"]) for c in concluded] == [
        (excellent, "excellent"),
        (failed, "failed"),
    ]
    await apply_to_credit(session, "project.acceptance_concluded")
    [good] = await credit_records(projects, "EXCELLENT_ACCEPTANCE")
    [bad] = await credit_records(projects, "FAILED_ACCEPTANCE")
    assert (good["status"], bad["status"]) == ("proposed", "proposed")


async def test_excellent_goes_only_with_a_passed_acceptance(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    report = await file(projects, project_id, "final")
    refused = await review(projects, project_id, report.json()["id"], "failed", excellent=True)
    assert refused.status_code == 422
    assert await outbox(session, "project.acceptance_concluded") == []


def test_simplified_supervision_keeps_the_midterm_report_a_tranche_waits_for() -> None:
    """Without the report, the mid-term check never passes and its tranche is never paid."""
    policy = policy_from(None)
    start, end = date(2026, 5, 1), date(2028, 12, 31)
    plan = program_plan(policy, start, end)
    assert "midterm" in [p.kind for p in plan]
    kept = supervised(plan, Supervision.simplified, policy, start, end, midterm_pays=True)
    dropped = supervised(plan, Supervision.simplified, policy, start, end, midterm_pays=False)
    assert sorted(p.kind for p in kept) == sorted(p.kind for p in plan)
    assert sorted(p.kind for p in dropped) == sorted(p.kind for p in plan if p.kind != "midterm")
