"""Conflicts of interest between experts and the applications of a review round, each with
the evidence a program manager reads: which rule, which person, organization or application,
and why.

The rules (one Conflict row per application, expert and rule):
- team: the expert is the applicant or on the application's team;
- same_org: the expert's organization is the applicant's, its parent or its subsidiary
  (declared links or the directory's parent organizations), or the same of one of a
  consortium's participating organizations;
- avoid_list: the applicant asked to avoid the expert or the expert's organization;
- co_applicant: the expert and the applicant or a team member were on the team of another
  application submitted within the round's window (`co_applicant_years` before the round
  opened, and anything since);
- declared: the expert declared the applicant, a team member, the applicant's organization or
  a participating organization of the consortium.

Every rule starts from the round's applications and looks experts up by index (by user id,
by organization code, by shared team), so the work grows with the conflicts there are, not
with applications times experts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Conflict, DeclaredConflict, ReviewRound
from services.projects.models.review import CONFLICT_KINDS
from services.projects.review.rounds.items import RoundItem, round_items
from services.projects.review.rounds.organizations import organization_graph
from services.projects.review.rounds.repository import RoundRepository, SameOrgPart
from shared.clock import in_shanghai

if TYPE_CHECKING:
    # numpy loads with the first whole-round refresh, not when the service starts.
    import numpy as np
    import numpy.typing as npt

Pair = tuple[UUID, UUID]  # (application id, expert id)
Key = tuple[UUID, UUID, str]  # (application id, expert id, kind)


@dataclass(frozen=True)
class FoundConflict:
    application_id: UUID
    expert_id: UUID
    kind: str
    evidence: dict[str, Any] = field(hash=False)

    @property
    def key(self) -> Key:
        return (self.application_id, self.expert_id, self.kind)


# What a manager reads first, in both languages. Evidence parts that many conflicts share
# (the application, the expert, an organization) are one dict each, not a copy per conflict:
# a large round has hundreds of thousands of same-organization pairs.
SUMMARIES: dict[str, dict[str, str]] = {
    "team.applicant": {"zh": "专家是该申报书的申请人", "en": "The expert is the applicant"},
    "team.team_member": {
        "zh": "专家是该申报书的项目组成员",
        "en": "The expert is on the application's team",
    },
    "same_org.same": {
        "zh": "专家与申请人属同一单位",
        "en": "The expert is of the applicant's organization",
    },
    "same_org.parent": {
        "zh": "专家所在单位是申请单位的上级单位",
        "en": "The expert's organization is a parent of the applicant's",
    },
    "same_org.subsidiary": {
        "zh": "专家所在单位是申请单位的下属单位",
        "en": "The expert's organization is a subsidiary of the applicant's",
    },
    "same_org.partner_same": {
        "zh": "专家与联合申报单位（参与单位）属同一单位",
        "en": "The expert is of a participating organization of the consortium",
    },
    "same_org.partner_parent": {
        "zh": "专家所在单位是联合申报单位（参与单位）的上级单位",
        "en": "The expert's organization is a parent of a participating organization",
    },
    "same_org.partner_subsidiary": {
        "zh": "专家所在单位是联合申报单位（参与单位）的下属单位",
        "en": "The expert's organization is a subsidiary of a participating organization",
    },
    "avoid_list": {
        "zh": "申请人要求该专家或其所在单位回避",
        "en": "The applicant asked to avoid the expert or their organization",
    },
    "declared": {
        "zh": "专家本人申报了与申请人、项目组成员、申请单位或联合申报单位的利益冲突",
        "en": "The expert declared a conflict with the applicant, a team member, "
        "the applicant's organization or a participating organization",
    },
}


def _co_applicant_summary(years: int) -> dict[str, str]:
    return {
        "zh": f"专家近{years}年内与申请人或项目组成员共同申报过项目",
        "en": f"The expert applied together with the applicant or a team member within {years} "
        "years",
    }


def _application(item: RoundItem) -> dict[str, Any]:
    return {"id": str(item.application_id), "title": item.title}


def _experts(rows: Iterable[Any]) -> dict[UUID, dict[str, Any]]:
    return {
        row.user_id: {
            "id": str(row.user_id),
            "name": row.name,
            "org_credit_code": row.org_credit_code,
        }
        for row in rows
    }


def _role(item: RoundItem, person: UUID) -> str:
    return "applicant" if person == item.applicant_id else "team_member"


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year - years, day=28)


def window_start(round: ReviewRound) -> datetime:
    """Co-applicants count from `co_applicant_years` before the round opened: the window
    stays put while the round runs, so a refresh a month later finds the same conflicts."""
    return years_before(round.created_at, round.co_applicant_years)


def _people(items: Iterable[RoundItem]) -> set[UUID]:
    return {person for item in items for person in item.people}


# --- the rules ------------------------------------------------------------------------


async def _team(
    repo: RoundRepository, items: list[RoundItem], only: Collection[UUID] | None
) -> list[FoundConflict]:
    experts = _experts(await repo.experts_among(_people(items), only))
    found: list[FoundConflict] = []
    for item in items:
        application = _application(item)
        for person in sorted(item.people & experts.keys()):
            role = _role(item, person)
            evidence = {
                "rule": "team",
                "summary": SUMMARIES[f"team.{role}"],
                "application": application,
                "expert": experts[person],
                "role": role,
            }
            found.append(FoundConflict(item.application_id, person, "team", evidence))
    return found


def same_org_evidence(
    application: dict[str, Any],
    expert: dict[str, Any],
    applicant_org: dict[str, Any],
    expert_org: dict[str, Any],
    relation: str,
    links: list[dict[str, Any]],
    partner_org: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`relation` and `links` go from the organization the expert is related to (the
    applicant's, or the consortium partner `partner_org`) to the expert's."""
    summary = f"same_org.partner_{relation}" if partner_org else f"same_org.{relation}"
    evidence = {
        "rule": "same_org",
        "summary": SUMMARIES[summary],
        "application": application,
        "expert": expert,
        "applicant_org": applicant_org,
        "expert_org": expert_org,
        "relation": relation,
        "links": links,
    }
    if partner_org is not None:
        evidence["partner_org"] = partner_org
    return evidence


