"""Reading an uploaded attachment from a multipart form, within the size and type limits.

The form is parsed as it streams in: a body whose Content-Length is over the limit is refused
before any of it is read, a file part of a refused type before its data is read, and a file
that grows past the limit as soon as it does. The SHA-256 is computed on the way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from services.projects.applications.exceptions import (
    AttachmentEmpty,
    AttachmentTooLarge,
    AttachmentTypeRejected,
    MalformedUpload,
)
from shared.errors import Text

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


@dataclass
class Upload:
    kind: str
    filename: str
    content_type: str
    content: bytes
    sha256: str


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


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


class _FormReader:
    """Callbacks for the streaming parser: keeps the fields and the one file."""

    def __init__(self, max_bytes: int, accepted: frozenset[str]) -> None:
        self.max_bytes = max_bytes
        self.accepted = accepted
        self.fields: dict[str, str] = {}
        self.file: _Part | None = None
        self.file_type = ""
        self.digest = hashlib.sha256()
        self.parts = 0
        self.ended = False
        self._part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()

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
        elif len(part.data) + len(chunk) > self.max_bytes:
            raise _too_large(self.max_bytes)
        else:
            self.digest.update(chunk)
        part.data += chunk

    def _end(self) -> None:
        if self._part.filename is None:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace").strip()

    def _finished(self) -> None:
        self.ended = True


async def read_upload(request: Request, *, max_bytes: int, accepted: frozenset[str]) -> Upload:
    """The `kind` field and the one file of a multipart/form-data request."""
    media_type, options = parse_options_header(request.headers.get("content-type"))
    if media_type != b"multipart/form-data" or b"boundary" not in options:
        raise MalformedUpload(
            Text("请以 multipart/form-data 上传", "send the file as multipart/form-data")
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
        raise _too_large(max_bytes)
    reader = _FormReader(max_bytes, accepted)
    try:
        parser = MultipartParser(options[b"boundary"], reader.callbacks())
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + FORM_OVERHEAD:
                raise _too_large(max_bytes)
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ClientDisconnect) as exc:
        raise MalformedUpload() from exc
    if not reader.ended:
        raise MalformedUpload(Text("上传内容不完整", "the upload ended early"))
    return _upload(reader)


def _upload(reader: _FormReader) -> Upload:
    kind = reader.fields.get("kind", "")
    if not KIND.match(kind):
        raise MalformedUpload(
            Text(
                "kind 字段须为小写字母、数字和下划线（2-40 位）",
                "the kind field must be 2-40 lowercase letters, digits or underscores",
            )
        )
    if reader.file is None:
        raise MalformedUpload(Text("缺少文件（file 字段）", "no file (field `file`)"))
    content = bytes(reader.file.data)
    if not content:
        raise AttachmentEmpty()
    signatures = SIGNATURES.get(reader.file_type)
    if signatures is not None and not content.startswith(signatures):
        raise AttachmentTypeRejected(
            Text(
                f"文件内容与声明的类型 {reader.file_type} 不符",
                f"the content is not {reader.file_type}",
            )
        )
    return Upload(
        kind=kind,
        filename=safe_filename(reader.file.filename or ""),
        content_type=reader.file_type,
        content=content,
        sha256=reader.digest.hexdigest(),
    )


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the real (UTF-8) name for browsers (RFC 6266)."""
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
