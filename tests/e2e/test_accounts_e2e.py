"""People run their own accounts through the gateway, with real processes: the reset link comes
from the mail notify wrote (its mail folder), nothing tells whether an account exists, guessing
is throttled, and a deactivated person is refused by the gateway and the services."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.testing.plugin import migrated_database
from tests.conftest import RunningStack, bearer, org_code, running_stack, wait_until
from tests.e2e.helpers import admin_token, e2e_client

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-user-password"
NEW_PASSWORD = "a-brand-new-password"


@dataclass
class AccountsStack:
    running: RunningStack
    mail_dir: Path

    @property
    def url(self) -> str:
        return self.running.url


@pytest.fixture(scope="module")
def accounts(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AccountsStack]:
    """A stack of its own: notify writes mail into a folder this test reads, and the reset
    allowances are small enough to reach."""
    logs = Path(tmp_path_factory.mktemp("accounts-logs"))
    mail = logs / "mail"
    env = {
        "SCIPLAN_NOTIFY_MAIL_DIR": str(mail),
        "SCIPLAN_NOTIFY_DELIVERY_POLL_SECONDS": "0.4",
        "SCIPLAN_NOTIFY_EVENT_POLL_SECONDS": "0.4",
        "SCIPLAN_PROJECTS_ACTIVE_USER_CACHE_SECONDS": "0.5",
        "SCIPLAN_GATEWAY_PASSWORD_RESET_PER_ACCOUNT": json.dumps({"per_minute": 1, "burst": 3}),
        "SCIPLAN_GATEWAY_PASSWORD_RESET_PER_ADDRESS": json.dumps({"per_minute": 1, "burst": 8}),
        "SCIPLAN_GATEWAY_TOKEN_CONFIRM_PER_ADDRESS": json.dumps({"per_minute": 1, "burst": 5}),
    }
    with (
        migrated_database(postgres_server_url, f"sciplan_accounts_e2e_{os.getpid()}") as url,
        running_stack(url, logs, extra_env=env) as running,
    ):
        yield AccountsStack(running, mail)


def _from(address: str) -> httpx.AsyncClient:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches loopback)."""
    return httpx.AsyncClient(
        timeout=10, transport=httpx.AsyncHTTPTransport(local_address=address, retries=0)
    )


