"""Who may review what in a round: the pairs the solver may choose from, and why others are out.

An expert is a candidate when active, available over the whole span from now to the round's
deadline (availability periods, in Asia/Shanghai dates, must together cover it; an empty list
means always available), allowed to review by the credit service, and left with load in the
round (their maximum minus their live assignments in it). A pair needs a shared subject
(`match`) and no active conflict of interest (the round's conflicts are refreshed first).
Experts are looked up per subject code, so the pairs stay sparse.

The credit service is asked before the round is locked, holding no transaction (it may be
slow): about everyone `to_ask` finds in the field of the round's applications, a superset of
the candidates that conflicts, loads and other assignments only narrow. Under the lock, `build`
takes those answers; a candidate nobody asked about (an expert or an application that came in
meanwhile) is left out and named in `Candidates.unasked`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Expert, ReviewRound
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.rounds.conflicts import blocked_pairs, refresh_conflicts
from services.projects.review.rounds.items import RoundItem, round_items
from services.projects.review.solver.match import ExpertProfile, ItemProfile, match
from shared.clock import in_shanghai
from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient

if TYPE_CHECKING:
    from services.projects.review.solver.problem import Pair

CREDIT_BULK = 1000  # the most the credit service answers in one question


@dataclass(frozen=True)
class Snapshot:
    """What a proposal is computed from, read in one go; its fingerprint tells whether any of
    it changed between a dry run and its application."""

    round: ReviewRound
    items: list[RoundItem]
    experts: dict[UUID, Expert]  # active, and available from now until the deadline
    live: list[tuple[UUID, UUID]]  # (application, expert) of every live assignment
    conflicts: list[tuple[UUID, UUID, str]]  # (application, expert, kind), not overridden
    live_orgs: dict[UUID, str | None]  # the organization of each expert with a live assignment

    @property
    def one_per_organization(self) -> bool:
        return bool(self.round.options.get("one_per_organization"))

    def fingerprint(self) -> str:
        canonical = {
            "round": [
                self.round.experts_per_item,
                self.one_per_organization,
                self.round.deadline.isoformat(),
            ],
            "items": [
                [str(i.application_id), list(i.subjects), sorted(i.keywords)]
                for i in sorted(self.items, key=lambda i: i.application_id)
            ],
            "experts": [
                [
                    str(e.user_id),
                    e.max_load,
                    sorted(e.primary_subjects),
                    sorted(e.secondary_subjects),
                    sorted(e.keywords),
                    e.org_credit_code,
                ]
                for _, e in sorted(self.experts.items())
            ],
            "live": sorted([str(a), str(e)] for a, e in self.live),
            "conflicts": sorted([str(a), str(e), k] for a, e, k in self.conflicts),
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def load_left(self) -> dict[UUID, int]:
        used = Counter(expert for _, expert in self.live)
        return {e.user_id: max(e.max_load - used[e.user_id], 0) for e in self.experts.values()}

    def live_on(self) -> dict[UUID, set[UUID]]:
        on: dict[UUID, set[UUID]] = defaultdict(set)
        for application, expert in self.live:
            on[application].add(expert)
        return on


async def snapshot(
    session: AsyncSession,
    round_: ReviewRound,
    now: datetime,
    *,
    application_ids: Collection[UUID] | None = None,
) -> Snapshot:
    """The round as the solver must see it now; for the whole round, its stored conflicts
    are refreshed first."""
    repo = AssignmentRepository(session)
    items = await round_items(session, round_, application_ids=application_ids)
    experts = await _available_experts(repo, round_, now)
    live = await repo.live_pairs(round_.id)
    if application_ids is None:
        await refresh_conflicts(session, round_, now)
        conflicts = await repo.active_conflicts(round_.id)
    else:
        # One application (a replacement): its conflicts as they are now, nothing stored.
        blocked = await blocked_pairs(session, round_, application_ids=application_ids)
        conflicts = sorted((a, e, k) for (a, e), kinds in blocked.items() for k in kinds)
    live_orgs = {
        e.user_id: e.org_credit_code
        for e in (await repo.experts({expert for _, expert in live})).values()
    }
    return Snapshot(round_, items, experts, live, conflicts, live_orgs)


async def to_ask(
    session: AsyncSession,
    round_: ReviewRound,
    now: datetime,
    *,
    application_ids: Collection[UUID] | None = None,
) -> set[UUID]:
    """Whom to ask the credit service about before the round is locked: every active expert
    available until the deadline who holds a subject code of one of its applications (`match`
    needs one). Only reads (no conflict refresh)."""
    items = await round_items(session, round_, application_ids=application_ids)
    codes = {code for item in items for code in item.subjects}
    experts = await _available_experts(AssignmentRepository(session), round_, now)
    return {
        e.user_id
        for e in experts.values()
        if not codes.isdisjoint(e.primary_subjects) or not codes.isdisjoint(e.secondary_subjects)
    }


async def _available_experts(
    repo: AssignmentRepository, round_: ReviewRound, now: datetime
) -> dict[UUID, Expert]:
    start, end = in_shanghai(now).date(), in_shanghai(round_.deadline).date()
    return {
        e.user_id: e for e in await repo.active_experts() if available(e.availability, start, end)
    }


def available(periods: Iterable[Mapping[str, Any]], start: date, end: date) -> bool:
    """Do the periods ({"from": date, "to": date}, both days included) together cover every
    day from `start` to `end`? No periods at all: always available."""
    periods = list(periods)
    if not periods:
        return True
    spans = sorted(
        (date.fromisoformat(str(p["from"])), date.fromisoformat(str(p["to"])))
        for p in periods
        if p.get("from") and p.get("to")
    )
    day = start
    for first, last in spans:
        if last < day:
            continue
        if first > day:
            return False  # a gap
        day = last + timedelta(days=1)
        if day > end:
            return True
    return day > end


@dataclass
class Supply:
    """For one application: the experts of its field, and how many of them were out and why."""

    field: str
    in_field: int = 0
    conflicted: int = 0
    not_eligible: int = 0
    no_load_left: int = 0
    same_organization: int = 0
    already_on: int = 0

    def reason(self, short_by: int) -> str:
        return (
            f"not enough conflict-free experts in field {self.field}: short by {short_by} "
            f"({self.in_field} in the field, {self.conflicted} with a conflict of interest, "
            f"{self.not_eligible} not allowed to review by their credit, "
            f"{self.no_load_left} without load left, "
            f"{self.same_organization} of an organization already on it)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "in_field": self.in_field,
            "conflicted": self.conflicted,
            "not_eligible": self.not_eligible,
            "no_load_left": self.no_load_left,
            "same_organization": self.same_organization,
        }


@dataclass
class Candidates:
    """The solver's input, with why each pair scores what it does."""

    demand: dict[str, int]
    capacity: dict[str, int]
    pairs: list[Pair]
    explanations: dict[tuple[str, str], dict[str, Any]]
    supply: dict[UUID, Supply]
    ineligible: dict[UUID, list[Any]] = field(default_factory=dict)  # expert -> credit reasons
    unasked: set[UUID] = field(default_factory=set)  # candidates the credit service was not asked


