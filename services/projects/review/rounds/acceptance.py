"""Acceptance rounds (验收评审): experts review the results of a call's projects.

An acceptance round reviews the projects of its call that were in progress with a final report
awaiting review when it opened; that set is fixed then and kept in the round's options
(`final_reports`), so a project whose report comes in later waits for the next acceptance
round, and a report reviewed by one round is never put to experts again. The items are the
projects' applications, read like a proposal round's (subjects, keywords, team, organization
of the submitted version), so conflicts, matching and assignment work on them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.projects.models import ReviewRound

FINAL_REPORTS = "final_reports"

# Weights add up to 100, like every review template.
ACCEPTANCE_TEMPLATE: dict[str, Any] = {
    "criteria": [
        {"code": "indicators", "name": "考核指标完成情况", "weight": 40, "min": 0, "max": 100},
        {"code": "quality", "name": "成果质量与水平", "weight": 30, "min": 0, "max": 100},
        {"code": "funds", "name": "经费使用情况", "weight": 30, "min": 0, "max": 100},
    ]
}


@dataclass(frozen=True)
class FinalReportRef:
    """A project an acceptance round reviews, and the final report it was opened for."""

    application_id: UUID
    project_id: UUID
    report_id: UUID

    def stored(self) -> dict[str, str]:
        return {
            "application_id": str(self.application_id),
            "project_id": str(self.project_id),
            "report_id": str(self.report_id),
        }


def final_reports(round_: ReviewRound) -> list[FinalReportRef]:
    """The projects an acceptance round reviews (none for a proposal round)."""
    if round_.kind != "acceptance":
        return []
    return [
        FinalReportRef(
            application_id=UUID(entry["application_id"]),
            project_id=UUID(entry["project_id"]),
            report_id=UUID(entry["report_id"]),
        )
        for entry in (round_.options or {}).get(FINAL_REPORTS, [])
    ]


def with_final_reports(options: dict[str, Any], refs: Iterable[FinalReportRef]) -> dict[str, Any]:
    ordered = sorted(refs, key=lambda r: r.application_id)
    return {**options, FINAL_REPORTS: [r.stored() for r in ordered]}


def report_ids_reviewed(rounds: Iterable[ReviewRound]) -> set[UUID]:
    """The final reports these rounds were opened for."""
    return {ref.report_id for round_ in rounds for ref in final_reports(round_)}


def achieved_vs_promised(
    promised: Iterable[dict[str, Any]], content: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each indicator the task book promised next to what the final report says was achieved:
    {"name", "target", "unit", "achieved", "met"}; `met` None when nothing was reported or the
    target is qualitative (the reviewer judges)."""
    achieved = {
        str(i.get("name")): i.get("achieved")
        for i in content.get("indicators") or []
        if isinstance(i, dict)
    }
    rows = []
    for indicator in promised:
        name = str(indicator.get("name"))
        target, got = indicator.get("target"), achieved.get(name)
        rows.append(
            {
                "name": name,
                "target": target,
                "unit": str(indicator.get("unit") or ""),
                "achieved": got,
                "met": _met(target, got),
            }
        )
    return rows


def _met(target: object, achieved: object) -> bool | None:
    if isinstance(target, bool) or isinstance(achieved, bool):
        return None
    if isinstance(target, int | float) and isinstance(achieved, int | float):
        return achieved >= target
    return None
