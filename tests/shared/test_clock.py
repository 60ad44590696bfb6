"""The offset clock end-to-end tests use to move running services through time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.credit.config import CreditSettings
from shared.clock import OffsetClock, service_clock, utcnow


def test_the_offset_clock_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = OffsetClock(path)
    assert abs(clock() - utcnow()) < timedelta(seconds=5)  # no file yet: the real time
    path.write_text(str(10 * 86400))
    assert clock() - utcnow() > timedelta(days=9, hours=23)
    path.write_text("90")
    moved = clock() - utcnow()
    assert timedelta(seconds=85) < moved < timedelta(seconds=95)


def test_only_the_test_environment_accepts_a_test_clock(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="test_clock_file"):
        CreditSettings(environment="development", test_clock_file=str(tmp_path / "clock"))
    settings = CreditSettings(environment="test", test_clock_file=str(tmp_path / "clock"))
    assert isinstance(service_clock(settings.test_clock_file), OffsetClock)
    assert service_clock(None) is utcnow
