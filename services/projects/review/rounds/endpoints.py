"""Review rounds of a call and their conflicts of interest, with evidence."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["review rounds"])
