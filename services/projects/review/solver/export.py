"""An assignment instance and its solution as JSON, so that anyone can check them.

Format ``sciplan-review-assignment`` version 1, one object::

    {"format": "sciplan-review-assignment", "version": 1,
     "one_per_group": true,            # at most one reviewer per group (organization) per paper
     "score_rule": {...} | null,       # how the scores were computed, as the writer states it
     "papers": [{"id": "...", "demand": 5}, ...],        # reviewers each paper needs
     "reviewers": [{"id": "...", "load": 12}, ...],      # papers each reviewer may take
     "groups": ["<organization>", ...],
     "pairs": [[paper, reviewer, score, group | null], ...],   # the allowed, scored pairs
     "conflicts": [[paper, reviewer, "<kind>"], ...],          # pairs removed, and why
     "assignment": [[paper, reviewer], ...],
     "summary": {...}}

Papers, reviewers and groups are referred to by their position in those lists (a large call has
millions of pairs). Pairs are written in chunks, never as one string.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from services.projects.review.solver.problem import NO_GROUP, IntArray, Pair, Problem

FORMAT = "sciplan-review-assignment"
VERSION = 1
CHUNK = 100_000


@dataclass(frozen=True)
class Conflict:
    item: str
    expert: str
    kind: str


@dataclass(frozen=True)
class Instance:
    demand: dict[str, int]
    capacity: dict[str, int]
    pairs: list[Pair]
    one_per_group: bool = False
    conflicts: list[Conflict] = field(default_factory=list)
    score_rule: dict[str, Any] | None = None


@dataclass(frozen=True)
class Exported:
    instance: Instance
    assignment: list[Pair]
    summary: dict[str, Any]


def dump(
    target: Path | IO[str],
    instance: Instance,
    assignment: Sequence[Pair],
    summary: Mapping[str, Any] | None = None,
) -> None:
    """Writes ``instance`` and ``assignment`` (pairs of the instance) to a path or open file."""
    problem = Problem.from_pairs(instance.demand, instance.capacity, instance.pairs)
    position = {
        (problem.items[i], problem.experts[e]): p
        for p, (i, e) in enumerate(
            zip(problem.pair_item.tolist(), problem.pair_expert.tolist(), strict=True)
        )
    }
    try:
        chosen = np.array([position[a.item, a.expert] for a in assignment], dtype=np.int64)
    except KeyError as missing:
        raise ValueError(f"an assigned pair is not an allowed pair: {missing}") from None
    item_at = {item: i for i, item in enumerate(problem.items)}
    expert_at = {expert: e for e, expert in enumerate(problem.experts)}
    try:
        conflicts = [(item_at[c.item], expert_at[c.expert], c.kind) for c in instance.conflicts]
    except KeyError as missing:
        raise ValueError(f"a conflict names an unknown item or expert: {missing}") from None
    write_problem(
        target,
        problem,
        chosen,
        one_per_group=instance.one_per_group,
        conflicts=conflicts,
        score_rule=instance.score_rule,
        summary=summary,
    )


def write_problem(
    target: Path | IO[str],
    problem: Problem,
    chosen: IntArray,
    *,
    one_per_group: bool,
    conflicts: Iterable[tuple[int, int, str]] = (),
    score_rule: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
) -> None:
    """Writes the array form directly (``chosen``: positions into the problem's pairs)."""
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8") as out:
            _write(out, problem, chosen, one_per_group, conflicts, score_rule, summary)
    else:
        _write(target, problem, chosen, one_per_group, conflicts, score_rule, summary)


def load(source: Path | IO[str] | str | bytes) -> Exported:
    """Reads what ``dump`` wrote (from a path, an open file, or the JSON text itself)."""
    if isinstance(source, Path):
        data = orjson.loads(source.read_bytes())
    elif isinstance(source, str | bytes):
        data = orjson.loads(source)
    else:
        data = orjson.loads(source.read())
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise ValueError(f"not a {FORMAT} version {VERSION} document")
    papers = [paper["id"] for paper in data["papers"]]
    reviewers = [reviewer["id"] for reviewer in data["reviewers"]]
    groups = data["groups"]
    pairs = [
        Pair(papers[i], reviewers[e], score, None if g is None else groups[g])
        for i, e, score, g in data["pairs"]
    ]
    pair_at = {(p.item, p.expert): p for p in pairs}
    instance = Instance(
        demand={paper["id"]: paper["demand"] for paper in data["papers"]},
        capacity={reviewer["id"]: reviewer["load"] for reviewer in data["reviewers"]},
        pairs=pairs,
        one_per_group=data["one_per_group"],
        conflicts=[Conflict(papers[i], reviewers[e], kind) for i, e, kind in data["conflicts"]],
        score_rule=data.get("score_rule"),
    )
    try:
        assignment = [pair_at[papers[i], reviewers[e]] for i, e in data["assignment"]]
    except KeyError as missing:
        raise ValueError(f"an assigned pair is not an allowed pair: {missing}") from None
    return Exported(instance=instance, assignment=assignment, summary=data.get("summary") or {})


def violations(instance: Instance, assignment: Sequence[Pair]) -> list[str]:
    """What makes ``assignment`` infeasible for ``instance`` (empty when it is feasible)."""
    allowed = {(p.item, p.expert): p for p in instance.pairs}
    conflicted = {(c.item, c.expert) for c in instance.conflicts}
    found: list[str] = []
    chosen = Counter((a.item, a.expert) for a in assignment)
    found += [f"{item} has {expert} {n} times" for (item, expert), n in chosen.items() if n > 1]
    found += [f"{i} - {e} is not an allowed pair" for i, e in chosen if (i, e) not in allowed]
    found += [f"{i} - {e} is a conflict" for i, e in chosen if (i, e) in conflicted]
    per_item = Counter(item for item, _ in chosen)
    per_expert = Counter(expert for _, expert in chosen)
    found += [
        f"{item} gets {n} experts, demand {instance.demand.get(item, 0)}"
        for item, n in per_item.items()
        if n > instance.demand.get(item, 0)
    ]
    found += [
        f"{expert} gets {n} items, load {instance.capacity.get(expert, 0)}"
        for expert, n in per_expert.items()
        if n > instance.capacity.get(expert, 0)
    ]
    if instance.one_per_group:
        groups = Counter(
            (item, allowed[item, expert].group)
            for item, expert in chosen
            if (item, expert) in allowed and allowed[item, expert].group is not None
        )
        found += [
            f"{item} has {n} experts of {group}" for (item, group), n in groups.items() if n > 1
        ]
    return found


def _write(
    out: IO[str],
    problem: Problem,
    chosen: IntArray,
    one_per_group: bool,
    conflicts: Iterable[tuple[int, int, str]],
    score_rule: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None,
) -> None:
    def value(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=_plain)

    out.write(f'{{"format": {value(FORMAT)}, "version": {VERSION},\n')
    out.write(f' "one_per_group": {value(one_per_group)},\n')
    out.write(f' "score_rule": {value(dict(score_rule) if score_rule else None)},\n')
    papers = [
        {"id": i, "demand": int(d)}
        for i, d in zip(problem.items, problem.demand.tolist(), strict=True)
    ]
    reviewers = [
        {"id": e, "load": int(c)}
        for e, c in zip(problem.experts, problem.capacity.tolist(), strict=True)
    ]
    out.write(f' "papers": {value(papers)},\n "reviewers": {value(reviewers)},\n')
    out.write(f' "groups": {value(list(problem.groups))},\n "pairs": [')
    for start in range(0, problem.n_pairs, CHUNK):
        end = min(start + CHUNK, problem.n_pairs)
        rows = zip(
            problem.pair_item[start:end].tolist(),
            problem.pair_expert[start:end].tolist(),
            problem.pair_score[start:end].tolist(),
            problem.pair_group[start:end].tolist(),
            strict=True,
        )
        text = ",".join(f"[{i},{e},{s},{'null' if g == NO_GROUP else g}]" for i, e, s, g in rows)
        out.write(("," if start else "") + "\n" + text)
    out.write('],\n "conflicts": [')
    out.write(",".join(f"[{i},{e},{value(kind)}]" for i, e, kind in conflicts))
    assigned = zip(
        problem.pair_item[chosen].tolist(), problem.pair_expert[chosen].tolist(), strict=True
    )
    out.write('],\n "assignment": [' + ",".join(f"[{i},{e}]" for i, e in assigned) + "],\n")
    out.write(f' "summary": {value(dict(summary or {}))}}}\n')


def _plain(v: Any) -> Any:
    """numpy numbers in a summary, as plain JSON numbers."""
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")
