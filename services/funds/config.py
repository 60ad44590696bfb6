"""Settings of the funds service (environment prefix SCIPLAN_FUNDS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class FundsSettings(ServiceSettings):
    service_name: ClassVar[str] = "funds"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_FUNDS_", extra="ignore")

    port: int = 8003
