"""The draft editor's form and an application's content, both ways, and the API's errors put
next to the fields they concern.

The content is the projects service's (`ApplicationContent`): title, abstract, keywords, subject
codes, team, budget by category in fen, milestones, indicators, plus what this form does not edit
(experts to avoid, attachment references), which it carries along unchanged. Repeated sections
are rows; a row left wholly blank is no row. Field keys are dotted (`budget.labour`,
`team.2.share`); the row number is the row's place on the page, which the API's error locations
(places among the rows sent) are mapped back to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from services.portal.api import ApiProblem
from services.portal.i18n import fen_from_yuan, yuan

PI_ROLE = "负责人"  # the projects service's role of the team member who leads
BUDGET_CATEGORIES = ("equipment", "business", "labour", "indirect")
ROWS: dict[str, tuple[str, ...]] = {
    "team": ("user_id", "role", "share"),
    "milestones": ("name", "due"),
    "indicators": ("name", "target", "unit"),
}
LISTS = {"keywords": r"[,，、;；\n]+", "subject_codes": r"[,，、;；\s]+"}
KEPT = ("avoid", "attachments")  # carried along, not edited here
GENERAL = "content"  # errors no field of the form owns
# Domain errors of the projects service and the field each concerns.
CODE_FIELDS = {
    "application.invalid_team": "team",
    "application.unknown_team_members": "team",
    "budget.indirect_over_limit": "budget.indirect",
    "application.unknown_attachments": "attachments",
}


def _split(text: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, text) if part.strip()]


def _number(text: str) -> int | float | str:
    """A typed number as a number; anything else as typed, for the API to say what is wrong."""
    cleaned = text.strip()
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        return float(cleaned)
    except ValueError:
        return cleaned


def _typed(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class DraftForm:
    """What the editor shows and what a person typed into it."""

    values: dict[str, str]  # title, abstract, keywords, subject_codes, budget.<category> (yuan)
    rows: dict[str, list[dict[str, str]]]
    kept: dict[str, Any] = field(default_factory=dict)
    base_version: int = 1
    # For each section, the page's row number of each row sent (blank rows are not sent).
    sent_rows: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def from_content(cls, content: dict[str, Any], version: int) -> DraftForm:
        budget = content.get("budget") or {}
        values = {
            "title": _typed(content.get("title")),
            "abstract": _typed(content.get("abstract")),
            "keywords": "、".join(content.get("keywords") or []),
            "subject_codes": ", ".join(content.get("subject_codes") or []),
            **{f"budget.{c}": yuan(budget.get(c, 0)) for c in BUDGET_CATEGORIES},
        }
        rows = {
            section: [
                {name: _typed(row.get(name)) for name in names}
                for row in content.get(section) or []
            ]
            for section, names in ROWS.items()
        }
        kept = {key: content.get(key) or [] for key in KEPT}
        return cls(values=values, rows=rows, kept=kept, base_version=version)

    @classmethod
    def from_form(cls, form: FormData) -> DraftForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        values = {name: text(name) for name in ("title", "abstract", *LISTS)}
        values.update({f"budget.{c}": text(f"budget.{c}") for c in BUDGET_CATEGORIES})
        rows: dict[str, list[dict[str, str]]] = {}
        for section, names in ROWS.items():
            columns = {
                name: [v if isinstance(v, str) else "" for v in form.getlist(f"{section}.{name}")]
                for name in names
            }
            count = max(len(column) for column in columns.values())
            rows[section] = [
                {name: (columns[name][i] if i < len(columns[name]) else "") for name in names}
                for i in range(count)
            ]
        try:
            kept = json.loads(text("kept") or "{}")
        except ValueError:
            kept = {}
        kept = {key: kept.get(key) or [] for key in KEPT} if isinstance(kept, dict) else {}
        version = text("base_version")
        return cls(
            values=values,
            rows=rows,
            kept=kept,
            base_version=int(version) if version.isdigit() else 0,
        )

    def kept_json(self) -> str:
        return json.dumps(self.kept, ensure_ascii=False)

    def content(self, t: Callable[[str, str], str]) -> tuple[dict[str, Any], dict[str, str]]:
        """The content to save, and what the portal itself could not read (amounts in yuan)."""
        unreadable: dict[str, str] = {}
        budget: dict[str, int] = {}
        for category in BUDGET_CATEGORIES:
            typed = self.values[f"budget.{category}"].strip()
            fen = fen_from_yuan(typed) if typed else 0
            if fen is None:
                unreadable[f"budget.{category}"] = t(
                    "请填写以元为单位的金额，最多两位小数", "Enter an amount in yuan, to the fen"
                )
            else:
                budget[category] = fen
        content: dict[str, Any] = {
            "title": self.values["title"],
            "abstract": self.values["abstract"],
            **{name: _split(self.values[name], pattern) for name, pattern in LISTS.items()},
            "budget": budget,
        }
        self.sent_rows = {}
        for section in ROWS:
            filled = [(i, row) for i, row in enumerate(self.rows[section]) if any(row.values())]
            self.sent_rows[section] = [i for i, _ in filled]
            content[section] = [_row(section, row) for _, row in filled]
        content.update(self.kept)
        return content, unreadable

    def errors_of(self, problem: ApiProblem) -> dict[str, str]:
        """The API's messages by the key of the field each concerns (GENERAL: none)."""
        found: dict[str, str] = {}
        for error in problem.problem.get("errors") or []:
            key = self._key(list(error.get("loc") or []))
            found.setdefault(key, str(error.get("msg") or problem.title))
        if found:
            return found
        message = problem.detail or problem.title
        if problem.code == "application.incomplete":
            missing = problem.problem.get("missing") or []
            return {_missing_key(name): problem.title for name in missing} or {GENERAL: message}
        return {CODE_FIELDS.get(problem.code, GENERAL): message}

    def _key(self, loc: list[Any]) -> str:
        rest = loc[2:] if loc[:2] == ["body", "content"] else None
        if rest is None:
            return GENERAL
        if not rest:
            # The one rule on the content as a whole is the team's shape (one leader, nobody
            # twice, shares within 100).
            return "team"
        section = str(rest[0])
        if section == "budget" and len(rest) > 1:
            return f"budget.{rest[1]}"
        if section in ROWS and len(rest) > 2 and isinstance(rest[1], int):
            sent = self.sent_rows.get(section, [])
            if rest[1] < len(sent):
                return f"{section}.{sent[rest[1]]}.{rest[2]}"
            return section
        if section in (*LISTS, *ROWS, "title", "abstract", "budget", "attachments"):
            return section
        return GENERAL

    def keys(self) -> list[str]:
        """Every field key on the page (each has a place for its error)."""
        keys = ["title", "abstract", *LISTS, "budget", "attachments", GENERAL]
        keys += [f"budget.{c}" for c in BUDGET_CATEGORIES]
        for section, names in ROWS.items():
            keys.append(section)
            keys += [f"{section}.{i}.{n}" for i in range(len(self.rows[section])) for n in names]
        return keys


