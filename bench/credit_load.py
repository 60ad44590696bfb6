"""Loads synthetic credit history straight into the credit schema (COPY), for benchmarks.

`python -m bench.credit_load --subjects 100000 --records 1000000` against SCIPLAN_DATABASE_URL.
Subjects are organizations, agencies and people; records use the seeded rules that fit the
subject, most of them confirmed, spread over seven years. Reproducible from --seed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from shared.credit_code import check_character
from shared.db import asyncpg_dsn

STATUSES = [("confirmed", 80), ("notified", 5), ("proposed", 5), ("withdrawn", 5), ("repaired", 5)]
FIRST_DAY = date(2019, 1, 1)
DAYS = 7 * 365

SUBJECT_COLUMNS = [
    "id",
    "kind",
    "name",
    "credit_code",
    "gateway_org_id",
    "gateway_user_id",
    "national_id_hash",
    "national_id_masked",
    "created_at",
]
RECORD_COLUMNS = [
    "id",
    "subject_id",
    "capacity",
    "unit_id",
    "rule_code",
    "rule_version",
    "tier",
    "score_effect",
    "restrictions",
    "facts",
    "evidence",
    "handling_unit",
    "legal_basis",
    "effective_from",
    "valid_until",
    "restriction_until",
    "restriction_permanent",
    "status",
    "objection_deadline",
    "confirmed_at",
    "confirmed_by",
    "withdrawn_at",
    "repaired_at",
    "source",
    "source_event_id",
    "created_by",
    "created_at",
]


def _credit_code(rng: random.Random) -> str:
    body = "91" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(15))
    return body + check_character(body)


def _subjects(rng: random.Random, count: int, offset: int) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    for n in range(offset, offset + count):
        kind = rng.choices(["person", "organization", "agency"], weights=[60, 32, 8])[0]
        sid = uuid.UUID(int=rng.getrandbits(128), version=4)
        if kind == "person":
            digest = hashlib.sha256(f"bench-person-{n}".encode()).hexdigest()
            yield (
                sid,
                kind,
                f"研究人员{n}",
                None,
                None,
                uuid.UUID(int=rng.getrandbits(128), version=4),
                digest,
                "620***********000X",
                now,
            )
        else:
            yield (
                sid,
                kind,
                f"单位{n}",
                _credit_code(rng),
                uuid.UUID(int=rng.getrandbits(128), version=4),
                None,
                None,
                None,
                now,
            )


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, 28))


def _records(
    rng: random.Random,
    subjects: list[tuple[uuid.UUID, str]],
    rules: dict[str, list[asyncpg.Record]],
    count: int,
) -> Iterator[tuple[Any, ...]]:
    statuses, weights = zip(*STATUSES, strict=True)
    for _ in range(count):
        subject_id, kind = rng.choice(subjects)
        capacity = {"person": rng.choice(["researcher", "expert"])}.get(kind, kind)
        rule = rng.choice(rules[capacity])
        start = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        moment = datetime(start.year, start.month, start.day, 2, tzinfo=UTC)
        status = rng.choices(statuses, weights=weights)[0]
        confirmed = status in ("confirmed", "repaired") or (
            status == "withdrawn" and rng.random() < 0.5
        )
        years = rule["restriction_years"]
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            subject_id,
            capacity,
            None,
            rule["code"],
            rule["version"],
            rule["tier"],
            rule["score_effect"],
            list(rule["restrictions"]),
            "基准测试合成记录",
            "[]",
            "省科技厅",
            rule["legal_basis"],
            start,
            _add_months(start, rule["validity_months"]),
            _add_months(start, 12 * years) if years else None,
            rule["restriction_permanent"],
            status,
            moment,
            moment + timedelta(days=20) if confirmed else None,
            "bench" if confirmed else None,
            moment + timedelta(days=40) if status == "withdrawn" else None,
            moment + timedelta(days=400) if status == "repaired" else None,
            "bench",
            None,
            "bench",
            moment,
        )


async def load(database_url: str, subjects: int, records: int, seed: int) -> tuple[float, int, int]:
    """Adds `subjects` and `records`; returns (seconds, subjects now, records now)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        offset = await conn.fetchval("SELECT count(*) FROM credit.subjects")
        rows = await conn.fetch("SELECT * FROM credit.rules WHERE is_current")
        by_capacity: dict[str, list[asyncpg.Record]] = {}
        for rule in rows:
            for capacity in rule["applies_to"]:
                by_capacity.setdefault(capacity, []).append(rule)
        new_subjects = list(_subjects(rng, subjects, offset))
        await conn.copy_records_to_table(
            "subjects", schema_name="credit", columns=SUBJECT_COLUMNS, records=new_subjects
        )
        pairs = [(row[0], row[1]) for row in new_subjects]
        batch = 100_000
        for done in range(0, records, batch):
            chunk = list(_records(rng, pairs, by_capacity, min(batch, records - done)))
            await conn.copy_records_to_table(
                "records", schema_name="credit", columns=RECORD_COLUMNS, records=chunk
            )
        # Vacuum now rather than let autovacuum wake up (on the insert threshold) in the middle
        # of a measurement; it also sets the visibility map, as on a settled production table.
        for table in ("credit.subjects", "credit.records"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute("CHECKPOINT")
        total_subjects = await conn.fetchval("SELECT count(*) FROM credit.subjects")
        total_records = await conn.fetchval("SELECT count(*) FROM credit.records")
    finally:
        await conn.close()
    return time.perf_counter() - started, int(total_subjects), int(total_records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    url = os.environ["SCIPLAN_DATABASE_URL"]
    seconds, subjects, records = asyncio.run(load(url, args.subjects, args.records, args.seed))
    print(f"loaded in {seconds:.1f}s: {subjects} subjects, {records} records")


if __name__ == "__main__":
    main()
