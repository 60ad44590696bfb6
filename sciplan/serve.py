"""One service as a process: `python -m sciplan.serve <service>` (settings from the environment)."""

from __future__ import annotations

import gc
import sys

import uvicorn
from fastapi import FastAPI

from shared.http_server import OneWriteHttpProtocol
from shared.logging import configure_logging
from shared.settings import ServiceSettings


def build(service: str) -> tuple[FastAPI, ServiceSettings]:
    if service == "gateway":
        from services.gateway.config import GatewaySettings
        from services.gateway.main import create_app as gateway_app

        gateway_settings = GatewaySettings()
        return gateway_app(gateway_settings), gateway_settings
    if service == "projects":
        from services.projects.config import ProjectsSettings
        from services.projects.main import create_app as projects_app

        projects_settings = ProjectsSettings()
        return projects_app(projects_settings), projects_settings
    if service == "credit":
        from services.credit.config import CreditSettings
        from services.credit.main import create_app as credit_app

        credit_settings = CreditSettings()
        return credit_app(credit_settings), credit_settings
    if service == "funds":
        from services.funds.config import FundsSettings
        from services.funds.main import create_app as funds_app

        funds_settings = FundsSettings()
        return funds_app(funds_settings), funds_settings
    if service == "notify":
        from services.notify.config import NotifySettings
        from services.notify.main import create_app as notify_app

        notify_settings = NotifySettings()
        return notify_app(notify_settings), notify_settings
    if service == "portal":
        from services.portal.config import PortalSettings
        from services.portal.main import create_app as portal_app

        portal_settings = PortalSettings()
        return portal_app(portal_settings), portal_settings
    raise SystemExit(f"unknown service {service!r}")


# Collect the youngest generation after this many new container objects instead of 700: a
# request allocates hundreds, and most die by reference counting anyway.
YOUNG_COLLECTION_THRESHOLD = 20_000


def _tune_garbage_collector() -> None:
    """Keep the cycle collector's pauses out of request latency.

    Everything built so far (modules, the app, its routes, models and schemas) lives as long as
    the process. Frozen, it is no longer walked by full collections, which otherwise stopped the
    process for about 100 ms under load (measured with `gc.callbacks`), stalling every request
    in flight. Collections of young objects become rarer too.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
    gc.enable()


def main() -> None:
    service = sys.argv[1]
    # The same reason at start-up: while the app is built the collector would walk the growing
    # heap hundreds of times (a tenth of the start); it runs once when the app is complete.
    gc.disable()
    app, settings = build(service)
    configure_logging(service, settings.log_level)
    _tune_garbage_collector()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http=OneWriteHttpProtocol,  # httptools, each response in one write
        timeout_graceful_shutdown=5,
        # The client address is the TCP peer: uvicorn would otherwise take X-Forwarded-For from
        # 127.0.0.1 on its own; the gateway decides whom to believe (`trusted_proxies`).
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
