"""Chinese resident ID numbers (GB 11643-1999): validated, keyed, masked, never stored."""

from __future__ import annotations

import hashlib
import hmac

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def is_valid_national_id(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == number[17].upper()


def national_id_key(number: str, key: str) -> str:
    """A keyed hash: equal numbers give equal keys, and without the key nothing leaks."""
    return hmac.new(key.encode(), number.upper().encode(), hashlib.sha256).hexdigest()


def mask(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:].upper()
