"""How `sciplan.stack` wires replicas: every gateway knows every replica of each service, and
replica k of a service talks to replica k of the others and to a gateway of its own."""

from __future__ import annotations

from sciplan.stack import API_SERVICES, SERVICES, Stack, replica_name, service_of


def _stack() -> Stack:
    stack = Stack(database_url="postgresql+asyncpg://u:p@db/sciplan", replicas=2, gateways=2)
    stack.client_secrets = dict.fromkeys(API_SERVICES, "secret")
    return stack


def test_two_of_everything_are_named_and_given_ports() -> None:
    stack = _stack()
    assert stack.process_names() == [replica_name(s, k) for s in SERVICES for k in (1, 2)]
    assert [service_of(p) for p in stack.process_names()] == [s for s in SERVICES for _ in (1, 2)]
    # Default ports: the second replica ten above the first.
    assert (stack.url("projects"), stack.url("projects-2")) == (
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8011",
    )
    assert stack.gateway_urls == ["http://127.0.0.1:8000", "http://127.0.0.1:8010"]


def test_every_gateway_spreads_over_every_replica() -> None:
    stack = _stack()
    for gateway in ("gateway", "gateway-2"):
        env = stack.env_for(gateway)
        assert env["SCIPLAN_GATEWAY_CREDIT_URL"] == "http://127.0.0.1:8002,http://127.0.0.1:8012"
        assert env["SCIPLAN_GATEWAY_PORTAL_URL"] == "http://127.0.0.1:8005,http://127.0.0.1:8015"
    assert stack.env_for("gateway-2")["SCIPLAN_GATEWAY_PORT"] == "8010"


def test_a_second_replica_talks_to_the_second_of_the_others() -> None:
    env = _stack().env_for("funds-2")
    assert env["SCIPLAN_FUNDS_PORT"] == "8013"
    assert env["SCIPLAN_FUNDS_GATEWAY_URL"] == "http://127.0.0.1:8010"
    assert env["SCIPLAN_FUNDS_PROJECTS_URL"] == "http://127.0.0.1:8011"
    assert env["SCIPLAN_FUNDS_CLIENT_ID"] == "funds"


def test_one_of_each_is_the_stack_it_always_was() -> None:
    stack = Stack(database_url="postgresql+asyncpg://u:p@db/sciplan")
    stack.client_secrets = dict.fromkeys(API_SERVICES, "secret")
    assert stack.process_names() == list(SERVICES)
    assert stack.env_for("gateway")["SCIPLAN_GATEWAY_PROJECTS_URL"] == "http://127.0.0.1:8001"
    assert stack.env_for("credit")["SCIPLAN_CREDIT_GATEWAY_URL"] == "http://127.0.0.1:8000"
