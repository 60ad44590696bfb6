"""The gateway's events about people's accounts, for notify to tell them (the directories of
the other services ignore them). Where a person is reached is `user.contact_changed`
(`shared/contracts/directory.py`)."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

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