def _org_codes(items: Iterable[RoundItem]) -> set[str]:
    """Every organization of the items: the applicants' and the consortium partners'."""
    return {code for item in items for code in item.org_codes}


async def _same_org(
    repo: RoundRepository, items: list[RoundItem], only: Collection[UUID] | None
) -> list[FoundConflict]:
    codes = _org_codes(items)
    graph = await organization_graph(repo, codes)
    related = {code: graph.related(code) for code in codes}
    all_codes = {r.code for relations in related.values() for r in relations}
    rows = await repo.experts_of_organizations(all_codes, only)
    experts = _experts(rows)
    by_code: dict[str, list[UUID]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.user_id):
        by_code[row.org_credit_code].append(row.user_id)
    names = await repo.organization_names(all_codes)  # each item's own codes among them
    orgs = {code: {"credit_code": code, "name": names.get(code)} for code in all_codes}
    found: list[FoundConflict] = []
    for item in items:
        application = _application(item)
        lead = item.org_credit_code
        applicant_org = {"credit_code": lead, "name": names.get(lead or "")}
        told: set[UUID] = set()  # an expert related through two organizations: the first says
        for code in item.org_codes:
            partner = orgs[code] if item.is_partner(code) else None
            for relation in related[code]:
                links = list(relation.path)  # from that organization to the expert's
                for expert_id in by_code.get(relation.code, []):
                    if expert_id in told:
                        continue
                    told.add(expert_id)
                    evidence = same_org_evidence(
                        application,
                        experts[expert_id],
                        applicant_org,
                        orgs[relation.code],
                        relation.relation,
                        links,
                        partner,
                    )
                    found.append(
                        FoundConflict(item.application_id, expert_id, "same_org", evidence)
                    )
    return found


async def _avoid_list(
    repo: RoundRepository, items: list[RoundItem], only: Collection[UUID] | None
) -> list[FoundConflict]:
    people = {p for item in items for p in item.avoid_people}
    codes = {c for item in items for c in item.avoid_codes}
    named = await repo.experts_among(people, only)
    of_orgs = await repo.experts_of_organizations(codes, only)
    experts = _experts([*named, *of_orgs])
    by_code: dict[str, list[UUID]] = defaultdict(list)
    for row in sorted(of_orgs, key=lambda r: r.user_id):
        by_code[row.org_credit_code].append(row.user_id)
    names = await repo.organization_names(codes)
    found: list[FoundConflict] = []
    for item in items:
        entries: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
        for person in item.avoid_people & experts.keys():
            entries[person].append(
                {"user_id": str(person), "reason": item.avoid_reasons.get(str(person), "")}
            )
        for code in sorted(item.avoid_codes):
            entry = {
                "credit_code": code,
                "org_name": names.get(code),
                "reason": item.avoid_reasons.get(code, ""),
            }
            for expert_id in by_code.get(code, []):
                entries[expert_id].append(entry)
        application = _application(item)
        for expert_id in sorted(entries):
            evidence = {
                "rule": "avoid_list",
                "summary": SUMMARIES["avoid_list"],
                "application": application,
                "expert": experts[expert_id],
                "entries": entries[expert_id],
            }
            found.append(FoundConflict(item.application_id, expert_id, "avoid_list", evidence))
    return found


