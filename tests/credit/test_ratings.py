"""Ratings: score and level, bans force D, reasons, as-of across expiry and repair, eligibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import events
from services.credit.rating.sweep import sweep_once
from shared.ids import uuid7
from tests.credit.conftest import (
    PURPOSE,
    START,
    Credit,
    confirmed,
    organization,
    person,
    step,
)


async def _subject_id(credit: Credit, who: str = "applicant") -> str:
    response = await credit.call("POST", "/v1/subjects", "manager", json=person(credit, who))
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _rating(
    credit: Credit, subject_id: str, as_of: datetime | None = None, who: str = "credit_officer"
) -> dict[str, Any]:
    params = PURPOSE | ({"as_of": as_of.isoformat()} if as_of else {})
    response = await credit.call("GET", f"/v1/subjects/{subject_id}/rating", who, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_subject_without_records_is_neutral(credit: Credit) -> None:
    rating = await _rating(credit, await _subject_id(credit))
    assert (rating["score"], rating["level"]) == (80, "B")
    assert rating["reasons"] == []
    assert rating["restrictions"] == []
    assert rating["next_change"] is None
    assert rating["model_version"]


async def test_a_ban_forces_level_d_whatever_the_score(credit: Credit) -> None:
    subject_id = await _subject_id(credit)
    await confirmed(credit, "SCIENCE_AWARD")  # +5
    await confirmed(credit, "EXCELLENT_ACCEPTANCE")  # +5: score 90 would be A
    record = await confirmed(credit, "DUPLICATE_APPLICATION")  # -8 and a one-year ban
    rating = await _rating(credit, subject_id)
    assert rating["score"] == 82
    assert rating["level"] == "D"
    assert rating["restrictions"] == [
        {
            "kind": "apply",
            "until": "2027-03-02",
            "rule_code": "DUPLICATE_APPLICATION",
            "record_id": record["id"],
        }
    ]


async def test_reasons_name_the_heaviest_records_bad_before_good(credit: Credit) -> None:
    subject_id = await _subject_id(credit)
    rules = ["SCIENCE_AWARD", "LATE_REPORT", "FALSE_MATERIALS", "FUNDS_IRREGULAR"]
    for rule in [*rules, "EXCELLENT_ACCEPTANCE"]:
        await confirmed(credit, rule)
    rating = await _rating(credit, subject_id)
    assert rating["score"] == 80 + 5 - 2 - 10 - 10 + 5
    assert rating["level"] == "C"
    assert [(r["rule_code"], r["contribution"]) for r in rating["reasons"]] == [
        ("FALSE_MATERIALS", -10),
        ("FUNDS_IRREGULAR", -10),
        ("LATE_REPORT", -2),
        ("SCIENCE_AWARD", 5),  # four at most: the other +5 is left out
    ]


async def test_as_of_follows_confirmation_expiry_and_repair(credit: Credit) -> None:
    subject_id = await _subject_id(credit)
    record = await confirmed(
        credit, "TERMINATED_AT_FAULT"
    )  # -15, ban 3 years, repair after 24 months
    confirmed_at = datetime.fromisoformat(record["confirmed_at"])
    before = await _rating(credit, subject_id, as_of=confirmed_at - timedelta(seconds=1))
    assert (before["score"], before["level"]) == (80, "B")  # proposed and notified do not count
    after = await _rating(credit, subject_id, as_of=confirmed_at)
    assert (after["score"], after["level"]) == (65, "D")
    assert after["reasons"][0]["rule_code"] == "TERMINATED_AT_FAULT"
    assert after["next_change"] == "2029-03-02"  # the ban and the validity both end then

    # Repair after two years restores the score, but a score never shortens a ban.
    credit.clock.now = datetime(2028, 3, 10, 2, 0, tzinfo=UTC)
    repaired = await step(
        credit,
        record["id"],
        "repair",
        "manager",
        reason="已整改到位",
        evidence=[{"reference": "整改报告.pdf"}],
    )
    assert repaired.status_code == 200, repaired.text
    now = await _rating(credit, subject_id)
    assert now["score"] == 80
    assert now["level"] == "D"
    assert [r["until"] for r in now["restrictions"]] == ["2029-03-02"]
    # The past is unchanged by the repair: decisions made then used the rating of then.
    then = await _rating(credit, subject_id, as_of=datetime(2027, 1, 1, tzinfo=UTC))
    assert then["score"] == 65
    # When the ban runs out the subject is back to neutral.
    later = await _rating(credit, subject_id, as_of=datetime(2029, 3, 2, 1, 0, tzinfo=UTC))
    assert (later["score"], later["level"], later["restrictions"]) == (80, "B", [])


async def test_a_record_stops_counting_when_its_validity_ends(credit: Credit) -> None:
    subject_id = await _subject_id(credit)
    await confirmed(credit, "LATE_REPORT")  # valid 12 months from 2026-03-02
    inside = await _rating(credit, subject_id, as_of=datetime(2027, 3, 1, 15, 59, tzinfo=UTC))
    assert inside["score"] == 78
    assert inside["next_change"] == "2027-03-02"
    expired = await _rating(credit, subject_id, as_of=datetime(2027, 3, 1, 16, 0, tzinfo=UTC))
    assert expired["score"] == 80  # midnight in Shanghai: the record has run out


async def test_as_of_must_carry_a_timezone(credit: Credit) -> None:
    subject_id = await _subject_id(credit)
    response = await credit.call(
        "GET",
        f"/v1/subjects/{subject_id}/rating",
        "manager",
        params={"as_of": "2026-03-02T10:00:00"},
    )
    assert response.status_code == 422


async def test_eligibility_for_other_services(credit: Credit) -> None:
    user_id = credit.callers["applicant"].user_id
    await confirmed(credit, "DUPLICATE_APPLICATION")  # apply ban until 2027-03-02

    async def check(action: str, **params: str) -> dict[str, Any]:
        response = await credit.call(
            "GET",
            "/v1/eligibility",
            "service",
            params={"action": action, "gateway_user_id": user_id, **params},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    apply = await check("apply")
    assert apply["eligible"] is False
    assert apply["reasons"] == [
        {
            "code": "credit.restricted.apply",
            "rule_code": "DUPLICATE_APPLICATION",
            "until": "2027-03-02",
        }
    ]
    review = await check("review")
    assert review["eligible"] is False
    assert review["reasons"] == [{"code": "credit.level_d", "rule_code": None, "until": None}]
    earlier = await check("apply", at=(START - timedelta(days=1)).isoformat())
    assert earlier["eligible"] is True  # as it stood at the time of an earlier application
    nobody = await credit.call(
        "GET",
        "/v1/eligibility",
        "service",
        params={"action": "voucher", "credit_code": organization(credit)["credit_code"]},
    )
    assert nobody.json()["eligible"] is True  # never named: neutral
    assert nobody.json()["subject_id"] is None
    anonymous = await credit.call(
        "GET", "/v1/eligibility", None, params={"action": "apply", "gateway_user_id": user_id}
    )
    assert anonymous.status_code == 401
    applicant = await credit.call(
        "GET",
        "/v1/eligibility",
        "applicant",
        params={"action": "apply", "gateway_user_id": user_id},
    )
    assert applicant.status_code == 403


async def test_eligibility_takes_exactly_one_subject_key(credit: Credit) -> None:
    user_id = credit.callers["applicant"].user_id
    await confirmed(credit, "DUPLICATE_APPLICATION")
    subject_id = await _subject_id(credit, "applicant")

    async def ask(**params: str) -> Any:
        return await credit.call(
            "GET", "/v1/eligibility", "service", params={"action": "apply", **params}
        )

    by_id = await ask(subject_id=subject_id)
    by_user = await ask(gateway_user_id=user_id)
    assert by_id.status_code == by_user.status_code == 200
    assert by_id.json() == by_user.json()
    assert by_id.json()["subject_id"] == subject_id
    assert by_id.json()["eligible"] is False
    unknown = await ask(subject_id="01a21563-37cb-7c43-a861-04452fb41338")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "subject.not_found"
    for params in ({}, {"subject_id": subject_id, "gateway_user_id": user_id}):
        refused = await ask(**params)
        assert refused.status_code == 422
        assert refused.json()["code"] == "subject.invalid"


async def test_bulk_ratings(credit: Credit) -> None:
    first = await _subject_id(credit, "applicant")
    second = await _subject_id(credit, "stranger")
    await confirmed(credit, "LATE_REPORT")
    unknown = "01a21563-37cb-7c43-a861-04452fb41338"
    response = await credit.call(
        "POST",
        "/v1/ratings/bulk",
        "service",
        json={"subject_ids": [first, second, unknown, first]},
    )
    assert response.status_code == 200
    body = response.json()
    assert {r["subject_id"]: r["score"] for r in body["ratings"]} == {first: 78, second: 80}
    assert body["unknown"] == [unknown]
    too_many = await credit.call(
        "POST", "/v1/ratings/bulk", "service", json={"subject_ids": [unknown] * 1001}
    )
    assert too_many.status_code == 422


async def test_the_subject_sees_its_own_rating_and_nobody_else_does(credit: Credit) -> None:
    subject_id = await _subject_id(credit)
    assert (await _rating(credit, subject_id, who="applicant"))["level"] == "B"
    other = await credit.call("GET", f"/v1/subjects/{subject_id}/rating", "stranger")
    assert other.status_code == 404
    assert other.json()["code"] == "subject.not_found"
    missing = await credit.call(
        "GET", "/v1/subjects/01a21563-37cb-7c43-a861-04452fb41338/rating", "manager"
    )
    assert missing.status_code == 404


def test_add_months_keeps_the_day_or_takes_the_last() -> None:
    from services.credit.records.calendar import add_months

    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 3, 2), 36) == date(2029, 3, 2)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


async def test_the_sweep_announces_a_level_that_changes_by_itself(
    credit: Credit, session: AsyncSession
) -> None:
    await confirmed(credit, "DUPLICATE_APPLICATION")  # D until the ban ends on 2027-03-02

    async def changes() -> list[tuple[str, str]]:
        payloads = (
            await session.scalars(
                sa.select(events.outbox.c.payload)
                .where(events.outbox.c.event_type == "credit.rating_changed")
                .order_by(events.outbox.c.id)  # as published
            )
        ).all()
        return [(p["previous_level"], p["level"]) for p in payloads]

    assert await changes() == [("B", "D")]
    credit.clock.now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)  # the ban's last day
    assert await sweep_once(credit.app) == 0
    credit.clock.now = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # the ban is over
    assert await sweep_once(credit.app) >= 1  # (another test's committed subject may be due too)
    assert await changes() == [("B", "D"), ("D", "C")]  # 72 after the -8 without the ban
    assert await sweep_once(credit.app) == 0  # announced once


async def test_bulk_eligibility_answers_for_many_people_and_units_at_once(credit: Credit) -> None:
    await confirmed(credit, "DUPLICATE_APPLICATION")  # bans the applicant from applying
    banned = credit.callers["applicant"].user_id
    unknown = str(uuid7())
    org = credit.callers["org"].org_id
    reply = await credit.call(
        "POST",
        "/v1/eligibility/bulk",
        "service",
        json={"action": "apply", "gateway_user_ids": [banned, unknown], "gateway_org_ids": [org]},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["users"][banned]["eligible"] is False
    assert body["users"][banned]["reasons"][0]["rule_code"] == "DUPLICATE_APPLICATION"
    assert body["users"][unknown] | {"at": None} == {
        "action": "apply",
        "at": None,
        "subject_id": None,
        "eligible": True,
        "level": "B",
        "score": 80,
        "reasons": [],
        "model_version": body["users"][unknown]["model_version"],
    }
    assert body["organizations"][org]["eligible"] is True
    earlier = await credit.call(
        "POST",
        "/v1/eligibility/bulk",
        "service",
        json={
            "action": "apply",
            "at": (START - timedelta(days=1)).isoformat(),
            "gateway_user_ids": [banned],
        },
    )
    assert earlier.json()["users"][banned]["eligible"] is True  # as it stood then

    too_many = await credit.call(
        "POST",
        "/v1/eligibility/bulk",
        "service",
        json={"action": "review", "gateway_user_ids": [str(uuid7()) for _ in range(1001)]},
    )
    assert too_many.status_code == 422
    none = await credit.call("POST", "/v1/eligibility/bulk", "service", json={"action": "review"})
    assert none.status_code == 422
    forbidden = await credit.call(
        "POST",
        "/v1/eligibility/bulk",
        "applicant",
        json={"action": "apply", "gateway_user_ids": [unknown]},
    )
    assert forbidden.status_code == 403
