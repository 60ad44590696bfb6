"""Pagination: a limit with a hard maximum, and either an offset or an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from shared.errors import AppError, Text

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

T = TypeVar("T")


class InvalidCursor(AppError):
    status = 400
    code = "pagination.invalid_cursor"
    title = Text("分页游标无效", "Invalid pagination cursor")


class PageParams(BaseModel):
    limit: int
    offset: int
    cursor: dict[str, Any] | None


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(value, dict):
        raise InvalidCursor()
    return value


# async: a plain `def` dependency would cost a trip through the thread pool on every request.
async def _page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    cursor: Annotated[str | None, Query(description="opaque cursor from `next_cursor`")] = None,
) -> PageParams:
    return PageParams(limit=limit, offset=offset, cursor=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
