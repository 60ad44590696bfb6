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


class AccountEmailChangedV1(_AccountEvent):
    """The account's e-mail address changed (the new one was confirmed from the mail sent to
    it). Carries the previous address, which notify tells: the owner learns of a change they
    did not make even when the account's mail now goes elsewhere."""

    event_type: ClassVar[str] = "account.email_changed"

    previous_email: str
    changed_at: Moment
