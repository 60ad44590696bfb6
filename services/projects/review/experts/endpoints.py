"""The expert pool (专家库), organization links and experts' declared conflicts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["experts"])
