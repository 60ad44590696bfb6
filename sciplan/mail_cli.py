"""`sciplan mail`: the mail notify wrote to its folder when no mail server is configured
(local `make run`), newest first; `sciplan mail show ID` prints one."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated

import typer

from services.notify.config import NotifySettings


def _folder() -> Path:
    return Path(NotifySettings().mail_dir)


def _read(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _mails(folder: Path) -> list[tuple[Path, EmailMessage]]:
    found = [(path, _read(path)) for path in folder.glob("*.eml")] if folder.is_dir() else []
    return sorted(found, key=lambda item: item[0].stat().st_mtime, reverse=True)


def commands() -> typer.Typer:
    mail = typer.Typer(help="Mail notify wrote to its folder (no SMTP server configured).")

    @mail.callback(invoke_without_command=True)
    def list_mail(context: typer.Context) -> None:
        """List the mail, newest first: id, date, recipient, subject."""
        if context.invoked_subcommand is not None:
            return
        folder = _folder()
        mails = _mails(folder)
        if not mails:
            typer.echo(f"no mail in {folder}")
            return
        for path, message in mails:
            sent = parsedate_to_datetime(str(message["Date"])).strftime("%Y-%m-%d %H:%M")
            typer.echo(f"{path.stem}  {sent}  {message['To']}  {message['Subject']}")

    @mail.command("show")
    def show(
        mail_id: Annotated[str, typer.Argument(help="the id `sciplan mail` lists (or its start)")],
    ) -> None:
        """Print one mail: its headers and its text."""
        matches = [path for path, _ in _mails(_folder()) if path.stem.startswith(mail_id)]
        if len(matches) != 1:
            typer.echo(
                f"no mail {mail_id}" if not matches else f"{mail_id} names several mails", err=True
            )
            raise typer.Exit(1)
        message = _read(matches[0])
        for header in ("Date", "From", "To", "Subject"):
            typer.echo(f"{header}: {message[header]}")
        typer.echo("")
        typer.echo(str(message.get_content()).rstrip())

    return mail
