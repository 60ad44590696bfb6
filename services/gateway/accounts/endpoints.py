"""People's own accounts: `/auth/password*`, `/auth/email-verification/confirm`, `/v1/me`.

These take JSON (the form-only rule of `/auth/token` is OAuth2's). A message that carries a
one-time link goes to notify as a background task: after the transaction committed and after
the answer was sent, so its fate changes neither the answer nor its timing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status

from services.gateway.accounts.notify import NotifyClient
from services.gateway.accounts.schemas import (
    Accepted,
    EmailVerificationConfirm,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    Profile,
    ProfileUpdate,
)
from services.gateway.accounts.service import AccountLimits, AccountService, Locale
from services.gateway.auth.schemas import TokenResponse
from services.gateway.auth.service import AuthService
from services.gateway.client_address import request_address
from shared.auth.dependencies import CurrentPrincipal
from shared.auth.tokens import Principal
from shared.contracts.notices import DirectMessageV1
from shared.db import SessionDep
from shared.errors import Forbidden, Text, preferred_language


async def _accounts(request: Request, session: SessionDep) -> AccountService:
    state = request.app.state
    auth = AuthService(session, state.token_issuer, state.login_throttle, state.login_gate)
    limits = AccountLimits.of(state.rate_limiter, state.settings)
    return AccountService(session, state.settings, auth, limits)


AccountsDep = Annotated[AccountService, Depends(_accounts)]


def _locale(request: Request) -> Locale:
    return "en" if preferred_language(request.headers.get("accept-language")) == "en" else "zh"


def _send_later(
    request: Request, background: BackgroundTasks, message: DirectMessageV1 | None
) -> None:
    if message is not None:
        notify: NotifyClient = request.app.state.notify
        background.add_task(notify.send, message)


def _person(principal: CurrentPrincipal) -> Principal:
    if principal.user_id is None:
        raise Forbidden(Text("服务账户没有个人资料", "A service account has no profile"))
    return principal


PersonDep = Annotated[Principal, Depends(_person)]
router = APIRouter(tags=["account"])


@router.post(
    "/auth/password",
    response_model=TokenResponse,
    summary="Change my password (the current one required); every session ends",
    description=(
        "A wrong current password is 403 `account.wrong_password` and counts as a failed login "
        "from this address (the login lockout applies). On success every refresh token of the "
        "account is revoked, this session's too, and the answer is a fresh login: use its "
        "tokens from now on. Other devices' access tokens expire within minutes."
    ),
)
async def change_password(
    data: PasswordChange, request: Request, principal: PersonDep, accounts: AccountsDep
) -> TokenResponse:
    assert principal.user_id is not None
    return await accounts.change_password(
        principal.user_id, data.current_password, data.new_password, request_address(request)
    )


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Forgot my password: mail me a link (the same answer whether the account exists)",
)
async def request_password_reset(
    data: PasswordResetRequest,
    request: Request,
    background: BackgroundTasks,
    accounts: AccountsDep,
) -> Accepted:
    message = await accounts.request_reset(data.login, request_address(request), _locale(request))
    _send_later(request, background, message)
    return Accepted()


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the link's token; every session of the account ends",
)
async def confirm_password_reset(
    data: PasswordResetConfirm, request: Request, accounts: AccountsDep
) -> Response:
    await accounts.confirm_reset(data.token, data.new_password, request_address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/email-verification/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm a new e-mail address with the token mailed to it",
)
async def confirm_email(
    data: EmailVerificationConfirm, request: Request, accounts: AccountsDep
) -> Response:
    await accounts.confirm_email(data.token, request_address(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/me/profile", response_model=Profile, summary="My profile")
async def my_profile(principal: PersonDep, accounts: AccountsDep) -> Profile:
    assert principal.user_id is not None
    return await accounts.profile(principal.user_id)


@router.patch(
    "/v1/me",
    response_model=Profile,
    summary="Update my display name, phone or e-mail (a new address counts once confirmed)",
    description=(
        "A new `email` needs `current_password` (422 without it); a wrong one is 403 "
        "`account.wrong_password` and counts as a failed login from this address, as for a "
        "password change. Once the new address is confirmed the previous one is told."
    ),
)
async def update_my_profile(
    data: ProfileUpdate,
    request: Request,
    background: BackgroundTasks,
    principal: PersonDep,
    accounts: AccountsDep,
) -> Profile:
    assert principal.user_id is not None
    profile, message = await accounts.update_profile(
        principal.user_id, data, request_address(request), _locale(request)
    )
    _send_later(request, background, message)
    return profile
