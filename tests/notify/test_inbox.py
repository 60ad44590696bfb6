"""The inbox a person reads: their own notifications only, paged, unread first to count, formal
notices acknowledged, preferences that cannot silence what must be told."""

from __future__ import annotations

from shared.auth.roles import Role
from tests.notify.conftest import Notify, apply, approved, assigned, published


async def test_the_inbox_pages_newest_first_and_filters_unread(notify: Notify) -> None:
    expert = await notify.person(Role.expert)
    for title in ("课题一", "课题二", "课题三"):
        await apply(notify, "projects", assigned(expert.id, application_title=title))
        notify.clock.advance(seconds=1)

    first = await notify.call("GET", "/v1/me/notifications", expert, params={"limit": 2})
    assert first.status_code == 200, first.text
    titles = [item["subject"] for item in first.json()["items"]]
    assert titles == ["评审邀请：课题三", "评审邀请：课题二"]
    cursor = first.json()["next_cursor"]
    rest = await notify.call(
        "GET", "/v1/me/notifications", expert, params={"limit": 2, "cursor": cursor}
    )
    assert [item["subject"] for item in rest.json()["items"]] == ["评审邀请：课题一"]
    assert rest.json()["next_cursor"] is None

    newest = first.json()["items"][0]["id"]
    read = await notify.call("POST", f"/v1/me/notifications/{newest}/read", expert)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    unread = await notify.call("GET", "/v1/me/notifications", expert, params={"unread": "true"})
    assert [item["subject"] for item in unread.json()["items"]] == [
        "评审邀请：课题二",
        "评审邀请：课题一",
    ]
    count = await notify.call("GET", "/v1/me/notifications/unread-count", expert)
    assert count.json() == {"unread": 2}

    unknown = await notify.call("GET", "/v1/me/notifications", expert, params={"page": 2})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "query.unknown_parameter"


async def test_nobody_reads_another_persons_notifications(notify: Notify) -> None:
    owner = await notify.person(Role.applicant)
    other = await notify.person(Role.applicant)
    await apply(notify, "projects", approved(owner.id))
    [mine] = (await notify.call("GET", "/v1/me/notifications", owner)).json()["items"]

    assert (await notify.call("GET", "/v1/me/notifications", other)).json()["items"] == []
    for method, path in (
        ("GET", ""),
        ("POST", "/read"),
        ("POST", "/acknowledge"),
    ):
        response = await notify.call(method, f"/v1/me/notifications/{mine['id']}{path}", other)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "notify.notification_not_found"
    assert (await notify.call("GET", "/v1/me/notifications", owner)).json()["items"][0][
        "read_at"
    ] is None
    anonymous = await notify.call("GET", "/v1/me/notifications", None)
    assert anonymous.status_code == 401


async def test_only_a_formal_notice_is_acknowledged_and_only_once(notify: Notify) -> None:
    person = await notify.person(Role.applicant, Role.expert)
    await apply(notify, "projects", assigned(person.id))
    await apply(notify, "projects", approved(person.id))
    items = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    formal = next(item for item in items if item["formal"])
    ordinary = next(item for item in items if not item["formal"])

    refused = await notify.call(
        "POST", f"/v1/me/notifications/{ordinary['id']}/acknowledge", person
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "notify.not_formal"

    acknowledged = await notify.call(
        "POST", f"/v1/me/notifications/{formal['id']}/acknowledge", person
    )
    assert acknowledged.status_code == 200, acknowledged.text
    body = acknowledged.json()
    assert body["acknowledged_at"] is not None
    # Acknowledging opens it: the inbox delivered it.
    assert body["delivered_by"] == "inbox"
    notify.clock.advance(minutes=5)
    again = await notify.call("POST", f"/v1/me/notifications/{formal['id']}/acknowledge", person)
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]

    told = [(kind, payload["notification_id"]) for kind, payload in await published(notify)]
    assert told == [
        ("notice.delivered", formal["id"]),
        ("notice.acknowledged", formal["id"]),
    ]


async def test_opening_a_formal_notice_delivers_it_once(notify: Notify) -> None:
    person = await notify.person(Role.applicant, email=None)
    await apply(notify, "projects", approved(person.id, project_number="GS2026-0042"))
    [notice] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert notice["delivered_at"] is None

    opened = await notify.call("POST", f"/v1/me/notifications/{notice['id']}/open", person)
    assert opened.json()["opened_at"] is not None
    assert opened.json()["delivered_by"] == "inbox"
    assert "GS2026-0042" in opened.json()["body"]
    await notify.call("POST", f"/v1/me/notifications/{notice['id']}/open", person)

    [(kind, delivered)] = await published(notify)
    assert kind == "notice.delivered"
    assert delivered["channel"] == "inbox"
    assert delivered["about_type"] == "project"


async def test_a_formal_notice_shows_its_content_only_once_opened(notify: Notify) -> None:
    # Listing and reading (a prefetch, a retried GET) are no delivery, so they show only the
    # subject: nobody reads a formal notice without having been served it.
    person = await notify.person(Role.applicant, email=None)
    await apply(notify, "projects", approved(person.id, project_number="GS2026-0042"))
    for unread in (False, True):
        listed = await notify.call("GET", "/v1/me/notifications", person, params={"unread": unread})
        [notice] = listed.json()["items"]
        assert notice["subject"] == "【正式通知】项目立项决定：GS2026-0042"
        assert (notice["body"], notice["params"], notice["sealed"]) == (None, {}, True)
    read = (await notify.call("GET", f"/v1/me/notifications/{notice['id']}", person)).json()
    assert (read["body"], read["params"], read["sealed"]) == (None, {}, True)
    assert (read["opened_at"], read["read_at"], read["delivered_at"]) == (None, None, None)
    assert await published(notify) == []

    await notify.call("POST", f"/v1/me/notifications/{notice['id']}/open", person)
    [listed] = (await notify.call("GET", "/v1/me/notifications", person)).json()["items"]
    assert "GS2026-0042" in listed["body"]
    assert listed["params"]["project_number"] == "GS2026-0042"
    assert listed["sealed"] is False


async def test_preferences_cannot_switch_off_a_mandatory_category(notify: Notify) -> None:
    person = await notify.person(Role.expert)
    shown = await notify.call("GET", "/v1/me/preferences", person)
    by_category = {item["category"]: item for item in shown.json()["items"]}
    assert by_category["review"] == {
        "category": "review",
        "title": "评审邀请与任务",
        "mandatory": False,
        "mail": True,
        "sms": False,
    }
    assert by_category["credit_notice"]["mandatory"] is True

    refused = await notify.call(
        "PUT",
        "/v1/me/preferences",
        person,
        json={
            "items": [
                {"category": "review", "channel": "mail", "enabled": False},
                {"category": "credit_notice", "channel": "mail", "enabled": False},
            ]
        },
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "notify.mandatory_category"
    # Nothing half-written: the review category is still on.
    still = await notify.call("GET", "/v1/me/preferences", person)
    assert {i["category"]: i["mail"] for i in still.json()["items"]}["review"] is True

    switched = await notify.call(
        "PUT",
        "/v1/me/preferences",
        person,
        json={"items": [{"category": "review", "channel": "mail", "enabled": False}]},
    )
    assert switched.status_code == 200
    await apply(notify, "projects", assigned(person.id))
    await apply(notify, "projects", approved(person.id))
    assert await notify.deliver() == 1  # the formal decision only
    [mail] = notify.smtp.mailbox.received
    assert "项目立项决定" in mail["Subject"]
