"""Reading credit data: others' only as role and programs allow, with a stated purpose that is
logged; one's own file always, with the deadlines that make the objection right real."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import QueryLog
from tests.credit.conftest import (
    PURPOSE,
    Credit,
    confirmed,
    notified,
    organization,
    propose,
    step,
)


async def reads_of(session: AsyncSession, who: Credit, caller: str) -> list[QueryLog]:
    return list(
        (
            await session.scalars(
                sa.select(QueryLog)
                .where(QueryLog.actor == who.callers[caller].user_id)
                .order_by(QueryLog.id)
            )
        ).all()
    )


def paths(record: dict[str, Any]) -> list[str]:
    subject = record["subject_id"]
    return [
        f"/v1/records/{record['id']}",
        f"/v1/subjects/{subject}/file",
        f"/v1/subjects/{subject}/rating",
        f"/v1/subjects/{subject}",
    ]


async def test_staff_without_a_part_in_the_program_read_nothing(credit: Credit) -> None:
    """A finance officer, an evaluator engaged on nothing and a manager of another program:
    someone's record, file, rating and subject do not exist for them, purpose or not."""
    record = await confirmed(credit, "LOBBYING")
    for who in ("finance", "idle_evaluator", "other_manager", "stranger"):
        for path in paths(record):
            response = await credit.call("GET", path, who, params=PURPOSE)
            assert response.status_code == 404, (who, path, response.text)
        search = await credit.call("GET", "/v1/records", who, params=PURPOSE)
        assert search.status_code == (403 if who in ("finance", "stranger") else 200)
        if search.status_code == 200:
            assert search.json()["items"] == []


async def test_reading_someone_elses_file_states_a_purpose_and_is_logged(
    credit: Credit, session: AsyncSession
) -> None:
    record = await confirmed(credit, "LOBBYING")
    roles = {
        "evaluator": "evaluator",
        "credit_officer": "credit_officer",
        "auditor": "auditor",
        "manager2": "program_manager",
    }
    for who, role in roles.items():
        for path in paths(record):
            without = await credit.call("GET", path, who)
            assert without.status_code == 422, (who, path)
            assert without.json()["code"] == "credit.purpose_required"
            found = await credit.call("GET", path, who, params=PURPOSE)
            assert found.status_code == 200, (who, path, found.text)
        logged = await reads_of(session, credit, who)
        assert [entry.filters["read"] for entry in logged] == [
            "record",
            "subject_file",
            "rating",
            "subject",
        ]
        assert {entry.purpose for entry in logged} == {PURPOSE["purpose"]}
        assert [str(r) for r in logged[1].record_ids] == [record["id"]]  # what the file showed
        assert logged[0].roles == [role]
    # The subject reads their own without a purpose, and nothing is logged for it.
    for path in paths(record):
        assert (await credit.call("GET", path, "applicant")).status_code == 200
    assert await reads_of(session, credit, "applicant") == []


async def test_an_evaluator_never_sees_a_record_before_its_notice(
    credit: Credit, session: AsyncSession
) -> None:
    shown = await notified(credit, "FALSE_MATERIALS")
    proposed = await propose(credit, "LATE_REPORT")
    waiting = await propose(credit, "FABRICATION")
    await step(credit, waiting["id"], "notify", "manager", reason="依规告知")  # awaits approval
    withdrawn = await propose(credit, "LATE_REPORT")
    await step(credit, withdrawn["id"], "withdraw", "manager", reason="录入错误")
    for hidden in (proposed, waiting, withdrawn):
        response = await credit.call(
            "GET", f"/v1/records/{hidden['id']}", "evaluator", params=PURPOSE
        )
        assert response.status_code == 404, hidden["status"]
    search = await credit.call("GET", "/v1/records", "evaluator", params=PURPOSE)
    assert [item["id"] for item in search.json()["items"]] == [shown["id"]]
    file = await credit.call(
        "GET", f"/v1/subjects/{shown['subject_id']}/file", "evaluator", params=PURPOSE
    )
    assert [r["id"] for r in file.json()["records"]] == [shown["id"]]
    # The program's own managers work on all of them.
    managed = await credit.call("GET", "/v1/records", "manager2", params=PURPOSE)
    assert len(managed.json()["items"]) == 4


async def test_my_credit_file_shows_my_records_rating_and_deadlines(credit: Credit) -> None:
    empty = await credit.call("GET", "/v1/me/file", "applicant")
    assert empty.status_code == 200, empty.text
    assert empty.json()["person"]["subject"] is None  # never named: neutral, nothing recorded
    assert empty.json()["person"]["rating"]["level"] == "B"
    assert empty.json()["organization"] is None  # not an organization's administrator

    record = await notified(credit, "FALSE_MATERIALS")
    await propose(credit, "LATE_REPORT")  # not notified yet: not shown
    mine = (await credit.call("GET", "/v1/me/file", "applicant")).json()["person"]
    assert mine["subject"]["id"] == record["subject_id"]
    [shown] = mine["records"]
    assert shown["id"] == record["id"]
    assert shown["legal_basis"].startswith("《")
    assert shown["objection_open_until"] == record["objection_deadline"]
    assert shown["appeal_open_until"] is None
    me = (await credit.call("GET", "/v1/me", "applicant")).json()
    assert me["details"]["credit_subject_id"] == record["subject_id"]

    credit.clock.advance(days=15)
    await step(credit, record["id"], "confirm", "manager", reason="异议期满无异议")
    mine = (await credit.call("GET", "/v1/me/file", "applicant")).json()["person"]
    [shown] = mine["records"]
    assert shown["objection_open_until"] is None
    assert shown["appeal_open_until"] == shown["appeal_deadline"]
    assert mine["rating"]["score"] == 70
    assert [reason["record_id"] for reason in mine["rating"]["reasons"]] == [record["id"]]

    # The appeal window is 15 working days: three weeks later it has closed.
    credit.clock.advance(days=22)
    late = await step(credit, record["id"], "appeal", "applicant", statement="请求复查该记录。")
    assert late.status_code == 409
    assert late.json()["code"] == "appeal.window_closed"
    mine = (await credit.call("GET", "/v1/me/file", "applicant")).json()["person"]
    assert mine["records"][0]["appeal_open_until"] is None


async def test_an_organizations_administrator_sees_its_file(credit: Credit) -> None:
    record = await notified(
        credit, "LATE_REPORT", subject=organization(credit), capacity="organization"
    )
    files = (await credit.call("GET", "/v1/me/file", "org_admin")).json()
    assert [r["id"] for r in files["organization"]["records"]] == [record["id"]]
    # its researchers do not
    assert (await credit.call("GET", "/v1/me/file", "applicant")).json()["organization"] is None
    # `GET /v1/me` names the organization's file to its administrator alone (each portal page
    # asks, so the caller's directory row and both subjects come in one statement).
    admin = (await credit.call("GET", "/v1/me", "org_admin")).json()["details"]
    assert admin["organization_credit_subject_id"] == record["subject_id"]
    assert admin["credit_subject_id"] is None  # never named as a person
    researcher = (await credit.call("GET", "/v1/me", "applicant")).json()["details"]
    assert "organization_credit_subject_id" not in researcher
    assert researcher["credit_subject_id"] is None
