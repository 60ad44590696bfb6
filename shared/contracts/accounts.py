"""The gateway's events about people's accounts, for notify to tell them (not for directories).

Carried apart from `user.*` so that the directories of the other services never hold an
address they have no use for; notify keeps the address from `user.contact_changed`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import EventContract, Moment

# How the password came to change: the person with their old one, a reset by mail, an operator.
PasswordChangedBy = Literal["self", "reset", "operator"]


class _AccountEvent(EventContract):
    # The user's own aggregate: ordered with `user.created` and `user.updated` of that user.
    aggregate_type: ClassVar[str] = "user"
    aggregate_field: ClassVar[str | None] = "user_id"

    user_id: UUID


class AccountPasswordChangedV1(_AccountEvent):
    """The password of an account changed; every login of it elsewhere was ended."""

    event_type: ClassVar[str] = "account.password_changed"

    changed_by: PasswordChangedBy
    changed_at: Moment


class UserContactChangedV1(_AccountEvent):
    """The verified address to write to (None: none any more). Sent at creation when an
    administrator gave one, and whenever the person confirms a new one."""

    event_type: ClassVar[str] = "user.contact_changed"

    email: Annotated[str, Field(max_length=254)] | None
