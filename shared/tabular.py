"""Lists as CSV or XLSX files, streamed batch by batch, never all in memory.

The caller gives the first batch already read (so that a refusal, 403 or 404, is still an
ordinary problem+json answer) and an iterator of the rest. CSV goes out as the batches come,
after a UTF-8 byte order mark (Excel reads Chinese correctly only with one). XLSX is a zip whose
index comes last: its rows go to a temporary file (openpyxl's write-only mode), which is then
streamed and removed.

Text that a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage
return before one) is written with a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date, datetime
from enum import Enum, StrEnum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import quote
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from shared.clock import SHANGHAI

Cell = str | int | float | bool | date | datetime | UUID | None
Row = Sequence[Cell]
Batch = Sequence[Row]

BOM = "\ufeff"
BATCH_ROWS = 500
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML (so XLSX) cannot hold: control characters but tab, newline, carriage return.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What an export route answers, for OpenAPI.
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file: CSV (UTF-8 with BOM) or XLSX",
        "content": {"text/csv": {}, XLSX_TYPE: {}},
    }
}


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


FormatQuery = Annotated[
    ExportFormat, Query(alias="format", description="csv (UTF-8 with BOM) or xlsx")
]


def safe_text(text: str) -> str:
    """`text` as a spreadsheet shows it, never run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _value(cell: Cell) -> str | int | float | bool | None:
    """A cell as written: times in Shanghai, ids and dates as text, formulas disarmed."""
    if cell is None or isinstance(cell, bool | int | float):
        return cell
    if isinstance(cell, datetime):
        moment = cell.astimezone(SHANGHAI) if cell.tzinfo else cell
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, Enum):
        return str(cell.value)
    return safe_text(str(cell))


def model_columns(model: type[BaseModel], *, leave_out: Sequence[str] = ()) -> list[str]:
    """The fields of a list's item model that fit in a cell (nested objects and lists do
    not), in the model's order: a file shows what the list shows."""
    return [
        name
        for name, field in model.model_fields.items()
        if name not in leave_out and _fits_a_cell(field.annotation)
    ]


def _fits_a_cell(annotation: Any) -> bool:
    if get_origin(annotation) is Literal:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return all(_fits_a_cell(a) for a in get_args(annotation))
    scalar = (str, int, float, bool, date, datetime, UUID, type(None))
    return isinstance(annotation, type) and issubclass(annotation, scalar)


def model_row(item: BaseModel, columns: Sequence[str]) -> list[Cell]:
    return [getattr(item, name) for name in columns]


def _content_disposition(filename: str) -> str:
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _csv(header: Row, first: Batch, rest: AsyncIterator[Batch]) -> AsyncIterator[bytes]:
    def encode(rows: Sequence[Row]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerows([[_value(c) for c in row] for row in rows])
        return out.getvalue().encode()

    yield BOM.encode() + encode([header, *first])
    async for batch in rest:
        if batch:
            yield encode(batch)


def _xlsx_cell(cell: Cell) -> str | int | float | bool | None:
    value = _value(cell)
    return _NOT_IN_XML.sub("", value) if isinstance(value, str) else value


async def _xlsx_file(
    header: Row, first: Batch, rest: AsyncIterator[Batch], sheet_title: str
) -> str:
    """The path of a temporary XLSX file with every row (the caller removes it)."""
    from openpyxl import Workbook  # deferred: only exports need it, and it loads slowly

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])

    def append(rows: Sequence[Row]) -> None:
        for row in rows:
            sheet.append([_xlsx_cell(c) for c in row])

    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="sciplan-export-")
    os.close(handle)
    try:
        await asyncio.to_thread(append, [header, *first])
        async for batch in rest:
            await asyncio.to_thread(append, batch)
        await asyncio.to_thread(workbook.save, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


async def _file_chunks(path: str, chunk_bytes: int = 256 * 1024) -> AsyncIterator[bytes]:
    try:
        with open(path, "rb") as file:  # noqa: ASYNC230 (each read runs in a thread)
            while chunk := await asyncio.to_thread(file.read, chunk_bytes):
                yield chunk
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


async def export_response(
    export_format: ExportFormat,
    filename: str,
    header: Row,
    batches: AsyncIterator[Batch],
) -> StreamingResponse:
    """The rows of `batches` as a file download; `filename` without its extension."""
    first: Batch = await anext(batches, [])
    disposition = _content_disposition(f"{filename}.{export_format.value}")
    headers = {"Content-Disposition": disposition, "Cache-Control": "private, no-store"}
    if export_format is ExportFormat.csv:
        return StreamingResponse(
            _csv(header, first, batches), media_type="text/csv; charset=utf-8", headers=headers
        )
    path = await _xlsx_file(header, first, batches, filename)
    headers["Content-Length"] = str(await asyncio.to_thread(os.path.getsize, path))
    return StreamingResponse(_file_chunks(path), media_type=XLSX_TYPE, headers=headers)


async def in_batches(
    fetch: Callable[[int, int], Any], *, size: int = BATCH_ROWS
) -> AsyncIterator[Batch]:
    """Batches from `fetch(offset, limit)` (an awaitable of rows) until one comes back short."""
    offset = 0
    while True:
        rows: Batch = await fetch(offset, size)
        yield rows
        if len(rows) < size:
            return
        offset += size
