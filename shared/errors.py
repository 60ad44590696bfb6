"""Errors as problem+json (RFC 9457) with a stable, language-free `code`.

Domain code raises `AppError` subclasses; one set of handlers renders every error, including
FastAPI's validation errors and Starlette's 404/405, so clients see one shape everywhere.
`title` and `detail` follow Accept-Language: Chinese by default, English on request, and so
do the messages of validation errors (shared/validation_messages.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import validation_messages

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Text:
    """A message in both languages the product speaks."""

    zh: str
    en: str

    def pick(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class AppError(Exception):
    """Base of every error a client may see. Subclasses set status, code and title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"
    title: ClassVar[Text] = Text("请求错误", "Bad request")

    def __init__(
        self,
        detail: Text | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        keep_writes: bool = False,
    ) -> None:
        super().__init__(detail.en if detail else self.title.en)
        # keep_writes: the request's transaction commits although the request fails, for
        # writes that are the point of the failure (a failed-login count, a revoked family).
        self.keep_writes = keep_writes
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = Text("资源不存在", "Not found")


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = Text("状态冲突", "Conflict")


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = Text("无权执行此操作", "Forbidden")


class Unauthorized(AppError):
    status = 401
    code = "auth.unauthenticated"
    title = Text("需要有效的身份凭证", "Authentication required")

    def __init__(self, detail: Text | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    title = Text("请求过于频繁", "Too many requests")


class ServiceUnavailable(AppError):
    status = 503
    code = "service.unavailable"
    title = Text("服务暂不可用", "Service unavailable")


def preferred_language(accept_language: str | None) -> str:
    """'en' when the client prefers English over Chinese, else 'zh'."""
    best_lang, best_q = "zh", 0.0
    for index, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= index * 1e-6  # earlier wins among equals
        primary = tag.split("-")[0]
        if primary in ("en", "zh") and q > best_q:
            best_lang, best_q = primary, q
    return best_lang


def problem_body(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: Text,
    detail: Text | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lang = preferred_language(request.headers.get("accept-language") if request else None)
    body: dict[str, Any] = {
        "type": f"https://sciplan.dev/problems/{code}",
        "title": title.pick(lang),
        "status": status,
        "code": code,
    }
    if detail is not None:
        body["detail"] = detail.pick(lang)
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra or {})
    return body


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: Text,
    detail: Text | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(request, status=status, code=code, title=title, detail=detail, extra=extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


_HTTP_CODES: dict[int, tuple[str, Text]] = {
    401: ("auth.unauthenticated", Unauthorized.title),
    403: ("forbidden", Forbidden.title),
    404: ("not_found", NotFound.title),
    405: ("method_not_allowed", Text("不支持该请求方法", "Method not allowed")),
    413: ("request.too_large", Text("请求体过大", "Request body too large")),
}


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extra=exc.extra,
    )


def validation_problem(request: Request, errors: Sequence[Mapping[str, Any]]) -> JSONResponse:
    """422 listing each error's `loc`, `type` and `msg`, in the client's language."""
    lang = preferred_language(request.headers.get("accept-language"))
    listed = [
        {
            "loc": list(err.get("loc", ())),
            "msg": validation_messages.message(dict(err), lang),
            "type": err.get("type", ""),
        }
        for err in errors
    ]
    return problem_response(
        request,
        status=422,
        code="request.invalid",
        title=Text("请求参数无效", "Invalid request"),
        detail=Text("请检查 errors 中列出的字段", "See the fields listed in errors"),
        extra={"errors": listed},
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_problem(request, exc.errors())


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, ("http.error", Text("请求错误", "HTTP error")))
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(
        request, status=exc.status_code, code=code, title=title, headers=headers
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal",
        title=Text("服务器内部错误", "Internal server error"),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected_error)
