"""Laying out an issued document as PDF bytes, the same bytes for the same inputs.

reportlab's invariant mode leaves out what changes from run to run (the time of rendering, a
random file id); the creation date written instead is the issue time, passed in. Chinese is set
in STSong-Light, a CID font every PDF reader has built in, so no font file is needed or embedded.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from shared.clock import SHANGHAI

FONT = "STSong-Light"
MARGIN = 64.0
WIDTH, HEIGHT = A4
BODY = 11.0
LEADING = 17.0


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    columns: Sequence[tuple[str, float]]  # heading, share of the line's width
    rows: Sequence[Sequence[str]]


Block = Heading | Field | Paragraph | Table


@dataclass(frozen=True)
class Layout:
    title: str
    blocks: Sequence[Block]


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _lines(text: str, size: float, width: float) -> list[str]:
    """`text` broken into lines no wider than `width` (by character: Chinese has no spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for char in paragraph:
            if line and pdfmetrics.stringWidth(line + char, FONT, size) > width:
                lines.append(line)
                line = ""
            line += char
        lines.append(line)
    return lines


class _Pages:
    """A canvas and where the next line goes; a new page when the current one is full."""

    def __init__(self, canvas: Canvas, footer: str) -> None:
        self.canvas = canvas
        self.footer = footer
        self.page = 1
        self.y = HEIGHT - MARGIN

    def room(self, height: float) -> None:
        if self.y - height < MARGIN + 20:
            self._foot()
            self.canvas.showPage()
            self.page += 1
            self.y = HEIGHT - MARGIN

    def _foot(self) -> None:
        self.canvas.setFont(FONT, 8)
        self.canvas.drawCentredString(WIDTH / 2, MARGIN / 2, f"{self.footer}  第 {self.page} 页")

    def text(self, x: float, text: str, size: float = BODY) -> None:
        self.room(LEADING)
        self.canvas.setFont(FONT, size)
        self.canvas.drawString(x, self.y - size, text)
        self.y -= LEADING * size / BODY

    def finish(self) -> None:
        self._foot()


def _table(pages: _Pages, table: Table) -> None:
    usable = WIDTH - 2 * MARGIN
    widths = [share * usable for _, share in table.columns]
    size = BODY - 1.5
    for cells, bold in [([c for c, _ in table.columns], True), *((r, False) for r in table.rows)]:
        wrapped = [_lines(str(cell), size, w - 6) for cell, w in zip(cells, widths, strict=True)]
        height = max(len(lines) for lines in wrapped) * (LEADING - 2) + 4
        pages.room(height)
        top = pages.y
        x = MARGIN
        pages.canvas.setLineWidth(0.8 if bold else 0.4)
        for lines, w in zip(wrapped, widths, strict=True):
            pages.canvas.rect(x, top - height, w, height)
            pages.canvas.setFont(FONT, size)
            for n, line in enumerate(lines):
                pages.canvas.drawString(x + 3, top - 3 - size - n * (LEADING - 2), line)
            x += w
        pages.y = top - height
    pages.y -= LEADING / 2


def render(layout: Layout, *, number: str, version: int, issued_at: datetime) -> bytes:
    """The PDF of `layout`, numbered and dated; a pure function of its arguments."""
    font = _font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=True)
    issued = issued_at.astimezone(SHANGHAI)
    stamp = issued.strftime("D:%Y%m%d%H%M%S+08'00'")
    canvas.setDateFormatter(lambda *_: stamp)
    canvas.setTitle(f"{layout.title} {number}")
    canvas.setAuthor("SciPlan")
    canvas.setCreator("SciPlan")
    canvas.setSubject(f"{number} v{version}")
    pages = _Pages(canvas, f"{number}（第 {version} 版）")
    canvas.setFont(font, 18)
    canvas.drawCentredString(WIDTH / 2, pages.y - 18, layout.title)
    pages.y -= 40
    pages.text(MARGIN, f"编号：{number}　第 {version} 版　签发日期：{issued:%Y年%m月%d日}")
    pages.y -= LEADING / 2
    usable = WIDTH - 2 * MARGIN
    for block in layout.blocks:
        if isinstance(block, Heading):
            pages.y -= LEADING / 3
            pages.text(MARGIN, block.text, BODY + 2)
        elif isinstance(block, Field):
            lines = _lines(f"{block.label}：{block.value}", BODY, usable)
            for line in lines:
                pages.text(MARGIN, line)
        elif isinstance(block, Paragraph):
            for line in _lines(block.text, BODY, usable):
                pages.text(MARGIN, line)
        else:
            _table(pages, block)
    pages.y -= LEADING
    pages.text(
        MARGIN,
        "本文件由 SciPlan 签发。核验：将文件或其 SHA-256 提交至 "
        "/api/projects/v1/public/documents/verification。",
        8,
    )
    pages.finish()
    canvas.save()
    return buffer.getvalue()
