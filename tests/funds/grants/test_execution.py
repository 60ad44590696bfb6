"""Budget execution (预算执行率) per project and per program and year, reallocations, and who
may read which grant."""

from __future__ import annotations

from typing import Any

from tests.funds.grants.conftest import Grants


async def _paid_signing(grants: Grants, **contract: Any) -> str:
    payload = await grants.contract(**contract)
    project_id: str = payload["project_id"]
    await grants.approve((await grants.grant(project_id))["tranches"][0]["payment_order_id"])
    return project_id


async def test_execution_rates_are_exact_per_project_and_per_program(grants: Grants) -> None:
    await grants.envelope(3_000_000)
    await grants.envelope(1_000_000, program_code="ZDZX")
    await grants.envelope(1_000_000, year=2027)
    first = await _paid_signing(grants)
    second = await _paid_signing(grants)
    await grants.contract(program_code="ZDZX")  # nothing paid yet
    await _paid_signing(grants, year=2027)
    assert (await grants.spend(first, "equipment", 300_000)).status_code == 201
    assert (await grants.spend(second, "business", 33_333)).status_code == 201

    assert (await grants.grant(second))["execution"] == {
        "of_released": "0.0667",  # 33,333 / 500,000 = 0.066666
        "of_budget": "0.0333",  # 33,333 / 1,000,000
    }
    response = await grants.call("GET", "/v1/grants/execution", "auditor", params={"year": 2026})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    assert response.json()["items"] == [
        {
            "program_code": "ZDYF",
            "year": 2026,
            "grants": 2,
            "budget": 2_000_000,
            "released": 1_000_000,
            "spent": 333_333,
            "execution": {"of_released": "0.3333", "of_budget": "0.1667"},
        },
        {
            "program_code": "ZDZX",
            "year": 2026,
            "grants": 1,
            "budget": 1_000_000,
            "released": 0,
            "spent": 0,
            "execution": {"of_released": None, "of_budget": "0.0000"},
        },
    ]
    await grants.funds.manages("manager", "ZDYF")
    one = await grants.call(
        "GET", "/v1/grants/execution", "manager", params={"program_code": "ZDYF"}
    )
    assert [(r["year"], r["grants"]) for r in one.json()["items"]] == [(2026, 2), (2027, 1)]
    # Program figures are for those who run or evaluate the program.
    theirs = await grants.call("GET", "/v1/grants/execution", "manager")
    assert {r["program_code"] for r in theirs.json()["items"]} == {"ZDYF"}
    await grants.funds.engaged("evaluator", program_code="ZDZX")
    engaged = await grants.call("GET", "/v1/grants/execution", "evaluator")
    assert [(r["program_code"], r["grants"]) for r in engaged.json()["items"]] == [("ZDZX", 1)]
    for outsider in ("manager2", "evaluator2"):
        nothing = await grants.call("GET", "/v1/grants/execution", outsider)
        assert nothing.json()["items"] == [], outsider
    paged = await grants.call("GET", "/v1/grants/execution", "auditor", params={"limit": 1})
    assert len(paged.json()["items"]) == 1
    rest = await grants.call(
        "GET", "/v1/grants/execution", "auditor", params={"cursor": paged.json()["next_cursor"]}
    )
    assert len(rest.json()["items"]) == 2
    assert (await grants.call("GET", "/v1/grants/execution", "org_admin")).status_code == 403
    ignored = await grants.call("GET", "/v1/grants/execution", "auditor", params={"program": "X"})
    assert (ignored.status_code, ignored.json()["code"]) == (422, "query.unknown_parameter")


