"""An attachment uploaded from the draft editor, passed on to the projects API as it arrives,
then listed in the draft (a new version).

The page's script sends the form with the CSRF token in a header, so the portal never parses the
body: it streams it, with its multipart boundary and length, to the API, which checks type and
size as the bytes come. A form sent without the script carries the token inside the body, which
the CSRF check has parsed already; its file is sent on from there.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from services.portal.api import ApiProblem
from services.portal.draft_form import with_attachment
from services.portal.people import Person


async def _send(request: Request, p: Person, path: str) -> dict[str, Any]:
    if "x-csrf-token" in request.headers:
        headers = {"Content-Type": request.headers.get("content-type", "")}
        if "content-length" in request.headers:
            headers["Content-Length"] = request.headers["content-length"]
        response = await p.api.request("POST", path, content=request.stream(), headers=headers)
    else:
        form = await request.form()
        kind, upload = form.get("kind"), form.get("file")
        if not isinstance(upload, UploadFile) or not isinstance(kind, str):
            title = p.t("请选择要上传的文件", "Choose a file to upload")
            raise ApiProblem(422, {"title": title})
        response = await p.api.request(
            "POST",
            path,
            data={"kind": kind},
            files={"file": (upload.filename or "file", upload.file, upload.content_type)},
        )
    body: dict[str, Any] = response.json()
    return body


async def forward_upload(request: Request, p: Person, application_path: str) -> None:
    """Uploads the request's file to the application and lists it in its draft."""
    attachment = await _send(request, p, f"{application_path}/attachments")
    application = await p.api.get(application_path)
    content = with_attachment(application["content"], attachment["id"], attachment["kind"])
    await p.api.send(
        "PUT", application_path, json={"content": content, "base_version": application["version"]}
    )
