"""Settings of the portal (environment prefix SCIPLAN_PORTAL_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    service_name: ClassVar[str] = "portal"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_PORTAL_", extra="ignore")

    port: int = 8005
    # Longer than the gateway's own proxy timeout (30 s): the gateway answers a slow service
    # with a 504 the page can show, rather than the portal giving up first.
    http_timeout_seconds: float = 35.0
    db_pool_size: int = 5
    # A session nobody used for this long is over (the person logs in again); however busy,
    # a session ends after `session_max_hours` (the refresh token lives longer than that).
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=14 * 24)
    # The access token is renewed this long before it expires, so a page never meets a 401.
    refresh_margin_seconds: int = Field(default=60, ge=0, le=600)
    # Uploads through the portal (the gateway and the projects service keep their own limits).
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)

    def default_secrets(self) -> list[str]:
        # The portal receives no forwarded API call, so it never checks the gateway's proof.
        return [name for name in super().default_secrets() if name != "gateway_proof_key"]

    @property
    def secure_cookies(self) -> bool:
        """`Secure` cookies (sent over HTTPS only) and the `__Host-` prefix, in production."""
        return self.environment == "production"
