"""Who reads which grant money (issue 13, items 6 and 9): finance and audit all of it; a
program's managers and the evaluators engaged on it that program's; an evaluator engaged on a
project its grant; an organization its grants; a PI their own. Anyone else is told 404, and
lists hold only what the caller may read."""

from __future__ import annotations

from typing import Any

from tests.funds.grants.conftest import Grants

OUTSIDERS = ("manager2", "evaluator2")  # a manager of another program; an unengaged evaluator


async def _two_programs(grants: Grants) -> tuple[dict[str, Any], dict[str, Any]]:
    """A paid first tranche on a ZDYF grant (PI: `applicant`) and a ZDZX grant awaiting
    approval of its first payment order; ZDYF is `manager`'s, ZDZX `manager2`'s."""
    await grants.envelope(3_000_000)
    await grants.envelope(3_000_000, program_code="ZDZX")
    zdyf = await grants.contract(pi="applicant")
    zdzx = await grants.contract(program_code="ZDZX", org=2)
    await grants.approve(
        (await grants.grant(zdyf["project_id"]))["tranches"][0]["payment_order_id"]
    )
    await grants.funds.manages("manager", "ZDYF")
    await grants.funds.manages("manager2", "ZDZX")
    return zdyf, zdzx


def _grant_paths(grant: dict[str, Any]) -> list[str]:
    project = grant["project_id"]
    return [
        f"/v1/grants/{project}",
        f"/v1/grants/{project}/history",
        f"/v1/grants/{project}/expenditures",
    ]


def _money_paths(grant: dict[str, Any]) -> list[str]:
    """The grant's accounts, their statements, its payment orders and transfers."""
    funds, spent = grant["funds_account_id"], grant["spent_account_id"]
    order = grant["tranches"][0]["payment_order_id"]
    return [
        f"/v1/accounts/{funds}",
        f"/v1/accounts/{funds}/statement",
        f"/v1/accounts/{spent}",
        f"/v1/payment-orders/{order}",
        f"/v1/transfers/{order}",  # the order's hold
    ]


async def test_a_program_is_read_by_its_managers_and_its_evaluators_only(grants: Grants) -> None:
    zdyf, _ = await _two_programs(grants)
    grant = await grants.grant(zdyf["project_id"])
    paths = _grant_paths(zdyf) + _money_paths(grant)
    for who in ("finance", "auditor", "admin", "manager"):
        for path in paths:
            reply = await grants.call("GET", path, who)
            assert reply.status_code == 200, (who, path, reply.text)
    for who in OUTSIDERS:
        for path in paths:
            reply = await grants.call("GET", path, who)
            assert reply.status_code == 404, (who, path, reply.text)
            assert reply.json()["code"].endswith("not_found")
    # Engaged on the program, the evaluator reads all of it.
    await grants.funds.engaged("evaluator2", program_code="ZDYF")
    for path in paths:
        assert (await grants.call("GET", path, "evaluator2")).status_code == 200, path


async def test_lists_hold_only_what_the_caller_may_read(grants: Grants) -> None:
    zdyf, zdzx = await _two_programs(grants)

    async def listed(path: str, who: str, key: str = "id", **params: Any) -> set[str]:
        reply = await grants.call("GET", path, who, params=params)
        assert reply.status_code == 200, (path, who, reply.text)
        return {str(item[key]) for item in reply.json()["items"]}

    assert await listed("/v1/grants", "manager", "project_id") == {zdyf["project_id"]}
    assert await listed("/v1/grants", "manager2", "project_id") == {zdzx["project_id"]}
    assert await listed("/v1/grants", "evaluator2", "project_id") == set()
    everything = await listed("/v1/accounts", "auditor", "ledger")
    assert {"ZDYF-2026", "ZDZX-2026"} <= everything
    assert await listed("/v1/accounts", "manager", "ledger") == {"ZDYF-2026"}
    assert await listed("/v1/accounts", "manager2", "ledger") == {"ZDZX-2026"}
    assert await listed("/v1/accounts", "evaluator2", "ledger") == set()
    pending = {"status": "pending_approval"}
    theirs = await listed("/v1/payment-orders", "manager2", "ledger", **pending)
    assert theirs == {"ZDZX-2026"}
    assert await listed("/v1/payment-orders", "manager", "ledger", **pending) == set()
    assert await listed("/v1/payment-orders", "evaluator2", "ledger") == set()
    assert await listed("/v1/payment-orders", "finance", "ledger", **pending) == {"ZDZX-2026"}

    balance = await grants.call("GET", "/v1/reports/trial-balance", "manager")
    assert [entry["ledger"] for entry in balance.json()["ledgers"]] == ["ZDYF-2026"]
    assert (await grants.call("GET", "/v1/reports/trial-balance", "evaluator2")).json()[
        "ledgers"
    ] == []
    for who in ("manager", "evaluator2"):  # the whole ledger's check is audit's
        assert (await grants.call("GET", "/v1/reports/integrity", who)).status_code == 403

    envelope = {"program_code": "ZDZX", "year": 2026}
    seen = await grants.call("GET", "/v1/grants/envelopes", "manager2", params=envelope)
    assert seen.status_code == 200, seen.text
    for who in ("manager", "evaluator2"):
        hidden = await grants.call("GET", "/v1/grants/envelopes", who, params=envelope)
        assert (hidden.status_code, hidden.json()["code"]) == (404, "grant.envelope_not_found")


async def test_an_evaluator_engaged_on_a_project_reads_its_grant_only(grants: Grants) -> None:
    zdyf, zdzx = await _two_programs(grants)
    other = await grants.contract()
    await grants.funds.engaged("evaluator", project_id=zdyf["project_id"])
    grant = await grants.grant(zdyf["project_id"])
    for path in _grant_paths(zdyf) + _money_paths(grant):
        assert (await grants.call("GET", path, "evaluator")).status_code == 200, path
    for project in (other, zdzx):
        assert (
            await grants.call("GET", f"/v1/grants/{project['project_id']}", "evaluator")
        ).status_code == 404
    listed = await grants.call("GET", "/v1/grants", "evaluator")
    assert [g["project_id"] for g in listed.json()["items"]] == [zdyf["project_id"]]
    # A project is not its program: the program's fund and envelope stay closed.
    accounts = await grants.call("GET", "/v1/accounts", "evaluator")
    assert {a["code"] for a in accounts.json()["items"]} == {"project_funds", "project_spent"}


async def test_a_pi_reads_their_own_grant(grants: Grants) -> None:
    zdyf, zdzx = await _two_programs(grants)
    mine = await grants.call("GET", f"/v1/grants/{zdyf['project_id']}", "applicant")
    assert mine.status_code == 200, mine.text
    assert mine.json()["pi"]["id"] == grants.funds.callers["applicant"].subject
    assert mine.json()["released"] == 500_000
    listed = await grants.call("GET", "/v1/grants", "applicant")
    assert [g["project_id"] for g in listed.json()["items"]] == [zdyf["project_id"]]
    other = await grants.call("GET", f"/v1/grants/{zdzx['project_id']}", "applicant")
    assert (other.status_code, other.json()["code"]) == (404, "grant.not_found")
    # Reading is all: spending is the organization's.
    assert (
        await grants.spend(zdyf["project_id"], "business", 1, who="applicant")
    ).status_code == 403
