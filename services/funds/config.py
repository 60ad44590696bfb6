"""Settings of the funds service (environment prefix SCIPLAN_FUNDS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class FundsSettings(ServiceSettings):
    service_name: ClassVar[str] = "funds"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_FUNDS_", extra="ignore")

    port: int = 8003
    # How often holds whose timeout passed are released, and how many per transaction.
    expiry_sweep_seconds: float = Field(default=5.0, gt=0)
    expiry_batch: int = Field(default=1000, ge=1, le=10_000)
    # Grants follow the projects service's events; vouchers ask credit about enterprises.
    projects_url: str = "http://127.0.0.1:8001"
    credit_url: str = "http://127.0.0.1:8002"
    credit_timeout_seconds: float = Field(default=5.0, gt=0)
    # Ledger statements one actor may have running at once; batches arriving meanwhile wait
    # and go together in the next statement (services/funds/ledger/coalescer.py).
    ledger_statements_in_flight: int = Field(default=2, ge=1, le=64)
    # ... unless those have run this long (waiting for a lock, say): then another one starts.
    ledger_statement_stall_ms: int = Field(default=50, ge=1, le=60_000)
