"""Public disclosure of approved projects (no login)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/public", tags=["disclosure"])
