"""Credit behind the gateway, as processes: a record's due process and the rating it leaves."""

from __future__ import annotations

import pytest

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client

pytestmark = pytest.mark.e2e


async def test_a_record_through_the_gateway_changes_the_rating_and_the_public_list(
    stack: RunningStack,
) -> None:
    body = "91620100MA7N0PXK9"
    code = body + check_character(body)
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        await create_org(client, stack, admin, "某科技服务公司", code)
        pm = await create_user(client, stack, admin, "pm.credit", ["program_manager"])
        login = await client.post(
            f"{stack.url}/auth/token",
            data={"username": "pm.credit", "password": "e2e-user-password"},
        )
        manager = bearer(login.json()["access_token"])
        api = f"{stack.url}/api/credit/v1"

        proposed = await client.post(
            f"{api}/records",
            headers=manager,
            json={
                "subject": {"kind": "organization", "name": "某科技服务公司", "credit_code": code},
                "capacity": "organization",
                "rule_code": "FUNDS_MISUSE",
                "facts": "挪用专项资金用于无关支出，经审计确认。",
                "handling_unit": "省科技厅监督处",
                "effective_from": "2026-01-05",
            },
        )
        assert proposed.status_code == 201, proposed.text
        record = proposed.json()
        notified = await client.post(
            f"{api}/records/{record['id']}/notify", headers=manager, json={"reason": "依规告知"}
        )
        assert notified.status_code == 200
        # The objection window (10 working days) is still open: confirmation must wait.
        early = await client.post(
            f"{api}/records/{record['id']}/confirm", headers=manager, json={"reason": "确认"}
        )
        assert early.status_code == 409
        assert early.json()["code"] == "record.objection_window_open"

        rating = await client.get(f"{api}/subjects/{record['subject_id']}/rating", headers=manager)
        assert rating.status_code == 200
        assert (rating.json()["level"], rating.json()["score"]) == ("B", 80)  # not yet confirmed

        eligibility = await client.get(
            f"{api}/eligibility", headers=manager, params={"action": "apply", "credit_code": code}
        )
        assert eligibility.json()["eligible"] is True

        public = await client.get(f"{api}/public/records")  # anonymous read through the gateway
        assert public.status_code == 200
        assert all(item["subject_credit_code"] != code for item in public.json()["items"])

        history = await client.get(f"{api}/records/{record['id']}", headers=manager)
        transitions = history.json()["transitions"]
        assert [t["to_status"] for t in transitions] == ["proposed", "notified"]
        assert {t["actor"] for t in transitions} == {pm["id"]}  # who, from the verified token
        anonymous_write = await client.post(f"{api}/records", json={})
        assert anonymous_write.status_code == 401
