"""Time: stored as timezone-aware UTC; deadlines are stated and shown in Asia/Shanghai."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def in_shanghai(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; give a timezone")
    return moment.astimezone(SHANGHAI)


# Deadlines and the moments people act on are stated in Asia/Shanghai: every time the API
# shows carries +08:00. A naive datetime is refused (it names no moment).
ShanghaiTime = Annotated[datetime, AfterValidator(in_shanghai)]


class OffsetClock:
    """The real time plus an offset (seconds) read from a file, for end-to-end tests that move
    the clock of running services forward (a notice period, an objection window) without
    waiting. Only the test environment accepts it (see `ServiceSettings.test_clock_file`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self) -> datetime:
        # Read every time (tests only): a modification time can repeat within a few ms.
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            text = ""
        return utcnow() + timedelta(seconds=float(text or 0))


def service_clock(test_clock_file: str | None) -> Callable[[], datetime]:
    return OffsetClock(Path(test_clock_file)) if test_clock_file else utcnow
