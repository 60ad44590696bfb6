"""Errors of the standing project reserve."""

from __future__ import annotations

from shared.errors import NotFound, Text


class NotInReserve(NotFound):
    code = "reserve.entry_not_found"
    title = Text(
        "该申报书不在本计划的项目储备库中", "The application is not in this program's reserve"
    )
