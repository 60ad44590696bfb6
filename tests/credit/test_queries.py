"""Who sees what: logged searches, the subject's own file, the public list; the catalog."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import QueryLog
from tests.credit.conftest import (
    OTHER_PROGRAM,
    PROGRAM,
    PURPOSE,
    Credit,
    confirmed,
    organization,
    person,
    propose,
    step,
)


async def test_searches_need_a_purpose_and_are_logged(
    credit: Credit, session: AsyncSession
) -> None:
    record = await confirmed(credit, "LOBBYING")
    params = {"rule_code": "LOBBYING", "handling_unit": "监督处"}
    without = await credit.call("GET", "/v1/records", "evaluator", params=params)
    assert without.status_code == 422
    found = await credit.call(
        "GET", "/v1/records", "evaluator", params=params | {"purpose": "2026年度项目执行评价"}
    )
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert [i["id"] for i in items] == [record["id"]]
    assert items[0]["subject_name"] == "王芳"
    entries = (await session.scalars(sa.select(QueryLog))).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor == credit.callers["evaluator"].user_id
    assert entry.purpose == "2026年度项目执行评价"
    assert entry.filters["rule_code"] == "LOBBYING"
    assert [str(i) for i in entry.record_ids] == [record["id"]]
    for who in ("applicant", "org_admin"):
        denied = await credit.call(
            "GET", "/v1/records", who, params=params | {"purpose": "想看看别人的记录"}
        )
        assert denied.status_code == 403


async def test_search_filters(credit: Credit) -> None:
    await confirmed(credit, "LATE_REPORT")
    await confirmed(credit, "LATE_REPORT", subject=organization(credit), capacity="organization")
    await propose(credit, "FALSE_MATERIALS")

    async def search(**params: str) -> list[str]:
        response = await credit.call(
            "GET",
            "/v1/records",
            "auditor",
            # Only this test's records: another test commits one of its own for real.
            params={"purpose": "专项审计抽查", "handling_unit": "监督处", **params},
        )
        assert response.status_code == 200, response.text
        return [item["rule_code"] + ":" + item["status"] for item in response.json()["items"]]

    assert sorted(await search(subject_kind="organization")) == ["LATE_REPORT:confirmed"]
    assert sorted(await search(status="proposed")) == ["FALSE_MATERIALS:proposed"]
    assert sorted(await search(tier="minor")) == ["LATE_REPORT:confirmed", "LATE_REPORT:confirmed"]
    assert await search(credit_code=organization(credit)["credit_code"]) == [
        "LATE_REPORT:confirmed"
    ]
    assert await search(name="王芳", tier="general") == ["FALSE_MATERIALS:proposed"]
    assert await search(effective_from="2030-01-01") == []


async def test_a_search_keeps_to_one_program(credit: Credit) -> None:
    """An evaluator engaged on a program reads the records of that program, one program at a
    time; the auditor here reads both."""
    ours = await confirmed(credit, "LATE_REPORT")
    theirs = await propose(
        credit, "DUPLICATE_APPLICATION", who="other_manager", program_id=OTHER_PROGRAM
    )

    async def search(program_id: UUID) -> list[str]:
        response = await credit.call(
            "GET",
            "/v1/records",
            "auditor",
            params={"purpose": "专项审计抽查", "program_id": str(program_id)},
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    of_ours, of_theirs = await search(PROGRAM), await search(OTHER_PROGRAM)
    assert (ours["id"] in of_ours, theirs["id"] in of_ours) == (True, False)
    assert (theirs["id"] in of_theirs, ours["id"] in of_theirs) == (True, False)


async def test_the_subject_sees_its_whole_file_but_not_what_is_not_yet_notified(
    credit: Credit,
) -> None:
    shown = await confirmed(credit, "LATE_REPORT")
    hidden = await propose(credit, "FALSE_MATERIALS")
    subject_id = shown["subject_id"]
    own = await credit.call("GET", f"/v1/subjects/{subject_id}/file", "applicant")
    assert own.status_code == 200
    body = own.json()
    assert [r["id"] for r in body["records"]] == [shown["id"]]
    assert body["records"][0]["transitions"][-1]["to_status"] == "confirmed"
    assert body["rating"]["score"] == 78
    staff = await credit.call("GET", f"/v1/subjects/{subject_id}/file", "manager", params=PURPOSE)
    assert {r["id"] for r in staff.json()["records"]} == {shown["id"], hidden["id"]}
    other = await credit.call("GET", f"/v1/subjects/{subject_id}/file", "stranger")
    assert other.status_code == 404
    assert (await credit.call("GET", f"/v1/records/{hidden['id']}", "applicant")).status_code == 404
    assert (await credit.call("GET", f"/v1/records/{shown['id']}", "applicant")).status_code == 200
    assert (await credit.call("GET", f"/v1/records/{shown['id']}", "stranger")).status_code == 404


async def test_the_public_sees_only_confirmed_severe_records_in_their_period(
    credit: Credit,
) -> None:
    severe = await confirmed(
        credit, "FUNDS_MISUSE", subject=organization(credit), capacity="organization"
    )
    await confirmed(credit, "LATE_REPORT")  # minor: never public
    pending = await propose(credit, "PLAGIARISM")  # not confirmed: not public
    appealed_away = await confirmed(credit, "APPLICATION_FRAUD")
    await step(
        credit, appealed_away["id"], "appeal", "applicant", statement="申报材料真实，请复核。"
    )
    await step(
        credit,
        appealed_away["id"],
        "appeal/decision",
        "manager3",
        outcome="upheld",
        reason="复核撤销",
    )
    public = await credit.client.get("/v1/public/records")  # no token at all
    assert public.status_code == 200
    items = public.json()["items"]
    assert [(i["rule_code"], i["subject_credit_code"]) for i in items] == [
        ("FUNDS_MISUSE", organization(credit)["credit_code"])
    ]
    assert "facts" not in items[0]
    assert "evidence" not in items[0]
    assert severe["restriction_until"] == items[0]["restriction_until"]
    assert pending["status"] == "proposed"
    # After the disclosure period and the ban (five years here), it leaves the list.
    credit.clock.advance(days=5 * 366)
    assert (await credit.client.get("/v1/public/records")).json()["items"] == []


async def test_national_ids_are_keyed_and_masked_never_kept(
    credit: Credit, session: AsyncSession
) -> None:
    ref = {"kind": "person", "name": "李强", "national_id": "11010519491231002X"}
    first = await credit.call("POST", "/v1/subjects", "manager", json=ref)
    assert first.status_code == 200, first.text
    assert first.json()["national_id_masked"] == "110***********002X"
    again = await credit.call("POST", "/v1/subjects", "manager", json=ref | {"name": "李 强"})
    assert again.json()["id"] == first.json()["id"]  # the same person, found by the keyed hash
    stored = (await session.execute(sa.text("SELECT * FROM credit.subjects"))).mappings().all()
    assert all("11010519491231002X" not in str(dict(row)) for row in stored)
    bad = await credit.call(
        "POST", "/v1/subjects", "manager", json=ref | {"national_id": "110105194912310021"}
    )
    assert bad.status_code == 422


async def test_subject_keys_must_agree(credit: Credit) -> None:
    by_user = await credit.call("POST", "/v1/subjects", "manager", json=person(credit))
    by_id = await credit.call(
        "POST",
        "/v1/subjects",
        "manager",
        json={"kind": "person", "name": "某人", "national_id": "11010519491231002X"},
    )
    both = await credit.call(
        "POST",
        "/v1/subjects",
        "manager",
        json=person(credit) | {"national_id": "11010519491231002X"},
    )
    assert by_user.json()["id"] != by_id.json()["id"]
    assert both.status_code == 422
    assert both.json()["code"] == "subject.invalid"


async def test_the_catalog_is_seeded_and_versioned(credit: Credit) -> None:
    catalog = (await credit.call("GET", "/v1/rules", "applicant", params={"limit": 200})).json()[
        "items"
    ]
    first = (await credit.call("GET", "/v1/rules", "applicant", params={"limit": 10})).json()
    assert [r["code"] for r in first["items"]] == sorted(r["code"] for r in catalog)[:10]
    second = await credit.call(
        "GET", "/v1/rules", "applicant", params={"cursor": first["next_cursor"]}
    )
    codes_in_order = sorted(r["code"] for r in catalog)
    assert second.json()["items"][0]["code"] == codes_in_order[10]
    # A filter the list does not have is refused, not ignored.
    unknown = await credit.call("GET", "/v1/rules", "applicant", params={"tier": "severe"})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "query.unknown_parameter"
    codes = {rule["code"] for rule in catalog}
    assert len(codes) >= 20
    for needed in (
        "FABRICATION",
        "PLAGIARISM",
        "APPLICATION_FRAUD",
        "FUNDS_MISUSE",
        "DUPLICATE_APPLICATION",
        "LATE_REPORT",
        "MISSING_REPORT",
        "FAILED_ACCEPTANCE",
        "LOBBYING",
        "EXPERT_UNDECLARED_CONFLICT",
        "EXPERT_LEAK",
        "VOUCHER_FRAUD",
        "EXCELLENT_ACCEPTANCE",
    ):
        assert needed in codes, needed
    assert {rule["tier"] for rule in catalog} == {
        "positive",
        "minor",
        "general",
        "serious",
        "severe",
        "especially_severe",
    }

    old = await confirmed(credit, "LATE_REPORT")
    current = next(rule for rule in catalog if rule["code"] == "LATE_REPORT")
    terms = {
        k: v for k, v in current.items() if k not in ("code", "version", "is_current", "created_at")
    }
    # The catalog is the credit officers' (a program manager does not rewrite the rules).
    refused = await credit.call(
        "PUT", "/v1/rules/LATE_REPORT", "manager", json=terms | {"score_effect": -3}
    )
    assert refused.status_code == 403
    revised = await credit.call(
        "PUT", "/v1/rules/LATE_REPORT", "credit_officer", json=terms | {"score_effect": -3}
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["version"] == 2
    versions = (await credit.call("GET", "/v1/rules/LATE_REPORT/versions", "manager")).json()[
        "items"
    ]
    assert [(v["version"], v["is_current"], v["score_effect"]) for v in versions] == [
        (1, False, -2),
        (2, True, -3),
    ]
    kept = (await credit.call("GET", f"/v1/records/{old['id']}", "manager", params=PURPOSE)).json()
    assert (kept["rule_version"], kept["score_effect"]) == (1, -2)  # never rewritten
    new = await propose(credit, "LATE_REPORT")
    assert (new["rule_version"], new["score_effect"]) == (2, -3)
    assert (
        await credit.call("PUT", "/v1/rules/LATE_REPORT", "evaluator", json=terms)
    ).status_code == 403
    nonsense = await credit.call(
        "POST",
        "/v1/rules",
        "credit_officer",
        json=terms | {"code": "NEW_RULE", "tier": "positive"},
    )
    assert nonsense.status_code == 422  # a positive rule must raise the score
