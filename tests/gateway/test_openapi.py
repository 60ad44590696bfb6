"""The gateway's merged OpenAPI document: every reference in it leads somewhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.openapi.utils import get_openapi
from pydantic import SecretStr

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.funds.config import FundsSettings
from services.funds.main import create_app as funds_app
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.gateway.proxy.openapi import merge
from services.projects.config import ProjectsSettings
from services.projects.main import create_app as projects_app
from shared.openapi import with_problem_responses

URL = SecretStr("postgresql+asyncpg://unused@localhost/unused")


def references_in(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(where, reference) for every `$ref` and every discriminator mapping target."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield where, value
            elif key == "discriminator" and isinstance(value, dict):
                for target in value.get("mapping", {}).values():
                    yield where, target
            else:
                yield from references_in(value, f"{where}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from references_in(item, where)


def resolves(document: dict[str, Any], reference: str) -> bool:
    if not reference.startswith("#/"):
        return False
    node: Any = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _merged() -> dict[str, Any]:
    gateway = gateway_app(GatewaySettings(database_url=URL))
    own = with_problem_responses(get_openapi(title="t", version="1", routes=gateway.routes))
    services = {
        "projects": projects_app(ProjectsSettings(database_url=URL)),
        "credit": credit_app(CreditSettings(database_url=URL)),
        "funds": funds_app(FundsSettings(database_url=URL)),
    }
    return merge(own, {name: app.openapi() for name, app in services.items()})


def test_every_reference_of_the_merged_documentresolves() -> None:
    document = _merged()
    references = list(references_in(document))
    assert len(references) > 100
    dangling = [(where, ref) for where, ref in references if not resolves(document, ref)]
    assert dangling == []
    # The discriminated union of project changes is among them, prefixed like its schemas.
    assert "#/components/schemas/Projects_PiChange" in {ref for _, ref in references}


def test_discriminator_mappings_are_renamed_with_their_schemas() -> None:
    service = {
        "paths": {},
        "components": {
            "schemas": {
                "Change": {
                    "oneOf": [{"$ref": "#/components/schemas/A"}],
                    "discriminator": {
                        "propertyName": "kind",
                        "mapping": {"a": "#/components/schemas/A"},
                    },
                },
                "A": {"type": "object"},
            }
        },
    }
    merged = merge({"paths": {}}, {"projects": service})
    change = merged["components"]["schemas"]["Projects_Change"]
    assert change["discriminator"]["mapping"] == {"a": "#/components/schemas/Projects_A"}
    assert change["oneOf"] == [{"$ref": "#/components/schemas/Projects_A"}]
