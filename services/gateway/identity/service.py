"""Organizations, users and roles. Each change is published for the other services' directories."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.auth.passwords import hash_secret
from services.gateway.identity.exceptions import (
    CreditCodeTaken,
    EmailTaken,
    LastAdmin,
    OrganizationNotFound,
    RoleNeedsOrganization,
    UsernameTaken,
    UserNotFound,
)
from services.gateway.identity.repository import IdentityRepository
from services.gateway.identity.schemas import (
    MIN_PASSWORD_LENGTH,
    OrganizationCreate,
    UserCreate,
    UserRead,
    UserUpdate,
)
from services.gateway.models import Organization, User, UserRole, events
from shared.auth.active_users import ActiveUsers
from shared.auth.roles import Role
from shared.contracts.base import EventContract
from shared.contracts.directory import (
    OrganizationCreatedV1,
    UserContactChangedV1,
    UserCreatedV1,
    UserUpdatedV1,
)
from shared.events.outbox import publish

# Roles that only make sense inside an organization.
ORG_ROLES = frozenset({Role.org_admin, Role.provider, Role.enterprise})


def organization_created(org: Organization) -> OrganizationCreatedV1:
    return OrganizationCreatedV1(
        id=org.id,
        name=org.name,
        credit_code=org.credit_code,
        kind=org.kind,
        parent_id=org.parent_id,
    )


def user_view(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        phone=user.phone,
        org_id=user.org_id,
        roles=[r.role for r in user.roles],
        is_active=user.is_active,
        created_at=user.created_at,
    )


def user_saved(contract: type[UserCreatedV1 | UserUpdatedV1], user: User) -> EventContract:
    return contract(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        org_id=user.org_id,
        roles=[r.role for r in user.roles],
        is_active=user.is_active,
    )


def contact_changed(user: User) -> UserContactChangedV1:
    """Where the person is reached now, for notify (only it keeps addresses)."""
    return UserContactChangedV1(
        id=user.id,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        mobile=user.phone,
    )


class IdentityService:
    def __init__(self, session: AsyncSession, active_users: ActiveUsers | None = None) -> None:
        self.session = session
        self.repo = IdentityRepository(session)
        # This process's memory of who is active, told at once of a (de)activation.
        self.active_users = active_users

    async def create_organization(self, data: OrganizationCreate) -> Organization:
        if await self.repo.organization_by_code(data.credit_code) is not None:
            raise CreditCodeTaken()
        if data.parent_id is not None and await self.repo.organization(data.parent_id) is None:
            raise OrganizationNotFound()
        org = Organization(
            name=data.name, credit_code=data.credit_code, kind=data.kind, parent_id=data.parent_id
        )
        self.session.add(org)
        await self.session.flush()
        await self.session.refresh(org)
        await publish(self.session, events, organization_created(org))
        return org

    async def get_organization(self, org_id: UUID) -> Organization:
        org = await self.repo.organization(org_id)
        if org is None:
            raise OrganizationNotFound()
        return org

    async def create_user(self, data: UserCreate, *, granted_by: UUID | None) -> User:
        if await self.repo.user_by_username(data.username) is not None:
            raise UsernameTaken()
        if data.email is not None and await self.repo.user_by_email(data.email) is not None:
            raise EmailTaken()
        if data.org_id is not None:
            await self.get_organization(data.org_id)
        elif ORG_ROLES.intersection(data.roles):
            raise RoleNeedsOrganization()
        user = User(
            username=data.username,
            display_name=data.display_name,
            password_hash=await hash_secret(data.password),
            email=data.email,
            org_id=data.org_id,
            roles=[UserRole(role=r.value, granted_by=granted_by) for r in sorted(set(data.roles))],
        )
        self.session.add(user)
        await self.session.flush()
        await self.session.refresh(user, ["created_at"])
        await self._publish_user(UserCreatedV1, user)
        if user.email is not None:
            await publish(self.session, events, contact_changed(user))
        return user

    async def get_user(self, user_id: UUID) -> User:
        user = await self.repo.user(user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def grant_role(self, user_id: UUID, role: Role, *, granted_by: UUID | None) -> User:
        user = await self.get_user(user_id)
        if role in ORG_ROLES and user.org_id is None:
            raise RoleNeedsOrganization()
        if role.value not in {r.role for r in user.roles}:
            user.roles.append(UserRole(role=role.value, granted_by=granted_by))
            await self.session.flush()
            await self._publish_user(UserUpdatedV1, user)
        return user

    async def revoke_role(self, user_id: UUID, role: Role) -> User:
        user = await self.get_user(user_id)
        kept = [r for r in user.roles if r.role != role.value]
        if len(kept) != len(user.roles):
            if role is Role.admin:
                await self._keep_an_admin(user)
            user.roles = kept
            await self.session.flush()
            await self._publish_user(UserUpdatedV1, user)
        return user

    async def update_user(self, user_id: UUID, data: UserUpdate) -> User:
        user = await self.get_user(user_id)
        changed = False
        if data.display_name is not None and data.display_name != user.display_name:
            user.display_name, changed = data.display_name, True
        if data.is_active is not None and data.is_active != user.is_active:
            if not data.is_active:
                await self._keep_an_admin(user)
                await self.repo.revoke_sessions(user.id)
                await self.repo.void_account_tokens(user.id)
            user.is_active, changed = data.is_active, True
            active_users = self.active_users
            if active_users is not None:
                if data.is_active:
                    active_users.forget(user.id)
                else:
                    active_users.deactivated(user.id)
        if changed:
            await self.session.flush()
            await self._publish_user(UserUpdatedV1, user)
        return user

    async def restore_admin(self, username: str, password: str) -> tuple[User, bool]:
        """The operator's way back in: `username` becomes an active admin with `password`
        (created if absent: True then). Their old sessions end with the old password."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        user = await self.repo.user_by_username(username)
        if user is None:
            data = UserCreate(
                username=username,
                password=password,
                display_name="Administrator",
                roles=[Role.admin],
            )
            return await self.create_user(data, granted_by=None), True
        user.password_hash = await hash_secret(password)
        user.is_active = True
        await self.repo.revoke_sessions(user.id)
        await self.repo.void_account_tokens(user.id)
        if Role.admin.value not in {r.role for r in user.roles}:
            user.roles.append(UserRole(role=Role.admin.value, granted_by=None))
        await self.session.flush()
        await self._publish_user(UserUpdatedV1, user)
        return user, False

    async def _keep_an_admin(self, user: User) -> None:
        """Refuses a change that would take away the last active admin (LastAdmin)."""
        if not user.is_active or Role.admin.value not in {r.role for r in user.roles}:
            return
        await self.repo.lock_admins()
        if await self.repo.active_admins(besides=user.id) == 0:
            raise LastAdmin()

    async def _publish_user(
        self, contract: type[UserCreatedV1 | UserUpdatedV1], user: User
    ) -> None:
        await publish(self.session, events, user_saved(contract, user))
