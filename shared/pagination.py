"""Pagination: a limit with a hard maximum, and either an offset or an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar, overload

from fastapi import APIRouter, Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.errors import AppError, Text, preferred_language

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
# Lists of one object's children (versions, attachments, reports, history) come unpaginated;
# the query still stops here so no single response grows without bound.
MAX_CHILDREN = 500

T = TypeVar("T")
R = TypeVar("R")


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


def start_of(page: PageParams) -> int:
    """Where a page starts: the offset asked for, or the one a `next_cursor` carries."""
    if page.cursor is None:
        return page.offset
    offset = page.cursor.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidCursor()
    return offset


def next_cursor(offset: int, limit: int, found: int) -> str | None:
    """A cursor to the next page when one more row than asked for (`limit + 1`) was found."""
    return encode_cursor({"offset": offset + limit}) if found > limit else None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@overload
def page_of(found: Sequence[T], offset: int, limit: int) -> Page[T]: ...


@overload
def page_of(found: Sequence[R], offset: int, limit: int, read: Callable[[R], T]) -> Page[T]: ...


def page_of(
    found: Sequence[Any], offset: int, limit: int, read: Callable[[Any], Any] | None = None
) -> Page[Any]:
    """The page of rows fetched at `offset` with one more than `limit` (which tells that
    another page follows), each turned into what the page shows by `read`."""
    rows = found[:limit]
    return Page(
        items=[read(row) for row in rows] if read else list(rows),
        next_cursor=next_cursor(offset, limit, len(found)),
    )


UNKNOWN = Text("该接口没有此参数", "this route has no such parameter")


class UnknownQueryParameter(AppError):
    status = 422
    code = "query.unknown_parameter"
    title = Text("不支持的查询参数", "Unknown query parameter")


_DECLARED = "_sciplan_declared_query"  # kept on the route: computed once per route


def _declared_query(route: APIRoute) -> frozenset[str]:
    kept = vars(route)
    names: frozenset[str] | None = kept.get(_DECLARED)
    if names is None:
        names = frozenset(_query_names(route.dependant))
        kept[_DECLARED] = names
    return names


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def refuse_unknown_query(request: Request) -> None:
    """A query parameter the route does not declare is refused (422), never ignored: a filter
    a client believes applied but that was dropped would silently widen what they get."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    unknown = sorted(set(request.query_params.keys()) - _declared_query(route))
    if unknown:
        language = preferred_language(request.headers.get("accept-language"))
        raise UnknownQueryParameter(
            Text(f"不支持的查询参数：{', '.join(unknown)}", f"unknown: {', '.join(unknown)}"),
            extra={
                "errors": [
                    {"loc": ["query", name], "msg": UNKNOWN.pick(language), "type": "unknown"}
                    for name in unknown
                ],
                "unknown": unknown,
                "accepted": sorted(_declared_query(route)),
            },
        )


def strict_query(router: APIRouter) -> APIRouter:
    """The router with every route refusing query parameters it does not declare."""
    strict = APIRouter(dependencies=[Depends(refuse_unknown_query)])
    strict.include_router(router)
    return strict
