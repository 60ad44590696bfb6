"""Scoring online, aggregation and ranking."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["scoring"])
