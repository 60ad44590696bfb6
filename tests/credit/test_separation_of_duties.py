"""Due process a subject cannot subvert, and that one officer alone cannot bend: nobody acts in
their own affair, officers act within their programs, objections and appeals are decided by
someone else, and a ban or public listing needs a second officer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.credit.conftest import (
    OTHER_PROGRAM,
    PURPOSE,
    Credit,
    notified,
    organization,
    person,
    propose,
    step,
)


async def test_the_subject_cannot_withdraw_or_decide_a_record_about_himself(
    credit: Credit,
) -> None:
    """A program manager is recorded himself: he may object like anyone, but not withdraw the
    record or decide his own objection."""
    about_him = person(credit, "manager3", name="孙经理")
    record = await notified(credit, "FALSE_MATERIALS", subject=about_him)
    withdrawn = await step(credit, record["id"], "withdraw", "manager3", reason="录入错误")
    assert withdrawn.status_code == 403
    assert withdrawn.json()["code"] == "record.own_affair"

    objected = await step(
        credit, record["id"], "objection", "manager3", statement="本人对此记录有异议。"
    )
    assert objected.status_code == 200, objected.text
    upheld = await step(
        credit, record["id"], "objection/decision", "manager3", outcome="upheld", reason="成立"
    )
    assert upheld.status_code == 403
    assert upheld.json()["code"] == "record.own_affair"
    # Someone else decides it.
    decided = await step(
        credit, record["id"], "objection/decision", "manager2", outcome="rejected", reason="属实"
    )
    assert decided.json()["status"] == "confirmed"


async def test_nobody_acts_on_a_record_about_their_own_organization(credit: Credit) -> None:
    unit_record = await propose(
        credit, "LATE_REPORT", subject=organization(credit), capacity="organization"
    )
    # ...nor on a record of one of its researchers that names the organization as their unit
    researcher_record = await propose(credit, "LATE_REPORT", unit=organization(credit))
    for record in (unit_record, researcher_record):
        refused = await step(credit, record["id"], "notify", "org_manager", reason="依规告知")
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "record.own_affair"
        assert (await step(credit, record["id"], "notify", "manager", reason="依规告知")).is_success
    proposing = await credit.call(
        "POST",
        "/v1/records",
        "org_manager",
        json={
            "subject": organization(credit),
            "program_id": unit_record["program_id"],
            "capacity": "organization",
            "rule_code": "LATE_REPORT",
            "facts": "单位年度报告迟交三十日。",
            "handling_unit": "省科技厅",
            "effective_from": "2026-03-02",
        },
    )
    assert proposing.status_code == 403
    assert proposing.json()["code"] == "record.own_affair"


async def test_the_makers_of_a_record_do_not_decide_the_objection(credit: Credit) -> None:
    record = await notified(credit, "FALSE_MATERIALS")  # made and notified by `manager`
    await step(credit, record["id"], "objection", "applicant", statement="材料属实，附原件。")
    own = await step(
        credit, record["id"], "objection/decision", "manager", outcome="rejected", reason="维持"
    )
    assert own.status_code == 403
    assert own.json()["code"] == "record.same_officer"
    other = await step(
        credit,
        record["id"],
        "objection/decision",
        "credit_officer",
        outcome="rejected",
        reason="维持",
    )
    assert other.status_code == 200, other.text


async def test_a_manager_of_another_program_cannot_act_on_the_record(credit: Credit) -> None:
    record = await notified(credit, "FALSE_MATERIALS")
    # Not even its existence is theirs to learn.
    hidden = await step(credit, record["id"], "withdraw", "other_manager", reason="撤回")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "record.not_found"
    # Once the subject is in their program too, they may read the record but still not act.
    await propose(credit, "LATE_REPORT", who="other_manager", program_id=OTHER_PROGRAM)
    seen = await credit.call("GET", f"/v1/records/{record['id']}", "other_manager", params=PURPOSE)
    assert seen.status_code == 200, seen.text
    refused = await step(credit, record["id"], "withdraw", "other_manager", reason="撤回")
    assert refused.status_code == 403
    assert refused.json()["code"] == "record.outside_your_programs"
    assert (
        await credit.call("GET", f"/v1/records/{record['id']}", "manager", params=PURPOSE)
    ).json()["status"] == "notified"


async def test_a_manager_proposes_only_in_a_program_they_manage(credit: Credit) -> None:
    body: dict[str, Any] = {
        "subject": person(credit),
        "capacity": "researcher",
        "rule_code": "LATE_REPORT",
        "facts": "报告迟交三十日。",
        "handling_unit": "省科技厅",
        "effective_from": "2026-03-02",
    }
    for program in (None, str(OTHER_PROGRAM)):
        refused = await credit.call(
            "POST", "/v1/records", "manager", json=body | {"program_id": program}
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "record.outside_your_programs"
    # A record of no program is for the credit officers; a manager cannot touch it.
    general = await credit.call("POST", "/v1/records", "credit_officer", json=body)
    assert general.status_code == 201, general.text
    assert general.json()["program_id"] is None
    record_id = general.json()["id"]
    assert (await step(credit, record_id, "notify", "manager", reason="告知")).status_code == 404
    assert (await step(credit, record_id, "notify", "credit_officer", reason="告知")).is_success


@pytest.mark.parametrize("rule_code", ["FABRICATION", "DUPLICATE_APPLICATION"])
async def test_a_ban_or_a_listing_needs_a_second_officer(credit: Credit, rule_code: str) -> None:
    """FABRICATION bans for five years and is listed publicly; DUPLICATE_APPLICATION bans for
    one: neither takes effect on the word of one officer."""
    record = await propose(credit, rule_code)
    asked = await step(credit, record["id"], "notify", "manager", reason="依规告知")
    assert asked.json()["status"] == "awaiting_approval"
    assert asked.json()["objection_deadline"] is None  # nothing is sent yet
    for maker in ("manager",):
        alone = await step(
            credit, record["id"], "notice/approval", maker, decision="approve", reason="同意"
        )
        assert alone.status_code == 403
        assert alone.json()["code"] == "record.same_officer"
    too_early = await step(credit, record["id"], "confirm", "manager", reason="确认")
    assert too_early.status_code == 409
    # The second officer may send it back ...
    returned = await step(
        credit, record["id"], "notice/approval", "manager2", decision="return", reason="补充证据"
    )
    assert returned.json()["status"] == "proposed"
    # ... and, asked again, approve it: the notice goes out with its objection window.
    await step(credit, record["id"], "notify", "manager", reason="证据已补充，依规告知")
    approved = await step(
        credit, record["id"], "notice/approval", "manager2", decision="approve", reason="同意告知"
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "notified"
    assert body["objection_deadline"] is not None
    moves = [(t["to_status"], t["actor"]) for t in body["transitions"]]
    manager, manager2 = credit.callers["manager"].user_id, credit.callers["manager2"].user_id
    assert moves == [
        ("proposed", manager),
        ("awaiting_approval", manager),
        ("proposed", manager2),
        ("awaiting_approval", manager),
        ("notified", manager2),
    ]


async def test_a_minor_record_is_notified_by_one_officer(credit: Credit) -> None:
    record = await propose(credit, "LATE_REPORT")
    sent = await step(credit, record["id"], "notify", "manager", reason="依规告知")
    assert sent.json()["status"] == "notified"
