"""The expert's list of assignments as the page orders and flags it: by deadline, open work past
its deadline marked overdue, declined ones with whether for a conflict of interest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.portal.pages.expert import rows_of


def _live(
    title: str, deadline: datetime, status: str, sheet: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": title,
        "call_title": "2026年度重点研发计划",
        "application": {"title": title},
        "deadline": deadline.isoformat(),
        "status": status,
        "sheet": sheet,
        "round_state": "reviewing",
    }


def _declined(title: str, deadline: datetime, conflict: bool) -> dict[str, Any]:
    return {
        "id": title,
        "call_title": "2026年度重点研发计划",
        "application_title": title,
        "deadline": deadline.isoformat(),
        "conflict_declared": conflict,
    }


def test_rows_go_by_deadline_and_flag_open_work_past_it() -> None:
    now = datetime.now(UTC)
    past, soon, later = now - timedelta(hours=1), now + timedelta(days=1), now + timedelta(days=9)
    submitted = {"status": "submitted", "reopened_at": None}
    draft = {"status": "draft", "reopened_at": None}
    reopened = {"status": "draft", "reopened_at": now.isoformat()}
    rows = rows_of(
        [
            _live("later", later, "accepted", None),
            _live("late draft", past, "accepted", draft),
            _live("late but in", past - timedelta(hours=1), "accepted", submitted),
            _live("invited", soon, "invited", None),
            _live("sent back", soon + timedelta(hours=1), "accepted", reopened),
        ],
        [_declined("conflict", soon, True), _declined("busy", later, False)],
    )
    assert [(r.application_title, r.state, r.overdue) for r in rows] == [
        ("late but in", "submitted", False),
        ("late draft", "draft", True),
        ("conflict", "conflict", False),
        ("invited", "invited", False),
        ("sent back", "reopened", False),
        ("busy", "declined", False),
        ("later", "to_score", False),
    ]
