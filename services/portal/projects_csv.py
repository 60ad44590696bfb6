"""Funded projects as CSV for a spreadsheet: what the public search shows, every matching row.

Excel reads a CSV file without a byte-order mark in the machine's legacy code page and garbles
Chinese, so the file starts with the UTF-8 BOM. Amounts are plain yuan with two decimals (no
thousands separators: the cell stays a number), exact to the fen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from services.portal.api import Api
from services.portal.i18n import local_date, local_time

BOM = "\ufeff"
# At most this many rows in one file: the search pages through the API 200 at a time, and a
# download that asks for the whole register should not tie up the gateway for minutes.
EXPORT_MOST = 5000
EXPORT_PAGE = 200
# A cell a spreadsheet would run as a formula (CSV injection): titles come from applicants.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain_yuan(fen: int) -> str:
    """123456789 -> `1234567.89`: no float on the way, no separators."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def header(t: Callable[[str, str], str]) -> list[str]:
    return [
        t("项目编号", "Number"),
        t("项目名称", "Title"),
        t("计划类别", "Program"),
        t("年度", "Year"),
        t("承担单位", "Organization"),
        t("项目负责人", "Principal investigator"),
        t("立项经费（元）", "Approved budget (yuan)"),
        t("状态", "Status"),
        t("公示开始", "Notice from"),
        t("公示截止", "Notice until"),
        t("执行开始", "Starts on"),
        t("执行结束", "Ends on"),
    ]


def row(project: dict[str, Any], lang: str, status_label: Callable[[str], str]) -> list[str]:
    return [
        _text(project["number"]),
        _text(project["title"]),
        _text(project["program_name_en" if lang == "en" else "program_name_zh"]),
        str(project["year"]),
        _text(project["organization_name"]),
        _text(project["pi_name"]),
        plain_yuan(int(project["approved_budget_fen"])),
        status_label(project["status"]),
        local_time(project["notice_starts_at"]),
        local_time(project["notice_ends_at"]),
        local_date(project["starts_on"]) if project["starts_on"] else "",
        local_date(project["ends_on"]) if project["ends_on"] else "",
    ]


def _lines(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


async def stream_projects(
    api: Api,
    path: str,
    filters: dict[str, str],
    first: dict[str, Any],
    lang: str,
    t: Callable[[str, str], str],
    status_label: Callable[[str], str],
) -> AsyncIterator[bytes]:
    """The file, one API page at a time: `first` is the page already fetched (so that a bad
    filter is refused before the download starts), then `next_cursor` until the end or
    EXPORT_MOST rows."""
    yield (BOM + _lines([header(t)])).encode()
    page, sent = first, 0
    while True:
        items = page["items"][: EXPORT_MOST - sent]
        sent += len(items)
        yield _lines(row(p, lang, status_label) for p in items).encode()
        cursor = page.get("next_cursor")
        if not cursor or sent >= EXPORT_MOST:
            return
        page = await api.get(path, limit=EXPORT_PAGE, cursor=cursor, **filters)
