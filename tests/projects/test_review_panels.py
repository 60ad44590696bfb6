"""Review in stages: after the written review, a panel (会评/答辩) hears a shortlist; its members
are chosen or drawn at random from the qualified pool (conflicts out), score online, and the
decision draws on both stages weighted as the call says."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import DeclaredConflict, PanelSettings, Transition
from services.projects.review import draw
from tests.conftest import org_code
from tests.projects.conftest import Caller, Projects, insert_call
from tests.projects.review_factories import make_expert
from tests.projects.test_decisions import approve, decide, reject, set_envelope
from tests.projects.test_review_scoring import Review, outbox, problem
from tests.projects.test_review_scoring_results import close, scored_round

FIELD = ("210.2010",)  # the subject code of the fixture's applications


async def written_review_done(session: AsyncSession, projects: Projects) -> Review:
    """A closed written round: colleague 87, applicant 70, applicant2 40 (trimmed means)."""
    review = await scored_round(session, projects)
    closed = await close(projects, review)
    assert closed.status_code == 200, closed.text
    return review


async def panel_experts(session: AsyncSession, projects: Projects, *names: str) -> list[Caller]:
    """Experts in the field of the fixture's applications, of no organization."""
    return [await make_expert(session, projects, name, primary=FIELD) for name in names]


async def settings(
    projects: Projects,
    review: Review,
    *,
    selection: str = "choice",
    written: int = 40,
    who: str = "manager",
) -> Any:
    return await projects.call(
        "PUT",
        f"/v1/calls/{review.call.id}/panel-settings",
        who,
        json={
            "format": "defence",
            "selection": selection,
            "written_weight": written,
            "panel_weight": 100 - written,
        },
    )


async def open_stage(
    projects: Projects,
    review: Review,
    *,
    rule: dict[str, Any] | None = None,
    panel_size: int = 2,
    reserves: int = 2,
    who: str = "manager",
) -> Any:
    return await projects.call(
        "POST",
        f"/v1/calls/{review.call.id}/panel-stage",
        who,
        json={
            "shortlist": rule or {"top_n": 2},
            "panel_size": panel_size,
            "reserves": reserves,
            "meeting_at": (projects.clock.now + timedelta(days=7)).isoformat(),
        },
    )


async def panel_settings(
    session: AsyncSession, projects: Projects, review: Review, *, selection: str = "choice"
) -> None:
    """Settings as the call stated them before it closed: defence, written 40 %, panel 60 %."""
    session.add(
        PanelSettings(
            call_id=review.call.id,
            format="defence",
            selection=selection,
            written_weight=40,
            panel_weight=60,
            set_by=projects.callers["manager"].user_id,
            set_at=review.call.opens_at,
        )
    )
    await session.commit()


async def stage_of(
    session: AsyncSession,
    projects: Projects,
    review: Review,
    *,
    selection: str = "choice",
    **kwargs: Any,
) -> dict[str, Any]:
    await panel_settings(session, projects, review, selection=selection)
    opened = await open_stage(projects, review, **kwargs)
    assert opened.status_code == 201, opened.text
    body: dict[str, Any] = opened.json()
    return body


async def seat(projects: Projects, stage: dict[str, Any], expert: Caller) -> Any:
    return await projects.call(
        "POST",
        f"/v1/panel-stages/{stage['id']}/members",
        "manager",
        json={"expert_id": str(expert.user_id)},
    )


async def start(projects: Projects, stage: dict[str, Any], **body: Any) -> Any:
    return await projects.call(
        "POST", f"/v1/panel-stages/{stage['id']}/start", "manager", json=body
    )


async def score(
    projects: Projects, stage: dict[str, Any], application_id: UUID, who: str, value: int
) -> Any:
    return await projects.call(
        "PUT",
        f"/v1/panel-stages/{stage['id']}/scores/{application_id}",
        who,
        json={"score": value, "comment": "答辩清晰，技术路线可行。"},
    )


async def panel_history(session: AsyncSession, stage_id: str) -> list[Transition]:
    rows = await session.scalars(
        sa.select(Transition)
        .where(Transition.entity == "panel", Transition.entity_id == UUID(stage_id))
        .order_by(Transition.id)
    )
    return list(rows.all())


