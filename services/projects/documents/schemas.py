"""Issued documents as shown: to those who may read them, and to anyone checking a copy."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.projects.schema_types import ShanghaiTime

ProjectDocumentKind = Literal["task_book", "approval_notice", "acceptance_certificate"]


class DocumentIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ProjectDocumentKind


class DocumentRead(BaseModel):
    id: UUID
    kind: str
    number: str
    version: int
    project_id: UUID | None
    call_id: UUID
    issued_at: ShanghaiTime
    sha256: str
    size_bytes: int
    current: bool  # False once a later version superseded it
    superseded_at: ShanghaiTime | None


class DocumentVerification(BaseModel):
    """What anyone may learn of a copy: whether we issued it, which document it is, and
    whether it is still the current version. Never its content or whom it is about."""

    sha256: str
    issued: bool
    number: str | None = None
    kind: str | None = None
    version: int | None = None
    issued_on: date | None = None  # in Shanghai
    current: bool | None = None
    current_version: int | None = None


class PublicNotice(BaseModel):
    id: UUID
    number: str
    version: int
    call_id: UUID
    issued_at: ShanghaiTime
    sha256: str
    current: bool
