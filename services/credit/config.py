"""Settings of the credit service (environment prefix SCIPLAN_CREDIT_)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

DEV_ID_HASH_KEY = "dev-only-national-id-hash-key"


class CreditSettings(ServiceSettings):
    service_name: ClassVar[str] = "credit"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_CREDIT_", extra="ignore")

    port: int = 8002
    # Key of the HMAC that turns a national ID number into a subject key (never stored plain).
    id_hash_key: SecretStr = SecretStr(DEV_ID_HASH_KEY)
    objection_window_working_days: int = Field(default=10, ge=1, le=60)
    # A confirmed record may be appealed (复查) within this many working days of confirmation
    # (科研失信行为调查处理规则 2022, art. 49: 15 working days).
    appeal_window_working_days: int = Field(default=15, ge=1, le=60)
    # Public holidays and the weekends worked instead (调休), as JSON lists of dates.
    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()
    base_score: int = 80
    level_a_from: int = 90
    level_b_from: int = 75
    level_c_from: int = 60
    disclosure_years: int = Field(default=3, ge=1)
    rating_sweep_seconds: float = Field(default=60.0, gt=0)
    projects_url: str = "http://127.0.0.1:8001"
    funds_url: str = "http://127.0.0.1:8003"
    # Notify's feed tells when a formal notice reached its person (notice.delivered).
    notify_url: str = "http://127.0.0.1:8004"

    def default_secrets(self) -> list[str]:
        bad = super().default_secrets()
        if self.id_hash_key.get_secret_value() == DEV_ID_HASH_KEY:
            bad.append("id_hash_key")
        return bad
