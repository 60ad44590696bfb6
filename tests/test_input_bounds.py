"""Integers beyond PostgreSQL BIGINT and text with a NUL character are a 422 naming the field,
on every operation of every app (shared/input_bounds.py), never a 500.

The walk reads each app's OpenAPI document and, for every integer and string field of every
operation (path, query, form and JSON body, nested objects and lists included), sends a request
that is otherwise well-formed as far as the document can tell, with 2**64 or a NUL character in
that one field, as a caller holding every role.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from uuid import uuid4

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel

from shared.auth.roles import Role
from shared.input_bounds import BIGINT_MAX, BIGINT_MIN, NUL_ERROR, AnyInteger, out_of_bounds
from tests.conftest import MakeUser, ServiceClients, bearer, org_code

# The regular expression parser (private, so looked up by name): patterns are sampled from it.
sre_parse = importlib.import_module("re._parser")
BAD_INT = 2**64
Schema = dict[str, Any]
Path = tuple[str | int, ...]


# --- the checker itself ----------------------------------------------------------------------


class _Inner(BaseModel):
    amount: int
    note: str = ""


class _Outer(BaseModel):
    items: list[_Inner]
    scores: dict[str, int] = {}
    big: Annotated[int, AnyInteger()] = 0
    ratio: float = 0.0


def _problems(value: Any) -> list[tuple[Path, str]]:
    errors: list[dict[str, Any]] = []
    out_of_bounds(value, ("body",), errors)
    return [(error["loc"], error["type"]) for error in errors]


def test_the_bounds_are_those_of_bigint() -> None:
    fine = _Outer(items=[_Inner(amount=BIGINT_MAX), _Inner(amount=BIGINT_MIN)], big=BAD_INT)
    assert _problems(fine) == []
    wrong = _Outer(
        items=[_Inner(amount=1), _Inner(amount=BIGINT_MAX + 1, note="a\x00b")],
        scores={"k\x00": BIGINT_MIN - 1},
        ratio=float("nan"),
    )
    assert _problems(wrong) == [
        (("body", "items", 1, "amount"), "less_than_equal"),
        (("body", "items", 1, "note"), NUL_ERROR),
        (("body", "scores", "k\x00"), NUL_ERROR),
        (("body", "scores", "k\x00"), "greater_than_equal"),
        (("body", "ratio"), "finite_number"),
    ]


# --- the walk over every operation -----------------------------------------------------------


def _sample_pattern(pattern: str) -> str:
    """The shortest string the (simple) pattern matches."""

    def walk(items: Any) -> str:
        out = ""
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out += chr(arg)
            elif name == "IN":
                out += _first_in(arg)
            elif name in ("MAX_REPEAT", "MIN_REPEAT"):
                low, high, sub = arg
                out += walk(sub) * min(low + 2, high)
            elif name == "SUBPATTERN":
                out += walk(arg[-1])
            elif name == "BRANCH":
                out += walk(arg[1][0])
            elif name == "CATEGORY":
                out += "0"
            elif name == "ANY":
                out += "a"
        return out

    return walk(sre_parse.parse(pattern))


def _first_in(items: Any) -> str:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return "0"
    raise AssertionError(items)


# Values the document cannot express (a validator's rule across fields, a check digit), by
# property name: the walk starts from these so that a request is valid but for the one field.
_LATER = "2026-05-02T10:00:00+08:00"
SEEDS: dict[str, Any] = {
    "closes_at": _LATER,
    "ends_on": "2028-12-31",
    "new_ends_on": "2028-12-31",
    "credit_code": org_code(1),
    "parent_code": org_code(1),
    "child_code": org_code(2),
    "invoice_number": "62001234-00056789",
    "review_template": {
        "criteria": [
            {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
            {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
        ]
    },
    "team": [{"user_id": str(uuid4()), "role": "负责人", "share": 100}],
    "scores": {"进度": 90},
    "tier": "general",
    "score_effect": -5,
    "subject_id": str(uuid4()),
}


@dataclass
class Document:
    doc: dict[str, Any]
    # Fill optional properties too (some objects need one of two optional fields).
    everything: bool = False

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            node: Any = self.doc
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def branch(self, schema: Schema) -> Schema:
        """The schema itself, or the first non-null choice of a union (what `sample` takes)."""
        schema = self.resolve(schema)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                choices = [self.resolve(s) for s in schema[key]]
                return self.branch(next(s for s in choices if s.get("type") != "null"))
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.branch(schema["allOf"][0])
        return schema

    def sample(self, schema: Schema, name: str = "", depth: int = 0) -> Any:
        """A small value the schema accepts."""
        if name in SEEDS:
            return SEEDS[name]
        schema = self.branch(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return self._number(schema)
        if kind == "number":
            return float(self._number(schema))
        if kind == "boolean":
            return False
        if kind == "array":
            count = schema.get("minItems", 0)
            return [self.sample(schema.get("items", {}), "", depth + 1) for _ in range(count)]
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            wanted = properties if self.everything and depth < 4 else schema.get("required", [])
            return {key: self.sample(properties[key], key, depth + 1) for key in wanted}
        return "x"

    @staticmethod
    def _string(schema: Schema) -> str:
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid4())
        if fmt == "date-time":
            return "2026-03-02T10:00:00+08:00"
        if fmt == "date":
            return "2026-03-02"
        if "pattern" in schema:
            return _sample_pattern(schema["pattern"])
        return "x" * max(schema.get("minLength", 1), 1)

    @staticmethod
    def _number(schema: Schema) -> int:
        if "minimum" in schema:
            return int(schema["minimum"])
        if "exclusiveMinimum" in schema:
            return int(schema["exclusiveMinimum"]) + 1
        if "maximum" in schema:
            return min(1, int(schema["maximum"]))
        return 1

    def leaves(self, schema: Schema, path: Path = (), depth: int = 0) -> Iterator[Path]:
        """The path of every integer and string under `schema` (one item of each list)."""
        schema = self.branch(schema)
        kind = schema.get("type")
        if depth > 8:
            return
        if kind in ("integer", "string") and "enum" not in schema and "const" not in schema:
            yield path
        elif kind == "array":
            yield from self.leaves(schema.get("items", {}), (*path, 0), depth + 1)
        elif kind == "object" or "properties" in schema:
            for key, sub in schema.get("properties", {}).items():
                yield from self.leaves(sub, (*path, key), depth + 1)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                yield from self.leaves(extra, (*path, "key"), depth + 1)

    def schema_at(self, schema: Schema, path: Path) -> Schema:
        for step in path:
            schema = self.branch(schema)
            if isinstance(step, int):
                schema = schema.get("items", {})
            elif step in schema.get("properties", {}):
                schema = schema["properties"][step]
            else:
                schema = schema["additionalProperties"]
        return self.branch(schema)

    @staticmethod
    def bad(schema: Schema) -> Any:
        """2**64 for an integer, text with a NUL character (of a valid length) for a string."""
        if schema.get("type") == "integer":
            return BAD_INT
        length = max(schema.get("minLength", 3), 3)
        return ("a" * (length - 1) + "\x00")[: schema.get("maxLength", length)]

    def with_value(self, schema: Schema, body: Any, path: Path, value: Any) -> Any:
        """`body` with `value` at `path`, making the containers on the way as needed."""
        if not path:
            return value
        schema = self.branch(schema)
        step, rest = path[0], path[1:]
        if isinstance(step, int):
            items = schema.get("items", {})
            body = list(body) or [self.sample(items)]
            body[0] = self.with_value(items, body[0], rest, value)
            return body
        sub = schema.get("properties", {}).get(step) or schema.get("additionalProperties") or {}
        body = dict(body)
        inner = body[step] if step in body else self.sample(sub, str(step))
        body[step] = self.with_value(sub, inner, rest, value)
        return body


@dataclass(frozen=True)
class Case:
    app: str
    method: str
    path: str
    where: str  # path, query, json or form
    field: Path

    @property
    def expected_loc(self) -> list[str | int]:
        return ["body" if self.where in ("json", "form") else self.where, *self.field]

    def __str__(self) -> str:
        return f"{self.app} {self.method.upper()} {self.path} {self.where}:{self.field}"


Operation = tuple[str, str, Schema]  # method, path, the operation's document


def _operations(document: Document) -> Iterator[Operation]:
    for path, item in document.doc["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


_FORMS = (("application/json", "json"), ("application/x-www-form-urlencoded", "form"))


def _cases(app: str, document: Document, operation: Operation) -> Iterator[Case]:
    method, path, spec = operation
    for parameter in spec.get("parameters", []):
        schema = document.branch(parameter["schema"])
        if (
            parameter["in"] in ("path", "query")
            and schema.get("type") in ("integer", "string")
            and "enum" not in schema
        ):
            yield Case(app, method, path, parameter["in"], (parameter["name"],))
    content = spec.get("requestBody", {}).get("content", {})
    for media, where in _FORMS:
        if media in content:
            for field in document.leaves(content[media]["schema"]):
                if field:
                    yield Case(app, method, path, where, field)


@dataclass
class Request:
    method: str
    url: str
    query: dict[str, Any]
    json: Any = None
    form: Any = None

    async def send(self, client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
        return await client.request(
            self.method,
            self.url,
            params=self.query,
            json=self.json,
            data=self.form,
            headers=headers,
        )


def _request(
    document: Document, operation: Operation, case: Case, *, harmless: bool = False
) -> Request:
    """A request for the operation: valid as far as the document can tell, but for the case's
    field, which holds 2**64 or a NUL character (`harmless`: a valid value instead)."""
    method, url, spec = operation
    request = Request(method, url, {})
    for parameter in spec.get("parameters", []):
        where, name = parameter["in"], parameter["name"]
        schema = document.branch(parameter["schema"])
        if case.where == where and case.field == (name,):
            value = document.sample(schema, name) if harmless else document.bad(schema)
        elif where == "path" or parameter.get("required"):
            value = document.sample(schema, name)
        else:
            continue
        if where == "path":
            request.url = request.url.replace("{" + name + "}", quote(str(value), safe=""))
        elif where == "query":
            request.query[name] = value
    content = spec.get("requestBody", {}).get("content", {})
    for media, where in _FORMS:
        if media in content:
            schema = content[media]["schema"]
            body = document.sample(schema)
            if case.where == where:
                leaf = document.schema_at(schema, case.field)
                value = (
                    document.sample(leaf, str(case.field[-1])) if harmless else document.bad(leaf)
                )
                body = document.with_value(schema, body, case.field, value)
            setattr(request, where, body)
    return request


def _body_fields(app: FastAPI) -> dict[tuple[str, str | None], Any]:
    """FastAPI's body field of each operation, by (method, path)."""
    fields: dict[tuple[str, str | None], Any] = {}
    for context in iter_route_contexts(app.routes):
        body_field = getattr(context, "body_field", None)
        for method in context.methods or ():
            fields[method.lower(), context.path] = body_field
    return fields


