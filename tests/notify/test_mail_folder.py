"""Without a mail server (local `make run`) mail becomes .eml files that `sciplan mail` lists
and `sciplan mail show ID` prints."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sciplan.cli import app as cli
from services.notify.delivery.senders import FolderSender
from shared.auth.roles import Role
from tests.notify.conftest import Notify, apply, approved


async def test_mail_written_to_the_folder_is_listed_and_shown(
    notify: Notify, tmp_path: Path
) -> None:
    notify.app.state.mail_sender = FolderSender(tmp_path)
    person = await notify.person(Role.applicant, email="wang.fang@example.org")
    await apply(notify, "projects", approved(person.id, project_number="GS2026-0042"))
    assert await notify.deliver() == 1
    [notice] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert notice["delivered_by"] == "mail"  # written whole to the folder: accepted
    _listed_and_shown(tmp_path)


def _listed_and_shown(folder: Path) -> None:
    [written] = list(folder.glob("*.eml"))

    runner = CliRunner()
    env = {"SCIPLAN_NOTIFY_MAIL_DIR": str(folder)}
    listed = runner.invoke(cli, ["mail"], env=env)
    assert listed.exit_code == 0, listed.output
    assert written.stem in listed.output
    assert "wang.fang@example.org" in listed.output
    assert "【正式通知】项目立项决定：GS2026-0042" in listed.output

    shown = runner.invoke(cli, ["mail", "show", written.stem[:13]], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Subject: 【正式通知】项目立项决定：GS2026-0042" in shown.output
    assert "项目编号：GS2026-0042" in shown.output
    missing = runner.invoke(cli, ["mail", "show", "nothing-like-it"], env=env)
    assert missing.exit_code == 1
