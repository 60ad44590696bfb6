"""Which organizations count as the same one for conflicts of interest: the organization
itself, its parents and its subsidiaries, following declared links (OrganizationLink) and the
gateway directory's `parent_id` in either direction.

Siblings (two subsidiaries of one parent) are distinct legal persons (法人单位) and do not
count: otherwise every institute of an academy would conflict with every other.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.projects.review.rounds.repository import RoundRepository

# Deep enough for group -> company -> subsidiary -> branch; bounds the walk on bad data.
MAX_DEPTH = 4


@dataclass(frozen=True)
class Relation:
    """How an organization relates to the one asked about, and the links that show it."""

    code: str
    relation: str  # "same", "parent" (an ancestor of it) or "subsidiary" (a descendant)
    path: tuple[dict[str, Any], ...] = ()


@dataclass
class OrganizationGraph:
    # parent code -> {child code: sources}, and the reverse
    children: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    parents: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, parent: str, child: str, source: str) -> None:
        self.children[parent].setdefault(child, set()).add(source)
        self.parents[child].setdefault(parent, set()).add(source)

    def _walk(self, start: str, relation: str) -> list[Relation]:
        edges = self.parents if relation == "parent" else self.children
        found: list[Relation] = []
        seen = {start}
        queue: deque[tuple[str, tuple[dict[str, Any], ...]]] = deque([(start, ())])
        while queue:
            code, path = queue.popleft()
            if len(path) >= MAX_DEPTH:
                continue
            for other, sources in sorted(edges.get(code, {}).items()):
                if other in seen:
                    continue
                seen.add(other)
                parent, child = (other, code) if relation == "parent" else (code, other)
                link = {"parent_code": parent, "child_code": child, "sources": sorted(sources)}
                found.append(Relation(other, relation, (*path, link)))
                queue.append((other, (*path, link)))
        return found

    def related(self, code: str) -> list[Relation]:
        """The organization itself, then its ancestors, then its descendants."""
        relations = [Relation(code, "same")]
        taken = {code}
        for relation in (*self._walk(code, "parent"), *self._walk(code, "subsidiary")):
            if relation.code not in taken:  # a cycle in bad data: report each code once
                taken.add(relation.code)
                relations.append(relation)
        return relations


async def organization_graph(repo: RoundRepository, codes: Collection[str]) -> OrganizationGraph:
    """The links around `codes`, read level by level (never the whole table)."""
    graph = OrganizationGraph()
    seen = set(codes)
    frontier: Iterable[str] = set(codes)
    for _ in range(MAX_DEPTH):
        links = await repo.organization_links_touching(list(frontier))
        nearby: set[str] = set()
        for parent, child, source in links:
            graph.add(parent, child, source)
            nearby.update((parent, child))
        frontier = nearby - seen
        seen |= nearby
        if not frontier:
            break
    return graph
