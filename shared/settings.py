"""Settings shared by every service: one environment prefix per service, secrets as SecretStr.

Production refuses the development defaults, so a forgotten variable fails at start-up
instead of running with a well-known secret.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_CLIENT_SECRET = "dev-only-client-secret"
DEV_GATEWAY_PROOF_KEY = "dev-only-gateway-proof-key"

Environment = Literal["development", "test", "production"]


class ServiceSettings(BaseSettings):
    """What every service needs; subclasses set `service_name`, the prefix and the port."""

    service_name: ClassVar[str] = "service"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_", extra="ignore")

    environment: Environment = "development"
    database_url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/sciplan")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_max_overflow: int = 0
    db_pool_timeout_seconds: float = 5.0
    db_statement_timeout_ms: int = 15_000
    gateway_url: str = "http://127.0.0.1:8000"
    jwt_issuer: str = "sciplan-gateway"
    jwks_cache_seconds: float = 60.0
    # A deactivated person's still-valid tokens are refused; an "active" answer from the users
    # table (the directory, outside the gateway) is remembered this long per process.
    active_user_cache_seconds: float = 1.0
    http_timeout_seconds: float = 10.0
    # Credentials of this service's own account at the gateway (client_credentials grant),
    # used to read other services' event feeds.
    client_id: str = ""
    client_secret: SecretStr = SecretStr(DEV_CLIENT_SECRET)
    event_poll_seconds: float = 1.0
    # Shared by the gateway (signs what it forwards) and the services (check it): see
    # shared/auth/gateway_proof.py. Services require the proof on writes in production, or
    # when `require_gateway_proof` says so.
    gateway_proof_key: SecretStr = SecretStr(DEV_GATEWAY_PROOF_KEY)
    require_gateway_proof: bool | None = None
    # Bearer token Prometheus sends to GET /metrics; without one the route refuses everyone.
    metrics_token: SecretStr | None = None
    # Traces (shared/tracing.py) go to this OTLP/HTTP collector: its base URL, as the standard
    # OTEL_EXPORTER_OTLP_ENDPOINT (http://jaeger:4318; `/v1/traces` is added). Unset: no tracing,
    # and nothing of it costs a request anything.
    otlp_endpoint: str | None = None
    # Share of the traces this process starts that are kept; a request that arrives inside a
    # trace follows the caller's decision (the gateway alone decides for the public's requests).
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    # End-to-end tests only: a file holding seconds to add to the service's clock.
    test_clock_file: str | None = None

    def metrics_token_value(self) -> str | None:
        return self.metrics_token.get_secret_value() if self.metrics_token else None

    @property
    def gateway_proof_required(self) -> bool:
        if self.require_gateway_proof is not None:
            return self.require_gateway_proof
        return self.environment == "production"

    @property
    def audience(self) -> str:
        return f"sciplan-{self.service_name}"

    @property
    def jwks_url(self) -> str:
        return f"{self.gateway_url.rstrip('/')}/.well-known/jwks.json"

    def default_secrets(self) -> list[str]:
        """Names of secret fields still holding a development default."""
        bad = []
        if self.client_id and self.client_secret.get_secret_value() == DEV_CLIENT_SECRET:
            bad.append("client_secret")
        if "postgres@" in self.database_url.get_secret_value():
            bad.append("database_url (no password)")
        if self.gateway_proof_key.get_secret_value() == DEV_GATEWAY_PROOF_KEY:
            bad.append("gateway_proof_key")
        return bad

    @field_validator("otlp_endpoint")
    @classmethod
    def _collector_url(cls, value: str | None) -> str | None:
        """An http(s) base URL; empty is the same as unset (tracing off)."""
        if value is None or not value.strip():
            return None
        url = urlsplit(value.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("otlp_endpoint must be an http(s) URL, e.g. http://jaeger:4318")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _test_clock_only_in_tests(self) -> ServiceSettings:
        if self.test_clock_file and self.environment != "test":
            raise ValueError("test_clock_file is only accepted with environment=test")
        return self

    @model_validator(mode="after")
    def _refuse_defaults_in_production(self) -> ServiceSettings:
        if self.environment == "production":
            bad = self.default_secrets()
            if bad:
                raise ValueError(
                    f"production refuses development defaults for: {', '.join(bad)}; "
                    f"set them through {self.model_config.get('env_prefix')}* variables"
                )
        return self
