"""Reading an uploaded attachment from a multipart form as it streams in, within the size and
type limits, passing the file's bytes on to the object store chunk by chunk.

A body whose Content-Length is over the limit is refused before any of it is read, a file
part of a refused type before its data is read, content that is not what its type says as
soon as its first bytes are in, and a file that grows past the limit as soon as it does. Every
check (the `kind` field too, which may come after the file) runs before the stream ends, so a
refused upload ends the store's write with an error and nothing is kept.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote
from uuid import UUID

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from services.projects.applications.exceptions import (
    AttachmentEmpty,
    AttachmentRangeNotSatisfiable,
    AttachmentTooLarge,
    AttachmentTypeRejected,
    MalformedUpload,
)
from shared.errors import Text
from shared.ids import uuid7
from shared.objectstore.base import ObjectStore

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# Boundaries, part headers and the `kind` field on top of the file itself.
FORM_OVERHEAD = 64 * 1024
MAX_FIELD_BYTES = 1024
MAX_PARTS = 8
KIND = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# The first bytes each accepted type starts with: a declared type must match the content.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
SIGNATURE_BYTES = max(len(s) for signatures in SIGNATURES.values() for s in signatures)


@dataclass
class Upload:
    attachment_id: UUID
    kind: str
    filename: str
    content_type: str
    object_key: str
    size: int
    sha256: str


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)  # of a field; a file's is passed on


def _too_large(limit: int) -> AttachmentTooLarge:
    mib = f"{limit / 1024 / 1024:.1f}"
    return AttachmentTooLarge(
        Text(f"附件不得超过 {mib} MiB", f"attachments may be at most {mib} MiB ({limit} bytes)"),
        headers={"Connection": "close"},
    )


def safe_filename(raw: str) -> str:
    """The last path component, without control characters, at most 200 characters."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "attachment"
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 199 - len(extension)] + dot + extension) if dot else name[:200]
    return name


