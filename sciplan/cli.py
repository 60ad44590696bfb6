"""The `sciplan` command: run the product, migrate, create the first admin, check the audit log,
deal with the events the services could not apply, read the mail notify wrote locally."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import secrets
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import SecretStr, TypeAdapter, ValidationError

from sciplan.attachments_cli import commands as attachments_commands
from sciplan.attachments_cli import move_attachments
from sciplan.events_cli import commands as events_commands
from sciplan.mail_cli import commands as mail_commands
from sciplan.stack import (
    DEFAULT_PORTS,
    DEFAULT_START_TIMEOUT,
    SERVICES,
    START_TIMEOUT_VARIABLE,
    Stack,
    StartFailed,
)
from sciplan.stack import start_timeout as stack_start_timeout
from sciplan.supervisor import Supervisor
from services.gateway import operations
from services.gateway.config import GatewaySettings
from services.gateway.identity.schemas import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Password
from services.gateway.service_accounts import (
    SERVICE_AUDIENCES,
    ReservedClient,
    UnknownAudience,
    checked_audiences,
    checked_client_id,
)
from shared.devdb import EmbeddedPostgres, create_database
from shared.migrate import URL_VARIABLE, upgrade_all

app = typer.Typer(help="SciPlan: science funding backend.", no_args_is_help=True)
audit_app = typer.Typer(help="The gateway's hash-chained audit log.", no_args_is_help=True)
keys_app = typer.Typer(help="The gateway's token signing keys.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")

DATA_DIR = Path(".sciplan")


@contextlib.contextmanager
def database() -> Iterator[str]:
    """The database to use: SCIPLAN_DATABASE_URL, or the embedded one under .sciplan/."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield url
        return
    embedded = EmbeddedPostgres(DATA_DIR / "pgdata")
    server_url = embedded.start()
    try:
        yield asyncio.run(create_database(server_url, "sciplan"))
    finally:
        embedded.stop()


app.add_typer(events_commands(database), name="events")
app.add_typer(mail_commands(), name="mail")
app.add_typer(attachments_commands(database), name="attachments")


def _settings(url: str) -> GatewaySettings:
    return GatewaySettings(database_url=SecretStr(url))


class _Interrupted(Exception):
    """Ctrl-C or SIGTERM while the services were still starting."""


