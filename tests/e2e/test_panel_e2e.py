"""Review in stages behind the gateway, as processes: the written review done, a defence panel
(答辩) with a shortlist, its members drawn at random (the conflicted expert left out, the draw
confirmed from its seed), scores entered by the seated experts, and the decision on the
combined score, where the panel overturns the written order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client
from tests.e2e.projects_steps import (
    ZDYF,
    assign_manager,
    endorse_and_pass,
    login_as,
    published_call,
    submitted_application,
)

pytestmark = pytest.mark.e2e

# A field of its own: the shared stack keeps every test's experts, and the written review test
# must find only its own in its field.
PANEL_SUBJECT = "210.2030"
EXPERTS = ("ex.panel.a", "ex.panel.b", "ex.panel.c", "ex.panel.home")


def _code(body: str) -> str:
    return body + check_character(body)


async def _expect(reply: httpx.Response, status: int) -> Any:
    assert reply.status_code == status, reply.text
    return reply.json()


async def test_a_panel_stage_decides_on_both_stages_through_the_gateway(
    stack: RunningStack,
) -> None:
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        admin_h = bearer(admin)
        home = await create_org(client, stack, admin, "陇东学院", _code("91620100MA7PANEL1"))
        other = await create_org(client, stack, admin, "河西学院", _code("91620100MA7PANEL2"))
        pm = await create_user(client, stack, admin, "pm.panel", ["program_manager"])
        pis = [
            await create_user(client, stack, admin, f"pi.panel{n}", ["applicant"], home["id"])
            for n in (1, 2)
        ]
        await create_user(client, stack, admin, "oa.panel", ["org_admin"], home["id"])
        experts = {
            name: await create_user(
                client,
                stack,
                admin,
                name,
                ["expert"],
                home["id"] if name.endswith("home") else other["id"],
            )
            for name in EXPERTS
        }
        by_id = {user["id"]: name for name, user in experts.items()}
        await assign_manager(client, api, admin_h, pm["id"])
        await _expect(
            await client.put(
                f"{api}/programs/{ZDYF}/envelopes/2026",
                headers=admin_h,
                json={"amount_fen": 50_000_000_000},
            ),
            200,
        )
        manager = await login_as(client, stack, "pm.panel")
        for user in experts.values():

            async def registered(user_id: str = user["id"]) -> bool:
                reply = await client.put(
                    f"{api}/experts/{user_id}",
                    headers=manager,
                    json={
                        "title": "教授",
                        "region": "甘肃",
                        "primary_subjects": [PANEL_SUBJECT],
                        "keywords": ["盐碱地"],
                        "max_load": 5,
                    },
                )
                return reply.status_code in (200, 201)

            await wait_until(registered)
        pi_heads = [await login_as(client, stack, f"pi.panel{n}") for n in (1, 2)]
        for head in pi_heads:

            async def known(head: dict[str, str] = head) -> bool:
                me = await client.get(f"{api}/me", headers=head)
                return bool(me.status_code == 200 and me.json()["in_directory"])

            await wait_until(known)

        call = await published_call(
            client, api, manager, timedelta(seconds=15), title="2026年度重点研发计划（答辩）"
        )
        await _expect(
            await client.put(
                f"{api}/calls/{call['id']}/panel-settings",
                headers=manager,
                json={
                    "format": "defence",
                    "selection": "draw",
                    "written_weight": 40,
                    "panel_weight": 60,
                },
            ),
            200,
        )
        applications = [
            (await submitted_application(client, api, head, call, pi["id"], PANEL_SUBJECT))[0]
            for head, pi in zip(pi_heads, pis, strict=True)
        ]
        closes_at = datetime.fromisoformat(call["closes_at"])
        await asyncio.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds() + 0.5))
        org_admin = await login_as(client, stack, "oa.panel")
        for application_id in applications:
            await endorse_and_pass(client, api, application_id, org_admin, manager)

        # The written review: two experts an application, the home one kept out by conflict.
        round_ = await _expect(
            await client.post(
                f"{api}/calls/{call['id']}/review-rounds",
                headers=manager,
                json={
                    "kind": "proposal",
                    "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                    "experts_per_item": 2,
                },
            ),
            201,
        )
        await _expect(
            await client.post(
                f"{api}/review-rounds/{round_['id']}/conflicts/refresh", headers=manager
            ),
            200,
        )
        run = await _expect(
            await client.post(
                f"{api}/review-rounds/{round_['id']}/assignment-runs",
                headers=manager,
                json={"seed": 11},
            ),
            201,
        )
        await _expect(
            await client.post(f"{api}/assignment-runs/{run['id']}/apply", headers=manager), 200
        )
        written = {applications[0]: 90, applications[1]: 60}
        heads = {name: await login_as(client, stack, name) for name in EXPERTS}
        for name in EXPERTS:
            mine = await _expect(
                await client.get(f"{api}/me/assignments", headers=heads[name]), 200
            )
            for assignment in mine["items"]:
                value = written[assignment["application"]["id"]]
                path = f"{api}/assignments/{assignment['id']}"
                await _expect(await client.post(f"{path}/accept", headers=heads[name]), 200)
                await _expect(
                    await client.put(
                        f"{path}/sheet",
                        headers=heads[name],
                        json={
                            "scores": {"innovation": value, "feasibility": value},
                            "comments": {
                                "innovation": "技术路线有一定创新，需补充对照试验。",
                                "feasibility": "团队基础较好，示范区条件具备。",
                            },
                            "overall_comment": "建议进入答辩。",
                            "recommendation": "support",
                        },
                    ),
                    200,
                )
                await _expect(await client.post(f"{path}/sheet/submit", headers=heads[name]), 200)
        await _expect(
            await client.post(f"{api}/review-rounds/{round_['id']}/close", headers=manager), 200
        )

        # The panel: both applications shortlisted, two seats and a reserve drawn at random.
        stage = await _expect(
            await client.post(
                f"{api}/calls/{call['id']}/panel-stage",
                headers=manager,
                json={
                    "shortlist": {"top_n": 2},
                    "panel_size": 2,
                    "reserves": 1,
                    "meeting_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
                },
            ),
            201,
        )
        assert stage["shortlisted"] == 2
        drawn = await _expect(
            await client.post(f"{api}/panel-stages/{stage['id']}/draws", headers=manager), 201
        )
        home_expert = experts["ex.panel.home"]["id"]
        assert home_expert not in drawn["pool"]
        assert [e["expert_id"] for e in drawn["excluded"]] == [home_expert]
        assert (len(drawn["drawn"]), len(drawn["pool"])) == (3, 3)
        confirmed = await _expect(
            await client.post(f"{api}/panel-draws/{drawn['id']}/verify", headers=manager), 200
        )
        assert (confirmed["matches"], confirmed["drawn"]) == (True, drawn["drawn"])
        seated = [by_id[e] for e in drawn["drawn"][:2]]
        reserve = by_id[drawn["drawn"][2]]
        await _expect(
            await client.post(f"{api}/panel-stages/{stage['id']}/start", headers=manager, json={}),
            200,
        )

        # The panel hears them and scores the other way round.
        panel = {applications[0]: 50, applications[1]: 95}
        for name in seated:
            memberships = await _expect(
                await client.get(f"{api}/me/panel-memberships", headers=heads[name]), 200
            )
            (membership,) = [m for m in memberships if m["stage_id"] == stage["id"]]
            assert {a["application_id"] for a in membership["applications"]} == set(applications)
            for application_id, value in panel.items():
                await _expect(
                    await client.put(
                        f"{api}/panel-stages/{stage['id']}/scores/{application_id}",
                        headers=heads[name],
                        json={"score": value, "comment": "答辩表现与书面材料相符。"},
                    ),
                    200,
                )
        not_seated = await client.put(
            f"{api}/panel-stages/{stage['id']}/scores/{applications[0]}",
            headers=heads[reserve],
            json={"score": 100, "comment": "候补专家不应打分。"},
        )
        assert not_seated.status_code == 403, not_seated.text
        await _expect(
            await client.post(f"{api}/panel-stages/{stage['id']}/close", headers=manager), 200
        )
        ranking = await _expect(
            await client.get(f"{api}/panel-stages/{stage['id']}/ranking", headers=manager), 200
        )
        # .4 * 60 + .6 * 95 = 81 before .4 * 90 + .6 * 50 = 66
        assert [(i["application_id"], i["combined"], i["rank"]) for i in ranking["items"]] == [
            (applications[1], 81.0, 1),
            (applications[0], 66.0, 2),
        ]
        listed = await _expect(
            await client.get(f"{api}/calls/{call['id']}/decisions", headers=manager), 200
        )
        assert listed["review_ranked_by"] == "combined"
        assert listed["items"][0]["application_id"] == applications[1]
        await _expect(
            await client.post(
                f"{api}/calls/{call['id']}/decisions",
                headers=manager,
                json={
                    "decisions": [
                        {
                            "application_id": applications[1],
                            "decision": "approve",
                            "approved_budget_fen": 70_000_000,
                            "reason": "书面评审与答辩综合排名第一",
                        }
                    ]
                },
            ),
            200,
        )
