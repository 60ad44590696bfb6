"""Settings of the notify service (environment prefix SCIPLAN_NOTIFY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    service_name: ClassVar[str] = "notify"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_NOTIFY_", extra="ignore")

    port: int = 8004
    projects_url: str = "http://127.0.0.1:8001"
    credit_url: str = "http://127.0.0.1:8002"
    funds_url: str = "http://127.0.0.1:8003"
    # The mail server (SMTP). Without a host, mail is written as .eml files into `mail_dir`
    # (local `make run`; `sciplan mail` lists them): development and tests only, since a
    # formal notice written there would count as served.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    # "starttls" upgrades a plain connection; "tls" connects encrypted (port 465).
    smtp_security: str = Field(default="none", pattern="^(none|starttls|tls)$")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    mail_from: str = "SciPlan <noreply@sciplan.local>"
    mail_dir: str = ".sciplan/mail"
    # The delivery worker: how often it looks for due mail, how many at once, and the backoff
    # between attempts (doubling from the first, capped), until `max_attempts`.
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_batch: int = Field(default=20, ge=1, le=500)
    retry_first_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    max_attempts: int = Field(default=12, ge=1)
    # A delivery being sent is leased this long: a process that dies mid-send leaves it to
    # be tried again afterwards.
    sending_lease_seconds: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _mail_server_in_production(self) -> NotifySettings:
        if self.environment == "production" and not self.smtp_host.strip():
            raise ValueError(
                "production needs a mail server: set SCIPLAN_NOTIFY_SMTP_HOST "
                "(mail written to a folder would count formal notices as served)"
            )
        return self