def item_profile(item: RoundItem) -> ItemProfile:
    return ItemProfile(id=str(item.application_id), subjects=item.subjects, keywords=item.keywords)


def expert_profile(expert: Expert) -> ExpertProfile:
    return ExpertProfile(
        id=str(expert.user_id),
        primary=frozenset(expert.primary_subjects),
        secondary=frozenset(expert.secondary_subjects),
        keywords=frozenset(expert.keywords),
    )


def group_of(expert: Expert, one_per_organization: bool) -> str | None:
    return expert.org_credit_code if one_per_organization else None


class SubjectIndex:
    """Experts by subject code (primary or secondary): `match` needs a shared code, so each
    application meets only the experts of its codes, never the whole pool."""

    def __init__(self, experts: Iterable[Expert]) -> None:
        self._by_code: dict[str, list[Expert]] = defaultdict(list)
        for expert in experts:
            for code in {*expert.primary_subjects, *expert.secondary_subjects}:
                self._by_code[code].append(expert)

    def around(self, subjects: Iterable[str]) -> list[Expert]:
        """The experts holding any of these codes, in id order."""
        seen: dict[UUID, Expert] = {}
        for code in subjects:
            for expert in self._by_code.get(code, ()):
                seen.setdefault(expert.user_id, expert)
        return [seen[k] for k in sorted(seen)]


