"""Grant money: budgets opened from task books, tranches, post-subsidies, recovery."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["grants"])
