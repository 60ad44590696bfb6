"""Field types every schema module of the projects service shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from shared.clock import ShanghaiTime as ShanghaiTime

# Why something was done, as recorded in the history: a sentence, not a blank.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]
# A short label: a milestone, an indicator, a tranche, a team member's role.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
