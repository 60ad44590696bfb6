"""Innovation vouchers (科技创新券): programs, providers, enterprises, orders, redemptions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["vouchers"])

# Routes anyone may read without logging in (the providers in their publicity period).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset()
