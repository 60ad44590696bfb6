"""Expert review behind the gateway, as processes: experts registered, a conflict found with its
evidence, an optimal assignment applied, scores submitted online, results, the decision, and an
applicant who sees the score and anonymous comments but never who reviewed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

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
from tests.e2e.story_steps import PDF

pytestmark = pytest.mark.e2e


def _code(body: str) -> str:
    return body + check_character(body)


async def test_review_online_through_the_gateway(stack: RunningStack) -> None:
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        admin_h = bearer(admin)
        home = await create_org(client, stack, admin, "西北师范大学", _code("91620100MA7N0RTW1"))
        other = await create_org(
            client, stack, admin, "兰州大学草地研究所", _code("91620100MA7N0RTW2")
        )
        third = await create_org(client, stack, admin, "甘肃农业大学", _code("91620100MA7N0RTW3"))
        pm = await create_user(client, stack, admin, "pm.review", ["program_manager"])
        pi_user = await create_user(client, stack, admin, "pi.review", ["applicant"], home["id"])
        await create_user(client, stack, admin, "oa.review", ["org_admin"], home["id"])
        experts = {
            "ex.colleague": await create_user(
                client, stack, admin, "ex.colleague", ["expert"], home["id"]
            ),
            "ex.one": await create_user(client, stack, admin, "ex.one", ["expert"], other["id"]),
            "ex.two": await create_user(client, stack, admin, "ex.two", ["expert"], third["id"]),
        }
        await assign_manager(client, api, admin_h, pm["id"])
        envelope = await client.put(
            f"{api}/programs/{ZDYF}/envelopes/2026",
            headers=admin_h,
            json={"amount_fen": 50_000_000_000},
        )
        assert envelope.status_code == 200, envelope.text
        manager = await login_as(client, stack, "pm.review")
        pi = await login_as(client, stack, "pi.review")

        for username, user in experts.items():

            async def registered(user_id: str = user["id"], name: str = username) -> bool:
                reply = await client.put(
                    f"{api}/experts/{user_id}",
                    headers=manager,
                    json={
                        "title": "研究员",
                        "region": "甘肃",
                        "primary_subjects": ["210.2010"],
                        "keywords": ["盐碱地", "土壤改良"] if name != "ex.two" else ["节水农业"],
                        "max_load": 5,
                    },
                )
                return reply.status_code in (200, 201)

            await wait_until(registered)  # once projects has heard of them from the gateway

        async def pi_known() -> bool:
            me = await client.get(f"{api}/me", headers=pi)
            return bool(me.status_code == 200 and me.json()["in_directory"])

        await wait_until(pi_known)
        call = await published_call(client, api, manager, timedelta(seconds=12))
        application_id, attachment_id = await submitted_application(
            client, api, pi, call, pi_user["id"]
        )
        closes_at = datetime.fromisoformat(call["closes_at"])
        await asyncio.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds() + 0.5))
        org_admin = await login_as(client, stack, "oa.review")
        await endorse_and_pass(client, api, application_id, org_admin, manager)

        opened = await client.post(
            f"{api}/calls/{call['id']}/review-rounds",
            headers=manager,
            json={
                "kind": "proposal",
                "deadline": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "experts_per_item": 2,
            },
        )
        assert opened.status_code == 201, opened.text
        round_id = opened.json()["id"]
        rounds = await client.get(f"{api}/calls/{call['id']}/review-rounds", headers=manager)
        assert [r["id"] for r in rounds.json()["items"]] == [round_id]
        refreshed = await client.post(
            f"{api}/review-rounds/{round_id}/conflicts/refresh", headers=manager
        )
        assert refreshed.status_code == 200, refreshed.text
        conflicts = await client.get(f"{api}/review-rounds/{round_id}/conflicts", headers=manager)
        found = conflicts.json()["items"]
        assert [(c["expert_id"], c["kind"]) for c in found] == [
            (experts["ex.colleague"]["id"], "same_org")
        ]
        assert found[0]["evidence"]  # the manager sees why

        # A large call's dry run outlasts a request through the gateway: asked to answer at
        # once, it is a job the manager polls until its run is there.
        started = await client.post(
            f"{api}/review-rounds/{round_id}/assignment-runs",
            headers={**manager, "Prefer": "respond-async"},
            json={"seed": 7},
        )
        assert started.status_code == 202, started.text
        job: dict[str, Any] = started.json()

        async def job_finished() -> bool:
            polled = await client.get(f"{api}/assignment-run-jobs/{job['id']}", headers=manager)
            job.update(polled.json())
            return job["status"] != "running"

        await wait_until(job_finished, seconds=60)
        assert job["status"] == "done", job
        polled_run = await client.get(f"{api}/assignment-runs/{job['run_id']}", headers=manager)
        assert polled_run.status_code == 200

        run = await client.post(
            f"{api}/review-rounds/{round_id}/assignment-runs", headers=manager, json={"seed": 7}
        )
        assert run.status_code == 201, run.text
        assert run.json()["pairs"] == polled_run.json()["pairs"]  # the same seed, the same run
        pairs = run.json()["pairs"]
        assert {p["expert_id"] for p in pairs} == {experts["ex.one"]["id"], experts["ex.two"]["id"]}
        applied = await client.post(
            f"{api}/assignment-runs/{run.json()['id']}/apply", headers=manager
        )
        assert applied.status_code == 200, applied.text

        colleague = await login_as(client, stack, "ex.colleague")
        mine = await client.get(f"{api}/me/assignments", headers=colleague)
        assert mine.status_code == 200
        assert mine.json()["items"] == []
        document = f"{api}/applications/{application_id}/attachments/{attachment_id}"
        barred = await client.get(document, headers=colleague)  # in conflict: no assignment
        assert barred.status_code == 404

        scores = {
            "ex.one": {"innovation": 88, "feasibility": 80},
            "ex.two": {"innovation": 70, "feasibility": 90},
        }
        for username in ("ex.one", "ex.two"):
            expert = await login_as(client, stack, username)
            listed = (await client.get(f"{api}/me/assignments", headers=expert)).json()["items"]
            assert len(listed) == 1
            seen = json.dumps(listed, ensure_ascii=False)
            others = [e["id"] for name, e in experts.items() if name != username]
            assert not any(other_id in seen for other_id in others)  # blind to other experts
            assignment_id = listed[0]["id"]
            # The expert opens the documents of what they review (issue 13, item 8).
            [listed_document] = listed[0]["application"]["content"]["attachments"]
            assert listed_document["id"] == attachment_id
            opened_document = await client.get(document, headers=expert)
            assert opened_document.status_code == 200, opened_document.text
            assert opened_document.content == PDF
            accepted = await client.post(
                f"{api}/assignments/{assignment_id}/accept", headers=expert
            )
            assert accepted.status_code == 200, accepted.text
            draft = await client.put(
                f"{api}/assignments/{assignment_id}/sheet",
                headers=expert,
                json={
                    "scores": scores[username],
                    "comments": {
                        "innovation": "技术路线有一定创新，需补充对照试验。",
                        "feasibility": "团队基础较好，示范区条件具备。",
                    },
                    "overall_comment": "建议支持，注意控制示范推广成本。",
                    "recommendation": "support",
                },
            )
            assert draft.status_code == 200, draft.text
            sent = await client.post(
                f"{api}/assignments/{assignment_id}/sheet/submit", headers=expert
            )
            assert sent.status_code == 200, sent.text

        results = await client.get(f"{api}/review-rounds/{round_id}/results", headers=manager)
        assert results.status_code == 200, results.text
        result = results.json()["items"][0]
        # weighted totals: 0.6*88 + 0.4*80 = 84.8 and 0.6*70 + 0.4*90 = 78
        assert (result["rank"], result["n_reviews"]) == (1, 2)
        assert result["statistics"]["mean"] == pytest.approx(81.4)
        closed = await client.post(f"{api}/review-rounds/{round_id}/close", headers=manager)
        assert closed.status_code == 200, closed.text

        decided = await client.post(
            f"{api}/calls/{call['id']}/decisions",
            headers=manager,
            json={
                "decisions": [
                    {
                        "application_id": application_id,
                        "decision": "approve",
                        "approved_budget_fen": 70_000_000,
                        "reason": "专家评审排名第一",
                    }
                ]
            },
        )
        assert decided.status_code == 200, decided.text
        review = await client.get(f"{api}/applications/{application_id}/review", headers=pi)
        assert review.status_code == 200, review.text
        body = review.json()
        assert body["n_reviews"] == 2
        assert sorted(c["expert"] for c in body["comments"]) == ["专家A", "专家B"]
        text = json.dumps(body, ensure_ascii=False)
        for name, expert_user in experts.items():
            assert expert_user["id"] not in text  # never who reviewed
            assert name not in text
