"""`POST /internal/v1/messages`: the gateway's direct messages (its service account only)."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.notify.auth import GatewayCaller, NowDep
from services.notify.messages.schemas import DirectMessageAccepted
from services.notify.messages.service import DirectMessages
from shared.contracts.notices import DirectMessageV1
from shared.db import SessionDep

router = APIRouter(prefix="/internal/v1", tags=["messages"])


@router.post(
    "/messages",
    response_model=DirectMessageAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Deliver one direct message (the gateway; the same idempotency key delivers once)",
)
async def send_direct_message(
    message: DirectMessageV1, session: SessionDep, now: NowDep, _gateway: GatewayCaller
) -> DirectMessageAccepted:
    sent = await DirectMessages(session).send(message, now)
    return DirectMessageAccepted(id=sent.id, idempotency_key=message.idempotency_key)
