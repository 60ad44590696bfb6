"""Money is an integer number of fen (分). Never a float: a float cannot hold 0.1 yuan exactly."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

FEN_PER_YUAN = 100
_YUAN = re.compile(r"^(-)?(\d+)(?:\.(\d{1,2}))?$")

Fen = Annotated[int, Field(strict=True, description="amount in fen (1 yuan = 100 fen)")]
NonNegativeFen = Annotated[int, Field(strict=True, ge=0, description="amount in fen, >= 0")]


def yuan_to_fen(text: str) -> int:
    """Parse a decimal yuan amount such as "1234.5" exactly; more than two decimals is an error."""
    match = _YUAN.match(text.strip())
    if match is None:
        raise ValueError(f"not a yuan amount with at most two decimals: {text!r}")
    sign, whole, frac = match.groups()
    fen = int(whole) * FEN_PER_YUAN + int((frac or "0").ljust(2, "0"))
    return -fen if sign else fen


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{frac:02d}"