class UploadForm:
    """A multipart/form-data upload: `kind` and one `file`.

    `file_chunks()` reads the request and yields the file's bytes as they arrive; it raises
    the first problem it finds, at the latest before its end. `store()` passes them to the
    object store.
    """

    def __init__(self, request: Request, *, max_bytes: int, accepted: frozenset[str]) -> None:
        self.request = request
        self.max_bytes = max_bytes
        self.accepted = accepted
        self.fields: dict[str, str] = {}
        self.file: _Part | None = None
        self.file_type = ""
        self.file_size = 0
        self.parts = 0
        self.ended = False
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._head = bytearray()  # the file's first bytes, until its signature is checked
        self._signed = False
        self._passed: list[bytes] = []  # file bytes parsed from the last chunk, to pass on

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_end": self._finished,
        }

    async def file_chunks(self) -> AsyncIterator[bytes]:
        media_type, options = parse_options_header(self.request.headers.get("content-type"))
        if media_type != b"multipart/form-data" or b"boundary" not in options:
            raise MalformedUpload(
                Text("请以 multipart/form-data 上传", "send the file as multipart/form-data")
            )
        declared = self.request.headers.get("content-length")
        limit = self.max_bytes + FORM_OVERHEAD
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(self.max_bytes)
        try:
            parser = MultipartParser(options[b"boundary"], self.callbacks())
            received = 0
            async for chunk in self.request.stream():
                received += len(chunk)
                if received > limit:
                    raise _too_large(self.max_bytes)
                parser.write(chunk)
                for piece in self._passed:
                    yield piece
                self._passed.clear()
            parser.finalize()
        except (FormParserError, ClientDisconnect) as exc:
            raise MalformedUpload() from exc
        for piece in self._passed:
            yield piece
        self._passed.clear()
        self._check_complete()

    async def store(self, store: ObjectStore, application_id: UUID) -> Upload:
        """Streams the file into the store: all of it, checked, or nothing (and an error)."""
        attachment_id = uuid7()
        key = f"attachments/{application_id}/{attachment_id}"
        stored = await store.put(key, self.file_chunks())
        assert self.file is not None  # file_chunks() ended without raising
        return Upload(
            attachment_id=attachment_id,
            kind=self.fields["kind"],
            filename=safe_filename(self.file.filename or ""),
            content_type=self.file_type,
            object_key=stored.key,
            size=stored.size,
            sha256=stored.sha256,
        )

    def _begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MalformedUpload(Text("表单字段过多", "too many form parts"))
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._part.headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part.headers.get(b"content-disposition"))
        if b"name" not in options:
            raise MalformedUpload(Text("表单字段缺少名称", "a form part has no name"))
        self._part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if self.file is not None:
            raise MalformedUpload(Text("每次只能上传一个文件", "upload one file at a time"))
        self._part.filename = options[b"filename"].decode("utf-8", "replace")
        declared, _ = parse_options_header(self._part.headers.get(b"content-type"))
        self.file_type = declared.decode("latin-1").lower()
        if self.file_type not in self.accepted:
            declared_type, accepted = self.file_type or "-", sorted(self.accepted)
            raise AttachmentTypeRejected(
                Text(
                    f"不接受 {declared_type} 类型；可接受：{'、'.join(accepted)}",
                    f"{declared_type} is not accepted; accepted: {', '.join(accepted)}",
                ),
                extra={"accepted": accepted},
            )
        self.file = self._part

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        chunk = data[start:end]
        if part.filename is None:
            if len(part.data) + len(chunk) > MAX_FIELD_BYTES:
                raise MalformedUpload(Text("表单字段过长", "a form field is too long"))
            part.data += chunk
            return
        self.file_size += len(chunk)
        if self.file_size > self.max_bytes:
            raise _too_large(self.max_bytes)
        if not self._signed:
            self._head += chunk[:SIGNATURE_BYTES]
            if len(self._head) >= SIGNATURE_BYTES:
                self._check_signature()
        self._passed.append(chunk)

    def _check_signature(self) -> None:
        self._signed = True
        signatures = SIGNATURES.get(self.file_type)
        if signatures is not None and not bytes(self._head).startswith(signatures):
            raise AttachmentTypeRejected(
                Text(
                    f"文件内容与声明的类型 {self.file_type} 不符",
                    f"the content is not {self.file_type}",
                )
            )

    def _end(self) -> None:
        if self._part.filename is None:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace").strip()
        elif not self._signed and self.file_size:
            self._check_signature()  # a file shorter than the longest signature

    def _finished(self) -> None:
        self.ended = True

    def _check_complete(self) -> None:
        if not self.ended:
            raise MalformedUpload(Text("上传内容不完整", "the upload ended early"))
        if not KIND.match(self.fields.get("kind", "")):
            raise MalformedUpload(
                Text(
                    "kind 字段须为小写字母、数字和下划线（2-40 位）",
                    "the kind field must be 2-40 lowercase letters, digits or underscores",
                )
            )
        if self.file is None:
            raise MalformedUpload(Text("缺少文件（file 字段）", "no file (field `file`)"))
        if self.file_size == 0:
            raise AttachmentEmpty()


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the real (UTF-8) name for browsers (RFC 6266)."""
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True)
class ByteRange:
    start: int
    length: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.start + self.length - 1}/{size}"


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def requested_range(
    header: str | None, if_range: str | None, etag: str, size: int
) -> ByteRange | None:
    """The one byte range asked for (RFC 9110 §14); None for the whole file.

    A Range header that is not one well-formed `bytes=` range is ignored (the whole file is
    sent, as the RFC allows), and so is one whose If-Range names another version of the file.
    A well-formed range that starts past the end cannot be served: 416.
    """
    if header is None or (if_range is not None and if_range.strip() != etag):
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise AttachmentRangeNotSatisfiable(size)
        start = max(size - suffix, 0)
        return ByteRange(start, size - start)
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise AttachmentRangeNotSatisfiable(size)
    return ByteRange(start, end - start + 1)