def _valid_without_the_bad_value(
    document: Document, operation: Operation, case: Case, body_fields: dict[Any, Any]
) -> bool:
    """Whether the case's body with a harmless value in the field passes validation (asked of
    the app's own body field, without sending it: a valid request would run the operation)."""
    method, path, _ = operation
    request = _request(document, operation, case, harmless=True)
    body = request.json if request.json is not None else request.form
    field = body_fields.get((method, path))
    if field is None or body is None:
        return True
    _, errors = field.validate(body, {}, loc=("body",))
    return not errors


def _names(loc: list[Any], expected: list[Any]) -> bool:
    """Whether `loc` is the field's: the same path, where Pydantic may add a union's tag."""
    rest = iter(loc)
    return bool(loc) and loc[-1] == expected[-1] and all(step in rest for step in expected)


async def _everyone(gateway: FastAPI, make_user: MakeUser) -> dict[str, str]:
    """A token of every role for a person the gateway knows (it refuses anyone else's)."""
    person = await make_user(Role.applicant, username=f"bounds-{uuid4().hex[:8]}")
    issuer = gateway.state.token_issuer
    token, _ = await issuer.access_token(
        subject=str(person["id"]),
        audience=issuer.settings.audiences,
        roles=[role.value for role in Role],
        extra={"name": "边界测试"},
    )
    return bearer(token)


