"""The objection window runs from the notice's delivery: the notify service says when a
record's notice reached its subject (`notice.delivered` on its feed), or an officer records a
delivery by other means. Until then the record awaits delivery: no deadline, no confirmation,
but the subject may object already. The record's events tell the subject (by gateway id)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.models import events
from services.credit.records.calendar import WorkCalendar
from shared.events.outbox import Event
from shared.events.parking import Outcome, apply_batch
from shared.ids import uuid7
from tests.credit.conftest import Credit, notified, step

WINDOW = 10  # working days, the default


@pytest.fixture
def credit_settings(database_url: str) -> CreditSettings:
    """Credit reading a notify service's feed (never fetched here: events are applied as its
    consumer would apply them)."""
    return CreditSettings(
        database_url=SecretStr(database_url),
        rating_sweep_seconds=3600,
        notify_url="http://notify.invalid:8004",
    )


def notice_of(record: dict[str, Any]) -> str:
    """The id of the record's `credit.record_notified` event, as its history keeps it: notify
    names it as the source of the notification it delivers."""
    [sent] = [t for t in record["transitions"] if "notice_event_id" in t["details"]]
    event_id: str = sent["details"]["notice_event_id"]
    return event_id


def delivered(
    record: dict[str, Any] | Any,
    at: datetime,
    *,
    about_type: str = "credit_record",
    source_event_id: str | None = None,
) -> Event:
    """Notify's `notice.delivered` of the notice of `record` (a record as credit shows it, or
    just an id: a record credit may not know)."""
    notification_id = uuid7()
    if isinstance(record, dict):
        record_id, source_event_id = record["id"], source_event_id or notice_of(record)
    else:
        record_id = record
    return Event(
        event_id=uuid7(),
        event_type="notice.delivered",
        aggregate_type="notice",
        aggregate_id=str(notification_id),
        payload={
            "notification_id": str(notification_id),
            "user_id": str(uuid7()),
            "about_type": about_type,
            "about_id": str(record_id),
            "source_event_id": source_event_id or str(uuid7()),
            "channel": "mail",
            "delivered_at": at.isoformat(),
        },
        occurred_at=at,
        position="9:1",
    )


async def deliver(session: AsyncSession, credit: Credit, *batch: Event) -> list[Outcome]:
    """As credit's consumer of the notify feed applies a batch."""
    outcomes = await apply_batch(
        session,
        events,
        source="notify",
        handlers=credit.app.state.event_sources["notify"],
        events=list(batch),
    )
    await session.commit()
    return outcomes


