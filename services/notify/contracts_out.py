"""The events notify publishes, made from its notifications."""

from __future__ import annotations

from datetime import datetime

from services.notify.models import Notification
from shared.contracts.notices import DeliveryChannel, NoticeAcknowledgedV1, NoticeDeliveredV1


def delivered_event(
    notification: Notification, channel: DeliveryChannel, at: datetime
) -> NoticeDeliveredV1:
    return NoticeDeliveredV1(
        notification_id=notification.id,
        user_id=notification.user_id,
        about_type=notification.about_type or "",
        about_id=notification.about_id or "",
        source_event_id=notification.source_event_id or notification.id,
        channel=channel,
        delivered_at=at,
    )


def acknowledged_event(notification: Notification, at: datetime) -> NoticeAcknowledgedV1:
    return NoticeAcknowledgedV1(
        notification_id=notification.id,
        user_id=notification.user_id,
        about_type=notification.about_type or "",
        about_id=notification.about_id or "",
        source_event_id=notification.source_event_id or notification.id,
        acknowledged_at=at,
    )
