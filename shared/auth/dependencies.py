"""FastAPI dependencies: who is calling, and may they.

Every route depends on `current_principal` (directly or through `require_roles`) unless it is
on the app's explicit public list; a test walks all routes to keep it so. Roles appear in
OpenAPI as OAuth2 scopes, so the docs say who may call what.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes

from shared.auth.active_users import ActiveUsers
from shared.auth.roles import ROLE_DESCRIPTIONS, Role
from shared.auth.tokens import Principal, TokenVerifier
from shared.errors import Forbidden, Text, Unauthorized

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/auth/token", scopes=dict(ROLE_DESCRIPTIONS), auto_error=False
)


async def current_principal(
    request: Request,
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    if not token:
        raise Unauthorized(Text("缺少 Bearer 访问令牌", "Missing bearer access token"))
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal) and getattr(request.state, "token", None) == token:
        principal = cached
    else:
        verifier: TokenVerifier = request.app.state.token_verifier
        principal = await verifier.verify(token)
        request.state.principal = principal
        request.state.token = token
    active_users: ActiveUsers | None = getattr(request.app.state, "active_users", None)
    if active_users is not None:
        await active_users.ensure_active(principal)
    if security_scopes.scopes and not principal.has_any(*security_scopes.scopes):
        raise Forbidden(
            Text(
                "需要以下角色之一：" + "、".join(security_scopes.scopes),
                "Requires one of the roles: " + ", ".join(security_scopes.scopes),
            )
        )
    return principal


CurrentPrincipal = Annotated[Principal, Security(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding any of `roles` (shown as scopes in OpenAPI)."""

    async def _check(
        principal: Annotated[Principal, Security(current_principal, scopes=list(roles))],
    ) -> Principal:
        return principal

    return _check


AdminPrincipal = Annotated[Principal, Security(current_principal, scopes=[Role.admin])]
ServicePrincipal = Annotated[Principal, Security(current_principal, scopes=[Role.service])]
