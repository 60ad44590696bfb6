"""The five basic programs and the special funds."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/programs", tags=["programs"])
