"""One OpenAPI document for the whole product: the gateway's own routes plus every service's,
with paths under `/api/<service>` and schema names prefixed so two services cannot collide."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

import aiohttp

from services.gateway.replicas import Replicas

log = logging.getLogger(__name__)

REF_PREFIX = "#/components/schemas/"


def _renamed(value: Any, prefix: str) -> Any:
    if isinstance(value, str) and value.startswith(REF_PREFIX):
        return REF_PREFIX + prefix + value[len(REF_PREFIX) :]
    return value


def _rename_refs(node: Any, prefix: str) -> Any:
    """Every reference to a schema, renamed: `$ref`s, and the schema names a discriminator
    maps its values to (those are references too, outside any `$ref`)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref":
                out[key] = _renamed(value, prefix)
            elif key == "discriminator" and isinstance(value, dict):
                out[key] = {
                    **value,
                    "mapping": {
                        name: _renamed(target, prefix)
                        for name, target in value.get("mapping", {}).items()
                    },
                }
                if not value.get("mapping"):
                    out[key].pop("mapping")
            else:
                out[key] = _rename_refs(value, prefix)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, prefix) for item in node]
    return node


def merge(gateway: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = copy.deepcopy(gateway)
    paths = merged.setdefault("paths", {})
    components = merged.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    security_schemes = components.setdefault("securitySchemes", {})
    tags = merged.setdefault("tags", [])
    for name, document in services.items():
        prefix = name.capitalize() + "_"
        for path, item in document.get("paths", {}).items():
            item = _rename_refs(item, prefix)
            for operation in item.values():
                if isinstance(operation, dict):
                    operation["tags"] = [f"{name}: {t}" for t in operation.get("tags", ["misc"])]
                    if "operationId" in operation:
                        operation["operationId"] = f"{name}_{operation['operationId']}"
            paths[f"/api/{name}{path}"] = item
        for schema_name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[prefix + schema_name] = _rename_refs(schema, prefix)
        security_schemes.update(document.get("components", {}).get("securitySchemes", {}))
        tags.append({"name": name, "description": document.get("info", {}).get("description", "")})
    return merged


class ServiceDocs:
    """Fetches each service's OpenAPI document, cached for a short while."""

    def __init__(self, upstreams: dict[str, Replicas], session: aiohttp.ClientSession) -> None:
        self.upstreams = upstreams
        self.session = session
        self._cache: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")

    async def documents(self, max_age: float = 30.0) -> dict[str, dict[str, Any]]:
        if time.monotonic() - self._fetched_at > max_age or len(self._cache) < len(self.upstreams):
            results = await asyncio.gather(
                *(self._fetch(replicas) for replicas in self.upstreams.values()),
                return_exceptions=True,
            )
            for name, result in zip(self.upstreams, results, strict=True):
                if isinstance(result, dict):
                    self._cache[name] = result
                else:
                    log.warning("no OpenAPI document from %s: %r", name, result)
            self._fetched_at = time.monotonic()
        return dict(self._cache)

    async def _fetch(self, replicas: Replicas) -> dict[str, Any]:
        async def fetch(base: str) -> dict[str, Any]:
            # Generous: a service builds its document on the first request (the projects
            # service's 75 routes take about 3 s of CPU), and a busy machine stretches that.
            async with self.session.get(
                f"{base}/openapi.json", timeout=aiohttp.ClientTimeout(total=20)
            ) as r:
                r.raise_for_status()
                document: dict[str, Any] = await r.json()
                return document

        _, document = await replicas.ask("GET", fetch)
        return document
