"""The gateway signs its own service tokens once per audience and reuses them until shortly
before they expire: a burst of reset mails does not sign a token per mail."""

from __future__ import annotations

import jwt
from fastapi import FastAPI

from services.gateway.own_tokens import GATEWAY_ACCOUNT, OwnServiceTokens


async def test_own_service_tokens_are_signed_once_per_audience(gateway: FastAPI) -> None:
    tokens = OwnServiceTokens(gateway.state.token_issuer)
    first = await tokens.token_for("sciplan-notify")
    assert await tokens.token_for("sciplan-notify") == first
    claims = jwt.decode(first, options={"verify_signature": False})
    assert (claims["sub"], claims["aud"]) == (GATEWAY_ACCOUNT, ["sciplan-notify"])

    other = await tokens.token_for("sciplan-projects")
    assert other != first
    tokens.forget("sciplan-notify")  # refused by notify (a retired key): signed afresh
    assert await tokens.token_for("sciplan-notify") != first
