"""Issued documents: the task book, approval notice, acceptance certificate and public notice
as PDF, numbered per kind and year without gaps, their hash recorded and checkable by anyone;
the same inputs give the same bytes; who may issue and who may download."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.documents.service import reproduce
from services.projects.models import IssuedDocument
from shared.clock import SHANGHAI
from shared.objectstore.base import ObjectStore, ObjectStoreError, StoredObject
from tests.projects.conftest import Projects
from tests.projects.pdf_text import pdf_text
from tests.projects.test_decisions import approved_projects
from tests.projects.test_execution import contracted_projects
from tests.projects.test_execution_reports import FINAL, ask, decide, file, review

VERIFY = "/v1/public/documents/verification"


async def issue(projects: Projects, project_id: str, kind: str, who: str = "manager") -> Any:
    return await projects.call(
        "POST", f"/v1/projects/{project_id}/documents", who, json={"kind": kind}
    )


async def download(projects: Projects, document_id: str, who: str | None) -> httpx.Response:
    return await projects.call("GET", f"/v1/documents/{document_id}/pdf", who)


async def check(projects: Projects, pdf: bytes) -> dict[str, Any]:
    reply = await projects.call(
        "POST", VERIFY, None, content=pdf, headers={"Content-Type": "application/pdf"}
    )
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


async def test_a_signed_task_book_is_issued_and_a_copy_is_verified(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    issued = await issue(projects, project_id, "task_book")
    assert issued.status_code == 201, issued.text
    document = issued.json()
    assert document["number"] == "RWS-2026-00001"
    assert (document["kind"], document["version"], document["current"]) == ("task_book", 1, True)

    pdf = await download(projects, document["id"], "applicant")
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert hashlib.sha256(pdf.content).hexdigest() == document["sha256"]
    assert pdf.headers["etag"] == f'"{document["sha256"]}"'
    assert "RWS-2026-00001-v1.pdf" in pdf.headers["content-disposition"]
    # Dated when issued (Shanghai time), not when rendered; Chinese set in STSong-Light.
    issued_at = projects.clock.now.astimezone(SHANGHAI)
    assert f"D:{issued_at:%Y%m%d%H%M%S}+08'00'".encode() in pdf.content
    assert b"/BaseFont /STSong-Light" in pdf.content
    text = pdf_text(pdf.content)
    assert "甘肃省科技计划项目任务书" in text
    assert "承担单位：兰州大学" in text
    assert "项目负责人：王芳" in text

    by_upload = await check(projects, pdf.content)
    assert by_upload == {
        "sha256": document["sha256"],
        "issued": True,
        "number": "RWS-2026-00001",
        "kind": "task_book",
        "version": 1,
        "issued_on": issued_at.date().isoformat(),
        "current": True,
        "current_version": 1,
    }
    by_hash = await projects.call("GET", VERIFY, None, params={"sha256": document["sha256"]})
    assert by_hash.json() == by_upload

    changed = bytearray(pdf.content)
    changed[len(changed) // 2] ^= 0x01
    refused = await check(projects, bytes(changed))
    assert refused["issued"] is False
    assert refused["number"] is None


async def test_the_same_inputs_give_the_same_bytes(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    first = (await issue(projects, project_id, "task_book")).json()
    projects.clock.advance(days=3)
    again = await issue(projects, project_id, "task_book")
    assert again.status_code == 200  # nothing it states changed: the current version
    assert again.json()["id"] == first["id"]

    row = await session.scalar(
        sa.select(IssuedDocument).where(IssuedDocument.id == again.json()["id"])
    )
    assert row is not None
    remade = reproduce(row)
    assert remade == reproduce(row)
    assert hashlib.sha256(remade).hexdigest() == first["sha256"]


async def test_a_changed_task_book_is_a_new_version_under_the_same_number(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    first = (await issue(projects, project_id, "task_book")).json()
    old_pdf = (await download(projects, first["id"], "applicant")).content
    asked = await ask(projects, project_id, kind="extension", new_ends_on="2029-06-30")
    assert (await decide(projects, project_id, asked.json()["id"], "approve")).status_code == 200
    projects.clock.advance(days=1)

    second = await issue(projects, project_id, "task_book")
    assert second.status_code == 201, second.text
    assert (second.json()["number"], second.json()["version"]) == ("RWS-2026-00001", 2)
    assert second.json()["sha256"] != first["sha256"]

    old = await check(projects, old_pdf)
    assert (old["issued"], old["version"], old["current"], old["current_version"]) == (
        True,
        1,
        False,
        2,
    )
    listed = await projects.call("GET", f"/v1/projects/{project_id}/documents", "applicant")
    assert [(d["version"], d["current"]) for d in listed.json()["items"]] == [(2, True), (1, False)]


async def test_numbers_run_per_kind_and_year_without_gaps(
    session: AsyncSession, projects: Projects
) -> None:
    first, second = await contracted_projects(session, projects, "applicant", "applicant2")
    store: ObjectStore = projects.app.state.objects

    class Failing:
        """The store, down for one write."""

        async def put(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
            raise ObjectStoreError("down")

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

    projects.app.state.objects = Failing()
    failed = await issue(projects, first, "task_book")
    assert failed.status_code == 503
    projects.app.state.objects = store

    numbers = [(await issue(projects, p, "task_book")).json()["number"] for p in (first, second)]
    assert numbers == ["RWS-2026-00001", "RWS-2026-00002"]
    notice = await issue(projects, second, "approval_notice")
    assert notice.status_code == 201, notice.text
    assert notice.json()["number"] == "LXTZ-2026-00001"


async def test_each_document_waits_until_what_it_states_is_settled(
    session: AsyncSession, projects: Projects
) -> None:
    [decision] = await approved_projects(session, projects, "applicant")
    project_id = decision["project_id"]
    for kind in ("task_book", "approval_notice", "acceptance_certificate"):
        reply = await issue(projects, project_id, kind)
        assert reply.status_code == 409, kind
        assert reply.json()["code"] == "document.not_ready"
    unknown = await issue(projects, project_id, "contract")
    assert unknown.status_code == 422
    assert (await session.scalar(sa.select(sa.func.count()).select_from(IssuedDocument))) == 0

    projects.clock.advance(days=8)  # the public notice is over, no objection
    notice = await issue(projects, project_id, "approval_notice")
    assert notice.status_code == 201, notice.text
    pdf = (await download(projects, notice.json()["id"], "org_admin")).content
    assert "甘肃省科技计划项目立项通知书" in pdf_text(pdf)


async def test_an_accepted_project_gets_its_acceptance_certificate(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    final = await file(projects, project_id, "final", **FINAL)
    assert (await review(projects, project_id, final.json()["id"], "passed")).status_code == 200
    certificate = await issue(projects, project_id, "acceptance_certificate")
    assert certificate.status_code == 201, certificate.text
    assert certificate.json()["number"] == "YSZS-2026-00001"
    pdf = await download(projects, certificate.json()["id"], "applicant")
    assert (await check(projects, pdf.content))["kind"] == "acceptance_certificate"


async def test_who_may_issue_and_who_may_download(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    for who, status in (("applicant", 403), ("org_admin", 403), ("manager2", 404)):
        assert (await issue(projects, project_id, "task_book", who)).status_code == status, who
    document = (await issue(projects, project_id, "task_book")).json()

    for who in ("applicant", "org_admin", "manager", "admin"):
        assert (await download(projects, document["id"], who)).status_code == 200, who
    for who in ("applicant2", "org_admin2", "manager2", "evaluator", "stranger", "expert"):
        refused = await download(projects, document["id"], who)
        assert refused.status_code == 404, who
        assert refused.headers["content-type"] == "application/problem+json"
        listed = await projects.call("GET", f"/v1/projects/{project_id}/documents", who)
        assert listed.status_code == 404, who
    assert (await download(projects, document["id"], None)).status_code == 401
    # A project's documents are not public: only its public notice is.
    public = await projects.call("GET", f"/v1/public/documents/{document['id']}/pdf", None)
    assert public.status_code == 404


async def test_the_public_notice_is_public(session: AsyncSession, projects: Projects) -> None:
    decisions = await approved_projects(session, projects, "applicant", "applicant2")
    project = await projects.call("GET", f"/v1/projects/{decisions[0]['project_id']}", "manager")
    call_id = project.json()["call_id"]
    assert (
        await projects.call("POST", f"/v1/calls/{call_id}/public-notice", "manager2")
    ).status_code == 403
    issued = await projects.call("POST", f"/v1/calls/{call_id}/public-notice", "manager")
    assert issued.status_code == 201, issued.text
    assert issued.json()["number"] == "GS-2026-00001"

    listed = await projects.call("GET", f"/v1/public/calls/{call_id}/public-notices", None)
    assert [n["number"] for n in listed.json()["items"]] == ["GS-2026-00001"]
    pdf = await projects.call("GET", f"/v1/public/documents/{issued.json()['id']}/pdf", None)
    assert pdf.status_code == 200
    text = pdf_text(pdf.content)
    assert all(d["project_number"] in text for d in decisions)
    assert (await check(projects, pdf.content))["kind"] == "public_notice"


async def test_checking_a_copy_refuses_bad_input(projects: Projects) -> None:
    for bad in ("abc", "g" * 64, "a" * 63):
        reply = await projects.call("GET", VERIFY, None, params={"sha256": bad})
        assert reply.status_code == 422, bad
        assert reply.headers["content-type"] == "application/problem+json"
    not_pdf = await projects.call(
        "POST", VERIFY, None, content=b"hello", headers={"Content-Type": "text/plain"}
    )
    assert not_pdf.status_code == 415
    assert not_pdf.json()["code"] == "document.not_pdf"
    huge = await projects.call(
        "POST",
        VERIFY,
        None,
        content=b"%PDF-" + b"0" * (10 * 1024 * 1024),
        headers={"Content-Type": "application/pdf"},
    )
    assert huge.status_code == 413
    unknown = await projects.call("GET", VERIFY, None, params={"sha256": "A" * 64})
    assert unknown.json() == {
        "sha256": "a" * 64,
        "issued": False,
        "number": None,
        "kind": None,
        "version": None,
        "issued_on": None,
        "current": None,
        "current_version": None,
    }
