"""The fixture itself: people, organizations, managers and the credit service are in place."""

from __future__ import annotations

from tests.projects.conftest import Projects


async def test_everyone_is_known_and_authenticated(projects: Projects) -> None:
    me = await projects.call("GET", "/v1/me", "applicant")
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["in_directory"] is True
    assert body["organization"]["name"] == "兰州大学"
