"""The portal: server-rendered pages that call the gateway's API as the logged-in person.

The gateway serves it at `/` (its API stays at `/api/...` and `/auth/...`). It keeps only
sessions (see sessions/store.py); everything shown comes from the API, so every authorization
decision stays in the service that owns the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from services.portal.api import ApiProblem, Gateway, SessionExpired
from services.portal.config import PortalSettings
from services.portal.csrf import CsrfRefused
from services.portal.i18n import language, translator
from services.portal.pages.account import router as account_router
from services.portal.pages.applicant import router as applicant_router
from services.portal.pages.credit import router as credit_router
from services.portal.pages.evaluator import router as evaluator_router
from services.portal.pages.expert import router as expert_router
from services.portal.pages.finance import router as finance_router
from services.portal.pages.home import router as home_router
from services.portal.pages.inbox import router as inbox_router
from services.portal.pages.manager import router as manager_router
from services.portal.pages.my_projects import router as my_projects_router
from services.portal.pages.organization import router as organization_router
from services.portal.pages.public import router as public_router
from services.portal.people import LoginRequired, Visitor, login_url, session_cookie_name
from services.portal.rendering import render
from services.portal.security import PortalHeadersMiddleware
from services.portal.sessions.store import SessionStore
from shared.db import Database
from shared.errors import Text, problem_response
from shared.middleware import RequestIdMiddleware
from shared.periodic import every
from shared.tracing import telemetry, tracing_for

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SWEEP_EVERY_SECONDS = 600.0


def _plain_visitor(request: Request) -> Visitor:
    lang = language(request)
    api = request.app.state.gateway.as_person(None, lang, "")
    return Visitor(request=request, lang=lang, api=api, csrf_token=request.state.csrf_token)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _install_error_pages(app: FastAPI, settings: PortalSettings) -> None:
    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = login_url(exc.next_path)
        if _is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def session_expired(request: Request, exc: Exception) -> Response:
        response = await login_required(request, LoginRequired(request.url.path))
        response.delete_cookie(session_cookie_name(settings.secure_cookies), path="/")
        return response

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        t = translator(language(request))
        problem = ApiProblem(
            403,
            {
                "title": t(
                    "请求被拒绝：表单已过期或来自其他网站",
                    "Refused: the form is stale or came from another site",
                ),
                "detail": t("请刷新页面后重试。", "Reload the page and try again."),
            },
        )
        return render(_plain_visitor(request), "error.html", status_code=403, problem=problem)

    async def api_problem(request: Request, exc: Exception) -> Response:
        # A problem no page handled itself: the API's own words, with its status.
        assert isinstance(exc, ApiProblem)
        status = exc.status if 400 <= exc.status < 600 else 502
        return render(_plain_visitor(request), "error.html", status_code=status, problem=exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        t = translator(language(request))
        titles = {404: t("没有这个页面", "No such page"), 405: t("不支持该操作", "Not allowed")}
        problem = ApiProblem(
            exc.status_code, {"title": titles.get(exc.status_code, str(exc.detail))}
        )
        return render(
            _plain_visitor(request), "error.html", status_code=exc.status_code, problem=problem
        )

    async def invalid_form(request: Request, exc: Exception) -> Response:
        # Forms are built by the pages, so a field the server cannot read means a stale or
        # hand-made request: say so plainly rather than with a JSON error.
        t = translator(language(request))
        problem = ApiProblem(422, {"title": t("表单内容无效", "The form could not be read")})
        return render(_plain_visitor(request), "error.html", status_code=422, problem=problem)

    async def gateway_unreachable(request: Request, exc: Exception) -> Response:
        log.warning("gateway unreachable: %r", exc)
        t = translator(language(request))
        problem = ApiProblem(
            503,
            {
                "title": t("服务暂时不可用", "The service is unavailable for the moment"),
                "detail": t("请稍后重试。", "Please try again shortly."),
            },
        )
        return render(_plain_visitor(request), "error.html", status_code=503, problem=problem)

    app.add_exception_handler(httpx.HTTPError, gateway_unreachable)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_form)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(SessionExpired, session_expired)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    app.add_exception_handler(ApiProblem, api_problem)


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    settings = settings or PortalSettings()
    tracing = tracing_for(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        if tracing is not None:
            tracing.start()
        gateway = Gateway(
            settings.gateway_url, settings.http_timeout_seconds, traced=tracing is not None
        )
        app.state.db = db
        app.state.gateway = gateway
        stop = asyncio.Event()

        async def sweep() -> bool:
            async with db.sessionmaker() as session, session.begin():
                await SessionStore(session, settings).sweep(datetime.now(UTC))
            return False

        sweeping = asyncio.create_task(every(lambda: SWEEP_EVERY_SECONDS, sweep, stop, "sessions"))
        try:
            yield
        finally:
            stop.set()
            sweeping.cancel()
            await asyncio.gather(sweeping, return_exceptions=True)
            await gateway.close()
            await db.dispose()
            if tracing is not None:
                await tracing.stop()

    app = FastAPI(
        title="SciPlan portal",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry(tracing),
    )
    app.state.settings = settings

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "portal"}

    @app.get("/readyz", include_in_schema=False, response_model=None)
    async def readyz(request: Request) -> dict[str, str] | JSONResponse:
        if await request.app.state.db.ping():
            return {"status": "ready", "service": "portal"}
        return problem_response(
            request,
            status=503,
            code="service.unavailable",
            title=Text("数据库不可达", "Database unreachable"),
        )

    _install_error_pages(app, settings)
    app.include_router(account_router)
    app.include_router(home_router)
    app.include_router(inbox_router)
    app.include_router(credit_router)
    app.include_router(public_router)
    app.include_router(applicant_router)
    app.include_router(organization_router)
    app.include_router(my_projects_router)
    app.include_router(expert_router)
    app.include_router(manager_router)
    app.include_router(finance_router)
    app.include_router(evaluator_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(PortalHeadersMiddleware, secure=settings.secure_cookies)
    # Behind the gateway, which logs every request it answers.
    app.add_middleware(RequestIdMiddleware, log_every_request=False)
    return app
