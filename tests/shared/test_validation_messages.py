"""Validation errors (422) read Chinese by default and English with `Accept-Language: en`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.errors import install_error_handlers
from shared.input_bounds import install_input_bounds
from shared.validation_messages import InvalidValue

CJK = re.compile(r"[\u4e00-\u9fff]")


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(min_length=2, max_length=5)]
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{4}$")]
    amount: Annotated[int, Field(ge=1, le=100)]
    kind: Literal["apply", "review"]
    tags: Annotated[list[str], Field(min_length=1)]
    owner: UUID
    due: datetime
    note: str = ""

    @field_validator("note")
    @classmethod
    def _polite(cls, value: str) -> str:
        if "!" in value:
            raise InvalidValue("备注不能含感叹号", "the note must not shout")
        return value


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_input_bounds(app)

    @app.post("/orders")
    async def create(order: Order) -> dict[str, str]:
        return {"title": order.title}

    @app.get("/orders")
    async def search(limit: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, int]:
        return {"limit": limit}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


BAD_ORDER: dict[str, Any] = {
    "title": "x",
    "code": "abc",
    "amount": 1000,
    "kind": "other",
    "tags": [],
    "owner": "not-a-uuid",
    "due": "tomorrow",
    "note": "hi!",
    "colour": "red",
}


def _messages(response: httpx.Response) -> dict[tuple[Any, ...], tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {tuple(e["loc"]): (e["type"], e["msg"]) for e in response.json()["errors"]}


async def test_validation_messages_are_chinese_by_default(client: httpx.AsyncClient) -> None:
    response = await client.post("/orders", json=BAD_ORDER)
    messages = _messages(response)
    assert response.json()["title"] == "请求参数无效"
    assert {loc: msg for loc, (_, msg) in messages.items()} == {
        ("body", "title"): "至少应有 2 个字符",
        ("body", "code"): "格式不符合要求（应匹配 ^[A-Z]{4}$）",
        ("body", "amount"): "应小于或等于 100",
        ("body", "kind"): "应为以下之一：'apply' 或 'review'",
        ("body", "tags"): "至少应有 1 项",
        ("body", "owner"): "应为有效的 UUID",
        ("body", "due"): "应为有效的日期时间（ISO 8601，如 2026-03-02T10:00:00+08:00）",
        ("body", "note"): "取值无效：备注不能含感叹号",
        ("body", "colour"): "不允许的字段",
    }

    missing = _messages(await client.post("/orders", json={"title": "abcdef"}))
    assert missing[("body", "title")] == ("string_too_long", "最多 5 个字符")
    assert missing[("body", "code")] == ("missing", "缺少必填字段")

    wrong_types = _messages(await client.post("/orders", json={**BAD_ORDER, "amount": "many"}))
    assert wrong_types[("body", "amount")][1] == "应为整数"
    assert _messages(await client.get("/orders", params={"limit": 0})) == {
        ("query", "limit"): ("greater_than_equal", "应大于或等于 1")
    }
    broken = _messages(
        await client.post("/orders", content=b"{", headers={"content-type": "application/json"})
    )
    assert [msg for _, msg in broken.values()] == ["JSON 格式错误"]
    good = {
        "title": "a\x00b",
        "code": "ABCD",
        "amount": 5,
        "kind": "apply",
        "tags": ["t"],
        "owner": "0193a5c0-0000-7000-8000-000000000002",
        "due": "2026-03-02T10:00:00+08:00",
    }
    bounds = _messages(await client.post("/orders", json=good))
    assert bounds == {("body", "title"): ("string_contains_nul", "不能包含 NUL 字符")}


async def test_validation_messages_are_english_on_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/orders", json=BAD_ORDER, headers={"Accept-Language": "en"})
    messages = _messages(response)
    assert response.json()["title"] == "Invalid request"
    assert messages[("body", "title")][1] == "String should have at least 2 characters"
    assert messages[("body", "amount")][1] == "Input should be less than or equal to 100"
    assert messages[("body", "note")][1] == "Value error, the note must not shout"
    assert messages[("body", "colour")][1] == "Extra inputs are not permitted"
    assert not any(CJK.search(msg) for _, msg in messages.values())


async def test_an_unlisted_error_type_keeps_the_english_reason(
    client: httpx.AsyncClient,
) -> None:
    from shared.validation_messages import message

    assert message({"type": "no_such_type", "msg": "Something odd"}, "zh") == (
        "取值无效（Something odd）"
    )
    # A template whose value is missing from ctx still reads as Chinese.
    assert message({"type": "less_than_equal", "msg": "x", "ctx": {}}, "zh") == "应小于或等于"