async def read(credit: Credit, record_id: str) -> dict[str, Any]:
    response = await credit.call(
        "GET", f"/v1/records/{record_id}", "manager", params={"purpose": "核对告知书送达情况"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def published(session: AsyncSession, event_type: str, record_id: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        sa.select(events.outbox.c.payload)
        .where(events.outbox.c.event_type == event_type)
        .order_by(events.outbox.c.id)
    )
    return [p for p in rows.all() if p["record_id"] == record_id]


async def test_the_notice_awaits_delivery_and_the_window_runs_from_the_delivery(
    session: AsyncSession, credit: Credit
) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    assert (record["objection_deadline"], record["awaiting_delivery"]) == (None, True)
    [notice] = await published(session, "credit.record_notified", record["id"])
    assert notice["gateway_user_id"] == credit.callers["applicant"].user_id
    assert (notice["rule_code"], notice["objection_window_working_days"]) == (
        "FALSE_MATERIALS",
        WINDOW,
    )
    [own] = (await credit.call("GET", "/v1/me/file", "applicant")).json()["person"]["records"]
    assert (own["awaiting_delivery"], own["objection_open_until"]) == (True, None)
    early = await step(credit, record["id"], "confirm", "manager", reason="异议期满无异议")
    assert (early.status_code, early.json()["code"]) == (409, "record.awaiting_delivery")

    credit.clock.advance(days=20)  # the mail reached them three weeks after the notice
    at = credit.clock.now
    assert await deliver(session, credit, delivered(record, at)) == ["applied"]

    after = await read(credit, record["id"])
    deadline = WorkCalendar().add_working_days(at, WINDOW)
    assert datetime.fromisoformat(after["objection_deadline"]) == deadline
    assert datetime.fromisoformat(after["delivered_at"]) == at
    assert (after["delivery_channel"], after["awaiting_delivery"]) == ("mail", False)
    assert after["transitions"][-1]["details"]["channel"] == "mail"
    [own] = (await credit.call("GET", "/v1/me/file", "applicant")).json()["person"]["records"]
    assert datetime.fromisoformat(own["objection_open_until"]) == deadline
    credit.clock.advance(days=7)  # past 10 working days from the notice, not from the delivery
    still_open = await step(credit, record["id"], "confirm", "manager", reason="异议期满无异议")
    assert (still_open.status_code, still_open.json()["code"]) == (
        409,
        "record.objection_window_open",
    )


async def test_an_objection_before_delivery_is_accepted(credit: Credit) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    objected = await step(
        credit, record["id"], "objection", "applicant", statement="我已从单位得知此事，提出异议。"
    )
    assert objected.status_code == 200, objected.text
    assert objected.json()["status"] == "objected"


async def test_a_delivery_for_an_unknown_record_is_parked_not_skipped(
    session: AsyncSession, credit: Credit
) -> None:
    unknown = delivered(uuid7(), credit.clock.now)
    assert await deliver(session, credit, unknown) == ["failed"]
    letters = await credit.call("GET", "/internal/v1/dead-letters", "service")
    assert letters.status_code == 200, letters.text
    [letter] = [i for i in letters.json()["items"] if i["event_id"] == str(unknown.event_id)]
    assert "no credit record" in letter["error"]
    # A notice about something else is not credit's: ignored, not parked.
    other = delivered(uuid7(), credit.clock.now, about_type="application")
    assert await deliver(session, credit, other) == ["applied"]


async def test_the_same_delivery_twice_changes_nothing_and_the_first_counts(
    session: AsyncSession, credit: Credit
) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    first = delivered(record, credit.clock.now)
    assert await deliver(session, credit, first) == ["applied"]
    before = await read(credit, record["id"])

    credit.clock.advance(days=3)
    later = delivered(record, credit.clock.now)  # the inbox opened after the mail
    assert await deliver(session, credit, first, later) == ["duplicate", "applied"]
    after = await read(credit, record["id"])
    assert after == before


async def test_only_the_delivery_of_the_record_notice_itself_starts_the_window(
    session: AsyncSession, credit: Credit
) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    at = credit.clock.now
    # A decision about the same record delivered (another about_type), or a notice made of
    # some other event of credit's: neither is the record's notice.
    decision = delivered(record["id"], at, about_type="credit_objection")
    other_event = delivered(record["id"], at, source_event_id=str(uuid7()))
    assert await deliver(session, credit, decision, other_event) == ["applied", "applied"]
    still = await read(credit, record["id"])
    assert (still["awaiting_delivery"], still["objection_deadline"]) == (True, None)

    credit.clock.advance(days=2)
    assert await deliver(session, credit, delivered(record, credit.clock.now)) == ["applied"]
    after = await read(credit, record["id"])
    assert datetime.fromisoformat(after["delivered_at"]) == credit.clock.now


async def test_an_officer_records_a_delivery_by_post_once_and_audited(credit: Credit) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    sent_at = credit.clock.now
    credit.clock.advance(days=7)
    path = f"/v1/records/{record['id']}/delivery"
    body = {
        "channel": "post",
        "delivered_at": (credit.clock.now - timedelta(days=1)).isoformat(),
        "evidence": "EMS 挂号信回执 EMS1234567CN",
        "reason": "当事人无系统账号，告知书以挂号信送达",
    }
    by_subject = await credit.call("POST", path, "applicant", json=body)
    assert by_subject.status_code == 403
    no_evidence = {k: v for k, v in body.items() if k != "evidence"}
    refused = await credit.call("POST", path, "credit_officer", json=no_evidence)
    assert refused.status_code == 422, refused.text

    recorded = await credit.call("POST", path, "credit_officer", json=body)
    assert recorded.status_code == 200, recorded.text
    at = credit.clock.now - timedelta(days=1)
    assert sent_at < at
    assert recorded.json()["objection_deadline"] is not None
    assert datetime.fromisoformat(recorded.json()["objection_deadline"]) == (
        WorkCalendar().add_working_days(at, WINDOW)
    )
    last = recorded.json()["transitions"][-1]
    assert (last["actor"], last["reason"]) == (
        credit.callers["credit_officer"].user_id,
        body["reason"],
    )
    assert (last["details"]["channel"], last["details"]["evidence"]) == (
        "post",
        "EMS 挂号信回执 EMS1234567CN",
    )
    again = await credit.call("POST", path, "credit_officer", json=body)
    assert (again.status_code, again.json()["code"]) == (409, "record.already_delivered")


async def test_a_delivery_by_other_means_cannot_be_backdated_nor_recorded_by_its_sender(
    credit: Credit,
) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    sent_at = credit.clock.now
    path = f"/v1/records/{record['id']}/delivery"

    async def record_delivery(who: str, at: datetime) -> tuple[int, str | None]:
        body = {
            "channel": "post",
            "delivered_at": at.isoformat(),
            "evidence": "EMS1234567CN",
            "reason": "挂号信送达",
        }
        response = await credit.call("POST", path, who, json=body)
        return response.status_code, response.json().get("code")

    credit.clock.advance(days=2)
    # Who sent the notice does not record its service: the window would run from a date of
    # their choosing.
    by_sender = await record_delivery("manager", credit.clock.now)
    assert by_sender == (403, "record.delivery_by_sender")
    out_of_range = (422, "record.delivery_out_of_range")
    assert await record_delivery("credit_officer", sent_at - timedelta(hours=1)) == out_of_range
    assert (
        await record_delivery("credit_officer", credit.clock.now + timedelta(hours=1))
        == out_of_range
    )
    credit.clock.advance(days=5)
    # Seven days after the notice: a delivery six days ago is after the notice, but further
    # back than anyone may date one.
    six_days_ago = credit.clock.now - timedelta(days=6)
    assert await record_delivery("credit_officer", six_days_ago) == out_of_range
    four_days_ago = credit.clock.now - timedelta(days=4)
    assert await record_delivery("credit_officer", four_days_ago) == (200, None)


async def test_the_subject_is_told_of_the_decisions_on_their_objection_and_appeal(
    session: AsyncSession, credit: Credit
) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    await deliver(session, credit, delivered(record, credit.clock.now))
    await step(credit, record["id"], "objection", "applicant", statement="合作证明由合作方提供。")
    decided = await step(
        credit,
        record["id"],
        "objection/decision",
        "manager2",
        outcome="rejected",
        reason="证据充分",
    )
    assert decided.status_code == 200, decided.text
    [objection] = await published(session, "credit.objection_decided", record["id"])
    assert (objection["outcome"], objection["reason"]) == ("rejected", "证据充分")
    assert objection["gateway_user_id"] == credit.callers["applicant"].user_id
    assert datetime.fromisoformat(objection["appeal_deadline"]) == datetime.fromisoformat(
        decided.json()["appeal_deadline"]
    )

    await step(credit, record["id"], "appeal", "applicant", statement="请求复核，材料另附。")
    appeal = await step(
        credit, record["id"], "appeal/decision", "manager3", outcome="upheld", reason="复核成立"
    )
    assert appeal.status_code == 200, appeal.text
    [told] = await published(session, "credit.appeal_decided", record["id"])
    assert (told["outcome"], told["subject_id"]) == ("upheld", record["subject_id"])