def _missing_key(name: str) -> str:
    return name if name in ("title", "abstract", "budget", *LISTS, *ROWS) else GENERAL


def _row(section: str, row: dict[str, str]) -> dict[str, Any]:
    shaped: dict[str, Any] = {name: value.strip() for name, value in row.items()}
    if section == "team":
        shaped["share"] = _number(row["share"]) if row["share"].strip() else 0
    if section == "indicators":
        shaped["target"] = _number(row["target"])
    return shaped


def first_content(title: str, keywords: str, subject_codes: str, me: str) -> dict[str, Any]:
    """A new draft: what every saved version must have, with the applicant leading alone."""
    return {
        "title": title,
        "keywords": _split(keywords, LISTS["keywords"]),
        "subject_codes": _split(subject_codes, LISTS["subject_codes"]),
        "team": [{"user_id": me, "role": PI_ROLE, "share": 100}],
        "budget": dict.fromkeys(BUDGET_CATEGORIES, 0),
    }


def with_attachment(content: dict[str, Any], attachment_id: str, kind: str) -> dict[str, Any]:
    listed = [a for a in content.get("attachments") or [] if a.get("id") != attachment_id]
    return {**content, "attachments": [*listed, {"id": attachment_id, "kind": kind}]}


def without_attachment(content: dict[str, Any], attachment_id: str) -> dict[str, Any]:
    listed = [a for a in content.get("attachments") or [] if a.get("id") != attachment_id]
    return {**content, "attachments": listed}


def slot(key: str) -> str:
    """The HTML id part of a field key: `team.2.share` -> `team-2-share`."""
    return key.replace(".", "-")
