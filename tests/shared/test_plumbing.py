"""The small shared pieces: money, ids, pagination cursors, languages, settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from services.credit.config import CreditSettings
from services.notify.config import NotifySettings
from shared.errors import preferred_language
from shared.ids import uuid7
from shared.money import fen_to_yuan, yuan_to_fen
from shared.pagination import InvalidCursor, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0", 0),
        ("0.1", 10),
        ("0.01", 1),
        ("1234.5", 123450),
        ("-3.07", -307),
        ("20000000", 2_000_000_000),
    ],
)
def test_yuan_amounts_become_exact_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@pytest.mark.parametrize("text", ["0.001", "1e3", "abc", "1.2.3", "", "¥5"])
def test_amounts_that_are_not_exact_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="yuan"):
        yuan_to_fen(text)


def test_ids_are_version_7_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(1000)]
    assert all(i.version == 7 for i in ids)
    assert len(set(ids)) == 1000
    millis = [i.int >> 80 for i in ids]
    assert millis == sorted(millis)


def test_cursors_round_trip_and_garbage_is_a_400() -> None:
    position = {"created_at": "2026-11-26T00:00:00+00:00", "id": "abc"}
    assert decode_cursor(encode_cursor(position)) == position
    for garbage in ["%%%", "bm90LWpzb24", encode_cursor({"x": 1})[:-3] + "!!"]:
        with pytest.raises(InvalidCursor) as caught:
            decode_cursor(garbage)
        assert caught.value.status == 400


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("fr, en;q=0.5", "en"),
        ("en;q=0.3, zh;q=0.7", "zh"),
        ("de", "zh"),
    ],
)
def test_language_follows_accept_language_with_chinese_by_default(
    header: str | None, language: str
) -> None:
    assert preferred_language(header) == language


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValidationError, match="production refuses"):
        CreditSettings(environment="production", client_id="credit")
    with pytest.raises(ValidationError, match="id_hash_key"):
        CreditSettings(
            environment="production",
            database_url=SecretStr("postgresql+asyncpg://sciplan:pw@db/sciplan"),
        )
    with pytest.raises(ValidationError, match="database_url"):
        CreditSettings(
            environment="production",
            database_url=SecretStr("postgresql+asyncpg://postgres@db/sciplan"),
        )
    with pytest.raises(ValidationError, match="gateway_proof_key"):
        CreditSettings(
            environment="production",
            id_hash_key=SecretStr("another-real-secret"),
            database_url=SecretStr("postgresql+asyncpg://sciplan:pw@db/sciplan"),
        )
    fine = CreditSettings(
        environment="production",
        client_id="credit",
        client_secret=SecretStr("a-real-secret-from-the-vault"),
        id_hash_key=SecretStr("another-real-secret"),
        gateway_proof_key=SecretStr("a-third-real-secret"),
        database_url=SecretStr("postgresql+asyncpg://sciplan:pw@db/sciplan"),
    )
    assert fine.gateway_proof_required  # production requires the gateway's proof on writes
    assert fine.audience == "sciplan-credit"
    assert "pw" not in repr(fine)  # secrets never printed


def test_notify_in_production_refuses_to_start_without_a_mail_server() -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "client_id": "notify",
        "client_secret": "a-real-secret-from-the-vault",
        "gateway_proof_key": "a-third-real-secret",
        "database_url": "postgresql+asyncpg://sciplan:pw@db/sciplan",
    }
    with pytest.raises(ValidationError, match="SCIPLAN_NOTIFY_SMTP_HOST"):
        NotifySettings.model_validate(production)
    relay = {**production, "smtp_host": "relay.example.gov.cn"}
    assert NotifySettings.model_validate(relay).smtp_host
    assert NotifySettings(environment="test").smtp_host == ""  # tests write to a folder
