"""What an expert's list of assignments tells them in one call: the call, the version under
review, the team by name, where their sheet stands and the round's state; and, in a second
list, the assignments they declined, with whether for a conflict of interest."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.review.scoring.service import MIN_COMMENT
from tests.projects.conftest import ORGS, Projects
from tests.projects.test_review_scoring import review_round

COMMENT = "论证充分，技术路线清晰可行。"


async def test_my_assignments_name_the_call_the_version_the_team_and_my_sheet(
    projects: Projects, session: AsyncSession
) -> None:
    review = await review_round(
        session, projects, {"applicant": ("专家甲",), "applicant2": ("专家甲",)}
    )
    drafted = review.assignments[("applicant", "专家甲")]
    untouched = review.assignments[("applicant2", "专家甲")]
    saved = await projects.call(
        "PUT",
        review.sheet_path("applicant", "专家甲"),
        "专家甲",
        json={"scores": {"innovation": 80}, "comments": {"innovation": COMMENT}},
    )
    assert saved.status_code == 200, saved.text

    listed = await projects.call("GET", "/v1/me/assignments", "专家甲")
    assert listed.status_code == 200, listed.text
    items = {item["id"]: item for item in listed.json()["items"]}
    assert set(items) == {str(drafted.id), str(untouched.id)}
    mine = items[str(drafted.id)]
    assert (mine["call_id"], mine["call_title"]) == (str(review.call.id), review.call.title)
    assert mine["round_state"] == "reviewing"
    assert mine["comment_min_length"] == MIN_COMMENT
    assert mine["sheet"]["status"] == "draft"
    assert mine["sheet"]["saved_at"].endswith("+08:00")
    assert mine["sheet"]["submitted_at"] is None
    assert items[str(untouched.id)]["sheet"] is None
    reviewed = mine["application"]
    assert reviewed["version"] == 1
    assert reviewed["submitted_at"].endswith("+08:00")
    assert reviewed["organization_name"] == ORGS[1][0]
    pi = projects.callers["applicant"]
    assert reviewed["team_names"] == {str(pi.user_id): pi.name}
    detail = await projects.call("GET", f"/v1/me/assignments/{drafted.id}", "专家甲")
    assert detail.json() == mine


async def test_my_declined_assignments_say_whether_i_declared_a_conflict(
    projects: Projects, session: AsyncSession
) -> None:
    review = await review_round(
        session,
        projects,
        {"applicant": ("专家甲",), "applicant2": ("专家甲",)},
        status="invited",
    )
    conflicted = review.assignments[("applicant", "专家甲")]
    busy = review.assignments[("applicant2", "专家甲")]
    for assignment, body in (
        (conflicted, {"reason": "申请人是我的合作者", "conflict": True}),
        (busy, {"reason": "评审期间出差"}),
    ):
        declined = await projects.call(
            "POST", f"/v1/assignments/{assignment.id}/decline", "专家甲", json=body
        )
        assert declined.status_code == 200, declined.text

    listed = await projects.call("GET", "/v1/me/declined-assignments", "专家甲")
    assert listed.status_code == 200, listed.text
    items = {item["id"]: item for item in listed.json()["items"]}
    assert set(items) == {str(conflicted.id), str(busy.id)}
    first = items[str(conflicted.id)]
    assert first["conflict_declared"] is True
    assert first["reason"] == "申请人是我的合作者"
    assert first["call_title"] == review.call.title
    assert first["application_title"] == "旱区小麦节水栽培关键技术研究与示范"
    assert first["declined_at"].endswith("+08:00")
    assert "content" not in first
    assert items[str(busy.id)]["conflict_declared"] is False
    assert (await projects.call("GET", "/v1/me/assignments", "专家甲")).json()["items"] == []
    # Nobody else's declines, and not for other roles.
    assert (await projects.call("GET", "/v1/me/declined-assignments", "expert")).json()[
        "items"
    ] == []
    refused = await projects.call("GET", "/v1/me/declined-assignments", "applicant")
    assert refused.status_code == 403
