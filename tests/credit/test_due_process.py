"""Every transition of a credit record and the guard on each."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import events
from shared.clock import SHANGHAI
from tests.credit.conftest import (
    PROGRAM,
    Credit,
    confirmed,
    organization,
    person,
    propose,
    step,
)


async def test_the_whole_path_keeps_who_when_and_why(credit: Credit) -> None:
    record = await propose(credit, "FALSE_MATERIALS")
    assert record["status"] == "proposed"
    assert record["rule_version"] == 1
    assert record["score_effect"] == -10

    notified = await step(credit, record["id"], "notify", "manager", reason="依规告知当事人")
    assert notified.status_code == 200
    assert notified.json()["status"] == "notified"
    deadline = datetime.fromisoformat(notified.json()["objection_deadline"]).astimezone(SHANGHAI)
    assert deadline.strftime("%Y-%m-%d %H:%M") == "2026-03-16 23:59"  # 10 working days on

    credit.clock.advance(days=2)
    objected = await step(
        credit,
        record["id"],
        "objection",
        "applicant",
        statement="合作证明由合作方提供，本人不知情。",
    )
    assert objected.status_code == 200, objected.text
    assert objected.json()["status"] == "objected"

    decided = await step(
        credit,
        record["id"],
        "objection/decision",
        "manager2",
        outcome="rejected",
        reason="证据充分",
    )
    assert decided.json()["status"] == "confirmed"
    history = [
        (t["from_status"], t["to_status"], t["reason"]) for t in decided.json()["transitions"]
    ]
    assert history == [
        (None, "proposed", "record proposed"),
        ("proposed", "notified", "依规告知当事人"),
        ("notified", "objected", "合作证明由合作方提供，本人不知情。"),
        ("objected", "confirmed", "证据充分"),
    ]
    actors = [t["actor"] for t in decided.json()["transitions"]]
    manager, applicant = credit.callers["manager"].user_id, credit.callers["applicant"].user_id
    assert actors == [manager, manager, applicant, credit.callers["manager2"].user_id]
    # Every step names the rule, its version and the legal basis it was taken under.
    bases = {(t["rule_code"], t["rule_version"]) for t in decided.json()["transitions"]}
    assert bases == {("FALSE_MATERIALS", 1)}
    assert all("失信" in t["legal_basis"] for t in decided.json()["transitions"])


async def test_the_objection_window_skips_holidays_and_counts_swapped_weekends(
    credit: Credit,
) -> None:
    # A National Day week as the State Council might publish it: seven days off, two weekend
    # days worked instead (调休).
    settings = credit.app.state.settings
    credit.app.state.settings = settings.model_copy(
        update={
            "holidays": frozenset(date(2026, 10, d) for d in range(1, 8)),
            "working_weekends": frozenset({date(2026, 9, 27), date(2026, 10, 10)}),
        }
    )
    credit.clock.now = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)  # Tuesday, 10:00 in Shanghai
    record = await propose(credit, "FALSE_MATERIALS", effective_from=date(2026, 9, 29))
    notified = await step(credit, record["id"], "notify", "manager", reason="依规告知当事人")
    deadline = datetime.fromisoformat(notified.json()["objection_deadline"]).astimezone(SHANGHAI)
    # Sep 30, Oct 8, 9, 10 (a Saturday worked), 12-16, 19: ten working days.
    assert deadline.strftime("%Y-%m-%d %H:%M") == "2026-10-19 23:59"

    credit.app.state.settings = settings  # the plain weekday count, for comparison
    other = await propose(credit, "FALSE_MATERIALS", effective_from=date(2026, 9, 29))
    plain = await step(credit, other["id"], "notify", "manager", reason="依规告知当事人")
    plain_deadline = datetime.fromisoformat(plain.json()["objection_deadline"])
    assert plain_deadline.astimezone(SHANGHAI).date() == date(2026, 10, 13)


async def test_confirmation_waits_for_the_objection_window(credit: Credit) -> None:
    record = await propose(credit, "LATE_REPORT")
    early = await step(credit, record["id"], "confirm", "manager", reason="太早")
    assert early.status_code == 409
    assert early.json()["code"] == "record.invalid_transition"  # not even notified yet
    await step(credit, record["id"], "notify", "manager", reason="告知")
    credit.clock.advance(days=13)  # Monday + 13 days = Sunday of week 2: still inside the window
    inside = await step(credit, record["id"], "confirm", "manager", reason="仍在异议期")
    assert inside.status_code == 409
    assert inside.json()["code"] == "record.objection_window_open"
    credit.clock.advance(days=2)
    after = await step(credit, record["id"], "confirm", "manager", reason="异议期满")
    assert after.status_code == 200
    assert after.json()["status"] == "confirmed"


async def test_an_objection_after_the_window_is_refused(credit: Credit) -> None:
    record = await propose(credit, "LATE_REPORT")
    await step(credit, record["id"], "notify", "manager", reason="告知")
    credit.clock.advance(days=15)
    late = await step(
        credit, record["id"], "objection", "applicant", statement="我有异议，请复核。"
    )
    assert late.status_code == 409
    assert late.json()["code"] == "objection.window_closed"


async def test_only_the_subject_may_object(credit: Credit) -> None:
    mine = await propose(credit, "LATE_REPORT")
    await step(credit, mine["id"], "notify", "manager", reason="告知")
    other = await step(credit, mine["id"], "objection", "stranger", statement="我替他提出异议。")
    assert other.status_code == 404
    assert other.json()["code"] == "record.not_found"

    # For an organization, its administrator speaks; its researchers do not.
    unit = await propose(
        credit, "LATE_REPORT", subject=organization(credit), capacity="organization"
    )
    await step(credit, unit["id"], "notify", "manager", reason="告知")
    staff = await step(credit, unit["id"], "objection", "applicant", statement="单位有异议。")
    assert staff.status_code == 404
    admin = await step(
        credit, unit["id"], "objection", "org_admin", statement="单位有异议，附说明。"
    )
    assert admin.status_code == 200


async def test_an_upheld_objection_withdraws_and_a_revision_re_rates(credit: Credit) -> None:
    withdrawn = await propose(credit, "FALSE_MATERIALS")
    await step(credit, withdrawn["id"], "notify", "manager", reason="告知")
    await step(credit, withdrawn["id"], "objection", "applicant", statement="材料属实，附原件。")
    upheld = await step(
        credit,
        withdrawn["id"],
        "objection/decision",
        "manager2",
        outcome="upheld",
        reason="异议成立",
    )
    assert upheld.json()["status"] == "withdrawn"
    assert upheld.json()["withdrawn_at"] is not None

    revised = await propose(credit, "FALSE_MATERIALS")
    await step(credit, revised["id"], "notify", "manager", reason="告知")
    await step(credit, revised["id"], "objection", "applicant", statement="情节较轻，仅为迟交。")
    decided = await step(
        credit,
        revised["id"],
        "objection/decision",
        "manager2",
        outcome="revised",
        reason="部分采纳，改按迟交处理",
        revision={"rule_code": "LATE_REPORT", "facts": "项目报告迟交，已在限期内补正。"},
    )
    body = decided.json()
    assert body["status"] == "confirmed"
    assert (body["rule_code"], body["score_effect"]) == ("LATE_REPORT", -2)
    assert body["transitions"][-1]["details"]["before"]["rule"] == "FALSE_MATERIALS/v1"
    # The decision was taken under the rule it applied.
    assert body["transitions"][-1]["rule_code"] == "LATE_REPORT"
    assert body["transitions"][-2]["rule_code"] == "FALSE_MATERIALS"


async def test_an_appeal_is_reviewed_by_someone_else(credit: Credit) -> None:
    record = await confirmed(credit, "DUPLICATE_APPLICATION")
    appealed = await step(
        credit, record["id"], "appeal", "applicant", statement="两项目内容不同，不属重复。"
    )
    assert appealed.json()["status"] == "appealed"
    # manager made and confirmed it; manager2 approved its notice (a ban needs a second officer)
    for maker in ("manager", "manager2"):
        same = await step(
            credit, record["id"], "appeal/decision", maker, outcome="upheld", reason="自行复核"
        )
        assert same.status_code == 403
        assert same.json()["code"] == "appeal.same_reviewer"
    other = await step(
        credit,
        record["id"],
        "appeal/decision",
        "manager3",
        outcome="upheld",
        reason="复核认定不构成重复申报",
    )
    assert other.json()["status"] == "withdrawn"


async def test_a_rejected_appeal_returns_to_confirmed(credit: Credit) -> None:
    record = await confirmed(credit, "DUPLICATE_APPLICATION")
    await step(credit, record["id"], "appeal", "applicant", statement="请求复核该记录。")
    kept = await step(
        credit, record["id"], "appeal/decision", "manager3", outcome="rejected", reason="维持原决定"
    )
    assert kept.json()["status"] == "confirmed"


async def test_repair_needs_a_repairable_rule_the_minimum_period_and_evidence(
    credit: Credit,
) -> None:
    never = await confirmed(credit, "PLAGIARISM")
    evidence = [{"reference": "rectification.pdf"}]
    refused = await step(
        credit, never["id"], "repair", "manager", reason="已整改", evidence=evidence
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "record.not_repairable"

    record = await confirmed(credit, "FALSE_MATERIALS")  # repairable after 6 months
    early = await step(
        credit, record["id"], "repair", "manager", reason="已整改", evidence=evidence
    )
    assert early.status_code == 409
    assert early.json()["code"] == "record.repair_too_early"
    credit.clock.advance(days=200)
    without = await step(credit, record["id"], "repair", "manager", reason="已整改", evidence=[])
    assert without.status_code == 422
    repaired = await step(
        credit, record["id"], "repair", "manager", reason="已整改", evidence=evidence
    )
    assert repaired.status_code == 200
    assert repaired.json()["status"] == "repaired"


async def test_withdrawal_only_before_confirmation(credit: Credit) -> None:
    record = await propose(credit, "LATE_REPORT")
    assert (await step(credit, record["id"], "withdraw", "manager", reason="录入错误")).json()[
        "status"
    ] == "withdrawn"
    done = await confirmed(credit, "LATE_REPORT")
    late = await step(credit, done["id"], "withdraw", "manager", reason="想撤回")
    assert late.status_code == 409


async def test_writers_and_deciders_are_the_credit_roles(credit: Credit) -> None:
    body = {
        "subject": person(credit),
        "capacity": "researcher",
        "rule_code": "LATE_REPORT",
        "facts": "报告迟交三十日。",
        "handling_unit": "省科技厅",
        "effective_from": "2026-03-02",
    }
    for who in ("applicant", "evaluator", "org_admin"):
        assert (await credit.call("POST", "/v1/records", who, json=body)).status_code == 403
    assert (await credit.call("POST", "/v1/records", None, json=body)).status_code == 401
    assert (await credit.call("POST", "/v1/records", "auditor", json=body)).status_code == 201
    record = await propose(credit, "LATE_REPORT")
    auditor_notify = await step(credit, record["id"], "notify", "auditor", reason="告知")
    assert auditor_notify.status_code == 403


async def test_bad_references_are_clear(credit: Credit) -> None:
    base: dict[str, Any] = {
        "program_id": str(PROGRAM),
        "facts": "某项事实描述。",
        "handling_unit": "省科技厅",
        "effective_from": "2026-03-02",
        "capacity": "researcher",
    }
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"subject": person(credit), "rule_code": "NO_SUCH_RULE"}, 404, "rule.not_found"),
        (
            {"subject_id": "01a21563-37cb-7c43-a861-04452fb41338", "rule_code": "LATE_REPORT"},
            404,
            "subject.not_found",
        ),
        (
            {
                "subject": organization(credit),
                "capacity": "organization",
                "rule_code": "EXPERT_LEAK",
            },
            422,
            "record.rule_not_applicable",
        ),
        (
            {"subject": person(credit), "capacity": "organization", "rule_code": "LATE_REPORT"},
            422,
            "record.rule_not_applicable",  # a person cannot be recorded as an organization
        ),
    ]
    for body, status, code in cases:
        response = await credit.call("POST", "/v1/records", "manager", json=base | body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    missing = await credit.call(
        "POST",
        "/v1/records/01a21563-37cb-7c43-a861-04452fb41338/notify",
        "manager",
        json={"reason": "告知"},
    )
    assert missing.status_code == 404


async def test_confirmation_that_changes_the_level_publishes_an_event(
    credit: Credit, session: AsyncSession
) -> None:
    await confirmed(credit, "LATE_REPORT")  # 80 -> 78: still B, no event
    record = await confirmed(credit, "DUPLICATE_APPLICATION")  # a ban: D
    payloads = (
        await session.scalars(
            sa.select(events.outbox.c.payload).where(
                events.outbox.c.event_type == "credit.rating_changed"
            )
        )
    ).all()
    assert len(payloads) == 1
    assert payloads[0]["previous_level"] == "B"
    assert payloads[0]["level"] == "D"
    assert payloads[0]["restrictions"] == ["apply"]
    assert payloads[0]["gateway_user_id"] == credit.callers["applicant"].user_id
    assert record["status"] == "confirmed"