# The cases of issue 13 (item 17), each once a 500: these must name their field exactly.
ISSUE_CASES = {
    "projects POST /v1/applications json:('content', 'budget', 'business')",
    "funds POST /v1/grants/envelopes json:('amount_fen',)",
    "credit GET /v1/eligibility query:('credit_code',)",
}


async def test_every_integer_and_string_field_refuses_what_postgresql_cannot_store(
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
    service_clients: ServiceClients,
    make_user: MakeUser,
) -> None:
    headers = await _everyone(gateway, make_user)
    clients = {"gateway": gateway_client, **service_clients}
    named: list[str] = []  # 422 naming the field: the request reached the check
    refused: list[str] = []  # 422 about another part of an otherwise valid request
    untested: list[str] = []  # 422, but the document could not describe a valid request
    wrong: list[str] = []
    for name, client in clients.items():
        transport = client._transport
        assert isinstance(transport, httpx.ASGITransport)
        app: FastAPI = transport.app  # type: ignore[assignment]
        spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
        body_fields = _body_fields(app)
        for operation in _operations(Document(spec)):
            for case in _cases(name, Document(spec), operation):
                # Required fields only; failing that, every field (for "one of two" rules).
                for document in (Document(spec), Document(spec, everything=True)):
                    valid = _valid_without_the_bad_value(document, operation, case, body_fields)
                    if valid:
                        break
                response = await _request(document, operation, case).send(client, headers)
                if response.status_code != 422:
                    wrong.append(f"{case}: {response.status_code} {response.text[:300]}")
                    continue
                assert response.headers["content-type"] == "application/problem+json"
                locs = [error["loc"] for error in response.json().get("errors", [])]
                if any(_names(loc, case.expected_loc) for loc in locs):
                    named.append(str(case))
                elif not valid:
                    untested.append(str(case))
                elif any(loc == case.expected_loc[: len(loc)] for loc in locs):
                    refused.append(f"{case}: {locs}")  # by a rule across fields
                else:
                    wrong.append(f"{case}: 422 without naming the field: {response.text[:300]}")

    assert wrong == [], "\n".join(wrong)
    assert set(named) >= ISSUE_CASES
    # The walk is only worth its name if nearly every case gets as far as the check.
    total = len(named) + len(refused) + len(untested)
    assert len(named) >= 0.9 * total, "\n".join(["untested:", *untested, "refused:", *refused])
