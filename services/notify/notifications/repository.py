"""All SQL of notify's notifications, deliveries, preferences, addresses and directory reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.models import (
    Address,
    Channel,
    Delivery,
    DeliveryState,
    Notification,
    PaymentPayee,
    Preference,
    directory,
)


@dataclass(frozen=True)
class Person:
    """Someone notify may tell, as its directory replica knows them."""

    id: UUID
    display_name: str
    username: str


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- notifications ---------------------------------------------------------------------

    async def add_once(self, notification: Notification) -> Notification | None:
        """Inserts the notification unless its dedupe key exists; None when it did."""
        values = {
            column.key: getattr(notification, column.key)
            for column in Notification.__table__.columns
            if getattr(notification, column.key, None) is not None
        }
        inserted = (
            await self.session.execute(
                insert(Notification)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[Notification.dedupe_key])
                .returning(Notification.id)
            )
        ).scalar_one_or_none()
        if inserted is None:
            return None
        return await self.session.get_one(Notification, inserted)

    async def by_dedupe_key(self, key: str) -> Notification | None:
        return (
            await self.session.execute(
                sa.select(Notification).where(Notification.dedupe_key == key)
            )
        ).scalar_one_or_none()

    async def of_person(
        self, user_id: UUID, notification_id: UUID, *, lock: bool = False
    ) -> Notification | None:
        statement = sa.select(Notification).where(
            Notification.id == notification_id,
            Notification.user_id == user_id,
            sa.not_(Notification.sensitive),
        )
        if lock:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def inbox(
        self, user_id: UUID, *, unread_only: bool, offset: int, limit: int
    ) -> Sequence[Notification]:
        statement = sa.select(Notification).where(
            Notification.user_id == user_id, sa.not_(Notification.sensitive)
        )
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        statement = (
            statement.order_by(Notification.created_at.desc(), Notification.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def unread_count(self, user_id: UUID) -> int:
        return int(
            (
                await self.session.execute(
                    sa.select(sa.func.count()).where(
                        Notification.user_id == user_id,
                        sa.not_(Notification.sensitive),
                        Notification.read_at.is_(None),
                    )
                )
            ).scalar_one()
        )

    async def unmailed(self, user_id: UUID, since: datetime) -> Sequence[Notification]:
        """The person's unread notifications since `since` that have no mail delivery."""
        mailed = sa.select(Delivery.id).where(
            Delivery.notification_id == Notification.id, Delivery.channel == Channel.mail
        )
        return (
            (
                await self.session.execute(
                    sa.select(Notification)
                    .where(
                        Notification.user_id == user_id,
                        sa.not_(Notification.sensitive),
                        Notification.read_at.is_(None),
                        Notification.created_at >= since,
                        ~mailed.exists(),
                    )
                    .order_by(Notification.created_at)
                )
            )
            .scalars()
            .all()
        )

    async def locked(self, notification_id: UUID) -> Notification:
        return (
            await self.session.execute(
                sa.select(Notification).where(Notification.id == notification_id).with_for_update()
            )
        ).scalar_one()

    # --- deliveries ------------------------------------------------------------------------

    async def add_delivery(self, delivery: Delivery) -> None:
        self.session.add(delivery)
        await self.session.flush()

    async def deliveries_of(self, notification_ids: Sequence[UUID]) -> Sequence[Delivery]:
        if not notification_ids:
            return []
        return (
            (
                await self.session.execute(
                    sa.select(Delivery)
                    .where(Delivery.notification_id.in_(notification_ids))
                    .order_by(Delivery.created_at)
                )
            )
            .scalars()
            .all()
        )

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, max_attempts: int
    ) -> Sequence[tuple[Delivery, Notification]]:
        """Due deliveries, leased to the caller (`sending` until `lease_until`), attempt counted.

        A delivery whose lease ran out after its last attempt (the worker died while sending
        it, every time) fails for good instead of being tried forever.
        SKIP LOCKED: several workers (replicas) each take different ones."""
        pending = (
            Delivery.state.in_([DeliveryState.queued, DeliveryState.sending]),
            Delivery.next_attempt_at <= now,
        )
        given_up = (
            (
                await self.session.execute(
                    sa.update(Delivery)
                    .where(*pending, Delivery.attempts >= max_attempts)
                    .values(
                        state=DeliveryState.failed_permanently,
                        last_error=f"not sent after {max_attempts} attempts",
                    )
                    .returning(Delivery.notification_id)
                )
            )
            .scalars()
            .all()
        )
        if given_up:
            # As when a delivery is recorded final: a one-time link that will never go is
            # not kept.
            await self.session.execute(
                sa.update(Notification)
                .where(Notification.id.in_(given_up), Notification.sensitive)
                .values(params={}, body=None)
            )
        due = (
            sa.select(Delivery.id)
            .where(*pending, Delivery.attempts < max_attempts)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = (
            (
                await self.session.execute(
                    sa.update(Delivery)
                    .where(Delivery.id.in_(due.scalar_subquery()))
                    .values(
                        state=DeliveryState.sending,
                        attempts=Delivery.attempts + 1,
                        next_attempt_at=lease_until,
                    )
                    .returning(Delivery.id)
                )
            )
            .scalars()
            .all()
        )
        if not claimed:
            return []
        rows = await self.session.execute(
            sa.select(Delivery, Notification)
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(Delivery.id.in_(claimed))
            .execution_options(populate_existing=True)
        )
        return [(row[0], row[1]) for row in rows]

    async def leased_delivery(self, delivery_id: UUID, attempts: int) -> Delivery | None:
        """The delivery, locked, if it is still the lease the caller took (same attempt)."""
        return (
            await self.session.execute(
                sa.select(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.state == DeliveryState.sending,
                    Delivery.attempts == attempts,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()

    # --- preferences and addresses ---------------------------------------------------------

    async def preferences(self, user_id: UUID) -> Sequence[Preference]:
        return (
            (await self.session.execute(sa.select(Preference).where(Preference.user_id == user_id)))
            .scalars()
            .all()
        )

    async def set_preference(
        self, user_id: UUID, category: str, channel: Channel, enabled: bool, now: datetime
    ) -> None:
        await self.session.execute(
            insert(Preference)
            .values(
                user_id=user_id, category=category, channel=channel, enabled=enabled, updated_at=now
            )
            .on_conflict_do_update(
                index_elements=[Preference.user_id, Preference.category, Preference.channel],
                set_={"enabled": enabled, "updated_at": now},
            )
        )

    async def addresses(self, user_id: UUID) -> dict[Channel, str]:
        rows = await self.session.execute(
            sa.select(Address.channel, Address.address).where(Address.user_id == user_id)
        )
        return {Channel(row.channel): row.address for row in rows}

    async def is_verified(self, user_id: UUID, channel: Channel, address: str) -> bool:
        """Whether `address` is the person's address on `channel` and they proved it theirs."""
        verified = await self.session.scalar(
            sa.select(Address.verified).where(
                Address.user_id == user_id, Address.channel == channel, Address.address == address
            )
        )
        return bool(verified)

    async def set_address(
        self, user_id: UUID, channel: Channel, address: str | None, verified: bool, at: datetime
    ) -> None:
        if address is None:
            await self.session.execute(
                sa.delete(Address).where(Address.user_id == user_id, Address.channel == channel)
            )
            return
        await self.session.execute(
            insert(Address)
            .values(
                user_id=user_id, channel=channel, address=address, verified=verified, updated_at=at
            )
            .on_conflict_do_update(
                index_elements=[Address.user_id, Address.channel],
                set_={"address": address, "verified": verified, "updated_at": at},
            )
        )

    # --- the directory replica -------------------------------------------------------------

    async def person(self, user_id: UUID) -> Person | None:
        users = directory.users
        row = (
            await self.session.execute(
                sa.select(users.c.id, users.c.display_name, users.c.username).where(
                    users.c.id == user_id
                )
            )
        ).first()
        if row is None:
            return None
        return Person(id=row.id, display_name=row.display_name, username=row.username)

    async def people_with_role(self, org_id: UUID | None, *roles: str) -> Sequence[UUID]:
        """Active users holding any of `roles`: of one organization (its admins), or anywhere
        (`org_id` None: the agency's finance officers)."""
        users = directory.users
        statement = sa.select(users.c.id).where(
            users.c.is_active, users.c.roles.overlap([str(role) for role in roles])
        )
        if org_id is not None:
            statement = statement.where(users.c.org_id == org_id)
        rows = await self.session.execute(statement.order_by(users.c.id))
        return [row.id for row in rows]

    async def remember_payee(self, order_id: UUID, org_id: UUID) -> None:
        await self.session.execute(
            insert(PaymentPayee)
            .values(order_id=order_id, org_id=org_id)
            .on_conflict_do_nothing(index_elements=[PaymentPayee.order_id])
        )

    async def payee(self, order_id: UUID) -> UUID | None:
        found: UUID | None = await self.session.scalar(
            sa.select(PaymentPayee.org_id).where(PaymentPayee.order_id == order_id)
        )
        return found
