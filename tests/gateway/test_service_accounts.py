"""Service accounts get tokens only for the audiences their service calls."""

from __future__ import annotations

import pytest

from services.credit.config import CreditSettings
from services.funds.config import FundsSettings
from services.gateway.config import GatewaySettings
from services.gateway.service_accounts import (
    GATEWAY,
    SERVICE_AUDIENCES,
    UnknownAudience,
    checked_audiences,
)
from services.notify.config import NotifySettings
from services.projects.config import ProjectsSettings
from shared.settings import ServiceSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "projects": ProjectsSettings,
    "credit": CreditSettings,
    "funds": FundsSettings,
    "notify": NotifySettings,
}


@pytest.mark.parametrize("service", SETTINGS)
def test_each_service_gets_the_audiences_of_the_services_it_calls(service: str) -> None:
    # A service calls another (its feed, its API) only through a `<other>_url` setting, and
    # every service reads the gateway's feed.
    upstreams = GatewaySettings.model_construct().upstreams
    called = {
        f"sciplan-{name.removesuffix('_url')}"
        for name in SETTINGS[service].model_fields
        if name.endswith("_url") and name.removesuffix("_url") in upstreams
    }
    assert set(SERVICE_AUDIENCES[service]) == called | {GATEWAY}
    assert f"sciplan-{service}" not in SERVICE_AUDIENCES[service]


def test_audiences_are_checked() -> None:
    assert checked_audiences(["sciplan-funds", "sciplan-credit", "sciplan-funds"]) == [
        "sciplan-credit",
        "sciplan-funds",
    ]
    with pytest.raises(UnknownAudience):
        checked_audiences([])
    with pytest.raises(UnknownAudience, match="sciplan-elsewhere"):
        checked_audiences(["sciplan-credit", "sciplan-elsewhere"])
