"""Errors of decisions and the public notice."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class DecisionInvalid(AppError):
    status = 422
    code = "decision.invalid"
    title = Text("立项决定不符合要求", "The decision does not meet the rules")


class NoEnvelope(Conflict):
    code = "decision.no_envelope"
    title = Text("该计划本年度尚未核定资金总额", "The program has no envelope for this year")


class ObjectionNotFound(NotFound):
    code = "objection.not_found"
    title = Text("异议不存在", "Objection not found")


class NotAPerson(Forbidden):
    code = "objection.person_only"
    title = Text("异议须由本人实名提出", "Objections are filed by people under their own name")


class CallStillOpen(Conflict):
    code = "call.still_open"
    title = Text(
        "申报尚未截止，不能作出立项决定", "The call is still open: no decisions before it closes"
    )
