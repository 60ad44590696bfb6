"""Settings of the credit service (environment prefix SCIPLAN_CREDIT_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CreditSettings(ServiceSettings):
    service_name: ClassVar[str] = "credit"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_CREDIT_", extra="ignore")

    port: int = 8002
