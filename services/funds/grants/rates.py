"""Rates from money without floats: exact integer arithmetic, rounded half-up."""

from __future__ import annotations

PLACES = 4
_SCALE = 10**PLACES


def rate(numerator: int, denominator: int) -> str | None:
    """numerator / denominator to 4 decimal places ("0.3333"); None when the denominator is 0."""
    if denominator <= 0:
        return None
    scaled = (2 * numerator * _SCALE + denominator) // (2 * denominator)
    whole, fraction = divmod(scaled, _SCALE)
    return f"{whole}.{fraction:0{PLACES}d}"
