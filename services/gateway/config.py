"""Settings of the gateway (environment prefix SCIPLAN_GATEWAY_)."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.gateway.client_address import Network, parse_networks
from shared.settings import ServiceSettings


def base_urls(value: str) -> tuple[str, ...]:
    """`http://10.0.0.5:8001, http://10.0.0.6:8001/` -> each base URL, without a final slash."""
    return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())


class RateLimit(BaseModel):
    """A token bucket: `per_minute` tokens refill each minute, up to `burst` saved up. Slow
    buckets may be given `per_hour` instead (`{"per_hour": 5, "burst": 5}`)."""

    per_minute: float = Field(gt=0)
    burst: float = Field(gt=0)

    @model_validator(mode="before")
    @classmethod
    def _hourly(cls, value: Any) -> Any:
        if isinstance(value, dict) and "per_hour" in value:
            value = dict(value)
            per_hour = value.pop("per_hour")
            if not isinstance(per_hour, int | float) or per_hour <= 0:
                raise ValueError("per_hour must be a positive number")
            value.setdefault("per_minute", per_hour / 60.0)
        return value

    @property
    def per_second(self) -> float:
        return self.per_minute / 60.0


class RouteGroupLimits(BaseModel):
    user: RateLimit
    address: RateLimit


def _default_rate_limits() -> dict[str, RouteGroupLimits]:
    return {
        "api": RouteGroupLimits(
            user=RateLimit(per_minute=6000, burst=600),
            address=RateLimit(per_minute=12000, burst=1200),
        ),
        "auth": RouteGroupLimits(
            user=RateLimit(per_minute=60, burst=20),
            address=RateLimit(per_minute=120, burst=40),
        ),
        "admin": RouteGroupLimits(
            user=RateLimit(per_minute=1200, burst=200),
            address=RateLimit(per_minute=2400, burst=400),
        ),
    }


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_GATEWAY_", extra="ignore")

    port: int = 8000
    # Each service's base URL, or the base URLs of its replicas separated by commas
    # (`http://10.0.0.5:8001,http://10.0.0.6:8001`): requests go to them in turn (`replicas.py`).
    projects_url: str = "http://127.0.0.1:8001"
    credit_url: str = "http://127.0.0.1:8002"
    funds_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    # The web portal, served at `/` (every path that is not the API's, the docs' or the
    # gateway's own), its replicas too; empty: no portal behind this gateway.
    portal_url: str = "http://127.0.0.1:8005"
    access_token_minutes: int = Field(default=15, ge=1, le=15)
    refresh_token_days: int = Field(default=14, ge=1, le=90)
    max_body_bytes: int = 10 * 1024 * 1024
    # File uploads (multipart/form-data) may be larger: application attachments go up to the
    # projects service's own limit (20 MiB), which it checks per file and type.
    max_upload_bytes: int = 21 * 1024 * 1024
    proxy_timeout_seconds: float = 30.0
    # Failures from one address lock that address out of the account, doubling up to an hour.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)
    # Failures within a day from addresses the account never logged in from slow down every
    # such address (not the owner's known ones), doubling up to the maximum delay.
    login_account_max_failures: int = Field(default=20, ge=1)
    login_account_delay_seconds: int = Field(default=30, ge=1)
    login_account_max_delay_seconds: int = Field(default=900, ge=1)
    # Password checks at once, logins allowed to wait for one, and for how long at most.
    login_concurrency: int = Field(default=4, ge=1)
    login_queue: int = Field(default=16, ge=0)
    login_max_wait_seconds: float = Field(default=3.0, gt=0)
    rate_limits: dict[str, RouteGroupLimits] = Field(default_factory=_default_rate_limits)
    # Share of a bucket's burst a gateway takes from PostgreSQL at once and spends in memory
    # (`ratelimit.py`): fewer statements per request; 0 asks PostgreSQL on every request.
    rate_limit_lease_fraction: float = Field(default=0.05, ge=0, le=0.5)
    # Addresses or networks (`10.0.0.0/8`) of the proxies in front of the gateway: only from
    # them is X-Forwarded-For believed, read from the right (`client_address.py`).
    trusted_proxies: list[str] = Field(default_factory=list)
    key_cache_seconds: float = 5.0
    # One-time tokens sent by mail: how long a password reset and an address check stay good.
    password_reset_minutes: int = Field(default=30, ge=1, le=24 * 60)
    email_verification_minutes: int = Field(default=24 * 60, ge=1, le=7 * 24 * 60)
    # Reset requests per account (its username and address alike; an unknown name the same),
    # also capped per hour: each request mails the owner. Per client address; a token tried
    # per address (guessing one is hopeless, trying is throttled all the same).
    password_reset_per_account: RateLimit = RateLimit(per_minute=1, burst=3)
    password_reset_per_account_hour: RateLimit = RateLimit(per_minute=5 / 60, burst=5)
    password_reset_per_address: RateLimit = RateLimit(per_minute=5, burst=10)
    token_confirm_per_address: RateLimit = RateLimit(per_minute=5, burst=10)
    # Organizations asking to be registered (no login), per client address.
    organization_request_per_address: RateLimit = RateLimit(per_minute=10 / 60, burst=10)
    # Real-name objections to projects in public notice (no login), per client address: each
    # is read and answered by a program manager (`public_writes.py`).
    public_objection_per_address: RateLimit = RateLimit(per_minute=5 / 60, burst=5)
    # Copies of issued documents sent to be checked (no login), per client address.
    public_document_check_per_address: RateLimit = RateLimit(per_minute=10, burst=20)
    # Asking notify (`notify_url`) to mail a one-time link gives up after this long.
    notify_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    # Where the links in those mails lead: the page that takes the token from the fragment
    # (`#token=...`, never sent to a server) and calls `/auth/password-reset/confirm` or
    # `/auth/email-verification/confirm`. Until that page exists the mail also shows the token
    # and the call to make with it.
    account_links_url: str = "http://127.0.0.1:8000/account"
    # Read projects' event feed (`projects_url`) for the roles its decisions grant
    # (`expert.admitted`); off only where no projects service runs beside the gateway (tests).
    consume_events: bool = True
    # Test runs only: passwords hashed at argon2's lowest cost (see auth/passwords.py).
    cheap_password_hashing: bool = False

    @model_validator(mode="after")
    def _cheap_hashing_only_in_tests(self) -> GatewaySettings:
        if self.cheap_password_hashing and self.environment != "test":
            raise ValueError("cheap_password_hashing is only accepted with environment=test")
        return self

    @field_validator("projects_url", "credit_url", "funds_url", "notify_url", "portal_url")
    @classmethod
    def _base_urls(cls, value: str, info: ValidationInfo) -> str:
        urls = base_urls(value)
        if not urls and info.field_name != "portal_url":
            raise ValueError("needs a base URL (several, separated by commas, for replicas)")
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) base URL: {url!r}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # a typo must fail at start-up, not trust nobody silently
        return value

    @property
    def proxy_networks(self) -> list[Network]:
        return parse_networks(self.trusted_proxies)

    @property
    def upstreams(self) -> dict[str, tuple[str, ...]]:
        """The services behind `/api/<service>`, each with the base URLs of its replicas."""
        return {
            "projects": base_urls(self.projects_url),
            "credit": base_urls(self.credit_url),
            "funds": base_urls(self.funds_url),
            "notify": base_urls(self.notify_url),
        }

    @property
    def portal_urls(self) -> tuple[str, ...]:
        return base_urls(self.portal_url)

    @property
    def audiences(self) -> list[str]:
        return [f"sciplan-{name}" for name in ("gateway", *self.upstreams)]
