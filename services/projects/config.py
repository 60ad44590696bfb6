"""Settings of the projects service (environment prefix SCIPLAN_PROJECTS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.objectstore.settings import ObjectStoreSettings
from shared.settings import ServiceSettings


class ProjectsSettings(ServiceSettings, ObjectStoreSettings):
    service_name: ClassVar[str] = "projects"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_PROJECTS_", extra="ignore")

    port: int = 8001
    credit_url: str = "http://127.0.0.1:8002"
    # Attachments: kept in the object store (ObjectStoreSettings: SCIPLAN_PROJECTS_OBJECT_STORE,
    # _OBJECTS_DIR, _S3_*); the largest file accepted, and the types accepted.
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    attachment_types: frozenset[str] = frozenset(
        {
            "application/pdf",
            "image/png",
            "image/jpeg",
            "application/zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    )
    # How long a dry run's request waits for the result before answering 202 (the run goes
    # on and is polled): below the gateway's proxy timeout (30 s).
    assignment_run_wait_seconds: float = Field(default=20.0, ge=0, le=25)
    # How long the credit service may take to answer an eligibility check.
    credit_timeout_seconds: float = Field(default=5.0, gt=0)
    # The reminder job of reports on schedule: how often it looks, and how many due reports
    # it tells about in one transaction.
    report_reminder_seconds: float = Field(default=300.0, gt=0)
    report_reminder_batch: int = Field(default=200, ge=1, le=5000)
    # The expiry job of the standing project reserve: how often it looks, and how many
    # entries it expires in one transaction.
    reserve_expiry_seconds: float = Field(default=3600.0, gt=0)
    reserve_expiry_batch: int = Field(default=200, ge=1, le=5000)

    def default_secrets(self) -> list[str]:
        return [*super().default_secrets(), *self.object_store_default_secrets()]
