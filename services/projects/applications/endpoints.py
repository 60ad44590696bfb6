"""Applications: drafts, versions, attachments, submission, endorsement, formal check."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/applications", tags=["applications"])
