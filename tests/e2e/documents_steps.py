"""Issued documents as a step of the story (tests/e2e/test_story_e2e.py), through the gateway:
the program's manager issues the signed task book as PDF, the PI downloads it, and anyone checks
the copy without a login, by its hash (docs/documents.md)."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.e2e.story_steps import Story


async def task_book_issued_and_verified(
    story: Story, project_id: str, manager: str, pi: str
) -> dict[str, Any]:
    """`manager` issues the task book; `pi` downloads it and its bytes are those the hash
    names; the public check knows the copy and refuses one changed by a byte. The document."""
    document: dict[str, Any] = await story.ok(
        "POST", "projects", f"/projects/{project_id}/documents", manager, json={"kind": "task_book"}
    )
    pdf = await story.call("GET", "projects", f"/documents/{document['id']}/pdf", pi)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    digest = hashlib.sha256(pdf.content).hexdigest()
    assert digest == document["sha256"]
    checked = await story.ok(
        "GET", "projects", "/public/documents/verification", None, params={"sha256": digest}
    )
    assert (checked["issued"], checked["number"], checked["current"]) == (
        True,
        document["number"],
        True,
    ), checked
    changed = bytearray(pdf.content)
    changed[len(changed) // 2] ^= 1
    forged = await story.ok(
        "POST",
        "projects",
        "/public/documents/verification",
        None,
        content=bytes(changed),
        headers={"Content-Type": "application/pdf"},
    )
    assert forged["issued"] is False, forged
    return document
