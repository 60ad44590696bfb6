"""The panel stage (答辩) as steps of the story (tests/e2e/test_story_e2e.py), through the
gateway: the call's panel settings, then, once the written review closed, a stage on a
shortlist, its members drawn at random and the draw confirmed from its seed, each seated
expert's scores, and the combined ranking the decision draws on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.e2e.story_steps import Story

# 答辩, members only by random draw, the decision 40% the written review and 60% the panel.
DEFENCE = {"format": "defence", "selection": "draw", "written_weight": 40, "panel_weight": 60}


async def panel_settings(
    story: Story, call_id: str, manager: str, settings: dict[str, Any] = DEFENCE
) -> None:
    """The call's terms, set while it is open: a panel stage follows the written review."""
    await story.ok("PUT", "projects", f"/calls/{call_id}/panel-settings", manager, json=settings)


async def panel_heard(
    story: Story,
    call_id: str,
    manager: str,
    scores: dict[str, int],
    *,
    panel_size: int,
    left_out: list[str],
) -> list[dict[str, Any]]:
    """The manager opens the stage on the written ranking's first `len(scores)`, draws
    `panel_size` members (no reserves; the experts of `left_out` are in conflict) and confirms
    the draw; each seated expert scores each application as `scores` says; the manager closes
    the stage. The combined ranking, best first."""
    stage = await story.ok(
        "POST",
        "projects",
        f"/calls/{call_id}/panel-stage",
        manager,
        json={
            "shortlist": {"top_n": len(scores)},
            "panel_size": panel_size,
            "reserves": 0,
            "meeting_at": (story.now() + timedelta(days=3)).isoformat(),
        },
    )
    assert stage["shortlisted"] == len(scores), stage
    path = f"/panel-stages/{stage['id']}"
    drawn = await story.ok("POST", "projects", f"{path}/draws", manager)
    assert sorted(e["expert_id"] for e in drawn["excluded"]) == sorted(
        story.ids[who] for who in left_out
    ), drawn
    confirmed = await story.ok("POST", "projects", f"/panel-draws/{drawn['id']}/verify", manager)
    assert (confirmed["matches"], confirmed["drawn"]) == (True, drawn["drawn"]), confirmed
    assert len(drawn["drawn"]) == panel_size, drawn
    await story.ok("POST", "projects", f"{path}/start", manager, json={})
    username = {user_id: name for name, user_id in story.ids.items()}
    for expert in (username[e] for e in drawn["drawn"]):
        memberships = await story.ok("GET", "projects", "/me/panel-memberships", expert)
        [seat] = [m for m in memberships if m["stage_id"] == stage["id"]]
        assert {a["application_id"] for a in seat["applications"]} == set(scores), seat
        for application_id, score in scores.items():
            await story.ok(
                "PUT",
                "projects",
                f"{path}/scores/{application_id}",
                expert,
                json={"score": score, "comment": "答辩表现与书面材料相符。"},
            )
    await story.ok("POST", "projects", f"{path}/close", manager)
    ranking = await story.ok("GET", "projects", f"{path}/ranking", manager)
    assert ranking["final"] is True, ranking
    items: list[dict[str, Any]] = ranking["items"]
    return items
