"""Calls for applications (申报指南)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/calls", tags=["calls"])