@app.command()
def dev(
    log_dir: Annotated[
        Path | None,
        typer.Option(
            help="write each service's log to a file here, not to the terminal "
            f"(default: both, the files in {DATA_DIR / 'logs'})"
        ),
    ] = None,
    ports_from: Annotated[
        int, typer.Option(help="gateway port; projects, credit and funds take the next three")
    ] = DEFAULT_PORTS["gateway"],
    start_timeout: Annotated[
        float | None,
        typer.Option(
            help=f"seconds to wait for every service to be ready (default: {START_TIMEOUT_VARIABLE}"
            f" or {DEFAULT_START_TIMEOUT:g})"
        ),
    ] = None,
) -> None:
    """Run the whole product; a service that dies is restarted, Ctrl-C stops it all.

    Starts the embedded PostgreSQL (unless SCIPLAN_DATABASE_URL is set), applies the
    migrations, creates the first admin and starts the services and the portal as processes.
    """
    try:
        deadline = start_timeout if start_timeout is not None else stack_start_timeout()
    except StartFailed as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    logs = log_dir if log_dir is not None else DATA_DIR / "logs"
    if log_dir is None:
        _keep_previous_logs(logs)
    with contextlib.ExitStack() as resources:
        ports = {name: ports_from + offset for offset, name in enumerate(SERVICES)}
        password = os.environ.get("SCIPLAN_ADMIN_PASSWORD")
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        try:
            url = resources.enter_context(database())
            # Without --log-dir the terminal shows the services' output as it comes.
            echo = sys.stderr.buffer if log_dir is None else None
            stack = Stack(database_url=url, ports=ports, log_dir=logs, echo=echo)
            created = stack.prepare(password)
            move_attachments(url)
        except KeyboardInterrupt:
            typer.echo("interrupted while starting", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:  # whatever it is, the operator gets one line and the log
            _preparation_failed(exc, logs)
        if created and generated:
            # Now, before waiting: if the start fails, the password must not be lost with it.
            typer.echo(f"admin password (generated, shown only now; keep it): {password}")
        starting = True
        stopping = False

        def request_stop(signum: int, _frame: object) -> None:
            nonlocal stopping
            stopping = True
            if starting:
                raise _Interrupted

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            stack.start_all()
            typer.echo(
                f"starting {', '.join(SERVICES)} (waiting up to {deadline:g} s) ...", err=True
            )
            stack.wait_ready(timeout=deadline, progress=_progress)
            starting = False
            _banner(stack, password if created else None, generated)
            supervisor = Supervisor(stack, lambda line: typer.echo(line, err=True))
            while not stopping:
                supervisor.check()
                time.sleep(0.3)
        except StartFailed as exc:
            typer.echo(f"SciPlan did not start: {exc.report()}", err=True)
            raise typer.Exit(1) from None
        except _Interrupted:
            typer.echo("interrupted while starting", err=True)
            raise typer.Exit(130) from None
        finally:
            starting = False
            typer.echo("stopping services ...", err=True)
            stack.stop()
            typer.echo("stopped; the embedded database stops with this command", err=True)


def _keep_previous_logs(logs: Path) -> None:
    """Each run writes fresh logs; the previous run's stay beside them as `<service>.log.1`."""
    for path in logs.glob("*.log"):
        path.replace(path.with_name(f"{path.name}.1"))


def _preparation_failed(exc: Exception, logs: Path) -> NoReturn:
    """The database could not be started, migrated or given its accounts: one line on the
    terminal, the whole traceback in the runner's log."""
    logs.mkdir(parents=True, exist_ok=True)
    runner_log = logs / "sciplan-dev.log"
    with runner_log.open("a") as file:
        file.write(f"{datetime.now(UTC).isoformat()} preparing the database failed\n")
        file.write("".join(traceback.format_exception(exc)))
    where = URL_VARIABLE if os.environ.get(URL_VARIABLE) else f"the embedded one in {DATA_DIR}"
    typer.echo(
        f"SciPlan did not start: preparing the database ({where}) failed: "
        f"{type(exc).__name__}: {exc}".rstrip()
        + f" (the whole error is in {runner_log})",
        err=True,
    )
    raise typer.Exit(1) from None


def _progress(ready: list[str], starting: list[str], waited: float) -> None:
    if starting:
        typer.echo(
            f"  {waited:5.0f} s  ready: {', '.join(ready) or '-'}; starting: {', '.join(starting)}",
            err=True,
        )


def _banner(stack: Stack, new_password: str | None, generated: bool) -> None:
    gw = stack.gateway_url
    lines = [
        "",
        "SciPlan is running.",
        f"  portal (web pages):       {gw}/",
        f"  API docs (all services):  {gw}/docs",
        f"  gateway:                  {gw}   (services on ports "
        + ", ".join(str(stack.ports[s]) for s in SERVICES[1:])
        + ", internal)",
    ]
    if new_password is not None and generated:
        lines.append(f"  admin login:              admin / {new_password}   (shown once; keep it)")
    elif new_password is not None:
        lines.append("  admin login:              admin / $SCIPLAN_ADMIN_PASSWORD")
    else:
        lines.append("  admin login:              admin / the password set when it was created")
    lines += [
        "  get a token:",
        f"    curl -s -X POST {gw}/auth/token -d username=admin -d password=...",
        "  demo data (in another terminal, admin password in SCIPLAN_ADMIN_PASSWORD):",
        f"    .venv/bin/sciplan seed-demo --url {gw}   (re-runnable; --scale full for more)",
        "  A service that stops is started again; Ctrl-C stops everything.",
        "",
    ]
    typer.echo("\n".join(lines))


@app.command()
def migrate() -> None:
    """Apply every service's migrations (each in its own schema) to the database."""
    with database() as url:
        upgrade_all(url)
        typer.echo("migrations applied: " + ", ".join(SERVICES))
        move_attachments(url)


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Option(help="login name of the admin")] = "admin",
) -> None:
    """Create the first admin of a deployment.

    The password comes from SCIPLAN_ADMIN_PASSWORD, or is generated and printed once.
    """
    password = os.environ.get("SCIPLAN_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    with database() as url:
        upgrade_all(url)
        created = asyncio.run(operations.ensure_admin(_settings(url), username, password))
    if not created:
        typer.echo(
            f"user {username!r} exists already; nothing changed "
            "(`sciplan restore-admin` resets its password and admin role)"
        )
        return
    if os.environ.get("SCIPLAN_ADMIN_PASSWORD"):
        typer.echo(f"created {username!r} with the password from SCIPLAN_ADMIN_PASSWORD")
    else:
        typer.echo(f"created {username!r}; password (shown once): {password}")


@app.command("restore-admin")
def restore_admin(
    username: Annotated[str, typer.Option(help="login name of the admin")] = "admin",
) -> None:
    """Get back in: make a user an active admin again, with a new password, unlocked.

    For the operator who lost the admin's password (or the last admin's role): the user gets
    the admin role back, is reactivated and unlocked, and their old sessions end. The password
    comes from SCIPLAN_ADMIN_PASSWORD, or is generated and printed once. A missing user is
    created.
    """
    given = os.environ.get("SCIPLAN_ADMIN_PASSWORD")
    password = given or secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD_LENGTH:
        typer.echo(
            f"SCIPLAN_ADMIN_PASSWORD needs at least {MIN_PASSWORD_LENGTH} characters", err=True
        )
        raise typer.Exit(2)
    with database() as url:
        upgrade_all(url)
        created = asyncio.run(operations.restore_admin(_settings(url), username, password))
    done = "created" if created else "restored"
    if given:
        typer.echo(f"{done} admin {username!r} with the password from SCIPLAN_ADMIN_PASSWORD")
    else:
        typer.echo(f"{done} admin {username!r}; password (shown once): {password}")


def _new_password() -> str:
    """Asked twice at a terminal; else the first line of stdin (`echo ... | sciplan ...`)."""
    if sys.stdin.isatty():
        return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="login name of the person")],
) -> None:
    """Give a person a new password (for the operator; people change theirs themselves).

    The password is asked twice at a terminal, or read from stdin when it is not one. The same
    policy as everywhere applies; the person's sessions end, their login locks are lifted, and
    the action is written to the audit log as the operator's (the system user running this).
    """
    password = _new_password()
    try:
        TypeAdapter(Password).validate_python(password)
    except ValidationError:
        typer.echo(
            f"the password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        operator = getpass.getuser()
    except (OSError, KeyError):  # no login name in this container: say so rather than guess
        operator = "unknown"
    with database() as url:
        found = asyncio.run(operations.set_password(_settings(url), username, password, operator))
    if not found:
        typer.echo(f"no user {username!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"password of {username!r} set; their sessions ended")


@app.command("register-client")
def register_client(
    name: Annotated[str, typer.Argument(help="the service account, e.g. projects")],
    audience: Annotated[
        list[str] | None,
        typer.Option(
            help="an audience it may get tokens for (repeat); projects, credit and funds have "
            "theirs by default"
        ),
    ] = None,
) -> None:
    """Create or re-key a service account (client_credentials) for a service.

    The secret comes from SCIPLAN_CLIENT_SECRET_<NAME>, the value that service gets as its
    SCIPLAN_<NAME>_CLIENT_SECRET. The account gets tokens only for its audiences: for
    projects, credit and funds those their code calls; any other account names its own.
    """
    try:
        checked_client_id(name)
    except ReservedClient as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    variable = f"SCIPLAN_CLIENT_SECRET_{name.upper()}"
    secret = os.environ.get(variable)
    if not secret or len(secret) < 16:
        typer.echo(f"set {variable} to a secret of at least 16 characters", err=True)
        raise typer.Exit(2)
    if not audience and name not in SERVICE_AUDIENCES:
        typer.echo(f"{name!r} is not a SciPlan service: name its audiences (--audience)", err=True)
        raise typer.Exit(2)
    try:
        audiences = checked_audiences(audience or SERVICE_AUDIENCES[name])
    except UnknownAudience as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    with database() as url:
        asyncio.run(operations.register_client(_settings(url), name, secret, audiences))
    typer.echo(f"service account {name!r} registered for {', '.join(audiences)}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exits 1 if a row was edited, deleted or reordered."""
    with database() as url:
        result = asyncio.run(operations.verify_audit_log(_settings(url)))
    if result.ok:
        typer.echo(f"audit log intact: {result.checked} rows verified")
        return
    typer.echo(
        f"audit log TAMPERED at row {result.at_seq}: {result.problem} "
        f"({result.checked} rows verified before it)",
        err=True,
    )
    raise typer.Exit(1)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; it signs from now on, the old keys still verify until retired."""
    with database() as url:
        kid = asyncio.run(operations.rotate_key(_settings(url)))
    typer.echo(f"new signing key {kid}")


@keys_app.command("retire")
def keys_retire(kid: Annotated[str, typer.Argument(help="the key id (kid) to retire")]) -> None:
    """Retire a key: tokens it signed stop verifying."""
    with database() as url:
        done = asyncio.run(operations.retire_key(_settings(url), kid))
    if not done:
        typer.echo(f"no active key {kid}", err=True)
        raise typer.Exit(1)
    typer.echo(f"retired {kid}")


@app.command("seed-demo")
def seed_demo(
    url: Annotated[str, typer.Option(help="the gateway of the running system")] = (
        "http://127.0.0.1:8000"
    ),
    admin_password: Annotated[
        str | None, typer.Option(help="the admin's password (default: SCIPLAN_ADMIN_PASSWORD)")
    ] = None,
    password: Annotated[
        str, typer.Option(help="the password of every demo person")
    ] = "sciplan-demo-2026",
    scale: Annotated[
        str, typer.Option(help="small (a few dozen applications) or full (a few hundred)")
    ] = "small",
    seed: Annotated[int, typer.Option(help="picks the names and applications")] = 2026,
    close_after: Annotated[
        float | None,
        typer.Option(help="seconds until the calls that must close do (default 60, full 120)"),
    ] = None,
) -> None:
    """Fill a running system with a realistic, re-runnable demo dataset through the API."""
    import httpx

    from sciplan import seed_demo as demo

    admin = admin_password or os.environ.get("SCIPLAN_ADMIN_PASSWORD")
    if not admin:
        typer.echo("give --admin-password or set SCIPLAN_ADMIN_PASSWORD", err=True)
        raise typer.Exit(2)
    if scale not in ("small", "full"):
        typer.echo("--scale is small or full", err=True)
        raise typer.Exit(2)
    try:
        asyncio.run(
            demo.seed(
                url,
                admin,
                password,
                "full" if scale == "full" else "small",
                seed,
                close_after,
                typer.echo,
            )
        )
    except (demo.SeedError, httpx.HTTPError) as exc:
        typer.echo(f"seed-demo failed ({url}): {exc}", err=True)
        raise typer.Exit(1) from exc


if __name__ == "__main__":
    app()
