"""Lists as CSV and XLSX (`/v1/exports/...`): the list's rows, filters and object-level scope;
a UTF-8 BOM; formulas disarmed; XLSX that openpyxl opens. And the public bulk data per year."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import openpyxl
from sqlalchemy.ext.asyncio import AsyncSession

from shared.tabular import in_batches
from tests.projects.conftest import ZDYF, ZDZX, Projects, closed_call, insert_application
from tests.projects.factories import insert_project
from tests.projects.test_outputs import PAPER, paper, registered, team_project, verified
from tests.projects.test_review_scoring_results import scored_round

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_rows(reply: httpx.Response) -> list[dict[str, str]]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads Chinese right
    return list(csv.DictReader(io.StringIO(reply.content.decode("utf-8-sig"))))


def xlsx_rows(reply: httpx.Response) -> list[dict[str, Any]]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(reply.content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    names = [str(name) for name in header]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def export(
    projects: Projects, path: str, who: str | None, fmt: str = "csv", **params: Any
) -> httpx.Response:
    return await projects.call("GET", f"/v1/exports/{path}", who, params={"format": fmt, **params})


async def test_projects_export_the_list_in_the_callers_scope(
    session: AsyncSession, projects: Projects
) -> None:
    mine = [
        await insert_project(session, projects, "applicant", title="旱区小麦节水栽培"),
        await insert_project(session, projects, "applicant2", title="高原夏菜冷链保鲜"),
    ]
    other = await insert_project(session, projects, "colleague", ZDZX, title="重大专项：氢能")

    listed = await projects.call("GET", "/v1/projects", "manager")
    rows = csv_rows(await export(projects, "projects", "manager"))
    assert [r["number"] for r in rows] == [p["number"] for p in listed.json()["items"]]
    assert {r["number"] for r in rows} == {p.number for p in mine}
    assert rows[0]["title"] in {"旱区小麦节水栽培", "高原夏菜冷链保鲜"}
    assert rows[0]["notice_starts_at"] == "2026-03-02 10:00:00"  # Shanghai time
    assert rows[0]["approved_budget_fen"] == "80000000"

    # Another program's manager gets nothing of this program, and no filter changes that.
    theirs = csv_rows(await export(projects, "projects", "manager2"))
    assert [r["number"] for r in theirs] == [other.number]
    filtered = csv_rows(await export(projects, "projects", "manager2", program_id=str(ZDYF)))
    assert filtered == []
    # The PI, their organization: their own only.
    assert [r["number"] for r in csv_rows(await export(projects, "projects", "applicant"))] == [
        mine[0].number
    ]
    assert (await export(projects, "projects", "stranger")).content.count(b"\n") == 1
    assert (await export(projects, "projects", None)).status_code == 401

    workbook = xlsx_rows(await export(projects, "projects", "manager", "xlsx"))
    assert [r["number"] for r in workbook] == [r["number"] for r in rows]
    assert workbook[0]["approved_budget_fen"] == 80_000_000
    assert workbook[0]["title"] == rows[0]["title"]


async def test_cells_that_would_run_as_formulas_are_escaped(
    session: AsyncSession, projects: Projects
) -> None:
    titles = ['=HYPERLINK("http://evil.example","点击")', "+1+2", "-3", "@SUM(A1)", "普通标题"]
    for title in titles:
        await insert_project(session, projects, "applicant", title=title)

    shown = {r["title"] for r in csv_rows(await export(projects, "projects", "manager"))}
    assert shown == {"'" + t for t in titles[:4]} | {"普通标题"}

    workbook = xlsx_rows(await export(projects, "projects", "manager", "xlsx"))
    assert {r["title"] for r in workbook} == shown  # text, never a formula
    sheet = openpyxl.load_workbook(
        io.BytesIO((await export(projects, "projects", "manager", "xlsx")).content)
    ).active
    assert sheet is not None
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


async def test_applications_and_decisions_export_in_scope(
    session: AsyncSession, projects: Projects
) -> None:
    call = await closed_call(session, projects)
    applications = [
        await insert_application(session, projects, call, who=p)
        for p in ("applicant", "applicant2")
    ]
    other_call = await closed_call(session, projects, ZDZX)
    await insert_application(session, projects, other_call, who="colleague")

    rows = csv_rows(await export(projects, "applications", "manager", call_id=str(call.id)))
    assert {r["id"] for r in rows} == {str(a.id) for a in applications}
    assert csv_rows(await export(projects, "applications", "manager2", call_id=str(call.id))) == []
    own = csv_rows(await export(projects, "applications", "applicant"))
    assert [r["id"] for r in own] == [str(applications[0].id)]
    assert (
        xlsx_rows(await export(projects, "applications", "applicant", "xlsx"))[0]["title"]
        == own[0]["title"]
    )

    decisions = csv_rows(await export(projects, f"calls/{call.id}/decisions", "manager"))
    assert {r["application_id"] for r in decisions} == {str(a.id) for a in applications}
    refused = await export(projects, f"calls/{call.id}/decisions", "manager2")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await export(projects, f"calls/{call.id}/decisions", "applicant")).status_code == 403


async def test_review_scores_export_one_row_per_review(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects)
    path = f"review-rounds/{review.round.id}/results"
    rows = csv_rows(await export(projects, path, "manager"))
    assert len(rows) == 5  # 2 + 2 + 1 reviews
    assert sorted(float(r["weighted_total"]) for r in rows) == [40.0, 61.0, 79.0, 87.0, 87.0]
    assert all(r["expert_name"] for r in rows)
    workbook = xlsx_rows(await export(projects, path, "manager", "xlsx"))
    assert sorted(r["weighted_total"] for r in workbook) == [40.0, 61.0, 79.0, 87.0, 87.0]
    assert (await export(projects, path, "manager2")).status_code == 403
    assert (await export(projects, path, "expert")).status_code == 403


async def test_an_export_asks_for_a_known_format(projects: Projects) -> None:
    for params in ({"format": "pdf"}, {}):
        reply = await projects.call("GET", "/v1/exports/projects", "manager", params=params)
        assert reply.status_code == 422
        assert reply.headers["content-type"] == "application/problem+json"


async def test_batches_follow_each_other_until_one_is_short() -> None:
    seen: list[tuple[int, int]] = []

    async def fetch(offset: int, limit: int) -> list[list[int]]:
        seen.append((offset, limit))
        return [[n] for n in range(offset, min(offset + limit, 7))]

    batches = [b async for b in in_batches(fetch, size=3)]
    assert [len(b) for b in batches] == [3, 3, 1]
    assert seen == [(0, 3), (3, 3), (6, 3)]


# --- public bulk data -------------------------------------------------------------------------


async def test_bulk_data_per_year_is_what_public_disclosure_shows(
    session: AsyncSession, projects: Projects
) -> None:
    funded = [
        await insert_project(session, projects, "applicant", title="旱区小麦节水栽培"),
        await insert_project(session, projects, "applicant2", ZDZX, status="in_progress"),
    ]
    await insert_project(session, projects, "colleague", status="cancelled")
    await insert_project(session, projects, "colleague", year=2025)

    index = await projects.call("GET", "/v1/public/bulk/projects", None)
    assert index.status_code == 200
    assert index.json()[0] == {
        "year": 2026,
        "projects": 2,
        "csv": "/api/projects/v1/public/bulk/projects/2026.csv",
        "jsonl": "/api/projects/v1/public/bulk/projects/2026.jsonl",
    }

    rows = csv_rows(await projects.call("GET", "/v1/public/bulk/projects/2026.csv", None))
    assert [r["number"] for r in rows] == sorted(p.number for p in funded)
    assert "pi_id" not in rows[0]
    assert "application_id" not in rows[0]
    assert {r["pi_name"] for r in rows} == {"王芳", "刘洋"}

    lines = await projects.call("GET", "/v1/public/bulk/projects/2026.jsonl", None)
    assert lines.status_code == 200
    records = [json.loads(line) for line in lines.text.splitlines()]
    one = await projects.call("GET", f"/v1/public/projects/{funded[0].number}", None)
    assert one.json() in records  # exactly what the public search shows
    assert [r["number"] for r in records] == [r["number"] for r in rows]

    empty = await projects.call("GET", "/v1/public/bulk/projects/2030.csv", None)
    assert len(csv_rows(empty)) == 0
    assert (
        await projects.call("GET", "/v1/public/bulk/projects/1999.csv", None)
    ).status_code == 422


async def test_a_projects_outputs_export_to_whoever_reads_the_project(
    session: AsyncSession, projects: Projects
) -> None:
    project_id = await team_project(session, projects)
    verified_id = await verified(projects, project_id, paper(1))
    pending_id = await registered(projects, project_id, paper(2, title="=1+1"), "colleague")
    path = f"projects/{project_id}/outputs"

    rows = csv_rows(await export(projects, path, "manager"))
    assert {r["id"]: r["status"] for r in rows} == {verified_id: "verified", pending_id: "pending"}
    assert {r["title"] for r in rows} == {PAPER["title"], "'=1+1"}
    only_verified = csv_rows(await export(projects, path, "colleague", status="verified"))
    assert [r["id"] for r in only_verified] == [verified_id]
    workbook = xlsx_rows(await export(projects, path, "org_admin", "xlsx"))
    assert sorted(r["id"] for r in workbook) == sorted(r["id"] for r in rows)
    # Whoever may not read the project gets no file of it.
    for outsider in ("manager2", "applicant2", "stranger"):
        refused = await export(projects, path, outsider)
        assert refused.status_code in (403, 404), (outsider, refused.text)
