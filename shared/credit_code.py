"""The unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters from a 31-letter alphabet; the last one is a check character.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    return check_character(code[:17]) == code[17]
