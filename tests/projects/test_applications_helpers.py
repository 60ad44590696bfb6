"""Steps the application tests share (no tests here): drafting, uploading, submitting,
endorsing through the API, and credit records through the real credit service."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Call
from tests.projects.conftest import Projects, content, insert_call

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


async def draft(projects: Projects, call: Call, who: str = "applicant", **overrides: Any) -> Any:
    """A new application (version 1) through the API; its body."""
    response = await projects.call(
        "POST",
        "/v1/applications",
        who,
        json={"call_id": str(call.id), "content": content(projects, who, **overrides)},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def save(
    projects: Projects, application: dict[str, Any], who: str = "applicant", **overrides: Any
) -> httpx.Response:
    """Save a new version on top of the latest one (the base version the body says)."""
    return await projects.call(
        "PUT",
        f"/v1/applications/{application['id']}",
        who,
        json={
            "content": content(projects, who, **overrides),
            "base_version": application["version"],
        },
    )


async def upload(
    projects: Projects,
    application_id: str,
    who: str = "applicant",
    *,
    kind: str = "feasibility_report",
    data: bytes = PDF,
    filename: str = "可行性研究报告.pdf",
    content_type: str = "application/pdf",
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"/v1/applications/{application_id}/attachments",
        who,
        data={"kind": kind},
        files={"file": (filename, data, content_type)},
    )


async def act(
    projects: Projects, application_id: str, action: str, who: str, **body: Any
) -> httpx.Response:
    return await projects.call(
        "POST", f"/v1/applications/{application_id}/{action}", who, json=body or None
    )


async def complete(projects: Projects, call: Call, who: str = "applicant", **extra: Any) -> Any:
    """A draft with the required attachment uploaded and referenced (version 2)."""
    application = await draft(projects, call, who, **extra)
    uploaded = await upload(projects, application["id"], who)
    assert uploaded.status_code == 201, uploaded.text
    attachment = {"id": uploaded.json()["id"], "kind": "feasibility_report"}
    saved = await save(projects, application, who, attachments=[attachment], **extra)
    assert saved.status_code == 200, saved.text
    return saved.json()


async def submitted(projects: Projects, call: Call, who: str = "applicant", **extra: Any) -> Any:
    application = await complete(projects, call, who, **extra)
    response = await act(projects, application["id"], "submit", who)
    assert response.status_code == 200, response.text
    return response.json()


async def endorsed(
    projects: Projects, call: Call, who: str = "applicant", admin: str = "org_admin", **extra: Any
) -> Any:
    """Submitted and endorsed by the organization: the formal check has run."""
    application = await submitted(projects, call, who, **extra)
    response = await act(projects, application["id"], "endorsement", admin, decision="endorse")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "endorsed"
    return response.json()


def rules(application: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    """The formal check's results by rule: (passed, detail)."""
    return {r["rule"]: (r["passed"], r["detail"]) for r in application["formal_check"]["results"]}


async def open_call(session: AsyncSession, projects: Projects, **overrides: Any) -> Call:
    """A call open from a day before the clock to 60 days after it."""
    overrides.setdefault("closes_at", projects.clock.now + timedelta(days=60))
    return await insert_call(session, projects, **overrides)


async def credit_record(
    projects: Projects,
    who: str,
    rule_code: str,
    *,
    effective_from: date,
    capacity: str = "researcher",
) -> dict[str, Any]:
    """Propose and notify a credit record on a person at the real credit service (a credit
    officer proposes it; a second approves the notice of a ban)."""
    caller = projects.callers[who]
    officer = projects.callers["credit_officer"].headers
    proposed = await projects.credit.post(
        "/v1/records",
        headers=officer,
        json={
            "subject": {
                "kind": "person",
                "name": caller.name,
                "gateway_user_id": str(caller.user_id),
            },
            "capacity": capacity,
            "rule_code": rule_code,
            "facts": "经调查核实，申请人在前期项目中编造研究数据。",
            "evidence": [{"reference": "case-2026-017.pdf", "description": "调查报告"}],
            "handling_unit": "省科技厅监督处",
            "effective_from": effective_from.isoformat(),
        },
    )
    assert proposed.status_code == 201, proposed.text
    record: dict[str, Any] = proposed.json()
    path = f"/v1/records/{record['id']}"
    notified = await projects.credit.post(
        f"{path}/notify", headers=officer, json={"reason": "依规告知当事人"}
    )
    if notified.json()["status"] == "awaiting_approval":
        notified = await projects.credit.post(
            f"{path}/notice/approval",
            headers=projects.callers["credit_officer2"].headers,
            json={"decision": "approve", "reason": "同意告知"},
        )
    assert notified.json()["status"] == "notified", notified.text
    return record


async def confirm_record(projects: Projects, record_id: str) -> None:
    """Confirm once the objection window (10 working days) is over."""
    confirmed = await projects.credit.post(
        f"/v1/records/{record_id}/confirm",
        headers=projects.callers["credit_officer"].headers,
        json={"reason": "异议期满无异议"},
    )
    assert confirmed.status_code == 200, confirmed.text


def user(projects: Projects, who: str) -> UUID:
    return projects.callers[who].user_id