async def test_a_budget_reallocation_replaces_the_categories_and_keeps_the_old(
    grants: Grants,
) -> None:
    await grants.envelope(2_000_000)
    project_id = await _paid_signing(grants)
    assert (await grants.spend(project_id, "business", 450_000)).status_code == 409
    old = (await grants.grant(project_id))["budget"]
    new = {"equipment": 100_000, "business": 600_000, "labour": 200_000, "indirect": 100_000}

    await grants.deliver(
        "project.changed",
        {
            "project_id": project_id,
            "project_number": "2026-ZDYF-0001",
            "change_id": "0193a0c0-0000-7000-8000-000000000042",
            "kind": "budget_reallocation",
            "details": {"old_budget": old, "budget": new},
        },
    )
    # A reallocation that changes the total is not applied (and recorded as skipped).
    await grants.deliver(
        "project.changed",
        {
            "project_id": project_id,
            "project_number": "2026-ZDYF-0001",
            "change_id": "0193a0c0-0000-7000-8000-000000000043",
            "kind": "budget_reallocation",
            "details": {"old_budget": new, "budget": {**new, "labour": 999_999}},
        },
    )

    grant = await grants.grant(project_id)
    assert (grant["budget"], grant["approved_budget_fen"]) == (new, 1_000_000)
    assert (await grants.spend(project_id, "business", 450_000)).status_code == 201
    over = await grants.spend(project_id, "equipment", 100_001)
    assert (over.status_code, over.json()["budget_fen"]) == (409, 100_000)
    history = await grants.call("GET", f"/v1/grants/{project_id}/history", "auditor")
    changes = [h for h in history.json()["items"] if h["action"] == "change.budget_reallocation"]
    assert len(changes) == 1
    assert (changes[0]["details"]["old_budget"], changes[0]["details"]["budget"]) == (old, new)
    assert changes[0]["actor"] == "event:project.changed"


async def test_an_organization_reads_only_its_own_grants(grants: Grants) -> None:
    await grants.envelope(3_000_000)
    mine = (await grants.contract(org=1))["project_id"]
    theirs = (await grants.contract(org=2))["project_id"]

    own = await grants.call("GET", "/v1/grants", "org_admin")
    assert [g["project_id"] for g in own.json()["items"]] == [mine]
    asked_for_other = await grants.call(
        "GET", "/v1/grants", "org_admin", params={"org_id": str(grants.orgs[2])}
    )
    assert asked_for_other.json()["items"] == []
    hidden = await grants.call("GET", f"/v1/grants/{theirs}", "org_admin")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "grant.not_found")
    assert (
        await grants.call("GET", f"/v1/grants/{theirs}/history", "org_admin")
    ).status_code == 404
    # A researcher lists the grants they lead: none here.
    assert (await grants.call("GET", "/v1/grants", "applicant")).json()["items"] == []

    everyone = await grants.call(
        "GET", "/v1/grants", "auditor", params={"program_code": "ZDYF", "year": 2026, "limit": 1}
    )
    assert len(everyone.json()["items"]) == 1
    rest = await grants.call(
        "GET", "/v1/grants", "auditor", params={"cursor": everyone.json()["next_cursor"]}
    )
    seen = {everyone.json()["items"][0]["project_id"], rest.json()["items"][0]["project_id"]}
    assert seen == {mine, theirs}
    frozen = await grants.call("GET", "/v1/grants", "finance", params={"status": "frozen"})
    assert frozen.json()["items"] == []


async def test_extensions_and_new_pis_follow_the_project(grants: Grants) -> None:
    await grants.envelope(1_000_000)
    payload = await grants.contract()
    project_id = payload["project_id"]
    common = {"project_id": project_id, "project_number": payload["project_number"]}
    new_pi = "0193a0c0-0000-7000-8000-0000000000aa"

    await grants.deliver(
        "project.changed",
        {
            **common,
            "change_id": "0193a0c0-0000-7000-8000-000000000044",
            "kind": "extension",
            "details": {"old_ends_on": "2028-03-31", "new_ends_on": "2028-12-31"},
        },
    )
    await grants.deliver(
        "project.changed",
        {
            **common,
            "change_id": "0193a0c0-0000-7000-8000-000000000045",
            "kind": "pi_change",
            "details": {"new_pi_id": new_pi, "new_pi_name": "王芳"},
        },
    )

    grant = await grants.grant(project_id)
    assert (grant["ends_on"], grant["pi"]) == (
        "2028-12-31",
        {"id": new_pi, "name": "王芳", "credit_code": None},
    )
