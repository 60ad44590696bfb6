"""Third-party evaluators: engagements and evaluation reports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["evaluation"])