# --- the shortlist ----------------------------------------------------------------------------


async def test_the_stage_shortlists_by_the_written_ranking_and_the_manager_adjusts_it(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    apps = review.applications
    stage = await stage_of(session, projects, review)
    assert (stage["state"], stage["shortlisted"], stage["format"]) == ("forming", 2, "defence")
    assert (stage["written_weight"], stage["panel_weight"], stage["top_n"]) == (40, 60, 2)
    listed = await projects.call("GET", f"/v1/panel-stages/{stage['id']}/shortlist", "manager")
    assert [
        (e["application_id"], e["written_rank"], e["written_score"], e["shortlisted"])
        for e in listed.json()
    ] == [
        (str(apps["colleague"].id), 1, 87.0, True),
        (str(apps["applicant"].id), 2, 70.0, True),
        (str(apps["applicant2"].id), 3, 40.0, False),
    ]

    path = f"/v1/panel-stages/{stage['id']}/shortlist/{apps['applicant2'].id}"
    no_reason = await projects.call("PUT", path, "manager", json={"shortlisted": True})
    assert no_reason.status_code == 422
    added = await projects.call(
        "PUT", path, "manager", json={"shortlisted": True, "reason": "区域布局需要，补充答辩"}
    )
    assert added.status_code == 200, added.text
    assert (added.json()["shortlisted"], added.json()["by_rule"]) == (True, False)
    assert added.json()["adjustment_reason"] == "区域布局需要，补充答辩"
    again = await projects.call(
        "PUT", path, "manager", json={"shortlisted": True, "reason": "再次加入"}
    )
    problem(again, 409, "panel.shortlist_unchanged")
    outside = await projects.call(
        "PUT",
        f"/v1/panel-stages/{stage['id']}/shortlist/{review.call.id}",
        "manager",
        json={"shortlisted": True, "reason": "不存在的申报书"},
    )
    problem(outside, 404, "panel.not_shortlisted")
    recorded = await panel_history(session, stage["id"])
    assert [t.action for t in recorded] == ["opened", "shortlist.added"]
    assert recorded[1].reason == "区域布局需要，补充答辩"
    assert recorded[1].details["application_id"] == str(apps["applicant2"].id)
    assert recorded[1].application_id is None  # the applicant's own history does not show it

    # Once scoring starts, the shortlist is fixed.
    (member,) = await panel_experts(session, projects, "p1")
    assert (await seat(projects, stage, member)).status_code == 201
    assert (await start(projects, stage, short_reason="另一位专家临时出差")).status_code == 200
    late = await projects.call(
        "PUT", path, "manager", json={"shortlisted": False, "reason": "撤出会评"}
    )
    problem(late, 409, "state.invalid_transition")


async def test_a_score_threshold_shortlists_those_above_it(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    stage = await stage_of(session, projects, review, rule={"min_score": 80})
    assert stage["shortlisted"] == 1
    assert stage["min_score"] == 80.0


async def test_settings_are_the_calls_terms_until_it_closes(
    session: AsyncSession, projects: Projects
) -> None:
    call = await insert_call(session, projects)  # open for 30 days more
    path = f"/v1/calls/{call.id}/panel-settings"
    terms = {"format": "meeting", "selection": "draw", "written_weight": 40, "panel_weight": 60}
    problem(await projects.call("GET", path, "manager"), 404, "panel.settings_not_found")
    assert (await projects.call("PUT", path, "manager2", json=terms)).status_code == 403
    assert (await projects.call("PUT", path, "expert", json=terms)).status_code == 403
    uneven = await projects.call("PUT", path, "manager", json=terms | {"panel_weight": 70})
    assert uneven.status_code == 422
    saved = await projects.call("PUT", path, "manager", json=terms)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["selection"], saved.json()["written_weight"]) == ("draw", 40)
    changed = await projects.call("PUT", path, "manager", json=terms | {"selection": "choice"})
    assert changed.json()["selection"] == "choice"
    history = await session.scalars(
        sa.select(Transition).where(
            Transition.entity == "call",
            Transition.entity_id == call.id,
            Transition.action == "panel_settings.set",
        )
    )
    assert [t.details["after"]["selection"] for t in history.all()] == ["draw", "choice"]
    projects.clock.advance(days=31)
    late = await projects.call("PUT", path, "manager", json=terms)
    problem(late, 409, "panel.settings_fixed")
    assert (await projects.call("GET", path, "manager")).json()["selection"] == "choice"


async def test_the_stage_waits_for_its_settings_and_the_written_review(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects)  # not closed yet
    problem(await open_stage(projects, review), 409, "panel.not_configured")
    await panel_settings(session, projects, review)
    problem(await open_stage(projects, review), 409, "panel.written_review_open")
    assert (await close(projects, review)).status_code == 200
    past = await projects.call(
        "POST",
        f"/v1/calls/{review.call.id}/panel-stage",
        "manager",
        json={
            "shortlist": {"top_n": 2},
            "panel_size": 2,
            "meeting_at": "2026-01-01T09:00:00+08:00",
        },
    )
    problem(past, 422, "panel.invalid")
    both = await open_stage(projects, review, rule={"top_n": 2, "min_score": 80})
    assert both.status_code == 422
    problem(
        await open_stage(projects, review, rule={"min_score": 95}), 409, "panel.shortlist_empty"
    )
    assert (await open_stage(projects, review)).status_code == 201
    problem(await open_stage(projects, review), 409, "panel.exists")


# --- conflicts of interest --------------------------------------------------------------------


async def test_experts_in_conflict_are_kept_off_the_panel(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    apps = review.applications
    stage = await stage_of(session, projects, review)
    # of the shortlisted applicants' organization (same_org), and one who declared the PI
    same_org = await make_expert(session, projects, "p_org1", org=1, primary=FIELD)
    declarer = await make_expert(session, projects, "p_declared", primary=FIELD)
    session.add(
        DeclaredConflict(
            expert_id=declarer.user_id,
            person_id=projects.callers["applicant"].user_id,
            reason="曾为其博士生导师",
        )
    )
    await session.commit()
    refused = problem(await seat(projects, stage, same_org), 409, "panel.expert_not_qualified")
    assert refused["reasons"] == ["conflict"]
    assert {c["application_id"] for c in refused["conflicts"]} == {
        str(apps["applicant"].id),
        str(apps["colleague"].id),
    }
    assert refused["conflicts"][0]["kinds"] == ["same_org"]
    declared = problem(await seat(projects, stage, declarer), 409, "panel.expert_not_qualified")
    assert declared["conflicts"] == [
        {"application_id": str(apps["applicant"].id), "kinds": ["declared"]}
    ]

    # An expert of applicant2's organization may sit while applicant2 is not shortlisted, and
    # then keeps applicant2 off the shortlist.
    of_org2 = await make_expert(session, projects, "p_org2", org=2, primary=FIELD)
    assert (await seat(projects, stage, of_org2)).status_code == 201
    clash = await projects.call(
        "PUT",
        f"/v1/panel-stages/{stage['id']}/shortlist/{apps['applicant2'].id}",
        "manager",
        json={"shortlisted": True, "reason": "补充答辩"},
    )
    assert problem(clash, 409, "panel.member_conflicted")["conflicts"] == [
        {"expert_id": str(of_org2.user_id), "kinds": ["same_org"]}
    ]
    members = await projects.call("GET", f"/v1/panel-stages/{stage['id']}/members", "manager")
    assert [m["expert_id"] for m in members.json()] == [str(of_org2.user_id)]


async def test_the_draw_leaves_conflicted_experts_out_of_its_pool(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    stage = await stage_of(session, projects, review, selection="draw", panel_size=2, reserves=1)
    free = await panel_experts(session, projects, "p1", "p2", "p3")
    conflicted = await make_expert(session, projects, "p_org1", org=1, primary=FIELD)
    await make_expert(session, projects, "outsider", primary=("110.1010",))  # another field
    drawn = await projects.call("POST", f"/v1/panel-stages/{stage['id']}/draws", "manager")
    assert drawn.status_code == 201, drawn.text
    body = drawn.json()
    assert set(body["pool"]) == {str(e.user_id) for e in free}
    assert body["excluded"] == [
        {
            "expert_id": str(conflicted.user_id),
            "reasons": ["conflict"],
            "conflicts": body["excluded"][0]["conflicts"],
        }
    ]
    assert str(conflicted.user_id) not in body["drawn"]


# --- who scores -------------------------------------------------------------------------------


async def test_only_seated_members_score_and_only_the_shortlist(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    apps = review.applications
    stage = await stage_of(session, projects, review)
    p1, p2, _ = await panel_experts(session, projects, "p1", "p2", "p3")
    for member in (p1, p2):
        assert (await seat(projects, stage, member)).status_code == 201
    colleague = apps["colleague"].id
    problem(await score(projects, stage, colleague, "p1", 80), 409, "state.invalid_transition")
    assert (await start(projects, stage)).status_code == 200

    saved = await score(projects, stage, colleague, "p1", 80)
    assert saved.status_code == 200, saved.text
    assert saved.json()["score"] == 80
    corrected = await score(projects, stage, colleague, "p1", 82)
    assert corrected.json()["score"] == 82
    problem(await score(projects, stage, colleague, "p3", 90), 404, "panel.not_found")
    assert (await score(projects, stage, colleague, "applicant", 90)).status_code == 403
    assert (await score(projects, stage, colleague, "manager", 90)).status_code == 403
    problem(
        await score(projects, stage, apps["applicant2"].id, "p1", 90), 404, "panel.not_shortlisted"
    )
    assert (await score(projects, stage, colleague, "p1", 101)).status_code == 422

    # A conflict that arises after seating bars the member from that application.
    session.add(
        DeclaredConflict(
            expert_id=p2.user_id,
            credit_code=org_code(1),
            reason="近期受聘于该单位",
        )
    )
    await session.commit()
    problem(await score(projects, stage, colleague, "p2", 75), 403, "panel.conflicted")

    mine = await projects.call("GET", "/v1/me/panel-memberships", "p1")
    assert mine.status_code == 200
    (seat_of_p1,) = mine.json()
    assert (seat_of_p1["status"], seat_of_p1["stage_state"]) == ("seated", "scoring")
    assert [(a["application_id"], a["my_score"]) for a in seat_of_p1["applications"]] == [
        (str(colleague), 82),
        (str(apps["applicant"].id), None),
    ]
    assert (await projects.call("GET", "/v1/me/panel-memberships", "p3")).json() == []


async def test_a_declined_member_scores_no_more(session: AsyncSession, projects: Projects) -> None:
    review = await written_review_done(session, projects)
    stage = await stage_of(session, projects, review)
    p1, p2 = await panel_experts(session, projects, "p1", "p2")
    seated = {}
    for member in (p1, p2):
        seated[member.name] = (await seat(projects, stage, member)).json()["id"]
    other = await projects.call(
        "POST", f"/v1/panel-members/{seated['p2']}/decline", "p1", json={"reason": "不是我的席位"}
    )
    problem(other, 404, "panel.member_not_found")
    declined = await projects.call(
        "POST", f"/v1/panel-members/{seated['p2']}/decline", "p2", json={"reason": "会期冲突"}
    )
    assert declined.status_code == 200, declined.text
    assert (declined.json()["declined"]["status"], declined.json()["moved_up"]) == (
        "declined",
        None,
    )
    problem(await start(projects, stage), 409, "panel.short")
    assert (await start(projects, stage, short_reason="一位专家回避，4人评议")).status_code == 200
    refused = await score(projects, stage, review.applications["colleague"].id, "p2", 70)
    problem(refused, 403, "panel.not_seated")


# --- the combined ranking and the decision ------------------------------------------------------


async def test_the_decision_draws_on_both_stages_weighted_as_the_call_says(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    review = await written_review_done(session, projects)
    apps = review.applications
    stage = await stage_of(session, projects, review)  # written 40 %, panel 60 %
    for member in await panel_experts(session, projects, "p1", "p2"):
        assert (await seat(projects, stage, member)).status_code == 201
    problem(
        await decide(projects, review.call, reject(apps["applicant2"])), 409, "panel.not_closed"
    )
    assert (await start(projects, stage)).status_code == 200
    scores = {("colleague", "p1"): 60, ("colleague", "p2"): 70, ("applicant", "p1"): 90}
    for (who, expert), value in scores.items():
        assert (await score(projects, stage, apps[who].id, expert, value)).status_code == 200
    missing = await projects.call("POST", f"/v1/panel-stages/{stage['id']}/close", "manager")
    assert len(problem(missing, 409, "panel.scores_missing")["missing"]) == 1
    assert (await score(projects, stage, apps["applicant"].id, "p2", 94)).status_code == 200

    ranking = await projects.call("GET", f"/v1/panel-stages/{stage['id']}/ranking", "manager")
    assert ranking.status_code == 200, ranking.text
    assert ranking.json()["final"] is False
    closed = await projects.call("POST", f"/v1/panel-stages/{stage['id']}/close", "manager")
    assert closed.status_code == 200, closed.text
    body = (await projects.call("GET", f"/v1/panel-stages/{stage['id']}/ranking", "manager")).json()
    assert (body["final"], body["written_weight"], body["panel_weight"]) == (True, 40, 60)
    # applicant: .4 * 70 + .6 * 92 = 83.2; colleague: .4 * 87 + .6 * 65 = 73.8
    assert [
        (i["application_id"], i["written_score"], i["panel_score"], i["combined"], i["rank"])
        for i in body["items"]
    ] == [
        (str(apps["applicant"].id), 70.0, 92.0, 83.2, 1),
        (str(apps["colleague"].id), 87.0, 65.0, 73.8, 2),
    ]
    assert sorted(s["score"] for s in body["items"][0]["panel_scores"]) == [90, 94]
    assert [e["application_id"] for e in body["not_shortlisted"]] == [str(apps["applicant2"].id)]

    listed = await projects.call("GET", f"/v1/calls/{review.call.id}/decisions", "manager")
    assert listed.json()["review_ranked_by"] == "combined"
    assert [
        (i["application_id"], i["review_rank"], i["review_score"]) for i in listed.json()["items"]
    ][:2] == [(str(apps["applicant"].id), 1, 83.2), (str(apps["colleague"].id), 2, 73.8)]
    unheard = await decide(projects, review.call, approve(apps["applicant2"]))
    assert problem(unheard, 409, "panel.approval_not_shortlisted")["application_ids"] == [
        str(apps["applicant2"].id)
    ]
    decided = await decide(
        projects, review.call, approve(apps["applicant"]), reject(apps["applicant2"])
    )
    assert decided.status_code == 200, decided.text


# --- the random draw ----------------------------------------------------------------------------


async def test_the_draw_is_recorded_reproducible_and_reserves_move_up(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    stage = await stage_of(session, projects, review, selection="draw", panel_size=2, reserves=2)
    experts = await panel_experts(session, projects, "p1", "p2", "p3", "p4", "p5")
    problem(await seat(projects, stage, experts[0]), 409, "panel.draw_required")
    drawn = await projects.call("POST", f"/v1/panel-stages/{stage['id']}/draws", "manager")
    assert drawn.status_code == 201, drawn.text
    record = drawn.json()
    pool = sorted(str(e.user_id) for e in experts)
    assert (record["algorithm"], record["pool"]) == ("sha256-rank/v1", pool)
    assert record["pool_hash"] == hashlib.sha256("\n".join(pool).encode()).hexdigest()
    seed = int(record["seed"])
    # Anyone can redo it from the documented algorithm: sort the pool by sha256("seed:id").
    by_hand = sorted(pool, key=lambda e: hashlib.sha256(f"{seed}:{e}".encode()).hexdigest())
    assert record["drawn"] == by_hand[:4]
    assert [(m["expert_id"], m["status"], m["position"]) for m in record["members"]] == [
        (by_hand[0], "seated", 1),
        (by_hand[1], "seated", 2),
        (by_hand[2], "reserve", 3),
        (by_hand[3], "reserve", 4),
    ]
    verified = await projects.call("POST", f"/v1/panel-draws/{record['id']}/verify", "manager")
    assert verified.status_code == 200, verified.text
    assert (verified.json()["matches"], verified.json()["pool_hash_matches"]) == (True, True)
    assert verified.json()["drawn"] == record["drawn"]
    # Another seed draws another order from the same pool.
    orders = {tuple(draw.draw_order(pool, seed + n)) for n in range(8)}
    assert len(orders) > 1
    assert draw.draw(pool, seed, 4) == record["drawn"]
    problem(
        await projects.call("POST", f"/v1/panel-stages/{stage['id']}/draws", "manager"),
        409,
        "panel.no_draw_needed",
    )

    # The first seated declines: the first reserve takes the seat, and is told.
    first = record["members"][0]
    names = {str(e.user_id): e.name for e in experts}
    declined = await projects.call(
        "POST",
        f"/v1/panel-members/{first['id']}/decline",
        names[first["expert_id"]],
        json={"reason": "会议当天另有任务"},
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["moved_up"]["expert_id"] == by_hand[2]
    seated_events = await outbox(session, "panel.member_seated")
    assert [(e["expert_id"], e["how"]) for e in seated_events] == [
        (by_hand[0], "drawn"),
        (by_hand[1], "drawn"),
        (by_hand[2], "reserve_moved_up"),
    ]
    stage_now = await projects.call("GET", f"/v1/panel-stages/{stage['id']}", "manager")
    assert (stage_now.json()["seated"], stage_now.json()["reserves_waiting"]) == (2, 1)
    actions = [t.action for t in await panel_history(session, stage["id"])]
    assert actions == ["opened", "members.drawn", "member.declined"]


def test_the_draw_algorithm_has_a_known_answer() -> None:
    """Fixed pool and seed, worked out by hand from the documented algorithm: pins it against
    any change (a change is a new algorithm version, never a new meaning of the old one)."""
    pool = [
        "0193a5c0-0000-7000-8000-00000000000c",
        "0193a5c0-0000-7000-8000-00000000000a",
        "0193a5c0-0000-7000-8000-00000000000b",
    ]
    keys = {e: hashlib.sha256(f"42:{e}".encode()).hexdigest() for e in pool}
    assert draw.draw_order(pool, 42) == sorted(pool, key=keys.__getitem__)
    assert draw.draw_order(reversed(pool), 42) == draw.draw_order(pool, 42)
    assert draw.pool_hash(pool) == hashlib.sha256("\n".join(sorted(pool)).encode()).hexdigest()
    assert draw.draw(pool, 42, 10) == draw.draw_order(pool, 42)


# --- who may run it -----------------------------------------------------------------------------


async def test_another_programs_manager_cannot_run_the_panel(
    session: AsyncSession, projects: Projects
) -> None:
    review = await written_review_done(session, projects)
    assert (await settings(projects, review, who="manager2")).status_code == 403
    stage = await stage_of(session, projects, review, selection="draw")
    await panel_experts(session, projects, "p1", "p2", "p3")
    drawn = await projects.call("POST", f"/v1/panel-stages/{stage['id']}/draws", "manager")
    draw_id = drawn.json()["id"]
    base = f"/v1/panel-stages/{stage['id']}"
    attempts = [
        ("GET", f"/v1/calls/{review.call.id}/panel-settings", None),
        ("GET", f"/v1/calls/{review.call.id}/panel-stage", None),
        ("GET", base, None),
        ("GET", f"{base}/shortlist", None),
        (
            "PUT",
            f"{base}/shortlist/{review.applications['applicant2'].id}",
            {"shortlisted": True, "reason": "补充答辩"},
        ),
        ("GET", f"{base}/members", None),
        ("POST", f"{base}/draws", None),
        ("GET", f"/v1/panel-draws/{draw_id}", None),
        ("POST", f"/v1/panel-draws/{draw_id}/verify", None),
        ("POST", f"{base}/start", {}),
        ("GET", f"{base}/ranking", None),
        ("POST", f"{base}/close", None),
    ]
    for method, path, body in attempts:
        other = await projects.call(method, path, "manager2", json=body)
        assert problem(other, 403, "program.not_managed"), path
        for role in ("expert", "applicant", "org_admin", "evaluator"):
            assert (await projects.call(method, path, role, json=body)).status_code == 403, path
        assert (await projects.call(method, path, None, json=body)).status_code == 401, path
    member_id = drawn.json()["members"][0]["id"]
    refused = await projects.call(
        "POST", f"/v1/panel-members/{member_id}/decline", "manager2", json={"reason": "代为谢绝"}
    )
    problem(refused, 403, "program.not_managed")
    reopened = await open_stage(projects, review, who="manager2")
    assert reopened.status_code == 403
