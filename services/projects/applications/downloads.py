"""An attachment's bytes as an HTTP response: streamed from the object store, whole or one
byte range, named by its SHA-256 (ETag, Repr-Digest).

A whole file is hashed on its way out and its last chunk held back until the hash matches the
recorded one: a damaged object is cut short (and logged), never delivered as if sound. A range
cannot be checked on its own; a client checks the whole file against `Repr-Digest`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping

from starlette.responses import Response

from services.projects.applications.attachments import content_disposition, requested_range
from services.projects.exceptions import AttachmentContentMissing
from services.projects.models import Attachment
from shared.objectstore.base import ObjectNotFound, ObjectStore, hash_checked
from shared.objectstore.requests import ObjectResponse

log = logging.getLogger(__name__)


async def attachment_response(
    attachment: Attachment, objects: ObjectStore, request_headers: Mapping[str, str]
) -> Response:
    etag = f'"{attachment.sha256}"'
    size = attachment.size_bytes
    wanted = requested_range(
        request_headers.get("range"), request_headers.get("if-range"), etag, size
    )
    if attachment.object_key is None:
        log.error("attachment %s is not in the object store yet", attachment.id)
        raise AttachmentContentMissing()
    headers = {
        "Content-Disposition": content_disposition(attachment.filename),
        "ETag": etag,
        # RFC 9530: the digest of the whole file, also on a part of it.
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(attachment.sha256)).decode()}:",
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    try:
        if wanted is None:
            stream = hash_checked(await objects.get(attachment.object_key), attachment.sha256)
            headers["Content-Length"] = str(size)
            status = 200
        else:
            stream = await objects.get(attachment.object_key, wanted.start, wanted.length)
            headers["Content-Length"] = str(wanted.length)
            headers["Content-Range"] = wanted.content_range(size)
            status = 206
    except ObjectNotFound:
        log.error("attachment %s: no object at %s", attachment.id, attachment.object_key)
        raise AttachmentContentMissing() from None
    return ObjectResponse(
        stream, status_code=status, headers=headers, media_type=attachment.content_type
    )
