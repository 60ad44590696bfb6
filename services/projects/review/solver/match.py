"""How well an expert fits an item (an application, or a project at acceptance): the score.

Subject codes first, then keyword overlap. The score is the sum of:

- ``PRIMARY_IN_PRIMARY`` = 400 when the item's primary code (its first subject code) is one
  of the expert's primary codes, or ``PRIMARY_IN_SECONDARY`` = 200 when it is one of the
  expert's secondary codes;
- ``FURTHER_CODE`` = 100 for each further item code that is one of the expert's codes
  (primary or secondary);
- ``KEYWORD`` = 10 for each keyword the item and the expert share (compared case-insensitively,
  surrounding blanks ignored), at most ``KEYWORDS_COUNTED`` = 5 of them, so at most 50.

Every subject part is a multiple of 100 and keywords add at most 50, so a better subject match
always wins: no number of shared keywords makes up for one code less. An expert who shares no
subject code with the item is not in the field: ``match`` returns None, and keywords alone never
qualify anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRIMARY_IN_PRIMARY = 400
PRIMARY_IN_SECONDARY = 200
FURTHER_CODE = 100
KEYWORD = 10
KEYWORDS_COUNTED = 5

assert KEYWORD * KEYWORDS_COUNTED < FURTHER_CODE  # keywords never outweigh a subject code


@dataclass(frozen=True)
class ItemProfile:
    """An application (or a project at acceptance) as the matcher sees it."""

    id: str
    subjects: tuple[str, ...]  # the first one is the primary code
    keywords: frozenset[str]


@dataclass(frozen=True)
class ExpertProfile:
    id: str
    primary: frozenset[str]
    secondary: frozenset[str]
    keywords: frozenset[str]


@dataclass(frozen=True)
class Match:
    score: int  # > 0
    explanation: dict[str, Any]


def normalise_keyword(keyword: str) -> str:
    return " ".join(keyword.split()).casefold()


def match(item: ItemProfile, expert: ExpertProfile) -> Match | None:
    """The score of ``expert`` for ``item`` and why; None when they share no subject code."""
    if not item.subjects:
        return None
    primary_code, further = item.subjects[0], _unique(item.subjects[1:], skip=item.subjects[0])
    expert_codes = expert.primary | expert.secondary
    if primary_code in expert.primary:
        primary_as, primary_points = "primary", PRIMARY_IN_PRIMARY
    elif primary_code in expert.secondary:
        primary_as, primary_points = "secondary", PRIMARY_IN_SECONDARY
    else:
        primary_as, primary_points = None, 0
    further_shared = [code for code in further if code in expert_codes]
    if primary_as is None and not further_shared:
        return None
    shared_keywords = sorted(
        {normalise_keyword(k) for k in item.keywords}
        & {normalise_keyword(k) for k in expert.keywords} - {""}
    )
    counted = shared_keywords[:KEYWORDS_COUNTED]
    parts = {
        "primary_code": primary_points,
        "further_codes": FURTHER_CODE * len(further_shared),
        "keywords": KEYWORD * len(counted),
    }
    score = sum(parts.values())
    return Match(
        score=score,
        explanation={
            "score": score,
            "parts": parts,
            "primary_code": primary_code,
            # how the expert holds the item's primary code: "primary", "secondary" or None
            "primary_code_as": primary_as,
            "shared_primary_codes": sorted(set(item.subjects) & expert.primary),
            "shared_secondary_codes": sorted(set(item.subjects) & expert.secondary),
            "further_codes_shared": further_shared,
            "shared_keywords": shared_keywords,
            "keywords_counted": counted,
        },
    )


def _unique(codes: tuple[str, ...], *, skip: str) -> list[str]:
    seen = {skip}
    unique = []
    for code in codes:
        if code not in seen:
            seen.add(code)
            unique.append(code)
    return unique
