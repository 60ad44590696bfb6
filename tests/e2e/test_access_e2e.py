"""Object-level access through the gateway, as the roles concerned (issue 13, items 6, 7, 9):
an engaged evaluator never reads a draft; a team member reads the application they are on; a
manager of another program and an unengaged evaluator read nothing of a voucher scheme and
cannot suspend its providers, while the scheme's own program manager admits them.

(The grant side, which needs a contracted project and so the test clock, is in the story.)"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningStack, wait_until
from tests.e2e.helpers import e2e_client
from tests.e2e.story_steps import PDF, Story, new_id

pytestmark = pytest.mark.e2e

FUND = "ACCX"  # a special fund of this test's own
SCHEME = "ACCESS26"  # a voucher scheme it runs
OUTSIDERS = ("acc.pm.other", "acc.ev.none")


async def _cast(story: Story) -> None:
    await story.admin()
    await story.organization("acc.univ", "河西学院", "university", 901)
    await story.organization("acc.lab", "张掖检测中心有限公司", "enterprise", 902)
    await story.organization("acc.firm", "张掖绿洲农业科技有限公司", "enterprise", 903)
    people = [
        ("acc.pm", "钱管理", ["program_manager"], None),  # runs the fund
        ("acc.pm.other", "孙管理", ["program_manager"], None),  # runs another program
        ("acc.ev", "周评估", ["evaluator"], None),  # engaged on the fund
        ("acc.ev.none", "吴评估", ["evaluator"], None),  # engaged on nothing
        ("acc.pi", "郑申报", ["applicant"], "acc.univ"),
        ("acc.mate", "冯成员", ["applicant"], None),  # on the PI's team, of no organization
        ("acc.fo", "陈财务", ["finance_officer"], None),
        ("acc.prov", "褚检测", ["provider"], "acc.lab"),
        ("acc.ent", "卫企业", ["enterprise"], "acc.firm"),
    ]
    for username, name, roles, org in people:
        await story.person(username, name, roles, org)
    for username, *_ in people:
        await story.known_everywhere(username)


async def _fund(story: Story) -> dict[str, Any]:
    fund: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        "/programs",
        "admin",
        json={
            "code": FUND,
            "name_zh": "河西走廊科技专项",
            "name_en": "Hexi Corridor Science Fund",
            "managing_agency": "甘肃省科学技术厅",
            "active_from_year": 2026,
            "eligibility": {
                "eligible_org_kinds": ["university"],
                "budget_min_fen": 10_000_000,
                "budget_max_fen": 200_000_000,
                "required_attachments": ["feasibility_report"],
                "experts_per_application": 2,
                "notice_days": 7,
                "max_active_projects_per_pi": 2,
                "min_credit_level": "C",
            },
        },
    )
    await story.ok(
        "PUT", "projects", f"/programs/{fund['id']}/managers/{story.ids['acc.pm']}", "admin"
    )
    zdzx = "0193a5c0-0000-7000-8000-000000000001"
    await story.ok(
        "PUT", "projects", f"/programs/{zdzx}/managers/{story.ids['acc.pm.other']}", "admin"
    )
    await story.ok(
        "POST",
        "projects",
        "/engagements",
        "admin",
        json={
            "evaluator_id": story.ids["acc.ev"],
            "program_id": fund["id"],
            "purpose": "专项年度执行情况评价",
        },
    )
    return fund


def _content(story: Story, attachments: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "title": "河西走廊节水灌溉关键技术",
        "abstract": "研究河西走廊节水灌溉技术并开展示范。",
        "keywords": ["节水", "灌溉"],
        "subject_codes": ["210.2010"],
        "team": [
            {"user_id": story.ids["acc.pi"], "role": "负责人", "share": 70},
            {"user_id": story.ids["acc.mate"], "role": "成员", "share": 30},
        ],
        "budget": {
            "equipment": 10_000_000,
            "business": 40_000_000,
            "labour": 20_000_000,
            "indirect": 10_000_000,
        },
        "milestones": [{"name": "完成示范区建设", "due": "2027-12-31"}],
        "indicators": [{"name": "节水面积", "target": 3000, "unit": "亩"}],
        "attachments": attachments,
    }


async def test_drafts_teams_and_a_program_scheme_through_the_gateway(stack: RunningStack) -> None:
    async with e2e_client() as client:
        story = Story(client=client, running=stack, clock_file=Path(os.devnull))
        await _cast(story)
        fund = await _fund(story)

        # --- a draft is its applicant's side's; the engaged evaluator sees it once submitted
        now = story.now()
        call = await story.ok(
            "POST",
            "projects",
            "/calls",
            "acc.pm",
            json={
                "program_id": fund["id"],
                "year": 2026,
                "title": "2026年度河西走廊科技专项",
                "guideline": "支持节水农业与生态修复方向。",
                "opens_at": (now - timedelta(minutes=1)).isoformat(),
                "closes_at": (now + timedelta(hours=2)).isoformat(),
                "review_template": {
                    "criteria": [
                        {
                            "code": "innovation",
                            "name": "创新性",
                            "weight": 100,
                            "min": 0,
                            "max": 100,
                        }
                    ]
                },
            },
        )
        await story.ok("POST", "projects", f"/calls/{call['id']}/publish", "acc.pm")
        draft = await story.ok(
            "POST",
            "projects",
            "/applications",
            "acc.pi",
            json={"call_id": call["id"], "content": _content(story, [])},
        )
        path = f"/applications/{draft['id']}"
        uploaded = await story.call(
            "POST",
            "projects",
            f"{path}/attachments",
            "acc.pi",
            data={"kind": "feasibility_report"},
            files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        attachment = f"{path}/attachments/{uploaded.json()['id']}"
        await story.ok(
            "PUT",
            "projects",
            path,
            "acc.pi",
            json={
                "base_version": 1,
                "content": _content(
                    story, [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
                ),
            },
        )
        for sub in (path, f"{path}/versions", f"{path}/versions/2", attachment):
            hidden = await story.call("GET", "projects", sub, "acc.ev")
            assert hidden.status_code == 404, (sub, hidden.text)
        # The team member reads the application they are on (and its documents).
        for sub in (path, f"{path}/versions", attachment):
            assert (await story.call("GET", "projects", sub, "acc.mate")).status_code == 200, sub
        await story.ok("POST", "projects", f"{path}/submit", "acc.pi")
        for sub in (path, f"{path}/versions/2", attachment):
            assert (await story.call("GET", "projects", sub, "acc.ev")).status_code == 200, sub
        assert (await story.call("GET", "projects", path, "acc.pm.other")).status_code == 404

        # --- a voucher scheme run by the fund: its manager admits providers, nobody else
        scheme: dict[str, Any] = {}
        scheme_id = new_id()

        async def scheme_made() -> bool:  # funds hears of the fund through projects' events
            nonlocal scheme
            reply = await story.call(
                "POST",
                "funds",
                "/voucher-programs",
                "acc.fo",
                json={
                    "id": scheme_id,
                    "code": SCHEME,
                    "name": "2026年河西走廊科技创新券",
                    "year": 2026,
                    "budget_fen": 10_000_000,
                    "voucher_share_bp": 5000,
                    "cap_per_group_fen": 5_000_000,
                    "validity_days": 180,
                    "categories": ["testing"],
                    "managing_agency": "张掖市科学技术局",
                    "run_by_program": FUND,
                },
            )
            if reply.status_code == 201:
                scheme = reply.json()
            return reply.status_code == 201

        await wait_until(scheme_made, seconds=30)
        provider = await story.ok(
            "POST",
            "funds",
            "/voucher-providers",
            "acc.prov",
            json={
                "id": new_id(),
                "services": [{"name": "水质检测", "category": "testing", "price_fen": 1_000_000}],
            },
        )
        provider_path = f"/voucher-providers/{provider['id']}"
        for who in OUTSIDERS:
            approve = await story.call("POST", "funds", f"{provider_path}/approve", who, json={})
            assert approve.status_code in (403, 404), (who, approve.text)  # evaluators: by role

        async def admitted() -> bool:  # once funds knows acc.pm manages the fund
            reply = await story.call("POST", "funds", f"{provider_path}/approve", "acc.pm", json={})
            return reply.status_code == 200

        await wait_until(admitted, seconds=30)
        suspend = await story.call(
            "POST", "funds", f"{provider_path}/suspend", "acc.pm.other", json={"reason": "核查"}
        )
        assert (suspend.status_code, suspend.json()["code"]) == (404, "voucher.provider_not_found")
        assert (await story.ok("GET", "funds", provider_path, "acc.prov"))[
            "status"
        ] == "in_publicity"

        enterprise = await story.ok(
            "POST", "funds", "/voucher-enterprises", "acc.ent", json={"id": new_id()}
        )
        voucher = await story.ok(
            "POST",
            "funds",
            f"/voucher-programs/{scheme['id']}/vouchers",
            "acc.ent",
            json={"id": new_id(), "amount_fen": 1_000_000},
        )
        hidden_paths = [
            f"/vouchers/{voucher['id']}",
            f"/voucher-enterprises/{enterprise['id']}",
            provider_path,
            f"/accounts/{scheme['pool_account_id']}",
            f"/accounts/{scheme['pool_account_id']}/statement",
        ]
        for who in OUTSIDERS:
            for sub in hidden_paths:
                reply = await story.call("GET", "funds", sub, who)
                assert reply.status_code == 404, (who, sub, reply.text)
            for listing, params in (
                ("/vouchers", {}),
                ("/voucher-providers", {}),
                ("/accounts", {"ledger": scheme["ledger"]}),
                ("/payment-orders", {"status": "pending_approval"}),
            ):
                listed = await story.ok("GET", "funds", listing, who, params=params)
                assert listed["items"] == [], (who, listing)
        for sub in hidden_paths:
            assert (await story.call("GET", "funds", sub, "acc.pm")).status_code == 200, sub
