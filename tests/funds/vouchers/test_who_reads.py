"""Who reads and acts on which voucher scheme (issue 13, item 6): a scheme names the program
that runs it; that program's managers admit and suspend providers and read the scheme's
vouchers and orders, evaluators engaged on it read them; a manager of another program and an
unengaged evaluator get 404 and empty lists, finance and audit read everything."""

from __future__ import annotations

from typing import Any

from tests.funds.vouchers.conftest import World, program_body, ready

OUTSIDERS = ("manager2", "evaluator2")  # manager of ZDZX (runs no scheme); engaged on nothing


def _paths(voucher: dict[str, Any], order: dict[str, Any], provider: dict[str, Any]) -> list[str]:
    return [
        f"/v1/vouchers/{voucher['id']}",
        f"/v1/voucher-orders/{order['id']}",
        f"/v1/voucher-orders/{order['id']}/history",
        f"/v1/voucher-enterprises/{voucher['enterprise_id']}",
        f"/v1/voucher-providers/{provider['id']}",
        f"/v1/accounts/{voucher['account_id']}",
        f"/v1/accounts/{voucher['account_id']}/statement",
    ]


async def test_a_scheme_is_read_by_its_programs_people_only(world: World) -> None:
    _, provider, _, voucher = await ready(world)
    order = (await world.order(voucher, provider, "enterprise")).json()
    paths = _paths(voucher, order, provider)
    for who in ("finance", "auditor", "admin", "manager", "evaluator"):
        for path in paths:
            reply = await world.call("GET", path, who)
            assert reply.status_code == 200, (who, path, reply.text)
    for who in OUTSIDERS:
        for path in paths:
            reply = await world.call("GET", path, who)
            assert reply.status_code == 404, (who, path, reply.text)
        for path in ("/v1/vouchers", "/v1/voucher-orders", "/v1/voucher-providers"):
            assert (await world.ok("GET", path, who))["items"] == [], (who, path)


async def test_only_the_schemes_managers_admit_and_suspend_providers(world: World) -> None:
    provider = await world.provider("lab", approve=False)
    path = f"/v1/voucher-providers/{provider['id']}"
    for action, body in (("approve", {}), ("suspend", {"reason": "核查"})):
        refused = await world.call("POST", f"{path}/{action}", "manager2", json=body)
        assert refused.status_code == 404, (action, refused.text)
        assert refused.json()["code"] == "voucher.provider_not_found"
    approved = await world.ok("POST", f"{path}/approve", "manager", json={})
    assert approved["status"] == "in_publicity"
    refused = await world.call("POST", f"{path}/suspend", "manager2", json={"reason": "核查"})
    assert refused.status_code == 404
    assert (await world.ok("GET", path, "lab"))["status"] == "in_publicity"  # unchanged
    # Evaluators read; they never act.
    evaluator = await world.call("POST", f"{path}/suspend", "evaluator", json={"reason": "核查"})
    assert evaluator.status_code == 403
    suspended = await world.ok("POST", f"{path}/suspend", "manager", json={"reason": "造假嫌疑"})
    assert suspended["status"] == "suspended"


async def test_each_scheme_to_its_own_program(world: World) -> None:
    """Two schemes, two programs: each program's people read their scheme's vouchers only."""
    _, provider, _, theirs = await ready(world)
    mine = await world.program(run_by_program="ZDZX")  # `manager2` manages ZDZX
    await world.enterprise("firm")
    voucher = (await world.voucher(mine, "firm", 100_000)).json()
    listed = await world.ok("GET", "/v1/vouchers", "manager2")
    assert [v["id"] for v in listed["items"]] == [voucher["id"]]
    assert (await world.call("GET", f"/v1/vouchers/{theirs['id']}", "manager2")).status_code == 404
    # Running a scheme makes them one of those who admit providers (who serve every scheme).
    assert (
        await world.call("GET", f"/v1/voucher-providers/{provider['id']}", "manager2")
    ).status_code == 200
    mine_listed = await world.ok("GET", "/v1/vouchers", "manager")
    assert voucher["id"] not in {v["id"] for v in mine_listed["items"]}


async def test_a_scheme_is_run_by_a_known_program(world: World) -> None:
    unknown = await world.call(
        "POST", "/v1/voucher-programs", "finance", json=program_body(run_by_program="NOPE")
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "voucher.unknown_program")
    bad = await world.call(
        "POST", "/v1/voucher-programs", "finance", json=program_body(run_by_program="no way")
    )
    assert bad.status_code == 422
    alone = await world.program(run_by_program=None)
    assert alone["run_by_program"] is None
    await world.enterprise("firm")
    voucher = (await world.voucher(alone, "firm", 100_000)).json()
    # A scheme no program runs: finance, audit and admins only.
    assert (await world.call("GET", f"/v1/vouchers/{voucher['id']}", "manager")).status_code == 404
    assert (await world.call("GET", f"/v1/vouchers/{voucher['id']}", "auditor")).status_code == 200
