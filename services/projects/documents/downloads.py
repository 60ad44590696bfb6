"""An issued document's PDF as an HTTP response, streamed from the object store and checked
against its recorded SHA-256 on the way out; and the hash of a copy sent to be checked."""

from __future__ import annotations

import base64
import hashlib
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from services.projects.applications.attachments import content_disposition
from services.projects.documents.exceptions import (
    DocumentContentMissing,
    NotAPdf,
    VerificationTooLarge,
)
from services.projects.models import IssuedDocument
from shared.objectstore.base import ObjectNotFound, ObjectStore, hash_checked
from shared.objectstore.requests import ObjectResponse

log = logging.getLogger(__name__)

# Our documents are a few hundred kilobytes at most; anything far larger is not one of them.
MAX_CHECKED_BYTES = 10 * 1024 * 1024
# The file as it is, labelled as a PDF or as plain bytes (what generic clients send).
ACCEPTED_TYPES = ("application/pdf", "application/octet-stream")


async def document_response(
    document: IssuedDocument, objects: ObjectStore, *, public: bool = False
) -> Response:
    headers = {
        "Content-Disposition": content_disposition(f"{document.number}-v{document.version}.pdf"),
        "ETag": f'"{document.sha256}"',
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(document.sha256)).decode()}:",
        "Content-Length": str(document.size_bytes),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=300" if public else "private, no-store",
    }
    try:
        stream = hash_checked(await objects.get(document.object_key), document.sha256)
    except ObjectNotFound:
        log.error("document %s: no object at %s", document.id, document.object_key)
        raise DocumentContentMissing() from None
    return ObjectResponse(stream, headers=headers, media_type="application/pdf")


async def sha256_of_body(request: Request) -> str:
    """The SHA-256 of a PDF sent as the request body, read as it streams in."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        raise NotAPdf()
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_CHECKED_BYTES:
        raise VerificationTooLarge(headers={"Connection": "close"})
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_CHECKED_BYTES:
                raise VerificationTooLarge(headers={"Connection": "close"})
            digest.update(chunk)
    except ClientDisconnect:
        raise NotAPdf() from None
    return digest.hexdigest()
