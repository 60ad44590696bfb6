"""Asks the notify service to mail a one-time link (`POST /internal/v1/messages`).

Called after the request's transaction has committed, with a short timeout. If notify cannot be
reached the person's answer does not change (a reset answers 202 whatever happens); the failure
is logged with the message's template, user and idempotency key, never its parameters (the
link is a password).
"""

from __future__ import annotations

import logging

import aiohttp

from services.gateway.own_tokens import OwnServiceTokens
from services.gateway.replicas import Replicas
from shared.contracts.notices import DirectMessageV1
from shared.http import traced_headers

log = logging.getLogger(__name__)

NOTIFY_AUDIENCE = "sciplan-notify"


class NotifyClient:
    def __init__(
        self,
        replicas: Replicas,
        timeout_seconds: float,
        tokens: OwnServiceTokens,
        http: aiohttp.ClientSession,
    ) -> None:
        self._replicas = replicas
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._tokens = tokens
        self._http = http

    async def send(self, message: DirectMessageV1) -> bool:
        """True once notify accepted the message; False (logged) otherwise. Never raises."""
        about = f"{message.template} for user {message.user_id} ({message.idempotency_key})"

        async def post(base: str) -> int:
            async with self._http.post(
                f"{base}/internal/v1/messages",
                json=message.model_dump(mode="json"),
                headers=traced_headers({"Authorization": f"Bearer {token}"}),
                timeout=self._timeout,
            ) as response:
                return response.status

        try:
            token = await self._tokens.token_for(NOTIFY_AUDIENCE)
            _, status = await self._replicas.ask("POST", post)
            if status == 401:
                self._tokens.forget(NOTIFY_AUDIENCE)  # e.g. signed with a key retired since
            if status >= 300:
                log.warning("notify refused %s: status %s", about, status)
                return False
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("notify unreachable, %s not sent: %s", about, exc.__class__.__name__)
            return False
        except Exception as exc:  # no token (the key ring unreadable): said without the message
            log.error("%s not sent: %s", about, exc.__class__.__name__)
            return False
        return True
