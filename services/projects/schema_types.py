"""Field types every schema module of the projects service shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from shared.clock import in_shanghai

# Deadlines and the moments people act on are stated in Asia/Shanghai: every time the API
# shows carries +08:00. A naive datetime is refused (it names no moment).
ShanghaiTime = Annotated[datetime, AfterValidator(in_shanghai)]

# Why something was done, as recorded in the history: a sentence, not a blank.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]
# A short label: a milestone, an indicator, a tranche, a team member's role.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
