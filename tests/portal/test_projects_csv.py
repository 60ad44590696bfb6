"""The funded-projects CSV as a spreadsheet reads it: exact yuan, no formulas from applicants."""

from __future__ import annotations

from typing import Any

import pytest

from services.portal.projects_csv import plain_yuan, row


def project(**overrides: Any) -> dict[str, Any]:
    return {
        "number": "2026-ZDYF-0001",
        "title": "河西走廊盐碱地改良",
        "program_name_zh": "重点研发计划",
        "program_name_en": "Key R&D Program",
        "year": 2026,
        "organization_name": "兰州大学",
        "pi_name": "王芳",
        "approved_budget_fen": 80_000_000,
        "status": "in_notice",
        "notice_starts_at": "2026-03-02T10:00:00+08:00",
        "notice_ends_at": "2026-03-09T02:00:00+00:00",
        "starts_on": None,
        "ends_on": "2029-04-30",
        **overrides,
    }


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (60_000_001, "600000.01"),
        (9_007_199_254_740_993, "90071992547409.93"),
    ],
)
def test_amounts_are_yuan_exact_to_the_fen(fen: int, text: str) -> None:
    assert plain_yuan(fen) == text


def test_a_cell_that_would_run_as_a_formula_is_kept_as_text() -> None:
    cells = row(project(title='=HYPERLINK("http://evil")', pi_name="@王芳"), "zh", str)

    assert cells[1] == '\'=HYPERLINK("http://evil")'
    assert cells[5] == "'@王芳"
    assert cells[0] == "2026-ZDYF-0001"  # a project number starts with a digit: left as it is


def test_times_in_shanghai_and_the_program_in_the_language() -> None:
    cells = row(project(), "en", lambda status: status.upper())

    assert cells[2] == "Key R&D Program"
    assert cells[6:10] == ["800000.00", "IN_NOTICE", "2026-03-02 10:00", "2026-03-09 10:00"]
    assert cells[10:] == ["", "2029-04-30"]
