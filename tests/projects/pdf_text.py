"""The text of a PDF we issued, read back the simple way: reportlab writes each line as one
string (UCS-2 of the CID font) in an ASCII85- and Flate-encoded page stream."""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\) Tj")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, literal)


def pdf_text(pdf: bytes) -> str:
    """Every string the pages show, one per line (lines in the CID font decoded as UCS-2)."""
    lines: list[str] = []
    for match in _STREAM.finditer(pdf):
        body = match.group(1).strip()
        if not body.endswith(b"~>"):
            continue
        content = zlib.decompress(base64.a85decode(body[:-2]))
        for shown in _SHOWN.finditer(content):
            raw = _unescape(shown.group(1))
            try:
                lines.append(raw.decode("utf-16-be"))
            except UnicodeDecodeError:
                lines.append(raw.decode("latin-1"))
    return "\n".join(lines)
