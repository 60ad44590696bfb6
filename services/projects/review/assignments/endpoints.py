"""Assigning experts: dry runs, applying, manual changes, acceptance, decline and replacement."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["assignments"])
