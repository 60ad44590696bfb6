"""Which audiences each service account may get tokens for: only what its service calls.

A service token is a key to another service's service-only routes (its event feed, and for
funds the ledger), so an account gets exactly the audiences its service needs, and a client
registered for anything else names its audiences itself. Read from the services' code:
each reads the gateway's event feed (its directory of people); projects asks credit about
eligibility; credit reads the feeds of projects, funds and notify (notice.delivered); funds
reads projects' feed and asks credit; notify reads every feed to tell people. The gateway has
no account: it signs its own service tokens (`svc:gateway`, for notify's direct messages
and projects' event feed).
"""

from __future__ import annotations

from collections.abc import Iterable

GATEWAY, PROJECTS, CREDIT, FUNDS, NOTIFY = (
    "sciplan-gateway",
    "sciplan-projects",
    "sciplan-credit",
    "sciplan-funds",
    "sciplan-notify",
)
KNOWN_AUDIENCES = frozenset({GATEWAY, PROJECTS, CREDIT, FUNDS, NOTIFY})

SERVICE_AUDIENCES: dict[str, tuple[str, ...]] = {
    "projects": (GATEWAY, CREDIT),
    "credit": (GATEWAY, PROJECTS, FUNDS, NOTIFY),
    "funds": (GATEWAY, PROJECTS, CREDIT),
    "notify": (GATEWAY, PROJECTS, CREDIT, FUNDS),
}


# The gateway's own name: it signs `svc:gateway` tokens itself, and notify trusts that subject
# with direct messages (a password reset link to any address). No client may take it.
RESERVED_CLIENT_IDS = frozenset({"gateway"})


class UnknownAudience(ValueError):
    pass


class ReservedClient(ValueError):
    pass


def is_reserved(client_id: str) -> bool:
    return client_id.strip().lower() in RESERVED_CLIENT_IDS


def checked_client_id(client_id: str) -> str:
    """The name, unless it is the gateway's own (ReservedClient)."""
    if is_reserved(client_id):
        raise ReservedClient(f"{client_id!r} is the gateway's own name: choose another")
    return client_id


def checked_audiences(audiences: Iterable[str]) -> list[str]:
    """The audiences, sorted and without repeats; raises UnknownAudience for a name not served."""
    chosen = sorted(set(audiences))
    if not chosen:
        raise UnknownAudience("a service account needs at least one audience")
    unknown = [a for a in chosen if a not in KNOWN_AUDIENCES]
    if unknown:
        raise UnknownAudience(
            f"unknown audience {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_AUDIENCES))}"
        )
    return chosen
