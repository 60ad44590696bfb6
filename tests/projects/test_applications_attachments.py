"""Attachments: type and size limits, SHA-256, download, and references from versions."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Attachment
from shared.ids import uuid7
from tests.projects.conftest import Projects, insert_call
from tests.projects.test_applications_helpers import PDF, act, draft, save, upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_an_upload_records_its_sha256_and_downloads_as_it_was(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    response = await upload(projects, application["id"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "feasibility_report"
    assert body["filename"] == "可行性研究报告.pdf"
    assert body["size"] == len(PDF)
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()

    listed = await projects.call(
        "GET", f"/v1/applications/{application['id']}/attachments", "org_admin"
    )
    assert [a["id"] for a in listed.json()["items"]] == [body["id"]]
    path = f"/v1/applications/{application['id']}/attachments/{body['id']}"
    # A draft's attachment is its applicant's side's: the agency sees what is submitted.
    assert (await projects.call("GET", path, "manager")).status_code == 404
    download = await projects.call("GET", path, "org_admin")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert quote("可行性研究报告.pdf") in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_types_outside_the_list_and_content_that_lies_are_refused(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    exe = await upload(
        projects,
        application["id"],
        data=b"MZ\x90\x00",
        filename="setup.exe",
        content_type="application/x-msdownload",
    )
    assert exe.status_code == 415
    assert exe.json()["code"] == "attachment.type_rejected"
    assert "application/pdf" in exe.json()["accepted"]
    # Declared a PDF, but it is not one.
    disguised = await upload(projects, application["id"], data=b"MZ\x90\x00 not a pdf")
    assert disguised.status_code == 415
    image = await upload(
        projects,
        application["id"],
        kind="site_photo",
        data=PNG,
        filename="试验田.png",
        content_type="image/png",
    )
    assert image.status_code == 201
    assert await session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


async def test_size_limits_empty_files_and_a_missing_kind(
    projects: Projects, session: AsyncSession
) -> None:
    projects.app.state.settings.attachment_max_bytes = 4096
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    at_limit = await upload(projects, application["id"], data=PDF.ljust(4096, b" "))
    assert at_limit.status_code == 201
    assert at_limit.json()["size"] == 4096
    over = await upload(projects, application["id"], data=PDF.ljust(4097, b" "))
    assert over.status_code == 413
    assert over.json()["code"] == "attachment.too_large"
    empty = await upload(projects, application["id"], data=b"")
    assert empty.status_code == 422
    assert empty.json()["code"] == "attachment.empty"
    no_kind = await projects.call(
        "POST",
        f"/v1/applications/{application['id']}/attachments",
        "applicant",
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert no_kind.status_code == 422
    assert no_kind.json()["code"] == "attachment.malformed"
    not_a_form = await projects.call(
        "POST", f"/v1/applications/{application['id']}/attachments", "applicant", json={}
    )
    assert not_a_form.status_code == 422
    assert await session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    limit = projects.app.state.settings.attachment_max_bytes
    read = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        read = True
        yield b"--x\r\n"

    response = await projects.client.post(
        f"/v1/applications/{application['id']}/attachments",
        headers={
            **projects.callers["applicant"].headers,
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(limit + 1024 * 1024),
        },
        content=body(),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "attachment.too_large"
    assert read is False


async def test_versions_reference_only_this_applications_attachments(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    mine = await draft(projects, call)
    theirs = await draft(projects, call, "applicant2")
    own = (await upload(projects, mine["id"])).json()
    foreign = (await upload(projects, theirs["id"], "applicant2")).json()

    good = await save(projects, mine, attachments=[{"id": own["id"], "kind": "feasibility_report"}])
    assert good.status_code == 200
    assert good.json()["content"]["attachments"] == [
        {"id": own["id"], "kind": "feasibility_report"}
    ]
    for refs in (
        [{"id": foreign["id"], "kind": "feasibility_report"}],
        [{"id": str(uuid7()), "kind": "feasibility_report"}],
        [{"id": own["id"], "kind": "budget_details"}],  # a different kind than uploaded
    ):
        bad = await save(projects, good.json(), attachments=refs)
        assert bad.status_code == 422
        assert bad.json()["code"] == "application.unknown_attachments"
        assert bad.json()["attachment_ids"] == [refs[0]["id"]]


async def test_only_the_applicant_uploads_and_only_readers_download(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    attachment = (await upload(projects, application["id"])).json()
    assert (await upload(projects, application["id"], "colleague")).status_code == 404
    assert (await upload(projects, application["id"], "org_admin")).status_code == 403
    path = f"/v1/applications/{application['id']}/attachments/{attachment['id']}"
    for outsider in ("applicant2", "org_admin2", "manager2", "stranger", "evaluator"):
        response = await projects.call("GET", path, outsider)
        assert response.status_code == 404, outsider
        assert response.json()["code"] == "application.not_found"
    other = await draft(projects, call, "colleague")
    wrong_parent = await projects.call(
        "GET", f"/v1/applications/{other['id']}/attachments/{attachment['id']}", "colleague"
    )
    assert wrong_parent.status_code == 404
    assert wrong_parent.json()["code"] == "attachment.not_found"

    await act(projects, application["id"], "withdraw", "applicant", reason="不再申报")
    late = await upload(projects, application["id"])
    assert late.status_code == 409
    assert late.json()["state"] == "withdrawn"
