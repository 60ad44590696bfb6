"""Settings of the projects service (environment prefix SCIPLAN_PROJECTS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ProjectsSettings(ServiceSettings):
    service_name: ClassVar[str] = "projects"
    model_config = SettingsConfigDict(env_prefix="SCIPLAN_PROJECTS_", extra="ignore")

    port: int = 8001
