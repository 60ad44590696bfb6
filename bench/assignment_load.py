"""The array benchmark's call (`bench.review_assignment.generate`) written into the projects
service's tables with COPY: what an assignment run reads, nothing more.

- organizations (the projects service's copy of the directory), one credit code each;
- the experts of the pool: subject codes, keywords (``keyword N``), load, organization, always
  available;
- the call's applications, in review, each with its submitted version: subject codes, keywords
  (``Keyword N``: matched case-insensitively), a team (the applicant, and the first expert of
  the benchmark's `team` conflicts; a second one declares a conflict with the applicant
  instead) and an avoid list (experts, and now and then a whole organization);
- past co-applicants: one earlier application per (application, expert) pair, submitted a year
  ago by the applicant with the expert on its team, in past calls of the same program.

The conflict rules then find exactly the benchmark's conflicts: same organization, team, avoid
list and co-applicant (the applicants are not experts and on nobody else's team). They are
found for every pair, also outside the application's field: the benchmark removes only those
among its candidate pairs, which is all that matters to the assignment.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import numpy as np

from bench.review_assignment import (
    CODES,
    ORGANIZATIONS,
    Call,
    ConflictSources,
    conflict_sources,
    generate,
)
from shared.credit_code import check_character

SCHEMA = "projects"


def credit_code(n: int) -> str:
    body = f"91620100MA8C{n:05d}"
    return body + check_character(body)


@dataclass(frozen=True)
class Loaded:
    call: Call
    sources: ConflictSources
    applications: list[uuid.UUID]  # by position in the instance
    experts: list[uuid.UUID]
    past_applications: int


def _ids(rng: np.random.Generator, count: int) -> list[uuid.UUID]:
    return [uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(count)]


def _unique(values: Any) -> list[int]:
    return sorted({int(v) for v in values})


async def _copy(
    conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    await conn.copy_records_to_table(table, schema_name=SCHEMA, columns=list(columns), records=rows)


APPLICATION_COLUMNS = (
    "id",
    "call_id",
    "applicant_id",
    "org_id",
    "status",
    "version",
    "title",
    "requested_budget_fen",
    "submitted_version",
    "submitted_at",
    "created_at",
    "updated_at",
)
VERSION_COLUMNS = ("application_id", "version", "content", "saved_by", "saved_at")


async def load(
    dsn: str, call_id: uuid.UUID, *, applications: int, experts: int, seed: int, now: dt.datetime
) -> Loaded:
    """Writes the instance into the projects schema of `dsn` for the published call `call_id`
    (whose program gets the past calls)."""
    call = generate(applications, experts, seed)
    sources = conflict_sources(call, seed)
    rng = np.random.default_rng(seed + 100)
    org_ids, expert_ids = _ids(rng, ORGANIZATIONS), _ids(rng, experts)
    applicant_ids, application_ids = _ids(rng, applications), _ids(rng, applications)
    codes = [credit_code(n) for n in range(ORGANIZATIONS)]
    submitted = now - dt.timedelta(hours=1)

    def org_of(i: int) -> int:
        return int(call.item_org[i])

    conn = await asyncpg.connect(dsn)
    try:
        # COPY is binary: jsonb travels as a version byte and the text.
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda value: b"\x01" + json.dumps(value, ensure_ascii=False).encode(),
            decoder=lambda data: json.loads(data[1:]),
            schema="pg_catalog",
            format="binary",
        )
        async with conn.transaction():
            await _copy(
                conn,
                "directory_organizations",
                ("id", "name", "credit_code", "kind", "parent_id", "updated_at"),
                [
                    (org_ids[o], f"单位{o:03d}", codes[o], "university", None, now)
                    for o in range(ORGANIZATIONS)
                ],
            )
            await _copy(
                conn,
                "experts",
                (
                    "user_id",
                    "name",
                    "title",
                    "org_id",
                    "org_credit_code",
                    "region",
                    "primary_subjects",
                    "secondary_subjects",
                    "keywords",
                    "max_load",
                    "availability",
                    "active",
                    "created_at",
                    "updated_at",
                ),
                [
                    (
                        expert_ids[e],
                        f"专家{e:05d}",
                        "研究员",
                        org_ids[int(call.expert_org[e])],
                        codes[int(call.expert_org[e])],
                        "甘肃",
                        [CODES[c] for c in np.flatnonzero(call.expert_primary[e])],
                        [CODES[c] for c in np.flatnonzero(call.expert_secondary[e])],
                        [f"keyword {k}" for k in np.flatnonzero(call.expert_keywords[e])],
                        int(call.load[e]),
                        [],
                        True,
                        now,
                        now,
                    )
                    for e in range(experts)
                ],
            )
            rows, versions, declared = [], [], []
            for i in range(applications):
                applicant = applicant_ids[i]
                title = f"申报书{i:05d}"
                rows.append(
                    (
                        application_ids[i],
                        call_id,
                        applicant,
                        org_ids[org_of(i)],
                        "in_review",
                        1,
                        title,
                        50_000_000,
                        1,
                        submitted,
                        submitted,
                        submitted,
                    )
                )
                # One expert on a team at most: two would be co-applicants of each other, a
                # conflict for every other application either is on. The others declare it.
                on_team = _unique(sources.team[i])
                team = [{"user_id": str(applicant), "role": "负责人", "share": 100}]
                team += [
                    {"user_id": str(expert_ids[e]), "role": "成员", "share": 0} for e in on_team[:1]
                ]
                declared += [
                    (
                        uuid.UUID(bytes=rng.bytes(16), version=4),
                        expert_ids[e],
                        applicant,
                        None,
                        "亲属",
                        now,
                    )
                    for e in on_team[1:]
                ]
                avoid: list[dict[str, Any]] = [
                    {"user_id": str(expert_ids[e]), "reason": "学术观点分歧"}
                    for e in _unique(sources.avoided_people[i])
                ]
                if sources.avoided_org[i] >= 0:
                    avoid.append(
                        {"credit_code": codes[int(sources.avoided_org[i])], "reason": "竞争单位"}
                    )
                content = {
                    "title": title,
                    "abstract": "",
                    "subject_codes": [CODES[c] for c in call.item_codes[i]],
                    "keywords": [f"Keyword {k}" for k in call.item_keywords[i].tolist()],
                    "team": team,
                    "avoid": avoid,
                }
                versions.append((application_ids[i], 1, content, applicant, submitted))
            past = await _past_applications(
                conn, call_id, sources, applicant_ids, expert_ids, org_ids, org_of, now
            )
            await _copy(conn, "applications", APPLICATION_COLUMNS, rows + past[0])
            await _copy(conn, "application_versions", VERSION_COLUMNS, versions + past[1])
            await _copy(
                conn,
                "declared_conflicts",
                ("id", "expert_id", "person_id", "credit_code", "reason", "declared_at"),
                declared,
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Loaded(call, sources, application_ids, expert_ids, len(past[0]))


async def _past_applications(
    conn: asyncpg.Connection,
    call_id: uuid.UUID,
    sources: ConflictSources,
    applicant_ids: list[uuid.UUID],
    expert_ids: list[uuid.UUID],
    org_ids: list[uuid.UUID],
    org_of: Any,
    now: dt.datetime,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """One earlier application per co-applicant pair; an applicant applies once per call, so
    their k-th one goes to the k-th past call."""
    pairs = [(i, _unique(experts)) for i, experts in enumerate(sources.co_applicants)]
    calls_needed = max((len(e) for _, e in pairs), default=0)
    past_calls = []
    for k in range(calls_needed):
        past_id = uuid.uuid4()
        await conn.execute(
            f"""INSERT INTO {SCHEMA}.calls (id, program_id, year, title, guideline, opens_at,
                    closes_at, eligible_org_kinds, budget_min_fen, budget_max_fen,
                    max_active_projects_per_pi, min_credit_level, required_attachments,
                    review_template, experts_per_application, notice_days, state, published_at,
                    created_by, created_at)
                SELECT $1, program_id, year - 1, title || $2, guideline,
                    opens_at - interval '1 year', closes_at - interval '1 year',
                    eligible_org_kinds, budget_min_fen,
                    budget_max_fen, max_active_projects_per_pi, min_credit_level,
                    required_attachments, review_template, experts_per_application, notice_days,
                    state, published_at - interval '1 year', created_by,
                    created_at - interval '1 year'
                FROM {SCHEMA}.calls WHERE id = $3""",
            past_id,
            f"（往年{k + 1}）",
            call_id,
        )
        past_calls.append(past_id)
    submitted = now - dt.timedelta(days=365)
    rows, versions = [], []
    for i, experts in pairs:
        for k, e in enumerate(experts):
            past_id = uuid.uuid4()
            title = f"往年申报书{i:05d}-{k}"
            rows.append(
                (
                    past_id,
                    past_calls[k],
                    applicant_ids[i],
                    org_ids[org_of(i)],
                    "approved",
                    1,
                    title,
                    50_000_000,
                    1,
                    submitted,
                    submitted,
                    submitted,
                )
            )
            content = {
                "title": title,
                "subject_codes": [],
                "keywords": [],
                "team": [
                    {"user_id": str(applicant_ids[i]), "role": "负责人", "share": 80},
                    {"user_id": str(expert_ids[e]), "role": "成员", "share": 20},
                ],
                "avoid": [],
            }
            versions.append((past_id, 1, content, applicant_ids[i], submitted))
    return rows, versions