async def _person(
    client: httpx.AsyncClient, accounts: AccountsStack, roles: list[str], *, mail: bool = True
) -> dict[str, Any]:
    admin = await admin_token(client, accounts.running)
    name = f"person.{uuid.uuid4().hex[:8]}"
    response = await client.post(
        f"{accounts.url}/admin/v1/users",
        json={
            "username": name,
            "password": PASSWORD,
            "display_name": name,
            "email": f"{name}@example.org" if mail else None,
            "roles": roles,
        },
        headers=bearer(admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _login(
    client: httpx.AsyncClient, url: str, username: str, password: str
) -> httpx.Response:
    return await client.post(f"{url}/auth/token", data={"username": username, "password": password})


async def _mailed_token(accounts: AccountsStack, to: str, page: str) -> str:
    """The token in the link to `page` of the newest mail notify wrote to `to`."""
    found: list[str] = []

    async def arrived() -> bool:
        for path in sorted(accounts.mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            link = re.search(rf"/{page}#token=([A-Za-z0-9_-]+)", body.get_content())
            if message["To"] == to and link is not None:
                found.append(link.group(1))
        return bool(found)

    await wait_until(arrived, seconds=30)
    return found[-1]


async def test_a_forgotten_password_is_reset_with_the_link_from_the_mail(
    accounts: AccountsStack,
) -> None:
    async with e2e_client() as client:
        person = await _person(client, accounts, ["applicant"])
        before = await _login(client, accounts.url, person["username"], PASSWORD)
        assert before.status_code == 200

        asked = await client.post(
            f"{accounts.url}/auth/password-reset",
            json={"login": person["email"]},
            headers={"Accept-Language": "en"},
        )
        nobody = await client.post(
            f"{accounts.url}/auth/password-reset",
            json={"login": f"nobody.{uuid.uuid4().hex[:6]}@example.org"},
            headers={"Accept-Language": "en"},
        )
        assert (asked.status_code, nobody.status_code) == (202, 202)
        assert asked.content == nobody.content
        token = await _mailed_token(accounts, person["email"], "password-reset")

        confirm = f"{accounts.url}/auth/password-reset/confirm"
        wrong = await client.post(
            confirm, json={"token": token[::-1], "new_password": NEW_PASSWORD}
        )
        assert wrong.status_code == 400
        assert wrong.headers["content-type"] == "application/problem+json"
        done = await client.post(confirm, json={"token": token, "new_password": NEW_PASSWORD})
        assert done.status_code == 204, done.text
        again = await client.post(confirm, json={"token": token, "new_password": "another-one-77"})
        assert again.status_code == 400  # one use

        old = await client.post(
            f"{accounts.url}/auth/refresh", data={"refresh_token": before.json()["refresh_token"]}
        )
        assert old.status_code == 401  # every session of the account ended
        assert (await _login(client, accounts.url, person["username"], PASSWORD)).status_code == 401
        after = await _login(client, accounts.url, person["username"], NEW_PASSWORD)
        assert after.status_code == 200
    gateway_log = (accounts.mail_dir.parent / "gateway.log").read_text(errors="replace")
    assert token not in gateway_log  # secrets never in the logs


async def test_resets_tell_nothing_and_guessing_tokens_is_throttled(
    accounts: AccountsStack,
) -> None:
    async with e2e_client() as client:
        person = await _person(client, accounts, ["expert"])
    reset = f"{accounts.url}/auth/password-reset"
    async with _from("127.0.0.21") as asker:
        # The known account and an unknown one, three times each: alike, and the account's
        # allowance (3) spent on the known one sends no more mail, without a word about it.
        answers = [
            await asker.post(reset, json={"login": login})
            for login in [person["username"]] * 4 + ["no.such.person"] * 4
        ]
        assert [a.status_code for a in answers] == [202] * 8
        assert len({a.content for a in answers}) == 1
        stopped = await asker.post(reset, json={"login": "no.such.person"})
        assert stopped.status_code == 429  # the address's own allowance (8) is spent
        assert int(stopped.headers["Retry-After"]) >= 1

    async with _from("127.0.0.22") as guesser:
        confirm = f"{accounts.url}/auth/password-reset/confirm"
        guesses = [
            await guesser.post(
                confirm, json={"token": uuid.uuid4().hex * 2, "new_password": NEW_PASSWORD}
            )
            for _ in range(6)
        ]
        assert [g.status_code for g in guesses] == [400] * 5 + [429]
        assert guesses[-1].json()["code"] == "account.throttled"
    async with e2e_client() as client:  # the owner is untouched by all of it
        assert (await _login(client, accounts.url, person["username"], PASSWORD)).status_code == 200


async def test_an_expert_changes_their_password_and_guessing_the_current_one_is_stopped(
    accounts: AccountsStack,
) -> None:
    async with e2e_client() as client:
        expert = await _person(client, accounts, ["expert"])
        laptop = (await _login(client, accounts.url, expert["username"], PASSWORD)).json()
    async with _from("127.0.0.31") as thief:
        stolen = (await _login(thief, accounts.url, expert["username"], PASSWORD)).json()
        change = f"{accounts.url}/auth/password"
        guess = {"current_password": "maybe-this-one", "new_password": NEW_PASSWORD}
        replies = [
            await thief.post(change, json=guess, headers=bearer(stolen["access_token"]))
            for _ in range(6)
        ]
        assert [r.status_code for r in replies] == [403] * 5 + [429]
        assert replies[0].json()["code"] == "account.wrong_password"
    async with _from("127.0.0.32") as owner:
        changed = await owner.post(
            f"{accounts.url}/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(laptop["access_token"]),
        )
        assert changed.status_code == 200, changed.text
        for session in (laptop, stolen):
            ended = await owner.post(
                f"{accounts.url}/auth/refresh", data={"refresh_token": session["refresh_token"]}
            )
            assert ended.status_code == 401
        fresh = await owner.post(
            f"{accounts.url}/auth/refresh", data={"refresh_token": changed.json()["refresh_token"]}
        )
        assert fresh.status_code == 200


async def test_a_new_address_counts_once_confirmed_from_the_mail_sent_to_it(
    accounts: AccountsStack,
) -> None:
    async with e2e_client() as client:
        person = await _person(client, accounts, ["applicant"])
        headers = bearer(
            (await _login(client, accounts.url, person["username"], PASSWORD)).json()[
                "access_token"
            ]
        )
        new_address = f"new.{uuid.uuid4().hex[:8]}@example.org"
        pending = await client.patch(
            f"{accounts.url}/v1/me",
            json={"email": new_address, "phone": "13800138000", "current_password": PASSWORD},
            headers=headers,
        )
        assert pending.status_code == 200, pending.text
        assert pending.json()["email"] == person["email"]
        assert pending.json()["pending_email"] == new_address
        token = await _mailed_token(accounts, new_address, "email-verification")
        confirmed = await client.post(
            f"{accounts.url}/auth/email-verification/confirm", json={"token": token}
        )
        assert confirmed.status_code == 204, confirmed.text
        profile = (await client.get(f"{accounts.url}/v1/me/profile", headers=headers)).json()
        assert (profile["email"], profile["phone"], profile["pending_email"]) == (
            new_address,
            "13800138000",
            None,
        )
        # The new address now finds the account for a reset.
        await client.post(f"{accounts.url}/auth/password-reset", json={"login": new_address})
        assert await _mailed_token(accounts, new_address, "password-reset")

        async def previous_address_told() -> bool:
            for path in accounts.mail_dir.glob("*.eml"):
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                body = message.get_body(preferencelist=("plain",))
                if (
                    message["To"] == person["email"]
                    and body is not None
                    and "更换为新的邮箱地址" in body.get_content()
                ):
                    return True
            return False

        await wait_until(previous_address_told, seconds=30)  # notify heard account.email_changed


async def test_a_deactivated_person_is_refused_by_the_gateway_at_once_and_by_the_services(
    accounts: AccountsStack,
) -> None:
    stack = accounts.running.stack
    async with e2e_client() as client:
        admin = bearer(await admin_token(client, accounts.running))
        person = await _person(client, accounts, ["applicant"])
        tokens = (await _login(client, accounts.url, person["username"], PASSWORD)).json()
        headers = bearer(tokens["access_token"])
        projects_direct = f"{stack.url('projects')}/v1/applications"
        assert (
            await client.get(f"{accounts.url}/api/projects/v1/applications", headers=headers)
        ).status_code == 200
        assert (await client.get(projects_direct, headers=headers)).status_code == 200

        off = await client.post(
            f"{accounts.url}/admin/v1/users/{person['id']}/deactivate", headers=admin
        )
        assert off.status_code == 200, off.text
        for path in ("/v1/me", "/api/projects/v1/applications", "/api/credit/v1/me/file"):
            refused = await client.get(f"{accounts.url}{path}", headers=headers)
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["code"] == "auth.account_inactive"

        async def service_refuses() -> bool:
            return (await client.get(projects_direct, headers=headers)).status_code == 401

        await wait_until(service_refuses)  # projects heard it from the directory event
        again = await client.post(
            f"{accounts.url}/auth/refresh", data={"refresh_token": tokens["refresh_token"]}
        )
        assert again.status_code == 401
        assert (await _login(client, accounts.url, person["username"], PASSWORD)).status_code == 401

        on = await client.post(
            f"{accounts.url}/admin/v1/users/{person['id']}/reactivate", headers=admin
        )
        assert on.status_code == 200
        assert (await _login(client, accounts.url, person["username"], PASSWORD)).status_code == 200

        admin_id = (await client.get(f"{accounts.url}/v1/me", headers=admin)).json()["subject"]
        last = await client.post(
            f"{accounts.url}/admin/v1/users/{admin_id}/deactivate", headers=admin
        )
        assert last.status_code == 409
        assert last.json()["code"] == "user.last_admin"
        by_role = await client.post(
            f"{accounts.url}/admin/v1/users/{admin_id}/deactivate", headers=headers
        )
        assert by_role.status_code == 403  # an applicant deactivates nobody


async def test_admins_search_people_and_others_may_not(accounts: AccountsStack) -> None:
    async with e2e_client() as client:
        admin = bearer(await admin_token(client, accounts.running))
        person = await _person(client, accounts, ["expert"])
        found = await client.get(
            f"{accounts.url}/admin/v1/users",
            params={"q": person["email"].upper(), "role": "expert"},
            headers=admin,
        )
        assert found.status_code == 200
        assert [u["id"] for u in found.json()["items"]] == [person["id"]]
        assert found.json()["next_cursor"] is None
        own = bearer(
            (await _login(client, accounts.url, person["username"], PASSWORD)).json()[
                "access_token"
            ]
        )
        assert (
            await client.get(f"{accounts.url}/admin/v1/users", params={"q": "a"}, headers=own)
        ).status_code == 403


async def test_an_organization_asks_to_be_registered_and_an_administrator_approves(
    accounts: AccountsStack,
) -> None:
    code = org_code(uuid.uuid4().int % 10**9)
    asking = {
        "name": "河西走廊生态研究院",
        "credit_code": code,
        "kind": "research_institute",
        "contact_name": "马骏",
        "contact_email": "ma.jun@hexi.example.cn",
    }
    async with e2e_client() as client:
        asked = await client.post(f"{accounts.url}/v1/organization-requests", json=asking)
        assert asked.status_code == 202, asked.text
        admin = bearer(await admin_token(client, accounts.running))
        waiting = await client.get(
            f"{accounts.url}/admin/v1/organization-requests",
            params={"status": "pending", "limit": 100},
            headers=admin,
        )
        [request_id] = [r["id"] for r in waiting.json()["items"] if r["credit_code"] == code]
        approved = await client.post(
            f"{accounts.url}/admin/v1/organization-requests/{request_id}/approve",
            headers=admin,
        )
        assert approved.status_code == 200, approved.text
        found = await client.get(
            f"{accounts.url}/admin/v1/organizations", params={"credit_code": code}, headers=admin
        )
        assert [o["id"] for o in found.json()["items"]] == [approved.json()["organization_id"]]
        again = await client.post(f"{accounts.url}/v1/organization-requests", json=asking)
        assert again.status_code == 202  # told nothing: the code is registered, all the same
        assert again.content == asked.content
