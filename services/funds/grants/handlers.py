"""What the funds service does with the projects service's events."""

from __future__ import annotations

from shared.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
