"""Who may review what in a round: the pairs the solver may choose from, and why others are out.

An expert is a candidate when active, available over the whole span from now to the round's
deadline (availability periods, in Asia/Shanghai dates, must together cover it; an empty list
means always available), allowed to review by the credit service, and left with load in the
round (their maximum minus their live assignments in it). A pair needs a shared subject
(`match`) and no active conflict of interest (the round's conflicts are refreshed first).

A large call has millions of such pairs, so they are built as arrays (`solver.field`): from an
index of experts by subject code, scored all at once, and filtered with masks (conflicts, live
assignments, loads, organizations, credit). Why a pair scores what it does (`match`'s
explanation) is worked out only for the pairs someone looks at (`Candidates.explain`).

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
from services.projects.models.review import CONFLICT_KINDS
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.rounds.conflicts import FoundNow, blocked_pairs, found_now
from services.projects.review.rounds.items import RoundItem, round_items
from services.projects.review.solver.match import ExpertProfile, ItemProfile, match
from shared.clock import in_shanghai
from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient

if TYPE_CHECKING:
    # numpy and the solver's arrays load on the first build, not when the service starts.
    import numpy as np
    import numpy.typing as npt

    from services.projects.review.solver.problem import IntArray, Problem

    Mask = npt.NDArray[np.bool_]

if TYPE_CHECKING:
    pass

CREDIT_BULK = 1000  # the most the credit service answers in one question
KIND_NUMBER = {kind: n for n, kind in enumerate(CONFLICT_KINDS)}


def member(keys: IntArray, known: IntArray) -> Mask:
    """Per key: is it among `known` (sorted, unique)?"""
    import numpy as np

    if known.size == 0:
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(known, keys), known.size - 1)
    return known[at] == keys


@dataclass(frozen=True)
class Conflicted:
    """The active conflicts among a snapshot's items and experts, by position: pair key
    `item * n_experts + expert`, one row per kind (a pair may have several)."""

    key: IntArray
    kind: npt.NDArray[np.int8]

    @classmethod
    def of(cls, rows: Iterable[tuple[int, str]], *arrays: tuple[IntArray, str]) -> Conflicted:
        import numpy as np

        listed = list(rows)
        keys = [np.array([k for k, _ in listed], dtype=np.int64)]
        kinds = [np.array([KIND_NUMBER[kind] for _, kind in listed], dtype=np.int8)]
        for found, kind in arrays:
            keys.append(found.astype(np.int64))
            kinds.append(np.full(len(found), KIND_NUMBER[kind], dtype=np.int8))
        return cls(np.concatenate(keys), np.concatenate(kinds))

    def pairs(self) -> IntArray:
        from services.projects.review.solver.problem import sorted_unique

        return sorted_unique(self.key)

    def digest(self) -> str:
        import numpy as np

        order = np.lexsort((self.kind, self.key))
        rows = self.key[order].astype("<i8").tobytes() + self.kind[order].tobytes()
        return hashlib.sha256(rows).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """What a proposal is computed from, read in one go; its fingerprint tells whether any of
    it changed between a dry run and its application."""

    round: ReviewRound
    items: list[RoundItem]  # in application id order
    experts: dict[UUID, Expert]  # active, available from now until the deadline; in id order
    live: list[tuple[UUID, UUID]]  # (application, expert) of every live assignment
    conflicted: Conflicted  # not overridden, among `items` and `experts`
    live_orgs: dict[UUID, str | None]  # the organization of each expert with a live assignment
    found: FoundNow | None = None  # a whole round's conflicts as found (`conflicts.store`)

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
                [str(i.application_id), list(i.subjects), sorted(i.keywords)] for i in self.items
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
                for e in self.experts.values()
            ],
            "live": sorted([str(a), str(e)] for a, e in self.live),
            # positions into the items and experts above, so as canonical as they are
            "conflicts": self.conflicted.digest(),
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
    """The round as the solver must see it now. A whole round's conflicts are found as a
    refresh would leave them (`Snapshot.found`; a dry run stores them with `conflicts.store`,
    applying one only compares: a change refuses it)."""
    repo = AssignmentRepository(session)
    items = sorted(
        await round_items(session, round_, application_ids=application_ids),
        key=lambda i: i.application_id,
    )
    experts = dict(sorted((await _available_experts(repo, round_, now)).items()))
    live = await repo.live_pairs(round_.id)
    item_at = {item.application_id: n for n, item in enumerate(items)}
    expert_at = {expert: n for n, expert in enumerate(experts)}
    found = None
    if application_ids is None:
        found = await found_now(session, round_)
        conflicted = _active(found, item_at, expert_at)
    else:
        # One application (a replacement): its conflicts as they are now, nothing stored.
        blocked = await blocked_pairs(session, round_, application_ids=application_ids)
        conflicted = Conflicted.of(
            (item_at[a] * len(experts) + expert_at[e], kind)
            for (a, e), kinds in blocked.items()
            if a in item_at and e in expert_at
            for kind in kinds
        )
    live_orgs = {
        e.user_id: e.org_credit_code
        for e in (await repo.experts({expert for _, expert in live})).values()
    }
    return Snapshot(round_, items, experts, live, conflicted, live_orgs, found)


def _active(found: FoundNow, item_at: dict[UUID, int], expert_at: dict[UUID, int]) -> Conflicted:
    """The conflicts found now that no manager overrode, among the snapshot's items and
    experts (what a refresh leaves active)."""
    import numpy as np

    from services.projects.review.solver.problem import sorted_unique

    n_experts = len(expert_at)
    rows = [
        (item_at[c.application_id] * n_experts + expert_at[c.expert_id], c.kind)
        for c in found.others
        if c.key not in found.overridden
        and c.application_id in item_at
        and c.expert_id in expert_at
    ]
    same = found.same_org
    items = np.array([item_at.get(i.application_id, -1) for i in found.items], dtype=np.int64)
    experts = np.array([expert_at.get(e, -1) for e in same.experts], dtype=np.int64)
    item, expert = items[same.item], experts[same.expert]
    keys = (item * n_experts + expert)[(item >= 0) & (expert >= 0)]
    overridden = np.array(
        [
            item_at[a] * n_experts + expert_at[e]
            for a, e, kind in found.overridden
            if kind == "same_org" and a in item_at and e in expert_at
        ],
        dtype=np.int64,
    )
    keys = keys[~member(keys, sorted_unique(overridden))]
    return Conflicted.of(rows, (keys, "same_org"))


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


def item_profile(item: RoundItem) -> ItemProfile:
    return ItemProfile(id=str(item.application_id), subjects=item.subjects, keywords=item.keywords)


def expert_profile(expert: Expert) -> ExpertProfile:
    return ExpertProfile(
        id=str(expert.user_id),
        primary=frozenset(expert.primary_subjects),
        secondary=frozenset(expert.secondary_subjects),
        keywords=frozenset(expert.keywords),
    )


@dataclass
class Candidates:
    """The solver's input (`problem`: the applications still needing experts, the experts
    with load left and the allowed pairs, as arrays), with why applications fall short."""

    demand: dict[str, int]
    problem: Problem
    supply: dict[UUID, Supply]
    items: dict[str, RoundItem]
    experts: dict[str, Expert]
    ineligible: dict[UUID, list[Any]] = field(default_factory=dict)  # expert -> credit reasons
    unasked: set[UUID] = field(default_factory=set)  # candidates the credit service was not asked
    # `build(..., why_out=True)`: per application, the experts of its field it may not have,
    # each with the first reason that rules them out (a draw records them)
    left_out: dict[UUID, list[tuple[UUID, str]]] = field(default_factory=dict)

    def explain(self, item: str, expert: str) -> dict[str, Any]:
        """Why this expert scores what they do for this application (`match`'s explanation),
        worked out when asked: a call has millions of pairs, and few are ever looked at."""
        found = match(item_profile(self.items[item]), expert_profile(self.experts[expert]))
        if found is None:
            raise ValueError(f"{expert} shares no subject code with {item}")
        return found.explanation


def build(
    snap: Snapshot,
    answers: Mapping[UUID, EligibilityV1],
    *,
    exclude: Mapping[UUID, Collection[UUID]] | None = None,
    why_out: bool = False,
) -> Candidates:
    """The allowed pairs of the snapshot's items, the demand and the experts' capacity.

    `answers`: the credit service's, per expert (`eligibility`, asked before); an expert it
    does not cover is no candidate (`Candidates.unasked`). `exclude`: per application, experts
    who must not be proposed for it (e.g. those who once declined it). `why_out`: name, per
    application, each expert of its field left out and why (`Candidates.left_out`).

    Each pair in the field is counted once for its application's supply, under the first
    reason that rules it out, in this order: already on it, excluded (not counted), a
    conflict, no load left, an organization already on it, not asked, barred by credit.
    """
    import numpy as np

    from services.projects.review.solver.field import FieldIndex
    from services.projects.review.solver.problem import NO_GROUP, Problem, sorted_unique

    items, experts = snap.items, list(snap.experts.values())
    n_items, n_experts = len(items), len(experts)
    item_at = {item.application_id: n for n, item in enumerate(items)}
    expert_at = {expert.user_id: n for n, expert in enumerate(experts)}
    load = snap.load_left()
    load_left = np.array([load[e.user_id] for e in experts], dtype=np.int64)
    live_on = snap.live_on()
    wanted = np.array(
        [
            max(snap.round.experts_per_item - len(live_on.get(i.application_id, ())), 0)
            for i in items
        ],
        dtype=np.int64,
    )

    index = FieldIndex([item_profile(i) for i in items], [expert_profile(e) for e in experts])
    keys = index.pairs()
    if n_experts:
        keys = keys[wanted[keys // n_experts] > 0]
    pair_item, pair_expert = np.divmod(keys, max(n_experts, 1))

    def pair_keys(pairs: Iterable[tuple[UUID, UUID]]) -> IntArray:
        return sorted_unique(
            np.array(
                [
                    item_at[a] * n_experts + expert_at[e]
                    for a, e in pairs
                    if a in item_at and e in expert_at
                ],
                dtype=np.int64,
            )
        )

    on = member(keys, pair_keys(snap.live))
    excluded = member(
        keys, pair_keys((a, e) for a, experts_out in (exclude or {}).items() for e in experts_out)
    )
    conflicted = member(keys, snap.conflicted.pairs())
    no_load = load_left[pair_expert] <= 0
    org_of = [e.org_credit_code if snap.one_per_organization else None for e in experts]
    org_number = {code: n for n, code in enumerate(sorted({c for c in org_of if c}))}
    pair_org = np.array([org_number[c] if c else NO_GROUP for c in org_of], dtype=np.int64)
    taken_org = np.zeros(len(keys), dtype=bool)
    if snap.one_per_organization and org_number:
        taken = sorted_unique(
            np.array(
                [
                    item_at[a] * len(org_number) + org_number[code]
                    for a, on_it in live_on.items()
                    if a in item_at
                    for e in on_it
                    if (code := snap.live_orgs.get(e)) and code in org_number
                ],
                dtype=np.int64,
            )
        )
        grouped = pair_org[pair_expert]
        taken_org = (grouped != NO_GROUP) & member(pair_item * len(org_number) + grouped, taken)

    out = on.copy()
    reasons: dict[str, Mask] = {"already_on": on}
    for name, reason in (
        ("excluded", excluded),
        ("conflicted", conflicted),
        ("no_load_left", no_load),
        ("same_organization", taken_org),
    ):
        reasons[name] = reason & ~out
        out |= reason
    possible = ~out
    proposed = np.unique(pair_expert[possible])
    unasked = {experts[e].user_id for e in proposed.tolist() if experts[e].user_id not in answers}
    ineligible = {
        experts[e].user_id: list(answers[experts[e].user_id].reasons)
        for e in proposed.tolist()
        if experts[e].user_id in answers and not answers[experts[e].user_id].eligible
    }
    flagged = np.zeros(n_experts, dtype=np.int8)  # 1: not asked, 2: barred by credit
    flagged[np.array([expert_at[e] for e in unasked], dtype=np.int64)] = 1
    flagged[np.array([expert_at[e] for e in ineligible], dtype=np.int64)] = 2
    reasons["not_eligible"] = possible & (flagged[pair_expert] == 2)
    chosen = possible & (flagged[pair_expert] == 0)
    left_out: dict[UUID, list[tuple[UUID, str]]] = {}
    if why_out:
        named = [*reasons.items(), ("not_asked", possible & (flagged[pair_expert] == 1))]
        for name, mask in named:
            if name == "already_on":
                continue
            for i, e in zip(pair_item[mask].tolist(), pair_expert[mask].tolist(), strict=True):
                left_out.setdefault(items[i].application_id, []).append((experts[e].user_id, name))

    counted = {
        name: np.bincount(pair_item[mask], minlength=n_items)
        for name, mask in reasons.items()
        if name != "excluded"
    }
    in_field = np.bincount(pair_item, minlength=n_items)
    supply: dict[UUID, Supply] = {}
    for n, item in enumerate(items):
        supply[item.application_id] = Supply(
            field=item.subjects[0] if item.subjects else "?",
            in_field=int(in_field[n]),
            conflicted=int(counted["conflicted"][n]),
            not_eligible=int(counted["not_eligible"][n]),
            no_load_left=int(counted["no_load_left"][n]),
            same_organization=int(counted["same_organization"][n]),
            already_on=int(counted["already_on"][n]),
        )
    del on, excluded, conflicted, no_load, taken_org, out, reasons, possible

    pair_item, pair_expert = pair_item[chosen], pair_expert[chosen]
    needing = np.flatnonzero(wanted > 0)
    used = np.unique(pair_expert)
    groups = sorted({org_of[e] for e in used.tolist() if org_of[e]})
    group_at = {code: n for n, code in enumerate(groups)}
    expert_group = np.array(
        [group_at.get(code, NO_GROUP) if code else NO_GROUP for code in org_of], dtype=np.int64
    )
    problem = Problem(
        items=tuple(str(items[i].application_id) for i in needing.tolist()),
        experts=tuple(str(experts[e].user_id) for e in used.tolist()),
        groups=tuple(groups),
        demand=wanted[needing],
        capacity=load_left[used],
        pair_item=np.searchsorted(needing, pair_item),
        pair_expert=np.searchsorted(used, pair_expert),
        pair_score=index.scores(pair_item, pair_expert),
        pair_group=expert_group[pair_expert],
    )
    return Candidates(
        demand={str(i.application_id): int(w) for i, w in zip(items, wanted, strict=True)},
        problem=problem,
        supply=supply,
        items={str(i.application_id): i for i in items},
        experts={str(e.user_id): e for e in experts},
        ineligible=ineligible,
        unasked=unasked,
        left_out=left_out,
    )


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
