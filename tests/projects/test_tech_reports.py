"""Science and technology reports (科技报告): described and deposited by the PI, the document
for the project's readers only, the abstract public from the end of its embargo, to the day
(docs/outputs.md)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Project, TechReport
from tests.projects.conftest import Projects, shanghai
from tests.projects.factories import insert_project, put_on_team
from tests.projects.test_execution import contracted_projects

PDF = b"%PDF-1.7\n" + "旱区小麦节水栽培技术研究最终科技报告".encode() + b"\n%%EOF\n"
ABSTRACT = (
    "本报告总结了河西走廊灌区小麦节水栽培关键技术研究与示范的主要成果，"
    "包括节水灌溉制度与示范推广情况。"
)


def described(kind: str = "final", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind,
        "title": "旱区小麦节水栽培关键技术研究与示范最终报告",
        "abstract": ABSTRACT,
    }
    if kind == "annual":
        body["year"] = 2026
    return body | overrides


async def describe(
    projects: Projects, project_id: str, body: dict[str, Any], who: str = "applicant"
) -> httpx.Response:
    return await projects.call("POST", f"/v1/projects/{project_id}/tech-reports", who, json=body)


async def upload(
    projects: Projects,
    project_id: str,
    report_id: str,
    who: str = "applicant",
    content: bytes = PDF,
    content_type: str = "application/pdf",
) -> httpx.Response:
    return await projects.call(
        "PUT",
        f"/v1/projects/{project_id}/tech-reports/{report_id}/document",
        who,
        files={"file": ("最终报告.pdf", content, content_type)},
    )


async def deposited(projects: Projects, project_id: str, body: dict[str, Any]) -> dict[str, Any]:
    draft = await describe(projects, project_id, body)
    assert draft.status_code == 201, draft.text
    done = await upload(projects, project_id, draft.json()["id"])
    assert done.status_code == 200, done.text
    report: dict[str, Any] = done.json()
    return report


def stored(tmp_path: Path) -> list[Path]:
    """The files in the test's object store (reports' documents)."""
    return [p for p in (tmp_path / "objects" / "tech-reports").rglob("*") if p.is_file()]


async def public_ids(projects: Projects) -> list[str]:
    listed = await projects.call("GET", "/v1/public/tech-reports", None)
    assert listed.status_code == 200, listed.text
    return [r["id"] for r in listed.json()["items"]]


async def test_the_pi_deposits_and_only_the_projects_readers_download(
    session: AsyncSession, projects: Projects, tmp_path: Path
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    project = await session.get(Project, UUID(project_id))
    assert project is not None
    await put_on_team(session, project, projects.callers["colleague"])

    assert (await describe(projects, project_id, described(), "colleague")).status_code == 403
    assert (await describe(projects, project_id, described(), "applicant2")).status_code == 404
    assert (await describe(projects, project_id, described(), "org_admin")).status_code == 403
    draft = await describe(projects, project_id, described(embargo_until="2027-01-01"))
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "draft"
    report_id = draft.json()["id"]
    path = f"/v1/projects/{project_id}/tech-reports/{report_id}"

    assert (await upload(projects, project_id, report_id, "colleague")).status_code == 403
    assert (await upload(projects, project_id, report_id, "applicant2")).status_code == 404
    not_pdf = await upload(
        projects,
        project_id,
        report_id,
        content=b"\x89PNG\r\n\x1a\n" + b"0" * 50,
        content_type="image/png",
    )
    assert not_pdf.status_code == 415
    fake_pdf = await upload(projects, project_id, report_id, content=b"MZ\x90\x00 not a pdf")
    assert fake_pdf.status_code == 415
    assert (await projects.call("GET", f"{path}/document", "manager")).status_code == 404
    assert stored(tmp_path) == []  # nothing is kept of a refused upload

    done = await upload(projects, project_id, report_id)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "deposited"
    assert done.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert done.json()["size_bytes"] == len(PDF)
    assert done.json()["abstract_public"] is False
    [kept] = stored(tmp_path)
    assert kept.read_bytes() == PDF
    again = await upload(projects, project_id, report_id)
    assert again.status_code == 409
    assert again.json()["code"] == "tech_report.deposited"

    for who in ("applicant", "colleague", "org_admin", "manager", "admin"):
        got = await projects.call("GET", f"{path}/document", who)
        assert got.status_code == 200, (who, got.text)
        assert got.content == PDF
        assert got.headers["etag"] == f'"{hashlib.sha256(PDF).hexdigest()}"'
        listed = await projects.call("GET", f"/v1/projects/{project_id}/tech-reports", who)
        assert [r["id"] for r in listed.json()["items"]] == [report_id], who
    for who in ("applicant2", "org_admin2", "manager2", "evaluator", "stranger"):
        for url in (path, f"{path}/document", f"/v1/projects/{project_id}/tech-reports"):
            hidden = await projects.call("GET", url, who)
            assert hidden.status_code == 404, (who, url)
    assert (await projects.call("GET", f"{path}/document", None)).status_code == 401

    story = await projects.call("GET", f"/v1/projects/{project_id}/history", "applicant")
    actions = [t["action"] for t in story.json()["items"] if t["entity"] == "tech_report"]
    assert actions == ["tech_report.described", "tech_report.deposited"]


async def test_the_abstract_is_public_from_the_embargo_day_and_not_a_day_before(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")  # 2026-03-10
    embargoed = await deposited(projects, project_id, described(embargo_until="2026-03-20"))
    open_now = await deposited(projects, project_id, described("annual", title="2026年度科技报告"))
    draft = await describe(projects, project_id, described("annual", year=2027))
    assert draft.status_code == 201

    assert await public_ids(projects) == [open_now["id"]]
    one = await projects.call("GET", f"/v1/public/tech-reports/{embargoed['id']}", None)
    assert one.status_code == 404
    assert one.json()["code"] == "tech_report.not_found"
    assert (
        await projects.call("GET", f"/v1/public/tech-reports/{draft.json()['id']}", None)
    ).status_code == 404

    projects.clock.now = shanghai(2026, 3, 19, 23, 59)
    assert await public_ids(projects) == [open_now["id"]]
    projects.clock.now = shanghai(2026, 3, 20, 0, 0)
    assert sorted(await public_ids(projects)) == sorted([open_now["id"], embargoed["id"]])
    public = await projects.call("GET", f"/v1/public/tech-reports/{embargoed['id']}", None)
    assert public.status_code == 200, public.text
    assert public.json() == {
        "id": embargoed["id"],
        "project_number": "2026-ZDYF-0001",
        "project_title": "旱区小麦节水栽培关键技术研究与示范",
        "program_code": "ZDYF",
        "organization_name": "兰州大学",
        "pi_name": "王芳",
        "kind": "final",
        "year": None,
        "title": "旱区小麦节水栽培关键技术研究与示范最终报告",
        "abstract": ABSTRACT,
        "deposited_on": "2026-03-10",
        "public_from": "2026-03-20",
    }  # never the document, its hash, nor who deposited it
    mine = await projects.call(
        "GET", f"/v1/projects/{project_id}/tech-reports/{embargoed['id']}", "applicant"
    )
    assert mine.json()["abstract_public"] is True

    filtered = await projects.call(
        "GET",
        "/v1/public/tech-reports",
        None,
        params={"program": "ZDYF", "project": "2026-ZDYF-0001", "year": 2026},
    )
    assert len(filtered.json()["items"]) == 2
    elsewhere = await projects.call(
        "GET", "/v1/public/tech-reports", None, params={"program": "ZDZX"}
    )
    assert elsewhere.json()["items"] == []


async def test_bad_reports_are_refused_and_one_final_report_is_kept(
    session: AsyncSession, projects: Projects, tmp_path: Path
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")  # 2026-03-10
    refused = [
        described(embargo_until="2026-03-09"),  # in the past
        described(embargo_until="2031-03-11"),  # more than five years
        described("annual", year=None),
        described(year=2026),  # a final report has no year
        described(abstract="太短"),
        described(kind="midterm"),
        described(title=""),
    ]
    for body in refused:
        reply = await describe(projects, project_id, body)
        assert reply.status_code == 422, (body, reply.text)
        assert reply.headers["content-type"] == "application/problem+json"
    assert await session.scalar(sa.select(sa.func.count()).select_from(TechReport)) == 0
    longest = await describe(projects, project_id, described(embargo_until="2031-03-10"))
    assert longest.status_code == 201, longest.text

    first = await describe(projects, project_id, described())
    second = await describe(projects, project_id, described())
    assert (await upload(projects, project_id, first.json()["id"])).status_code == 200
    duplicate = await upload(projects, project_id, second.json()["id"])
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "tech_report.duplicate"
    assert len(stored(tmp_path)) == 1  # the refused deposit's file was removed again

    accepted = await insert_project(session, projects, year=2025, status="accepted")
    late_annual = await describe(projects, str(accepted.id), described("annual"))
    assert late_annual.status_code == 409
    assert late_annual.json()["state"] == "accepted"
    assert (await describe(projects, str(accepted.id), described())).status_code == 201
    in_notice = await insert_project(session, projects, year=2025, status="in_notice")
    assert (await describe(projects, str(in_notice.id), described())).status_code == 409