async def _co_applicant(
    repo: RoundRepository,
    round: ReviewRound,
    items: list[RoundItem],
    only: Collection[UUID] | None,
) -> list[FoundConflict]:
    since = window_start(round)
    rows = await repo.shared_teams(_people(items), only, since)
    by_person: dict[UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_person[row.person_id].append(row)
    experts = _experts(await repo.experts_among({r.expert_id for r in rows}, None))
    submitted = {r.application_id: in_shanghai(r.submitted_at).isoformat() for r in rows}
    summary = _co_applicant_summary(round.co_applicant_years)
    found: list[FoundConflict] = []
    for item in items:
        shared: dict[UUID, dict[tuple[UUID, UUID], dict[str, Any]]] = defaultdict(dict)
        team = item.people
        for person in sorted(team):
            for row in by_person.get(person, []):
                # The application itself, and experts on its team: the team rule says it.
                if row.application_id == item.application_id or row.expert_id in team:
                    continue
                shared[row.expert_id][(row.application_id, person)] = {
                    "application_id": str(row.application_id),
                    "title": row.title,
                    "year": row.year,
                    "submitted_at": submitted[row.application_id],
                    "person_id": str(person),
                    "person_role": _role(item, person),
                }
        application = _application(item)
        for expert_id in sorted(shared):
            evidence = {
                "rule": "co_applicant",
                "summary": summary,
                "application": application,
                "expert": experts[expert_id],
                "window_years": round.co_applicant_years,
                "since": in_shanghai(since).isoformat(),
                "shared_applications": list(shared[expert_id].values()),
            }
            found.append(FoundConflict(item.application_id, expert_id, "co_applicant", evidence))
    return found


def _declaration(declaration: DeclaredConflict, matches: str) -> dict[str, Any]:
    about = (
        {"person_id": str(declaration.person_id)}
        if declaration.person_id is not None
        else {"credit_code": declaration.credit_code}
    )
    return {
        "id": str(declaration.id),
        **about,
        "matches": matches,
        "reason": declaration.reason,
        "declared_at": in_shanghai(declaration.declared_at).isoformat(),
    }


async def _declared(
    repo: RoundRepository, items: list[RoundItem], only: Collection[UUID] | None
) -> list[FoundConflict]:
    declarations = await repo.declarations_about(_people(items), _org_codes(items), only)
    by_person: dict[UUID, list[DeclaredConflict]] = defaultdict(list)
    by_code: dict[str, list[DeclaredConflict]] = defaultdict(list)
    for declaration in declarations:
        if declaration.person_id is not None:
            by_person[declaration.person_id].append(declaration)
        elif declaration.credit_code is not None:
            by_code[declaration.credit_code].append(declaration)
    experts = _experts(await repo.experts_among({d.expert_id for d in declarations}, None))
    found: list[FoundConflict] = []
    for item in items:
        named: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
        for person in sorted(item.people):
            for declaration in by_person.get(person, []):
                named[declaration.expert_id].append(_declaration(declaration, _role(item, person)))
        for code in item.org_codes:
            matches = "partner_org" if item.is_partner(code) else "applicant_org"
            for declaration in by_code.get(code, []):
                named[declaration.expert_id].append(_declaration(declaration, matches))
        application = _application(item)
        for expert_id in sorted(named):
            evidence = {
                "rule": "declared",
                "summary": SUMMARIES["declared"],
                "application": application,
                "expert": experts[expert_id],
                "declarations": named[expert_id],
            }
            found.append(FoundConflict(item.application_id, expert_id, "declared", evidence))
    return found


# --- what other packages call ---------------------------------------------------------


async def find_conflicts(
    session: AsyncSession,
    round: ReviewRound,
    *,
    application_ids: Collection[UUID] | None = None,
    expert_ids: Collection[UUID] | None = None,
    kinds: Collection[str] = CONFLICT_KINDS,
) -> list[FoundConflict]:
    """The conflicts as they are now (stored or not, overridden or not), for the round's
    applications and the pool's experts; narrowed to `application_ids`, `expert_ids` and
    `kinds`. For a whole round, `found_now` gives same-organization ones as arrays."""
    if expert_ids is not None and not expert_ids:
        return []
    items = await round_items(session, round, application_ids=application_ids)
    if not items:
        return []
    return await _found(session, round, items, expert_ids, kinds)


async def _found(
    session: AsyncSession,
    round: ReviewRound,
    items: list[RoundItem],
    expert_ids: Collection[UUID] | None,
    kinds: Collection[str],
) -> list[FoundConflict]:
    if "created_at" in sa.inspect(round).unloaded:  # a round flushed a moment ago
        await session.refresh(round, ["created_at"])
    repo = RoundRepository(session)
    only = set(expert_ids) if expert_ids is not None else None
    found: list[FoundConflict] = []
    if "team" in kinds:
        found += await _team(repo, items, only)
    if "same_org" in kinds:
        found += await _same_org(repo, items, only)
    if "avoid_list" in kinds:
        found += await _avoid_list(repo, items, only)
    if "co_applicant" in kinds:
        found += await _co_applicant(repo, round, items, only)
    if "declared" in kinds:
        found += await _declared(repo, items, only)
    return sorted(found, key=lambda c: (c.application_id.int, c.expert_id.int, c.kind))


# --- a whole round: same-organization conflicts in bulk -------------------------------------

# A large round has millions of same-organization pairs (every application times every expert
# of its organization, in the field or not): they are counted and compared as arrays, and
# stored by PostgreSQL from the organizations' relations, never one Python object each, with
# short evidence (organizations, relation, links) that `with_evidence` completes when read.
BULK_KIND = "same_org"
OTHER_KINDS = tuple(k for k in CONFLICT_KINDS if k != BULK_KIND)
ITEMS_PER_STATEMENT = 500


@dataclass(frozen=True)
class SameOrganization:
    """A round's same-organization conflicts: pair `p` is the application of `items[item[p]]`
    (of `FoundNow.items`) and the expert `experts[expert[p]]`."""

    item: npt.NDArray[np.int64]
    expert: npt.NDArray[np.int64]
    experts: tuple[UUID, ...]
    # what PostgreSQL needs to store them with their evidence: per relation the applicant's
    # (or partner's) code, the expert's code, the relation and its links
    relations: list[tuple[str, str, str, str]]


@dataclass(frozen=True)
class FoundNow:
    """Every conflict of a whole round as found now, and the stored ones a manager overrode."""

    items: list[RoundItem]
    others: list[FoundConflict]  # every kind but same_org
    same_org: SameOrganization
    overridden: frozenset[Key]


async def found_now(session: AsyncSession, round: ReviewRound) -> FoundNow:
    """The round's conflicts as a refresh would store them (without storing anything)."""
    items = await round_items(session, round)
    repo = RoundRepository(session)
    others = await _found(session, round, items, None, OTHER_KINDS) if items else []
    overridden = frozenset((await repo.conflict_keys(round.id, overridden_only=True)).keys())
    return FoundNow(items, others, await _same_org_arrays(repo, items), overridden)


async def _same_org_arrays(repo: RoundRepository, items: list[RoundItem]) -> SameOrganization:
    import numpy as np

    codes = _org_codes(items)
    graph = await organization_graph(repo, codes)
    related = {code: graph.related(code) for code in codes}
    all_codes = {r.code for relations in related.values() for r in relations}
    rows = sorted(await repo.experts_of_organizations(all_codes, None), key=lambda r: r.user_id)
    experts = tuple(row.user_id for row in rows)
    by_code: dict[str, list[int]] = defaultdict(list)
    for position, row in enumerate(rows):
        by_code[row.org_credit_code].append(position)
    owners: list[int] = []
    blocks: list[list[int]] = []
    for position, item in enumerate(items):
        if len(item.org_codes) > 1:  # a consortium: an expert related to two parts counts once
            block = {p for c in item.org_codes for r in related[c] for p in by_code[r.code]}
            owners.append(position)
            blocks.append(sorted(block))
            continue
        for relation in related[item.org_codes[0]] if item.org_codes else []:
            owners.append(position)
            blocks.append(by_code.get(relation.code, []))
    relations = [
        (code, r.code, r.relation, json.dumps(list(r.path), ensure_ascii=False))
        for code, rs in sorted(related.items())
        for r in rs
    ]
    return SameOrganization(
        item=np.repeat(np.array(owners, dtype=np.int64), [len(b) for b in blocks]),
        expert=np.array([p for block in blocks for p in block], dtype=np.int64),
        experts=experts,
        relations=relations,
    )


@dataclass(frozen=True)
class Refreshed:
    added: int
    updated: int
    removed: int
    # per kind: conflicts stored after the refresh, and how many of them are overridden
    counts: Mapping[str, Mapping[str, int]]

    @property
    def total(self) -> int:
        return sum(c["total"] for c in self.counts.values())


async def refresh(session: AsyncSession, round: ReviewRound, now: datetime) -> Refreshed:
    """Store the conflicts found now: new ones are added, evidence is brought up to date,
    and a conflict whose cause is gone is removed unless a manager overrode it (the override
    is a record, kept with it). The caller holds the round's row lock."""
    return await store(session, round, await found_now(session, round), now)


async def store(
    session: AsyncSession, round: ReviewRound, found: FoundNow, now: datetime
) -> Refreshed:
    """The writing half of `refresh`: store what `found_now` found (an assignment run finds
    first, and stores while its solver works)."""
    repo = RoundRepository(session)
    stored = await repo.conflict_keys(round.id, kinds=OTHER_KINDS)
    fresh = {c.key: c for c in found.others}
    rows = [
        (c.application_id, c.expert_id, c.kind, json.dumps(c.evidence, ensure_ascii=False))
        for c in fresh.values()
    ]
    added = sum(1 for key in fresh if key not in stored)
    gone = [key for key, overridden in stored.items() if key not in fresh and not overridden]
    await repo.delete_conflicts(round.id, gone)
    written = await repo.upsert_conflicts(round.id, now, rows)
    # Whole applications per statement: the pairs of one are ranked among its organizations.
    bulk = [item for item in found.items if item.org_codes]
    gone_applications, gone_experts = _stale(found, await repo.same_org_keys(round.id))
    await repo.delete_same_org(round.id, gone_applications, gone_experts)
    added_bulk = written_bulk = 0
    for start in range(0, len(bulk), ITEMS_PER_STATEMENT):
        parts = [
            SameOrgPart(item.application_id, code, item.org_credit_code, rank)
            for item in bulk[start : start + ITEMS_PER_STATEMENT]
            for rank, code in enumerate(item.org_codes)
        ]
        new, changed = await repo.upsert_same_org(round.id, now, parts, found.same_org.relations)
        added_bulk, written_bulk = added_bulk + new, written_bulk + changed
    counts = await repo.conflict_counts(round.id)
    refreshed = Refreshed(
        added=added + added_bulk,
        updated=written - added + written_bulk - added_bulk,
        removed=len(gone) + len(gone_applications),
        counts={kind: counts.get(kind, {"total": 0, "overridden": 0}) for kind in CONFLICT_KINDS},
    )
    return refreshed


def _by_id(ids: list[UUID]) -> npt.NDArray[np.void]:
    import numpy as np

    return np.frombuffer(b"".join(i.bytes for i in ids), dtype="V16")


def _stale(found: FoundNow, stored: bytes) -> tuple[list[UUID], list[UUID]]:
    """The stored same-organization pairs (`same_org_keys`) not found now."""
    import numpy as np

    rows = np.frombuffer(stored, dtype=[("application", "V16"), ("expert", "V16")])
    if rows.size == 0:
        return [], []
    same = found.same_org
    items, experts = _by_id([i.application_id for i in found.items]), _by_id(list(same.experts))
    # both are in id order, and uuid order is byte order
    item = np.minimum(np.searchsorted(items, rows["application"]), max(items.size - 1, 0))
    expert = np.minimum(np.searchsorted(experts, rows["expert"]), max(experts.size - 1, 0))
    known = np.zeros(rows.size, dtype=bool)
    if items.size and experts.size:
        known = (items[item] == rows["application"]) & (experts[expert] == rows["expert"])
    n = max(experts.size, 1)
    fresh = np.sort(same.item * n + same.expert)
    key = item * n + expert
    at = np.minimum(np.searchsorted(fresh, key), max(fresh.size - 1, 0))
    still = known & (fresh[at] == key) if fresh.size else np.zeros(rows.size, dtype=bool)
    gone = rows[~still]
    return (
        [UUID(bytes=bytes(a)) for a in gone["application"]],
        [UUID(bytes=bytes(e)) for e in gone["expert"]],
    )


async def with_evidence(
    session: AsyncSession, conflicts: Sequence[Conflict]
) -> list[dict[str, Any]]:
    """Each stored conflict's evidence as its rule writes it. Same-organization conflicts are
    stored short (their organizations, relation and links: a large round has millions of them,
    `RoundRepository.upsert_same_org`); the application's title, the expert's name and the
    organizations' names are read now."""
    short = {
        (c.application_id, c.expert_id): c.evidence
        for c in conflicts
        if c.kind == BULK_KIND and "application" not in c.evidence
    }
    if not short:
        return [c.evidence for c in conflicts]
    repo = RoundRepository(session)
    titles = await repo.application_titles({a for a, _ in short})
    experts = _experts(await repo.experts_among({e for _, e in short}, None))
    keys = ("applicant_org_code", "expert_org_code", "partner_org_code")
    codes = {e[k] for e in short.values() for k in keys if e.get(k)}
    names = await repo.organization_names(codes)

    def org(code: str | None) -> dict[str, Any]:
        return {"credit_code": code, "name": names.get(code or "")}

    def completed(c: Conflict) -> dict[str, Any]:
        stored = short[(c.application_id, c.expert_id)]
        expert = experts.get(c.expert_id) or {"id": str(c.expert_id), "name": None}
        return same_org_evidence(
            {"id": str(c.application_id), "title": titles.get(c.application_id, "")},
            expert,
            org(stored["applicant_org_code"]),
            org(stored["expert_org_code"]),
            stored["relation"],
            stored["links"],
            org(stored["partner_org_code"]) if stored.get("partner_org_code") else None,
        )

    return [
        completed(c) if c.kind == BULK_KIND and "application" not in c.evidence else c.evidence
        for c in conflicts
    ]


async def refresh_conflicts(session: AsyncSession, round: ReviewRound, now: datetime) -> int:
    """`refresh`, for callers that only need how many conflicts the round now has."""
    return (await refresh(session, round, now)).total


async def active_conflicts(
    session: AsyncSession, round_id: UUID, application_id: UUID, expert_id: UUID
) -> list[Conflict]:
    """The conflicts that bar this expert from this application: stored ones not overridden,
    and ones that arose since the last refresh (returned unsaved, `found_at` unset)."""
    repo = RoundRepository(session)
    round_ = await repo.round(round_id)
    if round_ is None:
        return []
    stored = await repo.stored_conflicts(
        round_id, application_id=application_id, expert_id=expert_id
    )
    active = [c for c in stored if c.overridden_at is None]
    known = {c.kind for c in stored}
    for found in await find_conflicts(
        session, round_, application_ids=[application_id], expert_ids=[expert_id]
    ):
        if found.kind not in known:
            active.append(
                Conflict(
                    round_id=round_id,
                    application_id=application_id,
                    expert_id=expert_id,
                    kind=found.kind,
                    evidence=found.evidence,
                )
            )
    return sorted(active, key=lambda c: c.kind)


async def blocked_pairs(
    session: AsyncSession,
    round: ReviewRound,
    *,
    application_ids: Collection[UUID] | None = None,
    expert_ids: Collection[UUID] | None = None,
) -> dict[Pair, list[str]]:
    """Every (application, expert) pair barred by a conflict not overridden, with the kinds:
    `active_conflicts` for many pairs at once (what an assignment run removes)."""
    repo = RoundRepository(session)
    overridden: set[Key] = set()
    blocked: dict[Pair, set[str]] = defaultdict(set)
    applications = set(application_ids) if application_ids is not None else None
    experts = set(expert_ids) if expert_ids is not None else None
    stored = await repo.conflict_keys(round.id, application_ids=applications, expert_ids=experts)
    for key, is_overridden in stored.items():
        application_id, expert_id, kind = key
        if is_overridden:
            overridden.add(key)
        else:
            blocked[(application_id, expert_id)].add(kind)
    for found in await find_conflicts(
        session, round, application_ids=application_ids, expert_ids=expert_ids
    ):
        if found.key not in overridden:
            blocked[(found.application_id, found.expert_id)].add(found.kind)
    return {pair: sorted(kinds) for pair, kinds in blocked.items()}
