"""Conflicts of a call the size of the benchmark's (10,000 applications, 5,000 experts):
found and stored from indexes, in seconds. Opt-in: SCIPLAN_SCALE=1 (it takes a while)."""

from __future__ import annotations

import os
import random
import resource
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Conflict,
    DeclaredConflict,
    Expert,
    directory,
)
from services.projects.review.rounds.conflicts import blocked_pairs, find_conflicts, refresh
from shared.ids import uuid7
from tests.conftest import org_code
from tests.projects.conftest import START, Projects, closed_call, insert_call
from tests.projects.review_factories import make_round

pytestmark = pytest.mark.skipif(
    os.environ.get("SCIPLAN_SCALE") != "1", reason="large instance: set SCIPLAN_SCALE=1"
)

ORGS, PEOPLE, EXPERTS, APPLICATIONS, PAST = 300, 30_000, 5_000, 10_000, 10_000


async def _bulk(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5_000):
        await session.execute(sa.insert(table), rows[start : start + 5_000])


async def test_a_call_of_benchmark_size(session: AsyncSession, projects: Projects) -> None:
    rng = random.Random(7)
    orgs = [uuid7() for _ in range(ORGS)]
    await _bulk(
        session,
        directory.organizations,
        [
            {
                "id": org,
                "name": f"单位{n}",
                "credit_code": org_code(100 + n),
                "kind": "university",
                "parent_id": orgs[n - 1] if n % 10 == 1 else None,
                "updated_at": START,
            }
            for n, org in enumerate(orgs)
        ],
    )
    people = [uuid7() for _ in range(PEOPLE)]
    org_of = {p: rng.randrange(ORGS) for p in people}
    await _bulk(
        session,
        directory.users,
        [
            {
                "id": p,
                "username": f"p{n}",
                "display_name": f"人{n}",
                "org_id": orgs[org_of[p]],
                "roles": ["expert"] if n < EXPERTS else ["applicant"],
                "is_active": True,
                "updated_at": START,
            }
            for n, p in enumerate(people)
        ],
    )
    experts = people[:EXPERTS]
    await _bulk(
        session,
        Expert,
        [
            {
                "user_id": e,
                "name": f"专家{n}",
                "title": "研究员",
                "org_id": orgs[org_of[e]],
                "org_credit_code": org_code(100 + org_of[e]),
                "region": "甘肃",
                "primary_subjects": [f"{200 + n % 30}"],
                "secondary_subjects": [],
                "keywords": [],
                "max_load": 12,
                "availability": [],
                "active": True,
            }
            for n, e in enumerate(experts)
        ],
    )
    await _bulk(
        session,
        DeclaredConflict,
        [
            {"expert_id": rng.choice(experts), "person_id": rng.choice(people), "reason": "合作"}
            for _ in range(2_000)
        ],
    )

    async def applications(call_id: Any, count: int, applicants: list[Any], status: str) -> None:
        rows, versions = [], []
        for n in range(count):
            applicant = applicants[n]
            team = [applicant, *rng.sample(people, 3)]
            app_id = uuid7()
            rows.append(
                {
                    "id": app_id,
                    "call_id": call_id,
                    "applicant_id": applicant,
                    "org_id": orgs[org_of[applicant]],
                    "status": status,
                    "version": 1,
                    "title": f"申报书{n}",
                    "requested_budget_fen": 1,
                    "submitted_version": 1,
                    "submitted_at": projects.clock.now - timedelta(days=rng.randrange(1500)),
                }
            )
            avoid = [{"user_id": str(rng.choice(experts))}] if n % 5 == 0 else []
            versions.append(
                {
                    "application_id": app_id,
                    "version": 1,
                    "content": {
                        "subject_codes": [f"{200 + n % 30}"],
                        "keywords": ["k"],
                        "team": [{"user_id": str(p), "role": "成员"} for p in team],
                        "avoid": avoid,
                    },
                    "saved_by": applicant,
                }
            )
        await _bulk(session, Application, rows)
        await _bulk(session, ApplicationVersion, versions)

    past = await insert_call(session, projects, year=2024)
    await applications(past.id, PAST, rng.sample(people, PAST), "approved")
    call = await closed_call(session, projects)
    await applications(call.id, APPLICATIONS, rng.sample(people, APPLICATIONS), "in_review")
    await session.commit()
    review = await make_round(session, projects, call)

    began = time.perf_counter()
    found = await find_conflicts(session, review)
    found_in = time.perf_counter() - began
    began = time.perf_counter()
    result = await refresh(session, review, projects.clock.now)
    refreshed_in = time.perf_counter() - began
    began = time.perf_counter()
    again = await refresh(session, review, projects.clock.now)
    again_in = time.perf_counter() - began
    began = time.perf_counter()
    blocked = await blocked_pairs(session, review)
    blocked_in = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    stored = await session.scalar(sa.select(sa.func.count()).select_from(Conflict))
    print(  # noqa: T201
        f"\n{len(found)} conflicts {result.counts}; find {found_in:.1f}s, refresh "
        f"{refreshed_in:.1f}s, again {again_in:.1f}s, blocked pairs {blocked_in:.1f}s, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    assert stored == len(found) == result.total
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert len(blocked) == len({(c.application_id, c.expert_id) for c in found})
    assert found_in < 30
