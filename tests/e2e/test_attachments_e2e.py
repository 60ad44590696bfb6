"""Attachments through the gateway, as processes: the applicant uploads a file larger than
anything the gateway holds in memory, downloads it whole and in part, and deletes it; another
applicant reaches none of it. The file lies in the projects service's store, not its database."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from shared.credit_code import check_character
from tests.conftest import RunningStack, wait_until
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client
from tests.e2e.projects_steps import application_content, assign_manager, login_as, published_call

pytestmark = pytest.mark.e2e

FILE = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024)


def stored(stack: RunningStack) -> list[str]:
    assert stack.stack.log_dir is not None  # the stack's projects store lies beside its logs
    root = stack.stack.log_dir / "objects"
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


async def test_an_applicant_uploads_downloads_a_range_and_deletes_and_no_one_else_can(
    stack: RunningStack,
) -> None:
    body = "91620100MA7N0FXL2"
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        org = await create_org(client, stack, admin, "兰州交通大学", body + check_character(body))
        pm = await create_user(client, stack, admin, "pm.files", ["program_manager"])
        pi = await create_user(client, stack, admin, "pi.files", ["applicant"], org_id=org["id"])
        await create_user(client, stack, admin, "other.files", ["applicant"], org_id=org["id"])
        await assign_manager(client, api, {"Authorization": f"Bearer {admin}"}, pm["id"])
        manager = await login_as(client, stack, "pm.files")
        call = await published_call(client, api, manager, timedelta(hours=2), title="附件测试")
        owner = await login_as(client, stack, "pi.files")
        other = await login_as(client, stack, "other.files")

        made: list[httpx.Response] = []

        async def drafted() -> bool:  # once projects has heard of the applicant
            response = await client.post(
                f"{api}/applications",
                headers=owner,
                json={"call_id": call["id"], "content": application_content(pi["id"], [])},
            )
            made.append(response)
            return response.status_code == 201

        await wait_until(drafted)
        base = f"{api}/applications/{made[-1].json()['id']}/attachments"

        uploaded = await client.post(
            base,
            headers=owner,
            data={"kind": "feasibility_report"},
            files={"file": ("可行性报告.pdf", FILE, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        attachment = uploaded.json()
        assert attachment["size"] == len(FILE)
        assert attachment["sha256"] == hashlib.sha256(FILE).hexdigest()
        path = f"{base}/{attachment['id']}"
        assert [key.rsplit("/", 1)[-1] for key in stored(stack)].count(attachment["id"]) == 1

        whole = await client.get(path, headers=owner)
        assert whole.status_code == 200
        assert whole.content == FILE
        assert whole.headers["content-length"] == str(len(FILE))
        assert whole.headers["etag"] == f'"{attachment["sha256"]}"'
        part = await client.get(path, headers=owner | {"Range": "bytes=1000000-1000999"})
        assert part.status_code == 206
        assert part.content == FILE[1_000_000:1_001_000]
        assert part.headers["content-range"] == f"bytes 1000000-1000999/{len(FILE)}"
        beyond = await client.get(path, headers=owner | {"Range": f"bytes={len(FILE)}-"})
        assert beyond.status_code == 416

        # Another applicant, even of the same organization: nothing to see, nothing to touch.
        for response in (
            await client.get(path, headers=other),
            await client.get(path, headers=other | {"Range": "bytes=0-9"}),
            await client.delete(path, headers=other),
            await client.post(
                base,
                headers=other,
                data={"kind": "feasibility_report"},
                files={"file": ("x.pdf", FILE[:1000], "application/pdf")},
            ),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "application.not_found"

        deleted = await client.delete(path, headers=owner)
        assert deleted.status_code == 204

        async def file_removed() -> bool:  # after the response, once the commit is done
            return attachment["id"] not in " ".join(stored(stack))

        await wait_until(file_removed)
        assert (await client.get(path, headers=owner)).status_code == 404
