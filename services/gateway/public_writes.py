"""The writes the public makes without an account, each with its own allowance per address.

Through the gateway anonymous callers otherwise only read. A write listed here is public in the
owning service too (on its app's public routes), where it is judged; the gateway lets it
through and counts it per client address, whether or not the caller is logged in. Each one
ends up in front of a person (a program manager reads every objection), so the allowance is a
few an hour, far below the API's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.gateway.config import GatewaySettings, RateLimit
from shared.errors import Text, TooManyRequests

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class ObjectionsThrottled(TooManyRequests):
    code = "objection.throttled"
    title = Text(
        "来自该地址的异议过多，请一小时后再试",
        "Too many objections from this address; try again in an hour",
    )


class DocumentChecksThrottled(TooManyRequests):
    code = "document.verification_throttled"
    title = Text(
        "来自该地址的文件核验过多，请稍后再试",
        "Too many document checks from this address; try again shortly",
    )


@dataclass(frozen=True)
class PublicWrite:
    method: str
    path: re.Pattern[str]  # the decoded path, whole
    bucket: str  # the rate bucket's name, before the address
    limit: Callable[[GatewaySettings], RateLimit]
    throttled: type[TooManyRequests]


PUBLIC_WRITES = (
    PublicWrite(
        "POST",
        re.compile(rf"/api/projects/v1/public/projects/{_UUID}/objections"),
        "objection",
        lambda settings: settings.public_objection_per_address,
        ObjectionsThrottled,
    ),
    # Checking a copy of an issued document (the PDF as the body): it writes nothing, but
    # hashes up to 10 MiB, so it has an allowance of its own.
    PublicWrite(
        "POST",
        re.compile(r"/api/projects/v1/public/documents/verification"),
        "document_check",
        lambda settings: settings.public_document_check_per_address,
        DocumentChecksThrottled,
    ),
)


def public_write(method: str, path: str) -> PublicWrite | None:
    for write in PUBLIC_WRITES:
        if write.method == method and write.path.fullmatch(path):
            return write
    return None
