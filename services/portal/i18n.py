"""Chinese by default, English on request; dates in Asia/Shanghai; money in yuan, exact to the fen.

Templates write both languages side by side, `t("登录", "Log in")`, as the services' `Text` does:
a page reads in one place and no catalogue drifts from the code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from starlette.requests import Request

LANG_COOKIE = "sp_lang"
LANGUAGES = ("zh", "en")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "zh")
    return lang if lang in LANGUAGES else "zh"


def translator(lang: str) -> Callable[[str, str], str]:
    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    return t


def parse_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def local_time(value: str | datetime | None, with_time: bool = True) -> str:
    """An instant as people in the province read it: `2026-12-07 14:05` (Asia/Shanghai)."""
    moment = parse_datetime(value)
    if moment is None:
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(SHANGHAI)
    return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def local_date(value: str | date | datetime | None) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:
        return value
    return local_time(value, with_time=False)


def yuan(fen: int | str | None) -> str:
    """Fen as yuan with thousands separators: 123456789 -> `1,234,567.89` (no float on the way)."""
    if fen is None or fen == "":
        return ""
    amount = int(fen)
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def fen_from_yuan(text: str) -> int | None:
    """What a person typed in yuan (`1,234.5`) as fen; None if it is not an amount to the fen."""
    cleaned = text.replace(",", "").replace("，", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    fen = amount * 100
    if not amount.is_finite() or fen != fen.to_integral_value():
        return None
    return int(fen)
