"""The periodic job that returns the unused value of expired vouchers to their program."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI


async def voucher_expiry_sweeper(app: FastAPI, stop: asyncio.Event) -> None:
    await stop.wait()
