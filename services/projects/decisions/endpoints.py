"""Decisions per call and the public notice (公示) with objections."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["decisions"])
