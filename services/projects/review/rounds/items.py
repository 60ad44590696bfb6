"""What a review round reviews, as the matching and conflict rules need it: one item per
application, read from the version that was submitted (not a later draft). An acceptance
round's items are its projects' applications, the project's current lead on the team."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ReviewRound
from services.projects.models.submissions import UNDER_REVIEW
from services.projects.review.rounds.acceptance import final_reports
from services.projects.review.rounds.repository import RoundRepository
from services.projects.scope import team_ids

# A proposal round reviews the call's applications that passed the formal check; once all
# their reviews are in they are `reviewed` and still belong to the round.


@dataclass(frozen=True)
class RoundItem:
    application_id: UUID
    applicant_id: UUID
    org_id: UUID
    org_credit_code: str | None
    team_ids: frozenset[UUID]
    avoid_people: frozenset[UUID]
    avoid_codes: frozenset[str]
    subjects: tuple[str, ...]  # the first is the primary one
    keywords: frozenset[str]
    title: str = ""
    org_name: str | None = None
    # a consortium's participating organizations (not the lead): their codes count for the
    # same-organization and declared rules as the lead's does
    partner_codes: frozenset[str] = frozenset()
    # why the applicant asked to avoid someone: {str(user id) or credit code: reason}
    avoid_reasons: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @cached_property
    def people(self) -> frozenset[UUID]:
        """The applicant and every team member."""
        return self.team_ids | {self.applicant_id}

    @cached_property
    def org_codes(self) -> tuple[str, ...]:
        """The lead organization's code, then the partners' in code order: the order in
        which a conflict found through several of them is told (the first one says it)."""
        lead = (self.org_credit_code,) if self.org_credit_code else ()
        return lead + tuple(sorted(self.partner_codes - set(lead)))

    def is_partner(self, code: str) -> bool:
        return code != self.org_credit_code


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)]


def _avoid(entries: Any) -> tuple[set[UUID], set[str], dict[str, str]]:
    people: set[UUID] = set()
    codes: set[str] = set()
    reasons: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        reason = str(entry.get("reason") or "")
        if entry.get("user_id"):
            person = UUID(str(entry["user_id"]))
            people.add(person)
            reasons[str(person)] = reason
        elif entry.get("credit_code"):
            code = str(entry["credit_code"]).upper()
            codes.add(code)
            reasons[code] = reason
    return people, codes, reasons


def _item(row: Any) -> RoundItem:
    people, codes, reasons = _avoid(row.avoid)
    team = team_ids({"team": row.team})
    if row.project_lead is not None and row.project_lead != row.applicant_id:
        team.add(row.project_lead)  # a PI who took over the project answers for its results
    return RoundItem(
        application_id=row.id,
        applicant_id=row.applicant_id,
        org_id=row.org_id,
        org_credit_code=row.credit_code,
        team_ids=frozenset(team),
        avoid_people=frozenset(people),
        avoid_codes=frozenset(codes),
        subjects=tuple(_strings(row.subject_codes)),
        keywords=frozenset(_strings(row.keywords)),
        title=row.title,
        org_name=row.org_name,
        partner_codes=frozenset(code for code in row.partner_codes or () if code),
        avoid_reasons=reasons,
    )


def items_of(rows: Iterable[Any]) -> list[RoundItem]:
    return [_item(row) for row in rows]


async def round_items(
    session: AsyncSession,
    round: ReviewRound,
    *,
    application_ids: Collection[UUID] | None = None,
) -> list[RoundItem]:
    """The round's applications (in id order); `application_ids` narrows them down.

    Proposal: the call's applications that passed the formal check. Acceptance: the
    applications of the projects the round was opened for, whatever became of them since.
    """
    repo = RoundRepository(session)
    if round.kind == "proposal":
        return items_of(await repo.item_rows(round.call_id, UNDER_REVIEW, application_ids))
    reviewed = {ref.application_id for ref in final_reports(round)}
    if application_ids is not None:
        reviewed &= set(application_ids)
    if not reviewed:
        return []
    return items_of(await repo.item_rows(round.call_id, None, reviewed))
