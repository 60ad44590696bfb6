"""Running projects: task book, reports, changes, acceptance, termination."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/projects", tags=["projects"])
