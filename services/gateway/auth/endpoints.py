"""`/auth/token` (OAuth2 password and client_credentials), refresh, logout and the JWKS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, status

from services.gateway.auth.exceptions import FormRequired, InvalidCredentials, UnsupportedGrant
from services.gateway.auth.schemas import TokenResponse
from services.gateway.auth.service import AuthService
from services.gateway.client_address import request_address
from shared.db import SessionDep
from shared.errors import Text


async def _auth_service(request: Request, session: SessionDep) -> AuthService:
    state = request.app.state
    return AuthService(session, state.token_issuer, state.login_throttle, state.login_gate)


AuthServiceDep = Annotated[AuthService, Depends(_auth_service)]
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def _form_only(request: Request) -> None:
    """OAuth2 sends forms. JSON here would read as empty fields ("wrong password"): say so."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type not in FORM_TYPES:
        raise FormRequired(
            Text(
                f"收到的是 {content_type or '空的请求体'}；请以表单字段发送",
                f"Got {content_type or 'no body'}; send the fields as a form",
            )
        )


router = APIRouter(tags=["auth"], dependencies=[Depends(_form_only)])
public_keys_router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    response_model=TokenResponse,
    summary="Log in (OAuth2 password grant) or get a service token (client_credentials)",
)
async def token(
    request: Request,
    auth: AuthServiceDep,
    grant_type: Annotated[str, Form(pattern="^(password|client_credentials)$")] = "password",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
    client_secret: Annotated[str, Form(max_length=200)] = "",
    audience: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=500)] = "",
) -> TokenResponse:
    if grant_type == "password":
        if not username or not password:
            raise InvalidCredentials()
        address = request_address(request)
        return await auth.login(username, password, address, request.is_disconnected)
    if grant_type == "client_credentials":
        return await auth.client_credentials(client_id, client_secret, audience or None)
    raise UnsupportedGrant()


@router.post("/auth/refresh", response_model=TokenResponse, summary="Rotate a refresh token")
async def refresh(
    auth: AuthServiceDep, refresh_token: Annotated[str, Form(min_length=1, max_length=200)]
) -> TokenResponse:
    return await auth.refresh(refresh_token)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End a login: revokes the refresh token's whole family (every login: `everywhere`)",
)
async def logout(
    auth: AuthServiceDep,
    refresh_token: Annotated[str, Form(min_length=1, max_length=200)],
    everywhere: Annotated[bool, Form(description="end every login of the account")] = False,
) -> Response:
    await auth.logout(refresh_token, everywhere=everywhere)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public_keys_router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens")
async def jwks(request: Request) -> dict[str, Any]:
    ring = await request.app.state.key_store.ring()
    document: dict[str, Any] = ring.jwks
    return document
