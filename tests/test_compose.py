"""docker-compose.yml checked against the code: variable names, ports, URLs, order, secrets.

No docker engine runs here, so the file is parsed and compared with the settings classes.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from services.credit.config import CreditSettings
from services.funds.config import FundsSettings
from services.gateway.config import GatewaySettings
from services.notify.config import NotifySettings
from services.portal.config import PortalSettings
from services.projects.config import ProjectsSettings
from shared.migrate import URL_VARIABLE
from shared.settings import ServiceSettings

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "projects": ProjectsSettings,
    "credit": CreditSettings,
    "funds": FundsSettings,
    "notify": NotifySettings,
    "portal": PortalSettings,
}
UPSTREAMS = tuple(GatewaySettings.model_construct().upstreams)
# Compose interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
READYZ = re.compile(r"https?://[^\s'\"]+/readyz")


@cache
def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _service(name: str) -> dict[str, Any]:
    service = _compose()["services"][name]
    assert isinstance(service, dict)
    return service


def _environment(name: str) -> dict[str, str]:
    env = _service(name).get("environment", {})
    if isinstance(env, list):
        env = dict(str(item).split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def _command(name: str) -> list[str]:
    command = _service(name)["command"]
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def _prefix(service: str) -> str:
    return SETTINGS[service].model_config["env_prefix"]


def _default_port(service: str) -> int:
    port = SETTINGS[service].model_fields["port"].default
    assert isinstance(port, int)
    return port


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _references(value: str) -> list[re.Match[str]]:
    return list(VARIABLE.finditer(value))


def _required_variables() -> dict[str, str]:
    """A stand-in value for every variable the file demands (`${NAME:?...}`)."""
    names = {
        match["name"]
        for text in _strings(_compose())
        for match in _references(text)
        if (match["op"] or "").endswith("?")
    }
    return {name: f"compose-test-{name.lower().replace('_', '-')}" for name in names}


def _interpolate(value: str, variables: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["name"] in variables:
            return variables[match["name"]]
        if (match["op"] or "").endswith("-"):
            return match["arg"]
        raise AssertionError(f"{match[0]} has neither a value nor a default")

    return VARIABLE.sub(replace, value)


def _settings_values(service: str) -> dict[str, Any]:
    """The service's compose environment, interpolated, as settings field values (a JSON list
    decoded, as pydantic-settings decodes it from the environment)."""
    prefix = _prefix(service)
    variables = _required_variables()
    values: dict[str, Any] = {}
    for name, value in _environment(service).items():
        if name.startswith(prefix):
            text = _interpolate(value, variables)
            values[name.removeprefix(prefix).lower()] = (
                json.loads(text) if text.startswith("[") else text
            )
    return values


def test_every_service_is_defined() -> None:
    assert {*SETTINGS, "postgres", "migrate"} <= set(_compose()["services"])


def test_the_gateway_routes_to_exactly_the_app_services() -> None:
    # The portal is served at the root, not under /api.
    assert set(UPSTREAMS) == set(SETTINGS) - {"gateway", "portal"}


@pytest.mark.parametrize("service", SETTINGS)
def test_variables_name_settings_fields(service: str) -> None:
    prefix = _prefix(service)
    fields = set(SETTINGS[service].model_fields)
    assert prefix == f"SCIPLAN_{service.upper()}_"
    for name in _environment(service):
        # A variable under another prefix would be ignored silently by this service.
        assert name.startswith(prefix), f"{service}: {name} is not read by {prefix}*"
        assert name.removeprefix(prefix).lower() in fields, f"{service}: {name} is no setting"


@pytest.mark.parametrize("service", SETTINGS)
def test_port_and_healthcheck_use_the_default_port(service: str) -> None:
    env = _environment(service)
    port = _default_port(service)
    assert env[f"{_prefix(service)}PORT"] == str(port)
    assert env[f"{_prefix(service)}HOST"] == "0.0.0.0"

    probe = " ".join(_service(service)["healthcheck"]["test"])
    urls = READYZ.findall(probe)
    assert len(urls) == 1, f"{service}: healthcheck must probe /readyz once: {probe}"
    url = urlsplit(urls[0])
    assert url.hostname in {"127.0.0.1", "localhost"}
    assert url.port == port


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_gateway_reaches_each_service_on_its_port(upstream: str) -> None:
    env = _environment("gateway")
    url = env[f"SCIPLAN_GATEWAY_{upstream.upper()}_URL"]
    assert url == f"http://{upstream}:{_default_port(upstream)}"


def test_gateway_is_published_on_its_port() -> None:
    port = _default_port("gateway")
    assert f"{port}:{port}" in [str(mapping) for mapping in _service("gateway")["ports"]]


def _url_settings(service: str) -> list[str]:
    """Every other process a service reads the address of: its `*_url` settings and any other
    setting whose default is an http URL (the database URL is checked on its own). A URL that is
    unset by default turns its feature off (credit's `notify_url`): it never falls back to
    127.0.0.1, so it is not required here."""
    fields = SETTINGS[service].model_fields
    return sorted(
        name
        for name, field in fields.items()
        if name != "database_url"
        and not (field.default is None and not field.is_required())
        and (name.endswith("_url") or str(field.default).startswith(("http://", "https://")))
    )


# URLs that people follow, not services: the links in the gateway's mails lead to the public
# address. Set in compose from SCIPLAN_PUBLIC_URL, never to a container.
PUBLIC_URLS = {("gateway", "account_links_url")}
URL_SETTINGS = [
    (service, name)
    for service in SETTINGS
    for name in _url_settings(service)
    if (service, name) not in PUBLIC_URLS
]


@pytest.mark.parametrize(("service", "setting"), sorted(PUBLIC_URLS))
def test_public_links_lead_to_the_public_address(service: str, setting: str) -> None:
    value = _environment(service)[f"{_prefix(service)}{setting.upper()}"]
    assert value.startswith("${SCIPLAN_PUBLIC_URL:?"), value


def test_the_url_settings_are_found() -> None:
    # The walk below is only as good as this list: it must see the URLs known today.
    assert ("funds", "projects_url") in URL_SETTINGS
    assert ("credit", "funds_url") in URL_SETTINGS
    assert {service for service, _ in URL_SETTINGS} == set(SETTINGS)


@pytest.mark.parametrize(("service", "setting"), URL_SETTINGS)
def test_every_url_a_service_reads_is_set_to_that_service(service: str, setting: str) -> None:
    # Without it the process would use its development default, 127.0.0.1: itself, in a
    # container (funds would poll its own feed for `project.contracted` forever).
    target = setting.removesuffix("_url")
    assert target in SETTINGS, f"{service}.{setting}: name it <service>_url"
    name = f"{_prefix(service)}{setting.upper()}"
    env = _environment(service)
    assert name in env, f"{service}: docker-compose.yml does not set {name}"
    assert env[name] == f"http://{target}:{_default_port(target)}"


@pytest.mark.parametrize("service", SETTINGS)
def test_services_reach_the_gateway(service: str) -> None:
    env = _environment(service)
    assert env[f"{_prefix(service)}GATEWAY_URL"] == f"http://gateway:{_default_port('gateway')}"


def test_start_order() -> None:
    def depends_on(service: str) -> dict[str, str]:
        return {name: spec["condition"] for name, spec in _service(service)["depends_on"].items()}

    assert "pg_isready" in _service("postgres")["healthcheck"]["test"]
    # The object store's bucket too: the job moves files an older version kept in the database.
    assert depends_on("migrate") == {
        "postgres": "service_healthy",
        "minio-bucket": "service_completed_successfully",
    }
    assert depends_on("minio-bucket") == {"minio": "service_healthy"}
    for upstream in UPSTREAMS:
        assert depends_on(upstream)["migrate"] == "service_completed_successfully"
    assert depends_on("gateway") == dict.fromkeys(UPSTREAMS, "service_healthy")


def test_production_everywhere() -> None:
    for service in SETTINGS:
        assert _environment(service)[f"{_prefix(service)}ENVIRONMENT"] == "production"
    for service in _compose()["services"]:
        for name, value in _environment(service).items():
            if name.startswith("SCIPLAN_") and name.endswith("_ENVIRONMENT"):
                assert value == "production", f"{service}: {name}={value}"


@pytest.mark.parametrize("service", SETTINGS)
def test_command_serves_its_service(service: str) -> None:
    command = _command(service)
    at = command.index("sciplan.serve")
    assert command[at - 1] == "-m"
    assert command[at + 1 :] == [service]


def test_migrate_job_prepares_the_database_and_accounts() -> None:
    script = " ".join(_command("migrate"))
    steps = [
        "sciplan migrate",
        "sciplan create-admin",
        *(f"sciplan register-client {upstream}" for upstream in UPSTREAMS),
    ]
    positions = [script.find(step) for step in steps]
    assert -1 not in positions, f"migrate job lacks a step: {script}"
    assert positions == sorted(positions)

    migrate_env = _environment("migrate")
    assert "SCIPLAN_ADMIN_PASSWORD" in migrate_env
    for service in SETTINGS:
        assert migrate_env[URL_VARIABLE] == _environment(service)[f"{_prefix(service)}DATABASE_URL"]
    for upstream in UPSTREAMS:
        env = _environment(upstream)
        # The account the job registers must be the one the service logs in with.
        assert env[f"{_prefix(upstream)}CLIENT_ID"] == upstream
        secret = migrate_env[f"SCIPLAN_CLIENT_SECRET_{upstream.upper()}"]
        assert env[f"{_prefix(upstream)}CLIENT_SECRET"] == secret


def test_database_url_points_at_the_postgres_service() -> None:
    variables = _required_variables()
    postgres = {
        name: _interpolate(value, variables) for name, value in _environment("postgres").items()
    }
    url = make_url(_interpolate(_environment("migrate")[URL_VARIABLE], variables))
    assert url.drivername == "postgresql+asyncpg"
    assert (url.host, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.database == postgres["POSTGRES_DB"]


def test_passwords_and_secrets_have_no_default() -> None:
    for text in _strings(_compose()):
        for match in _references(text):
            if "PASSWORD" in match["name"] or "SECRET" in match["name"]:
                assert match["op"] == ":?", f"{match[0]} must be ${{{match['name']}:?...}}"


@pytest.mark.parametrize("service", SETTINGS)
def test_production_secrets_are_set(service: str) -> None:
    settings_class = SETTINGS[service]
    values = _settings_values(service)
    secret_fields = {
        name for name, field in settings_class.model_fields.items() if field.annotation is SecretStr
    }
    # Which secrets production insists on, asked of the code: the ones still at their
    # development default once compose's secrets are taken away.
    without_secrets = {k: v for k, v in values.items() if k not in secret_fields}
    development = settings_class.model_validate({**without_secrets, "environment": "development"})
    required = {label.split()[0] for label in development.default_secrets()}
    assert required, f"{service}: expected at least the database URL to be required"
    assert required <= secret_fields

    raw = _environment(service)
    for field in required:
        name = f"{_prefix(service)}{field.upper()}"
        assert name in raw, f"{service}: production needs {name}"
    for field in secret_fields:
        name = f"{_prefix(service)}{field.upper()}"
        if name in raw:
            demanded = [m for m in _references(raw[name]) if m["op"] == ":?"]
            assert demanded, f"{service}: {name} must come from a ${{VAR:?...}} variable"

    settings = settings_class.model_validate(values)
    assert settings.environment == "production"
    assert settings.default_secrets() == []


def test_notify_mails_through_a_relay_the_operator_names() -> None:
    # A formal notice accepted by the mail server counts as served: no default may send it
    # to the catcher, which accepts everything and delivers nothing.
    [host] = _references(_environment("notify")["SCIPLAN_NOTIFY_SMTP_HOST"])
    assert host["op"] == ":?"
    assert "mailpit" not in _service("notify")["depends_on"]
    assert _service("mailpit")["profiles"] == ["local"]


def test_the_gateway_believes_forwarded_addresses_from_the_portal_alone() -> None:
    portal_address = _service("portal")["networks"]["default"]["ipv4_address"]
    trusted = GatewaySettings.model_validate(_settings_values("gateway")).trusted_proxies
    assert trusted == [f"{portal_address}/32"]


def test_the_projects_service_and_the_migrate_job_share_one_object_store() -> None:
    variables = _required_variables()
    projects = _settings_values("projects")
    assert projects["object_store"] == "s3"
    assert urlsplit(projects["s3_endpoint"]).hostname == "minio"
    job = {
        name.removeprefix("SCIPLAN_PROJECTS_").lower(): _interpolate(value, variables)
        for name, value in _environment("migrate").items()
        if name.startswith("SCIPLAN_PROJECTS_")
    }
    assert job == {k: v for k, v in projects.items() if k.startswith(("object_store", "s3_"))}
    minio = {k: _interpolate(v, variables) for k, v in _environment("minio").items()}
    assert (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]) == (
        projects["s3_access_key"],
        projects["s3_secret_key"],
    )


def test_every_process_sends_its_traces_to_the_viewer_unless_told_otherwise() -> None:
    viewer = _service("jaeger")
    assert ":" in viewer["image"]
    assert not viewer["image"].endswith(":latest")
    # The viewer has no login: its web view is for this machine only.
    assert viewer["ports"] == ["127.0.0.1:16686:16686"]
    for service in SETTINGS:
        raw = _environment(service)[f"{_prefix(service)}OTLP_ENDPOINT"]
        [variable] = _references(raw)
        # `-`, not `:-`: SCIPLAN_OTLP_ENDPOINT set empty turns tracing off rather than on.
        assert (variable["name"], variable["op"]) == ("SCIPLAN_OTLP_ENDPOINT", "-")
        settings = SETTINGS[service].model_validate(_settings_values(service))
        assert settings.otlp_endpoint == "http://jaeger:4318"  # OTLP over HTTP
        off = _interpolate(raw, {"SCIPLAN_OTLP_ENDPOINT": ""})
        assert SETTINGS[service].model_validate({"otlp_endpoint": off}).otlp_endpoint is None
    gateway = GatewaySettings.model_validate(_settings_values("gateway"))
    assert gateway.trace_sample_ratio == 0.1  # a trace costs ~0.5 ms of CPU a process
