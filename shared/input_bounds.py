"""What PostgreSQL can store, checked on every request value: integers within BIGINT, text
without NUL, floats that are finite.

Pydantic accepts any Python int and any str, so `2**64` or a NUL byte used to pass validation
and fail in the database (a 500). Rather than a bound on every schema field, the check runs
where FastAPI validates each parameter of every route (path, query, header, cookie, form and
JSON body): `ModelField.validate`. After a value passed its own schema, the validated result
is walked (models, lists, dicts, nested) and anything out of bounds becomes a validation error
at its `loc`, so the client gets the usual 422 naming the field.

A field that really holds integers beyond BIGINT says so with `AnyInteger` in its annotation
(`Annotated[int, AnyInteger()]`).

A NUL in the URL path itself (`%00`) is refused before anything else sees the request
(`NulPathGuard`): the gateway's audit log keeps the path, and a row PostgreSQL cannot store would
take the other rows of its group with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi._compat import v2 as fastapi_compat
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.datastructures import UploadFile
from starlette.routing import Router, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import validation_problem

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
NUL_ERROR = "string_contains_nul"

# Where request values come from, as the first element of FastAPI's `loc`.
_REQUEST_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})

Loc = tuple[int | str, ...]
Errors = list[dict[str, Any]]


class AnyInteger:
    """Marks an integer field allowed beyond PostgreSQL BIGINT (stored as numeric or text)."""

    def __repr__(self) -> str:
        return "AnyInteger()"


def _unbounded(info: FieldInfo) -> bool:
    return any(isinstance(item, AnyInteger) for item in info.metadata)


# Per model class: (attribute name, name in `loc`, whether integers are bounded).
_ModelFields = tuple[tuple[str, str, bool], ...]
_model_fields: dict[type[BaseModel], _ModelFields] = {}


def _fields_of(model: type[BaseModel]) -> _ModelFields:
    fields = _model_fields.get(model)
    if fields is None:
        fields = _model_fields[model] = tuple(
            (name, info.alias or name, not _unbounded(info))
            for name, info in model.model_fields.items()
        )
    return fields


def _error(kind: str, loc: Loc, value: Any, msg: str, **ctx: Any) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value, "ctx": ctx}


def _nul_error(loc: Loc, value: str) -> dict[str, Any]:
    return _error(NUL_ERROR, loc, value, "String should not contain the NUL character")


_TEXT, _INTEGER, _FLOAT, _MODEL, _MAPPING, _SEQUENCE, _UPLOAD, _OTHER = range(8)
# What each type of value is, decided once per type: most values are UUIDs, dates and short
# strings, and an `isinstance` against BaseModel (an ABC) for each would cost more than the walk.
_kinds: dict[type, int] = {}


def _kind_of(cls: type) -> int:
    kind = _kinds.get(cls)
    if kind is None:
        if issubclass(cls, str):
            kind = _TEXT
        elif issubclass(cls, bool):
            kind = _OTHER
        elif issubclass(cls, int):
            kind = _INTEGER
        elif issubclass(cls, float):
            kind = _FLOAT
        elif issubclass(cls, BaseModel):
            kind = _MODEL
        elif issubclass(cls, dict):
            kind = _MAPPING
        elif issubclass(cls, list | tuple | set | frozenset):
            kind = _SEQUENCE
        elif issubclass(cls, UploadFile):
            kind = _UPLOAD
        else:
            kind = _OTHER
        _kinds[cls] = kind
    return kind


def out_of_bounds(value: Any, loc: Loc, errors: Errors, bounded: bool = True) -> None:
    """Appends an error for every value under `value` that PostgreSQL could not store."""
    _walk(value, list(loc), errors, bounded)


def _walk(value: Any, path: list[int | str], errors: Errors, bounded: bool) -> None:
    # `path` is the loc so far, extended and restored in place: a tuple per value would cost
    # more than the checks (a loc is made only for an error).
    kind = _kinds.get(type(value))
    if kind is None:
        kind = _kind_of(type(value))
    if kind == _TEXT:
        if "\x00" in value:
            errors.append(_nul_error(tuple(path), value))
    elif kind == _INTEGER:
        if bounded and not BIGINT_MIN <= value <= BIGINT_MAX:
            errors.append(_range_error(tuple(path), value))
    elif kind == _FLOAT:
        if not math.isfinite(value):
            errors.append(
                _error("finite_number", tuple(path), value, "Input should be a finite number")
            )
    elif kind == _MODEL:
        for name, label, bounded_field in _fields_of(type(value)):
            _step(getattr(value, name), label, path, errors, bounded and bounded_field)
        if value.model_extra:
            for key, item in value.model_extra.items():
                _step(item, key, path, errors, bounded)
    elif kind == _MAPPING:
        for key, item in value.items():
            _step(key, key, path, errors, bounded)
            _step(item, key, path, errors, bounded)
    elif kind == _SEQUENCE:
        for index, item in enumerate(value):
            if _kinds.get(type(item)) != _OTHER:
                _step(item, index, path, errors, bounded)
    elif kind == _UPLOAD and value.filename:
        _step(value.filename, "filename", path, errors, bounded)


def _step(
    value: Any, label: int | str, path: list[int | str], errors: Errors, bounded: bool
) -> None:
    if _kinds.get(type(value)) == _OTHER:
        return  # a UUID, a date, None: nothing to check, and the most common case
    path.append(label)
    _walk(value, path, errors, bounded)
    path.pop()


def _range_error(loc: Loc, value: int) -> dict[str, Any]:
    if value > BIGINT_MAX:
        message = f"Input should be less than or equal to {BIGINT_MAX}"
        return _error("less_than_equal", loc, value, message, le=BIGINT_MAX)
    message = f"Input should be greater than or equal to {BIGINT_MIN}"
    return _error("greater_than_equal", loc, value, message, ge=BIGINT_MIN)


Validate = Callable[..., tuple[Any, Errors]]


def _bounded(validate: Validate) -> Validate:
    def validate_within_bounds(
        self: fastapi_compat.ModelField,
        value: Any,
        values: dict[str, Any] = {},  # noqa: B006 (FastAPI's own signature)
        *,
        loc: Loc = (),
    ) -> tuple[Any, Errors]:
        result, errors = validate(self, value, values, loc=loc)
        if errors or not loc or loc[0] not in _REQUEST_SOURCES:
            return result, errors  # invalid already, or a response being checked
        problems: Errors = []
        out_of_bounds(result, tuple(loc), problems, not _unbounded(self.field_info))
        return (None, problems) if problems else (result, errors)

    validate_within_bounds.input_bounds = True  # type: ignore[attr-defined]
    return validate_within_bounds


class NulPathGuard:
    """422 for a URL path with a NUL character, before the middleware inside it run."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope["path"]:
            errors = [_nul_error(loc, scope["path"]) for loc in self._locs(scope)]
            await validation_problem(Request(scope), errors)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _locs(self, scope: Scope) -> list[Loc]:
        """`("path", name)` of each path parameter with the NUL, as validation would name it
        (found by matching the route templates again: this runs only for such a path)."""
        for context in iter_route_contexts(self.router.routes):
            if context.path is None:
                continue
            found = compile_path(context.path)[0].match(scope["path"])
            if found:
                named: list[Loc] = [
                    ("path", k) for k, v in found.groupdict().items() if "\x00" in v
                ]
                if named:
                    return named
        return [("path",)]


def install_input_bounds(app: FastAPI) -> None:
    """Bounds every request value of `app` (and, the hook being FastAPI's field class, of every
    app in the process: each app installs it so that none relies on another having done so).

    Adds `NulPathGuard` as a middleware: call it after adding the middleware that must not see
    such a path (the audit log), before the ones that should (the request id and access log).
    """
    model_field = fastapi_compat.ModelField
    if not getattr(model_field.validate, "input_bounds", False):
        model_field.validate = _bounded(model_field.validate)  # type: ignore[method-assign]
    app.add_middleware(NulPathGuard, router=app.router)
