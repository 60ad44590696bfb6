"""Attachments: type and size limits, SHA-256, download, and references from versions."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Attachment
from shared.ids import uuid7
from shared.objectstore.base import DigestMismatch
from shared.objectstore.s3 import S3Store
from tests.projects.conftest import Projects, insert_call
from tests.projects.test_applications_helpers import PDF, act, draft, save, upload
from tests.s3_server import S3Server

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


# --- streamed to the object store ------------------------------------------------------------

BIG_PDF = PDF + os.urandom(700_000)


def stored_files(projects: Projects) -> list[str]:
    """What the (directory) store holds, in-flight writes included."""
    root = Path(projects.app.state.settings.objects_dir)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_a_download_streams_the_stored_file_whole_or_in_one_range(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    body = (await upload(projects, application["id"], data=BIG_PDF)).json()
    digest = hashlib.sha256(BIG_PDF)
    assert body["sha256"] == digest.hexdigest()
    row = await session.get(Attachment, UUID(body["id"]))
    assert row is not None
    assert row.object_key == f"attachments/{application['id']}/{body['id']}"
    assert stored_files(projects) == [row.object_key]
    path = f"/v1/applications/{application['id']}/attachments/{body['id']}"

    whole = await projects.call("GET", path, "applicant")
    assert whole.status_code == 200
    assert whole.content == BIG_PDF
    assert whole.headers["content-length"] == str(len(BIG_PDF))
    assert whole.headers["etag"] == f'"{digest.hexdigest()}"'
    assert whole.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
    assert whole.headers["accept-ranges"] == "bytes"

    size = len(BIG_PDF)
    for asked, start, end in (
        ("bytes=100-299", 100, 299),
        ("bytes=600000-", 600_000, size - 1),
        ("bytes=-50", size - 50, size - 1),
        (f"bytes=10-{size + 1000}", 10, size - 1),
    ):
        part = await projects.call("GET", path, "applicant", headers={"Range": asked})
        assert part.status_code == 206, asked
        assert part.content == BIG_PDF[start : end + 1]
        assert part.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert part.headers["content-length"] == str(end - start + 1)
        assert part.headers["etag"] == whole.headers["etag"]

    beyond = await projects.call("GET", path, "applicant", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.json()["code"] == "attachment.range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{size}"
    # Several ranges, a malformed one, or one of another version of the file: the whole file.
    for headers in (
        {"Range": "bytes=0-1,5-6"},
        {"Range": "lines=1-2"},
        {"Range": "bytes=0-1", "If-Range": '"another-version"'},
    ):
        full = await projects.call("GET", path, "applicant", headers=headers)
        assert full.status_code == 200, headers
        assert full.content == BIG_PDF


async def test_a_damaged_stored_file_is_never_delivered_whole(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    body = (await upload(projects, application["id"], data=BIG_PDF)).json()
    (key,) = stored_files(projects)
    damaged = bytearray(BIG_PDF)
    damaged[-1] ^= 0xFF
    (Path(projects.app.state.settings.objects_dir) / key).write_bytes(damaged)

    path = f"/v1/applications/{application['id']}/attachments/{body['id']}"
    # The transfer breaks off before its end (in process, the error itself reaches the client).
    with pytest.raises(DigestMismatch):
        await projects.call("GET", path, "applicant")


async def test_a_refused_upload_leaves_nothing_in_the_store(
    projects: Projects, session: AsyncSession
) -> None:
    projects.app.state.settings.attachment_max_bytes = 300_000
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    refused = [
        await upload(projects, application["id"], data=BIG_PDF),  # over the limit
        await upload(projects, application["id"], data=b"MZ" + BIG_PDF[:1000]),  # not a PDF
        await upload(projects, application["id"], kind="Not A Kind"),
        await upload(projects, application["id"], data=b""),
        await upload(
            projects, application["id"], data=b"MZ", filename="a.exe", content_type="text/x"
        ),
    ]
    assert [r.status_code for r in refused] == [413, 415, 422, 422, 415]
    assert stored_files(projects) == []
    assert await session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


async def test_an_unlisted_draft_attachment_is_deleted_with_its_file(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    kept = (await upload(projects, application["id"])).json()
    dropped = (await upload(projects, application["id"], kind="budget_details")).json()
    saved = await save(
        projects,
        application,
        attachments=[
            {"id": kept["id"], "kind": "feasibility_report"},
            {"id": dropped["id"], "kind": "budget_details"},
        ],
    )
    assert saved.status_code == 200
    base = f"/v1/applications/{application['id']}/attachments"
    listed = await projects.call("DELETE", f"{base}/{dropped['id']}", "applicant")
    assert listed.status_code == 409
    assert listed.json()["code"] == "attachment.in_use"
    assert (
        await projects.call("DELETE", f"{base}/{dropped['id']}", "applicant2")
    ).status_code == 404

    resaved = await save(
        projects, saved.json(), attachments=[{"id": kept["id"], "kind": "feasibility_report"}]
    )
    assert resaved.status_code == 200
    assert len(stored_files(projects)) == 2
    deleted = await projects.call("DELETE", f"{base}/{dropped['id']}", "applicant")
    assert deleted.status_code == 204
    assert stored_files(projects) == [f"attachments/{application['id']}/{kept['id']}"]
    assert (await projects.call("GET", f"{base}/{dropped['id']}", "applicant")).status_code == 404
    again = await projects.call("DELETE", f"{base}/{dropped['id']}", "applicant")
    assert again.status_code == 404


async def test_attachments_round_trip_through_an_s3_compatible_store(
    projects: Projects, session: AsyncSession, s3: S3Server, tmp_path: Path
) -> None:
    store = S3Store(
        endpoint=s3.endpoint,
        bucket="projects-attachments",
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        spool_dir=str(tmp_path),
    )
    await store.ensure_bucket()
    projects.app.state.objects = store
    try:
        call = await insert_call(session, projects)
        application = await draft(projects, call)
        body = (await upload(projects, application["id"], data=BIG_PDF)).json()
        assert body["sha256"] == hashlib.sha256(BIG_PDF).hexdigest()
        key = f"attachments/{application['id']}/{body['id']}"
        assert await store.size(key) == len(BIG_PDF)
        path = f"/v1/applications/{application['id']}/attachments/{body['id']}"
        assert (await projects.call("GET", path, "applicant")).content == BIG_PDF
        part = await projects.call("GET", path, "applicant", headers={"Range": "bytes=5-1004"})
        assert part.status_code == 206
        assert part.content == BIG_PDF[5:1005]
        assert (await upload(projects, application["id"], data=b"MZ...")).status_code == 415
        assert (await projects.call("DELETE", path, "applicant")).status_code == 204
        assert await store.size(key) is None
    finally:
        await store.close()


async def test_a_file_stored_for_an_upload_that_then_fails_is_removed(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    boundary = "test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n'
        f"feasibility_report\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head + BIG_PDF[:300_000]
        # While the file streams in, the applicant withdraws the application elsewhere.
        withdrawn = await act(projects, application["id"], "withdraw", "applicant", reason="撤回")
        assert withdrawn.status_code == 200
        yield BIG_PDF[300_000:] + f"\r\n--{boundary}--\r\n".encode()

    response = await projects.client.post(
        f"/v1/applications/{application['id']}/attachments",
        headers={
            **projects.callers["applicant"].headers,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body(),
    )
    assert response.status_code == 409
    assert response.json()["state"] == "withdrawn"
    assert stored_files(projects) == []
    assert await session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
