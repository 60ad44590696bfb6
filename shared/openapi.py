"""Error responses in every OpenAPI document: each operation lists the problem+json answers it
can give (401 without a valid token, 403, 404, 409, 422 for bad input, 503 when a dependency
is down...), all with one `Problem` schema, so clients and fuzzers know what to expect."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from shared.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable, `title` follows Accept-Language",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}
ERROR_RESPONSES = {
    "400": "Malformed request",
    "401": "Missing, invalid or expired token",
    "403": "The caller's role or duties do not allow this",
    "404": "Not found, or not visible to the caller",
    "409": "Conflicts with the current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Invalid input",
    "429": "Rate limit exceeded",
    "503": "A dependency (database, another service) is unavailable",
}
_REF = {"$ref": "#/components/schemas/Problem"}


def with_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of `document` whose operations document the error answers they can give."""
    document = copy.deepcopy(document)
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, description in ERROR_RESPONSES.items():
                declared = responses.get(status)
                # FastAPI's own 422 (HTTPValidationError) is not what we send: replace it.
                if declared is None or status == "422":
                    responses[status] = {
                        "description": description,
                        "content": {PROBLEM_JSON: {"schema": _REF}},
                    }
    schemas = document["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_problem_docs(app: FastAPI) -> None:
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problem_responses(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
