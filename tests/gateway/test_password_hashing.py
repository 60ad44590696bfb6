"""Passwords are hashed at argon2id's recommended cost everywhere but in test runs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.gateway.auth import passwords
from services.gateway.config import GatewaySettings


def test_cheap_hashing_is_refused_outside_tests() -> None:
    with pytest.raises(ValidationError, match="cheap_password_hashing"):
        GatewaySettings(environment="development", cheap_password_hashing=True)
    assert GatewaySettings(environment="test", cheap_password_hashing=True).cheap_password_hashing


def test_the_standard_cost_is_argon2ids_recommended_one() -> None:
    assert passwords.STANDARD.type.name == "ID"
    assert passwords.STANDARD.time_cost >= 3
    assert passwords.STANDARD.memory_cost >= 64 * 1024
    assert GatewaySettings().cheap_password_hashing is False


async def test_either_cost_verifies_the_others_hashes() -> None:
    standard = passwords.STANDARD.hash("correct horse")
    cheap = passwords.FOR_TESTS.hash("correct horse")
    assert await passwords.verify_secret(standard, "correct horse")
    assert await passwords.verify_secret(cheap, "correct horse")
    assert not await passwords.verify_secret(standard, "wrong horse")
    assert not await passwords.verify_secret(None, "correct horse")
