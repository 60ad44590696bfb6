"""A report's document: received as a PDF upload streamed into the object store (the limits
and checks of application attachments), and given back streamed and checked against its
SHA-256."""

from __future__ import annotations

import base64
import logging
from uuid import UUID

from starlette.responses import Response

from services.projects.applications.attachments import (
    Upload,
    UploadForm,
    content_disposition,
    safe_filename,
)
from services.projects.exceptions import AttachmentContentMissing
from services.projects.models import TechReport
from shared.ids import uuid7
from shared.objectstore.base import ObjectNotFound, ObjectStore, hash_checked
from shared.objectstore.requests import ObjectResponse

log = logging.getLogger(__name__)

DOCUMENT_TYPES = frozenset({"application/pdf"})  # deposited reports are PDF (GB/T 7713.3)


class DocumentForm(UploadForm):
    """A multipart upload of one `file`; the `kind` field of attachments may be left out."""

    def _check_complete(self) -> None:
        self.fields.setdefault("kind", "tech_report")
        super()._check_complete()

    async def store_document(self, store: ObjectStore, project_id: UUID) -> Upload:
        """Streams the file into the store: all of it, checked, or nothing (and an error)."""
        document_id = uuid7()
        stored = await store.put(f"tech-reports/{project_id}/{document_id}", self.file_chunks())
        assert self.file is not None  # file_chunks() ended without raising
        return Upload(
            attachment_id=document_id,
            kind=self.fields["kind"],
            filename=safe_filename(self.file.filename or ""),
            content_type=self.file_type,
            object_key=stored.key,
            size=stored.size,
            sha256=stored.sha256,
        )


async def document_response(report: TechReport, objects: ObjectStore) -> Response:
    """The whole document, its last chunk held back until its hash matches the recorded one."""
    if report.object_key is None or report.sha256 is None:
        raise AttachmentContentMissing()
    headers = {
        "Content-Disposition": content_disposition(report.filename or "report.pdf"),
        "ETag": f'"{report.sha256}"',
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(report.sha256)).decode()}:",
        "Content-Length": str(report.size_bytes),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    try:
        stream = hash_checked(await objects.get(report.object_key), report.sha256)
    except ObjectNotFound:
        log.error("tech report %s: no object at %s", report.id, report.object_key)
        raise AttachmentContentMissing() from None
    return ObjectResponse(stream, headers=headers, media_type=report.content_type)
