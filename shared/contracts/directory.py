"""The gateway's events about who exists, from which every service keeps its directory."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.contracts.base import EventContract


class OrganizationCreatedV1(EventContract):
    event_type: ClassVar[str] = "organization.created"
    aggregate_type: ClassVar[str] = "organization"
    aggregate_field: ClassVar[str | None] = "id"

    id: UUID
    name: str
    credit_code: str
    kind: str
    parent_id: UUID | None


class _User(EventContract):
    aggregate_type: ClassVar[str] = "user"
    aggregate_field: ClassVar[str | None] = "id"

    id: UUID
    username: str
    display_name: str
    org_id: UUID | None
    roles: list[str]
    is_active: bool


class UserCreatedV1(_User):
    event_type: ClassVar[str] = "user.created"


class UserUpdatedV1(_User):
    """Any change: name, roles, activation, password reset by the operator. The whole user."""

    event_type: ClassVar[str] = "user.updated"


class UserContactChangedV1(EventContract):
    """Where a user is reached, as the gateway knows it: set, changed or removed (None).

    Kept apart from `user.created`/`user.updated` (published V1 contracts that carry no address)
    so that only services that subscribe to this event store addresses; today only notify does.
    The gateway's feed is not filtered per consumer, so every service holding a feed token can
    read this event and the addresses in it; filtering the feed per consumer is future work."""

    event_type: ClassVar[str] = "user.contact_changed"
    aggregate_type: ClassVar[str] = "user"
    aggregate_field: ClassVar[str | None] = "id"

    id: UUID
    email: str | None
    email_verified: bool = False
    mobile: str | None = None