def build(
    snap: Snapshot,
    answers: Mapping[UUID, EligibilityV1],
    *,
    exclude: Mapping[UUID, Collection[UUID]] | None = None,
) -> Candidates:
    """The allowed pairs of the snapshot's items, the demand and the experts' capacity.

    `answers`: the credit service's, per expert (`eligibility`, asked before); an expert it
    does not cover is no candidate (`Candidates.unasked`). `exclude`: per application, experts
    who must not be proposed for it (e.g. those who once declined it).
    """
    # The solver's module loads numpy: on the first build, not when the service starts.
    from services.projects.review.solver.problem import Pair

    exclude = exclude or {}
    load_left = snap.load_left()
    live_on = snap.live_on()
    conflicted = {(a, e) for a, e, _ in snap.conflicts}
    index = SubjectIndex(snap.experts.values())
    profiles = {e.user_id: expert_profile(e) for e in snap.experts.values()}

    demand: dict[str, int] = {}
    supply: dict[UUID, Supply] = {}
    possible: list[tuple[RoundItem, Expert, int, dict[str, Any]]] = []
    for item in snap.items:
        on = live_on.get(item.application_id, set())
        demand[str(item.application_id)] = wanted = max(snap.round.experts_per_item - len(on), 0)
        here = Supply(field=item.subjects[0] if item.subjects else "?")
        supply[item.application_id] = here
        if wanted == 0:
            continue
        taken_groups = {snap.live_orgs[e] for e in on if snap.live_orgs.get(e)}
        profile = item_profile(item)
        for expert in index.around(item.subjects):
            found = match(profile, profiles[expert.user_id])
            if found is None:
                continue
            here.in_field += 1
            if expert.user_id in on:
                here.already_on += 1
            elif expert.user_id in exclude.get(item.application_id, ()):
                continue
            elif (item.application_id, expert.user_id) in conflicted:
                here.conflicted += 1
            elif load_left[expert.user_id] <= 0:
                here.no_load_left += 1
            elif snap.one_per_organization and expert.org_credit_code in taken_groups:
                here.same_organization += 1
            else:
                possible.append((item, expert, found.score, found.explanation))

    proposed = {e.user_id for _, e, _, _ in possible}
    unasked = proposed - answers.keys()
    ineligible = {
        e: list(a.reasons) for e, a in answers.items() if e in proposed and not a.eligible
    }
    pairs: list[Pair] = []
    explanations: dict[tuple[str, str], dict[str, Any]] = {}
    for item, expert, score, explanation in possible:
        if expert.user_id in unasked:
            continue
        if expert.user_id in ineligible:
            supply[item.application_id].not_eligible += 1
            continue
        key = (str(item.application_id), str(expert.user_id))
        pairs.append(Pair(key[0], key[1], score, group_of(expert, snap.one_per_organization)))
        explanations[key] = explanation
    used = proposed - unasked - ineligible.keys()
    capacity = {str(e): load_left[e] for e in sorted(used)}
    return Candidates(demand, capacity, pairs, explanations, supply, ineligible, unasked)


async def eligibility(
    credit: CreditClient, expert_ids: Collection[UUID], now: datetime
) -> dict[UUID, EligibilityV1]:
    """The credit service's answer for each expert about reviewing now, asked in bulk; any
    failure to ask fails the lot (`CreditUnavailable`). Call it holding no lock nor
    transaction: the credit service may be slow."""
    ordered = sorted(expert_ids)
    answers: dict[UUID, EligibilityV1] = {}
    for start in range(0, len(ordered), CREDIT_BULK):
        chunk = ordered[start : start + CREDIT_BULK]
        answers.update(await credit.people_eligibility(action="review", at=now, user_ids=chunk))
    return answers
